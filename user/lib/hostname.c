// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* hostname.c - host names, patterns and allowlists (hostname.h). */
#include "hostname.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"

static enum nm_host_kind bad(char *out, char *why, size_t wlen, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static enum nm_host_kind bad(char *out, char *why, size_t wlen, const char *fmt, ...)
{
	va_list ap;

	*out = 0;
	if (why && wlen) {
		va_start(ap, fmt);
		vsnprintf(why, wlen, fmt, ap);
		va_end(ap);
	}
	return NM_HOST_INVALID;
}

static void ip_why(char *why, size_t wlen)
{
	if (why && wlen)
		snprintf(why, wlen, "an IP address, not a host name");
}

static char lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

enum nm_host_kind nm_host_norm(const char *in, size_t len, char *out, size_t cap, char *why, size_t wlen)
{
	const char *label;
	struct in6_addr a6;
	size_t n, i;
	bool colon = false;

	if (!cap)
		return NM_HOST_INVALID;
	*out = 0;
	if (len >= 2 && in[0] == '[' && in[len - 1] == ']') {
		/* bracketed: an IPv6 literal or nothing */
		char tmp[INET6_ADDRSTRLEN + 1];

		if (len - 2 >= sizeof(tmp) || len - 2 >= cap)
			return bad(out, why, wlen, "not an IPv6 address in brackets");
		memcpy(tmp, in + 1, len - 2);
		tmp[len - 2] = 0;
		if (inet_pton(AF_INET6, tmp, &a6) != 1)
			return bad(out, why, wlen, "not an IPv6 address in brackets");
		for (i = 0; i < len - 2; i++)
			out[i] = lower(tmp[i]);
		out[i] = 0;
		ip_why(why, wlen);
		return NM_HOST_IPV6;
	}
	if (len == 0)
		return bad(out, why, wlen, "empty host name");
	if (len > NM_HOST_MAX + 1)
		return bad(out, why, wlen, "host name longer than %d characters", NM_HOST_MAX);
	if (len + 1 > cap)
		return bad(out, why, wlen, "host name too long for its buffer");
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)lower(in[i]);

		if (c == ':') {
			colon = true;
		} else if (c >= 0x80) {
			return bad(out, why, wlen, "not ASCII (write the punycode form, xn--...)");
		} else if (!nm_host_char_ok(c) && c != '.') {
			if (c >= 0x20 && c < 0x7f)
				return bad(out, why, wlen,
					   "'%c' is not allowed in a host name (a-z 0-9 - _ . and, in a pattern, "
					   "a leading *.)",
					   c);
			return bad(out, why, wlen, "byte 0x%02x is not allowed in a host name", c);
		}
		out[i] = (char)c;
	}
	out[len] = 0;
	if (colon) {
		/* bare IPv6, as some clients put into SNI */
		if (inet_pton(AF_INET6, out, &a6) == 1) {
			ip_why(why, wlen);
			return NM_HOST_IPV6;
		}
		return bad(out, why, wlen, "':' is not allowed in a host name");
	}
	n = len;
	if (out[n - 1] == '.')
		out[--n] = 0;
	if (n == 0)
		return bad(out, why, wlen, "empty host name");
	if (n > NM_HOST_MAX)
		return bad(out, why, wlen, "host name longer than %d characters", NM_HOST_MAX);
	for (label = out;;) {
		const char *dot = memchr(label, '.', n - (size_t)(label - out));
		size_t ll = dot ? (size_t)(dot - label) : n - (size_t)(label - out);

		if (ll == 0)
			return bad(out, why, wlen, "empty label in a host name");
		if (ll > 63)
			return bad(out, why, wlen, "label longer than 63 characters");
		if (!dot)
			break;
		label = dot + 1;
	}
	if (nm_host_ends_in_number(out)) {
		ip_why(why, wlen);
		return NM_HOST_IPV4;
	}
	return NM_HOST_NAME;
}

const char *nm_host_kind_str(enum nm_host_kind k)
{
	switch (k) {
	case NM_HOST_INVALID:
		return "invalid";
	case NM_HOST_NAME:
		return "name";
	case NM_HOST_IPV4:
		return "ipv4";
	case NM_HOST_IPV6:
		return "ipv6";
	}
	return "?";
}

