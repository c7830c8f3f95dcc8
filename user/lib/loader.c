// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "loader.h"
#include "cgroup.h"
#include "err.h"
#include "files.h"
#include "pins.h"
#include "progs.h"
#include "nomoat.skel.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

static bool verbose_libbpf;

static int libbpf_print(enum libbpf_print_level lvl, const char *fmt, va_list ap)
{
	if (lvl == LIBBPF_DEBUG && !verbose_libbpf)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static void path_of(char *buf, size_t len, const char *dir, const char *sub, const char *name)
{
	snprintf(buf, len, "%s/%s/%s", dir, sub, name);
}

static void unpin_progs(const char *dir)
{
	char p[PATH_MAX];

	for (int i = 0; i < NM_PROG__MAX; i++) {
		path_of(p, sizeof(p), dir, "progs", nm_progs[i].name);
		unlink(p);
	}
	snprintf(p, sizeof(p), "%s/progs", dir);
	rmdir(p);
}

int nm_load(const char *dir, bool *adopted, bool verbose)
{
	return nm_load_flows(dir, adopted, verbose, 0);
}

int nm_load_flows(const char *dir, bool *adopted, bool verbose, unsigned max_flows)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .pin_root_path = dir);
	struct nm_features fs;
	struct nomoat_bpf *skel = NULL;
	char p[PATH_MAX];
	bool made_dir = false;
	int err;

	*adopted = false;
	verbose_libbpf = verbose;
	libbpf_set_print(libbpf_print);
	nm_probe(&fs);
	err = nm_probe_require(&fs);
	if (err)
		return err;
	err = nm_bpffs_ensure(dir);
	if (err)
		return err;
	if (nm_is_loaded(dir)) {
		*adopted = true;
		return 0;
	}
	if (mkdir(dir, 0700) == 0)
		made_dir = true;
	else if (errno != EEXIST)
		return nm_fail(NM_E_RUNTIME, -errno, "cannot create pin dir %s: %s", dir, strerror(errno));

	skel = nomoat_bpf__open_opts(&oo);
	if (!skel) {
		err = nm_fail(NM_E_RUNTIME, -errno, "cannot open the BPF object: %s", strerror(errno));
		goto fail;
	}
	skel->rodata->nm_have_pid_helper = fs.f[NM_F_HELPER_PID].present;
	skel->rodata->nm_have_comm_helper = fs.f[NM_F_HELPER_COMM].present;
	/* The key of the backstop's judged-socket marks (bpf/lib/maps.h). */
	if (getrandom((void *)&skel->rodata->nm_judged_key, sizeof(skel->rodata->nm_judged_key), 0) !=
	    sizeof(skel->rodata->nm_judged_key)) {
		err = nm_fail(NM_E_RUNTIME, -errno, "getrandom: %s", strerror(errno));
		goto fail;
	}
	if (max_flows) {
		skel->rodata->nm_max_flows = max_flows;
		bpf_map__set_max_entries(skel->maps.nm_flows, max_flows);
	}
	/* Maps with LIBBPF_PIN_BY_NAME are reused if pinned (adopted), else
	 * created and pinned by libbpf during load. */
	err = nomoat_bpf__load(skel);
	if (err) {
		err = nm_fail(NM_E_RUNTIME, err,
			      "loading the BPF programs failed: %s (run with -v for the verifier log)",
			      strerror(-err));
		goto fail;
	}
	snprintf(p, sizeof(p), "%s/progs", dir);
	err = nm_mkdirs(p, strlen(dir), false, 0700);
	if (err) {
		nm_fail(NM_E_RUNTIME, err, "cannot create %s: %s", p, strerror(-err));
		goto fail;
	}
	for (int i = 0; i < NM_PROG__MAX; i++) {
		struct bpf_program *prog = bpf_object__find_program_by_name(skel->obj, nm_progs[i].name);

		path_of(p, sizeof(p), dir, "progs", nm_progs[i].name);
		if (!prog) {
			err = nm_fail(NM_E_RUNTIME, -ENOENT, "program %s missing from the object",
				      nm_progs[i].name);
			goto fail;
		}
		err = bpf_program__pin(prog, p);
		if (err) {
			nm_fail(NM_E_RUNTIME, err, "cannot pin %s: %s", p, strerror(-err));
			goto fail;
		}
	}
	nomoat_bpf__destroy(skel);
	return 0;
