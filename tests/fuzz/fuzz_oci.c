// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libFuzzer target: the OCI state document a container runtime writes to
 * `nomoat oci-hook` (nm_oci_parse), and under it the strict JSON parser
 * (mj_parse).
 *
 * Besides crashes it checks the tree an accepted document gives: counts and
 * links agree, offsets point at the value's first byte, strings are valid
 * UTF-8, keys are unique, numbers read back as written and mj_int64 agrees
 * with strtoll; the tree written back as JSON parses to the same tree (and
 * writes the same text again).  An accepted state document holds what
 * oci.h promises; a rejected input gives one printable line.
 */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "minijson.h"
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

/* The number grammar of RFC 8259. */
static bool number_ok(const char *s)
{
	if (*s == '-')
		s++;
	if (*s == '0')
		s++;
	else if (*s >= '1' && *s <= '9')
		while (*s >= '0' && *s <= '9')
			s++;
	else
		return false;
	if (*s == '.') {
		if (!(*++s >= '0' && *s <= '9'))
			return false;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '+' || *s == '-')
			s++;
		if (!(*s >= '0' && *s <= '9'))
			return false;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	return !*s;
}

static void check_int64(const struct mj_value *v)
{
	bool plain = !strpbrk(v->str, ".eE");
	long long ref;
	int64_t got = 0;
	int rc = mj_int64(v, &got);

	if (!plain) {
		CHECK(rc == -EINVAL, "mj_int64('%s') = %d, want -EINVAL", v->str, rc);
		return;
	}
	errno = 0;
	ref = strtoll(v->str, NULL, 10);
	if (errno == ERANGE) {
		CHECK(rc == -ERANGE, "mj_int64('%s') = %d, want -ERANGE", v->str, rc);
		return;
	}
	CHECK(rc == 0 && got == ref, "mj_int64('%s') = %d, %lld, want %lld", v->str, rc, (long long)got, ref);
}

