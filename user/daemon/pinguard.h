/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Keeping nomoat's pins: nomoatd holds an fd to every object pinned under
 * the pin dir (maps, programs, the links of every attach point).  While it
 * does, removing the pin dir (rm -rf, a bpffs unmounted and mounted again)
 * does not end enforcement: the links stay attached through the daemon's
 * fds.  Each check notices pins that are gone and pins the held objects
 * again at the same paths, so the CLI works again too.
 *
 * An unload (`nomoat unload`) also removes the pins, but detaches the links
 * first: the check sees its held links detached and restores nothing.
 */
#ifndef NM_PINGUARD_H
#define NM_PINGUARD_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

struct nm_pin {
	char rel[192]; /* path below the pin dir, e.g. "nm_policies", "links/1234/nm_connect4" */
	int fd;
	bool link;
};

struct nm_pinguard {
	char dir[PATH_MAX];
	struct nm_pin *v;
	size_t n, cap;
};

struct nm_pin_report {
	size_t held;      /* objects held */
	size_t missing;   /* pins that were gone */
	size_t restored;  /* of them, pinned again */
	bool unloaded;    /* the held links are detached: an unload, nothing restored */
	int first_err;    /* errno of the first pin that could not be restored */
};

/* Open every object pinned under dir (any earlier set is let go first).
 * 0 or a negative errno (the guard then holds what it could open). */
int nm_pinguard_take(struct nm_pinguard *g, const char *dir);

/* Look for missing pins and pin the held objects again; r says what was
 * found.  Returns 0 when every pin is there (again). */
int nm_pinguard_check(struct nm_pinguard *g, struct nm_pin_report *r);

void nm_pinguard_free(struct nm_pinguard *g);

#endif
