/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * ptable.h - a policy's rules as a read-only prefix table in user space, to
 * ask what the kernel's LPM tries answer at connect time: which rule covers
 * an address whatever the port.  nomoat-dns asks it of every address an
 * upstream answer carries, and refuses an answer that points where the
 * policy denies (DNS rebinding).  Host:port rules are left out (an answer's
 * address may be dialled on any port); of rules with the same target the
 * later one counts, as in the kernel's table.  Built once from a ruleset;
 * a lookup is a binary search per prefix length present, longest first.
 */
#ifndef NM_PTABLE_H
#define NM_PTABLE_H

#include <linux/types.h>

#include "policy.h"

struct nm_ptable;

/* Build from rs (which must outlive the table: lookups point into it).
 * 0, or -ENOMEM. */
int nm_ptable_build(const struct nm_ruleset *rs, struct nm_ptable **out);

/* The longest rule covering addr (family 4: 4 bytes, 6: 16 bytes), or
 * NULL: then the policy's default applies. */
const struct nm_rule_entry *nm_ptable_lookup(const struct nm_ptable *t, int family, const __u8 *addr);

void nm_ptable_free(struct nm_ptable *t);

#endif
