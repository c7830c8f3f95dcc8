// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The test-case harness of the end-to-end test programs (harness.h). */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "cgroup.h"
#include "run.h"

struct nmt_harness nmt_h;

static int n_case, n_pass, n_fail;

/* ---- set-up and cleanup -------------------------------------------------- */
void nmt_harness_init(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	nmt_h.main_pid = getpid();
}

void nmt_cleanup(void)
{
	static volatile sig_atomic_t done;

	if (done || getpid() != nmt_h.main_pid)
		return;
	done = 1;
	/* Children first (probes, background CLIs, servers), then what
	 * enforces, then the cgroups, then the network. */
	if (nmt_h.cleanup_first)
		nmt_h.cleanup_first();
	nmt_children_kill();
	nmt_servers_stop(&nmt_h.srv);
	if (nmt_h.loaded && !nmt_h.unloaded && nmt_h.cli) {
		char out[4096], err[4096];
		char *argv[] = { (char *)nmt_h.cli, "unload", NULL };
		int rc = nmt_cmdv(argv, out, sizeof(out), err, sizeof(err), 10000);

		if (rc)
			fprintf(stderr, "cleanup: nomoat unload exit %d: %s", rc, err);
	}
	if (*nmt_h.pin_dir && nmt_rmtree(nmt_h.pin_dir))
		fprintf(stderr, "cleanup: could not remove %s\n", nmt_h.pin_dir);
	if (nmt_h.made_base) {
		int err = nm_cgroup_destroy(nmt_h.base);

		if (err)
			fprintf(stderr, "cleanup: cgroup %s: %s\n", nmt_h.base, strerror(-err));
	}
	nmt_topo_down(&nmt_h.topo);
	if (nmt_h.topo.have_cns || nmt_h.topo.have_wns)
		fprintf(stderr, "cleanup: netns %s / %s may remain\n", nmt_h.topo.cns, nmt_h.topo.wns);
	if (nmt_h.cleanup_last)
		nmt_h.cleanup_last();
}

static void on_signal(int sig)
{
	static const char msg[] = "\ninterrupted: cleaning up\n";

	if (write(2, msg, sizeof(msg) - 1) < 0) {
		/* nothing to do */
	}
	nmt_cleanup();
	_exit(128 + sig);
}

bool nmt_harness_start(const char *prog, const char *name)
{
	if (getenv("NMT_VERBOSE"))
		nmt_verbose = 1;
	if (geteuid() != 0) {
		fprintf(stderr, "%s: must run as root (namespaces, cgroups, BPF)\n", prog);
		return false;
	}
	nmt_topo_init(&nmt_h.topo, NULL);
	snprintf(nmt_h.pin_dir, sizeof(nmt_h.pin_dir), "/sys/fs/bpf/%s-%d", name, (int)nmt_h.main_pid);
	setenv("NOMOAT_PIN_DIR", nmt_h.pin_dir, 1);
	atexit(nmt_cleanup);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	signal(SIGPIPE, SIG_IGN);
	return true;
}

bool nmt_base_up(const char *name, char *why, size_t len)
{
	int err = nm_cgroup2_mount(nmt_h.cgmount, sizeof(nmt_h.cgmount));

	if (err) {
		snprintf(why, len, "no cgroup2 mount: %s", strerror(-err));
		return false;
	}
	if ((size_t)snprintf(nmt_h.base, sizeof(nmt_h.base), "%s/%s-%d", nmt_h.cgmount, name, (int)nmt_h.main_pid) >=
	    sizeof(nmt_h.base)) {
		snprintf(why, len, "cgroup2 mount path too long: %.400s", nmt_h.cgmount);
		return false;
	}
	err = nm_cgroup_create(nmt_h.base);
	if (err) {
		snprintf(why, len, "mkdir %.400s: %s", nmt_h.base, strerror(-err));
		return false;
	}
	nmt_h.made_base = true;
	return true;
}

bool nmt_net_up(const char *proxy_rel, char *why, size_t len)
{
	char p[PATH_MAX];

	if (nmt_topo_up(&nmt_h.topo)) {
		snprintf(why, len, "the test network could not be built (ip commands logged above)");
		return false;
	}
	nmt_cg_path(proxy_rel, p, sizeof(p));
	if (nmt_servers_start(&nmt_h.topo, p, &nmt_h.srv)) {
		snprintf(why, len, "the test servers did not start (see above)");
		return false;
	}
	if (nmt_topo_warmup(&nmt_h.topo, 80, 5000)) {
		snprintf(why, len, "the test network does not carry TCP within 5 s (IPv6 ND?)");
		return false;
	}
	return true;
}

