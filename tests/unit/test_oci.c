// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unit tests for user/lib/jsonparse.c (strict JSON through jansson) and
 * user/lib/oci.c (cmocka).
 * Sample state documents: tests/data/oci/ (found from the working
 * directory, next to the binary's ../../, or $NOMOAT_TEST_DATA). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "cgroup.h"
#include "jsonparse.h"
#include "oci.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- helpers ------------------------------------------------------------- */

static void assert_one_line(const char *what, const char *msg)
{
	if (!msg[0] || strchr(msg, '\n') || strchr(msg, '\r') || strchr(msg, '\t'))
		fail_msg("%s: message not one line: \"%s\"", what, msg);
}

/* Parse that must succeed; the caller frees. */
static json_t *must_parse(const char *s, size_t len)
{
	char err[NM_JSON_ERR_LEN] = "";
	json_t *j;
	int rc = nm_json_parse(s, len, &j, err, sizeof(err));

	if (rc)
		fail_msg("'%s' rejected (rc %d): %s", s, rc, err);
	return j;
}

/* Parse that must fail with a message holding `want`. */
static void must_reject(const char *s, size_t len, const char *want)
{
	char err[NM_JSON_ERR_LEN] = "";
	json_t *j = (json_t *)&j;
	int rc = nm_json_parse(s, len, &j, err, sizeof(err));

	if (rc != -EINVAL) {
		if (!rc)
			json_decref(j);
		fail_msg("'%.*s' accepted (rc %d)", (int)(len > 60 ? 60 : len), s, rc);
	}
	if (!strstr(err, want))
		fail_msg("'%.*s': message \"%s\" lacks \"%s\"", (int)(len > 60 ? 60 : len), s, err, want);
	assert_one_line(s, err);
	assert_null(j);
}

#define REJECT(lit, want) must_reject(lit, sizeof(lit) - 1, want)

static char *data_dir(void)
{
	static char dir[PATH_MAX];
	char exe[PATH_MAX];
	const char *env = getenv("NOMOAT_TEST_DATA");
	struct stat st;
	ssize_t n;

	if (env && *env) {
		snprintf(dir, sizeof(dir), "%s", env);
		return dir;
	}
	if (!stat("tests/data/oci", &st) && S_ISDIR(st.st_mode)) {
		snprintf(dir, sizeof(dir), "tests/data/oci");
		return dir;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	assert_true(n > 0);
	exe[n] = 0;
	*strrchr(exe, '/') = 0; /* build/tests */
	snprintf(dir, sizeof(dir), "%.*s/../../tests/data/oci", (int)(sizeof(dir) - 32), exe);
	return dir;
}

/* Read a sample; the caller frees. */
static char *slurp(const char *name, size_t *len)
{
	char p[PATH_MAX];
	struct stat st;
	char *buf;
	int fd;

	if ((size_t)snprintf(p, sizeof(p), "%s/%s", data_dir(), name) >= sizeof(p))
		fail_msg("sample path too long");
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fail_msg("cannot open sample %s: %s", p, strerror(errno));
	assert_int_equal(fstat(fd, &st), 0);
	buf = malloc((size_t)st.st_size + 1);
	assert_non_null(buf);
	assert_int_equal(read(fd, buf, (size_t)st.st_size), st.st_size);
	buf[st.st_size] = 0;
	close(fd);
	*len = (size_t)st.st_size;
	return buf;
}

/* ---- nm_json_parse: accepted ----------------------------------------------- */

static void test_json_scalars(void **state)
{
	json_t *j;

	(void)state;
	j = must_parse(" true ", 6);
	assert_true(json_is_true(j));
	json_decref(j);
	j = must_parse("false", 5);
	assert_true(json_is_false(j));
	json_decref(j);
	j = must_parse("\r\n\tnull", 7);
	assert_true(json_is_null(j));
	json_decref(j);
	j = must_parse("-0", 2);
	assert_true(json_is_integer(j));
	assert_int_equal(json_integer_value(j), 0);
	json_decref(j);
	j = must_parse("1.5e-3", 6);
	assert_true(json_is_real(j));
	assert_true(json_real_value(j) > 0.00149 && json_real_value(j) < 0.00151);
	json_decref(j);
	j = must_parse("12E+2", 5);
	assert_true(json_is_real(j) && json_real_value(j) == 1200.0);
	json_decref(j);
	j = must_parse("\"\"", 2);
	assert_string_equal(json_string_value(j), "");
	json_decref(j);
}

/* Integers are int64_t or refused; a fraction or exponent makes a real. */
static void test_json_int64(void **state)
{
	static const struct { const char *in; int64_t v; } ints[] = {
		{ "42", 42 },
		{ "-7", -7 },
		{ "9223372036854775807", INT64_MAX },
		{ "-9223372036854775808", INT64_MIN },
	};
	static const struct { const char *in, *want; } refused[] = {
		{ "9223372036854775808", "too big integer" },
		{ "-9223372036854775809", "too big negative integer" },
		{ "123456789012345678901234567890", "too big integer" },
		/* found by fuzz_oci (minijson): many digits before a huge exponent */
		{ "199999999999999992346e78901234", "real number overflow" },
	};
	static const char *const reals[] = { "1.0", "1e2", "-99999999999999999999.5" };
	json_t *j;

	(void)state;
	for (size_t k = 0; k < ARRAY_SIZE(ints); k++) {
		j = must_parse(ints[k].in, strlen(ints[k].in));
		if (!json_is_integer(j) || json_integer_value(j) != ints[k].v)
			fail_msg("%s: not the integer %lld", ints[k].in, (long long)ints[k].v);
		json_decref(j);
	}
	for (size_t k = 0; k < ARRAY_SIZE(refused); k++)
		must_reject(refused[k].in, strlen(refused[k].in), refused[k].want);
	for (size_t k = 0; k < ARRAY_SIZE(reals); k++) {
		j = must_parse(reals[k], strlen(reals[k]));
		if (!json_is_real(j))
			fail_msg("%s: not a real", reals[k]);
		json_decref(j);
	}
	j = must_parse("\"1\"", 3);
	assert_false(json_is_integer(j));
	json_decref(j);
}

static void test_json_strings(void **state)
{
	static const struct { const char *in; const char *out; size_t len; } cases[] = {
		{ "\"plain\"", "plain", 5 },
		{ "\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t\"", "\" \\ / \b \f \n \r \t", 15 },
		{ "\"\\u0041\\u00e9\\u20AC\"", "A\xc3\xa9\xe2\x82\xac", 6 },
		{ "\"\\ud83d\\ude00\"", "\xf0\x9f\x98\x80", 4 },          /* U+1F600 */
		{ "\"\\uDBFF\\uDFFF\"", "\xf4\x8f\xbf\xbf", 4 },          /* U+10FFFF */
		{ "\"\\ud800\\udc00\"", "\xf0\x90\x80\x80", 4 },          /* U+10000 */
		{ "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14 },
		{ "\"\xef\xbf\xbf\"", "\xef\xbf\xbf", 3 },                /* U+FFFF is fine */
		{ "\"a\\u0000b\"", "a\0b", 3 },
	};
	json_t *j;

	(void)state;
	for (size_t k = 0; k < ARRAY_SIZE(cases); k++) {
		const char *v;

		j = must_parse(cases[k].in, strlen(cases[k].in));
		assert_true(json_is_string(j));
		v = json_string_value(j);
		if (json_string_length(j) != cases[k].len || memcmp(v, cases[k].out, cases[k].len) ||
		    v[cases[k].len])
			fail_msg("%s: decoded to %zu bytes \"%s\"", cases[k].in, json_string_length(j), v);
		json_decref(j);
	}
}

static void test_json_tree(void **state)
{
	const char *s = " {\"a\": [1, \"two\", {\"b\": null}, []], \"c\": {}, \"\": true} ";
	const json_t *a;
	json_t *j;

	(void)state;
	j = must_parse(s, strlen(s));
	assert_true(json_is_object(j));
	assert_int_equal(json_object_size(j), 3);
	a = json_object_get(j, "a");
	assert_true(json_is_array(a));
	assert_int_equal(json_array_size(a), 4);
	assert_true(json_is_integer(json_array_get(a, 0)) && json_integer_value(json_array_get(a, 0)) == 1);
	assert_string_equal(json_string_value(json_array_get(a, 1)), "two");
	assert_true(json_is_null(json_object_get(json_array_get(a, 2), "b")));
	assert_true(json_is_array(json_array_get(a, 3)));
	assert_int_equal(json_array_size(json_array_get(a, 3)), 0);
	assert_null(json_array_get(a, 4));
	assert_null(json_array_get(j, 0));          /* not an array */
	assert_true(json_is_object(json_object_get(j, "c")));
	assert_true(json_is_true(json_object_get(j, "")));
	assert_null(json_object_get(j, "missing"));
	assert_null(json_object_get(a, "a"));       /* not an object */
	assert_null(json_object_get(NULL, "a"));
	assert_null(json_string_value(a));
	json_decref(j);
}

/* 64 levels are fine, 65 are not. */
static void test_json_depth(void **state)
{
	char buf[2 * (NM_JSON_MAX_DEPTH + 1) + 1];
	char err[NM_JSON_ERR_LEN] = "";
	json_t *j;

	(void)state;
	memset(buf, '[', NM_JSON_MAX_DEPTH);
	memset(buf + NM_JSON_MAX_DEPTH, ']', NM_JSON_MAX_DEPTH);
	json_decref(must_parse(buf, 2 * NM_JSON_MAX_DEPTH));
	memset(buf, '[', NM_JSON_MAX_DEPTH + 1);
	memset(buf + NM_JSON_MAX_DEPTH + 1, ']', NM_JSON_MAX_DEPTH + 1);
	assert_int_equal(nm_json_parse(buf, 2 * (NM_JSON_MAX_DEPTH + 1), &j, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "malformed JSON at byte 64: nested deeper than 64 levels");
	assert_null(j);
	/* objects count too; brackets inside strings do not */
	{
		char o[16 * (NM_JSON_MAX_DEPTH + 1) + 8];
		size_t n = 0;

		for (int i = 0; i <= NM_JSON_MAX_DEPTH; i++)
			n += (size_t)sprintf(o + n, "{\"k\":");
		n += (size_t)sprintf(o + n, "1");
		for (int i = 0; i <= NM_JSON_MAX_DEPTH; i++)
			o[n++] = '}';
		must_reject(o, n, "nested deeper than 64");
		n = 0;
		for (int i = 0; i < NM_JSON_MAX_DEPTH; i++)
			n += (size_t)sprintf(o + n, "{\"[\\\"{\":");
		n += (size_t)sprintf(o + n, "1");
		for (int i = 0; i < NM_JSON_MAX_DEPTH; i++)
			o[n++] = '}';
		json_decref(must_parse(o, n));
	}
}

static void test_json_limits(void **state)
{
	size_t n = 2 * NM_JSON_MAX_VALUES + 1, big = NM_JSON_MAX_INPUT + 1;
	char *buf = malloc(big > n + 2 ? big : n + 2);
	char err[NM_JSON_ERR_LEN] = "";
	json_t *j;

	(void)state;
	assert_non_null(buf);
	/* NM_JSON_MAX_VALUES - 1 elements plus the array: fine; one more: not */
	buf[0] = '[';
	for (size_t i = 1; i < n; i += 2) {
		buf[i] = '0';
		buf[i + 1] = ',';
	}
	buf[2 * (NM_JSON_MAX_VALUES - 1)] = ']';
	j = must_parse(buf, 2 * (NM_JSON_MAX_VALUES - 1) + 1);
	assert_int_equal(json_array_size(j), NM_JSON_MAX_VALUES - 1);
	json_decref(j);
	buf[2 * (NM_JSON_MAX_VALUES - 1)] = ',';
	buf[2 * NM_JSON_MAX_VALUES] = ']';
	must_reject(buf, 2 * NM_JSON_MAX_VALUES + 1, "more than 65536 values");
	/* size: 1 MiB of whitespace around a value is fine, one byte more not */
	memset(buf, ' ', big);
	buf[0] = '1';
	json_decref(must_parse(buf, NM_JSON_MAX_INPUT));
	assert_int_equal(nm_json_parse(buf, big, &j, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "larger than the 1048576 byte limit"));
	free(buf);
}

/* Values are counted exactly: 65535 empty arrays in one are fine (65536
 * values), one more is not, whatever the empties and members. */
static void test_json_value_count(void **state)
{
	size_t n = 3 * NM_JSON_MAX_VALUES + 8;
	char *buf = malloc(n);
	json_t *j;
	size_t o = 0;

	(void)state;
	assert_non_null(buf);
	buf[o++] = '[';
	for (size_t i = 0; i < NM_JSON_MAX_VALUES - 1; i++) {
		memcpy(buf + o, i ? ",[]" : "[]", i ? 3 : 2);
		o += i ? 3 : 2;
	}
	buf[o++] = ']';
	j = must_parse(buf, o);
	assert_int_equal(json_array_size(j), NM_JSON_MAX_VALUES - 1);
	json_decref(j);
	memcpy(buf + o - 1, ",{}]", 4);
	must_reject(buf, o + 3, "more than 65536 values");
	j = must_parse("{\"a\":[],\"b\":{},\"c\":[[]]}", 24);
	assert_int_equal(json_object_size(j), 3);
	json_decref(j);
	free(buf);
}

/* ---- nm_json_parse: rejected (jansson's words after the byte count) ------ */

static void test_json_reject(void **state)
{
	(void)state;
	REJECT("", "at byte 0: unexpected token near end of file");
	REJECT("  \n", "at byte 3: unexpected token near end of file");
	REJECT("[1,]", "at byte 4: unexpected token near ']'");
	REJECT("[1 2]", "at byte 4: ']' expected near '2'");
	REJECT("{\"a\":1,}", "at byte 8: string or '}' expected near '}'");
	REJECT("{\"a\" 1}", "at byte 6: ':' expected near '1'");
	REJECT("{a:1}", "at byte 2: string or '}' expected near 'a'");
	REJECT("{'a':1}", "string or '}' expected near '''");
	REJECT("[1", "at byte 2: ']' expected near end of file");
	REJECT("{\"a\":", "at byte 5: unexpected token near end of file");
	REJECT("\"abc", "at byte 4: premature end of input near '\"abc'");
	REJECT("tru", "at byte 3: invalid token near 'tru'");
	REJECT("nul!", "invalid token near 'nul'");
	REJECT("True", "invalid token near 'True'");
	REJECT("NaN", "invalid token near 'NaN'");
	REJECT("Infinity", "invalid token near 'Infinity'");
	REJECT("-Infinity", "at byte 1: invalid token near '-'");
	REJECT("01", "at byte 1: invalid token near '0'");
	REJECT("-01", "at byte 2: invalid token near '-0'");
	REJECT("1.", "at byte 2: invalid token near '1.'");
	REJECT(".5", "invalid token near '.'");
	REJECT("+1", "invalid token near '+'");
	REJECT("1e", "invalid token near '1e'");
	REJECT("1e+", "invalid token near '1e+'");
	REJECT("0x10", "at byte 2: end of file expected near 'x'");
	REJECT("[1] x", "at byte 5: end of file expected near 'x'");
	REJECT("{} {}", "at byte 4: end of file expected");
	REJECT("1 2", "at byte 3: end of file expected");
	REJECT("\xef\xbb\xbf{}", "at byte 3: invalid token near '\\xef\\xbb\\xbf'");  /* BOM */
	REJECT("[1,\0]", "at byte 3: unexpected byte 0x00");
	REJECT("{}\0x", "at byte 2: unexpected byte 0x00");
	REJECT("/* c */ 1", "invalid token near '/'");
	/* strings */
	REJECT("\"\\x\"", "at byte 3: invalid escape near '\"\\x'");
	REJECT("\"\\'\"", "invalid escape");
	REJECT("\"\\", "invalid escape");
	REJECT("\"\\u12\"", "invalid escape");
	REJECT("\"\\u12", "at byte 5: invalid escape");
	REJECT("\"\\u12g4\"", "invalid escape");
	REJECT("\"\\ud800\"", "at byte 8: invalid Unicode '\\uD800'");
	REJECT("\"\\ud800\\u0041\"", "invalid Unicode '\\uD800\\u0041'");
	REJECT("\"\\ud800\\ud800\"", "invalid Unicode '\\uD800\\uD800'");
	REJECT("\"\\udc00\"", "at byte 8: invalid Unicode '\\uDC00'");
	REJECT("\"\\ud800\\u00\"", "invalid escape");
	REJECT("\"a\tb\"", "at byte 2: control character 0x9");
	REJECT("\"a\nb\"", "unexpected newline");
	REJECT("\"a\0b\"", "at byte 2: unexpected byte 0x00");
	REJECT("\"\xc0\x80\"", "at byte 1: unable to decode byte 0xc0");  /* overlong NUL */
	REJECT("\"\xc1\xbf\"", "unable to decode byte 0xc1");            /* overlong */
	REJECT("\"\xe0\x80\xaf\"", "unable to decode byte 0xe0");        /* overlong '/' */
	REJECT("\"\xed\xa0\x80\"", "unable to decode byte 0xed");        /* UTF-16 surrogate */
	REJECT("\"\xf4\x90\x80\x80\"", "unable to decode byte 0xf4");    /* > U+10FFFF */
	REJECT("\"\xf5\x80\x80\x80\"", "unable to decode byte 0xf5");
	REJECT("\"\xff\"", "unable to decode byte 0xff");
	REJECT("\"\x80\"", "unable to decode byte 0x80");                /* lone continuation */
	REJECT("\"\xc3\"", "unable to decode byte 0xc3");                /* truncated */
	REJECT("\"ab\xe2\x82\"", "at byte 3: unable to decode byte 0xe2");
	/* duplicate keys, small and large objects */
	REJECT("{\"a\":1,\"b\":2,\"a\":3}", "at byte 16: duplicate object key near '\"a\"'");
	REJECT("{\"k0\":0,\"k1\":1,\"k2\":2,\"k3\":3,\"k4\":4,\"k5\":5,\"k6\":6,\"k7\":7,"
	       "\"k8\":8,\"k9\":9,\"k3\":10}", "at byte 75: duplicate object key near '\"k3\"'");
	REJECT("{\"\\u0041\":1,\"A\":2}", "duplicate object key near '\"A\"'");
	REJECT("{\"x\":{\"a\":1,\"a\\n\":1,\"a\":1}}", "duplicate object key near '\"a\"'");
	/* minijson took a key holding \u0000; jansson refuses it */
	REJECT("{\"a\\u0000\":4}", "NUL byte in object key not supported");
}

/* Keys that differ are fine, however alike; a key in two objects too. */
static void test_json_not_duplicates(void **state)
{
	const char *s = "{\"a\":1,\"A\":2,\"a \":3,\"o\":{\"a\":5},"
			"\"k0\":0,\"k1\":1,\"k2\":2,\"k3\":3,\"k4\":4,\"k5\":5,\"k6\":6,\"k7\":7}";
	json_t *j;

	(void)state;
	j = must_parse(s, strlen(s));
	assert_int_equal(json_object_size(j), 12);
	assert_int_equal(json_integer_value(json_object_get(j, "a")), 1);
	assert_int_equal(json_integer_value(json_object_get(j, "a ")), 3);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "o"), "a")), 5);
	json_decref(j);
}

