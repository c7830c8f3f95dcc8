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
#include "parse.h"

#define MAXTOK   8   /* tokens kept a line (more are counted, not kept) */
#define QLEN     56  /* a token quoted in a message: 48 bytes + "..." */
#define SUN_MAX  (sizeof(((struct sockaddr_un *)0)->sun_path) - 1)

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Where a once-only top-level setting was first given (line 0: not yet). */
struct seen {
	char file[256];
	int line;
};

struct fid {
	dev_t dev;
	ino_t ino;
};

/* The state of one load. */
struct ld {
	struct nm_config *cfg;
	FILE *errf;
	int nerr;
	bool oom;
	struct fid stack[NM_CFG_MAX_DEPTH + 1]; /* config files being read */
	int nstack;
	unsigned nfiles;
	size_t nbytes; /* read from files so far */
	size_t nrules; /* rules in all policies so far */
	char **bind_files; /* full file name of each bind (cfg->binds[i].file may be cut) */
	struct seen ev_log, ev_sock, ev_rate, metrics, proxy_log, dns_log, dns_upstream;
};

/* The file being read. */
struct src {
	const char *name; /* as shown in messages */
	const char *dir;  /* base of relative includes; NULL: the current directory */
	int depth;        /* 0: the first file */
};

/* The policy block being read (one per config file: blocks do not span files). */
struct blk {
	bool open, keep;
	struct nm_cfg_policy pol;
	char hdr[QLEN]; /* the name as written, for messages */
	int l_default, l_mode, l_events, l_ep[4], l_iponly, l_raw, l_names, l_synth[2];
};

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

