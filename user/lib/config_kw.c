// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The policy file's blocks and statements (format in config.h); the rest
 * of the parser is config.c. */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <sys/un.h>
#include "config.h"
#include "parse.h"
#include "config_int.h"

/* ---- policy blocks -------------------------------------------------------- */

/* names synthetic: the ranges (defaults where not given), a proxy to send
 * them to, and a redirect rule for each, after every rule of the block so
 * that they win over any rule for the same target (line 0: added here). */
static void synth_close(struct ld *L, const struct src *S, struct blk *B)
{
	struct nm_cfg_policy *p = &B->pol;
	struct nm_cidr *r[2] = { &p->synth4, &p->synth6 };
	const char *def[2] = { NM_CFG_DEF_SYNTH4, NM_CFG_DEF_SYNTH6 };

	if (!p->names_synthetic) {
		for (int i = 0; i < 2; i++)
			if (B->l_synth[i])
				cf_report(L, S->name, B->l_synth[i], "synthetic%d: only with 'names synthetic'",
				       i ? 6 : 4);
		return;
	}
	if (!p->p.proxy4.port && !p->p.proxy6.port)
		cf_report(L, S->name, B->l_names,
		       "names synthetic: the policy needs a proxy endpoint (proxy4 or proxy6) to send synthetic "
		       "addresses to");
	for (int i = 0; i < 2; i++) {
		struct nm_rule_entry e = { .action = NM_ACT_REDIRECT, .line = 0 };

		if (!B->l_synth[i])
			nm_parse_cidr(def[i], r[i], NULL, 0);
		e.cidr = *r[i];
		e.reason = strdup("names synthetic"); /* the ruleset owns it */
		if (!e.reason || nm_ruleset_add(&p->rules, &e)) {
			free(e.reason);
			cf_nomem(L, S->name, B->l_names);
		}
	}
}

void cf_close_block(struct ld *L, const struct src *S, struct blk *B)
{
	struct nm_cfg_policy *v;

	B->open = false;
	if (B->keep)
		synth_close(L, S, B);
	if (B->keep) {
		size_t n4 = 0, n6 = 0;

		for (size_t i = 0; i < B->pol.rules.n; i++) {
			if (B->pol.rules.v[i].cidr.family == 4)
				n4++;
			else
				n6++;
		}
		if (n4 > NM_MAX_RULES || n6 > NM_MAX_RULES)
			cf_report(L, S->name, B->pol.line, "policy '%s' has %zu IPv%d rules, more than a table holds (%u)",
			       B->pol.p.name, n4 > NM_MAX_RULES ? n4 : n6, n4 > NM_MAX_RULES ? 4 : 6, NM_MAX_RULES);
		v = cf_grow(L->cfg->policies, L->cfg->npolicies, sizeof(*v));
		if (v) {
			L->cfg->policies = v;
			v[L->cfg->npolicies++] = B->pol;
			memset(&B->pol, 0, sizeof(B->pol));
			return;
		}
		cf_nomem(L, S->name, B->pol.line);
	}
	nm_ruleset_free(&B->pol.rules);
	free(B->pol.hosts);
	memset(&B->pol, 0, sizeof(B->pol));
}

void cf_open_block(struct ld *L, const struct src *S, struct blk *B, int ln, char **tok, int n)
{
	const char *name = n >= 2 ? tok[1] : NULL;
	char err[NM_ERR_LEN], qs[QLEN];
	bool form_ok = n == 3 && !strcmp(tok[2], "{");

	memset(B, 0, sizeof(*B));
	B->open = true;
	B->pol.line = ln;
	cf_setstr(B->pol.file, sizeof(B->pol.file), S->name);
	B->pol.p.default_action = NM_ACT_REDIRECT;
	B->pol.p.mode = NM_MODE_ENFORCE;
	B->pol.p.events = NM_EV_DENY;
	if (name)
		cf_q(B->hdr, name);
	if (!form_ok)
		cf_report(L, S->name, ln, "expected 'policy NAME {' (the '{' on the same line, after a blank)");
	if (!name)
		return;
	if (nm_parse_policy_name(name, err, sizeof(err))) {
		if (form_ok)
			cf_report(L, S->name, ln, "policy: %s", err);
		return;
	}
	for (size_t i = 0; i < L->cfg->npolicies; i++) {
		const struct nm_cfg_policy *o = &L->cfg->policies[i];

		if (!strcmp(o->p.name, name)) {
			cf_report(L, S->name, ln, "policy '%s' is already defined at %s:%d", cf_q(qs, name), o->file, o->line);
			return;
		}
	}
	if (L->cfg->npolicies >= NM_MAX_POLICIES - 1) {
		cf_report(L, S->name, ln, "too many policies (at most %d)", NM_MAX_POLICIES - 1);
		return;
	}
	cf_setstr(B->pol.p.name, sizeof(B->pol.p.name), name);
	B->keep = true;
}