/* ---- nm_oci_parse --------------------------------------------------------- */

static void parse_sample(const char *name, struct nm_oci_state *st)
{
	char err[NM_OCI_ERR_LEN] = "";
	size_t len;
	char *s = slurp(name, &len);
	int rc = nm_oci_parse(s, len, st, err, sizeof(err));

	free(s);
	if (rc)
		fail_msg("%s rejected (rc %d): %s", name, rc, err);
}

static void test_oci_runc(void **state)
{
	struct nm_oci_state *st = calloc(1, sizeof(*st));

	(void)state;
	assert_non_null(st);
	parse_sample("runc-state.json", st);
	assert_string_equal(st->oci_version, "1.0.2-dev");
	assert_string_equal(st->id, "9f1c2a7e3b5d4e6f8a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f");
	assert_string_equal(st->status, "created");
	assert_int_equal(st->pid, 424242);
	assert_string_equal(st->bundle, "/run/containerd/io.containerd.runtime.v2.task/k8s.io/9f1c2a7e3b5d");
	assert_string_equal(st->policy, "agents");

	parse_sample("podman-state.json", st);
	assert_string_equal(st->oci_version, "1.1.0");
	assert_string_equal(st->id, "agent-7");
	assert_string_equal(st->status, "creating");
	assert_int_equal(st->pid, 31337);
	assert_string_equal(st->bundle, "/var/lib/containers/storage/overlay-containers/agent-7/userdata");
	assert_string_equal(st->policy, "build-box_2.x");
	free(st);
}

