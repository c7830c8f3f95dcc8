// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * nomoat-bench: reloading a live policy.
 *
 *  1. Reload time: a policy of N random IPv4 prefixes, bound to the bench's
 *     app cgroup, has its rules (a new random set of N) and its settings
 *     (the events level) replaced atomically, in the library's two phases:
 *     nm_policy_stage (new tables built aside), nm_policy_commit (one record
 *     update: from here on the new rules are live), nm_policy_finish (waits
 *     NM_REPLACE_GRACE_MS, then frees the old tables).  Right after commit
 *     (untimed) the record and one rule of the new set are checked live.
 *
 *  2. Stalls: a client in the bound cgroup runs loopback connect+close
 *     cycles back to back and keeps every cycle's time while the largest
 *     policy is replaced once more.  Compared: the cycles during the reload
 *     (stage to end of finish), in the 2 s after it (the kernel frees the
 *     old tables after RCU grace periods), and a window with no reload of
 *     the reload's own length taken after that.  The reload runs pinned to
 *     the client's CPU (a kernel section that does not yield would then hold
 *     the client off for its whole length) and to another CPU (only
 *     contention across CPUs shows).  Meanwhile a probe thread on every
 *     CPU (SCHED_FIFO when allowed) sleeps 1 ms at a time and keeps how late
 *     it woke: a CPU held by a kernel section that does not yield shows up
 *     there, whichever CPU it is.
 */
#include "bench.h"
#include "err.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define RELOAD_POLICY   "bench-reload"
#define STALL_SETTLE_MS 500    /* client running before the reload starts */
#define STALL_AFTER_MS  2000   /* the "after" window */
#define STALL_GAP_MS    200    /* before the baseline window */
#define STALL_BOUND_MS  120000 /* the client's own bound on a window */
#define STALL_CAP       (1u << 22) /* samples: > 2 min of 30 us cycles */
#define STALL_WARMUP    200
#define PROBE_SLEEP_NS  1000000u   /* a probe sleeps 1 ms at a time */
#define PROBE_CAP       (1u << 18) /* wake-ups kept per CPU: > 4 min */

int bench_cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

double bench_median(double *v, int n)
{
	/* insertion sort: a handful of rounds */
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && v[j] < v[j - 1]; j--) {
			double t = v[j];

			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	return n ? (n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2) : 0;
}

uint32_t bench_pct(const uint32_t *sorted, size_t n, double q)
{
	size_t k;

	if (!n)
		return 0;
	/* nearest rank: the smallest value with at least q of all at or below */
	k = (size_t)(q * n + 0.999999);
	return sorted[k ? (k > n ? n - 1 : k - 1) : 0];
}

/* ---- one replace ------------------------------------------------------- */

struct reload_set {
	struct nm_cidr *v;
	struct nm_ruleset rs;
	bool have_rs;
};

static void set_free(struct reload_set *s)
{
	if (s->have_rs)
		nm_ruleset_free(&s->rs);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

static int set_make(struct bench_rng *rng, size_t n, struct reload_set *s)
{
	int err;

	memset(s, 0, sizeof(*s));
	err = bench_prefixes(4, n, rng, &s->v);
	if (!err)
		err = bench_ruleset(s->v, n, &s->rs);
	s->have_rs = !err;
	if (err)
		set_free(s);
	return err;
}

static void reload_policy(struct nm_policy *p, __u8 events)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "%s", RELOAD_POLICY);
	p->default_action = NM_ACT_DENY;
	p->mode = NM_MODE_ENFORCE;
	p->events = events;
}

/* Is what commit wrote what the kernel now reads: the record (new table
 * slot, new settings), and a rule of the new set in the live table? */
