/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * nomoat-bench: what the benchmark's parts share.
 *
 *   bench_sys.c     signals, clocks, child processes, commands, netns,
 *                   paths and files
 *   bench_rules.c   random prefixes, rule sets, the nftables ruleset file
 *   bench_conn.c    the loopback server and the client workers
 *   bench_events.c  the event-rate test and per-CPU counters
 *   bench_reload.c  reload time of a live policy, connect stalls during one
 *   bench_daemon.c  nomoatd: events per second to JSON clients, drops
 *   bench_proxy.c   the egress proxy: direct, nomoat-proxy, Squid
 *   bench_dns.c     the resolver: direct, nomoat-dns, dnsmasq as a filter
 *   bench_progstats.c  runs and run time of each program per cycle
 *   bench.c         set-up, the measurements, the tables, tear-down
 *
 * Everything the benchmark makes (pin dir, cgroups, netns, files, children)
 * is recorded in struct bench (bench.c) and removed by its tear-down, also
 * after a failure or SIGINT/SIGTERM/SIGHUP.
 */
#ifndef NM_BENCH_H
#define NM_BENCH_H

#include <limits.h>
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

/* Fork a tracked child that dies with the benchmark and execs argv[0] (a
 * path) with stdin from /dev/null and stdout+stderr appended to out.
 * Returns the pid or -errno. */
pid_t bench_exec(const char *const *argv, const char *out);

/* Reap pid if it has ended (and stop tracking it): 1 with *status, 0 while
 * it runs, -errno. */
int bench_reap(pid_t pid, int *status);

/* 0 while there is time before deadline (CLOCK_MONOTONIC ns) and no signal
 * came; else -EINTR or -ETIME (reported). */
int bench_time_left(uint64_t deadline);

/* Send sig to *pid (when > 0), wait at most 5 s (then SIGKILL), set it 0. */
void bench_stop_child(pid_t *pid, int sig);

/* A client child's answer on a pipe: the fixed-size result res[0..len),
 * then n samples.  0, or 1 (its exit status) when a write fell short. */
int bench_reply_write(int fd, const void *res, size_t len, const uint32_t *samples, uint32_t n);
/* Read up to len bytes from fd until EOF or an error: how many came. */
size_t bench_read_full(int fd, void *buf, size_t len);

/* snprintf into a path buffer; a path too long is reported ("<part>:
 * path too long: ...", part NULL: no prefix) and gives -ENAMETOOLONG. */
