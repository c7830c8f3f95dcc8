// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unit tests for user/lib/files.c (bounded reads, mkdir -p) and
 * user/lib/ruleline.c (the rule-line grammar, rules files) (cmocka).
 * Everything is made below a private directory in $TMPDIR and removed. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "err.h"
#include "files.h"
#include "ruleline.h"

static char dir[PATH_MAX];

static int setup(void **state)
{
	const char *t = getenv("TMPDIR");

	(void)state;
	snprintf(dir, sizeof(dir), "%s/nomoat-utest-files-XXXXXX", t && *t ? t : "/tmp");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	(void)state;
	/* only our own mkdtemp directory */
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void put(const char *name, const char *data, size_t n)
{
	char p[PATH_MAX + 64];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, n), (ssize_t)n);
	close(fd);
}

static const char *at(const char *name)
{
	static char p[PATH_MAX + 64];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return p;
}

static void test_read_file(void **state)
{
	char why[NM_WHY_LEN], *buf = NULL;
	struct stat st;
	size_t n = 0;

	(void)state;
	put("ten", "0123456789", 10);
	/* exactly max bytes: read, NUL-terminated, st filled */
	assert_int_equal(nm_read_file(at("ten"), 10, NM_READ_REGULAR, &buf, &n, &st, why, sizeof(why)), 0);
	assert_int_equal(n, 10);
	assert_string_equal(buf, "0123456789");
	assert_int_equal(st.st_size, 10);
	free(buf);
	/* one byte over: refused by its size before reading */
	assert_int_equal(nm_read_file(at("ten"), 9, 0, &buf, &n, NULL, why, sizeof(why)), -EFBIG);
	assert_string_equal(why, "file too large (10 bytes, at most 9)");
	/* empty */
	put("empty", "", 0);
	assert_int_equal(nm_read_file(at("empty"), 9, NM_READ_REGULAR, &buf, &n, NULL, why, sizeof(why)), 0);
	assert_int_equal(n, 0);
	assert_string_equal(buf, "");
	free(buf);
	/* errors name the problem */
	assert_int_equal(nm_read_file(at("missing"), 9, 0, &buf, &n, NULL, why, sizeof(why)), -ENOENT);
	assert_string_equal(why, strerror(ENOENT));
	assert_int_equal(nm_read_file(dir, 9, 0, &buf, &n, NULL, why, sizeof(why)), -EISDIR);
	assert_string_equal(why, "is a directory");
	/* a FIFO: refused at once with NM_READ_REGULAR (nothing writes to it) */
	assert_int_equal(mkfifo(at("fifo"), 0600), 0);
	assert_int_equal(nm_read_file(at("fifo"), 9, NM_READ_REGULAR, &buf, &n, NULL, why, sizeof(why)), -EINVAL);
	assert_string_equal(why, "not a regular file");
}

/* A pipe has no size: the bound is found while reading. */
static void test_read_fd(void **state)
{
	char why[NM_WHY_LEN], *buf = NULL, big[10000];
	size_t n = 0;
	int p[2];

	(void)state;
	memset(big, 'x', sizeof(big));
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], big, sizeof(big)), (ssize_t)sizeof(big));
	close(p[1]);
	assert_int_equal(nm_read_fd(p[0], sizeof(big) - 1, 0, &buf, &n, why, sizeof(why)), -EFBIG);
	assert_string_equal(why, "file too large (more than 9999 bytes)");
	close(p[0]);
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], big, sizeof(big)), (ssize_t)sizeof(big));
	close(p[1]);
	assert_int_equal(nm_read_fd(p[0], sizeof(big), 0, &buf, &n, why, sizeof(why)), 0);
	assert_int_equal(n, sizeof(big));
	assert_int_equal(strlen(buf), sizeof(big));
	free(buf);
	close(p[0]);
}

static bool is_dir(const char *p)
{
	struct stat st;

	return !stat(p, &st) && S_ISDIR(st.st_mode);
}

static void test_mkdirs(void **state)
{
	char p[PATH_MAX + 64];
	struct stat st;

	(void)state;
	/* parents only: a/b made, a/b/c not */
	snprintf(p, sizeof(p), "%s/a/b/c", dir);
	assert_int_equal(nm_mkdirs(p, strlen(dir), true, 0700), 0);
	assert_true(is_dir(at("a/b")));
	assert_false(is_dir(p));
	/* the last one too, with the mode; existing ones are fine */
	assert_int_equal(nm_mkdirs(p, strlen(dir), false, 0750), 0);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0750 & ~(unsigned)umask(umask(0)));
	assert_int_equal(nm_mkdirs(p, strlen(dir), false, 0750), 0);
	/* keep: what lies before is not made (and missing, fails) */
	snprintf(p, sizeof(p), "%s/none/x/y", dir);
	assert_int_equal(nm_mkdirs(p, strlen(dir) + 5, false, 0700), -ENOENT);
	assert_false(is_dir(at("none")));
	/* a file in the way */
	put("f", "", 0);
	snprintf(p, sizeof(p), "%s/f/g", dir);
	assert_int_equal(nm_mkdirs(p, strlen(dir), false, 0700), -ENOTDIR);
}

