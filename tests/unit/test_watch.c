// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unit tests for user/daemon/watch.c (cmocka), on real cgroups below
 * <cgroup2 mount>/nomoat-utest-<pid>/, removed at the end (deepest first)
 * whatever happens.  Needs root; skipped when cgroups cannot be made. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "cgroup.h"
#include "watch.h"

#define MAX_EV   1024
#define PLEN     512
#define ROUNDS   24 /* nested-creation rounds */

static char base[PATH_MAX]; /* <mount>/nomoat-utest-<pid> */
static int test_no;

/* ---- the recorded reports -------------------------------------------------- */

struct rec {
	int kind;
	char path[PLEN];
};

static struct rec evs[MAX_EV];
static int nev;
static int ev_lost;

static void on_event(int kind, const char *path, void *ctx)
{
	(void)ctx;
	if (nev >= MAX_EV) {
		ev_lost++;
		return;
	}
	evs[nev].kind = kind;
	snprintf(evs[nev].path, PLEN, "%s", path);
	nev++;
}

static void reset(void)
{
	nev = 0;
	ev_lost = 0;
}

static int count_of(int kind, const char *path)
{
	int n = 0;

	for (int i = 0; i < nev; i++)
		if (evs[i].kind == kind && (!path || !strcmp(evs[i].path, path)))
			n++;
	return n;
}

static int index_of(int kind, const char *path)
{
	for (int i = 0; i < nev; i++)
		if (evs[i].kind == kind && !strcmp(evs[i].path, path))
			return i;
	return -1;
}

static const char *kind_name(int k)
{
	return k == NM_WATCH_ADDED ? "ADDED" : k == NM_WATCH_REMOVED ? "REMOVED" :
	       k == NM_WATCH_RESCAN ? "RESCAN" : "?";
}

static void dump(void)
{
	for (int i = 0; i < nev; i++)
		print_message("  %s %s\n", kind_name(evs[i].kind), evs[i].path);
}

static void expect_once(int kind, const char *path)
{
	int n = count_of(kind, path);

	if (n != 1) {
		dump();
		fail_msg("%s %s reported %d times, want once", kind_name(kind), path, n);
	}
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Read reports until `want` of them are recorded (or 5 s pass), then until
 * the fd stays quiet for quiet_ms, so late duplicates would show. */
static void pump(struct nm_watch *w, int want, int quiet_ms)
{
	long deadline = now_ms() + 5000;
	struct pollfd pfd = { .fd = nm_watch_fd(w), .events = POLLIN };

	for (int i = 0; i < 100000 && now_ms() < deadline; i++) {
		int rc, t = nev >= want ? quiet_ms : 50;

		rc = poll(&pfd, 1, t);
		assert_true(rc >= 0);
		if (rc == 0 && nev >= want)
			return;
		rc = nm_watch_read(w, on_event, NULL);
		if (rc < 0)
			fail_msg("nm_watch_read: %s", strerror(-rc));
	}
	if (nev < want) {
		dump();
		fail_msg("only %d of %d reports after 5 s", nev, want);
	}
}

/* ---- cgroups --------------------------------------------------------------- */

static void path_join(char *out, const char *a, const char *b)
{
	if ((size_t)snprintf(out, PATH_MAX, "%s/%s", a, b) >= PATH_MAX)
		fail_msg("path too long: %s/%s", a, b);
}

static void mk(const char *dir, const char *rel)
{
	char p[PATH_MAX];

	path_join(p, dir, rel);
	if (mkdir(p, 0755))
		fail_msg("mkdir %s: %s", p, strerror(errno));
}

static void rm(const char *dir, const char *rel)
{
	char p[PATH_MAX];

	path_join(p, dir, rel);
	if (rmdir(p))
		fail_msg("rmdir %s: %s", p, strerror(errno));
}

/* rmdir a tree, deepest first (cgroups hold no files to delete). */
static void rm_tree(const char *path, int depth)
{
	DIR *d = depth < 200 ? opendir(path) : NULL;
	struct dirent *e;

	if (d) {
		while ((e = readdir(d))) {
			char sub[PATH_MAX];

			if (e->d_type != DT_DIR || !strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name) < sizeof(sub))
				rm_tree(sub, depth + 1);
		}
		closedir(d);
	}
	rmdir(path);
}

/* Killed by a timeout (tests/run.sh): still leave no cgroup behind. */
static void on_term(int sig)
{
	if (base[0])
		rm_tree(base, 0);
	signal(sig, SIG_DFL);
	raise(sig);
}

