// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "policy.h"
#include "err.h"
#include "tbuild.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

/* ---- tables --------------------------------------------------------- */

/* The live table of a policy for a family (an fd to close). */
static int inner_fd(const struct nm_maps *m, __u32 id, int family)
{
	struct nm_policy p;
	__u32 inner_id;
	int fd;

	if (nm_policy_get(m, id, &p))
		return nm_fail(NM_E_INPUT, -ENOENT, "unknown policy id %u", id);
	if (bpf_map_lookup_elem(family == 4 ? m->rules4 : m->rules6, &p.gen, &inner_id))
		return nm_fail(NM_E_RUNTIME, -errno, "policy '%s' has no IPv%d table: %s", p.name, family,
			       strerror(errno));
	fd = bpf_map_get_fd_by_id(inner_id);
	if (fd < 0)
		return nm_fail(NM_E_RUNTIME, -errno, "policy '%s' IPv%d table: %s", p.name, family, strerror(errno));
	return fd;
}

static int new_table(int family)
{
	LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = BPF_F_NO_PREALLOC);
	int fd;

	/* Must match nm_rules{4,6}_inner in bpf/lib/maps.h exactly. */
	fd = bpf_map_create(BPF_MAP_TYPE_LPM_TRIE, family == 4 ? "nm_rules4_t" : "nm_rules6_t",
			    family == 4 ? sizeof(struct nm_key4) : sizeof(struct nm_key6),
			    sizeof(struct nm_rule), NM_MAX_RULES, &o);
	if (fd < 0)
		return nm_fail(NM_E_RUNTIME, -errno, "cannot create an IPv%d rule table: %s", family,
			       strerror(errno));
	return fd;
}

static int free_id(const struct nm_maps *m, __u32 *id)
{
	for (__u32 i = 1; i < NM_MAX_POLICIES; i++) {
		struct nm_policy p;

		if (bpf_map_lookup_elem(m->policies, &i, &p) && errno == ENOENT) {
			*id = i;
			return 0;
		}
	}
	return nm_fail(NM_E_INPUT, -ENOSPC, "policy table full: at most %d policies", NM_MAX_POLICIES - 1);
}

static void zero_stats(const struct nm_maps *m, __u32 id)
{
	int ncpu = libbpf_num_possible_cpus();
	__u64 *zero;

	if (ncpu <= 0 || !(zero = calloc(ncpu, sizeof(__u64))))
		return;
	for (__u32 v = 0; v < NM_V__MAX; v++) {
		__u32 idx = id * NM_V__MAX + v;

		bpf_map_update_elem(m->stats, &idx, zero, BPF_ANY);
	}
	free(zero);
}

static void drop_reasons(const struct nm_maps *m, __u32 id);
static void prune_reasons(const struct nm_maps *m, __u32 id);
static void drop_tables(const struct nm_maps *m, __u32 gen);
static void set_reasons(const struct nm_maps *m, __u32 id, const struct nm_ruleset *rs);
static int fill_fresh(const char *name, int fd4, int fd6, const struct nm_ruleset *rs);
static int fill_live(const struct nm_maps *m, __u32 id, int fd4, int fd6, const struct nm_ruleset *rs);

/* New tables holding rules, installed at table slot gen (not yet live:
 * nothing names gen until a record does). */
static int build_tables(const struct nm_maps *m, __u32 gen, const struct nm_ruleset *rules,
			const char *name)
{
	int fd4, fd6, err = 0;

	fd4 = new_table(4);
	if (fd4 < 0)
		return fd4;
	fd6 = new_table(6);
	if (fd6 < 0) {
		close(fd4);
		return fd6;
	}
	if (rules)
		err = fill_fresh(name, fd4, fd6, rules);
	if (!err && (bpf_map_update_elem(m->rules4, &gen, &fd4, BPF_ANY) ||
		     bpf_map_update_elem(m->rules6, &gen, &fd6, BPF_ANY))) {
		err = nm_fail(NM_E_RUNTIME, -errno, "installing the tables of '%s': %s", name, strerror(errno));
		drop_tables(m, gen);
	}
	/* The outer maps hold their own references to the tables. */
	close(fd4);
	close(fd6);
	return err;
}

