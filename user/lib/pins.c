// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "pins.h"
#include "err.h"
#include "progs.h"

#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

const char *nm_pin_dir_pick(const char *opt)
{
	const char *env = getenv(NM_PIN_DIR_ENV);

	if (opt && *opt)
		return opt;
	if (env && *env)
		return env;
	return NM_PIN_DIR_DEFAULT;
}

static bool on_bpffs(const char *p)
{
	struct statfs s;

	return statfs(p, &s) == 0 && s.f_type == BPF_FS_MAGIC;
}

int nm_bpffs_ensure(const char *dir)
{
	char tmp[PATH_MAX], *parent;

	if (snprintf(tmp, sizeof(tmp), "%s", dir) >= (int)sizeof(tmp))
		return nm_fail(NM_E_INPUT, -ENAMETOOLONG, "pin dir '%s': path too long", dir);
	parent = dirname(tmp);
	if (on_bpffs(parent))
		return 0;
	if (strcmp(parent, "/sys/fs/bpf") == 0) {
		if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700") == 0)
			return 0;
		return nm_fail(NM_E_RUNTIME, -errno,
			       "no bpffs at /sys/fs/bpf and mounting one failed: %s", strerror(errno));
	}
	return nm_fail(NM_E_INPUT, -ENOTSUP, "pin dir '%s': its parent %s is not on a bpf filesystem",
		       dir, parent);
}

static int open_one(const char *dir, const char *name, int *fd)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	*fd = bpf_obj_get(p);
	if (*fd < 0) {
		int err = -errno;

		if (err == -ENOENT)
			return nm_fail(NM_E_RUNTIME, err,
				       "%s not found: is nomoat loaded (nomoat load) and is the pin dir right?",
				       p);
		return nm_fail(NM_E_RUNTIME, err, "%s: %s", p, strerror(-err));
	}
	return 0;
}

int nm_maps_open(const char *dir, struct nm_maps *m)
{
	struct {
		const char *name;
		int *fd;
	} t[] = {
		{ "nm_policies", &m->policies }, { "nm_rules4", &m->rules4 },
		{ "nm_rules6", &m->rules6 },     { "nm_bindings", &m->bindings },
		{ "nm_events", &m->events },     { "nm_stats", &m->stats },
		{ "nm_gstats", &m->gstats },     { "nm_flows", &m->flows },
		{ "nm_flowcnt", &m->flowcnt },   { "nm_reasons", &m->reasons },
		{ "nm_epoch", &m->epoch },
	};
	int err;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		*t[i].fd = -1;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		err = open_one(dir, t[i].name, t[i].fd);
		if (err) {
			nm_maps_close(m);
			return err;
		}
	}
	return 0;
}

void nm_maps_close(struct nm_maps *m)
{
	int *fds = &m->policies;

	for (size_t i = 0; i < sizeof(*m) / sizeof(int); i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		fds[i] = -1;
	}
}

bool nm_is_loaded(const char *dir)
{
	char p[PATH_MAX];

	for (int i = 0; i < NM_PROG__MAX; i++) {
		snprintf(p, sizeof(p), "%s/progs/%s", dir, nm_progs[i].name);
		if (access(p, F_OK))
			return false;
	}
	return true;
}

unsigned long long nm_percpu_sum(int map_fd, unsigned int key)
{
	int ncpu = libbpf_num_possible_cpus();
	unsigned long long v[ncpu > 0 ? ncpu : 1], sum = 0;

	if (ncpu <= 0 || bpf_map_lookup_elem(map_fd, &key, v))
		return 0;
	for (int i = 0; i < ncpu; i++)
		sum += v[i];
	return sum;
}