static bool all_digits(const char *s, size_t n)
{
	if (!n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

bool nm_host_ends_in_number(const char *name)
{
	const char *last = strrchr(name, '.');
	struct in_addr a;
	size_t n;

	last = last ? last + 1 : name;
	n = strlen(last);
	if (all_digits(last, n))
		return true;
	if (n >= 2 && last[0] == '0' && last[1] == 'x') {
		size_t i;

		for (i = 2; i < n; i++)
			if (!((last[i] >= '0' && last[i] <= '9') || (last[i] >= 'a' && last[i] <= 'f')))
				break;
		if (i == n)
			return true;
	}
	return inet_aton(name, &a) != 0;
}

/* ---- patterns ---------------------------------------------------------- */

int nm_hostpat_parse(const char *s, struct nm_hostpat *out, char *err, size_t errlen)
{
	char qs[56], norm[NM_HOST_MAX + 2], why[160], perr[NM_ERR_LEN];
	const char *colon = strchr(s, ':'), *name = s;
	size_t n;
	bool wild;
	__u16 port = 0;

	/* quoted as the policy file quotes a token: 48 bytes at most */
	snprintf(qs, sizeof(qs), "%.48s%s", s, strlen(s) > 48 ? "..." : "");
	if (s[0] == '[' || (colon && strchr(colon + 1, ':')))
		return nm_errf(err, errlen, "'%s': an IP address, not a host name", qs);
	if (colon) {
		if (nm_parse_port(colon + 1, &port, perr, sizeof(perr)))
			return nm_errf(err, errlen, "'%s': bad port: %s", qs, perr);
		n = (size_t)(colon - s);
	} else {
		n = strlen(s);
	}
	wild = n >= 2 && s[0] == '*' && s[1] == '.';
	if (wild) {
		name += 2;
		n -= 2;
	}
	if (memchr(name, '*', n) || (wild && n == 0))
		return nm_errf(err, errlen, "'%s': '*' is only allowed as a leading \"*.\"", qs);
	switch (nm_host_norm(name, n, norm, sizeof(norm), why, sizeof(why))) {
	case NM_HOST_NAME:
		break;
	case NM_HOST_INVALID:
		return nm_errf(err, errlen, "'%s': %s", qs, why);
	default:
		return nm_errf(err, errlen, "'%s': an IP address, not a host name", qs);
	}
	if (wild && strlen(norm) + 2 > NM_HOST_MAX)
		return nm_errf(err, errlen, "'%s': host name longer than %d characters", qs, NM_HOST_MAX);
	memset(out, 0, sizeof(*out));
	if (wild)
		memcpy(out->name, "*.", 2);
	memcpy(out->name + (wild ? 2 : 0), norm, strlen(norm) + 1);
	out->port = port;
	return 0;
}

/* ---- allowlists -------------------------------------------------------- */

int nm_allow_add(struct nm_allowlist *al, const char *name, uint16_t port)
{
	size_t len = strlen(name);
	struct nm_allow_entry *e;
	bool wild = len >= 2 && name[0] == '*' && name[1] == '.';

	if (!len || len >= sizeof(e->name) || (wild && len < 3) || strchr(name + (wild ? 1 : 0), '*'))
		return -EINVAL;
	if (al->n == al->cap) {
		size_t cap = al->cap ? al->cap * 2 : 8;
		struct nm_allow_entry *v = realloc(al->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		al->v = v;
		al->cap = cap;
	}
	e = &al->v[al->n++];
	memset(e, 0, sizeof(*e));
	memcpy(e->name, name, len + 1);
	e->len = len;
	e->port = port;
	e->wild = wild;
	return 0;
}

/* Does name lie strictly below the wildcard's suffix ("*.x.org": ".x.org")? */
static bool below(const struct nm_allow_entry *e, const char *name, size_t nlen)
{
	size_t slen = e->len - 1; /* ".x.org" */

	return nlen > slen && !memcmp(name + nlen - slen, e->name + 1, slen);
}

const struct nm_allow_entry *nm_allow_match(const struct nm_allowlist *al, const char *name, int port)
{
	const struct nm_allow_entry *best = NULL;
	size_t nlen = strlen(name);

	if (!nlen)
		return NULL;
	for (size_t i = 0; i < al->n; i++) {
		const struct nm_allow_entry *e = &al->v[i];

		if (port != NM_ALLOW_ANY_PORT && e->port && e->port != port)
			continue;
		if (!e->wild) {
			if (e->len == nlen && !memcmp(e->name, name, nlen))
				return e;
		} else if (below(e, name, nlen) && (!best || e->len > best->len)) {
			best = e;
		}
	}
	return best;
}

char *nm_allow_str(const struct nm_allow_entry *e, char *buf, size_t len)
{
	if (e->port)
		snprintf(buf, len, "%s:%u", e->name, e->port);
	else
		snprintf(buf, len, "%s", e->name);
	return buf;
}

void nm_allow_free(struct nm_allowlist *al)
{
	free(al->v);
	memset(al, 0, sizeof(*al));
}