static int group_setup(void **state)
{
	char mnt[PATH_MAX];

	(void)state;
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	if (nm_cgroup2_mount(mnt, sizeof(mnt)))
		return 0; /* tests skip */
	if ((size_t)snprintf(base, sizeof(base), "%s/nomoat-utest-%d", mnt, (int)getpid()) >= sizeof(base))
		return -1;
	if (mkdir(base, 0755)) {
		print_message("cannot create %s (%s): cgroup tests skipped\n", base, strerror(errno));
		base[0] = 0;
	}
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	if (base[0])
		rm_tree(base, 0);
	return 0;
}

/* Each test: its own cgroup below the base, in *state; and a watch. */
struct fix {
	char dir[PATH_MAX];
	struct nm_watch w;
	bool open;
};

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	*state = f;
	reset();
	if (!base[0])
		return 0;
	if ((size_t)snprintf(f->dir, sizeof(f->dir), "%s/t%d", base, ++test_no) >= sizeof(f->dir) ||
	    mkdir(f->dir, 0755))
		return -1;
	if (nm_watch_open(&f->w))
		return -1;
	f->open = true;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;

	if (f->open)
		nm_watch_close(&f->w);
	if (f->dir[0])
		rm_tree(f->dir, 0);
	free(f);
	return 0;
}

static struct fix *fixture(void **state)
{
	struct fix *f = *state;

	if (!base[0])
		skip();
	return f;
}

/* ---- tests ----------------------------------------------------------------- */

/*
 * a, a/b, a/b/c made in a row, ROUNDS times: every one ADDED exactly once,
 * parents before children.  Odd rounds read between the mkdirs, so both
 * the listing of a new directory and the events of its watch are used.
 */
static void test_nested_quick(void **state)
{
	struct fix *f = fixture(state);
	static char p[ROUNDS][3][PATH_MAX];

	assert_int_equal(nm_watch_add_tree(&f->w, f->dir), 0);
	assert_int_equal(nm_watch_count(&f->w), 1);
	for (int r = 0; r < ROUNDS; r++) {
		char rel[3][64];

		snprintf(rel[0], sizeof(rel[0]), "a%d", r);
		snprintf(rel[1], sizeof(rel[1]), "a%d/b", r);
		snprintf(rel[2], sizeof(rel[2]), "a%d/b/c", r);
		for (int k = 0; k < 3; k++) {
			mk(f->dir, rel[k]);
			if ((r & 1) && k < 2)
				assert_true(nm_watch_read(&f->w, on_event, NULL) >= 0);
			path_join(p[r][k], f->dir, rel[k]);
		}
	}
	pump(&f->w, 3 * ROUNDS, 200);
	assert_int_equal(ev_lost, 0);
	if (nev != 3 * ROUNDS || count_of(NM_WATCH_ADDED, NULL) != 3 * ROUNDS) {
		dump();
		fail_msg("%d reports, want %d ADDED", nev, 3 * ROUNDS);
	}
	for (int r = 0; r < ROUNDS; r++) {
		for (int k = 0; k < 3; k++)
			expect_once(NM_WATCH_ADDED, p[r][k]);
		assert_true(index_of(NM_WATCH_ADDED, p[r][0]) < index_of(NM_WATCH_ADDED, p[r][1]));
		assert_true(index_of(NM_WATCH_ADDED, p[r][1]) < index_of(NM_WATCH_ADDED, p[r][2]));
	}
	assert_int_equal(nm_watch_count(&f->w), 1 + 3 * ROUNDS);

	/* rmdir, deepest first: REMOVED once each, the table back to the root */
	reset();
	for (int r = 0; r < ROUNDS; r++)
		for (int k = 2; k >= 0; k--)
			if (rmdir(p[r][k]))
				fail_msg("rmdir %s: %s", p[r][k], strerror(errno));
	pump(&f->w, 3 * ROUNDS, 200);
	if (nev != 3 * ROUNDS || count_of(NM_WATCH_REMOVED, NULL) != 3 * ROUNDS) {
		dump();
		fail_msg("%d reports, want %d REMOVED", nev, 3 * ROUNDS);
	}
	for (int r = 0; r < ROUNDS; r++)
		for (int k = 0; k < 3; k++)
			expect_once(NM_WATCH_REMOVED, p[r][k]);
	assert_int_equal(nm_watch_count(&f->w), 1);
}