static void test_oci_no_policy(void **state)
{
	struct nm_oci_state *st = calloc(1, sizeof(*st));

	(void)state;
	assert_non_null(st);
	parse_sample("no-annotation.json", st);
	assert_string_equal(st->id, "plain");
	assert_int_equal(st->pid, 1234);
	assert_string_equal(st->status, "running");
	assert_string_equal(st->bundle, "/srv/bundles/plain");
	assert_string_equal(st->policy, "");

	parse_sample("annotations-without-policy.json", st);
	assert_string_equal(st->id, "other");
	assert_int_equal(st->pid, 77);
	assert_string_equal(st->policy, "");

	/* runc leaves the pid out of a stopped container's state */
	parse_sample("stopped.json", st);
	assert_string_equal(st->status, "stopped");
	assert_int_equal(st->pid, 0);
	assert_string_equal(st->policy, "agents");
	free(st);
}

/* Must fail: -EINVAL, one line holding want, *st untouched. */
static void oci_reject(const char *what, const char *s, size_t len, const char *want)
{
	struct nm_oci_state *st = malloc(sizeof(*st)), *before = malloc(sizeof(*st));
	char err[NM_OCI_ERR_LEN] = "";
	int rc;

	assert_non_null(st);
	assert_non_null(before);
	memset(st, 0xa5, sizeof(*st));
	memcpy(before, st, sizeof(*st));
	rc = nm_oci_parse(s, len, st, err, sizeof(err));
	if (rc != -EINVAL)
		fail_msg("%s accepted (rc %d)", what, rc);
	if (!strstr(err, want))
		fail_msg("%s: message \"%s\" lacks \"%s\"", what, err, want);
	assert_one_line(what, err);
	if (memcmp(st, before, sizeof(*st)))
		fail_msg("%s: state written on error", what);
	free(st);
	free(before);
}

