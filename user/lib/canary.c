// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "canary.h"
#include "cgroup.h"
#include "err.h"
#include "policy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static void canary_child(const char *cg, int fd)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(80) };
	int e = 0, s;

	inet_pton(AF_INET, "169.254.169.254", &sin.sin_addr);
	if (nm_cgroup_enter(cg, 0))
		e = -EIO;
	else if (unshare(CLONE_NEWNET))
		e = -errno;
	else if ((s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		e = -errno;
	else
		e = connect(s, (struct sockaddr *)&sin, sizeof(sin)) ? errno : 0;
	if (write(fd, &e, sizeof(e)) < 0)
		_exit(2);
	_exit(0);
}

static int ensure_policy(const struct nm_maps *m, __u32 *id, bool *made)
{
	struct nm_policy p = { .default_action = NM_ACT_DENY, .mode = NM_MODE_ENFORCE };

	*made = false;
	if (nm_policy_lookup(m, NM_CANARY_POLICY, id, NULL) == 0)
		return 0;
	snprintf(p.name, sizeof(p.name), "%s", NM_CANARY_POLICY);
	*made = true;
	return nm_policy_create(m, &p, NULL, id);
}

int nm_canary(const struct nm_maps *m, const char *attach_abs)
{
	return nm_canary_run(m, attach_abs, "nomoatd-canary", false);
}

int nm_canary_run(const struct nm_maps *m, const char *attach_abs, const char *scratch, bool tidy)
{
	char cg[PATH_MAX];
	int pfd[2], e = -EIO, err, status;
	struct pollfd pp;
	__u64 cgid = 0;
	__u32 id;
	bool made;
	pid_t pid;

	err = ensure_policy(m, &id, &made);
	if (err)
		return err;
	snprintf(cg, sizeof(cg), "%s/%s-%d", attach_abs, scratch, (int)getpid());
	nm_cgroup_destroy(cg); /* a leftover of a crash */
	err = nm_cgroup_create(cg);
	if (err) {
		nm_fail(NM_E_RUNTIME, err, "enforcement check: cannot create %s: %s", cg, strerror(-err));
		goto tidy;
	}
	err = nm_cgroup_id(cg, &cgid);
	if (!err)
		err = nm_bind(m, cgid, id);
	if (err || pipe2(pfd, O_CLOEXEC)) {
		err = err ? err : -errno;
		goto out;
	}
	pid = fork();
	if (pid == 0) {
		close(pfd[0]);
		canary_child(cg, pfd[1]);
	}
	close(pfd[1]);
	pp = (struct pollfd){ .fd = pfd[0], .events = POLLIN };
	if (pid > 0 && poll(&pp, 1, 5000) == 1 && read(pfd[0], &e, sizeof(e)) != sizeof(e))
		e = -EIO;
	close(pfd[0]);
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	if (e == EPERM)
		err = 0;
	else if (e < 0)
		err = nm_fail(NM_E_RUNTIME, e, "enforcement check could not run: %s", strerror(-e));
	else
		err = nm_fail(NM_E_RUNTIME, -EPERM,
			      "enforcement check failed: a connect from a policed cgroup under %s to 169.254.169.254 "
			      "was not refused (%s): refusing to run enforcing nothing",
			      attach_abs, e ? strerror(e) : "it was allowed");
out:
	if (cgid)
		nm_unbind(m, cgid);
	nm_cgroup_destroy(cg);
tidy:
	/* after the unbind: a bound policy cannot be deleted */
	if (tidy && made) {
		char msg[512];

		/* keep the check's own message over the clean-up's */
		snprintf(msg, sizeof(msg), "%s", nm_err_msg());
		if (nm_policy_delete(m, NM_CANARY_POLICY) && err)
			nm_fail(NM_E_RUNTIME, err, "%s", msg);
	}
	return err;
}
