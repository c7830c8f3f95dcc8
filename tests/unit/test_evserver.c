// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unit tests for user/daemon/ratelimit.c, user/daemon/evserver.c and
 * user/daemon/stream.c (cmocka): token buckets over simulated time, the
 * event fan-out, line by line and in batches, and the daemon's batching
 * stream, over real unix sockets and a log file in a temporary directory. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "err.h"
#include "evserver.h"
#include "ratelimit.h"
#include "stream.h"
#include "unit_util.h"

#define MS 1000000ULL
#define S  1000000000ULL
#define EVS_TAG 7

/* ==== rate limiter ======================================================== */

struct seen {
	size_t n;
	__u64 key[64], count[64];
};

static void collect(__u64 key, __u64 n, void *ctx)
{
	struct seen *s = ctx;

	assert_true(s->n < 64);
	s->key[s->n] = key;
	s->count[s->n++] = n;
}

static __u64 seen_count(const struct seen *s, __u64 key)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->key[i] == key)
			return s->count[i];
	return 0;
}

static unsigned allow_n(struct nm_rl *rl, __u64 key, __u64 now, unsigned tries)
{
	unsigned ok = 0;

	for (unsigned i = 0; i < tries; i++)
		ok += nm_rl_allow(rl, key, now);
	return ok;
}

static void test_rl_burst(void **state)
{
	struct nm_rl rl;

	(void)state;
	assert_int_equal(nm_rl_init(&rl, 5, 0), 0);
	assert_int_equal(rl.capacity, NM_RL_DEFAULT_CAPACITY);
	assert_int_equal(allow_n(&rl, 42, 1000 * S, 5), 5); /* the burst */
	assert_false(nm_rl_allow(&rl, 42, 1000 * S));
	assert_false(nm_rl_allow(&rl, 42, 1000 * S));
	/* another key has its own bucket */
	assert_int_equal(allow_n(&rl, 43, 1000 * S, 10), 5);
	assert_int_equal(rl.allowed, 10);
	assert_int_equal(rl.limited, 7);
	nm_rl_fini(&rl);
}

static void test_rl_refill(void **state)
{
	__u64 t0 = 5 * S;
	struct nm_rl rl;

	(void)state;
	assert_int_equal(nm_rl_init(&rl, 5, 0), 0); /* a token every 200 ms */
	assert_int_equal(allow_n(&rl, 1, t0, 10), 5);
	assert_false(nm_rl_allow(&rl, 1, t0 + 199 * MS));
	assert_true(nm_rl_allow(&rl, 1, t0 + 200 * MS));
	assert_false(nm_rl_allow(&rl, 1, t0 + 200 * MS));
	/* partial credit accumulates across calls: 100 + 100 ms = one token */
	assert_false(nm_rl_allow(&rl, 1, t0 + 300 * MS));
	assert_true(nm_rl_allow(&rl, 1, t0 + 400 * MS));
	/* a long pause refills to the burst, never beyond */
	assert_int_equal(allow_n(&rl, 1, t0 + 3600 * S, 20), 5);
	/* the clock going back is no time passing */
	assert_false(nm_rl_allow(&rl, 1, t0));
	assert_int_equal(allow_n(&rl, 1, t0 + 3601 * S, 20), 5);
	/* steady state: 5 per second over 10 simulated seconds, 1 ms steps */
	{
		__u64 base = t0 + 4000 * S;
		unsigned ok = 0;

		assert_int_equal(allow_n(&rl, 1, base, 10), 5); /* bucket empty */
		for (__u64 t = 1; t <= 10000; t++)
			ok += nm_rl_allow(&rl, 1, base + t * MS);
		assert_int_equal(ok, 50);
	}
	nm_rl_fini(&rl);
}