static bool once_blk(struct ld *L, const struct src *S, int ln, int *seen, const char *kw)
{
	if (*seen) {
		cf_report(L, S->name, ln, "'%s' given twice in this block (first at line %d)", kw, *seen);
		return false;
	}
	*seen = ln;
	return true;
}

static bool once_top(struct ld *L, const struct src *S, int ln, struct seen *s, const char *kw)
{
	if (s->line) {
		cf_report(L, S->name, ln, "'%s' given twice (first at %s:%d)", kw, s->file, s->line);
		return false;
	}
	cf_setstr(s->file, sizeof(s->file), S->name);
	s->line = ln;
	return true;
}

/* ---- statements ----------------------------------------------------------- */

static void kw_include(struct ld *L, const struct src *S, struct blk *B, int ln, char **tok, int n)
{
	(void)B;
	(void)n;
	cf_include_file(L, S, ln, tok[1], NULL);
}

static void kw_attach(struct ld *L, const struct src *S, struct blk *B, int ln, char **tok, int n)
{
	struct nm_cfg_attach a = { .line = ln }, *v;
	struct nm_config *cfg = L->cfg;
	char qs[QLEN], qo[QLEN];
	const char *why;

	(void)B;
	if (n == 3 && strcmp(tok[2], "origdst-only")) {
		cf_report(L, S->name, ln, "attach: unknown option '%s' (the only one is origdst-only)", cf_q(qo, tok[2]));
		return;
	}
	a.origdst_only = n == 3;
	if (cf_has_glob(tok[1])) {
		cf_report(L, S->name, ln, "attach '%s': a cgroup path, not a pattern (no * ? [)", cf_q(qs, tok[1]));
		return;
	}
	if (cf_norm_path(tok[1], true, a.path, sizeof(a.path), &why)) {
		cf_report(L, S->name, ln, "attach '%s': %s", cf_q(qs, tok[1]), why);
		return;
	}
	for (size_t i = 0; i < cfg->nattaches; i++) {
		if (!strcmp(cfg->attaches[i].path, a.path)) {
			cf_report(L, S->name, ln, "attach '%s': already attached at %s:%d", cf_q(qs, a.path),
			       cfg->attaches[i].file, cfg->attaches[i].line);
			return;
		}
	}
	if (cfg->nattaches >= NM_CFG_MAX_ATTACHES) {
		cf_report(L, S->name, ln, "attach: too many attach points (at most %d)", NM_CFG_MAX_ATTACHES);
		return;
	}
	cf_setstr(a.file, sizeof(a.file), S->name);
	v = cf_grow(cfg->attaches, cfg->nattaches, sizeof(*v));
	if (!v) {
		cf_nomem(L, S->name, ln);
		return;
	}
	cfg->attaches = v;
	v[cfg->nattaches++] = a;
}

