// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * doctor-integration - `nomoat doctor` and `nomoat -j doctor` for real, and
 * nomoatd refusing to start on a doctor fail:
 *   - before `nomoat load`: exit 0, the not-loaded warning, strict JSON whose
 *     counts add up; bad usage exits 2;
 *   - with no cgroup2 mount (in a private mount namespace of a child): it
 *     mounts one and warns;
 *   - a gVisor `runsc` on $PATH: the runtime warning naming it;
 *   - loaded, attached, a policy with loopback endpoints bound (a listener
 *     of the test on one, nothing on the other): the loopback and
 *     nothing-listens warnings, the canary refused, nothing left behind;
 *   - a forged kernel-log line (user facility) is not taken for the kernel's;
 *   - the pin dir bind-mounted into a chrooted child in its own mount
 *     namespace (a container that sees the pins): doctor fails (exit 1)
 *     naming the child, nomoatd refuses to start; gone again once the
 *     child is.
 *
 *   doctor-integration [-v] [NOMOAT [NOMOATD]]
 *
 * Everything is named after the test's pid: pins /sys/fs/bpf/nmt-doctor-<pid>,
 * cgroups <cgroup2>/nmt-doctor-<pid>/, files /tmp/nmt-doctor-<pid>/; all of
 * it and every child is removed at exit, on SIGINT/SIGTERM and on failure.
 * No packet leaves the root network namespace: the only listener is on
 * loopback, and the doctor's own connect runs in an empty namespace.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup.h"
#include "harness.h"
#include "jsonparse.h"
#include "run.h"

static struct {
	const char *nomoatd;
	char tmp[256];     /* /tmp/nmt-doctor-<pid> */
	char sb[1400];     /* <base>/sb: the attach point */
	int lfd;           /* the test's TCP listener on loopback */
	int port_tcp, port_udp;
	pid_t seer;        /* the child that sees the pins, 0 if none */
	bool made_tmp;
} F = { .lfd = -1 };

static void cleanup_first(void)
{
	if (F.seer > 0)
		kill(F.seer, SIGKILL);
	if (F.lfd >= 0)
		close(F.lfd);
}

static void cleanup_last(void)
{
	if (F.made_tmp && nmt_rmtree(F.tmp))
		fprintf(stderr, "cleanup: could not remove %s\n", F.tmp);
}

/* ---- the doctor's output --------------------------------------------------- */
struct report {
	json_t *root;
	const json_t *checks;
	double ok, warn, fail;
};

/* Strict JSON, checks an array of {name,status,detail} strings with a
 * known status, counts that add up to the lines; false with why. */
static bool report_parse(const char *out, struct report *r, char *why, size_t len)
{
	char err[NM_JSON_ERR_LEN];
	double n[3] = { 0 };
	const char *const st[3] = { "ok", "warn", "fail" };
	const json_t *v, *e;
	size_t i;

	memset(r, 0, sizeof(*r));
	if (nm_json_parse(out, strlen(out), &r->root, err, sizeof(err))) {
		nmt_why_set(why, len, "not JSON (%s): %s", err, nmt_oneline(out));
		return false;
	}
	r->checks = json_object_get(r->root, "checks");
	if (!json_is_array(r->checks) || !json_array_size(r->checks)) {
		nmt_why_set(why, len, "no \"checks\" array: %s", nmt_oneline(out));
		return false;
	}
	json_array_foreach(r->checks, i, e) {
		const json_t *nm = json_object_get(e, "name"), *s = json_object_get(e, "status"),
			     *d = json_object_get(e, "detail");
		int k = -1;

		for (int j = 0; json_is_string(s) && j < 3; j++)
			if (!strcmp(json_string_value(s), st[j]))
				k = j;
		if (!json_is_string(nm) || !json_is_string(d) || !*json_string_value(d) || k < 0) {
			nmt_why_set(why, len, "a check without name, a known status or a detail: %s", nmt_oneline(out));
			return false;
		}
		n[k]++;
	}
	for (int j = 0; j < 3; j++) {
		v = json_object_get(r->root, st[j]);
		if (!json_is_number(v) || json_number_value(v) != n[j]) {
			nmt_why_set(why, len, "\"%s\" is not the %g lines of that status: %s", st[j], n[j], nmt_oneline(out));
			return false;
		}
	}
	r->ok = n[0];
	r->warn = n[1];
	r->fail = n[2];
	return true;
}

static void report_free(struct report *r)
{
	json_decref(r->root);
	r->root = NULL;
}

