// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * failclosed.c - "no usable policy: deny, count, report", the same at every
 * hook (nm_fail_closed in bpf/lib/event.h).  Under the attach point:
 *
 *   - <base>/agents/unbound, no bound ancestor: a raw socket (sock_create)
 *     and a TCP connect (connect4) are refused; each adds one to
 *     no_policy_denials and to the deny count of row 0, and is reported
 *     with reason no-policy, policy id 0 and the process's pid;
 *   - <base>/agents/badpol, bound (straight in nm_bindings) to an id with
 *     no record: the same with bad_policy_denials, the deny count of that
 *     id's row and reason bad-policy.
 */
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "cases.h"
#include "harness.h"
#include "nomoat.h"
#include "parse.h"
#include "pins.h"
#include "policy.h"
#include "run.h"

#define FC_BADPOL "agents/badpol"
#define FC_BAD_ID 250 /* no policy has it: the test makes none that many */

enum fc_kind { FC_RAW, FC_CONNECT };

struct fc_res {
	int err;  /* errno of socket() (raw) or connect() */
	int pid;
};

struct fc_arg {
	enum fc_kind kind;
	int fd;
};

static int fc_child(void *p)
{
	const struct fc_arg *a = p;
	struct fc_res r = { 0, (int)getpid() };
	int s;

	if (a->kind == FC_RAW) {
		s = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_UDP);
	} else {
		struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(80) };

		inet_pton(AF_INET, NMT_NET4B, &sin.sin_addr);
		s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (s >= 0 && connect(s, (struct sockaddr *)&sin, sizeof(sin))) {
			close(s);
			s = -1;
		}
	}
	r.err = s < 0 ? errno : 0;
	if (s >= 0)
		close(s);
	return write(a->fd, &r, sizeof(r)) == sizeof(r) ? 0 : 1;
}

static bool fc_run(const char *rel, enum fc_kind kind, struct fc_res *r)
{
	struct fc_arg a = { kind, -1 };

	return nmt_child_result(rel, fc_child, &a, &a.fd, r, sizeof(*r));
}

struct fc_counts {
	unsigned long long gstat, row_deny;
};

static void fc_counts(const struct nm_maps *m, unsigned int gstat, __u32 id, struct fc_counts *c)
{
	c->gstat = nm_percpu_sum(m->gstats, gstat);
	c->row_deny = nm_percpu_sum(m->stats, id * NM_V__MAX + NM_V_DENY);
}

/* The event of pid among lines, with hook, reason and policy id. */
static bool fc_event(char **lines, int nl, int pid, const char *hook, const char *reason, __u32 id, char *why,
		     size_t len)
{
	char want[32], v[64];

	snprintf(want, sizeof(want), "%d", pid);
	for (int k = 0; k < nl; k++) {
		char idv[16];

		if (nmt_json_get(lines[k], "pid", v, sizeof(v)) || strcmp(v, want))
			continue;
		snprintf(idv, sizeof(idv), "%u", id);
		if (!nmt_json_get(lines[k], "hook", v, sizeof(v)) && !strcmp(v, hook) &&
		    !nmt_json_get(lines[k], "reason", v, sizeof(v)) && !strcmp(v, reason) &&
		    !nmt_json_get(lines[k], "verdict", v, sizeof(v)) && !strcmp(v, "deny") &&
		    !nmt_json_get(lines[k], "policy_id", v, sizeof(v)) && !strcmp(v, idv))
			return true;
		nmt_why_set(why, len, "the event of pid %d is not %s/%s/deny/policy %u: %s", pid, hook, reason, id,
			    nmt_oneline(lines[k]));
		return false;
	}
	nmt_why_set(why, len, "no event with pid %d among %d lines", pid, nl);
	return false;
}

/* One cgroup: a raw socket and a connect, each refused, counted once in
 * gstat and in row id, reported with reason. */
