/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Every map nomoat uses, in one place.  All are pinned by name under the pin
 * directory, so a second load adopts them and user space works on them with
 * the daemon down. */
#ifndef NM_BPF_MAPS_H
#define NM_BPF_MAPS_H

#include "common.h"

/* Per-socket state: what a redirect changed, so that sockops can record the
 * flow for the proxy and recvmsg can restore a DNS reply's source, and the
 * accepted sockets the backstop leaves alone.  Made only where one of these
 * needs it: creating it (and freeing it with the socket) is most of what an
 * allowed connect would otherwise cost (nm_judged is cheaper). */
#define NM_SK_REDIRECTED 0x1 /* TCP sent to the proxy, flow not yet stored */
#define NM_SK_FLOW       0x2 /* nm_flows holds .flow for this socket */
#define NM_SK_DNS        0x4 /* UDP sent to the DNS endpoint */
#define NM_SK_INBOUND    0x8 /* TCP accepted from a listener (the backstop lets it be) */
#define NM_SK_BS_OK      0x10 /* UDP: judged to pass at .bs_epoch for .bs_addr/.bs_port */
#define NM_SK_ORIG       0x20 /* TCP redirected: .orig is where it is really going */

struct nm_sk {
	struct nm_origin orig; /* NM_SK_ORIG: the real destination; on a socket
				* of the resolver (origdst-only attach point):
				* the answer to its last NM_SO_DNSQ question */
	__u32 new_addr[4];
	__u16 new_port;
	__u8  flags;
	__u8  _pad;
	struct nm_flow_key flow;
	__u64 bs_epoch;    /* NM_SK_BS_OK: the epoch of the backstop's UDP judgement */
	__u32 bs_addr[4];  /*   and the destination it judged */
	__u16 bs_port;
	__u16 _pad2;
};

/* policy id -> record.  An update replaces the element, so a connect finds
 * the old record or the new one; since element memory may be recycled at
 * once, records carry a checksum that the reader verifies on its copy
 * (nm_policy_read). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, NM_MAX_POLICIES);
	__type(key, __u32);
	__type(value, struct nm_policy);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} nm_policies SEC(".maps");

/* Inner tables: key_size/value_size (not __type) so Debian's libbpf 1.1 can
 * size the map-in-map template. */
struct nm_rules4_inner {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, NM_MAX_RULES);
	__uint(key_size, sizeof(struct nm_key4));
	__uint(value_size, sizeof(struct nm_rule));
};

struct nm_rules6_inner {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, NM_MAX_RULES);
	__uint(key_size, sizeof(struct nm_key6));
	__uint(value_size, sizeof(struct nm_rule));
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, NM_MAX_TABLES);
	__type(key, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__array(values, struct nm_rules4_inner);
} nm_rules4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, NM_MAX_TABLES);
	__type(key, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__array(values, struct nm_rules6_inner);
} nm_rules6 SEC(".maps");

/* cgroup id -> policy id */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, NM_MAX_BINDINGS);
	__type(key, __u64);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} nm_bindings SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, NM_RINGBUF_BYTES);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} nm_events SEC(".maps");

/* [policy_id * NM_V__MAX + verdict]; row 0 counts "no policy" */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, NM_MAX_POLICIES * NM_V__MAX);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} nm_stats SEC(".maps");

/* [enum nm_gstat] */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, NM_G__MAX);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} nm_gstats SEC(".maps");

/* Redirected TCP flows, as the proxy sees them.  Not LRU: a live flow's
 * record is never evicted; a full table refuses new redirects instead. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, NM_MAX_FLOWS);
	__type(key, struct nm_flow_key);
	__type(value, struct nm_origin);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} nm_flows SEC(".maps");

/* UDP DNS queries on their way to the resolver, by the 4-tuple it sees:
 * written by the packet backstop (it has the query's source address and
 * port, which the sendmsg hook does not yet), read through NM_SO_DNSQ.
 * LRU: a query is asked about within microseconds of its arrival; a record
 * older than NM_MAX_DNSQ newer ones is gone, and that query refused. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, NM_MAX_DNSQ);
	__type(key, struct nm_flow_key);
	__type(value, struct nm_origin);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} nm_dnsq SEC(".maps");

/* [0] = records live in nm_flows (atomic, shared by all CPUs) */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} nm_flowcnt SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct nm_sk);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} nm_sk SEC(".maps");