#define NM_DRAIN_BATCH  4096
#define NM_DRAIN_ROUNDS ((NM_MAX_RULES / NM_DRAIN_BATCH) + 2)
#define NM_DRAIN_PACE_US 1000

/*
 * Empty a table in batches before it is freed.  The kernel frees an LPM trie
 * in one go without yielding (about 0.3 s of one CPU for a million
 * prefixes); batched deletes yield between elements.  The deleted nodes are
 * freed in RCU callbacks, many in one go on the CPU that deleted them: a
 * pause between batches keeps those runs short (the longest connect on the
 * draining CPU went from 42 to about 20 ms for a million prefixes).
 * Kernels without batch operations on LPM tries skip this (and free in one
 * go).
 */
static void drain_table(int outer, __u32 gen, size_t ksz)
{
	LIBBPF_OPTS(bpf_map_batch_opts, o);
	struct timespec pace = { 0, NM_DRAIN_PACE_US * 1000L };
	void *keys = NULL, *vals = NULL;
	__u32 inner_id;
	int fd;

	if (bpf_map_lookup_elem(outer, &gen, &inner_id) || (fd = bpf_map_get_fd_by_id(inner_id)) < 0)
		return;
	keys = malloc(NM_DRAIN_BATCH * ksz);
	vals = malloc(NM_DRAIN_BATCH * sizeof(struct nm_rule));
	for (unsigned round = 0; keys && vals && round < NM_DRAIN_ROUNDS; round++) {
		char token[sizeof(struct nm_key6)];
		__u32 count = NM_DRAIN_BATCH;
		int err;

		/* Always from the start: what was read is deleted next. */
		err = bpf_map_lookup_batch(fd, NULL, token, keys, vals, &count, &o);
		if (count)
			bpf_map_delete_batch(fd, keys, &count, &o);
		if (err || !count)
			break; /* -ENOENT: the last batch; else not supported */
		nanosleep(&pace, NULL);
	}
	free(keys);
	free(vals);
	close(fd);
}

static void drop_tables(const struct nm_maps *m, __u32 gen)
{
	drain_table(m->rules4, gen, sizeof(struct nm_key4));
	drain_table(m->rules6, gen, sizeof(struct nm_key6));
	bpf_map_delete_elem(m->rules4, &gen);
	bpf_map_delete_elem(m->rules6, &gen);
}

int nm_policy_stage(const struct nm_maps *m, const struct nm_policy *p, const struct nm_ruleset *rules,
		    struct nm_staged *st)
{
	struct nm_policy old;
	int err;

	memset(st, 0, sizeof(*st));
	st->rec = *p;
	st->rules = rules;
	if (nm_policy_lookup(m, p->name, NULL, &old) == 0) {
		st->rec.id = old.id;
		st->old_gen = old.gen;
		st->rec.gen = NM_GEN(old.id, (old.gen & 1) ^ 1);
	} else {
		__u32 id;

		nm_err_clear();
		st->fresh = true;
		err = free_id(m, &id);
		if (err)
			return err;
		/* Reserve the id with a record the kernel treats as absent
		 * (in_use 0: fail closed), so later stagings get other ids. */
		memset(&old, 0, sizeof(old));
		old.id = id;
		snprintf(old.name, sizeof(old.name), "%s", p->name);
		old.check = nm_policy_sum(&old);
		if (bpf_map_update_elem(m->policies, &id, &old, BPF_NOEXIST))
			return nm_fail(NM_E_RUNTIME, -errno, "reserving an id for '%s': %s", p->name,
				       strerror(errno));
		drop_reasons(m, id); /* leftovers of an earlier policy with this id */
		zero_stats(m, id);
		st->rec.id = id;
		st->rec.gen = NM_GEN(id, 0);
	}
	st->rec.in_use = 1;
	/* A failure here leaves the live policy exactly as it was. */
	err = build_tables(m, st->rec.gen, rules, p->name);
	if (err && st->fresh)
		bpf_map_delete_elem(m->policies, &st->rec.id);
	return err;
}

