// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * nomoat-dns - the resolver nomoat sends every sandbox's DNS to.  Options,
 * start-up in the order the fence needs (cgroup, files, sockets, then the
 * drop of privileges, then the proof that the kernel names each query's
 * sender), and the event loop.  See dns.h for the parts and README.md
 * ("The resolver") for how to run it.
 */
#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "dns.h"
#include "parse.h"
#include "pins.h"
#include "svc.h"

#define PROG "nomoat-dns"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: " PROG " [OPTIONS]\n"
		"\n"
		"The resolver of nomoat's sandboxes: answers a sandbox's DNS (the kernel sends\n"
		"every query there, whatever server it names) from its policy's `hostname`\n"
		"lines: a name not listed is NXDOMAIN and never leaves the host; a listed\n"
		"name's A and AAAA are asked upstream, rebuilt from (name, type); any other\n"
		"type gets an empty answer.  Who asks comes from the kernel, not from the\n"
		"source address.\n"
		"\n"
		"  -l, --listen ADDR:PORT      UDP and TCP here (repeat for more; default\n"
		"                              " NMD_DEF_LISTEN4 " and " NMD_DEF_LISTEN6 "): the policies' dns4/dns6\n"
		"  -c, --config FILE           the policy file (default " NMD_DEF_CONFIG ")\n"
		"      --pin-dir DIR           nomoat's pin dir, for policy names (default\n"
		"                              $" NM_PIN_DIR_ENV " or " NM_PIN_DIR_DEFAULT ")\n"
		"      --default-policy NAME   the policy of queries the kernel has no record of\n"
		"                              (host processes asking directly); default: refuse them\n"
		"      --log FILE|stdout       JSON lines: every refused query, and counters (default stdout)\n"
		"      --log-all               every answered query too\n"
		"      --user USER             drop to USER (no capabilities) once bound\n"
		"      --cgroup PATH           move into this cgroup first: an origdst-only attach point\n"
		"      --names-dir DIR         the tables of synthetic names (default " NM_SYNTH_DIR_DEFAULT ")\n"
		"      --max-ttl S             the longest TTL an answer carries (default %d)\n"
		"      --neg-ttl S             how long NXDOMAIN and empty answers are kept (default %d)\n"
		"      --cache N               answers kept per policy (default %d)\n"
		"      --max-inflight N        queries waiting on upstream, in all (default %d)\n"
		"      --max-inflight-per-client N   ... per sandbox (cgroup) (default %d)\n"
		"      --rate N                queries a second per sandbox, 0 = no limit (default %d)\n"
		"      --upstream-timeout S    upstream silence until SERVFAIL (default %d)\n"
		"      --max-tcp N             TCP connections at once (default %d)\n"
		"      --tcp-idle S            a TCP connection with no query (default %d)\n"
		"      --synthetic-hold S      a synthetic address keeps its name at least this long\n"
		"                              after its last answer (default %d)\n"
		"      --no-tcp                UDP only\n"
		"  -v, --verbose               say more at start\n"
		"  -h, --help\n",
		NMD_DEF_MAX_TTL, NMD_DEF_NEG_TTL, NMD_DEF_CACHE, NMD_DEF_INFLIGHT, NMD_DEF_INFLIGHT_CG, NMD_DEF_RATE,
		NMD_DEF_UP_TIMEOUT / 1000, NMD_DEF_TCP_CONNS, NMD_DEF_TCP_IDLE / 1000, NMD_DEF_HOLD);
}

enum {
	O_PIN_DIR = 256, O_DEFAULT_POLICY, O_LOG, O_LOG_ALL, O_USER, O_CGROUP, O_NAMES_DIR, O_MAX_TTL, O_NEG_TTL,
	O_CACHE, O_INFLIGHT, O_INFLIGHT_CG, O_RATE, O_UP_TIMEOUT, O_MAX_TCP, O_TCP_IDLE, O_HOLD, O_NO_TCP,
};