/* A directory made again under the same name is a new cgroup. */
static void test_recreate(void **state)
{
	struct fix *f = fixture(state);
	char x[PATH_MAX];

	path_join(x, f->dir, "x");
	assert_int_equal(nm_watch_add_tree(&f->w, f->dir), 0);
	mk(f->dir, "x");
	pump(&f->w, 1, 100);
	expect_once(NM_WATCH_ADDED, x);
	reset();
	rm(f->dir, "x");
	mk(f->dir, "x");
	pump(&f->w, 2, 200);
	assert_int_equal(nev, 2);
	assert_int_equal(evs[0].kind, NM_WATCH_REMOVED);
	assert_int_equal(evs[1].kind, NM_WATCH_ADDED);
	assert_string_equal(evs[0].path, x);
	assert_string_equal(evs[1].path, x);
	assert_int_equal(nm_watch_count(&f->w), 2);
}

/* The scan reports the existing tree, ADDED, every time it is called;
 * files (cgroup.procs, ...) never. */
static void test_scan(void **state)
{
	static const char *const rel[] = { "x", "x/y", "x/y/z", "w" };
	struct fix *f = fixture(state);
	char p[4][PATH_MAX];

	for (int i = 0; i < 4; i++) {
		mk(f->dir, rel[i]);
		path_join(p[i], f->dir, rel[i]);
	}
	assert_int_equal(nm_watch_add_tree(&f->w, f->dir), 0);
	assert_int_equal(nm_watch_count(&f->w), 5);
	assert_int_equal(nm_watch_read(&f->w, on_event, NULL), 0); /* add_tree reports nothing */
	assert_int_equal(nev, 0);
	for (int round = 0; round < 2; round++) {
		reset();
		assert_int_equal(nm_watch_scan(&f->w, on_event, NULL), 4);
		assert_int_equal(nev, 4);
		for (int i = 0; i < 4; i++)
			expect_once(NM_WATCH_ADDED, p[i]);
		assert_true(index_of(NM_WATCH_ADDED, p[0]) < index_of(NM_WATCH_ADDED, p[1]));
		assert_true(index_of(NM_WATCH_ADDED, p[1]) < index_of(NM_WATCH_ADDED, p[2]));
	}
	/* and the watches work: a new child of the deepest */
	reset();
	mk(f->dir, "x/y/z/n");
	pump(&f->w, 1, 100);
	assert_int_equal(nev, 1);
	assert_true(strstr(evs[0].path, "/x/y/z/n") != NULL);
	assert_int_equal(nm_watch_count(&f->w), 6);
}

/* A root is not reported ADDED; when it goes, it is REMOVED and forgotten.
 * Roots nested in roots, or added twice, change nothing. */
static void test_roots(void **state)
{
	struct fix *f = fixture(state);
	char r[PATH_MAX], inner[PATH_MAX], slash[PATH_MAX + 2];

	mk(f->dir, "r");
	mk(f->dir, "r/in");
	path_join(r, f->dir, "r");
	path_join(inner, f->dir, "r/in");
	snprintf(slash, sizeof(slash), "%s//", r);
	assert_int_equal(nm_watch_add_tree(&f->w, slash), 0); /* trailing slashes */
	assert_int_equal(nm_watch_add_tree(&f->w, r), 0);
	assert_int_equal(nm_watch_add_tree(&f->w, inner), 0);
	assert_int_equal(nm_watch_count(&f->w), 2);
	/* in is a root, and a cgroup below r: reported */
	assert_int_equal(nm_watch_scan(&f->w, on_event, NULL), 1);
	expect_once(NM_WATCH_ADDED, inner);
	reset();
	mk(f->dir, "r/in/leaf");
	pump(&f->w, 1, 100);
	assert_int_equal(nev, 1);
	expect_once(NM_WATCH_ADDED, strcat(strcpy(slash, inner), "/leaf"));
	reset();
	rm(f->dir, "r/in/leaf");
	rm(f->dir, "r/in");
	rm(f->dir, "r");
	pump(&f->w, 3, 200);
	assert_int_equal(nev, 3);
	expect_once(NM_WATCH_REMOVED, slash);
	expect_once(NM_WATCH_REMOVED, inner);
	expect_once(NM_WATCH_REMOVED, r);
	assert_int_equal(nm_watch_count(&f->w), 0);
	reset();
	assert_int_equal(nm_watch_scan(&f->w, on_event, NULL), 0);
	assert_int_equal(nev, 0);
}

