// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Files: bounded whole-file reads and mkdir -p (see files.h). */
#include "files.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int fail(int err, char *why, size_t wl, const char *text)
{
	if (why && wl)
		snprintf(why, wl, "%s", text ? text : strerror(-err));
	return err;
}

int nm_read_fd(int fd, size_t max, size_t hint, char **out, size_t *len, char *why, size_t wl)
{
	size_t cap = (hint < max ? hint : max) + 1, n = 0;
	char *buf;

	if (cap < 4096)
		cap = 4096;
	buf = malloc(cap);
	if (!buf)
		return fail(-ENOMEM, why, wl, "out of memory");
	/* every round reads or ends the loop; the buffer stops at max + 2 */
	for (;;) {
		ssize_t r;

		if (n + 1 >= cap) {
			size_t nc = cap * 2 > max + 2 ? max + 2 : cap * 2;
			char *b = realloc(buf, nc);

			if (!b) {
				free(buf);
				return fail(-ENOMEM, why, wl, "out of memory");
			}
			buf = b;
			cap = nc;
		}
		r = read(fd, buf + n, cap - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int err = -errno;

			free(buf);
			return fail(err, why, wl, NULL);
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > max) {
			free(buf);
			if (why && wl)
				snprintf(why, wl, "file too large (more than %zu bytes)", max);
			return -EFBIG;
		}
	}
	buf[n] = 0;
	*out = buf;
	*len = n;
	return 0;
}

int nm_read_file(const char *path, size_t max, int flags, char **out, size_t *len, struct stat *st,
		 char *why, size_t wl)
{
	struct stat own;
	int fd, err;

	if (!st)
		st = &own;
	/* O_NONBLOCK: opening a FIFO must not hang (it is refused below) */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | (flags & NM_READ_REGULAR ? O_NONBLOCK : 0));
	if (fd < 0)
		return fail(-errno, why, wl, NULL);
	if (fstat(fd, st)) {
		err = fail(-errno, why, wl, NULL);
	} else if (S_ISDIR(st->st_mode)) {
		err = fail(-EISDIR, why, wl, "is a directory");
	} else if ((flags & NM_READ_REGULAR) && !S_ISREG(st->st_mode)) {
		err = fail(-EINVAL, why, wl, "not a regular file");
	} else if (S_ISREG(st->st_mode) && st->st_size > (off_t)max) {
		if (why && wl)
			snprintf(why, wl, "file too large (%lld bytes, at most %zu)", (long long)st->st_size, max);
		err = -EFBIG;
	} else {
		err = nm_read_fd(fd, max, S_ISREG(st->st_mode) ? (size_t)st->st_size : 0, out, len, why, wl);
	}
	close(fd);
	return err;
}

int nm_mkdirs(const char *path, size_t keep, bool parents_only, mode_t mode)
{
	char p[PATH_MAX];
	size_t n = strlen(path);

	if (n >= sizeof(p))
		return -ENAMETOOLONG;
	memcpy(p, path, n + 1);
	for (char *s = p + keep; keep < n && (s = strchr(s + 1, '/'));) {
		*s = 0;
		if (mkdir(p, mode) && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	if (!parents_only && mkdir(p, mode) && errno != EEXIST)
		return -errno;
	return 0;
}
