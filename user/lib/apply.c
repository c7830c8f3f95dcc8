// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "files.h"
#include "apply.h"
#include "canary.h"
#include "cgroup.h"
#include "err.h"
#include "loader.h"
#include "policy.h"
#include "state.h"

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int nm_apply_cgroup_abs(const char *cfg_path, char *abs, size_t len)
{
	return nm_cgroup_find(cfg_path, abs, len, "no such cgroup (create it first)");
}

/* An attach point that does not exist yet is made (with its parents), so
 * the file alone sets up a ready sandbox cgroup. */
static int ensure_cgroup(const char *cfg_path, char *abs, size_t len)
{
	int err = nm_cgroup_resolve(cfg_path, abs, len);

	if (err != -ENOENT)
		return err ? nm_apply_cgroup_abs(cfg_path, abs, len) : 0;
	err = nm_mkdirs(abs, 1, false, 0755);
	if (err)
		return nm_fail(NM_E_RUNTIME, err, "cannot create cgroup %s: %s", abs, strerror(-err));
	return nm_apply_cgroup_abs(cfg_path, abs, len);
}

int nm_apply_sandbox_point(const struct nm_config *cfg, char *abs, size_t len)
{
	for (size_t i = 0; i < cfg->nattaches; i++)
		if (!cfg->attaches[i].origdst_only)
			return nm_apply_cgroup_abs(cfg->attaches[i].path, abs, len);
	return nm_fail(NM_E_INPUT, -EINVAL, "the policy file has no attach point: nothing would be enforced");
}

int nm_apply_check(const struct nm_config *cfg)
{
	char abs[PATH_MAX];

	for (size_t i = 0; i < cfg->nattaches; i++) {
		int err = nm_apply_cgroup_abs(cfg->attaches[i].path, abs, sizeof(abs));

		if (err == -ENOENT) /* made by nm_apply */
			continue;
		if (err)
			return nm_fail(NM_E_INPUT, err, "%s:%d: %s", cfg->attaches[i].file, cfg->attaches[i].line,
				       nm_err_msg());
	}
	return 0;
}

void nm_apply_watch_points(const struct nm_config *cfg, void (*fn)(const char *abs, void *arg), void *arg)
{
	char abs[PATH_MAX], pre[PATH_MAX];

	for (size_t i = 0; i < cfg->nattaches; i++)
		if (!cfg->attaches[i].origdst_only && nm_apply_cgroup_abs(cfg->attaches[i].path, abs, sizeof(abs)) == 0)
			fn(abs, arg);
	for (size_t i = 0; i < cfg->nbinds; i++) {
		char *glob;

		snprintf(pre, sizeof(pre), "%s", cfg->binds[i].pattern);
		glob = strpbrk(pre, "*?[");
		if (glob)
			*glob = 0;
		for (;;) {
			char *slash = strrchr(pre, '/');

			if (nm_apply_cgroup_abs(pre[0] ? pre : "/", abs, sizeof(abs)) == 0) {
				fn(abs, arg);
				break;
			}
			if (!slash || slash == pre) {
				if (nm_apply_cgroup_abs("/", abs, sizeof(abs)) == 0)
					fn(abs, arg);
				break;
			}
			*slash = 0;
		}
	}
	nm_err_clear();
}

/* The cgroup's path relative to the mount ("/a/b"). */
static const char *rel_of(const char *abs)
{
	static __thread char root[PATH_MAX];
	size_t n;

	if (!root[0] && nm_cgroup2_mount(root, sizeof(root)))
		return abs;
	n = strlen(root);
	if (strncmp(abs, root, n))
		return abs;
	return abs[n] ? abs + n : "/";
}

int nm_apply_cgroup(const struct nm_maps *m, const struct nm_config *cfg, const char *abs)
{
	const char *rel = rel_of(abs);
	__u32 id, cur;
	__u64 cgid;

	for (size_t i = 0; i < cfg->nbinds; i++) {
		if (!nm_cfg_bind_match(cfg->binds[i].pattern, rel))
			continue;
		if (nm_policy_lookup(m, cfg->binds[i].policy, &id, NULL) || nm_cgroup_id(abs, &cgid))
			return 0;
		if (nm_binding_get(m, cgid, &cur) == 0 && cur == id)
			return 0;
		return nm_bind(m, cgid, id) ? 0 : 1;
	}
	return 0;
}

struct walk {
	const struct nm_maps *m;
	const struct nm_config *cfg;
	unsigned bound;
};

static __thread struct walk *walk_ctx;

static int walk_cb(const char *p, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	if (type == FTW_D && nm_apply_cgroup(walk_ctx->m, walk_ctx->cfg, p) == 1)
		walk_ctx->bound++;
	return 0;
}

