// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Strict RFC 8259 parser into a tree (see minijson.h).  Recursive descent,
 * the recursion bounded by MJ_MAX_DEPTH; values come from chunks of
 * MJ_CHUNK nodes, decoded strings and number texts from one buffer of
 * len + 1 bytes: a string of k bytes between its quotes decodes to at most
 * k bytes plus its NUL (k + 2 input bytes), a number of k bytes needs k + 1
 * and is followed by a byte that belongs to no token, or by the end.
 */
#include "minijson.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MJ_CHUNK 256
#define MJ_SMALL_OBJECT 8 /* duplicate keys: pairwise up to this, else sort */

struct mj_chunk {
	struct mj_chunk *next;
	size_t used;
	struct mj_value v[MJ_CHUNK];
};

struct mj_parser {
	const unsigned char *s;
	size_t len;
	size_t pos;
	struct mj_doc *doc;
	char *err;
	size_t errlen;
	int rc;
};

/* ---- errors ------------------------------------------------------------- */

__attribute__((format(printf, 3, 4)))
static void *fail_at(struct mj_parser *p, size_t at, const char *fmt, ...)
{
	char what[112];
	va_list ap;

	if (p->rc)
		return NULL; /* keep the first error */
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (p->err && p->errlen)
		snprintf(p->err, p->errlen, "malformed JSON at byte %zu: %s", at, what);
	p->rc = -EINVAL;
	return NULL;
}

static void *fail_nomem(struct mj_parser *p)
{
	if (!p->rc && p->err && p->errlen)
		snprintf(p->err, p->errlen, "out of memory parsing JSON");
	if (!p->rc)
		p->rc = -ENOMEM;
	return NULL;
}

/* The byte at pos, for a message: 'x' when printable, else 0xNN. */
static void *fail_unexpected(struct mj_parser *p, const char *want)
{
	unsigned char c;

	if (p->pos >= p->len)
		return fail_at(p, p->pos, "unexpected end of input, %s", want);
	c = p->s[p->pos];
	if (c > 0x20 && c < 0x7f)
		return fail_at(p, p->pos, "unexpected '%c', %s", c, want);
	return fail_at(p, p->pos, "unexpected byte 0x%02x, %s", c, want);
}

void mj_quote(char *dst, size_t dlen, const char *s, size_t n, size_t max)
{
	size_t o = 0;

	for (size_t i = 0; i < n && o + 8 < dlen; i++) {
		unsigned char c = (unsigned char)s[i];

		if (o >= max) {
			o += (size_t)snprintf(dst + o, dlen - o, "...");
			break;
		}
		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
			dst[o++] = (char)c;
		else
			o += (size_t)snprintf(dst + o, dlen - o, "\\x%02x", c);
	}
	dst[o < dlen ? o : dlen - 1] = 0;
}

/* A decoded key for a message: printable ASCII kept, the rest \xNN, cut. */
static void quote_key(char *dst, size_t dlen, const char *s, size_t n)
{
	mj_quote(dst, dlen, s, n, 32);
}

/* ---- allocation --------------------------------------------------------- */

static struct mj_value *new_value(struct mj_parser *p, enum mj_type t, size_t off)
{
	struct mj_doc *d = p->doc;
	struct mj_chunk *c = d->chunks;
	struct mj_value *v;

	if (d->nvalues >= MJ_MAX_VALUES)
		return fail_at(p, off, "more than %u values", MJ_MAX_VALUES);
	if (!c || c->used == MJ_CHUNK) {
		c = calloc(1, sizeof(*c));
		if (!c)
			return fail_nomem(p);
		c->next = d->chunks;
		d->chunks = c;
	}
	v = &c->v[c->used++];
	d->nvalues++;
	v->type = t;
	v->off = off;
	return v;
}

/* Room for n more bytes in the string buffer (always there, see above). */
static char *str_room(struct mj_parser *p, size_t n)
{
	struct mj_doc *d = p->doc;

	if (n > d->strcap - d->strused)
		return fail_at(p, p->pos, "internal error: string space exhausted");
	return d->strbuf + d->strused;
}

/* ---- lexical helpers ---------------------------------------------------- */

