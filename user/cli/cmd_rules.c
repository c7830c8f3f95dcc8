// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* deny|allow|redirect add|del|list, rule list|import|replace */
#include "cli.h"
#include "err.h"
#include "parse.h"
#include "policy.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

struct list_ctx {
	struct nm_cli *c;
	__u8 action; /* NM_ACT_NONE: all */
};

static int list_cb(const struct nm_rule_entry *e, void *arg)
{
	struct list_ctx *l = arg;
	char t[NM_CIDR_STRLEN];

	if (l->action != NM_ACT_NONE && e->action != l->action)
		return 0;
	nm_format_cidr(&e->cidr, t, sizeof(t));
	if (l->c->json) {
		nm_json_obj(&l->c->j, NULL);
		nm_json_str(&l->c->j, "action", nm_action_name(e->action));
		nm_json_str(&l->c->j, "target", t);
		nm_json_str(&l->c->j, "reason", e->reason);
		nm_json_obj_end(&l->c->j);
	} else {
		printf("%-8s %s%s%s\n", nm_action_name(e->action), t, e->reason[0] ? "  # " : "", e->reason);
	}
	return 0;
}

static int do_list(struct nm_cli *c, const struct nm_maps *m, __u32 id, __u8 action)
{
	struct list_ctx l = { c, action };
	int ret;

	if (c->json)
		nm_json_arr(&c->j, NULL);
	ret = nm_rule_foreach(m, id, list_cb, &l);
	if (c->json) {
		nm_json_arr_end(&c->j);
		nm_json_done(&c->j);
	}
	return ret;
}

static void report(struct nm_cli *c, bool added, __u8 action, const char *target, const char *policy, __u8 old)
{
	const char *what = added ? "added" : "deleted";

	if (c->json) {
		nm_json_obj(&c->j, NULL);
		nm_json_str(&c->j, what, target);
		nm_json_str(&c->j, "action", nm_action_name(action));
		nm_json_str(&c->j, "policy", policy);
		if (old != NM_ACT_NONE)
			nm_json_str(&c->j, "replaced", nm_action_name(old));
		nm_json_obj_end(&c->j);
		nm_json_done(&c->j);
		return;
	}
	if (old == action)
		printf("%s %s: already in policy %s, unchanged\n", nm_action_name(action), target, policy);
	else if (old != NM_ACT_NONE)
		printf("%s %s: replaced %s in policy %s\n", nm_action_name(action), target, nm_action_name(old), policy);
	else
		printf("%s %s: %s policy %s\n", nm_action_name(action), target, added ? "added to" : "removed from",
		       policy);
}

/* What a verb of these objects takes: --policy NAME always, --reason TEXT
 * when reason is not NULL, and one positional when need names it. */
struct rule_args {
	const char *policy, *reason;
	char *pos[1];
};

static int parse_args(struct nm_cli *c, const char *verb, int argc, char **argv, bool with_reason,
		      const char *need, struct rule_args *a)
{
	struct nm_opt opts[] = {
		{ "policy", &a->policy, NULL },
		{ with_reason ? "reason" : NULL, &a->reason, NULL },
		{ NULL, NULL, NULL },
	};
	int n, ret = nm_opts_parse(argc, argv, opts, a->pos, 1, &n, NULL, NULL);

	if (ret)
		return ret;
	if (!a->policy)
		return nm_usage("%s %s needs --policy NAME", c->object, verb);
	if (n != !!need)
		return nm_usage("%s %s %s%s", c->object, verb, need ? "needs " : "takes no arguments", need ? need : "");
	return 0;
}

/* The maps and the policy's id. */
static int open_policy(struct nm_cli *c, const char *policy, struct nm_maps *m, __u32 *id)
{
	int ret = nm_cli_maps(c, m);

	if (ret)
		return ret;
	ret = nm_policy_lookup(m, policy, id, NULL);
	if (ret)
		nm_maps_close(m);
	return ret;
}

/* OBJECT list --policy NAME: the rules of one action (rule: all). */
static int do_list_of(struct nm_cli *c, int argc, char **argv, __u8 action)
{
	struct rule_args a = { 0 };
	struct nm_maps m;
	__u32 id;
	int ret = parse_args(c, "list", argc, argv, false, NULL, &a);

	if (!ret)
		ret = open_policy(c, a.policy, &m, &id);
	if (ret)
		return ret;
	ret = do_list(c, &m, id, action);
	nm_maps_close(&m);
	return ret;
}

/* The action the object names (deny, allow, redirect). */
static int object_action(struct nm_cli *c, __u8 *action)
{
	char err[NM_ERR_LEN];

	if (nm_parse_action(c->object, action, err, sizeof(err)))
		return nm_usage("%s", err);
	return 0;
}