static int parse_args(int argc, char **argv, struct nmd_opts *o)
{
	static const struct option lo[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "config", required_argument, NULL, 'c' },
		{ "pin-dir", required_argument, NULL, O_PIN_DIR },
		{ "default-policy", required_argument, NULL, O_DEFAULT_POLICY },
		{ "log", required_argument, NULL, O_LOG },
		{ "log-all", no_argument, NULL, O_LOG_ALL },
		{ "user", required_argument, NULL, O_USER },
		{ "cgroup", required_argument, NULL, O_CGROUP },
		{ "names-dir", required_argument, NULL, O_NAMES_DIR },
		{ "max-ttl", required_argument, NULL, O_MAX_TTL },
		{ "neg-ttl", required_argument, NULL, O_NEG_TTL },
		{ "cache", required_argument, NULL, O_CACHE },
		{ "max-inflight", required_argument, NULL, O_INFLIGHT },
		{ "max-inflight-per-client", required_argument, NULL, O_INFLIGHT_CG },
		{ "rate", required_argument, NULL, O_RATE },
		{ "upstream-timeout", required_argument, NULL, O_UP_TIMEOUT },
		{ "max-tcp", required_argument, NULL, O_MAX_TCP },
		{ "tcp-idle", required_argument, NULL, O_TCP_IDLE },
		{ "synthetic-hold", required_argument, NULL, O_HOLD },
		{ "no-tcp", no_argument, NULL, O_NO_TCP },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	char err[NM_ERR_LEN];
	int c, rc = 0;

	memset(o, 0, sizeof(*o));
	o->config = NMD_DEF_CONFIG;
	o->log = "stdout";
	o->names_dir = NM_SYNTH_DIR_DEFAULT;
	o->max_ttl = NMD_DEF_MAX_TTL;
	o->neg_ttl = NMD_DEF_NEG_TTL;
	o->cache = NMD_DEF_CACHE;
	o->inflight = NMD_DEF_INFLIGHT;
	o->inflight_cg = NMD_DEF_INFLIGHT_CG;
	o->rate = NMD_DEF_RATE;
	o->up_timeout_ms = NMD_DEF_UP_TIMEOUT;
	o->tcp_conns = NMD_DEF_TCP_CONNS;
	o->tcp_idle_ms = NMD_DEF_TCP_IDLE;
	o->hold = NMD_DEF_HOLD;
	while (!rc && (c = getopt_long(argc, argv, "l:c:vh", lo, NULL)) != -1) {
		switch (c) {
		case 'l':
			if (o->nlisten == NMD_MAX_LISTEN) {
				fprintf(stderr, PROG ": at most %d --listen\n", NMD_MAX_LISTEN);
				return 2;
			}
			rc = nm_svc_listen(PROG, "--listen", optarg, &o->listen[o->nlisten++]);
			break;
		case 'c': o->config = optarg; break;
		case O_PIN_DIR: o->pin_dir = optarg; break;
		case O_DEFAULT_POLICY:
			if (nm_parse_policy_name(optarg, err, sizeof(err))) {
				fprintf(stderr, PROG ": --default-policy %s\n", err);
				return 2;
			}
			o->default_policy = optarg;
			break;
		case O_LOG: o->log = optarg; break;
		case O_LOG_ALL: o->log_all = true; break;
		case O_USER: o->user = optarg; break;
		case O_CGROUP: o->cgroup = optarg; break;
		case O_NAMES_DIR: o->names_dir = optarg; break;
		case O_MAX_TTL: rc = nm_svc_uint(PROG, "--max-ttl", optarg, 0, 86400, &o->max_ttl); break;
		case O_NEG_TTL: rc = nm_svc_uint(PROG, "--neg-ttl", optarg, 0, 3600, &o->neg_ttl); break;
		case O_CACHE: rc = nm_svc_uint(PROG, "--cache", optarg, 1, 1000000, &o->cache); break;
		case O_INFLIGHT: rc = nm_svc_uint(PROG, "--max-inflight", optarg, 1, 100000, &o->inflight); break;
		case O_INFLIGHT_CG:
			rc = nm_svc_uint(PROG, "--max-inflight-per-client", optarg, 1, 100000, &o->inflight_cg);
			break;
		case O_RATE: rc = nm_svc_uint(PROG, "--rate", optarg, 0, 10000000, &o->rate); break;
		case O_UP_TIMEOUT: rc = nm_svc_secs(PROG, "--upstream-timeout", optarg, &o->up_timeout_ms); break;
		case O_MAX_TCP: rc = nm_svc_uint(PROG, "--max-tcp", optarg, 1, 100000, &o->tcp_conns); break;
		case O_TCP_IDLE: rc = nm_svc_secs(PROG, "--tcp-idle", optarg, &o->tcp_idle_ms); break;
		case O_HOLD: rc = nm_svc_uint(PROG, "--synthetic-hold", optarg, 0, 30 * 86400, &o->hold); break;
		case O_NO_TCP: o->no_tcp = true; break;
		case 'v': o->verbose = true; break;
		default:
			return nm_svc_opt_usage(c, usage);
		}
	}
	if (rc)
		return 2;
	if (nm_svc_opt_rest(PROG, argc, argv))
		return 2;
	if (!o->nlisten) {
		nm_svc_listen(PROG, "--listen", NMD_DEF_LISTEN4, &o->listen[0]);
		nm_svc_listen(PROG, "--listen", NMD_DEF_LISTEN6, &o->listen[1]);
		o->nlisten = 2;
	}
	o->pin_dir = nm_pin_dir_pick(o->pin_dir);
	return 0;
}