int bench_pathf(const char *part, char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* The executable name next to nomoat-bench (/proc/self/exe), else
 * build/<name> below the current directory (needs len >= PATH_MAX), as a
 * path into out; false when neither is there and executable. */
bool bench_sibling(const char *name, char *out, size_t len);

/* Write text to path (created or truncated); a failure is reported
 * ("<part>: cannot write ...", part NULL: no prefix): 0 or -EIO. */
int bench_write_file(const char *part, const char *path, const char *text);

/* Wait at most ms (checking every poll_ms) for what to be in the first
 * 64 KiB of the file: 0, -ECHILD (pid, when > 0, ended), -EINTR (a
 * signal came) or -ETIMEDOUT. */
int bench_wait_text(const char *path, const char *what, pid_t pid, int ms, int poll_ms);

/* Two namespaces, nmbench-<pid>-<tag>c (the client's) and
 * nmbench-<pid>-<tag>w (the world's), names into ns_c and ns_w, each
 * *c_made / *w_made once made; a veth pair nb<tag><pid>c / nb<tag><pid>w
 * between them with client_cidr and world_cidr on its ends, both up.  The
 * caller adds its lo addresses and routes.  0 or -errno (reported); what
 * was made is left for bench_netpair_down. */
int bench_netpair_up(const char *tag, char *ns_c, size_t ns_c_len, char *ns_w, size_t ns_w_len, bool *c_made,
		     bool *w_made, const char *client_cidr, const char *world_cidr);
/* Delete the namespaces whose flag is set (the veth pair goes with them),
 * failures reported; the flags cleared. */
void bench_netpair_down(const char *ns_c, bool *c_made, const char *ns_w, bool *w_made);

/* One figure with a target of issue 11, as summary keys: " name=v
 * name_target=TARGET name_met=yes|no", TARGET as "<=1.03" (op "<=", "<",
 * ">=" or ">", then a number); v printed with prec decimals. */
void bench_print_target(const char *name, double v, int prec, const char *target);
/* The same with the target as ">=limit" (at_least) or "<=limit". */
void bench_print_limit(const char *name, double v, int prec, bool at_least, double limit);

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
	BC_WINDOW,     /* timed cycles from sample 0 until the stop flag, the
			* time bound or a full buffer; not an error to end */
	BC_PACE_UDP,   /* UDP connect()s at count per second, in 1 ms steps */
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
	uint64_t start_ns;   /* BC_WINDOW: CLOCK_MONOTONIC at the start of
			      * sample 0 (cycles are back to back: sample i
			      * ends at start_ns + the sum of samples 0..i) */
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
	uint32_t *stop;        /* shared: non-zero ends a BC_WINDOW */
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

/* ---- shared by the parts after the tables ----------------------------- */

/* What bench.c set up, for bench_reload.c and bench_daemon.c. */
struct bench_env {
	const struct nm_maps *maps; /* the bench's own pin dir */
	const char *pin_dir;
	const char *cg_base;        /* <cgroup2>/nomoat-bench-<pid> */
	const char *cg_app;         /* bound, under the attach point */
	__u64 app_cgid;
	const char *ns;             /* netns of the loopback server */
	struct sockaddr_in srv;     /* the server there */
	int cpu_cl, cpu_srv;        /* as for the cycle clients; -1: free */
	bool quick;
	unsigned rounds;            /* -r */
	uint64_t deadline;          /* no new measurement after this */
	struct bench_rng *rng;
};

/* Percentile q (0..1) of the sorted v[0..n) (nearest rank). */
uint32_t bench_pct(const uint32_t *sorted, size_t n, double q);
int bench_cmp_u32(const void *a, const void *b);
/* Median of v[0..n) (sorts v in place); 0 for none. */
double bench_median(double *v, int n);

/* ---- bench_progstats.c ------------------------------------------------- */

#define BENCH_PROGS 16 /* >= NM_PROG__MAX (user/lib/progs.h) */

struct bench_progstats {
	bool measured;
	uint64_t cycles;
	uint64_t runs[BENCH_PROGS], ns[BENCH_PROGS]; /* by enum nm_prog_id */
};

/* Run cycles more cycles with client cl while the kernel's BPF run-time
 * statistics are on, and take each program pinned under pin_dir's progs/
 * runs and run time over them.  0 or -errno (reported). */
int bench_progstats_run(const char *pin_dir, struct bench_client *cl, uint32_t cycles,
			struct bench_progstats *out);
void bench_progstats_print(const struct bench_progstats *s, size_t prefixes);
void bench_progstats_summary(const struct bench_progstats *s, size_t prefixes);

/* ---- bench_reload.c ---------------------------------------------------- */

#define BENCH_RELOAD_SIZES 3
#define BENCH_RELOAD_REPS  8

struct bench_reload_row {
	size_t n;              /* IPv4 prefixes, old and new set alike */
	unsigned reps, done;   /* replaces planned and made */
	double create_ms;      /* nm_policy_create of the first set */
	double stage_ms[BENCH_RELOAD_REPS], commit_ms[BENCH_RELOAD_REPS], finish_ms[BENCH_RELOAD_REPS];
	unsigned live;         /* replaces whose new record and rules were seen
				* live right after commit */
};

enum { BW_BASE, BW_RELOAD, BW_AFTER, BW__MAX };

#define BENCH_STALL_LONGEST 12
#define BENCH_STALL_CPUS    8  /* CPUs with a wake-up probe, at most */

struct bench_stall_win {
	double secs;
	size_t cycles;         /* cycles overlapping the window */
	double med_us, p999_us, max_us;
	size_t over_1ms;
	double max_at_ms;      /* end of the longest cycle, from reload start */
	double late_max_us[BENCH_STALL_CPUS]; /* probe wake-up delay, per CPU */
	double late_at_ms[BENCH_STALL_CPUS];  /* when it woke, from reload start */
};

struct bench_stall_row {
	size_t n;
	int cpu;               /* where the reload ran; -1: not pinned */
	const char *where;     /* "client's CPU", "other CPU", "any CPU" */
	double stage_ms, commit_ms, finish_ms;
	struct bench_stall_win w[BW__MAX];
	bool measured, partial;
	struct {
		double at_ms, len_ms; /* start from reload start, length */
	} longest[BENCH_STALL_LONGEST]; /* the cycles over 10 ms, by time */
	size_t nlong, nlong_all;
	int nprobe;            /* CPUs 0..nprobe-1 had a probe */
	bool probe_fifo;       /* the probes ran SCHED_FIFO */
};

struct bench_reload {
	struct bench_reload_row rows[BENCH_RELOAD_SIZES];
	size_t nrows;
	struct bench_stall_row stall[2];
	size_t nstall;
	struct bench_client cl; /* the stall client (tear-down frees it) */
};

/* Reload times for 1k, 100k and 1M prefixes (1M not with quick), then,
 * when stall, the connect stalls during a reload of the largest.  The
 * policy it makes is deleted again; on failure the figures so far stay. */
int bench_reload_run(const struct bench_env *e, struct bench_reload *r, bool stall);
void bench_reload_print(const struct bench_reload *r);
void bench_reload_summary(const struct bench_reload *r);
void bench_reload_free(struct bench_reload *r);

/* ---- bench_backstop.c -------------------------------------------------- */

struct bench_backstop {
	size_t prefixes;
	int rounds;
	bool measured;
	/* [tcp bytes/s, connected udp, udp to 2 destinations (datagrams/s)]
	 * [with, without the egress program] */
	double rate[3][2];
};

/* One TCP stream and connected UDP from the app cgroup, with and without
 * the egress program, alternating (see bench_backstop.c). */
int bench_backstop_run(const struct bench_env *e, struct bench_backstop *r);
void bench_backstop_print(const struct bench_backstop *r);
void bench_backstop_summary(const struct bench_backstop *r);

/* ---- bench_proxy.c ----------------------------------------------------- */

#define BENCH_PX_ROUNDS 9
#define BENCH_PX_IDLE_REPS 5
enum { BENCH_PX_DIRECT, BENCH_PX_NMP, BENCH_PX_SQUID, BENCH_PX_MODES };
enum { BENCH_PX_BULK1, BENCH_PX_BULK64, BENCH_PX_RR, BENCH_PX_NEWCONN, BENCH_PX_FIGS };
extern const char *const bench_px_fig_names[BENCH_PX_FIGS];

struct bench_proxy {
	const char *skipped;       /* why the part did not run */
	const char *squid_skipped; /* why Squid was not measured */
	bool measured;
	int rounds, nmodes;
	/* per figure and mode: bytes/s (bulk) or exchanges/s, median of the
	 * rounds; the exchanges' median and 90th percentile in µs */
	double rate[BENCH_PX_FIGS][BENCH_PX_MODES];
	double med_us[BENCH_PX_FIGS][BENCH_PX_MODES], p90_us[BENCH_PX_FIGS][BENCH_PX_MODES];
	double round_rate[BENCH_PX_FIGS][BENCH_PX_MODES][BENCH_PX_ROUNDS];
	/* the proxy's CPU time (schedstat), median of the rounds: µs per
	 * exchange, or per MB for the bulk figures (0 for direct) */
	double cpu_us[BENCH_PX_FIGS][BENCH_PX_MODES];
	/* memory held per idle connection (slab + TCP pages + the proxy's
	 * RSS, bytes, median of idle_reps), direct and through nomoat-proxy */
	int idle_reps;
	double idle_direct_b, idle_nmp_b, idle_rep_b[2][BENCH_PX_IDLE_REPS];
};

/* Direct, through nomoat-proxy and through Squid behind the redirect:
 * bulk throughput of 1 and 64 streams, small exchanges (bench_proxy.c). */
int bench_proxy_run(const struct bench_env *e, struct bench_proxy *r);
void bench_proxy_print(const struct bench_proxy *r);
void bench_proxy_summary(const struct bench_proxy *r);

/* ---- bench_dns.c ------------------------------------------------------- */

#define BENCH_DNS_ROUNDS 5
#define BENCH_DNS_CGS    7
enum { BENCH_DNS_DIRECT, BENCH_DNS_NMD, BENCH_DNS_DQ, BENCH_DNS_SERVERS };
enum { BENCH_DNS_CACHED, BENCH_DNS_UNCACHED, BENCH_DNS_KINDS };

/* What the client saw of the answers, all runs of one kind and server. */
struct bench_dns_checks {
	uint64_t sent, ok;
	uint64_t rcode, shape, timeouts; /* not NOERROR; not one A record of the
					  * question; no answer in time */
	uint64_t strays;                 /* answers to no query in flight */
	int last_rcode;
};

struct bench_dns {
	/* made here: bench_dns_cleanup removes what the flags say */
	const struct nm_maps *maps;
	const char *pin_dir;
	char dir[PATH_MAX], ns_c[64], ns_w[64];
	char cg[BENCH_DNS_CGS][PATH_MAX];
	bool dir_made, ns_c_made, ns_w_made, cg_made[BENCH_DNS_CGS], pol_made[2], bound[2], attached;
	__u64 cgid[2];                /* the two bound cgroups */
	pid_t nmd, up, filter;        /* nomoat-dns, the upstream and the filter dnsmasq */
	char nmd_bin[PATH_MAX], nmd_out[PATH_MAX], nmd_log[PATH_MAX];
	uint32_t next_name;           /* of the distinct names: the next unused */
	/* results */
	const char *skipped;          /* why the part did not run */
	bool measured;
	int rounds, window, cpu_cl, cpu_srv;
	/* [kind][server]: queries/s (median of the rounds), latency of single
	 * queries (all rounds' samples) */
	double qps[BENCH_DNS_KINDS][BENCH_DNS_SERVERS];
	double med_us[BENCH_DNS_KINDS][BENCH_DNS_SERVERS], p99_us[BENCH_DNS_KINDS][BENCH_DNS_SERVERS];
	size_t nsamples[BENCH_DNS_KINDS][BENCH_DNS_SERVERS];
	double round_qps[BENCH_DNS_KINDS][BENCH_DNS_SERVERS][BENCH_DNS_ROUNDS];
	double round_med_us[BENCH_DNS_KINDS][BENCH_DNS_SERVERS][BENCH_DNS_ROUNDS];
	struct bench_dns_checks checks[BENCH_DNS_KINDS][BENCH_DNS_SERVERS];
	char nmd_last[160];           /* nomoat-dns's own count at its stop */
};

/* Queries/s and latency of single queries from a sandbox, direct to the
 * upstream, through nomoat-dns and through dnsmasq as a filtering
 * forwarder, one name (cached) and distinct names (bench_dns.c). */
int bench_dns_run(const struct bench_env *e, struct bench_dns *d);
void bench_dns_print(const struct bench_dns *d);
void bench_dns_summary(const struct bench_dns *d);
/* Stop its servers, remove its policies, cgroups, netns and files
 * (idempotent). */
void bench_dns_cleanup(struct bench_dns *d);

/* ---- bench_daemon.c ---------------------------------------------------- */

#define BENCH_DMN_CLIENTS 4
#define BENCH_DMN_RUNS    10

struct bench_dmn_run {
	unsigned clients;
	bool paced;
	uint32_t rate;                 /* paced: connects/s asked for */
	uint64_t connects;
	double client_secs;
	uint64_t dec[BENCH_DMN_CLIENTS];   /* decision lines received */
	double dec_s[BENCH_DMN_CLIENTS];   /* from the start to the last one */
	uint64_t drop_lines;           /* "drops" lines, all clients */
	uint64_t dropped_ring;         /* their counts: "ring buffer full" (one reader) */
	uint64_t dropped_slow;         /* and "client too slow" (all readers) */
	uint64_t other_lines;
	uint64_t kernel_drops;         /* nm_gstats events_dropped delta */
	uint64_t client_drops;         /* nomoat_event_client_drops_total delta */
	uint64_t events_out;           /* nomoat_events_total delta */
	uint64_t log_lines;            /* lines added to the events-log file */
	double log_secs;               /* from the start until it last grew */
	double cpu_s;                  /* the daemon's CPU time meanwhile (schedstat) */
	double reader_cpu_s;           /* the bench's, reading the sockets (getrusage) */
	bool cpu_ok;
	bool metrics_ok;
};

struct bench_daemon {
	/* made here: bench_daemon_cleanup removes what the flags say */
	char dir[PATH_MAX];
	char pin_dir[PATH_MAX];
	char cg[PATH_MAX], cg_app[PATH_MAX];
	bool dir_made, pin_ours, cg_made, maps_open;
	pid_t pid;
	struct nm_maps maps;
	struct bench_client cl;
	/* results */
	char bin[PATH_MAX];
	const char *skipped;          /* why the part did not run */
	double ready_ms;              /* start until the pid file appeared */
	int exit_status;              /* of the SIGTERM stop; -1: not stopped */
	struct bench_dmn_run runs[BENCH_DMN_RUNS];
	int nruns;
};

/* Start build/nomoatd on its own pin dir and config, count the events its
 * JSON clients receive (1, then 4 clients), stop it, unload its pin dir. */
int bench_daemon_run(const struct bench_env *e, struct bench_daemon *d);
void bench_daemon_print(const struct bench_daemon *d);
void bench_daemon_summary(const struct bench_daemon *d);
/* Stop the daemon, unload its pin dir, remove its files (idempotent). */
void bench_daemon_cleanup(struct bench_daemon *d);

#endif
