/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * synth.h - the names behind a policy's synthetic addresses (names
 * synthetic, user/lib/config.h): one table per policy, a file that
 * nomoat-dns maps read-write and nomoat-proxy maps read-only, so that a
 * mapping outlives either process (a client that cached an answer reaches
 * the same name after a restart of both) and means nothing in another
 * policy (another file).
 *
 * Slot i of the table holds one name; it stands for the i-th address of
 * the policy's IPv4 range and the i-th of its IPv6 range (slots 1 .. n-2:
 * never the first or last address).  A name keeps its slot: nomoat-dns
 * gives a slot to another name only when the table has no free slot and
 * the old name has not been handed out for at least the hold time
 * (nomoat-dns --synthetic-hold, far longer than any TTL it gives, so an
 * answer a client still holds keeps meaning the name it was given for; a
 * connection, once made, no longer needs its mapping).
 *
 * A slot is written under a sequence count (odd while it changes), so the
 * reader's copy is whole or read again.  One writer at a time: the file is
 * locked by nomoat-dns.
 */
#ifndef NM_SYNTH_H
#define NM_SYNTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hostname.h"
#include "parse.h"

#define NM_SYNTH_DIR_DEFAULT "/run/nomoat/names"
#define NM_SYNTH_MAX_SLOTS   65536
#define NM_SYNTH_VERSION     1

struct nm_synth_slot {
	uint32_t seq;                /* odd while the slot is written */
	uint32_t _pad;
	int64_t answered;            /* wall-clock seconds of the last answer with this slot */
	char name[NM_HOST_MAX + 1];  /* "" = free */
	uint8_t _pad2[2];
};

struct nm_synth_hdr {
	char magic[8];               /* "NMSYNTH1" */
	uint32_t version;
	uint32_t nslots;
	char policy[32];
	uint8_t net4[16], net6[16];  /* the ranges the file was made for */
	uint8_t len4, len6;
	uint8_t _pad[2];
	uint32_t hwm;                /* slots below it have been handed out; none above (so a
				      * table's pages are touched only as names come) */
};

struct nm_synth {
	int fd;
	bool writer;
	struct nm_synth_hdr *hdr;
	struct nm_synth_slot *slot;
	size_t map_len;
	uint32_t nslots;
	struct nm_cidr r4, r6;
	/* the writer's index: name -> slot, open addressing (0 = empty) */
	uint32_t *idx;
	uint32_t idx_cap;
	uint32_t used;
};

/* Slots a pair of ranges gives (at most NM_SYNTH_MAX_SLOTS). */
uint32_t nm_synth_slots(const struct nm_cidr *r4, const struct nm_cidr *r6);

/* Open <dir>/<policy>.names.  The writer makes the file (and dir) when it
 * is missing, or made for other ranges (then its names are dropped), and
 * locks it; the reader maps what is there and refuses a file made for
 * other ranges (-ESTALE).  0 or -errno. */
int nm_synth_open(struct nm_synth *t, const char *dir, const char *policy, const struct nm_cidr *r4,
		  const struct nm_cidr *r6, bool writer);
void nm_synth_close(struct nm_synth *t);

/* The writer: the slot of name (given one when it has none), marked as
 * answered at now (wall-clock seconds); a slot is taken from another name
 * only if that one was last answered more than hold seconds ago.  The
 * slot, or -ENOSPC. */
long nm_synth_assign(struct nm_synth *t, const char *name, int64_t now, int64_t hold);

/* The addresses of a slot (network order; 4 and 16 bytes). */
void nm_synth_addr4(const struct nm_synth *t, uint32_t slot, uint8_t out[4]);
void nm_synth_addr6(const struct nm_synth *t, uint32_t slot, uint8_t out[16]);

/* Is addr (family 4: 4 bytes, 6: 16) in the ranges?  Its slot in *slot. */
bool nm_synth_slot_of(const struct nm_synth *t, int family, const uint8_t *addr, uint32_t *slot);

/* The reader: the name in a slot (0), or -ENOENT (free, or never read
 * whole). */
int nm_synth_name(const struct nm_synth *t, uint32_t slot, char *name, size_t len);

#endif
