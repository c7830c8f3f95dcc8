// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * nomoat-proxy - the filtering egress proxy nomoat redirects sandboxes to.
 * Options, start-up in the order the fence needs (cgroup, files, sockets,
 * then the drop of privileges), and the event loop.  See proxy.h for the
 * parts and README.md ("The proxy") for how to run it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include "parse.h"
#include "pins.h"
#include "proxy.h"
#include "svc.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: nomoat-proxy [OPTIONS]\n"
		"\n"
		"The filtering egress proxy: serves connections nomoat redirected (the\n"
		"original destination and the client's policy come from the kernel) and\n"
		"explicit proxy requests (CONNECT, absolute-form HTTP) on one listener;\n"
		"allows a name (TLS SNI, HTTP Host, CONNECT authority) only when the\n"
		"policy's `hostname` lines list it, resolves it itself and relays.\n"
		"\n"
		"  -l, --listen ADDR:PORT      listen here (repeat for more; default\n"
		"                              " NMP_DEF_LISTEN4 " and " NMP_DEF_LISTEN6 ")\n"
		"  -c, --config FILE           the policy file with the allowlists\n"
		"                              (default " NMP_DEF_CONFIG ")\n"
		"      --pin-dir DIR           nomoat's pin dir, for policy names (default\n"
		"                              $" NM_PIN_DIR_ENV " or " NM_PIN_DIR_DEFAULT ")\n"
		"      --default-policy NAME   the policy of connections nomoat did not redirect\n"
		"                              (explicit proxy clients); default: refuse them\n"
		"      --hosts FILE            NAME -> ADDRESS map in hosts(5) format, asked before DNS\n"
		"      --no-dns                resolve from --hosts only\n"
		"      --log FILE|stdout       access log, one JSON line a connection (default stdout)\n"
		"      --user USER             drop to USER (no capabilities) once bound\n"
		"      --cgroup PATH           move into this cgroup before anything else\n"
		"      --max-conns N           connections at once (default %d)\n"
		"      --max-per-client N      connections at once per client: per cgroup for\n"
		"                              redirected ones, else per address (default %d)\n"
		"      --handshake-timeout S   to send a complete request, resolve and connect\n"
		"                              (default %d s)\n"
		"      --idle-timeout S        a relayed connection with no byte either way (default %d s)\n"
		"      --resolvers N           getaddrinfo threads (default %d)\n"
		"      --names-dir DIR         nomoat-dns's tables of synthetic names (names synthetic;\n"
		"                              default " NM_SYNTH_DIR_DEFAULT ")\n"
		"      --explicit-only         serve only explicit requests (HTTP(S)_PROXY clients):\n"
		"                              start outside a nomoat attach point, where the\n"
		"                              kernel cannot say where a redirected connection\n"
		"                              was going (by default that refuses to start)\n"
		"  -v, --verbose               say more at start\n"
		"  -h, --help\n",
		NMP_DEF_MAX_CONNS, NMP_DEF_MAX_PER_CLIENT, NMP_DEF_HANDSHAKE_MS / 1000, NMP_DEF_IDLE_MS / 1000,
		NMP_DEF_RESOLVERS);
}

enum {
	O_PIN_DIR = 256, O_DEFAULT_POLICY, O_HOSTS, O_NO_DNS, O_LOG, O_USER, O_CGROUP, O_MAX_CONNS,
	O_MAX_PER_CLIENT, O_HANDSHAKE, O_IDLE, O_RESOLVERS, O_NAMES_DIR, O_EXPLICIT_ONLY,
};

