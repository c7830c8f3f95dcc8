// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libFuzzer target: the OCI state document a container runtime writes to
 * `nomoat oci-hook` (nm_oci_parse), and under it the strict JSON input
 * (nm_json_parse: jansson with nomoat's limits).
 *
 * Besides crashes it checks the tree an accepted document gives: within the
 * depth and value limits, strings and keys valid UTF-8 (checked here, not by
 * jansson), keys unique (each found by name as itself), no NUL in keys, the
 * input free of raw NUL bytes; the tree written back as JSON (by this file,
 * not by jansson) parses to an equal tree and writes the same text again.
 * An accepted state document holds what oci.h promises; a rejected input
 * gives one printable line naming a byte within the input.
 */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonparse.h"
#include "oci.h"
#include "parse.h"

#include "fuzz_check.h"

/* ---- a growable output buffer --------------------------------------------- */

struct out {
	char *b;
	size_t n, cap;
};

static void put(struct out *o, const void *s, size_t n)
{
	if (o->n + n + 1 > o->cap) {
		size_t cap = o->cap ? o->cap : 256;

		while (o->n + n + 1 > cap)
			cap *= 2;
		o->b = realloc(o->b, cap);
		CHECK(o->b, "out of memory");
		o->cap = cap;
	}
	memcpy(o->b + o->n, s, n);
	o->n += n;
	o->b[o->n] = 0;
}

/* ---- checks on a parsed tree ---------------------------------------------- */

/* Length of a valid UTF-8 sequence at s (left bytes), 0 if invalid. */
static size_t utf8_ok(const unsigned char *s, size_t left)
{
	unsigned long cp;
	size_t n;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0)
		n = 2, cp = s[0] & 0x1f;
	else if ((s[0] & 0xf0) == 0xe0)
		n = 3, cp = s[0] & 0x0f;
	else if ((s[0] & 0xf8) == 0xf0)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (left < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000))
		return 0; /* overlong */
	if ((cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return n;
}

static void check_utf8(const char *s, size_t len, const char *what)
{
	CHECK(s[len] == 0, "%s not NUL-terminated at its length", what);
	for (size_t i = 0; i < len;) {
		size_t k = utf8_ok((const unsigned char *)s + i, len - i);

		CHECK(k, "%s: invalid UTF-8 at %zu", what, i);
		i += k;
	}
}

static size_t check_value(const json_t *v, int depth)
{
	size_t count = 1, i;
	const char *key;
	json_t *c;

	/* depth: containers above; one nested NM_JSON_MAX_DEPTH deep sits at
	 * NM_JSON_MAX_DEPTH - 1, its elements one further */
	CHECK(depth <= NM_JSON_MAX_DEPTH, "tree deeper than the limit");
	switch (json_typeof(v)) {
	case JSON_NULL:
	case JSON_TRUE:
	case JSON_FALSE:
	case JSON_INTEGER:
		return count;
	case JSON_REAL:
		CHECK(isfinite(json_real_value(v)), "real %g", json_real_value(v));
		return count;
	case JSON_STRING:
		check_utf8(json_string_value(v), json_string_length(v), "string");
		return count;
	case JSON_ARRAY:
		CHECK(depth < NM_JSON_MAX_DEPTH, "array nested deeper than the limit");
		json_array_foreach(v, i, c) {
			CHECK(json_array_get(v, i) == c, "json_array_get(%zu)", i);
			count += check_value(c, depth + 1);
		}
		CHECK(!json_array_get(v, json_array_size(v)), "json_array_get past the end");
		return count;
	case JSON_OBJECT:
		CHECK(depth < NM_JSON_MAX_DEPTH, "object nested deeper than the limit");
		i = 0;
		json_object_foreach((json_t *)v, key, c) {
			check_utf8(key, strlen(key), "key");
			CHECK(json_object_iter_key_len(json_object_key_to_iter(key)) == strlen(key), "a key with a NUL");
			/* duplicates are refused: the name finds this member */
			CHECK(json_object_get(v, key) == c, "json_object_get('%s') found another member", key);
			count += check_value(c, depth + 1);
			i++;
		}
		CHECK(i == json_object_size(v), "object says %zu members, has %zu", json_object_size(v), i);
		return count;
	}
	CHECK(0, "type %d", json_typeof(v));
	return count;
}

/* ---- writing a tree back --------------------------------------------------- */

static void put_string(struct out *o, const char *s, size_t n)
{
	put(o, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[8];

		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			put(o, esc, 2);
		} else if (c < 0x20) {
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			put(o, esc, 6);
		} else {
			put(o, &s[i], 1);
		}
	}
	put(o, "\"", 1);
}

static void write_value(struct out *o, const json_t *v)
{
	const char *key;
	char num[48];
	json_t *c;
	size_t i;

	switch (json_typeof(v)) {
	case JSON_NULL:
		put(o, "null", 4);
		return;
	case JSON_TRUE:
		put(o, "true", 4);
		return;
	case JSON_FALSE:
		put(o, "false", 5);
		return;
	case JSON_INTEGER:
		put(o, num, (size_t)snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v)));
		return;
	case JSON_REAL:
		/* 17 digits read back to the same double; kept a real */
		snprintf(num, sizeof(num), "%.17g", json_real_value(v));
		if (!num[strcspn(num, ".e")])
			strcat(num, ".0");
		put(o, num, strlen(num));
		return;
	case JSON_STRING:
		put_string(o, json_string_value(v), json_string_length(v));
		return;
	case JSON_ARRAY:
		put(o, "[", 1);
		json_array_foreach(v, i, c) {
			if (i)
				put(o, ",", 1);
			write_value(o, c);
		}
		put(o, "]", 1);
		return;
	case JSON_OBJECT:
		put(o, "{", 1);
		i = 0;
		json_object_foreach((json_t *)v, key, c) {
			if (i++)
				put(o, ",", 1);
			put_string(o, key, strlen(key));
			put(o, ":", 1);
			write_value(o, c);
		}
		put(o, "}", 1);
		return;
	}
}

