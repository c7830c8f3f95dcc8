/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Turning ring-buffer events into decision lines (evline.h), text or JSON,
 * with names: the policy's name, the cgroup's path and container, the rule
 * and its reason.
 *
 * Names are cached: a cgroup's path for good (a cgroup id is never reused;
 * a gone one is cached as ""), a policy's name and a rule's reason until
 * nm_event_fmt_refresh(), which the reader calls whenever names may have
 * changed (the daemon after each reload and every 100 ms tick, the CLI
 * every poll), so a line costs no map lookup. */
#ifndef NM_EVENTS_H
#define NM_EVENTS_H

#include <stdbool.h>
#include <stdio.h>
#include "nomoat.h"
#include "parse.h"
#include "pins.h"

#define NM_CG_CACHE     64
#define NM_REASON_CACHE 64

struct nm_event_fmt {
	const struct nm_maps *maps;
	bool json, pretty;
	__s64 boot_to_real_ns; /* add to a boot-time stamp for wall clock */
	__u32 epoch;           /* cached names of an older epoch are stale */
	struct {
		__u64 id;
		char path[256];
		char container[80];
	} cg[NM_CG_CACHE];
	unsigned cg_next;
	struct {
		__u32 epoch;
		char name[NM_POLICY_NAME_LEN];
	} pol[NM_MAX_POLICIES];
	struct {
		__u32 epoch, policy_id;
		struct nm_cidr rule;
		char text[NM_REASON_LEN];
	} why[NM_REASON_CACHE];
	__s64 sec;             /* the second stamp[] shows */
	char stamp[32];        /* "2026-11-26T12:36:14" */
};

void nm_event_fmt_init(struct nm_event_fmt *f, const struct nm_maps *m, bool json, bool pretty);
/* Policy names and rule reasons may have changed: look them up again. */
void nm_event_fmt_refresh(struct nm_event_fmt *f);
/* The container id in a cgroup path: the 64-hex id of a docker-, crio-,
 * libpod- or cri-containerd-…scope component, or a bare 64-hex component;
 * "" when there is none. */
void nm_container_id(const char *cgroup_path, char *out, size_t len);
/* The decision line of e (JSON or text, as f says) into buf: its length,
 * newline included, or 0 if it does not fit (NM_EVLINE_MAX always does). */
size_t nm_event_line(struct nm_event_fmt *f, const struct nm_event *e, char *buf, size_t cap);

#endif
