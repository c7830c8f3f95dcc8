// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * nomoat-bench: the loopback server and the client workers.
 *
 * The server accepts and closes.  A client cycle is socket, connect, read
 * until the server's FIN, close: so the server closes first and its side
 * keeps the TIME_WAIT, the client's ephemeral ports are free again at once.
 *
 * The parent drives a client through two pipes (struct bench_cmd down,
 * struct bench_reply up); per-cycle times go to a shared anonymous mapping.
 */
#include "bench.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SERVER_LIFE_S    3600       /* a server never outlives this */
#define SERVER_MAX_CONNS (1u << 30)
#define CLIENT_MAX_CMDS  100000
#define PACE_STEP_NS     1000000ull /* BC_PACE_UDP: one batch a millisecond */

const char *bench_stage_name(uint32_t stage)
{
	static const char *names[] = {
		[BS_NONE] = "-", [BS_SOCKET] = "socket", [BS_CONNECT] = "connect",
		[BS_READ] = "read", [BS_TIME] = "time bound", [BS_ARGS] = "bad command",
	};

	return stage < sizeof(names) / sizeof(names[0]) ? names[stage] : "?";
}

static int read_full(int fd, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t r = read(fd, (char *)buf + got, len - got);

		if (r == 0)
			return -EPIPE;
		if (r < 0 && errno != EINTR)
			return -errno;
		if (r > 0)
			got += r;
	}
	return 0;
}

static int write_full(int fd, const void *buf, size_t len)
{
	size_t put = 0;

	while (put < len) {
		ssize_t r = write(fd, (const char *)buf + put, len - put);

		if (r < 0 && errno != EINTR)
			return -errno;
		if (r > 0)
			put += r;
	}
	return 0;
}

/* ---- server ------------------------------------------------------------ */

struct server_arg {
	int port_fd; /* write the port here, then close it */
};

static int listen_loopback(struct sockaddr_in *sa)
{
	struct timeval tv = { .tv_sec = 1 };
	socklen_t len = sizeof(*sa);
	int fd, one = 1;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	/* accept() wakes up every second, so the loop is bounded in time. */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    bind(fd, (struct sockaddr *)sa, sizeof(*sa)) || listen(fd, 4096) ||
	    getsockname(fd, (struct sockaddr *)sa, &len)) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

static int server_main(void *p)
{
	struct server_arg *a = p;
	uint64_t end = bench_now_ns() + SERVER_LIFE_S * 1000000000ull;
	struct sockaddr_in sa;
	int lfd = listen_loopback(&sa);
	uint16_t port = lfd < 0 ? 0 : ntohs(sa.sin_port);

	if (lfd < 0)
		bench_err("server: listen on 127.0.0.1: %s", strerror(-lfd));
	if (write_full(a->port_fd, &port, sizeof(port)) || lfd < 0)
		return 1;
	close(a->port_fd);
	for (uint32_t n = 0; n < SERVER_MAX_CONNS; n++) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

		if (fd >= 0) {
			close(fd);
			continue;
		}
		if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) {
			bench_err("server: accept: %s", strerror(errno));
			return 1;
		}
		if (bench_now_ns() > end)
			break;
	}
	return 0;
}

int bench_server_start(struct bench_server *s, const char *cgroup, const char *netns, int cpu)
{
	struct server_arg a;
	struct pollfd pfd;
	uint16_t port = 0;
	int fds[2], err;

	if (pipe2(fds, O_CLOEXEC))
		return -errno;
	a.port_fd = fds[1];
	s->pid = bench_spawn(cgroup, netns, cpu, server_main, &a);
	close(fds[1]);
	if (s->pid < 0) {
		err = s->pid;
		close(fds[0]);
		bench_err("cannot start the server for netns %s: %s", netns, strerror(-err));
		return err;
	}
	pfd = (struct pollfd){ .fd = fds[0], .events = POLLIN };
	err = poll(&pfd, 1, 10000) == 1 ? read_full(fds[0], &port, sizeof(port)) : -ETIMEDOUT;
	close(fds[0]);
	if (err || !port) {
		bench_err("the server in netns %s did not start%s%s", netns, err ? ": " : "",
			  err ? strerror(-err) : "");
		return err ? err : -EIO;
	}
	memset(&s->addr, 0, sizeof(s->addr));
	s->addr.sin_family = AF_INET;
	s->addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->addr.sin_port = htons(port);
	return 0;
}

