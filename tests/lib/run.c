// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "run.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"
#include "netns.h"

int nmt_verbose;

/* ---- the child registry ------------------------------------------------ */
#define NMT_MAX_CHILDREN 256
static volatile pid_t children[NMT_MAX_CHILDREN];

void nmt_child_track(pid_t pid)
{
	for (int i = 0; i < NMT_MAX_CHILDREN; i++) {
		if (!children[i]) {
			children[i] = pid;
			return;
		}
	}
	fprintf(stderr, "nmt: child registry full, pid %d untracked\n", (int)pid);
}

void nmt_child_untrack(pid_t pid)
{
	for (int i = 0; i < NMT_MAX_CHILDREN; i++)
		if (children[i] == pid)
			children[i] = 0;
}

long long nmt_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

void nmt_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

int nmt_wait(pid_t pid, int timeout_ms)
{
	long long end = nmt_now_ms() + timeout_ms;
	int status;

	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid) {
			nmt_child_untrack(pid);
			return status;
		}
		if (r < 0 && errno != EINTR) {
			int e = errno;

			nmt_child_untrack(pid);
			return -e;
		}
		if (nmt_now_ms() >= end)
			break;
		nmt_sleep_ms(5);
	}
	kill(pid, SIGKILL);
	/* SIGKILL cannot be ignored; the reap is bounded anyway. */
	for (int i = 0; i < 400; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			break;
		nmt_sleep_ms(5);
	}
	nmt_child_untrack(pid);
	return -ETIMEDOUT;
}

void nmt_children_kill(void)
{
	for (int i = 0; i < NMT_MAX_CHILDREN; i++)
		if (children[i] > 0)
			kill(children[i], SIGKILL);
	for (int i = 0; i < NMT_MAX_CHILDREN; i++) {
		pid_t pid = children[i];

		if (pid <= 0)
			continue;
		for (int k = 0; k < 400; k++) {
			pid_t r = waitpid(pid, NULL, WNOHANG);

			if (r == pid || (r < 0 && errno == ECHILD))
				break;
			nmt_sleep_ms(5);
		}
		children[i] = 0;
	}
}

/* What every child does first. */
static void child_setup(void)
{
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
}

/* ---- commands ---------------------------------------------------------- */
int nmt_split(char *line, char **argv, int max)
{
	int argc = 0;
	char *p = line;

	while (*p) {
		char *w;

		while (*p == ' ' || *p == '\t' || *p == '\n')
			p++;
		if (!*p)
			break;
		if (argc >= max - 1)
			return -E2BIG;
		if (*p == '\'') {
			w = ++p;
			while (*p && *p != '\'')
				p++;
		} else {
			w = p;
			while (*p && *p != ' ' && *p != '\t' && *p != '\n')
				p++;
		}
		if (*p)
			*p++ = 0;
		argv[argc++] = w;
	}
	argv[argc] = NULL;
	return argc;
}

pid_t nmt_cmd_start(char *const argv[], int *outfd, int *errfd)
{
	int po[2] = { -1, -1 }, pe[2] = { -1, -1 };
	pid_t pid;

	if (pipe2(po, O_CLOEXEC))
		return -errno;
	if (errfd && pipe2(pe, O_CLOEXEC)) {
		int e = errno;

		close(po[0]);
		close(po[1]);
		return -e;
	}
	pid = fork();
	if (pid < 0) {
		int e = errno;

		close(po[0]);
		close(po[1]);
		if (errfd) {
			close(pe[0]);
			close(pe[1]);
		}
		return -e;
	}
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDONLY);

		child_setup();
		if (devnull >= 0)
			dup2(devnull, 0);
		dup2(po[1], 1);
		if (errfd)
			dup2(pe[1], 2);
		execvp(argv[0], argv);
		fprintf(stderr, "nmt: exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	nmt_child_track(pid);
	close(po[1]);
	*outfd = po[0];
	if (errfd) {
		close(pe[1]);
		*errfd = pe[0];
	}
	return pid;
}

size_t nmt_read_all(int fd, char *buf, size_t len, int timeout_ms)
{
	long long end = nmt_now_ms() + timeout_ms;
	size_t n = 0;

	if (!len)
		return 0;
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		long long left = end - nmt_now_ms();
		char scratch[512];
		ssize_t r;

		if (left <= 0)
			break;
		if (poll(&pfd, 1, (int)left) <= 0)
			continue;
		if (n < len - 1)
			r = read(fd, buf + n, len - 1 - n);
		else
			r = read(fd, scratch, sizeof(scratch)); /* discard the rest */
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (n < len - 1)
			n += r;
	}
	buf[n] = 0;
	return n;
}