static void kw_bind(struct ld *L, const struct src *S, struct blk *B, int ln, char **tok, int n)
{
	struct nm_cfg_bind b = { .line = ln }, *v;
	struct nm_config *cfg = L->cfg;
	char err[NM_ERR_LEN], qs[QLEN], **f;
	const char *why;
	bool ok = true;

	(void)B;
	(void)n;
	if (tok[1][0] != '/') {
		cf_report(L, S->name, ln, "bind '%s': the pattern must be absolute (start with '/')", cf_q(qs, tok[1]));
		ok = false;
	} else if (strstr(tok[1], "**")) {
		cf_report(L, S->name, ln, "bind '%s': '**' is not supported ('*' never crosses '/')", cf_q(qs, tok[1]));
		ok = false;
	} else if (cf_norm_path(tok[1], false, b.pattern, sizeof(b.pattern), &why)) {
		cf_report(L, S->name, ln, "bind '%s': %s", cf_q(qs, tok[1]), why);
		ok = false;
	}
	if (nm_parse_policy_name(tok[2], err, sizeof(err))) {
		cf_report(L, S->name, ln, "bind: %s", err);
		ok = false;
	}
	if (!ok)
		return;
	for (size_t i = 0; i < cfg->nbinds; i++) {
		if (!strcmp(cfg->binds[i].pattern, b.pattern)) {
			cf_report(L, S->name, ln, "bind '%s': already bound at %s:%d", cf_q(qs, b.pattern), cfg->binds[i].file,
			       cfg->binds[i].line);
			return;
		}
	}
	if (cfg->nbinds >= NM_CFG_MAX_BINDS) {
		cf_report(L, S->name, ln, "bind: too many binds (at most %d)", NM_CFG_MAX_BINDS);
		return;
	}
	cf_setstr(b.policy, sizeof(b.policy), tok[2]);
	cf_setstr(b.file, sizeof(b.file), S->name);
	v = cf_grow(cfg->binds, cfg->nbinds, sizeof(*v));
	if (v)
		cfg->binds = v;
	f = cf_grow(L->bind_files, cfg->nbinds, sizeof(*f));
	if (f)
		L->bind_files = f;
	if (!v || !f || !(f[cfg->nbinds] = strdup(S->name))) {
		cf_nomem(L, S->name, ln);
		return;
	}
	v[cfg->nbinds++] = b;
}

/* An absolute path into dst; sock: must fit a unix socket address. */
static void set_path(struct ld *L, const struct src *S, int ln, const char *kw, const char *path, bool sock,
		     const char *value, char *dst, size_t dlen)
{
	char qs[QLEN];

	if (path[0] != '/')
		cf_report(L, S->name, ln, "%s '%s': the path must be absolute", kw, cf_q(qs, value));
	else if (sock && strlen(path) > SUN_MAX)
		cf_report(L, S->name, ln, "%s '%s': too long for a unix socket (at most %zu bytes)", kw, cf_q(qs, value),
		       SUN_MAX);
	else if (strlen(value) >= dlen)
		cf_report(L, S->name, ln, "%s '%s': too long (at most %zu bytes)", kw, cf_q(qs, value), dlen - 1);
	else
		cf_setstr(dst, dlen, value);
}

static void kw_events_log(struct ld *L, const struct src *S, struct blk *B, int ln, char **tok, int n)
{
	(void)B;
	(void)n;
	if (!once_top(L, S, ln, &L->ev_log, "events-log"))
		return;
	if (!strcmp(tok[1], "stdout"))
		cf_setstr(L->cfg->events_log, sizeof(L->cfg->events_log), "stdout");
	else
		set_path(L, S, ln, "events-log", tok[1], false, tok[1], L->cfg->events_log,
			 sizeof(L->cfg->events_log));
}

static void kw_proxy_log(struct ld *L, const struct src *S, struct blk *B, int ln, char **tok, int n)
{
	(void)B;
	(void)n;
	if (once_top(L, S, ln, &L->proxy_log, "proxy-log"))
		set_path(L, S, ln, "proxy-log", tok[1], false, tok[1], L->cfg->proxy_log,
			 sizeof(L->cfg->proxy_log));
}

static void kw_events_socket(struct ld *L, const struct src *S, struct blk *B, int ln, char **tok, int n)
{
	(void)B;
	(void)n;
	if (once_top(L, S, ln, &L->ev_sock, "events-socket"))
		set_path(L, S, ln, "events-socket", tok[1], true, tok[1], L->cfg->events_socket,
			 sizeof(L->cfg->events_socket));
}

static void kw_events_rate(struct ld *L, const struct src *S, struct blk *B, int ln, char **tok, int n)
{
	char qs[QLEN];
	unsigned v;
	int r;

	(void)B;
	(void)n;
	if (!once_top(L, S, ln, &L->ev_rate, "events-rate"))
		return;
	r = cf_parse_uint(tok[1], NM_CFG_MAX_RATE, &v);
	if (r == -ERANGE)
		cf_report(L, S->name, ln, "events-rate '%s': more than %u events a second (0 = unlimited)", cf_q(qs, tok[1]),
		       NM_CFG_MAX_RATE);
	else if (r)
		cf_report(L, S->name, ln, "events-rate '%s': not a number (events a second, 0 = unlimited)", cf_q(qs, tok[1]));
	else
		L->cfg->events_rate = v;
}

