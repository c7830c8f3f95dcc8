// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * nomoatd: the privileged host daemon.  It loads (or adopts) nomoat's pinned
 * kernel state, makes it match the policy file, proves enforcement works,
 * then runs one epoll loop: the ring buffer (the one consumer) -> JSON event
 * lines to a log and to `nomoat events` clients, new cgroups -> bindings,
 * SIGHUP -> atomic reload and log reopen, a Prometheus endpoint.
 *
 * Exiting, by SIGTERM or by a crash, leaves every pin in place: enforcement
 * does not depend on this process.  Only `nomoat unload` removes it.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>
#include <bpf/libbpf.h>

#include "apply.h"
#include "canary.h"
#include "cgroup.h"
#include "config.h"
#include "doctor.h"
#include "files.h"
#include "err.h"
#include "events.h"
#include "evline.h"
#include "evserver.h"
#include "json.h"
#include "loader.h"
#include "metrics.h"
#include "parse.h"
#include "pinguard.h"
#include "pins.h"
#include "policy.h"
#include "ratelimit.h"
#include "state.h"
#include "svc.h"
#include "follow.h"
#include "stream.h"
#include "watch.h"

#define DEFAULT_CONFIG  "/etc/nomoat/nomoat.conf"
#define DEFAULT_PIDFILE "/run/nomoat/nomoatd.pid"
#define TICK_MS         NM_EVENTS_POLL_MS
/* Events handled per ring-buffer pass, so a flood cannot starve the loop
 * (clients' writes, metrics, signals) for long. */
#define EVENT_BATCH     2048
#define EV_BATCH_DONE   (-EAGAIN)
/* Proxy access-log lines passed on per tick, at most (a backlog waits). */
/* The pins are looked at every this many ticks (1 s). */
#define PIN_CHECK_TICKS 10

enum { TAG_RB = 1, TAG_SIG, TAG_TICK, TAG_WATCH, TAG_EVS, TAG_METRICS };

