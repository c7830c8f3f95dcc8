/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * nomoat.h - the one ABI shared by the kernel programs (bpf/) and user space
 * (user/, tests/, tools/).  Every struct here is laid out with fixed-width
 * types and explicit padding, and its size is asserted, so the two sides
 * cannot drift apart (a key-size mismatch silently disables an LPM filter).
 *
 * Semantics, in prose first:
 *
 *  - A POLICY (numeric id 1..NM_MAX_POLICIES-1, id 0 means "none") holds an
 *    IPv4 and an IPv6 rule table, a default action, a mode (enforce/audit),
 *    a proxy endpoint and a DNS endpoint per family, and an event level.
 *
 *  - A RULE is a CIDR, or a single address with a port ("host:port"), with an
 *    action: deny, allow (direct) or redirect (to the proxy).  Tables are LPM
 *    tries whose key is address bits followed by the 16 port bits: a CIDR rule
 *    of length n has key prefix n, a host:port rule has prefix 32+16 (IPv4) or
 *    128+16 (IPv6).  A lookup uses the full address and the destination port,
 *    so the longest match is the most specific rule and a host:port rule beats
 *    every CIDR.  No match: the policy's default action.
 *
 *  - Identity is the cgroup: a policy bound to a cgroup covers every
 *    descendant; the nearest bound ancestor of the calling task wins.  A task
 *    in an attached subtree with no bound ancestor is denied (fail closed).
 *
 *  - IPv4 inside IPv6 (::ffff:a.b.c.d) is judged by the IPv4 table and a
 *    redirect goes to the IPv4 endpoint written back in mapped form.
 *
 *  - TCP: deny, allow or redirect to the proxy; the original destination is
 *    recorded so that the proxy gets it back from getsockopt(SO_ORIGINAL_DST).
 *    DNS: UDP and TCP to port 53, any address, go to the DNS endpoint when
 *    the policy has one (recvmsg restores a UDP reply's source); other UDP
 *    follows the rules with redirect meaning deny.
 *
 *  - The resolver learns who asked from the kernel: a TCP query's flow
 *    record (NM_SO_ORIGIN, as the proxy), a UDP query's record in nm_dnsq,
 *    written by the packet backstop as the query leaves the sandbox and
 *    read with NM_SO_DNSQ (below).
 *
 *  - The policy's own proxy and DNS endpoints are reachable on exactly those
 *    ports, so explicit-proxy clients keep working.
 */
#ifndef NOMOAT_H
#define NOMOAT_H

#ifdef __BPF__
/* vmlinux.h supplies the __u8.. types on the kernel side */
#else
#include <linux/types.h>
#endif

/* ---- limits ------------------------------------------------------------ */
#define NM_MAX_POLICIES      256        /* ids 1..255 */
/* Rule tables are double-buffered: policy id N owns table slots 2N and
 * 2N+1; its record names the live one (nm_policy.gen).  A reload fills the
 * other slot, then swaps the record (one atomic update), so a connect sees
 * the old settings and tables or the new ones, never a mix. */
#define NM_MAX_TABLES        (2 * NM_MAX_POLICIES)
#define NM_GEN(id, flip)     ((id) * 2 + (flip))
#define NM_MAX_RULES         (1u << 21) /* per family per policy */
#define NM_MAX_BINDINGS      65536      /* cgroup -> policy */
#define NM_MAX_FLOWS         65536      /* live redirected TCP flows */
#define NM_MAX_DNSQ          16384      /* UDP DNS queries remembered (LRU) */
#define NM_JUDGED_SLOTS      (1u << 17) /* the backstop's judged-socket marks (a power of 2) */
#define NM_MAX_REASONS       65536      /* free-text rule reasons (user only) */
#define NM_MAX_CGROUP_DEPTH  64         /* ancestor levels searched */
#define NM_POLICY_NAME_LEN   32
#define NM_REASON_LEN        256
#define NM_RINGBUF_BYTES     (4u << 20)
/* Events wake the consumer only past this backlog; consumers also read
 * every NM_EVENTS_POLL_MS (so an event waits at most that long). */
#define NM_RINGBUF_WAKE_BYTES (64u << 10)
#define NM_EVENTS_POLL_MS    100
/* Packet backstop events: at most this many per CPU per second; the rest
 * are counted (NM_G_BACKSTOP_QUIET) but not reported one by one. */
#define NM_BACKSTOP_EVENTS_PER_SEC 50

/* ---- getsockopt answers for the proxy ---------------------------------- */
/* The iptables REDIRECT convention: SOL_IP/SO_ORIGINAL_DST returns a
 * struct sockaddr_in, SOL_IPV6/IP6T_SO_ORIGINAL_DST a struct sockaddr_in6. */
#define NM_SO_ORIGINAL_DST   80
/* nomoat's own: SOL_IP or SOL_IPV6, returns struct nm_origin (below). */
#define NM_SO_ORIGIN         0x4e4d
/*
 * Who sent a UDP DNS query, for the resolver (SOL_IP or SOL_IPV6, on its
 * UDP socket, in an origdst-only attach point; sandboxes get no such
 * program): setsockopt(NM_SO_DNSQ, struct nm_flow_key) names the query by
 * its 4-tuple as the resolver saw it (client = the query's source, proxy =
 * the endpoint it arrived at, both v4-mapped for IPv4); the following
 * getsockopt(NM_SO_DNSQ) on the same socket returns struct nm_origin, with
 * policy_id 0 when the kernel has no record.  Without the program the
 * getsockopt fails with ENOPROTOOPT.  The getsockopt program runs at every
 * attach point (full or origdst-only), and on a socket that asked nothing it
 * answers an all-zero record: nomoat-proxy's start-up check that the kernel
 * will tell it where redirected connections were going.
 */
#define NM_SO_DNSQ           0x4e4e

/* ---- enums ------------------------------------------------------------- */
enum nm_action {
	NM_ACT_NONE     = 0, /* "no rule": only valid as "not found" */
	NM_ACT_DENY     = 1,
	NM_ACT_ALLOW    = 2,
	NM_ACT_REDIRECT = 3,
	NM_ACT__MAX,
};

enum nm_mode {
	NM_MODE_ENFORCE = 0,
	NM_MODE_AUDIT   = 1,
};

/* Which decisions become events (deny and would-deny always do). */
enum nm_evlevel {
	NM_EV_DENY     = 0,
	NM_EV_REDIRECT = 1, /* deny + redirect */
	NM_EV_ALL      = 2, /* deny + redirect + allow */
};

enum nm_verdict {
	NM_V_DENY           = 0,
	NM_V_ALLOW          = 1,
	NM_V_REDIRECT       = 2,
	NM_V_WOULD_DENY     = 3, /* audit mode */
	NM_V_WOULD_REDIRECT = 4, /* audit mode */
	NM_V__MAX,
};

enum nm_hook {
	NM_HOOK_CONNECT4 = 0,
	NM_HOOK_CONNECT6,
	NM_HOOK_SENDMSG4,
	NM_HOOK_SENDMSG6,
	NM_HOOK_RECVMSG4,
	NM_HOOK_RECVMSG6,
	NM_HOOK_SOCKOPS,
	NM_HOOK_GETSOCKOPT,
	NM_HOOK_SOCK_CREATE,
	NM_HOOK_EGRESS,      /* the packet backstop (cgroup_skb/egress) */
	NM_HOOK__MAX,
};

/* Why a verdict was reached; carried in every event. */
enum nm_reason {
	NM_R_RULE = 0,       /* a rule matched (see rule fields) */
	NM_R_DEFAULT,        /* no rule matched: the policy default */
	NM_R_NO_POLICY,      /* no bound ancestor cgroup: fail closed */
	NM_R_BAD_POLICY,     /* bound to a policy id that is not set up */
	NM_R_PROXY_ENDPOINT, /* destination is the policy's proxy endpoint */
	NM_R_DNS_ENDPOINT,   /* destination is the policy's DNS endpoint */
	NM_R_DNS,            /* UDP port 53 sent to the DNS endpoint */
	NM_R_NO_PROXY,       /* redirect, but no proxy endpoint for the family */
	NM_R_UDP_REDIRECT,   /* redirect on UDP (not port 53): denied */
	NM_R_FLOWS_FULL,     /* original-destination table full */
	NM_R_PROTO,          /* redirect of neither TCP nor UDP (e.g. a ping socket): denied */
	NM_R_RAW_SOCKET,     /* a raw IP or ICMP socket, refused by the policy */
	NM_R_IP_OPTIONS,     /* a packet with IPv4 options or an IPv6 routing header (backstop) */
	NM_R__MAX,
};

/* Global counters (per-CPU array nm_gstats, index = enum value). */
enum nm_gstat {
	NM_G_EVENTS_DROPPED = 0, /* ring buffer reservation failed */
	NM_G_NO_POLICY,          /* fail-closed denials, no bound ancestor */
	NM_G_BAD_POLICY,         /* bound id without a policy or table */
	NM_G_FLOWS_FULL,         /* redirect refused / record not stored */
	NM_G_FLOW_MISS,          /* getsockopt found no record */
	NM_G_FLOW_ADDED,         /* records stored */
	NM_G_FLOW_REMOVED,       /* records removed at socket close */
	NM_G_DNS_RESTORED,       /* recvmsg source restored */
	NM_G_POLICY_RETRY,       /* a policy record changed while read: read again */
	NM_G_BACKSTOP_DROP,      /* packets dropped by the backstop (cgroup_skb) */
	NM_G_BACKSTOP_QUIET,     /* backstop drops not reported (event rate limit) */
	NM_G_DNSQ_NOTED,         /* UDP DNS queries recorded for the resolver */
	NM_G_DNSQ_MISS,          /* the resolver asked about a query with no record */
	NM_G__MAX,
};

/* The verdict reported for an action under a mode (kernel and 'check'). */
static inline __u8 nm_verdict_of(__u8 action, __u8 mode)
{
	if (action == NM_ACT_ALLOW)
		return NM_V_ALLOW;
	if (action == NM_ACT_REDIRECT)
		return mode == NM_MODE_AUDIT ? NM_V_WOULD_REDIRECT : NM_V_REDIRECT;
	return mode == NM_MODE_AUDIT ? NM_V_WOULD_DENY : NM_V_DENY;
}

/* ---- map values and keys ----------------------------------------------- */
struct nm_ep4 {
	__u32 addr;  /* network order; 0 with port 0 = unset */
	__u16 port;  /* network order */
	__u16 _pad;
};

struct nm_ep6 {
	__u32 addr[4]; /* network order */
	__u16 port;    /* network order; 0 = unset */
	__u16 _pad;
};

/* nm_policies[id] */
struct nm_policy {
	__u32 id;
	__u8  in_use;
	__u8  default_action; /* enum nm_action, never NONE */
	__u8  mode;           /* enum nm_mode */
	__u8  events;         /* enum nm_evlevel */
	__u32 gen;            /* live table slot in nm_rules4/6: NM_GEN(id, 0|1) */
	__u8  raw;            /* 1: raw IP and ICMP (ping) sockets allowed; 0: refused */
	__u8  _pad[3];
	struct nm_ep4 proxy4;
	struct nm_ep6 proxy6;
	struct nm_ep4 dns4;
	struct nm_ep6 dns6;
	char  name[NM_POLICY_NAME_LEN];
	__u32 check;          /* nm_policy_sum() of everything above */
};

/*
 * Hash-map elements are recycled at once on kernels from 6.1 (bpf_mem_alloc):
 * a program that looked a record up just before user space replaced it (or
 * replaced another policy's) can find the memory rewritten under it.  So the
 * kernel copies a record, and trusts the copy only when its id is the one
 * asked for and its checksum holds; else it looks again (a few times), and
 * then fails closed.  User space seals every record it writes.
 */
#define NM_POLICY_SUM_WORDS ((sizeof(struct nm_policy) - sizeof(__u32)) / sizeof(__u32))

static inline __u32 nm_policy_sum(const struct nm_policy *p)
{
	const __u32 *w = (const __u32 *)p;
	__u32 h = 0x811c9dc5;

	for (unsigned int i = 0; i < NM_POLICY_SUM_WORDS; i++) {
		h ^= w[i];
		h *= 0x01000193;
		h ^= h >> 15;
	}
	return h;
}

/* LPM keys: prefixlen, then address, then destination port. */
struct nm_key4 {
	__u32 prefixlen;
	__u8  addr[4];
	__u16 port; /* network order */
	__u16 _pad; /* always 0, never part of a prefix */
};

struct nm_key6 {
	__u32 prefixlen;
	__u8  addr[16];
	__u16 port; /* network order */
	__u16 _pad;
};

#define NM_KEY4_HOSTPORT_LEN (32 + 16)
#define NM_KEY6_HOSTPORT_LEN (128 + 16)

/* LPM value: the action and the rule's identity (its own prefix length and
 * port, so the rule text can be rebuilt from the matched address). */
struct nm_rule {
	__u8  action;    /* enum nm_action */
	__u8  prefixlen; /* address prefix length of the rule */
	__u16 port;      /* network order, 0 = any port (a CIDR rule) */
	__u32 tag;       /* free for user space (e.g. a reason id) */
};

/* Original destination and client identity of a redirected flow: stored in
 * socket storage at connect, copied to nm_flows when the port is known, and
 * returned by getsockopt(NM_SO_ORIGIN).  IPv4 addresses are in v4-mapped
 * form (::ffff:a.b.c.d). */
struct nm_origin {
	__u32 addr[4];    /* original destination, network order */
	__u16 port;       /* original destination port, network order */
	__u8  family;     /* 4 or 6: family of the original destination */
	__u8  proto;      /* IPPROTO_TCP / IPPROTO_UDP */
	__u32 policy_id;
	__u64 cgroup_id;  /* the client's cgroup */
	__u32 pid;        /* tgid that connected */
	__u32 uid;
};

/* Key of nm_flows: the redirected TCP connection as the proxy sees it; of
 * nm_dnsq: a UDP query as the resolver sees it (proxy = its endpoint).
 * Addresses in v4-mapped form for IPv4. */
struct nm_flow_key {
	__u32 client[4];
	__u32 proxy[4];
	__u16 client_port; /* network order */
	__u16 proxy_port;  /* network order */
};

/* Key of nm_reasons (user space only): which rule a reason belongs to. */
struct nm_reason_key {
	__u32 policy_id;
	__u8  family;    /* 4 or 6 */
	__u8  prefixlen; /* address bits */
	__u16 port;      /* network order, 0 = CIDR rule */
	__u8  addr[16];
};

struct nm_reason_text {
	char text[NM_REASON_LEN];
};

/* Ring-buffer event. */
struct nm_event {
	__u64 ts_ns;      /* bpf_ktime_get_boot_ns() */
	__u64 cgroup_id;
	__u32 pid;        /* tgid */
	__u32 tid;
	__u32 uid;
	__u32 policy_id;  /* 0: none found */
	__u8  verdict;    /* enum nm_verdict */
	__u8  hook;       /* enum nm_hook */
	__u8  proto;      /* IPPROTO_* */
	__u8  family;     /* 4 or 6: family of the original destination */
	__u8  reason;     /* enum nm_reason */
	__u8  rule_prefixlen;
	__u16 rule_port;  /* network order */
	__u8  mapped;     /* 1: IPv4 reached through ::ffff:0:0/96 */
	__u8  _pad[3];
	__u32 orig_addr[4]; /* v4-mapped for IPv4 */
	__u32 new_addr[4];  /* after redirect; == orig otherwise */
	__u16 orig_port;    /* network order */
	__u16 new_port;
	char  comm[16];
};

/* Compile-time ABI checks (the BPF side includes the same header). */
_Static_assert(sizeof(struct nm_ep4) == 8, "nm_ep4");
_Static_assert(sizeof(struct nm_ep6) == 20, "nm_ep6");
_Static_assert(sizeof(struct nm_policy) == 8 + 4 + 4 + 8 + 20 + 8 + 20 + 32 + 4, "nm_policy");
_Static_assert(sizeof(struct nm_key4) == 12, "nm_key4");
_Static_assert(sizeof(struct nm_key6) == 24, "nm_key6");
_Static_assert(sizeof(struct nm_rule) == 8, "nm_rule");
_Static_assert(sizeof(struct nm_origin) == 40, "nm_origin");
_Static_assert(sizeof(struct nm_flow_key) == 36, "nm_flow_key");
_Static_assert(sizeof(struct nm_reason_key) == 24, "nm_reason_key");
_Static_assert(sizeof(struct nm_event) == 96, "nm_event");

#endif /* NOMOAT_H */
