/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * agent.c - the agent: the battery binary re-executed inside the sandbox
 * (see sandbox.c).  It prints who it is (uid, capabilities, cgroup, whether
 * the cgroup filesystem is read-only and the pins hidden), then runs every
 * attempt of the att_*.c tables, each in a child of its own (its own
 * process group, killed at its time bound, so an attempt that moved
 * itself, joined a namespace or hung cannot touch the next one), prints
 * one line per attempt and "DONE <n>".
 *
 * Also here: the helpers the attempts share (tokens, sockets with time
 * bounds, judging a reply, classifying an errno).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <liburing.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "battery.h"
#include "topo.h"

enum nmb_pass nmb_agent_pass;

const struct nmb_tgt nmb_meta4 = { "meta4", NMT_META4, 80, 5300 };
const struct nmb_tgt nmb_int4 = { "int4", NMT_INTERNAL4, 80, 5300 };
const struct nmb_tgt nmb_meta6 = { "meta6", NMT_META6, 80, 5300 };

/* ---- helpers --------------------------------------------------------------- */
static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

char *nmb_copy(char *dst, size_t cap, const char *src)
{
	size_t n = strnlen(src, cap - 1);

	memcpy(dst, src, n);
	dst[n] = 0;
	return dst;
}

char *nmb_append(char *dst, size_t cap, const char *src)
{
	size_t l = strnlen(dst, cap - 1);

	nmb_copy(dst + l, cap - l, src);
	return dst;
}

const char *nmb_token(const char *name, char *buf, size_t len)
{
	snprintf(buf, len, NMB_TOKEN_TAG "%s/%s;", nmb_pass_name[nmb_agent_pass], name);
	return buf;
}

void nmb_set(struct nmb_res *r, enum nmb_kind k, const char *fmt, ...)
{
	va_list ap;

	r->kind = k;
	va_start(ap, fmt);
	vsnprintf(r->how, sizeof(r->how), fmt, ap);
	va_end(ap);
}

const char *nmb_errname(int e)
{
	switch (e) {
	case EPERM: return "EPERM";
	case EACCES: return "EACCES";
	case EROFS: return "EROFS";
	case ENOENT: return "ENOENT";
	case ECONNREFUSED: return "ECONNREFUSED";
	case ECONNRESET: return "ECONNRESET";
	case ETIMEDOUT: return "ETIMEDOUT";
	case EAGAIN: return "EAGAIN";
	case EINPROGRESS: return "EINPROGRESS";
	case ENETUNREACH: return "ENETUNREACH";
	case EHOSTUNREACH: return "EHOSTUNREACH";
	case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
	case EAFNOSUPPORT: return "EAFNOSUPPORT";
	case EPROTONOSUPPORT: return "EPROTONOSUPPORT";
	case ESOCKTNOSUPPORT: return "ESOCKTNOSUPPORT";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case ENOPROTOOPT: return "ENOPROTOOPT";
	case EINVAL: return "EINVAL";
	case ENOSYS: return "ENOSYS";
	case EBADF: return "EBADF";
	case ENODEV: return "ENODEV";
	case ENXIO: return "ENXIO";
	case EBUSY: return "EBUSY";
	case ESRCH: return "ESRCH";
	case EPIPE: return "EPIPE";
	case EMSGSIZE: return "EMSGSIZE";
	case EDESTADDRREQ: return "EDESTADDRREQ";
	case EISCONN: return "EISCONN";
	default: return NULL;
	}
}

/* The calls whose EPERM, in a policed pass, is nomoat's verdict. */
static bool net_call(const char *call)
{
	static const char *const calls[] = {
		"connect", "sendto", "sendmsg", "sendmmsg", "send", "write",
		"uring-connect", "uring-sendmsg", "uring-send", "uring-socket", NULL,
	};

	for (int i = 0; calls[i]; i++)
		if (!strcmp(call, calls[i]))
			return true;
	return false;
}