/* The status and detail of the first line named name, or NULL. */
static const char *report_get(const struct report *r, const char *name, const char **detail)
{
	const json_t *e;
	size_t i;

	json_array_foreach(r->checks, i, e)
		if (!strcmp(json_string_value(json_object_get(e, "name")), name)) {
			if (detail)
				*detail = json_string_value(json_object_get(e, "detail"));
			return json_string_value(json_object_get(e, "status"));
		}
	return NULL;
}

/* Line name has status st and a detail holding each of the words. */
static void want_line(const struct report *r, const char *name, const char *st, const char *const words[],
		      char *why, size_t len)
{
	const char *d = "", *s = report_get(r, name, &d);

	if (!s) {
		nmt_why_set(why, len, "no line \"%s\"", name);
		return;
	}
	if (strcmp(s, st))
		nmt_why_set(why, len, "\"%s\" is %s, expected %s: %s", name, s, st, d);
	for (int i = 0; words && words[i]; i++)
		if (!strstr(d, words[i]))
			nmt_why_set(why, len, "\"%s\" does not say '%s': %s", name, words[i], d);
}

/* `nomoat -j --pin-dir P doctor`, parsed; rc expected. */
static bool doctor_json(int want_rc, struct report *r, char *why, size_t len)
{
	int rc = nmt_cli("-j --pin-dir %s doctor", nmt_h.pin_dir);

	if (rc != want_rc)
		nmt_why_set(why, len, "`nomoat -j doctor` exit %d, expected %d: %s", rc, want_rc, nmt_oneline(nmt_cli_out));
	return report_parse(nmt_cli_out, r, why, len);
}

/* ---- cases --------------------------------------------------------------- */
static void case_before_load(void)
{
	static const char *const load[] = { "nomoat load", "nomoatd", NULL };
	const char *desc = "before load: exit 0, warns 'not loaded', JSON counts add up";
	char why[1200] = "";
	struct report r;
	int rc;

	rc = nmt_cli("--pin-dir %s doctor", nmt_h.pin_dir);
	if (rc != 0)
		nmt_why_set(why, sizeof(why), "`nomoat doctor` exit %d: %s", rc, nmt_oneline(nmt_cli_out));
	if (!strstr(nmt_cli_out, "warn  loaded") || !strstr(nmt_cli_out, " warn, 0 fail"))
		nmt_why_set(why, sizeof(why), "text output has no 'warn  loaded' line or summary: %s",
			    nmt_oneline(nmt_cli_out));
	if (doctor_json(0, &r, why, sizeof(why))) {
		want_line(&r, "loaded", "warn", load, why, sizeof(why));
		want_line(&r, "socket-matching", "ok", (const char *const[]){ "not run", NULL }, why, sizeof(why));
		want_line(&r, "kernel-features", "ok", NULL, why, sizeof(why));
		if (r.fail)
			nmt_why_set(why, sizeof(why), "%g fail lines on this host: %s", r.fail, nmt_oneline(nmt_cli_out));
	}
	report_free(&r);
	nmt_verdict(!*why, desc, "%s", why);
}

static void case_usage(void)
{
	const char *desc = "bad usage: exit 2, a JSON error with -j";
	char why[600] = "";
	int rc;

	rc = nmt_cli("doctor extra");
	if (rc != 2)
		nmt_why_set(why, sizeof(why), "`nomoat doctor extra` exit %d, expected 2", rc);
	rc = nmt_cli("-j doctor --bogus");
	if (rc != 2 || !strstr(nmt_cli_out, "\"error\""))
		nmt_why_set(why, sizeof(why), "`nomoat -j doctor --bogus` exit %d, output %s", rc, nmt_oneline(nmt_cli_out));
	nmt_verdict(!*why, desc, "%s", why);
}

/* A child in a private mount namespace without the cgroup2 mount runs
 * the doctor: it must mount one (there, not on the host) and warn. */
