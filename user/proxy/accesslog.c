// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * accesslog.c - one JSON object a line for every connection the proxy
 * decided (or gave up on), written when it ends, so that it carries the
 * bytes each way and the duration:
 *
 *   {"type":"proxy","time":"2026-11-26T12:36:14.202979Z","policy":"agents",
 *    "policy_id":1,"cgroup_id":101,"pid":5114,"uid":0,
 *    "client":"10.250.0.2:40312","orig_dst":"11.22.33.44:443","proto":"tls",
 *    "name":"pypi.org","port":443,"verdict":"allow","reason":"allowed",
 *    "rule":"pypi.org","detail":"","upstream":"11.22.33.44:443",
 *    "bytes_up":517,"bytes_down":4120,"duration_ms":12}
 *
 * To a file (opened before privileges are dropped, appended to, reopened
 * on SIGHUP when possible) or to stdout.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "json.h"
#include "proxy.h"

static FILE *logf;
static char logpath[4096];

int nmp_log_open(const char *where)
{
	FILE *f;

	if (!strcmp(where, "stdout")) {
		logf = stdout;
		return 0;
	}
	f = fopen(where, "ae");
	if (!f)
		return -errno;
	setvbuf(f, NULL, _IOLBF, 0);
	if (logf && logf != stdout)
		fclose(logf);
	logf = f;
	snprintf(logpath, sizeof(logpath), "%s", where);
	return 0;
}

void nmp_log_conn(const struct nmp_conn *c)
{
	struct nm_json j;
	char t[64], a[80];

	if (!logf)
		return;
	nm_json_init(&j, logf, false);
	nm_json_obj(&j, NULL);
	nm_json_str(&j, "type", "proxy");
	nm_iso_now(t, sizeof(t));
	nm_json_str(&j, "time", t);
	nm_json_str(&j, "policy", c->policy);
	nm_json_u64(&j, "policy_id", c->has_origin ? c->origin.policy_id : 0);
	nm_json_u64(&j, "cgroup_id", c->has_origin ? c->origin.cgroup_id : 0);
	nm_json_u64(&j, "pid", c->has_origin ? c->origin.pid : 0);
	nm_json_i64(&j, "uid", c->has_origin ? (int64_t)c->origin.uid : -1);
	nm_json_str(&j, "client", nm_svc_sa_str(&c->client, a, sizeof(a)));
	if (c->has_origin) {
		struct sockaddr_storage ss = { 0 };

		if (c->origin.family == 4) {
			struct sockaddr_in *s = (void *)&ss;

			s->sin_family = AF_INET;
			memcpy(&s->sin_addr, &c->origin.addr[3], 4);
			s->sin_port = c->origin.port;
		} else {
			struct sockaddr_in6 *s = (void *)&ss;

			s->sin6_family = AF_INET6;
			memcpy(&s->sin6_addr, c->origin.addr, 16);
			s->sin6_port = c->origin.port;
		}
		nm_json_str(&j, "orig_dst", nm_svc_sa_str(&ss, a, sizeof(a)));
	} else {
		nm_json_str(&j, "orig_dst", "");
	}
	nm_json_str(&j, "proto", c->proto ? c->proto : "");
	nm_json_str(&j, "name", c->name);
	nm_json_u64(&j, "port", c->port);
	nm_json_str(&j, "verdict", c->verdict ? c->verdict : "none");
	nm_json_str(&j, "reason", nmp_reason_name(c->reason));
	nm_json_str(&j, "rule", c->rule);
	nm_json_str(&j, "detail", c->detail);
	nm_json_str(&j, "upstream", c->have_upstream ? nm_svc_sa_str(&c->upstream, a, sizeof(a)) : "");
	nm_json_u64(&j, "bytes_up", c->up.bytes);
	nm_json_u64(&j, "bytes_down", c->down.bytes);
	nm_json_u64(&j, "duration_ms", (uint64_t)(nm_svc_now_ms() - c->start_ms));
	nm_json_obj_end(&j);
	nm_json_done(&j);
}

void nmp_log_close(void)
{
	if (logf && logf != stdout)
		fclose(logf);
	logf = NULL;
}

int nmp_log_reopen(void)
{
	char p[sizeof(logpath)];

	if (!logpath[0])
		return 0;
	memcpy(p, logpath, sizeof(p));
	return nmp_log_open(p);
}