static void report(struct ld *L, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void report(struct ld *L, const char *file, int line, const char *fmt, ...)
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

static void nomem(struct ld *L, const char *file, int line)
{
	if (!L->oom)
		report(L, file, line, "out of memory");
	L->oom = true;
}

/* A token for a message: cut to 48 bytes.  Lines hold no control
 * characters (checked before), so nothing needs escaping. */
static const char *q(char buf[QLEN], const char *s)
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

static void setstr(char *dst, size_t len, const char *s)
{
	snprintf(dst, len, "%s", s);
}

/* arr (holding n elements) with room for one more, or NULL (arr is then
 * unchanged).  Capacities are powers of two, at least 8, so appends cost
 * amortised O(1). */
static void *grow(void *arr, size_t n, size_t elsz)
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

static bool has_glob(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

/* Decimal 0..max, digits only, no leading zero. */
static int parse_uint(const char *s, unsigned max, unsigned *out)
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
static int norm_path(const char *in, bool relative_ok, char *out, size_t outlen, const char **why)
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

/* Read a whole regular file of at most NM_CFG_MAX_FILE bytes.  Returns 0,
 * or a negative errno with why set. */
static int read_all(const char *path, char **out, size_t *outlen, struct stat *st, char *why, size_t wl)
{
	size_t cap, n = 0;
	char *buf;
	int fd, err;

	/* O_NONBLOCK: opening a FIFO must not hang (it is refused below) */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		err = -errno;
		snprintf(why, wl, "%s", strerror(-err));
		return err;
	}
	if (fstat(fd, st)) {
		err = -errno;
		snprintf(why, wl, "%s", strerror(-err));
		goto fail;
	}
	if (S_ISDIR(st->st_mode)) {
		err = -EISDIR;
		snprintf(why, wl, "is a directory");
		goto fail;
	}
	if (!S_ISREG(st->st_mode)) {
		err = -EINVAL;
		snprintf(why, wl, "not a regular file");
		goto fail;
	}
	if (st->st_size > (off_t)NM_CFG_MAX_FILE) {
		err = -EFBIG;
		snprintf(why, wl, "file too large (%lld bytes, at most %u)", (long long)st->st_size, NM_CFG_MAX_FILE);
		goto fail;
	}
	cap = (size_t)st->st_size + 1;
	if (cap < 4096)
		cap = 4096;
	buf = malloc(cap);
	if (!buf) {
		err = -ENOMEM;
		snprintf(why, wl, "out of memory");
		goto fail;
	}
	for (;;) {
		ssize_t r;

		if (n + 1 >= cap) {
			size_t nc = cap * 2 > (size_t)NM_CFG_MAX_FILE + 2 ? (size_t)NM_CFG_MAX_FILE + 2 : cap * 2;
			char *b = realloc(buf, nc);

			if (!b) {
				free(buf);
				err = -ENOMEM;
				snprintf(why, wl, "out of memory");
				goto fail;
			}
			buf = b;
			cap = nc;
		}
		r = read(fd, buf + n, cap - 1 - n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			free(buf);
			snprintf(why, wl, "%s", strerror(-err));
			goto fail;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > NM_CFG_MAX_FILE) { /* grew while being read */
			free(buf);
			err = -EFBIG;
			snprintf(why, wl, "file too large (more than %u bytes)", NM_CFG_MAX_FILE);
			goto fail;
		}
	}
	close(fd);
	buf[n] = 0;
	*out = buf;
	*outlen = n;
	return 0;
fail:
	close(fd);
	return err;
}

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

/* Split at '#' (the rest, if any, in *comment) and at blanks.  Returns the
 * token count; only the first MAXTOK are stored. */
static int tokenize(char *line, char **tok, char **comment)
{
	char *hash = strchr(line, '#'), *save = NULL, *t;
	int n = 0;

	*comment = NULL;
	if (hash) {
		*hash = 0;
		*comment = hash + 1;
	}
	for (t = strtok_r(line, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
		if (n < MAXTOK)
			tok[n] = t;
		n++;
	}
	return n;
}

/* Every line of text: config statements (B != NULL) or rules into rs. */
static void parse_lines(struct ld *L, const struct src *S, const char *text, size_t len, struct blk *B,
			struct nm_ruleset *rs)
{
	const char *p = text, *end = text + len;
	char *line = malloc(NM_CFG_MAX_LINE + 1);
	int ln = 0;

	if (!line) {
		nomem(L, S->name, 0);
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
			report(L, S->name, ln, "line too long (%zu bytes, at most %d)", n, NM_CFG_MAX_LINE);
			continue;
		}
		for (i = 0; i < n && !bad; i++) {
			unsigned char c = (unsigned char)start[i];

			if ((c < 0x20 && c != '\t') || c == 0x7f) {
				report(L, S->name, ln, "control character \\x%02x at column %zu", c, i + 1);
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
			int nt = tokenize(line, tok, &comment);

			if (nt)
				rule_tokens(L, S, ln, tok, nt, comment, rs);
		}
	}
	free(line);
}

/* ---- rules ---------------------------------------------------------------- */

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		*--e = 0;
	return s;
}

/* "ACTION TARGET [# reason]", the grammar (and messages) of nm_ruleset_parse. */
static void rule_tokens(struct ld *L, const struct src *S, int ln, char **tok, int n, char *reason,
			struct nm_ruleset *rs)
{
	struct nm_rule_entry e = { .line = ln };
	char err[NM_ERR_LEN], qs[QLEN];

	if (nm_parse_action(tok[0], &e.action, err, sizeof(err))) {
		report(L, S->name, ln, "%s", err);
		return;
	}
	if (n < 2) {
		report(L, S->name, ln, "'%s' needs a target (CIDR or address)", tok[0]);
		return;
	}
	if (n > 2) {
		report(L, S->name, ln, "unexpected '%s' after the target (reasons go after '#')", q(qs, tok[2]));
		return;
	}
	if (nm_parse_cidr(tok[1], &e.cidr, err, sizeof(err))) {
		report(L, S->name, ln, "%s", err);
		return;
	}
	if (L->nrules >= NM_CFG_MAX_RULES) {
		/* one message, not millions */
		if (L->nrules++ == NM_CFG_MAX_RULES)
			report(L, S->name, ln, "too many rules (more than %u in all policies; further lines not checked)",
			       NM_CFG_MAX_RULES);
		return;
	}
	if (reason && *(reason = trim(reason))) {
		e.reason = strndup(reason, NM_REASON_LEN - 1);
		if (!e.reason) {
			nomem(L, S->name, ln);
			return;
		}
	}
	if (nm_ruleset_add(rs, &e)) {
		free(e.reason);
		nomem(L, S->name, ln);
		return;
	}
	L->nrules++;
}

/* ---- includes ------------------------------------------------------------- */

static void parse_config(struct ld *L, const char *name, const char *text, size_t len, int depth, bool is_file);

/* include ARG from S line ln: a config file (rs == NULL) or a rules file. */
static void include_file(struct ld *L, const struct src *S, int ln, const char *arg, struct nm_ruleset *rs)
{
	char path[PATH_MAX], why[160], qa[QLEN];
	const char *dir = arg[0] == '/' ? NULL : S->dir;
	struct stat st;
	size_t len;
	char *buf;
	int r, err;

	q(qa, arg);
	if (dir)
		r = snprintf(path, sizeof(path), "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", arg);
	else
		r = snprintf(path, sizeof(path), "%s", arg);
	if (r < 0 || (size_t)r >= sizeof(path)) {
		report(L, S->name, ln, "include '%s': path too long", qa);
		return;
	}
	if (L->nfiles >= NM_CFG_MAX_FILES) {
		report(L, S->name, ln, "include '%s': too many files (more than %d in one configuration)", qa,
		       NM_CFG_MAX_FILES);
		return;
	}
	err = read_all(path, &buf, &len, &st, why, sizeof(why));
	if (err) {
		if (err == -ENOMEM)
			nomem(L, S->name, ln);
		else if (strcmp(path, arg))
			report(L, S->name, ln, "include '%s': %s: %s", qa, path, why);
		else
			report(L, S->name, ln, "include '%s': %s", qa, why);
		return;
	}
	L->nfiles++;
	L->nbytes += len;
	if (L->nbytes > NM_CFG_MAX_TOTAL) {
		report(L, S->name, ln, "include '%s': the configuration is too large (more than %u bytes in all files)",
		       qa, NM_CFG_MAX_TOTAL);
		free(buf);
		return;
	}
	if (!rs) {
		for (int i = 0; i < L->nstack; i++) {
			if (L->stack[i].dev == st.st_dev && L->stack[i].ino == st.st_ino) {
				report(L, S->name, ln, "include '%s': include loop (the file is already being read)", qa);
				free(buf);
				return;
			}
		}
	}
	if (S->depth + 1 > NM_CFG_MAX_DEPTH) {
		report(L, S->name, ln, "include '%s': includes nested more than %d deep", qa, NM_CFG_MAX_DEPTH);
		free(buf);
		return;
	}
	if (rs) {
		bool oom = false;
		char *d = dir_of(path, &oom);
		struct src R = { .name = path, .dir = d, .depth = S->depth + 1 };

		if (oom)
			nomem(L, S->name, ln);
		else
			parse_lines(L, &R, buf, len, NULL, rs);
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
				report(L, S->name, B->l_synth[i], "synthetic%d: only with 'names synthetic'",
				       i ? 6 : 4);
		return;
	}
	if (!p->p.proxy4.port && !p->p.proxy6.port)
		report(L, S->name, B->l_names,
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
			nomem(L, S->name, B->l_names);
		}
	}
}

