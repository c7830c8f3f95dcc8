// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "cli.h"
#include "err.h"
#include "loader.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char usage_text[] =
"Usage: nomoat [OPTIONS] OBJECT VERB [ARGS]\n"
"\n"
"Kernel-enforced egress policy for sandboxed workloads.\n"
"\n"
"Options (before OBJECT):\n"
"  -j, --json          JSON output (errors too)\n"
"  -p, --pretty        pretty JSON (implies -j)\n"
"  -v, --verbose       libbpf debug output\n"
"      --pin-dir DIR   pin directory (default $NOMOAT_PIN_DIR or /sys/fs/bpf/nomoat)\n"
"  -h, --help          this text\n"
"\n"
"Objects and verbs:\n"
"  load [--max-flows N]              load and pin programs and maps (adopts existing pins);\n"
"                                    N live redirected flows at most (default 65536)\n"
"  unload                            detach everything, remove all pins (ends enforcement)\n"
"  status                            kernel features, what is loaded and attached\n"
"  doctor                            what on this host keeps nomoat from enforcing (exit 1 on a fail)\n"
"  policy create NAME [SETTINGS] [--with-defaults] [--rules FILE]\n"
"  policy set NAME SETTINGS [--rules FILE]   change settings live; with --rules the\n"
"                                    rules too, settings and rules in one atomic swap\n"
"  policy list | show NAME | delete NAME\n"
"      SETTINGS: --default deny|allow|redirect  --mode enforce|audit\n"
"                --events deny|redirect|all  --proxy4 A:P  --proxy6 [A]:P\n"
"                --dns4 A:P  --dns6 [A]:P   (\"none\" clears an endpoint)\n"
"                --raw-sockets allow|deny   raw IP and ping sockets (default deny)\n"
"  deny|allow|redirect add TARGET --policy NAME [--reason TEXT]\n"
"  deny|allow|redirect del TARGET --policy NAME\n"
"  deny|allow|redirect list --policy NAME\n"
"  rule list --policy NAME\n"
"  rule import FILE --policy NAME    lines \"ACTION TARGET [# reason]\", all or nothing\n"
"  rule replace FILE --policy NAME   the whole table becomes FILE, in one atomic swap\n"
"      TARGET: 10.0.0.0/8  1.2.3.4  1.2.3.4:443  fd00::/8  [fd00::1]:443\n"
"  cgroup attach PATH [--origdst-only]   attach the programs (a proxy's cgroup: --origdst-only)\n"
"  cgroup detach PATH\n"
"  cgroup bind PATH --policy NAME | unbind PATH | list\n"
"  check ADDR [PORT] --policy NAME [--proto tcp|udp]\n"
"  run [--policy NAME] [--cgroup-parent PATH] -- CMD [ARGS...]\n"
"                                    without --policy the cgroup's nearest bound ancestor rules\n"
"  events [--count N] [--timeout SECONDS] [--backlog] [--socket PATH]\n"
"                                    from nomoatd's socket when it runs, else the kernel\n"
"  stats\n"
"  reload [--pidfile FILE]           ask nomoatd to reload its policy file (SIGHUP)\n"
"  oci-hook                          OCI prestart hook: bind the container (state on stdin)\n"
"                                    to the policy in its nomoat.policy annotation\n"
"\n"
"Exit status: 0 done, 1 the system failed, 2 bad input (nothing changed).\n";

int nm_usage(const char *fmt, ...)
{
	char buf[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return nm_fail(NM_E_INPUT, -EINVAL, "%s", buf);
}

int nm_cli_error(struct nm_cli *c)
{
	if (c->json) {
		nm_json_obj(&c->j, NULL);
		nm_json_str(&c->j, "error", nm_err_msg());
		nm_json_obj_end(&c->j);
		nm_json_done(&c->j);
	} else {
		fprintf(stderr, "nomoat: %s\n", nm_err_msg());
	}
	return nm_err_kind() == NM_E_INPUT ? NM_EXIT_USAGE : NM_EXIT_RUNTIME;
}

int nm_opts_parse(int argc, char **argv, const struct nm_opt *opts, char **pos, int maxpos, int *npos,
		  char ***rest, int *nrest)
{
	*npos = 0;
	if (rest) {
		*rest = NULL;
		*nrest = 0;
	}
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		const struct nm_opt *o;
		const char *eq;
		size_t nl;

		if (!strcmp(a, "--")) {
			if (!rest)
				return nm_usage("unexpected '--'");
			*rest = argv + i + 1;
			*nrest = argc - i - 1;
			return 0;
		}
		if (strncmp(a, "--", 2) || !a[2]) {
			if (a[0] == '-' && a[1])
				return nm_usage("unknown option '%s' (options are spelled --name)", a);
			if (*npos >= maxpos)
				return nm_usage("unexpected argument '%s'", a);
			pos[(*npos)++] = argv[i];
			continue;
		}
		eq = strchr(a + 2, '=');
		nl = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
		for (o = opts; o && o->name; o++)
			if (strlen(o->name) == nl && !strncmp(o->name, a + 2, nl))
				break;
		if (!o || !o->name)
			return nm_usage("unknown option '%.*s'", (int)(nl + 2), a);
		if (o->flag) {
			if (eq)
				return nm_usage("option '--%s' takes no value", o->name);
			*o->flag = true;
			continue;
		}
		if (eq) {
			*o->val = eq + 1;
		} else {
			if (i + 1 >= argc)
				return nm_usage("option '--%s' needs a value", o->name);
			*o->val = argv[++i];
		}
		if (!**o->val)
			return nm_usage("option '--%s' needs a non-empty value", o->name);
	}
	return 0;
}

