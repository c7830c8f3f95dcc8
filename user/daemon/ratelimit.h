/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A per-key token bucket for the event stream (key: a cgroup id).
 *
 * Each key gets a bucket of `rate` tokens that refills at `rate` tokens a
 * second; an event takes one token, or is limited when the bucket is empty.
 * A key seen for the first time starts with a full bucket (a burst of
 * `rate`).  rate 0 means unlimited: every event is allowed and nothing is
 * stored.
 *
 * Memory is fixed at init: at most `capacity` keys (default 4096) in an
 * open-addressing table (linear probing, twice the capacity in slots,
 * backward-shift deletion); a new key beyond that evicts the least recently
 * used one.  Time is passed in (nanoseconds, any monotonic clock), so tests
 * are deterministic; time going backwards counts as no time passing.
 *
 * Limited events are counted per key until nm_rl_take_limited() reports and
 * resets them.  The counts of keys evicted before their report are summed
 * and reported under the key NM_RL_KEY_EVICTED, so no count is lost.
 *
 * Single-threaded; no call blocks or allocates after nm_rl_init().
 */
#ifndef NM_RATELIMIT_H
#define NM_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#define NM_RL_DEFAULT_CAPACITY 4096u
#define NM_RL_MAX_CAPACITY     (1u << 20)
/* Reported by nm_rl_take_limited() for keys evicted with counts pending. */
#define NM_RL_KEY_EVICTED      (~(__u64)0)

struct nm_rl_ent;

struct nm_rl {
	__u32 rate;       /* events per second and burst; 0 = unlimited */
	__u32 capacity;   /* keys kept */
	__u32 used;       /* keys now in the table */
	__u32 mask;       /* slots - 1 */
	__u32 *slots;     /* entry index + 1; 0 = empty */
	struct nm_rl_ent *ents;
	__u32 lru_head;   /* most recently used entry (index), or none */
	__u32 lru_tail;   /* least recently used entry (index), or none */
	__u64 evicted_limited; /* counts of evicted keys, not yet reported */
	__u64 allowed;    /* totals since init */
	__u64 limited;
	__u64 evictions;
};

/* Set up a limiter of `rate` events/s (burst `rate`; 0 = unlimited) for up
 * to `capacity` keys (0 = NM_RL_DEFAULT_CAPACITY).  Returns 0, -EINVAL
 * (capacity above NM_RL_MAX_CAPACITY) or -ENOMEM. */
int nm_rl_init(struct nm_rl *rl, __u32 rate, __u32 capacity);
void nm_rl_fini(struct nm_rl *rl);

/* May an event of `key` at time `now_ns` pass?  Counts it either way. */
bool nm_rl_allow(struct nm_rl *rl, __u64 key, __u64 now_ns);

/* Call fn(key, n, ctx) for every key with n > 0 events limited since the
 * last call (in no particular order; NM_RL_KEY_EVICTED last, for evicted
 * keys), reset those counts, and return how many calls were made. */
size_t nm_rl_take_limited(struct nm_rl *rl, void (*fn)(__u64 key, __u64 n, void *ctx), void *ctx);

#endif