static void close_block(struct ld *L, const struct src *S, struct blk *B)
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
			report(L, S->name, B->pol.line, "policy '%s' has %zu IPv%d rules, more than a table holds (%u)",
			       B->pol.p.name, n4 > NM_MAX_RULES ? n4 : n6, n4 > NM_MAX_RULES ? 4 : 6, NM_MAX_RULES);
		v = grow(L->cfg->policies, L->cfg->npolicies, sizeof(*v));
		if (v) {
			L->cfg->policies = v;
			v[L->cfg->npolicies++] = B->pol;
			memset(&B->pol, 0, sizeof(B->pol));
			return;
		}
		nomem(L, S->name, B->pol.line);
	}
	nm_ruleset_free(&B->pol.rules);
	free(B->pol.hosts);
	memset(&B->pol, 0, sizeof(B->pol));
}

static void open_block(struct ld *L, const struct src *S, struct blk *B, int ln, char **tok, int n)
{
	const char *name = n >= 2 ? tok[1] : NULL;
	char err[NM_ERR_LEN], qs[QLEN];
	bool form_ok = n == 3 && !strcmp(tok[2], "{");

	memset(B, 0, sizeof(*B));
	B->open = true;
	B->pol.line = ln;
	setstr(B->pol.file, sizeof(B->pol.file), S->name);
	B->pol.p.default_action = NM_ACT_REDIRECT;
	B->pol.p.mode = NM_MODE_ENFORCE;
	B->pol.p.events = NM_EV_DENY;
	if (name)
		q(B->hdr, name);
	if (!form_ok)
		report(L, S->name, ln, "expected 'policy NAME {' (the '{' on the same line, after a blank)");
	if (!name)
		return;
	if (nm_parse_policy_name(name, err, sizeof(err))) {
		if (form_ok)
			report(L, S->name, ln, "policy: %s", err);
		return;
	}
	for (size_t i = 0; i < L->cfg->npolicies; i++) {
		const struct nm_cfg_policy *o = &L->cfg->policies[i];

		if (!strcmp(o->p.name, name)) {
			report(L, S->name, ln, "policy '%s' is already defined at %s:%d", q(qs, name), o->file, o->line);
			return;
		}
	}
	if (L->cfg->npolicies >= NM_MAX_POLICIES - 1) {
		report(L, S->name, ln, "too many policies (at most %d)", NM_MAX_POLICIES - 1);
		return;
	}
	setstr(B->pol.p.name, sizeof(B->pol.p.name), name);
	B->keep = true;
}