int nm_cli_print_attachment(const struct nm_attachment *a, void *arg)
{
	struct nm_cli *c = arg;
	const char *role = a->origdst_only ? "origdst" : "sandbox";

	if (c->json) {
		nm_json_obj(&c->j, NULL);
		nm_json_u64(&c->j, "cgroup_id", a->cgroup_id);
		nm_json_str(&c->j, "cgroup", a->path);
		nm_json_str(&c->j, "role", role);
		nm_json_u64(&c->j, "links", a->nlinks);
		nm_json_obj_end(&c->j);
	} else {
		printf("  %-8s %s (cgroup id %llu, %d links)\n", role, a->path[0] ? a->path : "(cgroup gone)",
		       (unsigned long long)a->cgroup_id, a->nlinks);
	}
	return 0;
}

int nm_cli_maps(struct nm_cli *c, struct nm_maps *m)
{
	return nm_maps_open(c->pin_dir, m);
}

/* ---- the command tables ---------------------------------------------------- */

static const struct nm_cmd objects[] = {
	{ "load", nm_cmd_load, NULL, "[--max-flows N]",
	  "load and pin programs and maps (adopts existing pins); N live redirected flows at most "
	  "(default 65536)", NULL },
	{ "unload", nm_cmd_unload, NULL, "", "detach everything, remove all pins (ends enforcement)", NULL },
	{ "status", nm_cmd_status, NULL, "", "kernel features, what is loaded and attached", NULL },
	{ "doctor", nm_cmd_doctor, NULL, "", "what on this host keeps nomoat from enforcing (exit 1 on a fail)",
	  NULL },
	{ "policy", NULL, nm_policy_verbs, NULL, "policies and their settings", nm_policy_notes },
	{ "deny", NULL, nm_action_verbs, NULL, "deny rules of a policy", nm_target_notes },
	{ "allow", NULL, nm_action_verbs, NULL, "allow rules of a policy", nm_target_notes },
	{ "redirect", NULL, nm_action_verbs, NULL, "redirect rules of a policy", nm_target_notes },
	{ "rule", NULL, nm_rule_verbs, NULL, "a policy's whole rule table", nm_rule_notes },
	{ "cgroup", NULL, nm_cgroup_verbs, NULL, "attach points and bindings", NULL },
	{ "check", nm_cmd_check, NULL, "ADDR [PORT] --policy NAME [--proto tcp|udp]",
	  "the verdict the kernel gives a connection to ADDR (and PORT) under policy NAME", NULL },
	{ "run", nm_cmd_run, NULL, "[--policy NAME] [--cgroup-parent PATH] -- CMD [ARGS...]",
	  "run CMD in a new cgroup under an attach point; without --policy the cgroup's nearest bound "
	  "ancestor rules", NULL },
	{ "events", nm_cmd_events, NULL, "[--count N] [--timeout SECONDS] [--backlog] [--socket PATH]",
	  "stream decisions: from nomoatd's socket when it runs, else the kernel", NULL },
	{ "stats", nm_cmd_stats, NULL, "", "decisions by policy and verdict, the kernel's counters", NULL },
	{ "reload", nm_cmd_reload, NULL, "[--pidfile FILE]", "ask nomoatd to reload its policy file (SIGHUP)",
	  NULL },
	{ "oci-hook", nm_cmd_oci_hook, NULL, "",
	  "OCI prestart hook: bind the container (state on stdin) to the policy in its nomoat.policy "
	  "annotation", NULL },
	{ NULL, NULL, NULL, NULL, NULL, NULL },
};

static const struct nm_cmd *find_cmd(const struct nm_cmd *cmds, const char *name)
{
	for (const struct nm_cmd *k = cmds; k->name; k++)
		if (!strcmp(k->name, name))
			return k;
	return NULL;
}

/* "  policy create NAME ...\n        what it does\n" */
static void print_entry(const struct nm_cmd *obj, const struct nm_cmd *k)
{
	printf("  %s %s%s%s\n        %s\n", obj->name, k->name, k->usage[0] ? " " : "", k->usage, k->about);
}

/* The usage of an object with verbs, from its table. */
static void print_object(const struct nm_cmd *obj)
{
	printf("Usage: nomoat [OPTIONS] %s VERB [ARGS]   (%s)\n\n", obj->name, obj->about);
	for (const struct nm_cmd *k = obj->verbs; k->name; k++)
		print_entry(obj, k);
	if (obj->notes)
		printf("\n%s", obj->notes);
}