static void case_no_cgroup2(void)
{
	const char *desc = "no cgroup2 mount (private mount namespace): doctor mounts one and warns";
	char why[1200] = "", err[4096], host[PATH_MAX];
	char *argv[] = { (char *)nmt_h.cli, "-j", "--pin-dir", nmt_h.pin_dir, "doctor", NULL };
	int po[2], pe[2], rc;
	struct report r = { 0 };
	pid_t pid;

	if (pipe2(po, O_CLOEXEC) || pipe2(pe, O_CLOEXEC)) {
		nmt_verdict(false, desc, "pipe: %s", strerror(errno));
		return;
	}
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(po[1], 1);
		dup2(pe[1], 2);
		/* private first: the unmount must not reach the host */
		if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
		    umount2(nmt_h.cgmount, MNT_DETACH) || nm_cgroup2_mount(host, sizeof(host)) != -ENOENT) {
			printf("SETUP-ERROR %s\n", strerror(errno));
			_exit(126);
		}
		execv(argv[0], argv);
		_exit(127);
	}
	close(po[1]);
	close(pe[1]);
	if (pid < 0) {
		close(po[0]);
		close(pe[0]);
		nmt_verdict(false, desc, "fork: %s", strerror(errno));
		return;
	}
	nmt_child_track(pid);
	rc = nmt_cmd_collect(pid, po[0], pe[0], nmt_cli_out, sizeof(nmt_cli_out), err, sizeof(err), 20000, 500);
	nmt_child_untrack(pid);
	if (rc != 0)
		nmt_why_set(why, sizeof(why), "exit %d: %s %s", rc, nmt_oneline(nmt_cli_out), nmt_oneline(err));
	else if (report_parse(nmt_cli_out, &r, why, sizeof(why)))
		want_line(&r, "cgroup2", "warn", (const char *const[]){ "none", "mounted", NULL }, why, sizeof(why));
	report_free(&r);
	if (nm_cgroup2_mount(host, sizeof(host)) || strcmp(host, nmt_h.cgmount))
		nmt_why_set(why, sizeof(why), "the host's cgroup2 mount changed (now '%s')", host);
	nmt_verdict(!*why, desc, "%s", why);
}

static void case_runtime(void)
{
	const char *desc = "a gVisor runsc on $PATH: warned, named, containers on it not policed";
	char why[1200] = "", bin[PATH_MAX + 8], dir[PATH_MAX], path[4096], newpath[PATH_MAX + 4096];
	const char *old = getenv("PATH");
	struct report r;
	FILE *f;

	snprintf(dir, sizeof(dir), "%s/bin", F.tmp);
	snprintf(bin, sizeof(bin), "%s/runsc", dir);
	if (mkdir(dir, 0700) || !(f = fopen(bin, "w"))) {
		nmt_verdict(false, desc, "cannot make %s: %s", bin, strerror(errno));
		return;
	}
	fputs("#!/bin/sh\nexit 0\n", f);
	fclose(f);
	chmod(bin, 0755);
	snprintf(path, sizeof(path), "%s", old ? old : "/usr/bin:/bin");
	snprintf(newpath, sizeof(newpath), "%s:%s", dir, path);
	setenv("PATH", newpath, 1);
	if (doctor_json(0, &r, why, sizeof(why)))
		want_line(&r, "runtime:gvisor", "warn", (const char *const[]){ bin, "not policed by nomoat", NULL }, why,
			  sizeof(why));
	report_free(&r);
	setenv("PATH", path, 1);
	nmt_verdict(!*why, desc, "%s", why);
}

/* A TCP listener on 127.0.0.1 (an ephemeral port) for the proxy endpoint,
 * and a free UDP port for the DNS endpoint that nothing serves. */
static bool listener(char *why, size_t len)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	int u;

	F.lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (F.lfd < 0 || bind(F.lfd, (struct sockaddr *)&a, sizeof(a)) || listen(F.lfd, 4) ||
	    getsockname(F.lfd, (struct sockaddr *)&a, &al)) {
		nmt_why_set(why, len, "listener: %s", strerror(errno));
		return false;
	}
	F.port_tcp = ntohs(a.sin_port);
	/* a port that was free a moment ago, closed again: nothing serves it */
	a.sin_port = 0;
	u = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (u < 0 || bind(u, (struct sockaddr *)&a, sizeof(a)) || getsockname(u, (struct sockaddr *)&a, &al)) {
		nmt_why_set(why, len, "udp port: %s", strerror(errno));
		return false;
	}
	F.port_udp = ntohs(a.sin_port);
	close(u);
	return true;
}

static bool loaded_fixture(char *why, size_t len)
{
	int err;

	snprintf(F.sb, sizeof(F.sb), "%s/sb", nmt_h.base);
	err = nm_cgroup_create(F.sb);
	if (err) {
		nmt_why_set(why, len, "mkdir %s: %s", F.sb, strerror(-err));
		return false;
	}
	nmt_h.loaded = true;
	return listener(why, len) && nmt_cli_ok(why, len, "load") && nmt_cli_ok(why, len, "cgroup attach %s", F.sb) &&
	       nmt_cli_ok(why, len, "policy create doc --default deny --proxy4 127.0.0.1:%d --dns4 127.0.0.1:%d",
			  F.port_tcp, F.port_udp) &&
	       nmt_cli_ok(why, len, "cgroup bind %s --policy doc", F.sb);
}