struct daemon {
	const char *pin_dir, *config_path, *pidfile;
	bool verbose;
	struct nm_config cfg;
	struct nm_maps m;
	int epfd, sigfd, tickfd;
	struct ring_buffer *rb;
	struct nm_evs evs;
	struct nm_mhttp mh;
	struct nm_rl rl;
	struct nm_watch w;
	bool evs_on, mh_on, rl_on, w_on, watch_warned;
	FILE *log;
	struct nm_stream out;   /* every line, in batches, to the log and clients */
	struct nm_event_fmt fmt;
	__u64 rb_drops_seen, events_limited, log_errors_seen;
	unsigned batch;     /* events handled in this pass */
	bool rb_more;       /* the last pass stopped at EVENT_BATCH */
	__u64 reloads_ok, reloads_failed;
	double last_reload;
	struct nm_pinguard pg;  /* every pinned object, held (see pinguard.h) */
	struct nm_follow plog;  /* the proxy's access log (proxy-log) */
	struct nm_follow dlog;  /* the resolver's log (dns-log) */
	unsigned ticks;
	bool unload_said;
	volatile bool stop;
};

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void say(const char *fmt, ...)
{
	va_list ap;

	fputs("nomoatd: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static double now_real(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static __u64 now_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* ---- event output ------------------------------------------------------ */

/* A line of any type (evline.h) into the stream, encoded in place. */
#define EMIT(d, fn, ...)                                                                                \
	do {                                                                                            \
		char *p__ = nm_stream_room(&(d)->out, NM_EVLINE_MAX);                                   \
                                                                                                        \
		if (p__) {                                                                              \
			struct nm_json j__;                                                             \
                                                                                                        \
			nm_json_init_buf(&j__, p__, NM_EVLINE_MAX, false);                              \
			fn(&j__, __VA_ARGS__);                                                          \
			nm_stream_commit(&(d)->out, nm_json_len(&j__));                                 \
		}                                                                                       \
	} while (0)

static int on_event(void *arg, void *data, size_t len)
{
	struct daemon *d = arg;
	const struct nm_event *e = data;
	char *p;

	if (len < sizeof(*e))
		return 0;
	/* One noisy sandbox must not drown the others. */
	if (d->rl_on && !nm_rl_allow(&d->rl, e->cgroup_id, now_mono_ns())) {
		d->events_limited++;
	} else if ((p = nm_stream_room(&d->out, NM_EVLINE_MAX))) {
		/* encoded once, in place: the same bytes go to the log and to
		 * every client */
		nm_stream_commit(&d->out, nm_event_line(&d->fmt, e, p, NM_EVLINE_MAX));
	}
	/* libbpf has consumed this event already (it advances before the
	 * callback): stop only after handling it */
	return ++d->batch >= EVENT_BATCH ? EV_BATCH_DONE : 0;
}

static void on_limited(__u64 key, __u64 n, void *arg)
{
	struct daemon *d = arg;

	EMIT(d, nm_evline_limited, key == NM_RL_KEY_EVICTED, key, n);
}

/* One bounded pass over the ring buffer, its lines sent in batches. */
static void consume(struct daemon *d)
{
	d->batch = 0;
	d->rb_more = ring_buffer__consume(d->rb) == EV_BATCH_DONE;
	nm_stream_flush(&d->out);
}

/* Pins gone from under us: enforcement goes on through the objects held;
 * pin them again and say so, in the log and in the event stream. */
static void check_pins(struct daemon *d)
{
	struct nm_pin_report r;

	if (!nm_pinguard_check(&d->pg, &r) && !r.missing)
		return;
	if (r.unloaded) {
		if (!d->unload_said)
			say("the pins at %s are gone and the links detached: nomoat was unloaded under the daemon; "
			    "nothing enforces any more (restart nomoatd to load again)", d->pin_dir);
		d->unload_said = true;
		return;
	}
	say("%zu of %zu pins at %s were removed; enforcement went on (the daemon holds every object); "
	    "%zu pinned again%s%s",
	    r.missing, r.held, d->pin_dir, r.restored, r.first_err ? ", first failure: " : "",
	    r.first_err ? strerror(r.first_err) : "");
	EMIT(d, nm_evline_pins, d->pin_dir, r.missing, r.restored, r.held);
}

/* A line of a service's log (follow.h), into the stream. */
static void on_service_line(const char *line, size_t len, void *arg)
{
	struct daemon *d = arg;

	nm_stream_line(&d->out, line, len);
}

/* Start, stop or move the followed logs to what the file says. */
static void service_logs_setup(struct daemon *d)
{
	if (nm_follow_set(&d->plog, d->cfg.proxy_log))
		say("warning: no memory to follow the proxy log %s", d->cfg.proxy_log);
	if (nm_follow_set(&d->dlog, d->cfg.dns_log))
		say("warning: no memory to follow the resolver's log %s", d->cfg.dns_log);
}

/* Every tick: read the ring buffer (the kernel wakes us only past a
 * backlog), report kernel drops and rate-limited counts in the stream. */
static void tick(struct daemon *d)
{
	__u64 drops;

	/* names (policies, reasons) at most one tick old */
	nm_event_fmt_refresh(&d->fmt);
	consume(d);
	drops = nm_percpu_sum(d->m.gstats, NM_G_EVENTS_DROPPED);
	if (drops != d->rb_drops_seen) {
		EMIT(d, nm_evline_drops, drops - d->rb_drops_seen, true, drops, "ring buffer full");
		d->rb_drops_seen = drops;
	}
	if (d->out.log_errors != d->log_errors_seen) {
		say("warning: %llu failed writes to the events log %s (the last: %s); the lines still go to the "
		    "events socket", (unsigned long long)(d->out.log_errors - d->log_errors_seen), d->cfg.events_log,
		    strerror(-d->out.log_err));
		d->log_errors_seen = d->out.log_errors;
	}
	if (d->rl_on)
		nm_rl_take_limited(&d->rl, on_limited, d);
	nm_follow_read(&d->plog, on_service_line, d, NM_FOLLOW_LINES_PER_TICK);
	nm_follow_read(&d->dlog, on_service_line, d, NM_FOLLOW_LINES_PER_TICK);
	if (++d->ticks % PIN_CHECK_TICKS == 0)
		check_pins(d);
}

/* ---- metrics ----------------------------------------------------------- */

/* Rules per family of a policy in the file (none for one it does not name). */
static void fill_rules(struct nm_metrics *mt, const struct nm_config *cfg, const char *name)
{
	const struct nm_cfg_policy *cp = nm_config_policy(cfg, name);
	__u64 n4 = 0, n6 = 0;

	if (!cp)
		return;
	for (size_t i = 0; i < cp->rules.n; i++)
		cp->rules.v[i].cidr.family == 4 ? n4++ : n6++;
	nm_metrics_u64(mt, NM_LABELS({ "policy", name }, { "family", "ipv4" }), n4);
	nm_metrics_u64(mt, NM_LABELS({ "policy", name }, { "family", "ipv6" }), n6);
}

/* The kernel's counters, from the snapshot `nomoat stats` prints too. */
static int fill_kernel(struct nm_metrics *mt, const struct daemon *d)
{
	struct nm_stats_snap *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	nm_stats_snapshot(&d->m, s);
	nm_metrics_family(mt, "nomoat_decisions_total", NM_METRIC_COUNTER,
			  "Connections and datagrams decided, by policy and verdict.");
	nm_metrics_u64(mt, NM_LABELS({ "policy", "" }, { "verdict", "deny" }), s->rows[0].v[NM_V_DENY]);
	for (size_t i = 1; i < s->nrows; i++)
		for (__u32 v = 0; v < NM_V__MAX; v++)
			nm_metrics_u64(mt, NM_LABELS({ "policy", s->rows[i].name }, { "verdict", nm_verdict_name(v) }),
				       s->rows[i].v[v]);
	nm_metrics_family(mt, "nomoat_kernel_total", NM_METRIC_COUNTER,
			  "Kernel-side counters (fail-closed denials, flow records, ring buffer drops).");
	for (__u32 i = 0; i < NM_G__MAX; i++)
		nm_metrics_u64(mt, NM_LABELS({ "counter", nm_gstat_name(i) }), s->g[i]);
	nm_metrics_family(mt, "nomoat_rules", NM_METRIC_GAUGE, "Rules per policy and family, from the policy file.");
	for (size_t i = 1; i < s->nrows; i++)
		fill_rules(mt, &d->cfg, s->rows[i].name);
	nm_metrics_family(mt, "nomoat_flows_live", NM_METRIC_GAUGE, "Redirected TCP flows with a record.");
	nm_metrics_u64(mt, NULL, 0, s->flows_live);
	free(s);
	return 0;
}

static int fill_metrics(struct nm_metrics *mt, void *arg)
{
	struct daemon *d = arg;
	struct nm_evs_stats es = { 0 };
	int err = fill_kernel(mt, d);

	if (err)
		return err;
	nm_metrics_family(mt, "nomoat_events_total", NM_METRIC_COUNTER, "Event lines written by the daemon.");
	nm_metrics_u64(mt, NULL, 0, d->out.lines);
	nm_metrics_family(mt, "nomoat_events_limited_total", NM_METRIC_COUNTER,
			  "Events held back by the per-cgroup rate limit.");
	nm_metrics_u64(mt, NULL, 0, d->events_limited);
	nm_metrics_family(mt, "nomoat_proxy_lines_total", NM_METRIC_COUNTER,
			  "Lines of the proxy's access log (proxy-log) passed into the event stream.");
	nm_metrics_u64(mt, NULL, 0, d->plog.lines);
	nm_metrics_family(mt, "nomoat_dns_lines_total", NM_METRIC_COUNTER,
			  "Lines of the resolver's log (dns-log) passed into the event stream.");
	nm_metrics_u64(mt, NULL, 0, d->dlog.lines);
	nm_follow_dns_metrics(&d->dlog, mt);
	if (d->evs_on)
		nm_evs_stats(&d->evs, &es);
	nm_metrics_family(mt, "nomoat_event_clients", NM_METRIC_GAUGE, "Connected `nomoat events` clients.");
	nm_metrics_u64(mt, NULL, 0, es.clients);
	nm_metrics_family(mt, "nomoat_event_client_drops_total", NM_METRIC_COUNTER,
			  "Event lines lost by clients too slow to read them.");
	nm_metrics_u64(mt, NULL, 0, es.lines_dropped);
	nm_metrics_family(mt, "nomoat_reloads_total", NM_METRIC_COUNTER, "Policy file applications, by result.");
	nm_metrics_u64(mt, NM_LABELS({ "result", "success" }), d->reloads_ok);
	nm_metrics_u64(mt, NM_LABELS({ "result", "failure" }), d->reloads_failed);
	nm_metrics_family(mt, "nomoat_last_reload_timestamp_seconds", NM_METRIC_GAUGE,
			  "When the policy file was last applied successfully.");
	nm_metrics_f64(mt, NULL, 0, d->last_reload);
	return 0;
}

/* ---- configuration ----------------------------------------------------- */

static void watch_cb(int kind, const char *abs, void *arg)
{
	struct daemon *d = arg;

	if (kind == NM_WATCH_ADDED)
		nm_apply_cgroup(&d->m, &d->cfg, abs);
	else if (kind == NM_WATCH_REMOVED)
		nm_apply_prune(&d->m);
}

static void watch_add(const char *abs, void *arg)
{
	nm_watch_add_tree(arg, abs);
}

/* Watch where new cgroups of the file's attach points and bind patterns
 * appear (nm_apply_watch_points). */
static void watch_setup(struct daemon *d)
{
	if (d->w_on)
		nm_watch_close(&d->w);
	d->w_on = nm_watch_open(&d->w) == 0;
	if (!d->w_on) {
		say("warning: cannot watch cgroups (inotify): new cgroups are bound at reload only");
		return;
	}
	epoll_ctl(d->epfd, EPOLL_CTL_ADD, nm_watch_fd(&d->w),
		  &(struct epoll_event){ .events = EPOLLIN, .data.u64 = nm_epoll_data(TAG_WATCH, 0) });
	nm_apply_watch_points(&d->cfg, watch_add, &d->w);
	/* Cgroups made between the apply's walk and the watches. */
	nm_watch_scan(&d->w, watch_cb, d);
	nm_err_clear();
}

static int open_log(struct daemon *d)
{
	nm_stream_flush(&d->out); /* what is batched goes to the old log */
	d->out.log = NULL;
	if (d->log && d->log != stdout)
		fclose(d->log);
	d->log = NULL;
	if (!strcmp(d->cfg.events_log, "stdout")) {
		d->log = d->out.log = stdout;
		return 0;
	}
	d->log = d->out.log = fopen(d->cfg.events_log, "ae");
	if (!d->log)
		return nm_fail(NM_E_RUNTIME, -errno, "events-log %s: %s", d->cfg.events_log, strerror(errno));
	return 0;
}

/* Parse and apply the file; on any failure the running state is kept. */
static int reload(struct daemon *d, bool first)
{
	struct nm_config cfg = { 0 };
	struct nm_apply_stats st;
	int nerr = 0, err;

	err = nm_config_load(d->config_path, &cfg, stderr, &nerr);
	if (err) {
		d->reloads_failed++;
		return nm_fail(NM_E_INPUT, err, "%s: %d error(s), nothing changed", d->config_path, nerr);
	}
	err = nm_apply(d->pin_dir, &d->m, &cfg, &st);
	if (err) {
		d->reloads_failed++;
		nm_config_free(&cfg);
		return err;
	}
	nm_config_free(&d->cfg);
	d->cfg = cfg;
	d->reloads_ok++;
	nm_event_fmt_refresh(&d->fmt);
	d->last_reload = now_real();
	service_logs_setup(d);
	/* Attach points may have come or gone: hold what is pinned now. */
	err = nm_pinguard_take(&d->pg, d->pin_dir);
	if (err)
		say("warning: holding the pinned objects at %s: %s (a removed pin dir may end enforcement)",
		    d->pin_dir, strerror(-err));
	say("%s %s: %u policies created, %u replaced, %u deleted; %u attach points added; %u cgroups bound, "
	    "%u bindings of gone cgroups removed",
	    first ? "applied" : "reloaded", d->config_path, st.created, st.replaced, st.deleted, st.attached,
	    st.bound, st.unbound);
	if (st.kept_bound)
		say("warning: %u policies no longer in the file are kept: cgroups are still bound to them",
		    st.kept_bound);
	return 0;
}

/* ---- the loop ---------------------------------------------------------- */

static void on_signal(struct daemon *d)
{
	struct signalfd_siginfo si;

	while (read(d->sigfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			if (reload(d, false))
				say("reload failed, the running policy is unchanged: %s", nm_err_msg());
			if (open_log(d))
				say("%s", nm_err_msg());
			watch_setup(d);
			if (d->rl_on)
				nm_rl_fini(&d->rl);
			d->rl_on = d->cfg.events_rate && nm_rl_init(&d->rl, d->cfg.events_rate, NM_RL_DEFAULT_CAPACITY) == 0;
		} else {
			d->stop = true;
		}
	}
}

static int loop(struct daemon *d)
{
	struct epoll_event ev[32];

	while (!d->stop) {
		/* More events waiting: look at the other fds, then go on. */
		int n = epoll_wait(d->epfd, ev, 32, d->rb_more ? 0 : 1000);

		if (n < 0 && errno != EINTR)
			return nm_fail(NM_E_RUNTIME, -errno, "epoll: %s", strerror(errno));
		for (int i = 0; i < n; i++) {
			__u64 data = ev[i].data.u64;
			int fd = nm_epoll_fd(data);
			__u64 exp;

			switch (nm_epoll_tag(data)) {
			case TAG_RB:
				consume(d);
				break;
			case TAG_SIG:
				on_signal(d);
				break;
			case TAG_TICK:
				if (read(d->tickfd, &exp, sizeof(exp)) > 0)
					tick(d);
				break;
			case TAG_WATCH: {
				int r = nm_watch_read(&d->w, watch_cb, d);

				if (r < 0 && !d->watch_warned) {
					say("warning: watching cgroups: %s (new cgroups may wait for a reload)",
					    strerror(-r));
					d->watch_warned = true;
				}
				break;
			}
			case TAG_EVS:
				nm_evs_handle(&d->evs, fd, ev[i].events);
				break;
			case TAG_METRICS:
				nm_mhttp_handle(&d->mh, fd, ev[i].events);
				break;
			}
		}
		if (d->rb_more)
			consume(d);
		/* whatever this round wrote (service lines, notes) goes out */
		nm_stream_flush(&d->out);
	}
	return 0;
}

/* The directory of path (not its parents), if missing; errors show later. */
static void mkdir_parent(const char *path)
{
	const char *slash = strrchr(path, '/'), *name = slash;

	if (!slash || slash == path)
		return;
	while (name > path && name[-1] != '/')
		name--;
	nm_mkdirs(path, (size_t)(name - path), true, 0755);
}

static int write_pidfile(const char *path)
{
	FILE *f;

	mkdir_parent(path);
	f = fopen(path, "we");
	if (!f)
		return nm_fail(NM_E_RUNTIME, -errno, "pid file %s: %s", path, strerror(errno));
	fprintf(f, "%d\n", (int)getpid());
	fclose(f);
	return 0;
}

static int setup_io(struct daemon *d)
{
	struct itimerspec its = { { 0, TICK_MS * 1000000L }, { 0, TICK_MS * 1000000L } };
	const char *maddr;
	sigset_t mask;
	int err;

	d->epfd = epoll_create1(EPOLL_CLOEXEC);
	sigemptyset(&mask);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	d->sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	d->tickfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (d->epfd < 0 || d->sigfd < 0 || d->tickfd < 0 || timerfd_settime(d->tickfd, 0, &its, NULL))
		return nm_fail(NM_E_RUNTIME, -errno, "setting up the event loop: %s", strerror(errno));
	epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->sigfd,
		  &(struct epoll_event){ .events = EPOLLIN, .data.u64 = nm_epoll_data(TAG_SIG, d->sigfd) });
	epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->tickfd,
		  &(struct epoll_event){ .events = EPOLLIN, .data.u64 = nm_epoll_data(TAG_TICK, d->tickfd) });
	d->rb = ring_buffer__new(d->m.events, on_event, d, NULL);
	if (!d->rb)
		return nm_fail(NM_E_RUNTIME, -errno, "event ring buffer: %s", strerror(errno));
	epoll_ctl(d->epfd, EPOLL_CTL_ADD, ring_buffer__epoll_fd(d->rb),
		  &(struct epoll_event){ .events = EPOLLIN, .data.u64 = nm_epoll_data(TAG_RB, 0) });
	nm_event_fmt_init(&d->fmt, &d->m, true, false);
	if (nm_stream_open(&d->out))
		return nm_fail(NM_E_RUNTIME, -ENOMEM, "no memory for the event stream");
	err = open_log(d);
	if (err)
		return err;
	mkdir_parent(d->cfg.events_socket);
	err = nm_evs_open(&d->evs, d->cfg.events_socket, d->epfd, TAG_EVS);
	if (err)
		return nm_fail(NM_E_RUNTIME, err, "events-socket %s: %s", d->cfg.events_socket, strerror(-err));
	d->evs_on = true;
	d->out.evs = &d->evs;
	/* "unix:/path" in the file; the responder takes the bare path */
	maddr = strncmp(d->cfg.metrics, "unix:", 5) ? d->cfg.metrics : d->cfg.metrics + 5;
	if (maddr[0] == '/')
		mkdir_parent(maddr);
	err = nm_mhttp_open(&d->mh, maddr, d->epfd, TAG_METRICS, fill_metrics, d);
	if (err)
		return nm_fail(NM_E_RUNTIME, err, "metrics %s: %s", d->cfg.metrics, strerror(-err));
	d->mh_on = true;
	d->rl_on = d->cfg.events_rate && nm_rl_init(&d->rl, d->cfg.events_rate, NM_RL_DEFAULT_CAPACITY) == 0;
	watch_setup(d);
	return 0;
}