static void test_rl_unlimited(void **state)
{
	struct seen s = { 0 };
	struct nm_rl rl;

	(void)state;
	assert_int_equal(nm_rl_init(&rl, 0, 0), 0);
	assert_null(rl.ents);
	assert_int_equal(allow_n(&rl, 9, 0, 100000), 100000);
	assert_int_equal(nm_rl_take_limited(&rl, collect, &s), 0);
	assert_int_equal(s.n, 0);
	nm_rl_fini(&rl);
	assert_int_equal(nm_rl_init(&rl, 1, NM_RL_MAX_CAPACITY + 1), -EINVAL);
	nm_rl_fini(&rl);
}

static void test_rl_limited_counts(void **state)
{
	struct seen s = { 0 };
	struct nm_rl rl;

	(void)state;
	assert_int_equal(nm_rl_init(&rl, 2, 0), 0);
	allow_n(&rl, 100, 0, 5);  /* 3 limited */
	allow_n(&rl, 200, 0, 2);  /* none */
	allow_n(&rl, 300, 0, 12); /* 10 limited */
	assert_int_equal(nm_rl_take_limited(&rl, collect, &s), 2);
	assert_int_equal(seen_count(&s, 100), 3);
	assert_int_equal(seen_count(&s, 300), 10);
	assert_int_equal(seen_count(&s, 200), 0);
	/* reported counts are reset */
	memset(&s, 0, sizeof(s));
	assert_int_equal(nm_rl_take_limited(&rl, collect, &s), 0);
	allow_n(&rl, 300, 0, 1);
	assert_int_equal(nm_rl_take_limited(&rl, collect, &s), 1);
	assert_int_equal(seen_count(&s, 300), 1);
	nm_rl_fini(&rl);
}

static void test_rl_eviction(void **state)
{
	struct seen s = { 0 };
	struct nm_rl rl;

	(void)state;
	assert_int_equal(nm_rl_init(&rl, 1, 4), 0);
	for (__u64 k = 1; k <= 4; k++)
		assert_true(nm_rl_allow(&rl, k, 0));
	assert_false(nm_rl_allow(&rl, 1, 0)); /* 1 is now the most recent, 2 the least */
	assert_false(nm_rl_allow(&rl, 2, 0));
	assert_false(nm_rl_allow(&rl, 2, 0)); /* 2 has 2 limited, now most recent */
	/* order (old -> new): 3 4 1 2; a fifth key evicts 3 */
	assert_true(nm_rl_allow(&rl, 5, 0));
	assert_int_equal(rl.evictions, 1);
	assert_int_equal(rl.used, 4);
	assert_false(nm_rl_allow(&rl, 4, 0)); /* kept: bucket still empty */
	assert_false(nm_rl_allow(&rl, 1, 0));
	assert_false(nm_rl_allow(&rl, 2, 0));
	assert_true(nm_rl_allow(&rl, 3, 0));  /* evicted: back with a full bucket (evicts 5) */
	assert_int_equal(rl.evictions, 2);
	assert_true(nm_rl_allow(&rl, 5, 0));  /* evicted too; evicts 4, which had 1 limited */
	/* counts: 1 -> 2, 2 -> 3, evicted 4 -> 1 under NM_RL_KEY_EVICTED */
	assert_int_equal(nm_rl_take_limited(&rl, collect, &s), 3);
	assert_int_equal(seen_count(&s, 1), 2);
	assert_int_equal(seen_count(&s, 2), 3);
	assert_int_equal(seen_count(&s, NM_RL_KEY_EVICTED), 1);
	assert_int_equal(s.key[s.n - 1], NM_RL_KEY_EVICTED);
	nm_rl_fini(&rl);
}

/* Many keys through the default table: the probe chains stay intact after
 * thousands of backward-shift deletions. */
