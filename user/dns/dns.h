/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * dns.h - nomoat-dns, the resolver nomoat sends every sandbox's DNS to: the
 * state its parts share, passed to each as an explicit context.
 *
 * One thread runs an epoll loop over the UDP and TCP listeners, the TCP
 * connections, c-ares's upstream sockets (upstream.c) and a signalfd.  A
 * query goes through:
 *
 *   WHO      the kernel says who sent it (policy, cgroup, pid, uid, and the
 *            resolver the sandbox asked): NM_SO_DNSQ for UDP, the flow
 *            record (NM_SO_ORIGIN) of a TCP connection; without a record it
 *            is refused (server.c)
 *   LOAD     the sandbox's rate and queries in flight, and the total
 *            (limits.c)
 *   DECIDE   the name against the policy's allowlist, the same list and the
 *            same code as nomoat-proxy's (user/lib/hostname.c): not listed
 *            is NXDOMAIN at once; a listed name's A and AAAA are looked up,
 *            every other type gets an empty answer (answer.c)
 *   LOOKUP   the policy's own cache, else one upstream query of (lower-case
 *            name, type) for every client waiting on it (cache.c,
 *            upstream.c); an answer with an address the policy denies is
 *            refused whole
 *   ANSWER   built from scratch (wire.c), TTLs capped
 *
 * Every refusal is a JSON line in the log (log.c) that nomoatd merges into
 * its event stream; a stats line every few seconds carries the counters.
 */
#ifndef NMD_DNS_H
#define NMD_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include "config.h"
#include "hostname.h"
#include "nomoat.h"
#include "polnames.h"
#include "ptable.h"
#include "svc.h"
#include "synth.h"
#include "wire.h"

#define NMD_MAX_LISTEN      16
#define NMD_DEF_CONFIG      "/etc/nomoat/nomoat.conf"
#define NMD_DEF_LISTEN4     "127.0.0.1:3053"
#define NMD_DEF_LISTEN6     "[::1]:3053"
#define NMD_DEF_MAX_TTL     60      /* seconds: the most an answer's TTL says */
#define NMD_DEF_NEG_TTL     10      /* seconds an upstream NXDOMAIN/NODATA is cached */
#define NMD_DEF_CACHE       4096    /* entries per policy */
#define NMD_DEF_INFLIGHT    1024    /* queries waiting on upstream, in all */
#define NMD_DEF_INFLIGHT_CG 64      /* ... per sandbox (cgroup) */
#define NMD_DEF_RATE        200     /* queries a second per sandbox (bursts of twice that) */
#define NMD_DEF_UP_TIMEOUT  3000    /* ms: upstream silence until SERVFAIL */
#define NMD_DEF_TCP_CONNS   256
#define NMD_DEF_TCP_IDLE    10000   /* ms */
#define NMD_DEF_HOLD        600     /* s: a synthetic address keeps its name at least this long */
#define NMD_STATS_MS        5000    /* a stats line this often */
#define NMD_EVENTS_PER_SEC  20      /* load refusals logged a second per sandbox; the rest counted */

/* ---- options (main.c) ---------------------------------------------------- */
struct nmd_opts {
	struct sockaddr_storage listen[NMD_MAX_LISTEN];
	int nlisten;
	const char *config, *pin_dir, *log, *user, *cgroup, *names_dir, *default_policy;
	unsigned max_ttl, neg_ttl, cache, inflight, inflight_cg, rate, up_timeout_ms;
	unsigned tcp_conns, tcp_idle_ms, hold;
	bool log_all, no_tcp, verbose;
};

/* ---- policies (policy.c) ---------------------------------------------------- */
struct nmd_cache;

struct nmd_policy {
	char name[NM_POLICY_NAME_LEN];
	bool live;                  /* in the policy file now (else kept for queries in flight) */
	struct nm_allowlist allow;
	bool synthetic;
	struct nm_synth synth;      /* names synthetic: the table (fd -1 when it could not be opened) */
	__u8 default_action;
	struct nm_ptable *pt;       /* the rules, for the answer check */
	struct nm_ruleset rules;    /* what pt points into */
	struct nmd_cache *cache;
	bool has_proxy4, has_proxy6;
};

