// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * sniff.c - the head and the name check: peek (never consume) what the
 * client sent until a ClientHello or an HTTP head is complete, take the
 * name from it (SNI, Host, CONNECT authority, absolute URI), and judge it
 * against the policy's allowlist; or, at accept, judge a connection to a
 * synthetic address by the name behind it and pass an ip-only policy's
 * straight to its original destination.  Allowed: on to upstream.c.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "hostname.h"
#include "proxy.h"

/* ---- the decision -------------------------------------------------------------- */
/* raw: the name as the client gave it (SNI, Host, authority). */
static void decide(struct nmp_conn *c, const char *raw, size_t rawlen)
{
	const struct nmp_policy *pol;
	const struct nm_allow_entry *e;
	enum nm_host_kind k;
	char norm[NM_HOST_MAX + 2];

	pol = nmp_policy_by_name(&c->px->pols, c->policy);
	k = nm_host_norm(raw, rawlen, norm, sizeof(norm), NULL, 0);
	snprintf(c->name, sizeof(c->name), "%.*s", (int)rawlen, raw);
	if (!pol) {
		if (*c->policy)
			nmp_set_reason(c, "deny", NMP_R_UNKNOWN_POLICY, "no policy block '%s' in %s", c->policy, c->px->o.config);
		else if (c->has_origin)
			nmp_set_reason(c, "deny", NMP_R_UNKNOWN_POLICY, "policy id %u has no name in the pins",
				       c->origin.policy_id);
		else
			nmp_set_reason(c, "deny", NMP_R_UNKNOWN_POLICY, "not redirected by nomoat, and no --default-policy");
		nmp_refuse(c, 403);
		return;
	}
	if (k == NM_HOST_INVALID) {
		nmp_set_reason(c, "deny", NMP_R_BAD_NAME, "'%.100s' is not a host name", c->name);
		nmp_refuse(c, 403);
		return;
	}
	snprintf(c->name, sizeof(c->name), "%s", norm);
	if (k == NM_HOST_IPV4 || k == NM_HOST_IPV6) {
		if (!pol->ip_only) {
			nmp_set_reason(c, "deny", NMP_R_IP_LITERAL, "an IP address where a name is required");
			nmp_refuse(c, 403);
			return;
		}
		snprintf(c->rule, sizeof(c->rule), "ip-only");
	} else {
		e = nm_allow_match(&pol->allow, norm, c->port);
		if (e) {
			nm_allow_str(e, c->rule, sizeof(c->rule));
		} else if (pol->ip_only) {
			snprintf(c->rule, sizeof(c->rule), "ip-only");
		} else {
			nmp_set_reason(c, "deny", NMP_R_NOT_ALLOWED, "%s:%u is not in the allowlist", norm, c->port);
			nmp_refuse(c, 403);
			return;
		}
	}
	nmp_set_reason(c, "allow", NMP_R_ALLOWED, NULL);
	nmp_upstream_resolve(c, norm);
}

/* ip-only policy, transparent: straight to where the client was going. */
static void pass_ip_only(struct nmp_conn *c)
{
	struct sockaddr_storage ss = { 0 };

	c->kind = NMP_K_IPONLY;
	c->proto = "ip-only";
	snprintf(c->rule, sizeof(c->rule), "ip-only");
	nmp_set_reason(c, "allow", NMP_R_IP_ONLY, NULL);
	if (c->origin.family == 4) {
		struct sockaddr_in *s = (void *)&ss;

		s->sin_family = AF_INET;
		memcpy(&s->sin_addr, &c->origin.addr[3], 4);
	} else {
		struct sockaddr_in6 *s = (void *)&ss;

		s->sin6_family = AF_INET6;
		memcpy(&s->sin6_addr, c->origin.addr, 16);
	}
	c->addrs.a[0] = ss;
	c->addrs.n = 1;
	c->addr_i = 0;
	nmp_upstream_connect(c);
}

/* A connection to one of the policy's synthetic addresses (names
 * synthetic): judged as the name nomoat-dns handed the address out for, on
 * the port the client dialled, whatever the protocol (nothing is sniffed;
 * the proxy resolves the name itself and connects only there).  True when
 * the address is one (then decided or refused here). */
static bool pass_synthetic(struct nmp_conn *c, const struct nmp_policy *pol)
{
	const uint8_t *a = c->origin.family == 4 ? (const uint8_t *)&c->origin.addr[3] : (const uint8_t *)c->origin.addr;
	char name[NM_HOST_MAX + 1];
	int rc = nmp_synth_name(pol, c->px->o.names_dir, c->origin.family, a, name, sizeof(name));

	if (rc == 0)
		return false;
	c->kind = NMP_K_SYNTH;
	c->proto = "synthetic";
	if (rc == -ESTALE) {
		nmp_set_reason(c, "deny", NMP_R_SYNTHETIC_TABLE,
			       "no table of synthetic names for policy %s in %s (is nomoat-dns running?)", pol->name,
			       c->px->o.names_dir);
		nmp_refuse(c, 403);
	} else if (rc < 0) {
		nmp_set_reason(c, "deny", NMP_R_UNKNOWN_SYNTHETIC, "no name was handed out for this synthetic address");
		nmp_refuse(c, 403);
	} else {
		decide(c, name, strlen(name));
	}
	return true;
}