/* The usage of entry k of obj's table (obj NULL: of the objects). */
static int print_help(const struct nm_cmd *obj, const struct nm_cmd *k)
{
	if (!k && !obj)
		fputs(usage_text, stdout);
	else if (!k)
		print_object(obj);
	else if (k->verbs)
		print_object(k);
	else {
		printf("Usage: nomoat [OPTIONS] %s%s%s%s%s\n\n  %s\n", obj ? obj->name : "", obj ? " " : "", k->name,
		       k->usage[0] ? " " : "", k->usage, k->about);
		if (obj && obj->notes)
			printf("\n%s", obj->notes);
	}
	return NM_EXIT_OK;
}

static bool is_help(const char *w)
{
	return !strcmp(w, "help") || !strcmp(w, "--help");
}

/* Run argv[0] from cmds, the verbs of object obj (NULL: cmds are the
 * objects); returns the exit status, or a negative errno with the error
 * recorded. */
static int cmd_select(struct nm_cli *c, const struct nm_cmd *obj, const struct nm_cmd *cmds, int argc, char **argv)
{
	const char *word = argc ? argv[0] : "";
	const struct nm_cmd *k;

	if (is_help(word))
		return print_help(obj, NULL);
	k = find_cmd(cmds, word);
	if (!k && !obj)
		return nm_usage("unknown object '%s' (see nomoat --help)", word);
	if (!k) {
		char names[256] = "";
		size_t n = 0;

		for (k = cmds; k->name && n < sizeof(names); k++)
			n += snprintf(names + n, sizeof(names) - n, "%s%s", n ? ", " : "", k->name);
		return nm_usage("%s: unknown verb '%s' (%s)", obj->name, word, names);
	}
	/* After an object "help" too; after a verb only "--help" ("help"
	 * can be a policy's or a cgroup's name). */
	if (argc >= 2 && (!strcmp(argv[1], "--help") || (!obj && !strcmp(argv[1], "help"))))
		return print_help(obj, k);
	if (!obj)
		c->object = k->name;
	if (k->verbs)
		return cmd_select(c, k, k->verbs, argc - 1, argv + 1);
	return k->fn(c, argc - 1, argv + 1);
}

/* ---- global options --------------------------------------------------------- */

enum { O_PIN_DIR = 256 };

const char nm_cli_shortopts[] = "+:jpvh";
const struct option nm_cli_longopts[] = {
	{ "json", no_argument, NULL, 'j' },
	{ "pretty", no_argument, NULL, 'p' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "pin-dir", required_argument, NULL, O_PIN_DIR },
	{ NULL, 0, NULL, 0 },
};

/* getopt_long over the options before OBJECT; returns the index of OBJECT
 * (argc: none), -1 after --help, or a negative errno (-EINVAL) with the
 * error recorded. */
static int parse_globals(struct nm_cli *c, int argc, char **argv, const char **pin)
{
	int o;

	optind = 0; /* a fresh scan: nm_cli_main may run more than once */
	opterr = 0;
	for (;;) {
		const char *cur = argv[optind ? optind : 1];

		o = getopt_long(argc, argv, nm_cli_shortopts, nm_cli_longopts, NULL);
		switch (o) {
		case -1:
			return optind;
		case 'j':
			c->json = true;
			break;
		case 'p':
			c->json = c->pretty = true;
			break;
		case 'v':
			c->verbose = true;
			break;
		case 'h':
			return -1;
		case O_PIN_DIR:
			if (!optarg[0])
				return nm_usage("option '--pin-dir' needs a directory");
			*pin = optarg;
			break;
		case ':':
			return nm_usage("option '--pin-dir' needs a directory");
		default:
			/* getopt_long sets optopt for a known long option given a value */
			if (!strncmp(cur, "--", 2) && optopt)
				return nm_usage("option '%.*s' takes no value", (int)strcspn(cur, "="), cur);
			if (!strncmp(cur, "--", 2))
				return nm_usage("unknown option '%.*s' (see nomoat --help)", (int)strcspn(cur, "="), cur);
			return nm_usage("unknown option '-%c' (see nomoat --help)", optopt ? optopt : '?');
		}
	}
}

int nm_cli_main(int argc, char **argv)
{
	struct nm_cli c = { 0 };
	const char *pin = NULL;
	int i, ret;

	nm_err_clear();
	i = parse_globals(&c, argc, argv, &pin);
	if (i == -1) {
		fputs(usage_text, stdout);
		return NM_EXIT_OK;
	}
	nm_json_init(&c.j, stdout, c.pretty);
	if (i < 0)
		return nm_cli_error(&c);
	c.pin_dir = nm_pin_dir_pick(pin);
	if (c.pin_dir[0] != '/') {
		nm_usage("pin dir '%s': must be an absolute path", c.pin_dir);
		return nm_cli_error(&c);
	}
	if (i >= argc) {
		fputs(usage_text, stderr);
		return NM_EXIT_USAGE;
	}
	ret = cmd_select(&c, NULL, objects, argc - i, argv + i);
	if (ret < 0)
		return nm_cli_error(&c);
	return ret;
}
