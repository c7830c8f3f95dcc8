// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Strict JSON input (see jsonparse.h): a linear scan for the limits, then
 * jansson with JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | JSON_ALLOW_NUL.
 */
#include "jsonparse.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define NEAR_MAX 96 /* bytes of jansson's message kept */

__attribute__((format(printf, 4, 5)))
static int fail_at(char *err, size_t errlen, size_t at, const char *fmt, ...)
{
	char what[NM_JSON_ERR_LEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (err && errlen)
		snprintf(err, errlen, "malformed JSON at byte %zu: %s", at, what);
	return -EINVAL;
}

static bool is_ws(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/*
 * The limits jansson does not enforce (its depth bound is 2048, it has no
 * value bound), before it allocates: depth, and values counted as one for
 * the root, one a ',' and one a non-empty container (its first element),
 * which is exact for valid JSON.  A raw NUL byte is never valid JSON.
 */
static int scan_limits(const unsigned char *s, size_t len, char *err, size_t errlen)
{
	size_t values = 1;
	bool in_str = false, esc = false, opened = false;
	int depth = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = s[i];

		if (!c)
			return fail_at(err, errlen, i, "unexpected byte 0x00");
		if (in_str) {
			if (esc)
				esc = false;
			else if (c == '\\')
				esc = true;
			else if (c == '"')
				in_str = false;
			continue;
		}
		if (is_ws(c))
			continue;
		if (opened && c != ']' && c != '}')
			values++;
		opened = false;
		switch (c) {
		case '"':
			in_str = true;
			break;
		case '[':
		case '{':
			if (++depth > NM_JSON_MAX_DEPTH)
				return fail_at(err, errlen, i, "nested deeper than %d levels", NM_JSON_MAX_DEPTH);
			opened = true;
			break;
		case ']':
		case '}':
			depth -= depth > 0;
			break;
		case ',':
			values++;
			break;
		}
		if (values > NM_JSON_MAX_VALUES)
			return fail_at(err, errlen, i, "more than %u values", NM_JSON_MAX_VALUES);
	}
	return 0;
}

/* s[0..n) for a message: printable ASCII kept (but for '"' and '\\'
 * unless keep_quotes), the rest as \xNN, cut after max output bytes. */
static void quote(char *dst, size_t dlen, const char *s, size_t n, size_t max, bool keep_quotes)
{
	size_t o = 0;

	for (size_t i = 0; i < n && o + 8 < dlen; i++) {
		unsigned char c = (unsigned char)s[i];

		if (o >= max) {
			o += (size_t)snprintf(dst + o, dlen - o, "...");
			break;
		}
		if (c >= 0x20 && c < 0x7f && (keep_quotes || (c != '"' && c != '\\')))
			dst[o++] = (char)c;
		else
			o += (size_t)snprintf(dst + o, dlen - o, "\\x%02x", c);
	}
	dst[o < dlen ? o : dlen - 1] = 0;
}

void nm_json_quote(char *dst, size_t dlen, const char *s, size_t n, size_t max)
{
	quote(dst, dlen, s, n, max, false);
}

int nm_json_parse(const char *text, size_t len, json_t **out, char *err, size_t errlen)
{
	json_error_t je;
	char what[NEAR_MAX + 16];
	int rc;

	*out = NULL;
	if (err && errlen)
		err[0] = 0;
	if (len > NM_JSON_MAX_INPUT) {
		if (err && errlen)
			snprintf(err, errlen, "JSON input of %zu bytes is larger than the %u byte limit", len,
				 NM_JSON_MAX_INPUT);
		return -EINVAL;
	}
	if (!text && len)
		return -EINVAL;
	rc = scan_limits((const unsigned char *)text, len, err, errlen);
	if (rc)
		return rc;
	*out = json_loadb(len ? text : "", len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
	if (*out)
		return 0;
	if (json_error_code(&je) == json_error_out_of_memory) {
		if (err && errlen)
			snprintf(err, errlen, "out of memory parsing JSON");
		return -ENOMEM;
	}
	/* its "near '...'" holds input bytes: made printable, cut */
	quote(what, sizeof(what), je.text, strlen(je.text), NEAR_MAX, true);
	return fail_at(err, errlen, je.position > 0 ? (size_t)je.position : 0, "%s", what);
}

const char *nm_json_type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_NULL:    return "null";
	case JSON_TRUE:
	case JSON_FALSE:   return "boolean";
	case JSON_INTEGER:
	case JSON_REAL:    return "number";
	case JSON_STRING:  return "string";
	case JSON_ARRAY:   return "array";
	case JSON_OBJECT:  return "object";
	}
	return "unknown";
}
