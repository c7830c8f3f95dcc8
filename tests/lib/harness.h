/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * harness.h - the test-case harness of the test programs that drive nomoat
 * end to end (tests/integration, tests/daemon): the state they share (the
 * CLI, the test network and servers, the test's cgroup and pin dir), the
 * verdict of each case ("ok N - DESC" or "FAIL N - DESC : WHY") and the
 * counts, cleanup at exit and on SIGINT/SIGTERM/SIGHUP, the nomoat CLI run
 * with its output captured (in the foreground or the background), one-line
 * messages, JSON field checks and the test's cgroups.
 *
 * A program calls nmt_harness_init() first, sets nmt_h.cli (and its own
 * cleanup hooks), calls nmt_harness_start(), builds its fixture with
 * nmt_base_up() and nmt_net_up(), runs its cases and returns nmt_finish().
 */
#ifndef NMT_HARNESS_H
#define NMT_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "servers.h"
#include "topo.h"

/* ---- the shared state ---------------------------------------------------- */
struct nmt_harness {
	pid_t main_pid;       /* the test process: only it cleans up */
	const char *cli;      /* the nomoat CLI */
	struct nmt_topo topo;
	struct nmt_servers srv;
	char cgmount[1024];   /* the cgroup2 mount */
	char base[1280];      /* <cgroup2>/<name>-<pid>: the test's cgroups */
	char pin_dir[256];    /* /sys/fs/bpf/<name>-<pid> (NOMOAT_PIN_DIR) */
	bool made_base;       /* base was created (cleanup removes it) */
	bool loaded;          /* something may be pinned (cleanup unloads) */
	bool unloaded;        /* `nomoat unload` succeeded */
	/* The program's own cleanup (either may be NULL): first runs before
	 * the children are killed, last after the network is gone.  Both may
	 * run from a signal handler. */
	void (*cleanup_first)(void);
	void (*cleanup_last)(void);
};

extern struct nmt_harness nmt_h;

/* Start of main(): stdout line buffered, nmt_h.main_pid set. */
void nmt_harness_init(void);

/*
 * The arguments of a test program: `PROG [-v] [BIN...]`, -v turning
 * nmt_verbose on and each BIN, in order, replacing the default in bins[i]
 * (buffers of PATH_MAX; at most nbins), each made absolute when it exists.
 * bins[0] is the nomoat CLI: nmt_h.cli points to it.  0, or 2 after a usage
 * line naming usage (the BIN words).
 */
int nmt_args(int argc, char **argv, const char *usage, char *const bins[], int nbins);

/*
 * After the arguments: NMT_VERBOSE=1 in the environment turns nmt_verbose
 * on; not root is a message on stderr (naming prog) and false.  Then names
 * the test network after the pid, sets the pin dir /sys/fs/bpf/<name>-<pid>
 * (exported as NOMOAT_PIN_DIR for every CLI run) and arranges cleanup at
 * exit and on SIGINT/SIGTERM/SIGHUP (SIGPIPE ignored).
 */
bool nmt_harness_start(const char *prog, const char *name);

/*
 * Remove everything the test made, once and only in the test process: the
 * children (probes, background CLIs, servers), then what enforces (`nomoat
 * unload` unless done, the pin dir), then the test's cgroup, then the
 * network; the program's hooks around it.
 */
void nmt_cleanup(void);

/* The fixture: the cgroup2 mount and the test's cgroup <mount>/<name>-<pid>
 * (nmt_h.cgmount, nmt_h.base, nmt_h.made_base).  False with why filled. */
bool nmt_base_up(const char *name, char *why, size_t len);

/* The fixture: the test network, its servers (the proxy in the cgroup
 * <base>/<proxy_rel>, which must exist) and a bounded wait until it
 * carries TCP.  False with why filled (the details are logged). */
bool nmt_net_up(const char *proxy_rel, char *why, size_t len);

/* ---- verdicts ------------------------------------------------------------ */
/* One case: "ok N - desc", or "FAIL N - desc : <fmt...>"; returns ok. */
bool nmt_verdict(bool ok, const char *desc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* A failure reason, kept only if none was set before (the first one wins). */
void nmt_why_set(char *why, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* End of main(): print "N passed, N failed", clean up; the exit code (1 if
 * a case failed). */
int nmt_finish(void);

/* One line of text for a message (newlines as '|', trailing ones dropped,
 * at most cap-1 bytes; NULL reads as ""); returns buf. */
const char *nmt_oneline_buf(const char *s, char *buf, size_t cap);
/* The same in a static buffer of 600 bytes (overwritten by the next call). */
const char *nmt_oneline(const char *s);

/* ---- the CLI ------------------------------------------------------------- */
#define NMT_CLI_OUT_MAX (1 << 18)
#define NMT_CLI_ERR_MAX 8192

/* The output of the last nmt_cli(). */
extern char nmt_cli_out[NMT_CLI_OUT_MAX], nmt_cli_err[NMT_CLI_ERR_MAX];

/* Run `nomoat ARGS` (split on blanks, 'quotes' group; 15 s at most) with
 * the test's pin dir; output in nmt_cli_out / nmt_cli_err.  Returns the
 * exit code (or negative, see nmt_cmdv). */
int nmt_cli(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A kernel counter by its `nomoat -j stats` name (nm_gstat_name), read with
 * nmt_cli(); ~0 when it cannot be had. */
unsigned long long nmt_cli_gstat(const char *name);

/* nmt_cli() for a fixture step: true on exit 0, else false with the
 * command, its exit code and message in why (the first failure kept). */
bool nmt_cli_ok(char *why, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The last nmt_cli()'s stderr (its stdout if that is empty), one line. */
const char *nmt_cli_msg(void);

/* Start `nomoat ARGS` in the background; stdout on *fd, stderr on *efd.
 * Returns the pid or -errno. */
pid_t nmt_cli_bg(int *fd, int *efd, const char *args);

/* Finish a background CLI: its output (stdout read until EOF or timeout_ms,
 * stderr 500 ms more) and exit code, 128+signal, or negative. */
int nmt_cli_bg_end(pid_t pid, int fd, int efd, char *out, size_t len, char *err, size_t elen, int timeout_ms);

/* Finish any command started with stdout on the pipe fd and stderr on efd
 * (-1: none): stdout read until EOF or timeout_ms, stderr for err_ms more,
 * each closed when read, then the child waited for (2 s at most, then
 * SIGKILLed).  Its exit code, 128+signal, or a negative errno. */
int nmt_cmd_collect(pid_t pid, int fd, int efd, char *out, size_t len, char *err, size_t elen, int timeout_ms,
		    int err_ms);

/* ---- JSON ---------------------------------------------------------------- */
/* A field expected in a JSON object: val NULL only asks for the key. */
struct nmt_want_field {
	const char *key, *val;
};

/* Every field of w (up to a NULL key) in the flat JSON object obj, with
 * its value; false with why filled for the first one that is not. */
bool nmt_check_fields(const char *obj, const struct nmt_want_field *w, char *why, size_t len);

/* ---- cgroups ------------------------------------------------------------- */
/* <base>/<rel>. */
void nmt_cg_path(const char *rel, char *buf, size_t len);
/* A cgroup's id (0 when it has none), by absolute path or under base. */
unsigned long long nmt_cg_id_abs(const char *abs);
unsigned long long nmt_cg_id(const char *rel);

/* How many programs of the hooks nomoat uses are attached right at the
 * cgroup abs (BPF_PROG_QUERY, not the effective ones), or -errno; detail
 * (len > 0) gets the hooks that have one, comma-separated. */
int nmt_progs_attached(const char *abs, char *detail, size_t len);

/* ---- commands in the namespaces ---------------------------------------- */
/* Run fn(arg) in a child in cgroup rel (under the test base) and the client
 * netns; fn writes its result (len bytes) on the descriptor stored in *wfd
 * before the child starts.  True when it did within 5 s (out filled). */
bool nmt_child_result(const char *rel, int (*fn)(void *), void *arg, int *wfd, void *out, size_t len);

/* For nmt_exec_child (with nmt_spawn): exec argv, stdout and stderr on the
 * write end out. */
struct nmt_exec {
	char *const *argv;
	int out;
};

int nmt_exec_child(void *p);

/* Run `sh -c CMD` in cgroup rel (under the test base; NULL: none) in the
 * client netns; output (stdout+stderr) in out.  Exit code or negative. */
int nmt_sh(const char *rel, char *out, size_t len, int timeout_ms, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

#endif
