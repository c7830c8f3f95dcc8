// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * cgroup appearance/disappearance with inotify (see watch.h).
 *
 * The table maps a watch descriptor to the directory it watches: the path,
 * the inode (to tell a directory from a later one of the same name) and
 * its depth below its root.  ADDED is reported when a watch descriptor
 * first enters the table, REMOVED when it leaves (IN_DELETE_SELF or
 * IN_IGNORED of its own watch, a move away, or a rescan finding the path
 * gone or another inode there), so each incarnation is reported once.
 * inotify hands out watch descriptors cyclically: one is not reused while
 * the table could still hold it.
 */
#include "watch.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <linux/magic.h>

#define WATCH_MASK (IN_CREATE | IN_DELETE | IN_DELETE_SELF | IN_MOVED_FROM | \
		    IN_MOVED_TO | IN_ONLYDIR)
#define GONE_MASK  (IN_DELETE_SELF | IN_IGNORED | IN_UNMOUNT)
#define BUF_LEN    (64u << 10)
#define READS_MAX  64    /* reads of BUF_LEN per nm_watch_read */
#define BUCKETS_MIN 64

enum mode {
	M_SILENT, /* nm_watch_add_tree: report nothing */
	M_EVENT,  /* an event: report what is new */
	M_SCAN,   /* a scan: report everything */
};

struct nm_wentry {
	struct nm_wentry *next;
	int wd;
	int depth;  /* below its root; 0 for a root */
	bool root;
	dev_t dev;
	ino_t ino;
	size_t plen;
	char path[];
};

/* ---- reports and errors ------------------------------------------------- */

static void report(struct nm_watch *w, int kind, const char *path)
{
	if (w->fn)
		w->fn(kind, path, w->ctx);
	w->reports++;
}

/* A directory that could not be watched: remember the first reason. */
static void note_err(struct nm_watch *w, int err)
{
	if (!w->first_err)
		w->first_err = err;
}

/* A directory gone before we got to it is no error. */
static bool vanished(int err)
{
	return err == -ENOENT || err == -ENOTDIR;
}

/* ---- the table ---------------------------------------------------------- */

static size_t bucket(const struct nm_watch *w, int wd)
{
	return (size_t)(unsigned int)wd & (w->nbuckets - 1);
}

static struct nm_wentry *lookup(const struct nm_watch *w, int wd)
{
	struct nm_wentry *e = w->buckets[bucket(w, wd)];

	/* chains are short: the table grows at one entry per bucket */
	while (e && e->wd != wd)
		e = e->next;
	return e;
}

static int grow(struct nm_watch *w)
{
	size_t nb = w->nbuckets * 2, old = w->nbuckets;
	struct nm_wentry **b = calloc(nb, sizeof(*b)), **ob = w->buckets;

	if (!b)
		return -ENOMEM;
	w->buckets = b;
	w->nbuckets = nb;
	for (size_t i = 0; i < old; i++) {
		struct nm_wentry *e = ob[i], *next;

		for (; e; e = next) {
			next = e->next;
			e->next = b[bucket(w, e->wd)];
			b[bucket(w, e->wd)] = e;
		}
	}
	free(ob);
	return 0;
}

static void unlink_entry(struct nm_watch *w, struct nm_wentry *e)
{
	struct nm_wentry **pp = &w->buckets[bucket(w, e->wd)];

	while (*pp && *pp != e)
		pp = &(*pp)->next;
	if (*pp) {
		*pp = e->next;
		w->count--;
	}
	free(e);
}

static struct nm_wentry *insert(struct nm_watch *w, int wd, const char *path, size_t plen,
				const struct stat *st, int depth)
{
	struct nm_wentry *e;

	if (w->count >= NM_WATCH_MAX_DIRS)
		return NULL;
	if (w->count + 1 > w->nbuckets && grow(w))
		return NULL;
	e = malloc(sizeof(*e) + plen + 1);
	if (!e)
		return NULL;
	e->wd = wd;
	e->depth = depth;
	e->root = false;
	e->dev = st->st_dev;
	e->ino = st->st_ino;
	e->plen = plen;
	memcpy(e->path, path, plen + 1);
	e->next = w->buckets[bucket(w, wd)];
	w->buckets[bucket(w, wd)] = e;
	w->count++;
	return e;
}

/* Every entry matching keep(e, arg), in an array (caller frees). */
static struct nm_wentry **collect(struct nm_watch *w, bool (*keep)(const struct nm_wentry *, const void *),
				  const void *arg, size_t *n)
{
	struct nm_wentry **v = malloc((w->count + 1) * sizeof(*v));

	*n = 0;
	if (!v)
		return NULL;
	for (size_t i = 0; i < w->nbuckets; i++)
		for (struct nm_wentry *e = w->buckets[i]; e && *n < w->count; e = e->next)
			if (keep(e, arg))
				v[(*n)++] = e;
	return v;
}

