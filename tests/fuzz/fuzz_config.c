// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libFuzzer target: the daemon's policy file (nm_config_load and
 * nm_config_parse, user/lib/config.c), and the rules text grammar it shares
 * with nm_ruleset_parse.
 *
 * Each input is written to input.conf in a private temporary directory
 * ($TMPDIR or /tmp, made once per process) that also holds the included
 * files of the seed corpus (full-extra.conf, full-rules.conf, loop-a.conf,
 * ...), so relative includes find something.  Includes cannot leave that
 * directory: an absolute include path is moved below it and a path with
 * ".." is spoilt before the parser sees it; what is left tries and fails.
 *
 * Checks, besides crashes: an accepted configuration holds what config.h
 * promises (names valid and unique, paths normalised, binds to defined
 * policies, rules masked and canonical, host names clean); a rejected one
 * is left zeroed with one "FILE:LINE: message" line per counted error; a
 * text without includes gives the same result from a file and from a
 * string; and the same input read as a rules file is accepted by a policy
 * block's include exactly when nm_ruleset_parse accepts it, with the same
 * rules.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "config.h"
#include "err.h"
#include "parse.h"
#include "policy.h"

#include "fuzz_check.h"

/* Files the seeds include (as in tests/data/config). */
static const struct {
	const char *name, *text;
} fixtures[] = {
	{ "full-extra.conf", "policy proxy {\n\tdefault allow\n\tinclude deny-defaults\n}\n\nbind /nomoat-proxy proxy\n" },
	{ "full-rules.conf", "\nallow 10.1.2.3:8080 # the package mirror\nredirect 0.0.0.0/0\n" },
	{ "errors-inc.conf", "metrics 10.0.0.1:9100\n\npolicy agents {\n}\n}\n" },
	{ "loop-a.conf", "include loop-b.conf\n" },
	{ "loop-b.conf", "policy b {\n}\ninclude loop-a.conf\n" },
	{ "loop-self.conf", "include ./loop-self.conf\n" },
	{ "bad-rules-file.conf", "deny 192.168.0.0/16 # private\ninclude other.rules\nallow 999.1.1.1\nredirect ::/0\n" },
	{ "a.rules", "deny 10.0.0.0/8 # private\nallow 1.2.3.4:443\nredirect [fd00::1]:80\n" },
	{ "deny-defaults", "deny 198.51.100.0/24\n" },
};

static char dir[256];        /* the private directory */
static char conf[512];       /* dir/input.conf */
static char rules[512];      /* dir/input.rules */

static void cleanup(void)
{
	char p[512];

	for (size_t i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, fixtures[i].name);
		unlink(p);
	}
	unlink(conf);
	unlink(rules);
	rmdir(dir);
}

static void write_file(const char *path, const char *text, size_t len)
{
	FILE *f = fopen(path, "we");

	CHECK(f, "cannot write %s", path);
	CHECK(fwrite(text, 1, len, f) == len && !fclose(f), "cannot write %s", path);
}

static void setup(void)
{
	const char *tmp = getenv("TMPDIR");
	char p[512];

	snprintf(dir, sizeof(dir), "%s/nomoat-fuzz-config-XXXXXX", tmp && tmp[0] == '/' ? tmp : "/tmp");
	CHECK(mkdtemp(dir), "mkdtemp %s", dir);
	snprintf(conf, sizeof(conf), "%s/input.conf", dir);
	snprintf(rules, sizeof(rules), "%s/input.rules", dir);
	for (size_t i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, fixtures[i].name);
		write_file(p, fixtures[i].text, strlen(fixtures[i].text));
	}
	atexit(cleanup);
}

/* ---- keeping includes in the directory ------------------------------------ */

/* Copy of the input where each "include ARG" line has ARG kept inside dir:
 * "/x" becomes "<dir>/x", and every '.' of an ARG holding ".." becomes '_'. */
