// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * nomoat-bench: figures, not a test.
 *
 *  1. load time of N random prefixes into a fresh policy (IPv4, IPv6);
 *  2. the cost of a loopback TCP connect+accept+close cycle from a cgroup
 *     under a nomoat attach point whose policy holds N prefixes, against the
 *     same cycle from an unattached cgroup (the floor) and against nftables
 *     holding the same prefixes in an interval set (its own netns), measured
 *     in alternating rounds;
 *  3. the event rate a ring-buffer consumer sustains, and the drops;
 *  4. reload time of a live, bound policy of N prefixes (bench_reload.c);
 *  5. the longest connect stall during a reload of the largest (ditto);
 *  6. events per second nomoatd delivers to its JSON clients, and drops,
 *     on a pin dir of its own (bench_daemon.c);
 *  7. the packet backstop, the egress proxy (bench_backstop.c,
 *     bench_proxy.c) and the resolver nomoat-dns (bench_dns.c).
 *
 * Everything lives in a private pin dir, cgroups under <cgroup2>/
 * nomoat-bench-<pid> and netns nmbench-<pid>-{nm,nft}; all of it is removed
 * at the end, after a failure too, and on SIGINT/SIGTERM/SIGHUP.
 */
#include "bench.h"
#include "pins.h"
#include "cgroup.h"
#include "err.h"
#include "loader.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include <bpf/libbpf.h>

#define MAX_ROUNDS       99
#define MAX_ROWS         16
#define BUDGET_S         300   /* no new measurement starts after this */
#define CYCLE_TIME_MS    30000 /* bound on one round of one mode */
#define NFT_LOAD_TIME_MS 120000

enum bench_mode { BM_FLOOR, BM_NOMOAT, BM_NFT, BM__MAX };

/* The parts, in the order they run (-P picks some). */
enum bench_part { BP_TABLES, BP_EVENTS, BP_RELOAD, BP_STALL, BP_DAEMON, BP_BACKSTOP, BP_PROXY, BP_DNS, BP__MAX };

static const char *const part_names[BP__MAX] = { "tables", "events", "reload", "stall", "daemon", "backstop",
						 "proxy", "dns" };

/* Where client and server run: one CPU (the loopback handshake then needs
 * no cross-CPU wake-up, the steadiest figure in a VM), one each, or free. */
enum pin_mode { PIN_SAME, PIN_SPLIT, PIN_NONE };

static const char *const pin_names[] = { "same", "split", "none" };
static const char *const pin_text[] = {
	"client and server on CPU 0", "server on CPU 0, client on CPU 1", "none",
};

static const char *const mode_names[BM__MAX] = { "floor", "nomoat", "nft" };

struct row {
	size_t n;
	int family;
	const char *tgt_load, *tgt_floor, *tgt_nft; /* shown, never asserted */
	bool loaded, measured;
	double load_ms, nft_load_ms;
	size_t nft_ranges;
	double med_us[BM__MAX], p90_us[BM__MAX];
	double round_us[BM__MAX][MAX_ROUNDS];
	uint64_t allows, allows_want;
	struct bench_progstats progs; /* rows with a floor target */
};

struct bench {
	/* options */
	unsigned rounds, cycles, warmup, event_ms;
	uint64_t seed;
	bool quick;
	int pin; /* enum pin_mode */
	bool part[BP__MAX];
	int cpu_cl, cpu_srv; /* of the cycle clients and the servers; -1: free */
	/* made here: tear-down removes exactly what the flags say */
	char pin_dir[PATH_MAX];
	char cg_base[PATH_MAX], cg_nm[PATH_MAX], cg_app[PATH_MAX], cg_floor[PATH_MAX], cg_srv[PATH_MAX];
	char ns_nm[64], ns_nft[64], nft_path[PATH_MAX];
	bool loaded, cg_made, ns_nm_made, ns_nft_made, nft_file_made, maps_open;
	struct nm_maps maps;
	__u64 app_cgid;
	struct bench_server srv_nm, srv_nft;
	struct bench_client cl[BM__MAX];
	struct bench_rng rng;
	uint64_t t_start, deadline;
	/* results */
	struct row rows[MAX_ROWS];
	size_t nrows;
	struct bench_evres ev[4];
	int nev;
	struct bench_env env;
	struct bench_reload reload;
	struct bench_daemon dmn;
	struct bench_backstop bs;
	struct bench_proxy px;
	struct bench_dns dns;
};

/* ---- set-up and tear-down ---------------------------------------------- */

static int make_cgroup(char *path, size_t len, const char *parent, const char *name)
{
	int err;

	if ((size_t)snprintf(path, len, "%s/%s", parent, name) >= len) {
		bench_err("cgroup path too long: %s/%s", parent, name);
		return -ENAMETOOLONG;
	}
	err = nm_cgroup_create(path);
	if (err)
		bench_err("cannot create cgroup %s: %s", path, strerror(-err));
	return err;
}