static void fc_cgroup(const struct nm_maps *m, const char *rel, unsigned int gstat, __u32 id, const char *reason)
{
	static const char *const hooks[2] = { "sock_create", "connect4" };
	static char out[1 << 18];
	char err[2048] = "", *lines[1024];
	struct fc_res r[2] = { { 0, 0 }, { 0, 0 } };
	bool ran[2] = { false, false };
	struct fc_counts before[2], after[2];
	int fd, efd, rc, nl = 0;
	pid_t pid;

	pid = nmt_cli_bg(&fd, &efd, "-j events --timeout 3");
	if (pid < 0) {
		nmt_verdict(false, "fail closed: events reader", "cannot start nomoat events: %s", strerror(-pid));
		return;
	}
	nmt_sleep_ms(700); /* let it open the ring buffer */
	for (int k = 0; k < 2; k++) {
		fc_counts(m, gstat, id, &before[k]);
		ran[k] = fc_run(rel, k == 0 ? FC_RAW : FC_CONNECT, &r[k]);
		fc_counts(m, gstat, id, &after[k]);
	}
	rc = nmt_cli_bg_end(pid, fd, efd, out, sizeof(out), err, sizeof(err), 6000);
	for (char *l = strtok(out, "\n"); l && nl < 1024; l = strtok(NULL, "\n"))
		lines[nl++] = l;
	for (int k = 0; k < 2; k++) {
		char desc[160], why[512] = "";

		snprintf(desc, sizeof(desc), "fail closed: %s in %s: EPERM, counted (%s, row %u), reported (%s)",
			 hooks[k], rel, nm_gstat_name(gstat), id, reason);
		if (!ran[k])
			nmt_why_set(why, sizeof(why), "the probe did not run");
		else if (r[k].err != EPERM)
			nmt_why_set(why, sizeof(why), "errno %d, expected EPERM", r[k].err);
		else if (after[k].gstat - before[k].gstat != 1)
			nmt_why_set(why, sizeof(why), "%s moved by %lld, expected 1", nm_gstat_name(gstat),
				    (long long)(after[k].gstat - before[k].gstat));
		else if (after[k].row_deny - before[k].row_deny != 1)
			nmt_why_set(why, sizeof(why), "deny count of row %u moved by %lld, expected 1", id,
				    (long long)(after[k].row_deny - before[k].row_deny));
		else if (rc != 0)
			nmt_why_set(why, sizeof(why), "`nomoat events` exit %d: %s", rc, nmt_oneline(err));
		else
			fc_event(lines, nl, r[k].pid, hooks[k], reason, id, why, sizeof(why));
		nmt_verdict(!*why, desc, "%s", why);
	}
}

void case_failclosed(void)
{
	char cgp[PATH_MAX];
	struct nm_maps m;
	__u64 cg;
	__u32 id = FC_BAD_ID;
	struct nm_policy none;

	if (nm_maps_open(nmt_h.pin_dir, &m)) {
		nmt_verdict(false, "fail closed: the pinned maps", "cannot open the maps in %s", nmt_h.pin_dir);
		return;
	}
	fc_cgroup(&m, "agents/unbound", NM_G_NO_POLICY, 0, "no-policy");

	nmt_cg_path(FC_BADPOL, cgp, sizeof(cgp));
	if (mkdir(cgp, 0755) && errno != EEXIST) {
		nmt_verdict(false, "fail closed: cgroup " FC_BADPOL, "mkdir: %s", strerror(errno));
		goto out;
	}
	cg = nmt_cg_id(FC_BADPOL);
	if (!bpf_map_lookup_elem(m.policies, &id, &none) || bpf_map_update_elem(m.bindings, &cg, &id, BPF_NOEXIST)) {
		nmt_verdict(false, "fail closed: bind " FC_BADPOL " to an id without a record",
			    "id %u has a record, or the binding failed: %s", id, strerror(errno));
	} else {
		nm_epoch_bump(&m);
		fc_cgroup(&m, FC_BADPOL, NM_G_BAD_POLICY, id, "bad-policy");
		bpf_map_delete_elem(m.bindings, &cg);
		nm_epoch_bump(&m);
	}
	rmdir(cgp);
out:
	nm_maps_close(&m);
}