static bool once_blk(struct ld *L, const struct src *S, int ln, int *seen, const char *kw)
{
	if (*seen) {
		report(L, S->name, ln, "'%s' given twice in this block (first at line %d)", kw, *seen);
		return false;
	}
	*seen = ln;
	return true;
}

static bool once_top(struct ld *L, const struct src *S, int ln, struct seen *s, const char *kw)
{
	if (s->line) {
		report(L, S->name, ln, "'%s' given twice (first at %s:%d)", kw, s->file, s->line);
		return false;
	}
	setstr(s->file, sizeof(s->file), S->name);
	s->line = ln;
	return true;
}

/* ---- statements ----------------------------------------------------------- */

typedef void (*kw_fn)(struct ld *L, const struct src *S, struct blk *B, int ln, char **tok, int n);

static void kw_include(struct ld *L, const struct src *S, struct blk *B, int ln, char **tok, int n)
{
	(void)B;
	(void)n;
	include_file(L, S, ln, tok[1], NULL);
}

static void kw_attach(struct ld *L, const struct src *S, struct blk *B, int ln, char **tok, int n)
{
	struct nm_cfg_attach a = { .line = ln }, *v;
	struct nm_config *cfg = L->cfg;
	char qs[QLEN], qo[QLEN];
	const char *why;

	(void)B;
	if (n == 3 && strcmp(tok[2], "origdst-only")) {
		report(L, S->name, ln, "attach: unknown option '%s' (the only one is origdst-only)", q(qo, tok[2]));
		return;
	}
	a.origdst_only = n == 3;
	if (has_glob(tok[1])) {
		report(L, S->name, ln, "attach '%s': a cgroup path, not a pattern (no * ? [)", q(qs, tok[1]));
		return;
	}
	if (norm_path(tok[1], true, a.path, sizeof(a.path), &why)) {
		report(L, S->name, ln, "attach '%s': %s", q(qs, tok[1]), why);
		return;
	}
	for (size_t i = 0; i < cfg->nattaches; i++) {
		if (!strcmp(cfg->attaches[i].path, a.path)) {
			report(L, S->name, ln, "attach '%s': already attached at %s:%d", q(qs, a.path),
			       cfg->attaches[i].file, cfg->attaches[i].line);
			return;
		}
	}
	if (cfg->nattaches >= NM_CFG_MAX_ATTACHES) {
		report(L, S->name, ln, "attach: too many attach points (at most %d)", NM_CFG_MAX_ATTACHES);
		return;
	}
	setstr(a.file, sizeof(a.file), S->name);
	v = grow(cfg->attaches, cfg->nattaches, sizeof(*v));
	if (!v) {
		nomem(L, S->name, ln);
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
		report(L, S->name, ln, "bind '%s': the pattern must be absolute (start with '/')", q(qs, tok[1]));
		ok = false;
	} else if (strstr(tok[1], "**")) {
		report(L, S->name, ln, "bind '%s': '**' is not supported ('*' never crosses '/')", q(qs, tok[1]));
		ok = false;
	} else if (norm_path(tok[1], false, b.pattern, sizeof(b.pattern), &why)) {
		report(L, S->name, ln, "bind '%s': %s", q(qs, tok[1]), why);
		ok = false;
	}
	if (nm_parse_policy_name(tok[2], err, sizeof(err))) {
		report(L, S->name, ln, "bind: %s", err);
		ok = false;
	}
	if (!ok)
		return;
	for (size_t i = 0; i < cfg->nbinds; i++) {
		if (!strcmp(cfg->binds[i].pattern, b.pattern)) {
			report(L, S->name, ln, "bind '%s': already bound at %s:%d", q(qs, b.pattern), cfg->binds[i].file,
			       cfg->binds[i].line);
			return;
		}
	}
	if (cfg->nbinds >= NM_CFG_MAX_BINDS) {
		report(L, S->name, ln, "bind: too many binds (at most %d)", NM_CFG_MAX_BINDS);
		return;
	}
	setstr(b.policy, sizeof(b.policy), tok[2]);
	setstr(b.file, sizeof(b.file), S->name);
	v = grow(cfg->binds, cfg->nbinds, sizeof(*v));
	if (v)
		cfg->binds = v;
	f = grow(L->bind_files, cfg->nbinds, sizeof(*f));
	if (f)
		L->bind_files = f;
	if (!v || !f || !(f[cfg->nbinds] = strdup(S->name))) {
		nomem(L, S->name, ln);
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
		report(L, S->name, ln, "%s '%s': the path must be absolute", kw, q(qs, value));
	else if (sock && strlen(path) > SUN_MAX)
		report(L, S->name, ln, "%s '%s': too long for a unix socket (at most %zu bytes)", kw, q(qs, value),
		       SUN_MAX);
	else if (strlen(value) >= dlen)
		report(L, S->name, ln, "%s '%s': too long (at most %zu bytes)", kw, q(qs, value), dlen - 1);
	else
		setstr(dst, dlen, value);
}

static void kw_events_log(struct ld *L, const struct src *S, struct blk *B, int ln, char **tok, int n)
{
	(void)B;
	(void)n;
	if (!once_top(L, S, ln, &L->ev_log, "events-log"))
		return;
	if (!strcmp(tok[1], "stdout"))
		setstr(L->cfg->events_log, sizeof(L->cfg->events_log), "stdout");
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
	r = parse_uint(tok[1], NM_CFG_MAX_RATE, &v);
	if (r == -ERANGE)
		report(L, S->name, ln, "events-rate '%s': more than %u events a second (0 = unlimited)", q(qs, tok[1]),
		       NM_CFG_MAX_RATE);
	else if (r)
		report(L, S->name, ln, "events-rate '%s': not a number (events a second, 0 = unlimited)", q(qs, tok[1]));
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
		report(L, S->name, ln, "metrics: %s (expected unix:PATH or ADDR:PORT)", err);
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
		report(L, S->name, ln, "metrics '%s': not a loopback address (127.0.0.0/8 or ::1)", q(qs, v));
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
		report(L, S->name, ln, "default: %s", err);
}

static void kw_mode(struct ld *L, const struct src *S, struct blk *B, int ln, char **tok, int n)
{
	char err[NM_ERR_LEN];

	(void)n;
	if (once_blk(L, S, ln, &B->l_mode, "mode") && nm_parse_mode(tok[1], &B->pol.p.mode, err, sizeof(err)))
		report(L, S->name, ln, "mode: %s", err);
}

static void kw_events(struct ld *L, const struct src *S, struct blk *B, int ln, char **tok, int n)
{
	char err[NM_ERR_LEN];

	(void)n;
	if (once_blk(L, S, ln, &B->l_events, "events") &&
	    nm_parse_evlevel(tok[1], &B->pol.p.events, err, sizeof(err)))
		report(L, S->name, ln, "events: %s", err);
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
		report(L, S->name, ln, "%s: %s", kw, err);
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

		parse_lines(L, &R, nm_deny_defaults, strlen(nm_deny_defaults), NULL, &B->pol.rules);
		return;
	}
	include_file(L, S, ln, tok[1], &B->pol.rules);
}