static bool check_live(const struct nm_maps *m, const struct nm_staged *st, const struct nm_cidr *probe)
{
	struct nm_cidr dst = *probe;
	struct nm_policy cur;
	struct nm_check out;

	if (nm_policy_get(m, st->rec.id, &cur) || cur.gen != st->rec.gen || cur.events != st->rec.events)
		return false;
	dst.prefixlen = 32;
	dst.port = 80;
	if (nm_check(m, st->rec.id, &dst, IPPROTO_TCP, &out)) {
		nm_err_clear();
		return false;
	}
	/* the probe's own prefix is in the table: the longest match is it or
	 * a more specific one of the same set */
	return out.has_rule && out.rule.prefixlen >= probe->prefixlen && out.verdict == NM_V_DENY;
}

struct replace_times {
	uint64_t t0, t_staged, t_committed, t_finish0, t_done;
};

/* Replace the live policy's rules with s and its events level with events,
 * in the two phases, timing each; *live from check_live (skipped if NULL,
 * so that nothing sits between commit and finish). */
static int replace_once(const struct nm_maps *m, const struct reload_set *s, __u8 events,
			struct replace_times *t, bool *live)
{
	struct nm_policy p;
	struct nm_staged st;
	int err;

	reload_policy(&p, events);
	t->t0 = bench_now_ns();
	err = nm_policy_stage(m, &p, &s->rs, &st);
	t->t_staged = bench_now_ns();
	if (err) {
		bench_err("staging %s: %s", RELOAD_POLICY, nm_err_msg());
		return err;
	}
	err = nm_policy_commit(m, &st);
	t->t_committed = bench_now_ns();
	if (err) {
		bench_err("committing %s: %s", RELOAD_POLICY, nm_err_msg());
		nm_policy_abort(m, &st);
		return err;
	}
	if (live)
		*live = check_live(m, &st, &s->v[0]);
	t->t_finish0 = bench_now_ns();
	nm_policy_finish(m, &st, 1);
	t->t_done = bench_now_ns();
	return 0;
}

static double ms_between(uint64_t a, uint64_t b)
{
	return (b - a) / 1e6;
}

/* ---- stalls ------------------------------------------------------------ */

static int pin_self(int cpu, cpu_set_t *old)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(*old), old))
		return -errno;
	if (cpu < 0)
		return 0;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) ? -errno : 0;
}

static void win_stats(struct bench_stall_win *w, uint32_t *tmp, size_t n, double secs)
{
	w->secs = secs;
	w->cycles = n;
	if (!n)
		return;
	qsort(tmp, n, sizeof(*tmp), bench_cmp_u32);
	w->med_us = bench_pct(tmp, n, 0.5) / 1e3;
	w->p999_us = bench_pct(tmp, n, 0.999) / 1e3;
	w->max_us = tmp[n - 1] / 1e3;
	w->over_1ms = 0;
	for (size_t i = n; i-- > 0 && tmp[i] > 1000000;)
		w->over_1ms++;
}

