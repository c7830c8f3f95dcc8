// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * cgroup appearance/disappearance with inotify (see watch.h).
 *
 * The table maps a watch descriptor to the directory it watches (path,
 * device and inode, depth below its root), with a second index by path.
 * ADDED is reported when a directory's watch first enters the table,
 * REMOVED when it leaves, so each directory incarnation is reported once.
 *
 * Events are hints; the file system decides.  A created name is opened
 * and watched through its fd (an add_watch on a directory already watched
 * returns the known descriptor: nothing new).  A deleted or moved-away
 * name drops the entries at and below that path that no longer match the
 * directory there (stat: gone, or another inode), so a late event about an
 * older directory of the same name changes nothing.
 *
 * cgroupfs (kernfs) sends no IN_DELETE_SELF / IN_IGNORED on rmdir: the
 * parent's IN_DELETE is what tells, and our inotify_rm_watch is what frees
 * the watch (and the kernel's inode).  So a root's removal is seen through
 * a "guard" watch on the root's parent, never reported itself, dropped
 * when no root needs it.  IN_DELETE_SELF / IN_IGNORED are still honoured.
 * inotify hands out watch descriptors cyclically, so a stale one is not
 * handed out again while the table could hold it.
 */
#include "watch.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
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
	struct nm_wentry *next;  /* wd chain */
	struct nm_wentry *pnext; /* path chain */
	int wd;
	int depth;   /* below its root; 0 for a root */
	bool root;
	bool guard;  /* a root's parent, watched for the root's removal only */
	dev_t dev;
	ino_t ino;
	uint32_t hash; /* of the path */
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

static uint32_t path_hash(const char *p, size_t n)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)p[i]) * 16777619u;
	return h;
}

static size_t wd_slot(const struct nm_watch *w, int wd)
{
	return (size_t)(unsigned int)wd & (w->nbuckets - 1);
}

static size_t path_slot(const struct nm_watch *w, uint32_t h)
{
	return w->nbuckets + (h & (w->nbuckets - 1));
}

static struct nm_wentry *lookup(const struct nm_watch *w, int wd)
{
	struct nm_wentry *e = w->buckets[wd_slot(w, wd)];

	/* chains are short: the table grows at one entry per bucket */
	while (e && e->wd != wd)
		e = e->next;
	return e;
}

static struct nm_wentry *lookup_path(const struct nm_watch *w, const char *p, size_t n)
{
	uint32_t h = path_hash(p, n);
	struct nm_wentry *e = w->buckets[path_slot(w, h)];

	while (e && !(e->hash == h && e->plen == n && !memcmp(e->path, p, n)))
		e = e->pnext;
	return e;
}

static void link_entry(struct nm_watch *w, struct nm_wentry *e)
{
	size_t s = wd_slot(w, e->wd), ps = path_slot(w, e->hash);

	e->next = w->buckets[s];
	w->buckets[s] = e;
	e->pnext = w->buckets[ps];
	w->buckets[ps] = e;
}

/* buckets[0, nb) index by wd, buckets[nb, 2 nb) by path. */
static int grow(struct nm_watch *w)
{
	size_t old = w->nbuckets;
	struct nm_wentry **b = calloc(4 * old, sizeof(*b)), **ob = w->buckets;

	if (!b)
		return -ENOMEM;
	w->buckets = b;
	w->nbuckets = 2 * old;
	for (size_t i = 0; i < old; i++) {
		struct nm_wentry *e = ob[i], *next;

		for (; e; e = next) {
			next = e->next;
			link_entry(w, e);
		}
	}
	free(ob);
	return 0;
}

static void unchain(struct nm_wentry **pp, struct nm_wentry *e, bool by_path)
{
	while (*pp && *pp != e)
		pp = by_path ? &(*pp)->pnext : &(*pp)->next;
	if (*pp)
		*pp = by_path ? e->pnext : e->next;
}

static void unlink_entry(struct nm_watch *w, struct nm_wentry *e)
{
	unchain(&w->buckets[wd_slot(w, e->wd)], e, false);
	unchain(&w->buckets[path_slot(w, e->hash)], e, true);
	w->count--;
	if (e->guard)
		w->nguards--;
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
	e = calloc(1, sizeof(*e) + plen + 1);
	if (!e)
		return NULL;
	e->wd = wd;
	e->depth = depth;
	e->dev = st->st_dev;
	e->ino = st->st_ino;
	e->hash = path_hash(path, plen);
	e->plen = plen;
	memcpy(e->path, path, plen);
	link_entry(w, e);
	w->count++;
	return e;
}

