/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Files: a whole file read with a size bound (the policy file and its
 * includes, rules files, /proc/PID/cgroup), and mkdir -p.
 */
#ifndef NM_FILES_H
#define NM_FILES_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#define NM_READ_REGULAR 1 /* only a regular file: a FIFO is refused, not waited on */
#define NM_WHY_LEN 160    /* enough for any nm_read_* reason */

/*
 * All of fd, at most max bytes, into a new NUL-terminated buffer (free()
 * it); hint: the expected size (0: unknown).  0 and *out, *len; or
 * -EFBIG (more than max bytes), -ENOMEM, -errno, with why set ("file too
 * large (more than N bytes)", "out of memory", strerror).
 */
int nm_read_fd(int fd, size_t max, size_t hint, char **out, size_t *len, char *why, size_t wl);

/*
 * The file at path, as nm_read_fd; st (may be NULL) gets its fstat.
 * A directory is -EISDIR ("is a directory"); with NM_READ_REGULAR anything
 * else not a regular file is -EINVAL ("not a regular file"); a file whose
 * size is over max is -EFBIG ("file too large (N bytes, at most M)")
 * before anything is read.
 */
int nm_read_file(const char *path, size_t max, int flags, char **out, size_t *len, struct stat *st,
		 char *why, size_t wl);

/*
 * mkdir -p with mode: every directory named along path after its first
 * keep bytes (those are taken to exist), the last component too unless
 * parents_only.  One that exists already is fine.  0 or -errno of the first
 * that cannot be made.
 */
int nm_mkdirs(const char *path, size_t keep, bool parents_only, mode_t mode);

#endif