void nm_policy_abort(const struct nm_maps *m, struct nm_staged *st)
{
	drop_tables(m, st->rec.gen);
	if (st->fresh)
		bpf_map_delete_elem(m->policies, &st->rec.id);
}

void nm_epoch_bump(const struct nm_maps *m)
{
	struct timespec ts;
	__u32 zero = 0;
	__u64 v;

	/* Any new value will do; the clock never repeats one. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	v = (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec;
	bpf_map_update_elem(m->epoch, &zero, &v, BPF_ANY);
}

int nm_policy_commit(const struct nm_maps *m, struct nm_staged *st)
{
	/* The swap: one RCU replacement of the record, settings and table
	 * slot together. */
	st->rec.check = nm_policy_sum(&st->rec);
	if (bpf_map_update_elem(m->policies, &st->rec.id, &st->rec, BPF_EXIST))
		return nm_fail(NM_E_RUNTIME, -errno, "making policy '%s' live: %s", st->rec.name, strerror(errno));
	st->committed = true;
	nm_epoch_bump(m);
	return 0;
}

void nm_policy_finish(const struct nm_maps *m, struct nm_staged *st, size_t n)
{
	struct timespec grace = { 0, NM_REPLACE_GRACE_MS * 1000000L };
	bool any_old = false;

	for (size_t i = 0; i < n; i++)
		any_old |= st[i].committed && !st[i].fresh;
	/* A connect that read an old record just before its swap may still
	 * look up the old tables: free them only after every such program
	 * has long finished (they run for microseconds). */
	if (any_old)
		nanosleep(&grace, NULL);
	for (size_t i = 0; i < n; i++) {
		if (!st[i].committed)
			continue;
		if (!st[i].fresh)
			drop_tables(m, st[i].old_gen);
		/* New reasons first, then the stale ones go: an event never
		 * finds a live rule without its reason. */
		if (st[i].rules)
			set_reasons(m, st[i].rec.id, st[i].rules);
		if (!st[i].fresh)
			prune_reasons(m, st[i].rec.id);
	}
}

/* Stage, commit and finish one policy. */
static int apply_one(const struct nm_maps *m, const struct nm_policy *p, const struct nm_ruleset *rules,
		     struct nm_staged *st)
{
	int err = nm_policy_stage(m, p, rules, st);

	if (err)
		return err;
	err = nm_policy_commit(m, st);
	if (err) {
		nm_policy_abort(m, st);
		return err;
	}
	nm_policy_finish(m, st, 1);
	return 0;
}

int nm_policy_create(const struct nm_maps *m, const struct nm_policy *p, const struct nm_ruleset *rules,
		     __u32 *id_out)
{
	struct nm_staged st;
	int err;

	if (nm_policy_lookup(m, p->name, NULL, NULL) == 0)
		return nm_fail(NM_E_INPUT, -EEXIST, "policy '%s' already exists", p->name);
	nm_err_clear();
	err = apply_one(m, p, rules, &st);
	if (!err)
		*id_out = st.rec.id;
	return err;
}

int nm_policy_replace(const struct nm_maps *m, const struct nm_policy *p, const struct nm_ruleset *rules)
{
	struct nm_staged st;

	if (nm_policy_lookup(m, p->name, NULL, NULL))
		return nm_fail(NM_E_INPUT, -ENOENT, "unknown policy '%s'", p->name);
	return apply_one(m, p, rules, &st);
}

