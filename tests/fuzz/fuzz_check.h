/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * fuzz_check.h - the invariant check of the libFuzzer targets: a broken
 * promise of a parser says where and what (file:line names the target), then
 * traps, so libFuzzer keeps the input as a crash.  A target that writes its
 * messages elsewhere defines FUZZ_CHECK_OUT (a FILE *) before including this.
 */
#ifndef NM_FUZZ_CHECK_H
#define NM_FUZZ_CHECK_H

#include <stdio.h>

#ifndef FUZZ_CHECK_OUT
#define FUZZ_CHECK_OUT stderr
#endif

#define CHECK(cond, ...)                                                                 \
	do {                                                                             \
		if (!(cond)) {                                                           \
			fprintf(FUZZ_CHECK_OUT, "%s:%d: check failed: %s: ", __FILE__, __LINE__, \
				#cond);                                                  \
			fprintf(FUZZ_CHECK_OUT, __VA_ARGS__);                            \
			fputc('\n', FUZZ_CHECK_OUT);                                     \
			fflush(FUZZ_CHECK_OUT);                                          \
			__builtin_trap();                                                \
		}                                                                        \
	} while (0)

#endif