/* The doctor's fail-level checks that make sense before serving (doctor.h:
 * required kernel features, cgroup2 socket matching switched off, the pin
 * dir seen from a container), before anything is loaded; a fail refuses
 * the start with its reason, a warning is said and the start goes on. */
static void doctor_line(const struct nm_doc_line *l, void *arg)
{
	(void)arg;
	if (l->status != NM_DOC_OK)
		say("doctor: %s %s: %s", nm_doc_status_name(l->status), l->name, l->detail);
}

static int doctor_at_start(const char *pin_dir)
{
	struct nm_doctor doc = { .pin_dir = pin_dir, .scope = NM_DOC_START, .report = doctor_line };

	nm_doctor_run(&doc);
	if (doc.n[NM_DOC_FAIL])
		return nm_fail(NM_E_RUNTIME, -EPERM, "refusing to start (%u check(s) failed, nomoat doctor says more): %s",
			       doc.n[NM_DOC_FAIL], doc.first_fail);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: nomoatd [--config FILE] [--pin-dir DIR] [--pidfile FILE] [-v]\n"
		   "       nomoatd --check FILE\n"
		   "\n"
		   "The nomoat host daemon: loads or adopts the pinned kernel state, applies the policy\n"
		   "file (default " DEFAULT_CONFIG "), proves enforcement works, then serves events and\n"
		   "metrics.  SIGHUP reloads the file atomically and reopens the event log; SIGTERM exits\n"
		   "and leaves enforcement in place (only `nomoat unload` removes it).\n"
		   "  --check FILE   validate FILE without touching the kernel; every error as FILE:LINE: message\n"
		   "  --pin-dir DIR  pin directory (default $NOMOAT_PIN_DIR or " NM_PIN_DIR_DEFAULT ")\n"
		   "  --pidfile FILE (default " DEFAULT_PIDFILE ", read by `nomoat reload`)\n");
}

