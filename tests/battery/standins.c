/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * standins.c - listeners where nomoatd's own ports would be, so the agent
 * has something real to reach: its metrics on loopback TCP
 * (127.0.0.1:9100 and [::1]:9100, the daemon and the sandbox sharing a
 * network namespace as with `nomoat run`), and its event and metrics unix
 * sockets (root-only, 0600 in a 0700 directory, as the daemon makes them).
 * nomoat judges by address, so a stand-in at the same address is reached
 * exactly when the daemon would be.  Each answers one line,
 * "HELLO daemon-<what>", and closes.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "battery.h"
#include "run.h"
#include "topo.h"

struct standin_arg {
	const char *run_dir;
	int ready;
};

#define NSTAND 4

static int listen_tcp(const char *addr)
{
	struct sockaddr_storage ss;
	int one = 1, len = nmt_sa_make(&ss, addr, NMB_METRICS_PORT, false);
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) || listen(fd, 16)) {
		close(fd);
		return -1;
	}
	return fd;
}

static int listen_unix(const char *dir, const char *name)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	mode_t old;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%s", dir, name);
	unlink(sun.sun_path);
	old = umask(0177);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) || listen(fd, 16)) {
		umask(old);
		close(fd);
		return -1;
	}
	umask(old);
	return fd;
}

static int standins_main(void *p)
{
	struct standin_arg *sa = p;
	const char *what[NSTAND] = { "daemon-metrics", "daemon-metrics", "daemon-events", "daemon-metrics" };
	struct pollfd pfd[NSTAND];
	int fds[NSTAND];

	prctl(PR_SET_NAME, "nmb-standins");
	fds[0] = listen_tcp("127.0.0.1");
	fds[1] = listen_tcp("::1");
	fds[2] = listen_unix(sa->run_dir, "events.sock");
	fds[3] = listen_unix(sa->run_dir, "metrics.sock");
	for (int i = 0; i < NSTAND; i++) {
		if (fds[i] < 0) {
			if (write(sa->ready, "ERR\n", 4) < 0)
				return 1;
			return 1;
		}
		pfd[i] = (struct pollfd){ .fd = fds[i], .events = POLLIN };
	}
	if (write(sa->ready, "READY\n", 6) < 0)
		return 1;
	close(sa->ready);
	for (;;) {
		if (poll(pfd, NSTAND, -1) <= 0)
			continue;
		for (int i = 0; i < NSTAND; i++) {
			char line[64];
			int c;

			if (!(pfd[i].revents & POLLIN))
				continue;
			c = accept4(fds[i], NULL, NULL, SOCK_CLOEXEC);
			if (c < 0)
				continue;
			snprintf(line, sizeof(line), "HELLO %s\n", what[i]);
			if (write(c, line, strlen(line)) < 0) {
				/* gone */
			}
			close(c);
		}
	}
	return 0;
}

pid_t nmb_standins_start(const char *cgroup, const char *netns, const char *run_dir)
{
	struct standin_arg sa = { run_dir, -1 };
	struct pollfd pfd;
	char ready[8] = "";
	int p[2];
	ssize_t k;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC))
		return -errno;
	sa.ready = p[1];
	pid = nmt_spawn(cgroup, netns, standins_main, &sa);
	close(p[1]);
	if (pid < 0) {
		close(p[0]);
		return pid;
	}
	pfd = (struct pollfd){ .fd = p[0], .events = POLLIN };
	k = poll(&pfd, 1, 3000) == 1 ? read(p[0], ready, sizeof(ready) - 1) : -1;
	ready[k > 0 ? k : 0] = 0;
	close(p[0]);
	return strncmp(ready, "READY", 5) ? -EIO : pid;
}
