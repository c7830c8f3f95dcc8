/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A small strict JSON parser (RFC 8259) into a read-only tree.
 *
 * Strict means: exactly one value, surrounded by nothing but JSON
 * whitespace (space, tab, LF, CR); no byte order mark, no comments, no
 * trailing commas, no single quotes, no leading zeros, no NaN/Infinity;
 * strings must be valid UTF-8 without raw control characters, escapes are
 * the eight RFC ones plus \uXXXX (surrogate pairs become one 4-byte UTF-8
 * sequence, a lone surrogate is an error).  Duplicate keys in one object
 * are rejected (RFC 8259 leaves their meaning open; for a policy document
 * two readers must never disagree).
 *
 * Limits: input at most MJ_MAX_INPUT bytes, containers nested at most
 * MJ_MAX_DEPTH deep, at most MJ_MAX_VALUES values.  Memory is at most
 * about 90 bytes a value plus one byte an input byte (so under 7 MiB),
 * freed by mj_free().
 *
 * Errors are one line (no newline) "malformed JSON at byte N: <what>",
 * N being the 0-based offset of the offending byte (N = input length for
 * an unexpected end), or "JSON input ..." for the size limits.
 */
#ifndef NM_MINIJSON_H
#define NM_MINIJSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MJ_MAX_INPUT  (1u << 20) /* bytes */
#define MJ_MAX_DEPTH  64         /* nested arrays/objects */
#define MJ_MAX_VALUES (1u << 16) /* values in one document */
#define MJ_ERR_LEN    160        /* enough for any mj_parse message */

enum mj_type {
	MJ_NULL = 1,
	MJ_BOOL,
	MJ_NUMBER,
	MJ_STRING,
	MJ_ARRAY,
	MJ_OBJECT,
};

struct mj_value {
	enum mj_type type;
	bool boolean;           /* MJ_BOOL */
	double number;          /* MJ_NUMBER (strtod; may be +-inf when huge) */
	/* MJ_STRING: the decoded UTF-8, NUL-terminated (it may hold NUL
	 * bytes itself, from \u0000: use len); MJ_NUMBER: the number's text
	 * exactly as written. */
	const char *str;
	size_t len;
	/* Member of an object: its key (decoded, NUL-terminated). */
	const char *key;
	size_t key_len;
	size_t key_off;          /* byte offset of the key's opening quote */
	size_t off;             /* byte offset of the value in the input */
	size_t n;               /* MJ_ARRAY / MJ_OBJECT: number of children */
	const struct mj_value *child; /* first element / member */
	const struct mj_value *next;  /* next sibling, NULL after the last */
};

struct mj_doc {
	const struct mj_value *root;
	/* private */
	void *chunks;
	char *strbuf;
	size_t strcap, strused;
	size_t nvalues;
};

/* Parse text[0..len) (NUL bytes are input like any other).  0 and
 * doc->root set, or -EINVAL (bad JSON, limits: message in err), -ENOMEM.
 * On failure nothing stays allocated; mj_free() is still safe. */
int mj_parse(struct mj_doc *doc, const char *text, size_t len, char *err, size_t errlen);
void mj_free(struct mj_doc *doc);

/* The member `key` of an object; NULL when v is NULL, not an object, or
 * has no such member. */
const struct mj_value *mj_get(const struct mj_value *obj, const char *key);
/* Element i of an array, NULL when out of range or not an array. */
const struct mj_value *mj_at(const struct mj_value *arr, size_t i);

/* Typed views: NULL / false when v is NULL or of another type. */
const char *mj_string(const struct mj_value *v); /* NUL-terminated */
bool mj_is(const struct mj_value *v, enum mj_type t);

/* A number written as a plain integer ("-12", not "1.0" or "1e2") that
 * fits int64_t: 0 and *out; -EINVAL not an integer, -ERANGE too big. */
int mj_int64(const struct mj_value *v, int64_t *out);

/* "null", "boolean", "number", "string", "array", "object". */
const char *mj_type_name(enum mj_type t);

/* Length of the valid UTF-8 sequence at s (s[0] >= 0x80; left bytes may
 * be read), 0 if invalid: no overlongs, no UTF-16 surrogates, nothing above
 * U+10FFFF.  A NUL among its bytes makes it invalid. */
size_t mj_utf8_len(const unsigned char *s, size_t left);

/* Text for a message: printable ASCII kept, '"' '\\' and the rest as \xNN,
 * cut after max output bytes with "...". */
void mj_quote(char *dst, size_t dlen, const char *s, size_t n, size_t max);

#endif