static void kw_metrics(struct ld *L, const struct src *S, struct blk *B, int ln, char **tok, int n)
{
	char err[NM_ERR_LEN], qs[QLEN];
	const char *v = tok[1];
	struct nm_cidr c = { 0 };
	struct nm_ep4 e4;
	struct nm_ep6 e6;
	int fam;

	(void)B;
	(void)n;
	if (!once_top(L, S, ln, &L->metrics, "metrics"))
		return;
	if (!strncmp(v, "unix:", 5)) {
		set_path(L, S, ln, "metrics", v + 5, true, v, L->cfg->metrics, sizeof(L->cfg->metrics));
		return;
	}
	if (nm_parse_endpoint(v, &fam, &e4, &e6, err, sizeof(err))) {
		cf_report(L, S->name, ln, "metrics: %s (expected unix:PATH or ADDR:PORT)", err);
		return;
	}
	if (fam == 4) {
		c.family = 4;
		c.prefixlen = 32;
		c.port = ntohs(e4.port);
		memcpy(c.addr, &e4.addr, 4);
	} else {
		c.family = 6;
		c.prefixlen = 128;
		c.port = ntohs(e6.port);
		memcpy(c.addr, e6.addr, 16);
	}
	if (!(fam == 4 && c.addr[0] == 127) && !(fam == 6 && !memcmp(c.addr, &in6addr_loopback, 16))) {
		cf_report(L, S->name, ln, "metrics '%s': not a loopback address (127.0.0.0/8 or ::1)", cf_q(qs, v));
		return;
	}
	nm_format_cidr(&c, L->cfg->metrics, sizeof(L->cfg->metrics));
}

static void kw_default(struct ld *L, const struct src *S, struct blk *B, int ln, char **tok, int n)
{
	char err[NM_ERR_LEN];

	(void)n;
	if (once_blk(L, S, ln, &B->l_default, "default") &&
	    nm_parse_action(tok[1], &B->pol.p.default_action, err, sizeof(err)))
		cf_report(L, S->name, ln, "default: %s", err);
}

static void kw_mode(struct ld *L, const struct src *S, struct blk *B, int ln, char **tok, int n)
{
	char err[NM_ERR_LEN];

	(void)n;
	if (once_blk(L, S, ln, &B->l_mode, "mode") && nm_parse_mode(tok[1], &B->pol.p.mode, err, sizeof(err)))
		cf_report(L, S->name, ln, "mode: %s", err);
}

static void kw_events(struct ld *L, const struct src *S, struct blk *B, int ln, char **tok, int n)
{
	char err[NM_ERR_LEN];

	(void)n;
	if (once_blk(L, S, ln, &B->l_events, "events") &&
	    nm_parse_evlevel(tok[1], &B->pol.p.events, err, sizeof(err)))
		cf_report(L, S->name, ln, "events: %s", err);
}

static void endpoint(struct ld *L, const struct src *S, struct blk *B, int ln, const char *kw, int idx,
		     const char *v)
{
	struct nm_ep4 *e4 = NULL;
	struct nm_ep6 *e6 = NULL;
	char err[NM_ERR_LEN];
	int fam;

	switch (idx) {
	case 0: e4 = &B->pol.p.proxy4; break;
	case 1: e6 = &B->pol.p.proxy6; break;
	case 2: e4 = &B->pol.p.dns4; break;
	default: e6 = &B->pol.p.dns6; break;
	}
	if (!once_blk(L, S, ln, &B->l_ep[idx], kw))
		return;
	if (!strcmp(v, "none")) {
		if (e4)
			memset(e4, 0, sizeof(*e4));
		else
			memset(e6, 0, sizeof(*e6));
		return;
	}
	if (nm_parse_endpoint(v, &fam, e4, e6, err, sizeof(err)))
		cf_report(L, S->name, ln, "%s: %s", kw, err);
}

static void kw_proxy4(struct ld *L, const struct src *S, struct blk *B, int ln, char **tok, int n)
{
	(void)n;
	endpoint(L, S, B, ln, "proxy4", 0, tok[1]);
}

static void kw_proxy6(struct ld *L, const struct src *S, struct blk *B, int ln, char **tok, int n)
{
	(void)n;
	endpoint(L, S, B, ln, "proxy6", 1, tok[1]);
}

