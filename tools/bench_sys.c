// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* nomoat-bench: signals, clocks, child processes, commands, netns, paths
 * and files. */
#include "bench.h"
#include "cgroup.h"
#include "netns.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BENCH_MAX_CHILDREN 32
#define BENCH_MAX_ARGS     16

volatile sig_atomic_t bench_stop;

static pid_t children[BENCH_MAX_CHILDREN];

static void on_signal(int sig)
{
	bench_stop = sig;
}

void bench_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

void bench_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

void bench_err(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("nomoat-bench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* ---- children ---------------------------------------------------------- */

static void child_track(pid_t pid)
{
	for (int i = 0; i < BENCH_MAX_CHILDREN; i++) {
		if (!children[i]) {
			children[i] = pid;
			return;
		}
	}
	/* Cannot happen with the few children made here; never lose one. */
	bench_err("too many children: killing %d", (int)pid);
	kill(pid, SIGKILL);
}

static void child_untrack(pid_t pid)
{
	for (int i = 0; i < BENCH_MAX_CHILDREN; i++)
		if (children[i] == pid)
			children[i] = 0;
}

/* Reap pid if it has ended: 1 reaped, 0 still running, -errno. */
static int try_reap(pid_t pid, int *st)
{
	pid_t r = waitpid(pid, st, WNOHANG);

	if (r == pid)
		return 1;
	if (r < 0 && errno != EINTR)
		return -errno;
	return 0;
}

int bench_wait(pid_t pid, int timeout_ms, int *status)
{
	uint64_t end = bench_now_ns() + (uint64_t)timeout_ms * 1000000ull;
	int st = 0, r;

	/* Poll every millisecond: children here end quickly or get killed. */
	while ((r = try_reap(pid, &st)) == 0 && bench_now_ns() < end)
		bench_sleep_ms(1);
	if (r == 0) {
		kill(pid, SIGKILL);
		/* SIGKILL ends it promptly; still bounded (5 s). */
		end = bench_now_ns() + 5000000000ull;
		while ((r = try_reap(pid, &st)) == 0 && bench_now_ns() < end)
			bench_sleep_ms(1);
		r = r < 0 ? r : -ETIMEDOUT;
	}
	child_untrack(pid);
	if (r < 0)
		return r;
	if (status)
		*status = st;
	return 0;
}

void bench_children_kill(void)
{
	for (int i = 0; i < BENCH_MAX_CHILDREN; i++) {
		if (children[i] > 0) {
			kill(children[i], SIGKILL);
			bench_wait(children[i], 2000, NULL);
		}
	}
}

/* In a fresh child: default signals, die with the parent. */
static void child_setup(pid_t parent)
{
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(125);
}

static int pin_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) ? -errno : 0;
}

pid_t bench_spawn(const char *cgroup, const char *netns, int cpu, int (*fn)(void *), void *arg)
{
	pid_t parent = getpid(), pid;
	int err;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid > 0) {
		child_track(pid);
		return pid;
	}
	child_setup(parent);
	/* The cgroup first: joining the netns must not change which cgroup
	 * the sockets are charged to. */
	if (cgroup && (err = nm_cgroup_enter(cgroup, 0))) {
		bench_err("cannot enter cgroup %s: %s", cgroup, strerror(-err));
		_exit(126);
	}
	if (netns && (err = nm_netns_enter(netns))) {
		bench_err("cannot enter netns %s: %s", netns, strerror(-err));
		_exit(126);
	}
	if (cpu >= 0 && (err = pin_cpu(cpu)))
		bench_err("cannot pin to CPU %d: %s (going on unpinned)", cpu, strerror(-err));
	_exit(fn(arg));
}

/* ---- commands ---------------------------------------------------------- */

static void cmdline(const char *const *argv, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = 0;
	for (int i = 0; argv[i] && n < len; i++)
		n += snprintf(buf + n, len - n, "%s%s", i ? " " : "", argv[i]);
}

