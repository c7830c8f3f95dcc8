/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * att_ns.c - attempts through namespaces and nomoat's own BPF objects:
 * another network namespace (unshare, setns into the world's where the
 * hosts live or the host's, a user+network namespace of our own), uncovering
 * the hidden bpffs in a mount namespace of our own, and the BPF calls that
 * would undo enforcement (the pinned link, detaching from the attach point,
 * listing links by id, loading a program, mounting a bpffs).
 *
 * A success is proven by a TCP connect to the metadata host from there
 * (never from the host's network namespace: nothing may leave the machine).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "battery.h"

/* The probe: a plain TCP connect to the metadata host with our token. */
static void probe(const struct nmb_att *a, struct nmb_res *r)
{
	nmb_tcp_probe(&nmb_meta4, a->name, r);
}

/* ---- a user namespace of our own ------------------------------------------------- */
int nmb_own_userns(int extra_flags)
{
	char map[64];
	uid_t uid = getuid();
	gid_t gid = getgid();
	int fd;

	if (unshare(CLONE_NEWUSER | extra_flags))
		return -errno;
	fd = open("/proc/self/setgroups", O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (write(fd, "deny", 4) < 0) {
			/* gid_map will say */
		}
		close(fd);
	}
	snprintf(map, sizeof(map), "0 %d 1", (int)uid);
	fd = open("/proc/self/uid_map", O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, map, strlen(map)) < 0) {
		int e = -errno;

		if (fd >= 0)
			close(fd);
		return e;
	}
	close(fd);
	snprintf(map, sizeof(map), "0 %d 1", (int)gid);
	fd = open("/proc/self/gid_map", O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, map, strlen(map)) < 0) {
		int e = -errno;

		if (fd >= 0)
			close(fd);
		return e;
	}
	close(fd);
	return 0;
}

/* ---- network namespaces ------------------------------------------------------------ */
static void att_unshare_net(const struct nmb_att *a, const struct nmb_cfg *c, struct nmb_res *r)
{
	(void)c;
	if (unshare(CLONE_NEWNET)) {
		nmb_set_errno(r, "unshare(CLONE_NEWNET)", errno);
		return;
	}
	probe(a, r);
	nmb_prefix(r, "in a new network namespace", NULL);
}

/* probe: connect from there (never from the host's netns: a success there
 * must not send anything off the machine). */
static void setns_to(const struct nmb_att *a, const char *path, bool userns, bool probe_there, struct nmb_res *r)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), e;

	if (fd < 0) {
		nmb_set_errno(r, "open (netns)", errno);
		return;
	}
	if (userns) {
		e = nmb_own_userns(0);
		if (e) {
			nmb_set_errno(r, "unshare(CLONE_NEWUSER)", -e);
			close(fd);
			return;
		}
	}
	if (setns(fd, CLONE_NEWNET)) {
		nmb_set_errno(r, "setns(CLONE_NEWNET)", errno);
		close(fd);
		return;
	}
	close(fd);
	if (!probe_there) {
		nmb_set(r, NMB_THROUGH, "joined %s (nothing sent from there)", path);
		return;
	}
	probe(a, r);
	nmb_prefix(r, "joined ", path);
}

static void att_setns_world(const struct nmb_att *a, const struct nmb_cfg *c, struct nmb_res *r)
{
	setns_to(a, c->world_ns, false, true, r);
}

static void att_setns_host(const struct nmb_att *a, const struct nmb_cfg *c, struct nmb_res *r)
{
	(void)c;
	setns_to(a, "/proc/1/ns/net", false, false, r);
}

static void att_userns_setns_world(const struct nmb_att *a, const struct nmb_cfg *c, struct nmb_res *r)
{
	setns_to(a, c->world_ns, true, true, r);
}

/* A network namespace of our own (through a user namespace): its own
 * stack, but no way to the world's. */
static void att_userns_netns(const struct nmb_att *a, const struct nmb_cfg *c, struct nmb_res *r)
{
	int e = nmb_own_userns(CLONE_NEWNET);

	(void)c;
	if (e) {
		nmb_set_errno(r, "unshare(CLONE_NEWUSER|CLONE_NEWNET)", -e);
		return;
	}
	probe(a, r);
	nmb_prefix(r, "in a user+network namespace of our own", NULL);
	if (r->kind == NMB_FAILED)
		snprintf(r->how + strlen(r->how), sizeof(r->how) - strlen(r->how),
			 " (a new netns has only its own loopback)");
}

/* Uncover the hidden bpffs in a mount namespace of our own. */
static void att_userns_unhide(const struct nmb_att *a, const struct nmb_cfg *c, struct nmb_res *r)
{
	int e = nmb_own_userns(CLONE_NEWNS), fd;

	if (e) {
		nmb_set_errno(r, "unshare(CLONE_NEWUSER|CLONE_NEWNS)", -e);
		return;
	}
	if (umount2("/sys/fs/bpf", MNT_DETACH)) {
		nmb_set_errno(r, "umount2(/sys/fs/bpf)", errno);
		if (errno == EINVAL || errno == EPERM)
			nmb_set(r, NMB_BLOCKED, "%s at umount2(/sys/fs/bpf): the mount covering the pins is locked",
				nmb_errname(errno));
		return;
	}
	fd = bpf_obj_get(c->pin_link);
	if (fd < 0) {
		nmb_set_errno(r, "bpf(BPF_OBJ_GET) after uncovering", errno);
		return;
	}
	if (bpf_link_detach(fd)) {
		nmb_set_errno(r, "bpf(BPF_LINK_DETACH)", errno);
		close(fd);
		return;
	}
	close(fd);
	probe(a, r);
	nmb_prefix(r, "uncovered the pins and detached nomoat's connect4 link", NULL);
}

