// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * nomoat-bench: events per second from the ring buffer to the JSON clients
 * of nomoatd, and the drops on the way.
 *
 * The daemon (nomoatd next to this binary, or build/nomoatd) runs on a pin
 * dir of its own (<bench pin dir>-d, loaded and applied by the daemon
 * itself) with a policy file written to a temp dir: one attach point
 * (<bench cgroup>/dmn), its child app bound to a policy with "events all",
 * the events socket, the metrics socket and the events log in the temp
 * dir, no rate limit.  A client in that app cgroup makes UDP connect()s to
 * 127.0.0.1 in the bench's netns (each is one allowed decision, one event)
 * for a few seconds, as fast as it can, while 1 (then 4) readers on the
 * events socket count the lines; where that loses events, again at a paced
 * rate below what the readers got.  Drops are counted three ways: "drops"
 * lines in the stream, the kernel's counter (nm_gstats), and the daemon's
 * nomoat_event_client_drops_total (GET /metrics on its unix socket).
 * The paced runs start at the targets (DMN_TARGET_1, DMN_TARGET_4 events/s
 * per client) and search from there.  Each run also takes the daemon's CPU
 * time (/proc/PID/schedstat): CPU per event, and the events/s that one
 * core of daemon time would carry, a figure that holds when the bench's
 * own load generator and readers (on this same machine) cannot go faster.
 * At the end the daemon gets SIGTERM and its pin dir is unloaded.
 */
#include "bench.h"
#include "pins.h"
#include "cgroup.h"
#include "err.h"
#include "loader.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <bpf/bpf.h>

#define DMN_POLICY     "bench"
#define DMN_READY_MS   30000  /* load, apply, canary */
#define DMN_BIND_MS    3000
#define DMN_RUN_MS     3000   /* traffic per run */
#define DMN_DRAIN_MS   10000  /* bound on reading after the traffic */
#define DMN_QUIET_MS   1000   /* nothing read for this long: all is in */
#define DMN_STOP_MS    5000
#define DMN_PACED      4      /* paced runs per client count, at most */
#define DMN_TARGET_1   150000 /* events/s, lossless, to one client (issue 11) */
#define DMN_TARGET_4   100000 /* events/s, lossless, to each of four */
#define DMN_HTTP_MS    3000
#define DMN_HTTP_MAX   (1u << 20)
#define RD_BUF         (256u << 10)
#define RD_BATCH       64     /* reads of one reader per poll round */
#define LOG_READ_MAX   (4ull << 30)

static const char *const dmn_files[] = {
	"nomoatd.conf", "nomoatd.out", "events.jsonl", "events.sock", "metrics.sock", "nomoatd.pid",
};

static int dpath(const struct bench_daemon *d, const char *name, char *out, size_t len)
{
	return bench_pathf(NULL, out, len, "%s/%s", d->dir, name);
}

/* ---- starting the daemon ----------------------------------------------- */

static int write_config(const struct bench_env *e, struct bench_daemon *d)
{
	char root[PATH_MAX], conf[PATH_MAX];
	size_t rl;
	FILE *f;
	int err;

	err = nm_cgroup2_mount(root, sizeof(root));
	if (err) {
		bench_err("no cgroup2 mount: %s", strerror(-err));
		return err;
	}
	rl = strlen(root);
	if (strncmp(d->cg_app, root, rl) || d->cg_app[rl] != '/') {
		bench_err("%s is not below %s", d->cg_app, root);
		return -EINVAL;
	}
	if ((err = dpath(d, "nomoatd.conf", conf, sizeof(conf))))
		return err;
	f = fopen(conf, "wxe");
	if (!f) {
		err = -errno;
		bench_err("%s: %s", conf, strerror(errno));
		return err;
	}
	(void)e;
	fprintf(f, "# written by nomoat-bench for its own nomoatd (pin dir %s)\n", d->pin_dir);
	fprintf(f, "attach %s\n", d->cg);
	fprintf(f, "bind %s %s\n", d->cg_app + rl, DMN_POLICY);
	fprintf(f, "events-log %s/events.jsonl\n", d->dir);
	fprintf(f, "events-socket %s/events.sock\n", d->dir);
	fprintf(f, "events-rate 0\n");
	fprintf(f, "metrics unix:%s/metrics.sock\n", d->dir);
	fprintf(f, "policy %s {\n\tdefault deny\n\tevents all\n\tallow 127.0.0.1\n}\n", DMN_POLICY);
	err = ferror(f) ? -EIO : 0;
	if (fclose(f) && !err)
		err = -errno;
	if (err)
		bench_err("writing %s: %s", conf, strerror(-err));
	return err;
}

