// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* events [--count N] [--timeout SECONDS] [--backlog] [--socket PATH] */
#include "cli.h"
#include "err.h"
#include "events.h"
#include "evline.h"
#include "parse.h"
#include "policy.h"

#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/libbpf.h>

#define NM_EVENTS_SOCKET_DEFAULT "/run/nomoat/events.sock"
#define SOCKET_BUF (256u << 10) /* reads from the daemon, and writes of them */

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int parse_count(const char *opt, const char *s, unsigned long max, unsigned long *out)
{
	char *end;

	errno = 0;
	if (!s)
		return 0;
	if (s[0] < '0' || s[0] > '9')
		return nm_usage("--%s '%s': not a number", opt, s);
	*out = strtoul(s, &end, 10);
	if (errno || *end || *out > max)
		return nm_usage("--%s '%s': expected a whole number 0..%lu", opt, s, max);
	return 0;
}

struct ev_ctx {
	struct nm_cli *c;
	struct nm_event_fmt fmt;
	unsigned long seen, want;
	bool skipping; /* draining what was queued before we started */
};

/* libbpf stops consuming (and keeps the rest queued) on a negative return. */
#define NM_EV_STOP (-ECANCELED)

static int on_event(void *arg, void *data, size_t len)
{
	struct ev_ctx *x = arg;
	char line[NM_EVLINE_MAX];
	size_t n;

	if (x->skipping || len < sizeof(struct nm_event))
		return 0;
	/* into stdout's buffer: flushed after each pass, not each line */
	n = nm_event_line(&x->fmt, data, line, sizeof(line));
	if (n)
		fwrite(line, 1, n, stdout);
	if (x->want && ++x->seen >= x->want)
		return NM_EV_STOP;
	return 0;
}

static void report_drops(struct nm_cli *c, __u64 dropped, __u64 total)
{
	if (c->json) {
		nm_evline_drops(&c->j, dropped, true, total, NULL);
	} else {
		printf("!! %llu events dropped (ring buffer full; %llu since load)\n", (unsigned long long)dropped,
		       (unsigned long long)total);
		fflush(stdout);
	}
}

/* The complete lines of buf[0..*have) written out (up to the want-th
 * decision line), the rest moved to the front.  *skipping: the start of
 * the first line was dropped (longer than the buffer): drop the rest. */
static void socket_lines(char *buf, size_t *have, bool *skipping, unsigned long want, unsigned long *seen)
{
	static const char dec[] = "\"type\":\"decision\"";
	size_t pos = 0, run = 0;
	char *nl;

	while ((!want || *seen < want) && (nl = memchr(buf + pos, '\n', *have - pos))) {
		size_t end = (size_t)(nl - buf) + 1;

		if (*skipping) {
			*skipping = false;
			run = end;
		} else if (memmem(buf + pos, end - pos, dec, sizeof(dec) - 1)) {
			(*seen)++;
		}
		pos = end;
	}
	/* one write for all the lines of a read */
	if (pos > run) {
		fwrite(buf + run, 1, pos - run, stdout);
		fflush(stdout);
	}
	memmove(buf, buf + pos, *have - pos);
	*have -= pos;
	if (*have == SOCKET_BUF) {
		*have = 0; /* a line longer than the buffer: drop it */
		*skipping = true;
	}
}

/* From nomoatd's socket: it is the one ring-buffer reader when it runs, and
 * serves JSON lines to any number of clients. */
static int events_from_socket(struct nm_cli *c, const char *path, unsigned long want, unsigned long timeout)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t have = 0;
	unsigned long seen = 0;
	bool skipping = false;
	struct timespec t0, now;
	int fd, ret = 0;
	char *buf;

	(void)c;
	if (strlen(path) >= sizeof(sa.sun_path))
		return nm_usage("--socket '%s': path too long", path);
	strcpy(sa.sun_path, path);
	buf = malloc(SOCKET_BUF);
	if (!buf)
		return nm_fail(NM_E_RUNTIME, -ENOMEM, "no memory for a %u KiB buffer", SOCKET_BUF >> 10);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		ret = nm_fail(NM_E_RUNTIME, -errno, "%s: %s: is nomoatd running?", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		free(buf);
		return ret;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!stop && (!want || seen < want)) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t r;

		clock_gettime(CLOCK_MONOTONIC, &now);
		if (timeout && (unsigned long)(now.tv_sec - t0.tv_sec) >= timeout) {
			if (want)
				ret = nm_fail(NM_E_RUNTIME, -ETIMEDOUT, "timed out after %lus with %lu of %lu events",
					      timeout, seen, want);
			break;
		}
		if (poll(&p, 1, 100) <= 0)
			continue;
		r = read(fd, buf + have, SOCKET_BUF - have);
		if (r <= 0) {
			if (r < 0 && errno == EINTR)
				continue;
			ret = r ? nm_fail(NM_E_RUNTIME, -errno, "%s: %s", path, strerror(errno)) : 0;
			break;
		}
		have += (size_t)r;
		socket_lines(buf, &have, &skipping, want, &seen);
	}
	close(fd);
	free(buf);
	return ret;
}