/* The resolver must never be its own upstream (a loop that would answer
 * nothing). */
static bool upstream_is_us(const struct nmd *S, char *which, size_t len)
{
	for (size_t u = 0; u < S->pols.nup; u++) {
		const struct nm_cfg_upstream *up = &S->pols.up[u];

		for (int i = 0; i < S->o.nlisten; i++) {
			const struct sockaddr_storage *ss = &S->o.listen[i];
			const void *a = ss->ss_family == AF_INET ? (const void *)&((const struct sockaddr_in *)ss)->sin_addr
								 : (const void *)&((const struct sockaddr_in6 *)ss)->sin6_addr;
			__u16 port = ss->ss_family == AF_INET ? ((const struct sockaddr_in *)ss)->sin_port
							      : ((const struct sockaddr_in6 *)ss)->sin6_port;

			if ((up->family == 4) == (ss->ss_family == AF_INET) && htons(up->port) == port &&
			    !memcmp(up->addr, a, up->family == 4 ? 4 : 16)) {
				nm_svc_sa_str(ss, which, len);
				return true;
			}
		}
	}
	return false;
}

/* The names dir and its tables belong to the user the resolver becomes,
 * so that it can make the table of a policy added later. */
static void chown_names(struct nmd *S)
{
	struct passwd *pw = S->o.user ? getpwnam(S->o.user) : NULL;

	if (!pw)
		return;
	if (chown(S->o.names_dir, pw->pw_uid, pw->pw_gid) && errno != ENOENT)
		fprintf(stderr, PROG ": chown %s: %s\n", S->o.names_dir, strerror(errno));
	for (size_t i = 0; i < S->pols.n; i++)
		if (S->pols.v[i]->synth.fd >= 0 && fchown(S->pols.v[i]->synth.fd, pw->pw_uid, pw->pw_gid))
			fprintf(stderr, PROG ": chown the table of %s: %s\n", S->pols.v[i]->name, strerror(errno));
}

static int setup(struct nmd *S)
{
	struct nmd_opts *o = &S->o;
	struct epoll_event ev;
	char why[512];
	sigset_t ss;
	int err;

	/* 1. the fence: our own cgroup before any socket exists */
	if (o->cgroup && (err = nm_svc_enter_cgroup(o->cgroup))) {
		fprintf(stderr, PROG ": --cgroup %s: %s\n", o->cgroup, strerror(-err));
		return -1;
	}
	/* 2. what needs privileges or root-only files */
	S->pols.names.map_fd = -1;
	err = nmd_policies_load(S, stderr);
	if (err) {
		fprintf(stderr, PROG ": %s: %s\n", o->config, err == -EINVAL ? "errors above" : strerror(-err));
		return -1;
	}
	if (upstream_is_us(S, why, sizeof(why))) {
		fprintf(stderr, PROG ": dns-upstream %s is one of our own endpoints: a loop\n", why);
		return -1;
	}
	chown_names(S);
	err = nm_polnames_open(&S->pols.names, o->pin_dir);
	if (err) {
		fprintf(stderr,
			PROG ": cannot read policy names from %s/nm_policies: %s (is nomoat loaded? --pin-dir?)\n",
			o->pin_dir, strerror(-err));
		return -1;
	}
	err = nmd_log_open(S, o->log);
	if (err) {
		fprintf(stderr, PROG ": --log %s: %s\n", o->log, strerror(-err));
		return -1;
	}
	S->ep = epoll_create1(EPOLL_CLOEXEC);
	if (S->ep < 0 || nmd_server_start(S))
		return -1;
	sigemptyset(&ss);
	sigaddset(&ss, SIGINT);
	sigaddset(&ss, SIGTERM);
	sigaddset(&ss, SIGHUP);
	sigprocmask(SIG_BLOCK, &ss, NULL);
	signal(SIGPIPE, SIG_IGN);
	S->sigfd = signalfd(-1, &ss, SFD_NONBLOCK | SFD_CLOEXEC);
	ev.events = EPOLLIN;
	ev.data.u64 = NMD_TAG_SIG;
	if (S->sigfd < 0 || epoll_ctl(S->ep, EPOLL_CTL_ADD, S->sigfd, &ev))
		return -1;
	/* 3. no privilege from here on */
	if (o->user && nm_svc_drop_privs(PROG, o->user))
		return -1;
	/* 4. the kernel must say who asks, or every query is refused */
	if (nmd_selftest(S, why, sizeof(why))) {
		fprintf(stderr, PROG ": %s\n", why);
		return -1;
	}
	S->lim = nmd_limits_new(o->rate, o->inflight_cg);
	if (!S->lim || nmd_upstream_start(S))
		return -1;
	S->next_stats_ms = nm_svc_now_ms() + NMD_STATS_MS;
	return 0;
}

