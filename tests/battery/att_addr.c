/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * att_addr.c - attempts where the address is the trick: source routes that
 * put a denied address on the wire behind an allowed one (IPv4 loose
 * source route, IPv6 segment routing header), the IPv4-in-IPv6 prefixes
 * (IPv4-compatible, IPv4-translated, NAT64, local NAT64, 6to4, Teredo,
 * ISATAP) where the test network has no route (so the kernel's own answer
 * is reported next to nomoat's), and the ports nomoat must keep closed or
 * keep harmless: the proxy (allowed, but asked to CONNECT to the metadata
 * host), other ports of the proxy's host, and the daemon's metrics and
 * event sockets (loopback TCP, unix sockets).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/seg6.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "battery.h"
#include "topo.h"

/* An endpoint that is not one of the targets. */
struct ep {
	const char *addr;
	int port;
	bool mapped; /* an IPv4 address as ::ffff:a.b.c.d */
};

#define TGT(a) ((const struct nmb_tgt *)(a)->arg)
#define EP(a)  ((const struct ep *)(a)->arg)

/* An allowed UDP destination: port 53 anywhere goes to the DNS endpoint. */
static const struct ep dns_net4 = { NMT_NET4, 53, false };

/* An endpoint that is not a target (the proxy host, loopback, ...). */
static void att_tcp_ep(const struct nmb_att *a, const struct nmb_cfg *c, struct nmb_res *r)
{
	(void)c;
	nmb_tcp_to(a, EP(a)->addr, EP(a)->port, EP(a)->mapped, 0, r);
}

/* ---- source routes ---------------------------------------------------------------- */
/* IP_OPTIONS with a loose source route through hop, then connect or send. */
static int set_lsrr(int fd, const char *hop)
{
	unsigned char opt[8] = { IPOPT_NOP, IPOPT_LSRR, 7, 4 };

	if (inet_pton(AF_INET, hop, opt + 4) != 1)
		return -EINVAL;
	return setsockopt(fd, IPPROTO_IP, IP_OPTIONS, opt, sizeof(opt)) ? -errno : 0;
}

/* The final destination is the target, the first hop an internet host. */
static void att_lsrr_to(const struct nmb_att *a, const struct nmb_cfg *c, struct nmb_res *r)
{
	struct sockaddr_storage ss;
	int len = nmt_sa_make(&ss, TGT(a)->addr, TGT(a)->tcp, false);
	int fd = nmb_socket(AF_INET, SOCK_STREAM, 0, NMB_SOCK_MS), e;

	(void)c;
	if (fd < 0) {
		nmb_set_errno(r, "socket", -fd);
		return;
	}
	e = set_lsrr(fd, NMT_NET4);
	if (e)
		nmb_set_errno(r, "setsockopt(IP_OPTIONS)", -e);
	else if (connect(fd, (struct sockaddr *)&ss, len))
		nmb_set_errno(r, "connect", errno);
	else
		nmb_tcp_talk(fd, NULL, a->name, r);
	close(fd);
}

/* A datagram to an allowed place (port 53: the DNS endpoint), with a loose
 * source route whose first hop is the target: the hooks judge the final
 * destination, the wire carries the target's address. */
static void att_udp_lsrr_via(const struct nmb_att *a, const struct nmb_cfg *c, struct nmb_res *r)
{
	char tok[NMB_TOKEN_MAX];
	struct sockaddr_storage ok;
	int oklen = nmt_sa_make(&ok, dns_net4.addr, dns_net4.port, false);
	int fd = nmb_socket(AF_INET, SOCK_DGRAM, 0, NMB_SOCK_MS), e;

	(void)c;
	if (fd < 0) {
		nmb_set_errno(r, "socket", -fd);
		return;
	}
	e = set_lsrr(fd, TGT(a)->addr);
	nmb_token(a->name, tok, sizeof(tok));
	if (e)
		nmb_set_errno(r, "setsockopt(IP_OPTIONS)", -e);
	else if (sendto(fd, tok, strlen(tok), 0, (struct sockaddr *)&ok, oklen) < 0)
		nmb_set_errno(r, "sendto", errno);
	else
		nmb_set(r, NMB_BLOCKED, "sent to %s:53 routed via %s; no answer expected (the witness tells where "
			"it went)", dns_net4.addr, TGT(a)->addr);
	close(fd);
}

/* The IPv6 twin: a segment routing header whose first segment is the
 * target (IPV6_RTHDR type 4 needs no privilege). */
static void att_udp6_srh_via(const struct nmb_att *a, const struct nmb_cfg *c, struct nmb_res *r)
{
	char tok[NMB_TOKEN_MAX];
	unsigned char buf[sizeof(struct ipv6_sr_hdr) + 2 * sizeof(struct in6_addr)];
	struct ipv6_sr_hdr *srh = (void *)buf;
	struct sockaddr_storage ok;
	int oklen = nmt_sa_make(&ok, NMT_NET6, 53, false);
	int fd = nmb_socket(AF_INET6, SOCK_DGRAM, 0, NMB_SOCK_MS);

	(void)c;
	if (fd < 0) {
		nmb_set_errno(r, "socket", -fd);
		return;
	}
	memset(buf, 0, sizeof(buf));
	srh->hdrlen = (sizeof(buf) >> 3) - 1;
	srh->type = 4;
	srh->segments_left = 1;
	srh->first_segment = 1;
	/* segments[0] becomes the final destination; [1] is the first hop. */
	inet_pton(AF_INET6, TGT(a)->addr, &srh->segments[1]);
	nmb_token(a->name, tok, sizeof(tok));
	if (setsockopt(fd, IPPROTO_IPV6, IPV6_RTHDR, buf, sizeof(buf)))
		nmb_set_errno(r, "setsockopt(IPV6_RTHDR)", errno);
	else if (sendto(fd, tok, strlen(tok), 0, (struct sockaddr *)&ok, oklen) < 0)
		nmb_set_errno(r, "sendto", errno);
	else
		nmb_set(r, NMB_BLOCKED, "sent to [%s]:53 routed via %s; no answer expected (the witness tells "
			"where it went)", NMT_NET6, TGT(a)->addr);
	close(fd);
}

/* ---- IPv4 inside IPv6 ---------------------------------------------------------------- */
struct embed {
	const char *addr; /* the metadata address embedded */
	bool udp;
	bool scoped;      /* link-local: scope id of the client's veth */
};

#define EMB(a) ((const struct embed *)(a)->arg)

static void att_embed(const struct nmb_att *a, const struct nmb_cfg *c, struct nmb_res *r)
{
	char tok[NMB_TOKEN_MAX];
	struct sockaddr_storage ss;
	struct sockaddr_in6 *s6 = (void *)&ss;
	const struct embed *e = EMB(a);
	int len = nmt_sa_make(&ss, e->addr, e->udp ? 5300 : 80, false);
	int fd = nmb_socket(AF_INET6, e->udp ? SOCK_DGRAM : SOCK_STREAM, 0, NMB_SOCK_MS);

	if (fd < 0) {
		nmb_set_errno(r, "socket", -fd);
		return;
	}
	if (e->scoped)
		s6->sin6_scope_id = if_nametoindex(c->cdev);
	nmb_token(a->name, tok, sizeof(tok));
	if (!e->udp) {
		if (connect(fd, (struct sockaddr *)&ss, len))
			nmb_set_errno(r, "connect", errno);
		else
			nmb_tcp_talk(fd, NULL, a->name, r);
	} else if (sendto(fd, tok, strlen(tok), 0, (struct sockaddr *)&ss, len) < 0) {
		nmb_set_errno(r, "sendto", errno);
	} else {
		nmb_udp_reply(fd, NULL, r);
	}
	close(fd);
}

static const struct embed emb_compat_t = { "::169.254.169.254", false, false };
static const struct embed emb_compat_u = { "::169.254.169.254", true, false };
static const struct embed emb_transl_t = { "::ffff:0:169.254.169.254", false, false };
static const struct embed emb_transl_u = { "::ffff:0:169.254.169.254", true, false };
static const struct embed emb_nat64_t = { "64:ff9b::169.254.169.254", false, false };
static const struct embed emb_nat64_u = { "64:ff9b::169.254.169.254", true, false };
static const struct embed emb_nat64l_t = { "64:ff9b:1:a9fe:a9:fe00::", false, false };
static const struct embed emb_6to4_t = { "2002:a9fe:a9fe::1", false, false };
static const struct embed emb_6to4_u = { "2002:a9fe:a9fe::1", true, false };
static const struct embed emb_teredo_t = { "2001:0:a9fe:a9fe::1", false, false };
static const struct embed emb_isatap_t = { "fe80::5efe:a9fe:a9fe", false, true };

/* ---- the proxy and the daemon ---------------------------------------------------------- */
/* Connect to the proxy (allowed) and ask it for the metadata host. */
static void att_proxy_connect(const struct nmb_att *a, const struct nmb_cfg *c, struct nmb_res *r)
{
	char tok[NMB_TOKEN_MAX], req[256], got[400];
	struct sockaddr_storage ss;
	int len = nmt_sa_make(&ss, EP(a)->addr, EP(a)->port, false), n = 0;
	int fd = nmb_socket(ss.ss_family, SOCK_STREAM, 0, NMB_SOCK_MS);

	(void)c;
	if (fd < 0) {
		nmb_set_errno(r, "socket", -fd);
		return;
	}
	if (connect(fd, (struct sockaddr *)&ss, len)) {
		nmb_set_errno(r, "connect", errno);
		close(fd);
		return;
	}
	snprintf(req, sizeof(req),
		 "CONNECT " NMT_META4 ":80 HTTP/1.1\r\nHost: " NMT_META4 ":80\r\nX-Token: %s\r\n\r\n",
		 nmb_token(a->name, tok, sizeof(tok)));
	if (send(fd, req, strlen(req), MSG_NOSIGNAL) < 0) {
		/* read what it said anyway */
	}
	while (n < (int)sizeof(got) - 1) {
		ssize_t k = recv(fd, got + n, sizeof(got) - 1 - n, 0);

		if (k <= 0)
			break;
		n += k;
	}
	got[n] = 0;
	close(fd);
	if (strstr(got, "HELLO "))
		nmb_set(r, NMB_THROUGH, "the proxy relayed: '%.120s'", got);
	else if (n)
		nmb_set(r, NMB_BLOCKED, "the proxy answered '%.*s' and closed", (int)strcspn(got, "\r\n"), got);
	else
		nmb_set(r, NMB_BLOCKED, "the proxy closed without an answer");
}

/* A unix socket of the daemon (events, metrics), by file name. */
static void att_unix(const struct nmb_att *a, const struct nmb_cfg *c, struct nmb_res *r)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char line[200] = "";
	int fd = nmb_socket(AF_UNIX, SOCK_STREAM, 0, NMB_SOCK_MS);
	ssize_t n;

	if (fd < 0) {
		nmb_set_errno(r, "socket", -fd);
		return;
	}
	nmb_copy(sun.sun_path, sizeof(sun.sun_path), c->run_dir);
	nmb_append(sun.sun_path, sizeof(sun.sun_path), "/");
	nmb_append(sun.sun_path, sizeof(sun.sun_path), a->arg);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun))) {
		nmb_set_errno(r, "connect", errno);
		if (errno == ENOENT)
			nmb_set(r, NMB_BLOCKED, "ENOENT at connect: %s is not visible in the sandbox", sun.sun_path);
	} else {
		n = recv(fd, line, sizeof(line) - 1, 0);
		line[n > 0 ? n : 0] = 0;
		line[strcspn(line, "\n")] = 0;
		nmb_set(r, NMB_THROUGH, "connected to %s: '%s'", sun.sun_path, line);
	}
	close(fd);
}

