// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unit tests for user/daemon/metrics.c (cmocka): the Prometheus text
 * builder, and the GET /metrics responder over unix and loopback TCP. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "err.h"
#include "metrics.h"
#include "unit_util.h"

#define TAG 3

/* ==== the builder ========================================================= */

static const char *text(struct nm_metrics *m)
{
	return nm_metrics_text(m, NULL);
}

static void test_render_exact(void **state)
{
	struct nm_metrics m;
	size_t len;

	(void)state;
	nm_metrics_init(&m);
	assert_string_equal(text(&m), "");
	nm_metrics_begin(&m);
	nm_metrics_family(&m, "nomoat_decisions_total", NM_METRIC_COUNTER, "Decisions by policy and verdict.");
	nm_metrics_u64(&m, NM_LABELS({ "policy", "agents" }, { "verdict", "deny" }), 42);
	nm_metrics_u64(&m, NM_LABELS({ "policy", "agents" }, { "verdict", "allow" }), 0);
	nm_metrics_family(&m, "nomoat_stream_clients", NM_METRIC_GAUGE, "Event stream clients connected.");
	nm_metrics_u64(&m, NULL, 0, 3);
	nm_metrics_family(&m, "nomoat:ratio", NM_METRIC_UNTYPED, NULL);
	nm_metrics_f64(&m, NULL, 0, 0.25);
	assert_int_equal(nm_metrics_error(&m), 0);
	assert_string_equal(text(&m),
			    "# HELP nomoat_decisions_total Decisions by policy and verdict.\n"
			    "# TYPE nomoat_decisions_total counter\n"
			    "nomoat_decisions_total{policy=\"agents\",verdict=\"deny\"} 42\n"
			    "nomoat_decisions_total{policy=\"agents\",verdict=\"allow\"} 0\n"
			    "# HELP nomoat_stream_clients Event stream clients connected.\n"
			    "# TYPE nomoat_stream_clients gauge\n"
			    "nomoat_stream_clients 3\n"
			    "# TYPE nomoat:ratio untyped\n"
			    "nomoat:ratio 0.25\n");
	nm_metrics_text(&m, &len);
	assert_int_equal(len, strlen(text(&m)));
	/* begin starts over */
	nm_metrics_begin(&m);
	assert_string_equal(text(&m), "");
	nm_metrics_free(&m);
}

static void test_escaping(void **state)
{
	struct nm_metrics m;

	(void)state;
	nm_metrics_init(&m);
	nm_metrics_begin(&m);
	/* HELP: backslash and newline escaped, a double quote is not */
	nm_metrics_family(&m, "x_total", NM_METRIC_COUNTER, "a \\ b\nc \"d\"");
	/* label values: backslash, double quote and newline */
	nm_metrics_u64(&m, NM_LABELS({ "cgroup", "/sys/fs/cgroup/a\\b\"c\nd" }), 1);
	nm_metrics_u64(&m, NM_LABELS({ "empty", "" }), 2);
	assert_int_equal(nm_metrics_error(&m), 0);
	assert_string_equal(text(&m), "# HELP x_total a \\\\ b\\nc \"d\"\n"
				      "# TYPE x_total counter\n"
				      "x_total{cgroup=\"/sys/fs/cgroup/a\\\\b\\\"c\\nd\"} 1\n"
				      "x_total{empty=\"\"} 2\n");
	nm_metrics_free(&m);
}

static void test_bad_names(void **state)
{
	struct nm_metrics m;

	(void)state;
	nm_metrics_init(&m);
	nm_metrics_begin(&m);
	nm_metrics_u64(&m, NULL, 0, 1); /* no family yet */
	assert_int_equal(nm_metrics_error(&m), -EINVAL);
	assert_string_equal(text(&m), "");

	nm_metrics_begin(&m);
	nm_metrics_family(&m, "0bad", NM_METRIC_GAUGE, "h");
	nm_metrics_u64(&m, NULL, 0, 1); /* belongs to the bad family: skipped */
	assert_int_equal(nm_metrics_error(&m), -EINVAL);
	assert_string_equal(text(&m), "");

	nm_metrics_begin(&m);
	nm_metrics_family(&m, "ok", NM_METRIC_GAUGE, NULL);
	nm_metrics_u64(&m, NM_LABELS({ "bad-name", "v" }), 1);
	nm_metrics_u64(&m, NM_LABELS({ "__reserved", "v" }), 1);
	nm_metrics_u64(&m, NM_LABELS({ "a:b", "v" }), 1);
	nm_metrics_u64(&m, NM_LABELS({ "good", NULL }), 1);
	nm_metrics_u64(&m, NM_LABELS({ "good", "v" }), 1);
	assert_int_equal(nm_metrics_error(&m), -EINVAL);
	assert_string_equal(text(&m), "# TYPE ok gauge\nok{good=\"v\"} 1\n");

	nm_metrics_begin(&m);
	assert_int_equal(nm_metrics_error(&m), 0);
	nm_metrics_family(&m, "bad name", NM_METRIC_GAUGE, NULL);
	nm_metrics_family(&m, "", NM_METRIC_GAUGE, NULL);
	assert_int_equal(nm_metrics_error(&m), -EINVAL);
	nm_metrics_free(&m);
}

