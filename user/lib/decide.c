// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * 'nomoat check': the kernel's decision (include/nomoat_decide.h, the same
 * source the programs are built from) over the pinned maps.  Only the rule
 * lookup is user space's own: the live table of the policy's slot, through
 * the map-in-map, with the same key the kernel builds.
 */
#include "policy.h"
#include "err.h"
#include "nomoat_decide.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

struct nm_check_env {
	const struct nm_maps *m;
	int err; /* a failure that is not the policy's (reported, not a decision) */
};

static inline enum nm_rule_found nm_rule_find(void *envp, __u32 gen, const struct nm_req *rq, struct nm_rule *out)
{
	struct nm_check_env *env = envp;
	__u32 inner;
	int fd, found;

	if (bpf_map_lookup_elem(rq->family == 4 ? env->m->rules4 : env->m->rules6, &gen, &inner))
		return NM_RULE_NO_TABLE;
	fd = bpf_map_get_fd_by_id(inner);
	if (fd < 0) {
		env->err = nm_fail(NM_E_RUNTIME, -errno, "rule table %u: %s", gen, strerror(errno));
		return NM_RULE_NO_TABLE;
	}
	if (rq->family == 4) {
		struct nm_key4 k = { .prefixlen = NM_KEY4_HOSTPORT_LEN, .port = rq->port };

		memcpy(k.addr, &rq->addr[3], 4);
		found = bpf_map_lookup_elem(fd, &k, out) == 0;
	} else {
		struct nm_key6 k = { .prefixlen = NM_KEY6_HOSTPORT_LEN, .port = rq->port };

		memcpy(k.addr, rq->addr, 16);
		found = bpf_map_lookup_elem(fd, &k, out) == 0;
	}
	close(fd);
	return found ? NM_RULE_HIT : NM_RULE_NONE;
}

#define NM_RULE_FIND nm_rule_find
#include "nomoat_decide.h"

void nm_check_set(struct nm_check *o, const struct nm_decision *d, const struct nm_cidr *dst, __u8 mode)
{
	memset(o, 0, sizeof(*o));
	o->action = d->action;
	o->reason = d->reason;
	o->verdict = nm_verdict_of(d->action, mode);
	memcpy(o->new_addr, d->new_addr, sizeof(o->new_addr));
	o->new_port = d->new_port;
	if (d->ruled) {
		/* The rule's own text, rebuilt from the matched address. */
		o->has_rule = true;
		o->rule.family = dst->family;
		o->rule.prefixlen = d->rule_prefixlen;
		o->rule.port = ntohs(d->rule_port);
		memcpy(o->rule.addr, dst->addr, 16);
		nm_cidr_mask(&o->rule);
	}
}

void nm_req_set(struct nm_req *rq, const struct nm_cidr *dst, __u8 proto)
{
	memset(rq, 0, sizeof(*rq));
	rq->port = htons(dst->port);
	rq->family = dst->family;
	rq->proto = proto;
	/* A parsed IPv4-mapped address is already family 4 (nm_parse_cidr). */
	if (dst->family == 4) {
		__u32 a;

		memcpy(&a, dst->addr, 4);
		nm_v4mapped(rq->addr, a);
	} else {
		memcpy(rq->addr, dst->addr, 16);
	}
}

int nm_check(const struct nm_maps *m, __u32 id, const struct nm_cidr *dst, __u8 proto, struct nm_check *o)
{
	struct nm_check_env env = { .m = m };
	struct nm_decision d = { 0 };
	struct nm_policy p;
	struct nm_req rq;

	memset(o, 0, sizeof(*o));
	if (nm_policy_get(m, id, &p))
		return nm_fail(NM_E_INPUT, -ENOENT, "unknown policy id %u", id);
	nm_req_set(&rq, dst, proto);
	nm_decide_with(&env, &p, &rq, &d);
	if (env.err)
		return env.err;
	nm_check_set(o, &d, dst, p.mode);
	return 0;
}
