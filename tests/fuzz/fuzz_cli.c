// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libFuzzer target: the CLI's argument handling (nm_opts_parse and
 * nm_cli_main, user/cli/).  The input is argv, one argument per line (a
 * newline or a NUL ends an argument); argv[0] is "nomoat".
 *
 * The CLI validates all its input before it touches the system, and the
 * fuzzer must never touch it either, so before nm_cli_main runs:
 *   - the pin dir is a path in a private temporary directory that does not
 *     exist ($NOMOAT_PIN_DIR, and any absolute --pin-dir), so a command that
 *     passes validation stops at opening the maps;
 *   - file names the CLI would read (policy --rules, rule import|replace
 *     FILE, events --socket, reload --pidfile) are moved into that
 *     directory, which holds a few fixtures (rules-ok, rules-bad, rules-nul,
 *     pid-bad), so "rules-ok" names a real rules file and nothing else can
 *     be reached; stdin is /dev/null;
 *   - commands whose validation cannot be separated from system access are
 *     not run: load (loads BPF), status (probes the kernel), cgroup
 *     attach|detach|bind|unbind and run --cgroup-parent (resolve the path in
 *     the cgroup2 mount), reload without --pidfile (the real pid file).
 *
 * Checks, besides crashes and leaks: nm_opts_parse keeps its contract
 * (positionals and values point into argv, values non-empty, "--" splits);
 * nm_cli_main exits 0, 1 or 2, an error is one line, and a command that
 * fails at run time (1) got there only by passing validation: it failed
 * opening the maps (or the pid file, or the events socket); with -j or -p
 * an error is one valid JSON object {"error": "..."} on stdout (strict
 * RFC 8259, so valid UTF-8 whatever bytes the arguments held).
 */
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "err.h"
#include "jsonparse.h"

#define MAXARGS 64

static FILE *out;  /* the real stderr: the CLI's output goes to /dev/null */
static FILE *null; /* /dev/null, or stdout with NOMOAT_FUZZ_VERBOSE */

#define FUZZ_CHECK_OUT out
#include "fuzz_check.h"

static char dir[256];  /* the private directory */
static char pin[512];  /* dir/pins: never made */

static const struct {
	const char *name, *text;
	size_t len;
} fixtures[] = {
	{ "f-rules-ok", "deny 10.0.0.0/8 # private\nallow 1.2.3.4:443\nredirect [fd00::1]:80\n", 0 },
	{ "f-rules-bad", "deny 10.0.0.1/8\n", 0 },
	{ "f-rules-nul", "deny 10.0.0.0/8\n\0allow ::/0\n", 28 },
	{ "f-pid-bad", "not a pid\n", 0 },
};

static void cleanup(void)
{
	char p[512];

	for (size_t i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, fixtures[i].name);
		unlink(p);
	}
	rmdir(dir);
}

static void setup(void)
{
	const char *tmp = getenv("TMPDIR");
	char p[512];

	out = stderr;
	snprintf(dir, sizeof(dir), "%s/nomoat-fuzz-cli-XXXXXX", tmp && tmp[0] == '/' ? tmp : "/tmp");
	CHECK(mkdtemp(dir), "mkdtemp %s", dir);
	snprintf(pin, sizeof(pin), "%s/pins", dir);
	for (size_t i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++) {
		size_t len = fixtures[i].len ? fixtures[i].len : strlen(fixtures[i].text);
		FILE *f;

		snprintf(p, sizeof(p), "%s/%s", dir, fixtures[i].name);
		f = fopen(p, "we");
		CHECK(f && fwrite(fixtures[i].text, 1, len, f) == len && !fclose(f), "cannot write %s", p);
	}
	atexit(cleanup);
	setenv(NM_PIN_DIR_ENV, pin, 1);
	/* The CLI prints usage, results and errors: not into the fuzzer's log. */
	null = stdout;
	if (!getenv("NOMOAT_FUZZ_VERBOSE")) {
		null = fopen("/dev/null", "we");
		CHECK(null, "/dev/null");
		stdout = null;
		stderr = null;
	}
	stdin = fopen("/dev/null", "re");
	CHECK(stdin, "/dev/null");
}

/* ---- keeping the CLI away from the system ---------------------------------- */

/* Arguments rewritten into the private directory live here until the next input. */
static char *owned[MAXARGS * 2];
static int nowned;

static char *keep(char *s)
{
	CHECK(nowned < MAXARGS * 2 && s, "too many rewritten arguments");
	owned[nowned++] = s;
	return s;
}

/* "<dir>/f-NAME" with every '/' of NAME made '_': a file in the directory. */
static char *confined(const char *prefix, const char *name)
{
	size_t n = strlen(prefix) + strlen(dir) + 3 + strlen(name) + 1;
	char *s = malloc(n), *p;

	CHECK(s, "out of memory");
	snprintf(s, n, "%s%s/f-%s", prefix, dir, name);
	for (p = s + strlen(prefix) + strlen(dir) + 1; *p; p++)
		if (*p == '/')
			*p = '_';
	return keep(s);
}

