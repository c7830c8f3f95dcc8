/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Strict JSON input (RFC 8259) through jansson, with nomoat's limits.
 *
 * Strict means: exactly one value (of any type), surrounded by nothing but
 * JSON whitespace; no byte order mark, no comments, no trailing commas, no
 * single quotes, no leading zeros, no NaN/Infinity; strings valid UTF-8
 * (no overlongs, surrogates or code points above U+10FFFF) without raw
 * control characters, a lone surrogate escape is an error; duplicate keys
 * in one object are refused (JSON_REJECT_DUPLICATES: for a document two
 * readers must never disagree).  jansson also refuses integers outside
 * int64_t, reals that overflow a double, and \u0000 in keys (\u0000 in a
 * string value is kept: json_string_length() tells).
 *
 * Limits, checked by a scan before jansson builds anything: input at most
 * NM_JSON_MAX_INPUT bytes, containers nested at most NM_JSON_MAX_DEPTH
 * deep, at most NM_JSON_MAX_VALUES values; no raw NUL byte anywhere.
 *
 * Errors are one printable line "malformed JSON at byte N: <what>", N being
 * the number of bytes read when the error was found (the offending token
 * ends there, or the offending byte follows; N = the input length for an
 * unexpected end), or "JSON input ..." for the size limit.
 */
#ifndef NM_JSONPARSE_H
#define NM_JSONPARSE_H

#include <stddef.h>
#include <jansson.h>

#define NM_JSON_MAX_INPUT  (1u << 20) /* bytes */
#define NM_JSON_MAX_DEPTH  64         /* nested arrays/objects */
#define NM_JSON_MAX_VALUES (1u << 16) /* values in one document */
#define NM_JSON_ERR_LEN    160        /* enough for any nm_json_parse message */

/* Parse text[0..len).  0 and *out (json_decref() it), or -EINVAL (bad
 * JSON, limits: message in err), -ENOMEM; *out is NULL on failure. */
int nm_json_parse(const char *text, size_t len, json_t **out, char *err, size_t errlen);

/* "null", "boolean", "number", "string", "array", "object". */
const char *nm_json_type_name(const json_t *v);

/* Text for a message: printable ASCII kept, '"' '\\' and the rest as \xNN,
 * cut after max output bytes with "...". */
void nm_json_quote(char *dst, size_t dlen, const char *s, size_t n, size_t max);

#endif
