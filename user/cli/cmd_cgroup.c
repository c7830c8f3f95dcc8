// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* cgroup attach | detach | bind | unbind | list */
#include "cli.h"
#include "cgroup.h"
#include "err.h"
#include "loader.h"
#include "policy.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

static int resolve(const char *user, char *abs, size_t len, __u64 *id)
{
	int err = nm_cgroup_find(user, abs, len, "no such cgroup");

	if (err)
		return err;
	err = id ? nm_cgroup_id(abs, id) : 0;
	if (err)
		return nm_fail(NM_E_RUNTIME, err, "cgroup '%s': cannot read its id: %s", user, strerror(-err));
	return 0;
}

struct bind_list_ctx {
	struct nm_cli *c;
	const struct nm_maps *m;
};

static int bind_list_cb(__u64 cg, __u32 pid, void *arg)
{
	struct bind_list_ctx *b = arg;
	struct nm_policy p = { 0 };
	char path[PATH_MAX];

	if (nm_cgroup_path_of(cg, path, sizeof(path)))
		path[0] = 0;
	nm_policy_get(b->m, pid, &p);
	if (b->c->json) {
		nm_json_obj(&b->c->j, NULL);
		nm_json_u64(&b->c->j, "cgroup_id", cg);
		nm_json_str(&b->c->j, "cgroup", path);
		nm_json_str(&b->c->j, "policy", p.name);
		nm_json_u64(&b->c->j, "policy_id", pid);
		nm_json_obj_end(&b->c->j);
	} else {
		printf("  %s (cgroup id %llu) -> %s\n", path[0] ? path : "(cgroup gone)", (unsigned long long)cg,
		       p.name[0] ? p.name : "(no such policy: fails closed)");
	}
	return 0;
}

static void done(struct nm_cli *c, const char *verb, const char *path, const char *policy, bool adopted)
{
	if (c->json) {
		nm_json_obj(&c->j, NULL);
		nm_json_str(&c->j, verb, path);
		if (policy)
			nm_json_str(&c->j, "policy", policy);
		if (adopted)
			nm_json_bool(&c->j, "already", true);
		nm_json_obj_end(&c->j);
		nm_json_done(&c->j);
	} else {
		printf("%s %s%s%s%s\n", verb, path, policy ? " -> " : "", policy ? policy : "",
		       adopted ? " (already, kept)" : "");
	}
}

static int do_list(struct nm_cli *c, int argc, char **argv)
{
	struct nm_maps m;
	struct bind_list_ctx b = { c, &m };
	char *pos[1];
	int n, ret = nm_opts_parse(argc, argv, NULL, pos, 1, &n, NULL, NULL);

	if (ret)
		return ret;
	if (n)
		return nm_usage("cgroup list takes no arguments");
	ret = nm_cli_maps(c, &m);
	if (ret)
		return ret;
	if (c->json) {
		nm_json_obj(&c->j, NULL);
		nm_json_arr(&c->j, "attached");
	} else {
		printf("attached:\n");
	}
	nm_attach_foreach(c->pin_dir, nm_cli_print_attachment, c);
	if (c->json) {
		nm_json_arr_end(&c->j);
		nm_json_arr(&c->j, "bound");
	} else {
		printf("bound:\n");
	}
	ret = nm_binding_foreach(&m, bind_list_cb, &b);
	if (c->json) {
		nm_json_arr_end(&c->j);
		nm_json_obj_end(&c->j);
		nm_json_done(&c->j);
	}
	nm_maps_close(&m);
	return ret;
}

/* The cgroup PATH of a verb (after its options): resolved, with its id. */
static int path_arg(const char *verb, int argc, char **argv, const struct nm_opt *opts, const char **policy,
		    char *abs, size_t len, __u64 *cgid, const char **user)
{
	char *pos[1];
	int n, ret = nm_opts_parse(argc, argv, opts, pos, 1, &n, NULL, NULL);

	if (ret)
		return ret;
	if (n != 1)
		return nm_usage("cgroup %s needs a cgroup PATH", verb);
	if (policy && !*policy)
		return nm_usage("cgroup %s needs --policy NAME", verb);
	*user = pos[0];
	return resolve(pos[0], abs, len, cgid);
}

static int do_attach(struct nm_cli *c, int argc, char **argv)
{
	bool origdst = false, adopted = false;
	struct nm_opt opts[] = { { "origdst-only", NULL, &origdst }, { NULL, NULL, NULL } };
	const char *user;
	char abs[PATH_MAX];
	__u64 cgid;
	int ret = path_arg("attach", argc, argv, opts, NULL, abs, sizeof(abs), &cgid, &user);

	if (!ret)
		ret = nm_attach(c->pin_dir, abs, origdst, &adopted);
	if (!ret)
		done(c, "attached", abs, NULL, adopted);
	return ret;
}

static int do_detach(struct nm_cli *c, int argc, char **argv)
{
	const char *user;
	char abs[PATH_MAX];
	__u64 cgid;
	int ret = path_arg("detach", argc, argv, NULL, NULL, abs, sizeof(abs), &cgid, &user);

	if (!ret)
		ret = nm_detach(c->pin_dir, abs);
	if (!ret)
		done(c, "detached", abs, NULL, false);
	return ret;
}

static int do_bind(struct nm_cli *c, int argc, char **argv)
{
	const char *policy = NULL, *user;
	struct nm_opt opts[] = { { "policy", &policy, NULL }, { NULL, NULL, NULL } };
	char abs[PATH_MAX];
	struct nm_maps m;
	__u64 cgid;
	__u32 pid;
	int ret = path_arg("bind", argc, argv, opts, &policy, abs, sizeof(abs), &cgid, &user);

	if (!ret)
		ret = nm_cli_maps(c, &m);
	if (ret)
		return ret;
	ret = nm_policy_lookup(&m, policy, &pid, NULL);
	if (!ret)
		ret = nm_bind(&m, cgid, pid);
	if (!ret)
		done(c, "bound", abs, policy, false);
	nm_maps_close(&m);
	return ret;
}

static int do_unbind(struct nm_cli *c, int argc, char **argv)
{
	const char *user;
	char abs[PATH_MAX];
	struct nm_maps m;
	__u64 cgid;
	int ret = path_arg("unbind", argc, argv, NULL, NULL, abs, sizeof(abs), &cgid, &user);

	if (!ret)
		ret = nm_cli_maps(c, &m);
	if (ret)
		return ret;
	ret = nm_unbind(&m, cgid);
	if (ret == -ENOENT)
		ret = nm_fail(NM_E_INPUT, ret, "cgroup '%s' is not bound", user);
	if (!ret)
		done(c, "unbound", abs, NULL, false);
	nm_maps_close(&m);
	return ret;
}

const struct nm_cmd nm_cgroup_verbs[] = {
	{ "attach", do_attach, NULL, "PATH [--origdst-only]",
	  "attach the programs at a cgroup (a proxy's or resolver's cgroup: --origdst-only)", NULL },
	{ "detach", do_detach, NULL, "PATH", "detach them (what runs below is no longer policed)", NULL },
	{ "bind", do_bind, NULL, "PATH --policy NAME", "the cgroup and everything below it get policy NAME", NULL },
	{ "unbind", do_unbind, NULL, "PATH", "remove the cgroup's binding", NULL },
	{ "list", do_list, NULL, "", "attach points and bindings", NULL },
	{ NULL, NULL, NULL, NULL, NULL, NULL },
};
