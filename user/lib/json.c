// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "json.h"

#include <inttypes.h>
#include <string.h>
#include <time.h>

void nm_json_init(struct nm_json *j, FILE *f, bool pretty)
{
	j->f = f;
	j->pretty = pretty;
	j->depth = 0;
	j->first[0] = true;
}

/* Length of the valid UTF-8 sequence at s (s[0] >= 0x80; left bytes may
 * be read), 0 if invalid: no overlongs, no UTF-16 surrogates, nothing above
 * U+10FFFF.  A NUL among its bytes makes it invalid. */
static size_t utf8_len(const unsigned char *s, size_t left)
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

static void escaped(FILE *f, const char *s)
{
	size_t n;

	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\t': fputs("\\t", f); break;
		case '\r': fputs("\\r", f); break;
		default:
			if (*p < 0x20 || *p == 0x7f) {
				fprintf(f, "\\u%04x", *p);
			} else if (*p < 0x80) {
				fputc(*p, f);
			} else if ((n = utf8_len(p, strnlen((const char *)p, 4)))) {
				fwrite(p, 1, n, f);
				p += n - 1;
			} else {
				/* JSON text is UTF-8: a stray byte (a user's word in a
				 * message, a cgroup name) becomes U+FFFD */
				fputs("\\ufffd", f);
			}
		}
	}
	fputc('"', f);
}

static void indent(struct nm_json *j)
{
	if (!j->pretty)
		return;
	fputc('\n', j->f);
	for (int i = 0; i < j->depth; i++)
		fputs("  ", j->f);
}

static void member(struct nm_json *j, const char *key)
{
	if (j->depth > 0) {
		if (!j->first[j->depth])
			fputc(',', j->f);
		indent(j);
	}
	j->first[j->depth] = false;
	if (key) {
		escaped(j->f, key);
		fputs(j->pretty ? ": " : ":", j->f);
	}
}

static void open_(struct nm_json *j, const char *key, char c)
{
	member(j, key);
	fputc(c, j->f);
	if (j->depth < NM_JSON_DEPTH - 1)
		j->depth++;
	j->first[j->depth] = true;
}

static void close_(struct nm_json *j, char c)
{
	bool empty = j->first[j->depth];

	if (j->depth > 0)
		j->depth--;
	if (!empty)
		indent(j);
	fputc(c, j->f);
}

void nm_json_obj(struct nm_json *j, const char *key) { open_(j, key, '{'); }
void nm_json_obj_end(struct nm_json *j) { close_(j, '}'); }
void nm_json_arr(struct nm_json *j, const char *key) { open_(j, key, '['); }
void nm_json_arr_end(struct nm_json *j) { close_(j, ']'); }

void nm_json_str(struct nm_json *j, const char *key, const char *val)
{
	member(j, key);
	escaped(j->f, val ? val : "");
}

void nm_json_u64(struct nm_json *j, const char *key, uint64_t v)
{
	member(j, key);
	fprintf(j->f, "%" PRIu64, v);
}

void nm_json_i64(struct nm_json *j, const char *key, int64_t v)
{
	member(j, key);
	fprintf(j->f, "%" PRId64, v);
}

void nm_json_bool(struct nm_json *j, const char *key, bool v)
{
	member(j, key);
	fputs(v ? "true" : "false", j->f);
}

void nm_json_done(struct nm_json *j)
{
	fputc('\n', j->f);
	fflush(j->f);
	j->depth = 0;
	j->first[0] = true;
}

void nm_iso_time(int64_t real_ns, char *buf, size_t len)
{
	time_t s = (time_t)(real_ns / 1000000000LL);
	struct tm tm;
	size_t n;

	gmtime_r(&s, &tm);
	n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%06lldZ", (long long)((real_ns / 1000) % 1000000));
}

void nm_iso_now(char *buf, size_t len)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	nm_iso_time((int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec, buf, len);
}