static void kw_dns4(struct ld *L, const struct src *S, struct blk *B, int ln, char **tok, int n)
{
	(void)n;
	endpoint(L, S, B, ln, "dns4", 2, tok[1]);
}

static void kw_dns6(struct ld *L, const struct src *S, struct blk *B, int ln, char **tok, int n)
{
	(void)n;
	endpoint(L, S, B, ln, "dns6", 3, tok[1]);
}

static void kw_rules_include(struct ld *L, const struct src *S, struct blk *B, int ln, char **tok, int n)
{
	(void)n;
	if (!strcmp(tok[1], "deny-defaults")) {
		struct src R = { .name = "deny-defaults", .dir = NULL, .depth = S->depth + 1 };

		cf_parse_lines(L, &R, nm_deny_defaults, strlen(nm_deny_defaults), NULL, &B->pol.rules);
		return;
	}
	cf_include_file(L, S, ln, tok[1], &B->pol.rules);
}

static void kw_hostname(struct ld *L, const struct src *S, struct blk *B, int ln, char **tok, int n)
{
	struct nm_hostpat h, *v;
	char err[2 * NM_ERR_LEN];

	(void)n;
	if (nm_hostpat_parse(tok[1], &h, err, sizeof(err))) {
		cf_report(L, S->name, ln, "hostname: %s", err);
		return;
	}
	v = cf_grow(B->pol.hosts, B->pol.nhosts, sizeof(*v));
	if (!v) {
		cf_nomem(L, S->name, ln);
		return;
	}
	B->pol.hosts = v;
	v[B->pol.nhosts++] = h;
}

static void kw_ip_only(struct ld *L, const struct src *S, struct blk *B, int ln, char **tok, int n)
{
	(void)tok;
	(void)n;
	if (once_blk(L, S, ln, &B->l_iponly, "ip-only"))
		B->pol.ip_only = true;
}

static void kw_raw(struct ld *L, const struct src *S, struct blk *B, int ln, char **tok, int n)
{
	(void)n;
	if (!once_blk(L, S, ln, &B->l_raw, "raw-sockets"))
		return;
	if (strcmp(tok[1], "allow") && strcmp(tok[1], "deny"))
		cf_report(L, S->name, ln, "raw-sockets '%s': expected allow or deny", tok[1]);
	else
		B->pol.p.raw = !strcmp(tok[1], "allow");
}

static void kw_names(struct ld *L, const struct src *S, struct blk *B, int ln, char **tok, int n)
{
	(void)n;
	if (!once_blk(L, S, ln, &B->l_names, "names"))
		return;
	if (strcmp(tok[1], "real") && strcmp(tok[1], "synthetic"))
		cf_report(L, S->name, ln, "names '%s': expected real or synthetic", tok[1]);
	else
		B->pol.names_synthetic = !strcmp(tok[1], "synthetic");
}

static void synth_range(struct ld *L, const struct src *S, struct blk *B, int ln, int fam, const char *v)
{
	struct nm_cidr *c = fam == 4 ? &B->pol.synth4 : &B->pol.synth6;
	int lo = fam == 4 ? 16 : 64, hi = fam == 4 ? 30 : 126;
	char err[NM_ERR_LEN], qs[QLEN];

	if (!once_blk(L, S, ln, &B->l_synth[fam == 6], fam == 4 ? "synthetic4" : "synthetic6"))
		return;
	if (nm_parse_cidr(v, c, err, sizeof(err)))
		cf_report(L, S->name, ln, "synthetic%d: %s", fam, err);
	else if (c->family != fam || c->port)
		cf_report(L, S->name, ln, "synthetic%d '%s': an IPv%d range without a port", fam, cf_q(qs, v), fam);
	else if (c->prefixlen < lo || c->prefixlen > hi)
		cf_report(L, S->name, ln, "synthetic%d '%s': the prefix length must be %d to %d", fam, cf_q(qs, v), lo, hi);
	else
		return;
	memset(c, 0, sizeof(*c));
}

static void kw_synth4(struct ld *L, const struct src *S, struct blk *B, int ln, char **tok, int n)
{
	(void)n;
	synth_range(L, S, B, ln, 4, tok[1]);
}

static void kw_synth6(struct ld *L, const struct src *S, struct blk *B, int ln, char **tok, int n)
{
	(void)n;
	synth_range(L, S, B, ln, 6, tok[1]);
}

