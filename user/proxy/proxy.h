/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * proxy.h - nomoat-proxy, the filtering egress proxy: the state its parts
 * share.  One thread runs an epoll loop over the listeners, every
 * connection's two sockets, the resolver's completion eventfd and a
 * signalfd; a small thread pool answers getaddrinfo() (resolver.c).
 *
 * A connection goes through:
 *   SNIFF    peek (never consume) what the client sent until a ClientHello
 *            or an HTTP head is complete; decide (conn.c)
 *   RESOLVE  the allowed name is looked up (hosts file, else the pool)
 *   CONNECT  non-blocking connect to each address in turn
 *   RELAY    recv/send for small exchanges, splice() through a pooled
 *            pipe for bulk, both ways (relay.c), half-close
 *   LINGER   a refusal was written; read and drop what the client still
 *            sends (so the close does not reset the answer away), then close
 * Every state has a deadline: SNIFF, RESOLVE and CONNECT the handshake
 * timeout, RELAY the idle timeout (reset by any byte), LINGER 2 s; the
 * one state setter (nmp_set_state) puts it on the list its state needs.
 *
 * The files by stage: accept.c (accept, origin, limits), sniff.c (peeked
 * head, the name check), upstream.c (resolved addresses, connect, the head
 * rewritten), relay.c, conn.c (states, timeouts, refusals, the end).  All
 * the loop's state is one struct nmp_proxy, reached from each connection.
 */
#ifndef NMP_PROXY_H
#define NMP_PROXY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "nomoat.h"
#include "hostname.h"
#include "polnames.h"
#include "svc.h"
#include "synth.h"
#include "http_head.h"
#include "tls_sni.h"
#include "reasons.h"

#define NMP_MAX_LISTEN    16
#define NMP_MAX_ADDRS     8      /* upstream addresses tried per name */
#define NMP_LINGER_MS     2000
#define NMP_PUMP_ROUNDS   16     /* calls per direction per turn (fairness) */
#define NMP_PIPE_CHUNK    (64 * 1024)   /* a pipe's default size: kept when it cannot grow */
#define NMP_PIPE_SIZE     (256 * 1024)  /* asked for with F_SETPIPE_SZ */
#define NMP_PIPE_POOL     64            /* empty pipes kept for the next bulk direction */
#define NMP_XBUF          (16 * 1024)   /* the small path's buffer; a full read means bulk */
#define NMP_PEEK_MAX      (NMP_SNI_MAX_BYTES > NMP_HTTP_HEAD_MAX ? NMP_SNI_MAX_BYTES : NMP_HTTP_HEAD_MAX)

/* Defaults. */
#define NMP_DEF_LISTEN4        "127.0.0.1:3128"
#define NMP_DEF_LISTEN6        "[::1]:3128"
#define NMP_DEF_CONFIG         "/etc/nomoat/nomoat.conf"
#define NMP_DEF_MAX_CONNS      4096
#define NMP_DEF_MAX_PER_CLIENT 256
#define NMP_DEF_HANDSHAKE_MS   10000
#define NMP_DEF_IDLE_MS        300000
#define NMP_DEF_RESOLVERS      4
#define NMP_DEF_RESOLVE_QUEUE  1024

/* ---- options (main.c) ---------------------------------------------------- */
struct nmp_opts {
	struct sockaddr_storage listen[NMP_MAX_LISTEN];
	int nlisten;
	const char *config;         /* the policy file (allowlists) */
	const char *pin_dir;        /* nomoat's pins (policy names by id) */
	const char *default_policy; /* for connections without an origin record */
	const char *hosts;          /* static name -> address file, consulted first */
	bool no_dns;                /* only the hosts file */
	const char *log;            /* access log: path or "stdout" */
	const char *user;           /* drop to this user after binding */
	const char *cgroup;         /* move into this cgroup first */
	const char *names_dir;      /* nomoat-dns's tables of synthetic names */
	unsigned max_conns, max_per_client;
	unsigned handshake_ms, idle_ms;
	unsigned resolvers, resolve_queue;
	bool explicit_only;         /* no start-up check that the kernel gives origins */
	bool verbose;
};