static void kw_hostname(struct ld *L, const struct src *S, struct blk *B, int ln, char **tok, int n)
{
	struct nm_hostpat h, *v;
	char err[2 * NM_ERR_LEN];

	(void)n;
	if (nm_hostpat_parse(tok[1], &h, err, sizeof(err))) {
		report(L, S->name, ln, "hostname: %s", err);
		return;
	}
	v = grow(B->pol.hosts, B->pol.nhosts, sizeof(*v));
	if (!v) {
		nomem(L, S->name, ln);
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
		report(L, S->name, ln, "raw-sockets '%s': expected allow or deny", tok[1]);
	else
		B->pol.p.raw = !strcmp(tok[1], "allow");
}

static void kw_names(struct ld *L, const struct src *S, struct blk *B, int ln, char **tok, int n)
{
	(void)n;
	if (!once_blk(L, S, ln, &B->l_names, "names"))
		return;
	if (strcmp(tok[1], "real") && strcmp(tok[1], "synthetic"))
		report(L, S->name, ln, "names '%s': expected real or synthetic", tok[1]);
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
		report(L, S->name, ln, "synthetic%d: %s", fam, err);
	else if (c->family != fam || c->port)
		report(L, S->name, ln, "synthetic%d '%s': an IPv%d range without a port", fam, q(qs, v), fam);
	else if (c->prefixlen < lo || c->prefixlen > hi)
		report(L, S->name, ln, "synthetic%d '%s': the prefix length must be %d to %d", fam, q(qs, v), lo, hi);
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
			report(L, S->name, ln, "dns-upstream: %s", err);
			continue;
		}
		if (c.prefixlen != (c.family == 4 ? 32 : 128)) {
			report(L, S->name, ln, "dns-upstream '%s': one address, not a range", q(qs, tok[i]));
			continue;
		}
		u->family = c.family;
		memcpy(u->addr, c.addr, 16);
		u->port = c.port ? c.port : 53;
		cfg->ndns_upstream++;
	}
}