static void kw_dns_log(struct ld *L, const struct src *S, struct blk *B, int ln, char **tok, int n)
{
	(void)B;
	(void)n;
	if (once_top(L, S, ln, &L->dns_log, "dns-log"))
		set_path(L, S, ln, "dns-log", tok[1], false, tok[1], L->cfg->dns_log, sizeof(L->cfg->dns_log));
}

static void kw_dns_upstream(struct ld *L, const struct src *S, struct blk *B, int ln, char **tok, int n)
{
	struct nm_config *cfg = L->cfg;
	char err[NM_ERR_LEN], qs[QLEN];

	(void)B;
	if (!once_top(L, S, ln, &L->dns_upstream, "dns-upstream"))
		return;
	for (int i = 1; i < n; i++) {
		struct nm_cfg_upstream *u = &cfg->dns_upstream[cfg->ndns_upstream];
		struct nm_cidr c;

		if (nm_parse_cidr(tok[i], &c, err, sizeof(err))) {
			cf_report(L, S->name, ln, "dns-upstream: %s", err);
			continue;
		}
		if (c.prefixlen != (c.family == 4 ? 32 : 128)) {
			cf_report(L, S->name, ln, "dns-upstream '%s': one address, not a range", cf_q(qs, tok[i]));
			continue;
		}
		u->family = c.family;
		memcpy(u->addr, c.addr, 16);
		u->port = c.port ? c.port : 53;
		cfg->ndns_upstream++;
	}
}

static const struct kw keywords[] = {
	{ "include", false, 1, 1, "include PATH", kw_include },
	{ "attach", false, 1, 2, "attach CGROUP [origdst-only]", kw_attach },
	{ "bind", false, 2, 2, "bind PATTERN POLICY", kw_bind },
	{ "events-log", false, 1, 1, "events-log PATH|stdout", kw_events_log },
	{ "proxy-log", false, 1, 1, "proxy-log PATH", kw_proxy_log },
	{ "events-socket", false, 1, 1, "events-socket PATH", kw_events_socket },
	{ "events-rate", false, 1, 1, "events-rate N", kw_events_rate },
	{ "metrics", false, 1, 1, "metrics unix:PATH|ADDR:PORT", kw_metrics },
	{ "dns-log", false, 1, 1, "dns-log PATH", kw_dns_log },
	{ "dns-upstream", false, 1, NM_CFG_MAX_UPSTREAMS, "dns-upstream ADDR[:PORT]...", kw_dns_upstream },
	{ "policy", false, 0, 0, "policy NAME {", NULL }, /* handled in config_line */
	{ "default", true, 1, 1, "default deny|allow|redirect", kw_default },
	{ "mode", true, 1, 1, "mode enforce|audit", kw_mode },
	{ "events", true, 1, 1, "events deny|redirect|all", kw_events },
	{ "proxy4", true, 1, 1, "proxy4 ADDR:PORT|none", kw_proxy4 },
	{ "proxy6", true, 1, 1, "proxy6 [ADDR]:PORT|none", kw_proxy6 },
	{ "dns4", true, 1, 1, "dns4 ADDR:PORT|none", kw_dns4 },
	{ "dns6", true, 1, 1, "dns6 [ADDR]:PORT|none", kw_dns6 },
	{ "include", true, 1, 1, "include PATH|deny-defaults", kw_rules_include },
	{ "hostname", true, 1, 1, "hostname NAME[:PORT]", kw_hostname },
	{ "ip-only", true, 0, 0, "ip-only", kw_ip_only },
	{ "raw-sockets", true, 1, 1, "raw-sockets allow|deny", kw_raw },
	{ "names", true, 1, 1, "names real|synthetic", kw_names },
	{ "synthetic4", true, 1, 1, "synthetic4 CIDR", kw_synth4 },
	{ "synthetic6", true, 1, 1, "synthetic6 CIDR", kw_synth6 },
	{ "}", true, 0, 0, "}", NULL }, /* handled in config_line */
};

const struct kw *cf_find_kw(const char *name, bool block)
{
	for (size_t i = 0; i < ARRAY_SIZE(keywords); i++)
		if (keywords[i].block == block && !strcmp(keywords[i].name, name))
			return &keywords[i];
	return NULL;
}