static void exec_child(const char *const *argv, bool quiet)
{
	int null = open("/dev/null", O_WRONLY | O_CLOEXEC);

	if (null >= 0) {
		dup2(null, STDOUT_FILENO);
		if (quiet)
			dup2(null, STDERR_FILENO);
	}
	execvp(argv[0], (char *const *)argv);
	if (!quiet)
		bench_err("cannot run %s: %s", argv[0], strerror(errno));
	_exit(127);
}

int bench_run(int timeout_ms, bool quiet, const char *arg0, ...)
{
	const char *argv[BENCH_MAX_ARGS + 1] = { arg0 };
	pid_t parent = getpid(), pid;
	char line[512];
	int n = 1, status, err;
	va_list ap;

	va_start(ap, arg0);
	while (n < BENCH_MAX_ARGS && (argv[n] = va_arg(ap, const char *)))
		n++;
	va_end(ap);
	argv[n] = NULL;
	cmdline(argv, line, sizeof(line));

	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		err = -errno;
		bench_err("fork for '%s': %s", line, strerror(errno));
		return err;
	}
	if (pid == 0) {
		child_setup(parent);
		exec_child(argv, quiet);
	}
	child_track(pid);
	err = bench_wait(pid, timeout_ms, &status);
	if (err) {
		if (!quiet)
			bench_err("'%s': %s", line, err == -ETIMEDOUT ? "timed out, killed" : strerror(-err));
		return err;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (!quiet) {
		if (WIFEXITED(status))
			bench_err("'%s' failed: exit status %d", line, WEXITSTATUS(status));
		else
			bench_err("'%s' failed: killed by signal %d", line, WTERMSIG(status));
	}
	return -EIO;
}

int bench_netns_add(const char *name)
{
	int err = bench_run(10000, false, "ip", "netns", "add", name, NULL);

	if (err)
		return err;
	err = bench_run(10000, false, "ip", "-n", name, "link", "set", "lo", "up", NULL);
	if (err)
		bench_netns_del(name);
	return err;
}

int bench_netns_del(const char *name)
{
	return bench_run(10000, true, "ip", "netns", "del", name, NULL);
}

/* ---- the daemon and other programs ------------------------------------- */

pid_t bench_exec(const char *const *argv, const char *out)
{
	pid_t parent = getpid(), pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int fd, null;

		child_setup(parent);
		fd = open(out, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		null = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (null >= 0)
			dup2(null, STDIN_FILENO);
		if (fd >= 0) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
		}
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	child_track(pid);
	return pid;
}

int bench_reap(pid_t pid, int *status)
{
	int st = 0, r = try_reap(pid, &st);

	if (r == 1) {
		child_untrack(pid);
		if (status)
			*status = st;
	}
	return r;
}

int bench_time_left(uint64_t deadline)
{
	if (bench_stop)
		return -EINTR;
	if (bench_now_ns() > deadline) {
		bench_err("time budget used up: stopping");
		return -ETIME;
	}
	return 0;
}

void bench_stop_child(pid_t *pid, int sig)
{
	if (*pid > 0) {
		kill(*pid, sig);
		bench_wait(*pid, 5000, NULL);
	}
	*pid = 0;
}

/* ---- a client's reply over a pipe -------------------------------------- */

int bench_reply_write(int fd, const void *res, size_t len, const uint32_t *samples, uint32_t n)
{
	if (write(fd, res, len) != (ssize_t)len)
		return 1;
	if (n && write(fd, samples, n * sizeof(uint32_t)) != (ssize_t)(n * sizeof(uint32_t)))
		return 1;
	return 0;
}

size_t bench_read_full(int fd, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t k = read(fd, (char *)buf + got, len - got);

		if (k <= 0)
			break;
		got += (size_t)k;
	}
	return got;
}

/* ---- files and paths ----------------------------------------------------- */

int bench_pathf(const char *part, char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= len) {
		bench_err("%s%spath too long: %s...", part ? part : "", part ? ": " : "", buf);
		return -ENAMETOOLONG;
	}
	return 0;
}

bool bench_sibling(const char *name, char *out, size_t len)
{
	char self[PATH_MAX], *slash;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n > 0) {
		self[n] = 0;
		slash = strrchr(self, '/');
		if (slash) {
			*slash = 0;
			if ((size_t)snprintf(out, len, "%s/%s", self, name) < len && !access(out, X_OK))
				return true;
		}
	}
	if ((size_t)snprintf(self, sizeof(self), "build/%s", name) < sizeof(self) && len >= PATH_MAX &&
	    realpath(self, out) && !access(out, X_OK))
		return true;
	return false;
}