static void skip_ws(struct mj_parser *p)
{
	while (p->pos < p->len) {
		unsigned char c = p->s[p->pos];

		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			break;
		p->pos++;
	}
}

static int peek(const struct mj_parser *p)
{
	return p->pos < p->len ? p->s[p->pos] : -1;
}

static bool is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* ---- strings ------------------------------------------------------------ */

/* Four hex digits at pos; -1 (error set) if not. */
static long hex4(struct mj_parser *p, size_t esc)
{
	long u = 0;

	for (int i = 0; i < 4; i++) {
		int h;

		if (p->pos + (size_t)i >= p->len) {
			fail_at(p, p->len, "unexpected end of input in a \\u escape");
			return -1;
		}
		h = hexval(p->s[p->pos + i]);
		if (h < 0) {
			fail_at(p, esc, "\\u needs four hex digits");
			return -1;
		}
		u = u * 16 + h;
	}
	p->pos += 4;
	return u;
}

static size_t put_utf8(char *o, unsigned long cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | (cp >> 18));
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* \uXXXX (pos just after the 'u'), a surrogate pair as one code point.
 * Returns the UTF-8 length written to o, 0 on error. */
static size_t unicode_escape(struct mj_parser *p, size_t esc, char *o)
{
	long hi = hex4(p, esc), lo;
	size_t esc2 = p->pos;

	if (hi < 0)
		return 0;
	if (hi >= 0xdc00 && hi <= 0xdfff) {
		fail_at(p, esc, "lone low surrogate \\u%04lx", hi);
		return 0;
	}
	if (hi < 0xd800 || hi > 0xdbff)
		return put_utf8(o, (unsigned long)hi);
	if (p->len - p->pos < 2 || p->s[p->pos] != '\\' || p->s[p->pos + 1] != 'u') {
		fail_at(p, esc, "high surrogate \\u%04lx not followed by a low one", hi);
		return 0;
	}
	p->pos += 2;
	lo = hex4(p, esc2);
	if (lo < 0)
		return 0;
	if (lo < 0xdc00 || lo > 0xdfff) {
		fail_at(p, esc, "high surrogate \\u%04lx not followed by a low one", hi);
		return 0;
	}
	return put_utf8(o, 0x10000 + (((unsigned long)hi - 0xd800) << 10) + ((unsigned long)lo - 0xdc00));
}

/* One escape sequence, pos at the backslash.  Bytes written, 0 on error. */
static size_t escape(struct mj_parser *p, char *o)
{
	size_t esc = p->pos;
	int c;

	p->pos++;
	c = peek(p);
	if (c < 0) {
		fail_at(p, p->pos, "unexpected end of input in a string");
		return 0;
	}
	p->pos++;
	switch (c) {
	case '"':  *o = '"';  return 1;
	case '\\': *o = '\\'; return 1;
	case '/':  *o = '/';  return 1;
	case 'b':  *o = '\b'; return 1;
	case 'f':  *o = '\f'; return 1;
	case 'n':  *o = '\n'; return 1;
	case 'r':  *o = '\r'; return 1;
	case 't':  *o = '\t'; return 1;
	case 'u':  return unicode_escape(p, esc, o);
	}
	if (c > 0x20 && c < 0x7f)
		fail_at(p, esc, "invalid escape \\%c", c);
	else
		fail_at(p, esc, "invalid escape: backslash then byte 0x%02x", c);
	return 0;
}

size_t mj_utf8_len(const unsigned char *s, size_t left)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return 0;
	if (s[0] == 0xe0)
		lo = 0xa0;
	else if (s[0] == 0xed)
		hi = 0x9f;
	else if (s[0] == 0xf0)
		lo = 0x90;
	else if (s[0] == 0xf4)
		hi = 0x8f;
	if (left < n || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return n;
}

