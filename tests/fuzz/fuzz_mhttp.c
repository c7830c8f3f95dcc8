// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libFuzzer target: the request parser of nomoatd's metrics endpoint
 * (user/daemon/metrics.c), the one place the daemon reads what a local
 * client sends.  The input is the bytes a client writes: the server listens
 * on a unix socket in a private temporary directory ($TMPDIR or /tmp), a
 * client connects, sends the input (up to its first newline, then the
 * rest), shuts down its sending side and reads until the server closes.
 *
 * Checks, besides crashes and leaks: every connection ends (no hang) and
 * is freed; a complete request head gets exactly one answer whose status
 * is the one metrics.h promises (200, 400, 404, 405, 431), with a
 * well-formed head and a Content-Length that matches the body (none for
 * HEAD); an incomplete head gets no answer.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "metrics.h"

#define TAG 7

#include "fuzz_check.h"

static char dir[128], path[160];
static int epfd = -1;
static struct nm_mhttp h;
static unsigned fills;

static int fill(struct nm_metrics *m, void *ctx)
{
	(void)ctx;
	fills++;
	nm_metrics_family(m, "nomoat_fuzz_scrapes_total", NM_METRIC_COUNTER, "Scrapes.");
	nm_metrics_u64(m, NM_LABELS({ "a", "b\"\\\n" }), fills);
	return 0;
}

static void cleanup(void)
{
	nm_mhttp_close(&h);
	if (epfd >= 0)
		close(epfd);
	unlink(path);
	rmdir(dir);
}

static void setup(void)
{
	const char *tmp = getenv("TMPDIR");
	int ret;

	if (!tmp || tmp[0] != '/' || strlen(tmp) > 60)
		tmp = "/tmp";
	snprintf(dir, sizeof(dir), "%s/nomoat-fuzz-mhttp-XXXXXX", tmp);
	CHECK(mkdtemp(dir), "mkdtemp %s", dir);
	snprintf(path, sizeof(path), "%s/metrics.sock", dir);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	CHECK(epfd >= 0, "epoll_create1");
	ret = nm_mhttp_open(&h, path, epfd, TAG, fill, NULL);
	CHECK(!ret, "nm_mhttp_open(%s): %d", path, ret);
	atexit(cleanup);
}

/* Handle what epoll has now (wait at most ms); the number of events. */
static int pump(int ms)
{
	struct epoll_event ev[16];
	int n = epoll_wait(epfd, ev, 16, ms);

	for (int i = 0; i < n; i++) {
		CHECK(nm_epoll_tag(ev[i].data.u64) == TAG, "event of another tag");
		nm_mhttp_handle(&h, nm_epoll_fd(ev[i].data.u64), ev[i].events);
	}
	return n < 0 ? 0 : n;
}

/* The status the server must answer with, 0 for none (see metrics.h). */
static int expect(const char *req, size_t len, bool *head)
{
	char line[512], *sp1, *sp2, *q;
	size_t n = 0, end = 0, have = len < NM_MHTTP_HEAD_MAX ? len : NM_MHTTP_HEAD_MAX;

	*head = false;
	/* the head ends at an empty line (LF LF or LF CR LF) */
	for (size_t i = 0; i + 1 < have && !end; i++)
		if (req[i] == '\n' && (req[i + 1] == '\n' || (req[i + 1] == '\r' && i + 2 < have && req[i + 2] == '\n')))
			end = i + 1;
	if (!end)
		return len >= NM_MHTTP_HEAD_MAX ? 431 : 0;
	while (n < len && req[n] != '\r' && req[n] != '\n')
		n++;
	if (n >= sizeof(line))
		return 400;
	memcpy(line, req, n);
	line[n] = 0; /* read as a C string, as the server does */
	sp1 = strchr(line, ' ');
	sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
	if (!sp1 || !sp2 || strchr(sp2 + 1, ' ') || strncmp(sp2 + 1, "HTTP/1.", 7))
		return 400;
	*sp1 = *sp2 = 0;
	if (strcmp(line, "GET") && strcmp(line, "HEAD"))
		return 405;
	*head = !strcmp(line, "HEAD");
	q = strchr(sp1 + 1, '?');
	if (q)
		*q = 0;
	return strcmp(sp1 + 1, "/metrics") ? 404 : 200;
}

