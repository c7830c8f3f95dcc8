/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * battery.h - the escape battery: an agent that, inside a container-like
 * sandbox bound to the default policy, tries every way out we know of to
 * the fake metadata and internal hosts of the test network.
 *
 * One binary, two roles.  The harness (battery.c, as root, outside) builds
 * the test network, loads nomoat, makes the policy and the cgroups, starts
 * the helpers that live outside the sandbox (passer.c: processes that hand
 * sockets in; standins.c: listeners where the daemon's ports would be;
 * witness.c: a sniffer on the world's side of the wire) and runs the
 * agent once per pass.  The agent (agent.c and the att_*.c files) is the
 * same binary re-executed inside the sandbox (sandbox.c): it makes each
 * attempt in a child of its own, bounded in time, and prints one line per
 * attempt:
 *
 *   ATTEMPT [group] name -> blocked (how)        refused or went nowhere
 *   ATTEMPT [group] name -> failed (how)         failed for a reason that is
 *                                                not nomoat's (no route,
 *                                                not supported, ...)
 *   ESCAPE  [group] name -> evidence              it reached the target
 *   LIMIT   [group] name -> got through (...)    a documented limit
 *   LIMIT   [group] name -> blocked (...) / failed (...)
 *
 * Every datagram or stream an attempt sends carries a token,
 * "NMBT:<pass>/<name>;", so the witness can tell which attempt reached the
 * world's side of the wire, whatever the agent saw come back.
 */
#ifndef NMB_BATTERY_H
#define NMB_BATTERY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* ---- passes ---------------------------------------------------------------- */
enum nmb_pass {
	NMB_CONTROL,  /* the same sandbox, in a cgroup nothing polices */
	NMB_ROOT,     /* uid 0 with Docker's default capabilities */
	NMB_USER,     /* uid/gid 65534, no capabilities */
	NMB_BACKSTOP, /* as NMB_ROOT, policy with raw-sockets allow */
	NMB_PASS__MAX,
};

extern const char *const nmb_pass_name[NMB_PASS__MAX];

/* Docker's default capability set (moby oci/caps/defaults.go). */
#define NMB_CAP_DOCKER 0x00000000a80425fbULL

#define NMB_TOKEN_TAG "NMBT:"
#define NMB_TOKEN_MAX 96

/* ---- what the harness tells the agent (key=value arguments) -------------- */
struct nmb_cfg {
	enum nmb_pass pass;
	int sib_fd;            /* socket to the passer in a sibling bound cgroup */
	int free_fd;           /* socket to the passer in an unpoliced cgroup */
	pid_t free_pid;        /* that passer's pid (ptrace / pidfd targets) */
	char cgmount[256];     /* the cgroup2 mount */
	char cg_free[512];     /* an unbound cgroup outside the attach point */
	char cg_attach[512];   /* the attach point (bound to the policy) */
	char pin_link[512];    /* a pinned link of nomoat's connect4 program */
	char pin_dir[256];     /* the test's pin dir */
	char run_dir[256];     /* the daemon stand-ins' socket dir */
	char world_ns[256];    /* /run/netns/<world>: where the hosts live */
	char cdev[32];         /* the client's veth */
};

/* Parse "key=value" arguments (argv[0] is the first); false on a bad one. */
bool nmb_cfg_parse(struct nmb_cfg *c, int argc, char **argv);
/* Format c as arguments into argv (at most max-1, NULL-terminated), using
 * buf (len bytes) for the strings; the count, or -1 when it does not fit. */
int nmb_cfg_format(const struct nmb_cfg *c, char **argv, int max, char *buf, size_t len);

/* ---- attempts -------------------------------------------------------------- */
enum nmb_kind {
	NMB_BLOCKED, /* refused (by nomoat or by the kernel's own checks) */
	NMB_FAILED,  /* failed for another reason: reported, not counted */
	NMB_THROUGH, /* reached its target */
};

struct nmb_res {
	enum nmb_kind kind;
	char how[300];
};

struct nmb_att;
typedef void (*nmb_att_fn)(const struct nmb_att *a, const struct nmb_cfg *c, struct nmb_res *r);

struct nmb_att {
	const char *group;
	const char *name;
	nmb_att_fn fn;
	const void *arg;
	bool ctl;    /* reaches its target from an unpoliced cgroup (control) */
	int ms;      /* time bound of the attempt (0: NMB_ATT_MS) */
};

