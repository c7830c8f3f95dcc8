/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Turning ring-buffer events into text or JSON lines, with names: the
 * policy's name, the cgroup's path, the rule and its reason. */
#ifndef NM_EVENTS_H
#define NM_EVENTS_H

#include <stdbool.h>
#include <stdio.h>
#include "nomoat.h"
#include "pins.h"

#define NM_CG_CACHE 64

struct nm_event_fmt {
	const struct nm_maps *maps;
	bool json, pretty;
	__s64 boot_to_real_ns; /* add to a boot-time stamp for wall clock */
	struct {
		__u64 id;
		char path[256];
	} cg[NM_CG_CACHE];
	unsigned cg_next;
};

void nm_event_fmt_init(struct nm_event_fmt *f, const struct nm_maps *m, bool json, bool pretty);
/* The container id in a cgroup path: the 64-hex id of a docker-, crio-,
 * libpod- or cri-containerd-…scope component, or a bare 64-hex component;
 * "" when there is none. */
void nm_container_id(const char *cgroup_path, char *out, size_t len);
void nm_event_print(struct nm_event_fmt *f, FILE *out, const struct nm_event *e);

#endif