static int dmn_setup(const struct bench_env *e, struct bench_daemon *d)
{
	int err;

	snprintf(d->dir, sizeof(d->dir), "/tmp/nmbench-%d-XXXXXX", (int)getpid());
	if (!mkdtemp(d->dir)) {
		err = -errno;
		bench_err("cannot make a temp dir: %s", strerror(errno));
		return err;
	}
	d->dir_made = true;
	if ((size_t)snprintf(d->cg, sizeof(d->cg), "%s/dmn", e->cg_base) >= sizeof(d->cg) ||
	    (size_t)snprintf(d->cg_app, sizeof(d->cg_app), "%s/app", d->cg) >= sizeof(d->cg_app)) {
		bench_err("cgroup path too long: %s/dmn/app", e->cg_base);
		return -ENAMETOOLONG;
	}
	err = nm_cgroup_create(d->cg);
	if (!err) {
		d->cg_made = true;
		err = nm_cgroup_create(d->cg_app);
	}
	if (err) {
		bench_err("cannot create cgroup %s: %s", d->cg_made ? d->cg_app : d->cg, strerror(-err));
		return err;
	}
	if ((size_t)snprintf(d->pin_dir, sizeof(d->pin_dir), "%s-d", e->pin_dir) >= sizeof(d->pin_dir)) {
		bench_err("pin dir path too long");
		return -ENAMETOOLONG;
	}
	if (!access(d->pin_dir, F_OK)) {
		/* not ours: leave it alone */
		bench_err("%s exists already: refusing to use it", d->pin_dir);
		return -EEXIST;
	}
	return write_config(e, d);
}

