/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Policies, rules and bindings, written straight into the pinned maps (so
 * the CLI works with the daemon down).  Every call either does all it says
 * or changes nothing; errors name the bad word (see err.h).
 */
#ifndef NM_POLICY_H
#define NM_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include "nomoat.h"
#include "parse.h"
#include "pins.h"

/* The shipped default deny list, compiled in from policy/deny-defaults.rules. */
extern const char nm_deny_defaults[];

int nm_policy_lookup(const struct nm_maps *m, const char *name, __u32 *id, struct nm_policy *out);
int nm_policy_get(const struct nm_maps *m, __u32 id, struct nm_policy *out);
int nm_policy_foreach(const struct nm_maps *m, int (*fn)(const struct nm_policy *, void *), void *ctx);

struct nm_rule_entry {
	struct nm_cidr cidr;
	__u8 action;
	int line;     /* source line when parsed from text */
	char *reason; /* NULL or "": none; in a ruleset, owned by it */
};

struct nm_ruleset {
	struct nm_rule_entry *v;
	size_t n, cap;
};

/* Parse rule text ("ACTION TARGET [# reason]" a line, '#' comments, blank
 * lines).  Every error is reported as "ORIGIN:LINE: message"; on any error
 * nothing is returned.  Later lines win over earlier ones for one target. */
int nm_ruleset_parse(const char *text, const char *origin, struct nm_ruleset *rs);
int nm_ruleset_parse_file(const char *path, struct nm_ruleset *rs);
int nm_ruleset_add(struct nm_ruleset *rs, const struct nm_rule_entry *e);
void nm_ruleset_free(struct nm_ruleset *rs);

/* Create policy p->name with p's settings and the given initial rules (may
 * be NULL); the record becomes visible to the kernel only once its tables
 * are complete.  Returns the new id in *id. */
int nm_policy_create(const struct nm_maps *m, const struct nm_policy *p, const struct nm_ruleset *rules,
		     __u32 *id);
/* Applying several policies all or nothing, in two phases:
 *   stage  builds each policy's new tables aside (a new policy reserves an
 *          id with a record the kernel ignores); nothing visible changes;
 *   commit makes one staged policy live with a single record update;
 *   finish frees the replaced tables after the grace period, and sets the
 *          rule reasons; abort drops a staged policy that was not committed.
 * Stage everything first; if any stage fails, abort them all. */
struct nm_staged {
	struct nm_policy rec;             /* what commit writes (id, gen set) */
	__u32 old_gen;                    /* the slot live before */
	bool fresh;                       /* a new policy */
	bool committed;
	const struct nm_ruleset *rules;
};
int nm_policy_stage(const struct nm_maps *m, const struct nm_policy *p, const struct nm_ruleset *rules,
		    struct nm_staged *st);
int nm_policy_commit(const struct nm_maps *m, struct nm_staged *st);

/* Move the change epoch (nm_epoch in bpf/lib/maps.h): every function here
 * that changes a record, a table or a binding calls it afterwards, so the
 * packet backstop judges running TCP flows again.  Code that writes those
 * maps by itself must call it too. */
void nm_epoch_bump(const struct nm_maps *m);
void nm_policy_finish(const struct nm_maps *m, struct nm_staged *st, size_t n);
void nm_policy_abort(const struct nm_maps *m, struct nm_staged *st);

/* Replace a policy's settings and its whole rule table (rules may be NULL:
 * empty tables) as one atomic swap: new tables are built aside, then one
 * record update makes them and the settings live together; the old tables
 * are freed NM_REPLACE_GRACE_MS later.  On failure nothing changed. */
#define NM_REPLACE_GRACE_MS 50
int nm_policy_replace(const struct nm_maps *m, const struct nm_policy *p, const struct nm_ruleset *rules);
/* Replace a policy's settings (atomically for the kernel). */
int nm_policy_update(const struct nm_maps *m, const struct nm_policy *p);
/* Refused while a cgroup is bound to it. */
int nm_policy_delete(const struct nm_maps *m, const char *name);

/* Add or replace one rule; *old_action is NM_ACT_NONE if it was new.  A
 * rule given without a reason keeps the reason it had. */
int nm_rule_add(const struct nm_maps *m, __u32 policy_id, const struct nm_rule_entry *e, __u8 *old_action);
/* Delete one rule; with action != NM_ACT_NONE it must have that action. */
int nm_rule_del(const struct nm_maps *m, __u32 policy_id, const struct nm_cidr *c, __u8 action);
/* Apply a whole set: all rules or, on any failure, none (previous values
 * are restored). */
int nm_rule_import(const struct nm_maps *m, __u32 policy_id, const struct nm_ruleset *rs);
int nm_rule_foreach(const struct nm_maps *m, __u32 policy_id,
		    int (*fn)(const struct nm_rule_entry *, void *), void *ctx);
/* The reason text of a rule ("" if none). */
void nm_rule_reason(const struct nm_maps *m, __u32 policy_id, const struct nm_cidr *c, char *buf, size_t len);

int nm_bind(const struct nm_maps *m, __u64 cgroup_id, __u32 policy_id);
int nm_unbind(const struct nm_maps *m, __u64 cgroup_id);
int nm_binding_foreach(const struct nm_maps *m, int (*fn)(__u64 cgroup_id, __u32 policy_id, void *), void *ctx);

/* The decision user space reads from the same maps the kernel uses. */
struct nm_check {
	__u8 action;    /* NM_ACT_* after endpoint/DNS/redirect handling */
	__u8 verdict;   /* NM_V_* (audit mode gives would-*) */
	__u8 reason;    /* NM_R_* */
	bool has_rule;
	struct nm_cidr rule;
	__u32 new_addr[4]; /* redirect target (v4-mapped for IPv4) */
	__u16 new_port;    /* network order */
};
/* dst: a single address (prefixlen full) with dst->port the port (host
 * order, 0 allowed); proto IPPROTO_TCP or IPPROTO_UDP. */
int nm_check(const struct nm_maps *m, __u32 policy_id, const struct nm_cidr *dst, __u8 proto,
	     struct nm_check *out);
/* *out from a decision (include/nomoat_decide.h) about dst under a policy
 * of that mode: what nm_check reports, also for the kernel's answer. */
struct nm_decision;
struct nm_req;
void nm_check_set(struct nm_check *out, const struct nm_decision *d, const struct nm_cidr *dst, __u8 mode);
/* The request nm_check judges: dst as nm_parse_cidr gives it (one address,
 * the port in host order), proto IPPROTO_*. */
void nm_req_set(struct nm_req *rq, const struct nm_cidr *dst, __u8 proto);

#endif