/* Every cycle that overlaps [w0, w1) belongs to that window. */
static int analyse(const struct bench_client *c, const struct bench_reply *rep, const uint64_t win[BW__MAX][2],
		   uint64_t t_ref, struct bench_stall_row *row)
{
	size_t n = rep->done;
	uint32_t *tmp = malloc((n ? n : 1) * sizeof(*tmp));
	uint64_t last_end = rep->start_ns;

	if (!tmp) {
		bench_err("out of memory for %zu samples", n);
		return -ENOMEM;
	}
	for (int k = 0; k < BW__MAX; k++) {
		uint64_t e = rep->start_ns, max_end = 0;
		uint32_t max = 0;
		size_t m = 0;

		for (size_t i = 0; i < n; i++) {
			uint64_t s = e;

			e += c->samples[i];
			if (s >= win[k][1] || e <= win[k][0])
				continue;
			tmp[m++] = c->samples[i];
			if (c->samples[i] >= max) {
				max = c->samples[i];
				max_end = e;
			}
		}
		last_end = e;
		win_stats(&row->w[k], tmp, m, (win[k][1] - win[k][0]) / 1e9);
		row->w[k].max_at_ms = m ? ((double)max_end - (double)t_ref) / 1e6 : 0;
	}
	free(tmp);
	/* The longest cycles (over 10 ms), in time order: the top ones by
	 * length when there are more than fit. */
	row->nlong = row->nlong_all = 0;
	{
		uint64_t e = rep->start_ns;

		for (size_t i = 0; i < n; i++) {
			uint32_t d = c->samples[i];
			size_t k, lo = 0;

			e += d;
			if (d <= 10000000)
				continue;
			row->nlong_all++;
			if (row->nlong == BENCH_STALL_LONGEST) {
				for (k = 1; k < row->nlong; k++)
					if (row->longest[k].len_ms < row->longest[lo].len_ms)
						lo = k;
				if (row->longest[lo].len_ms >= d / 1e6)
					continue;
				memmove(&row->longest[lo], &row->longest[lo + 1],
					(row->nlong - lo - 1) * sizeof(row->longest[0]));
				row->nlong--;
			}
			row->longest[row->nlong].at_ms = ((double)(e - d) - (double)t_ref) / 1e6;
			row->longest[row->nlong].len_ms = d / 1e6;
			row->nlong++;
		}
	}
	/* The client stopped early (time bound, full buffer): say so. */
	row->partial = n == 0 || last_end < win[BW_BASE][1];
	return 0;
}

static int wait_ms(int ms)
{
	uint64_t end = bench_now_ns() + ms * 1000000ull;

	/* nanosleep returns early on a signal: sleep again unless stopping */
	while (!bench_stop && bench_now_ns() < end) {
		uint64_t left = end - bench_now_ns();

		bench_sleep_ms(left > 1000000 ? (int)(left / 1000000) : 1);
	}
	return bench_stop ? -EINTR : 0;
}

static bool reply_ready(const struct bench_client *c)
{
	struct pollfd pfd = { .fd = c->reply_fd, .events = POLLIN };

	return poll(&pfd, 1, 0) == 1;
}

/* ---- wake-up probes ----------------------------------------------------- */

struct probe {
	pthread_t th;
	int cpu;
	bool started, fifo;
	const uint32_t *stop;
	uint64_t *end;  /* when it woke */
	uint32_t *late; /* how late, ns */
	size_t n;
};

struct probes {
	struct probe p[BENCH_STALL_CPUS];
	int n;
	uint32_t stop;
};

static void *probe_main(void *arg)
{
	struct probe *p = arg;
	struct sched_param sp = { .sched_priority = 1 };
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(p->cpu, &set);
	if (pthread_setaffinity_np(pthread_self(), sizeof(set), &set))
		return NULL;
	p->fifo = pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp) == 0;
	while (p->n < PROBE_CAP && !__atomic_load_n(p->stop, __ATOMIC_RELAXED)) {
		struct timespec ts = { 0, PROBE_SLEEP_NS };
		uint64_t t0 = bench_now_ns(), t1, d;

		clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL);
		t1 = bench_now_ns();
		d = t1 - t0 > PROBE_SLEEP_NS ? t1 - t0 - PROBE_SLEEP_NS : 0;
		p->end[p->n] = t1;
		p->late[p->n] = d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
		p->n++;
	}
	return NULL;
}

static void probes_stop(struct probes *ps)
{
	__atomic_store_n(&ps->stop, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < ps->n; i++)
		if (ps->p[i].started)
			pthread_join(ps->p[i].th, NULL);
}

static void probes_free(struct probes *ps)
{
	probes_stop(ps);
	for (int i = 0; i < ps->n; i++) {
		free(ps->p[i].end);
		free(ps->p[i].late);
	}
	ps->n = 0;
}

/* One probe per online CPU (the first BENCH_STALL_CPUS); signals stay
 * with the main thread. */
