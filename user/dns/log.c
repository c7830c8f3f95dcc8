// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * log.c - nomoat-dns's JSON lines, one a query it refused (every answered
 * one too with --log-all), and its counters every NMD_STATS_MS:
 *
 *   {"type":"dns","time":"2026-12-02T10:00:00.123456Z","policy":"agents",
 *    "policy_id":1,"cgroup_id":5123,"pid":80231,"uid":0,
 *    "client":"10.250.0.2:40312","server":"8.8.8.8:53","transport":"udp",
 *    "name":"evil.example","qtype":"TXT","rcode":"NXDOMAIN",
 *    "reason":"not-allowed","detail":"not on the policy's allowlist",
 *    "edns_options":false}
 *   {"type":"dns-stats","time":...,"queries":N,...,"refused":{"not-allowed":N,...}}
 *
 * server is the resolver the sandbox asked (the kernel's record); policy
 * and the ids are empty and 0 (uid -1) when the kernel had no record.  To
 * a file (opened before privileges are dropped, appended to, reopened on
 * SIGHUP when possible) or stdout.  nomoatd follows the file (dns-log) and
 * merges the lines into its event stream.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "dns.h"
#include "json.h"
#include "parse.h"

int nmd_log_open(struct nmd *S, const char *where)
{
	FILE *f;

	if (!strcmp(where, "stdout")) {
		S->logf = stdout;
		setvbuf(stdout, NULL, _IOLBF, 0);
		return 0;
	}
	f = fopen(where, "ae");
	if (!f)
		return -errno;
	setvbuf(f, NULL, _IOLBF, 0);
	if (S->logf && S->logf != stdout)
		fclose(S->logf);
	S->logf = f;
	snprintf(S->logpath, sizeof(S->logpath), "%s", where);
	return 0;
}

int nmd_log_reopen(struct nmd *S)
{
	return S->logpath[0] ? nmd_log_open(S, S->logpath) : 0;
}

void nmd_log_close(struct nmd *S)
{
	if (S->logf && S->logf != stdout)
		fclose(S->logf);
	S->logf = NULL;
}

static void time_field(struct nm_json *j)
{
	char t[64];

	nm_iso_now(t, sizeof(t));
	nm_json_str(j, "time", t);
}

void nmd_log_query(struct nmd *S, const struct nmd_req *r, int rcode, enum nmd_reason reason, const char *detail)
{
	const struct nm_origin *o = &r->origin;
	char a[80], t[16];
	struct nm_json j;

	if (!S->logf)
		return;
	nm_json_init(&j, S->logf, false);
	nm_json_obj(&j, NULL);
	nm_json_str(&j, "type", "dns");
	time_field(&j);
	nm_json_str(&j, "policy", r->pol ? r->pol->name : "");
	nm_json_u64(&j, "policy_id", r->has_origin ? o->policy_id : 0);
	nm_json_u64(&j, "cgroup_id", r->has_origin ? o->cgroup_id : 0);
	nm_json_u64(&j, "pid", r->has_origin ? o->pid : 0);
	nm_json_i64(&j, "uid", r->has_origin ? (int64_t)o->uid : -1);
	nm_json_str(&j, "client", nm_svc_sa_str(&r->client, a, sizeof(a)));
	nm_json_str(&j, "server", r->has_origin ? nm_format_addr16(o->addr, o->family, o->port, a, sizeof(a)) : "");
	nm_json_str(&j, "transport", r->tcp ? "tcp" : "udp");
	nm_json_str(&j, "name", r->q.has_question ? r->q.name : "");
	nm_json_str(&j, "qtype", r->q.has_question ? nmd_type_str(r->q.qtype, t, sizeof(t)) : "");
	nm_json_str(&j, "rcode", nmd_rcode_str(rcode, t, sizeof(t)));
	nm_json_str(&j, "reason", nmd_reason_str(reason));
	nm_json_str(&j, "detail", detail ? detail : "");
	nm_json_bool(&j, "edns_options", r->q.edns_options);
	nm_json_u64(&j, "ms", (uint64_t)(nm_svc_now_ms() - r->start_ms));
	nm_json_obj_end(&j);
	nm_json_done(&j);
}

void nmd_log_stats(struct nmd *S)
{
	const struct nmd_stats *s = &S->st;
	struct nm_json j;

	if (!S->logf)
		return;
	nm_json_init(&j, S->logf, false);
	nm_json_obj(&j, NULL);
	nm_json_str(&j, "type", "dns-stats");
	time_field(&j);
	nm_json_u64(&j, "queries", s->queries);
	nm_json_u64(&j, "udp", s->udp);
	nm_json_u64(&j, "tcp", s->tcp);
	nm_json_u64(&j, "answered", s->answered);
	nm_json_u64(&j, "cached", s->cached);
	nm_json_u64(&j, "upstream", s->upstream);
	nm_json_u64(&j, "upstream_failed", s->upstream_failed);
	nm_json_u64(&j, "synthetic_assigned", s->synth_assigned);
	nm_json_u64(&j, "log_suppressed", s->log_suppressed);
	nm_json_u64(&j, "inflight", S->inflight);
	nm_json_u64(&j, "tcp_conns", S->ntcp);
	nm_json_obj(&j, "refused");
	for (int i = 1; i < NMD_RS__MAX; i++)
		nm_json_u64(&j, nmd_reason_str((enum nmd_reason)i), s->refused[i]);
	nm_json_obj_end(&j);
	nm_json_obj_end(&j);
	nm_json_done(&j);
}
