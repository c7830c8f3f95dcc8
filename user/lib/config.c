// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The daemon's policy file parser (format in config.h).
 *
 * One pass over each file, line by line; an error is reported and the line
 * skipped, so one run reports every error.  A block whose header is bad is
 * still parsed (its errors are reported) but not kept.  Checks that need
 * the whole configuration (binds to undefined policies) run at the end.
 */
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
#include "files.h"
#include "parse.h"
#include "ruleline.h"

#include "config_int.h"

/* ---- messages ------------------------------------------------------------ */

static void put_escaped(FILE *f, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '\\')
			fputs("\\\\", f);
		else if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\x%02x", c);
		else
			fputc(c, f);
	}
}

void cf_report(struct ld *L, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	L->nerr++;
	if (!L->errf)
		return;
	put_escaped(L->errf, file);
	fprintf(L->errf, ":%d: ", line);
	va_start(ap, fmt);
	vfprintf(L->errf, fmt, ap);
	va_end(ap);
	fputc('\n', L->errf);
}

void cf_nomem(struct ld *L, const char *file, int line)
{
	if (!L->oom)
		cf_report(L, file, line, "out of memory");
	L->oom = true;
}

/* A token for a message: cut to 48 bytes.  Lines hold no control
 * characters (checked before), so nothing needs escaping. */
const char *cf_q(char buf[QLEN], const char *s)
{
	size_t n = strlen(s);

	if (n <= 48) {
		memcpy(buf, s, n + 1);
	} else {
		memcpy(buf, s, 48);
		memcpy(buf + 48, "...", 4);
	}
	return buf;
}

void cf_setstr(char *dst, size_t len, const char *s)
{
	snprintf(dst, len, "%s", s);
}

/* arr (holding n elements) with room for one more, or NULL (arr is then
 * unchanged).  Capacities are powers of two, at least 8, so appends cost
 * amortised O(1). */
void *cf_grow(void *arr, size_t n, size_t elsz)
{
	if (n && (n & (n - 1) || n < 8))
		return arr; /* not a power of two, or below the first capacity: room left */
	return realloc(arr, (n < 8 ? 8 : n * 2) * elsz);
}

/* ---- small parsers -------------------------------------------------------- */

static bool is_action(const char *s)
{
	return !strcmp(s, "deny") || !strcmp(s, "allow") || !strcmp(s, "redirect");
}

bool cf_has_glob(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

/* Decimal 0..max, digits only, no leading zero. */
int cf_parse_uint(const char *s, unsigned max, unsigned *out)
{
	unsigned long long v = 0;
	size_t n = strlen(s);

	if (!n || (n > 1 && s[0] == '0'))
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
	if (n > 10)
		return -ERANGE;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (unsigned)(s[i] - '0');
	if (v > max)
		return -ERANGE;
	*out = (unsigned)v;
	return 0;
}

/* Normalise a cgroup path: one leading '/' (added when relative_ok and
 * missing), repeated '/' collapsed, trailing '/' dropped; no "." or "..". */
int cf_norm_path(const char *in, bool relative_ok, char *out, size_t outlen, const char **why)
{
	const char *p = in;
	size_t o = 0;

	if (*p != '/' && !relative_ok) {
		*why = "must be absolute (start with '/')";
		return -EINVAL;
	}
	out[o++] = '/';
	while (*p) {
		const char *e;
		size_t cl;

		while (*p == '/')
			p++;
		if (!*p)
			break;
		e = p + strcspn(p, "/");
		cl = (size_t)(e - p);
		if ((cl == 1 && p[0] == '.') || (cl == 2 && p[0] == '.' && p[1] == '.')) {
			*why = "'.' and '..' components are not allowed";
			return -EINVAL;
		}
		if (o + 1 + cl + 1 > outlen) {
			*why = "too long";
			return -ENAMETOOLONG;
		}
		if (o > 1)
			out[o++] = '/';
		memcpy(out + o, p, cl);
		o += cl;
		p = e;
	}
	out[o] = 0;
	return 0;
}

/* ---- files ---------------------------------------------------------------- */

/* The directory of a file name, for its relative includes ("/" for "/x",
 * NULL for a bare name).  Sets *oom on failure. */
static char *dir_of(const char *name, bool *oom)
{
	const char *sl = strrchr(name, '/');
	char *d;

	if (!sl)
		return NULL;
	d = strndup(name, sl == name ? 1 : (size_t)(sl - name));
	if (!d)
		*oom = true;
	return d;
}

/* ---- lines ---------------------------------------------------------------- */

static void config_line(struct ld *L, const struct src *S, struct blk *B, int ln, char *line);
static void rule_tokens(struct ld *L, const struct src *S, int ln, char **tok, int n, char *reason,
			struct nm_ruleset *rs);

/* Every line of text: config statements (B != NULL) or rules into rs. */
void cf_parse_lines(struct ld *L, const struct src *S, const char *text, size_t len, struct blk *B,
			struct nm_ruleset *rs)
{
	const char *p = text, *end = text + len;
	char *line = malloc(NM_CFG_MAX_LINE + 1);
	int ln = 0;

	if (!line) {
		cf_nomem(L, S->name, 0);
		return;
	}
	while (p < end && !L->oom) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *start = p;
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p), i;
		bool bad = false;

		ln++;
		p = nl ? nl + 1 : end;
		if (n && start[n - 1] == '\r')
			n--;
		if (n > NM_CFG_MAX_LINE) {
			cf_report(L, S->name, ln, "line too long (%zu bytes, at most %d)", n, NM_CFG_MAX_LINE);
			continue;
		}
		for (i = 0; i < n && !bad; i++) {
			unsigned char c = (unsigned char)start[i];

			if ((c < 0x20 && c != '\t') || c == 0x7f) {
				cf_report(L, S->name, ln, "control character \\x%02x at column %zu", c, i + 1);
				bad = true;
			}
		}
		if (bad)
			continue;
		memcpy(line, start, n);
		line[n] = 0;
		if (B) {
			config_line(L, S, B, ln, line);
		} else {
			char *tok[MAXTOK], *comment;
			int nt = nm_rule_split(line, tok, MAXTOK, &comment);

			if (nt)
				rule_tokens(L, S, ln, tok, nt, comment, rs);
		}
	}
	free(line);
}

