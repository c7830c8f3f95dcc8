// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Strict parsing of rule targets, endpoints and enum words.  inet_pton does
 * the address conversion; everything around it (splitting off prefix and
 * port, character sets, leading zeros, host bits) is checked here, so that
 * text the kernel tables will hold is never a guess.
 */
#include "parse.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Quoted input in messages: at most this many output chars, then "...". */
#define QUOTE_MAX 48
#define QUOTE_LEN (QUOTE_MAX + 4)

/* Address parse results. */
enum {
	A_OK = 0,
	A_EMPTY,
	A_BAD,
	A_OCTAL, /* well-formed IPv4 but an octet has a leading zero */
};

/* Decimal number parse results. */
enum {
	N_OK = 0,
	N_EMPTY,
	N_DIGITS,
	N_LEADZERO,
	N_RANGE,
};

/* ---- messages ----------------------------------------------------------- */

int nm_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* Copy s for a message: escape non-printables and backslash, cut long text. */
static void quote(char *dst, size_t len, const char *s)
{
	size_t o = 0;
	char tmp[8];

	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		size_t n;

		if (ch == '\t')
			n = (size_t)snprintf(tmp, sizeof(tmp), "\\t");
		else if (ch == '\n')
			n = (size_t)snprintf(tmp, sizeof(tmp), "\\n");
		else if (ch == '\r')
			n = (size_t)snprintf(tmp, sizeof(tmp), "\\r");
		else if (ch == '\\')
			n = (size_t)snprintf(tmp, sizeof(tmp), "\\\\");
		else if (ch < 0x20 || ch >= 0x7f)
			n = (size_t)snprintf(tmp, sizeof(tmp), "\\x%02x", ch);
		else
			n = (size_t)snprintf(tmp, sizeof(tmp), "%c", ch);
		if (o + n > QUOTE_MAX || o + n + 4 > len) {
			if (o + 4 <= len) {
				memcpy(dst + o, "...", 3);
				o += 3;
			}
			break;
		}
		memcpy(dst + o, tmp, n);
		o += n;
	}
	if (len)
		dst[o < len ? o : len - 1] = '\0';
}

static const char *num_text(int code)
{
	switch (code) {
	case N_EMPTY:
		return "missing";
	case N_DIGITS:
		return "must be decimal digits";
	case N_LEADZERO:
		return "has a leading zero";
	default:
		return "out of range";
	}
}

/* "'<q>': <what> <problem>" for a bad number, with the range when relevant. */
static int num_fail(char *err, size_t errlen, const char *q, int code,
		    const char *what, unsigned int min, unsigned int max)
{
	if (code == N_EMPTY)
		return nm_errf(err, errlen, "'%s': missing %s", q, what);
	if (code == N_RANGE)
		return nm_errf(err, errlen, "'%s': %s out of range %u..%u", q, what, min, max);
	return nm_errf(err, errlen, "'%s': %s %s", q, what, num_text(code));
}