/* ---- verdicts ------------------------------------------------------------ */
bool nmt_verdict(bool ok, const char *desc, const char *fmt, ...)
{
	va_list ap;

	n_case++;
	if (ok) {
		n_pass++;
		printf("ok %d - %s\n", n_case, desc);
	} else {
		n_fail++;
		printf("FAIL %d - %s : ", n_case, desc);
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
		printf("\n");
	}
	fflush(stdout);
	return ok;
}

void nmt_why_set(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (*why)
		return;
	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
}

int nmt_finish(void)
{
	printf("%d passed, %d failed\n", n_pass, n_fail);
	nmt_cleanup();
	return n_fail ? 1 : 0;
}

const char *nmt_oneline_buf(const char *s, char *buf, size_t cap)
{
	size_t n = 0;

	for (; s && *s && n < cap - 1; s++)
		buf[n++] = *s == '\n' ? '|' : *s;
	while (n && buf[n - 1] == '|')
		n--;
	buf[n] = 0;
	return buf;
}

const char *nmt_oneline(const char *s)
{
	static char buf[600];

	return nmt_oneline_buf(s, buf, sizeof(buf));
}

/* ---- the CLI ------------------------------------------------------------- */
char nmt_cli_out[NMT_CLI_OUT_MAX], nmt_cli_err[NMT_CLI_ERR_MAX];

int nmt_cli(const char *fmt, ...)
{
	char line[2048], *argv[64];
	va_list ap;
	int n;

	argv[0] = (char *)nmt_h.cli;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	n = nmt_split(line, argv + 1, 63);
	if (n < 0)
		return -E2BIG;
	return nmt_cmdv(argv, nmt_cli_out, sizeof(nmt_cli_out), nmt_cli_err, sizeof(nmt_cli_err), 15000);
}

unsigned long long nmt_cli_gstat(const char *name)
{
	char v[32] = "";

	if (nmt_cli("-j stats") || nmt_json_get(nmt_cli_out, name, v, sizeof(v)))
		return ~0ull;
	return strtoull(v, NULL, 10);
}

const char *nmt_cli_msg(void)
{
	return nmt_oneline(*nmt_cli_err ? nmt_cli_err : nmt_cli_out);
}

pid_t nmt_cli_bg(int *fd, int *efd, const char *args)
{
	char line[512], *argv[32];

	snprintf(line, sizeof(line), "%s", args);
	argv[0] = (char *)nmt_h.cli;
	if (nmt_split(line, argv + 1, 31) < 0)
		return -E2BIG;
	return nmt_cmd_start(argv, fd, efd);
}

int nmt_cli_bg_end(pid_t pid, int fd, int efd, char *out, size_t len, char *err, size_t elen, int timeout_ms)
{
	return nmt_cmd_collect(pid, fd, efd, out, len, err, elen, timeout_ms, 500);
}

