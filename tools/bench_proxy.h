/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * bench_proxy.h - what the proxy part's set-up and measuring
 * (bench_proxy.c) share with its peers (bench_proxy_peers.c): the server
 * in the world namespace and the client in the client's.
 */
#ifndef BENCH_PROXY_H
#define BENCH_PROXY_H

#include <stdint.h>
#include <netinet/in.h>

#include "bench.h"

#define PX_SRV       "198.18.0.1"
#define PX_SRV_PORT  80
#define PX_NAME      "bench.test"
#define BULK_MS      1000
#define BULK_WARM_MS 100
#define STREAMS      64
#define RR_COUNT     2000
#define RR_WARM      100
#define NC_COUNT     500
#define NC_WARM      20
#define IDLE_N       200   /* idle relayed connections held (under the proxy's --max-per-client 256) */
#define CLIENT_MS    15000 /* bound on one client run */
#define BULK_REQ "GET /bulk HTTP/1.1\r\nHost: " PX_NAME "\r\nUser-Agent: nomoat-bench\r\n\r\n"
#define RR_REQ   "GET /rr HTTP/1.1\r\nHost: " PX_NAME "\r\nUser-Agent: nomoat-bench\r\n\r\n"
#define NC_REQ   "GET /rr HTTP/1.1\r\nHost: " PX_NAME "\r\nUser-Agent: nomoat-bench\r\nConnection: close\r\n\r\n"
#define BENCH_PX_SAMPLES (RR_COUNT > NC_COUNT ? RR_COUNT : NC_COUNT)

#define FIG_IDLE BENCH_PX_FIGS /* the client's job: hold IDLE_N idle connections */

struct client_arg {
	int fig;
	struct sockaddr_in dst;
	int out_fd;
	int go_fd; /* FIG_IDLE: hold the connections until this reads EOF */
	int go_wr; /* its other end, the parent's: closed in the child */
};

struct client_res {
	int32_t err;     /* 0 or errno */
	int32_t stage;   /* 1 connect, 2 send, 3 recv, 4 protocol, 5 time */
	double rate;     /* bytes/s or exchanges/s */
	uint32_t n;      /* samples that follow (ns each) */
};

/* The last client's samples (ns each), for bench_reply_write. */
extern uint32_t bench_px_samples[BENCH_PX_SAMPLES];

/* The server (p: the fd to say "ready" on, closed after), forever. */
int bench_px_server(void *p);
/* One client run (p: struct client_arg): its result to out_fd. */
int bench_px_client(void *p);

#endif