static int probes_start(struct probes *ps)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	sigset_t block, old;
	int err = 0;

	memset(ps, 0, sizeof(*ps));
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	for (int cpu = 0; cpu < ncpu && cpu < BENCH_STALL_CPUS && !err; cpu++) {
		struct probe *p = &ps->p[ps->n++];

		p->cpu = cpu;
		p->stop = &ps->stop;
		p->end = malloc(PROBE_CAP * sizeof(*p->end));
		p->late = malloc(PROBE_CAP * sizeof(*p->late));
		if (!p->end || !p->late)
			err = -ENOMEM;
		else if ((err = -pthread_create(&p->th, NULL, probe_main, p)) == 0)
			p->started = true;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		bench_err("cannot start the wake-up probes: %s", strerror(-err));
		probes_free(ps);
	}
	return err;
}

static void probes_analyse(const struct probes *ps, const uint64_t win[BW__MAX][2], uint64_t t_ref,
			   struct bench_stall_row *row)
{
	row->nprobe = ps->n;
	row->probe_fifo = ps->n > 0;
	for (int i = 0; i < ps->n; i++) {
		const struct probe *p = &ps->p[i];

		row->probe_fifo &= p->fifo;
		for (int k = 0; k < BW__MAX; k++) {
			uint64_t at = 0;
			uint32_t max = 0;

			for (size_t j = 0; j < p->n; j++) {
				uint64_t s = p->end[j] - p->late[j] - PROBE_SLEEP_NS;

				if (s < win[k][1] && p->end[j] > win[k][0] && p->late[j] > max) {
					max = p->late[j];
					at = p->end[j];
				}
			}
			row->w[k].late_max_us[i] = max / 1e3;
			row->w[k].late_at_ms[i] = max ? ((double)at - (double)t_ref) / 1e6 : 0;
		}
	}
}

/* The client runs a window; the reload happens inside it, pinned to cpu. */
static int stall_once(const struct bench_env *e, struct bench_reload *r, struct bench_stall_row *row,
		      const struct reload_set *s, __u8 events)
{
	struct bench_cmd cmd = { .kind = BC_WINDOW, .warmup = STALL_WARMUP, .time_ms = STALL_BOUND_MS };
	struct bench_client *c = &r->cl;
	struct replace_times t = { 0 };
	struct bench_reply rep = { 0 };
	uint64_t win[BW__MAX][2] = { { 0 } }, d = 0;
	struct probes ps;
	cpu_set_t old;
	int err, err2;

	err = probes_start(&ps);
	if (err)
		return err;
	__atomic_store_n(c->stop, 0, __ATOMIC_RELAXED);
	err = bench_client_send(c, &cmd);
	if (err) {
		probes_free(&ps);
		return err;
	}
	err = wait_ms(STALL_SETTLE_MS);
	if (!err && reply_ready(c)) {
		err = -EIO; /* ended already: its reply tells why */
	}
	if (!err) {
		err = pin_self(row->cpu, &old);
		if (err)
			bench_err("cannot pin the reload to CPU %d: %s", row->cpu, strerror(-err));
	}
	if (!err) {
		err = replace_once(e->maps, s, events, &t, NULL);
		sched_setaffinity(0, sizeof(old), &old);
	}
	if (!err) {
		row->stage_ms = ms_between(t.t0, t.t_staged);
		row->commit_ms = ms_between(t.t_staged, t.t_committed);
		row->finish_ms = ms_between(t.t_finish0, t.t_done);
		d = t.t_done - t.t0;
		win[BW_RELOAD][0] = t.t0;
		win[BW_RELOAD][1] = t.t_done;
		err = wait_ms(STALL_AFTER_MS);
		win[BW_AFTER][0] = t.t_done;
		win[BW_AFTER][1] = bench_now_ns();
	}
	if (!err)
		err = wait_ms(STALL_GAP_MS);
	if (!err) {
		win[BW_BASE][0] = bench_now_ns();
		win[BW_BASE][1] = win[BW_BASE][0] + d;
		err = wait_ms((int)(d / 1000000) + 1);
	}
	/* Whatever happened: stop the client and take its answer. */
	__atomic_store_n(c->stop, 1, __ATOMIC_RELAXED);
	probes_stop(&ps);
	err2 = bench_client_wait(c, &rep, 10000);
	if (!err2 && rep.err) {
		err2 = rep.err;
		bench_err("client %s: %s: %s", c->name, bench_stage_name(rep.stage), strerror(-err2));
	}
	if (err == -EIO && !err2) {
		bench_err("client %s ended before the reload", c->name);
		err2 = -EIO;
	}
	if (err2 && err != -EINTR)
		err = err2;
	if (!err) {
		err = analyse(c, &rep, win, t.t0, row);
		probes_analyse(&ps, win, t.t0, row);
	}
	probes_free(&ps);
	row->measured = !err;
	return err;
}

