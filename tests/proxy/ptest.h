/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * ptest.h - running commands in the namespaces of proxy-integration, shared
 * by proxy.c (which defines them) and squid.c.
 */
#ifndef NMT_PTEST_H
#define NMT_PTEST_H

#include <stddef.h>

/* For ptest_exec_child (with nmt_spawn): exec argv, stdout and stderr on
 * the write end out. */
struct ptest_exec {
	char *const *argv;
	int out;
};

int ptest_exec_child(void *p);

/* Run `sh -c CMD` in cgroup rel (under the test base; NULL: none) in the
 * client netns; output (stdout+stderr) in out.  Exit code or negative. */
int ptest_sh(const char *rel, char *out, size_t len, int timeout_ms, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

#endif