static void case_loaded(void)
{
	const char *desc = "loaded, attached, loopback endpoints bound: loopback and nothing-listens warned, canary "
			   "refused, nothing left behind";
	char why[1500] = "", p[PATH_MAX];
	struct report r;

	if (!loaded_fixture(why, sizeof(why))) {
		nmt_verdict(false, desc, "%s", why);
		return;
	}
	if (doctor_json(0, &r, why, sizeof(why))) {
		want_line(&r, "loaded", "ok", (const char *const[]){ F.sb, NULL }, why, sizeof(why));
		want_line(&r, "socket-matching", "ok", (const char *const[]){ "EPERM", NULL }, why, sizeof(why));
		want_line(&r, "endpoint:doc:proxy4", "warn", (const char *const[]){ "loopback", "TCP socket listening", NULL },
			  why, sizeof(why));
		want_line(&r, "endpoint:doc:dns4", "warn", (const char *const[]){ "loopback", "nothing listens", NULL }, why,
			  sizeof(why));
		if (r.fail)
			nmt_why_set(why, sizeof(why), "%g fail lines: %s", r.fail, nmt_oneline(nmt_cli_out));
	}
	report_free(&r);
	if (nmt_cli("policy list") || strstr(nmt_cli_out, "nomoatd-canary"))
		nmt_why_set(why, sizeof(why), "the canary policy was left behind: %s", nmt_oneline(nmt_cli_out));
	snprintf(p, sizeof(p), "%s/nomoat-doctor-%d", F.sb, (int)getpid());
	if (access(p, F_OK) == 0)
		nmt_why_set(why, sizeof(why), "scratch cgroup %s left behind", p);
	nmt_verdict(!*why, desc, "%s", why);
}

/* User space can write the kernel's message into the log, but only with
 * the user facility: the doctor must not take it for the kernel's. */
