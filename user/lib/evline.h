/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * evline - the lines of nomoat's event stream: one function per type, the
 * one place that knows their fields (the README's "Events" section is the
 * contract).  The daemon, the CLI and the event server write every line
 * through these.  Each writes one complete JSON line (the closing newline
 * included) to a json writer (json.h), a stream or a buffer; compact unless
 * the writer is pretty.
 *
 *   decision  {"type":"decision","time":...,"ts_ns":N,"verdict":...,"hook":...,
 *              "proto":...,"family":N,"mapped":B,"dst":...,"new_dst":...,
 *              "rule":...,"reason":...,"reason_text":...,"policy":...,
 *              "policy_id":N,"cgroup_id":N,"cgroup":...,"container":...,
 *              "pid":N,"tid":N,"uid":N,"comm":...}
 *   drops     {"type":"drops","events_dropped":N[,"events_dropped_total":N][,"reason":...]}
 *   limited   {"type":"limited","cgroup_id":N|null,"events_limited":N}
 *   pins      {"type":"pins","pin_dir":...,"missing":N,"restored":N,"held":N}
 *   error     {"type":"error","reason":...}
 */
#ifndef NM_EVLINE_H
#define NM_EVLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include "json.h"

/* The longest decision line (JSON, compact or pretty, or text): every
 * string field is bounded (paths cached at 255 bytes, escaping at most 6
 * bytes a byte).  A bigger line is cut and not written. */
#define NM_EVLINE_MAX 8192

/* A decision with its names resolved (events.c makes it from the kernel's
 * struct nm_event).  Strings are never NULL. */
struct nm_decision {
	const char *time;        /* nm_iso_time() */
	__u64 ts_ns;
	const char *verdict, *hook, *proto;
	unsigned family;
	bool mapped;
	const char *dst, *new_dst;
	const char *rule;        /* "" for the default */
	const char *reason, *reason_text;
	const char *policy;      /* "" when unknown */
	__u32 policy_id;
	__u64 cgroup_id;
	const char *cgroup;      /* "" once gone */
	const char *container;
	__u32 pid, tid, uid;
	const char *comm;
};

void nm_evline_decision(struct nm_json *j, const struct nm_decision *d);
/* The one-line text form (`nomoat events` without -j) into buf: its length
 * (newline included), 0 if it did not fit. */
size_t nm_evline_decision_text(char *buf, size_t cap, const struct nm_decision *d);

/* Lost events: total (events_dropped_total) when total_known; reason
 * ("ring buffer full", "client too slow") unless NULL. */
void nm_evline_drops(struct nm_json *j, __u64 dropped, bool total_known, __u64 total, const char *reason);
/* Held back by the rate limit: for one cgroup, or (evicted) for cgroups
 * whose counters were evicted (cgroup_id null). */
void nm_evline_limited(struct nm_json *j, bool evicted, __u64 cgroup_id, __u64 limited);
void nm_evline_pins(struct nm_json *j, const char *pin_dir, __u64 missing, __u64 restored, __u64 held);
void nm_evline_error(struct nm_json *j, const char *reason);

/* One compact line into buf by one of the calls above, e.g.
 *     n = NM_EVLINE_BUF(buf, sizeof(buf), nm_evline_error, "too many clients");
 * the length, 0 if it did not fit. */
#define NM_EVLINE_BUF(buf, cap, fn, ...)                                                                \
	({                                                                                              \
		struct nm_json j__;                                                                     \
		nm_json_init_buf(&j__, (buf), (cap), false);                                             \
		fn(&j__, __VA_ARGS__);                                                                  \
		nm_json_len(&j__);                                                                      \
	})

#endif