fail:
	unpin_progs(dir);
	if (skel) {
		/* Only maps this call created are unpinned: with no program
		 * pinned, nothing else can be using fresh maps. */
		if (made_dir)
			bpf_object__unpin_maps(skel->obj, NULL);
		nomoat_bpf__destroy(skel);
	}
	if (made_dir)
		rmdir(dir);
	return err;
}

static int links_dir(char *buf, size_t len, const char *dir, __u64 cgid)
{
	if (cgid)
		return snprintf(buf, len, "%s/links/%" PRIu64, dir, (uint64_t)cgid) >= (int)len ? -ENAMETOOLONG : 0;
	return snprintf(buf, len, "%s/links", dir) >= (int)len ? -ENAMETOOLONG : 0;
}

/* Detach and unpin every link under links/CGID, then remove the folder. */
static int detach_id(const char *dir, __u64 cgid)
{
	char ld[PATH_MAX], p[PATH_MAX + 300];
	struct dirent *e;
	DIR *d;
	int err = 0;

	links_dir(ld, sizeof(ld), dir, cgid);
	d = opendir(ld);
	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		int fd;

		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", ld, e->d_name);
		fd = bpf_obj_get(p);
		if (fd >= 0) {
			/* Detach even if another process holds the link. */
			bpf_link_detach(fd);
			close(fd);
		}
		if (unlink(p) && !err)
			err = -errno;
	}
	closedir(d);
	if (rmdir(ld) && !err)
		err = -errno;
	return err;
}

int nm_attach_foreach(const char *dir, int (*fn)(const struct nm_attachment *, void *), void *ctx)
{
	char ld[PATH_MAX], sub[PATH_MAX + 300];
	struct dirent *e;
	DIR *d;
	int ret = 0;

	links_dir(ld, sizeof(ld), dir, 0);
	d = opendir(ld);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while (!ret && (e = readdir(d))) {
		struct nm_attachment a = { 0 };
		struct dirent *le;
		char *end;
		DIR *ldir;

		if (e->d_name[0] == '.')
			continue;
		a.cgroup_id = strtoull(e->d_name, &end, 10);
		if (*end)
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", ld, e->d_name);
		ldir = opendir(sub);
		if (!ldir)
			continue;
		while ((le = readdir(ldir)))
			if (le->d_name[0] != '.')
				a.nlinks++;
		closedir(ldir);
		snprintf(sub, sizeof(sub), "%s/%s/%s", ld, e->d_name, nm_progs[NM_PROG_CONNECT4].name);
		a.origdst_only = access(sub, F_OK) != 0;
		if (nm_cgroup_path_of(a.cgroup_id, a.path, sizeof(a.path)))
			a.path[0] = 0;
		ret = fn(&a, ctx);
	}
	closedir(d);
	return ret;
}

struct overlap_ctx {
	const char *path;
	__u64 id;
	char other[4096];
};

static bool is_below(const char *a, const char *b)
{
	size_t n = strlen(b);

	return strncmp(a, b, n) == 0 && a[n] == '/';
}

static int check_overlap(const struct nm_attachment *a, void *arg)
{
	struct overlap_ctx *o = arg;

	if (a->cgroup_id == o->id || !a->path[0] || a->origdst_only)
		return 0;
	if (is_below(o->path, a->path) || is_below(a->path, o->path)) {
		snprintf(o->other, sizeof(o->other), "%s", a->path);
		return 1;
	}
	return 0;
}