/* ---- small scanners ----------------------------------------------------- */

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_xdigit(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static bool has_space(const char *s)
{
	for (; *s; s++)
		if (is_space(*s))
			return true;
	return false;
}

/* Strict decimal: digits only, no leading zero (except "0"), min..max. */
static int parse_num(const char *s, unsigned int min, unsigned int max, unsigned int *out)
{
	unsigned int v = 0;
	size_t n;

	if (!*s)
		return N_EMPTY;
	for (n = 0; s[n]; n++)
		if (!is_digit(s[n]))
			return N_DIGITS;
	if (n > 1 && s[0] == '0')
		return N_LEADZERO;
	if (n > 5)
		return N_RANGE;
	for (n = 0; s[n]; n++)
		v = v * 10 + (unsigned int)(s[n] - '0');
	if (v < min || v > max)
		return N_RANGE;
	*out = v;
	return N_OK;
}

/* Dotted quad, four decimal octets 0..255, no leading zeros. */
static int parse_v4(const char *text, __u8 out[4])
{
	const char *s = text;
	bool octal = false;
	int i;

	for (i = 0; i < 4; i++) {
		const char *start = s;
		unsigned int v = 0;

		while (is_digit(*s)) {
			if (s - start >= 3)
				return A_BAD;
			v = v * 10 + (unsigned int)(*s++ - '0');
		}
		if (s == start || v > 255)
			return A_BAD;
		if (s - start > 1 && *start == '0')
			octal = true;
		if (i < 3 && *s++ != '.')
			return A_BAD;
	}
	if (*s)
		return A_BAD;
	if (octal)
		return A_OCTAL;
	return inet_pton(AF_INET, text, out) == 1 ? A_OK : A_BAD;
}

/* IPv6 text: hex groups and colons, an optional strict dotted-quad tail. */
static int parse_v6(const char *s, __u8 out[16])
{
	const char *dot = strchr(s, '.');
	const char *colon = strrchr(s, ':');
	const char *p;
	__u8 tail[4];
	int rc;

	for (p = s; *p; p++)
		if (!is_xdigit(*p) && *p != ':' && *p != '.')
			return A_BAD;
	if (dot) {
		if (!colon || dot < colon)
			return A_BAD;
		rc = parse_v4(colon + 1, tail);
		if (rc)
			return rc;
	}
	return inet_pton(AF_INET6, s, out) == 1 ? A_OK : A_BAD;
}

/* Either family, told apart by a colon; IPv4 goes into a[0..3]. */
static int parse_addr(const char *s, __u8 a[16], __u8 *family)
{
	if (!*s)
		return A_EMPTY;
	memset(a, 0, 16);
	if (strchr(s, ':')) {
		*family = 6;
		return parse_v6(s, a);
	}
	*family = 4;
	return parse_v4(s, a);
}

bool nm_addr_is_v4mapped(const __u8 a[16])
{
	static const __u8 pfx[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	return !memcmp(a, pfx, sizeof(pfx));
}

/* Clear the bits after plen; true if any was set. */
static bool mask_addr(__u8 *a, unsigned int bytes, unsigned int plen);

void nm_cidr_mask(struct nm_cidr *c)
{
	mask_addr(c->addr, c->family == 4 ? 4 : 16, c->prefixlen);
}

static bool mask_addr(__u8 *a, unsigned int bytes, unsigned int plen)
{
	bool changed = false;
	unsigned int i;

	for (i = 0; i < bytes; i++) {
		unsigned int bits = plen > 8 * i ? plen - 8 * i : 0;
		__u8 m = bits >= 8 ? 0xff : (__u8)(0xff00 >> bits);

		if (a[i] & (__u8)~m)
			changed = true;
		a[i] &= m;
	}
	return changed;
}

static int addr_fail(char *err, size_t errlen, const char *q, int code)
{
	if (code == A_EMPTY)
		return nm_errf(err, errlen, "'%s': missing address", q);
	if (code == A_OCTAL)
		return nm_errf(err, errlen,
			    "'%s': IPv4 octet with a leading zero (ambiguous, octal?)", q);
	return nm_errf(err, errlen, "'%s': not an IPv4 or IPv6 address", q);
}

/* ---- rule targets ------------------------------------------------------- */

/* The pieces of a target text, pointing into a private copy. */
struct target_text {
	char buf[NM_CIDR_MAXIN + 1];
	char *addr;
	char *plen;  /* after '/', or NULL */
	char *port;  /* after ':' (or "]:"), or NULL */
	bool bracketed;
};

static int split_target(const char *s, const char *q, struct target_text *t,
			char *err, size_t errlen)
{
	size_t n = strnlen(s, NM_CIDR_MAXIN + 1);
	char *p;

	if (has_space(s))
		return nm_errf(err, errlen, "'%s': whitespace is not allowed", q);
	if (n > NM_CIDR_MAXIN)
		return nm_errf(err, errlen, "'%s': too long (at most %d characters)",
			    q, NM_CIDR_MAXIN);
	if (strchr(s, '%'))
		return nm_errf(err, errlen, "'%s': IPv6 zone ids are not supported", q);
	memcpy(t->buf, s, n + 1);
	t->addr = t->buf;
	t->plen = NULL;
	t->port = NULL;
	t->bracketed = false;

	if (t->buf[0] == '[') {
		p = strchr(t->buf, ']');
		if (!p)
			return nm_errf(err, errlen, "'%s': missing ']'", q);
		*p++ = '\0';
		t->addr = t->buf + 1;
		t->bracketed = true;
		if (!*p)
			return nm_errf(err, errlen,
				    "'%s': brackets are only for an address with a port ([v6]:port)", q);
		if (*p != ':')
			return nm_errf(err, errlen, "'%s': expected ':port' after ']'", q);
		t->port = p + 1;
		if (strchr(t->addr, '/'))
			return nm_errf(err, errlen,
				    "'%s': a port is only allowed on a single address, not a prefix", q);
		return 0;
	}
	p = strchr(t->buf, '/');
	if (p) {
		*p = '\0';
		t->plen = p + 1;
		return 0;
	}
	/* exactly one colon: IPv4 with a port; more: bare IPv6 */
	p = strchr(t->buf, ':');
	if (p && !strchr(p + 1, ':')) {
		*p = '\0';
		t->port = p + 1;
	}
	return 0;
}

/* *had: 1 a prefix length, 2 a port was written; ports from port_min. */
static int parse_target(const char *s, struct nm_cidr *out, unsigned *had, unsigned port_min,
			char *err, size_t errlen)
{
	struct target_text t;
	char q[QUOTE_LEN];
	unsigned int plen, port = 0, max;
	__u8 a[16], fam;
	int rc;

	if (!s || !*s)
		return nm_errf(err, errlen, "'': empty address");
	quote(q, sizeof(q), s);
	rc = split_target(s, q, &t, err, errlen);
	if (rc)
		return rc;

	rc = parse_addr(t.addr, a, &fam);
	if (rc)
		return addr_fail(err, errlen, q, rc);
	if (t.bracketed && fam != 6)
		return nm_errf(err, errlen, "'%s': brackets are only for IPv6 addresses", q);
	max = fam == 4 ? 32 : 128;

	plen = max;
	if (t.plen) {
		if (strchr(t.plen, ':'))
			return nm_errf(err, errlen,
				    "'%s': a port is only allowed on a single address, not a prefix", q);
		rc = parse_num(t.plen, 0, max, &plen);
		if (rc)
			return num_fail(err, errlen, q, rc, "prefix length", 0, max);
	}
	if (t.port) {
		rc = parse_num(t.port, port_min, 65535, &port);
		if (rc)
			return num_fail(err, errlen, q, rc, "port", port_min, 65535);
	}

	if (fam == 6 && nm_addr_is_v4mapped(a) && plen < 96)
		return nm_errf(err, errlen,
			    "'%s': IPv4-mapped prefix shorter than /96 is not IPv4", q);
	if (mask_addr(a, fam == 4 ? 4 : 16, plen)) {
		char sug[INET6_ADDRSTRLEN];

		inet_ntop(fam == 4 ? AF_INET : AF_INET6, a, sug, sizeof(sug));
		return nm_errf(err, errlen, "'%s': host bits set (did you mean %s/%u?)",
			    q, sug, plen);
	}

	memset(out, 0, sizeof(*out));
	if (fam == 6 && nm_addr_is_v4mapped(a)) {
		fam = 4;
		plen -= 96;
		memmove(a, a + 12, 4);
		memset(a + 4, 0, 12);
	}
	out->family = fam;
	out->prefixlen = (__u8)plen;
	out->port = (__u16)port;
	memcpy(out->addr, a, sizeof(out->addr));
	*had = (t.plen ? 1 : 0) | (t.port ? 2 : 0);
	return 0;
}

int nm_parse_cidr(const char *s, struct nm_cidr *out, char *err, size_t errlen)
{
	unsigned had;

	return parse_target(s, out, &had, 1, err, errlen);
}

int nm_parse_port(const char *s, __u16 *port, char *err, size_t errlen)
{
	char q[QUOTE_LEN];
	unsigned int v;
	int rc;

	if (!s || !*s)
		return nm_errf(err, errlen, "'': missing port");
	rc = parse_num(s, 1, 65535, &v);
	if (rc) {
		quote(q, sizeof(q), s);
		return num_fail(err, errlen, q, rc, "port", 1, 65535);
	}
	*port = (__u16)v;
	return 0;
}

int nm_parse_endpoint_from(const char *s, unsigned port_min, int *family, struct nm_ep4 *ep4,
			   struct nm_ep6 *ep6, char *err, size_t errlen)
{
	struct nm_cidr c;
	char q[QUOTE_LEN];
	unsigned had;
	int rc;

	rc = parse_target(s, &c, &had, port_min, err, errlen);
	if (rc)
		return rc;
	quote(q, sizeof(q), s);
	if (had & 1)
		return nm_errf(err, errlen,
			    "'%s': an endpoint is a single address with a port, not a prefix", q);
	if (!(had & 2))
		return nm_errf(err, errlen,
			    "'%s': endpoint needs a port (e.g. 127.0.0.1:3128 or [::1]:3128)", q);
	if (c.family == 4) {
		if (!ep4)
			return nm_errf(err, errlen, "'%s': an IPv4 endpoint is not allowed here", q);
		memset(ep4, 0, sizeof(*ep4));
		memcpy(&ep4->addr, c.addr, 4);
		ep4->port = htons(c.port);
	} else {
		if (!ep6)
			return nm_errf(err, errlen, "'%s': an IPv6 endpoint is not allowed here", q);
		memset(ep6, 0, sizeof(*ep6));
		memcpy(ep6->addr, c.addr, 16);
		ep6->port = htons(c.port);
	}
	*family = c.family;
	return 0;
}

/* ---- formatting --------------------------------------------------------- */

/* ---- LPM keys ----------------------------------------------------------- */

void nm_cidr_to_key4(const struct nm_cidr *c, struct nm_key4 *k)
{
	memset(k, 0, sizeof(*k));
	memcpy(k->addr, c->addr, sizeof(k->addr));
	if (c->port) {
		k->prefixlen = NM_KEY4_HOSTPORT_LEN;
		k->port = htons(c->port);
	} else {
		k->prefixlen = c->prefixlen > 32 ? 32 : c->prefixlen;
		mask_addr(k->addr, sizeof(k->addr), k->prefixlen);
	}
}

void nm_cidr_to_key6(const struct nm_cidr *c, struct nm_key6 *k)
{
	memset(k, 0, sizeof(*k));
	memcpy(k->addr, c->addr, sizeof(k->addr));
	if (c->port) {
		k->prefixlen = NM_KEY6_HOSTPORT_LEN;
		k->port = htons(c->port);
	} else {
		k->prefixlen = c->prefixlen > 128 ? 128 : c->prefixlen;
		mask_addr(k->addr, sizeof(k->addr), k->prefixlen);
	}
}

void nm_cidr_to_rule(const struct nm_cidr *c, __u8 action, __u32 tag, struct nm_rule *r)
{
	memset(r, 0, sizeof(*r));
	r->action = action;
	r->prefixlen = c->port ? (c->family == 4 ? 32 : 128) : c->prefixlen;
	r->port = htons(c->port);
	r->tag = tag;
}

void nm_key4_to_cidr(const struct nm_key4 *k, struct nm_cidr *c)
{
	memset(c, 0, sizeof(*c));
	c->family = 4;
	memcpy(c->addr, k->addr, sizeof(k->addr));
	if (k->prefixlen > 32) {
		c->prefixlen = 32;
		c->port = ntohs(k->port);
	} else {
		c->prefixlen = (__u8)k->prefixlen;
	}
}

void nm_key6_to_cidr(const struct nm_key6 *k, struct nm_cidr *c)
{
	memset(c, 0, sizeof(*c));
	c->family = 6;
	memcpy(c->addr, k->addr, sizeof(k->addr));
	if (k->prefixlen > 128) {
		c->prefixlen = 128;
		c->port = ntohs(k->port);
	} else {
		c->prefixlen = (__u8)k->prefixlen;
	}
}

bool nm_cidr_contains(const struct nm_cidr *c, const __u8 addr[16], __u16 port)
{
	unsigned int max = c->family == 4 ? 32 : c->family == 6 ? 128 : 0;
	unsigned int full, rem;

	if (!max || c->prefixlen > max)
		return false;
	if (c->port && c->port != port)
		return false;
	full = c->prefixlen / 8;
	rem = c->prefixlen % 8;
	if (memcmp(c->addr, addr, full))
		return false;
	if (rem) {
		__u8 m = (__u8)(0xff00 >> rem);

		if ((c->addr[full] ^ addr[full]) & m)
			return false;
	}
	return true;
}

/* ---- enum words --------------------------------------------------------- */

static const char *const action_names[] = {
	[NM_ACT_NONE]     = "none",
	[NM_ACT_DENY]     = "deny",
	[NM_ACT_ALLOW]    = "allow",
	[NM_ACT_REDIRECT] = "redirect",
};
_Static_assert(ARRAY_SIZE(action_names) == NM_ACT__MAX, "action_names");

static const char *const mode_names[] = {
	[NM_MODE_ENFORCE] = "enforce",
	[NM_MODE_AUDIT]   = "audit",
};

static const char *const evlevel_names[] = {
	[NM_EV_DENY]     = "deny",
	[NM_EV_REDIRECT] = "redirect",
	[NM_EV_ALL]      = "all",
};

static const char *const verdict_names[] = {
	[NM_V_DENY]           = "deny",
	[NM_V_ALLOW]          = "allow",
	[NM_V_REDIRECT]       = "redirect",
	[NM_V_WOULD_DENY]     = "would-deny",
	[NM_V_WOULD_REDIRECT] = "would-redirect",
};
_Static_assert(ARRAY_SIZE(verdict_names) == NM_V__MAX, "verdict_names");

static const char *const hook_names[] = {
	[NM_HOOK_CONNECT4]   = "connect4",
	[NM_HOOK_CONNECT6]   = "connect6",
	[NM_HOOK_SENDMSG4]   = "sendmsg4",
	[NM_HOOK_SENDMSG6]   = "sendmsg6",
	[NM_HOOK_RECVMSG4]   = "recvmsg4",
	[NM_HOOK_RECVMSG6]   = "recvmsg6",
	[NM_HOOK_SOCKOPS]    = "sockops",
	[NM_HOOK_GETSOCKOPT] = "getsockopt",
	[NM_HOOK_SOCK_CREATE] = "sock_create",
	[NM_HOOK_EGRESS]     = "egress",
};
_Static_assert(ARRAY_SIZE(hook_names) == NM_HOOK__MAX, "hook_names");

static const char *const reason_names[] = {
	[NM_R_RULE]           = "rule",
	[NM_R_DEFAULT]        = "default",
	[NM_R_NO_POLICY]      = "no-policy",
	[NM_R_BAD_POLICY]     = "bad-policy",
	[NM_R_PROXY_ENDPOINT] = "proxy-endpoint",
	[NM_R_DNS_ENDPOINT]   = "dns-endpoint",
	[NM_R_DNS]            = "dns",
	[NM_R_NO_PROXY]       = "no-proxy",
	[NM_R_UDP_REDIRECT]   = "udp-redirect",
	[NM_R_FLOWS_FULL]     = "flows-full",
	[NM_R_PROTO]          = "proto",
	[NM_R_RAW_SOCKET]     = "raw-socket",
	[NM_R_IP_OPTIONS]     = "ip-options",
};
_Static_assert(ARRAY_SIZE(reason_names) == NM_R__MAX, "reason_names");

static const char *const gstat_names[] = {
	[NM_G_EVENTS_DROPPED] = "events_dropped",
	[NM_G_NO_POLICY]      = "no_policy_denials",
	[NM_G_BAD_POLICY]     = "bad_policy_denials",
	[NM_G_FLOWS_FULL]     = "flows_full",
	[NM_G_FLOW_MISS]      = "origdst_misses",
	[NM_G_FLOW_ADDED]     = "flows_added",
	[NM_G_FLOW_REMOVED]   = "flows_removed",
	[NM_G_DNS_RESTORED]   = "dns_sources_restored",
	[NM_G_POLICY_RETRY]   = "policy_reread",
	[NM_G_BACKSTOP_DROP]  = "backstop_drops",
	[NM_G_BACKSTOP_QUIET] = "backstop_unreported",
	[NM_G_DNSQ_NOTED]     = "dns_queries_noted",
	[NM_G_DNSQ_MISS]      = "dns_query_misses",
};
_Static_assert(ARRAY_SIZE(gstat_names) == NM_G__MAX, "gstat_names");

static const char *name_of(const char *const *names, size_t n, unsigned int v)
{
	return v < n && names[v] ? names[v] : "unknown";
}

/* Exact match of s against names[first..n-1]; *out = index. */
static int parse_word(const char *s, const char *const *names, size_t n, size_t first,
		      const char *what, __u8 *out, char *err, size_t errlen)
{
	char q[QUOTE_LEN], allowed[128];
	size_t i, o = 0;

	for (i = first; s && i < n; i++) {
		if (!strcmp(s, names[i])) {
			*out = (__u8)i;
			return 0;
		}
	}
	allowed[0] = '\0';
	for (i = first; i < n && o < sizeof(allowed); i++)
		o += (size_t)snprintf(allowed + o, sizeof(allowed) - o, "%s%s",
				      i == first ? "" : ", ", names[i]);
	quote(q, sizeof(q), s ? s : "");
	return nm_errf(err, errlen, "'%s': unknown %s (expected one of: %s)", q, what, allowed);
}

int nm_parse_action(const char *s, __u8 *out, char *err, size_t errlen)
{
	return parse_word(s, action_names, ARRAY_SIZE(action_names), NM_ACT_DENY,
			  "action", out, err, errlen);
}

const char *nm_action_name(__u8 a)
{
	return name_of(action_names, ARRAY_SIZE(action_names), a);
}

int nm_parse_mode(const char *s, __u8 *out, char *err, size_t errlen)
{
	return parse_word(s, mode_names, ARRAY_SIZE(mode_names), 0, "mode", out, err, errlen);
}

const char *nm_mode_name(__u8 m)
{
	return name_of(mode_names, ARRAY_SIZE(mode_names), m);
}

int nm_parse_evlevel(const char *s, __u8 *out, char *err, size_t errlen)
{
	return parse_word(s, evlevel_names, ARRAY_SIZE(evlevel_names), 0,
			  "event level", out, err, errlen);
}

const char *nm_evlevel_name(__u8 l)
{
	return name_of(evlevel_names, ARRAY_SIZE(evlevel_names), l);
}

const char *nm_verdict_name(__u8 v)
{
	return name_of(verdict_names, ARRAY_SIZE(verdict_names), v);
}

const char *nm_hook_name(__u8 h)
{
	return name_of(hook_names, ARRAY_SIZE(hook_names), h);
}

const char *nm_reason_name(__u8 r)
{
	return name_of(reason_names, ARRAY_SIZE(reason_names), r);
}

const char *nm_gstat_name(unsigned int g)
{
	return name_of(gstat_names, ARRAY_SIZE(gstat_names), g);
}

int nm_parse_proto(const char *s, __u8 *out, char *err, size_t errlen)
{
	char q[QUOTE_LEN];

	if (s && !strcmp(s, "tcp")) {
		*out = IPPROTO_TCP;
		return 0;
	}
	if (s && !strcmp(s, "udp")) {
		*out = IPPROTO_UDP;
		return 0;
	}
	quote(q, sizeof(q), s ? s : "");
	return nm_errf(err, errlen, "'%s': unknown protocol (expected one of: tcp, udp)", q);
}

const char *nm_proto_name(__u8 p)
{
	static __thread char buf[16];

	if (p == IPPROTO_TCP)
		return "tcp";
	if (p == IPPROTO_UDP)
		return "udp";
	if (p == IPPROTO_ICMP)
		return "icmp";
	if (p == IPPROTO_ICMPV6)
		return "icmpv6";
	snprintf(buf, sizeof(buf), "proto-%u", p);
	return buf;
}

/* ---- policy names ------------------------------------------------------- */

static bool is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || is_digit(c) || c == '_' || c == '.' || c == '-';
}

int nm_parse_policy_name(const char *s, char *err, size_t errlen)
{
	char q[QUOTE_LEN];
	size_t i, n;

	if (!s || !*s)
		return nm_errf(err, errlen, "'': empty policy name");
	quote(q, sizeof(q), s);
	n = strnlen(s, NM_POLICY_NAME_LEN);
	if (n >= NM_POLICY_NAME_LEN)
		return nm_errf(err, errlen, "'%s': policy name longer than %d characters",
			    q, NM_POLICY_NAME_LEN - 1);
	for (i = 0; i < n; i++)
		if (!is_name_char(s[i]))
			return nm_errf(err, errlen,
				    "'%s': policy name may only contain a-z 0-9 _ . -", q);
	if (!is_digit(s[0]) && !(s[0] >= 'a' && s[0] <= 'z'))
		return nm_errf(err, errlen, "'%s': policy name must start with a letter or digit", q);
	return 0;
}
