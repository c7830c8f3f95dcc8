// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The parent cgroup of `nomoat run`'s command (runpoint.h). */
#include "runpoint.h"
#include "cgroup.h"
#include "err.h"
#include "loader.h"
#include "state.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Is path at or below the attach point at? */
static bool covers(const char *at, const char *path)
{
	size_t n = strlen(at);

	return !strncmp(path, at, n) && (path[n] == '/' || !path[n]);
}

int nm_runpoint_pick(const struct nm_runpoint *v, size_t n, const char *parent, const char *parent_abs,
		     __u32 policy_id, char *out, size_t len)
{
	const char *first = NULL, *match = NULL;
	int nsandbox = 0, nmatch = 0;
	bool covered = false;

	for (size_t i = 0; i < n; i++) {
		if (v[i].origdst_only || !v[i].path[0])
			continue;
		if (nsandbox++ == 0)
			first = v[i].path;
		if (policy_id && v[i].bound == policy_id && nmatch++ == 0)
			match = v[i].path;
		if (parent_abs && covers(v[i].path, parent_abs))
			covered = true;
	}
	if (parent_abs) {
		/* Refuse rather than run the command unpoliced. */
		if (!covered)
			return nm_fail(NM_E_INPUT, -EINVAL,
				       "cgroup '%s' is not at or below an attach point: the command would run unpoliced",
				       parent ? parent : parent_abs);
		first = parent_abs;
	} else if (nsandbox > 1 && nmatch == 1) {
		first = match;
	} else if (nsandbox != 1) {
		return nm_fail(NM_E_INPUT, -EINVAL, "%s: give --cgroup-parent PATH",
			       nsandbox ? "several attach points (and none of them bound to the policy)"
					: "no attach point (nomoat cgroup attach PATH)");
	}
	if (snprintf(out, len, "%s", first) >= (int)len)
		return nm_fail(NM_E_INPUT, -ENAMETOOLONG, "cgroup '%s': path too long", first);
	return 0;
}

struct gather {
	const struct nm_maps *m;
	struct nm_runpoint *v;
	char (*paths)[PATH_MAX];
	size_t n, cap;
	int err;
};

static int gather_cb(const struct nm_attachment *a, void *arg)
{
	struct gather *g = arg;
	__u32 bound = 0;

	if (g->n == g->cap) {
		size_t cap = g->cap ? g->cap * 2 : 8;
		struct nm_runpoint *v = realloc(g->v, cap * sizeof(*v));
		char (*p)[PATH_MAX] = v ? realloc(g->paths, cap * sizeof(*p)) : NULL;

		if (v)
			g->v = v;
		if (!p) {
			g->err = nm_fail(NM_E_RUNTIME, -ENOMEM, "out of memory listing the attach points");
			return 1;
		}
		g->paths = p;
		g->cap = cap;
	}
	snprintf(g->paths[g->n], PATH_MAX, "%s", a->path);
	if (nm_binding_get(g->m, a->cgroup_id, &bound))
		bound = 0;
	g->v[g->n] = (struct nm_runpoint){ .origdst_only = a->origdst_only, .bound = bound };
	g->n++;
	return 0;
}

int nm_runpoint_parent(const char *parent, char *abs, size_t len)
{
	return nm_cgroup_find(parent, abs, len, "no such cgroup");
}

int nm_runpoint_choose(const char *pin_dir, const struct nm_maps *m, const char *parent, const char *parent_abs,
		       __u32 policy_id, char *out, size_t len)
{
	struct gather g = { .m = m };
	int ret;

	nm_attach_foreach(pin_dir, gather_cb, &g);
	ret = g.err;
	if (!ret) {
		/* the paths moved while the arrays grew: point at them now */
		for (size_t i = 0; i < g.n; i++)
			g.v[i].path = g.paths[i];
		ret = nm_runpoint_pick(g.v, g.n, parent, parent_abs, policy_id, out, len);
	}
	free(g.v);
	free(g.paths);
	return ret;
}