static char *confine(const char *in, size_t len, size_t *outlen)
{
	size_t cap = len * 2 + 4096, o = 0;
	char *out = malloc(cap);
	const char *p = in, *end = in + len;

	CHECK(out, "out of memory");
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end, *hash = memchr(p, '#', (size_t)(le - p)), *te = hash ? hash : le;
		const char *t0 = p, *t0e, *t1, *t1e;

		while (t0 < te && (*t0 == ' ' || *t0 == '\t'))
			t0++;
		for (t0e = t0; t0e < te && *t0e != ' ' && *t0e != '\t'; t0e++)
			;
		for (t1 = t0e; t1 < te && (*t1 == ' ' || *t1 == '\t'); t1++)
			;
		for (t1e = t1; t1e < te && *t1e != ' ' && *t1e != '\t'; t1e++)
			;
		if (t0e - t0 == 7 && !memcmp(t0, "include", 7) && t1e > t1) {
			bool dots = false;

			for (const char *c = t1; c + 1 < t1e; c++)
				if (c[0] == '.' && c[1] == '.')
					dots = true;
			if (o + (size_t)(t1 - p) + strlen(dir) + (size_t)(t1e - t1) + 2 > cap) {
				cap = cap * 2 + strlen(dir) + (size_t)(le - p);
				out = realloc(out, cap);
				CHECK(out, "out of memory");
			}
			memcpy(out + o, p, (size_t)(t1 - p));
			o += (size_t)(t1 - p);
			if (*t1 == '/') {
				memcpy(out + o, dir, strlen(dir));
				o += strlen(dir);
			}
			for (const char *c = t1; c < t1e; c++)
				out[o++] = dots && *c == '.' ? '_' : *c;
			p = t1e;
		}
		/* the rest of the line and its newline as they are */
		if (o + (size_t)(le - p) + 2 > cap) {
			cap = cap * 2 + (size_t)(le - p);
			out = realloc(out, cap);
			CHECK(out, "out of memory");
		}
		memcpy(out + o, p, (size_t)(le - p));
		o += (size_t)(le - p);
		if (nl)
			out[o++] = '\n';
		p = nl ? nl + 1 : end;
	}
	out[o] = 0;
	*outlen = o;
	return out;
}

/* ---- checks ---------------------------------------------------------------- */

static bool ref_name(const char *s)
{
	size_t n = strlen(s);

	if (!n || n >= NM_POLICY_NAME_LEN || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || strchr("_.-", s[i])))
			return false;
	return true;
}

/* A normalised path: "/" or "/a/b", no "//", no trailing '/', no "." or "..". */
static void check_norm(const char *p, const char *what)
{
	CHECK(p[0] == '/', "%s '%s' not absolute", what, p);
	if (!p[1])
		return;
	CHECK(!strstr(p, "//") && p[strlen(p) - 1] != '/', "%s '%s' not normalised", what, p);
	CHECK(!strstr(p, "/./") && !strstr(p, "/../"), "%s '%s' holds . or ..", what, p);
	CHECK(strcmp(p + strlen(p) - 2, "/.") && (strlen(p) < 3 || strcmp(p + strlen(p) - 3, "/..")),
	      "%s '%s' ends in . or ..", what, p);
}

static void check_rule(const struct nm_cfg_policy *p, size_t k)
{
	const struct nm_rule_entry *e = &p->rules.v[k];
	char t[NM_CIDR_STRLEN], err[NM_ERR_LEN];
	struct nm_cidr back, m = e->cidr;

	CHECK(e->action >= NM_ACT_DENY && e->action <= NM_ACT_REDIRECT, "rule action %u", e->action);
	/* line 0: the two rules names synthetic adds, last, for its ranges */
	CHECK(e->line > 0 || (p->names_synthetic && k + 2 >= p->rules.n && e->action == NM_ACT_REDIRECT &&
			      !memcmp(&e->cidr, k + 2 == p->rules.n ? &p->synth4 : &p->synth6, sizeof(e->cidr))),
	      "rule line %d", e->line);
	if (p->names_synthetic && k + 2 >= p->rules.n)
		CHECK(e->line == 0, "names synthetic: its rules are not the last");
	CHECK(!e->reason || (e->reason[0] && strlen(e->reason) < NM_REASON_LEN && e->reason[0] != ' ' &&
			     e->reason[0] != '\t'),
	      "rule reason '%s'", e->reason);
	nm_cidr_mask(&m);
	CHECK(!memcmp(&m, &e->cidr, sizeof(m)), "rule with host bits");
	nm_format_cidr(&e->cidr, t, sizeof(t));
	CHECK(!nm_parse_cidr(t, &back, err, sizeof(err)) && !memcmp(&back, &e->cidr, sizeof(back)),
	      "rule '%s' does not read back", t);
}

