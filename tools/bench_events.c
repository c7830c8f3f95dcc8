// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * nomoat-bench: how many events a consumer takes off the ring buffer while
 * a client connects as fast as it can, and whether the kernel dropped any.
 * The consumer does what every consumer must (read and check each record)
 * and nothing more: formatting is the reader's cost, not the pipeline's.
 */
#include "bench.h"
#include "pins.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#define HAMMER_MAX_CONNECTS (1u << 30)
#define DRAIN_MAX_ROUNDS    100000

struct ev_count {
	__u32 policy_id;
	uint64_t n, unexpected;
};

static int on_event(void *ctx, void *data, size_t len)
{
	struct ev_count *x = ctx;
	const struct nm_event *e = data;

	x->n++;
	if (len < sizeof(*e) || e->policy_id != x->policy_id || e->verdict != NM_V_ALLOW)
		x->unexpected++;
	return 0;
}

/* Consume whatever is in the buffer; true if anything was. */
static bool drain(struct ring_buffer *rb)
{
	bool any = false;

	for (int i = 0; i < DRAIN_MAX_ROUNDS; i++) {
		if (ring_buffer__consume(rb) <= 0)
			break;
		any = true;
	}
	return any;
}

static bool reply_ready(const struct bench_client *c)
{
	struct pollfd pfd = { .fd = c->reply_fd, .events = POLLIN };

	return poll(&pfd, 1, 0) == 1;
}

/* Poll the ring buffer until the client answers (bounded). */
static int consume_until_reply(struct ring_buffer *rb, struct bench_client *c, uint64_t deadline,
			       struct bench_reply *rep)
{
	while (!bench_stop && bench_now_ns() < deadline) {
		int n = ring_buffer__poll(rb, 20);

		if (n >= 0) /* the kernel wakes us only past a backlog */
			n = ring_buffer__consume(rb);
		if (n < 0 && n != -EINTR) {
			bench_err("polling the ring buffer: %s", strerror(-n));
			return n;
		}
		if (reply_ready(c))
			return bench_client_wait(c, rep, 1000);
	}
	if (bench_stop)
		return -EINTR;
	bench_err("client %s: no answer in time", c->name);
	return -ETIMEDOUT;
}

int bench_event_rate(const struct nm_maps *m, struct bench_client *c, uint32_t kind, uint32_t ms,
		     __u32 policy_id, struct bench_evres *out)
{
	struct bench_cmd cmd = { .kind = kind, .count = HAMMER_MAX_CONNECTS, .time_ms = ms };
	struct ev_count x = { .policy_id = policy_id };
	struct bench_reply rep = { 0 };
	struct ring_buffer *rb;
	uint64_t t0, t_end = 0, drops0;
	int err;

	out->kind = kind;
	rb = ring_buffer__new(m->events, on_event, &x, NULL);
	if (!rb) {
		err = -errno;
		bench_err("cannot open the event ring buffer: %s", strerror(errno));
		return err;
	}
	/* Leftovers of earlier phases are not part of the count. */
	drain(rb);
	x.n = x.unexpected = 0;
	drops0 = nm_percpu_sum(m->gstats, NM_G_EVENTS_DROPPED);
	t0 = bench_now_ns();
	err = bench_client_send(c, &cmd);
	if (!err)
		err = consume_until_reply(rb, c, t0 + (ms + 10000ull) * 1000000ull, &rep);
	/* The run ends when the client has answered and the buffer is empty. */
	if (!err) {
		drain(rb);
		t_end = bench_now_ns();
	}
	ring_buffer__free(rb);
	if (!err && rep.err) {
		err = rep.err;
		bench_err("client %s: %s: %s", c->name, bench_stage_name(rep.stage), strerror(-err));
	}
	if (err)
		return err;
	out->connects = rep.done;
	out->consumed = x.n;
	out->unexpected = x.unexpected;
	out->dropped = nm_percpu_sum(m->gstats, NM_G_EVENTS_DROPPED) - drops0;
	out->secs = (t_end - t0) / 1e9;
	out->client_secs = rep.elapsed_ns / 1e9;
	return 0;
}
