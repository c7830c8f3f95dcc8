// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* synth.c - the tables of synthetic names (synth.h). */
#include "synth.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAGIC    "NMSYNTH1"
#define SLOT_OFF 4096 /* the slots start a page in */

_Static_assert(sizeof(struct nm_synth_hdr) <= SLOT_OFF, "nm_synth_hdr");
_Static_assert(sizeof(struct nm_synth_slot) == 272, "nm_synth_slot");

uint32_t nm_synth_slots(const struct nm_cidr *r4, const struct nm_cidr *r6)
{
	int b4 = 32 - r4->prefixlen, b6 = 128 - r6->prefixlen;
	int bits = b4 < b6 ? b4 : b6;

	return bits >= 16 ? NM_SYNTH_MAX_SLOTS : (uint32_t)1 << bits;
}

static size_t file_len(uint32_t nslots)
{
	return SLOT_OFF + (size_t)nslots * sizeof(struct nm_synth_slot);
}

static bool hdr_ok(const struct nm_synth_hdr *h, const char *policy, const struct nm_cidr *r4,
		   const struct nm_cidr *r6, uint32_t nslots)
{
	return !memcmp(h->magic, MAGIC, 8) && h->version == NM_SYNTH_VERSION && h->nslots == nslots &&
	       !strncmp(h->policy, policy, sizeof(h->policy)) && !memcmp(h->net4, r4->addr, 16) &&
	       !memcmp(h->net6, r6->addr, 16) && h->len4 == r4->prefixlen && h->len6 == r6->prefixlen;
}

/* ---- the writer's index ------------------------------------------------ */

static uint32_t hash(const char *s)
{
	uint32_t h = 0x811c9dc5;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x01000193;
	}
	return h;
}

static uint32_t *idx_find(struct nm_synth *t, const char *name)
{
	uint32_t mask = t->idx_cap - 1;

	for (uint32_t i = hash(name) & mask;; i = (i + 1) & mask) {
		if (!t->idx[i] || !strcmp(t->slot[t->idx[i] - 1].name, name))
			return &t->idx[i];
	}
}

/* Linear probing without tombstones: close the gap by moving later
 * entries of the run back (Knuth, algorithm R). */
static void idx_del(struct nm_synth *t, uint32_t *e)
{
	uint32_t mask = t->idx_cap - 1, i = (uint32_t)(e - t->idx), j = i;

	t->idx[i] = 0;
	for (;;) {
		uint32_t k;

		j = (j + 1) & mask;
		if (!t->idx[j])
			return;
		k = hash(t->slot[t->idx[j] - 1].name) & mask;
		/* the entry at j may move to i when its home k is not in (i, j] */
		if ((i <= j) ? (k <= i || k > j) : (k <= i && k > j)) {
			t->idx[i] = t->idx[j];
			t->idx[j] = 0;
			i = j;
		}
	}
}

/* ---- slots ----------------------------------------------------------------- */