/* The value of option --name (its next argument or after "--name=") moved
 * into the directory, wherever the option appears after argv[from].  Over
 * rewriting is harmless; returns whether the option was seen. */
static bool confine_opt(int argc, char **argv, int from, const char *name)
{
	size_t nl = strlen(name);
	bool seen = false;

	for (int k = from; k < argc; k++) {
		if (strncmp(argv[k], "--", 2) || strncmp(argv[k] + 2, name, nl))
			continue;
		if (!argv[k][2 + nl] && k + 1 < argc) {
			/* an empty value is refused as it is */
			if (argv[k + 1][0])
				argv[k + 1] = confined("", argv[k + 1]);
			seen = true;
			k++;
		} else if (argv[k][2 + nl] == '=' && argv[k][3 + nl]) {
			char *p = malloc(nl + 4);

			CHECK(p, "out of memory");
			snprintf(p, nl + 4, "--%s=", name);
			argv[k] = confined(keep(p), argv[k] + 3 + nl);
			seen = true;
		}
	}
	return seen;
}

/* rule import|replace FILE: every positional after the verb, found the way
 * nm_opts_parse finds them (--policy and --reason take a value). */
static void confine_positionals(int argc, char **argv, int from)
{
	for (int k = from; k < argc; k++) {
		const char *a = argv[k];

		if (!strcmp(a, "--policy") || !strcmp(a, "--reason")) {
			k++;
			continue;
		}
		if (!strcmp(a, "--") || (!strncmp(a, "--", 2) && a[2]))
			continue;
		argv[k] = confined("", a);
	}
}

static bool is(const char *a, const char *b)
{
	return a && !strcmp(a, b);
}

/* Make argv safe to run; false: this command cannot be run safely.  *json:
 * an error is printed as JSON; *object: the object word, NULL if none is
 * reached (a bad global option, help, or no object: usage text). */
static bool make_safe(int argc, char **argv, const char **object, bool *json)
{
	const char *obj, *verb;
	int i;

	*object = NULL;
	*json = false;
	/* the global options, read the way nm_cli_main reads them (getopt_long
	 * with its tables: abbreviations, bundles, "--" all count) */
	optind = 0;
	opterr = 0;
	for (;;) {
		int o = getopt_long(argc, argv, nm_cli_shortopts, nm_cli_longopts, NULL);

		if (o == -1)
			break;
		if (o == 'j' || o == 'p')
			*json = true;
		else if (o == 'h' || o == '?' || o == ':')
			return true; /* usage, or refused before anything */
		else if (o != 'v') {
			/* --pin-dir (however spelled): an absolute one is the private pin */
			if (!optarg[0])
				return true; /* refused: it needs a directory */
			if (optarg[0] != '/')
				continue;
			if (optarg == argv[optind - 1])
				argv[optind - 1] = pin;
			else
				argv[optind - 1] = confined("--pin-dir=", "pins-never-made");
		}
	}
	i = optind;
	if (i >= argc)
		return true;
	obj = argv[i];
	verb = i + 1 < argc ? argv[i + 1] : "";
	if (is(verb, "help") || is(verb, "--help"))
		return true;
	*object = obj;
	if (is(obj, "load") || is(obj, "status"))
		return false;
	if (is(obj, "cgroup"))
		return !is(verb, "attach") && !is(verb, "detach") && !is(verb, "bind") && !is(verb, "unbind");
	if (is(obj, "run")) {
		for (int k = i + 1; k < argc; k++)
			if (!strncmp(argv[k], "--cgroup-parent", 15))
				return false;
		return true;
	}
	if (is(obj, "policy"))
		confine_opt(argc, argv, i + 1, "rules");
	if (is(obj, "rule"))
		confine_positionals(argc, argv, i + 2);
	if (is(obj, "events"))
		confine_opt(argc, argv, i + 1, "socket");
	if (is(obj, "reload"))
		return confine_opt(argc, argv, i + 1, "pidfile");
	return true;
}

/* ---- checks ---------------------------------------------------------------- */

static bool in_argv(const char *p, int argc, char **argv)
{
	for (int k = 0; k < argc; k++)
		if (p >= argv[k] && p <= argv[k] + strlen(argv[k]))
			return true;
	return false;
}

static void check_msg(void)
{
	const char *m = nm_err_msg();

	CHECK(m && m[0], "an error without a message");
	CHECK(!strchr(m, '\n'), "message of several lines: %s", m);
}