struct nmd_policies {
	struct nmd_policy *v[NM_MAX_POLICIES]; /* by slot; never moved or freed while running */
	size_t n;
	struct nm_polnames names;
	struct nm_cfg_upstream up[NM_CFG_MAX_UPSTREAMS];
	size_t nup;
};

struct nmd;
int nmd_policies_load(struct nmd *S, FILE *errf);
struct nmd_policy *nmd_policy_by_name(struct nmd *S, const char *name);
void nmd_policies_free(struct nmd *S);

/* ---- per-sandbox limits (limits.c) ------------------------------------------ */
struct nmd_limits;
struct nmd_limits *nmd_limits_new(unsigned rate, unsigned inflight_cg);
/* A query from cgroup: false when over its rate. */
bool nmd_limits_rate(struct nmd_limits *l, __u64 cgroup, long long now_ms);
/* Take one in-flight slot (false at the limit) / give it back. */
bool nmd_limits_take(struct nmd_limits *l, __u64 cgroup);
void nmd_limits_give(struct nmd_limits *l, __u64 cgroup);
/* Load refusals to log now for cgroup (false: counted only). */
bool nmd_limits_log_ok(struct nmd_limits *l, __u64 cgroup, long long now_ms);
void nmd_limits_free(struct nmd_limits *l);

/* ---- queries ------------------------------------------------------------- */
struct nmd_tcp;

enum nmd_reason {
	NMD_RS_ANSWER = 0,      /* answered (no refusal) */
	NMD_RS_NOT_ALLOWED,     /* the name is not on the allowlist: NXDOMAIN */
	NMD_RS_BAD_NAME,        /* not a host name (bytes, an IP literal, the root): NXDOMAIN */
	NMD_RS_TYPE,            /* an allowed name, a type other than A/AAAA: empty answer */
	NMD_RS_CLASS,           /* a class other than IN: REFUSED */
	NMD_RS_MALFORMED,       /* FORMERR */
	NMD_RS_OPCODE,          /* NOTIMP */
	NMD_RS_BADVERS,         /* an EDNS version other than 0 */
	NMD_RS_NO_ORIGIN,       /* the kernel has no record of the sender: REFUSED */
	NMD_RS_UNKNOWN_POLICY,  /* the sender's policy is not in the policy file: REFUSED */
	NMD_RS_REBINDING,       /* the answer holds an address the policy denies: REFUSED */
	NMD_RS_UPSTREAM_FAILED, /* SERVFAIL */
	NMD_RS_UPSTREAM_TIMEOUT,/* SERVFAIL */
	NMD_RS_RATE,            /* the sandbox is over its rate: REFUSED */
	NMD_RS_BUSY,            /* too many queries in flight (the sandbox's or in all): REFUSED */
	NMD_RS_SYNTH_FULL,      /* no synthetic address free: SERVFAIL */
	NMD_RS__MAX,
};

/* The name of a reason, as the log writes it ("not-allowed", ...). */
const char *nmd_reason_str(enum nmd_reason r);

/* One query being answered. */
struct nmd_req {
	struct nmd_query q;
	bool tcp;
	int ufd;                    /* UDP: the socket it came in on */
	struct sockaddr_storage client;
	socklen_t clen;
	struct sockaddr_storage local; /* the endpoint it arrived at */
	struct nmd_tcp *tc;         /* TCP: its connection */
	bool has_origin;
	struct nm_origin origin;
	struct nmd_policy *pol;
	char name[NM_HOST_MAX + 1]; /* normalised, when the name is one */
	bool counted;               /* holds an in-flight slot */
	long long start_ms;
	struct nmd_req *next;       /* waiting on the same lookup */
};

/* ---- the cache and the lookups (cache.c) -------------------------------------- */
struct nmd_answer {
	int rcode;                  /* NOERROR (naddrs 0: no data), NXDOMAIN, SERVFAIL, REFUSED */
	enum nmd_reason reason;     /* why, when it is a refusal (REBINDING, UPSTREAM_*) */
	uint8_t addrs[NMD_MAX_ADDRS][16];
	int naddrs;
	uint32_t ttl;               /* as capped */
	char detail[160];
};

struct nmd_cache *nmd_cache_new(unsigned cap);
void nmd_cache_flush(struct nmd_cache *c);
void nmd_cache_free(struct nmd_cache *c);
/* Answer r from the cache, or wait for a lookup (started when none is out)
 * and be answered by it.  r is owned by the cache from here on. */