/* ---- messages --------------------------------------------------------------- */

static void check_line(const char *err, size_t cap, const char *what)
{
	size_t n = strlen(err);

	CHECK(n > 0, "%s: rejected without a message", what);
	CHECK(n < cap - 1, "%s: message may be cut: %s", what, err);
	for (size_t i = 0; i < n; i++)
		CHECK((unsigned char)err[i] >= 0x20 && (unsigned char)err[i] < 0x7f, "%s: byte 0x%02x in: %s", what,
		      (unsigned char)err[i], err);
}

static void fuzz_json(const char *text, size_t len)
{
	json_t *root, *root2;
	struct out o = { 0 }, o2 = { 0 };
	char err[NM_JSON_ERR_LEN], err2[NM_JSON_ERR_LEN];
	size_t at, count;
	int rc;

	memset(err, 0, sizeof(err));
	rc = nm_json_parse(text, len, &root, err, sizeof(err));
	if (rc) {
		CHECK(rc == -EINVAL, "nm_json_parse rc %d: %s", rc, err);
		CHECK(!root, "a failed parse gave a tree");
		check_line(err, sizeof(err), "nm_json_parse");
		CHECK(sscanf(err, "malformed JSON at byte %zu:", &at) == 1, "message shape: %s", err);
		CHECK(at <= len, "error offset %zu past the input (%zu): %s", at, len, err);
		return;
	}
	CHECK(root, "no root");
	CHECK(!memchr(text, 0, len), "input with a NUL byte accepted");
	count = check_value(root, 0);
	CHECK(count <= NM_JSON_MAX_VALUES, "%zu values in the tree", count);

	/* written back without whitespace: an equal tree, and a fixed point */
	write_value(&o, root);
	memset(err2, 0, sizeof(err2));
	rc = nm_json_parse(o.b, o.n, &root2, err2, sizeof(err2));
	CHECK(!rc, "rewritten document rejected: %s\n%s", err2, o.b);
	CHECK(json_equal(root, root2), "rewritten tree differs: %s", o.b);
	write_value(&o2, root2);
	CHECK(o.n == o2.n && !memcmp(o.b, o2.b, o.n), "rewriting is not stable");
	json_decref(root2);
	json_decref(root);
	free(o.b);
	free(o2.b);
}

static bool ref_name(const char *s)
{
	size_t n = strlen(s);

	if (!n || n >= NM_POLICY_NAME_LEN || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || strchr("_.-", s[i])))
			return false;
	return true;
}

static void fuzz_state(const char *text, size_t len)
{
	struct nm_oci_state st, sentinel;
	char err[NM_OCI_ERR_LEN];
	int rc;

	memset(&sentinel, 0xa5, sizeof(sentinel));
	st = sentinel;
	memset(err, 0, sizeof(err));
	rc = nm_oci_parse(text, len, &st, err, sizeof(err));
	if (rc) {
		CHECK(rc == -EINVAL, "nm_oci_parse rc %d: %s", rc, err);
		CHECK(!memcmp(&st, &sentinel, sizeof(st)), "state written on error");
		check_line(err, sizeof(err), "nm_oci_parse");
		return;
	}
	CHECK(st.id[0] && strlen(st.id) < NM_OCI_ID_LEN, "id '%s'", st.id);
	CHECK(st.status[0] && strlen(st.status) < NM_OCI_STATUS_LEN, "status '%s'", st.status);
	CHECK(strlen(st.oci_version) < NM_OCI_VERSION_LEN, "ociVersion");
	CHECK(st.bundle[0] == '/', "bundle '%s'", st.bundle);
	CHECK(st.pid > 0 || (st.pid == 0 && !strcmp(st.status, "stopped")), "pid %d with status '%s'", st.pid,
	      st.status);
	CHECK(!st.policy[0] || ref_name(st.policy), "policy '%s'", st.policy);
}

/* nm_json_quote on the raw input: bounded, terminated, printable. */
static void fuzz_quote(const char *text, size_t len)
{
	size_t dlen = len ? (unsigned char)text[0] % 64 + 1 : 1, max = len > 1 ? (unsigned char)text[1] : 0;
	char *dst = malloc(dlen);

	CHECK(dst, "out of memory");
	nm_json_quote(dst, dlen, text, len, max);
	CHECK(strnlen(dst, dlen) < dlen, "nm_json_quote output not terminated");
	for (size_t i = 0; dst[i]; i++)
		CHECK((unsigned char)dst[i] >= 0x20 && (unsigned char)dst[i] < 0x7f && dst[i] != '"',
		      "nm_json_quote output byte 0x%02x", (unsigned char)dst[i]);
	free(dst);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* an exact-size copy without a terminator: the parsers take a length */
	char *text = malloc(size ? size : 1);

	if (!text)
		return 0;
	memcpy(text, data, size);
	fuzz_json(text, size);
	fuzz_state(text, size);
	fuzz_quote(text, size);
	free(text);
	return 0;
}
