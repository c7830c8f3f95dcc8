/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The rule-line grammar, one for rules files (nm_ruleset_parse, policy.h)
 * and the rules in a policy file's blocks (config.c):
 *
 *   ACTION TARGET [# reason]
 *
 * ACTION as nm_parse_action, TARGET as nm_parse_cidr, blanks are spaces
 * and tabs (a CR at either end of the text too), the reason is what
 * follows '#' with the blanks around it trimmed, cut to NM_REASON_LEN - 1
 * bytes; a line with nothing before '#' is a comment.
 */
#ifndef NM_RULELINE_H
#define NM_RULELINE_H

#include <stddef.h>

#include "policy.h"

#define NM_RULE_MAXTOK 8                /* tokens kept a line (more are counted) */
#define NM_RULES_MAX_FILE (64u << 20)   /* bytes a rules file (as a policy file) */

/* s without the blanks (space, tab, CR) at its ends; cuts s in place. */
char *nm_trim(char *s);

/* Cut line (in place) at '#' (the rest, if any, in *comment) and split the
 * part before at blanks into tok[0..max).  Returns the token count, which
 * may exceed max (the extra ones are not stored); 0: a blank or comment. */
int nm_rule_split(char *line, char **tok, int max, char **comment);

/* The rule of a split line (n >= 1): 0 and *e (action, cidr, reason: a
 * new string or NULL; line 0), or -EINVAL with one line in err (without
 * file or line), -ENOMEM. */
int nm_rule_tokens(char **tok, int n, char *comment, struct nm_rule_entry *e, char *err, size_t errlen);

#endif
