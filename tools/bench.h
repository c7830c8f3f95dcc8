/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * nomoat-bench: what the benchmark's parts share.
 *
 *   bench_sys.c     signals, clocks, child processes, commands, netns
 *   bench_rules.c   random prefixes, rule sets, the nftables ruleset file
 *   bench_conn.c    the loopback server and the client workers
 *   bench_events.c  the event-rate test and per-CPU counters
 *   bench.c         set-up, the measurements, the tables, tear-down
 *
 * Everything the benchmark makes (pin dir, cgroups, netns, files, children)
 * is recorded in struct bench (bench.c) and removed by its tear-down, also
 * after a failure or SIGINT/SIGTERM/SIGHUP.
 */
#ifndef NM_BENCH_H
#define NM_BENCH_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/types.h>

#include "nomoat.h"
#include "parse.h"
#include "pins.h"
#include "policy.h"

/* ---- bench_sys.c ------------------------------------------------------- */

/* Set (to the signal number) by SIGINT, SIGTERM or SIGHUP. */
extern volatile sig_atomic_t bench_stop;

/* Catch SIGINT/SIGTERM/SIGHUP without SA_RESTART (blocking calls return
 * EINTR and every loop checks bench_stop); ignore SIGPIPE. */
void bench_signals(void);

uint64_t bench_now_ns(void);
void bench_sleep_ms(int ms);

/* "nomoat-bench: <message>\n" on stderr. */
void bench_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Children are tracked so that tear-down can kill every one of them. */
void bench_children_kill(void);

/* Wait at most timeout_ms for pid; on timeout SIGKILL and reap it.
 * 0 with *status, -ETIMEDOUT (killed) or -errno. */
int bench_wait(pid_t pid, int timeout_ms, int *status);

/* Fork a tracked child that enters cgroup (absolute path, NULL: stay)
 * first, then netns (a name under /run/netns, NULL: stay), then pins
 * itself to cpu (-1: no pinning) and exits with fn(arg).  The child dies
 * with the benchmark (PR_SET_PDEATHSIG).  Returns the pid or -errno. */
pid_t bench_spawn(const char *cgroup, const char *netns, int cpu, int (*fn)(void *), void *arg);

/* Run a command (NULL-terminated words, PATH lookup) with stdout discarded,
 * stderr shown unless quiet, killed after timeout_ms.  0 when it exits 0,
 * else -EIO (reported unless quiet) or -errno. */
int bench_run(int timeout_ms, bool quiet, const char *arg0, ...) __attribute__((sentinel));

/* ip netns add NAME + lo up / ip netns del NAME. */
int bench_netns_add(const char *name);
int bench_netns_del(const char *name);

/* ---- bench_rules.c ----------------------------------------------------- */

struct bench_rng {
	uint64_t s;
};

uint64_t bench_rand(struct bench_rng *r);

/* n distinct random prefixes, host bits cleared, into a new array (*out,
 * free()).  IPv4: lengths 8..32, never in 127.0.0.0/8.  IPv6: lengths
 * 16..128 inside 2000::/3.  0 or -errno (reported). */
int bench_prefixes(int family, size_t n, struct bench_rng *rng, struct nm_cidr **out);

/* A rule set: every prefix denied, then "allow 127.0.0.1". */
int bench_ruleset(const struct nm_cidr *v, size_t n, struct nm_ruleset *rs);

/* Write the nftables ruleset of the comparison into path: table inet
 * nmbench, an interval set s holding the IPv4 prefixes (merged into disjoint
 * ranges, as an interval set cannot hold overlapping elements; the count is
 * returned in *nranges) and an output chain "ip daddr @s drop".  The file
 * replaces that one table only. */
int bench_nft_file(const char *path, const struct nm_cidr *v, size_t n, size_t *nranges);

/* ---- bench_conn.c ------------------------------------------------------ */

enum bench_cmd_kind {
	BC_CYCLES = 1, /* timed connect+accept+close cycles, samples kept */
	BC_HAMMER_TCP, /* the same cycle as fast as possible, no samples */
	BC_HAMMER_UDP, /* connect() of one UDP socket, again and again */
	BC_QUIT,
};

struct bench_cmd {
	uint32_t kind;
	uint32_t count;   /* timed cycles, or the bound of a hammer */
	uint32_t warmup;  /* untimed cycles first */
	uint32_t offset;  /* where the samples go in the shared buffer */
	uint32_t time_ms; /* bound on the command's duration */
};

struct bench_reply {
	int32_t  err;        /* 0, or -errno of the first failed call */
	uint32_t stage;      /* enum bench_stage of that call */
	uint64_t done;       /* cycles (or connects) completed */
	uint64_t elapsed_ns; /* of the timed part */
};

enum bench_stage {
	BS_NONE, BS_SOCKET, BS_CONNECT, BS_READ, BS_TIME, BS_ARGS,
};

const char *bench_stage_name(uint32_t stage);

struct bench_server {
	pid_t pid;
	struct sockaddr_in addr; /* 127.0.0.1:port inside its netns */
};

/* Start a listener on 127.0.0.1 (ephemeral port) that accepts and closes
 * every connection, in cgroup and netns. */
int bench_server_start(struct bench_server *s, const char *cgroup, const char *netns, int cpu);

struct bench_client {
	const char *name;
	pid_t pid;
	int cmd_fd, reply_fd;  /* the parent's ends */
	uint32_t *samples;     /* ns per cycle, shared with the child */
	size_t cap;
};

/* Start a client worker in cgroup and netns that talks to dst; cap is the
 * size of its sample buffer. */
int bench_client_start(struct bench_client *c, const char *name, const char *cgroup, const char *netns,
		       int cpu, const struct sockaddr_in *dst, size_t cap);
int bench_client_send(struct bench_client *c, const struct bench_cmd *cmd);
/* Wait at most timeout_ms for the reply; a client that does not answer in
 * time is killed (-ETIMEDOUT). */
int bench_client_wait(struct bench_client *c, struct bench_reply *r, int timeout_ms);
/* send + wait; a failure inside the client is reported and returned. */
int bench_client_run(struct bench_client *c, const struct bench_cmd *cmd, struct bench_reply *r,
		     int timeout_ms);
void bench_client_free(struct bench_client *c);

/* ---- bench_events.c ---------------------------------------------------- */

/* Sum of a per-CPU __u64 counter (0 when it cannot be read). */
__u64 bench_percpu_sum(int fd, __u32 key);

struct bench_evres {
	uint32_t kind;       /* BC_HAMMER_TCP or BC_HAMMER_UDP */
	__u8     level;      /* the policy's events level (set by the caller) */
	uint64_t connects;   /* made by the client */
	uint64_t consumed;   /* events read from the ring buffer */
	uint64_t unexpected; /* of those, not an allow of the policy */
	uint64_t dropped;    /* nm_gstats[NM_G_EVENTS_DROPPED] delta */
	double   secs;       /* from the start until the client is done and
			      * the buffer drained */
	double   client_secs;
};

/* Let client hammer connects for ms milliseconds from a cgroup bound to
 * policy_id while this process consumes the ring buffer; the counts go to
 * *out (level is left to the caller).  With events level "all" each
 * connect is one event. */
int bench_event_rate(const struct nm_maps *m, struct bench_client *c, uint32_t kind, uint32_t ms,
		     __u32 policy_id, struct bench_evres *out);

#endif