/* ---- policies (policy.c) ------------------------------------------------- */
struct nmp_policy {
	char name[NM_POLICY_NAME_LEN];
	struct nm_allowlist allow;
	bool ip_only;
	bool synthetic;            /* names synthetic: its ranges stand for names */
	struct nm_cidr synth4, synth6;
	struct nm_synth *tab;      /* the table nomoat-dns writes (read-only), opened when first needed */
	long long tab_tried_ms;    /* the last failed open (tried again after a second) */
};

struct nmp_policies {
	struct nmp_policy *v;
	size_t n;
	struct nm_polnames names; /* policy names by id (polnames.h): open before privileges go */
};

int nmp_policies_load(struct nmp_policies *ps, const char *config, FILE *errf);
/* The name behind a synthetic address of pol (family 4: 4 bytes, 6: 16),
 * from the table in names_dir:
 * 1 with name filled, 0 when addr is not one of pol's synthetic addresses,
 * -ENOENT when it is but no name has it, -ESTALE when the table cannot be
 * read (nomoat-dns not run yet, or made for other ranges). */
int nmp_synth_name(const struct nmp_policy *pol, const char *names_dir, int family, const uint8_t *addr,
		   char *name, size_t len);
const struct nmp_policy *nmp_policy_by_name(const struct nmp_policies *ps, const char *name);
/* By the kernel's policy id: refreshes the names at most once a second
 * when the id is unknown.  NULL when no policy block of that name. */
const struct nmp_policy *nmp_policy_by_id(struct nmp_policies *ps, __u32 id, const char **name);
void nmp_policies_free(struct nmp_policies *ps);

/* ---- the resolver (resolver.c) -------------------------------------------- */
struct nmp_addrs {
	struct sockaddr_storage a[NMP_MAX_ADDRS];
	int n;
	int err; /* 0, or an EAI_* code */
};

struct nmp_conn;
struct nmp_resolver;

int nmp_resolver_start(struct nmp_resolver **r, unsigned threads, unsigned queue, const char *hosts_file,
		       bool no_dns);
/* The eventfd the main loop waits on. */
int nmp_resolver_fd(const struct nmp_resolver *r);
/* Answer from the hosts file at once (1, *out filled), or queue a lookup
 * for c (0; nmp_resolver_done later delivers it), or -EBUSY (queue full),
 * -ENOENT (not in the hosts file and no DNS). */
int nmp_resolve(struct nmp_resolver *r, struct nmp_conn *c, const char *name, uint16_t port,
		struct nmp_addrs *out);
/* Deliver finished lookups: cb(conn, addrs) for each. */
void nmp_resolver_done(struct nmp_resolver *r, void (*cb)(struct nmp_conn *, const struct nmp_addrs *));
void nmp_resolver_stop(struct nmp_resolver *r);

/* ---- per-client limits (limits.c) ------------------------------------------ */
struct nmp_limits;
struct nmp_client_key {
	__u64 cgroup_id;  /* the client's cgroup when the kernel said, else 0 */
	__u32 addr[4];    /* else its address (v4-mapped) */
};
struct nmp_limits *nmp_limits_new(unsigned max_per_client);
/* Take a slot for key: false when the client is at its limit. */
bool nmp_limits_take(struct nmp_limits *l, const struct nmp_client_key *k);
void nmp_limits_give(struct nmp_limits *l, const struct nmp_client_key *k);
void nmp_limits_free(struct nmp_limits *l);

/* ---- the access log (accesslog.c) ------------------------------------------ */
int nmp_log_open(const char *where);
void nmp_log_conn(const struct nmp_conn *c);
/* SIGHUP: open the file again (log rotation); the old one stays on failure. */
int nmp_log_reopen(void);
void nmp_log_close(void);

