// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* policy create | set | list | show | delete */
#include "cli.h"
#include "err.h"
#include "parse.h"
#include "policy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

struct settings {
	const char *def, *mode, *events, *proxy4, *proxy6, *dns4, *dns6, *raw;
};

#define SETTINGS_OPTS(s)                                                                              \
	{ "default", &(s).def, NULL }, { "mode", &(s).mode, NULL }, { "events", &(s).events, NULL },   \
	{ "proxy4", &(s).proxy4, NULL }, { "proxy6", &(s).proxy6, NULL }, { "dns4", &(s).dns4, NULL }, \
	{ "dns6", &(s).dns6, NULL }, { "raw-sockets", &(s).raw, NULL }

static int parse_ep(const char *opt, const char *s, int want, struct nm_ep4 *e4, struct nm_ep6 *e6)
{
	char err[NM_ERR_LEN];
	int fam;

	if (!s)
		return 0;
	if (!strcmp(s, "none")) {
		if (want == 4)
			memset(e4, 0, sizeof(*e4));
		else
			memset(e6, 0, sizeof(*e6));
		return 0;
	}
	if (nm_parse_endpoint(s, &fam, want == 4 ? e4 : NULL, want == 6 ? e6 : NULL, err, sizeof(err)))
		return nm_usage("--%s %s", opt, err);
	return 0;
}

/* Apply the given settings on top of p; validates everything first. */
static int apply_settings(const struct settings *s, struct nm_policy *p)
{
	struct nm_policy n = *p;
	char err[NM_ERR_LEN];

	if (s->def && nm_parse_action(s->def, &n.default_action, err, sizeof(err)))
		return nm_usage("--default %s", err);
	if (s->mode && nm_parse_mode(s->mode, &n.mode, err, sizeof(err)))
		return nm_usage("--mode %s", err);
	if (s->events && nm_parse_evlevel(s->events, &n.events, err, sizeof(err)))
		return nm_usage("--events %s", err);
	if (s->raw && strcmp(s->raw, "allow") && strcmp(s->raw, "deny"))
		return nm_usage("--raw-sockets '%s': expected allow or deny", s->raw);
	if (s->raw)
		n.raw = !strcmp(s->raw, "allow");
	if (parse_ep("proxy4", s->proxy4, 4, &n.proxy4, NULL) || parse_ep("proxy6", s->proxy6, 6, NULL, &n.proxy6) ||
	    parse_ep("dns4", s->dns4, 4, &n.dns4, NULL) || parse_ep("dns6", s->dns6, 6, NULL, &n.dns6))
		return -EINVAL;
	*p = n;
	return 0;
}

static void print_policy(struct nm_cli *c, const struct nm_policy *p, long rules4, long rules6)
{
	char b[5][NM_CIDR_STRLEN];
	__u32 w[4] = { 0, 0, htonl(0xffff), 0 };

	w[3] = p->proxy4.addr;
	nm_format_addr16(w, 4, p->proxy4.port, b[0], sizeof(b[0]));
	w[3] = p->dns4.addr;
	nm_format_addr16(w, 4, p->dns4.port, b[1], sizeof(b[1]));
	nm_format_addr16(p->proxy6.addr, 6, p->proxy6.port, b[2], sizeof(b[2]));
	nm_format_addr16(p->dns6.addr, 6, p->dns6.port, b[3], sizeof(b[3]));
	if (!p->proxy4.port)
		strcpy(b[0], "none");
	if (!p->dns4.port)
		strcpy(b[1], "none");
	if (!p->proxy6.port)
		strcpy(b[2], "none");
	if (!p->dns6.port)
		strcpy(b[3], "none");
	if (c->json) {
		nm_json_obj(&c->j, NULL);
		nm_json_str(&c->j, "name", p->name);
		nm_json_u64(&c->j, "id", p->id);
		nm_json_str(&c->j, "default", nm_action_name(p->default_action));
		nm_json_str(&c->j, "mode", nm_mode_name(p->mode));
		nm_json_str(&c->j, "events", nm_evlevel_name(p->events));
		nm_json_str(&c->j, "raw_sockets", p->raw ? "allow" : "deny");
		nm_json_str(&c->j, "proxy4", b[0]);
		nm_json_str(&c->j, "proxy6", b[2]);
		nm_json_str(&c->j, "dns4", b[1]);
		nm_json_str(&c->j, "dns6", b[3]);
		if (rules4 >= 0) {
			nm_json_u64(&c->j, "rules4", rules4);
			nm_json_u64(&c->j, "rules6", rules6);
		}
		nm_json_obj_end(&c->j);
		return;
	}
	printf("%s (id %u): default %s, mode %s, events %s, raw sockets %s\n  proxy %s %s  dns %s %s\n", p->name,
	       p->id, nm_action_name(p->default_action), nm_mode_name(p->mode), nm_evlevel_name(p->events),
	       p->raw ? "allowed" : "refused", b[0], b[2], b[1], b[3]);
	if (rules4 >= 0)
		printf("  rules: %ld IPv4, %ld IPv6\n", rules4, rules6);
}