/* A string at pos (the opening quote), decoded into the string buffer. */
static int parse_string(struct mj_parser *p, const char **out, size_t *outlen)
{
	size_t start = p->pos, n = 0;
	char *o;

	/* the decoded text is never longer than the rest of the input */
	o = str_room(p, p->len - p->pos);
	if (!o)
		return p->rc;
	p->pos++;
	while (p->pos < p->len) {
		unsigned char c = p->s[p->pos];
		size_t k;

		if (c == '"') {
			p->pos++;
			o[n] = 0;
			*out = o;
			*outlen = n;
			p->doc->strused += n + 1;
			return 0;
		}
		if (c == '\\') {
			k = escape(p, o + n);
			if (!k)
				return p->rc;
			n += k;
			continue;
		}
		if (c < 0x20) {
			fail_at(p, p->pos, "control character 0x%02x in a string (must be escaped)", c);
			return p->rc;
		}
		k = c < 0x80 ? 1 : mj_utf8_len(p->s + p->pos, p->len - p->pos);
		if (!k) {
			fail_at(p, p->pos, "invalid UTF-8 in a string");
			return p->rc;
		}
		memcpy(o + n, p->s + p->pos, k);
		n += k;
		p->pos += k;
	}
	fail_at(p, p->len, "unexpected end of input in the string opened at byte %zu", start);
	return p->rc;
}

/* ---- numbers and literals ----------------------------------------------- */

static bool digits(struct mj_parser *p)
{
	size_t start = p->pos;

	while (p->pos < p->len && is_digit(p->s[p->pos]))
		p->pos++;
	return p->pos > start;
}

static struct mj_value *parse_number(struct mj_parser *p)
{
	size_t start = p->pos, n;
	struct mj_value *v;
	char *o;

	if (peek(p) == '-')
		p->pos++;
	if (peek(p) == '0') {
		p->pos++;
		if (is_digit(peek(p)))
			return fail_at(p, p->pos - 1, "leading zero in a number");
	} else if (!digits(p)) {
		return fail_unexpected(p, "expected a digit");
	}
	if (peek(p) == '.') {
		p->pos++;
		if (!digits(p))
			return fail_unexpected(p, "expected a digit after '.'");
	}
	if (peek(p) == 'e' || peek(p) == 'E') {
		p->pos++;
		if (peek(p) == '+' || peek(p) == '-')
			p->pos++;
		if (!digits(p))
			return fail_unexpected(p, "expected a digit in the exponent");
	}
	n = p->pos - start;
	o = str_room(p, n + 1);
	if (!o)
		return NULL;
	v = new_value(p, MJ_NUMBER, start);
	if (!v)
		return NULL;
	memcpy(o, p->s + start, n);
	o[n] = 0;
	p->doc->strused += n + 1;
	v->str = o;
	v->len = n;
	v->number = strtod(o, NULL);
	return v;
}

static struct mj_value *parse_literal(struct mj_parser *p)
{
	static const struct { const char *w; enum mj_type t; bool b; } lits[] = {
		{ "true", MJ_BOOL, true }, { "false", MJ_BOOL, false }, { "null", MJ_NULL, false },
	};
	size_t start = p->pos;

	for (size_t i = 0; i < sizeof(lits) / sizeof(lits[0]); i++) {
		size_t n = strlen(lits[i].w);
		struct mj_value *v;

		if (p->len - p->pos < n || memcmp(p->s + p->pos, lits[i].w, n))
			continue;
		v = new_value(p, lits[i].t, start);
		if (!v)
			return NULL;
		v->boolean = lits[i].b;
		p->pos += n;
		return v;
	}
	/* "tru" at the very end: a truncated document, say so */
	for (size_t i = 0; i < sizeof(lits) / sizeof(lits[0]); i++) {
		size_t left = p->len - p->pos;

		if (left && left < strlen(lits[i].w) && !memcmp(p->s + p->pos, lits[i].w, left))
			return fail_at(p, p->len, "unexpected end of input in '%s'", lits[i].w);
	}
	return fail_unexpected(p, "expected a value");
}

/* ---- containers --------------------------------------------------------- */

static struct mj_value *parse_value(struct mj_parser *p, int depth);

static int key_cmp(const void *a, const void *b)
{
	const struct mj_value *x = *(const struct mj_value *const *)a;
	const struct mj_value *y = *(const struct mj_value *const *)b;
	size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
	int c = memcmp(x->key, y->key, n);

	if (c)
		return c;
	if (x->key_len != y->key_len)
		return x->key_len < y->key_len ? -1 : 1;
	return x->key_off < y->key_off ? -1 : x->key_off > y->key_off;
}

static bool same_key(const struct mj_value *x, const struct mj_value *y)
{
	return x->key_len == y->key_len && !memcmp(x->key, y->key, x->key_len);
}

