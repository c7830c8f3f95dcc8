/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Proving enforcement works before the daemon says it runs. */
#ifndef NM_CANARY_H
#define NM_CANARY_H

#include <stdbool.h>
#include <stddef.h>
#include "pins.h"

#define NM_CANARY_POLICY "nomoatd-canary"

/*
 * From a scratch cgroup below the attach point, bound to a deny-all policy,
 * a child connects to 169.254.169.254:80 from a fresh network namespace with
 * no routes at all (so a failed block cannot send anything anywhere).  The
 * connect must fail with EPERM: that is nomoat refusing it.  Anything else
 * (ENETUNREACH: nothing refused it) is an error with the reason.
 */
int nm_canary(const struct nm_maps *m, const char *attach_abs);

/*
 * The same check for another caller (nomoat doctor): the scratch cgroup is
 * <attach_abs>/<scratch>-<pid>, and with tidy the deny-all policy is deleted
 * afterwards when this call made it, so a diagnosis leaves nothing behind.
 */
int nm_canary_run(const struct nm_maps *m, const char *attach_abs, const char *scratch, bool tidy);

#endif