static int check_only(const char *path)
{
	struct nm_config cfg = { 0 };
	int nerr = 0;

	if (nm_config_load(path, &cfg, stderr, &nerr)) {
		fprintf(stderr, "nomoatd: %s: %d error(s)\n", path, nerr);
		return 2;
	}
	printf("%s: ok (%zu policies, %zu bindings, %zu attach points)\n", path, cfg.npolicies, cfg.nbinds,
	       cfg.nattaches);
	nm_config_free(&cfg);
	return 0;
}

enum { O_CHECK = 256, O_CONFIG, O_PIN_DIR, O_PIDFILE };

/* 0, 1 after --help (exit 0), or 2 (bad usage, said). */
static int parse_args(int argc, char **argv, struct daemon *d, const char **pin, const char **check)
{
	static const struct option lo[] = {
		{ "check", required_argument, NULL, O_CHECK },
		{ "config", required_argument, NULL, O_CONFIG },
		{ "pin-dir", required_argument, NULL, O_PIN_DIR },
		{ "pidfile", required_argument, NULL, O_PIDFILE },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "vh", lo, NULL)) != -1) {
		switch (c) {
		case O_CHECK:
			*check = optarg;
			break;
		case O_CONFIG:
			d->config_path = optarg;
			break;
		case O_PIN_DIR:
			*pin = optarg;
			break;
		case O_PIDFILE:
			d->pidfile = optarg;
			break;
		case 'v':
			d->verbose = true;
			break;
		default:
			return nm_svc_opt_usage(c, usage);
		}
	}
	if (nm_svc_opt_rest("nomoatd", argc, argv))
		return 2;
	return 0;
}