void nmb_set_errno(struct nmb_res *r, const char *call, int err)
{
	const char *en = nmb_errname(err);
	char e[64];

	if (en)
		snprintf(e, sizeof(e), "%s", en);
	else
		snprintf(e, sizeof(e), "errno %d (%s)", err, strerror(err));
	switch (err) {
	case EPERM:
	case EACCES:
		if (net_call(call) && nmb_agent_pass != NMB_CONTROL)
			nmb_set(r, NMB_BLOCKED, "%s at %s: nomoat's verdict", e, call);
		else
			nmb_set(r, NMB_BLOCKED, "%s at %s", e, call);
		break;
	case EROFS:
		nmb_set(r, NMB_BLOCKED, "%s at %s: the cgroup filesystem is read-only", e, call);
		break;
	case ENOENT:
		nmb_set(r, NMB_BLOCKED, "%s at %s: not visible in the sandbox", e, call);
		break;
	case ENETUNREACH:
	case EHOSTUNREACH:
	case EADDRNOTAVAIL:
		nmb_set(r, NMB_FAILED, "%s at %s: no route there in the test network (not nomoat)", e, call);
		break;
	case EAFNOSUPPORT:
	case EPROTONOSUPPORT:
	case ESOCKTNOSUPPORT:
	case EOPNOTSUPP:
	case ENOPROTOOPT:
	case ENOSYS:
	case EINVAL:
		nmb_set(r, NMB_FAILED, "%s at %s: not supported here (not nomoat)", e, call);
		break;
	case ECONNREFUSED:
		nmb_set(r, NMB_THROUGH, "%s at %s: the target host answered", e, call);
		break;
	case ETIMEDOUT:
	case EAGAIN:
	case EINPROGRESS:
		nmb_set(r, NMB_BLOCKED, "%s at %s: no answer within the time bound", e, call);
		break;
	default:
		nmb_set(r, NMB_FAILED, "%s at %s", e, call);
	}
}

bool nmb_has_cap(int cap)
{
	char line[256];
	bool has = false;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "CapEff:", 7)) {
			unsigned long long v = strtoull(line + 7, NULL, 16);

			has = (v >> cap) & 1;
		}
	}
	fclose(f);
	return has;
}

int nmb_socket(int family, int type, int proto, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	int fd = socket(family, type | SOCK_CLOEXEC, proto);

	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return fd;
}

/* "HELLO <addr>:<port>" names a host the policy lets anyone reach? */
static bool hello_from_internet(const char *line)
{
	static const char *const ok[] = { NMT_NET4 ":", NMT_NET4B ":", "[" NMT_NET6 "]:", NULL };

	for (int i = 0; ok[i]; i++)
		if (!strncmp(line + 6, ok[i], strlen(ok[i])))
			return true;
	return false;
}

void nmb_judge_line(const char *line, const char *from, const struct nmb_tgt *t, struct nmb_res *r)
{
	char fr[120] = "";

	(void)t;
	if (from && *from)
		snprintf(fr, sizeof(fr), " from %s", from);
	if (!strncmp(line, "HELLO ", 6) && !hello_from_internet(line))
		nmb_set(r, NMB_THROUGH, "reply '%s'%s", line, fr);
	else if (!strncmp(line, "HELLO ", 6))
		nmb_set(r, NMB_BLOCKED, "reached an internet host instead: '%s'%s", line, fr);
	else if (!strncmp(line, "PROXY ", 6))
		nmb_set(r, NMB_BLOCKED, "redirected to the proxy, which answered '%s'", line);
	else if (!strncmp(line, "DNS ", 4))
		nmb_set(r, NMB_BLOCKED, "redirected to the DNS endpoint, which answered '%.60s'%s", line, fr);
	else if (!*line)
		nmb_set(r, NMB_BLOCKED, "no reply");
	else
		nmb_set(r, NMB_FAILED, "unexpected reply '%.80s'%s", line, fr);
}

void nmb_tcp_talk(int fd, const struct nmb_tgt *t, const char *name, struct nmb_res *r)
{
	char tok[NMB_TOKEN_MAX], msg[NMB_TOKEN_MAX + 2], line[200];
	size_t n = 0;
	long long end = now_ms() + NMB_SOCK_MS;

	snprintf(msg, sizeof(msg), "%s\n", nmb_token(name, tok, sizeof(tok)));
	if (send(fd, msg, strlen(msg), MSG_NOSIGNAL) < 0) {
		/* The server may have closed its side already: read anyway. */
	}
	while (n < sizeof(line) - 1 && now_ms() < end) {
		ssize_t k = recv(fd, line + n, sizeof(line) - 1 - n, 0);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		n += k;
		line[n] = 0;
		if (strchr(line, '\n'))
			break;
	}
	line[n] = 0;
	line[strcspn(line, "\r\n")] = 0;
	nmb_judge_line(line, NULL, t, r);
}