typedef bool (*keep_fn)(const struct nm_wentry *e, const void *arg);

/* Every entry matching keep(e, arg), in an array (caller frees). */
static struct nm_wentry **collect(struct nm_watch *w, keep_fn keep, const void *arg, size_t *n)
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

/* ---- dropping ----------------------------------------------------------- */

struct prefix {
	const char *p;
	size_t n;
};

/* e is the directory p or below it. */
static bool under_prefix(const struct nm_wentry *e, const void *arg)
{
	const struct prefix *px = arg;

	return e->plen >= px->n && !memcmp(e->path, px->p, px->n) &&
	       (e->plen == px->n || e->path[px->n] == '/' || px->n == 1);
}

/* The path no longer leads to this directory. */
static bool is_stale(const struct nm_wentry *e, const void *arg)
{
	struct stat st;

	(void)arg;
	return stat(e->path, &st) || !S_ISDIR(st.st_mode) || st.st_ino != e->ino ||
	       st.st_dev != e->dev;
}

static bool stale_under(const struct nm_wentry *e, const void *arg)
{
	return under_prefix(e, arg) && is_stale(e, NULL);
}

/* A guard some root still needs: a root directly below it. */
static bool guard_needed(struct nm_watch *w, const struct nm_wentry *g)
{
	for (size_t i = 0; i < w->nbuckets; i++)
		for (const struct nm_wentry *e = w->buckets[i]; e; e = e->next)
			if (e->root && e->plen > g->plen && !memcmp(e->path, g->path, g->plen) &&
			    (e->path[g->plen] == '/' || g->plen == 1) &&
			    !strchr(e->path + g->plen + 1, '/'))
				return true;
	return false;
}

static bool is_guard(const struct nm_wentry *e, const void *arg)
{
	(void)arg;
	return e->guard;
}

/* Stop watching guards no root needs any more. */
static void prune_guards(struct nm_watch *w)
{
	struct nm_wentry **v;
	size_t n;

	if (!w->nguards)
		return;
	v = collect(w, is_guard, NULL, &n);
	if (!v)
		return; /* kept: harmless */
	for (size_t i = 0; i < n; i++) {
		if (guard_needed(w, v[i]))
			continue;
		inotify_rm_watch(w->fd, v[i]->wd);
		unlink_entry(w, v[i]);
	}
	free(v);
}

/* Report REMOVED for each (deepest first), stop watching, forget them. */
static void drop_all(struct nm_watch *w, struct nm_wentry **v, size_t n)
{
	bool roots = false;

	qsort(v, n, sizeof(*v), deeper_first);
	for (size_t i = 0; i < n; i++) {
		if (!v[i]->guard)
			report(w, NM_WATCH_REMOVED, v[i]->path);
		roots |= v[i]->root;
		/* may be gone already (EINVAL): its IN_IGNORED finds nothing */
		inotify_rm_watch(w->fd, v[i]->wd);
		unlink_entry(w, v[i]);
	}
	if (roots)
		prune_guards(w);
}

/* Forget what keep() selects. */
static int drop_where(struct nm_watch *w, keep_fn keep, const void *arg)
{
	struct nm_wentry **v;
	size_t n;

	v = collect(w, keep, arg, &n);
	if (!v)
		return -ENOMEM;
	drop_all(w, v, n);
	free(v);
	return 0;
}

/* ---- adding directories ------------------------------------------------- */