static void show_output(const struct bench_daemon *d)
{
	char path[PATH_MAX], buf[2048];
	ssize_t n;
	off_t size;
	int fd;

	if (dpath(d, "nomoatd.out", path, sizeof(path)) || (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return;
	size = lseek(fd, 0, SEEK_END);
	lseek(fd, size > (off_t)sizeof(buf) - 1 ? size - (off_t)sizeof(buf) + 1 : 0, SEEK_SET);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n > 0) {
		buf[n] = 0;
		fflush(stdout);
		fprintf(stderr, "nomoat-bench: nomoatd said:\n%s%s", buf, buf[n - 1] == '\n' ? "" : "\n");
	}
}

static void status_text(int st, char *buf, size_t len)
{
	if (WIFEXITED(st))
		snprintf(buf, len, "exit status %d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		snprintf(buf, len, "killed by signal %d", WTERMSIG(st));
	else
		snprintf(buf, len, "status %#x", st);
}

static int dmn_start(struct bench_daemon *d)
{
	char conf[PATH_MAX], out[PATH_MAX], pidf[PATH_MAX], why[64];
	const char *argv[] = { d->bin, "--config", conf, "--pin-dir", d->pin_dir, "--pidfile", pidf, NULL };
	uint64_t t0, end;
	int err, st;

	if ((err = dpath(d, "nomoatd.conf", conf, sizeof(conf))) ||
	    (err = dpath(d, "nomoatd.out", out, sizeof(out))) || (err = dpath(d, "nomoatd.pid", pidf, sizeof(pidf))))
		return err;
	/* From here whatever is at the pin dir was made by the daemon for us. */
	d->pin_ours = true;
	t0 = bench_now_ns();
	d->pid = bench_exec(argv, out);
	if (d->pid < 0) {
		err = d->pid;
		d->pid = 0;
		bench_err("cannot start %s: %s", d->bin, strerror(-err));
		return err;
	}
	end = t0 + DMN_READY_MS * 1000000ull;
	/* Ready when it has written its pid file (after its sockets). */
	while (access(pidf, F_OK)) {
		if (bench_stop)
			return -EINTR;
		if (bench_reap(d->pid, &st) == 1) {
			d->pid = 0;
			status_text(st, why, sizeof(why));
			bench_err("nomoatd ended at start (%s)", why);
			return -EIO;
		}
		if (bench_now_ns() > end) {
			bench_err("nomoatd not ready after %d ms", DMN_READY_MS);
			return -ETIMEDOUT;
		}
		bench_sleep_ms(10);
	}
	d->ready_ms = (bench_now_ns() - t0) / 1e6;
	err = nm_maps_open(d->pin_dir, &d->maps);
	if (err) {
		bench_err("%s", nm_err_msg());
		return err;
	}
	d->maps_open = true;
	return 0;
}

/* The daemon binds the app cgroup when it applies its file: wait for it. */
static int dmn_bound(struct bench_daemon *d)
{
	uint64_t end = bench_now_ns() + DMN_BIND_MS * 1000000ull;
	__u64 cgid;
	__u32 id, cur;
	int err = nm_cgroup_id(d->cg_app, &cgid);

	if (err) {
		bench_err("cgroup id of %s: %s", d->cg_app, strerror(-err));
		return err;
	}
	while (!bench_stop && bench_now_ns() < end) {
		if (!nm_policy_lookup(&d->maps, DMN_POLICY, &id, NULL) &&
		    !bpf_map_lookup_elem(d->maps.bindings, &cgid, &cur) && cur == id)
			return 0;
		nm_err_clear();
		bench_sleep_ms(20);
	}
	if (bench_stop)
		return -EINTR;
	bench_err("nomoatd did not bind %s to policy %s", d->cg_app, DMN_POLICY);
	return -ENOENT;
}

static void dmn_stop(struct bench_daemon *d)
{
	int st = 0, err;

	if (d->pid <= 0)
		return;
	kill(d->pid, SIGTERM);
	err = bench_wait(d->pid, DMN_STOP_MS, &st);
	d->pid = 0;
	d->exit_status = err ? -1 : st;
	if (err)
		bench_err("nomoatd did not stop on SIGTERM in %d ms: killed", DMN_STOP_MS);
}

void bench_daemon_cleanup(struct bench_daemon *d)
{
	char path[PATH_MAX];

	bench_client_free(&d->cl);
	dmn_stop(d);
	if (d->maps_open) {
		nm_maps_close(&d->maps);
		d->maps_open = false;
	}
	/* Its links go with the pin dir, before the cgroup they sit on. */
	if (d->pin_ours && !access(d->pin_dir, F_OK) && nm_unload(d->pin_dir))
		bench_err("cleanup: %s", nm_err_msg());
	d->pin_ours = false;
	if (d->cg_made) {
		int err = nm_cgroup_destroy(d->cg);

		if (err)
			bench_err("cleanup: cgroup %s: %s", d->cg, strerror(-err));
		d->cg_made = false;
	}
	if (d->dir_made) {
		for (size_t i = 0; i < sizeof(dmn_files) / sizeof(dmn_files[0]); i++)
			if (!dpath(d, dmn_files[i], path, sizeof(path)) && unlink(path) && errno != ENOENT)
				bench_err("cleanup: %s: %s", path, strerror(errno));
		if (rmdir(d->dir))
			bench_err("cleanup: %s: %s", d->dir, strerror(errno));
		d->dir_made = false;
	}
}

/* ---- metrics ----------------------------------------------------------- */

struct dmn_metrics {
	uint64_t clients, client_drops, events_out;
};

static bool metric(const char *text, const char *name, uint64_t *v)
{
	size_t n = strlen(name);

	for (const char *l = text; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
		if (!strncmp(l, name, n) && l[n] == ' ') {
			*v = strtoull(l + n + 1, NULL, 10);
			return true;
		}
	}
	return false;
}

/* GET /metrics over the daemon's unix socket; 0 or -errno (quiet). */
static int metrics_get(const struct bench_daemon *d, struct dmn_metrics *mt)
{
	static const char req[] = "GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n";
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	uint64_t end = bench_now_ns() + DMN_HTTP_MS * 1000000ull;
	char path[PATH_MAX], *buf = NULL;
	size_t len = 0;
	int fd, err = 0;

	if (dpath(d, "metrics.sock", path, sizeof(path)) || strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	buf = malloc(DMN_HTTP_MAX + 1);
	if (!buf)
		err = -ENOMEM;
	else if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
		 send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL) != (ssize_t)sizeof(req) - 1)
		err = -errno;
	while (!err) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		uint64_t now = bench_now_ns();
		ssize_t r;

		if (now >= end || len >= DMN_HTTP_MAX) {
			err = -ETIMEDOUT;
			break;
		}
		if (poll(&p, 1, (int)((end - now) / 1000000) + 1) < 0 && errno != EINTR) {
			err = -errno;
			break;
		}
		if (bench_stop) {
			err = -EINTR;
			break;
		}
		r = read(fd, buf + len, DMN_HTTP_MAX - len);
		if (r == 0)
			break;
		if (r < 0 && errno != EINTR && errno != EAGAIN)
			err = -errno;
		if (r > 0)
			len += r;
	}
	close(fd);
	if (!err) {
		buf[len] = 0;
		memset(mt, 0, sizeof(*mt));
		if (strncmp(buf, "HTTP/1.", 7) || strncmp(buf + 8, " 200", 4) ||
		    !metric(buf, "nomoat_event_clients", &mt->clients) ||
		    !metric(buf, "nomoat_event_client_drops_total", &mt->client_drops) ||
		    !metric(buf, "nomoat_events_total", &mt->events_out))
			err = -EPROTO;
	}
	free(buf);
	return err;
}