static const struct kw {
	const char *name;
	bool block;    /* allowed inside a policy block (else only outside) */
	int min, max;  /* arguments */
	const char *usage;
	kw_fn fn;
} keywords[] = {
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

static const struct kw *find_kw(const char *name, bool block)
{
	for (size_t i = 0; i < ARRAY_SIZE(keywords); i++)
		if (keywords[i].block == block && !strcmp(keywords[i].name, name))
			return &keywords[i];
	return NULL;
}

static void config_line(struct ld *L, const struct src *S, struct blk *B, int ln, char *line)
{
	char *tok[MAXTOK], *comment, qs[QLEN];
	const struct kw *k;
	int n = tokenize(line, tok, &comment);

	if (!n)
		return;
	if (is_action(tok[0])) {
		if (B->open)
			rule_tokens(L, S, ln, tok, n, comment, &B->pol.rules);
		else
			report(L, S->name, ln, "'%s' rule outside a policy block", tok[0]);
		return;
	}
	if (!strcmp(tok[0], "policy")) {
		if (B->open) {
			report(L, S->name, ln, "policy block inside policy '%s' (opened at line %d): is its '}' missing?",
			       B->hdr, B->pol.line);
			close_block(L, S, B);
		}
		open_block(L, S, B, ln, tok, n);
		return;
	}
	if (!strcmp(tok[0], "}")) {
		if (!B->open) {
			report(L, S->name, ln, "'}' without an open policy block");
			return;
		}
		if (n > 1)
			report(L, S->name, ln, "'}': unexpected '%s' (a '}' stands on its own line)", q(qs, tok[1]));
		close_block(L, S, B);
		return;
	}
	k = find_kw(tok[0], B->open);
	if (!k) {
		if (find_kw(tok[0], !B->open)) {
			if (B->open)
				report(L, S->name, ln, "'%s' is not allowed inside a policy block (is the '}' of '%s' missing?)",
				       tok[0], B->hdr);
			else
				report(L, S->name, ln, "'%s' is only allowed inside a policy block", tok[0]);
		} else {
			report(L, S->name, ln, "unknown keyword '%s'", q(qs, tok[0]));
		}
		return;
	}
	if (n - 1 < k->min) {
		report(L, S->name, ln, "%s: missing argument (usage: %s)", k->name, k->usage);
		return;
	}
	if (n - 1 > k->max) {
		report(L, S->name, ln, "%s: unexpected '%s' (usage: %s)", k->name, q(qs, tok[k->max + 1]), k->usage);
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
		nomem(L, name, 0);
		return;
	}
	parse_lines(L, &S, text, len, &B, NULL);
	if (B.open) {
		if (!L->oom)
			report(L, name, B.pol.line, "policy '%s' is not closed: no '}' before the end of the file", B.hdr);
		close_block(L, &S, &B);
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
	setstr(cfg->events_log, sizeof(cfg->events_log), NM_CFG_DEF_EVENTS_LOG);
	setstr(cfg->events_socket, sizeof(cfg->events_socket), NM_CFG_DEF_EVENTS_SOCKET);
	cfg->events_rate = NM_CFG_DEF_EVENTS_RATE;
	setstr(cfg->metrics, sizeof(cfg->metrics), NM_CFG_DEF_METRICS);
}

static int finish(struct ld *L, int *nerrors)
{
	struct nm_config *cfg = L->cfg;

	if (!L->oom) {
		for (size_t i = 0; i < cfg->nbinds; i++) {
			const struct nm_cfg_bind *b = &cfg->binds[i];

			if (!nm_config_policy(cfg, b->policy))
				report(L, L->bind_files[i], b->line,
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
	err = read_all(path, &buf, &len, &st, why, sizeof(why));
	if (err == -ENOMEM) {
		nomem(&L, path, 0);
	} else if (err) {
		report(&L, path, 0, "cannot read the configuration: %s", why);
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
		report(&L, origin, 0, "configuration too large (%zu bytes, at most %u)", len, NM_CFG_MAX_FILE);
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