static int parse_args(int argc, char **argv, struct nmp_opts *o)
{
	static const struct option lo[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "config", required_argument, NULL, 'c' },
		{ "pin-dir", required_argument, NULL, O_PIN_DIR },
		{ "default-policy", required_argument, NULL, O_DEFAULT_POLICY },
		{ "hosts", required_argument, NULL, O_HOSTS },
		{ "no-dns", no_argument, NULL, O_NO_DNS },
		{ "log", required_argument, NULL, O_LOG },
		{ "user", required_argument, NULL, O_USER },
		{ "cgroup", required_argument, NULL, O_CGROUP },
		{ "max-conns", required_argument, NULL, O_MAX_CONNS },
		{ "max-per-client", required_argument, NULL, O_MAX_PER_CLIENT },
		{ "handshake-timeout", required_argument, NULL, O_HANDSHAKE },
		{ "idle-timeout", required_argument, NULL, O_IDLE },
		{ "resolvers", required_argument, NULL, O_RESOLVERS },
		{ "names-dir", required_argument, NULL, O_NAMES_DIR },
		{ "explicit-only", no_argument, NULL, O_EXPLICIT_ONLY },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->config = NMP_DEF_CONFIG;
	o->names_dir = NM_SYNTH_DIR_DEFAULT;
	o->log = "stdout";
	o->max_conns = NMP_DEF_MAX_CONNS;
	o->max_per_client = NMP_DEF_MAX_PER_CLIENT;
	o->handshake_ms = NMP_DEF_HANDSHAKE_MS;
	o->idle_ms = NMP_DEF_IDLE_MS;
	o->resolvers = NMP_DEF_RESOLVERS;
	o->resolve_queue = NMP_DEF_RESOLVE_QUEUE;
	while ((c = getopt_long(argc, argv, "l:c:vh", lo, NULL)) != -1) {
		switch (c) {
		case 'l':
			if (o->nlisten == NMP_MAX_LISTEN) {
				fprintf(stderr, "nomoat-proxy: at most %d --listen\n", NMP_MAX_LISTEN);
				return 2;
			}
			if (nm_svc_listen("nomoat-proxy", "--listen", optarg, &o->listen[o->nlisten++]))
				return 2;
			break;
		case 'c':
			o->config = optarg;
			break;
		case O_PIN_DIR:
			o->pin_dir = optarg;
			break;
		case O_DEFAULT_POLICY: {
			char err[NM_ERR_LEN];

			if (nm_parse_policy_name(optarg, err, sizeof(err))) {
				fprintf(stderr, "nomoat-proxy: --default-policy %s\n", err);
				return 2;
			}
			o->default_policy = optarg;
			break;
		}
		case O_HOSTS:
			o->hosts = optarg;
			break;
		case O_NO_DNS:
			o->no_dns = true;
			break;
		case O_LOG:
			o->log = optarg;
			break;
		case O_USER:
			o->user = optarg;
			break;
		case O_CGROUP:
			o->cgroup = optarg;
			break;
		case O_NAMES_DIR:
			o->names_dir = optarg;
			break;
		case O_EXPLICIT_ONLY:
			o->explicit_only = true;
			break;
		case O_MAX_CONNS:
			if (nm_svc_uint("nomoat-proxy", "--max-conns", optarg, 1, 1000000, &o->max_conns))
				return 2;
			break;
		case O_MAX_PER_CLIENT:
			if (nm_svc_uint("nomoat-proxy", "--max-per-client", optarg, 1, 1000000, &o->max_per_client))
				return 2;
			break;
		case O_HANDSHAKE:
			if (nm_svc_secs("nomoat-proxy", "--handshake-timeout", optarg, &o->handshake_ms))
				return 2;
			break;
		case O_IDLE:
			if (nm_svc_secs("nomoat-proxy", "--idle-timeout", optarg, &o->idle_ms))
				return 2;
			break;
		case O_RESOLVERS:
			if (nm_svc_uint("nomoat-proxy", "--resolvers", optarg, 1, 64, &o->resolvers))
				return 2;
			break;
		case 'v':
			o->verbose = true;
			break;
		default:
			return nm_svc_opt_usage(c, usage);
		}
	}
	if (nm_svc_opt_rest("nomoat-proxy", argc, argv))
		return 2;
	if (o->no_dns && !o->hosts) {
		fprintf(stderr, "nomoat-proxy: --no-dns needs --hosts\n");
		return 2;
	}
	if (!o->nlisten) {
		nm_svc_listen("nomoat-proxy", "--listen", NMP_DEF_LISTEN4, &o->listen[0]);
		nm_svc_listen("nomoat-proxy", "--listen", NMP_DEF_LISTEN6, &o->listen[1]);
		o->nlisten = 2;
	}
	o->pin_dir = nm_pin_dir_pick(o->pin_dir);
	return 0;
}

static int listen_on(const struct sockaddr_storage *ss)
{
	int fd, one = 1;
	char a[80];

	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* accepted sockets inherit it: no setsockopt per connection */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (ss->ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)ss,
		 ss->ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6)) ||
	    listen(fd, 4096))
		goto fail;
	return fd;