static void test_oci_bad_samples(void **state)
{
	static const struct { const char *file, *want; } cases[] = {
		{ "bad-truncated.json", "malformed JSON at byte 116: premature end of input near '\"age'" },
		{ "bad-escape.json", "malformed JSON at byte 33: invalid escape near '\"esc\\x'" },
		{ "bad-pid-string.json", "state: \"pid\" is not a positive integer (got a string)" },
		{ "bad-pid-negative.json", "state: \"pid\" is not a positive integer (got -5)" },
		{ "bad-pid-float.json", "state: \"pid\" is not a positive integer (got 42.5)" },
		{ "bad-pid-missing.json", "state: missing \"pid\"" },
		{ "bad-annotation-type.json", "state: annotation \"nomoat.policy\" is not a string (got a number)" },
		{ "bad-policy-name.json", "state: annotation \"nomoat.policy\": 'Agents!': policy name" },
		{ "bad-trailing.json", "malformed JSON at byte 79: end of file expected near '{'" },
		{ "bad-deep.json", "nested deeper than 64 levels" },
		{ "bad-duplicate-key.json", "duplicate object key near '\"nomoat.policy\"'" },
	};

	(void)state;
	for (size_t k = 0; k < ARRAY_SIZE(cases); k++) {
		size_t len;
		char *s = slurp(cases[k].file, &len);

		oci_reject(cases[k].file, s, len, cases[k].want);
		free(s);
	}
}