/* Where the reload runs: on the client's CPU and on another one, or
 * unpinned when the client is not pinned. */
static void plan_stalls(const struct bench_env *e, struct bench_reload *r, size_t n)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	struct bench_stall_row *s = r->stall;

	r->nstall = 0;
	if (e->cpu_cl < 0) {
		s[r->nstall++] = (struct bench_stall_row){ .n = n, .cpu = -1, .where = "any CPU" };
		return;
	}
	s[r->nstall++] = (struct bench_stall_row){ .n = n, .cpu = e->cpu_cl, .where = "client's CPU" };
	for (int cpu = 0; cpu < ncpu && cpu < CPU_SETSIZE; cpu++) {
		if (cpu == e->cpu_cl)
			continue;
		s[r->nstall++] = (struct bench_stall_row){ .n = n, .cpu = cpu, .where = "other CPU" };
		break;
	}
}

/* ---- the part ---------------------------------------------------------- */

static const __u8 ev_levels[2] = { NM_EV_DENY, NM_EV_REDIRECT };

static int reload_size(const struct bench_env *e, struct bench_reload *r, struct bench_reload_row *row,
		       bool stall)
{
	struct reload_set set[2];
	struct nm_policy p;
	bool live, bound = false, made = false;
	__u32 id;
	uint64_t t0;
	unsigned k = 0;
	int err;

	fprintf(stderr, "  reload %zu prefixes: %u replaces%s\n", row->n, row->reps,
		stall ? ", then the stall client" : "");
	memset(set, 0, sizeof(set));
	err = set_make(e->rng, row->n, &set[0]);
	if (!err)
		err = set_make(e->rng, row->n, &set[1]);
	if (err)
		goto out;
	reload_policy(&p, ev_levels[0]);
	t0 = bench_now_ns();
	err = nm_policy_create(e->maps, &p, &set[0].rs, &id);
	row->create_ms = ms_between(t0, bench_now_ns());
	if (err) {
		bench_err("creating %s with %zu rules: %s", RELOAD_POLICY, row->n + 1, nm_err_msg());
		goto out;
	}
	made = true;
	err = nm_bind(e->maps, e->app_cgid, id);
	if (err) {
		bench_err("binding %s: %s", e->cg_app, nm_err_msg());
		goto out;
	}
	bound = true;
	/* Set 0 is live: replace with 1, 0, 1, ... */
	for (; row->done < row->reps; row->done++) {
		struct replace_times t;

		k ^= 1;
		if ((err = bench_time_left(e->deadline)))
			goto out;
		err = replace_once(e->maps, &set[k], ev_levels[k], &t, &live);
		if (err)
			goto out;
		row->stage_ms[row->done] = ms_between(t.t0, t.t_staged);
		row->commit_ms[row->done] = ms_between(t.t_staged, t.t_committed);
		row->finish_ms[row->done] = ms_between(t.t_finish0, t.t_done);
		row->live += live;
	}
	for (size_t i = 0; stall && i < r->nstall; i++) {
		fprintf(stderr, "  stalls: reload of %zu prefixes on %s%s\n", row->n, r->stall[i].where,
			r->stall[i].cpu >= 0 ? "" : " (not pinned)");
		k ^= 1;
		if ((err = bench_time_left(e->deadline)))
			goto out;
		err = stall_once(e, r, &r->stall[i], &set[k], ev_levels[k]);
		if (err)
			goto out;
	}
out:
	if (bound && nm_unbind(e->maps, e->app_cgid))
		bench_err("unbinding %s: %s", e->cg_app, nm_err_msg());
	if (made && nm_policy_delete(e->maps, RELOAD_POLICY))
		bench_err("deleting policy %s: %s", RELOAD_POLICY, nm_err_msg());
	set_free(&set[0]);
	set_free(&set[1]);
	return err;
}