static void test_floats(void **state)
{
	static const struct {
		double v;
		const char *want;
	} cases[] = {
		{ 0.1, "0.1" },     { 1.5, "1.5" },       { -2.0, "-2" },
		{ 1e21, "1e+21" },  { 123456789.0, "123456789" },
		{ 1.0 / 3, "0.3333333333333333" }, { 0.1 + 0.2, "0.30000000000000004" },
	};
	struct nm_metrics m;

	(void)state;
	nm_metrics_init(&m);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char want[64];

		nm_metrics_begin(&m);
		nm_metrics_family(&m, "f", NM_METRIC_GAUGE, NULL);
		nm_metrics_f64(&m, NULL, 0, cases[i].v);
		snprintf(want, sizeof(want), "# TYPE f gauge\nf %s\n", cases[i].want);
		assert_string_equal(text(&m), want);
	}
	nm_metrics_begin(&m);
	nm_metrics_family(&m, "f", NM_METRIC_GAUGE, NULL);
	nm_metrics_f64(&m, NULL, 0, NAN);
	nm_metrics_f64(&m, NULL, 0, INFINITY);
	nm_metrics_f64(&m, NULL, 0, -INFINITY);
	nm_metrics_u64(&m, NULL, 0, UINT64_MAX);
	assert_string_equal(text(&m), "# TYPE f gauge\nf NaN\nf +Inf\nf -Inf\nf 18446744073709551615\n");
	nm_metrics_free(&m);
}

/* Every sample line of a realistic exposition matches the format. */
static void test_parse_check(void **state)
{
	const char *re_s = "^[a-zA-Z_:][a-zA-Z0-9_:]*(\\{([a-zA-Z_][a-zA-Z0-9_]*=\"([^\"\\\\]|\\\\.)*\",?)*\\})?"
			   " [0-9.eE+-]+$";
	static const char *verdicts[] = { "deny", "allow", "redirect", "would-deny", "would-redirect" };
	struct nm_metrics m;
	regex_t re;
	char *copy, *line, *save = NULL;
	unsigned samples = 0;

	(void)state;
	assert_int_equal(regcomp(&re, re_s, REG_EXTENDED | REG_NOSUB), 0);
	nm_metrics_init(&m);
	nm_metrics_begin(&m);
	nm_metrics_family(&m, "nomoat_decisions_total", NM_METRIC_COUNTER, "Decisions.\nBy verdict \\ policy.");
	for (unsigned i = 0; i < 5; i++)
		nm_metrics_u64(&m, NM_LABELS({ "policy", "we\"ird\\na\nme" }, { "verdict", verdicts[i] }),
			       (__u64)i * 1000003);
	nm_metrics_family(&m, "nomoat_events_limited_total", NM_METRIC_COUNTER, "Limited.");
	nm_metrics_u64(&m, NM_LABELS({ "cgroup", "/sys/fs/cgroup/agents/a1" }, { "cgroup_id", "101" }), 17);
	nm_metrics_family(&m, "nomoat_up", NM_METRIC_GAUGE, "1 when loaded.");
	nm_metrics_u64(&m, NULL, 0, 1);
	nm_metrics_family(&m, "nomoat_last_event_age_seconds", NM_METRIC_GAUGE, "Age.");
	nm_metrics_f64(&m, NULL, 0, 0.000123);
	nm_metrics_f64(&m, NM_LABELS({ "x", "" }), -1.5e300);
	assert_int_equal(nm_metrics_error(&m), 0);

	copy = strdup(text(&m));
	assert_non_null(copy);
	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == '#') {
			assert_true(!strncmp(line, "# HELP ", 7) || !strncmp(line, "# TYPE ", 7));
			continue;
		}
		if (regexec(&re, line, 0, NULL, 0))
			fail_msg("line does not parse: '%s'", line);
		samples++;
	}
	assert_int_equal(samples, 9);
	/* the check itself rejects broken lines */
	assert_int_not_equal(regexec(&re, "x{a=\"b\"c\"} 1", 0, NULL, 0), 0);
	assert_int_not_equal(regexec(&re, "x{a=\"b\\\"} 1", 0, NULL, 0), 0);
	assert_int_not_equal(regexec(&re, "x-y 1", 0, NULL, 0), 0);
	free(copy);
	regfree(&re);
	nm_metrics_free(&m);
}