static int deeper_first(const void *a, const void *b)
{
	const struct nm_wentry *x = *(struct nm_wentry *const *)a;
	const struct nm_wentry *y = *(struct nm_wentry *const *)b;

	if (x->plen != y->plen)
		return x->plen > y->plen ? -1 : 1;
	return strcmp(x->path, y->path);
}

/* Report REMOVED for each (deepest first), stop watching, forget them. */
static void drop_all(struct nm_watch *w, struct nm_wentry **v, size_t n)
{
	qsort(v, n, sizeof(*v), deeper_first);
	for (size_t i = 0; i < n; i++) {
		report(w, NM_WATCH_REMOVED, v[i]->path);
		/* may be gone already (EINVAL): its IN_IGNORED finds nothing */
		inotify_rm_watch(w->fd, v[i]->wd);
		unlink_entry(w, v[i]);
	}
}

/* ---- adding directories ------------------------------------------------- */

struct dir_ctx {
	enum mode mode;
	int depth;
	bool root;
};

static int add_dir(struct nm_watch *w, char *path, size_t plen, struct dir_ctx dc);

/* The entry for wd: known (same path and inode), renamed (the directory
 * seen under another name: the old name is reported gone) or new. */
static int record(struct nm_watch *w, int wd, const char *path, size_t plen,
		  const struct stat *st, const struct dir_ctx *dc, bool *is_new)
{
	struct nm_wentry *e = lookup(w, wd);
	bool root = dc->root;

	*is_new = false;
	if (e && e->ino == st->st_ino && e->dev == st->st_dev && e->plen == plen &&
	    !memcmp(e->path, path, plen)) {
		e->root |= dc->root;
		return 0;
	}
	if (e) {
		/* the same directory under another name (v1 rename, a second
		 * mount): the old name is gone */
		root |= e->root;
		if (dc->mode != M_SILENT)
			report(w, NM_WATCH_REMOVED, e->path);
		unlink_entry(w, e);
	}
	e = insert(w, wd, path, plen, st, dc->depth);
	if (!e)
		return w->count >= NM_WATCH_MAX_DIRS ? -ENOSPC : -ENOMEM;
	e->root = root;
	*is_new = true;
	return 0;
}

static bool is_dir_entry(DIR *d, const struct dirent *de)
{
	struct stat st;

	if (de->d_type == DT_DIR)
		return true;
	if (de->d_type != DT_UNKNOWN)
		return false;
	return !fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) && S_ISDIR(st.st_mode);
}

/* Add every subdirectory of the open directory fd (consumed). */
static void add_children(struct nm_watch *w, int fd, char *path, size_t plen, struct dir_ctx dc)
{
	DIR *d = fdopendir(fd);
	struct dirent *de;
	size_t seen = 0;

	if (!d) {
		note_err(w, -errno);
		close(fd);
		return;
	}
	dc.depth++;
	dc.root = false;
	while ((de = readdir(d)) && seen++ < NM_WATCH_MAX_DIRS) {
		size_t n = strlen(de->d_name);
		int err;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") || !is_dir_entry(d, de))
			continue;
		if (plen + 1 + n >= PATH_MAX) {
			note_err(w, -ENAMETOOLONG);
			continue;
		}
		path[plen] = '/';
		memcpy(path + plen + 1, de->d_name, n + 1);
		err = add_dir(w, path, plen + 1 + n, dc);
		path[plen] = 0;
		if (err && !vanished(err))
			note_err(w, err);
	}
	closedir(d);
}

/*
 * Watch the directory at path (in a PATH_MAX buffer; restored on return),
 * then its children: opened first, so the watch, the inode and the listing
 * are all of the same directory even if the name is reused meanwhile.
 */
