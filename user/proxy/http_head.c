// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* http_head.c - parsing an HTTP/1.x request head (http_head.h). */
#include "http_head.h"

#include <string.h>
#include <strings.h>

/* RFC 9110 5.6.2 tchar */
static bool tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* reg-name characters we accept (no percent-escapes, no sub-delims) */
static bool hostchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
	       c == '.' || c == '_' || c == '~';
}

static enum nmp_http_result bad(struct nmp_http_req *out, const char *why)
{
	out->why = why;
	return NMP_HTTP_MALFORMED;
}

static enum nmp_http_result big(struct nmp_http_req *out, const char *why)
{
	out->why = why;
	return NMP_HTTP_TOO_LARGE;
}

bool nmp_authority_split(const char *s, size_t n, char *host, size_t cap, uint16_t *port)
{
	size_t hl, i;
	unsigned long p = 0;
	const char *colon = NULL;

	if (n == 0)
		return false;
	if (s[0] == '[') {
		const char *rb = memchr(s, ']', n);

		if (!rb || rb - s < 3)
			return false;
		for (const char *c = s + 1; c < rb; c++)
			if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f') || (*c >= 'A' && *c <= 'F') ||
			      *c == ':' || *c == '.'))
				return false;
		hl = (size_t)(rb - s) + 1;
		if (hl < n) {
			if (s[hl] != ':')
				return false;
			colon = s + hl;
		}
	} else {
		for (i = 0; i < n && s[i] != ':'; i++)
			if (!hostchar((unsigned char)s[i]))
				return false;
		hl = i;
		if (i < n)
			colon = s + i;
		if (hl == 0)
			return false;
	}
	if (hl + 1 > cap)
		return false;
	*port = 0;
	if (colon) {
		size_t pl = n - (size_t)(colon - s) - 1;

		if (pl == 0 || pl > 5)
			return false;
		for (i = 0; i < pl; i++) {
			if (colon[1 + i] < '0' || colon[1 + i] > '9')
				return false;
			p = p * 10 + (unsigned long)(colon[1 + i] - '0');
		}
		if (p == 0 || p > 65535)
			return false;
		*port = (uint16_t)p;
	}
	memcpy(host, s, hl);
	host[hl] = 0;
	return true;
}

/* The request line s[0..n) (without CRLF). */
static enum nmp_http_result request_line(const char *s, size_t n, struct nmp_http_req *out)
{
	const char *sp1, *sp2, *t, *v;
	size_t ml, tl;

	sp1 = memchr(s, ' ', n);
	if (!sp1)
		return bad(out, "request line without a target");
	ml = (size_t)(sp1 - s);
	if (ml == 0)
		return bad(out, "empty method");
	if (ml > NMP_HTTP_METHOD_MAX)
		return bad(out, "method longer than 16 characters");
	for (size_t i = 0; i < ml; i++)
		if (!tchar((unsigned char)s[i]))
			return bad(out, "method is not a token");
	memcpy(out->method, s, ml);
	out->method[ml] = 0;
	out->connect = !strcmp(out->method, "CONNECT");
	t = sp1 + 1;
	sp2 = memchr(t, ' ', n - (size_t)(t - s));
	if (!sp2)
		return bad(out, "request line without a version");
	tl = (size_t)(sp2 - t);
	if (tl == 0)
		return bad(out, "empty request target");
	for (size_t i = 0; i < tl; i++)
		if ((unsigned char)t[i] <= 0x20 || (unsigned char)t[i] >= 0x7f)
			return bad(out, "request target holds a blank or a control character");
	if (memchr(t, '#', tl))
		return bad(out, "fragment in the request target");
	v = sp2 + 1;
	if ((size_t)(s + n - v) != 8 || memcmp(v, "HTTP/1.", 7) || (v[7] != '0' && v[7] != '1'))
		return bad(out, "version is not HTTP/1.0 or HTTP/1.1");
	out->minor = v[7] - '0';

	if (out->connect) {
		out->form = NMP_FORM_AUTHORITY;
		if (!nmp_authority_split(t, tl, out->host, sizeof(out->host), &out->port))
			return bad(out, "CONNECT target is not host:port");
		if (!out->port)
			return bad(out, "CONNECT target without a port");
	} else if (t[0] == '/') {
		out->form = NMP_FORM_ORIGIN;
	} else if (tl == 1 && t[0] == '*') {
		if (strcmp(out->method, "OPTIONS"))
			return bad(out, "'*' target for a method other than OPTIONS");
		out->form = NMP_FORM_ASTERISK;
	} else {
		const char *a, *e;

		if (tl < 7 || strncasecmp(t, "http://", 7)) {
			if (memchr(t, ':', tl))
				return bad(out, "absolute-form with a scheme other than http");
			return bad(out, "request target is neither a path nor an absolute URI");
		}
		a = t + 7;
		for (e = a; e < t + tl && *e != '/' && *e != '?' && *e != '#'; e++)
			;
		if (memchr(a, '@', (size_t)(e - a)))
			return bad(out, "userinfo in the request target");
		if (!nmp_authority_split(a, (size_t)(e - a), out->host, sizeof(out->host), &out->port))
			return bad(out, "bad authority in the request target");
		out->form = NMP_FORM_ABSOLUTE;
		out->path_off = (size_t)(e - s);
		out->path_len = tl - (size_t)(e - t);
	}
	return NMP_HTTP_OK;
}

