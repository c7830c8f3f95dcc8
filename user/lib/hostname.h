/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * hostname.h - host names, the one module for the policy file's `hostname`
 * lines (user/lib/config.c), the names clients ask nomoat-proxy for (TLS
 * SNI, HTTP Host, CONNECT, absolute-form) and the names sandboxes ask
 * nomoat-dns for.  Pure functions, no I/O.
 *
 * A NAME is labels joined by single dots, every character one of
 * [a-z0-9_-] after lower-casing (ASCII only: internationalised names are
 * written in their punycode form, xn--...).  '_' is allowed anywhere in a
 * label: real names carry it (_dmarc.example.org, service records, some
 * CDN hosts), and a resolver or proxy that refused what the policy file
 * accepts, or the other way round, would be a trap.  At most 253
 * characters, labels of 1..63; one trailing dot is dropped.
 *
 * An IP LITERAL is told apart and never taken for a name: an IPv6 address
 * (bare, as in a raw SNI, or in brackets, as in an authority), and
 * anything that ends in a number as URL parsers read it ("1.2.3.4",
 * "127.1", "0x7f000001", "2130706433"), which clients use as IPv4 without
 * asking DNS.
 *
 * A PATTERN (a `hostname` line) is a name, or "*." and a name (any name
 * strictly below it), with an optional ":PORT" (1..65535; none = any port).
 *
 * An ALLOWLIST is a policy's patterns.  A name matches the first exact
 * pattern that fits, else the longest fitting wildcard, so the rule
 * reported is the most specific one.  An empty list allows nothing.
 */
#ifndef NM_HOSTNAME_H
#define NM_HOSTNAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NM_HOST_MAX 253 /* characters of a name, without the trailing dot */

enum nm_host_kind {
	NM_HOST_INVALID = 0, /* empty, bad characters, bad labels, too long */
	NM_HOST_NAME,        /* a DNS name: out holds it normalised */
	NM_HOST_IPV4,        /* an IPv4 literal in some form: out holds it as given (lower case) */
	NM_HOST_IPV6,        /* an IPv6 literal: out holds it without brackets, lower case */
};

/* May c (already lower case) stand in a label? */
static inline bool nm_host_char_ok(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/*
 * Classify and normalise in[0..len) (not NUL-terminated) into out (cap at
 * least NM_HOST_MAX + 2 for every valid input; a longer result is
 * INVALID).  out is "" for INVALID; then why (if why and wlen) says what
 * is wrong ("empty label in a host name", ...), as it does for an IP
 * literal ("an IP address, not a host name").
 */
enum nm_host_kind nm_host_norm(const char *in, size_t len, char *out, size_t cap, char *why, size_t wlen);

/* "invalid", "name", "ipv4", "ipv6". */
const char *nm_host_kind_str(enum nm_host_kind k);

/* Does a lower-case host name end in a number, as URL parsers judge
 * ("1.2.3.4", "127.1", "0x7f000001", "2130706433")? */
bool nm_host_ends_in_number(const char *name);

/* One pattern: "pypi.org" or "*.example.org", normalised; port 0 = any. */
struct nm_hostpat {
	char name[NM_HOST_MAX + 1];
	uint16_t port; /* host order */
};

/* Parse "NAME[:PORT]" as written on a `hostname` line.  0, or -EINVAL
 * with a message in err that quotes s. */
int nm_hostpat_parse(const char *s, struct nm_hostpat *out, char *err, size_t errlen);

struct nm_allow_entry {
	char name[NM_HOST_MAX + 1]; /* "pypi.org" or "*.example.org" */
	uint16_t port;              /* host order; 0 = any */
	bool wild;
	size_t len;                 /* strlen(name) */
};

struct nm_allowlist {
	struct nm_allow_entry *v;
	size_t n, cap;
};

/* Add one pattern (as nm_hostpat_parse stores it).  0, -EINVAL for a
 * name that is empty, too long or has a misplaced '*', -ENOMEM. */
int nm_allow_add(struct nm_allowlist *al, const char *name, uint16_t port);

/* Any port, for nm_allow_match: a name is resolvable when some pattern
 * names it, whatever its port. */
#define NM_ALLOW_ANY_PORT (-1)

/* The entry allowing name (normalised) on port (1..65535, or
 * NM_ALLOW_ANY_PORT), or NULL. */
const struct nm_allow_entry *nm_allow_match(const struct nm_allowlist *al, const char *name, int port);

/* "name" or "name:port"; returns buf. */
char *nm_allow_str(const struct nm_allow_entry *e, char *buf, size_t len);

void nm_allow_free(struct nm_allowlist *al);

#endif
