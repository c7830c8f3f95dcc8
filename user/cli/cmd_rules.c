// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* deny|allow|redirect add|del|list, rule list|import */
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

static void report(struct nm_cli *c, const char *what, __u8 action, const char *target, const char *policy,
		   __u8 old)
{
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
		printf("%s %s: %s policy %s\n", nm_action_name(action), target, what[0] == 'a' ? "added to" : "removed from",
		       policy);
}

int nm_cmd_rules(struct nm_cli *c, const char *object, int argc, char **argv)
{
	const char *verb = argc ? argv[0] : "", *policy = NULL, *reason = NULL;
	struct nm_opt opts[] = {
		{ "policy", &policy, NULL },
		{ "reason", &reason, NULL },
		{ NULL, NULL, NULL },
	};
	bool is_rule = !strcmp(object, "rule");
	struct nm_rule_entry e = { 0 };
	struct nm_ruleset rs = { 0 };
	char err[NM_ERR_LEN], *pos[1], rbuf[NM_REASON_LEN];
	struct nm_maps m;
	__u8 action = NM_ACT_NONE, old = NM_ACT_NONE;
	__u32 id;
	int n, ret;

	if (is_rule ? strcmp(verb, "list") && strcmp(verb, "import") && strcmp(verb, "replace")
		    : strcmp(verb, "add") && strcmp(verb, "del") && strcmp(verb, "list"))
		return nm_usage("%s: unknown verb '%s' (%s)", object, verb,
				is_rule ? "list, import, replace" : "add, del, list");
	if (strcmp(verb, "add"))
		opts[1].name = NULL; /* --reason only when adding */
	ret = nm_opts_parse(argc - 1, argv + 1, opts, pos, 1, &n, NULL, NULL);
	if (ret)
		return ret;
	if (!policy)
		return nm_usage("%s %s needs --policy NAME", object, verb);
	if (!strcmp(verb, "list") ? n != 0 : n != 1)
		return nm_usage("%s %s %s", object, verb,
				!strcmp(verb, "list") ? "takes no arguments" : is_rule ? "needs a FILE" : "needs a TARGET");
	if (!is_rule && nm_parse_action(object, &action, err, sizeof(err)))
		return nm_usage("%s", err);
	if (!strcmp(verb, "add") || !strcmp(verb, "del")) {
		if (nm_parse_cidr(pos[0], &e.cidr, err, sizeof(err)))
			return nm_usage("%s", err);
		e.action = action;
		if (reason) {
			snprintf(rbuf, sizeof(rbuf), "%s", reason);
			e.reason = rbuf;
		}
	} else if (strcmp(verb, "list")) {
		/* import, replace: the whole file is checked before anything */
		ret = nm_ruleset_parse_file(pos[0], &rs);
		if (ret)
			return ret;
	}
	ret = nm_cli_maps(c, &m);
	if (ret)
		goto out;
	ret = nm_policy_lookup(&m, policy, &id, NULL);
	if (ret)
		goto close;
	if (!strcmp(verb, "list")) {
		ret = do_list(c, &m, id, action);
	} else if (!strcmp(verb, "import") || !strcmp(verb, "replace")) {
		bool replace = verb[0] == 'r';
		struct nm_policy p;

		ret = replace ? nm_policy_get(&m, id, &p) : 0;
		if (!ret)
			ret = replace ? nm_policy_replace(&m, &p, &rs) : nm_rule_import(&m, id, &rs);
		if (!ret && c->json) {
			nm_json_obj(&c->j, NULL);
			nm_json_u64(&c->j, replace ? "replaced" : "imported", rs.n);
			nm_json_str(&c->j, "policy", policy);
			nm_json_obj_end(&c->j);
			nm_json_done(&c->j);
		} else if (!ret) {
			printf("%s %zu rules %s policy %s\n", replace ? "replaced the rules with" : "imported", rs.n,
			       replace ? "in" : "into", policy);
		}
	} else if (!strcmp(verb, "add")) {
		ret = nm_rule_add(&m, id, &e, &old);
		if (!ret)
			report(c, "added", action, pos[0], policy, old);
	} else {
		ret = nm_rule_del(&m, id, &e.cidr, action);
		if (!ret)
			report(c, "deleted", action, pos[0], policy, NM_ACT_NONE);
	}
close:
	nm_maps_close(&m);
out:
	nm_ruleset_free(&rs);
	return ret;
}