int nmt_cmd_collect(pid_t pid, int fd, int efd, char *out, size_t len, char *err, size_t elen, int timeout_ms,
		    int err_ms)
{
	int st;

	nmt_read_all(fd, out, len, timeout_ms);
	close(fd);
	if (efd >= 0) {
		nmt_read_all(efd, err, elen, err_ms);
		close(efd);
	}
	st = nmt_wait(pid, 2000);
	if (st < 0)
		return st;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* ---- JSON ---------------------------------------------------------------- */
bool nmt_check_fields(const char *obj, const struct nmt_want_field *w, char *why, size_t len)
{
	for (int i = 0; w[i].key; i++) {
		char v[PATH_MAX];

		if (nmt_json_get(obj, w[i].key, v, sizeof(v))) {
			snprintf(why, len, "no \"%s\" in %s", w[i].key, nmt_oneline(obj));
			return false;
		}
		if (w[i].val && strcmp(v, w[i].val)) {
			snprintf(why, len, "\"%s\" is '%s', expected '%s' in %s", w[i].key, v, w[i].val,
				 nmt_oneline(obj));
			return false;
		}
	}
	return true;
}

/* ---- cgroups ------------------------------------------------------------- */
void nmt_cg_path(const char *rel, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", nmt_h.base, rel);
}

unsigned long long nmt_cg_id_abs(const char *abs)
{
	__u64 id = 0;

	return nm_cgroup_id(abs, &id) ? 0 : id;
}

unsigned long long nmt_cg_id(const char *rel)
{
	char p[PATH_MAX];

	nmt_cg_path(rel, p, sizeof(p));
	return nmt_cg_id_abs(p);
}

/* The hooks nomoat attaches to a cgroup, and their names in detail. */
struct nmt_hook {
	enum bpf_attach_type t;
	const char *name;
};

static const struct nmt_hook hooks[] = {
	{ BPF_CGROUP_INET4_CONNECT, "connect4" }, { BPF_CGROUP_INET6_CONNECT, "connect6" },
	{ BPF_CGROUP_UDP4_SENDMSG, "sendmsg4" },  { BPF_CGROUP_UDP6_SENDMSG, "sendmsg6" },
	{ BPF_CGROUP_UDP4_RECVMSG, "recvmsg4" },  { BPF_CGROUP_UDP6_RECVMSG, "recvmsg6" },
	{ BPF_CGROUP_SOCK_OPS, "sockops" },        { BPF_CGROUP_GETSOCKOPT, "getsockopt" },
	{ BPF_CGROUP_SETSOCKOPT, "setsockopt" },
};

int nmt_progs_attached(const char *abs, char *detail, size_t len)
{
	size_t n = 0;
	int fd, total = 0;

	fd = open(abs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (len)
		*detail = 0;
	for (size_t i = 0; i < sizeof(hooks) / sizeof(hooks[0]); i++) {
		__u32 ids[16], cnt = 16, flags = 0;

		if (bpf_prog_query(fd, hooks[i].t, 0, &flags, ids, &cnt))
			cnt = 0;
		total += cnt;
		if (cnt && n < len)
			n += snprintf(detail + n, len - n, "%s%s", n ? "," : "", hooks[i].name);
	}
	close(fd);
	return total;
}

int nmt_args(int argc, char **argv, const char *usage, char *const bins[], int nbins)
{
	int pos = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-v")) {
			nmt_verbose = 1;
		} else if (argv[i][0] == '-' || pos == nbins) {
			fprintf(stderr, "usage: %s [-v] %s\n", argv[0], usage);
			return 2;
		} else {
			snprintf(bins[pos++], PATH_MAX, "%s", argv[i]);
		}
	}
	for (int i = 0; i < nbins; i++) {
		char abs[PATH_MAX];

		if (realpath(bins[i], abs))
			snprintf(bins[i], PATH_MAX, "%s", abs);
	}
	nmt_h.cli = bins[0];
	return 0;
}

bool nmt_cli_ok(char *why, size_t len, const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = nmt_cli("%s", cmd);
	if (rc)
		nmt_why_set(why, len, "`nomoat %.300s` exit %d: %.300s", cmd, rc, nmt_cli_msg());
	return rc == 0;
}

/* ---- commands in the namespaces ---------------------------------------- */

int nmt_exec_child(void *p)
{
	struct nmt_exec *a = p;

	dup2(a->out, 1);
	dup2(a->out, 2);
	execvp(a->argv[0], a->argv);
	fprintf(stderr, "exec %s: %s\n", a->argv[0], strerror(errno));
	return 127;
}

int nmt_sh(const char *rel, char *out, size_t len, int timeout_ms, const char *fmt, ...)
{
	char cmd[4096], cg[PATH_MAX];
	char *argv[] = { "/bin/sh", "-c", cmd, NULL };
	struct nmt_exec a = { argv, -1 };
	int fds[2], st;
	va_list ap;
	pid_t pid;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (nmt_verbose)
		fprintf(stderr, "+ [%s] %s\n", rel ? rel : "-", cmd);
	if (pipe2(fds, O_CLOEXEC))
		return -errno;
	a.out = fds[1];
	if (rel)
		nmt_cg_path(rel, cg, sizeof(cg));
	pid = nmt_spawn(rel ? cg : NULL, nmt_h.topo.cns, nmt_exec_child, &a);
	close(fds[1]);
	if (pid < 0) {
		close(fds[0]);
		return pid;
	}
	nmt_read_all(fds[0], out, len, timeout_ms);
	close(fds[0]);
	st = nmt_wait(pid, 2000);
	nmt_child_untrack(pid);
	if (st < 0)
		return st;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}


bool nmt_child_result(const char *rel, int (*fn)(void *), void *arg, int *wfd, void *out, size_t len)
{
	char cgp[PATH_MAX], buf[512];
	int pfd[2];
	pid_t kid;
	bool ok;

	if (len >= sizeof(buf))
		return false;
	nmt_cg_path(rel, cgp, sizeof(cgp));
	if (pipe(pfd))
		return false;
	*wfd = pfd[1];
	kid = nmt_spawn(cgp, nmt_h.topo.cns, fn, arg);
	close(pfd[1]);
	ok = kid > 0 && nmt_read_all(pfd[0], buf, len + 1, 5000) >= len;
	if (kid > 0)
		nmt_wait(kid, 5000);
	close(pfd[0]);
	if (ok)
		memcpy(out, buf, len);
	return ok;
}