#define OCI_REJECT(lit, want) oci_reject(lit, lit, sizeof(lit) - 1, want)
#define BASE "\"ociVersion\":\"1.0.2\",\"status\":\"created\",\"bundle\":\"/b\""

static void test_oci_bad_fields(void **state)
{
	(void)state;
	OCI_REJECT("[]", "state: not a JSON object (got an array)");
	OCI_REJECT("\"x\"", "state: not a JSON object (got a string)");
	OCI_REJECT("{" BASE ",\"pid\":1}", "state: missing \"id\"");
	OCI_REJECT("{" BASE ",\"id\":\"\",\"pid\":1}", "state: \"id\" is empty");
	OCI_REJECT("{" BASE ",\"id\":7,\"pid\":1}", "state: \"id\" is not a string (got a number)");
	OCI_REJECT("{" BASE ",\"id\":\"a\\u0000b\",\"pid\":1}", "state: \"id\" contains a NUL byte");
	OCI_REJECT("{" BASE ",\"id\":\"c\",\"pid\":0}", "state: \"pid\" is not a positive integer (got 0)");
	OCI_REJECT("{" BASE ",\"id\":\"c\",\"pid\":1e3}", "(got 1000.0)");
	OCI_REJECT("{" BASE ",\"id\":\"c\",\"pid\":2147483648}", "(got 2147483648)");
	OCI_REJECT("{" BASE ",\"id\":\"c\",\"pid\":null}", "(got a null)");
	OCI_REJECT("{" BASE ",\"id\":\"c\",\"pid\":true}", "(got a boolean)");
	OCI_REJECT("{" BASE ",\"id\":\"c\",\"pid\":[1]}", "(got an array)");
	OCI_REJECT("{\"id\":\"c\",\"pid\":1,\"bundle\":\"/b\"}", "state: missing \"status\"");
	OCI_REJECT("{\"id\":\"c\",\"pid\":1,\"status\":\"created\"}", "state: missing \"bundle\"");
	OCI_REJECT("{\"id\":\"c\",\"pid\":1,\"status\":\"created\",\"bundle\":\"rel/dir\"}",
		   "state: \"bundle\" is not an absolute path");
	OCI_REJECT("{\"ociVersion\":1,\"id\":\"c\",\"pid\":1,\"status\":\"created\",\"bundle\":\"/b\"}",
		   "state: \"ociVersion\" is not a string (got a number)");
	OCI_REJECT("{" BASE ",\"id\":\"c\",\"pid\":1,\"annotations\":[]}",
		   "state: \"annotations\" is not an object (got an array)");
	OCI_REJECT("{" BASE ",\"id\":\"c\",\"pid\":1,\"annotations\":{\"other\\n\":{}}}",
		   "state: annotation \"other\\x0a\" is not a string (got an object)");
	OCI_REJECT("{" BASE ",\"id\":\"c\",\"pid\":1,\"annotations\":{\"nomoat.policy\":\"\"}}",
		   "state: annotation \"nomoat.policy\": '': empty policy name");
	OCI_REJECT("{" BASE ",\"id\":\"c\",\"pid\":1,\"annotations\":{\"nomoat.policy\":\"a\\u0000\"}}",
		   "state: annotation \"nomoat.policy\" contains a NUL byte");
	OCI_REJECT("{" BASE ",\"id\":\"c\",\"pid\":1,\"annotations\":{\"nomoat.policy\":"
		   "\"a-very-long-policy-name-of-40-chars-xxxx\"}}", "policy name longer than 31");
}