static const struct ep ep_proxy4 = { NMT_WORLD4, NMT_PROXY_PORT, false };
static const struct ep ep_proxy6 = { NMT_WORLD6, NMT_PROXY_PORT, false };
static const struct ep ep_meta4_proxy_port = { NMT_META4, NMT_PROXY_PORT, false };
static const struct ep ep_world4_80 = { NMT_WORLD4, 80, false };
static const struct ep ep_world6_80 = { NMT_WORLD6, 80, false };
static const struct ep ep_metrics4 = { "127.0.0.1", NMB_METRICS_PORT, false };
static const struct ep ep_metrics6 = { "::1", NMB_METRICS_PORT, false };
static const struct ep ep_metrics_any4 = { "0.0.0.0", NMB_METRICS_PORT, false };
static const struct ep ep_metrics_any6 = { "::", NMB_METRICS_PORT, false };
static const struct ep ep_metrics_mapped = { "127.0.0.1", NMB_METRICS_PORT, true };


/* ---- the table -------------------------------------------------------------------- */
#define A(g, n, f, arg, ctl) { g, n, f, arg, ctl, 0 }

const struct nmb_att nmb_att_addr[] = {
	A("route", "tcp4-lsrr-to.meta4", att_lsrr_to, &nmb_meta4, false),
	A("route", "udp4-lsrr-via.meta4", att_udp_lsrr_via, &nmb_meta4, true),
	A("route", "udp4-lsrr-via.int4", att_udp_lsrr_via, &nmb_int4, true),
	A("route", "udp6-srh-via.meta6", att_udp6_srh_via, &nmb_meta6, true),

	A("embed", "tcp6-v4compat.meta4", att_embed, &emb_compat_t, false),
	A("embed", "udp6-v4compat.meta4", att_embed, &emb_compat_u, false),
	A("embed", "tcp6-v4translated.meta4", att_embed, &emb_transl_t, false),
	A("embed", "udp6-v4translated.meta4", att_embed, &emb_transl_u, false),
	A("embed", "tcp6-nat64.meta4", att_embed, &emb_nat64_t, false),
	A("embed", "udp6-nat64.meta4", att_embed, &emb_nat64_u, false),
	A("embed", "tcp6-nat64-local.meta4", att_embed, &emb_nat64l_t, false),
	A("embed", "tcp6-6to4.meta4", att_embed, &emb_6to4_t, false),
	A("embed", "udp6-6to4.meta4", att_embed, &emb_6to4_u, false),
	A("embed", "tcp6-teredo.meta4", att_embed, &emb_teredo_t, false),
	A("embed", "tcp6-isatap-linklocal.meta4", att_embed, &emb_isatap_t, false),

	A("ports", "proxy4-connect.meta4", att_proxy_connect, &ep_proxy4, false),
	A("ports", "proxy6-connect.meta4", att_proxy_connect, &ep_proxy6, false),
	A("ports", "proxy-port-on-meta4", att_tcp_ep, &ep_meta4_proxy_port, true),
	A("ports", "proxy-host4-port80", att_tcp_ep, &ep_world4_80, true),
	A("ports", "proxy-host6-port80", att_tcp_ep, &ep_world6_80, true),
	A("ports", "daemon-metrics-tcp4", att_tcp_ep, &ep_metrics4, true),
	A("ports", "daemon-metrics-tcp6", att_tcp_ep, &ep_metrics6, true),
	A("ports", "daemon-metrics-any4", att_tcp_ep, &ep_metrics_any4, true),
	A("ports", "daemon-metrics-any6", att_tcp_ep, &ep_metrics_any6, true),
	A("ports", "daemon-metrics-mapped", att_tcp_ep, &ep_metrics_mapped, true),
	A("ports", "daemon-events-unix", att_unix, "events.sock", false),
	A("ports", "daemon-metrics-unix", att_unix, "metrics.sock", false),
};

const int nmb_att_addr_n = sizeof(nmb_att_addr) / sizeof(nmb_att_addr[0]);