static int setup_cgroups(struct bench *b)
{
	char root[PATH_MAX], name[64];
	int err;

	err = nm_cgroup2_mount(root, sizeof(root));
	if (err) {
		bench_err("no cgroup2 mount: %s", strerror(-err));
		return err;
	}
	snprintf(name, sizeof(name), "nomoat-bench-%d", (int)getpid());
	err = make_cgroup(b->cg_base, sizeof(b->cg_base), root, name);
	if (err)
		return err;
	b->cg_made = true;
	/* nm: the attach point; nm/app: bound, the nomoat client; floor: not
	 * attached, the floor and nft clients; srv: the servers. */
	if ((err = make_cgroup(b->cg_nm, sizeof(b->cg_nm), b->cg_base, "nm")) ||
	    (err = make_cgroup(b->cg_app, sizeof(b->cg_app), b->cg_nm, "app")) ||
	    (err = make_cgroup(b->cg_floor, sizeof(b->cg_floor), b->cg_base, "floor")) ||
	    (err = make_cgroup(b->cg_srv, sizeof(b->cg_srv), b->cg_base, "srv")))
		return err;
	err = nm_cgroup_id(b->cg_app, &b->app_cgid);
	if (err)
		bench_err("cgroup id of %s: %s", b->cg_app, strerror(-err));
	return err;
}

static int setup_nomoat(struct bench *b)
{
	bool adopted;
	int err;

	snprintf(b->pin_dir, sizeof(b->pin_dir), "/sys/fs/bpf/nomoat-bench-%d", (int)getpid());
	err = nm_load(b->pin_dir, &adopted, false);
	if (err) {
		bench_err("loading nomoat at %s: %s", b->pin_dir, nm_err_msg());
		return err;
	}
	if (adopted) {
		/* Not ours: leave it alone. */
		bench_err("%s already holds a loaded nomoat: refusing to use it", b->pin_dir);
		return -EEXIST;
	}
	b->loaded = true;
	err = nm_attach(b->pin_dir, b->cg_nm, false, &adopted);
	if (err) {
		bench_err("attaching at %s: %s", b->cg_nm, nm_err_msg());
		return err;
	}
	err = nm_maps_open(b->pin_dir, &b->maps);
	if (err) {
		bench_err("%s", nm_err_msg());
		return err;
	}
	b->maps_open = true;
	return 0;
}

static int setup_net(struct bench *b)
{
	int err, fd;

	snprintf(b->ns_nm, sizeof(b->ns_nm), "nmbench-%d-nm", (int)getpid());
	snprintf(b->ns_nft, sizeof(b->ns_nft), "nmbench-%d-nft", (int)getpid());
	err = bench_netns_add(b->ns_nm);
	if (err)
		return err;
	b->ns_nm_made = true;
	err = bench_netns_add(b->ns_nft);
	if (err)
		return err;
	b->ns_nft_made = true;
	snprintf(b->nft_path, sizeof(b->nft_path), "/tmp/nmbench-%d-XXXXXX.nft", (int)getpid());
	fd = mkstemps(b->nft_path, 4);
	if (fd < 0) {
		err = -errno;
		bench_err("cannot create a file in /tmp: %s", strerror(errno));
		return err;
	}
	close(fd);
	b->nft_file_made = true;
	return 0;
}

static int setup_workers(struct bench *b)
{
	int cpu_srv = -1, cpu_cl = -1, err;
	size_t cap = (size_t)b->rounds * b->cycles;

	if (b->pin == PIN_SAME) {
		cpu_srv = cpu_cl = 0;
	} else if (b->pin == PIN_SPLIT && sysconf(_SC_NPROCESSORS_ONLN) >= 2) {
		cpu_srv = 0;
		cpu_cl = 1;
	}
	b->cpu_cl = cpu_cl;
	b->cpu_srv = cpu_srv;
	err = bench_server_start(&b->srv_nm, b->cg_srv, b->ns_nm, cpu_srv);
	if (!err)
		err = bench_server_start(&b->srv_nft, b->cg_srv, b->ns_nft, cpu_srv);
	if (!err)
		err = bench_client_start(&b->cl[BM_FLOOR], mode_names[BM_FLOOR], b->cg_floor, b->ns_nm, cpu_cl,
					 &b->srv_nm.addr, cap);
	if (!err)
		err = bench_client_start(&b->cl[BM_NOMOAT], mode_names[BM_NOMOAT], b->cg_app, b->ns_nm, cpu_cl,
					 &b->srv_nm.addr, cap);
	if (!err)
		err = bench_client_start(&b->cl[BM_NFT], mode_names[BM_NFT], b->cg_floor, b->ns_nft, cpu_cl,
					 &b->srv_nft.addr, cap);
	return err;
}