void nmb_udp_reply(int fd, const struct nmb_tgt *t, struct nmb_res *r)
{
	struct sockaddr_storage from;
	socklen_t fl = sizeof(from);
	char line[200], fs[80];
	ssize_t n;

	memset(&from, 0, sizeof(from));
	do
		n = recvfrom(fd, line, sizeof(line) - 1, 0, (struct sockaddr *)&from, &fl);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			nmb_set(r, NMB_BLOCKED, "sent; no reply within %d ms", NMB_SOCK_MS);
		else
			nmb_set_errno(r, "recv", errno);
		return;
	}
	line[n] = 0;
	line[strcspn(line, "\r\n")] = 0;
	nmb_judge_line(line, nmt_sa_str((struct sockaddr *)&from, fs, sizeof(fs)), t, r);
}

void nmb_tcp_probe(const struct nmb_tgt *t, const char *name, struct nmb_res *r)
{
	struct sockaddr_storage ss;
	int len = nmt_sa_make(&ss, t->addr, t->tcp, false);
	int fd = nmb_socket(ss.ss_family, SOCK_STREAM, 0, NMB_SOCK_MS);

	if (fd < 0) {
		nmb_set_errno(r, "socket", -fd);
		return;
	}
	if (connect(fd, (struct sockaddr *)&ss, len))
		nmb_set_errno(r, "connect", errno);
	else
		nmb_tcp_talk(fd, t, name, r);
	close(fd);
}

void nmb_prefix(struct nmb_res *r, const char *text, const char *arg)
{
	char old[sizeof(r->how)];

	nmb_copy(old, sizeof(old), r->how);
	nmb_copy(r->how, sizeof(r->how), text);
	if (arg)
		nmb_append(r->how, sizeof(r->how), arg);
	nmb_append(r->how, sizeof(r->how), "; ");
	nmb_append(r->how, sizeof(r->how), old);
}

int nmb_uring_one(struct io_uring *ring, int *res)
{
	struct __kernel_timespec ts = { NMB_SOCK_MS / 1000, (NMB_SOCK_MS % 1000) * 1000000LL };
	struct io_uring_cqe *cqe;
	int e = io_uring_submit(ring);

	if (e < 0)
		return e;
	e = io_uring_wait_cqe_timeout(ring, &cqe, &ts);
	if (e < 0)
		return e;
	*res = cqe->res;
	io_uring_cqe_seen(ring, cqe);
	return 0;
}

/* ---- one attempt in a child -------------------------------------------- */
void nmb_in_child(void (*fn)(void *arg, struct nmb_res *r), void *arg, int ms, struct nmb_res *r)
{
	int p[2];
	size_t got = 0;
	long long end;
	pid_t pid;
	int st;

	memset(r, 0, sizeof(*r));
	if (pipe2(p, O_CLOEXEC)) {
		nmb_set_errno(r, "pipe", errno);
		return;
	}
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		nmb_set_errno(r, "fork", errno);
		close(p[0]);
		close(p[1]);
		return;
	}
	if (pid == 0) {
		struct nmb_res cr;

		close(p[0]);
		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		memset(&cr, 0, sizeof(cr));
		nmb_set(&cr, NMB_FAILED, "the attempt reported nothing");
		fn(arg, &cr);
		if (write(p[1], &cr, sizeof(cr)) != sizeof(cr))
			_exit(3);
		_exit(0);
	}
	setpgid(pid, pid);
	close(p[1]);
	end = now_ms() + ms;
	while (got < sizeof(*r)) {
		struct pollfd pfd = { .fd = p[0], .events = POLLIN };
		long long left = end - now_ms();
		ssize_t k;

		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
			break;
		k = read(p[0], (char *)r + got, sizeof(*r) - got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		got += k;
	}
	close(p[0]);
	/* The whole group: whatever the attempt forked goes with it. */
	kill(-pid, SIGKILL);
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	if (got != sizeof(*r)) {
		memset(r, 0, sizeof(*r));
		if (now_ms() >= end)
			nmb_set(r, NMB_FAILED, "the attempt did not finish within %d ms (killed)", ms);
		else
			nmb_set(r, NMB_FAILED, "the attempt died (status 0x%x)", st);
	}
}

/* ---- the table ------------------------------------------------------------- */
const struct nmb_att *nmb_attempts(int *n)
{
	static struct nmb_att all[NMB_ATT_MAX];
	static int count = -1;

	if (count < 0) {
		const struct nmb_att *t[] = { nmb_att_tcp, nmb_att_udp, nmb_att_addr, nmb_att_raw,
					      nmb_att_passed, nmb_att_proc, nmb_att_ns };
		const int tn[] = { nmb_att_tcp_n, nmb_att_udp_n, nmb_att_addr_n, nmb_att_raw_n,
				   nmb_att_passed_n, nmb_att_proc_n, nmb_att_ns_n };

		count = 0;
		for (int k = 0; k < 7; k++)
			for (int i = 0; i < tn[k] && count < NMB_ATT_MAX; i++)
				all[count++] = t[k][i];
	}
	*n = count;
	return all;
}

