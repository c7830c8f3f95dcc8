/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Inside nomoat doctor (doctor.h): what its two files share.  doctor.c
 * holds the table and the host's checks, doctor_ns.c those that look into
 * other namespaces (the endpoints' network, the pin dir from containers). */
#ifndef NM_DOCTOR_INT_H
#define NM_DOCTOR_INT_H

#include <limits.h>
#include <stdbool.h>
#include "doctor.h"
#include "pins.h"

/* One run: the caller's struct, and what several checks need. */
struct nm_doc {
	struct nm_doctor *d;
	bool state_read, loaded, maps_ok;
	int nattach;           /* sandbox attach points */
	char attach[PATH_MAX]; /* the first one */
	struct nm_maps m;
};

/* One line of a mountinfo file. */
struct nm_doc_mnt {
	unsigned maj, min;
	char root[PATH_MAX], point[PATH_MAX];
	char fstype[32], super[256];
};

/* Report one finding. */
void nm_doc_say(struct nm_doc *c, const char *name, enum nm_doc_status st, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Call fn for every line of a mountinfo file (escapes undone); stops at a
 * non-zero return and returns it; -errno when the file cannot be read. */
int nm_doc_mounts(const char *path, int (*fn)(const struct nm_doc_mnt *, void *), void *arg);

/* Is path at or below dir, as strings ("/a" holds "/a/b", not "/ab")? */
bool nm_doc_under(const char *path, const char *dir);

/* Is p on a filesystem of this magic (statfs)? */
bool nm_doc_fs_is(const char *p, long magic);

/* Read once: loaded?, the attach points, the maps (c->maps_ok). */
void nm_doc_state(struct nm_doc *c);

/* The checks of doctor_ns.c. */
void nm_doc_check_endpoints(struct nm_doc *c, const char *name);
void nm_doc_check_pin_mode(struct nm_doc *c, const char *name);
void nm_doc_check_pin_visible(struct nm_doc *c, const char *name);

#endif