int main(int argc, char **argv)
{
	struct daemon d = { .config_path = DEFAULT_CONFIG, .pidfile = DEFAULT_PIDFILE };
	const char *pin = NULL, *check = NULL;
	char abs[PATH_MAX];
	bool adopted;
	int err;

	err = parse_args(argc, argv, &d, &pin, &check);
	if (err)
		return err == 1 ? 0 : err;
	if (check)
		return check_only(check);
	d.pin_dir = nm_pin_dir_pick(pin);
	setvbuf(stdout, NULL, _IOLBF, 0);

	/* Load or adopt: a restart picks up the pinned state with no gap. */
	err = doctor_at_start(d.pin_dir);
	if (!err)
		err = nm_load(d.pin_dir, &adopted, d.verbose);
	if (!err)
		err = nm_maps_open(d.pin_dir, &d.m);
	if (err)
		goto fail;
	say("%s %s", adopted ? "adopted the pinned state at" : "loaded and pinned at", d.pin_dir);
	err = reload(&d, true);
	if (!err)
		err = nm_apply_sandbox_point(&d.cfg, abs, sizeof(abs));
	if (!err)
		err = nm_canary(&d.m, abs);
	if (err)
		goto fail;
	say("enforcement checked: a policed connect to 169.254.169.254 was refused");
	err = setup_io(&d);
	if (!err)
		err = write_pidfile(d.pidfile);
	if (err)
		goto fail;
	say("running (pid %d); events to %s and %s, metrics at %s", (int)getpid(), d.cfg.events_log,
	    d.cfg.events_socket, d.cfg.metrics);
	err = loop(&d);
	unlink(d.pidfile);
	nm_stream_close(&d.out);
	if (d.evs_on)
		nm_evs_close(&d.evs);
	if (d.mh_on)
		nm_mhttp_close(&d.mh);
	nm_pinguard_free(&d.pg);
	nm_follow_close(&d.plog);
	nm_follow_close(&d.dlog);
	if (err)
		goto fail;
	say("stopped; enforcement stays in place (nomoat unload removes it)");
	return 0;
fail:
	say("%s", nm_err_msg());
	return nm_err_kind() == NM_E_INPUT ? 2 : 1;
}