/* ---- nomoat's BPF objects --------------------------------------------------------- */
static void att_obj_get(const struct nmb_att *a, const struct nmb_cfg *c, struct nmb_res *r)
{
	int fd = bpf_obj_get(c->pin_link);

	if (fd < 0) {
		nmb_set_errno(r, "bpf(BPF_OBJ_GET)", errno);
		return;
	}
	if (bpf_link_detach(fd)) {
		nmb_set_errno(r, "bpf(BPF_LINK_DETACH)", errno);
		close(fd);
		return;
	}
	close(fd);
	probe(a, r);
	nmb_prefix(r, "detached nomoat's pinned connect4 link", NULL);
}

static void att_prog_detach(const struct nmb_att *a, const struct nmb_cfg *c, struct nmb_res *r)
{
	int fd = open(c->cg_attach, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0) {
		nmb_set_errno(r, "open (attach point)", errno);
		return;
	}
	if (bpf_prog_detach(fd, BPF_CGROUP_INET4_CONNECT)) {
		nmb_set_errno(r, "bpf(BPF_PROG_DETACH)", errno);
		if (errno == EINVAL)
			nmb_set(r, NMB_BLOCKED, "EINVAL at bpf(BPF_PROG_DETACH): a multi-attached program is detached "
				"by its fd, which we cannot get (nomoat's are held by links)");
		close(fd);
		return;
	}
	close(fd);
	probe(a, r);
	nmb_prefix(r, "detached connect4 from the attach point", NULL);
}

static void att_link_ids(const struct nmb_att *a, const struct nmb_cfg *c, struct nmb_res *r)
{
	__u32 id = 0;
	int n = 0;

	(void)c;
	if (bpf_link_get_next_id(0, &id)) {
		nmb_set_errno(r, "bpf(BPF_LINK_GET_NEXT_ID)", errno);
		return;
	}
	/* Listing worked: detach every link we can open. */
	do {
		int fd = bpf_link_get_fd_by_id(id);

		if (fd >= 0) {
			n += !bpf_link_detach(fd);
			close(fd);
		}
	} while (!bpf_link_get_next_id(id, &id));
	probe(a, r);
	nmb_prefix(r, "listed link ids, detached: ", n ? "some" : "none");
}

static void att_prog_load(const struct nmb_att *a, const struct nmb_cfg *c, struct nmb_res *r)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 1 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	LIBBPF_OPTS(bpf_prog_load_opts, o, .expected_attach_type = BPF_CGROUP_INET4_CONNECT);
	int fd = bpf_prog_load(BPF_PROG_TYPE_CGROUP_SOCK_ADDR, "nmb", "GPL", insns, 2, &o);

	(void)a;
	(void)c;
	if (fd < 0) {
		nmb_set_errno(r, "bpf(BPF_PROG_LOAD)", errno);
		return;
	}
	close(fd);
	nmb_set(r, NMB_FAILED, "loaded a program (but one that allows cannot overrule nomoat's deny)");
}

static void att_mount_bpffs(const struct nmb_att *a, const struct nmb_cfg *c, struct nmb_res *r)
{
	char dir[] = "/tmp/nmb-bpf-XXXXXX";

	(void)a;
	(void)c;
	if (!mkdtemp(dir)) {
		nmb_set_errno(r, "mkdtemp", errno);
		return;
	}
	if (mount("bpf", dir, "bpf", 0, NULL)) {
		nmb_set_errno(r, "mount(bpf)", errno);
	} else {
		nmb_set(r, NMB_FAILED, "mounted a bpffs (a fresh one holds none of nomoat's pins)");
		umount2(dir, MNT_DETACH);
	}
	rmdir(dir);
}

/* ---- the table -------------------------------------------------------------------- */
#define A(g, n, f, ctl) { g, n, f, NULL, ctl, 0 }

const struct nmb_att nmb_att_ns[] = {
	A("ns", "unshare-netns.meta4", att_unshare_net, false),
	A("ns", "setns-world-netns.meta4", att_setns_world, false),
	A("ns", "setns-host-netns.meta4", att_setns_host, false),
	A("ns", "userns-setns-world-netns.meta4", att_userns_setns_world, false),
	A("ns", "userns-own-netns.meta4", att_userns_netns, false),
	A("ns", "userns-uncover-pins.meta4", att_userns_unhide, false),

	A("bpf", "bpf-obj-get-pinned-link.meta4", att_obj_get, false),
	A("bpf", "bpf-prog-detach-attach-point.meta4", att_prog_detach, false),
	A("bpf", "bpf-link-ids.meta4", att_link_ids, false),
	A("bpf", "bpf-prog-load", att_prog_load, false),
	A("bpf", "bpf-mount-bpffs", att_mount_bpffs, false),
};

const int nmb_att_ns_n = sizeof(nmb_att_ns) / sizeof(nmb_att_ns[0]);