static int setup(struct bench *b)
{
	int err = setup_cgroups(b);

	if (!err && !bench_stop)
		err = setup_nomoat(b);
	if (!err && !bench_stop)
		err = setup_net(b);
	if (!err && !bench_stop)
		err = setup_workers(b);
	return err ? err : bench_stop ? -EINTR : 0;
}

static void teardown(struct bench *b)
{
	int err;

	for (int i = 0; i < BM__MAX; i++)
		bench_client_free(&b->cl[i]);
	bench_reload_free(&b->reload);
	/* The daemon and its pin dir first: its links sit on our cgroups. */
	bench_daemon_cleanup(&b->dmn);
	/* the resolver's part: its servers, policies, attach point, netns */
	bench_dns_cleanup(&b->dns);
	bench_children_kill(); /* the servers, and anything left */
	if (b->maps_open)
		nm_maps_close(&b->maps);
	/* Links go with the pin dir, before the cgroups they sit on. */
	if (b->loaded && nm_unload(b->pin_dir))
		bench_err("cleanup: %s", nm_err_msg());
	if (b->cg_made && (err = nm_cgroup_destroy(b->cg_base)))
		bench_err("cleanup: cgroup %s: %s", b->cg_base, strerror(-err));
	if (b->ns_nm_made && bench_netns_del(b->ns_nm))
		bench_err("cleanup: cannot delete netns %s", b->ns_nm);
	if (b->ns_nft_made && bench_netns_del(b->ns_nft))
		bench_err("cleanup: cannot delete netns %s", b->ns_nft);
	if (b->nft_file_made && unlink(b->nft_path))
		bench_err("cleanup: %s: %s", b->nft_path, strerror(errno));
}

/* ---- policies ---------------------------------------------------------- */

/* Create policy name holding v[0..n) denied plus allow 127.0.0.1, default
 * deny; only nm_policy_create is timed. */
static int load_policy(struct bench *b, const char *name, const struct nm_cidr *v, size_t n, __u8 events,
		       __u32 *id, double *ms)
{
	struct nm_policy p = {
		.default_action = NM_ACT_DENY,
		.mode = NM_MODE_ENFORCE,
		.events = events,
	};
	struct nm_ruleset rs;
	uint64_t t0;
	int err;

	snprintf(p.name, sizeof(p.name), "%s", name);
	err = bench_ruleset(v, n, &rs);
	if (err)
		return err;
	t0 = bench_now_ns();
	err = nm_policy_create(&b->maps, &p, &rs, id);
	*ms = (bench_now_ns() - t0) / 1e6;
	nm_ruleset_free(&rs);
	if (err)
		bench_err("creating policy %s with %zu rules: %s", name, n + 1, nm_err_msg());
	return err;
}

static void drop_policy(struct bench *b, const char *name, bool bound)
{
	if (bound && nm_unbind(&b->maps, b->app_cgid))
		bench_err("unbinding %s: %s", b->cg_app, nm_err_msg());
	if (nm_policy_delete(&b->maps, name))
		bench_err("deleting policy %s: %s", name, nm_err_msg());
}

/* ---- measurements ------------------------------------------------------ */

/* Median and 90th percentile of v[0..n) in microseconds (sorts a copy). */
static void stats_us(const uint32_t *v, size_t n, uint32_t *tmp, double *med, double *p90)
{
	memcpy(tmp, v, n * sizeof(*v));
	qsort(tmp, n, sizeof(*tmp), bench_cmp_u32);
	*med = (n % 2 ? tmp[n / 2] : (tmp[n / 2 - 1] + (double)tmp[n / 2]) / 2) / 1e3;
	if (p90)
		*p90 = tmp[n * 9 / 10] / 1e3;
}

static int summarize(struct bench *b, struct row *row)
{
	size_t total = (size_t)b->rounds * b->cycles;
	uint32_t *tmp = malloc(total * sizeof(*tmp));

	if (!tmp) {
		bench_err("out of memory for %zu samples", total);
		return -ENOMEM;
	}
	for (int m = 0; m < BM__MAX; m++) {
		const uint32_t *s = b->cl[m].samples;

		stats_us(s, total, tmp, &row->med_us[m], &row->p90_us[m]);
		for (unsigned r = 0; r < b->rounds; r++)
			stats_us(s + (size_t)r * b->cycles, b->cycles, tmp, &row->round_us[m][r], NULL);
	}
	free(tmp);
	row->measured = true;
	return 0;
}

static bool out_of_time(struct bench *b)
{
	if (bench_stop)
		return true;
	if (bench_now_ns() > b->deadline) {
		bench_err("time budget of %d s used up: stopping", BUDGET_S);
		return true;
	}
	return false;
}

