/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * http_head.h - the head of an HTTP/1.x request (RFC 9112), read from bytes
 * peeked off a client socket: the request line, the Host header, and where
 * the head ends.  A pure function: no I/O, no allocation.
 *
 * Accepted request targets:
 *   origin-form     GET /path?q HTTP/1.1        name from the Host header
 *   asterisk-form   OPTIONS * HTTP/1.1          name from the Host header
 *   absolute-form   GET http://host[:port]/p HTTP/1.1   (scheme http only)
 *   authority-form  CONNECT host:port HTTP/1.1  (CONNECT only, port needed)
 * An authority is host[:port], an IPv6 literal in brackets ("[2a00::1]:80");
 * userinfo ("user@host"), percent-escapes and an empty port are refused.
 *
 * Strict, because a proxy that reads a head differently from the server
 * behind it can be fooled: lines end in CRLF (a bare CR or LF is refused),
 * the request line is METHOD SP TARGET SP HTTP/1.0|1.1 with single spaces,
 * the method is a token of at most 16 characters, header names are tokens
 * followed at once by ':', folded lines and control characters are
 * refused, at most one Host header (its value an authority).
 *
 * Limits: the head at most NMP_HTTP_HEAD_MAX bytes, a line at most
 * NMP_HTTP_LINE_MAX, at most NMP_HTTP_MAX_HEADERS header lines.  Reaching a
 * limit before the head ends is NMP_HTTP_TOO_LARGE.  A prefix is checked as
 * far as it goes, so garbage is refused at once instead of waited for.
 */
#ifndef NMP_HTTP_HEAD_H
#define NMP_HTTP_HEAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NMP_HTTP_HEAD_MAX    16384
#define NMP_HTTP_LINE_MAX    8192
#define NMP_HTTP_MAX_HEADERS 100
#define NMP_HTTP_METHOD_MAX  16
#define NMP_HTTP_HOST_MAX    300 /* an authority's host part, brackets included */

enum nmp_http_result {
	NMP_HTTP_NEED_MORE = 0, /* a valid prefix: wait for more */
	NMP_HTTP_OK,            /* a complete, valid head */
	NMP_HTTP_MALFORMED,
	NMP_HTTP_TOO_LARGE,
};

enum nmp_http_form {
	NMP_FORM_ORIGIN = 0,
	NMP_FORM_ASTERISK,
	NMP_FORM_ABSOLUTE,
	NMP_FORM_AUTHORITY,
};

struct nmp_http_req {
	char method[NMP_HTTP_METHOD_MAX + 1];
	enum nmp_http_form form;
	bool connect;          /* method CONNECT */
	int minor;             /* HTTP/1.minor: 0 or 1 */
	/* The authority the request names: the target's (absolute-form,
	 * authority-form), else the Host header's.  host "" when there is
	 * none (HTTP/1.0 origin-form without Host). */
	char host[NMP_HTTP_HOST_MAX + 1]; /* as sent; IPv6 keeps its brackets */
	uint16_t port;                    /* 0: none given */
	/* The Host header, when there is one. */
	bool has_host_hdr;
	char hdr_host[NMP_HTTP_HOST_MAX + 1];
	uint16_t hdr_port;
	size_t head_len;       /* bytes up to and including the empty line */
	size_t line_len;       /* bytes of the request line, CRLF included */
	/* absolute-form: the path part of the target (offset into the buffer,
	 * length; 0 = empty, which means "/") for rewriting to origin-form */
	size_t path_off, path_len;
	const char *why;       /* MALFORMED / TOO_LARGE: what was wrong (static) */
};

/* Look at the first len bytes a client sent.  Fills *out (always). */
enum nmp_http_result nmp_http_parse(const char *buf, size_t len, struct nmp_http_req *out);

/* Split an authority "host[:port]" / "[v6][:port]" of n bytes into host
 * (brackets kept) and port (0 when absent).  false when malformed. */
bool nmp_authority_split(const char *s, size_t n, char *host, size_t cap, uint16_t *port);

/* "need-more", "ok", "malformed", "too-large". */
const char *nmp_http_result_str(enum nmp_http_result r);

#endif