/* SIGHUP: the policy file, the policy names and the log, each kept as it
 * was when it cannot be read again. */
static void reload(struct nmd *S)
{
	int err = nmd_policies_load(S, stderr);
	char why[128];

	if (err)
		fprintf(stderr, PROG ": reload of %s failed (%s): the old policies stay\n", S->o.config,
			err == -EINVAL ? "errors above" : strerror(-err));
	else if (upstream_is_us(S, why, sizeof(why)))
		fprintf(stderr, PROG ": dns-upstream %s is one of our own endpoints: a loop\n", why);
	else
		nmd_upstream_reload(S);
	err = nm_polnames_refresh(&S->pols.names);
	if (err)
		fprintf(stderr, PROG ": policy names not read again: %s\n", strerror(-err));
	err = nmd_log_reopen(S);
	if (err)
		fprintf(stderr, PROG ": log not reopened: %s\n", strerror(-err));
	fprintf(stderr, PROG ": reloaded (%zu policies)\n", S->pols.n);
}

static int run(struct nmd *S)
{
	struct epoll_event evs[128];
	bool stop = false;

	while (!stop) {
		long long now = nm_svc_now_ms();
		int up = nmd_upstream_timers(S), timeout = 1000, n;

		if (up >= 0 && up < timeout)
			timeout = up;
		if (S->next_stats_ms - now < timeout)
			timeout = S->next_stats_ms > now ? (int)(S->next_stats_ms - now) : 0;
		n = epoll_wait(S->ep, evs, 128, timeout);
		if (n < 0 && errno != EINTR) {
			perror(PROG ": epoll_wait");
			return 1;
		}
		for (int i = 0; i < n; i++) {
			uint64_t u = evs[i].data.u64;

			switch (u & NMD_TAG_MASK) {
			case NMD_TAG_UDP:
				nmd_udp_ready(S, (int)(u >> 3));
				break;
			case NMD_TAG_TCPL:
				nmd_tcp_accept(S, (int)(u >> 3));
				break;
			case NMD_TAG_TCP:
				nmd_tcp_event(S, (struct nmd_tcp *)(uintptr_t)(u & ~(uint64_t)NMD_TAG_MASK), evs[i].events);
				break;
			case NMD_TAG_UP:
				nmd_upstream_event(S, (int)(u >> 3), evs[i].events);
				break;
			case NMD_TAG_SIG: {
				struct signalfd_siginfo si;

				while (read(S->sigfd, &si, sizeof(si)) == sizeof(si)) {
					if (si.ssi_signo == SIGHUP)
						reload(S);
					else
						stop = true;
				}
				break;
			}
			}
		}
		now = nm_svc_now_ms();
		nmd_tcp_timers(S, now);
		if (now >= S->next_stats_ms) {
			nmd_log_stats(S);
			S->next_stats_ms = now + NMD_STATS_MS;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct nmd S;
	int rc = parse_args(argc, argv, &S.o);
	char a[80];

	if (rc)
		return rc == 1 ? 0 : 2;
	if (setup(&S))
		return 1;
	for (int i = 0; i < S.o.nlisten; i++)
		fprintf(stderr, PROG ": listening on %s (udp%s)\n", nm_svc_sa_str(&S.o.listen[i], a, sizeof(a)),
			S.o.no_tcp ? "" : ", tcp");
	if (S.o.verbose)
		fprintf(stderr, PROG ": %zu policies from %s, names from %s, %zu upstream servers from %s\n",
			S.pols.n, S.o.config, S.o.pin_dir, S.pols.nup, S.pols.nup ? "the policy file" : "/etc/resolv.conf");
	fprintf(stderr, PROG ": ready\n");
	rc = run(&S);
	nmd_upstream_stop(&S);
	nmd_log_stats(&S);
	nmd_log_close(&S);
	fprintf(stderr, PROG ": stopped (%llu queries, %llu answered)\n", (unsigned long long)S.st.queries,
		(unsigned long long)S.st.answered);
	nmd_policies_free(&S);
	nmd_limits_free(S.lim);
	return rc;
}
