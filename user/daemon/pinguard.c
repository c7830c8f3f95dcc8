// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Keeping nomoat's pins (see pinguard.h). */
#include "pinguard.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "files.h"
#include "pins.h"

#define NM_PIN_DEPTH 3 /* dir, links/, links/<cgroup id>/ */

static int add(struct nm_pinguard *g, const char *rel, int fd, bool link)
{
	if (g->n == g->cap) {
		size_t cap = g->cap ? 2 * g->cap : 64;
		struct nm_pin *v = realloc(g->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		g->v = v;
		g->cap = cap;
	}
	snprintf(g->v[g->n].rel, sizeof(g->v[g->n].rel), "%s", rel);
	g->v[g->n].fd = fd;
	g->v[g->n].link = link;
	g->n++;
	return 0;
}

static int walk(struct nm_pinguard *g, const char *rel, int depth)
{
	char path[PATH_MAX + 256];
	struct dirent *e;
	int err = 0;
	DIR *d;

	snprintf(path, sizeof(path), "%s%s%s", g->dir, *rel ? "/" : "", rel);
	d = opendir(path);
	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		char sub[sizeof(((struct nm_pin *)0)->rel)];
		struct stat st;
		int fd;

		if (e->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(sub, sizeof(sub), "%s%s%s", rel, *rel ? "/" : "", e->d_name) >= sizeof(sub))
			continue;
		snprintf(path, sizeof(path), "%s/%s", g->dir, sub);
		if (lstat(path, &st))
			continue;
		if (S_ISDIR(st.st_mode)) {
			if (depth + 1 < NM_PIN_DEPTH) {
				int r = walk(g, sub, depth + 1);

				if (r && !err)
					err = r;
			}
			continue;
		}
		fd = bpf_obj_get(path);
		if (fd < 0) {
			if (!err)
				err = -errno;
			continue;
		}
		if (add(g, sub, fd, !strncmp(sub, "links/", 6))) {
			close(fd);
			err = -ENOMEM;
			break;
		}
	}
	closedir(d);
	return err;
}

static void let_go(struct nm_pinguard *g)
{
	for (size_t i = 0; i < g->n; i++)
		close(g->v[i].fd);
	g->n = 0;
}

int nm_pinguard_take(struct nm_pinguard *g, const char *dir)
{
	let_go(g);
	snprintf(g->dir, sizeof(g->dir), "%s", dir);
	return walk(g, "", 0);
}

/* Is a held link still attached to its cgroup?  A detached cgroup link
 * reports cgroup id 0. */
static bool link_attached(int fd)
{
	struct bpf_link_info info;
	__u32 len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return true; /* cannot tell: assume so */
	return info.type != BPF_LINK_TYPE_CGROUP || info.cgroup.cgroup_id != 0;
}

/* mkdir -p of the directories of rel below dir. */
static int make_dirs(const char *dir, const char *rel)
{
	char path[PATH_MAX + 256];

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	return nm_mkdirs(path, strlen(dir), true, 0700);
}

int nm_pinguard_check(struct nm_pinguard *g, struct nm_pin_report *r)
{
	char path[PATH_MAX + 256];
	bool any_link = false, all_detached = true;

	memset(r, 0, sizeof(*r));
	r->held = g->n;
	for (size_t i = 0; i < g->n; i++) {
		snprintf(path, sizeof(path), "%s/%s", g->dir, g->v[i].rel);
		if (access(path, F_OK) == 0)
			continue;
		r->missing++;
	}
	if (!r->missing)
		return 0;
	for (size_t i = 0; i < g->n; i++) {
		if (!g->v[i].link)
			continue;
		any_link = true;
		if (link_attached(g->v[i].fd))
			all_detached = false;
	}
	if (any_link && all_detached) {
		r->unloaded = true;
		return -ENOENT;
	}
	if (nm_bpffs_ensure(g->dir) == 0 && mkdir(g->dir, 0700) && errno != EEXIST && !r->first_err)
		r->first_err = errno;
	for (size_t i = 0; i < g->n; i++) {
		int err;

		snprintf(path, sizeof(path), "%s/%s", g->dir, g->v[i].rel);
		if (access(path, F_OK) == 0)
			continue;
		err = make_dirs(g->dir, g->v[i].rel);
		if (!err && bpf_obj_pin(g->v[i].fd, path))
			err = -errno;
		if (err) {
			if (!r->first_err)
				r->first_err = -err;
			continue;
		}
		r->restored++;
	}
	return r->restored == r->missing ? 0 : -EIO;
}

void nm_pinguard_free(struct nm_pinguard *g)
{
	let_go(g);
	free(g->v);
	g->v = NULL;
	g->cap = 0;
}
