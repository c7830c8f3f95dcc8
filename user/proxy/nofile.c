// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * nofile.c - room for the proxy's file descriptors.  Its fence (its own
 * cgroup, the drop to an unprivileged user) is user/lib/svc.c's.
 */
#include <stdio.h>
#include <sys/resource.h>

#include "proxy.h"

void nmp_raise_nofile(unsigned *max_conns)
{
	struct rlimit rl;
	/* client, upstream, two pipes; plus room for listeners and friends */
	rlim_t want = (rlim_t)*max_conns * 6 + 64;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return;
	if (rl.rlim_cur < want) {
		rl.rlim_cur = want < rl.rlim_max ? want : rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == 0 || getrlimit(RLIMIT_NOFILE, &rl) == 0) {
			/* what we have now */
		}
	}
	if (rl.rlim_cur < want) {
		unsigned fit = (unsigned)((rl.rlim_cur > 64 ? rl.rlim_cur - 64 : 0) / 6);

		fprintf(stderr, "nomoat-proxy: open files limited to %llu: --max-conns lowered from %u to %u\n",
			(unsigned long long)rl.rlim_cur, *max_conns, fit ? fit : 1);
		*max_conns = fit ? fit : 1;
	}
}