int bench_reload_run(const struct bench_env *e, struct bench_reload *r, bool stall)
{
	static const struct {
		size_t n;
		unsigned reps;
		bool full_only;
	} plan[] = {
		{ 1000, 7, false },
		{ 100000, 5, false },
		{ 1000000, 3, true },
	};
	size_t last;
	int err = 0;

	r->nrows = 0;
	for (size_t i = 0; i < sizeof(plan) / sizeof(plan[0]) && r->nrows < BENCH_RELOAD_SIZES; i++) {
		if (plan[i].full_only && e->quick)
			continue;
		r->rows[r->nrows++] = (struct bench_reload_row){ .n = plan[i].n, .reps = plan[i].reps };
	}
	last = r->nrows - 1;
	if (stall) {
		err = bench_client_start(&r->cl, "stall", e->cg_app, e->ns, e->cpu_cl, &e->srv, STALL_CAP);
		if (err)
			return err;
		plan_stalls(e, r, r->rows[last].n);
	}
	for (size_t i = 0; i < r->nrows && !err; i++) {
		err = bench_time_left(e->deadline);
		if (!err)
			err = reload_size(e, r, &r->rows[i], stall && i == last);
	}
	bench_client_free(&r->cl);
	return err;
}

void bench_reload_free(struct bench_reload *r)
{
	bench_client_free(&r->cl);
}

/* ---- output ------------------------------------------------------------ */

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

struct spread {
	double med, min, max;
};

static struct spread spread_of(const double *v, size_t n)
{
	double t[BENCH_RELOAD_REPS];
	struct spread s = { 0, 0, 0 };

	if (!n)
		return s;
	memcpy(t, v, n * sizeof(*v));
	qsort(t, n, sizeof(*t), cmp_dbl);
	s.med = n % 2 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2;
	s.min = t[0];
	s.max = t[n - 1];
	return s;
}

/* to-commit (stage + commit) and total of each rep */
static void row_sums(const struct bench_reload_row *row, double *to_commit, double *total)
{
	for (unsigned i = 0; i < row->done; i++) {
		to_commit[i] = row->stage_ms[i] + row->commit_ms[i];
		total[i] = to_commit[i] + row->finish_ms[i];
	}
}

static void print_reload_rows(const struct bench_reload *r)
{
	printf("\nreload: atomic replace of a live policy bound to the app cgroup: all its rules (a new random set\n"
	       "of the same size) and its settings (events level); nm_policy_stage builds the new tables aside,\n"
	       "nm_policy_commit swaps the record (the new rules are live from here), nm_policy_finish waits\n"
	       "NM_REPLACE_GRACE_MS = %d ms and frees the old tables; medians over the replaces (min..max):\n",
	       NM_REPLACE_GRACE_MS);
	printf("  %9s %5s %10s %10s %10s %21s %10s %21s %6s\n", "prefixes", "reps", "create_ms", "stage_ms",
	       "commit_ms", "to_commit_ms", "finish_ms", "total_ms", "live");
	for (size_t i = 0; i < r->nrows; i++) {
		const struct bench_reload_row *row = &r->rows[i];
		double tc[BENCH_RELOAD_REPS], tt[BENCH_RELOAD_REPS];
		struct spread st, cm, fi, c, t;
		char a[32], b[32];

		if (!row->done) {
			printf("  %9zu %5u %10s\n", row->n, 0u, row->create_ms > 0 ? "(failed)" : "-");
			continue;
		}
		row_sums(row, tc, tt);
		st = spread_of(row->stage_ms, row->done);
		cm = spread_of(row->commit_ms, row->done);
		fi = spread_of(row->finish_ms, row->done);
		c = spread_of(tc, row->done);
		t = spread_of(tt, row->done);
		snprintf(a, sizeof(a), "%.1f (%.1f..%.1f)", c.med, c.min, c.max);
		snprintf(b, sizeof(b), "%.1f (%.1f..%.1f)", t.med, t.min, t.max);
		printf("  %9zu %5u %10.1f %10.1f %10.3f %21s %10.1f %21s %3u/%-2u\n", row->n, row->done, row->create_ms,
		       st.med, cm.med, a, fi.med, b, row->live, row->done);
	}
	printf("  (live: the new record and a rule of the new set were read back right after commit)\n");
}