fail:
	fprintf(stderr, "nomoat-proxy: listen on %s: %s\n", nm_svc_sa_str(ss, a, sizeof(a)), strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

/* Without the kernel's origin records every redirected connection would be
 * answered "400 not-a-proxy-request": refuse to start instead, saying how. */
static int origin_check(int fd, int family)
{
	int err = nm_svc_origin_probe(fd, family);

	if (!err)
		return 0;
	fprintf(stderr,
		"nomoat-proxy: the kernel will not say where redirected connections were going (%s): this "
		"process is not under a nomoat attach point. Start it in one: --cgroup /nomoat-proxy with "
		"'attach /nomoat-proxy' and 'bind /nomoat-proxy deny-only' in the policy file (or 'nomoat cgroup "
		"attach /nomoat-proxy'), and nomoat loaded; or pass --explicit-only to serve HTTP(S)_PROXY "
		"clients alone\n",
		strerror(-err));
	return -1;
}

static int setup(struct nmp_proxy *px)
{
	struct nmp_opts *o = &px->o;
	struct epoll_event ev;
	sigset_t ss;
	int err;

	/* 1. the fence: our own cgroup before any socket exists */
	if (o->cgroup && (err = nm_svc_enter_cgroup(o->cgroup))) {
		fprintf(stderr, "nomoat-proxy: --cgroup %s: %s\n", o->cgroup, strerror(-err));
		return -1;
	}
	/* 2. what needs privileges or root-only files */
	px->pols.names.map_fd = -1;
	err = nmp_policies_load(&px->pols, o->config, stderr);
	if (err) {
		fprintf(stderr, "nomoat-proxy: %s: %s\n", o->config,
			err == -EINVAL ? "errors above" : strerror(-err));
		return -1;
	}
	err = nm_polnames_open(&px->pols.names, o->pin_dir);
	if (err) {
		fprintf(stderr,
			"nomoat-proxy: cannot read policy names from %s/nm_policies: %s (is nomoat loaded? "
			"--pin-dir?)\n",
			o->pin_dir, strerror(-err));
		return -1;
	}
	err = nmp_log_open(o->log);
	if (err) {
		fprintf(stderr, "nomoat-proxy: --log %s: %s\n", o->log, strerror(-err));
		return -1;
	}
	nmp_raise_nofile(&o->max_conns);
	px->ep = epoll_create1(EPOLL_CLOEXEC);
	if (px->ep < 0)
		return -1;
	for (int i = 0; i < o->nlisten; i++) {
		px->lfd[i] = listen_on(&o->listen[i]);
		if (px->lfd[i] < 0)
			return -1;
		px->lfamily[i] = o->listen[i].ss_family;
		ev.events = EPOLLIN;
		ev.data.u64 = (uint64_t)i << 3 | NMP_TAG_LISTEN;
		if (epoll_ctl(px->ep, EPOLL_CTL_ADD, px->lfd[i], &ev))
			return -1;
	}
	if (!o->explicit_only && origin_check(px->lfd[0], px->lfamily[0]))
		return -1;
	sigemptyset(&ss);
	sigaddset(&ss, SIGINT);
	sigaddset(&ss, SIGTERM);
	sigaddset(&ss, SIGHUP);
	sigprocmask(SIG_BLOCK, &ss, NULL);
	signal(SIGPIPE, SIG_IGN);
	px->sigfd = signalfd(-1, &ss, SFD_NONBLOCK | SFD_CLOEXEC);
	ev.events = EPOLLIN;
	ev.data.u64 = NMP_TAG_SIG;
	if (px->sigfd < 0 || epoll_ctl(px->ep, EPOLL_CTL_ADD, px->sigfd, &ev))
		return -1;
	/* 3. no privilege from here on (threads start after, so they inherit it) */
	if (o->user && nm_svc_drop_privs("nomoat-proxy", o->user))
		return -1;
	err = nmp_resolver_start(&px->res, o->resolvers, o->resolve_queue, o->hosts, o->no_dns);
	if (err) {
		fprintf(stderr, "nomoat-proxy: resolver: %s\n", strerror(-err));
		return -1;
	}
	ev.events = EPOLLIN;
	ev.data.u64 = NMP_TAG_RES;
	if (epoll_ctl(px->ep, EPOLL_CTL_ADD, nmp_resolver_fd(px->res), &ev))
		return -1;
	px->lim = nmp_limits_new(o->max_per_client);
	if (!px->lim)
		return -1;
	px->t_hs.ms = o->handshake_ms;
	px->t_idle.ms = o->idle_ms;
	px->t_linger.ms = NMP_LINGER_MS;
	return 0;
}

/* SIGHUP: the allowlists, the policy names and the log, each kept as it
 * was when it cannot be read again. */
static void reload(struct nmp_proxy *px)
{
	int err = nmp_policies_load(&px->pols, px->o.config, stderr);

	if (err)
		fprintf(stderr, "nomoat-proxy: reload of %s failed (%s): the old allowlists stay\n", px->o.config,
			err == -EINVAL ? "errors above" : strerror(-err));
	err = nm_polnames_refresh(&px->pols.names);
	if (err)
		fprintf(stderr, "nomoat-proxy: policy names not read again: %s\n", strerror(-err));
	err = nmp_log_reopen();
	if (err)
		fprintf(stderr, "nomoat-proxy: log not reopened: %s\n", strerror(-err));
	fprintf(stderr, "nomoat-proxy: reloaded (%zu policies)\n", px->pols.n);
}

static int run(struct nmp_proxy *px)
{
	struct epoll_event evs[256];
	bool stop = false;

	while (!stop) {
		long long now = nm_svc_now_ms(), next = nmp_timers_next(px);
		int timeout = 1000, n;

		if (px->ready)
			timeout = 0;
		else if (next >= 0)
			timeout = next <= now ? 0 : (int)(next - now < 1000 ? next - now : 1000);
		n = epoll_wait(px->ep, evs, 256, timeout);
		if (n < 0 && errno != EINTR) {
			perror("nomoat-proxy: epoll_wait");
			return 1;
		}
		for (int i = 0; i < n; i++) {
			uint64_t u = evs[i].data.u64;
			struct nmp_conn *c = (struct nmp_conn *)(uintptr_t)(u & ~(uint64_t)NMP_TAG_MASK);

			switch (u & NMP_TAG_MASK) {
			case NMP_TAG_LISTEN:
				if (!px->accept_paused)
					nmp_accept(px, (int)(u >> 3));
				break;
			case NMP_TAG_CLIENT:
			case NMP_TAG_UP:
				if (c->st != NMP_ST_DEAD)
					nmp_conn_event(c, (u & NMP_TAG_MASK) == NMP_TAG_UP, evs[i].events);
				break;
			case NMP_TAG_RES:
				nmp_resolver_done(px->res, nmp_conn_resolved);
				break;
			case NMP_TAG_SIG: {
				struct signalfd_siginfo si;

				while (read(px->sigfd, &si, sizeof(si)) == sizeof(si)) {
					if (si.ssi_signo == SIGHUP)
						reload(px);
					else
						stop = true;
				}
				break;
			}
			}
		}
		nmp_ready_run(px);
		nmp_timers_run(px, nm_svc_now_ms());
		nmp_graveyard_free(px);
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct nmp_proxy proxy; /* the loop's state: passed, never global */
	struct nmp_proxy *px = &proxy;
	int rc = parse_args(argc, argv, &px->o);
	char a[80];

	if (rc)
		return rc == 1 ? 0 : 2;
	if (setup(px))
		return 1;
	for (int i = 0; i < px->o.nlisten; i++)
		fprintf(stderr, "nomoat-proxy: listening on %s\n", nm_svc_sa_str(&px->o.listen[i], a, sizeof(a)));
	if (px->o.verbose)
		fprintf(stderr, "nomoat-proxy: %zu policies from %s, names from %s, up to %u connections (%u a client)\n",
			px->pols.n, px->o.config, px->o.pin_dir, px->o.max_conns, px->o.max_per_client);
	fprintf(stderr, "nomoat-proxy: ready\n");
	rc = run(px);
	nmp_resolver_stop(px->res);
	nmp_pipes_free(px);
	nmp_log_close();
	fprintf(stderr, "nomoat-proxy: stopped (%llu connections accepted, %llu refused at the limits)\n",
		(unsigned long long)px->accepted, (unsigned long long)px->refused_limit);
	return rc;
}
