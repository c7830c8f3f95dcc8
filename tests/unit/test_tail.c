/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Unit tests for the daemon's log follower (user/daemon/tail.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tail.h"

struct got {
	char lines[64][128];
	int n;
};

static void on_line(const char *line, size_t len, void *arg)
{
	struct got *g = arg;

	if (g->n < 64 && len < sizeof(g->lines[0])) {
		memcpy(g->lines[g->n], line, len);
		g->lines[g->n][len] = 0;
	}
	g->n++;
}

static void append(const char *path, const char *text)
{
	FILE *f = fopen(path, "a");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static char *tmp_path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "/tmp/nomoat-test-tail-%d-%s", (int)getpid(), name);
	unlink(buf);
	return buf;
}

/* Old lines are skipped; new complete lines come, a partial one waits. */
static void test_tail_follow(void **state)
{
	static struct nm_tail t;
	struct got g = { 0 };
	char p[256];

	(void)state;
	tmp_path(p, sizeof(p), "follow");
	append(p, "{\"old\":1}\n");
	nm_tail_init(&t, p);
	assert_int_equal(nm_tail_read(&t, on_line, &g, 100), 0);
	append(p, "{\"a\":1}\n{\"b\":2}\n{\"c\":");
	assert_int_equal(nm_tail_read(&t, on_line, &g, 100), 2);
	assert_string_equal(g.lines[0], "{\"a\":1}");
	assert_string_equal(g.lines[1], "{\"b\":2}");
	append(p, "3}\n");
	assert_int_equal(nm_tail_read(&t, on_line, &g, 100), 1);
	assert_string_equal(g.lines[2], "{\"c\":3}");
	/* at most max_lines; the rest comes next time */
	append(p, "1\n2\n3\n");
	assert_int_equal(nm_tail_read(&t, on_line, &g, 2), 2);
	assert_int_equal(nm_tail_read(&t, on_line, &g, 2), 1);
	assert_string_equal(g.lines[5], "3");
	nm_tail_close(&t);
	unlink(p);
}

/* A file made later is read from its start; a rotated one (renamed, a new
 * file in its place) is finished, then the new one read from its start; a
 * truncated one from its start. */
static void test_tail_rotate(void **state)
{
	static struct nm_tail t;
	struct got g = { 0 };
	char p[256], old[300];

	(void)state;
	tmp_path(p, sizeof(p), "rotate");
	snprintf(old, sizeof(old), "%s.1", p);
	nm_tail_init(&t, p);
	assert_int_equal(nm_tail_read(&t, on_line, &g, 100), 0);
	append(p, "first\n");
	assert_int_equal(nm_tail_read(&t, on_line, &g, 100), 1);
	append(p, "last-of-old\n");
	assert_int_equal(rename(p, old), 0);
	append(p, "new-1\n");
	assert_int_equal(nm_tail_read(&t, on_line, &g, 100), 2);
	assert_string_equal(g.lines[1], "last-of-old");
	assert_string_equal(g.lines[2], "new-1");
	assert_int_equal(truncate(p, 0), 0);
	assert_int_equal(nm_tail_read(&t, on_line, &g, 100), 0);
	append(p, "after-truncate\n");
	assert_int_equal(nm_tail_read(&t, on_line, &g, 100), 1);
	assert_string_equal(g.lines[3], "after-truncate");
	nm_tail_close(&t);
	unlink(p);
	unlink(old);
}

/* A line longer than the buffer is dropped and counted; the next is fine. */
static void test_tail_long_line(void **state)
{
	static struct nm_tail t;
	struct got g = { 0 };
	char p[256], *big;

	(void)state;
	tmp_path(p, sizeof(p), "long");
	nm_tail_init(&t, p);
	assert_int_equal(nm_tail_read(&t, on_line, &g, 100), 0);
	big = malloc(3 * NM_TAIL_LINE_MAX + 2);
	assert_non_null(big);
	memset(big, 'x', 3 * NM_TAIL_LINE_MAX);
	strcpy(big + 3 * NM_TAIL_LINE_MAX, "\n");
	append(p, big);
	append(p, "ok\n");
	assert_int_equal(nm_tail_read(&t, on_line, &g, 100), 1);
	assert_string_equal(g.lines[0], "ok");
	free(big);
	assert_int_equal(t.too_long, 1);
	nm_tail_close(&t);
	unlink(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tail_follow),
		cmocka_unit_test(test_tail_rotate),
		cmocka_unit_test(test_tail_long_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