static void test_rule_line(void **state)
{
	char line[256], err[NM_ERR_LEN], *tok[NM_RULE_MAXTOK], *comment;
	struct nm_rule_entry e;
	int n;

	(void)state;
	/* blanks (and a CR at the ends) around tokens and reason */
	snprintf(line, sizeof(line), "\r\t deny  10.0.0.0/8\t#  private range \r");
	n = nm_rule_split(line, tok, NM_RULE_MAXTOK, &comment);
	assert_int_equal(n, 2);
	assert_int_equal(nm_rule_tokens(tok, n, comment, &e, err, sizeof(err)), 0);
	assert_int_equal(e.action, NM_ACT_DENY);
	assert_int_equal(e.cidr.prefixlen, 8);
	assert_string_equal(e.reason, "private range");
	free(e.reason);
	/* comments and blank lines have no tokens */
	snprintf(line, sizeof(line), "  # deny 1.2.3.4");
	assert_int_equal(nm_rule_split(line, tok, NM_RULE_MAXTOK, &comment), 0);
	snprintf(line, sizeof(line), " \t\r");
	assert_int_equal(nm_rule_split(line, tok, NM_RULE_MAXTOK, &comment), 0);
	/* an empty reason is none */
	snprintf(line, sizeof(line), "allow ::1 #   ");
	n = nm_rule_split(line, tok, NM_RULE_MAXTOK, &comment);
	assert_int_equal(nm_rule_tokens(tok, n, comment, &e, err, sizeof(err)), 0);
	assert_null(e.reason);
	/* more tokens than are kept are still counted */
	snprintf(line, sizeof(line), "deny 1.2.3.4 a b c d e f g h i");
	assert_int_equal(nm_rule_split(line, tok, NM_RULE_MAXTOK, &comment), 11);
	/* errors */
	snprintf(line, sizeof(line), "deny");
	n = nm_rule_split(line, tok, NM_RULE_MAXTOK, &comment);
	assert_int_equal(nm_rule_tokens(tok, n, comment, &e, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "'deny' needs a target (CIDR or address)");
	snprintf(line, sizeof(line), "deny 1.2.3.4 %060d", 7);
	n = nm_rule_split(line, tok, NM_RULE_MAXTOK, &comment);
	assert_int_equal(nm_rule_tokens(tok, n, comment, &e, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "unexpected '000000000000000000000000000000000000000000000000...' after the target "
				 "(reasons go after '#')");
	snprintf(line, sizeof(line), "deny 10.0.0.1/8");
	n = nm_rule_split(line, tok, NM_RULE_MAXTOK, &comment);
	assert_int_equal(nm_rule_tokens(tok, n, comment, &e, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "host bits set"));
}

/* A rules file: read whole, a NUL byte refused, errors as FILE:LINE. */
static void test_rules_file(void **state)
{
	struct nm_ruleset rs = { 0 };
	char want[PATH_MAX + 128];

	(void)state;
	{
		static const char ok[] = "# rules\r\ndeny 10.0.0.0/8 # lan\r\n\r\nallow 10.1.0.0/16\n";

		put("ok.rules", ok, sizeof(ok) - 1);
	}
	assert_int_equal(nm_ruleset_parse_file(at("ok.rules"), &rs), 0);
	assert_int_equal(rs.n, 2);
	assert_int_equal(rs.v[0].line, 2);
	assert_string_equal(rs.v[0].reason, "lan");
	assert_int_equal(rs.v[1].line, 4);
	nm_ruleset_free(&rs);
	put("nul.rules", "deny 10.0.0.0/8\n\0", 17);
	assert_int_equal(nm_ruleset_parse_file(at("nul.rules"), &rs), -EINVAL);
	assert_non_null(strstr(nm_err_msg(), "binary data (a NUL byte) in a rules file"));
	put("bad.rules", "deny 10.0.0.0/8\nblock 1.2.3.4\n", 30);
	assert_int_equal(nm_ruleset_parse_file(at("bad.rules"), &rs), -EINVAL);
	snprintf(want, sizeof(want), "%.*s:2: ", PATH_MAX, at("bad.rules"));
	assert_non_null(strstr(nm_err_msg(), want));
	assert_int_equal(rs.n, 0);
	assert_int_equal(nm_ruleset_parse_file(dir, &rs), -EISDIR);
	assert_non_null(strstr(nm_err_msg(), "is a directory"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_file),
		cmocka_unit_test(test_read_fd),
		cmocka_unit_test(test_mkdirs),
		cmocka_unit_test(test_rule_line),
		cmocka_unit_test(test_rules_file),
	};

	return cmocka_run_group_tests_name("files", tests, setup, teardown);
}