static void print_stalls(const struct bench_reload *r)
{
	static const char *const win_names[BW__MAX] = { "no reload", "reload", "after" };
	bool any = false;

	for (size_t i = 0; i < r->nstall; i++)
		any |= r->stall[i].measured;
	if (!any)
		return;
	printf("\nconnect stalls during a reload of %zu prefixes: a client in the bound cgroup makes TCP\n"
	       "connect+close cycles to 127.0.0.1 back to back (as the table's cycles, same CPU pinning) and\n"
	       "every cycle's time is kept; the reload (as above) runs %s;\n"
	       "windows: 'reload' from stage to the end of finish, 'after' the %.0f s after it (the kernel\n"
	       "frees the old tables), then, %.1f s later, 'no reload': as long as 'reload', nothing running;\n"
	       "a cycle counts in every window it overlaps.\n"
	       "target: loading a policy with 1M prefixes never stalls a CPU (shown, not asserted)\n",
	       r->stall[0].n,
	       r->stall[0].cpu >= 0 ? "pinned to the client's CPU, then to another one" : "unpinned (so is the client)",
	       STALL_AFTER_MS / 1e3, STALL_GAP_MS / 1e3);
	for (size_t i = 0; i < r->nstall; i++) {
		const struct bench_stall_row *s = &r->stall[i];

		if (!s->measured)
			continue;
		if (s->cpu >= 0)
			printf("  reload on CPU %d (%s):", s->cpu, s->where);
		else
			printf("  reload not pinned:");
		printf(" stage %.1f ms, commit %.3f ms, finish %.1f ms\n", s->stage_ms, s->commit_ms, s->finish_ms);
		printf("    %-10s %6s %8s %10s %10s %10s %6s %10s   %s\n", "window", "secs", "cycles", "median_us",
		       "p99.9_us", "max_us", ">1ms", "max_at_ms", "wake-up late max, us per CPU");
		for (int k = 0; k < BW__MAX; k++) {
			const struct bench_stall_win *w = &s->w[k];

			printf("    %-10s %6.2f %8zu %10.2f %10.2f %10.2f %6zu %+10.0f  ", win_names[k], w->secs,
			       w->cycles, w->med_us, w->p999_us, w->max_us, w->over_1ms, w->max_at_ms);
			for (int c = 0; c < s->nprobe; c++) {
				printf(" cpu%d %.0f", c, w->late_max_us[c]);
				if (w->late_max_us[c] > 10000)
					printf(" (woke %+.0f)", w->late_at_ms[c]);
			}
			printf("\n");
		}
		if (s->nlong_all) {
			printf("    cycles over 10 ms (start, ms from the reload's start: length ms):");
			for (size_t j = 0; j < s->nlong; j++)
				printf("%s %+.0f: %.1f", j ? "," : "", s->longest[j].at_ms, s->longest[j].len_ms);
			if (s->nlong_all > s->nlong)
				printf(" (the %zu longest of %zu)", s->nlong, s->nlong_all);
			printf("\n");
		} else {
			printf("    no cycle over 10 ms\n");
		}
		if (s->partial)
			printf("    (the client stopped before the windows ended: figures are partial)\n");
	}
	printf("  (max_at_ms: when the longest cycle of the window ended, from the start of the reload;\n"
	       "   wake-up late: a probe thread on each CPU (%s) sleeps 1 ms again and again: the most\n"
	       "   it woke late in the window, per CPU, and when, if over 10 ms)\n", r->stall[0].probe_fifo ? "SCHED_FIFO" : "SCHED_OTHER");
}