static void test_add_tree_errors(void **state)
{
	struct fix *f = fixture(state);
	char p[PATH_MAX];

	assert_int_equal(nm_watch_add_tree(&f->w, "relative/dir"), -EINVAL);
	assert_int_equal(nm_watch_add_tree(&f->w, ""), -EINVAL);
	path_join(p, f->dir, "missing");
	assert_int_equal(nm_watch_add_tree(&f->w, p), -ENOENT);
	path_join(p, f->dir, "cgroup.procs");
	assert_int_equal(nm_watch_add_tree(&f->w, p), -ENOTDIR);
	assert_int_equal(nm_watch_add_tree(&f->w, "/"), -EINVAL); /* not cgroup2 */
	assert_int_equal(nm_watch_count(&f->w), 0);
}

static long read_long(const char *path)
{
	FILE *fp = fopen(path, "re");
	long v = -1;

	if (fp) {
		if (fscanf(fp, "%ld", &v) != 1)
			v = -1;
		fclose(fp);
	}
	return v;
}

/*
 * Overflow the kernel's queue (max_queued_events) with mkdir/rmdir churn,
 * losing the events of a removal and of a new subtree made after it: the
 * read reports RESCAN, REMOVED for the lost removal, ADDED for everything
 * there, and the watch goes on working.
 */
static void test_overflow(void **state)
{
	struct fix *f = fixture(state);
	long maxq = read_long("/proc/sys/fs/inotify/max_queued_events");
	char keep[PATH_MAX], gone[PATH_MAX], nw[PATH_MAX], sub[PATH_MAX], churn[PATH_MAX];

	if (maxq <= 0 || maxq > 200000) {
		print_message("max_queued_events %ld: overflow test skipped\n", maxq);
		skip();
	}
	path_join(keep, f->dir, "keep");
	path_join(gone, f->dir, "gone");
	path_join(nw, f->dir, "new");
	path_join(sub, f->dir, "new/sub");
	path_join(churn, f->dir, "churn");
	mk(f->dir, "keep");
	mk(f->dir, "gone");
	assert_int_equal(nm_watch_add_tree(&f->w, f->dir), 0);
	assert_int_equal(nm_watch_count(&f->w), 3);
	/* two events a round in the root's watch; a few spare rounds */
	for (long i = 0; i < maxq / 2 + 64; i++) {
		if (mkdir(churn, 0755) || rmdir(churn))
			fail_msg("churn %ld: %s", i, strerror(errno));
	}
	rm(f->dir, "gone");
	mk(f->dir, "new");
	mk(f->dir, "new/sub");
	pump(&f->w, 5, 300);
	assert_int_equal(ev_lost, 0);
	expect_once(NM_WATCH_RESCAN, "");
	expect_once(NM_WATCH_REMOVED, gone);
	expect_once(NM_WATCH_ADDED, keep);
	expect_once(NM_WATCH_ADDED, nw);
	expect_once(NM_WATCH_ADDED, sub);
	assert_int_equal(count_of(NM_WATCH_ADDED, churn), 0);
	/* the removal is reported before the rescan's additions */
	assert_true(index_of(NM_WATCH_REMOVED, gone) < index_of(NM_WATCH_ADDED, keep));
	assert_int_equal(nm_watch_count(&f->w), 4);
	reset();
	mk(f->dir, "new/sub/after");
	pump(&f->w, 1, 100);
	assert_int_equal(nev, 1);
	assert_int_equal(evs[0].kind, NM_WATCH_ADDED);
	assert_int_equal(nm_watch_count(&f->w), 5);
}

/* A fresh or closed struct can be closed again; an unopened one refuses. */
static void test_lifecycle(void **state)
{
	struct nm_watch w;

	(void)state;
	memset(&w, 0, sizeof(w));
	assert_int_equal(nm_watch_add_tree(&w, "/x"), -EINVAL);
	assert_int_equal(nm_watch_read(&w, on_event, NULL), -EINVAL);
	assert_int_equal(nm_watch_scan(&w, on_event, NULL), -EINVAL);
	assert_int_equal(nm_watch_open(&w), 0);
	assert_true(nm_watch_fd(&w) >= 0);
	assert_int_equal(nm_watch_read(&w, on_event, NULL), 0);
	nm_watch_close(&w);
	assert_int_equal(nm_watch_fd(&w), -1);
	nm_watch_close(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_nested_quick, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recreate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scan, setup, teardown),
		cmocka_unit_test_setup_teardown(test_roots, setup, teardown),
		cmocka_unit_test_setup_teardown(test_add_tree_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overflow, setup, teardown),
		cmocka_unit_test(test_lifecycle),
	};

	return cmocka_run_group_tests_name("watch", tests, group_setup, group_teardown);
}
