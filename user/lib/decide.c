// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * 'nomoat check': the kernel's decision (bpf/lib/decide.h), step for step,
 * over the same maps.  Keep the two in the same order; the integration tests
 * compare this answer with what a real connect gets.
 */
#include "policy.h"
#include "err.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

static void to_words(const struct nm_cidr *c, __u32 w[4])
{
	if (c->family == 4) {
		w[0] = w[1] = 0;
		w[2] = htonl(0xffff);
		memcpy(&w[3], c->addr, 4);
	} else {
		memcpy(w, c->addr, 16);
	}
}

static bool ep4_match(const struct nm_ep4 *ep, const __u32 w[4], __u16 port_be)
{
	return ep->port && ep->port == port_be && ep->addr == w[3];
}

static bool ep6_match(const struct nm_ep6 *ep, const __u32 w[4], __u16 port_be)
{
	return ep->port && ep->port == port_be && !memcmp(ep->addr, w, 16);
}

static bool target(const struct nm_ep4 *e4, const struct nm_ep6 *e6, int family, struct nm_check *o)
{
	if (family == 4) {
		if (!e4->port)
			return false;
		o->new_addr[0] = o->new_addr[1] = 0;
		o->new_addr[2] = htonl(0xffff);
		o->new_addr[3] = e4->addr;
		o->new_port = e4->port;
		return true;
	}
	if (!e6->port)
		return false;
	memcpy(o->new_addr, e6->addr, 16);
	o->new_port = e6->port;
	return true;
}

static int lookup(const struct nm_maps *m, __u32 gen, const struct nm_cidr *dst, struct nm_rule *r)
{
	__u32 inner;
	int fd, found;

	if (bpf_map_lookup_elem(dst->family == 4 ? m->rules4 : m->rules6, &gen, &inner))
		return -ENOENT;
	fd = bpf_map_get_fd_by_id(inner);
	if (fd < 0)
		return nm_fail(NM_E_RUNTIME, -errno, "rule table %u: %s", gen, strerror(errno));
	if (dst->family == 4) {
		struct nm_key4 k = { .prefixlen = NM_KEY4_HOSTPORT_LEN, .port = htons(dst->port) };

		memcpy(k.addr, dst->addr, 4);
		found = bpf_map_lookup_elem(fd, &k, r) == 0;
	} else {
		struct nm_key6 k = { .prefixlen = NM_KEY6_HOSTPORT_LEN, .port = htons(dst->port) };

		memcpy(k.addr, dst->addr, 16);
		found = bpf_map_lookup_elem(fd, &k, r) == 0;
	}
	close(fd);
	return found ? 1 : 0;
}

int nm_check(const struct nm_maps *m, __u32 id, const struct nm_cidr *dst, __u8 proto, struct nm_check *o)
{
	bool v4 = dst->family == 4, tcp = proto == IPPROTO_TCP, udp = proto == IPPROTO_UDP;
	__u16 port = htons(dst->port);
	struct nm_policy p;
	struct nm_rule r;
	__u32 w[4];
	int found;

	memset(o, 0, sizeof(*o));
	if (nm_policy_get(m, id, &p))
		return nm_fail(NM_E_INPUT, -ENOENT, "unknown policy id %u", id);
	to_words(dst, w);
	if (tcp && (v4 ? ep4_match(&p.proxy4, w, port) : ep6_match(&p.proxy6, w, port))) {
		o->action = NM_ACT_ALLOW;
		o->reason = NM_R_PROXY_ENDPOINT;
	} else if ((tcp || udp) && (v4 ? ep4_match(&p.dns4, w, port) : ep6_match(&p.dns6, w, port))) {
		o->action = NM_ACT_ALLOW;
		o->reason = NM_R_DNS_ENDPOINT;
	} else if ((tcp || udp) && dst->port == 53 && target(&p.dns4, &p.dns6, dst->family, o)) {
		o->action = NM_ACT_REDIRECT;
		o->reason = NM_R_DNS;
	} else {
		found = lookup(m, p.gen, dst, &r);
		if (found < 0 && nm_err_kind() == NM_E_RUNTIME && found != -ENOENT)
			return found;
		if (found < 0) {
			o->action = NM_ACT_DENY;
			o->reason = NM_R_BAD_POLICY;
		} else if (found) {
			o->action = r.action;
			o->reason = NM_R_RULE;
			o->has_rule = true;
			o->rule.family = dst->family;
			o->rule.prefixlen = r.prefixlen;
			o->rule.port = ntohs(r.port);
			memcpy(o->rule.addr, dst->addr, 16);
			nm_cidr_mask(&o->rule);
		} else {
			o->action = p.default_action;
			o->reason = NM_R_DEFAULT;
		}
		if (o->action != NM_ACT_ALLOW && o->action != NM_ACT_REDIRECT)
			o->action = NM_ACT_DENY;
		if (o->action == NM_ACT_REDIRECT) {
			if (!tcp) {
				o->action = NM_ACT_DENY;
				o->reason = udp ? NM_R_UDP_REDIRECT : NM_R_PROTO;
			} else if (!target(&p.proxy4, &p.proxy6, dst->family, o)) {
				o->action = NM_ACT_DENY;
				o->reason = NM_R_NO_PROXY;
			}
		}
	}
	o->verdict = nm_verdict_of(o->action, p.mode);
	return 0;
}