static void check_host(const struct nm_hostpat *h)
{
	size_t n = strlen(h->name);
	const char *last;

	CHECK(n > 0 && n <= 253 && h->name[n - 1] != '.', "host name '%s'", h->name);
	for (size_t i = 0; i < n; i++) {
		char c = h->name[i];

		CHECK((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
			      (c == '*' && i == 0 && h->name[1] == '.'),
		      "host name '%s'", h->name);
	}
	CHECK(!strstr(h->name, ".."), "host name '%s' with an empty label", h->name);
	/* not an IP address to a URL parser: the last label is not a number */
	last = strrchr(h->name, '.') ? strrchr(h->name, '.') + 1 : h->name;
	CHECK(strspn(last, "0123456789") != strlen(last) &&
		      !(last[0] == '0' && last[1] == 'x' && strspn(last + 2, "0123456789abcdef") == strlen(last + 2)),
	      "host name '%s' ends in a number", h->name);
	CHECK(!(h->name[0] == '*' && n == 1), "host name '*'");
}

static void check_config(const struct nm_config *cfg)
{
	char err[NM_ERR_LEN], t[NM_CIDR_STRLEN];
	int fam;

	for (size_t i = 0; i < cfg->npolicies; i++) {
		const struct nm_cfg_policy *p = &cfg->policies[i];
		size_t n4 = 0, n6 = 0;

		CHECK(ref_name(p->p.name), "policy name '%s'", p->p.name);
		CHECK(nm_config_policy(cfg, p->p.name) == p, "policy '%s' defined twice", p->p.name);
		CHECK(!p->p.id && !p->p.in_use, "policy '%s' with an id", p->p.name);
		CHECK(p->p.default_action >= NM_ACT_DENY && p->p.default_action <= NM_ACT_REDIRECT, "default %u",
		      p->p.default_action);
		CHECK(p->p.mode == NM_MODE_ENFORCE || p->p.mode == NM_MODE_AUDIT, "mode %u", p->p.mode);
		CHECK(p->p.events <= NM_EV_ALL, "events %u", p->p.events);
		CHECK(p->line > 0, "policy line %d", p->line);
		for (size_t k = 0; k < p->rules.n; k++) {
			check_rule(p, k);
			*(p->rules.v[k].cidr.family == 4 ? &n4 : &n6) += 1;
		}
		CHECK(n4 <= NM_MAX_RULES && n6 <= NM_MAX_RULES, "too many rules kept");
		for (size_t k = 0; k < p->nhosts; k++)
			check_host(&p->hosts[k]);
	}
	CHECK(cfg->npolicies < NM_MAX_POLICIES, "%zu policies", cfg->npolicies);
	for (size_t i = 0; i < cfg->nbinds; i++) {
		const struct nm_cfg_bind *b = &cfg->binds[i];

		check_norm(b->pattern, "bind pattern");
		CHECK(!strstr(b->pattern, "**"), "bind pattern '%s'", b->pattern);
		CHECK(nm_config_policy(cfg, b->policy), "bind to undefined policy '%s'", b->policy);
		for (size_t k = 0; k < i; k++)
			CHECK(strcmp(cfg->binds[k].pattern, b->pattern), "bind pattern '%s' twice", b->pattern);
		/* an exact pattern matches its own path */
		if (!strpbrk(b->pattern, "*?[\\"))
			CHECK(nm_cfg_bind_match(b->pattern, b->pattern), "pattern '%s' does not match itself",
			      b->pattern);
	}
	for (size_t i = 0; i < cfg->nattaches; i++) {
		const struct nm_cfg_attach *a = &cfg->attaches[i];

		check_norm(a->path, "attach path");
		CHECK(!strpbrk(a->path, "*?["), "attach path '%s' with a glob", a->path);
		for (size_t k = 0; k < i; k++)
			CHECK(strcmp(cfg->attaches[k].path, a->path), "attach path '%s' twice", a->path);
	}
	CHECK(cfg->nbinds <= NM_CFG_MAX_BINDS && cfg->nattaches <= NM_CFG_MAX_ATTACHES, "too many binds/attaches");
	CHECK(!strcmp(cfg->events_log, "stdout") || cfg->events_log[0] == '/', "events-log '%s'", cfg->events_log);
	CHECK(cfg->events_socket[0] == '/' && strlen(cfg->events_socket) <= 107, "events-socket '%s'",
	      cfg->events_socket);
	CHECK(cfg->events_rate <= NM_CFG_MAX_RATE, "events-rate %u", cfg->events_rate);
	CHECK(!cfg->proxy_log[0] || cfg->proxy_log[0] == '/', "proxy-log '%s'", cfg->proxy_log);
	if (!strncmp(cfg->metrics, "unix:", 5)) {
		CHECK(cfg->metrics[5] == '/' && strlen(cfg->metrics + 5) <= 107, "metrics '%s'", cfg->metrics);
	} else {
		struct nm_ep4 e4;
		struct nm_ep6 e6;
		struct nm_cidr c = { 0 };

		/* ADDR:PORT on loopback, stored in canonical form */
		CHECK(!nm_parse_endpoint(cfg->metrics, &fam, &e4, &e6, err, sizeof(err)), "metrics '%s': %s",
		      cfg->metrics, err);
		CHECK(!nm_parse_cidr(cfg->metrics, &c, err, sizeof(err)), "metrics '%s'", cfg->metrics);
		nm_format_cidr(&c, t, sizeof(t));
		CHECK(!strcmp(t, cfg->metrics), "metrics '%s' not canonical ('%s')", cfg->metrics, t);
		CHECK(fam == 4 ? c.addr[0] == 127 : !memcmp(c.addr, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\1", 16),
		      "metrics '%s' not on loopback", cfg->metrics);
	}
}

/* The error output: nerrors lines "FILE:LINE: message", no control bytes. */
static void check_errors(const char *out, size_t len, int nerrors)
{
	int lines = 0;

	for (const char *l = out; l < out + len;) {
		const char *nl = memchr(l, '\n', (size_t)(out + len - l)), *c;

		CHECK(nl, "error output not ended by a newline");
		for (c = l; c < nl; c++)
			CHECK((unsigned char)*c >= 0x20 && *c != 0x7f, "byte 0x%02x in an error line", (unsigned char)*c);
		/* FILE:LINE: with LINE decimal (FILE may hold ':') */
		for (c = l; c < nl; c++) {
			const char *d = c + 1;

			if (*c != ':')
				continue;
			while (d < nl && *d >= '0' && *d <= '9')
				d++;
			if (d > c + 1 && d + 1 < nl && d[0] == ':' && d[1] == ' ')
				break;
		}
		CHECK(c < nl && c > l, "error line without FILE:LINE: %.*s", (int)(nl - l), l);
		lines++;
		l = nl + 1;
	}
	CHECK(lines == nerrors, "%d error lines, %d errors counted", lines, nerrors);
}

static bool is_zero(const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

/* Run one parse; returns its result, with cfg and the error text. */
static int run(const char *text, bool from_file, struct nm_config *cfg, char **out, size_t *outlen, int *nerr)
{
	FILE *ef = open_memstream(out, outlen);
	int rc;

	CHECK(ef, "open_memstream");
	*nerr = -1;
	rc = from_file ? nm_config_load(conf, cfg, ef, nerr) : nm_config_parse(text, conf, cfg, ef, nerr);
	fclose(ef);
	CHECK(rc == 0 || rc == -EINVAL, "config rc %d", rc);
	if (rc) {
		CHECK(*nerr > 0, "rejected with %d errors", *nerr);
		CHECK(is_zero(cfg, sizeof(*cfg)), "config not zeroed after an error");
	} else {
		CHECK(*nerr == 0 && *outlen == 0, "accepted with %d errors: %s", *nerr, *out);
		check_config(cfg);
	}
	check_errors(*out, *outlen, *nerr);
	return rc;
}

static void same_rules(const struct nm_ruleset *a, const struct nm_ruleset *b)
{
	CHECK(a->n == b->n, "%zu rules, %zu rules", a->n, b->n);
	for (size_t i = 0; i < a->n; i++) {
		const struct nm_rule_entry *x = &a->v[i], *y = &b->v[i];

		CHECK(x->action == y->action && x->line == y->line && !memcmp(&x->cidr, &y->cidr, sizeof(x->cidr)),
		      "rule %zu differs", i);
		CHECK(!strcmp(x->reason ? x->reason : "", y->reason ? y->reason : ""), "reason of rule %zu: '%s', '%s'",
		      i, x->reason, y->reason);
	}
}

static void same_config(const struct nm_config *a, const struct nm_config *b)
{
	CHECK(a->npolicies == b->npolicies && a->nbinds == b->nbinds && a->nattaches == b->nattaches,
	      "file and string give different configurations");
	for (size_t i = 0; i < a->npolicies; i++) {
		const struct nm_cfg_policy *x = &a->policies[i], *y = &b->policies[i];

		CHECK(!memcmp(&x->p, &y->p, sizeof(x->p)) && x->ip_only == y->ip_only && x->line == y->line &&
			      !strcmp(x->file, y->file) && x->nhosts == y->nhosts &&
			      x->names_synthetic == y->names_synthetic && !memcmp(&x->synth4, &y->synth4, sizeof(x->synth4)) &&
			      !memcmp(&x->synth6, &y->synth6, sizeof(x->synth6)),
		      "policy %zu differs", i);
		same_rules(&x->rules, &y->rules);
		for (size_t k = 0; k < x->nhosts; k++)
			CHECK(!strcmp(x->hosts[k].name, y->hosts[k].name) && x->hosts[k].port == y->hosts[k].port,
			      "host %zu differs", k);
	}
	for (size_t i = 0; i < a->nbinds; i++)
		CHECK(!strcmp(a->binds[i].pattern, b->binds[i].pattern) && !strcmp(a->binds[i].policy, b->binds[i].policy) &&
			      a->binds[i].line == b->binds[i].line,
		      "bind %zu differs", i);
	for (size_t i = 0; i < a->nattaches; i++)
		CHECK(!strcmp(a->attaches[i].path, b->attaches[i].path) &&
			      a->attaches[i].origdst_only == b->attaches[i].origdst_only &&
			      a->attaches[i].line == b->attaches[i].line,
		      "attach %zu differs", i);
	CHECK(!strcmp(a->events_log, b->events_log) && !strcmp(a->events_socket, b->events_socket) &&
		      a->events_rate == b->events_rate && !strcmp(a->metrics, b->metrics) &&
		      !strcmp(a->proxy_log, b->proxy_log) && !strcmp(a->dns_log, b->dns_log) &&
		      a->ndns_upstream == b->ndns_upstream &&
		      !memcmp(a->dns_upstream, b->dns_upstream, sizeof(a->dns_upstream)),
	      "settings differ");
}

/* ---- writing a configuration back ------------------------------------------ */

static void endpoint_line(FILE *f, const char *kw, const __u32 a16[4], __u8 fam, __u16 port_be)
{
	char t[NM_CIDR_STRLEN];

	if (port_be)
		fprintf(f, "\t%s %s\n", kw, nm_format_addr16(a16, fam, port_be, t, sizeof(t)));
}

/* cfg as policy file text (no includes): it must read back the same. */
static char *write_config(const struct nm_config *cfg)
{
	char *text = NULL, t[NM_CIDR_STRLEN];
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	CHECK(f, "open_memstream");
	fprintf(f, "events-log %s\nevents-socket %s\nevents-rate %u\nmetrics %s\n", cfg->events_log,
		cfg->events_socket, cfg->events_rate, cfg->metrics);
	if (cfg->proxy_log[0])
		fprintf(f, "proxy-log %s\n", cfg->proxy_log);
	if (cfg->dns_log[0])
		fprintf(f, "dns-log %s\n", cfg->dns_log);
	if (cfg->ndns_upstream) {
		fprintf(f, "dns-upstream");
		for (size_t i = 0; i < cfg->ndns_upstream; i++) {
			const struct nm_cfg_upstream *u = &cfg->dns_upstream[i];
			struct nm_cidr c = { .family = (__u8)u->family, .prefixlen = u->family == 4 ? 32 : 128,
					     .port = u->port };

			memcpy(c.addr, u->addr, 16);
			fprintf(f, " %s", nm_format_cidr(&c, t, sizeof(t)));
		}
		fprintf(f, "\n");
	}
	for (size_t i = 0; i < cfg->nattaches; i++)
		fprintf(f, "attach %s%s\n", cfg->attaches[i].path, cfg->attaches[i].origdst_only ? " origdst-only" : "");
	for (size_t i = 0; i < cfg->nbinds; i++)
		fprintf(f, "bind %s %s\n", cfg->binds[i].pattern, cfg->binds[i].policy);
	for (size_t i = 0; i < cfg->npolicies; i++) {
		const struct nm_cfg_policy *p = &cfg->policies[i];
		__u32 a[4] = { 0, 0, htonl(0xffff), 0 };

		fprintf(f, "policy %s {\n\tdefault %s\n\tmode %s\n\tevents %s\n\traw-sockets %s\n", p->p.name,
			nm_action_name(p->p.default_action), nm_mode_name(p->p.mode), nm_evlevel_name(p->p.events),
			p->p.raw ? "allow" : "deny");
		a[3] = p->p.proxy4.addr;
		endpoint_line(f, "proxy4", a, 4, p->p.proxy4.port);
		a[3] = p->p.dns4.addr;
		endpoint_line(f, "dns4", a, 4, p->p.dns4.port);
		endpoint_line(f, "proxy6", p->p.proxy6.addr, 6, p->p.proxy6.port);
		endpoint_line(f, "dns6", p->p.dns6.addr, 6, p->p.dns6.port);
		if (p->ip_only)
			fprintf(f, "\tip-only\n");
		if (p->names_synthetic)
			fprintf(f, "\tnames synthetic\n\tsynthetic4 %s\n", nm_format_cidr(&p->synth4, t, sizeof(t)));
		if (p->names_synthetic)
			fprintf(f, "\tsynthetic6 %s\n", nm_format_cidr(&p->synth6, t, sizeof(t)));
		for (size_t k = 0; k < p->nhosts; k++) {
			if (p->hosts[k].port)
				fprintf(f, "\thostname %s:%u\n", p->hosts[k].name, p->hosts[k].port);
			else
				fprintf(f, "\thostname %s\n", p->hosts[k].name);
		}
		for (size_t k = 0; k < p->rules.n; k++) {
			const struct nm_rule_entry *e = &p->rules.v[k];

			if (!e->line) /* added by names synthetic: it adds them again */
				continue;
			fprintf(f, "\t%s %s%s%s\n", nm_action_name(e->action), nm_format_cidr(&e->cidr, t, sizeof(t)),
				e->reason ? " # " : "", e->reason ? e->reason : "");
		}
		fprintf(f, "}\n");
	}
	CHECK(!fclose(f), "open_memstream");
	return text;
}

/* A reason read back: what was kept, but a blank the cut left at its end. */
static bool same_reason(const char *a, const char *b)
{
	size_t n = strlen(a), m = strlen(b);

	while (n && (a[n - 1] == ' ' || a[n - 1] == '\t'))
		n--;
	return n == m && !memcmp(a, b, n);
}

static void roundtrip(const struct nm_config *a)
{
	struct nm_config b;
	char *text = write_config(a), *err = NULL;
	size_t elen = 0;
	FILE *ef = open_memstream(&err, &elen);
	int nerr, rc;

	CHECK(ef, "open_memstream");
	rc = nm_config_parse(text, "rewritten", &b, ef, &nerr);
	fclose(ef);
	CHECK(!rc, "the configuration written back is refused:\n%s---\n%s", err, text);
	CHECK(a->npolicies == b.npolicies && a->nbinds == b.nbinds && a->nattaches == b.nattaches,
	      "written back, it reads as another configuration:\n%s", text);
	for (size_t i = 0; i < a->npolicies; i++) {
		const struct nm_cfg_policy *x = &a->policies[i], *y = &b.policies[i];

		CHECK(!memcmp(&x->p, &y->p, sizeof(x->p)) && x->ip_only == y->ip_only && x->nhosts == y->nhosts &&
			      x->rules.n == y->rules.n && x->names_synthetic == y->names_synthetic &&
			      !memcmp(&x->synth4, &y->synth4, sizeof(x->synth4)) &&
			      !memcmp(&x->synth6, &y->synth6, sizeof(x->synth6)),
		      "policy %s differs written back:\n%s", x->p.name, text);
		for (size_t k = 0; k < x->nhosts; k++)
			CHECK(!strcmp(x->hosts[k].name, y->hosts[k].name) && x->hosts[k].port == y->hosts[k].port,
			      "host name '%s' reads back as '%s'", x->hosts[k].name, y->hosts[k].name);
		for (size_t k = 0; k < x->rules.n; k++) {
			const struct nm_rule_entry *r = &x->rules.v[k], *s = &y->rules.v[k];

			CHECK(r->action == s->action && !memcmp(&r->cidr, &s->cidr, sizeof(r->cidr)) &&
				      same_reason(r->reason ? r->reason : "", s->reason ? s->reason : ""),
			      "rule %zu of %s reads back otherwise:\n%s", k, x->p.name, text);
		}
	}
	for (size_t i = 0; i < a->nbinds; i++)
		CHECK(!strcmp(a->binds[i].pattern, b.binds[i].pattern) && !strcmp(a->binds[i].policy, b.binds[i].policy),
		      "bind '%s' reads back as '%s'", a->binds[i].pattern, b.binds[i].pattern);
	for (size_t i = 0; i < a->nattaches; i++)
		CHECK(!strcmp(a->attaches[i].path, b.attaches[i].path) &&
			      a->attaches[i].origdst_only == b.attaches[i].origdst_only,
		      "attach '%s' reads back as '%s'", a->attaches[i].path, b.attaches[i].path);
	CHECK(!strcmp(a->events_log, b.events_log) && !strcmp(a->events_socket, b.events_socket) &&
		      a->events_rate == b.events_rate && !strcmp(a->metrics, b.metrics) &&
		      !strcmp(a->proxy_log, b.proxy_log),
	      "settings read back otherwise:\n%s", text);
	nm_config_free(&b);
	free(err);
	free(text);
}

/* The input as a rules file: a policy block's include and nm_ruleset_parse
 * agree on it.  Only for text both grammars read alike: no control bytes
 * but tab and newline (the config refuses them, the rules parser trims CR),
 * no line over NM_CFG_MAX_LINE. */
static void fuzz_rules(const char *text, size_t len)
{
	struct nm_config cfg;
	struct nm_ruleset rs = { 0 };
	char hdr[700];
	size_t line = 0;
	int nerr, rc1, rc2;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];

		if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7f)
			return;
		line = c == '\n' ? 0 : line + 1;
		if (line > NM_CFG_MAX_LINE)
			return;
	}
	write_file(rules, text, len);
	snprintf(hdr, sizeof(hdr), "policy p {\ninclude %s\n}\n", rules);
	rc1 = nm_config_parse(hdr, "fuzz", &cfg, NULL, &nerr);
	unlink(rules); /* the next input must not find it */
	rc2 = nm_ruleset_parse(text, "fuzz", &rs);
	CHECK(!rc1 == !rc2, "rules: the config include says %d (%d errors), nm_ruleset_parse %d (%s)", rc1, nerr, rc2,
	      rc2 ? nm_err_msg() : "");
	if (!rc1) {
		CHECK(cfg.npolicies == 1, "rules: %zu policies", cfg.npolicies);
		same_rules(&cfg.policies[0].rules, &rs);
	}
	nm_config_free(&cfg);
	nm_ruleset_free(&rs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nm_config a, b;
	char *text, *ea = NULL, *eb = NULL;
	size_t len, la = 0, lb = 0;
	int na, nb, ra, rb;

	if (!dir[0])
		setup();
	text = confine((const char *)data, size, &len);
	write_file(conf, text, len);
	ra = run(text, true, &a, &ea, &la, &na);

	/* Without includes and NUL bytes, a string reads as the file does. */
	if (strlen(text) == len && !memmem(text, len, "include", 7)) {
		rb = run(text, false, &b, &eb, &lb, &nb);
		CHECK(ra == rb && na == nb, "file: %d (%d errors), string: %d (%d errors)", ra, na, rb, nb);
		CHECK(la == lb && !memcmp(ea, eb, la), "file and string give other messages:\n%s---\n%s", ea, eb);
		same_config(&a, &b);
		nm_config_free(&b);
		free(eb);
	}
	if (!ra)
		roundtrip(&a);
	nm_config_free(&a);
	free(ea);
	fuzz_rules(text, len);
	free(text);
	return 0;
}