static int list_cb(const struct nm_policy *p, void *arg)
{
	print_policy(arg, p, -1, -1);
	return 0;
}

struct count_ctx {
	long n4, n6;
};

static int count_cb(const struct nm_rule_entry *e, void *arg)
{
	struct count_ctx *cc = arg;

	if (e->cidr.family == 4)
		cc->n4++;
	else
		cc->n6++;
	return 0;
}

static int create_or_set(struct nm_cli *c, int argc, char **argv, bool create)
{
	struct settings s = { 0 };
	const char *rules_file = NULL;
	bool defaults = false;
	/* set: --rules replaces the table, no --with-defaults */
	struct nm_opt create_opts[] = {
		SETTINGS_OPTS(s),
		{ "with-defaults", NULL, &defaults },
		{ "rules", &rules_file, NULL },
		{ NULL, NULL, NULL },
	};
	struct nm_opt set_opts[] = {
		SETTINGS_OPTS(s),
		{ "rules", &rules_file, NULL },
		{ NULL, NULL, NULL },
	};
	struct nm_ruleset rs = { 0 };
	struct nm_policy p = { .default_action = NM_ACT_REDIRECT, .mode = NM_MODE_ENFORCE, .events = NM_EV_DENY };
	char err[NM_ERR_LEN], *pos[1];
	struct nm_maps m;
	int n, ret;
	__u32 id;

	ret = nm_opts_parse(argc, argv, create ? create_opts : set_opts, pos, 1, &n, NULL, NULL);
	if (ret)
		return ret;
	if (n != 1)
		return nm_usage("policy %s needs a NAME", create ? "create" : "set");
	if (nm_parse_policy_name(pos[0], err, sizeof(err)))
		return nm_usage("%s", err);
	if (apply_settings(&s, &p))
		return -EINVAL;
	/* Rules are parsed before anything is touched. */
	if (defaults && (ret = nm_ruleset_parse(nm_deny_defaults, "deny-defaults", &rs)))
		return ret;
	/* an unreadable file leaves the defaults parsed above in rs */
	if (rules_file && (ret = nm_ruleset_parse_file(rules_file, &rs)))
		goto out;
	ret = nm_cli_maps(c, &m);
	if (ret)
		goto out;
	if (create) {
		snprintf(p.name, sizeof(p.name), "%s", pos[0]);
		ret = nm_policy_create(&m, &p, rs.n ? &rs : NULL, &id);
		if (!ret && !c->json)
			printf("policy %s created (id %u, %zu rules)\n", p.name, id, rs.n);
		p.id = id;
	} else {
		ret = nm_policy_lookup(&m, pos[0], NULL, &p);
		if (!ret)
			ret = apply_settings(&s, &p);
		/* With --rules, settings and table change in one swap. */
		if (!ret)
			ret = rules_file ? nm_policy_replace(&m, &p, &rs) : nm_policy_update(&m, &p);
		if (!ret && !c->json)
			printf("policy %s updated%s\n", p.name, rules_file ? ", rules replaced" : "");
	}
	if (!ret && c->json) {
		print_policy(c, &p, -1, -1);
		nm_json_done(&c->j);
	}
	nm_maps_close(&m);
out:
	nm_ruleset_free(&rs);
	return ret;
}