static void slot_write(struct nm_synth_slot *sl, const char *name, int64_t now)
{
	/* odd while written (already odd after a write cut short) */
	uint32_t s = __atomic_load_n(&sl->seq, __ATOMIC_RELAXED) | 1;
	size_t n = strlen(name);

	__atomic_store_n(&sl->seq, s, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	memset(sl->name, 0, sizeof(sl->name));
	memcpy(sl->name, name, n < NM_HOST_MAX ? n : NM_HOST_MAX);
	__atomic_store_n(&sl->answered, now, __ATOMIC_RELAXED);
	__atomic_store_n(&sl->seq, s + 1, __ATOMIC_RELEASE);
}

int nm_synth_open(struct nm_synth *t, const char *dir, const char *policy, const struct nm_cidr *r4,
		  const struct nm_cidr *r6, bool writer)
{
	char path[4096];
	struct stat st;
	/* (the slots only of ranges of the right families: no negative shift) */
	uint32_t nslots = r4->family == 4 && r6->family == 6 ? nm_synth_slots(r4, r6) : 0;
	size_t len = file_len(nslots);
	void *map;
	int err;

	memset(t, 0, sizeof(*t));
	t->fd = -1;
	if (r4->family != 4 || r6->family != 6 || nslots < 4)
		return -EINVAL;
	if (snprintf(path, sizeof(path), "%s/%s.names", dir, policy) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	if (writer && mkdir(dir, 0755) && errno != EEXIST)
		return -errno;
	t->fd = open(path, writer ? O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW : O_RDONLY | O_CLOEXEC | O_NOFOLLOW,
		     0644);
	if (t->fd < 0)
		return -errno;
	if (writer && flock(t->fd, LOCK_EX | LOCK_NB)) {
		err = errno == EWOULDBLOCK ? -EBUSY : -errno;
		goto fail;
	}
	if (fstat(t->fd, &st)) {
		err = -errno;
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		err = -EINVAL;
		goto fail;
	}
	if (writer) {
		struct nm_synth_hdr h;

		/* not made for these ranges (or new): start empty, sparse.  A
		 * file that was there is replaced, never cut under a reader
		 * that maps it (it would fault): the reader keeps the old one
		 * until it opens the table again. */
		if ((size_t)st.st_size != len || pread(t->fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h) ||
		    !hdr_ok(&h, policy, r4, r6, nslots)) {
			char fresh[4200];
			int nfd;

			snprintf(fresh, sizeof(fresh), "%s.new", path);
			unlink(fresh); /* left by a crash */
			nfd = open(fresh, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
			if (nfd < 0 || flock(nfd, LOCK_EX | LOCK_NB) || ftruncate(nfd, (off_t)len) ||
			    rename(fresh, path)) {
				err = -errno;
				if (nfd >= 0) {
					close(nfd);
					unlink(fresh);
				}
				goto fail;
			}
			close(t->fd);
			t->fd = nfd;
		}
	} else if ((size_t)st.st_size != len) {
		err = -ESTALE;
		goto fail;
	}
	map = mmap(NULL, len, writer ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED, t->fd, 0);
	if (map == MAP_FAILED) {
		err = -errno;
		goto fail;
	}
	t->hdr = map;
	t->slot = (struct nm_synth_slot *)((char *)map + SLOT_OFF);
	t->map_len = len;
	t->nslots = nslots;
	t->r4 = *r4;
	t->r6 = *r6;
	t->writer = writer;
	if (!hdr_ok(t->hdr, policy, r4, r6, nslots)) {
		struct nm_synth_hdr h = { .version = NM_SYNTH_VERSION, .nslots = nslots, .hwm = 1 };

		if (!writer) {
			err = -ESTALE;
			goto fail;
		}
		/* the file is all zero here: the header, its magic last */
		snprintf(h.policy, sizeof(h.policy), "%s", policy);
		memcpy(h.net4, r4->addr, 16);
		memcpy(h.net6, r6->addr, 16);
		h.len4 = r4->prefixlen;
		h.len6 = r6->prefixlen;
		memcpy((char *)t->hdr + 8, (char *)&h + 8, sizeof(h) - 8);
		__atomic_thread_fence(__ATOMIC_RELEASE);
		memcpy(t->hdr->magic, MAGIC, 8);
	}
	if (!writer)
		return 0;
	for (t->idx_cap = 1; t->idx_cap < 2 * nslots; t->idx_cap <<= 1)
		;
	t->idx = calloc(t->idx_cap, sizeof(*t->idx));
	if (!t->idx) {
		err = -ENOMEM;
		goto fail;
	}
	if (t->hdr->hwm < 1 || t->hdr->hwm > nslots - 1)
		t->hdr->hwm = nslots - 1;
	for (uint32_t s = 1; s < t->hdr->hwm; s++) {
		struct nm_synth_slot *sl = &t->slot[s];
		uint32_t *e;

		sl->name[NM_HOST_MAX] = 0;
		if (sl->seq & 1) /* a write cut short by a crash: the slot is free */
			slot_write(sl, "", 0);
		if (!sl->name[0])
			continue;
		e = idx_find(t, sl->name);
		if (*e) /* the same name twice (cannot be written so): keep one */
			slot_write(sl, "", 0);
		else {
			*e = s + 1;
			t->used++;
		}
	}
	return 0;
fail:
	nm_synth_close(t);
	return err;
}

void nm_synth_close(struct nm_synth *t)
{
	if (t->hdr)
		munmap(t->hdr, t->map_len);
	if (t->fd >= 0)
		close(t->fd);
	free(t->idx);
	memset(t, 0, sizeof(*t));
	t->fd = -1;
}

long nm_synth_assign(struct nm_synth *t, const char *name, int64_t now, int64_t hold)
{
	uint32_t *e, usable, s, best = 0;
	int64_t oldest = 0;

	if (!t->writer || !name[0] || strlen(name) > NM_HOST_MAX)
		return -EINVAL;
	e = idx_find(t, name);
	if (*e) {
		__atomic_store_n(&t->slot[*e - 1].answered, now, __ATOMIC_RELAXED);
		return *e - 1;
	}
	usable = t->nslots - 2;
	if (t->hdr->hwm <= usable) {
		/* a slot never handed out */
		best = t->hdr->hwm;
	} else {
		/* all were: the least recently answered (a free one, answered
		 * 0, first), if it is old enough */
		for (s = 1; s <= usable; s++) {
			int64_t a = __atomic_load_n(&t->slot[s].answered, __ATOMIC_RELAXED);

			if (!best || a < oldest) {
				best = s;
				oldest = a;
			}
		}
		if (!best || (t->slot[best].name[0] && now - oldest <= hold))
			return -ENOSPC;
		if (t->slot[best].name[0]) {
			idx_del(t, idx_find(t, t->slot[best].name));
			t->used--;
		}
	}
	slot_write(&t->slot[best], name, now);
	*idx_find(t, name) = best + 1;
	t->used++;
	if (best == t->hdr->hwm)
		__atomic_store_n(&t->hdr->hwm, best + 1, __ATOMIC_RELEASE);
	return best;
}

static void add_be(uint8_t *p, size_t n, uint32_t v)
{
	for (size_t i = n; i-- > 0 && v;) {
		uint32_t x = p[i] + (v & 0xff);

		p[i] = (uint8_t)x;
		v = (v >> 8) + (x >> 8);
	}
}

void nm_synth_addr4(const struct nm_synth *t, uint32_t slot, uint8_t out[4])
{
	memcpy(out, t->r4.addr, 4);
	add_be(out, 4, slot);
}

void nm_synth_addr6(const struct nm_synth *t, uint32_t slot, uint8_t out[16])
{
	memcpy(out, t->r6.addr, 16);
	add_be(out, 16, slot);
}

bool nm_synth_slot_of(const struct nm_synth *t, int family, const uint8_t *addr, uint32_t *slot)
{
	const uint8_t *net = family == 4 ? t->r4.addr : t->r6.addr;
	size_t n = family == 4 ? 4 : 16;
	uint32_t off;

	if (!t->hdr)
		return false;
	/* every byte above the last four as in the range (its host bits
	 * there are zero: slots reach at most 16 bits) */
	if (memcmp(addr, net, n - 4))
		return false;
	off = ((uint32_t)addr[n - 4] << 24 | (uint32_t)addr[n - 3] << 16 | (uint32_t)addr[n - 2] << 8 | addr[n - 1]) -
	      ((uint32_t)net[n - 4] << 24 | (uint32_t)net[n - 3] << 16 | (uint32_t)net[n - 2] << 8 | net[n - 1]);
	if (off < 1 || off >= t->nslots - 1) /* (off + 1 wraps for the address below the range) */
		return false;
	*slot = off;
	return true;
}

int nm_synth_name(const struct nm_synth *t, uint32_t slot, char *name, size_t len)
{
	const struct nm_synth_slot *sl;

	if (!t->hdr || slot < 1 || slot >= t->nslots - 1 || !len)
		return -ENOENT;
	sl = &t->slot[slot];
	for (int tries = 0; tries < 16; tries++) {
		char buf[NM_HOST_MAX + 1];
		uint32_t s1 = __atomic_load_n(&sl->seq, __ATOMIC_ACQUIRE), s2;

		if (s1 & 1)
			continue;
		memcpy(buf, sl->name, sizeof(buf));
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		s2 = __atomic_load_n(&sl->seq, __ATOMIC_RELAXED);
		if (s1 != s2)
			continue;
		buf[NM_HOST_MAX] = 0;
		if (!buf[0] || strlen(buf) >= len)
			return -ENOENT;
		memcpy(name, buf, strlen(buf) + 1);
		return 0;
	}
	return -ENOENT;
}