static void test_oci_edges(void **state)
{
	char id[600], doc[1024], err[NM_OCI_ERR_LEN];
	struct nm_oci_state *st = calloc(1, sizeof(*st));
	int n;

	(void)state;
	assert_non_null(st);
	/* unknown members ignored; null annotations are no annotations;
	 * a stopped container may carry pid 0 */
	n = snprintf(doc, sizeof(doc), "{" BASE ",\"id\":\"c\",\"pid\":99,\"extra\":[1,{}],"
		     "\"annotations\":null}");
	assert_int_equal(nm_oci_parse(doc, (size_t)n, st, err, sizeof(err)), 0);
	assert_int_equal(st->pid, 99);
	assert_string_equal(st->policy, "");
	assert_string_equal(st->oci_version, "1.0.2");
	n = snprintf(doc, sizeof(doc), "{\"id\":\"c\",\"status\":\"stopped\",\"pid\":0,\"bundle\":\"/b\"}");
	assert_int_equal(nm_oci_parse(doc, (size_t)n, st, err, sizeof(err)), 0);
	assert_int_equal(st->pid, 0);
	assert_string_equal(st->oci_version, "");
	/* id: 255 bytes fit, 256 do not */
	memset(id, 'x', sizeof(id));
	id[NM_OCI_ID_LEN - 1] = 0;
	n = snprintf(doc, sizeof(doc), "{" BASE ",\"id\":\"%s\",\"pid\":1}", id);
	assert_int_equal(nm_oci_parse(doc, (size_t)n, st, err, sizeof(err)), 0);
	assert_int_equal(strlen(st->id), NM_OCI_ID_LEN - 1);
	id[NM_OCI_ID_LEN - 1] = 'x';
	id[NM_OCI_ID_LEN] = 0;
	n = snprintf(doc, sizeof(doc), "{" BASE ",\"id\":\"%s\",\"pid\":1}", id);
	oci_reject("id of 256 bytes", doc, (size_t)n, "state: \"id\" is longer than 255 bytes");
	/* a NULL err is allowed */
	assert_int_equal(nm_oci_parse("{", 1, st, NULL, 0), -EINVAL);
	free(st);
}

