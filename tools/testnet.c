// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * nomoat-testnet: the test topology of the integration tests, on its own,
 * for the demonstration and for trying nomoat by hand.  Builds a client and
 * a "world" network namespace joined by a veth (the client routes only to the
 * world's test hosts), starts the world's listeners and a reporting proxy in
 * the given cgroup, prints one "ready" line, and tears everything down on
 * SIGINT/SIGTERM or when stdin closes.
 */
#include <errno.h>
#include <stdbool.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "run.h"
#include "servers.h"
#include "topo.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: nomoat-testnet --proxy-cgroup PATH [--prefix NAME] [--loopback-proxy]\n"
		   "  Builds netns NAME-c (client) and NAME-w (world: 169.254.169.254, 10.1.2.3,\n"
		   "  192.168.7.7, 11.22.33.44, 11.22.33.45, fd00:ec2::254, 2a00:1:2:3::44, and a\n"
		   "  proxy at 10.250.0.1:3128 / [fd00:250::1]:3128 that reports SO_ORIGINAL_DST),\n"
		   "  prints 'ready CLIENT-NETNS WORLD-NETNS', runs until SIGTERM or stdin closes.\n"
		   "  --loopback-proxy: the same proxy also on 127.0.0.1:3128 and [::1]:3128 of the client\n"
		   "  netns (the endpoint of the shipped default policy file).\n");
}

int main(int argc, char **argv)
{
	const char *prefix = NULL, *proxy_cg = NULL;
	bool lo_proxy = false;
	pid_t lo_pid = 0;
	struct nmt_servers s = { 0 };
	struct nmt_topo t;
	int err;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--prefix") && i + 1 < argc) {
			prefix = argv[++i];
		} else if (!strcmp(argv[i], "--proxy-cgroup") && i + 1 < argc) {
			proxy_cg = argv[++i];
		} else if (!strcmp(argv[i], "--loopback-proxy")) {
			lo_proxy = true;
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (!proxy_cg) {
		usage(stderr);
		return 2;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	nmt_topo_init(&t, prefix);
	err = nmt_topo_up(&t);
	if (!err)
		err = nmt_servers_start(&t, proxy_cg, &s);
	if (!err && lo_proxy)
		err = nmt_proxy_start_loopback(&t, proxy_cg, &lo_pid);
	if (!err)
		err = nmt_topo_warmup(&t, NMT_HELLO_PORT, 8000);
	if (err) {
		fprintf(stderr, "nomoat-testnet: cannot build the test network: %s\n", strerror(-err));
		goto out;
	}
	printf("ready %s %s\n", t.cns, t.wns);
	fflush(stdout);
	while (!stop) {
		struct pollfd p = { .fd = 0, .events = POLLIN };
		char buf[64];

		if (poll(&p, 1, 200) > 0 && read(0, buf, sizeof(buf)) <= 0)
			break; /* stdin closed: the caller is gone */
	}
out:
	if (lo_pid > 0)
		kill(lo_pid, SIGKILL);
	nmt_servers_stop(&s);
	nmt_children_kill();
	nmt_topo_down(&t);
	return err ? 1 : 0;
}
