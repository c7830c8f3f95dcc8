/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The pin directory: everything nomoat puts in the kernel lives under one
 * bpffs directory, so it outlives every process and is found again by name.
 *
 *   DIR/nm_*                  maps (pinned by name by libbpf at load)
 *   DIR/progs/nm_*            programs
 *   DIR/links/CGID/nm_*       one bpf_link per program attached at cgroup CGID
 */
#ifndef NM_PINS_H
#define NM_PINS_H

#include <limits.h>
#include <stdbool.h>

#define NM_PIN_DIR_DEFAULT "/sys/fs/bpf/nomoat"
#define NM_PIN_DIR_ENV     "NOMOAT_PIN_DIR"

struct nm_maps {
	int policies, rules4, rules6, bindings, events;
	int stats, gstats, flows, flowcnt, reasons;
	int epoch; /* the change epoch (see nm_epoch_bump in policy.h) */
};

/* The option if given, else $NOMOAT_PIN_DIR, else the default. */
const char *nm_pin_dir_pick(const char *opt);

/* Make sure DIR's parent is a bpffs (mounting one at /sys/fs/bpf when
 * nothing is mounted there) so that DIR can be created. */
int nm_bpffs_ensure(const char *dir);

/* Open every pinned map; on a missing pin the message asks whether
 * nomoat is loaded and the pin dir is right. */
int nm_maps_open(const char *dir, struct nm_maps *m);
void nm_maps_close(struct nm_maps *m);

/* Sum of a per-CPU __u64 counter (nm_stats, nm_gstats); 0 if unreadable. */
unsigned long long nm_percpu_sum(int map_fd, unsigned int key);

/* Is something loaded at DIR (all programs pinned)? */
bool nm_is_loaded(const char *dir);

#endif