void bench_reload_print(const struct bench_reload *r)
{
	if (!r->nrows)
		return;
	print_reload_rows(r);
	print_stalls(r);
}

void bench_reload_summary(const struct bench_reload *r)
{
	for (size_t i = 0; i < r->nrows; i++) {
		const struct bench_reload_row *row = &r->rows[i];
		double tc[BENCH_RELOAD_REPS], tt[BENCH_RELOAD_REPS];
		struct spread c, t;

		if (!row->done)
			continue;
		row_sums(row, tc, tt);
		c = spread_of(tc, row->done);
		t = spread_of(tt, row->done);
		printf("summary reload prefixes=%zu reps=%u create_ms=%.1f", row->n, row->done, row->create_ms);
		/* issue 11: stage+commit of a million prefixes within a second */
		if (row->n >= 1000000)
			bench_print_target("reload_ms", c.med, 2, "<=1000");
		printf(" to_commit_ms=%.2f total_ms=%.2f to_commit_max_ms=%.2f total_max_ms=%.2f live=%u/%u", c.med,
		       t.med, c.max, t.max, row->live, row->done);
		printf(" stage_ms=");
		for (unsigned k = 0; k < row->done; k++)
			printf("%s%.2f", k ? "," : "", row->stage_ms[k]);
		printf(" commit_ms=");
		for (unsigned k = 0; k < row->done; k++)
			printf("%s%.3f", k ? "," : "", row->commit_ms[k]);
		printf(" finish_ms=");
		for (unsigned k = 0; k < row->done; k++)
			printf("%s%.2f", k ? "," : "", row->finish_ms[k]);
		printf("\n");
	}
	for (size_t i = 0; i < r->nstall; i++) {
		const struct bench_stall_row *s = &r->stall[i];
		static const char *const keys[BW__MAX] = { "base", "reload", "after" };

		if (!s->measured)
			continue;
		printf("summary stall prefixes=%zu reload_cpu=%d where=%s stage_ms=%.1f commit_ms=%.3f finish_ms=%.1f",
		       s->n, s->cpu, s->cpu < 0 ? "any" : s->cpu == r->stall[0].cpu ? "client" : "other", s->stage_ms,
		       s->commit_ms, s->finish_ms);
		/* issue 11: no connect stalled over 5 ms during a reload (or
		 * while the old tables are freed after it) */
		bench_print_target("stall_max_ms",
				   (s->w[BW_RELOAD].max_us > s->w[BW_AFTER].max_us ? s->w[BW_RELOAD].max_us
										    : s->w[BW_AFTER].max_us) / 1e3,
				   2, "<=5");
		for (int k = 0; k < BW__MAX; k++) {
			printf(" %s_secs=%.3f %s_cycles=%zu %s_med_us=%.2f %s_p999_us=%.2f %s_max_us=%.2f %s_over_1ms=%zu",
			       keys[k], s->w[k].secs, keys[k], s->w[k].cycles, keys[k], s->w[k].med_us, keys[k],
			       s->w[k].p999_us, keys[k], s->w[k].max_us, keys[k], s->w[k].over_1ms);
			printf(" %s_late_max_us=", keys[k]);
			for (int c = 0; c < s->nprobe; c++)
				printf("%s%.0f", c ? "," : "", s->w[k].late_max_us[c]);
		}
		printf("%s\n", s->partial ? " partial=1" : "");
	}
}