/* ACTION add|del TARGET --policy NAME [--reason TEXT] */
static int add_or_del(struct nm_cli *c, int argc, char **argv, bool add)
{
	struct rule_args a = { 0 };
	struct nm_rule_entry e = { 0 };
	char err[NM_ERR_LEN], rbuf[NM_REASON_LEN];
	__u8 old = NM_ACT_NONE;
	struct nm_maps m;
	__u32 id;
	int ret = parse_args(c, add ? "add" : "del", argc, argv, add, "a TARGET", &a);

	if (!ret)
		ret = object_action(c, &e.action);
	if (ret)
		return ret;
	if (nm_parse_cidr(a.pos[0], &e.cidr, err, sizeof(err)))
		return nm_usage("%s", err);
	if (a.reason) {
		snprintf(rbuf, sizeof(rbuf), "%s", a.reason);
		e.reason = rbuf;
	}
	ret = open_policy(c, a.policy, &m, &id);
	if (ret)
		return ret;
	ret = add ? nm_rule_add(&m, id, &e, &old) : nm_rule_del(&m, id, &e.cidr, e.action);
	if (!ret)
		report(c, add, e.action, a.pos[0], a.policy, old);
	nm_maps_close(&m);
	return ret;
}

static int do_add(struct nm_cli *c, int argc, char **argv)
{
	return add_or_del(c, argc, argv, true);
}

static int do_del(struct nm_cli *c, int argc, char **argv)
{
	return add_or_del(c, argc, argv, false);
}

static int do_action_list(struct nm_cli *c, int argc, char **argv)
{
	__u8 action;
	int ret = object_action(c, &action);

	return ret ? ret : do_list_of(c, argc, argv, action);
}

static int do_rule_list(struct nm_cli *c, int argc, char **argv)
{
	return do_list_of(c, argc, argv, NM_ACT_NONE);
}

/* rule import|replace FILE --policy NAME: the whole file is checked before
 * anything changes. */
static int load_file(struct nm_cli *c, int argc, char **argv, bool replace)
{
	struct rule_args a = { 0 };
	struct nm_ruleset rs = { 0 };
	struct nm_policy p;
	struct nm_maps m;
	__u32 id;
	int ret = parse_args(c, replace ? "replace" : "import", argc, argv, false, "a FILE", &a);

	if (ret)
		return ret;
	ret = nm_ruleset_parse_file(a.pos[0], &rs);
	if (!ret)
		ret = open_policy(c, a.policy, &m, &id);
	if (ret)
		goto out;
	ret = replace ? nm_policy_get(&m, id, &p) : 0;
	if (!ret)
		ret = replace ? nm_policy_replace(&m, &p, &rs) : nm_rule_import(&m, id, &rs);
	if (!ret && c->json) {
		nm_json_obj(&c->j, NULL);
		nm_json_u64(&c->j, replace ? "replaced" : "imported", rs.n);
		nm_json_str(&c->j, "policy", a.policy);
		nm_json_obj_end(&c->j);
		nm_json_done(&c->j);
	} else if (!ret) {
		printf("%s %zu rules %s policy %s\n", replace ? "replaced the rules with" : "imported", rs.n,
		       replace ? "in" : "into", a.policy);
	}
	nm_maps_close(&m);
out:
	nm_ruleset_free(&rs);
	return ret;
}

static int do_import(struct nm_cli *c, int argc, char **argv)
{
	return load_file(c, argc, argv, false);
}

static int do_replace(struct nm_cli *c, int argc, char **argv)
{
	return load_file(c, argc, argv, true);
}

/* deny|allow|redirect: the action is the object's name. */
const struct nm_cmd nm_action_verbs[] = {
	{ "add", do_add, NULL, "TARGET --policy NAME [--reason TEXT]", "add a rule (or change its action)", NULL },
	{ "del", do_del, NULL, "TARGET --policy NAME", "delete the rule of this action for TARGET", NULL },
	{ "list", do_action_list, NULL, "--policy NAME", "the policy's rules of this action", NULL },
	{ NULL, NULL, NULL, NULL, NULL, NULL },
};

const struct nm_cmd nm_rule_verbs[] = {
	{ "list", do_rule_list, NULL, "--policy NAME", "every rule of the policy", NULL },
	{ "import", do_import, NULL, "FILE --policy NAME",
	  "add the rules of FILE, all or nothing (later lines win for one target)", NULL },
	{ "replace", do_replace, NULL, "FILE --policy NAME",
	  "the whole table becomes FILE, in one atomic swap", NULL },
	{ NULL, NULL, NULL, NULL, NULL, NULL },
};

#define TARGET_NOTE "TARGET: 10.0.0.0/8  1.2.3.4  1.2.3.4:443  fd00::/8  [fd00::1]:443\n"

const char nm_target_notes[] = TARGET_NOTE;
const char nm_rule_notes[] =
	"FILE: lines \"ACTION TARGET [# reason]\" (ACTION deny, allow or redirect), '#' comments\n" TARGET_NOTE;