#define NMB_ATT_MS  6000 /* one attempt, default bound */
#define NMB_SOCK_MS 1000 /* one socket call */

/* Every attempt, in the order they run (agent.c); n in *n. */
const struct nmb_att *nmb_attempts(int *n);

/* Tables of the att_*.c files. */
extern const struct nmb_att nmb_att_tcp[], nmb_att_udp[], nmb_att_addr[], nmb_att_raw[], nmb_att_passed[],
	nmb_att_proc[], nmb_att_ns[];
extern const int nmb_att_tcp_n, nmb_att_udp_n, nmb_att_addr_n, nmb_att_raw_n, nmb_att_passed_n, nmb_att_proc_n,
	nmb_att_ns_n;

/* Documented limits, by attempt name (battery.c): NULL if name is none. */
struct nmb_limit {
	const char *name;
	bool through[NMB_PASS__MAX]; /* expected to get through in that pass */
	const char *why;
};
const struct nmb_limit *nmb_limit_of(const char *name);

/* ---- helpers for attempts (agent.c) -------------------------------------- */
/* The agent's own pass, for tokens. */
extern enum nmb_pass nmb_agent_pass;

/* Copy src into dst (cap bytes), cut if need be; returns dst. */
char *nmb_copy(char *dst, size_t cap, const char *src);
/* Append src to the string in dst (cap bytes), cut if need be. */
char *nmb_append(char *dst, size_t cap, const char *src);

/* "NMBT:<pass>/<name>;" */
const char *nmb_token(const char *name, char *buf, size_t len);