/* Alternating rounds: floor, nomoat, nft, floor, nomoat, nft, ... */
static int measure(struct bench *b, struct row *row, __u32 id)
{
	__u32 allow_idx = id * NM_V__MAX + NM_V_ALLOW;
	__u64 allows0 = nm_percpu_sum(b->maps.stats, allow_idx);
	struct bench_reply rep;
	int err;

	for (unsigned r = 0; r < b->rounds; r++) {
		for (int m = 0; m < BM__MAX; m++) {
			struct bench_cmd c = {
				.kind = BC_CYCLES, .count = b->cycles, .warmup = b->warmup,
				.offset = r * b->cycles, .time_ms = CYCLE_TIME_MS,
			};

			if (out_of_time(b))
				return bench_stop ? -EINTR : -ETIME;
			err = bench_client_run(&b->cl[m], &c, &rep, CYCLE_TIME_MS + 5000);
			if (err)
				return err;
		}
	}
	/* Every nomoat cycle must have been a lookup that allowed. */
	row->allows = nm_percpu_sum(b->maps.stats, allow_idx) - allows0;
	row->allows_want = (uint64_t)b->rounds * (b->cycles + b->warmup);
	return summarize(b, row);
}

static int load_nft(struct bench *b, const struct nm_cidr *v, size_t n, struct row *row)
{
	uint64_t t0;
	int err;

	err = bench_nft_file(b->nft_path, v, n, &row->nft_ranges);
	if (err)
		return err;
	t0 = bench_now_ns();
	err = bench_run(NFT_LOAD_TIME_MS, false, "ip", "netns", "exec", b->ns_nft, "nft", "-f", b->nft_path,
			NULL);
	row->nft_load_ms = (bench_now_ns() - t0) / 1e6;
	return err;
}

static int row_v4(struct bench *b, struct row *row)
{
	struct nm_cidr *v = NULL;
	char name[NM_POLICY_NAME_LEN];
	__u32 id;
	int err;

	snprintf(name, sizeof(name), "bench-v4-%zu", row->n);
	fprintf(stderr, "  IPv4 %zu prefixes: load, nft, %u rounds\n", row->n, b->rounds);
	err = bench_prefixes(4, row->n, &b->rng, &v);
	if (err)
		return err;
	err = load_policy(b, name, v, row->n, NM_EV_DENY, &id, &row->load_ms);
	if (err) {
		free(v);
		return err;
	}
	row->loaded = true;
	err = load_nft(b, v, row->n, row);
	free(v);
	if (!err && (err = nm_bind(&b->maps, b->app_cgid, id)))
		bench_err("binding %s: %s", b->cg_app, nm_err_msg());
	if (err) {
		drop_policy(b, name, false);
		return err;
	}
	err = measure(b, row, id);
	if (!err && row->tgt_floor)
		err = bench_progstats_run(b->pin_dir, &b->cl[BM_NOMOAT], b->cycles, &row->progs);
	drop_policy(b, name, true);
	return err;
}

static int row_v6(struct bench *b, struct row *row)
{
	struct nm_cidr *v = NULL;
	char name[NM_POLICY_NAME_LEN];
	__u32 id;
	int err;

	snprintf(name, sizeof(name), "bench-v6-%zu", row->n);
	fprintf(stderr, "  IPv6 %zu prefixes: load\n", row->n);
	err = bench_prefixes(6, row->n, &b->rng, &v);
	if (err)
		return err;
	err = load_policy(b, name, v, row->n, NM_EV_DENY, &id, &row->load_ms);
	free(v);
	if (err)
		return err;
	row->loaded = true;
	drop_policy(b, name, false);
	return 0;
}

static void plan_rows(struct bench *b)
{
	static const struct {
		size_t n;
		int family;
		bool full_only;
		const char *load, *floor, *nft;
	} plan[] = {
		{ 0, 4, false, NULL, NULL, NULL },
		{ 1000, 4, false, NULL, NULL, NULL },
		{ 100000, 4, false, NULL, "<=1.03", "<=1.00" },
		{ 1000000, 4, true, "<=1000", "<=1.03", NULL },
		{ 0, 6, false, NULL, NULL, NULL },
		{ 1000, 6, false, NULL, NULL, NULL },
		{ 100000, 6, false, NULL, NULL, NULL },
	};

	for (size_t i = 0; i < sizeof(plan) / sizeof(plan[0]) && b->nrows < MAX_ROWS; i++) {
		struct row *r = &b->rows[b->nrows];

		if (plan[i].full_only && b->quick)
			continue;
		r->n = plan[i].n;
		r->family = plan[i].family;
		r->tgt_load = plan[i].load;
		r->tgt_floor = plan[i].floor;
		r->tgt_nft = plan[i].nft;
		b->nrows++;
	}
}