static int add_dir(struct nm_watch *w, char *path, size_t plen, struct dir_ctx dc)
{
	char proc[48];
	struct statfs sfs;
	struct stat st;
	bool is_new;
	int fd, wd, err;

	if (dc.depth > NM_WATCH_MAX_DEPTH)
		return -ELOOP;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || (dc.root && fstatfs(fd, &sfs))) {
		err = -errno;
		goto fail;
	}
	if (dc.root && sfs.f_type != CGROUP2_SUPER_MAGIC) {
		err = -EINVAL;
		goto fail;
	}
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	wd = inotify_add_watch(w->fd, proc, WATCH_MASK);
	if (wd < 0) {
		err = -errno;
		goto fail;
	}
	err = record(w, wd, path, plen, &st, &dc, &is_new);
	if (err) {
		inotify_rm_watch(w->fd, wd);
		goto fail;
	}
	if (!dc.root && (dc.mode == M_SCAN || (dc.mode == M_EVENT && is_new)))
		report(w, NM_WATCH_ADDED, path);
	if (dc.mode == M_EVENT && !is_new) {
		close(fd); /* known: its children were listed when it was added */
		return 0;
	}
	add_children(w, fd, path, plen, dc);
	return 0;
fail:
	close(fd);
	return err;
}

/* ---- events ------------------------------------------------------------- */

struct prefix {
	const char *p;
	size_t n;
};

static bool under_prefix(const struct nm_wentry *e, const void *arg)
{
	const struct prefix *px = arg;

	return e->plen >= px->n && !memcmp(e->path, px->p, px->n) &&
	       (e->plen == px->n || e->path[px->n] == '/');
}

/* A directory moved away from a watched one: it and all below are gone
 * from here (a move into a watched directory brings them back as new). */
static void moved_away(struct nm_watch *w, const char *path)
{
	struct prefix px = { path, strlen(path) };
	struct nm_wentry **v;
	size_t n;

	v = collect(w, under_prefix, &px, &n);
	if (!v) {
		note_err(w, -ENOMEM);
		return;
	}
	drop_all(w, v, n);
	free(v);
}

static void child_event(struct nm_watch *w, struct nm_wentry *parent, const struct inotify_event *ev)
{
	struct dir_ctx dc = { M_EVENT, parent->depth + 1, false };
	char path[PATH_MAX];
	size_t n = strnlen(ev->name, ev->len);
	int err;

	if (parent->plen + 1 + n >= sizeof(path)) {
		note_err(w, -ENAMETOOLONG);
		return;
	}
	memcpy(path, parent->path, parent->plen);
	path[parent->plen] = '/';
	memcpy(path + parent->plen + 1, ev->name, n);
	path[parent->plen + 1 + n] = 0;
	if (ev->mask & IN_MOVED_FROM) {
		moved_away(w, path);
		return;
	}
	/* IN_CREATE, IN_MOVED_TO; an IN_DELETE is reported by the child's
	 * own watch (IN_DELETE_SELF), which knows which incarnation went. */
	if (!(ev->mask & (IN_CREATE | IN_MOVED_TO)))
		return;
	err = add_dir(w, path, parent->plen + 1 + n, dc);
	if (err && !vanished(err))
		note_err(w, err);
}

static void handle(struct nm_watch *w, const struct inotify_event *ev, bool *overflow)
{
	struct nm_wentry *e;

	if (ev->mask & IN_Q_OVERFLOW) {
		*overflow = true;
		return;
	}
	e = lookup(w, ev->wd);
	if (!e)
		return; /* forgotten already (our rm_watch, or DELETE_SELF then IGNORED) */
	if (ev->mask & GONE_MASK) {
		report(w, NM_WATCH_REMOVED, e->path);
		unlink_entry(w, e);
		return;
	}
	if ((ev->mask & IN_ISDIR) && ev->len)
		child_event(w, e, ev);
}

static int handle_buf(struct nm_watch *w, const char *buf, size_t len, bool *overflow)
{
	size_t off = 0;

	while (off + sizeof(struct inotify_event) <= len) {
		const struct inotify_event *ev = (const void *)(buf + off);
		size_t sz = sizeof(*ev) + ev->len;

		if (sz > len - off)
			return -EIO; /* the kernel never splits an event */
		handle(w, ev, overflow);
		off += sz;
	}
	return 0;
}

/* ---- scanning ----------------------------------------------------------- */

static bool is_stale(const struct nm_wentry *e, const void *arg)
{
	struct stat st;

	(void)arg;
	return stat(e->path, &st) || !S_ISDIR(st.st_mode) || st.st_ino != e->ino ||
	       st.st_dev != e->dev;
}

static bool is_root(const struct nm_wentry *e, const void *arg)
{
	(void)arg;
	return e->root;
}

/* A root inside another root is walked with the outer one. */
static bool nested_root(struct nm_wentry **roots, size_t n, size_t i)
{
	for (size_t k = 0; k < n; k++) {
		struct prefix px = { roots[k]->path, roots[k]->plen };

		if (k != i && roots[k]->plen < roots[i]->plen && under_prefix(roots[i], &px))
			return true;
	}
	return false;
}