static void case_forged_kmsg(void)
{
	const char *desc = "a forged 'disabling cgroup2 socket matching' log line (user facility) is not believed";
	static const char line[] = "<6>nmt-doctor test: cgroup: disabling cgroup2 socket matching due to net_prio or "
				   "net_cls activation (forged by a test, user facility)\n";
	char why[1200] = "";
	struct report r;
	int fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);

	if (fd < 0 || write(fd, line, sizeof(line) - 1) < 0) {
		nmt_verdict(false, desc, "/dev/kmsg: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	close(fd);
	if (doctor_json(0, &r, why, sizeof(why)))
		want_line(&r, "socket-matching-log", "ok", NULL, why, sizeof(why));
	report_free(&r);
	nmt_verdict(!*why, desc, "%s", why);
}

/* A "container": its own mount and IPC namespaces, a tmpfs root it is chrooted
 * into, the pin dir bind-mounted at /pins in it. */
static bool seer_start(char *why, size_t len)
{
	char root[PATH_MAX], pins[PATH_MAX + 8], ok = 0;
	int pfd[2];

	snprintf(root, sizeof(root), "%s/root", F.tmp);
	snprintf(pins, sizeof(pins), "%s/pins", root);
	if (mkdir(root, 0700) || pipe2(pfd, O_CLOEXEC)) {
		nmt_why_set(why, len, "mkdir %s: %s", root, strerror(errno));
		return false;
	}
	fflush(NULL);
	F.seer = fork();
	if (F.seer == 0) {
		char c = 1;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		if (unshare(CLONE_NEWNS | CLONE_NEWIPC) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
		    mount("tmpfs", root, "tmpfs", 0, "size=64k,mode=0755") || mkdir(pins, 0700) ||
		    mount(nmt_h.pin_dir, pins, NULL, MS_BIND, NULL) || chroot(root) || chdir("/"))
			_exit(126);
		if (write(pfd[1], &c, 1) != 1)
			_exit(126);
		for (;;)
			pause();
	}
	close(pfd[1]);
	if (F.seer > 0) {
		struct pollfd pp = { .fd = pfd[0], .events = POLLIN };

		nmt_child_track(F.seer);
		/* one byte once it is set up (it keeps the pipe open: no EOF) */
		if (poll(&pp, 1, 5000) != 1 || read(pfd[0], &ok, 1) != 1)
			ok = 0;
	}
	close(pfd[0]);
	if (F.seer < 0 || !ok) {
		nmt_why_set(why, len, "the child that sees the pins did not start");
		return false;
	}
	return true;
}

static void seer_stop(void)
{
	if (F.seer <= 0)
		return;
	kill(F.seer, SIGKILL);
	nmt_wait(F.seer, 2000);
	nmt_child_untrack(F.seer);
	F.seer = 0;
}

/* nomoatd with the test's pins: it must refuse before loading anything. */
static void nomoatd_refuses(char *why, size_t len)
{
	char conf[300], pidf[300], out[4096], err[8192];
	char *argv[] = { (char *)F.nomoatd, "--config", conf, "--pin-dir", nmt_h.pin_dir, "--pidfile", pidf, NULL };
	int rc;

	snprintf(conf, sizeof(conf), "%s/none.conf", F.tmp); /* never read: the refusal comes first */
	snprintf(pidf, sizeof(pidf), "%s/nomoatd.pid", F.tmp);
	rc = nmt_cmdv(argv, out, sizeof(out), err, sizeof(err), 20000);
	if (rc != 1 || !strstr(err, "refusing to start") || !strstr(err, "pin-dir-containers"))
		nmt_why_set(why, len, "nomoatd exit %d (expected 1, refusing for pin-dir-containers): %s", rc,
			    nmt_oneline(err));
}

static void case_pins_seen(void)
{
	const char *desc = "pin dir bind-mounted in a chrooted child's mount namespace: doctor fails naming it, "
			   "nomoatd refuses to start; fine again once it is gone";
	char why[1500] = "", pid[32];
	struct report r;

	if (!seer_start(why, sizeof(why))) {
		nmt_verdict(false, desc, "%s", why);
		return;
	}
	snprintf(pid, sizeof(pid), "pid %d ", (int)F.seer);
	if (doctor_json(1, &r, why, sizeof(why)))
		want_line(&r, "pin-dir-containers", "fail", (const char *const[]){ pid, "/pins", "detach", NULL }, why,
			  sizeof(why));
	report_free(&r);
	if (nmt_cli("--pin-dir %s doctor", nmt_h.pin_dir) != 1 || !strstr(nmt_cli_out, "fail  pin-dir-containers"))
		nmt_why_set(why, sizeof(why), "text doctor: no fail line or exit 1: %s", nmt_oneline(nmt_cli_out));
	nomoatd_refuses(why, sizeof(why));
	seer_stop();
	if (doctor_json(0, &r, why, sizeof(why)))
		want_line(&r, "pin-dir-containers", "ok", NULL, why, sizeof(why));
	report_free(&r);
	nmt_verdict(!*why, desc, "%s", why);
}

/* ---- main ---------------------------------------------------------------- */
int main(int argc, char **argv)
{
	static char cli[PATH_MAX] = "build/nomoat", dmn[PATH_MAX] = "";
	char *const bins[] = { cli, dmn };
	char why[600] = "";
	char *slash;

	nmt_harness_init();
	if (nmt_args(argc, argv, "[NOMOAT [NOMOATD]]", bins, 2))
		return 2;
	if (!dmn[0]) { /* the nomoatd beside NOMOAT */
		snprintf(dmn, sizeof(dmn), "%s", cli);
		slash = strrchr(dmn, '/');
		snprintf(slash ? slash + 1 : dmn, sizeof(dmn) - (slash ? (size_t)(slash + 1 - dmn) : 0), "nomoatd");
	}
	F.nomoatd = dmn;
	nmt_h.cleanup_first = cleanup_first;
	nmt_h.cleanup_last = cleanup_last;
	if (!nmt_harness_start("doctor-integration", "nmt-doctor"))
		return 1;
	snprintf(F.tmp, sizeof(F.tmp), "/tmp/nmt-doctor-%d", (int)nmt_h.main_pid);
	if (access(nmt_h.cli, X_OK) || access(F.nomoatd, X_OK))
		nmt_why_set(why, sizeof(why), "%s or %s is not executable", nmt_h.cli, F.nomoatd);
	else if (mkdir(F.tmp, 0700))
		nmt_why_set(why, sizeof(why), "mkdir %s: %s", F.tmp, strerror(errno));
	else
		F.made_tmp = true;
	if (*why || !nmt_base_up("nmt-doctor", why, sizeof(why))) {
		nmt_verdict(false, "fixture: binaries, cgroup, temp dir", "%s", why);
		return nmt_finish();
	}
	case_before_load();
	case_usage();
	case_no_cgroup2();
	case_runtime();
	case_loaded();
	case_forged_kmsg();
	case_pins_seen();
	return nmt_finish();
}