static int run_rows(struct bench *b)
{
	int err = 0;

	for (size_t i = 0; i < b->nrows && !err; i++) {
		if (out_of_time(b))
			return bench_stop ? -EINTR : -ETIME;
		err = b->rows[i].family == 4 ? row_v4(b, &b->rows[i]) : row_v6(b, &b->rows[i]);
	}
	return err;
}

static int set_events(struct bench *b, __u32 id, __u8 level)
{
	struct nm_policy p;
	int err = nm_policy_get(&b->maps, id, &p);

	if (err) {
		bench_err("reading policy %u: %s", id, strerror(-err));
		return err;
	}
	p.events = level;
	err = nm_policy_update(&b->maps, &p);
	if (err)
		bench_err("setting the events level: %s", nm_err_msg());
	return err;
}

/* Each client kind twice: events level "deny" (no event: the baseline
 * connect rate), then "all" (one event per connect). */
static int event_runs(struct bench *b, __u32 id)
{
	static const uint32_t kinds[] = { BC_HAMMER_TCP, BC_HAMMER_UDP };
	static const __u8 levels[] = { NM_EV_DENY, NM_EV_ALL };
	int err = 0;

	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		for (size_t l = 0; l < sizeof(levels) / sizeof(levels[0]); l++) {
			struct bench_evres *e = &b->ev[b->nev];

			if (out_of_time(b))
				return bench_stop ? -EINTR : -ETIME;
			err = set_events(b, id, levels[l]);
			if (err)
				return err;
			memset(e, 0, sizeof(*e));
			e->level = levels[l];
			err = bench_event_rate(&b->maps, &b->cl[BM_NOMOAT], kinds[k], b->event_ms, id, e);
			if (err)
				return err;
			b->nev++;
		}
	}
	return 0;
}

static int run_events(struct bench *b)
{
	const char *name = "bench-events";
	double ms;
	__u32 id;
	int err;

	fprintf(stderr, "  events: TCP cycles, UDP connects, %u ms each with events off and on\n", b->event_ms);
	err = load_policy(b, name, NULL, 0, NM_EV_ALL, &id, &ms);
	if (err)
		return err;
	err = nm_bind(&b->maps, b->app_cgid, id);
	if (err) {
		bench_err("binding %s: %s", b->cg_app, nm_err_msg());
		drop_policy(b, name, false);
		return err;
	}
	err = event_runs(b, id);
	drop_policy(b, name, true);
	return err;
}

/* ---- reload, stalls, the daemon ---------------------------------------- */

static void fill_env(struct bench *b)
{
	b->env = (struct bench_env){
		.maps = &b->maps, .pin_dir = b->pin_dir, .cg_base = b->cg_base, .cg_app = b->cg_app,
		.app_cgid = b->app_cgid, .ns = b->ns_nm, .srv = b->srv_nm.addr, .cpu_cl = b->cpu_cl,
		.cpu_srv = b->cpu_srv, .quick = b->quick, .rounds = b->rounds, .deadline = b->deadline, .rng = &b->rng,
	};
}

static int run_more(struct bench *b)
{
	int err = 0;

	fill_env(b);
	if (b->part[BP_RELOAD] || b->part[BP_STALL]) {
		if (out_of_time(b))
			return bench_stop ? -EINTR : -ETIME;
		err = bench_reload_run(&b->env, &b->reload, b->part[BP_STALL]);
	}
	if (!err && b->part[BP_DAEMON]) {
		if (out_of_time(b))
			return bench_stop ? -EINTR : -ETIME;
		err = bench_daemon_run(&b->env, &b->dmn);
	}
	if (!err && b->part[BP_BACKSTOP]) {
		if (out_of_time(b))
			return bench_stop ? -EINTR : -ETIME;
		err = bench_backstop_run(&b->env, &b->bs);
	}
	if (!err && b->part[BP_PROXY]) {
		if (out_of_time(b))
			return bench_stop ? -EINTR : -ETIME;
		err = bench_proxy_run(&b->env, &b->px);
	}
	if (!err && b->part[BP_DNS]) {
		if (out_of_time(b))
			return bench_stop ? -EINTR : -ETIME;
		err = bench_dns_run(&b->env, &b->dns);
	}
	return err;
}

/* ---- output ------------------------------------------------------------ */

static void cpu_model(char *buf, size_t len)
{
	char line[256];
	FILE *f = fopen("/proc/cpuinfo", "re");

	snprintf(buf, len, "unknown CPU");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');

		if (strncmp(line, "model name", 10) || !colon)
			continue;
		snprintf(buf, len, "%s", colon + 2);
		buf[strcspn(buf, "\n")] = 0;
		break;
	}
	fclose(f);
}