static void test_rl_eviction_many(void **state)
{
	const __u64 total = 50000, cap = NM_RL_DEFAULT_CAPACITY;
	struct nm_rl rl;

	(void)state;
	assert_int_equal(nm_rl_init(&rl, 1, 0), 0);
	for (__u64 k = 1; k <= total; k++)
		assert_true(nm_rl_allow(&rl, k * 0x9e3779b97f4a7c15ULL, 0));
	assert_int_equal(rl.used, cap);
	assert_int_equal(rl.evictions, total - cap);
	/* the newest cap keys are all there (empty buckets), oldest first so
	 * checking does not evict */
	for (__u64 k = total - cap + 1; k <= total; k++)
		assert_false(nm_rl_allow(&rl, k * 0x9e3779b97f4a7c15ULL, 0));
	assert_int_equal(rl.evictions, total - cap);
	/* an old one is gone: it comes back with a full bucket */
	assert_true(nm_rl_allow(&rl, 1 * 0x9e3779b97f4a7c15ULL, 0));
	nm_rl_fini(&rl);
}

/* ==== event server ======================================================== */

struct fx {
	char dir[64];
	char path[100];
	int epfd;
	struct nm_evs s;
};

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f || ut_fx_dir(f->dir, sizeof(f->dir), "nm-evs", f->path, sizeof(f->path), "events.sock", &f->epfd))
		return -1;
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;
	char p[160];

	nm_evs_close(&f->s);
	close(f->epfd);
	unlink(f->path);
	snprintf(p, sizeof(p), "%s/file", f->dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/dir", f->dir);
	rmdir(p);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void handle(void *s, int fd, __u32 events)
{
	nm_evs_handle(s, fd, events);
}

/* Run the epoll loop until it is quiet for `ms`. */
static void pump(struct fx *f, int ms)
{
	ut_pump(f->epfd, EVS_TAG, ms, handle, &f->s);
}

static void fx_open(struct fx *f)
{
	int ret = nm_evs_open(&f->s, f->path, f->epfd, EVS_TAG);

	if (ret)
		fail_msg("nm_evs_open: %d %s", ret, nm_err_msg());
}

static int client(struct fx *f)
{
	return ut_connect_unix(f->path);
}

static __u64 nclients(struct fx *f)
{
	struct nm_evs_stats st;

	nm_evs_stats(&f->s, &st);
	return st.clients;
}

/* Everything readable on fd now (pumping the server meanwhile), appended. */
static size_t drain(struct fx *f, int fd, char *buf, size_t len, size_t cap)
{
	for (int round = 0; round < 100000; round++) {
		ssize_t r;

		pump(f, 0);
		r = ut_recv_more(fd, buf, &len, cap);
		if (r > 0)
			continue;
		if (r < 0 && errno == EAGAIN) {
			struct pollfd p = { .fd = fd, .events = POLLIN };

			pump(f, 0);
			if (poll(&p, 1, 20) <= 0)
				break;
			continue;
		}
		break;
	}
	buf[len] = 0;
	return len;
}

static void test_evs_two_clients(void **state)
{
	struct fx *f = *state;
	const char line[] = "{\"type\":\"decision\",\"verdict\":\"deny\"}\n";
	char a[256], b[256];
	int ca, cb;

	fx_open(f);
	ca = client(f);
	cb = client(f);
	pump(f, 10);
	assert_int_equal(nclients(f), 2);
	nm_evs_broadcast(&f->s, line, strlen(line));
	/* no final newline: one is added */
	nm_evs_broadcast(&f->s, "{\"n\":2}", 7);
	drain(f, ca, a, 0, sizeof(a));
	drain(f, cb, b, 0, sizeof(b));
	assert_string_equal(a, "{\"type\":\"decision\",\"verdict\":\"deny\"}\n{\"n\":2}\n");
	assert_string_equal(b, a);
	{
		struct nm_evs_stats st;

		nm_evs_stats(&f->s, &st);
		assert_int_equal(st.lines_sent, 4);
		assert_int_equal(st.lines_dropped, 0);
		assert_int_equal(st.clients_accepted, 2);
	}
	close(ca);
	close(cb);
}

/* Client A never reads; client B keeps up and must lose nothing.  A loses
 * what its buffer cannot hold, then gets one drops line before the next. */
static void test_evs_slow_client(void **state)
{
	struct fx *f = *state;
	const unsigned nlines = 5000;
	size_t cap = 4 << 20, alen, blen = 0;
	char *a = malloc(cap), *b = malloc(cap), line[256], want[128], *p;
	unsigned got_a = 0, got_b = 0;
	struct nm_evs_stats st;
	int ca, cb;

	assert_non_null(a);
	assert_non_null(b);
	fx_open(f);
	nm_evs_set_limits(&f->s, 64 << 10, 0);
	ca = client(f);
	cb = client(f);
	pump(f, 10);
	assert_int_equal(nclients(f), 2);
	for (unsigned i = 0; i < nlines; i++) {
		int n = snprintf(line, sizeof(line), "{\"seq\":%06u,\"pad\":\"%0180d\"}\n", i, 0);

		nm_evs_broadcast(&f->s, line, (size_t)n);
		if (i % 64 == 63)
			blen = drain(f, cb, b, blen, cap);
	}
	blen = drain(f, cb, b, blen, cap);
	/* B: every line, in order, no drops note */
	p = b;
	for (unsigned i = 0; i < nlines; i++, got_b++) {
		snprintf(want, sizeof(want), "{\"seq\":%06u,", i);
		if (strncmp(p, want, strlen(want)))
			fail_msg("client B line %u: %.40s", i, p);
		p = strchr(p, '\n') + 1;
	}
	assert_int_equal(*p, 0);
	assert_int_equal(got_b, nlines);
	nm_evs_stats(&f->s, &st);
	assert_true(st.lines_dropped > 0);
	/* A wakes up: first what fit, then the note (as soon as it drained,
	 * with no further line needed), then the next line */
	alen = drain(f, ca, a, 0, cap);
	assert_non_null(strstr(a, "{\"type\":\"drops\""));
	nm_evs_broadcast(&f->s, "{\"final\":1}\n", 12);
	alen = drain(f, ca, a, alen, cap);
	p = a;
	while (!strncmp(p, "{\"seq\":", 7)) {
		snprintf(want, sizeof(want), "{\"seq\":%06u,", got_a);
		assert_int_equal(strncmp(p, want, strlen(want)), 0);
		p = strchr(p, '\n') + 1;
		got_a++;
	}
	assert_true(got_a > 0 && got_a < nlines);
	print_message("slow client: %u lines delivered, %u dropped\n", got_a, nlines - got_a);
	snprintf(want, sizeof(want),
		 "{\"type\":\"drops\",\"events_dropped\":%u,\"reason\":\"client too slow\"}\n{\"final\":1}\n",
		 nlines - got_a);
	assert_string_equal(p, want);
	nm_evs_stats(&f->s, &st);
	assert_int_equal(st.lines_dropped, nlines - got_a);
	assert_int_equal(st.lines_sent, nlines + got_a + 2);
	/* the note is sent once: the next line comes plain */
	nm_evs_broadcast(&f->s, "{\"after\":1}\n", 12);
	alen = drain(f, ca, a, 0, cap);
	assert_string_equal(a, "{\"after\":1}\n");
	close(ca);
	close(cb);
	free(a);
	free(b);
}

/* Lines in batches (as the daemon sends them): B, reading, gets every
 * line in order; A, not reading, gets whole lines only (a line begun on
 * the socket is finished), and before the next line after a gap a note
 * with the exact count it lost. */
static void test_evs_batches(void **state)
{
	struct fx *f = *state;
	const unsigned nbatch = 200, per = 50;
	size_t cap = 8 << 20, alen, blen = 0, len;
	char *a = malloc(cap), *b = malloc(cap), *batch = malloc(per * 256), want[256], *p;
	unsigned seq = 0, got_a = 0, next, gap = 0, dropped = 0;
	struct nm_evs_stats st;
	int ca, cb;

	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(batch);
	fx_open(f);
	nm_evs_set_limits(&f->s, 64 << 10, 0);
	ca = client(f);
	cb = client(f);
	pump(f, 10);
	assert_int_equal(nclients(f), 2);
	for (unsigned i = 0; i < nbatch; i++) {
		len = 0;
		for (unsigned k = 0; k < per; k++, seq++)
			len += (size_t)snprintf(batch + len, 256, "{\"seq\":%06u,\"pad\":\"%0*d\"}\n", seq,
						(int)(seq % 97) + 50, 0);
		nm_evs_broadcast(&f->s, batch, len);
		blen = drain(f, cb, b, blen, cap);
	}
	p = b;
	for (unsigned i = 0; i < seq; i++) {
		snprintf(want, sizeof(want), "{\"seq\":%06u,", i);
		if (strncmp(p, want, strlen(want)))
			fail_msg("client B line %u: %.40s", i, p);
		p = strchr(p, '\n') + 1;
	}
	assert_int_equal(*p, 0);
	alen = drain(f, ca, a, 0, cap);
	nm_evs_broadcast(&f->s, "{\"final\":1}\n", 12);
	alen = drain(f, ca, a, alen, cap);
	/* A: whole lines in order; every gap announced, with its size, by a
	 * note just before the next line delivered (the final one included) */
	for (p = a, next = 0;;) {
		unsigned n, lost;

		if (sscanf(p, "{\"type\":\"drops\",\"events_dropped\":%u,\"reason\":\"client too slow\"}\n", &lost) == 1) {
			assert_true(lost > 0);
			gap = lost;
			p = strchr(p, '\n') + 1;
			continue;
		}
		if (!strcmp(p, "{\"final\":1}\n")) {
			assert_int_equal(gap, seq - next);
			dropped += gap;
			break;
		}
		if (sscanf(p, "{\"seq\":%u,", &n) != 1)
			fail_msg("client A: not a line of the stream: %.60s", p);
		if (n != next + gap)
			fail_msg("client A: line %u after line %u and a note of %u lost", n, next - 1, gap);
		snprintf(want, sizeof(want), "{\"seq\":%06u,\"pad\":\"%0*d\"}\n", n, (int)(n % 97) + 50, 0);
		if (strncmp(p, want, strlen(want)))
			fail_msg("client A line %u is not whole: %.60s", n, p);
		p += strlen(want);
		dropped += gap;
		gap = 0;
		next = n + 1;
		got_a++;
	}
	assert_true(got_a > 0 && got_a < seq);
	assert_int_equal(dropped, seq - got_a);
	nm_evs_stats(&f->s, &st);
	assert_int_equal(st.lines_dropped, seq - got_a);
	assert_int_equal(st.lines_sent, seq + got_a + 2);
	close(ca);
	close(cb);
	free(a);
	free(b);
	free(batch);
}

/* The daemon's stream (stream.h): lines batched, then one write to the
 * log and one broadcast; a full batch goes out by itself. */
static void test_stream_batches(void **state)
{
	struct fx *f = *state;
	char logp[160], *got = malloc(1 << 20), *want = malloc(1 << 20), line[128];
	size_t glen = 0, wlen = 0, n;
	struct nm_stream out;
	FILE *log, *rd;
	int ca;

	assert_non_null(got);
	assert_non_null(want);
	fx_open(f);
	ca = client(f);
	pump(f, 10);
	snprintf(logp, sizeof(logp), "%s/file", f->dir);
	log = fopen(logp, "w");
	assert_non_null(log);
	assert_int_equal(nm_stream_open(&out), 0);
	out.log = log;
	out.evs = &f->s;
	/* encoded in place, copied in, a missing newline added */
	n = (size_t)snprintf(nm_stream_room(&out, 64), 64, "{\"n\":0}\n");
	nm_stream_commit(&out, n);
	nm_stream_line(&out, "{\"n\":1}", 7);
	assert_int_equal(out.lines, 2);
	wlen = (size_t)snprintf(want, 64, "{\"n\":0}\n{\"n\":1}\n");
	/* nothing has gone out before the flush */
	assert_int_equal(ftell(log), 0);
	glen = drain(f, ca, got, 0, 1 << 20);
	assert_int_equal(glen, 0);
	nm_stream_flush(&out);
	/* more than a batch holds: the first batch goes out by itself */
	for (unsigned i = 2; wlen < NM_STREAM_BATCH + 4096; i++) {
		n = (size_t)snprintf(line, sizeof(line), "{\"n\":%u,\"pad\":\"%080d\"}\n", i, 0);
		nm_stream_line(&out, line, n);
		memcpy(want + wlen, line, n);
		wlen += n;
	}
	assert_true(out.len < wlen - NM_STREAM_BATCH + 4096);
	nm_stream_close(&out);
	fclose(log);
	glen = drain(f, ca, got, 0, 1 << 20);
	assert_int_equal(glen, wlen);
	assert_memory_equal(got, want, wlen);
	rd = fopen(logp, "r");
	assert_non_null(rd);
	assert_int_equal(fread(got, 1, 1 << 20, rd), wlen);
	fclose(rd);
	assert_memory_equal(got, want, wlen);
	close(ca);
	free(got);
	free(want);
}

static void test_evs_client_gone(void **state)
{
	struct fx *f = *state;
	char buf[256];
	int ca, cb, cc;

	fx_open(f);
	ca = client(f);
	cb = client(f);
	cc = client(f);
	pump(f, 10);
	assert_int_equal(nclients(f), 3);
	close(ca);
	pump(f, 10);
	assert_int_equal(nclients(f), 2);
	/* one that only stops sending is still a reader */
	assert_int_equal(shutdown(cc, SHUT_WR), 0);
	pump(f, 10);
	assert_int_equal(nclients(f), 2);
	nm_evs_broadcast(&f->s, "{\"x\":1}\n", 8);
	drain(f, cc, buf, 0, sizeof(buf));
	assert_string_equal(buf, "{\"x\":1}\n");
	/* anything a client sends is discarded */
	assert_int_equal(send(cb, "hello\n", 6, 0), 6);
	pump(f, 10);
	drain(f, cb, buf, 0, sizeof(buf));
	assert_string_equal(buf, "{\"x\":1}\n");
	/* closed with unread data: removed at the next hangup or write */
	close(cb);
	close(cc);
	pump(f, 10);
	nm_evs_broadcast(&f->s, "{\"x\":2}\n", 8);
	pump(f, 10);
	assert_int_equal(nclients(f), 0);
}

static void test_evs_max_clients(void **state)
{
	struct fx *f = *state;
	char buf[256];
	int ca, cb;

	fx_open(f);
	nm_evs_set_limits(&f->s, 0, 1);
	ca = client(f);
	cb = client(f);
	pump(f, 10);
	assert_int_equal(nclients(f), 1);
	drain(f, cb, buf, 0, sizeof(buf));
	assert_string_equal(buf, "{\"type\":\"error\",\"reason\":\"too many clients\"}\n");
	close(ca);
	close(cb);
}

static void test_evs_socket_mode(void **state)
{
	struct fx *f = *state;
	mode_t old = umask(0); /* the socket must be 0600 whatever the umask */
	struct stat st;

	fx_open(f);
	umask(old);
	assert_int_equal(lstat(f->path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_uid, geteuid());
	assert_true(nm_evs_fd(&f->s) >= 0);
	/* close unlinks it */
	nm_evs_close(&f->s);
	assert_int_equal(lstat(f->path, &st), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(nm_evs_fd(&f->s), -1);
	nm_evs_close(&f->s); /* twice is fine */
}

static void test_evs_refuse_non_socket(void **state)
{
	struct fx *f = *state;
	char file[160], dir[160], big[200];
	struct stat st;
	int fd;

	snprintf(file, sizeof(file), "%s/file", f->dir);
	fd = open(file, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "keep", 4), 4);
	close(fd);
	nm_err_clear();
	assert_int_equal(nm_evs_open(&f->s, file, f->epfd, EVS_TAG), -EEXIST);
	assert_non_null(strstr(nm_err_msg(), "not a socket"));
	assert_int_equal(lstat(file, &st), 0);
	assert_true(S_ISREG(st.st_mode) && st.st_size == 4);
	nm_evs_close(&f->s);

	snprintf(dir, sizeof(dir), "%s/dir", f->dir);
	assert_int_equal(mkdir(dir, 0700), 0);
	assert_int_equal(nm_evs_open(&f->s, dir, f->epfd, EVS_TAG), -EEXIST);
	nm_evs_close(&f->s);

	memset(big, 'x', sizeof(big) - 1);
	big[0] = '/';
	big[sizeof(big) - 1] = 0;
	assert_int_equal(nm_evs_open(&f->s, big, f->epfd, EVS_TAG), -ENAMETOOLONG);
	assert_int_equal(nm_evs_open(&f->s, "", f->epfd, EVS_TAG), -EINVAL);
	nm_evs_close(&f->s);
}

static void test_evs_stale_and_live(void **state)
{
	struct fx *f = *state;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct nm_evs other;
	int fd;

	/* a socket file nobody listens on is replaced */
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f->path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	fx_open(f);
	/* a live one is not */
	assert_int_equal(nm_evs_open(&other, f->path, f->epfd, EVS_TAG + 1), -EADDRINUSE);
	nm_evs_close(&other);
	/* and the live server's socket is still there and working */
	fd = client(f);
	pump(f, 10);
	assert_int_equal(nclients(f), 1);
	close(fd);
}

/* Another user reaching the socket (here: mode opened up on purpose) is
 * still not served. */
static void test_evs_peer_not_root(void **state)
{
	struct fx *f = *state;
	struct nm_evs_stats st;
	int status = -1;
	pid_t pid;

	if (geteuid() != 0)
		skip();
	fx_open(f);
	assert_int_equal(chmod(f->dir, 0711), 0);
	assert_int_equal(chmod(f->path, 0666), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct timeval tv = { .tv_sec = 5 };
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		char c;
		int fd;

		if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
			_exit(2);
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f->path);
		if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
			_exit(3);
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		_exit(recv(fd, &c, 1, 0) == 0 ? 0 : 4); /* closed, nothing sent */
	}
	for (int i = 0; i < 500 && waitpid(pid, &status, WNOHANG) == 0; i++) {
		pump(f, 10);
		nm_evs_broadcast(&f->s, "{\"secret\":1}\n", 13);
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		fail_msg("child status %d", status);
	nm_evs_stats(&f->s, &st);
	assert_int_equal(st.clients, 0);
	assert_int_equal(st.clients_refused, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rl_burst),
		cmocka_unit_test(test_rl_refill),
		cmocka_unit_test(test_rl_unlimited),
		cmocka_unit_test(test_rl_limited_counts),
		cmocka_unit_test(test_rl_eviction),
		cmocka_unit_test(test_rl_eviction_many),
		cmocka_unit_test_setup_teardown(test_evs_two_clients, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_evs_slow_client, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_evs_batches, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_stream_batches, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_evs_client_gone, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_evs_max_clients, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_evs_socket_mode, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_evs_refuse_non_socket, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_evs_stale_and_live, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_evs_peer_not_root, fx_setup, fx_teardown),
	};

	/* SIGPIPE stays fatal: the server must never raise it (MSG_NOSIGNAL) */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