/* ---- rules ---------------------------------------------------------------- */

/* "ACTION TARGET [# reason]" (ruleline.h), counted against NM_CFG_MAX_RULES. */
static void rule_tokens(struct ld *L, const struct src *S, int ln, char **tok, int n, char *reason,
			struct nm_ruleset *rs)
{
	struct nm_rule_entry e;
	char err[NM_ERR_LEN];
	int rc = nm_rule_tokens(tok, n, reason, &e, err, sizeof(err));

	if (rc == -ENOMEM) {
		cf_nomem(L, S->name, ln);
		return;
	}
	if (rc) {
		cf_report(L, S->name, ln, "%s", err);
		return;
	}
	e.line = ln;
	if (L->nrules >= NM_CFG_MAX_RULES) {
		free(e.reason);
		/* one message, not millions */
		if (L->nrules++ == NM_CFG_MAX_RULES)
			cf_report(L, S->name, ln, "too many rules (more than %u in all policies; further lines not checked)",
			       NM_CFG_MAX_RULES);
		return;
	}
	if (nm_ruleset_add(rs, &e)) {
		free(e.reason);
		cf_nomem(L, S->name, ln);
		return;
	}
	L->nrules++;
}

/* ---- includes ------------------------------------------------------------- */

static void parse_config(struct ld *L, const char *name, const char *text, size_t len, int depth, bool is_file);