/* ==== the responder ======================================================= */

struct fx {
	char dir[64];
	char path[100];
	int epfd;
	struct nm_mhttp h;
	unsigned fills;
	int fill_ret;
};

static int fill(struct nm_metrics *m, void *ctx)
{
	struct fx *f = ctx;

	f->fills++;
	nm_metrics_family(m, "nomoat_scrapes_total", NM_METRIC_COUNTER, "Scrapes.");
	nm_metrics_u64(m, NULL, 0, f->fills);
	return f->fill_ret;
}

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f || ut_fx_dir(f->dir, sizeof(f->dir), "nm-metrics", f->path, sizeof(f->path), "metrics.sock", &f->epfd))
		return -1;
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;

	nm_mhttp_close(&f->h);
	close(f->epfd);
	unlink(f->path);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void handle(void *h, int fd, __u32 events)
{
	nm_mhttp_handle(h, fd, events);
}

/* Run the epoll loop until it is quiet for `ms`. */
static void pump(struct fx *f, int ms)
{
	ut_pump(f->epfd, TAG, ms, handle, &f->h);
}

static void fx_open(struct fx *f, const char *addr)
{
	int ret = nm_mhttp_open(&f->h, addr, f->epfd, TAG, fill, f);

	if (ret)
		fail_msg("nm_mhttp_open(%s): %d %s", addr, ret, nm_err_msg());
}

static int connect_tcp(int family, int port)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t len;
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	if (family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons((__u16)port);
		s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof(*s4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((__u16)port);
		s6->sin6_addr = in6addr_loopback;
		len = sizeof(*s6);
	}
	assert_int_equal(connect(fd, (struct sockaddr *)&ss, len), 0);
	return fd;
}

/* Send req on fd, run the server until it closes its side; the answer
 * (malloc'd, NUL-terminated).  fd is closed. */
static char *roundtrip(struct fx *f, int fd, const char *req, size_t reqlen)
{
	size_t cap = 1 << 16, len = 0;
	char *buf = malloc(cap);

	assert_non_null(buf);
	if (reqlen)
		assert_int_equal(send(fd, req, reqlen, MSG_NOSIGNAL), (ssize_t)reqlen);
	for (int round = 0; round < 3000; round++) {
		ssize_t r;

		pump(f, 1);
		r = ut_recv_more(fd, buf, &len, cap);
		if (r == 0 || (r < 0 && errno != EAGAIN))
			break;
	}
	buf[len] = 0;
	close(fd);
	pump(f, 1);
	return buf;
}

static char *get(struct fx *f, int fd, const char *target)
{
	char req[256];
	int n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: localhost\r\nUser-Agent: test\r\n\r\n", target);

	return roundtrip(f, fd, req, (size_t)n);
}

/* "HTTP/1.0 200 OK\r\n...\r\n\r\nbody": check the status, the content type
 * and the length; return the body. */
static const char *check_answer(const char *resp, int code, const char *ctype)
{
	char status[64];
	const char *body = strstr(resp, "\r\n\r\n"), *cl;
	char want_ct[128];

	if (!body)
		fail_msg("no head end in '%s'", resp);
	body += 4;
	snprintf(status, sizeof(status), "HTTP/1.0 %d ", code);
	if (strncmp(resp, status, strlen(status)))
		fail_msg("want %d, got '%.40s'", code, resp);
	snprintf(want_ct, sizeof(want_ct), "\r\nContent-Type: %s\r\n", ctype);
	if (!strstr(resp, want_ct))
		fail_msg("no '%s' in '%s'", ctype, resp);
	assert_non_null(strstr(resp, "\r\nConnection: close\r\n"));
	cl = strstr(resp, "\r\nContent-Length: ");
	assert_non_null(cl);
	assert_int_equal(strtoul(cl + 18, NULL, 10), strlen(body));
	return body;
}

