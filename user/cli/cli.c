// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "cli.h"
#include "err.h"
#include "loader.h"

#include <errno.h>
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

static int cmd_rules(struct nm_cli *c, int argc, char **argv)
{
	return nm_cmd_rules(c, argv[-1], argc, argv);
}

static const struct {
	const char *object;
	int (*fn)(struct nm_cli *c, int argc, char **argv);
} objects[] = {
	{ "load", nm_cmd_load },     { "unload", nm_cmd_unload },     { "status", nm_cmd_status },
	{ "policy", nm_cmd_policy }, { "deny", cmd_rules },           { "allow", cmd_rules },
	{ "redirect", cmd_rules },   { "rule", cmd_rules },           { "cgroup", nm_cmd_cgroup },
	{ "check", nm_cmd_check },   { "run", nm_cmd_run },           { "events", nm_cmd_events },
	{ "stats", nm_cmd_stats },   { "reload", nm_cmd_reload },     { "oci-hook", nm_cmd_oci_hook },
	{ "doctor", nm_cmd_doctor },
};

/* OBJECT VERB ARGS: the object's function gets what follows the object
 * (argv[-1] is the object itself). */
static int dispatch(struct nm_cli *c, int argc, char **argv)
{
	for (size_t i = 0; i < sizeof(objects) / sizeof(objects[0]); i++)
		if (!strcmp(argv[0], objects[i].object))
			return objects[i].fn(c, argc - 1, argv + 1);
	return nm_usage("unknown object '%s' (see nomoat --help)", argv[0]);
}

int nm_cli_main(int argc, char **argv)
{
	struct nm_cli c = { 0 };
	const char *pin = NULL;
	bool bad = false;
	int i, ret;

	nm_err_clear();
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "-j") || !strcmp(a, "--json")) {
			c.json = true;
		} else if (!strcmp(a, "-p") || !strcmp(a, "--pretty")) {
			c.json = c.pretty = true;
		} else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
			c.verbose = true;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			fputs(usage_text, stdout);
			return NM_EXIT_OK;
		} else if (!strcmp(a, "--pin-dir") || !strncmp(a, "--pin-dir=", 10)) {
			pin = a[9] == '=' ? a + 10 : (i + 1 < argc ? argv[++i] : NULL);
			if (!pin || !*pin) {
				nm_usage("option '--pin-dir' needs a directory");
				bad = true;
				break;
			}
		} else {
			nm_usage("unknown option '%s' (see nomoat --help)", a);
			bad = true;
			break;
		}
	}
	nm_json_init(&c.j, stdout, c.pretty);
	if (bad)
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
	if (argc - i >= 2 && (!strcmp(argv[i + 1], "help") || !strcmp(argv[i + 1], "--help"))) {
		fputs(usage_text, stdout);
		return NM_EXIT_OK;
	}
	ret = dispatch(&c, argc - i, argv + i);
	if (ret < 0)
		return nm_cli_error(&c);
	return ret;
}
