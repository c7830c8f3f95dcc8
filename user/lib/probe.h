/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* What the running kernel offers, probed before anything is loaded. */
#ifndef NM_PROBE_H
#define NM_PROBE_H

#include <limits.h>
#include <stdbool.h>

struct nm_feature {
	const char *name;  /* what a person reads: "BPF ring buffer (5.8)" */
	bool required;     /* nomoat refuses to load without it */
	bool present;
};

enum {
	NM_F_CGROUP2, NM_F_BPF, NM_F_PROG_SOCK_ADDR, NM_F_PROG_SOCK_OPS,
	NM_F_PROG_SOCKOPT, NM_F_MAP_LPM, NM_F_MAP_AOM, NM_F_MAP_RINGBUF,
	NM_F_MAP_SK_STORAGE, NM_F_UNINIT_STACK, NM_F_LPM_BATCH, NM_F_HELPER_PID, NM_F_HELPER_COMM,
	NM_F__MAX,
};

struct nm_features {
	struct nm_feature f[NM_F__MAX];
	char cgroup2[PATH_MAX];
};

void nm_probe(struct nm_features *fs);

/* 0 if every required feature is there; else -ENOTSUP with a message that
 * lists what is missing. */
int nm_probe_require(const struct nm_features *fs);

#endif
