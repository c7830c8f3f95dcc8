// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "events.h"
#include "cgroup.h"
#include "json.h"
#include "parse.h"
#include "policy.h"

#include <arpa/inet.h>
#include <string.h>
#include <time.h>

void nm_event_fmt_init(struct nm_event_fmt *f, const struct nm_maps *m, bool json, bool pretty)
{
	struct timespec rt, bt;

	memset(f, 0, sizeof(*f));
	f->maps = m;
	f->json = json;
	f->pretty = pretty;
	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_BOOTTIME, &bt);
	f->boot_to_real_ns = (rt.tv_sec - bt.tv_sec) * 1000000000LL + (rt.tv_nsec - bt.tv_nsec);
}

static bool is_hex64(const char *s, size_t n)
{
	if (n != 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

void nm_container_id(const char *path, char *out, size_t len)
{
	static const char *const pre[] = { "docker-", "crio-", "libpod-", "cri-containerd-", "" };
	const char *c = path;

	snprintf(out, len, "%s", "");
	while (c && *c) {
		const char *end = strchr(c, '/');
		size_t n = end ? (size_t)(end - c) : strlen(c);

		for (size_t i = 0; i < sizeof(pre) / sizeof(pre[0]); i++) {
			size_t pl = strlen(pre[i]), body = n - pl;

			if (n <= pl || strncmp(c, pre[i], pl))
				continue;
			if (n > pl + 6 && !strncmp(c + n - 6, ".scope", 6))
				body -= 6;
			if (is_hex64(c + pl, body)) {
				/* keep scanning: the innermost id wins */
				snprintf(out, len, "%.*s", (int)body, c + pl);
				break;
			}
		}
		c = end ? end + 1 : NULL;
	}
}

static const char *cg_path(struct nm_event_fmt *f, __u64 id)
{
	char abs[4096];
	unsigned slot;

	for (unsigned i = 0; i < NM_CG_CACHE; i++)
		if (f->cg[i].id == id && id)
			return f->cg[i].path;
	/* A gone cgroup is cached as "" too: each miss walks the whole tree,
	 * and a gone cgroup's events would walk it again and again. */
	if (nm_cgroup_path_of(id, abs, sizeof(abs)) || strlen(abs) >= sizeof(f->cg[0].path))
		abs[0] = 0; /* too long to cache: better none than a cut path */
	slot = f->cg_next++ % NM_CG_CACHE;
	f->cg[slot].id = id;
	memcpy(f->cg[slot].path, abs, strlen(abs) + 1);
	return f->cg[slot].path;
}

/* The rule that matched, rebuilt from the address and the rule's prefix. */
static bool event_rule(const struct nm_event *e, struct nm_cidr *c)
{
	if (e->reason != NM_R_RULE && e->reason != NM_R_UDP_REDIRECT && e->reason != NM_R_PROTO &&
	    e->reason != NM_R_NO_PROXY)
		return false;
	if (e->reason != NM_R_RULE && !e->rule_prefixlen && !e->rule_port)
		return false;
	memset(c, 0, sizeof(*c));
	c->family = e->family;
	c->prefixlen = e->rule_prefixlen;
	c->port = ntohs(e->rule_port);
	if (e->family == 4)
		memcpy(c->addr, &e->orig_addr[3], 4);
	else
		memcpy(c->addr, e->orig_addr, 16);
	nm_cidr_mask(c);
	return true;
}

void nm_event_print(struct nm_event_fmt *f, FILE *out, const struct nm_event *e)
{
	char when[64], dst[NM_CIDR_STRLEN], ndst[NM_CIDR_STRLEN], rule[NM_CIDR_STRLEN] = "";
	char reason[NM_REASON_LEN] = "", comm[17], container[80];
	struct nm_policy p = { 0 };
	struct nm_cidr rc;
	const char *cgp;

	nm_iso_time((__s64)e->ts_ns + f->boot_to_real_ns, when, sizeof(when));
	nm_format_addr16(e->orig_addr, e->family, e->orig_port, dst, sizeof(dst));
	nm_format_addr16(e->new_addr, e->family == 4 && e->new_addr[2] == (__u32)htonl(0xffff) ? 4 : 6,
			 e->new_port, ndst, sizeof(ndst));
	if (event_rule(e, &rc)) {
		nm_format_cidr(&rc, rule, sizeof(rule));
		if (f->maps)
			nm_rule_reason(f->maps, e->policy_id, &rc, reason, sizeof(reason));
	}
	if (f->maps && e->policy_id)
		nm_policy_get(f->maps, e->policy_id, &p);
	memcpy(comm, e->comm, 16);
	comm[16] = 0;
	cgp = cg_path(f, e->cgroup_id);
	nm_container_id(cgp, container, sizeof(container));

	if (f->json) {
		struct nm_json j;

		nm_json_init(&j, out, f->pretty);
		nm_json_obj(&j, NULL);
		nm_json_str(&j, "type", "decision");
		nm_json_str(&j, "time", when);
		nm_json_u64(&j, "ts_ns", e->ts_ns);
		nm_json_str(&j, "verdict", nm_verdict_name(e->verdict));
		nm_json_str(&j, "hook", nm_hook_name(e->hook));
		nm_json_str(&j, "proto", nm_proto_name(e->proto));
		nm_json_u64(&j, "family", e->family);
		nm_json_bool(&j, "mapped", e->mapped);
		nm_json_str(&j, "dst", dst);
		nm_json_str(&j, "new_dst", ndst);
		nm_json_str(&j, "rule", rule);
		nm_json_str(&j, "reason", nm_reason_name(e->reason));
		nm_json_str(&j, "reason_text", reason);
		nm_json_str(&j, "policy", p.name);
		nm_json_u64(&j, "policy_id", e->policy_id);
		nm_json_u64(&j, "cgroup_id", e->cgroup_id);
		nm_json_str(&j, "cgroup", cgp);
		nm_json_str(&j, "container", container);
		nm_json_u64(&j, "pid", e->pid);
		nm_json_u64(&j, "tid", e->tid);
		nm_json_u64(&j, "uid", e->uid);
		nm_json_str(&j, "comm", comm);
		nm_json_obj_end(&j);
		nm_json_done(&j);
		return;
	}
	fprintf(out, "%s %-14s %-8s %-3s %s%s", when, nm_verdict_name(e->verdict), nm_hook_name(e->hook),
		nm_proto_name(e->proto), e->mapped ? "::ffff:" : "", dst);
	if (strcmp(dst, ndst))
		fprintf(out, " -> %s", ndst);
	fprintf(out, " %s%s%s policy=%s cgroup=%s pid=%u uid=%u comm=%s", nm_reason_name(e->reason),
		rule[0] ? " " : "", rule, p.name[0] ? p.name : "-", cgp[0] ? cgp : "?", e->pid, e->uid,
		comm[0] ? comm : "?");
	if (reason[0])
		fprintf(out, " (%s)", reason);
	fputc('\n', out);
	fflush(out);
}