/* ---- nm_oci_cgroup_of_pid ------------------------------------------------ */

/* The "0::" path of /proc/self/cgroup, read plainly. */
static void self_v2_path(char *out, size_t len)
{
	char line[PATH_MAX + 16];
	FILE *f = fopen("/proc/self/cgroup", "re");

	assert_non_null(f);
	out[0] = 0;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "0::", 3))
			continue;
		line[strcspn(line, "\n")] = 0;
		if ((size_t)snprintf(out, len, "%s", line + 3) >= len)
			fail_msg("cgroup path too long");
	}
	fclose(f);
	if (!out[0])
		skip(); /* no cgroup v2 on this host */
}

static void test_cgroup_of_self(void **state)
{
	char rel[PATH_MAX], want[PATH_MAX], mnt[PATH_MAX], abs[2 * PATH_MAX];
	struct stat st;

	(void)state;
	self_v2_path(want, sizeof(want));
	assert_int_equal(nm_oci_cgroup_of_pid(getpid(), rel, sizeof(rel)), 0);
	assert_true(want[0] == '/');
	assert_string_equal(rel, want + 1);
	/* and it names a real directory below the mount */
	assert_int_equal(nm_cgroup2_mount(mnt, sizeof(mnt)), 0);
	snprintf(abs, sizeof(abs), "%s%s%s", mnt, rel[0] ? "/" : "", rel);
	assert_int_equal(stat(abs, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
}

/* The path the test process was in, restored by the teardown. */
static char home_cgroup[PATH_MAX];
static char test_cgroup[PATH_MAX];

static int move_back(void **state)
{
	(void)state;
	if (home_cgroup[0])
		nm_cgroup_enter(home_cgroup, 0);
	if (test_cgroup[0])
		rmdir(test_cgroup);
	home_cgroup[0] = test_cgroup[0] = 0;
	return 0;
}

/* Move ourselves into a fresh cgroup and see it named. */
static void test_cgroup_of_moved(void **state)
{
	char mnt[PATH_MAX], rel[PATH_MAX], want[PATH_MAX], home[PATH_MAX];
	int rc;

	(void)state;
	self_v2_path(home, sizeof(home));
	assert_int_equal(nm_cgroup2_mount(mnt, sizeof(mnt)), 0);
	if ((size_t)snprintf(home_cgroup, sizeof(home_cgroup), "%s%s", mnt,
			     strcmp(home, "/") ? home : "") >= sizeof(home_cgroup) ||
	    (size_t)snprintf(test_cgroup, sizeof(test_cgroup), "%s/nomoat-utest-%d-oci", mnt,
			     (int)getpid()) >= sizeof(test_cgroup)) {
		home_cgroup[0] = test_cgroup[0] = 0;
		fail_msg("cgroup path too long");
	}
	rc = nm_cgroup_create(test_cgroup);
	if (rc == -EACCES || rc == -EPERM || rc == -EROFS) {
		test_cgroup[0] = home_cgroup[0] = 0;
		skip();
	}
	assert_int_equal(rc, 0);
	rc = nm_cgroup_enter(test_cgroup, 0);
	if (rc) {
		home_cgroup[0] = 0;
		fail_msg("cannot enter %s: %s", test_cgroup, strerror(-rc));
	}
	assert_int_equal(nm_oci_cgroup_of_pid(getpid(), rel, sizeof(rel)), 0);
	snprintf(want, sizeof(want), "nomoat-utest-%d-oci", (int)getpid());
	assert_string_equal(rel, want);
	/* too small a buffer */
	assert_int_equal(nm_oci_cgroup_of_pid(getpid(), rel, strlen(want)), -ENAMETOOLONG);
	assert_int_equal(nm_oci_cgroup_of_pid(getpid(), rel, strlen(want) + 1), 0);
}

static void test_cgroup_of_errors(void **state)
{
	char rel[PATH_MAX];
	long pid_max = 0;
	FILE *f = fopen("/proc/sys/kernel/pid_max", "re");

	(void)state;
	assert_int_equal(nm_oci_cgroup_of_pid(0, rel, sizeof(rel)), -EINVAL);
	assert_int_equal(nm_oci_cgroup_of_pid(-1, rel, sizeof(rel)), -EINVAL);
	assert_int_equal(nm_oci_cgroup_of_pid(1, rel, 0), -EINVAL);
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%ld", &pid_max), 1);
	fclose(f);
	/* pids are below pid_max: that one never exists */
	if (pid_max < INT_MAX)
		assert_int_equal(nm_oci_cgroup_of_pid((int)pid_max, rel, sizeof(rel)), -ESRCH);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_scalars),
		cmocka_unit_test(test_json_int64),
		cmocka_unit_test(test_json_strings),
		cmocka_unit_test(test_json_tree),
		cmocka_unit_test(test_json_depth),
		cmocka_unit_test(test_json_limits),
		cmocka_unit_test(test_json_value_count),
		cmocka_unit_test(test_json_reject),
		cmocka_unit_test(test_json_not_duplicates),
		cmocka_unit_test(test_oci_runc),
		cmocka_unit_test(test_oci_no_policy),
		cmocka_unit_test(test_oci_bad_samples),
		cmocka_unit_test(test_oci_bad_fields),
		cmocka_unit_test(test_oci_edges),
		cmocka_unit_test(test_cgroup_of_self),
		cmocka_unit_test_teardown(test_cgroup_of_moved, move_back),
		cmocka_unit_test(test_cgroup_of_errors),
	};

	return cmocka_run_group_tests_name("oci", tests, NULL, NULL);
}