/* ---- client ------------------------------------------------------------ */

struct client_arg {
	int cmd_fd, reply_fd;     /* the child's ends */
	int other[2];             /* the parent's ends, closed in the child */
	struct sockaddr_in dst;
	uint32_t *samples;
	size_t cap;
	uint32_t *stop;
};

/* One connect+accept+close cycle; 0 or -errno with *stage. */
static int tcp_cycle(const struct sockaddr_in *dst, uint32_t *stage)
{
	char b;
	ssize_t n;
	int fd, err = 0;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*stage = BS_SOCKET;
		return -errno;
	}
	if (connect(fd, (const struct sockaddr *)dst, sizeof(*dst))) {
		*stage = BS_CONNECT;
		err = -errno;
	} else if ((n = read(fd, &b, 1)) != 0) {
		/* The server closes without writing: EOF is the only answer. */
		*stage = BS_READ;
		err = n < 0 ? -errno : -EPROTO;
	}
	close(fd);
	return err;
}

static void do_cycles(const struct client_arg *a, const struct bench_cmd *c, struct bench_reply *r)
{
	uint64_t start = bench_now_ns(), end = start + c->time_ms * 1000000ull, t0, t1;
	uint32_t total = c->warmup + c->count;

	if (c->offset > a->cap || c->count > a->cap - c->offset) {
		r->err = -EINVAL;
		r->stage = BS_ARGS;
		return;
	}
	t0 = start;
	for (uint32_t i = 0; i < total; i++) {
		int err = tcp_cycle(&a->dst, &r->stage);

		t1 = bench_now_ns();
		if (err) {
			r->err = err;
			return;
		}
		if (i >= c->warmup) {
			uint64_t d = t1 - t0;

			a->samples[c->offset + i - c->warmup] = d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
			r->done++;
		}
		if (i + 1 == c->warmup)
			start = t1;
		if (t1 > end) {
			r->err = -ETIME;
			r->stage = BS_TIME;
			return;
		}
		t0 = t1;
	}
	r->elapsed_ns = bench_now_ns() - start;
}

static bool stopped(const struct client_arg *a)
{
	return __atomic_load_n(a->stop, __ATOMIC_RELAXED) != 0;
}

/* Cycles back to back, each one's time kept from sample 0 on, until the
 * parent raises the stop flag (or the time bound, or the buffer is full:
 * the parent sees that from done and the times). */
static void do_window(const struct client_arg *a, const struct bench_cmd *c, struct bench_reply *r)
{
	uint64_t t0, t1, end;

	for (uint32_t i = 0; i < c->warmup && !stopped(a); i++) {
		int err = tcp_cycle(&a->dst, &r->stage);

		if (err) {
			r->err = err;
			return;
		}
	}
	t0 = r->start_ns = bench_now_ns();
	end = t0 + c->time_ms * 1000000ull;
	for (size_t i = 0; i < a->cap && !stopped(a); i++) {
		int err = tcp_cycle(&a->dst, &r->stage);
		uint64_t d;

		t1 = bench_now_ns();
		if (err) {
			r->err = err;
			break;
		}
		d = t1 - t0;
		a->samples[i] = d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
		r->done++;
		t0 = t1;
		if (t1 > end)
			break;
	}
	r->elapsed_ns = t0 - r->start_ns;
}