/* [0] = the change epoch: user space writes a new value after every change
 * of a policy record, a rule table or a binding.  A TCP socket judged to
 * pass under one epoch is not judged again by the backstop until it moves
 * on (nm_sk.bs_epoch). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} nm_epoch SEC(".maps");

static __always_inline __u64 nm_epoch_now(void)
{
	__u32 zero = 0;
	__u64 *e = bpf_map_lookup_elem(&nm_epoch, &zero);

	return e ? *e : 0;
}

/*
 * The backstop's marks for TCP: sockets judged to pass, and under which
 * epoch.  The connect hook marks the TCP connects it lets through, the
 * backstop the TCP flows it judged to pass.  A mark is one 64-bit tag of the
 * socket's cookie (never reused) and the epoch, in the slot the cookie
 * picks: written and read with one store and one load, no lock, no
 * allocation, nothing to free when the socket goes.  The tag is exact, not a
 * hash that could collide: for one epoch it is a bijection of the cookie
 * (every step of nm_mix64 is invertible), so no other socket has the same
 * tag under the current epoch, and a tag 0 (what an unwritten slot holds) is
 * never taken as a mark.  A tag left by another socket under an older epoch
 * matches only if two keyed mixes differ by exactly the two epochs' xor, a
 * 2^-64 chance the sandbox can neither see nor steer (the key is a secret
 * of the load).  Two live sockets sharing a slot overwrite each other's
 * mark and are judged again at their next packet, with the same decision: a
 * lost mark costs a decision, never a verdict.  UDP, whose destination
 * varies and is the sandbox's to choose, keeps the destination it was
 * judged for in its socket storage and compares it exactly.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, NM_JUDGED_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} nm_judged SEC(".maps");

/* Set by the loader from getrandom(): the key of the marks. */
const volatile __u64 nm_judged_key = 0;

/* The finalizer of MurmurHash3: a bijection of 64-bit words in which every
 * input bit moves every output bit. */
static __always_inline __u64 nm_mix64(__u64 x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return x;
}

static __always_inline __u64 nm_judged_tag(__u64 cookie, __u64 epoch)
{
	return nm_mix64(nm_mix64(cookie ^ nm_judged_key) ^ epoch);
}

static __always_inline void nm_judged_mark(__u64 cookie, __u64 epoch)
{
	__u32 slot = (__u32)cookie & (NM_JUDGED_SLOTS - 1);
	__u64 *v = bpf_map_lookup_elem(&nm_judged, &slot);

	if (v)
		*v = nm_judged_tag(cookie, epoch);
}

/* Whether the TCP socket's mark says judged to pass under epoch. */
static __always_inline bool nm_judged_ok(__u64 cookie, __u64 epoch)
{
	__u32 slot = (__u32)cookie & (NM_JUDGED_SLOTS - 1);
	__u64 *v = bpf_map_lookup_elem(&nm_judged, &slot);
	__u64 t = nm_judged_tag(cookie, epoch);

	return t && v && *v == t;
}

/* The backstop's event budget, per CPU: the current second and the events
 * reported in it. */
struct nm_bs_rate {
	__u64 second;
	__u64 sent;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct nm_bs_rate);
} nm_bs_rate SEC(".maps");

/* Rule reasons: read and written by user space only; created here so that
 * one load makes every pinned object. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, NM_MAX_REASONS);
	__type(key, struct nm_reason_key);
	__type(value, struct nm_reason_text);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} nm_reasons SEC(".maps");

static __always_inline void nm_gstat_inc(__u32 which)
{
	__u64 *v = bpf_map_lookup_elem(&nm_gstats, &which);

	if (v)
		*v += 1;
}

#endif
