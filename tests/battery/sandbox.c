/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * sandbox.c - entering a container-like sandbox, as an agent in a Docker
 * container would find itself, then re-executing this binary as the agent.
 *
 * The child, still root with every capability:
 *   1. enters the agent's cgroup (bound to the policy) and the client netns,
 *      then takes a cgroup namespace of its own, rooted there (Docker's
 *      default on cgroup v2, --cgroupns private);
 *   2. takes a mount namespace of its own (mounts propagate in, not out),
 *      mounts a fresh cgroup2 read-only over the host's (so, as in a
 *      container, it shows the agent's own subtree and nothing above it),
 *      remounts every other cgroup filesystem read-only and covers the bpffs
 *      and the daemon's socket directory with empty tmpfs mounts (a
 *      container sees neither);
 *   3. keeps only its stdio and the descriptors it is given;
 *   4. drops the bounding set to Docker's default capabilities, clears the
 *      ambient set, then either keeps uid 0 with exactly Docker's set
 *      (capset) or becomes uid/gid 65534 with no capabilities; sets
 *      no_new_privs;
 *   5. execs /proc/self/exe (opened before the uid changed) with a bare
 *      environment.
 * A failing step is reported on the agent's stdout as "SANDBOX-ERROR ..."
 * and the child exits 126.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "battery.h"
#include "cgroup.h"
#include "netns.h"
#include "run.h"

#define NOBODY 65534

static void fail(const char *step, int err)
{
	printf("SANDBOX-ERROR %s: %s\n", step, strerror(err));
	fflush(stdout);
	_exit(126);
}

/* Remount mp read-only, keeping its other flags. */
static int remount_ro(const char *mp)
{
	struct statvfs sv;
	unsigned long fl = MS_REMOUNT | MS_BIND | MS_RDONLY;

	if (statvfs(mp, &sv))
		return -errno;
	if (sv.f_flag & ST_NOSUID)
		fl |= MS_NOSUID;
	if (sv.f_flag & ST_NODEV)
		fl |= MS_NODEV;
	if (sv.f_flag & ST_NOEXEC)
		fl |= MS_NOEXEC;
	if (sv.f_flag & ST_RELATIME)
		fl |= MS_RELATIME;
	if (sv.f_flag & ST_NOATIME)
		fl |= MS_NOATIME;
	return mount(NULL, mp, NULL, fl, NULL) ? -errno : 0;
}

/* A cgroup2 mount replaced by a fresh one, read-only: in the agent's own
 * cgroup namespace it shows the agent's cgroup as its root. */
static int cgroup2_fresh(const char *mp)
{
	if (umount2(mp, MNT_DETACH))
		return -errno;
	if (mount("cgroup2", mp, "cgroup2", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL))
		return -errno;
	return 0;
}

/* Every mount at or below /sys/fs/cgroup, read-only; cgroup2 fresh.  The
 * list is read whole first: a fresh mount shows up in mountinfo again. */
#define NMB_MAX_CG_MOUNTS 32

static int cgroups_ro(void)
{
	char line[2048], mp[NMB_MAX_CG_MOUNTS][256];
	bool v2[NMB_MAX_CG_MOUNTS];
	FILE *f = fopen("/proc/self/mountinfo", "r");
	int n = 0, e = 0;

	if (!f)
		return -errno;
	while (n < NMB_MAX_CG_MOUNTS && fgets(line, sizeof(line), f)) {
		const char *sep = strstr(line, " - ");

		if (sscanf(line, "%*s %*s %*s %*s %255s", mp[n]) != 1)
			continue;
		if (strcmp(mp[n], "/sys/fs/cgroup") && strncmp(mp[n], "/sys/fs/cgroup/", 15))
			continue;
		v2[n] = sep && !strncmp(sep, " - cgroup2 ", 11);
		n++;
	}
	fclose(f);
	for (int i = 0; !e && i < n; i++)
		e = v2[i] ? cgroup2_fresh(mp[i]) : remount_ro(mp[i]);
	return e;
}

