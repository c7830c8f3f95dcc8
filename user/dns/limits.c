// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * limits.c - what one sandbox (cgroup) may ask of the resolver: a token
 * bucket of queries a second (bursts of twice the rate), queries waiting on
 * upstream at once, and how many of its load refusals are logged a second
 * (the rest are counted).  A table of cgroups, open addressing, entries
 * idle for a minute reused.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dns.h"

#define LIM_CAP 4096 /* cgroups tracked at once (a power of two) */
#define LIM_IDLE_MS 60000

struct lim_ent {
	__u64 cgroup;        /* 0: free */
	double tokens;
	long long last_ms;   /* last refill */
	unsigned inflight;
	long long log_sec;
	unsigned logged;
};

struct nmd_limits {
	unsigned rate, inflight_cg;
	struct lim_ent v[LIM_CAP];
};

struct nmd_limits *nmd_limits_new(unsigned rate, unsigned inflight_cg)
{
	struct nmd_limits *l = calloc(1, sizeof(*l));

	if (l) {
		l->rate = rate;
		l->inflight_cg = inflight_cg;
	}
	return l;
}

/* The entry of cgroup: found, or a free or long idle one taken.  NULL when
 * the table is full of busy cgroups (the query is then judged by nobody's
 * bucket: let it through, it still counts toward the total). */
static struct lim_ent *ent(struct nmd_limits *l, __u64 cg, long long now)
{
	unsigned h = (unsigned)((cg * 0x9e3779b97f4a7c15ull) >> 52) & (LIM_CAP - 1);
	struct lim_ent *reuse = NULL;

	for (unsigned i = 0; i < 64; i++) {
		struct lim_ent *e = &l->v[(h + i) & (LIM_CAP - 1)];

		if (e->cgroup == cg)
			return e;
		if (!reuse && (!e->cgroup || (!e->inflight && now - e->last_ms > LIM_IDLE_MS)))
			reuse = e;
	}
	if (reuse) {
		memset(reuse, 0, sizeof(*reuse));
		reuse->cgroup = cg;
		reuse->tokens = 2.0 * l->rate;
		reuse->last_ms = now;
	}
	return reuse;
}

bool nmd_limits_rate(struct nmd_limits *l, __u64 cg, long long now)
{
	struct lim_ent *e = ent(l, cg, now);

	if (!e || !l->rate)
		return true;
	e->tokens += (double)(now - e->last_ms) * l->rate / 1000.0;
	if (e->tokens > 2.0 * l->rate)
		e->tokens = 2.0 * l->rate;
	e->last_ms = now;
	if (e->tokens < 1.0)
		return false;
	e->tokens -= 1.0;
	return true;
}

bool nmd_limits_take(struct nmd_limits *l, __u64 cg)
{
	struct lim_ent *e = ent(l, cg, nm_svc_now_ms());

	if (!e)
		return true;
	if (e->inflight >= l->inflight_cg)
		return false;
	e->inflight++;
	return true;
}

void nmd_limits_give(struct nmd_limits *l, __u64 cg)
{
	struct lim_ent *e = ent(l, cg, nm_svc_now_ms());

	if (e && e->inflight)
		e->inflight--;
}

bool nmd_limits_log_ok(struct nmd_limits *l, __u64 cg, long long now)
{
	struct lim_ent *e = ent(l, cg, now);

	if (!e)
		return false;
	if (e->log_sec != now / 1000) {
		e->log_sec = now / 1000;
		e->logged = 0;
	}
	return e->logged++ < NMD_EVENTS_PER_SEC;
}

void nmd_limits_free(struct nmd_limits *l)
{
	free(l);
}
