/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * att_proc.c - attempts to become a process the policy does not cover, then
 * connect to the metadata host: new processes and threads (fork, an orphan
 * grandchild, a thread, vfork, exec), other cgroups (clone3 with
 * CLONE_INTO_CGROUP into the root and into an unbound cgroup, writing
 * cgroup.procs, remounting the cgroup filesystem read-write or mounting a
 * fresh one, with and without a user namespace of our own).
 *
 * Whatever the trick, the proof is the same plain TCP connect with the
 * attempt's token from the new place.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "battery.h"
#include "topo.h"

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

/* ---- helpers ------------------------------------------------------------------- */
/* The probe: a plain TCP connect to the metadata host with our token. */
static void probe(const struct nmb_att *a, struct nmb_res *r)
{
	nmb_tcp_probe(&nmb_meta4, a->name, r);
}

/* Read one result from a pipe within ms. */
static bool read_res(int fd, int ms, struct nmb_res *r)
{
	size_t got = 0;

	while (got < sizeof(*r)) {
		fd_set set;
		struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
		ssize_t k;

		FD_ZERO(&set);
		FD_SET(fd, &set);
		if (select(fd + 1, &set, NULL, NULL, &tv) <= 0)
			return false;
		k = read(fd, (char *)r + got, sizeof(*r) - got);
		if (k <= 0)
			return false;
		got += k;
	}
	return true;
}

/* Where am I? The cgroup v2 line of /proc/self/cgroup. */
static void my_cgroup(char *buf, size_t len)
{
	char line[600];
	FILE *f = fopen("/proc/self/cgroup", "r");

	snprintf(buf, len, "?");
	while (f && fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "0::", 3)) {
			line[strcspn(line, "\n")] = 0;
			nmb_copy(buf, len, line + 3);
		}
	}
	if (f)
		fclose(f);
}


/* ---- new processes and threads ---------------------------------------------------- */
static void att_fork(const struct nmb_att *a, const struct nmb_cfg *c, struct nmb_res *r)
{
	int p[2];
	pid_t pid;

	(void)c;
	if (pipe(p)) {
		nmb_set_errno(r, "pipe", errno);
		return;
	}
	pid = fork();
	if (pid == 0) {
		struct nmb_res cr;

		memset(&cr, 0, sizeof(cr));
		probe(a, &cr);
		if (write(p[1], &cr, sizeof(cr)) < 0)
			_exit(1);
		_exit(0);
	}
	close(p[1]);
	if (pid < 0 || !read_res(p[0], 4000, r))
		nmb_set(r, NMB_FAILED, "the child reported nothing");
	else
		nmb_prefix(r, "from a forked child", NULL);
	close(p[0]);
	if (pid > 0)
		waitpid(pid, NULL, 0);
}

/* The grandchild connects once its parent is gone (re-parented). */
static void att_orphan(const struct nmb_att *a, const struct nmb_cfg *c, struct nmb_res *r)
{
	int p[2];
	pid_t pid;

	(void)c;
	if (pipe(p)) {
		nmb_set_errno(r, "pipe", errno);
		return;
	}
	pid = fork();
	if (pid == 0) {
		pid_t mid = getpid();

		if (fork() == 0) {
			struct nmb_res cr;

			for (int i = 0; i < 200 && getppid() == mid; i++)
				usleep(5000);
			memset(&cr, 0, sizeof(cr));
			probe(a, &cr);
			if (write(p[1], &cr, sizeof(cr)) < 0)
				_exit(1);
			_exit(0);
		}
		_exit(0);
	}
	close(p[1]);
	if (pid > 0)
		waitpid(pid, NULL, 0);
	if (pid < 0 || !read_res(p[0], 4000, r))
		nmb_set(r, NMB_FAILED, "the grandchild reported nothing");
	else
		nmb_prefix(r, "from a grandchild whose parent had exited", NULL);
	close(p[0]);
}

struct thr {
	const struct nmb_att *a;
	struct nmb_res r;
};

static void *thread_fn(void *p)
{
	struct thr *t = p;

	probe(t->a, &t->r);
	return NULL;
}

static void att_thread(const struct nmb_att *a, const struct nmb_cfg *c, struct nmb_res *r)
{
	struct thr t = { a, { 0 } };
	pthread_t th;
	int e;

	(void)c;
	e = pthread_create(&th, NULL, thread_fn, &t);
	if (e) {
		nmb_set_errno(r, "pthread_create", e);
		return;
	}
	pthread_join(th, NULL);
	*r = t.r;
	nmb_prefix(r, "from a thread", NULL);
}