static size_t check_value(const char *text, size_t len, const struct mj_value *v, int depth)
{
	static const char first[] = { [MJ_NULL] = 'n', [MJ_ARRAY] = '[', [MJ_OBJECT] = '{', [MJ_STRING] = '"' };
	size_t count = 1, i = 0;
	const struct mj_value *c;

	CHECK(depth <= MJ_MAX_DEPTH + 1, "tree deeper than the limit");
	CHECK(v->off < len, "value offset %zu past the input (%zu)", v->off, len);
	switch (v->type) {
	case MJ_NULL:
	case MJ_ARRAY:
	case MJ_OBJECT:
	case MJ_STRING:
		CHECK(text[v->off] == first[v->type], "%s at %zu starts with 0x%02x", mj_type_name(v->type), v->off,
		      (unsigned char)text[v->off]);
		break;
	case MJ_BOOL:
		CHECK(text[v->off] == (v->boolean ? 't' : 'f'), "boolean at %zu", v->off);
		break;
	case MJ_NUMBER:
		CHECK(v->str && v->str[v->len] == 0 && strlen(v->str) == v->len, "number text");
		CHECK(v->len <= len - v->off && !memcmp(text + v->off, v->str, v->len),
		      "number text '%s' is not the input at %zu", v->str, v->off);
		CHECK(number_ok(v->str), "number '%s' against the grammar", v->str);
		CHECK(v->number == strtod(v->str, NULL) || (isnan(v->number) && isnan(strtod(v->str, NULL))),
		      "number '%s' reads as %g", v->str, v->number);
		check_int64(v);
		break;
	default:
		CHECK(0, "type %d", v->type);
	}
	if (v->type == MJ_STRING)
		check_utf8(v->str, v->len, "string");
	if (v->type != MJ_ARRAY && v->type != MJ_OBJECT) {
		CHECK(v->n == 0 && !v->child, "a scalar with children");
		return count;
	}
	for (c = v->child; c; c = c->next, i++) {
		if (v->type == MJ_OBJECT) {
			CHECK(c->key, "object member without a key");
			CHECK(c->key_off < c->off && text[c->key_off] == '"', "key offset %zu", c->key_off);
			check_utf8(c->key, c->key_len, "key");
			/* duplicates are refused; a key with a NUL cannot be looked up by name */
			if (strlen(c->key) == c->key_len)
				CHECK(mj_get(v, c->key) == c, "mj_get('%s') found another member", c->key);
			for (const struct mj_value *d = v->child; d != c; d = d->next)
				CHECK(d->key_len != c->key_len || memcmp(d->key, c->key, c->key_len), "duplicate key kept");
		} else {
			CHECK(!c->key, "array element with a key");
			CHECK(mj_at(v, i) == c, "mj_at(%zu)", i);
		}
		CHECK(c->off > v->off, "child before its container");
		count += check_value(text, len, c, depth + 1);
	}
	CHECK(i == v->n, "container says %zu children, has %zu", v->n, i);
	CHECK(!mj_at(v, i), "mj_at past the end");
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

static void write_value(struct out *o, const struct mj_value *v)
{
	const struct mj_value *c;

	switch (v->type) {
	case MJ_NULL:
		put(o, "null", 4);
		return;
	case MJ_BOOL:
		put(o, v->boolean ? "true" : "false", v->boolean ? 4 : 5);
		return;
	case MJ_NUMBER:
		put(o, v->str, v->len);
		return;
	case MJ_STRING:
		put_string(o, v->str, v->len);
		return;
	default:
		break;
	}
	put(o, v->type == MJ_ARRAY ? "[" : "{", 1);
	for (c = v->child; c; c = c->next) {
		if (c != v->child)
			put(o, ",", 1);
		if (v->type == MJ_OBJECT) {
			put_string(o, c->key, c->key_len);
			put(o, ":", 1);
		}
		write_value(o, c);
	}
	put(o, v->type == MJ_ARRAY ? "]" : "}", 1);
}

static void same_tree(const struct mj_value *a, const struct mj_value *b)
{
	const struct mj_value *x, *y;

	CHECK(a->type == b->type && a->n == b->n, "rewritten tree differs (type %d/%d, n %zu/%zu)", a->type, b->type,
	      a->n, b->n);
	CHECK(a->type != MJ_BOOL || a->boolean == b->boolean, "rewritten boolean differs");
	if (a->type == MJ_STRING || a->type == MJ_NUMBER)
		CHECK(a->len == b->len && !memcmp(a->str, b->str, a->len), "rewritten string/number differs");
	for (x = a->child, y = b->child; x && y; x = x->next, y = y->next) {
		if (a->type == MJ_OBJECT)
			CHECK(x->key_len == y->key_len && !memcmp(x->key, y->key, x->key_len), "rewritten key differs");
		same_tree(x, y);
	}
	CHECK(!x && !y, "rewritten container differs in length");
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
	struct mj_doc doc, doc2;
	struct out o = { 0 }, o2 = { 0 };
	char err[MJ_ERR_LEN], err2[MJ_ERR_LEN];
	size_t at, count;
	int rc;

	memset(err, 0, sizeof(err));
	rc = mj_parse(&doc, text, len, err, sizeof(err));
	if (rc) {
		CHECK(rc == -EINVAL, "mj_parse rc %d: %s", rc, err);
		CHECK(!doc.root && !doc.chunks && !doc.strbuf, "a failed parse kept memory");
		check_line(err, sizeof(err), "mj_parse");
		CHECK(sscanf(err, "malformed JSON at byte %zu:", &at) == 1, "message shape: %s", err);
		CHECK(at <= len, "error offset %zu past the input (%zu): %s", at, len, err);
		return;
	}
	CHECK(doc.root, "no root");
	count = check_value(text, len, doc.root, 0);
	CHECK(count == doc.nvalues && count <= MJ_MAX_VALUES, "%zu values in the tree, %zu counted", count,
	      doc.nvalues);

	/* written back without whitespace: the same tree, and a fixed point */
	write_value(&o, doc.root);
	memset(err2, 0, sizeof(err2));
	rc = mj_parse(&doc2, o.b, o.n, err2, sizeof(err2));
	CHECK(!rc, "rewritten document rejected: %s\n%s", err2, o.b);
	same_tree(doc.root, doc2.root);
	write_value(&o2, doc2.root);
	CHECK(o.n == o2.n && !memcmp(o.b, o2.b, o.n), "rewriting is not stable");
	mj_free(&doc2);
	mj_free(&doc);
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

/* mj_quote on the raw input: bounded, terminated, printable. */
static void fuzz_quote(const char *text, size_t len)
{
	size_t dlen = len ? (unsigned char)text[0] % 64 + 1 : 1, max = len > 1 ? (unsigned char)text[1] : 0;
	char *dst = malloc(dlen);

	CHECK(dst, "out of memory");
	mj_quote(dst, dlen, text, len, max);
	CHECK(strnlen(dst, dlen) < dlen, "mj_quote output not terminated");
	for (size_t i = 0; dst[i]; i++)
		CHECK((unsigned char)dst[i] >= 0x20 && (unsigned char)dst[i] < 0x7f && dst[i] != '"',
		      "mj_quote output byte 0x%02x", (unsigned char)dst[i]);
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