/* ---- file descriptors (nofile.c) ------------------------------------------------ */
/* Raise RLIMIT_NOFILE for max_conns connections; may lower *max_conns. */
void nmp_raise_nofile(unsigned *max_conns);

/* ---- connections (conn.c, relay.c) -------------------------------------------- */
enum nmp_state {
	NMP_ST_SNIFF = 0,
	NMP_ST_RESOLVE,
	NMP_ST_CONNECT,
	NMP_ST_RELAY,
	NMP_ST_LINGER,
	NMP_ST_DEAD,
};

enum nmp_kind {
	NMP_K_UNKNOWN = 0,
	NMP_K_TLS,       /* transparent TLS: SNI */
	NMP_K_HTTP,      /* transparent HTTP: Host */
	NMP_K_CONNECT,   /* explicit CONNECT */
	NMP_K_ABSOLUTE,  /* explicit absolute-form HTTP */
	NMP_K_IPONLY,    /* ip-only policy: straight to the original destination */
	NMP_K_SYNTH,     /* a synthetic address: the name behind it, any protocol */
};

/* A timeout list: connections in deadline order (all share one duration). */
struct nmp_tlist {
	struct nmp_conn *head, *tail;
	unsigned ms;
};

struct nmp_obuf {
	char *buf;
	size_t len, off;
};

struct nmp_pipe {
	int fd[2];       /* -1: none */
	size_t cap;      /* its size */
};

/* One direction of the relay. */
struct nmp_dir {
	struct nmp_pipe pipe; /* from the pool while bulk or a short send's rest is in it */
	size_t in_pipe;
	bool bulk;       /* splice (the last read filled NMP_XBUF), else recv/send */
	bool drain;      /* read the source until EAGAIN or EOF (a short read proves nothing) */
	bool eof;        /* the source said EOF */
	bool shut;       /* we shut the destination's write side */
	uint64_t bytes;
	struct nmp_obuf pre; /* bytes to write before relaying (a rewritten head) */
};

struct nmp_proxy;

struct nmp_conn {
	struct nmp_proxy *px;
	int cfd, ufd;
	enum nmp_state st;
	enum nmp_kind kind;
	long long start_ms, deadline;
	struct nmp_conn *tprev, *tnext;
	struct nmp_tlist *tl;
	struct nmp_conn *rnext; /* ready list: relay with more to do */
	unsigned ready_dirs;    /* ... in these directions */
	struct nmp_conn *gnext; /* closed, to be freed at the end of the turn */
	bool on_ready;
	bool resolving;         /* a lookup is out: the struct must stay */
	bool counted;           /* holds a per-client slot */
	struct nmp_client_key key;
	/* who and what */
	struct sockaddr_storage client;
	int lfamily;            /* the listener's family */
	bool has_origin;
	struct nm_origin origin;
	char policy[NM_POLICY_NAME_LEN];
	const char *proto;      /* "tls", "http", "connect", "absolute", "ip-only", "" */
	char name[NMP_SNI_MAX_NAME + 1];
	uint16_t port;          /* upstream port */
	char rule[300];
	const char *verdict;    /* "allow", "deny" */
	enum nmp_reason reason;
	char detail[160];       /* more about the reason (a parser's why, an errno) */
	/* upstream */
	struct nmp_addrs addrs;
	int addr_i;
	int denied_by_kernel;   /* connects refused with EPERM */
	int last_err;
	struct sockaddr_storage upstream;
	bool have_upstream;
	/* explicit requests */
	size_t head_len;        /* bytes of the request head to consume */
	char *head;             /* HTTP: a copy of the head (absolute-form rewrite) */
	struct nmp_dir up, down; /* client -> upstream, upstream -> client */
	bool logged;
	unsigned linger_read;
};