int nmt_cmdv(char *const argv[], char *out, size_t outlen, char *err, size_t errlen,
	     int timeout_ms)
{
	int ofd = -1, efd = -1, status;
	size_t on = 0, en = 0;
	long long end = nmt_now_ms() + timeout_ms;
	pid_t pid;
	char scratch[512];

	if (nmt_verbose) {
		fprintf(stderr, "  +");
		for (int i = 0; argv[i]; i++)
			fprintf(stderr, " %s", argv[i]);
		fprintf(stderr, "\n");
	}
	pid = nmt_cmd_start(argv, &ofd, &efd);
	if (pid < 0)
		return pid;
	/* Drain both pipes until both reach EOF or the deadline. */
	while (ofd >= 0 || efd >= 0) {
		struct pollfd pfd[2];
		int n = 0, io = -1, ie = -1;
		long long left = end - nmt_now_ms();

		if (left <= 0)
			break;
		if (ofd >= 0) {
			pfd[n] = (struct pollfd){ .fd = ofd, .events = POLLIN };
			io = n++;
		}
		if (efd >= 0) {
			pfd[n] = (struct pollfd){ .fd = efd, .events = POLLIN };
			ie = n++;
		}
		if (poll(pfd, n, (int)left) <= 0)
			continue;
		for (int k = 0; k < n; k++) {
			int *fdp = k == io ? &ofd : &efd;
			char *buf = k == io ? out : err;
			size_t len = k == io ? outlen : errlen;
			size_t *got = k == io ? &on : &en;
			ssize_t r;

			(void)ie;
			if (!(pfd[k].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (buf && *got + 1 < len)
				r = read(*fdp, buf + *got, len - 1 - *got);
			else
				r = read(*fdp, scratch, sizeof(scratch));
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				close(*fdp);
				*fdp = -1;
				continue;
			}
			if (buf && *got + 1 < len)
				*got += r;
		}
	}
	if (ofd >= 0)
		close(ofd);
	if (efd >= 0)
		close(efd);
	if (out && outlen)
		out[on] = 0;
	if (err && errlen)
		err[en] = 0;
	{
		long long left = end - nmt_now_ms();

		status = nmt_wait(pid, left > 0 ? (int)left : 1);
	}
	if (status < 0)
		return status;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

static int run_va(int quiet, const char *fmt, va_list ap)
{
	char line[2048], copy[2048], out[4096], err[4096];
	char *argv[128];
	int rc;

	vsnprintf(line, sizeof(line), fmt, ap);
	snprintf(copy, sizeof(copy), "%s", line);
	if (nmt_split(copy, argv, 128) <= 0)
		return -EINVAL;
	rc = nmt_cmdv(argv, out, sizeof(out), err, sizeof(err), 10000);
	if (rc && !quiet) {
		size_t n = strlen(err);

		while (n && err[n - 1] == '\n')
			err[--n] = 0;
		fprintf(stderr, "nmt: command failed (%s): %s%s%s\n",
			rc == -ETIMEDOUT ? "timed out" : rc < 0 ? strerror(-rc) : "exit code",
			line, *err ? ": " : "", err);
		if (rc > 0)
			fprintf(stderr, "nmt:   exit code %d\n", rc);
	}
	return rc;
}

int nmt_run(const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = run_va(0, fmt, ap);
	va_end(ap);
	return rc;
}

int nmt_run_quiet(const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = run_va(1, fmt, ap);
	va_end(ap);
	return rc;
}

/* ---- namespaces and cgroups -------------------------------------------- */
pid_t nmt_spawn(const char *cgroup, const char *netns, int (*fn)(void *), void *arg)
{
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int err;

		child_setup();
		/* The cgroup first: entering the netns is harmless to the
		 * cgroup path, but the order is the one that always works. */
		if (cgroup) {
			err = nm_cgroup_enter(cgroup, 0);
			if (err) {
				fprintf(stderr, "nmt: child: enter cgroup %s: %s\n", cgroup,
					strerror(-err));
				_exit(126);
			}
		}
		if (netns) {
			err = nm_netns_enter(netns);
			if (err) {
				fprintf(stderr, "nmt: child: enter netns %s: %s\n", netns,
					strerror(-err));
				_exit(126);
			}
		}
		_exit(fn(arg) & 0xff);
	}
	nmt_child_track(pid);
	return pid;
}

static int rm_cb(const char *p, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (type == FTW_DP || type == FTW_D)
		rmdir(p);
	else
		unlink(p);
	return 0;
}

int nmt_rmtree(const char *path)
{
	if (access(path, F_OK))
		return errno == ENOENT ? 0 : -errno;
	nftw(path, rm_cb, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
	return access(path, F_OK) ? 0 : -EBUSY;
}

int nmt_json_get(const char *obj, const char *key, char *val, size_t len)
{
	char pat[128];
	const char *p = obj;
	size_t n = 0;

	snprintf(pat, sizeof(pat), "\"%s\"", key);
	for (;;) {
		p = strstr(p, pat);
		if (!p)
			return -ENOENT;
		p += strlen(pat);
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == ':')
			break; /* a key, not a value equal to the key's name */
	}
	p++;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '"') {
		for (p++; *p && *p != '"'; p++) {
			char c = *p;

			if (c == '\\' && p[1]) {
				p++;
				switch (*p) {
				case 'n': c = '\n'; break;
				case 't': c = '\t'; break;
				case 'u': c = '\\'; p--; break;
				default: c = *p;
				}
			}
			if (n + 1 < len)
				val[n++] = c;
		}
	} else {
		while (*p && *p != ',' && *p != '}' && *p != ' ' && *p != '\n') {
			if (n + 1 < len)
				val[n++] = *p;
			p++;
		}
	}
	if (len)
		val[n] = 0;
	return 0;
}