/* vfork: the child borrows our memory; it may only make system calls. */
static void att_vfork(const struct nmb_att *a, const struct nmb_cfg *c, struct nmb_res *r)
{
	struct sockaddr_storage ss;
	struct timeval tv = { 1, 0 };
	char tok[NMB_TOKEN_MAX];
	int len = nmt_sa_make(&ss, nmb_meta4.addr, nmb_meta4.tcp, false), st = 0;
	size_t tl = strlen(nmb_token(a->name, tok, sizeof(tok)));
	pid_t pid;

	(void)c;
	pid = vfork();
	if (pid == 0) {
		int s = socket(AF_INET, SOCK_STREAM, 0);

		if (s < 0)
			_exit(250);
		setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		if (connect(s, (struct sockaddr *)&ss, len))
			_exit(errno < 250 ? errno : 249);
		if (write(s, tok, tl) < 0)
			_exit(0);
		_exit(0);
	}
	if (pid < 0) {
		nmb_set_errno(r, "vfork", errno);
		return;
	}
	waitpid(pid, &st, 0);
	if (!WIFEXITED(st))
		nmb_set(r, NMB_FAILED, "the vfork child died");
	else if (WEXITSTATUS(st) == 0)
		nmb_set(r, NMB_THROUGH, "connect from a vfork child succeeded");
	else if (WEXITSTATUS(st) >= 249)
		nmb_set(r, NMB_FAILED, "the vfork child could not make a socket");
	else {
		nmb_set_errno(r, "connect", WEXITSTATUS(st));
		nmb_prefix(r, "from a vfork child", NULL);
	}
}

