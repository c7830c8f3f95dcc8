// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* tls_sni.c - the server name of a peeked TLS ClientHello (tls_sni.h). */
#include "tls_sni.h"

#include <string.h>

#define REC_HANDSHAKE   22
#define HS_CLIENT_HELLO 1
#define REC_HDR         5
#define REC_MAX         16384 /* RFC 8446 5.1: 2^14 */
#define MAX_RECORDS     64
#define EXT_SERVER_NAME 0

static unsigned be16(const uint8_t *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

static enum nmp_sni_result bad(struct nmp_sni *out, const char *why)
{
	out->why = why;
	return NMP_SNI_MALFORMED;
}

/* The server_name extension body (RFC 6066 3). */
static enum nmp_sni_result server_name(const uint8_t *p, size_t n, struct nmp_sni *out)
{
	size_t list, names = 0;

	if (n < 2)
		return bad(out, "server_name extension too short");
	list = be16(p);
	if (list != n - 2 || list == 0)
		return bad(out, "server_name list length does not fill the extension");
	p += 2;
	while (list) {
		unsigned type;
		size_t len;

		if (list < 3)
			return bad(out, "server_name entry truncated");
		type = p[0];
		len = be16(p + 1);
		if (len > list - 3)
			return bad(out, "server_name entry longer than its list");
		if (type == 0) {
			if (names++)
				return bad(out, "two host_name entries");
			if (len == 0 || len > NMP_SNI_MAX_NAME)
				return bad(out, "host_name empty or longer than 255");
			for (size_t i = 0; i < len; i++) {
				uint8_t c = p[3 + i];

				if (c <= ' ' || c >= 0x7f || c == '/')
					return bad(out, "host_name holds a byte that is not a name character");
			}
			memcpy(out->name, p + 3, len);
			out->name[len] = 0;
			out->name_len = len;
		}
		p += 3 + len;
		list -= 3 + len;
	}
	return names ? NMP_SNI_FOUND : NMP_SNI_NONE;
}

/* The ClientHello body (after the 4-byte handshake header). */
static enum nmp_sni_result hello_body(const uint8_t *p, size_t n, struct nmp_sni *out)
{
	const uint8_t *end = p + n;
	uint8_t seen[65536 / 8];
	enum nmp_sni_result res = NMP_SNI_NONE;
	size_t l;

	/* legacy_version, random */
	if (n < 2 + 32 + 1)
		return bad(out, "ClientHello shorter than its fixed fields");
	if (p[0] != 3)
		return bad(out, "ClientHello version is not 3.x");
	p += 2 + 32;
	/* legacy_session_id<0..32> */
	l = p[0];
	if (l > 32 || (size_t)(end - p) < 1 + l)
		return bad(out, "bad session id length");
	p += 1 + l;
	/* cipher_suites<2..2^16-2> */
	if (end - p < 2)
		return bad(out, "cipher suites truncated");
	l = be16(p);
	if (l < 2 || l & 1 || (size_t)(end - p) < 2 + l)
		return bad(out, "bad cipher suites length");
	p += 2 + l;
	/* legacy_compression_methods<1..2^8-1> */
	if (end - p < 1)
		return bad(out, "compression methods truncated");
	l = p[0];
	if (l < 1 || (size_t)(end - p) < 1 + l)
		return bad(out, "bad compression methods length");
	p += 1 + l;
	if (p == end)
		return NMP_SNI_NONE; /* no extensions at all (SSL 3 / old TLS) */
	/* extensions<8..2^16-1>: must fill the rest exactly */
	if (end - p < 2 || be16(p) != (size_t)(end - p) - 2)
		return bad(out, "extensions length does not fill the ClientHello");
	p += 2;
	memset(seen, 0, sizeof(seen));
	while (p < end) {
		unsigned type;

		if (end - p < 4)
			return bad(out, "extension header truncated");
		type = be16(p);
		l = be16(p + 2);
		if ((size_t)(end - p) - 4 < l)
			return bad(out, "extension longer than the ClientHello");
		if (seen[type >> 3] & (1u << (type & 7)))
			return bad(out, "an extension type appears twice");
		seen[type >> 3] |= (uint8_t)(1u << (type & 7));
		if (type == EXT_SERVER_NAME) {
			res = server_name(p + 4, l, out);
			if (res == NMP_SNI_MALFORMED)
				return res;
		}
		p += 4 + l;
	}
	return res;
}

enum nmp_sni_result nmp_sni_parse(const uint8_t *buf, size_t len, struct nmp_sni *out)
{
	uint8_t hs[NMP_SNI_MAX_HELLO + 4];
	size_t pos = 0, have = 0, need = 0;
	enum nmp_sni_result res;
	int records = 0;

	memset(out, 0, sizeof(*out));
	if (len == 0)
		return NMP_SNI_NEED_MORE;
	if (buf[0] & 0x80)
		return bad(out, "an SSLv2-style hello");
	for (;;) {
		size_t rlen, avail, i;

		if (pos == len)
			return NMP_SNI_NEED_MORE;
		if (buf[pos] != REC_HANDSHAKE)
			return bad(out, pos ? "a record of another type inside the ClientHello"
					    : "not a TLS handshake record");
		if (len - pos >= 2 && buf[pos + 1] != 3)
			return bad(out, "record version is not 3.x");
		if (len - pos < REC_HDR)
			return NMP_SNI_NEED_MORE;
		if (buf[pos + 2] > 4)
			return bad(out, "record version is not 3.0 to 3.4");
		rlen = be16(buf + pos + 3);
		if (rlen == 0 || rlen > REC_MAX)
			return bad(out, "record length 0 or over 16384");
		if (++records > MAX_RECORDS)
			return bad(out, "ClientHello split into too many records");
		avail = len - pos - REC_HDR;
		if (avail > rlen)
			avail = rlen;
		for (i = 0; i < avail; i++) {
			if (need && have == need)
				break; /* the hello ended inside this record */
			hs[have++] = buf[pos + REC_HDR + i];
			if (have == 4) {
				if (hs[0] != HS_CLIENT_HELLO)
					return bad(out, "handshake message is not a ClientHello");
				need = 4 + ((size_t)hs[1] << 16 | (size_t)hs[2] << 8 | hs[3]);
				if (need - 4 > NMP_SNI_MAX_HELLO) {
					out->why = "ClientHello longer than 16 KiB";
					return NMP_SNI_TOO_LARGE;
				}
			}
		}
		if (need && have == need) {
			res = hello_body(hs + 4, need - 4, out);
			if (res != NMP_SNI_MALFORMED)
				out->hello_bytes = pos + REC_HDR + i;
			return res;
		}
		if (avail < rlen)
			return NMP_SNI_NEED_MORE;
		pos += REC_HDR + rlen;
	}
}

const char *nmp_sni_result_str(enum nmp_sni_result r)
{
	switch (r) {
	case NMP_SNI_NEED_MORE:
		return "need-more";
	case NMP_SNI_FOUND:
		return "found";
	case NMP_SNI_NONE:
		return "none";
	case NMP_SNI_MALFORMED:
		return "malformed";
	case NMP_SNI_TOO_LARGE:
		return "too-large";
	}
	return "?";
}
