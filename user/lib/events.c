// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "events.h"
#include "cgroup.h"
#include "evline.h"
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
	f->epoch = 1;
	f->sec = -1;
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

void nm_event_fmt_refresh(struct nm_event_fmt *f)
{
	if (!++f->epoch)
		memset(f->pol, 0, sizeof(f->pol)), memset(f->why, 0, sizeof(f->why)), f->epoch = 1;
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

/* The cache slot of cgroup id: its path ("" once gone) and container. */
static unsigned cg_slot(struct nm_event_fmt *f, __u64 id)
{
	char abs[4096];
	unsigned slot;

	for (unsigned i = 0; i < NM_CG_CACHE; i++)
		if (f->cg[i].id == id && id)
			return i;
	/* A gone cgroup is cached as "" too: each miss walks the whole tree,
	 * and a gone cgroup's events would walk it again and again. */
	if (nm_cgroup_path_of(id, abs, sizeof(abs)) || strlen(abs) >= sizeof(f->cg[0].path))
		abs[0] = 0; /* too long to cache: better none than a cut path */
	slot = f->cg_next++ % NM_CG_CACHE;
	f->cg[slot].id = id;
	memcpy(f->cg[slot].path, abs, strlen(abs) + 1);
	nm_container_id(abs, f->cg[slot].container, sizeof(f->cg[slot].container));
	return slot;
}

static const char *policy_name(struct nm_event_fmt *f, __u32 id)
{
	struct nm_policy p = { 0 };

	if (!f->maps || !id || id >= NM_MAX_POLICIES)
		return "";
	if (f->pol[id].epoch != f->epoch) {
		if (nm_policy_get(f->maps, id, &p))
			p.name[0] = 0;
		memcpy(f->pol[id].name, p.name, sizeof(p.name));
		f->pol[id].name[sizeof(p.name) - 1] = 0;
		f->pol[id].epoch = f->epoch;
	}
	return f->pol[id].name;
}

static const char *rule_reason(struct nm_event_fmt *f, __u32 policy_id, const struct nm_cidr *c)
{
	__u32 h = policy_id * 0x9e3779b1u;
	unsigned slot;

	if (!f->maps)
		return "";
	for (size_t i = 0; i < sizeof(*c); i++)
		h = (h ^ ((const __u8 *)c)[i]) * 0x01000193u;
	slot = h % NM_REASON_CACHE;
	if (f->why[slot].epoch != f->epoch || f->why[slot].policy_id != policy_id ||
	    memcmp(&f->why[slot].rule, c, sizeof(*c))) {
		nm_rule_reason(f->maps, policy_id, c, f->why[slot].text, sizeof(f->why[slot].text));
		f->why[slot].epoch = f->epoch;
		f->why[slot].policy_id = policy_id;
		f->why[slot].rule = *c;
	}
	return f->why[slot].text;
}

/* "2026-11-26T12:36:14.202979Z": the date and time of day change once a
 * second, and are made once a second. */
static void event_time(struct nm_event_fmt *f, __s64 real_ns, char *buf, size_t len)
{
	__s64 sec = real_ns / 1000000000LL;

	if (real_ns < 0 || len < 32) {
		nm_iso_time(real_ns, buf, len);
		return;
	}
	if (sec != f->sec) {
		nm_iso_time(real_ns, f->stamp, sizeof(f->stamp));
		if (strlen(f->stamp) != 27) { /* not a four-digit year */
			nm_iso_time(real_ns, buf, len);
			return;
		}
		f->sec = sec;
	}
	memcpy(buf, f->stamp, 19);
	buf[19] = '.';
	for (int i = 25, us = (int)((real_ns / 1000) % 1000000); i > 19; i--, us /= 10)
		buf[i] = (char)('0' + us % 10);
	buf[26] = 'Z';
	buf[27] = 0;
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

size_t nm_event_line(struct nm_event_fmt *f, const struct nm_event *e, char *buf, size_t cap)
{
	char when[64], dst[NM_CIDR_STRLEN], ndst[NM_CIDR_STRLEN], rule[NM_CIDR_STRLEN] = "", comm[17];
	struct nm_decision d = { .rule = rule, .reason_text = "" };
	struct nm_json j;
	struct nm_cidr rc;
	unsigned cg;

	event_time(f, (__s64)e->ts_ns + f->boot_to_real_ns, when, sizeof(when));
	nm_format_addr16(e->orig_addr, e->family, e->orig_port, dst, sizeof(dst));
	nm_format_addr16(e->new_addr, e->family == 4 && e->new_addr[2] == (__u32)htonl(0xffff) ? 4 : 6,
			 e->new_port, ndst, sizeof(ndst));
	if (event_rule(e, &rc)) {
		nm_format_cidr(&rc, rule, sizeof(rule));
		d.reason_text = rule_reason(f, e->policy_id, &rc);
	}
	memcpy(comm, e->comm, 16);
	comm[16] = 0;
	cg = cg_slot(f, e->cgroup_id);
	d.time = when;
	d.ts_ns = e->ts_ns;
	d.verdict = nm_verdict_name(e->verdict);
	d.hook = nm_hook_name(e->hook);
	d.proto = nm_proto_name(e->proto);
	d.family = e->family;
	d.mapped = e->mapped;
	d.dst = dst;
	d.new_dst = ndst;
	d.reason = nm_reason_name(e->reason);
	d.policy = policy_name(f, e->policy_id);
	d.policy_id = e->policy_id;
	d.cgroup_id = e->cgroup_id;
	d.cgroup = f->cg[cg].path;
	d.container = f->cg[cg].container;
	d.pid = e->pid;
	d.tid = e->tid;
	d.uid = e->uid;
	d.comm = comm;
	if (!f->json)
		return nm_evline_decision_text(buf, cap, &d);
	nm_json_init_buf(&j, buf, cap, f->pretty);
	nm_evline_decision(&j, &d);
	return nm_json_len(&j);
}
