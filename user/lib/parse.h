/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Strict text parsing and formatting: rule targets (CIDR, host:port),
 * endpoints, enum words, policy names; and rule <-> LPM key conversion.
 *
 * Every parser returns 0 or -EINVAL; on error it writes one line (no
 * newline) into err (if err != NULL and errlen > 0), of the shape
 *   "'<text>': <what is wrong>"
 * where <text> is the input with non-printable bytes escaped (\t, \n,
 * \xNN) and cut to 48 bytes plus "..." when longer.  NM_ERR_LEN is always
 * enough.  Nothing is trimmed: whitespace anywhere is an error.  Outputs are
 * written only on success.
 */
#ifndef NM_PARSE_H
#define NM_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "nomoat.h"

#define NM_CIDR_STRLEN 64  /* enough for any nm_format_cidr/_addr16 text */
#define NM_ERR_LEN     256 /* enough for any error message */
#define NM_CIDR_MAXIN  64  /* longer rule/endpoint text is rejected */

struct nm_cidr {
	__u8  family;    /* 4 or 6 */
	__u8  prefixlen; /* 0..32 or 0..128 (address bits) */
	__u16 port;      /* host order; 0 = no port (a CIDR rule) */
	__u8  addr[16];  /* IPv4 in addr[0..3], rest zero; IPv6 all 16 */
};

/* Write a message into err (if err and errlen); returns -EINVAL. */
int nm_errf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Parse a rule target: "1.2.3.4" "1.2.3.0/24" "1.2.3.4:80" "fd00::1"
 * "fd00::/8" "[fd00::1]:80"; ::ffff:a.b.c.d forms become IPv4. */
int nm_parse_cidr(const char *s, struct nm_cidr *out, char *err, size_t errlen);

/* Parse a port: 1..65535, decimal digits only, no leading zero. */
int nm_parse_port(const char *s, __u16 *port, char *err, size_t errlen);

/* Parse an endpoint "1.2.3.4:3128" / "[fd00::1]:3128" (port required) into
 * ep4 (family 4) or ep6 (family 6), network order; the other is untouched.
 * A NULL ep4/ep6 means that family is refused.  Ports from 1, or from
 * port_min (0: a listening address may ask for any port). */
int nm_parse_endpoint_from(const char *s, unsigned port_min, int *family, struct nm_ep4 *ep4,
			   struct nm_ep6 *ep6, char *err, size_t errlen);
static inline int nm_parse_endpoint(const char *s, int *family, struct nm_ep4 *ep4, struct nm_ep6 *ep6,
				    char *err, size_t errlen)
{
	return nm_parse_endpoint_from(s, 1, family, ep4, ep6, err, errlen);
}

/* Is a (16 bytes) in ::ffff:0:0/96? */
bool nm_addr_is_v4mapped(const __u8 a[16]);

/* (addrfmt.c) Format a rule target the way nm_parse_cidr reads it back;
 * single addresses print without /32 or /128.  Returns buf. */
const char *nm_format_cidr(const struct nm_cidr *c, char *buf, size_t buflen);

/* Format a 16-byte event address (v4-mapped for IPv4, network order):
 * a.b.c.d when family is 4 and it is mapped, else IPv6 text; a non-zero
 * port_be (network order) appends ":p" ("[v6]:p").  Returns buf. */
const char *nm_format_addr16(const __u32 addr[4], __u8 family, __u16 port_be,
			     char *buf, size_t buflen);

/* LPM key of a family-4 rule: prefix = address bits, or 48 with a port. */
void nm_cidr_to_key4(const struct nm_cidr *c, struct nm_key4 *k);
/* LPM key of a family-6 rule: prefix = address bits, or 144 with a port. */
void nm_cidr_to_key6(const struct nm_cidr *c, struct nm_key6 *k);
/* LPM value of a rule: action, address prefix length, port (network order), tag. */
void nm_cidr_to_rule(const struct nm_cidr *c, __u8 action, __u32 tag, struct nm_rule *r);
/* Inverse of nm_cidr_to_key4 (a prefix above 32 means a host:port key). */
void nm_key4_to_cidr(const struct nm_key4 *k, struct nm_cidr *c);
/* Inverse of nm_cidr_to_key6 (a prefix above 128 means a host:port key). */
void nm_key6_to_cidr(const struct nm_key6 *k, struct nm_cidr *c);
/* Clear c's address bits past its prefix length. */
void nm_cidr_mask(struct nm_cidr *c);
/* Is addr (in c's family: IPv4 in addr[0..3]) with port (host order) in c?
 * A rule without a port matches every port. */
bool nm_cidr_contains(const struct nm_cidr *c, const __u8 addr[16], __u16 port);

/* "deny" "allow" "redirect" <-> enum nm_action (exact lower case). */
int nm_parse_action(const char *s, __u8 *out, char *err, size_t errlen);
/* Name of an enum nm_action; "none" for NM_ACT_NONE, "unknown" past the end. */
const char *nm_action_name(__u8 a);
/* "enforce" "audit" -> enum nm_mode. */
int nm_parse_mode(const char *s, __u8 *out, char *err, size_t errlen);
/* Name of an enum nm_mode, or "unknown". */
const char *nm_mode_name(__u8 m);
/* "deny" "redirect" "all" -> enum nm_evlevel. */
int nm_parse_evlevel(const char *s, __u8 *out, char *err, size_t errlen);
/* Name of an enum nm_evlevel, or "unknown". */
const char *nm_evlevel_name(__u8 l);
/* Name of an enum nm_verdict ("would-deny", ...), or "unknown". */
const char *nm_verdict_name(__u8 v);
/* Name of an enum nm_hook ("connect4", ...), or "unknown". */
const char *nm_hook_name(__u8 h);
/* Name of an enum nm_reason ("no-policy", ...), or "unknown". */
const char *nm_reason_name(__u8 r);
/* The name of a kernel counter (enum nm_gstat), as `stats` and the
 * daemon's metrics show it. */
const char *nm_gstat_name(unsigned int g);
/* "tcp" "udp" -> IPPROTO_TCP / IPPROTO_UDP. */
int nm_parse_proto(const char *s, __u8 *out, char *err, size_t errlen);
/* "tcp", "udp", else "proto-N" in a per-thread buffer (valid until the
 * next call in the same thread). */
const char *nm_proto_name(__u8 p);

/* Check a policy name: 1..31 chars of [a-z0-9_.-], first a letter or digit. */
int nm_parse_policy_name(const char *s, char *err, size_t errlen);

#endif