static int walk_roots(struct nm_watch *w)
{
	struct nm_wentry **roots;
	char (*paths)[PATH_MAX];
	size_t n, m = 0;
	int err;

	roots = collect(w, is_root, NULL, &n);
	if (!roots)
		return -ENOMEM;
	paths = malloc((n + 1) * sizeof(*paths));
	if (!paths) {
		free(roots);
		return -ENOMEM;
	}
	/* copy first: the walk may replace table entries */
	for (size_t i = 0; i < n; i++)
		if (!nested_root(roots, n, i))
			memcpy(paths[m++], roots[i]->path, roots[i]->plen + 1);
	free(roots);
	for (size_t i = 0; i < m; i++) {
		struct dir_ctx dc = { M_SCAN, 0, true };

		err = add_dir(w, paths[i], strlen(paths[i]), dc);
		if (err && !vanished(err))
			note_err(w, err);
	}
	free(paths);
	return 0;
}

static int rescan(struct nm_watch *w)
{
	struct nm_wentry **v;
	size_t n;

	v = collect(w, is_stale, NULL, &n);
	if (!v)
		return -ENOMEM;
	drop_all(w, v, n);
	free(v);
	return walk_roots(w);
}

/* ---- public ------------------------------------------------------------- */

int nm_watch_open(struct nm_watch *w)
{
	memset(w, 0, sizeof(*w));
	w->fd = -1;
	w->buckets = calloc(BUCKETS_MIN, sizeof(*w->buckets));
	w->buf = malloc(BUF_LEN);
	if (!w->buckets || !w->buf) {
		nm_watch_close(w);
		return -ENOMEM;
	}
	w->nbuckets = BUCKETS_MIN;
	w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->fd < 0) {
		int err = -errno;

		nm_watch_close(w);
		return err;
	}
	return 0;
}

void nm_watch_close(struct nm_watch *w)
{
	if (w->buckets) {
		for (size_t i = 0; i < w->nbuckets; i++) {
			struct nm_wentry *e = w->buckets[i], *next;

			for (; e; e = next) {
				next = e->next;
				free(e);
			}
		}
	}
	if (w->buckets && w->fd >= 0)
		close(w->fd);
	free(w->buckets);
	free(w->buf);
	memset(w, 0, sizeof(*w));
	w->fd = -1;
}

int nm_watch_fd(const struct nm_watch *w)
{
	return w->fd;
}

size_t nm_watch_count(const struct nm_watch *w)
{
	return w->count;
}

/* Start of a call: the callback and the counters. */
static void begin(struct nm_watch *w, nm_watch_fn fn, void *ctx)
{
	w->fn = fn;
	w->ctx = ctx;
	w->reports = 0;
	w->first_err = 0;
}

static int end(struct nm_watch *w, int err)
{
	long n = w->reports;

	w->fn = NULL;
	w->ctx = NULL;
	if (err)
		return err;
	if (w->first_err)
		return w->first_err;
	return n > INT_MAX ? INT_MAX : (int)n;
}

int nm_watch_add_tree(struct nm_watch *w, const char *abs_dir)
{
	struct dir_ctx dc = { M_SILENT, 0, true };
	char path[PATH_MAX];
	size_t n;
	int err;

	if (!w->buckets || !abs_dir || abs_dir[0] != '/')
		return -EINVAL;
	n = strnlen(abs_dir, sizeof(path));
	if (n >= sizeof(path))
		return -ENAMETOOLONG;
	memcpy(path, abs_dir, n + 1);
	while (n > 1 && path[n - 1] == '/')
		path[--n] = 0;
	begin(w, NULL, NULL);
	err = end(w, add_dir(w, path, n, dc));
	return err < 0 ? err : 0;
}

int nm_watch_read(struct nm_watch *w, nm_watch_fn fn, void *ctx)
{
	bool overflow = false;
	int err = 0;

	if (!w->buckets)
		return -EINVAL;
	begin(w, fn, ctx);
	for (int i = 0; i < READS_MAX && !err; i++) {
		ssize_t r = read(w->fd, w->buf, BUF_LEN);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN)
			break;
		if (r <= 0) {
			err = r < 0 ? -errno : 0;
			break;
		}
		err = handle_buf(w, w->buf, (size_t)r, &overflow);
	}
	if (overflow && !err) {
		report(w, NM_WATCH_RESCAN, "");
		err = rescan(w);
	}
	return end(w, err);
}

int nm_watch_scan(struct nm_watch *w, nm_watch_fn fn, void *ctx)
{
	if (!w->buckets)
		return -EINVAL;
	begin(w, fn, ctx);
	return end(w, rescan(w));
}
