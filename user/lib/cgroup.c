// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "cgroup.h"
#include "err.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>
#include <linux/magic.h>

int nm_cgroup2_mount(char *buf, size_t len)
{
	char line[4096];
	FILE *f = fopen("/proc/self/mountinfo", "re");
	int err = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		/* id parent maj:min root mountpoint opts [optional...] - fstype src */
		char *sep = strstr(line, " - ");
		char mnt[PATH_MAX], fstype[64];
		struct statfs sfs;

		if (!sep || sscanf(sep + 3, "%63s", fstype) != 1 || strcmp(fstype, "cgroup2"))
			continue;
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1)
			continue;
		/* A mount hidden under a later one (cgroup2 mounted over the
		 * /sys/fs/cgroup that held a hybrid layout's unified/) is still
		 * listed: only one that is cgroup2 at its path counts. */
		if (statfs(mnt, &sfs) || sfs.f_type != CGROUP2_SUPER_MAGIC)
			continue;
		if ((size_t)snprintf(buf, len, "%s", mnt) >= len) {
			err = -ENAMETOOLONG;
			break;
		}
		err = 0;
		break;
	}
	fclose(f);
	return err;
}

static int is_cgroup2_dir(const char *p)
{
	struct statfs sfs;
	struct stat st;

	if (stat(p, &st))
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	if (statfs(p, &sfs))
		return -errno;
	return sfs.f_type == CGROUP2_SUPER_MAGIC ? 0 : -EINVAL;
}

int nm_cgroup_resolve(const char *user_path, char *abs, size_t len)
{
	char root[PATH_MAX];
	size_t rl;
	int err;

	if (!user_path || !*user_path)
		return -EINVAL;
	err = nm_cgroup2_mount(root, sizeof(root));
	if (err)
		return err;
	rl = strlen(root);
	if (!strncmp(user_path, root, rl) && (user_path[rl] == '/' || !user_path[rl])) {
		if ((size_t)snprintf(abs, len, "%s", user_path) >= len)
			return -ENAMETOOLONG;
	} else {
		const char *rel = user_path;

		while (*rel == '/')
			rel++;
		if ((size_t)snprintf(abs, len, "%s%s%s", root, *rel ? "/" : "", rel) >= len)
			return -ENAMETOOLONG;
	}
	/* strip trailing slashes */
	for (size_t n = strlen(abs); n > 1 && abs[n - 1] == '/'; n--)
		abs[n - 1] = 0;
	return is_cgroup2_dir(abs);
}

int nm_cgroup_id(const char *abs_path, __u64 *id)
{
	struct {
		struct file_handle fh;
		unsigned char buf[8];
	} h;
	int mount_id;

	h.fh.handle_bytes = sizeof(h.buf);
	if (name_to_handle_at(AT_FDCWD, abs_path, &h.fh, &mount_id, 0))
		return -errno;
	if (h.fh.handle_bytes != 8)
		return -EOPNOTSUPP;
	memcpy(id, h.fh.f_handle, 8);
	return 0;
}

/* nftw() has no user pointer: the walk state is per thread. */
static __thread __u64 walk_want;
static __thread char walk_found[PATH_MAX];

static int walk_cb(const char *p, const struct stat *st, int type, struct FTW *ftw)
{
	__u64 id;

	(void)st;
	(void)ftw;
	if (type != FTW_D)
		return 0;
	if (nm_cgroup_id(p, &id) == 0 && id == walk_want) {
		snprintf(walk_found, sizeof(walk_found), "%s", p);
		return 1;
	}
	return 0;
}

int nm_cgroup_path_of(__u64 id, char *abs, size_t len)
{
	char root[PATH_MAX];
	int err = nm_cgroup2_mount(root, sizeof(root));

	if (err)
		return err;
	walk_want = id;
	walk_found[0] = 0;
	if (nftw(root, walk_cb, 32, FTW_PHYS | FTW_MOUNT) != 1)
		return -ENOENT;
	if ((size_t)snprintf(abs, len, "%s", walk_found) >= len)
		return -ENAMETOOLONG;
	return 0;
}

int nm_cgroup_create(const char *abs_path)
{
	return mkdir(abs_path, 0755) ? -errno : 0;
}

static int write_file(const char *dir, const char *name, const char *val)
{
	char p[PATH_MAX];
	int fd, err = 0;
	ssize_t n;

	if ((size_t)snprintf(p, sizeof(p), "%s/%s", dir, name) >= sizeof(p))
		return -ENAMETOOLONG;
	fd = open(p, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	if (n < 0)
		err = -errno;
	close(fd);
	return err;
}

int nm_cgroup_enter(const char *abs_path, int pid)
{
	char v[32];

	snprintf(v, sizeof(v), "%d\n", pid ? pid : (int)getpid());
	return write_file(abs_path, "cgroup.procs", v);
}

/* Count the pids in cgroup.procs; SIGKILL each when kill is set. */
static int procs_count(const char *abs_path, int kill_them)
{
	char p[PATH_MAX];
	FILE *f;
	int pid, n = 0;

	snprintf(p, sizeof(p), "%s/cgroup.procs", abs_path);
	f = fopen(p, "re");
	if (!f)
		return -errno;
	while (fscanf(f, "%d", &pid) == 1) {
		n++;
		if (kill_them)
			kill(pid, SIGKILL);
	}
	fclose(f);
	return n;
}

int nm_cgroup_destroy(const char *abs_path)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	int have_kill = write_file(abs_path, "cgroup.kill", "1") == 0;

	/* Children first: a cgroup with sub-cgroups cannot be removed. */
	DIR *d = opendir(abs_path);

	if (d) {
		struct dirent *e;

		while ((e = readdir(d))) {
			char sub[PATH_MAX];

			if (e->d_type != DT_DIR || e->d_name[0] == '.')
				continue;
			if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", abs_path, e->d_name) < sizeof(sub))
				nm_cgroup_destroy(sub);
		}
		closedir(d);
	}
	/* Bounded: 500 x 10 ms. */
	for (int i = 0; i < 500; i++) {
		int n = procs_count(abs_path, !have_kill);

		if (n <= 0)
			break;
		nanosleep(&ts, NULL);
	}
	for (int i = 0; i < 100; i++) {
		if (rmdir(abs_path) == 0 || errno == ENOENT)
			return 0;
		if (errno != EBUSY)
			return -errno;
		nanosleep(&ts, NULL);
	}
	return -EBUSY;
}

int nm_cgroup_find(const char *user_path, char *abs, size_t len, const char *missing)
{
	int err = nm_cgroup_resolve(user_path, abs, len);

	if (err == -ENOENT && nm_cgroup2_mount(abs, len))
		return nm_fail(NM_E_RUNTIME, -ENOENT, "no cgroup v2 mount found (nomoat needs cgroup v2)");
	if (err)
		return nm_fail(NM_E_INPUT, err, "cgroup '%s': %s", user_path,
			       err == -ENOENT ? missing : err == -EINVAL ? "not on a cgroup v2 mount" : strerror(-err));
	return 0;
}