static void print_header(const struct bench *b)
{
	char date[64], model[128];
	struct utsname u;
	time_t now = time(NULL);
	struct tm tm;

	uname(&u);
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S UTC", &tm);
	cpu_model(model, sizeof(model));
	printf("nomoat-bench  %s\n", date);
	printf("kernel %s %s, %ld CPUs online (%s), libbpf %u.%u\n", u.release, u.machine,
	       sysconf(_SC_NPROCESSORS_ONLN), model, libbpf_major_version(), libbpf_minor_version());
	printf("prefixes: random, distinct, host bits clear, deny (IPv4 /20-/32 outside 127/8, IPv6 /16-/128"
	       " in 2000::/3),\n          plus allow 127.0.0.1, default deny; seed %#llx\n",
	       (unsigned long long)b->seed);
	printf("cycle: socket+connect to 127.0.0.1 (server accepts, closes), read EOF, close; in test netns;\n"
	       "       %u alternating rounds x %u cycles (+%u warm-up) per mode; median per cycle;\n"
	       "       CPU pinning: %s\n", b->rounds, b->cycles, b->warmup, pin_text[b->pin]);
	printf("targets are shown, not asserted\n\n");
	fflush(stdout);
}

static void opt_str(const char *s, int width)
{
	printf(" %*s", width, s ? s : "-");
}

static void opt_num(bool have, double v, int width, int prec)
{
	if (have)
		printf(" %*.*f", width, prec, v);
	else
		opt_str(NULL, width);
}

static void print_row(const struct row *r)
{
	bool m = r->measured;

	printf("%9zu  %-6s", r->n, r->family == 4 ? "ipv4" : "ipv6");
	opt_num(r->loaded, r->load_ms, 9, 1);
	opt_str(r->tgt_load, 6);
	opt_num(m, r->med_us[BM_FLOOR], 9, 2);
	opt_num(m, r->med_us[BM_NOMOAT], 10, 2);
	opt_num(m, r->med_us[BM_NFT], 8, 2);
	opt_num(m, m ? r->med_us[BM_NOMOAT] / r->med_us[BM_FLOOR] : 0, 13, 3);
	opt_str(r->tgt_floor, 6);
	opt_num(m, m ? r->med_us[BM_NOMOAT] / r->med_us[BM_NFT] : 0, 11, 3);
	opt_str(r->tgt_nft, 6);
	if (m)
		printf(" %10zu", r->nft_ranges);
	printf("\n");
}

static void print_rounds(const char *key, const struct bench *b, const struct row *r, int m)
{
	printf(" %s=", key);
	for (unsigned i = 0; i < b->rounds; i++)
		printf("%s%.2f", i ? "," : "", r->round_us[m][i]);
}

static void print_summary(const struct bench *b, const struct row *r)
{
	printf("summary family=ipv%d prefixes=%zu", r->family, r->n);
	if (r->loaded && r->tgt_load)
		bench_print_target("load_ms", r->load_ms, 1, r->tgt_load);
	else if (r->loaded)
		printf(" load_ms=%.1f", r->load_ms);
	if (r->measured) {
		double fl = r->med_us[BM_NOMOAT] / r->med_us[BM_FLOOR];

		printf(" floor_us=%.3f nomoat_us=%.3f nft_us=%.3f", r->med_us[BM_FLOOR], r->med_us[BM_NOMOAT],
		       r->med_us[BM_NFT]);
		if (r->tgt_floor)
			bench_print_target("nomoat_floor", fl, 4, r->tgt_floor);
		else
			printf(" nomoat_floor=%.4f", fl);
		printf(" nomoat_nft=%.4f", r->med_us[BM_NOMOAT] / r->med_us[BM_NFT]);
		printf(" floor_p90_us=%.2f nomoat_p90_us=%.2f nft_p90_us=%.2f", r->p90_us[BM_FLOOR],
		       r->p90_us[BM_NOMOAT], r->p90_us[BM_NFT]);
		printf(" nft_ranges=%zu nft_load_ms=%.1f nomoat_allows=%llu/%llu", r->nft_ranges, r->nft_load_ms,
		       (unsigned long long)r->allows, (unsigned long long)r->allows_want);
		print_rounds("floor_rounds_us", b, r, BM_FLOOR);
		print_rounds("nomoat_rounds_us", b, r, BM_NOMOAT);
		print_rounds("nft_rounds_us", b, r, BM_NFT);
	}
	printf("\n");
}

static const char *ev_client(const struct bench_evres *e, bool brief)
{
	if (e->kind == BC_HAMMER_TCP)
		return brief ? "tcp" : "tcp connect+close";
	return brief ? "udp" : "udp connect() only";
}

static double per_s(uint64_t n, double secs)
{
	return secs > 0 ? n / secs : 0;
}