int nm_policy_update(const struct nm_maps *m, const struct nm_policy *p)
{
	struct nm_policy old, rec = *p;

	if (nm_policy_get(m, p->id, &old))
		return nm_fail(NM_E_INPUT, -ENOENT, "unknown policy '%s'", p->name);
	/* One element replaced; sealed, so a program that reads it while its
	 * memory is being reused notices (see nm_policy_sum in nomoat.h). */
	rec.check = nm_policy_sum(&rec);
	if (bpf_map_update_elem(m->policies, &rec.id, &rec, BPF_EXIST))
		return nm_fail(NM_E_RUNTIME, -errno, "updating policy '%s': %s", p->name, strerror(errno));
	nm_epoch_bump(m);
	return 0;
}

struct bound_ctx {
	__u32 id;
	int n;
	__u64 first;
};

static int bound_cb(__u64 cg, __u32 pid, void *arg)
{
	struct bound_ctx *b = arg;

	if (pid == b->id && b->n++ == 0)
		b->first = cg;
	return 0;
}

int nm_policy_delete(const struct nm_maps *m, const char *name)
{
	struct bound_ctx b = { 0 };
	int err;

	err = nm_policy_lookup(m, name, &b.id, NULL);
	if (err)
		return err;
	nm_binding_foreach(m, bound_cb, &b);
	if (b.n)
		return nm_fail(NM_E_INPUT, -EBUSY,
			       "policy '%s' is bound to %d cgroup(s) (cgroup id %llu first): unbind them first",
			       name, b.n, (unsigned long long)b.first);
	/* Record first: from here the kernel fails closed for this id. */
	if (bpf_map_delete_elem(m->policies, &b.id))
		return nm_fail(NM_E_RUNTIME, -errno, "deleting policy '%s': %s", name, strerror(errno));
	nm_epoch_bump(m);
	drop_tables(m, NM_GEN(b.id, 0));
	drop_tables(m, NM_GEN(b.id, 1));
	drop_reasons(m, b.id);
	return 0;
}

/* ---- rules ------------------------------------------------------------- */

static void reason_key(__u32 policy_id, const struct nm_cidr *c, struct nm_reason_key *k)
{
	memset(k, 0, sizeof(*k));
	k->policy_id = policy_id;
	k->family = c->family;
	k->prefixlen = c->prefixlen;
	k->port = htons(c->port);
	memcpy(k->addr, c->addr, c->family == 4 ? 4 : 16);
}

static void set_reason(const struct nm_maps *m, __u32 policy_id, const struct nm_cidr *c, const char *reason)
{
	struct nm_reason_key k;
	struct nm_reason_text t = { 0 };

	reason_key(policy_id, c, &k);
	if (!reason || !*reason) {
		bpf_map_delete_elem(m->reasons, &k);
		return;
	}
	snprintf(t.text, sizeof(t.text), "%s", reason);
	/* A full reason table loses the text, never the rule. */
	bpf_map_update_elem(m->reasons, &k, &t, BPF_ANY);
}

void nm_rule_reason(const struct nm_maps *m, __u32 policy_id, const struct nm_cidr *c, char *buf, size_t len)
{
	struct nm_reason_key k;
	struct nm_reason_text t;

	reason_key(policy_id, c, &k);
	if (bpf_map_lookup_elem(m->reasons, &k, &t))
		t.text[0] = 0;
	t.text[sizeof(t.text) - 1] = 0;
	snprintf(buf, len, "%s", t.text);
}

/* Delete the reasons of policy id for which keep() says no (all without
 * keep). */
static void drop_reasons_if(const struct nm_maps *m, __u32 id,
			    bool (*keep)(const struct nm_reason_key *, void *), void *ctx)
{
	struct nm_reason_key k, next, *prev = NULL;

	/* Collect-then-delete would need memory; deleting the key just
	 * visited is safe when the walk restarts from it. */
	while (bpf_map_get_next_key(m->reasons, prev, &next) == 0) {
		if (next.policy_id == id && !(keep && keep(&next, ctx))) {
			bpf_map_delete_elem(m->reasons, &next);
			continue; /* prev unchanged: next key after prev again */
		}
		k = next;
		prev = &k;
	}
}

