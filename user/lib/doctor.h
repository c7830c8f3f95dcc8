/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * nomoat doctor: what on this host keeps nomoat from enforcing, one line a
 * finding, each `ok`, `warn` or `fail` with what was found and, when not
 * ok, the fix.  A fail means sandboxes are not (or cannot be) policed; a
 * warn, that something will not work as expected or cannot be proven.
 *
 * The checks are a table in doctor.c (name, function, whether nomoatd runs
 * it before it serves); adding one is one line there.  nomoatd runs the
 * fail-level checks that make sense before it loads anything (required
 * kernel features, cgroup2 socket matching switched off, the pin dir seen
 * from a container) and refuses to start on a fail.
 */
#ifndef NM_DOCTOR_H
#define NM_DOCTOR_H

#include <stdbool.h>

enum nm_doc_status { NM_DOC_OK, NM_DOC_WARN, NM_DOC_FAIL, NM_DOC__MAX };

/* One finding.  name is the check's ("cgroup2"), or the check's with what
 * it looked at ("endpoint:agents:proxy4", "runtime:gvisor"). */
struct nm_doc_line {
	const char *name;
	enum nm_doc_status status;
	const char *detail;
};

enum nm_doc_scope {
	NM_DOC_ALL,   /* nomoat doctor: every check */
	NM_DOC_START, /* nomoatd before it serves: the checks marked for it */
};

struct nm_doctor {
	const char *pin_dir;
	enum nm_doc_scope scope;
	/* called for every finding, in order (may be NULL) */
	void (*report)(const struct nm_doc_line *l, void *arg);
	void *arg;
	/* out: findings per status, and the first fail as "name: detail" */
	unsigned n[NM_DOC__MAX];
	char first_fail[640];
};

/* Run the checks of d->scope.  It changes nothing on the host but: a
 * cgroup2 mount where there is none (what nomoat needs), and the scratch
 * cgroup and deny-all policy of the enforcement check, removed again. */
void nm_doctor_run(struct nm_doctor *d);

/* "ok", "warn", "fail". */
const char *nm_doc_status_name(enum nm_doc_status s);

#endif