static int cap_last(void)
{
	FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "r");
	int last = CAP_LAST_CAP;

	if (f) {
		if (fscanf(f, "%d", &last) != 1)
			last = CAP_LAST_CAP;
		fclose(f);
	}
	return last;
}

/* Close every descriptor above 2 but the kept ones and exe. */
static void close_others(const int keep[4], int exe)
{
	for (int fd = 3; fd < 4096; fd++) {
		bool k = fd == exe;

		for (int i = 0; i < 4; i++)
			k = k || keep[i] == fd;
		if (!k)
			close(fd);
	}
	for (int i = 0; i < 4; i++) {
		if (keep[i] >= 0) {
			int fl = fcntl(keep[i], F_GETFD);

			if (fl >= 0)
				fcntl(keep[i], F_SETFD, fl & ~FD_CLOEXEC);
		}
	}
}

static void drop_privileges(bool user)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];
	int last = cap_last();

	for (int cap = 0; cap <= last; cap++)
		if (!((NMB_CAP_DOCKER >> cap) & 1) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0))
			fail("PR_CAPBSET_DROP", errno);
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) && errno != EINVAL)
		fail("PR_CAP_AMBIENT_CLEAR_ALL", errno);
	if (user) {
		/* Changing every uid away from 0 clears every capability. */
		if (setgroups(0, NULL))
			fail("setgroups", errno);
		if (setresgid(NOBODY, NOBODY, NOBODY))
			fail("setresgid", errno);
		if (setresuid(NOBODY, NOBODY, NOBODY))
			fail("setresuid", errno);
	} else {
		memset(d, 0, sizeof(d));
		d[0].effective = d[0].permitted = (__u32)NMB_CAP_DOCKER;
		d[1].effective = d[1].permitted = (__u32)(NMB_CAP_DOCKER >> 32);
		if (syscall(SYS_capset, &h, d))
			fail("capset", errno);
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		fail("PR_SET_NO_NEW_PRIVS", errno);
	/* A uid change clears the parent-death signal: ask again. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
}

pid_t nmb_sandbox_spawn(const struct nmb_sandbox *sb)
{
	static char *const envp[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/", NULL };
	pid_t pid;
	int e, exe, null;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid > 0) {
		nmt_child_track(pid);
		return pid;
	}
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (dup2(sb->out_fd, 1) < 0 || dup2(sb->out_fd, 2) < 0)
		_exit(126);
	setvbuf(stdout, NULL, _IOLBF, 0);
	null = open("/dev/null", O_RDONLY);
	if (null >= 0 && null != 0) {
		dup2(null, 0);
		close(null);
	}
	e = nm_cgroup_enter(sb->cgroup, 0);
	if (e)
		fail("entering the cgroup", -e);
	e = nm_netns_enter(sb->netns);
	if (e)
		fail("entering the netns", -e);
	if (unshare(CLONE_NEWCGROUP))
		fail("unshare(CLONE_NEWCGROUP)", errno);
	if (unshare(CLONE_NEWNS))
		fail("unshare(CLONE_NEWNS)", errno);
	if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL))
		fail("making / a slave mount", errno);
	e = cgroups_ro();
	if (e)
		fail("remounting the cgroup filesystems read-only", -e);
	for (int i = 0; i < 4 && sb->hide[i]; i++) {
		if (access(sb->hide[i], F_OK))
			continue;
		if (mount("tmpfs", sb->hide[i], "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=64k,mode=0755"))
			fail("covering a directory with tmpfs", errno);
	}
	exe = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (exe < 0)
		fail("open(/proc/self/exe)", errno);
	close_others(sb->keep, exe);
	drop_privileges(sb->user);
	syscall(SYS_execveat, exe, "", sb->argv, envp, AT_EMPTY_PATH);
	fail("execveat", errno);
	return -1;
}
