// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* run [--policy NAME] [--cgroup-parent PATH] -- CMD [ARGS...] */
#include "cli.h"
#include "cgroup.h"
#include "err.h"
#include "policy.h"
#include "runpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t child_pid;

static void forward(int sig)
{
	if (child_pid > 0)
		kill(child_pid, sig);
}

int nm_cmd_run(struct nm_cli *c, int argc, char **argv)
{
	const char *policy = NULL, *parent = NULL;
	struct nm_opt opts[] = {
		{ "policy", &policy, NULL },
		{ "cgroup-parent", &parent, NULL },
		{ NULL, NULL, NULL },
	};
	char want[PATH_MAX], parent_abs[PATH_MAX], cg[PATH_MAX + 64], **cmd;
	struct sigaction sa = { .sa_handler = forward }, old[3];
	int n, ncmd, ret, status = 0, pipefd[2], child_err = 0;
	struct nm_maps m;
	__u64 cgid;
	__u32 id;
	pid_t pid;

	ret = nm_opts_parse(argc, argv, opts, NULL, 0, &n, &cmd, &ncmd);
	if (ret)
		return ret;
	if (!cmd || ncmd < 1)
		return nm_usage("run needs a command after '--' (nomoat run --policy P -- CMD ARGS...)");
	/* A wrong path is said before anything is opened. */
	if (parent && (ret = nm_runpoint_parent(parent, parent_abs, sizeof(parent_abs))))
		return ret;
	ret = nm_cli_maps(c, &m);
	if (ret)
		return ret;
	/* Without --policy the new cgroup is not bound: its nearest bound
	 * ancestor's policy applies (or, with none, it fails closed). */
	if (policy && (ret = nm_policy_lookup(&m, policy, &id, NULL)))
		goto out;
	ret = nm_runpoint_choose(c->pin_dir, &m, parent, parent ? parent_abs : NULL, policy ? id : 0, want,
				 sizeof(want));
	if (ret)
		goto out;
	snprintf(cg, sizeof(cg), "%s/nomoat-run-%d", want, (int)getpid());
	ret = nm_cgroup_create(cg);
	if (ret) {
		ret = nm_fail(NM_E_RUNTIME, ret, "cannot create cgroup %s: %s", cg, strerror(-ret));
		goto out;
	}
	ret = nm_cgroup_id(cg, &cgid);
	if (!ret && policy)
		ret = nm_bind(&m, cgid, id);
	if (ret) {
		nm_cgroup_destroy(cg);
		goto out;
	}
	if (pipe2(pipefd, O_CLOEXEC)) {
		ret = nm_fail(NM_E_RUNTIME, -errno, "pipe: %s", strerror(errno));
		goto cleanup;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		ret = nm_fail(NM_E_RUNTIME, -errno, "fork: %s", strerror(errno));
		close(pipefd[0]);
		close(pipefd[1]);
		goto cleanup;
	}
	if (pid == 0) {
		/* Into the cgroup before the command's first instruction. */
		int e = nm_cgroup_enter(cg, 0);

		close(pipefd[0]);
		if (!e) {
			execvp(cmd[0], cmd);
			e = -errno;
		}
		if (write(pipefd[1], &e, sizeof(e)) < 0)
			_exit(127);
		_exit(127);
	}
	child_pid = pid;
	close(pipefd[1]);
	for (int i = 0; i < 3; i++)
		sigaction((int[]){ SIGINT, SIGTERM, SIGHUP }[i], &sa, &old[i]);
	if (read(pipefd[0], &child_err, sizeof(child_err)) != sizeof(child_err))
		child_err = 0; /* exec succeeded: the pipe closed */
	close(pipefd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	for (int i = 0; i < 3; i++)
		sigaction((int[]){ SIGINT, SIGTERM, SIGHUP }[i], &old[i], NULL);
	child_pid = 0;
	if (child_err) {
		ret = nm_fail(NM_E_RUNTIME, child_err, "cannot run '%s': %s", cmd[0], strerror(-child_err));
		goto cleanup;
	}
	ret = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
cleanup:
	if (policy)
		nm_unbind(&m, cgid);
	nm_cgroup_destroy(cg);
out:
	nm_maps_close(&m);
	return ret;
}