/* include ARG from S line ln: a config file (rs == NULL) or a rules file. */
void cf_include_file(struct ld *L, const struct src *S, int ln, const char *arg, struct nm_ruleset *rs)
{
	char path[PATH_MAX], why[160], qa[QLEN];
	const char *dir = arg[0] == '/' ? NULL : S->dir;
	struct stat st;
	size_t len;
	char *buf;
	int r, err;

	cf_q(qa, arg);
	if (dir)
		r = snprintf(path, sizeof(path), "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", arg);
	else
		r = snprintf(path, sizeof(path), "%s", arg);
	if (r < 0 || (size_t)r >= sizeof(path)) {
		cf_report(L, S->name, ln, "include '%s': path too long", qa);
		return;
	}
	if (L->nfiles >= NM_CFG_MAX_FILES) {
		cf_report(L, S->name, ln, "include '%s': too many files (more than %d in one configuration)", qa,
		       NM_CFG_MAX_FILES);
		return;
	}
	err = nm_read_file(path, NM_CFG_MAX_FILE, NM_READ_REGULAR, &buf, &len, &st, why, sizeof(why));
	if (err) {
		if (err == -ENOMEM)
			cf_nomem(L, S->name, ln);
		else if (strcmp(path, arg))
			cf_report(L, S->name, ln, "include '%s': %s: %s", qa, path, why);
		else
			cf_report(L, S->name, ln, "include '%s': %s", qa, why);
		return;
	}
	L->nfiles++;
	L->nbytes += len;
	if (L->nbytes > NM_CFG_MAX_TOTAL) {
		cf_report(L, S->name, ln, "include '%s': the configuration is too large (more than %u bytes in all files)",
		       qa, NM_CFG_MAX_TOTAL);
		free(buf);
		return;
	}
	if (!rs) {
		for (int i = 0; i < L->nstack; i++) {
			if (L->stack[i].dev == st.st_dev && L->stack[i].ino == st.st_ino) {
				cf_report(L, S->name, ln, "include '%s': include loop (the file is already being read)", qa);
				free(buf);
				return;
			}
		}
	}
	if (S->depth + 1 > NM_CFG_MAX_DEPTH) {
		cf_report(L, S->name, ln, "include '%s': includes nested more than %d deep", qa, NM_CFG_MAX_DEPTH);
		free(buf);
		return;
	}
	if (rs) {
		bool oom = false;
		char *d = dir_of(path, &oom);
		struct src R = { .name = path, .dir = d, .depth = S->depth + 1 };

		if (oom)
			cf_nomem(L, S->name, ln);
		else
			cf_parse_lines(L, &R, buf, len, NULL, rs);
		free(d);
	} else {
		L->stack[L->nstack].dev = st.st_dev;
		L->stack[L->nstack].ino = st.st_ino;
		L->nstack++;
		parse_config(L, path, buf, len, S->depth + 1, true);
		L->nstack--;
	}
	free(buf);
}

static void config_line(struct ld *L, const struct src *S, struct blk *B, int ln, char *line)
{
	char *tok[MAXTOK], *comment, qs[QLEN];
	const struct kw *k;
	int n = nm_rule_split(line, tok, MAXTOK, &comment);

	if (!n)
		return;
	if (is_action(tok[0])) {
		if (B->open)
			rule_tokens(L, S, ln, tok, n, comment, &B->pol.rules);
		else
			cf_report(L, S->name, ln, "'%s' rule outside a policy block", tok[0]);
		return;
	}
	if (!strcmp(tok[0], "policy")) {
		if (B->open) {
			cf_report(L, S->name, ln, "policy block inside policy '%s' (opened at line %d): is its '}' missing?",
			       B->hdr, B->pol.line);
			cf_close_block(L, S, B);
		}
		cf_open_block(L, S, B, ln, tok, n);
		return;
	}
	if (!strcmp(tok[0], "}")) {
		if (!B->open) {
			cf_report(L, S->name, ln, "'}' without an open policy block");
			return;
		}
		if (n > 1)
			cf_report(L, S->name, ln, "'}': unexpected '%s' (a '}' stands on its own line)", cf_q(qs, tok[1]));
		cf_close_block(L, S, B);
		return;
	}
	k = cf_find_kw(tok[0], B->open);
	if (!k) {
		if (cf_find_kw(tok[0], !B->open)) {
			if (B->open)
				cf_report(L, S->name, ln, "'%s' is not allowed inside a policy block (is the '}' of '%s' missing?)",
				       tok[0], B->hdr);
			else
				cf_report(L, S->name, ln, "'%s' is only allowed inside a policy block", tok[0]);
		} else {
			cf_report(L, S->name, ln, "unknown keyword '%s'", cf_q(qs, tok[0]));
		}
		return;
	}
	if (n - 1 < k->min) {
		cf_report(L, S->name, ln, "%s: missing argument (usage: %s)", k->name, k->usage);
		return;
	}
	if (n - 1 > k->max) {
		cf_report(L, S->name, ln, "%s: unexpected '%s' (usage: %s)", k->name, cf_q(qs, tok[k->max + 1]), k->usage);
		return;
	}
	k->fn(L, S, B, ln, tok, n);
}

/* One config file (or string): every line, then an unclosed block. */
static void parse_config(struct ld *L, const char *name, const char *text, size_t len, int depth, bool is_file)
{
	bool oom = false;
	char *dir = is_file ? dir_of(name, &oom) : NULL;
	struct src S = { .name = name, .dir = dir, .depth = depth };
	struct blk B;

	memset(&B, 0, sizeof(B));
	if (oom) {
		cf_nomem(L, name, 0);
		return;
	}
	cf_parse_lines(L, &S, text, len, &B, NULL);
	if (B.open) {
		if (!L->oom)
			cf_report(L, name, B.pol.line, "policy '%s' is not closed: no '}' before the end of the file", B.hdr);
		cf_close_block(L, &S, &B);
	}
	free(dir);
}

