// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Rule text: the rule-line grammar (ruleline.h) and rulesets parsed from
 * text or a file (nm_ruleset_*, policy.h).
 */
#include "ruleline.h"
#include "err.h"
#include "files.h"
#include "parse.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define QUOTE_MAX 48 /* bytes of a token in a message */

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

char *nm_trim(char *s)
{
	char *e;

	while (is_blank(*s))
		s++;
	e = s + strlen(s);
	while (e > s && is_blank(e[-1]))
		*--e = 0;
	return s;
}

int nm_rule_split(char *line, char **tok, int max, char **comment)
{
	char *hash = strchr(line, '#'), *save = NULL, *t;
	int n = 0;

	*comment = NULL;
	if (hash) {
		*hash = 0;
		*comment = hash + 1;
	}
	for (t = strtok_r(nm_trim(line), " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
		if (n < max)
			tok[n] = t;
		n++;
	}
	return n;
}

int nm_rule_tokens(char **tok, int n, char *comment, struct nm_rule_entry *e, char *err, size_t errlen)
{
	char perr[NM_ERR_LEN];

	memset(e, 0, sizeof(*e));
	if (nm_parse_action(tok[0], &e->action, perr, sizeof(perr)))
		return nm_errf(err, errlen, "%s", perr);
	if (n < 2)
		return nm_errf(err, errlen, "'%s' needs a target (CIDR or address)", tok[0]);
	if (n > 2)
		return nm_errf(err, errlen, "unexpected '%.*s%s' after the target (reasons go after '#')", QUOTE_MAX,
			       tok[2], strlen(tok[2]) > QUOTE_MAX ? "..." : "");
	if (nm_parse_cidr(tok[1], &e->cidr, perr, sizeof(perr)))
		return nm_errf(err, errlen, "%s", perr);
	if (comment && *(comment = nm_trim(comment))) {
		e->reason = strndup(comment, NM_REASON_LEN - 1);
		if (!e->reason)
			return -ENOMEM;
	}
	return 0;
}

/* ---- rulesets ------------------------------------------------------------- */

int nm_ruleset_add(struct nm_ruleset *rs, const struct nm_rule_entry *e)
{
	if (rs->n == rs->cap) {
		size_t cap = rs->cap ? rs->cap * 2 : 64;
		void *v = realloc(rs->v, cap * sizeof(*rs->v));

		if (!v)
			return nm_fail(NM_E_RUNTIME, -ENOMEM, "out of memory");
		rs->v = v;
		rs->cap = cap;
	}
	rs->v[rs->n++] = *e;
	return 0;
}

void nm_ruleset_free(struct nm_ruleset *rs)
{
	for (size_t i = 0; i < rs->n; i++)
		free(rs->v[i].reason);
	free(rs->v);
	memset(rs, 0, sizeof(*rs));
}

static int parse_line(char *line, int lineno, const char *origin, struct nm_ruleset *rs)
{
	char err[NM_ERR_LEN], *tok[NM_RULE_MAXTOK], *comment;
	struct nm_rule_entry e;
	int n = nm_rule_split(line, tok, NM_RULE_MAXTOK, &comment), rc;

	if (!n)
		return 0;
	rc = nm_rule_tokens(tok, n, comment, &e, err, sizeof(err));
	if (rc == -ENOMEM)
		return nm_fail(NM_E_RUNTIME, -ENOMEM, "out of memory");
	if (rc)
		return nm_fail(NM_E_INPUT, rc, "%s:%d: %s", origin, lineno, err);
	e.line = lineno;
	if (nm_ruleset_add(rs, &e)) {
		free(e.reason);
		return -ENOMEM;
	}
	return 0;
}

int nm_ruleset_parse(const char *text, const char *origin, struct nm_ruleset *rs)
{
	const char *p = text;
	int lineno = 0, err = 0;

	while (*p && !err) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		char *line;

		lineno++;
		line = strndup(p, len);
		if (!line)
			return nm_fail(NM_E_RUNTIME, -ENOMEM, "out of memory");
		err = parse_line(line, lineno, origin, rs);
		free(line);
		p = nl ? nl + 1 : p + len;
	}
	if (err)
		nm_ruleset_free(rs);
	return err;
}

int nm_ruleset_parse_file(const char *path, struct nm_ruleset *rs)
{
	char why[NM_WHY_LEN], *buf;
	size_t n;
	int err;

	if (strcmp(path, "-"))
		err = nm_read_file(path, NM_RULES_MAX_FILE, 0, &buf, &n, NULL, why, sizeof(why));
	else
		err = nm_read_fd(STDIN_FILENO, NM_RULES_MAX_FILE, 0, &buf, &n, why, sizeof(why));
	if (err)
		return nm_fail(err == -ENOMEM ? NM_E_RUNTIME : NM_E_INPUT, err, "'%s': %s", path, why);
	if (strlen(buf) != n) {
		free(buf);
		return nm_fail(NM_E_INPUT, -EINVAL, "'%s': binary data (a NUL byte) in a rules file", path);
	}
	err = nm_ruleset_parse(buf, path, rs);
	free(buf);
	return err;
}