int nm_cmd_events(struct nm_cli *c, int argc, char **argv)
{
	const char *count_s = NULL, *timeout_s = NULL, *sock = NULL;
	bool backlog = false;
	struct nm_opt opts[] = {
		{ "count", &count_s, NULL },
		{ "timeout", &timeout_s, NULL },
		{ "backlog", NULL, &backlog },
		{ "socket", &sock, NULL },
		{ NULL, NULL, NULL },
	};
	unsigned long timeout = 0;
	struct ev_ctx x = { .c = c };
	struct ring_buffer *rb = NULL;
	struct timespec t0, now;
	struct nm_maps m;
	__u64 drops0, drops;
	int n, ret;

	ret = nm_opts_parse(argc, argv, opts, NULL, 0, &n, NULL, NULL);
	if (ret)
		return ret;
	if (parse_count("count", count_s, 1000000000UL, &x.want) ||
	    parse_count("timeout", timeout_s, 86400UL * 365, &timeout))
		return -EINVAL;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, on_signal);
	/* With the default pin dir and nomoatd's socket present, read from the
	 * daemon: a second ring-buffer reader would steal its events. */
	if (!sock && !strcmp(c->pin_dir, NM_PIN_DIR_DEFAULT) && access(NM_EVENTS_SOCKET_DEFAULT, F_OK) == 0)
		sock = NM_EVENTS_SOCKET_DEFAULT;
	if (sock)
		return events_from_socket(c, sock, x.want, timeout);
	ret = nm_cli_maps(c, &m);
	if (ret)
		return ret;
	nm_event_fmt_init(&x.fmt, &m, c->json, c->pretty);
	rb = ring_buffer__new(m.events, on_event, &x, NULL);
	if (!rb) {
		ret = nm_fail(NM_E_RUNTIME, -errno, "cannot read the event ring buffer: %s", strerror(errno));
		goto out;
	}
	/* A stream starts now: what was queued before is skipped unless
	 * --backlog asks for it. */
	if (!backlog) {
		x.skipping = true;
		ring_buffer__consume(rb);
		x.skipping = false;
	}
	drops0 = nm_percpu_sum(m.gstats, NM_G_EVENTS_DROPPED);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (isatty(STDERR_FILENO))
		fprintf(stderr, "nomoat: streaming events (Ctrl-C stops)\n");
	while (!stop) {
		int r = ring_buffer__poll(rb, NM_EVENTS_POLL_MS);

		/* The kernel wakes us only past a backlog: read what is
		 * there after every poll, timed out or not. */
		if (r >= 0)
			r = ring_buffer__consume(rb);
		fflush(stdout);
		nm_event_fmt_refresh(&x.fmt);
		if (r == -EINTR || r == NM_EV_STOP)
			break;
		if (r < 0) {
			ret = nm_fail(NM_E_RUNTIME, r, "polling events: %s", strerror(-r));
			break;
		}
		if (x.want && x.seen >= x.want)
			break;
		/* Drops are never silent: report them in the stream. */
		drops = nm_percpu_sum(m.gstats, NM_G_EVENTS_DROPPED);
		if (drops != drops0) {
			report_drops(c, drops - drops0, drops);
			drops0 = drops;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (timeout && (unsigned long)(now.tv_sec - t0.tv_sec) >= timeout) {
			if (x.want && x.seen < x.want)
				ret = nm_fail(NM_E_RUNTIME, -ETIMEDOUT, "timed out after %lus with %lu of %lu events",
					      timeout, x.seen, x.want);
			break;
		}
	}
out:
	ring_buffer__free(rb);
	nm_maps_close(&m);
	return ret;
}