static void print_events(const struct bench *b)
{
	uint64_t drops = 0;

	printf("\nevent rate (client in the bound cgroup, %.1f s per run; the consumer reads and checks every"
	       " record):\n", b->event_ms / 1e3);
	printf("  %-20s %8s %10s %11s %10s %11s %8s %10s\n", "client", "events", "connects", "connects/s",
	       "consumed", "events/s", "dropped", "unexpected");
	for (int i = 0; i < b->nev; i++) {
		const struct bench_evres *e = &b->ev[i];

		printf("  %-20s %8s %10llu %11.0f %10llu %11.0f %8llu %10llu\n", ev_client(e, false),
		       nm_evlevel_name(e->level), (unsigned long long)e->connects,
		       per_s(e->connects, e->client_secs), (unsigned long long)e->consumed,
		       per_s(e->consumed, e->secs), (unsigned long long)e->dropped,
		       (unsigned long long)e->unexpected);
		drops += e->dropped;
	}
	if (b->nev)
		printf("  (events: the policy's level; 'deny' emits nothing here, every connect is allowed.%s)\n",
		       drops ? "" : "\n   no drop: the consumer kept up with all one client produced");
	for (int i = 0; i < b->nev; i++) {
		const struct bench_evres *e = &b->ev[i];

		printf("summary events client=%s level=%s connects=%llu connects_per_s=%.0f consumed=%llu"
		       " secs=%.3f events_per_s=%.0f dropped=%llu unexpected=%llu\n", ev_client(e, true),
		       nm_evlevel_name(e->level), (unsigned long long)e->connects,
		       per_s(e->connects, e->client_secs), (unsigned long long)e->consumed, e->secs,
		       per_s(e->consumed, e->secs), (unsigned long long)e->dropped,
		       (unsigned long long)e->unexpected);
	}
}

static void print_results(const struct bench *b)
{
	printf("%9s  %-6s %9s %6s %9s %10s %8s %13s %6s %11s %6s %10s\n", "prefixes", "family", "load_ms",
	       "target", "floor_us", "nomoat_us", "nft_us", "nomoat/floor", "target", "nomoat/nft", "target",
	       "nft_ranges");
	for (size_t i = 0; i < b->nrows; i++)
		print_row(&b->rows[i]);
	printf("(nft_ranges: the same prefixes merged into the disjoint ranges an interval set can hold)\n");
	for (size_t i = 0; i < b->nrows; i++) {
		const struct row *r = &b->rows[i];

		if (r->measured && r->allows != r->allows_want)
			printf("note: %zu prefixes: the policy counted %llu allows for %llu nomoat cycles\n", r->n,
			       (unsigned long long)r->allows, (unsigned long long)r->allows_want);
	}
	for (size_t i = 0; i < b->nrows; i++)
		bench_progstats_print(&b->rows[i].progs, b->rows[i].n);
	if (b->nev)
		print_events(b);
	bench_reload_print(&b->reload);
	bench_daemon_print(&b->dmn);
	bench_backstop_print(&b->bs);
	bench_proxy_print(&b->px);
	bench_dns_print(&b->dns);
	printf("\n");
	for (size_t i = 0; i < b->nrows; i++)
		print_summary(b, &b->rows[i]);
	for (size_t i = 0; i < b->nrows; i++)
		bench_progstats_summary(&b->rows[i].progs, b->rows[i].n);
	bench_reload_summary(&b->reload);
	bench_daemon_summary(&b->dmn);
	bench_backstop_summary(&b->bs);
	bench_proxy_summary(&b->px);
	bench_dns_summary(&b->dns);
}