/* nm_opts_parse with a table of every kind of option. */
static void fuzz_opts(int argc, char **argv)
{
	const char *val = NULL, *other = NULL;
	bool flag = false;
	struct nm_opt opts[] = {
		{ "val", &val, NULL },
		{ "flag", NULL, &flag },
		{ "other", &other, NULL },
		{ NULL, NULL, NULL },
	};
	char *pos[3] = { NULL, NULL, NULL }, **rest = NULL;
	int npos = -1, nrest = -1, rc;

	for (int with_rest = 0; with_rest < 2; with_rest++) {
		nm_err_clear();
		val = other = NULL;
		rc = nm_opts_parse(argc, argv, opts, pos, 2, &npos, with_rest ? &rest : NULL, with_rest ? &nrest : NULL);
		if (rc) {
			CHECK(rc < 0 && nm_err_kind() == NM_E_INPUT, "nm_opts_parse rc %d kind %d", rc, nm_err_kind());
			check_msg();
			continue;
		}
		CHECK(npos >= 0 && npos <= 2, "%d positionals", npos);
		for (int k = 0; k < npos; k++) {
			CHECK(in_argv(pos[k], argc, argv), "positional outside argv");
			CHECK(pos[k][0] != '-' || !pos[k][1], "positional '%s' looks like an option", pos[k]);
		}
		CHECK(!val || (in_argv(val, argc, argv) && val[0]), "--val value");
		CHECK(!other || (in_argv(other, argc, argv) && other[0]), "--other value");
		if (with_rest && rest) {
			long at = rest - argv;

			CHECK(at >= 1 && at <= argc && !strcmp(argv[at - 1], "--") && nrest == argc - at,
			      "rest at %ld of %d, %d args", at, argc, nrest);
		} else if (with_rest) {
			CHECK(nrest == 0, "no rest but %d args", nrest);
		}
	}
}

/* The error in -j/-p mode: one JSON object with an "error" string. */
static void check_json_error(const char *text, size_t len)
{
	char err[NM_JSON_ERR_LEN] = "";
	json_t *root;

	CHECK(!nm_json_parse(text, len, &root, err, sizeof(err)), "JSON error output: %s: %.*s", err, (int)len, text);
	CHECK(json_is_object(root) && json_object_size(root) == 1 && json_is_string(json_object_get(root, "error")),
	      "JSON error output: %.*s", (int)len, text);
	json_decref(root);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int sigs[3] = { SIGINT, SIGTERM, SIGPIPE };
	char *buf, *argv[MAXARGS + 1], *copy[MAXARGS + 1], *obuf = NULL;
	struct sigaction sa[3];
	const char *object;
	size_t start = 0, olen = 0;
	int argc = 0, st;
	bool json;

	if (!dir[0])
		setup();
	buf = malloc(size + 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = 0;
	argv[argc++] = "nomoat";
	for (size_t k = 0; k <= size && argc < MAXARGS; k++) {
		if (k < size && buf[k] != '\n' && buf[k])
			continue;
		if (k == size && start == size)
			break; /* a final separator ends the last argument */
		buf[k] = 0;
		argv[argc++] = buf + start;
		start = k + 1;
	}
	argv[argc] = NULL;

	fuzz_opts(argc - 1, argv + 1);

	memcpy(copy, argv, sizeof(argv));
	if (make_safe(argc, copy, &object, &json)) {
		/* events sets handlers of its own: the fuzzer's stay */
		for (int k = 0; k < 3; k++)
			sigaction(sigs[k], NULL, &sa[k]);
		nm_err_clear();
		stdout = open_memstream(&obuf, &olen);
		CHECK(stdout, "open_memstream");
		st = nm_cli_main(argc, copy);
		CHECK(!fclose(stdout), "stdout");
		stdout = null;
		for (int k = 0; k < 3; k++)
			sigaction(sigs[k], &sa[k], NULL);
		CHECK(st == NM_EXIT_OK || st == NM_EXIT_RUNTIME || st == NM_EXIT_USAGE, "exit status %d", st);
		if (st != NM_EXIT_OK)
			check_msg();
		if (st == NM_EXIT_RUNTIME) {
			const char *m = nm_err_msg();

			CHECK(!strstr(m, "/sys/fs/bpf"), "the real pin dir was used: %s", m);
			/* (a message cut at the end of its buffer may have lost the hint) */
			CHECK(strlen(m) >= 500 || strstr(m, "is nomoat loaded") || strstr(m, "is nomoatd running") ||
				      strstr(m, "holds no pid") || strstr(m, "not loaded"),
			      "'%s' failed at run time past validation: %s", object ? object : "", m);
		}
		if (json && st != NM_EXIT_OK && (object || olen))
			check_json_error(obuf, olen);
		fwrite(obuf, 1, olen, null);
		free(obuf);
	}
	while (nowned)
		free(owned[--nowned]);
	free(buf);
	return 0;
}
