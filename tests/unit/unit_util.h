/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * unit_util.h - helpers shared by the unit tests of the daemon's socket
 * servers (test_evserver.c, test_metrics.c): a fixture's temporary
 * directory and epoll fd, running the epoll loop, connecting to a unix
 * socket and reading what a socket has; the README, for tests that hold
 * the code to what it says.  Failures end the test (cmocka).
 */
#ifndef NM_UNIT_UTIL_H
#define NM_UNIT_UTIL_H

#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include <unistd.h>
#include <linux/types.h>
#include <cmocka.h>

#include "evserver.h" /* nm_epoll_tag(), nm_epoll_fd() */

/* A fixture's temporary directory dir ("/tmp/<prefix>-XXXXXX"), the path
 * <dir>/<name> of its socket and an epoll fd.  0, or -1 on failure. */
static inline int ut_fx_dir(char *dir, size_t dlen, const char *prefix, char *path, size_t plen, const char *name,
			    int *epfd)
{
	snprintf(dir, dlen, "/tmp/%s-XXXXXX", prefix);
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, plen, "%s/%s", dir, name);
	*epfd = epoll_create1(EPOLL_CLOEXEC);
	return *epfd < 0 ? -1 : 0;
}

/* Run the epoll loop until it is quiet for `ms`: every event must carry
 * tag, and goes to handle(server, fd, events). */
static inline void ut_pump(int epfd, __u32 tag, int ms, void (*handle)(void *server, int fd, __u32 events),
			   void *server)
{
	struct epoll_event ev[16];

	for (int round = 0; round < 10000; round++) {
		int n = epoll_wait(epfd, ev, 16, ms);

		if (n <= 0)
			return;
		for (int i = 0; i < n; i++) {
			assert_int_equal(nm_epoll_tag(ev[i].data.u64), tag);
			handle(server, nm_epoll_fd(ev[i].data.u64), ev[i].events);
		}
	}
	fail_msg("epoll loop never went quiet");
}

/* A client connected to the unix stream socket at path. */
static inline int ut_connect_unix(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* What fd has now (no waiting), appended at buf[*len], which grows; the
 * buffer (cap bytes) must keep room for a final NUL.  recv()'s result. */
static inline ssize_t ut_recv_more(int fd, char *buf, size_t *len, size_t cap)
{
	ssize_t r = recv(fd, buf + *len, cap - 1 - *len, MSG_DONTWAIT);

	if (r > 0) {
		*len += (size_t)r;
		assert_true(*len < cap - 1);
	}
	return r;
}

/* The README beside the tree: from the working directory (make test runs
 * at the top), else two levels above the binary (build/tests/). */
static inline FILE *ut_open_readme(void)
{
	char exe[PATH_MAX], path[PATH_MAX + 32];
	ssize_t n;
	FILE *f = fopen("README.md", "re");

	if (f)
		return f;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return NULL;
	exe[n] = 0;
	for (int up = 0; up < 3; up++) {
		char *s = strrchr(exe, '/');

		if (!s)
			return NULL;
		*s = 0;
	}
	snprintf(path, sizeof(path), "%s/README.md", exe);
	return fopen(path, "re");
}

#endif