static int do_create(struct nm_cli *c, int argc, char **argv)
{
	return create_or_set(c, argc, argv, true);
}

static int do_set(struct nm_cli *c, int argc, char **argv)
{
	return create_or_set(c, argc, argv, false);
}

/* No options; a NAME when verb needs one.  Opens the maps. */
static int name_and_maps(struct nm_cli *c, const char *verb, bool named, int argc, char **argv, char **name,
			 struct nm_maps *m)
{
	char *pos[1];
	int n, ret = nm_opts_parse(argc, argv, NULL, pos, 1, &n, NULL, NULL);

	if (ret)
		return ret;
	if (n != named)
		return nm_usage("policy %s %s", verb, named ? "needs a NAME" : "takes no arguments");
	if (named)
		*name = pos[0];
	return nm_cli_maps(c, m);
}

static int do_list(struct nm_cli *c, int argc, char **argv)
{
	struct nm_maps m;
	int ret = name_and_maps(c, "list", false, argc, argv, NULL, &m);

	if (ret)
		return ret;
	if (c->json)
		nm_json_arr(&c->j, NULL);
	ret = nm_policy_foreach(&m, list_cb, c);
	if (c->json) {
		nm_json_arr_end(&c->j);
		nm_json_done(&c->j);
	}
	nm_maps_close(&m);
	return ret;
}

static int do_show(struct nm_cli *c, int argc, char **argv)
{
	struct count_ctx cc = { 0 };
	struct nm_policy p;
	struct nm_maps m;
	char *name;
	int ret = name_and_maps(c, "show", true, argc, argv, &name, &m);

	if (ret)
		return ret;
	ret = nm_policy_lookup(&m, name, NULL, &p);
	if (!ret)
		ret = nm_rule_foreach(&m, p.id, count_cb, &cc);
	if (!ret) {
		print_policy(c, &p, cc.n4, cc.n6);
		if (c->json)
			nm_json_done(&c->j);
	}
	nm_maps_close(&m);
	return ret;
}

static int do_delete(struct nm_cli *c, int argc, char **argv)
{
	struct nm_maps m;
	char *name;
	int ret = name_and_maps(c, "delete", true, argc, argv, &name, &m);

	if (ret)
		return ret;
	ret = nm_policy_delete(&m, name);
	if (!ret && !c->json)
		printf("policy %s deleted\n", name);
	if (!ret && c->json) {
		nm_json_obj(&c->j, NULL);
		nm_json_str(&c->j, "deleted", name);
		nm_json_obj_end(&c->j);
		nm_json_done(&c->j);
	}
	nm_maps_close(&m);
	return ret;
}

const struct nm_cmd nm_policy_verbs[] = {
	{ "create", do_create, NULL, "NAME [SETTINGS] [--with-defaults] [--rules FILE]",
	  "a new policy (default redirect, enforce, events deny); --with-defaults adds the shipped deny list", NULL },
	{ "set", do_set, NULL, "NAME SETTINGS [--rules FILE]",
	  "change settings live; with --rules the rules too, settings and rules in one atomic swap", NULL },
	{ "list", do_list, NULL, "", "every policy and its settings", NULL },
	{ "show", do_show, NULL, "NAME", "one policy, with its rule counts", NULL },
	{ "delete", do_delete, NULL, "NAME", "remove a policy (refused while a cgroup is bound to it)", NULL },
	{ NULL, NULL, NULL, NULL, NULL, NULL },
};

const char nm_policy_notes[] =
	"SETTINGS: --default deny|allow|redirect  --mode enforce|audit\n"
	"          --events deny|redirect|all  --proxy4 A:P  --proxy6 [A]:P\n"
	"          --dns4 A:P  --dns6 [A]:P   (\"none\" clears an endpoint)\n"
	"          --raw-sockets allow|deny   raw IP and ping sockets (default deny)\n";