static int prune_cb(__u64 cg, __u32 pid, void *arg)
{
	char path[PATH_MAX];
	__u64 *gone = arg;

	(void)pid;
	if (nm_cgroup_path_of(cg, path, sizeof(path)) == -ENOENT && gone[0] < 1024)
		gone[++gone[0]] = cg;
	return 0;
}

unsigned nm_apply_prune(const struct nm_maps *m)
{
	__u64 gone[1025] = { 0 };
	unsigned n = 0;

	/* Collect first, delete after: never delete under the walk. */
	nm_binding_foreach(m, prune_cb, gone);
	for (__u64 i = 1; i <= gone[0]; i++)
		n += nm_unbind(m, gone[i]) == 0;
	return n;
}

struct del_ctx {
	const struct nm_config *cfg;
	char names[NM_MAX_POLICIES][NM_POLICY_NAME_LEN];
	unsigned n;
};

static int stale_cb(const struct nm_policy *p, void *arg)
{
	struct del_ctx *d = arg;

	if (!nm_config_policy(d->cfg, p->name) && strcmp(p->name, NM_CANARY_POLICY) && d->n < NM_MAX_POLICIES)
		snprintf(d->names[d->n++], NM_POLICY_NAME_LEN, "%s", p->name);
	return 0;
}

static int apply_policies(const struct nm_maps *m, const struct nm_config *cfg, struct nm_apply_stats *st)
{
	struct nm_staged *sg = calloc(cfg->npolicies ? cfg->npolicies : 1, sizeof(*sg));
	size_t i, n = 0;
	int err = 0;

	if (!sg)
		return nm_fail(NM_E_RUNTIME, -ENOMEM, "out of memory");
	/* Phase 1: build everything aside.  Any failure: nothing changed. */
	for (i = 0; i < cfg->npolicies && !err; i++, n++) {
		const struct nm_cfg_policy *cp = &cfg->policies[i];

		err = nm_policy_stage(m, &cp->p, &cp->rules, &sg[i]);
		if (err)
			err = nm_fail(nm_err_kind(), err, "%s:%d: policy %s: %s", cp->file, cp->line, cp->p.name,
				      nm_err_msg());
	}
	if (err) {
		for (i = 0; i + 1 < n; i++)
			nm_policy_abort(m, &sg[i]);
		free(sg);
		return err;
	}
	/* Phase 2: swap each in (one record update each). */
	for (i = 0; i < n; i++) {
		err = nm_policy_commit(m, &sg[i]);
		if (err)
			break;
		sg[i].fresh ? st->created++ : st->replaced++;
	}
	/* A record update that fails (it should not) leaves that policy and
	 * the rest as they were: their staged tables are dropped. */
	for (; i < n; i++)
		nm_policy_abort(m, &sg[i]);
	nm_policy_finish(m, sg, n);
	free(sg);
	return err;
}

int nm_apply(const char *pin_dir, const struct nm_maps *m, const struct nm_config *cfg,
	     struct nm_apply_stats *st)
{
	struct walk w = { m, cfg, 0 };
	struct del_ctx *d;
	char abs[PATH_MAX], root[PATH_MAX];
	int err;

	memset(st, 0, sizeof(*st));
	err = nm_apply_check(cfg);
	if (!err)
		err = apply_policies(m, cfg, st);
	if (err)
		return err;
	for (size_t i = 0; i < cfg->nattaches; i++) {
		bool adopted;

		err = ensure_cgroup(cfg->attaches[i].path, abs, sizeof(abs));
		if (!err)
			err = nm_attach(pin_dir, abs, cfg->attaches[i].origdst_only, &adopted);
		if (err)
			return nm_fail(nm_err_kind(), err, "%s:%d: %s", cfg->attaches[i].file, cfg->attaches[i].line,
				       nm_err_msg());
		st->attached += !adopted;
	}
	if (nm_cgroup2_mount(root, sizeof(root)) == 0) {
		walk_ctx = &w;
		nftw(root, walk_cb, 32, FTW_PHYS | FTW_MOUNT);
		walk_ctx = NULL;
	}
	st->bound = w.bound;
	st->unbound = nm_apply_prune(m);
	d = calloc(1, sizeof(*d));
	if (d) {
		d->cfg = cfg;
		nm_policy_foreach(m, stale_cb, d);
		for (unsigned i = 0; i < d->n; i++) {
			if (nm_policy_delete(m, d->names[i]) == 0)
				st->deleted++;
			else
				st->kept_bound++; /* still bound (by hand): kept */
		}
		free(d);
	}
	nm_err_clear();
	return 0;
}
