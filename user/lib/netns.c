// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "netns.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <unistd.h>

int nm_netns_enter(const char *name)
{
	char p[PATH_MAX];
	int fd, err = 0;

	if ((size_t)snprintf(p, sizeof(p), "/run/netns/%s", name) >= sizeof(p))
		return -ENAMETOOLONG;
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (setns(fd, CLONE_NEWNET))
		err = -errno;
	close(fd);
	return err;
}