/* One header line s[0..n) (without CRLF). */
static enum nmp_http_result header_line(const char *s, size_t n, struct nmp_http_req *out)
{
	const char *colon, *v, *e;

	if (s[0] == ' ' || s[0] == '\t')
		return bad(out, "folded header line");
	colon = memchr(s, ':', n);
	if (!colon || colon == s)
		return bad(out, "header line without a name and ':'");
	for (const char *c = s; c < colon; c++)
		if (!tchar((unsigned char)*c))
			return bad(out, "header name is not a token");
	v = colon + 1;
	e = s + n;
	for (const char *c = v; c < e; c++)
		if (((unsigned char)*c < 0x20 && *c != '\t') || *c == 0x7f)
			return bad(out, "control character in a header value");
	while (v < e && (*v == ' ' || *v == '\t'))
		v++;
	while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	if (colon - s == 4 && !strncasecmp(s, "host", 4)) {
		if (out->has_host_hdr)
			return bad(out, "two Host headers");
		if (!nmp_authority_split(v, (size_t)(e - v), out->hdr_host, sizeof(out->hdr_host), &out->hdr_port))
			return bad(out, "Host header is not host[:port]");
		out->has_host_hdr = true;
	}
	return NMP_HTTP_OK;
}

/* A line still being received: refuse what no complete line could hold. */
static enum nmp_http_result partial_line(const char *s, size_t n, bool first, struct nmp_http_req *out)
{
	if (n > NMP_HTTP_LINE_MAX)
		return big(out, first ? "request line too long" : "header line too long");
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\r' && i + 1 < n)
			return bad(out, "bare CR");
		if (c != '\r' && c != '\t' && (c < 0x20 || c == 0x7f))
			return bad(out, c == '\n' ? "bare LF" : "control character");
	}
	if (first) {
		/* the method so far must be a token */
		for (size_t i = 0; i < n && s[i] != ' '; i++)
			if (!tchar((unsigned char)s[i]) && s[i] != '\r')
				return bad(out, "method is not a token");
	}
	return NMP_HTTP_NEED_MORE;
}

enum nmp_http_result nmp_http_parse(const char *buf, size_t len, struct nmp_http_req *out)
{
	enum nmp_http_result r;
	size_t pos = 0;
	int headers = 0;

	memset(out, 0, sizeof(*out));
	if (len > NMP_HTTP_HEAD_MAX)
		len = NMP_HTTP_HEAD_MAX; /* what lies beyond cannot be in the head */
	for (;;) {
		const char *s = buf + pos;
		size_t n = len - pos, ll;
		const char *lf = memchr(s, '\n', n);

		if (!lf) {
			r = partial_line(s, n, pos == 0, out);
			if (r == NMP_HTTP_NEED_MORE && len == NMP_HTTP_HEAD_MAX)
				return big(out, "request head larger than 16 KiB");
			return r;
		}
		ll = (size_t)(lf - s);
		if (ll == 0 || s[ll - 1] != '\r')
			return bad(out, "bare LF");
		ll--;
		if (ll > NMP_HTTP_LINE_MAX)
			return big(out, pos ? "header line too long" : "request line too long");
		for (size_t i = 0; i < ll; i++)
			if (s[i] == '\r' || s[i] == 0)
				return bad(out, s[i] ? "bare CR" : "NUL byte");
		if (pos == 0) {
			if (ll == 0)
				return bad(out, "empty request line");
			r = request_line(s, ll, out);
			if (r != NMP_HTTP_OK)
				return r;
			out->line_len = ll + 2;
		} else if (ll == 0) {
			out->head_len = pos + 2;
			break;
		} else {
			if (++headers > NMP_HTTP_MAX_HEADERS)
				return big(out, "more than 100 header lines");
			r = header_line(s, ll, out);
			if (r != NMP_HTTP_OK)
				return r;
		}
		pos += ll + 2;
	}
	if (out->form == NMP_FORM_ORIGIN || out->form == NMP_FORM_ASTERISK) {
		if (out->has_host_hdr) {
			memcpy(out->host, out->hdr_host, sizeof(out->host));
			out->port = out->hdr_port;
		} else if (out->minor == 1) {
			return bad(out, "HTTP/1.1 request without a Host header");
		}
	}
	return NMP_HTTP_OK;
}

const char *nmp_http_result_str(enum nmp_http_result r)
{
	switch (r) {
	case NMP_HTTP_NEED_MORE:
		return "need-more";
	case NMP_HTTP_OK:
		return "ok";
	case NMP_HTTP_MALFORMED:
		return "malformed";
	case NMP_HTTP_TOO_LARGE:
		return "too-large";
	}
	return "?";
}