/* A fresh program image (this binary's probe mode) in a child. */
static void att_exec(const struct nmb_att *a, const struct nmb_cfg *c, struct nmb_res *r)
{
	char port[16], out[400];
	int p[2], kind = -1, n = 0;
	pid_t pid;

	(void)c;
	snprintf(port, sizeof(port), "%d", nmb_meta4.tcp);
	if (pipe(p)) {
		nmb_set_errno(r, "pipe", errno);
		return;
	}
	pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		execl("/proc/self/exe", "battery", "probe", "tcp", nmb_meta4.addr, port, a->name,
		      nmb_pass_name[nmb_agent_pass], (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	while (pid > 0 && n < (int)sizeof(out) - 1) {
		fd_set set;
		struct timeval tv = { 4, 0 };
		ssize_t k;

		FD_ZERO(&set);
		FD_SET(p[0], &set);
		if (select(p[0] + 1, &set, NULL, NULL, &tv) <= 0)
			break;
		k = read(p[0], out + n, sizeof(out) - 1 - n);
		if (k <= 0)
			break;
		n += k;
	}
	out[n] = 0;
	close(p[0]);
	if (pid > 0)
		waitpid(pid, NULL, 0);
	if (sscanf(out, "%d ", &kind) != 1 || kind < 0 || kind > NMB_THROUGH) {
		nmb_set(r, NMB_FAILED, "the exec'd probe said nothing ('%.60s')", out);
		return;
	}
	out[strcspn(out, "\n")] = 0;
	nmb_set(r, kind, "from an exec'd program: %s", strchr(out, ' ') ? strchr(out, ' ') + 1 : "");
}

/* clone3 with CLONE_INTO_CGROUP: a child born in another cgroup. */
static void clone_into(const struct nmb_att *a, const char *cg, struct nmb_res *r)
{
	struct clone_args ca;
	int p[2], cfd;
	long pid;

	cfd = open(cg, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cfd < 0) {
		nmb_set_errno(r, "open (cgroup dir)", errno);
		return;
	}
	if (pipe(p)) {
		nmb_set_errno(r, "pipe", errno);
		close(cfd);
		return;
	}
	memset(&ca, 0, sizeof(ca));
	ca.flags = CLONE_INTO_CGROUP;
	ca.exit_signal = SIGCHLD;
	ca.cgroup = cfd;
	pid = syscall(SYS_clone3, &ca, sizeof(ca));
	if (pid == 0) {
		struct nmb_res cr;
		char where[400];

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		alarm(5);
		memset(&cr, 0, sizeof(cr));
		my_cgroup(where, sizeof(where));
		probe(a, &cr);
		nmb_prefix(&cr, "child born in cgroup ", where);
		if (write(p[1], &cr, sizeof(cr)) < 0)
			_exit(1);
		_exit(0);
	}
	close(p[1]);
	close(cfd);
	if (pid < 0) {
		nmb_set_errno(r, "clone3(CLONE_INTO_CGROUP)", errno);
	} else {
		if (!read_res(p[0], 4000, r))
			nmb_set(r, NMB_FAILED, "the clone3 child reported nothing");
		waitpid(pid, NULL, 0);
	}
	close(p[0]);
}

static void att_clone3_root(const struct nmb_att *a, const struct nmb_cfg *c, struct nmb_res *r)
{
	clone_into(a, c->cgmount, r);
}

static void att_clone3_free(const struct nmb_att *a, const struct nmb_cfg *c, struct nmb_res *r)
{
	clone_into(a, c->cg_free, r);
}

/* ---- cgroup files and mounts ------------------------------------------------------ */
/* Move ourselves by writing our pid into a cgroup.procs, then probe. */
static void move_to(const struct nmb_att *a, const char *cg, struct nmb_res *r)
{
	char path[600], pid[16];
	int fd;

	snprintf(path, sizeof(path), "%s/cgroup.procs", cg);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		nmb_set_errno(r, "open(cgroup.procs, O_WRONLY)", errno);
		return;
	}
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	if (write(fd, pid, strlen(pid)) < 0) {
		nmb_set_errno(r, "write(cgroup.procs)", errno);
		close(fd);
		return;
	}
	close(fd);
	probe(a, r);
	nmb_prefix(r, "moved into ", cg);
}

static void att_write_root(const struct nmb_att *a, const struct nmb_cfg *c, struct nmb_res *r)
{
	move_to(a, c->cgmount, r);
}

static void att_write_free(const struct nmb_att *a, const struct nmb_cfg *c, struct nmb_res *r)
{
	move_to(a, c->cg_free, r);
}

/* Make the cgroup filesystem writable again, then move to its root. */
static void remount_rw(const struct nmb_att *a, const struct nmb_cfg *c, struct nmb_res *r)
{
	if (mount(NULL, c->cgmount, NULL, MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL)) {
		nmb_set_errno(r, "mount(MS_REMOUNT, read-write)", errno);
		return;
	}
	move_to(a, c->cgmount, r);
	nmb_prefix(r, "remounted read-write: ", c->cgmount);
}

static void att_remount_rw(const struct nmb_att *a, const struct nmb_cfg *c, struct nmb_res *r)
{
	remount_rw(a, c, r);
}

static void att_userns_remount_rw(const struct nmb_att *a, const struct nmb_cfg *c, struct nmb_res *r)
{
	int e = nmb_own_userns(CLONE_NEWNS);

	if (e) {
		nmb_set_errno(r, "unshare(CLONE_NEWUSER|CLONE_NEWNS)", -e);
		return;
	}
	remount_rw(a, c, r);
	nmb_prefix(r, "in a user namespace of our own", NULL);
}

static void att_userns_write_root(const struct nmb_att *a, const struct nmb_cfg *c, struct nmb_res *r)
{
	int e = nmb_own_userns(0);

	if (e) {
		nmb_set_errno(r, "unshare(CLONE_NEWUSER)", -e);
		return;
	}
	move_to(a, c->cgmount, r);
	nmb_prefix(r, "in a user namespace of our own", NULL);
}

/* A fresh cgroup2 mount (a writable view), then move to its root. */
static void att_mount_cgroup2(const struct nmb_att *a, const struct nmb_cfg *c, struct nmb_res *r)
{
	char dir[] = "/tmp/nmb-cg-XXXXXX";

	(void)c;
	if (!mkdtemp(dir)) {
		nmb_set_errno(r, "mkdtemp", errno);
		return;
	}
	if (mount("cgroup2", dir, "cgroup2", 0, NULL)) {
		nmb_set_errno(r, "mount(cgroup2)", errno);
	} else {
		move_to(a, dir, r);
		nmb_prefix(r, "mounted a fresh cgroup2 at ", dir);
		umount2(dir, MNT_DETACH);
	}
	rmdir(dir);
}

/* ---- the table -------------------------------------------------------------------- */
#define A(g, n, f, ctl) { g, n, f, NULL, ctl, 0 }

const struct nmb_att nmb_att_proc[] = {
	A("procs", "fork-child.meta4", att_fork, true),
	A("procs", "orphan-grandchild.meta4", att_orphan, true),
	A("procs", "thread.meta4", att_thread, true),
	A("procs", "vfork-child.meta4", att_vfork, true),
	A("procs", "exec-self.meta4", att_exec, true),
	A("procs", "clone3-into-root-cgroup.meta4", att_clone3_root, true),
	/* not in control either: a container's cgroup namespace and mount show
	 * nothing outside its own cgroup */
	A("procs", "clone3-into-unbound-cgroup.meta4", att_clone3_free, false),

	A("cgroup", "write-root-cgroup.procs.meta4", att_write_root, false),
	A("cgroup", "write-unbound-cgroup.procs.meta4", att_write_free, false),
	A("cgroup", "remount-cgroupfs-rw.meta4", att_remount_rw, false),
	A("cgroup", "mount-cgroup2.meta4", att_mount_cgroup2, false),
	A("cgroup", "userns-remount-cgroupfs-rw.meta4", att_userns_remount_rw, false),
	A("cgroup", "userns-write-root-cgroup.procs.meta4", att_userns_write_root, false),
};

const int nmb_att_proc_n = sizeof(nmb_att_proc) / sizeof(nmb_att_proc[0]);
