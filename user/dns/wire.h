/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * wire.h - DNS messages as nomoat-dns reads and writes them (RFC 1035;
 * EDNS, RFC 6891).  Pure functions, no I/O: the query parser is fuzzed
 * (tests/fuzz/fuzz_dnsquery.c).
 *
 * A query is read strictly: a 12-byte header with QR clear, one question
 * whose name has no compression pointer, no answer or authority records,
 * and at most NMD_MAX_ADDITIONAL additional ones, of which one may be an
 * OPT (EDNS).  Its name becomes text the way the hostname module reads
 * names (user/lib/hostname.h): labels of [a-z0-9_-] after lower-casing,
 * joined by dots.  A label with any other byte (a dot inside a label, a
 * space, a control byte, UTF-8) makes the name BAD: never a name on an
 * allowlist, so never asked upstream, and kept only as an escaped text for
 * the event.
 *
 * An answer is built from scratch: the client's id, RD and question (its
 * bytes, case pattern and all, go back to the client and nowhere else),
 * QR and RA set, AA clear, the rcode, and for NOERROR the addresses given,
 * each under the question's name (a pointer to it) with one TTL.  No CNAME
 * chain, no authority, no additional data, and an OPT of our own (no
 * options) only when the client sent one.  As many addresses as fit in the
 * client's size: the TC bit is never needed, so never set.
 */
#ifndef NMD_WIRE_H
#define NMD_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NMD_HDR_LEN        12
#define NMD_UDP_MIN        512    /* what a client without EDNS takes */
#define NMD_UDP_MAX        1232   /* the most we send over UDP, and offer in our OPT */
#define NMD_TCP_MAX        65535  /* a message over TCP */
#define NMD_NAME_WIRE_MAX  255    /* a name in wire form */
#define NMD_NAME_TEXT_MAX  1024   /* a name as text, escapes included */
#define NMD_MAX_ADDITIONAL 4      /* additional records a query may carry */
#define NMD_MAX_ADDRS      32     /* addresses one answer holds at most */

/* Types and classes nomoat-dns looks at. */
#define NMD_T_A     1
#define NMD_T_NS    2
#define NMD_T_CNAME 5
#define NMD_T_SOA   6
#define NMD_T_NULL  10
#define NMD_T_PTR   12
#define NMD_T_MX    15
#define NMD_T_TXT   16
#define NMD_T_AAAA  28
#define NMD_T_SRV   33
#define NMD_T_OPT   41
#define NMD_T_SVCB  64
#define NMD_T_HTTPS 65
#define NMD_T_AXFR  252
#define NMD_T_ANY   255
#define NMD_C_IN    1

/* Response codes. */
#define NMD_R_NOERROR  0
#define NMD_R_FORMERR  1
#define NMD_R_SERVFAIL 2
#define NMD_R_NXDOMAIN 3
#define NMD_R_NOTIMP   4
#define NMD_R_REFUSED  5

enum nmd_parse {
	NMD_P_OK = 0,  /* one question read: answer it */
	NMD_P_FORMERR, /* the header was read, the rest is not a query: answer FORMERR */
	NMD_P_NOTIMP,  /* an opcode other than QUERY: answer NOTIMP */
	NMD_P_DROP,    /* no answer: shorter than a header, or a response (QR set) */
};

struct nmd_query {
	uint16_t id;
	uint16_t flags;                 /* as received */
	uint16_t qtype, qclass;
	bool has_question;              /* qwire holds the question (NMD_P_OK) */
	bool name_ok;                   /* name is a host name's text (see above) */
	char name[NMD_NAME_TEXT_MAX];   /* lower case, no trailing dot; BAD: escaped ("\046" for a
					 * dot in a label, "\000".."\377" for other bytes), "." for the root */
	uint8_t qwire[NMD_NAME_WIRE_MAX]; /* the name as sent, for the echo */
	size_t qwire_len;
	bool edns;                      /* the client sent an OPT record */
	bool edns_options;              /* ... with options (ECS, cookie, padding, ...): never passed on */
	uint8_t edns_version;
	uint16_t udp_size;              /* the most the client takes over UDP: 512 without EDNS,
					 * else its OPT's size within 512..NMD_UDP_MAX */
};

/* Read a query.  q is filled as far as the result says (id and flags for
 * FORMERR and NOTIMP, everything for OK). */
enum nmd_parse nmd_query_parse(const uint8_t *msg, size_t len, struct nmd_query *q);

/*
 * Write the answer to q into out (at most max bytes; give q->udp_size for
 * UDP, NMD_TCP_MAX for TCP): rcode, and for NOERROR naddrs addresses of
 * q->qtype (A: the first 4 bytes of each entry, AAAA: all 16), each with
 * ttl; as many as fit.  *written (may be NULL) gets how many were.  Returns
 * the length, 0 when not even the header and the question fit (never at
 * the sizes clients take, 512 and more).
 */
size_t nmd_answer(uint8_t *out, size_t max, const struct nmd_query *q, int rcode, const uint8_t (*addrs)[16],
		  int naddrs, uint32_t ttl, int *written);

/* "A", "AAAA", "TXT", ..., else "TYPE65280"; buf holds at least 12. */
const char *nmd_type_str(uint16_t t, char *buf, size_t len);
/* "NOERROR", "NXDOMAIN", ..., else "RCODE12"; buf holds at least 12. */
const char *nmd_rcode_str(int rcode, char *buf, size_t len);

#endif
