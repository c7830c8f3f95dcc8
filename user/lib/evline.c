// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The lines of the event stream (evline.h). */
#include "evline.h"

#include <stdio.h>
#include <string.h>

void nm_evline_decision(struct nm_json *j, const struct nm_decision *d)
{
	nm_json_obj(j, NULL);
	nm_json_str(j, "type", "decision");
	nm_json_str(j, "time", d->time);
	nm_json_u64(j, "ts_ns", d->ts_ns);
	nm_json_str(j, "verdict", d->verdict);
	nm_json_str(j, "hook", d->hook);
	nm_json_str(j, "proto", d->proto);
	nm_json_u64(j, "family", d->family);
	nm_json_bool(j, "mapped", d->mapped);
	nm_json_str(j, "dst", d->dst);
	nm_json_str(j, "new_dst", d->new_dst);
	nm_json_str(j, "rule", d->rule);
	nm_json_str(j, "reason", d->reason);
	nm_json_str(j, "reason_text", d->reason_text);
	nm_json_str(j, "policy", d->policy);
	nm_json_u64(j, "policy_id", d->policy_id);
	nm_json_u64(j, "cgroup_id", d->cgroup_id);
	nm_json_str(j, "cgroup", d->cgroup);
	nm_json_str(j, "container", d->container);
	nm_json_u64(j, "pid", d->pid);
	nm_json_u64(j, "tid", d->tid);
	nm_json_u64(j, "uid", d->uid);
	nm_json_str(j, "comm", d->comm);
	nm_json_obj_end(j);
	nm_json_done(j);
}

size_t nm_evline_decision_text(char *buf, size_t cap, const struct nm_decision *d)
{
	int n = snprintf(buf, cap, "%s %-14s %-8s %-3s %s%s%s%s %s%s%s policy=%s cgroup=%s pid=%u uid=%u comm=%s%s%s%s\n",
			 d->time, d->verdict, d->hook, d->proto, d->mapped ? "::ffff:" : "", d->dst,
			 strcmp(d->dst, d->new_dst) ? " -> " : "", strcmp(d->dst, d->new_dst) ? d->new_dst : "",
			 d->reason, d->rule[0] ? " " : "", d->rule, d->policy[0] ? d->policy : "-",
			 d->cgroup[0] ? d->cgroup : "?", d->pid, d->uid, d->comm[0] ? d->comm : "?",
			 d->reason_text[0] ? " (" : "", d->reason_text, d->reason_text[0] ? ")" : "");

	return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

void nm_evline_drops(struct nm_json *j, __u64 dropped, bool total_known, __u64 total, const char *reason)
{
	nm_json_obj(j, NULL);
	nm_json_str(j, "type", "drops");
	nm_json_u64(j, "events_dropped", dropped);
	if (total_known)
		nm_json_u64(j, "events_dropped_total", total);
	if (reason)
		nm_json_str(j, "reason", reason);
	nm_json_obj_end(j);
	nm_json_done(j);
}

void nm_evline_limited(struct nm_json *j, bool evicted, __u64 cgroup_id, __u64 limited)
{
	nm_json_obj(j, NULL);
	nm_json_str(j, "type", "limited");
	if (evicted)
		nm_json_null(j, "cgroup_id");
	else
		nm_json_u64(j, "cgroup_id", cgroup_id);
	nm_json_u64(j, "events_limited", limited);
	nm_json_obj_end(j);
	nm_json_done(j);
}

void nm_evline_pins(struct nm_json *j, const char *pin_dir, __u64 missing, __u64 restored, __u64 held)
{
	nm_json_obj(j, NULL);
	nm_json_str(j, "type", "pins");
	nm_json_str(j, "pin_dir", pin_dir);
	nm_json_u64(j, "missing", missing);
	nm_json_u64(j, "restored", restored);
	nm_json_u64(j, "held", held);
	nm_json_obj_end(j);
	nm_json_done(j);
}

void nm_evline_error(struct nm_json *j, const char *reason)
{
	nm_json_obj(j, NULL);
	nm_json_str(j, "type", "error");
	nm_json_str(j, "reason", reason);
	nm_json_obj_end(j);
	nm_json_done(j);
}