static void *fail_dup(struct mj_parser *p, const struct mj_value *m)
{
	char q[48];

	quote_key(q, sizeof(q), m->key, m->key_len);
	return fail_at(p, m->key_off, "duplicate key \"%s\"", q);
}

/* Refuse an object with a key twice; the later occurrence is named. */
static int check_dups(struct mj_parser *p, const struct mj_value *obj)
{
	const struct mj_value **v, *m, *dup = NULL;
	size_t i = 0;

	if (obj->n <= MJ_SMALL_OBJECT) {
		for (m = obj->child; m; m = m->next)
			for (const struct mj_value *e = obj->child; e != m; e = e->next)
				if (same_key(e, m) && !dup)
					dup = m;
		return dup ? (fail_dup(p, dup), p->rc) : 0;
	}
	v = malloc(obj->n * sizeof(*v));
	if (!v)
		return fail_nomem(p), p->rc;
	for (m = obj->child; m && i < obj->n; m = m->next)
		v[i++] = m;
	qsort(v, i, sizeof(*v), key_cmp);
	for (size_t k = 1; k < i; k++)
		if (same_key(v[k - 1], v[k]) && (!dup || v[k]->key_off < dup->key_off))
			dup = v[k];
	free(v);
	return dup ? (fail_dup(p, dup), p->rc) : 0;
}

/* Append a child to a container (tail kept by the caller). */
static void append(struct mj_value *c, struct mj_value **tail, struct mj_value *v)
{
	if (*tail)
		(*tail)->next = v;
	else
		c->child = v;
	*tail = v;
	c->n++;
}

static struct mj_value *parse_array(struct mj_parser *p, int depth)
{
	struct mj_value *a = new_value(p, MJ_ARRAY, p->pos), *tail = NULL, *v;

	if (!a)
		return NULL;
	p->pos++;
	skip_ws(p);
	if (peek(p) == ']') {
		p->pos++;
		return a;
	}
	/* each round consumes at least one byte: bounded by the input */
	for (;;) {
		v = parse_value(p, depth);
		if (!v)
			return NULL;
		append(a, &tail, v);
		skip_ws(p);
		if (peek(p) == ']') {
			p->pos++;
			return a;
		}
		if (peek(p) != ',')
			return fail_unexpected(p, "expected ',' or ']'");
		p->pos++;
	}
}

static struct mj_value *parse_member(struct mj_parser *p, int depth)
{
	struct mj_value *v;
	const char *key;
	size_t klen, koff;

	skip_ws(p);
	if (peek(p) != '"')
		return fail_unexpected(p, "expected a string key");
	koff = p->pos;
	if (parse_string(p, &key, &klen))
		return NULL;
	skip_ws(p);
	if (peek(p) != ':')
		return fail_unexpected(p, "expected ':'");
	p->pos++;
	v = parse_value(p, depth);
	if (!v)
		return NULL;
	v->key = key;
	v->key_len = klen;
	v->key_off = koff;
	return v;
}

static struct mj_value *parse_object(struct mj_parser *p, int depth)
{
	struct mj_value *o = new_value(p, MJ_OBJECT, p->pos), *tail = NULL, *v;

	if (!o)
		return NULL;
	p->pos++;
	skip_ws(p);
	if (peek(p) == '}') {
		p->pos++;
		return o;
	}
	for (;;) {
		v = parse_member(p, depth);
		if (!v)
			return NULL;
		append(o, &tail, v);
		skip_ws(p);
		if (peek(p) == '}') {
			p->pos++;
			return check_dups(p, o) ? NULL : o;
		}
		if (peek(p) != ',')
			return fail_unexpected(p, "expected ',' or '}'");
		p->pos++;
	}
}

static struct mj_value *parse_value(struct mj_parser *p, int depth)
{
	const char *s;
	struct mj_value *v;
	size_t n, at;
	int c;