void nmb_set(struct nmb_res *r, enum nmb_kind k, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* A failed call: EPERM/EACCES/EROFS are "blocked", ENETUNREACH and friends
 * "failed", each explained; ECONNREFUSED means the target answered. */
void nmb_set_errno(struct nmb_res *r, const char *call, int err);
const char *nmb_errname(int e);

/* Does the agent have this capability (effective)? */
bool nmb_has_cap(int cap);

/* A socket with SO_RCVTIMEO/SO_SNDTIMEO of ms; -errno. */
int nmb_socket(int family, int type, int proto, int ms);

/* A target host: its address and the ports of the world's servers. */
struct nmb_tgt {
	const char *tag;  /* meta4, int4, meta6 */
	const char *addr;
	int tcp;          /* TCP HELLO port */
	int udp;          /* UDP HELLO port */
};
extern const struct nmb_tgt nmb_meta4, nmb_int4, nmb_meta6;

/* After a stream is open to tgt: send the token, read a line, judge it
 * (HELLO from tgt: through; PROXY: redirected to the proxy, blocked; ...). */
void nmb_tcp_talk(int fd, const struct nmb_tgt *t, const char *name, struct nmb_res *r);
/* After a datagram went out: wait for one reply, judge it. */
void nmb_udp_reply(int fd, const struct nmb_tgt *t, struct nmb_res *r);
/* Judge a received line against the target. */
void nmb_judge_line(const char *line, const char *from, const struct nmb_tgt *t, struct nmb_res *r);

/* The whole plain TCP attempt: socket, connect, talk. */
void nmb_tcp_probe(const struct nmb_tgt *t, const char *name, struct nmb_res *r);
/* The same to any address (att_tcp.c): mapped makes an IPv4 address
 * ::ffff:a.b.c.d, proto is the socket's (0, IPPROTO_MPTCP). */
void nmb_tcp_to(const struct nmb_att *a, const char *addr, int port, bool mapped, int proto, struct nmb_res *r);

/* Put what happened first in front of r's text: text, then arg (if any). */
void nmb_prefix(struct nmb_res *r, const char *text, const char *arg);

/* Submit what is queued on ring and wait for one completion (bounded):
 * its result in *res; 0 or -errno. */
struct io_uring;
int nmb_uring_one(struct io_uring *ring, int *res);

/* A user namespace of our own, root inside it, mapped to who we are,
 * unshared with extra_flags (att_ns.c); 0 or -errno. */
int nmb_own_userns(int extra_flags);

/* Run fn in a forked child bounded by ms; its result comes back in r. */
void nmb_in_child(void (*fn)(void *arg, struct nmb_res *r), void *arg, int ms, struct nmb_res *r);

/* ---- the sandbox (sandbox.c) --------------------------------------------- */
struct nmb_sandbox {
	const char *cgroup;   /* absolute cgroup to enter first */
	const char *netns;    /* netns name to enter */
	bool user;            /* uid/gid 65534, no capabilities; else uid 0
			       * with Docker's default set */
	const char *hide[4];  /* directories covered with an empty tmpfs */
	int keep[4];          /* descriptors the agent inherits (-1: none) */
	int out_fd;           /* the agent's stdout and stderr */
	char *const *argv;    /* the agent's arguments (argv[0] included) */
};

/* Fork, enter the sandbox and exec /proc/self/exe with sb->argv.  The
 * child is tracked (run.h).  Returns the pid or -errno. */
pid_t nmb_sandbox_spawn(const struct nmb_sandbox *sb);

/* ---- helpers outside the sandbox ------------------------------------------ */
/* passer.c: a process in cgroup+netns that makes sockets on request and
 * hands them over a unix socket; *agent_end is the agent's end. */
pid_t nmb_passer_start(const char *cgroup, const char *netns, int *agent_end);

/* passer.c, agent side: ask for an object; the received descriptor or
 * -errno (the passer's own error), info (if not NULL) gets its message. */
int nmb_passer_ask(int fd, const char *req, char *info, size_t ilen, void *extra, size_t elen);

/* standins.c: listeners where the daemon's ports would be: TCP
 * 127.0.0.1:9100 and [::1]:9100 in netns, unix sockets events.sock and
 * metrics.sock (0600) in run_dir (0700).  Each answers "HELLO <what>". */
#define NMB_METRICS_PORT 9100
pid_t nmb_standins_start(const char *cgroup, const char *netns, const char *run_dir);

/* witness.c: a sniffer on the world's veth that reports every frame that
 * carries a token: one line "SEEN <token> <dst> <proto>/<port>" each, on
 * *fd (non-blocking). */
pid_t nmb_witness_start(const char *netns, const char *dev, int *fd);

/* Is dst (as the witness prints it) a place an attempt may reach: the
 * policy's proxy and DNS endpoints? */
bool nmb_witness_allowed(const char *dst);

/* ---- the harness's record of a pass (battery.c fills it, verdict.c
 * judges it) ------------------------------------------------------------------ */
#define NMB_ATT_MAX 256

struct nmb_outcome {
	bool printed;      /* the agent printed its line */
	bool through;      /* the agent's evidence: it reached its target */
	bool witnessed;    /* the witness's: its token went to a denied place */
	char word[12];     /* ATTEMPT / ESCAPE / LIMIT */
	char text[600];    /* what follows "->" */
	char wdst[160];    /* where the witness saw it go */
};

/* By the attempt's index in nmb_attempts(). */
extern struct nmb_outcome nmb_out[NMB_ATT_MAX];

struct nmb_pass_io {
	char identity[600]; /* the agent's "INFO identity" line */
	char error[600];    /* SANDBOX-ERROR, or the harness's own trouble */
	int done;           /* the DONE count, -1 if none */
	int lines;          /* attempt lines */
	int unknown;        /* lines naming no attempt */
	int status;         /* the agent's wait status */
};

/* Index of an attempt by name, -1 if none. */
int nmb_att_index(const char *name);
/* One line of the agent's output into io and nmb_out. */
void nmb_parse_line(char *line, struct nmb_pass_io *io);
/* Every documented limit (battery.c). */
const struct nmb_limit *nmb_limits_all(int *n);

/* The verdicts (verdict.c); want_cg is the end of the agent's cgroup path. */
void nmb_verdict_identity(enum nmb_pass p, const struct nmb_pass_io *io, const char *want_cg);
void nmb_verdict_complete(enum nmb_pass p, const struct nmb_pass_io *io);
void nmb_verdict_groups(enum nmb_pass p);
void nmb_verdict_backstop(void);
void nmb_verdict_limits(enum nmb_pass p);
void nmb_verdict_control(const struct nmb_pass_io *io);

/* ---- the agent ------------------------------------------------------------- */
int nmb_agent_main(int argc, char **argv);
/* "probe tcp ADDR PORT NAME PASS": one TCP attempt, result on stdout
 * (for the exec attempt). */
int nmb_probe_main(int argc, char **argv);

#endif