/* ---- API ------------------------------------------------------------------ */

static void start(struct ld *L, struct nm_config *cfg, FILE *errf)
{
	memset(L, 0, sizeof(*L));
	L->cfg = cfg;
	L->errf = errf;
	memset(cfg, 0, sizeof(*cfg));
	cf_setstr(cfg->events_log, sizeof(cfg->events_log), NM_CFG_DEF_EVENTS_LOG);
	cf_setstr(cfg->events_socket, sizeof(cfg->events_socket), NM_CFG_DEF_EVENTS_SOCKET);
	cfg->events_rate = NM_CFG_DEF_EVENTS_RATE;
	cf_setstr(cfg->metrics, sizeof(cfg->metrics), NM_CFG_DEF_METRICS);
}

static int finish(struct ld *L, int *nerrors)
{
	struct nm_config *cfg = L->cfg;

	if (!L->oom) {
		for (size_t i = 0; i < cfg->nbinds; i++) {
			const struct nm_cfg_bind *b = &cfg->binds[i];

			if (!nm_config_policy(cfg, b->policy))
				cf_report(L, L->bind_files[i], b->line,
				       "bind '%s': unknown policy '%s' (no 'policy %s {' block in any file)", b->pattern,
				       b->policy, b->policy);
		}
	}
	for (size_t i = 0; i < cfg->nbinds; i++)
		free(L->bind_files[i]);
	free(L->bind_files);
	L->bind_files = NULL;
	if (L->errf)
		fflush(L->errf);
	if (nerrors)
		*nerrors = L->nerr;
	if (L->oom || L->nerr) {
		nm_config_free(cfg);
		return L->oom ? -ENOMEM : -EINVAL;
	}
	return 0;
}

int nm_config_load(const char *path, struct nm_config *cfg, FILE *errf, int *nerrors)
{
	struct ld L;
	struct stat st;
	char why[160], *buf;
	size_t len;
	int err;

	if (nerrors)
		*nerrors = 0;
	if (!path || !cfg)
		return -EINVAL;
	start(&L, cfg, errf);
	L.nfiles = 1;
	err = nm_read_file(path, NM_CFG_MAX_FILE, NM_READ_REGULAR, &buf, &len, &st, why, sizeof(why));
	if (err == -ENOMEM) {
		cf_nomem(&L, path, 0);
	} else if (err) {
		cf_report(&L, path, 0, "cannot read the configuration: %s", why);
	} else {
		L.stack[0].dev = st.st_dev;
		L.stack[0].ino = st.st_ino;
		L.nstack = 1;
		L.nbytes = len;
		parse_config(&L, path, buf, len, 0, true);
		free(buf);
	}
	return finish(&L, nerrors);
}

int nm_config_parse(const char *text, const char *origin, struct nm_config *cfg, FILE *errf, int *nerrors)
{
	struct ld L;
	size_t len;

	if (nerrors)
		*nerrors = 0;
	if (!text || !cfg)
		return -EINVAL;
	if (!origin)
		origin = "<string>";
	start(&L, cfg, errf);
	L.nfiles = 1;
	len = strlen(text);
	if (len > NM_CFG_MAX_FILE)
		cf_report(&L, origin, 0, "configuration too large (%zu bytes, at most %u)", len, NM_CFG_MAX_FILE);
	else
		parse_config(&L, origin, text, len, 0, false);
	return finish(&L, nerrors);
}

void nm_config_free(struct nm_config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < cfg->npolicies; i++) {
		nm_ruleset_free(&cfg->policies[i].rules);
		free(cfg->policies[i].hosts);
	}
	free(cfg->policies);
	free(cfg->binds);
	free(cfg->attaches);
	memset(cfg, 0, sizeof(*cfg));
}

const struct nm_cfg_policy *nm_config_policy(const struct nm_config *cfg, const char *name)
{
	if (!cfg || !name)
		return NULL;
	for (size_t i = 0; i < cfg->npolicies; i++)
		if (!strcmp(cfg->policies[i].p.name, name))
			return &cfg->policies[i];
	return NULL;
}

bool nm_cfg_bind_match(const char *pattern, const char *cgroup_rel)
{
	if (!pattern || !cgroup_rel)
		return false;
	return fnmatch(pattern, cgroup_rel, FNM_PATHNAME) == 0;
}