static void do_hammer_tcp(const struct client_arg *a, const struct bench_cmd *c, struct bench_reply *r)
{
	uint64_t start = bench_now_ns(), end = start + c->time_ms * 1000000ull, now = start;

	for (uint32_t i = 0; i < c->count && now < end; i++) {
		int err = tcp_cycle(&a->dst, &r->stage);

		if (err) {
			r->err = err;
			break;
		}
		r->done++;
		now = bench_now_ns();
	}
	r->elapsed_ns = bench_now_ns() - start;
}

/* connect() on a UDP socket runs the connect4 hook and sends nothing. */
static void do_hammer_udp(const struct client_arg *a, const struct bench_cmd *c, struct bench_reply *r)
{
	uint64_t start = bench_now_ns(), end = start + c->time_ms * 1000000ull, now = start;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		r->err = -errno;
		r->stage = BS_SOCKET;
		return;
	}
	for (uint32_t i = 0; i < c->count && now < end; i++) {
		if (connect(fd, (const struct sockaddr *)&a->dst, sizeof(a->dst))) {
			r->err = -errno;
			r->stage = BS_CONNECT;
			break;
		}
		r->done++;
		/* The clock every 64 connects: it would cost as much as one. */
		if ((i & 63) == 63)
			now = bench_now_ns();
	}
	r->elapsed_ns = bench_now_ns() - start;
	close(fd);
}

/* UDP connect()s at c->count per second: every millisecond, as many as
 * the schedule asks for by then, then sleep to the next step. */
static void do_pace_udp(const struct client_arg *a, const struct bench_cmd *c, struct bench_reply *r)
{
	uint64_t start = bench_now_ns(), end = start + c->time_ms * 1000000ull, now = start;
	uint64_t steps = c->time_ms + 1000ull; /* bound: one step a ms, and some */
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		r->err = -errno;
		r->stage = BS_SOCKET;
		return;
	}
	r->start_ns = start;
	for (uint64_t k = 1; k <= steps && now < end; k++) {
		uint64_t want = (uint64_t)c->count * k / 1000, due = start + k * PACE_STEP_NS;
		struct timespec ts = { (time_t)(due / 1000000000ull), (long)(due % 1000000000ull) };

		while (r->done < want) {
			if (connect(fd, (const struct sockaddr *)&a->dst, sizeof(a->dst))) {
				r->err = -errno;
				r->stage = BS_CONNECT;
				goto out;
			}
			r->done++;
		}
		now = bench_now_ns();
		if (now < due && now < end)
			clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
		now = bench_now_ns();
	}
out:
	r->elapsed_ns = bench_now_ns() - start;
	close(fd);
}

static int client_main(void *p)
{
	struct client_arg *a = p;

	close(a->other[0]);
	close(a->other[1]);
	for (int n = 0; n < CLIENT_MAX_CMDS; n++) {
		struct bench_reply r = { 0 };
		struct bench_cmd c;

		if (read_full(a->cmd_fd, &c, sizeof(c)))
			return 0; /* the parent is gone or done */
		switch (c.kind) {
		case BC_CYCLES:
			do_cycles(a, &c, &r);
			break;
		case BC_HAMMER_TCP:
			do_hammer_tcp(a, &c, &r);
			break;
		case BC_HAMMER_UDP:
			do_hammer_udp(a, &c, &r);
			break;
		case BC_WINDOW:
			do_window(a, &c, &r);
			break;
		case BC_PACE_UDP:
			do_pace_udp(a, &c, &r);
			break;
		case BC_QUIT:
			return 0;
		default:
			r.err = -EINVAL;
			r.stage = BS_ARGS;
		}
		if (write_full(a->reply_fd, &r, sizeof(r)))
			return 1;
	}
	return 0;
}

/* The shared mapping: cap samples, then the stop flag. */
static size_t map_len(size_t cap)
{
	return (cap + 1) * sizeof(uint32_t);
}