static void test_http_unix(void **state)
{
	struct fx *f = *state;
	struct nm_mhttp_stats st;
	struct stat sb;
	char *r;

	fx_open(f, f->path);
	assert_int_equal(nm_mhttp_port(&f->h), 0);
	assert_int_equal(lstat(f->path, &sb), 0);
	assert_true(S_ISSOCK(sb.st_mode));
	assert_int_equal(sb.st_mode & 07777, 0600);

	r = get(f, ut_connect_unix(f->path), "/metrics");
	assert_string_equal(check_answer(r, 200, "text/plain; version=0.0.4"),
			    "# HELP nomoat_scrapes_total Scrapes.\n"
			    "# TYPE nomoat_scrapes_total counter\n"
			    "nomoat_scrapes_total 1\n");
	free(r);
	/* the callback runs for every request; a query string is ignored */
	r = get(f, ut_connect_unix(f->path), "/metrics?x=1");
	assert_non_null(strstr(check_answer(r, 200, NM_MHTTP_CTYPE), "nomoat_scrapes_total 2\n"));
	free(r);
	r = get(f, ut_connect_unix(f->path), "/other");
	check_answer(r, 404, "text/plain; charset=utf-8");
	free(r);
	r = get(f, ut_connect_unix(f->path), "/metricsx");
	check_answer(r, 404, "text/plain; charset=utf-8");
	free(r);
	nm_mhttp_stats(&f->h, &st);
	assert_int_equal(st.requests, 4);
	assert_int_equal(st.ok, 2);
	assert_int_equal(st.errors, 2);
	assert_int_equal(f->h.nconns, 0);
	/* close unlinks the socket */
	nm_mhttp_close(&f->h);
	assert_int_equal(lstat(f->path, &sb), -1);
}

static void test_http_methods(void **state)
{
	struct fx *f = *state;
	static const char head_req[] = "HEAD /metrics HTTP/1.0\r\n\r\n";
	static const char post[] = "POST /metrics HTTP/1.0\r\nContent-Length: 0\r\n\r\n";
	static const char junk[] = "GARBAGE\r\n\r\n";
	static const char bare_lf[] = "GET /metrics HTTP/1.0\n\n";
	char *r, big[NM_MHTTP_HEAD_MAX + 100];
	int n;

	fx_open(f, f->path);
	r = roundtrip(f, ut_connect_unix(f->path), head_req, sizeof(head_req) - 1);
	assert_int_equal(strncmp(r, "HTTP/1.0 200 OK\r\n", 17), 0);
	assert_non_null(strstr(r, "Content-Type: text/plain; version=0.0.4\r\n"));
	assert_string_equal(strstr(r, "\r\n\r\n"), "\r\n\r\n"); /* no body */
	free(r);
	r = roundtrip(f, ut_connect_unix(f->path), post, sizeof(post) - 1);
	check_answer(r, 405, "text/plain; charset=utf-8");
	assert_non_null(strstr(r, "\r\nAllow: GET, HEAD\r\n"));
	free(r);
	r = roundtrip(f, ut_connect_unix(f->path), junk, sizeof(junk) - 1);
	check_answer(r, 400, "text/plain; charset=utf-8");
	free(r);
	r = roundtrip(f, ut_connect_unix(f->path), bare_lf, sizeof(bare_lf) - 1);
	check_answer(r, 200, NM_MHTTP_CTYPE);
	free(r);
	/* a head over 8 KiB */
	n = snprintf(big, sizeof(big), "GET /metrics HTTP/1.0\r\nX-Pad: ");
	memset(big + n, 'a', sizeof(big) - (size_t)n);
	r = roundtrip(f, ut_connect_unix(f->path), big, sizeof(big));
	check_answer(r, 431, "text/plain; charset=utf-8");
	free(r);
	/* the callback fails: 500 */
	f->fill_ret = -EIO;
	r = get(f, ut_connect_unix(f->path), "/metrics");
	check_answer(r, 500, "text/plain; charset=utf-8");
	free(r);
	assert_int_equal(f->h.nconns, 0);
}

