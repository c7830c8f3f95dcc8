/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * tls_sni.h - the server name of a TLS ClientHello, read from bytes peeked
 * off a client socket (never consumed, never terminated).  A pure function:
 * no I/O, no allocation.
 *
 * The ClientHello is a handshake message (type 1) carried in one or more
 * TLS records of type handshake (22), each with a version 3.x and a length
 * of 1..16384 (RFC 8446 5.1).  The parser waits for the whole message
 * (NMP_SNI_NEED_MORE while it is incomplete), then checks every length in
 * it: legacy_version 3.x, random, session id (0..32), cipher suites (even,
 * at least one), compression methods (at least one), and the extensions,
 * which must fill the rest of the message exactly; no extension type twice
 * (RFC 8446 4.2).  The server_name extension (RFC 6066 3) must hold a
 * list that fills it exactly, with at most one host_name (type 0) of
 * 1..255 printable ASCII bytes (no blank, no '/', no NUL).
 *
 * Refused (NMP_SNI_MALFORMED): a first byte that is not 22 (an SSLv2-style
 * hello has its high bit set), a record of another type before the hello
 * is complete, a handshake message that is not a ClientHello, a bad length
 * anywhere.  NMP_SNI_TOO_LARGE: a ClientHello longer than NMP_SNI_MAX_HELLO
 * bytes (its handshake length says so at once; no need to wait for it).
 */
#ifndef NMP_TLS_SNI_H
#define NMP_TLS_SNI_H

#include <stddef.h>
#include <stdint.h>

/* The largest ClientHello accepted (handshake body, bytes).  Real ones are
 * 200 bytes to 2 KiB (post-quantum key shares included). */
#define NMP_SNI_MAX_HELLO 16384
/* Bytes of records that can carry it (a record header per 1 byte at the
 * worst would be absurd; 2 headers a KiB is generous): the peek size. */
#define NMP_SNI_MAX_BYTES (NMP_SNI_MAX_HELLO + 4 + 5 * 64)
/* The longest host_name (RFC 6066: up to 2^16-1, DNS names 253; we allow
 * 255 so that a trailing dot fits, and refuse longer as malformed). */
#define NMP_SNI_MAX_NAME 255

enum nmp_sni_result {
	NMP_SNI_NEED_MORE = 0, /* a prefix of a possible ClientHello: wait */
	NMP_SNI_FOUND,         /* complete and valid, with a host_name */
	NMP_SNI_NONE,          /* complete and valid, without a host_name */
	NMP_SNI_MALFORMED,     /* not a TLS ClientHello, or bad lengths */
	NMP_SNI_TOO_LARGE,     /* longer than NMP_SNI_MAX_HELLO */
};

struct nmp_sni {
	char name[NMP_SNI_MAX_NAME + 1]; /* NMP_SNI_FOUND: the host_name as sent, NUL-terminated */
	size_t name_len;
	const char *why;                 /* NMP_SNI_MALFORMED / TOO_LARGE: what was wrong (static) */
	size_t hello_bytes;              /* FOUND / NONE: bytes of records holding the hello */
};

/* Look at the first len bytes a client sent.  Fills *out (always). */
enum nmp_sni_result nmp_sni_parse(const uint8_t *buf, size_t len, struct nmp_sni *out);

/* "need-more", "found", "none", "malformed", "too-large". */
const char *nmp_sni_result_str(enum nmp_sni_result r);

#endif
