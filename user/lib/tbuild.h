/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The LPM keys and values one family of a rule set becomes, in the order
 * they are best written to a fresh trie. */
#ifndef NM_TBUILD_H
#define NM_TBUILD_H

#include <stddef.h>
#include "nomoat.h"
#include "policy.h"

struct nm_tbatch {
	void *keys;           /* n keys of ksz bytes: struct nm_key4 or nm_key6 */
	struct nm_rule *vals; /* n values */
	size_t n, ksz;
};

/* The rules of rs of family (4 or 6) as keys and values sorted by address,
 * port, then prefix length; equal keys keep their order in rs, so a later
 * line still wins when they are written in order.  0, or -ENOMEM
 * (reported).  Free with nm_tbatch_free. */
int nm_tbatch_build(const struct nm_ruleset *rs, int family, struct nm_tbatch *b);
void nm_tbatch_free(struct nm_tbatch *b);

#endif
