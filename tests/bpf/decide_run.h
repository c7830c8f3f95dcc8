/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The question and answer of tests/bpf/decide_run.bpf.c (its global data),
 * for the program and for tests/unit/test_decide.c. */
#ifndef NMT_DECIDE_RUN_H
#define NMT_DECIDE_RUN_H

#include "nomoat_decide.h"

struct nm_dr_in {
	__u32 policy_id;
	__u32 _pad;
	struct nm_req rq;
};

struct nm_dr_out {
	struct nm_decision d;
	__u8  read_ok; /* the record was read whole (nm_policy_read) */
	__u8  verdict; /* nm_verdict_of(action, the policy's mode) */
	__u16 _pad;
	__u32 runs;    /* times the program ran */
};

#endif
