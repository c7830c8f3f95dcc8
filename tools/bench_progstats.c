// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * What the kernel programs cost one cycle: with the kernel's run-time
 * statistics on (BPF_ENABLE_STATS, held only while this runs), one more
 * batch of cycles from the bound client, and each pinned program's run
 * count and run time before and after.  Counts do not depend on the load
 * of the machine; times do less than a whole cycle's (they are the
 * programs' own, without the kernel's cost of calling them).  Not part of
 * the timed rounds: the statistics themselves cost two clock reads a run.
 */
#include "bench.h"
#include "progs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

#define PROGSTATS_TIME_MS 30000

_Static_assert(NM_PROG__MAX <= BENCH_PROGS, "BENCH_PROGS");

static int read_stats(const char *pin_dir, __u64 runs[NM_PROG__MAX], __u64 ns[NM_PROG__MAX])
{
	for (int i = 0; i < NM_PROG__MAX; i++) {
		struct bpf_prog_info info = { 0 };
		__u32 len = sizeof(info);
		char p[PATH_MAX];
		int fd, err;

		err = bench_pathf("progstats", p, sizeof(p), "%s/progs/%s", pin_dir, nm_progs[i].name);
		if (err)
			return err;
		fd = bpf_obj_get(p);
		if (fd < 0) {
			err = -errno;
			bench_err("progstats: %s: %s", p, strerror(errno));
			return err;
		}
		err = bpf_obj_get_info_by_fd(fd, &info, &len);
		close(fd);
		if (err) {
			bench_err("progstats: info of %s: %s", p, strerror(-err));
			return err;
		}
		runs[i] = info.run_cnt;
		ns[i] = info.run_time_ns;
	}
	return 0;
}

int bench_progstats_run(const char *pin_dir, struct bench_client *cl, uint32_t cycles,
			struct bench_progstats *out)
{
	__u64 runs0[NM_PROG__MAX], ns0[NM_PROG__MAX], runs1[NM_PROG__MAX], ns1[NM_PROG__MAX];
	struct bench_cmd c = { .kind = BC_CYCLES, .count = cycles, .time_ms = PROGSTATS_TIME_MS };
	struct bench_reply rep;
	int sfd, err;

	memset(out, 0, sizeof(*out));
	sfd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	if (sfd < 0) {
		bench_err("progstats: cannot enable BPF run-time statistics: %s", strerror(-sfd));
		return sfd;
	}
	err = read_stats(pin_dir, runs0, ns0);
	if (!err)
		err = bench_client_run(cl, &c, &rep, PROGSTATS_TIME_MS + 5000);
	if (!err)
		err = read_stats(pin_dir, runs1, ns1);
	close(sfd);
	if (err)
		return err;
	out->cycles = rep.done;
	for (int i = 0; i < NM_PROG__MAX; i++) {
		out->runs[i] = runs1[i] - runs0[i];
		out->ns[i] = ns1[i] - ns0[i];
	}
	out->measured = out->cycles > 0;
	return 0;
}

static double per(uint64_t v, uint64_t n)
{
	return n ? (double)v / n : 0;
}

void bench_progstats_print(const struct bench_progstats *s, size_t prefixes)
{
	uint64_t runs = 0, ns = 0;

	if (!s->measured)
		return;
	printf("\nprograms per cycle, %zu prefixes (%llu cycles, BPF run-time statistics on):\n", prefixes,
	       (unsigned long long)s->cycles);
	printf("  %-16s %10s %10s %10s\n", "program", "runs", "ns/run", "ns/cycle");
	for (int i = 0; i < NM_PROG__MAX; i++) {
		if (!s->runs[i])
			continue;
		printf("  %-16s %10.2f %10.1f %10.1f\n", nm_progs[i].name, per(s->runs[i], s->cycles),
		       per(s->ns[i], s->runs[i]), per(s->ns[i], s->cycles));
		runs += s->runs[i];
		ns += s->ns[i];
	}
	printf("  %-16s %10.2f %10s %10.1f\n", "all", per(runs, s->cycles), "", per(ns, s->cycles));
}

void bench_progstats_summary(const struct bench_progstats *s, size_t prefixes)
{
	uint64_t runs = 0, ns = 0;

	if (!s->measured)
		return;
	printf("summary progs prefixes=%zu cycles=%llu", prefixes, (unsigned long long)s->cycles);
	for (int i = 0; i < NM_PROG__MAX; i++) {
		if (!s->runs[i])
			continue;
		printf(" %s_runs=%.2f %s_ns=%.1f", nm_progs[i].name, per(s->runs[i], s->cycles),
		       nm_progs[i].name, per(s->ns[i], s->cycles));
		runs += s->runs[i];
		ns += s->ns[i];
	}
	printf(" runs_per_cycle=%.2f ns_per_cycle=%.1f\n", per(runs, s->cycles), per(ns, s->cycles));
}
