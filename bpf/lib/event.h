/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Counting every decision and reporting it through the ring buffer. */
#ifndef NM_BPF_EVENT_H
#define NM_BPF_EVENT_H

#include "decide.h"

static __always_inline void nm_count(__u32 policy_id, __u8 verdict)
{
	__u32 idx;
	__u64 *v;

	if (policy_id >= NM_MAX_POLICIES || verdict >= NM_V__MAX)
		return;
	idx = policy_id * NM_V__MAX + verdict;
	v = bpf_map_lookup_elem(&nm_stats, &idx);
	if (v)
		*v += 1;
}

/* Deny and would-deny are always reported; the rest by the policy's level.
 * Without a policy, only denials exist. */
static __always_inline bool nm_wants_event(const struct nm_policy *pol, __u8 verdict)
{
	__u8 level = pol ? pol->events : NM_EV_DENY;

	switch (verdict) {
	case NM_V_DENY:
	case NM_V_WOULD_DENY:
		return true;
	case NM_V_REDIRECT:
	case NM_V_WOULD_REDIRECT:
		return level >= NM_EV_REDIRECT;
	default:
		return level >= NM_EV_ALL;
	}
}

/* Everything of an event but who sent it. */
static __always_inline void nm_ev_fill(struct nm_event *e, const struct nm_req *rq,
				       const struct nm_decision *d, __u8 verdict, __u32 policy_id,
				       __u64 cgroup_id)
{
	e->ts_ns = bpf_ktime_get_boot_ns();
	e->cgroup_id = cgroup_id;
	e->policy_id = policy_id;
	e->verdict = verdict;
	e->hook = rq->hook;
	e->proto = rq->proto;
	e->family = rq->family;
	e->reason = d->reason;
	e->rule_prefixlen = d->rule_prefixlen;
	e->rule_port = d->rule_port;
	e->mapped = rq->mapped;
	e->_pad[0] = e->_pad[1] = e->_pad[2] = 0;
	__builtin_memcpy(e->orig_addr, rq->addr, 16);
	e->orig_port = rq->port;
	if (verdict == NM_V_REDIRECT || verdict == NM_V_WOULD_REDIRECT) {
		__builtin_memcpy(e->new_addr, d->new_addr, 16);
		e->new_port = d->new_port;
	} else {
		__builtin_memcpy(e->new_addr, rq->addr, 16);
		e->new_port = rq->port;
	}
}

/* Waking the consumer on every event costs an interrupt each (about 6 us
 * per event measured in a VM); it polls on a timer anyway, so wake it only
 * once a backlog builds up. */
static __always_inline void nm_ev_submit(struct nm_event *e)
{
	bpf_ringbuf_submit(e, bpf_ringbuf_query(&nm_events, BPF_RB_AVAIL_DATA) >= NM_RINGBUF_WAKE_BYTES
				      ? BPF_RB_FORCE_WAKEUP
				      : BPF_RB_NO_WAKEUP);
}

static __always_inline struct nm_event *nm_ev_reserve(void)
{
	struct nm_event *e = bpf_ringbuf_reserve(&nm_events, sizeof(struct nm_event), 0);

	/* Never silent: the consumer reports this counter. */
	if (!e)
		nm_gstat_inc(NM_G_EVENTS_DROPPED);
	return e;
}

/* An event from a task's own call (connect, sendmsg, socket): its pid,
 * uid and comm. */
static __always_inline void nm_emit(const struct nm_req *rq, const struct nm_decision *d,
				    __u8 verdict, __u32 policy_id, __u64 cgroup_id)
{
	struct nm_event *e = nm_ev_reserve();

	if (!e)
		return;
	nm_ev_fill(e, rq, d, verdict, policy_id, cgroup_id);
	if (nm_have_pid_helper) {
		__u64 pt = bpf_get_current_pid_tgid();

		e->pid = pt >> 32;
		e->tid = (__u32)pt;
	} else {
		e->pid = 0;
		e->tid = 0;
	}
	e->uid = (__u32)bpf_get_current_uid_gid();
	if (nm_have_comm_helper)
		bpf_get_current_comm(e->comm, sizeof(e->comm));
	else
		__builtin_memset(e->comm, 0, sizeof(e->comm));
	nm_ev_submit(e);
}

/* An event about a packet: it may be handled in softirq or timer context,
 * where the current task has nothing to do with it, so no pid or comm; the
 * uid is the socket owner's. */
static __always_inline void nm_emit_pkt(const struct nm_req *rq, const struct nm_decision *d,
					__u8 verdict, __u32 policy_id, __u64 cgroup_id, __u32 uid)
{
	struct nm_event *e = nm_ev_reserve();

	if (!e)
		return;
	nm_ev_fill(e, rq, d, verdict, policy_id, cgroup_id);
	e->pid = 0;
	e->tid = 0;
	e->uid = uid;
	__builtin_memset(e->comm, 0, sizeof(e->comm));
	nm_ev_submit(e);
}

/*
 * No usable policy: fail closed.  policy_id 0: no bound ancestor
 * (no-policy); else the id is bound but its record cannot be read
 * (bad-policy).  The same at every hook: deny, counted in nm_gstats and in
 * the id's row of nm_stats; the caller reports d (nm_fail_closed_emit for a
 * task's own call, the backstop's rate-limited event for a packet).
 * Returns the verdict.
 */
static __always_inline __u8 nm_fail_closed(__u32 policy_id, struct nm_decision *d)
{
	d->action = NM_ACT_DENY;
	d->reason = policy_id ? NM_R_BAD_POLICY : NM_R_NO_POLICY;
	nm_gstat_inc(policy_id ? NM_G_BAD_POLICY : NM_G_NO_POLICY);
	nm_count(policy_id, NM_V_DENY);
	return NM_V_DENY;
}

/* nm_fail_closed for a task's own call (connect, sendmsg, socket), reported
 * with its pid and comm. */
static __always_inline void nm_fail_closed_emit(const struct nm_req *rq, __u32 policy_id, __u64 cgroup_id)
{
	struct nm_decision d = {};
	__u8 verdict = nm_fail_closed(policy_id, &d);

	nm_emit(rq, &d, verdict, policy_id, cgroup_id);
}

#endif
