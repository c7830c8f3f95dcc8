// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "probe.h"
#include "cgroup.h"
#include "err.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

static void set(struct nm_features *fs, int i, const char *name, bool req, bool present)
{
	fs->f[i].name = name;
	fs->f[i].required = req;
	fs->f[i].present = present;
}

static bool prog_ok(enum bpf_prog_type t)
{
	return libbpf_probe_bpf_prog_type(t, NULL) == 1;
}

static bool map_ok(enum bpf_map_type t)
{
	return libbpf_probe_bpf_map_type(t, NULL) == 1;
}

void nm_probe(struct nm_features *fs)
{
	bool bpf_ok;

	memset(fs, 0, sizeof(*fs));
	set(fs, NM_F_CGROUP2, "cgroup v2 mounted", true,
	    nm_cgroup2_mount(fs->cgroup2, sizeof(fs->cgroup2)) == 0);
	/* The plainest program type tells whether bpf() works at all. */
	bpf_ok = prog_ok(BPF_PROG_TYPE_SOCKET_FILTER);
	set(fs, NM_F_BPF, "bpf() system call usable (root or CAP_BPF+CAP_NET_ADMIN)", true, bpf_ok);
	set(fs, NM_F_PROG_SOCK_ADDR, "cgroup sock_addr programs (connect/sendmsg/recvmsg)", true,
	    bpf_ok && prog_ok(BPF_PROG_TYPE_CGROUP_SOCK_ADDR));
	set(fs, NM_F_PROG_SOCK_OPS, "sockops programs", true, bpf_ok && prog_ok(BPF_PROG_TYPE_SOCK_OPS));
	set(fs, NM_F_PROG_SOCKOPT, "cgroup getsockopt and setsockopt programs (5.3)", true,
	    bpf_ok && prog_ok(BPF_PROG_TYPE_CGROUP_SOCKOPT));
	set(fs, NM_F_MAP_LPM, "LPM trie maps", true, bpf_ok && map_ok(BPF_MAP_TYPE_LPM_TRIE));
	set(fs, NM_F_MAP_AOM, "array-of-maps", true, bpf_ok && map_ok(BPF_MAP_TYPE_ARRAY_OF_MAPS));
	set(fs, NM_F_MAP_RINGBUF, "BPF ring buffer (5.8)", true, bpf_ok && map_ok(BPF_MAP_TYPE_RINGBUF));
	set(fs, NM_F_MAP_SK_STORAGE, "socket local storage (5.2)", true,
	    bpf_ok && map_ok(BPF_MAP_TYPE_SK_STORAGE));
	/* The programs use UAPI context structs only, so kernel BTF is not
	 * needed to load them; the build needs it to make vmlinux.h. */
	set(fs, NM_F_BTF, "kernel BTF /sys/kernel/btf/vmlinux (build only)", false,
	    access("/sys/kernel/btf/vmlinux", R_OK) == 0);
	set(fs, NM_F_HELPER_PID, "pid in events (bpf_get_current_pid_tgid in sock_addr)", false,
	    bpf_ok && libbpf_probe_bpf_helper(BPF_PROG_TYPE_CGROUP_SOCK_ADDR,
					      BPF_FUNC_get_current_pid_tgid, NULL) == 1);
	set(fs, NM_F_HELPER_COMM, "comm in events (bpf_get_current_comm in sock_addr)", false,
	    bpf_ok && libbpf_probe_bpf_helper(BPF_PROG_TYPE_CGROUP_SOCK_ADDR,
					      BPF_FUNC_get_current_comm, NULL) == 1);
}

int nm_probe_require(const struct nm_features *fs)
{
	char missing[1024] = "";
	size_t n = 0;

	for (int i = 0; i < NM_F__MAX; i++) {
		if (!fs->f[i].required || fs->f[i].present)
			continue;
		n += snprintf(missing + n, n < sizeof(missing) ? sizeof(missing) - n : 0, "%s%s",
			      n ? "; " : "", fs->f[i].name);
		if (n >= sizeof(missing))
			break;
	}
	if (!missing[0])
		return 0;
	return nm_fail(NM_E_RUNTIME, -ENOTSUP, "this kernel cannot enforce nomoat policy, missing: %s",
		       missing);
}
