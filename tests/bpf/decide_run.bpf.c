// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The kernel's decision on demand, for tests/unit/test_decide.c: run with
 * BPF_PROG_TEST_RUN (any packet), it reads the policy record named in
 * nm_dr_in (nm_policy_read, the hooks' own checked copy), calls the hooks'
 * nm_decide (include/nomoat_decide.h over the maps) and leaves the answer in
 * nm_dr_out.  Its maps are nomoat's pinned ones (the test opens it with the
 * pin dir as pin root), so it sees exactly what the loaded programs see.
 */
#include "../../bpf/lib/decide.h"
#include "../../bpf/lib/policy.h"
#include "decide_run.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct nm_dr_in nm_dr_in = {};
struct nm_dr_out nm_dr_out = {};

SEC("tc")
int nm_decide_run(struct __sk_buff *skb)
{
	struct nm_decision d = {};
	struct nm_policy pol;
	struct nm_req rq = nm_dr_in.rq;

	(void)skb;
	nm_dr_out.runs++;
	if (!nm_policy_read(nm_dr_in.policy_id, &pol)) {
		nm_dr_out.read_ok = 0;
		return 0;
	}
	nm_decide(&pol, &rq, &d);
	nm_dr_out.d = d;
	nm_dr_out.read_ok = 1;
	nm_dr_out.verdict = nm_verdict_of(d.action, pol.mode);
	return 0;
}
