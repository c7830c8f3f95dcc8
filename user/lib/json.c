// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "json.h"

#include <string.h>
#include <time.h>

void nm_json_init(struct nm_json *j, FILE *f, bool pretty)
{
	memset(j, 0, sizeof(*j));
	j->f = f;
	j->pretty = pretty;
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

void nm_json_init_buf(struct nm_json *j, char *buf, size_t cap, bool pretty)
{
	nm_json_init(j, NULL, pretty);
	j->buf = buf;
	j->cap = cap;
}

size_t nm_json_len(const struct nm_json *j)
{
	return j->full ? 0 : j->len;
}

/* Lines are short and written in pieces of a few bytes: the buffer's
 * path is inline, with a byte loop for the small pieces. */
static void out_slow(struct nm_json *j, const void *p, size_t n)
{
	if (j->f)
		fwrite(p, 1, n, j->f);
	else
		j->full = true;
}

static inline void out(struct nm_json *j, const void *p, size_t n)
{
	if (!j->f && n <= j->cap - j->len && !j->full) {
		char *d = j->buf + j->len;
		const char *s = p;

		j->len += n;
		if (n > 16) {
			memcpy(d, s, n);
			return;
		}
		while (n--)
			*d++ = *s++;
		return;
	}
	out_slow(j, p, n);
}

static inline void outc(struct nm_json *j, char c)
{
	if (!j->f && j->len < j->cap && !j->full)
		j->buf[j->len++] = c;
	else
		out_slow(j, &c, 1);
}

#define OUTS(j, lit) out(j, lit, sizeof(lit) - 1)

/* Bytes that stand for themselves in a JSON string. */
static inline bool plain(unsigned char c)
{
	return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
}

/* The plain bytes at *p: copied into the buffer as they are scanned, or
 * written to the stream in one piece. */
static inline const unsigned char *plain_run(struct nm_json *j, const unsigned char *p)
{
	const unsigned char *run = p;

	if (!j->f && !j->full) {
		char *d = j->buf + j->len, *end = j->buf + j->cap;

		while (plain(*p) && d < end)
			*d++ = (char)*p++;
		j->len = (size_t)(d - j->buf);
		if (!plain(*p))
			return p;
		run = p; /* out of room: out() marks it full */
	}
	while (plain(*p))
		p++;
	if (p > run)
		out(j, run, (size_t)(p - run));
	return p;
}

static void escaped(struct nm_json *j, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	size_t n;

	outc(j, '"');
	for (;;) {
		p = plain_run(j, p);
		switch (*p) {
		case 0: outc(j, '"'); return;
		case '"': OUTS(j, "\\\""); break;
		case '\\': OUTS(j, "\\\\"); break;
		case '\n': OUTS(j, "\\n"); break;
		case '\t': OUTS(j, "\\t"); break;
		case '\r': OUTS(j, "\\r"); break;
		default:
			if (*p < 0x20 || *p == 0x7f) {
				char u[6] = { '\\', 'u', '0', '0', hex[*p >> 4], hex[*p & 15] };

				out(j, u, sizeof(u));
			} else if ((n = utf8_len(p, strnlen((const char *)p, 4)))) {
				out(j, p, n);
				p += n - 1;
			} else {
				/* JSON text is UTF-8: a stray byte (a user's word in a
				 * message, a cgroup name) becomes U+FFFD */
				OUTS(j, "\\ufffd");
			}
		}
		p++;
	}
}

static void indent(struct nm_json *j)
{
	static const char spaces[2 * NM_JSON_DEPTH] = "                                ";

	if (!j->pretty)
		return;
	outc(j, '\n');
	out(j, spaces, 2 * (size_t)j->depth);
}

static void member(struct nm_json *j, const char *key)
{
	if (j->depth > 0) {
		if (!j->first[j->depth])
			outc(j, ',');
		indent(j);
	}
	j->first[j->depth] = false;
	if (key) {
		escaped(j, key);
		if (j->pretty)
			OUTS(j, ": ");
		else
			outc(j, ':');
	}
}

static void open_(struct nm_json *j, const char *key, char c)
{
	member(j, key);
	outc(j, c);
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
	outc(j, c);
}

void nm_json_obj(struct nm_json *j, const char *key) { open_(j, key, '{'); }
void nm_json_obj_end(struct nm_json *j) { close_(j, '}'); }
void nm_json_arr(struct nm_json *j, const char *key) { open_(j, key, '['); }
void nm_json_arr_end(struct nm_json *j) { close_(j, ']'); }

void nm_json_str(struct nm_json *j, const char *key, const char *val)
{
	member(j, key);
	escaped(j, val ? val : "");
}

static void digits(struct nm_json *j, bool neg, uint64_t v)
{
	char d[21], *p = d + sizeof(d);

	do
		*--p = (char)('0' + v % 10);
	while (v /= 10);
	if (neg)
		*--p = '-';
	out(j, p, (size_t)(d + sizeof(d) - p));
}

void nm_json_u64(struct nm_json *j, const char *key, uint64_t v)
{
	member(j, key);
	digits(j, false, v);
}

void nm_json_i64(struct nm_json *j, const char *key, int64_t v)
{
	member(j, key);
	digits(j, v < 0, v < 0 ? -(uint64_t)v : (uint64_t)v);
}

void nm_json_bool(struct nm_json *j, const char *key, bool v)
{
	member(j, key);
	if (v)
		OUTS(j, "true");
	else
		OUTS(j, "false");
}

void nm_json_null(struct nm_json *j, const char *key)
{
	member(j, key);
	OUTS(j, "null");
}

void nm_json_done(struct nm_json *j)
{
	outc(j, '\n');
	if (j->f)
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