static void check_answer(const char *resp, size_t len, int code, bool head)
{
	char status[32];
	const char *end = memmem(resp, len, "\r\n\r\n", 4), *cl;
	size_t body, want;

	if (!code) {
		CHECK(len == 0, "an answer to an incomplete head: %.*s", (int)len, resp);
		return;
	}
	CHECK(end, "no end of head in the answer (%zu bytes), want %d", len, code);
	snprintf(status, sizeof(status), "HTTP/1.0 %d ", code);
	CHECK(len > strlen(status) && !memcmp(resp, status, strlen(status)), "answer '%.40s', want %d", resp, code);
	CHECK(memmem(resp, (size_t)(end - resp) + 2, "\r\nConnection: close\r\n", 21), "no Connection: close");
	cl = memmem(resp, (size_t)(end - resp), "\r\nContent-Length: ", 18);
	CHECK(cl, "no Content-Length");
	want = strtoul(cl + 18, NULL, 10);
	body = len - (size_t)(end + 4 - resp);
	if (head)
		CHECK(body == 0, "a body of %zu bytes to HEAD", body);
	else
		CHECK(body == want, "Content-Length %zu, body %zu", want, body);
	for (const char *p = resp; p < end; p++)
		CHECK((unsigned char)*p >= 0x20 || *p == '\r' || *p == '\n', "byte 0x%02x in the answer head",
		      (unsigned char)*p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *req = (const char *)data, *nl = memchr(data, '\n', size);
	size_t first = nl ? (size_t)(nl - req) + 1 : size, len = 0, cap = 1 << 16, sent = 0;
	char *resp = malloc(cap);
	struct nm_mhttp_stats st0, st;
	int fd, code, rounds = 0;
	bool head, eof = false, shut = false;

	if (!dir[0])
		setup();
	CHECK(resp, "out of memory");
	nm_mhttp_stats(&h, &st0);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	CHECK(fd >= 0, "socket");
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	CHECK(!connect(fd, (struct sockaddr *)&sa, sizeof(sa)), "connect %s: %s", path, strerror(errno));
	pump(0);

	/* the first line, then the rest, then EOF; read until the server closes */
	while (!eof) {
		ssize_t r;

		CHECK(++rounds < 20000, "the connection never ended (%zu of %zu bytes sent)", sent, size);
		if (sent < size) {
			size_t upto = sent < first ? first : size;

			r = send(fd, req + sent, upto - sent, MSG_NOSIGNAL);
			if (r > 0)
				sent += (size_t)r;
			else
				CHECK(r < 0 && (errno == EAGAIN || errno == EPIPE || errno == ECONNRESET), "send: %s",
				      strerror(errno));
			if (r < 0 && errno != EAGAIN)
				sent = size; /* the server closed: no more to send */
		}
		if (sent == size && !shut) {
			shutdown(fd, SHUT_WR);
			shut = true;
		}
		pump(rounds > 100 ? 1 : 0);
		r = recv(fd, resp + len, cap - 1 - len, 0);
		if (r > 0)
			len += (size_t)r;
		else if (r == 0 || errno != EAGAIN)
			eof = true;
		CHECK(len < cap - 1, "answer too long");
	}
	close(fd);
	for (int i = 0; i < 1000 && h.nconns; i++)
		pump(i < 10 ? 0 : 1);
	CHECK(h.nconns == 0, "%u connections left open", h.nconns);

	code = expect(req, size, &head);
	check_answer(resp, len, code, head);
	nm_mhttp_stats(&h, &st);
	CHECK(st.requests == st0.requests + (code != 0), "requests %llu -> %llu, want %d answer(s)",
	      (unsigned long long)st0.requests, (unsigned long long)st.requests, code != 0);
	CHECK(st.refused == st0.refused && st.timeouts == st0.timeouts, "refused or timed out");
	free(resp);
	return 0;
}