struct nmp_proxy {
	struct nmp_opts o;
	int ep;
	int lfd[NMP_MAX_LISTEN];
	int lfamily[NMP_MAX_LISTEN];
	int sigfd;
	struct nmp_policies pols;
	struct nmp_resolver *res;
	struct nmp_limits *lim;
	struct nmp_tlist t_hs, t_idle, t_linger;
	struct nmp_conn *ready, *graveyard;
	unsigned nconns;
	bool accept_paused;
	uint64_t accepted, refused_limit;
	struct nmp_pipe pipes[NMP_PIPE_POOL]; /* the pool (relay.c) */
	unsigned npipes;
	uint64_t pipes_made;
	char peekbuf[NMP_PEEK_MAX];   /* sniffed heads land here (sniff.c) */
	char xbuf[NMP_XBUF];          /* the relay's small path (relay.c) */
};

/* epoll tags: the low bits of data.u64 say what the pointer is. */
#define NMP_TAG_LISTEN 1u
#define NMP_TAG_CLIENT 2u
#define NMP_TAG_UP     3u
#define NMP_TAG_RES    4u
#define NMP_TAG_SIG    5u
#define NMP_TAG_MASK   7u

/* accept.c: up to 64 connections from listener li; the listeners out of
 * and back into the loop when descriptors run out or the limit is reached. */
void nmp_accept(struct nmp_proxy *px, int li);
void nmp_accept_resume(struct nmp_proxy *px);

/* conn.c */
/* The one way a state changes: also the timeout list the state needs
 * (SNIFF, RESOLVE, CONNECT: the handshake deadline from accept on; RELAY:
 * idle from now; LINGER: from now; DEAD: none). */
void nmp_set_state(struct nmp_conn *c, enum nmp_state st);
void nmp_set_reason(struct nmp_conn *c, const char *verdict, enum nmp_reason reason, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Refuse: an HTTP answer (status) where the client speaks HTTP, else a close. */
void nmp_refuse(struct nmp_conn *c, int status);
void nmp_conn_event(struct nmp_conn *c, bool upstream, uint32_t ev);
void nmp_conn_close(struct nmp_conn *c);
void nmp_tlist_put(struct nmp_tlist *l, struct nmp_conn *c, long long now);
void nmp_tlist_del(struct nmp_conn *c);
void nmp_timers_run(struct nmp_proxy *px, long long now);
long long nmp_timers_next(const struct nmp_proxy *px);
void nmp_ready_run(struct nmp_proxy *px);
void nmp_graveyard_free(struct nmp_proxy *px);

/* sniff.c: the head peeked (ended: the client shut its write side), and
 * the decisions without one (ip-only, synthetic addresses) at accept. */
void nmp_sniff(struct nmp_conn *c, bool ended);
void nmp_decide_at_accept(struct nmp_conn *c);

/* upstream.c: resolve the allowed name, connect, hand over to the relay. */
void nmp_upstream_resolve(struct nmp_conn *c, const char *name);
void nmp_upstream_connect(struct nmp_conn *c);
void nmp_upstream_event(struct nmp_conn *c, uint32_t ev);
void nmp_conn_resolved(struct nmp_conn *c, const struct nmp_addrs *a);

/* relay.c */
#define NMP_DIR_UP   1  /* client -> upstream */
#define NMP_DIR_DOWN 2  /* upstream -> client */
void nmp_relay_init(struct nmp_conn *c);
/* Connected: relay, first the directions dirs (NMP_DIR_UP | NMP_DIR_DOWN). */
void nmp_relay_start(struct nmp_conn *c, unsigned dirs);
/* An event on one of the sockets (ev 0: look at both directions). */
void nmp_relay_event(struct nmp_conn *c, bool upstream, uint32_t ev);
/* From the ready list: go on in the directions that had more to do. */
void nmp_relay_resume(struct nmp_conn *c);
void nmp_relay_free(struct nmp_conn *c);
void nmp_pipes_free(struct nmp_proxy *px);

#endif