struct dir_ctx {
	enum mode mode;
	int depth;
	bool root;
	bool guard;
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
		if (e->guard && !dc->guard) {
			/* a guard becomes a watched directory in its own right */
			e->guard = false;
			w->nguards--;
			e->depth = dc->depth;
			*is_new = dc->mode != M_SILENT;
		}
		return 0;
	}
	if (e) {
		root |= e->root;
		if (dc->mode != M_SILENT && !e->guard)
			report(w, NM_WATCH_REMOVED, e->path);
		unlink_entry(w, e);
	}
	e = insert(w, wd, path, plen, st, dc->depth);
	if (!e)
		return w->count >= NM_WATCH_MAX_DIRS ? -ENOSPC : -ENOMEM;
	e->root = root;
	e->guard = dc->guard;
	w->nguards += dc->guard;
	*is_new = !dc->guard;
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
	bool check_fs = dc.root || dc.guard;
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
	if (fstat(fd, &st) || (check_fs && fstatfs(fd, &sfs))) {
		err = -errno;
		goto fail;
	}
	if (check_fs && sfs.f_type != CGROUP2_SUPER_MAGIC) {
		err = -EINVAL;
		goto fail;
	}
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	wd = inotify_add_watch(w->fd, proc, WATCH_MASK);
	if (wd < 0) {
		err = -errno;
		goto fail;
	}
	if (dc.guard && lookup(w, wd)) {
		close(fd); /* watched already, as a cgroup or a guard */
		return 0;
	}
	err = record(w, wd, path, plen, &st, &dc, &is_new);
	if (err) {
		if (!lookup(w, wd))
			inotify_rm_watch(w->fd, wd);
		goto fail;
	}
	if (!dc.root && !dc.guard && (dc.mode == M_SCAN || (dc.mode == M_EVENT && is_new)))
		report(w, NM_WATCH_ADDED, path);
	if (dc.guard || (dc.mode == M_EVENT && !is_new)) {
		close(fd); /* known: its children were listed when it was added */
		return 0;
	}
	add_children(w, fd, path, plen, dc);
	return 0;
fail:
	close(fd);
	return err;
}

/* Watch the parent of a root, to see the root removed (no IN_DELETE_SELF
 * on cgroupfs).  Nothing to do for the cgroup2 mount itself. */
static int add_guard(struct nm_watch *w, const char *root, size_t n)
{
	struct dir_ctx dc = { M_SILENT, -1, false, true };
	char path[PATH_MAX];
	int err;

	while (n > 0 && root[n - 1] != '/')
		n--;
	if (n > 1)
		n--; /* the slash, unless the parent is "/" */
	memcpy(path, root, n);
	path[n] = 0;
	err = add_dir(w, path, n, dc);
	return err == -EINVAL ? 0 : err; /* the parent is not on cgroup2 */
}

/* ---- events ------------------------------------------------------------- */

static void child_event(struct nm_watch *w, struct nm_wentry *parent, const struct inotify_event *ev)
{
	struct dir_ctx dc = { M_EVENT, parent->depth + 1, false, false };
	bool guard = parent->guard;
	char path[PATH_MAX];
	size_t n = strnlen(ev->name, ev->len), plen;
	int err;

	if (parent->plen + 1 + n >= sizeof(path)) {
		note_err(w, -ENAMETOOLONG);
		return;
	}
	plen = parent->plen;
	if (plen == 1)
		plen = 0; /* "/" as a parent */
	memcpy(path, parent->path, plen);
	path[plen] = '/';
	memcpy(path + plen + 1, ev->name, n);
	plen += 1 + n;
	path[plen] = 0;
	if (ev->mask & (IN_DELETE | IN_MOVED_FROM)) {
		struct prefix px = { path, plen };

		/* parent may be freed from here on */
		if (lookup_path(w, path, plen) && drop_where(w, stale_under, &px))
			note_err(w, -ENOMEM);
		return;
	}
	if (guard || !(ev->mask & (IN_CREATE | IN_MOVED_TO)))
		return;
	err = add_dir(w, path, plen, dc);
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
		bool root = e->root;

		if (!e->guard)
			report(w, NM_WATCH_REMOVED, e->path);
		unlink_entry(w, e);
		if (root)
			prune_guards(w);
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
		struct dir_ctx dc = { M_SCAN, 0, true, false };

		err = add_dir(w, paths[i], strlen(paths[i]), dc);
		if (err && !vanished(err))
			note_err(w, err);
	}
	free(paths);
	return 0;
}

static int rescan(struct nm_watch *w)
{
	int err = drop_where(w, is_stale, NULL);

	return err ? err : walk_roots(w);
}

/* ---- public ------------------------------------------------------------- */

int nm_watch_open(struct nm_watch *w)
{
	memset(w, 0, sizeof(*w));
	w->fd = -1;
	w->buckets = calloc(2 * BUCKETS_MIN, sizeof(*w->buckets));
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
		/* closing the inotify fd drops every watch */
		if (w->fd >= 0)
			close(w->fd);
	}
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
	return w->count - w->nguards;
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
	struct dir_ctx dc = { M_SILENT, 0, true, false };
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
	err = add_dir(w, path, n, dc);
	if (!err && n > 1)
		err = add_guard(w, path, n);
	err = end(w, err);
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