	skip_ws(p);
	c = peek(p);
	if (c == '[' || c == '{') {
		if (depth >= MJ_MAX_DEPTH)
			return fail_at(p, p->pos, "nested deeper than %d levels", MJ_MAX_DEPTH);
		return c == '[' ? parse_array(p, depth + 1) : parse_object(p, depth + 1);
	}
	if (c == '"') {
		at = p->pos;
		if (parse_string(p, &s, &n))
			return NULL;
		v = new_value(p, MJ_STRING, at);
		if (v) {
			v->str = s;
			v->len = n;
		}
		return v;
	}
	if (c == '-' || is_digit(c))
		return parse_number(p);
	return parse_literal(p);
}

/* ---- public ------------------------------------------------------------- */

void mj_free(struct mj_doc *doc)
{
	struct mj_chunk *c, *next;
	size_t guard = MJ_MAX_VALUES / MJ_CHUNK + 2;

	if (!doc)
		return;
	for (c = doc->chunks; c && guard--; c = next) {
		next = c->next;
		free(c);
	}
	free(doc->strbuf);
	memset(doc, 0, sizeof(*doc));
}

int mj_parse(struct mj_doc *doc, const char *text, size_t len, char *err, size_t errlen)
{
	struct mj_parser p = {
		.s = (const unsigned char *)text, .len = len, .doc = doc,
		.err = err, .errlen = errlen,
	};
	struct mj_value *root;

	memset(doc, 0, sizeof(*doc));
	if (err && errlen)
		err[0] = 0;
	if (len > MJ_MAX_INPUT) {
		if (err && errlen)
			snprintf(err, errlen, "JSON input of %zu bytes is larger than the %u byte limit",
				 len, MJ_MAX_INPUT);
		return -EINVAL;
	}
	if (!text && len)
		return -EINVAL;
	doc->strcap = len + 1;
	doc->strbuf = malloc(doc->strcap);
	if (!doc->strbuf)
		return fail_nomem(&p), p.rc;
	skip_ws(&p);
	if (p.pos == len) {
		fail_at(&p, len, len ? "no value, only whitespace" : "empty input");
		goto out;
	}
	root = parse_value(&p, 0);
	if (!root)
		goto out;
	skip_ws(&p);
	if (p.pos != len) {
		fail_at(&p, p.pos, "trailing data after the value");
		goto out;
	}
	doc->root = root;
	return 0;
out:
	mj_free(doc);
	return p.rc ? p.rc : -EINVAL;
}

const struct mj_value *mj_get(const struct mj_value *obj, const char *key)
{
	size_t n, i = 0;

	if (!obj || obj->type != MJ_OBJECT || !key)
		return NULL;
	n = strlen(key);
	for (const struct mj_value *m = obj->child; m && i < obj->n; m = m->next, i++)
		if (m->key_len == n && !memcmp(m->key, key, n))
			return m;
	return NULL;
}

const struct mj_value *mj_at(const struct mj_value *arr, size_t i)
{
	const struct mj_value *e;

	if (!arr || arr->type != MJ_ARRAY || i >= arr->n)
		return NULL;
	for (e = arr->child; e && i; e = e->next)
		i--;
	return e;
}

bool mj_is(const struct mj_value *v, enum mj_type t)
{
	return v && v->type == t;
}

const char *mj_string(const struct mj_value *v)
{
	return mj_is(v, MJ_STRING) ? v->str : NULL;
}

int mj_int64(const struct mj_value *v, int64_t *out)
{
	const char *s;
	bool neg;
	uint64_t u = 0, lim;

	if (!mj_is(v, MJ_NUMBER))
		return -EINVAL;
	s = v->str;
	neg = *s == '-';
	if (neg)
		s++;
	lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	/* '.', 'e': not a plain integer, however many digits come first */
	if (!*s || s[strspn(s, "0123456789")])
		return -EINVAL;
	for (; *s; s++) {
		if (u > (lim - (uint64_t)(*s - '0')) / 10)
			return -ERANGE;
		u = u * 10 + (uint64_t)(*s - '0');
	}
	if (neg)
		*out = u == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)u;
	else
		*out = (int64_t)u;
	return 0;
}

const char *mj_type_name(enum mj_type t)
{
	switch (t) {
	case MJ_NULL:   return "null";
	case MJ_BOOL:   return "boolean";
	case MJ_NUMBER: return "number";
	case MJ_STRING: return "string";
	case MJ_ARRAY:  return "array";
	case MJ_OBJECT: return "object";
	}
	return "unknown";
}