static void sniff_tls(struct nmp_conn *c, size_t n, bool ended)
{
	struct nmp_sni s;
	enum nmp_sni_result r = nmp_sni_parse((const uint8_t *)c->px->peekbuf, n, &s);

	c->kind = NMP_K_TLS;
	c->proto = "tls";
	switch (r) {
	case NMP_SNI_NEED_MORE:
		if (ended) {
			nmp_set_reason(c, "none", NMP_R_CLIENT_CLOSED, "before a complete ClientHello");
			break;
		}
		if (n < sizeof(c->px->peekbuf))
			return;
		nmp_set_reason(c, "deny", NMP_R_BAD_CLIENTHELLO, "ClientHello does not fit %zu bytes", sizeof(c->px->peekbuf));
		break;
	case NMP_SNI_FOUND:
		if (!c->has_origin) {
			nmp_set_reason(c, "deny", NMP_R_NO_ORIGIN, "TLS straight to the proxy: no original destination");
			break;
		}
		decide(c, s.name, s.name_len);
		return;
	case NMP_SNI_NONE:
		nmp_set_reason(c, "deny", NMP_R_NO_SNI, "ClientHello without a server name");
		break;
	case NMP_SNI_MALFORMED:
		nmp_set_reason(c, "deny", NMP_R_BAD_CLIENTHELLO, "%s", s.why);
		break;
	case NMP_SNI_TOO_LARGE:
		nmp_set_reason(c, "deny", NMP_R_CLIENTHELLO_TOO_LARGE, "%s", s.why);
		break;
	}
	nmp_conn_close(c);
}

static void sniff_http(struct nmp_conn *c, size_t n, bool ended)
{
	struct nmp_http_req rq;
	enum nmp_http_result r = nmp_http_parse(c->px->peekbuf, n, &rq);
	char hn[NM_HOST_MAX + 2], tn[NM_HOST_MAX + 2];

	c->kind = NMP_K_HTTP;
	c->proto = "http";
	if (r == NMP_HTTP_NEED_MORE) {
		if (ended) {
			nmp_set_reason(c, "none", NMP_R_CLIENT_CLOSED, "before a complete request head");
			nmp_conn_close(c);
		}
		return;
	}
	if (r == NMP_HTTP_MALFORMED) {
		nmp_set_reason(c, "deny", NMP_R_BAD_REQUEST, "%s", rq.why);
		nmp_refuse(c, 400);
		return;
	}
	if (r == NMP_HTTP_TOO_LARGE) {
		nmp_set_reason(c, "deny", NMP_R_HEAD_TOO_LARGE, "%s", rq.why);
		nmp_refuse(c, 431);
		return;
	}
	c->head_len = rq.head_len;
	if (rq.connect) {
		c->kind = NMP_K_CONNECT;
		c->proto = "connect";
		c->port = rq.port;
	} else if (rq.form == NMP_FORM_ABSOLUTE) {
		c->kind = NMP_K_ABSOLUTE;
		c->proto = "absolute";
		c->port = rq.port ? rq.port : 80;
		if (rq.has_host_hdr &&
		    (nm_host_norm(rq.hdr_host, strlen(rq.hdr_host), hn, sizeof(hn), NULL, 0) == NM_HOST_INVALID ||
		     nm_host_norm(rq.host, strlen(rq.host), tn, sizeof(tn), NULL, 0) == NM_HOST_INVALID || strcmp(hn, tn))) {
			snprintf(c->name, sizeof(c->name), "%.255s", rq.host);
			nmp_set_reason(c, "deny", NMP_R_HOST_MISMATCH, "Host header '%s' names another host than the target",
				       rq.hdr_host);
			nmp_refuse(c, 403);
			return;
		}
	} else if (!c->has_origin) {
		nmp_set_reason(c, "deny", NMP_R_NOT_A_PROXY_REQUEST,
			       "a request to the proxy itself: use CONNECT or an absolute URI");
		nmp_refuse(c, 400);
		return;
	} else if (!*rq.host) {
		nmp_set_reason(c, "deny", NMP_R_NO_HOST, "HTTP/1.0 request without a Host header");
		nmp_refuse(c, 403);
		return;
	}
	decide(c, rq.host, strlen(rq.host));
}

/* ended: the client shut its write side (EPOLLRDHUP): what is there is
 * all there will be. */
void nmp_sniff(struct nmp_conn *c, bool ended)
{
	ssize_t n = recv(c->cfd, c->px->peekbuf, sizeof(c->px->peekbuf), MSG_PEEK | MSG_DONTWAIT);

	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		nmp_set_reason(c, "none", NMP_R_CLIENT_ERROR, "%s", strerror(errno));
		nmp_conn_close(c);
		return;
	}
	if (n == 0) {
		nmp_set_reason(c, "none", NMP_R_CLIENT_CLOSED, "before a complete request");
		nmp_conn_close(c);
		return;
	}
	if ((unsigned char)c->px->peekbuf[0] == 0x16 || ((unsigned char)c->px->peekbuf[0] & 0x80))
		sniff_tls(c, (size_t)n, ended);
	else
		sniff_http(c, (size_t)n, ended);
}

void nmp_decide_at_accept(struct nmp_conn *c)
{
	const struct nmp_policy *pol = nmp_policy_by_name(&c->px->pols, c->policy);

	if (pol && pol->synthetic && pass_synthetic(c, pol))
		return; /* decided by the name behind the address */
	if (pol && pol->ip_only)
		pass_ip_only(c);
}