/* ---- main -------------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f, "usage: nomoat-bench [-r ROUNDS] [-c CYCLES] [-w WARMUP] [-e EVENT_MS] [-s SEED] [-q] [-p PIN]\n"
		   "                    [-P PARTS]\n"
		   "  -r  alternating rounds per prefix count (default 7, at most %d; the\n"
		   "      proxy part: at most %d)\n"
		   "  -c  timed cycles per mode and round (default 3000)\n"
		   "  -w  untimed cycles before each round (default 200)\n"
		   "  -e  duration of each event-rate run in ms (default 3000)\n"
		   "  -s  random seed (default 1)\n"
		   "  -q  quick: skip the 1M-prefix row\n"
		   "  -p  same: client and server on CPU 0 (default); split: server CPU 0,\n"
		   "      client CPU 1; none: no pinning\n"
		   "  -P  the parts to run, comma-separated (default all): tables (load\n"
		   "      time, cycle costs), events (ring-buffer rate), reload (replace\n"
		   "      time), stall (connects during a reload), daemon (nomoatd events\n"
		   "      to JSON clients), backstop (one TCP stream and UDP from a\n"
		   "      sandbox with and without the packet backstop), proxy (bulk\n"
		   "      and small exchanges direct, through nomoat-proxy and Squid),\n"
		   "      dns (queries/s and latency direct, through nomoat-dns and\n"
		   "      dnsmasq as a filtering forwarder)\n",
		MAX_ROUNDS, BENCH_PX_ROUNDS);
}

static int parse_uint(const char *s, unsigned long lo, unsigned long hi, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(s, &end, 0);
	if (errno || end == s || *end || *out < lo || *out > hi || s[0] == '-') {
		bench_err("'%s': expected a number %lu..%lu", s, lo, hi);
		return -EINVAL;
	}
	return 0;
}

static int parse_parts(struct bench *b, const char *arg)
{
	char buf[128], *save = NULL;

	if ((size_t)snprintf(buf, sizeof(buf), "%s", arg) >= sizeof(buf)) {
		bench_err("-P '%s': too long", arg);
		return -EINVAL;
	}
	memset(b->part, 0, sizeof(b->part));
	for (char *w = strtok_r(buf, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
		int p;

		for (p = 0; p < BP__MAX && strcmp(w, part_names[p]); p++)
			;
		if (p == BP__MAX) {
			bench_err("-P '%s': expected tables, events, reload, stall, daemon, backstop, proxy or dns", w);
			return -EINVAL;
		}
		b->part[p] = true;
	}
	return 0;
}

static int parse_opts(struct bench *b, int argc, char **argv)
{
	unsigned long v;
	int c;

	while ((c = getopt(argc, argv, "r:c:w:e:s:qp:P:h")) != -1) {
		switch (c) {
		case 'r':
			if (parse_uint(optarg, 1, MAX_ROUNDS, &v))
				return -EINVAL;
			b->rounds = v;
			break;
		case 'c':
			if (parse_uint(optarg, 1, 1000000, &v))
				return -EINVAL;
			b->cycles = v;
			break;
		case 'w':
			if (parse_uint(optarg, 0, 100000, &v))
				return -EINVAL;
			b->warmup = v;
			break;
		case 'e':
			if (parse_uint(optarg, 100, 60000, &v))
				return -EINVAL;
			b->event_ms = v;
			break;
		case 's':
			if (parse_uint(optarg, 0, ULONG_MAX, &v))
				return -EINVAL;
			b->seed = v;
			break;
		case 'q':
			b->quick = true;
			break;
		case 'p':
			for (v = 0; v < sizeof(pin_names) / sizeof(pin_names[0]); v++)
				if (!strcmp(optarg, pin_names[v]))
					break;
			if (v == sizeof(pin_names) / sizeof(pin_names[0])) {
				bench_err("-p '%s': expected same, split or none", optarg);
				return -EINVAL;
			}
			b->pin = v;
			break;
		case 'P':
			if (parse_parts(b, optarg))
				return -EINVAL;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return -EINVAL;
	}
	return 0;
}

static struct bench bench = {
	.rounds = 7, .cycles = 3000, .warmup = 200, .event_ms = 3000, .seed = 1, .pin = PIN_SAME,
	.part = { [0 ... BP__MAX - 1] = true }, .cpu_cl = -1, .cpu_srv = -1,
};

int main(int argc, char **argv)
{
	struct bench *b = &bench;
	int err;

	for (int i = 0; i < BM__MAX; i++)
		b->cl[i].cmd_fd = b->cl[i].reply_fd = -1;
	b->reload.cl.cmd_fd = b->reload.cl.reply_fd = -1;
	b->dmn.cl.cmd_fd = b->dmn.cl.reply_fd = -1;
	b->dmn.exit_status = -1;
	if (parse_opts(b, argc, argv))
		return 2;
	if (geteuid()) {
		bench_err("needs root (BPF, cgroups, netns)");
		return 1;
	}
	bench_signals();
	b->rng.s = b->seed;
	b->t_start = bench_now_ns();
	b->deadline = b->t_start + BUDGET_S * 1000000000ull;
	if (b->part[BP_TABLES])
		plan_rows(b);
	print_header(b);

	fprintf(stderr, "nomoat-bench: setting up\n");
	err = setup(b);
	if (!err)
		err = run_rows(b);
	if (!err && b->part[BP_EVENTS])
		err = run_events(b);
	if (!err)
		err = run_more(b);
	teardown(b);

	print_results(b);
	printf("total %.1f s\n", (bench_now_ns() - b->t_start) / 1e9);
	if (bench_stop) {
		bench_err("interrupted (signal %d): cleaned up", (int)bench_stop);
		return 130;
	}
	if (err)
		bench_err("failed: %s (figures above are partial)", strerror(err < 0 ? -err : err));
	return err ? 1 : 0;
}
