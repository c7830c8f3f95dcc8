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

/*
 * The verifier lets a privileged program read a stack slot it has not
 * written (after 5.10: allow_uninit_stack).  clang may load a struct field before
 * the branch that makes it meaningful (nm_egress's origin of a redirected
 * flow); an older verifier rejects the whole object ("invalid read from
 * stack").  The precise thing, in three instructions: r1 = *(u64 *)(r10 - 8);
 * r0 = 1; exit.
 */
static bool uninit_stack_ok(void)
{
	const struct bpf_insn insns[] = {
		{ .code = BPF_LDX | BPF_MEM | BPF_DW, .dst_reg = BPF_REG_1, .src_reg = BPF_REG_10, .off = -8 },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 1 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	int fd = bpf_prog_load(BPF_PROG_TYPE_CGROUP_SKB, NULL, "GPL", insns, sizeof(insns) / sizeof(insns[0]),
			       NULL);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/*
 * BPF_MAP_UPDATE_BATCH on an LPM trie (a policy's rule tables are written
 * that way): one element into a throw-away trie shaped like nm_rules4's.
 * Kernels without it answer ENOTSUPP and leave the count as it was.
 */
static bool lpm_batch_ok(void)
{
	LIBBPF_OPTS(bpf_map_create_opts, mo, .map_flags = BPF_F_NO_PREALLOC);
	LIBBPF_OPTS(bpf_map_batch_opts, bo, .elem_flags = BPF_ANY);
	struct { __u32 prefixlen; __u32 addr; } key = { 32, 0x0100007f };
	__u32 val = 1, count = 1;
	int fd, err;

	fd = bpf_map_create(BPF_MAP_TYPE_LPM_TRIE, "nm_probe_lpm", sizeof(key), sizeof(val), 1, &mo);
	if (fd < 0)
		return false;
	err = bpf_map_update_batch(fd, &key, &val, &count, &bo);
	close(fd);
	return err == 0 && count == 1;
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
	set(fs, NM_F_UNINIT_STACK, "verifier: privileged programs may read unwritten stack (after 5.10)", true,
	    bpf_ok && uninit_stack_ok());
	set(fs, NM_F_LPM_BATCH, "batch updates of LPM trie maps (after 5.10)", true,
	    bpf_ok && lpm_batch_ok());
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