int bench_client_start(struct bench_client *c, const char *name, const char *cgroup, const char *netns,
		       int cpu, const struct sockaddr_in *dst, size_t cap)
{
	struct client_arg a = { .dst = *dst, .cap = cap };
	int cmd[2], rep[2], err;

	memset(c, 0, sizeof(*c));
	c->name = name;
	c->cmd_fd = c->reply_fd = -1;
	c->samples = mmap(NULL, map_len(cap), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (c->samples == MAP_FAILED) {
		c->samples = NULL;
		err = -errno;
		goto fail;
	}
	c->cap = cap;
	c->stop = c->samples + cap;
	if (pipe2(cmd, O_CLOEXEC)) {
		err = -errno;
		goto fail;
	}
	if (pipe2(rep, O_CLOEXEC)) {
		err = -errno;
		close(cmd[0]);
		close(cmd[1]);
		goto fail;
	}
	a.cmd_fd = cmd[0];
	a.reply_fd = rep[1];
	a.other[0] = cmd[1];
	a.other[1] = rep[0];
	a.samples = c->samples;
	a.stop = c->stop;
	c->pid = bench_spawn(cgroup, netns, cpu, client_main, &a);
	close(cmd[0]);
	close(rep[1]);
	c->cmd_fd = cmd[1];
	c->reply_fd = rep[0];
	if (c->pid < 0) {
		err = c->pid;
		c->pid = 0;
		goto fail;
	}
	return 0;
fail:
	bench_err("cannot start client %s: %s", name, strerror(-err));
	bench_client_free(c);
	return err;
}

int bench_client_send(struct bench_client *c, const struct bench_cmd *cmd)
{
	int err = write_full(c->cmd_fd, cmd, sizeof(*cmd));

	if (err)
		bench_err("client %s: cannot send a command: %s", c->name, strerror(-err));
	return err;
}

int bench_client_wait(struct bench_client *c, struct bench_reply *r, int timeout_ms)
{
	uint64_t end = bench_now_ns() + (uint64_t)timeout_ms * 1000000ull;
	struct pollfd pfd = { .fd = c->reply_fd, .events = POLLIN };
	int err = -ETIMEDOUT;

	/* A signal ends the wait early; the caller checks bench_stop. */
	while (!bench_stop) {
		uint64_t now = bench_now_ns();
		int n;

		if (now >= end)
			break;
		n = poll(&pfd, 1, (int)((end - now) / 1000000) + 1);
		if (n < 0 && errno != EINTR) {
			err = -errno;
			break;
		}
		if (n == 1) {
			err = read_full(c->reply_fd, r, sizeof(*r));
			break;
		}
	}
	if (bench_stop && err == -ETIMEDOUT)
		return -EINTR;
	if (err) {
		bench_err("client %s: %s", c->name,
			  err == -ETIMEDOUT ? "no answer in time, killed" : strerror(-err));
		if (c->pid > 0) {
			kill(c->pid, SIGKILL);
			bench_wait(c->pid, 1000, NULL);
			c->pid = 0;
		}
	}
	return err;
}

int bench_client_run(struct bench_client *c, const struct bench_cmd *cmd, struct bench_reply *r,
		     int timeout_ms)
{
	int err = bench_client_send(c, cmd);

	if (!err)
		err = bench_client_wait(c, r, timeout_ms);
	if (!err && r->err) {
		err = r->err;
		bench_err("client %s: %s: %s", c->name, bench_stage_name(r->stage), strerror(-err));
	}
	return err;
}

void bench_client_free(struct bench_client *c)
{
	if (c->pid > 0) {
		kill(c->pid, SIGKILL);
		bench_wait(c->pid, 1000, NULL);
	}
	if (c->cmd_fd >= 0)
		close(c->cmd_fd);
	if (c->reply_fd >= 0)
		close(c->reply_fd);
	if (c->samples)
		munmap(c->samples, map_len(c->cap));
	c->pid = 0;
	c->cmd_fd = c->reply_fd = -1;
	c->samples = NULL;
	c->stop = NULL;
}