/* ---- the readers ------------------------------------------------------- */

struct reader {
	int fd;
	char *buf;
	size_t len;
	bool eof;
	uint64_t dec, drop_lines, dropped_ring, dropped_slow, other, t_last_dec;
};

static void on_line(struct reader *r, const char *l, size_t n, uint64_t now)
{
	static const char dec[] = "{\"type\":\"decision\"", drops[] = "{\"type\":\"drops\"";

	if (n >= sizeof(dec) - 1 && !memcmp(l, dec, sizeof(dec) - 1)) {
		r->dec++;
		r->t_last_dec = now;
	} else if (n >= sizeof(drops) - 1 && !memcmp(l, drops, sizeof(drops) - 1)) {
		/* {"type":"drops","events_dropped":N,...,"reason":"..."} */
		const char *k = memmem(l, n, "\"events_dropped\":", 17);
		uint64_t v = k ? strtoull(k + 17, NULL, 10) : 0;

		r->drop_lines++;
		if (memmem(l, n, "client too slow", 15))
			r->dropped_slow += v;
		else
			r->dropped_ring += v;
	} else {
		r->other++;
	}
}

/* Read what is there (bounded), count the complete lines; false on EOF or
 * an error. */
static bool reader_read(struct reader *r, uint64_t *last_data)
{
	for (int i = 0; i < RD_BATCH && !r->eof; i++) {
		ssize_t n = read(r->fd, r->buf + r->len, RD_BUF - r->len);
		uint64_t now;
		size_t start = 0;
		char *nl;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return true;
		if (n <= 0) {
			if (n < 0)
				bench_err("reading the events socket: %s", strerror(errno));
			r->eof = true;
			break;
		}
		now = *last_data = bench_now_ns();
		r->len += n;
		while ((nl = memchr(r->buf + start, '\n', r->len - start))) {
			on_line(r, r->buf + start, nl - (r->buf + start), now);
			start = nl + 1 - r->buf;
		}
		if (start == 0 && r->len == RD_BUF) {
			r->other++; /* a line longer than the buffer: drop it */
			r->len = 0;
		} else {
			memmove(r->buf, r->buf + start, r->len - start);
			r->len -= start;
		}
	}
	return !r->eof;
}

static int reader_open(const struct bench_daemon *d)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char path[PATH_MAX];
	int fd, err;

	if (dpath(d, "events.sock", path, sizeof(path)) || strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) || fcntl(fd, F_SETFL, O_NONBLOCK)) {
		err = -errno;
		close(fd);
		bench_err("connecting to %s: %s", path, strerror(-err));
		return err;
	}
	return fd;
}

static uint64_t count_lines(const char *path)
{
	char *buf = malloc(1u << 20);
	uint64_t n = 0, total = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t r;

	if (fd >= 0 && buf) {
		while (total < LOG_READ_MAX && (r = read(fd, buf, 1u << 20)) > 0) {
			total += r;
			for (char *p = buf; (p = memchr(p, '\n', buf + r - p)); p++)
				n++;
		}
	}
	if (fd >= 0)
		close(fd);
	free(buf);
	return n;
}

