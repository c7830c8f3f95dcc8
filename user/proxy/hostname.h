/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * hostname.h - the name a client asked for (TLS SNI, HTTP Host, CONNECT or
 * absolute-form authority), normalised the way the policy file stores its
 * allowlist (user/lib/config.h): ASCII lower case, one trailing dot
 * dropped.  A pure function: no I/O.
 *
 * A name is labels of [a-z0-9_-] (underscores occur in real names) joined
 * by single dots: at most 253 characters, labels of 1..63.  An IP literal
 * is told apart and never taken for a name: an IPv6 address (bare, as in a
 * raw SNI, or in brackets, as in an authority), and anything that ends in a
 * number as URL parsers read it ("1.2.3.4", "127.1", "0x7f000001",
 * "2130706433"), which clients resolve as IPv4 without asking DNS.
 */
#ifndef NMP_HOSTNAME_H
#define NMP_HOSTNAME_H

#include <stddef.h>

#define NMP_HOST_MAX 253

enum nmp_host_kind {
	NMP_HOST_INVALID = 0, /* empty, bad characters, bad labels, too long */
	NMP_HOST_NAME,        /* a DNS name: out holds it normalised */
	NMP_HOST_IPV4,        /* an IPv4 literal in some form: out holds it as given (lower case) */
	NMP_HOST_IPV6,        /* an IPv6 literal: out holds it without brackets, lower case */
};

/* Classify and normalise in[0..len) (not NUL-terminated) into out (cap at
 * least NMP_HOST_MAX + 2 for every valid input; a longer result is
 * INVALID).  out is "" for INVALID. */
enum nmp_host_kind nmp_host_norm(const char *in, size_t len, char *out, size_t cap);

/* "invalid", "name", "ipv4", "ipv6". */
const char *nmp_host_kind_str(enum nmp_host_kind k);

#endif
