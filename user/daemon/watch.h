/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Noticing cgroups appear and disappear below a set of cgroup2 directories
 * (the "roots"), with inotify, for nomoatd's epoll loop.
 *
 * Every directory of each root's subtree carries an inotify watch
 * (IN_CREATE | IN_DELETE | IN_DELETE_SELF | IN_MOVED_FROM | IN_MOVED_TO |
 * IN_ONLYDIR).  A new directory is opened, watched through its fd, and
 * then listed, so children made before its watch existed are found too.
 * Files (cgroup.procs, ...) are ignored.  cgroupfs sends no IN_DELETE_SELF
 * on rmdir: a removal is seen as IN_DELETE in the parent, so the parent of
 * each root is watched too (a "guard": only the root's removal counts
 * there, nothing else of it is reported).
 *
 * Reports, through a callback (kind, absolute path, ctx):
 *   NM_WATCH_ADDED    a cgroup below a root now exists.  From
 *                     nm_watch_read: exactly once per directory incarnation
 *                     (a watch descriptor), parents before children.
 *   NM_WATCH_REMOVED  a cgroup reported before is gone (also a root: it is
 *                     then forgotten).  Deepest first when several go.
 *   NM_WATCH_RESCAN   the kernel queue overflowed (IN_Q_OVERFLOW) and events
 *                     were lost; path is "".  A rescan follows in the same
 *                     call, exactly like nm_watch_scan: REMOVED for every
 *                     known cgroup that is gone, then ADDED for every
 *                     existing one, known or not.  Reconcile with it.
 * A root is never reported ADDED, unless it also lies below another root.
 * Events are checked against the file system (open, stat), so a cgroup
 * made and removed before the events are read may never be reported at
 * all, and a late event about an earlier cgroup of the same name changes
 * nothing: reports always describe directories that really were there.
 *
 * The callback must not call nm_watch_* functions on the same watch.
 * Memory: one entry (about 80 bytes plus the path) per watched directory,
 * freed when it goes; at most NM_WATCH_MAX_DIRS directories (the kernel's
 * fs.inotify.max_user_watches may stop it earlier: -ENOSPC).  Subtrees
 * deeper than NM_WATCH_MAX_DEPTH below a root are not watched (-ELOOP).
 * Needs /proc (watches are added through /proc/self/fd/N).  Roots should
 * all be on one cgroup2 mount.  Not thread-safe.
 */
#ifndef NM_WATCH_H
#define NM_WATCH_H

#include <stddef.h>

#define NM_WATCH_ADDED   1
#define NM_WATCH_REMOVED 2
#define NM_WATCH_RESCAN  3

#define NM_WATCH_MAX_DEPTH 64         /* directory levels below a root */
#define NM_WATCH_MAX_DIRS  (1u << 20) /* watched directories in all */

typedef void (*nm_watch_fn)(int kind, const char *abs_path, void *ctx);

struct nm_wentry;

struct nm_watch {
	int fd;                     /* inotify, non-blocking, close-on-exec */
	/* private */
	struct nm_wentry **buckets; /* by watch descriptor, then by path */
	size_t nbuckets;
	size_t count;               /* entries, guards included */
	size_t nguards;
	char *buf;                  /* event buffer */
	nm_watch_fn fn;             /* during a call */
	void *ctx;
	long reports;
	int first_err;
};

/* 0, or -errno (inotify_init1, -ENOMEM).  nm_watch_close() afterwards in
 * every case is safe. */
int nm_watch_open(struct nm_watch *w);
void nm_watch_close(struct nm_watch *w);

/* The fd to poll for EPOLLIN (level-triggered is simplest: nm_watch_read
 * reads a bounded amount per call). */
int nm_watch_fd(const struct nm_watch *w);

/* Watch abs_dir (absolute, a cgroup2 directory; trailing slashes ignored)
 * and everything below it, reporting nothing (follow with nm_watch_scan).
 * Adding a root twice, or one inside another, is harmless.  0; -EINVAL
 * (relative path, or not on cgroup2), -ENOENT, -ENOTDIR, -ENAMETOOLONG,
 * -ENOSPC (watch limit), ...: for the root itself nothing is kept; for a
 * directory below it (or the root's parent, the guard), the rest is still
 * watched and the first such error is returned. */
int nm_watch_add_tree(struct nm_watch *w, const char *abs_dir);

/* Drain the queued events (at most 64 reads of 64 KiB per call), reporting
 * through fn.  Returns the number of reports (>= 0); -errno when reading
 * fails; or, after every event was handled, the first -errno of a
 * directory that could not be watched (-ENOSPC, -ELOOP, ...), so the
 * caller can log it: the watch stays usable either way. */
int nm_watch_read(struct nm_watch *w, nm_watch_fn fn, void *ctx);

/* Start-up reconciliation: REMOVED for every known cgroup that is gone,
 * then ADDED for every cgroup below the roots (also those known: every
 * existing one is reported once per call), watching any new ones.
 * Returns like nm_watch_read. */
int nm_watch_scan(struct nm_watch *w, nm_watch_fn fn, void *ctx);

/* Watched cgroups, roots included, guards not. */
size_t nm_watch_count(const struct nm_watch *w);

#endif