/* The daemon's time on a CPU so far, in ns (user and kernel). */
static bool cpu_ns(pid_t pid, uint64_t *ns)
{
	char path[64];
	unsigned long long v;
	FILE *f;
	bool ok;

	snprintf(path, sizeof(path), "/proc/%d/schedstat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	ok = fscanf(f, "%llu", &v) == 1;
	fclose(f);
	*ns = v;
	return ok;
}

static double tv_s(const struct timeval *tv)
{
	return tv->tv_sec + tv->tv_usec / 1e6;
}

/* ---- one run ----------------------------------------------------------- */

/* Wait until the daemon counts k clients. */
static int clients_taken(const struct bench_daemon *d, unsigned k, struct dmn_metrics *mt)
{
	uint64_t end = bench_now_ns() + DMN_BIND_MS * 1000000ull;
	int err = -ETIMEDOUT;

	while (!bench_stop && bench_now_ns() < end) {
		err = metrics_get(d, mt);
		if (!err && mt->clients == k)
			return 0;
		bench_sleep_ms(20);
	}
	if (bench_stop)
		return -EINTR;
	bench_err("nomoatd: %s", err ? strerror(-err) : "the event clients were not taken in time");
	return err ? err : -ETIMEDOUT;
}

static bool all_in(const struct reader *rd, unsigned k, uint64_t want)
{
	for (unsigned i = 0; i < k; i++)
		if (!rd[i].eof && rd[i].dec + rd[i].dropped_slow < want)
			return false;
	return true;
}

/* Has the events log grown since *size?  (The daemon writes every line
 * there at once: while it grows, the daemon is still at work.) */
static bool log_grew(int fd, off_t *size)
{
	struct stat st;

	if (fd < 0 || fstat(fd, &st) || st.st_size == *size)
		return false;
	*size = st.st_size;
	return true;
}

static int traffic(struct bench_daemon *d, struct reader *rd, unsigned k, const struct bench_cmd *cmd,
		   const char *log, struct bench_dmn_run *run)
{
	struct pollfd p[BENCH_DMN_CLIENTS + 1];
	struct bench_reply rep = { 0 };
	uint64_t t0, t_end = 0, last = 0, t_log = 0, kd0;
	int err, lfd = open(log, O_RDONLY | O_CLOEXEC);
	bool replied = false;
	off_t lsize = 0;

	kd0 = nm_percpu_sum(d->maps.gstats, NM_G_EVENTS_DROPPED);
	t0 = last = t_log = bench_now_ns();
	err = bench_client_send(&d->cl, cmd);
	while (!err) {
		uint64_t now, kd;

		for (unsigned i = 0; i < k; i++)
			p[i] = (struct pollfd){ .fd = rd[i].eof ? -1 : rd[i].fd, .events = POLLIN };
		p[k] = (struct pollfd){ .fd = replied ? -1 : d->cl.reply_fd, .events = POLLIN };
		if (poll(p, k + 1, 50) < 0 && errno != EINTR) {
			err = -errno;
			break;
		}
		if (bench_stop) {
			err = -EINTR;
			break;
		}
		for (unsigned i = 0; i < k; i++)
			if (p[i].revents)
				reader_read(&rd[i], &last);
		now = bench_now_ns();
		if (log_grew(lfd, &lsize))
			t_log = last = now;
		if (!replied && p[k].revents) {
			err = bench_client_wait(&d->cl, &rep, 1000);
			if (!err && rep.err) {
				err = rep.err;
				bench_err("client %s: %s: %s", d->cl.name, bench_stage_name(rep.stage), strerror(-err));
			}
			replied = true;
			t_end = now;
			continue;
		}
		if (!replied) {
			if (now - t0 > (cmd->time_ms + 10000ull) * 1000000ull) {
				bench_err("client %s: no answer in time", d->cl.name);
				err = -ETIMEDOUT;
			}
			continue;
		}
		/* After the traffic: until every reader has every event that
		 * was not dropped, or nothing more comes (to the readers or
		 * to the log). */
		kd = nm_percpu_sum(d->maps.gstats, NM_G_EVENTS_DROPPED) - kd0;
		if (all_in(rd, k, rep.done > kd ? rep.done - kd : 0) || now - last > DMN_QUIET_MS * 1000000ull ||
		    now - t_end > DMN_DRAIN_MS * 1000000ull)
			break;
	}
	if (lfd >= 0)
		close(lfd);
	if (err)
		return err;
	run->log_secs = (t_log - t0) / 1e9;
	run->connects = rep.done;
	run->client_secs = rep.elapsed_ns / 1e9;
	run->kernel_drops = nm_percpu_sum(d->maps.gstats, NM_G_EVENTS_DROPPED) - kd0;
	for (unsigned i = 0; i < k; i++) {
		run->dec[i] = rd[i].dec;
		run->dec_s[i] = rd[i].dec ? (rd[i].t_last_dec - t0) / 1e9 : 0;
		run->drop_lines += rd[i].drop_lines;
		/* every reader gets the same ring notes; its own slow ones */
		if (rd[i].dropped_ring > run->dropped_ring)
			run->dropped_ring = rd[i].dropped_ring;
		run->dropped_slow += rd[i].dropped_slow;
		run->other_lines += rd[i].other;
	}
	return 0;
}

static int dmn_run(struct bench_daemon *d, unsigned k, uint32_t rate, struct bench_dmn_run *run)
{
	struct bench_cmd cmd = { .kind = rate ? BC_PACE_UDP : BC_HAMMER_UDP, .count = rate ? rate : 1u << 30,
				 .time_ms = DMN_RUN_MS };
	struct reader rd[BENCH_DMN_CLIENTS];
	struct dmn_metrics m0, m1;
	char log[PATH_MAX];
	int err = 0;

	memset(run, 0, sizeof(*run));
	memset(rd, 0, sizeof(rd));
	run->clients = k;
	run->paced = rate != 0;
	run->rate = rate;
	for (unsigned i = 0; i < k; i++)
		rd[i].fd = -1;
	for (unsigned i = 0; i < k && !err; i++) {
		rd[i].buf = malloc(RD_BUF);
		rd[i].fd = reader_open(d);
		err = rd[i].fd < 0 ? rd[i].fd : rd[i].buf ? 0 : -ENOMEM;
	}
	if (!err)
		err = clients_taken(d, k, &m0);
	if (!err)
		err = dpath(d, "events.jsonl", log, sizeof(log));
	/* The daemon appends (O_APPEND): emptying the log is safe. */
	if (!err && truncate(log, 0)) {
		err = -errno;
		bench_err("%s: %s", log, strerror(errno));
	}
	if (!err) {
		uint64_t c0 = 0, c1 = 0;
		bool ok0 = cpu_ns(d->pid, &c0);
		struct rusage u0, u1;

		getrusage(RUSAGE_SELF, &u0);
		err = traffic(d, rd, k, &cmd, log, run);
		getrusage(RUSAGE_SELF, &u1);
		run->cpu_ok = ok0 && cpu_ns(d->pid, &c1) && c1 >= c0;
		run->cpu_s = run->cpu_ok ? (c1 - c0) / 1e9 : 0;
		run->reader_cpu_s = tv_s(&u1.ru_utime) + tv_s(&u1.ru_stime) - tv_s(&u0.ru_utime) - tv_s(&u0.ru_stime);
	}
	if (!err) {
		run->metrics_ok = metrics_get(d, &m1) == 0;
		if (run->metrics_ok) {
			run->client_drops = m1.client_drops - m0.client_drops;
			run->events_out = m1.events_out - m0.events_out;
		}
		run->log_lines = count_lines(log);
	}
	for (unsigned i = 0; i < k; i++) {
		if (rd[i].fd >= 0)
			close(rd[i].fd);
		free(rd[i].buf);
	}
	return err;
}

static bool run_lost(const struct bench_dmn_run *r)
{
	uint64_t min = UINT64_MAX;

	for (unsigned i = 0; i < r->clients; i++)
		min = r->dec[i] < min ? r->dec[i] : min;
	/* and the log gets every event */
	return r->kernel_drops || r->client_drops || r->drop_lines || min < r->connects ||
	       r->log_lines + r->kernel_drops < r->connects;
}

/* Lines a second the daemon wrote to its log (each event once). */
static double log_rate(const struct bench_dmn_run *r)
{
	return r->log_secs > 0 ? r->log_lines / r->log_secs : 0;
}

/* ---- the part ---------------------------------------------------------- */

/* CPU ns of the bench's reading per line its readers got. */
static double reader_per_line(const struct bench_dmn_run *r)
{
	uint64_t lines = 0;

	for (unsigned i = 0; i < r->clients; i++)
		lines += r->dec[i];
	return lines ? r->reader_cpu_s * 1e9 / lines : 0;
}

/* CPU ns of the daemon per event it wrote (0: unknown). */
static double cpu_per_event(const struct bench_dmn_run *r)
{
	return r->cpu_ok && r->log_lines ? r->cpu_s * 1e9 / r->log_lines : 0;
}

static int dmn_runs(const struct bench_env *e, struct bench_daemon *d)
{
	static const unsigned counts[] = { 1, BENCH_DMN_CLIENTS };
	static const uint32_t targets[] = { DMN_TARGET_1, DMN_TARGET_4 };
	int err = 0;

	for (size_t c = 0; c < sizeof(counts) / sizeof(counts[0]) && !err; c++) {
		double top, lo = 0, hi = 0, rate;
		bool lost;

		fprintf(stderr, "  nomoatd: %u client%s, UDP connects as fast as they go\n", counts[c],
			counts[c] > 1 ? "s" : "");
		if ((err = bench_time_left(e->deadline)) || d->nruns >= BENCH_DMN_RUNS)
			break;
		err = dmn_run(d, counts[c], 0, &d->runs[d->nruns]);
		if (err)
			break;
		top = log_rate(&d->runs[d->nruns]);
		lost = run_lost(&d->runs[d->nruns++]);
		/* Lost some: paced runs, the first at the target; then up by a
		 * quarter while nothing is lost (to what the unpaced run got
		 * through), down to 0.6 of the lowest that lost while nothing
		 * has kept everything, else halfway between the two. */
		rate = targets[c];
		for (int p = 0; lost && p < DMN_PACED; p++) {
			struct bench_dmn_run *r = &d->runs[d->nruns];

			if (rate < 1000 || d->nruns >= BENCH_DMN_RUNS)
				break;
			fprintf(stderr, "  nomoatd: %u client%s, UDP connects paced at %.0f/s\n", counts[c],
				counts[c] > 1 ? "s" : "", rate);
			if ((err = bench_time_left(e->deadline)))
				break;
			err = dmn_run(d, counts[c], (uint32_t)rate, r);
			if (err)
				break;
			d->nruns++;
			if (run_lost(r))
				hi = rate;
			else
				lo = rate;
			if (!hi)
				rate = lo * 1.25 < top ? lo * 1.25 : 0;
			else
				rate = lo ? (lo + hi) / 2 : hi * 0.6;
			if (hi && lo && hi - lo < 0.05 * hi)
				break;
		}
	}
	return err;
}

int bench_daemon_run(const struct bench_env *e, struct bench_daemon *d)
{
	int err;

	d->exit_status = -1;
	if (!bench_sibling("nomoatd", d->bin, sizeof(d->bin))) {
		d->skipped = "nomoatd not found next to nomoat-bench or at build/nomoatd";
		bench_err("%s: skipping the daemon part", d->skipped);
		return 0;
	}
	fprintf(stderr, "  nomoatd: starting %s\n", d->bin);
	err = dmn_setup(e, d);
	if (!err)
		err = dmn_start(d);
	if (!err)
		err = dmn_bound(d);
	if (!err)
		err = bench_client_start(&d->cl, "daemon-udp", d->cg_app, e->ns, e->cpu_cl, &e->srv, 1);
	if (!err)
		err = dmn_runs(e, d);
	if (err && err != -EINTR && d->dir_made)
		show_output(d);
	bench_daemon_cleanup(d);
	return err;
}

/* ---- output ------------------------------------------------------------ */

static void run_rates(const struct bench_dmn_run *r, double *lo, double *hi, uint64_t *recv_lo)
{
	*lo = *hi = 0;
	*recv_lo = 0;
	for (unsigned i = 0; i < r->clients; i++) {
		double v = r->dec_s[i] > 0 ? r->dec[i] / r->dec_s[i] : 0;

		if (i == 0 || v < *lo)
			*lo = v;
		if (i == 0 || v > *hi)
			*hi = v;
		if (i == 0 || r->dec[i] < *recv_lo)
			*recv_lo = r->dec[i];
	}
}

/* The best lossless per-client rate with k clients (-1: none), the CPU
 * per event of that run, and whether the run at the target lost nothing. */
static double best_lossless(const struct bench_daemon *d, unsigned k, uint32_t target, double *cpu, bool *at_target)
{
	double best = -1, lo, hi;
	uint64_t recv;

	*cpu = 0;
	*at_target = false;
	for (int i = 0; i < d->nruns; i++) {
		const struct bench_dmn_run *r = &d->runs[i];

		if (r->clients != k || run_lost(r))
			continue;
		run_rates(r, &lo, &hi, &recv);
		if ((r->paced && r->rate >= target) || lo >= target)
			*at_target = true;
		if (lo > best) {
			best = lo;
			*cpu = cpu_per_event(r);
		}
	}
	return best;
}

void bench_daemon_print(const struct bench_daemon *d)
{
	char st[64] = "not stopped";

	if (d->skipped) {
		printf("\nnomoatd events: skipped (%s)\n", d->skipped);
		return;
	}
	if (!d->nruns)
		return;
	if (d->exit_status >= 0)
		status_text(d->exit_status, st, sizeof(st));
	printf("\nnomoatd events to JSON clients: %s on its own pin dir, ready %.0f ms after start;\n"
	       "policy 'events all', events-rate 0, events-log to a file; one client in the bound cgroup makes UDP\n"
	       "connect()s to 127.0.0.1 for %.1f s (one allowed decision each), unpaced, then, if anything was\n"
	       "lost, paced below the daemon's unpaced rate; every reader counts its type=decision lines;\n"
	       "per-client decisions/s: from the start to the reader's last decision line; daemon lines/s: lines\n"
	       "written to the events log, from the start until it stopped growing; SIGTERM at the end: %s\n",
	       d->bin, d->ready_ms, DMN_RUN_MS / 1e3, st);
	printf("  %7s %-14s %9s %10s %10s %18s %9s %8s %9s %9s %12s %12s %9s %9s %9s\n", "clients", "load",
	       "connects", "connects/s", "daemon/s", "decisions/s/client", "min_recv", "drop_ln", "(ring)", "(slow)",
	       "kernel_drops", "client_drops", "log_lines", "cpu_ns/ev", "rd_ns/ln");
	for (int i = 0; i < d->nruns; i++) {
		const struct bench_dmn_run *r = &d->runs[i];
		char load[32], rates[48];
		double lo, hi;
		uint64_t recv;

		run_rates(r, &lo, &hi, &recv);
		if (r->paced)
			snprintf(load, sizeof(load), "paced %u/s", r->rate);
		else
			snprintf(load, sizeof(load), "unpaced");
		if (r->clients > 1)
			snprintf(rates, sizeof(rates), "%.0f..%.0f", lo, hi);
		else
			snprintf(rates, sizeof(rates), "%.0f", lo);
		printf("  %7u %-14s %9llu %10.0f %10.0f %18s %9llu %8llu %9llu %9llu %12llu", r->clients, load,
		       (unsigned long long)r->connects, r->client_secs > 0 ? r->connects / r->client_secs : 0,
		       log_rate(r), rates, (unsigned long long)recv, (unsigned long long)r->drop_lines,
		       (unsigned long long)r->dropped_ring, (unsigned long long)r->dropped_slow,
		       (unsigned long long)r->kernel_drops);
		if (r->metrics_ok)
			printf(" %12llu", (unsigned long long)r->client_drops);
		else
			printf(" %12s", "?");
		printf(" %9llu %9.0f %9.0f  %s\n", (unsigned long long)r->log_lines, cpu_per_event(r),
		       reader_per_line(r), run_lost(r) ? "lost" : "no drop");
	}
	printf("  (drop_ln: \"drops\" lines all readers got; (ring): the events their \"ring buffer full\" lines\n"
	       "   count (as one reader sees them), (slow): those of their \"client too slow\" lines (all readers);\n"
	       "   kernel_drops: the ring buffer's drop counter; client_drops: nomoat_event_client_drops_total\n"
	       "   from /metrics (all clients); log_lines: lines the daemon wrote to its events log meanwhile;\n"
	       "   cpu_ns/ev: the daemon's CPU time (user and kernel, /proc/PID/schedstat) per line it wrote;\n"
	       "   rd_ns/ln: the bench's own (its readers, getrusage) per decision line they got)\n");
	for (unsigned k = 1; k <= BENCH_DMN_CLIENTS; k += BENCH_DMN_CLIENTS - 1) {
		double best, cpu;
		bool at;

		best = best_lossless(d, k, k == 1 ? DMN_TARGET_1 : DMN_TARGET_4, &cpu, &at);
		if (best >= 0)
			printf("  %u client%s: every event delivered at up to %.0f events/s per client; the daemon's CPU\n"
			       "    per event then %.0f ns (%.0f events/s a core)\n",
			       k, k > 1 ? "s" : "", best, cpu, cpu > 0 ? 1e9 / cpu : 0);
		else
			printf("  %u client%s: events lost at every rate tried\n", k, k > 1 ? "s" : "");
	}
}

void bench_daemon_summary(const struct bench_daemon *d)
{
	double eps1, eps4, cpu1, cpu4;
	bool at1, at4;

	if (d->skipped || !d->nruns)
		return;
	eps1 = best_lossless(d, 1, DMN_TARGET_1, &cpu1, &at1);
	eps4 = best_lossless(d, BENCH_DMN_CLIENTS, DMN_TARGET_4, &cpu4, &at4);
	printf("summary daemon");
	bench_print_limit("daemon_1_eps", eps1 > 0 ? eps1 : 0, 0, true, DMN_TARGET_1);
	bench_print_limit("daemon_4_min_eps", eps4 > 0 ? eps4 : 0, 0, true, DMN_TARGET_4);
	printf(" lossless=%s", at1 && at4 ? "yes" : "no");
	/* what one core of daemon time carries, at the measured cost */
	printf(" daemon_1_cpu_ns_per_event=%.0f daemon_4_cpu_ns_per_event=%.0f", cpu1, cpu4);
	bench_print_limit("daemon_1_cpu_eps", cpu1 > 0 ? 1e9 / cpu1 : 0, 0, true, DMN_TARGET_1);
	bench_print_limit("daemon_4_cpu_eps", cpu4 > 0 ? 1e9 / cpu4 : 0, 0, true, DMN_TARGET_4);
	printf(" runs=%d\n", d->nruns);
}