int nm_attach(const char *dir, const char *cg, bool origdst_only, bool *adopted)
{
	char ld[PATH_MAX], p[PATH_MAX + 64];
	bool made[NM_PROG__MAX] = { false };
	int cgfd = -1, err = 0;
	struct overlap_ctx o = { .path = cg };
	__u64 cgid;

	*adopted = false;
	if (!nm_is_loaded(dir))
		return nm_fail(NM_E_RUNTIME, -ENOENT,
			       "nothing loaded at %s: run 'nomoat load' first (is the pin dir right?)", dir);
	err = nm_cgroup_id(cg, &cgid);
	if (err)
		return nm_fail(NM_E_INPUT, err, "cgroup '%s': %s", cg, strerror(-err));
	if (!origdst_only && nm_attach_foreach(dir, check_overlap, &o) == 1)
		return nm_fail(NM_E_INPUT, -EEXIST,
			       "cgroup '%s' is inside or above the attach point %s: attach once, at the top",
			       cg, o.other);
	links_dir(ld, sizeof(ld), dir, cgid);
	if ((err = nm_mkdirs(ld, strlen(dir), false, 0700)))
		return nm_fail(NM_E_RUNTIME, err, "cannot create %s: %s", ld, strerror(-err));
	cgfd = open(cg, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cgfd < 0) {
		err = nm_fail(NM_E_INPUT, -errno, "cgroup '%s': %s", cg, strerror(errno));
		goto fail;
	}
	for (int i = 0; i < NM_PROG__MAX; i++) {
		int pfd, lfd;

		if (origdst_only ? !nm_progs[i].origdst : !nm_progs[i].full)
			continue;
		snprintf(p, sizeof(p), "%s/%s", ld, nm_progs[i].name);
		if (access(p, F_OK) == 0) {
			*adopted = true;
			continue;
		}
		snprintf(p, sizeof(p), "%s/progs/%s", dir, nm_progs[i].name);
		pfd = bpf_obj_get(p);
		if (pfd < 0) {
			err = nm_fail(NM_E_RUNTIME, -errno, "%s: %s", p, strerror(errno));
			goto fail;
		}
		lfd = bpf_link_create(pfd, cgfd, nm_progs[i].attach, NULL);
		close(pfd);
		if (lfd < 0) {
			err = nm_fail(NM_E_RUNTIME, -errno, "attaching %s at %s: %s", nm_progs[i].name, cg,
				      strerror(errno));
			goto fail;
		}
		snprintf(p, sizeof(p), "%s/%s", ld, nm_progs[i].name);
		err = bpf_obj_pin(lfd, p) ? -errno : 0;
		close(lfd); /* the pin holds the link now */
		if (err) {
			nm_fail(NM_E_RUNTIME, err, "cannot pin %s: %s", p, strerror(-err));
			goto fail;
		}
		made[i] = true;
	}
	close(cgfd);
	return 0;
fail:
	if (cgfd >= 0)
		close(cgfd);
	/* All or nothing: undo what this call attached; links that were
	 * there before it (adopted) stay. */
	for (int i = 0; i < NM_PROG__MAX; i++) {
		int fd;

		if (!made[i])
			continue;
		snprintf(p, sizeof(p), "%s/%s", ld, nm_progs[i].name);
		fd = bpf_obj_get(p);
		if (fd >= 0) {
			bpf_link_detach(fd);
			close(fd);
		}
		unlink(p);
	}
	rmdir(ld); /* fails, as it should, if adopted links remain */
	return err;
}

int nm_detach(const char *dir, const char *cg)
{
	char ld[PATH_MAX];
	__u64 cgid;
	int err = nm_cgroup_id(cg, &cgid);

	if (err)
		return nm_fail(NM_E_INPUT, err, "cgroup '%s': %s", cg, strerror(-err));
	links_dir(ld, sizeof(ld), dir, cgid);
	if (access(ld, F_OK))
		return nm_fail(NM_E_INPUT, -ENOENT, "cgroup '%s' is not an attach point", cg);
	err = detach_id(dir, cgid);
	if (err)
		return nm_fail(NM_E_RUNTIME, err, "detaching at %s: %s", cg, strerror(-err));
	return 0;
}

static int detach_cb(const struct nm_attachment *a, void *dir)
{
	detach_id(dir, a->cgroup_id);
	return 0;
}

int nm_unload(const char *dir)
{
	static const char *maps[] = {
		"nm_policies", "nm_rules4", "nm_rules6", "nm_bindings", "nm_events", "nm_stats",
		"nm_gstats", "nm_flows", "nm_flowcnt", "nm_sk", "nm_reasons", "nm_epoch", "nm_dnsq",
	};
	char p[PATH_MAX];
	int err = 0;

	if (access(dir, F_OK))
		return nm_fail(NM_E_RUNTIME, -ENOENT, "nothing at %s: not loaded (is the pin dir right?)", dir);
	/* Links first: the gate closes only when nothing enforces any more. */
	nm_attach_foreach(dir, detach_cb, (void *)dir);
	snprintf(p, sizeof(p), "%s/links", dir);
	rmdir(p);
	unpin_progs(dir);
	for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, maps[i]);
		if (unlink(p) && errno != ENOENT && !err)
			err = -errno;
	}
	if (rmdir(dir) && !err)
		err = -errno;
	if (err)
		return nm_fail(NM_E_RUNTIME, err, "removing %s: %s (left: see ls %s)", dir, strerror(-err), dir);
	return 0;
}