static void test_http_deadline_and_limit(void **state)
{
	struct fx *f = *state;
	struct nm_mhttp_stats st;
	char *r;
	int idle, extra;

	fx_open(f, f->path);
	nm_mhttp_set_limits(&f->h, 150, 1);
	/* a client that sends nothing is closed at the deadline */
	idle = ut_connect_unix(f->path);
	assert_int_equal(send(idle, "GET /met", 8, 0), 8);
	pump(f, 20);
	assert_int_equal(f->h.nconns, 1);
	/* over the limit: 503 */
	extra = ut_connect_unix(f->path);
	r = roundtrip(f, extra, NULL, 0);
	assert_int_equal(strncmp(r, "HTTP/1.0 503 ", 13), 0);
	free(r);
	r = roundtrip(f, idle, NULL, 0); /* waits for the server to give up */
	assert_string_equal(r, "");
	free(r);
	nm_mhttp_stats(&f->h, &st);
	assert_int_equal(st.timeouts, 1);
	assert_int_equal(st.refused, 1);
	assert_int_equal(f->h.nconns, 0);
	/* and it serves again */
	r = get(f, ut_connect_unix(f->path), "/metrics");
	check_answer(r, 200, NM_MHTTP_CTYPE);
	free(r);
}

static void test_http_tcp(void **state)
{
	struct fx *f = *state;
	char *r;
	int port;

	fx_open(f, "127.0.0.1:0");
	port = nm_mhttp_port(&f->h);
	assert_true(port > 0);
	r = get(f, connect_tcp(AF_INET, port), "/metrics");
	assert_string_equal(check_answer(r, 200, NM_MHTTP_CTYPE),
			    "# HELP nomoat_scrapes_total Scrapes.\n"
			    "# TYPE nomoat_scrapes_total counter\n"
			    "nomoat_scrapes_total 1\n");
	free(r);
	r = get(f, connect_tcp(AF_INET, port), "/");
	check_answer(r, 404, "text/plain; charset=utf-8");
	free(r);
	nm_mhttp_close(&f->h);
}

static void test_http_tcp6(void **state)
{
	struct fx *f = *state;
	char *r;
	int ret = nm_mhttp_open(&f->h, "[::1]:0", f->epfd, TAG, fill, f);

	if (ret == -EADDRNOTAVAIL || ret == -EAFNOSUPPORT)
		skip(); /* no IPv6 loopback here */
	assert_int_equal(ret, 0);
	r = get(f, connect_tcp(AF_INET6, nm_mhttp_port(&f->h)), "/metrics");
	check_answer(r, 200, NM_MHTTP_CTYPE);
	free(r);
}

static unsigned count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	unsigned n = 0;

	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static void test_refuse_non_loopback(void **state)
{
	struct fx *f = *state;
	static const struct {
		const char *addr, *msg;
	} bad[] = {
		{ "10.0.0.1:9464", "not a loopback address" },
		{ "0.0.0.0:9464", "not a loopback address" },
		{ "[::]:9464", "not a loopback address" },
		{ "[fe80::1]:9464", "not a loopback address" },
		{ "[::ffff:10.0.0.1]:9464", "not a loopback address" },
		{ "::1:9464", "endpoint needs a port" },     /* a bare IPv6 address */
		{ "localhost:9464", "not an IPv4 or IPv6 address" },
		{ "127.0.0.1", "endpoint needs a port" },
		{ "127.0.0.1:", "port" },
		{ "127.0.0.1:65536", "port" },
		{ "127.0.0.1:94x", "port" },
		{ "[::1]9464", "expected ':port' after ']'" },
		{ "127.0.0.1:09", "leading zero" },
		{ ":9464", "missing address" },
		{ "", "empty" },
	};
	unsigned before = count_fds();

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int ret;

		nm_err_clear();
		ret = nm_mhttp_open(&f->h, bad[i].addr, f->epfd, TAG, fill, f);
		if (ret != -EINVAL)
			fail_msg("'%s' gave %d", bad[i].addr, ret);
		assert_int_equal(nm_err_kind(), NM_E_INPUT);
		if (!strstr(nm_err_msg(), bad[i].msg))
			fail_msg("'%s': \"%s\" lacks \"%s\"", bad[i].addr, nm_err_msg(), bad[i].msg);
		assert_int_equal(nm_mhttp_fd(&f->h), -1);
		nm_mhttp_close(&f->h);
	}
	/* nothing was bound: no socket was even made */
	assert_int_equal(count_fds(), before);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_render_exact),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_bad_names),
		cmocka_unit_test(test_floats),
		cmocka_unit_test(test_parse_check),
		cmocka_unit_test_setup_teardown(test_http_unix, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_http_methods, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_http_deadline_and_limit, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_http_tcp, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_http_tcp6, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_refuse_non_loopback, fx_setup, fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
