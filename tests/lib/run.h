/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * run.h - processes for the test harness: running commands with their output
 * captured and a time bound, forking a function into a cgroup and a network
 * namespace, and a registry of every child so that cleanup (also from a
 * signal handler) can kill them all.
 *
 * Every child made here resets SIGINT/SIGTERM to the default, asks for
 * SIGKILL when the harness dies (PR_SET_PDEATHSIG) and leaves with _exit, so
 * it never runs the harness's atexit cleanup.
 */
#ifndef NMT_RUN_H
#define NMT_RUN_H

#include <stdarg.h>
#include <stddef.h>
#include <sys/types.h>

/* 1: print every command before it runs (NMT_VERBOSE=1 in the environment). */
extern int nmt_verbose;

/* ---- the child registry ------------------------------------------------ */
void nmt_child_track(pid_t pid);
void nmt_child_untrack(pid_t pid);
/* SIGKILL and reap every tracked child (bounded). */
void nmt_children_kill(void);

/* Wait for a child at most timeout_ms; on timeout SIGKILL it and reap it.
 * Returns the wait status, or -ETIMEDOUT (the child was killed) / -errno. */
int nmt_wait(pid_t pid, int timeout_ms);

/* ---- commands ---------------------------------------------------------- */
/* Split a command line on blanks into argv (in place); 'single quotes'
 * group words.  Returns argc, or -E2BIG. */
int nmt_split(char *line, char **argv, int max);

/* Run argv (PATH lookup), capture stdout and stderr separately (each
 * NUL-terminated, truncated to its size; either may be NULL), kill it after
 * timeout_ms.  Returns the exit code (0..255), 128+signal when it was killed
 * by a signal, -ETIMEDOUT or -errno (e.g. exec failed: 127 from the child). */
int nmt_cmdv(char *const argv[], char *out, size_t outlen, char *err, size_t errlen,
	     int timeout_ms);

/* printf-style command line, split with nmt_split, run with a 10 s bound.
 * A non-zero exit is logged with the command and its stderr.  Returns the
 * exit code (or negative as nmt_cmdv). */
int nmt_run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The same without logging a failure (cleanup paths). */
int nmt_run_quiet(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Start argv in the background with stdout on a pipe (stderr too when
 * errfd is not NULL).  The child is tracked.  Returns the pid or -errno. */
pid_t nmt_cmd_start(char *const argv[], int *outfd, int *errfd);
/* Read fd until EOF or the deadline (ms from now) into buf (NUL-terminated);
 * returns the bytes read. */
size_t nmt_read_all(int fd, char *buf, size_t len, int timeout_ms);

/* ---- namespaces and cgroups -------------------------------------------- */
/*
 * Fork a child that moves itself into cgroup (an absolute cgroup2 path, or
 * NULL to stay) FIRST, then enters netns (a name under /run/netns, or NULL),
 * then returns fn(arg) as its exit code.  The child is tracked.  Returns the
 * pid, or -errno.  A failure to enter the cgroup or the netns ends the child
 * with exit code 126 and a message on stderr.
 */
pid_t nmt_spawn(const char *cgroup, const char *netns, int (*fn)(void *), void *arg);

/* Milliseconds on CLOCK_MONOTONIC. */
long long nmt_now_ms(void);
void nmt_sleep_ms(int ms);

/* Remove a directory tree (e.g. a bpffs pin dir); 0 or -errno. */
int nmt_rmtree(const char *path);

/* The value of "key" in one flat JSON object (a line): a string is
 * unescaped (\" \\ \/ \n \t; \uXXXX kept as is), anything else is the raw
 * token (number, true, null).  0, or -ENOENT when the key is absent. */
int nmt_json_get(const char *obj, const char *key, char *val, size_t len);

#endif