void nmd_lookup(struct nmd *S, struct nmd_req *r);

/* ---- upstream (upstream.c) ------------------------------------------------- */
typedef void (*nmd_up_cb)(struct nmd *S, void *arg, const struct nmd_answer *a);
int nmd_upstream_start(struct nmd *S);
/* Ask (name, type) upstream; cb later, exactly once. */
void nmd_upstream_query(struct nmd *S, const char *name, uint16_t qtype, nmd_up_cb cb, void *arg);
void nmd_upstream_event(struct nmd *S, int fd, uint32_t ev);
/* Timeouts due; the ms until the next one (or -1). */
int nmd_upstream_timers(struct nmd *S);
/* The policy file was read again: its dns-upstream servers. */
void nmd_upstream_reload(struct nmd *S);
void nmd_upstream_stop(struct nmd *S);

/* ---- answering (answer.c) ---------------------------------------------------- */
/* A query read (pr: how it parsed), its sender asked of the kernel:
 * decide, and answer now or after a lookup.  r is owned from here on. */
void nmd_handle(struct nmd *S, struct nmd_req *r, enum nmd_parse pr);
/* An upstream answer under pol's rules: refused whole (rebinding) when an
 * address is denied. */
void nmd_answer_check(struct nmd *S, const struct nmd_policy *pol, uint16_t qtype, struct nmd_answer *a);
/* Send the answer to r and free it (an in-flight slot goes back). */
void nmd_reply(struct nmd *S, struct nmd_req *r, int rcode, const uint8_t (*addrs)[16], int naddrs, uint32_t ttl,
	       enum nmd_reason reason, const char *detail);
/* An answer from the cache or a lookup: rebinding, synthetic addresses. */
void nmd_reply_answer(struct nmd *S, struct nmd_req *r, const struct nmd_answer *a, uint32_t ttl);

/* ---- the network side (server.c) ---------------------------------------------- */
int nmd_server_start(struct nmd *S);
void nmd_udp_ready(struct nmd *S, int li);
void nmd_tcp_accept(struct nmd *S, int li);
void nmd_tcp_event(struct nmd *S, struct nmd_tcp *tc, uint32_t ev);
/* Write an answer (already framed for TCP) to the client of r. */
void nmd_send(struct nmd *S, struct nmd_req *r, const uint8_t *msg, size_t len);
/* The request leaves its TCP connection (freed with its last request). */
void nmd_tcp_release(struct nmd *S, struct nmd_tcp *tc);
void nmd_tcp_timers(struct nmd *S, long long now);
/* Is the kernel's NM_SO_DNSQ answer there on a socket of ours?  0, or a
 * negative errno with the fix in why. */
int nmd_selftest(struct nmd *S, char *why, size_t len);

/* ---- the log (log.c) ------------------------------------------------------------ */
struct nmd_stats {
	uint64_t queries, udp, tcp, answered, cached, upstream, upstream_failed;
	uint64_t refused[NMD_RS__MAX];
	uint64_t log_suppressed, synth_assigned;
};

int nmd_log_open(struct nmd *S, const char *where);
int nmd_log_reopen(struct nmd *S);
/* One line for a query: every refusal, every answer with --log-all. */
void nmd_log_query(struct nmd *S, const struct nmd_req *r, int rcode, enum nmd_reason reason, const char *detail);
void nmd_log_stats(struct nmd *S);
void nmd_log_close(struct nmd *S);

/* ---- the whole ----------------------------------------------------------------- */
struct nmd {
	struct nmd_opts o;
	int ep, sigfd;
	int ufd[NMD_MAX_LISTEN], tfd[NMD_MAX_LISTEN];
	struct nmd_policies pols;
	struct nmd_limits *lim;
	struct nmd_upstream *up;
	struct nmd_tcp *tcp_head, *tcp_tail; /* open TCP connections, oldest activity first */
	unsigned ntcp, inflight;
	struct nmd_stats st;
	FILE *logf;
	char logpath[4096];
	long long next_stats_ms;
};

/* epoll tags: the low bits of data.u64. */
#define NMD_TAG_UDP  1u
#define NMD_TAG_TCPL 2u
#define NMD_TAG_TCP  3u
#define NMD_TAG_UP   4u
#define NMD_TAG_SIG  5u
#define NMD_TAG_MASK 7u

#endif
