// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Per-key token buckets in a fixed table with LRU eviction (ratelimit.h). */
#include "ratelimit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define NS_PER_SEC 1000000000ULL
#define NIL        (~(__u32)0)

/* Credit is kept in "event-nanoseconds": an event costs NS_PER_SEC, a
 * nanosecond earns `rate`, a full bucket holds rate * NS_PER_SEC.  All
 * integer, no rounding drift; fits in 64 bits for any 32-bit rate. */
struct nm_rl_ent {
	__u64 key;
	__u64 credit;
	__u64 last_ns;
	__u64 limited;    /* since the last report */
	__u32 prev, next; /* LRU list: prev is towards the head (newer) */
};

static __u32 hash64(__u64 k)
{
	/* splitmix64 finaliser */
	k ^= k >> 30;
	k *= 0xbf58476d1ce4e5b9ULL;
	k ^= k >> 27;
	k *= 0x94d049bb133111ebULL;
	k ^= k >> 31;
	return (__u32)k;
}

int nm_rl_init(struct nm_rl *rl, __u32 rate, __u32 capacity)
{
	__u32 nslots = 2;

	memset(rl, 0, sizeof(*rl));
	rl->lru_head = rl->lru_tail = NIL;
	rl->rate = rate;
	if (!capacity)
		capacity = NM_RL_DEFAULT_CAPACITY;
	if (capacity > NM_RL_MAX_CAPACITY)
		return -EINVAL;
	rl->capacity = capacity;
	if (!rate)
		return 0; /* unlimited: no table */
	while (nslots < 2 * capacity)
		nslots <<= 1;
	rl->mask = nslots - 1;
	rl->slots = calloc(nslots, sizeof(*rl->slots));
	rl->ents = calloc(capacity, sizeof(*rl->ents));
	if (!rl->slots || !rl->ents) {
		nm_rl_fini(rl);
		return -ENOMEM;
	}
	return 0;
}

void nm_rl_fini(struct nm_rl *rl)
{
	free(rl->slots);
	free(rl->ents);
	rl->slots = NULL;
	rl->ents = NULL;
	rl->used = 0;
}

/* ---- LRU list ------------------------------------------------------------ */

static void lru_unlink(struct nm_rl *rl, __u32 i)
{
	struct nm_rl_ent *e = &rl->ents[i];

	if (e->prev != NIL)
		rl->ents[e->prev].next = e->next;
	else
		rl->lru_head = e->next;
	if (e->next != NIL)
		rl->ents[e->next].prev = e->prev;
	else
		rl->lru_tail = e->prev;
	e->prev = e->next = NIL;
}

static void lru_push_head(struct nm_rl *rl, __u32 i)
{
	struct nm_rl_ent *e = &rl->ents[i];

	e->prev = NIL;
	e->next = rl->lru_head;
	if (rl->lru_head != NIL)
		rl->ents[rl->lru_head].prev = i;
	rl->lru_head = i;
	if (rl->lru_tail == NIL)
		rl->lru_tail = i;
}

/* ---- hash table ---------------------------------------------------------- */

/* The slot holding key, or the empty slot where it would go.  The table is
 * never more than half full, so an empty slot is always reached. */
static __u32 slot_of(const struct nm_rl *rl, __u64 key)
{
	__u32 s = hash64(key) & rl->mask;

	for (__u32 n = 0; n <= rl->mask; n++, s = (s + 1) & rl->mask) {
		__u32 v = rl->slots[s];

		if (!v || rl->ents[v - 1].key == key)
			return s;
	}
	return s; /* not reached */
}

/* Backward-shift deletion: close the gap so later probes still work. */
static void slot_clear(struct nm_rl *rl, __u32 hole)
{
	__u32 j = hole;

	for (__u32 n = 0; n < rl->mask; n++) {
		__u32 home, v;

		j = (j + 1) & rl->mask;
		v = rl->slots[j];
		if (!v)
			break;
		home = hash64(rl->ents[v - 1].key) & rl->mask;
		/* leave v where it is when its home lies cyclically in (hole, j] */
		if (((j - home) & rl->mask) < ((j - hole) & rl->mask))
			continue;
		rl->slots[hole] = v;
		hole = j;
	}
	rl->slots[hole] = 0;
}

/* An entry for a new key: a free one, or the least recently used. */
static __u32 ent_new(struct nm_rl *rl)
{
	__u32 i;

	if (rl->used < rl->capacity)
		return rl->used++;
	i = rl->lru_tail;
	lru_unlink(rl, i);
	slot_clear(rl, slot_of(rl, rl->ents[i].key));
	rl->evicted_limited += rl->ents[i].limited;
	rl->evictions++;
	return i;
}

static struct nm_rl_ent *lookup(struct nm_rl *rl, __u64 key, __u64 now_ns)
{
	__u32 s = slot_of(rl, key), i;
	struct nm_rl_ent *e;

	if (rl->slots[s]) {
		i = rl->slots[s] - 1;
		lru_unlink(rl, i);
		lru_push_head(rl, i);
		return &rl->ents[i];
	}
	i = ent_new(rl);
	s = slot_of(rl, key); /* eviction may have moved the empty slot */
	rl->slots[s] = i + 1;
	e = &rl->ents[i];
	e->key = key;
	e->credit = (__u64)rl->rate * NS_PER_SEC; /* a full bucket */
	e->last_ns = now_ns;
	e->limited = 0;
	lru_push_head(rl, i);
	return e;
}

static void refill(const struct nm_rl *rl, struct nm_rl_ent *e, __u64 now_ns)
{
	__u64 full = (__u64)rl->rate * NS_PER_SEC, dt;

	if (now_ns <= e->last_ns)
		return; /* no time passed (or the clock went back) */
	dt = now_ns - e->last_ns;
	e->last_ns = now_ns;
	if (dt >= NS_PER_SEC) {
		e->credit = full;
		return;
	}
	e->credit += dt * rl->rate;
	if (e->credit > full)
		e->credit = full;
}

bool nm_rl_allow(struct nm_rl *rl, __u64 key, __u64 now_ns)
{
	struct nm_rl_ent *e;

	if (!rl->rate || !rl->ents) {
		rl->allowed++;
		return true;
	}
	e = lookup(rl, key, now_ns);
	refill(rl, e, now_ns);
	if (e->credit >= NS_PER_SEC) {
		e->credit -= NS_PER_SEC;
		rl->allowed++;
		return true;
	}
	e->limited++;
	rl->limited++;
	return false;
}

size_t nm_rl_take_limited(struct nm_rl *rl, void (*fn)(__u64 key, __u64 n, void *ctx), void *ctx)
{
	size_t calls = 0;

	for (__u32 i = 0; i < rl->used; i++) {
		struct nm_rl_ent *e = &rl->ents[i];

		if (!e->limited)
			continue;
		fn(e->key, e->limited, ctx);
		e->limited = 0;
		calls++;
	}
	if (rl->evicted_limited) {
		fn(NM_RL_KEY_EVICTED, rl->evicted_limited, ctx);
		rl->evicted_limited = 0;
		calls++;
	}
	return calls;
}