int bench_write_file(const char *part, const char *path, const char *text)
{
	FILE *f = fopen(path, "we");

	if (!f || fputs(text, f) < 0) {
		if (f)
			fclose(f);
		bench_err("%s%scannot write %s", part ? part : "", part ? ": " : "", path);
		return -EIO;
	}
	return fclose(f) ? -EIO : 0;
}

int bench_wait_text(const char *path, const char *what, pid_t pid, int ms, int poll_ms)
{
	uint64_t end = bench_now_ns() + (uint64_t)ms * 1000000ull;

	while (bench_now_ns() < end && !bench_stop) {
		static char buf[65536];
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;

		if (fd >= 0)
			close(fd);
		if (n > 0) {
			buf[n] = 0;
			if (strstr(buf, what))
				return 0;
		}
		if (pid > 0 && bench_reap(pid, NULL) == 1)
			return -ECHILD;
		bench_sleep_ms(poll_ms);
	}
	return bench_stop ? -EINTR : -ETIMEDOUT;
}

/* ---- two namespaces joined by a veth pair -------------------------------- */

int bench_netpair_up(const char *tag, char *ns_c, size_t ns_c_len, char *ns_w, size_t ns_w_len, bool *c_made,
		     bool *w_made, const char *client_cidr, const char *world_cidr)
{
	char vc[16], vw[16];
	int err;

	snprintf(ns_c, ns_c_len, "nmbench-%d-%sc", (int)getpid(), tag);
	snprintf(ns_w, ns_w_len, "nmbench-%d-%sw", (int)getpid(), tag);
	snprintf(vc, sizeof(vc), "nb%s%dc", tag, (int)getpid() % 10000000);
	snprintf(vw, sizeof(vw), "nb%s%dw", tag, (int)getpid() % 10000000);
	if ((err = bench_netns_add(ns_c)))
		return err;
	*c_made = true;
	if ((err = bench_netns_add(ns_w)))
		return err;
	*w_made = true;
	if ((err = bench_run(5000, false, "ip", "link", "add", vc, "netns", ns_c, "type", "veth", "peer", "name", vw,
			     "netns", ns_w, NULL)) ||
	    (err = bench_run(5000, false, "ip", "-n", ns_c, "addr", "add", client_cidr, "dev", vc, NULL)) ||
	    (err = bench_run(5000, false, "ip", "-n", ns_w, "addr", "add", world_cidr, "dev", vw, NULL)) ||
	    (err = bench_run(5000, false, "ip", "-n", ns_c, "link", "set", vc, "up", NULL)) ||
	    (err = bench_run(5000, false, "ip", "-n", ns_w, "link", "set", vw, "up", NULL)))
		return err;
	return 0;
}

void bench_netpair_down(const char *ns_c, bool *c_made, const char *ns_w, bool *w_made)
{
	if (*c_made && bench_netns_del(ns_c))
		bench_err("cleanup: cannot delete netns %s", ns_c);
	*c_made = false;
	if (*w_made && bench_netns_del(ns_w))
		bench_err("cleanup: cannot delete netns %s", ns_w);
	*w_made = false;
}

void bench_print_target(const char *name, double v, int prec, const char *target)
{
	size_t oplen = strspn(target, "<>=");
	double t = strtod(target + oplen, NULL);
	bool met;

	if (oplen == 2 && target[0] == '<')
		met = v <= t;
	else if (oplen == 2)
		met = v >= t;
	else if (target[0] == '<')
		met = v < t;
	else
		met = v > t;
	printf(" %s=%.*f %s_target=%s %s_met=%s", name, prec, v, name, target, name, met ? "yes" : "no");
}

void bench_print_limit(const char *name, double v, int prec, bool at_least, double limit)
{
	char t[48];

	snprintf(t, sizeof(t), "%s%g", at_least ? ">=" : "<=", limit);
	bench_print_target(name, v, prec, t);
}