/* ---- identity -------------------------------------------------------------- */
static void status_field(const char *key, char *val, size_t len)
{
	char line[512];
	FILE *f = fopen("/proc/self/status", "r");
	size_t kl = strlen(key);

	snprintf(val, len, "?");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, kl) && line[kl] == ':') {
			char *v = line + kl + 1;

			v += strspn(v, " \t");
			v[strcspn(v, " \t\n")] = 0;
			snprintf(val, len, "%s", v);
		}
	}
	fclose(f);
}

static void own_cgroup(char *buf, size_t len)
{
	char line[1024];
	FILE *f = fopen("/proc/self/cgroup", "r");

	snprintf(buf, len, "?");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "0::", 3)) {
			line[strcspn(line, "\n")] = 0;
			nmb_copy(buf, len, line + 3);
		}
	}
	fclose(f);
}

static void print_identity(const struct nmb_cfg *c)
{
	char capeff[32], capbnd[32], nnp[8], cg[512], pin[600];
	struct statvfs sv;
	const char *ro = "?";

	status_field("CapEff", capeff, sizeof(capeff));
	status_field("CapBnd", capbnd, sizeof(capbnd));
	status_field("NoNewPrivs", nnp, sizeof(nnp));
	own_cgroup(cg, sizeof(cg));
	if (!statvfs(c->cgmount, &sv))
		ro = (sv.f_flag & ST_RDONLY) ? "ro" : "rw";
	snprintf(pin, sizeof(pin), "%s/nm_policies", c->pin_dir);
	printf("INFO identity uid=%d gid=%d capeff=%s capbnd=%s nnp=%s cgroup=%s cgroupfs=%s pins=%s\n",
	       (int)getuid(), (int)getgid(), capeff, capbnd, nnp, cg, ro,
	       access(pin, F_OK) ? "hidden" : "visible");
}

/* ---- main -------------------------------------------------------------------- */
struct run_arg {
	const struct nmb_att *a;
	const struct nmb_cfg *c;
};

static void run_one(void *p, struct nmb_res *r)
{
	const struct run_arg *ra = p;

	ra->a->fn(ra->a, ra->c, r);
}

static void print_line(const struct nmb_att *a, const struct nmb_res *r)
{
	const struct nmb_limit *lim = nmb_limit_of(a->name);
	const char *word;

	switch (r->kind) {
	case NMB_THROUGH:
		if (lim)
			printf("LIMIT [%s] %s -> got through (%s; documented: %s)\n", a->group, a->name, r->how,
			       lim->why);
		else
			printf("ESCAPE [%s] %s -> %s\n", a->group, a->name, r->how);
		return;
	case NMB_BLOCKED:
		word = "blocked";
		break;
	default:
		word = "failed";
	}
	printf("%s [%s] %s -> %s (%s)\n", lim ? "LIMIT" : "ATTEMPT", a->group, a->name, word, r->how);
}

int nmb_agent_main(int argc, char **argv)
{
	struct nmb_cfg c;
	const struct nmb_att *atts;
	int n;

	setvbuf(stdout, NULL, _IOLBF, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	signal(SIGPIPE, SIG_IGN);
	if (!nmb_cfg_parse(&c, argc, argv))
		return 2;
	nmb_agent_pass = c.pass;
	print_identity(&c);
	atts = nmb_attempts(&n);
	for (int i = 0; i < n; i++) {
		struct run_arg ra = { &atts[i], &c };
		struct nmb_res r;

		nmb_in_child(run_one, &ra, atts[i].ms ? atts[i].ms : NMB_ATT_MS, &r);
		print_line(&atts[i], &r);
	}
	printf("DONE %d\n", n);
	return 0;
}

/* probe tcp ADDR PORT NAME PASS: for the exec attempt. */
int nmb_probe_main(int argc, char **argv)
{
	struct nmb_tgt t = { "exec", NULL, 0, 0 };
	struct nmb_res r;

	if (argc != 6 || strcmp(argv[1], "tcp"))
		return 2;
	t.addr = argv[2];
	t.tcp = atoi(argv[3]);
	for (int p = 0; p < NMB_PASS__MAX; p++)
		if (!strcmp(argv[5], nmb_pass_name[p]))
			nmb_agent_pass = p;
	memset(&r, 0, sizeof(r));
	nmb_tcp_probe(&t, argv[4], &r);
	printf("%d %s\n", (int)r.kind, r.how);
	return 0;
}
