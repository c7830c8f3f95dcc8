// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * privs.c - the proxy's fence: moving into its own cgroup before any
 * socket exists (so the cgroup's programs judge every upstream connect and
 * answer SO_ORIGINAL_DST on every accepted socket), room for its file
 * descriptors, and the drop to an unprivileged user with no capability at
 * all once the listeners are bound and the files are open.
 */
#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cgroup.h"
#include "proxy.h"

int nmp_enter_cgroup(const char *path)
{
	char abs[4096];
	int err = nm_cgroup_resolve(path, abs, sizeof(abs));

	if (err)
		return err;
	return nm_cgroup_enter(abs, 0);
}

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

static int cap_last(void)
{
	FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
	int n = 40;

	if (f) {
		if (fscanf(f, "%d", &n) != 1)
			n = 40;
		fclose(f);
	}
	return n;
}

int nmp_drop_privs(const char *user)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];
	struct passwd *pw;

	errno = 0;
	pw = getpwnam(user);
	if (!pw) {
		fprintf(stderr, "nomoat-proxy: --user %s: %s\n", user, errno ? strerror(errno) : "no such user");
		return -ENOENT;
	}
	if (pw->pw_uid == 0) {
		fprintf(stderr, "nomoat-proxy: --user %s: is root\n", user);
		return -EINVAL;
	}
	/* the bounding set first (needs CAP_SETPCAP, which goes with it) */
	for (int c = 0; c <= cap_last(); c++)
		prctl(PR_CAPBSET_DROP, c, 0, 0, 0);
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	if (setgroups(0, NULL) || setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid)) {
		fprintf(stderr, "nomoat-proxy: cannot become %s: %s\n", user, strerror(errno));
		return -errno;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
		fprintf(stderr, "nomoat-proxy: no_new_privs: %s\n", strerror(errno));
		return -errno;
	}
	/* setresuid from root clears permitted and effective; make sure */
	memset(d, 0, sizeof(d));
	if (syscall(SYS_capset, &h, d) || syscall(SYS_capget, &h, d) || d[0].permitted || d[1].permitted ||
	    d[0].effective || d[1].effective || d[0].inheritable || d[1].inheritable) {
		fprintf(stderr, "nomoat-proxy: capabilities remain after dropping to %s\n", user);
		return -EPERM;
	}
	if (setuid(0) == 0) {
		fprintf(stderr, "nomoat-proxy: could become root again after dropping to %s\n", user);
		return -EPERM;
	}
	return 0;
}