static void drop_reasons(const struct nm_maps *m, __u32 id)
{
	drop_reasons_if(m, id, NULL, NULL);
}

struct rule_kv {
	union {
		struct nm_key4 k4;
		struct nm_key6 k6;
	};
	struct nm_rule old;
	bool had_old;
};

static void make_key(const struct nm_cidr *c, struct rule_kv *kv);

/* Does the live table (fds[0] IPv4, fds[1] IPv6) hold the rule a reason
 * belongs to?  An LPM lookup gives the longest match: compare it. */
static bool reason_has_rule(const struct nm_reason_key *rk, void *arg)
{
	const int *fds = arg;
	struct nm_cidr c = { .family = rk->family, .prefixlen = rk->prefixlen, .port = ntohs(rk->port) };
	struct rule_kv kv;
	struct nm_rule r;
	int fd = rk->family == 4 ? fds[0] : fds[1];

	memcpy(c.addr, rk->addr, rk->family == 4 ? 4 : 16);
	make_key(&c, &kv);
	return fd >= 0 && bpf_map_lookup_elem(fd, &kv, &r) == 0 && r.prefixlen == c.prefixlen && r.port == rk->port;
}

/* After a swap: reasons of rules the new tables no longer hold go. */
static void prune_reasons(const struct nm_maps *m, __u32 id)
{
	int fds[2] = { inner_fd(m, id, 4), inner_fd(m, id, 6) };

	nm_err_clear();
	if (fds[0] >= 0 && fds[1] >= 0)
		drop_reasons_if(m, id, reason_has_rule, fds);
	for (int i = 0; i < 2; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

static void make_key(const struct nm_cidr *c, struct rule_kv *kv)
{
	memset(kv, 0, sizeof(*kv));
	if (c->family == 4)
		nm_cidr_to_key4(c, &kv->k4);
	else
		nm_cidr_to_key6(c, &kv->k6);
}

static int table_err(int err, const char *policy, const struct nm_cidr *c)
{
	char t[NM_CIDR_STRLEN];

	nm_format_cidr(c, t, sizeof(t));
	if (err == -ENOSPC || err == -E2BIG)
		return nm_fail(NM_E_INPUT, err, "'%s': the IPv%d table of policy '%s' is full (%u rules)", t,
			       c->family, policy, NM_MAX_RULES);
	return nm_fail(NM_E_RUNTIME, err, "'%s': %s", t, strerror(-err));
}

int nm_rule_add(const struct nm_maps *m, __u32 policy_id, const struct nm_rule_entry *e, __u8 *old_action)
{
	struct nm_policy p;
	struct nm_rule r, old;
	struct rule_kv kv;
	int fd, err = 0;

	if (nm_policy_get(m, policy_id, &p))
		return nm_fail(NM_E_INPUT, -ENOENT, "unknown policy id %u", policy_id);
	fd = inner_fd(m, policy_id, e->cidr.family);
	if (fd < 0)
		return fd;
	make_key(&e->cidr, &kv);
	nm_cidr_to_rule(&e->cidr, e->action, 0, &r);
	*old_action = bpf_map_lookup_elem(fd, &kv, &old) == 0 && old.prefixlen == e->cidr.prefixlen &&
				      old.port == r.port ? old.action : NM_ACT_NONE;
	if (bpf_map_update_elem(fd, &kv, &r, BPF_ANY))
		err = table_err(-errno, p.name, &e->cidr);
	else if (e->reason && *e->reason)
		set_reason(m, policy_id, &e->cidr, e->reason);
	close(fd);
	nm_epoch_bump(m);
	return err;
}

int nm_rule_del(const struct nm_maps *m, __u32 policy_id, const struct nm_cidr *c, __u8 action)
{
	char t[NM_CIDR_STRLEN];
	struct nm_policy p;
	struct nm_rule old;
	struct rule_kv kv;
	int fd, err = 0;

	if (nm_policy_get(m, policy_id, &p))
		return nm_fail(NM_E_INPUT, -ENOENT, "unknown policy id %u", policy_id);
	nm_format_cidr(c, t, sizeof(t));
	fd = inner_fd(m, policy_id, c->family);
	if (fd < 0)
		return fd;
	make_key(c, &kv);
	/* An LPM lookup returns the longest match: check it is this rule. */
	if (bpf_map_lookup_elem(fd, &kv, &old) || old.prefixlen != c->prefixlen || old.port != htons(c->port)) {
		err = nm_fail(NM_E_INPUT, -ENOENT, "'%s': no such rule in policy '%s'", t, p.name);
	} else if (action != NM_ACT_NONE && old.action != action) {
		err = nm_fail(NM_E_INPUT, -ENOENT, "'%s': the rule in policy '%s' is '%s', not '%s'", t, p.name,
			      nm_action_name(old.action), nm_action_name(action));
	} else if (bpf_map_delete_elem(fd, &kv)) {
		err = nm_fail(NM_E_RUNTIME, -errno, "'%s': %s", t, strerror(errno));
	} else {
		set_reason(m, policy_id, c, NULL);
	}
	close(fd);
	nm_epoch_bump(m);
	return err;
}

static void set_reasons(const struct nm_maps *m, __u32 id, const struct nm_ruleset *rs)
{
	/* Only rules that carry a reason touch the reason table: a rule
	 * replaced without one keeps what it had. */
	for (size_t i = 0; i < rs->n; i++)
		if (rs->v[i].reason && *rs->v[i].reason)
			set_reason(m, id, &rs->v[i].cidr, rs->v[i].reason);
}

#define NM_BATCH 4096 /* elements per bpf() call: the kernel yields between calls */

/* Write a batch: BPF_MAP_UPDATE_BATCH where the kernel offers it for LPM
 * tries, else one update per rule.  Returns 0 or -errno; *done counts. */
static int batch_write(int fd, const struct nm_tbatch *b, size_t *done)
{
	LIBBPF_OPTS(bpf_map_batch_opts, o, .elem_flags = BPF_ANY);
	bool batched = true;

	*done = 0;
	while (*done < b->n) {
		__u32 cnt = b->n - *done > NM_BATCH ? NM_BATCH : b->n - *done;
		const void *k = (const char *)b->keys + *done * b->ksz;
		int err = 0;

		if (batched) {
			err = bpf_map_update_batch(fd, k, &b->vals[*done], &cnt, &o);
			*done += cnt;
			if (!err)
				continue;
			err = -errno;
			if (cnt == 0 && *done == 0 && (err == -EINVAL || err == -ENOTSUP || err == -524 /* ENOTSUPP */)) {
				batched = false; /* older kernel: no batch ops on this map */
				continue;
			}
			return err;
		}
		if (bpf_map_update_elem(fd, k, &b->vals[*done], BPF_ANY))
			return -errno;
		(*done)++;
	}
	return 0;
}

/* Fill brand-new tables.  Nothing can see them yet, so a failure needs no
 * undo: the caller drops the tables.  Reasons are the caller's, once the
 * tables are live. */
static int fill_fresh(const char *name, int fd4, int fd6, const struct nm_ruleset *rs)
{
	int err = 0;

	for (int fam = 4; fam <= 6 && !err; fam += 2) {
		struct nm_tbatch b;
		size_t done;

		err = nm_tbatch_build(rs, fam, &b);
		if (err)
			return err;
		err = batch_write(fam == 4 ? fd4 : fd6, &b, &done);
		if (err) {
			struct nm_cidr c = { 0 };

			/* name the first rule that did not go in */
			if (fam == 4)
				nm_key4_to_cidr((const struct nm_key4 *)((char *)b.keys + done * b.ksz), &c);
			else
				nm_key6_to_cidr((const struct nm_key6 *)((char *)b.keys + done * b.ksz), &c);
			err = table_err(err, name, &c);
		}
		nm_tbatch_free(&b);
	}
	return err;
}

/* Write rs into live tables; on failure restore what was there. */
static int fill_live(const struct nm_maps *m, __u32 id, int fd4, int fd6, const struct nm_ruleset *rs)
{
	struct rule_kv *undo = calloc(rs->n ? rs->n : 1, sizeof(*undo));
	size_t i;
	int err = 0;

	if (!undo)
		return nm_fail(NM_E_RUNTIME, -ENOMEM, "out of memory");
	for (i = 0; i < rs->n; i++) {
		const struct nm_rule_entry *e = &rs->v[i];
		int fd = e->cidr.family == 4 ? fd4 : fd6;
		struct rule_kv *u = &undo[i];
		struct nm_rule r;

		make_key(&e->cidr, u);
		u->had_old = bpf_map_lookup_elem(fd, u, &u->old) == 0 && u->old.prefixlen == e->cidr.prefixlen &&
			     u->old.port == htons(e->cidr.port);
		nm_cidr_to_rule(&e->cidr, e->action, 0, &r);
		if (bpf_map_update_elem(fd, u, &r, BPF_ANY)) {
			struct nm_policy p = { 0 };

			nm_policy_get(m, id, &p);
			err = table_err(-errno, p.name[0] ? p.name : "?", &e->cidr);
			break;
		}
	}
	if (err) {
		/* Roll back, newest first so repeated targets end as before. */
		while (i-- > 0) {
			int fd = rs->v[i].cidr.family == 4 ? fd4 : fd6;

			if (undo[i].had_old)
				bpf_map_update_elem(fd, &undo[i], &undo[i].old, BPF_ANY);
			else
				bpf_map_delete_elem(fd, &undo[i]);
		}
	} else {
		set_reasons(m, id, rs);
	}
	free(undo);
	return err;
}

int nm_rule_import(const struct nm_maps *m, __u32 policy_id, const struct nm_ruleset *rs)
{
	struct nm_policy p;
	int fd4, fd6, err;

	if (nm_policy_get(m, policy_id, &p))
		return nm_fail(NM_E_INPUT, -ENOENT, "unknown policy id %u", policy_id);
	fd4 = inner_fd(m, policy_id, 4);
	if (fd4 < 0)
		return fd4;
	fd6 = inner_fd(m, policy_id, 6);
	if (fd6 < 0) {
		close(fd4);
		return fd6;
	}
	err = fill_live(m, policy_id, fd4, fd6, rs);
	close(fd4);
	close(fd6);
	nm_epoch_bump(m); /* also after a failure: its undo changed the table too */
	return err;
}

static int walk_table(const struct nm_maps *m, __u32 policy_id, int family,
		      int (*fn)(const struct nm_rule_entry *, void *), void *ctx)
{
	struct rule_kv cur, next;
	bool first = true;
	int fd, ret = 0;

	fd = inner_fd(m, policy_id, family);
	if (fd < 0)
		return fd;
	while (!ret && bpf_map_get_next_key(fd, first ? NULL : (void *)&cur, &next) == 0) {
		char reason[NM_REASON_LEN];
		struct nm_rule_entry e = { .reason = reason };
		struct nm_rule r;

		first = false;
		cur = next;
		if (bpf_map_lookup_elem(fd, &cur, &r))
			continue;
		if (family == 4)
			nm_key4_to_cidr(&cur.k4, &e.cidr);
		else
			nm_key6_to_cidr(&cur.k6, &e.cidr);
		e.action = r.action;
		nm_rule_reason(m, policy_id, &e.cidr, reason, sizeof(reason));
		ret = fn(&e, ctx);
	}
	close(fd);
	return ret;
}

int nm_rule_foreach(const struct nm_maps *m, __u32 policy_id, int (*fn)(const struct nm_rule_entry *, void *),
		    void *ctx)
{
	int ret = walk_table(m, policy_id, 4, fn, ctx);

	return ret ? ret : walk_table(m, policy_id, 6, fn, ctx);
}
