// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unit tests for user/lib/synth.c, the tables of synthetic names: slots of
 * a pair of ranges, the writer's file and its slots, addresses and back,
 * the reader, persistence across a reopen, files made for other ranges or
 * another policy or of the wrong length, one writer at a time, a full
 * table and the hold time, recovery of slots cut short, a reader racing
 * the writer, and a random run against a model (cmocka).  Every test works
 * in its own directory under /tmp and removes it. */
#include <arpa/inet.h>
#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "parse.h"
#include "synth.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static struct nm_cidr cidr(const char *s)
{
	struct nm_cidr c;
	char err[128];

	if (nm_parse_cidr(s, &c, err, sizeof(err)))
		fail_msg("'%s': %s", s, err);
	return c;
}

/* ---- a fixture: a temporary directory, its names dir, the ranges ---------- */

struct fx {
	char top[64];     /* /tmp/nm-synth-XXXXXX */
	char dir[128];    /* top/names: made by the writer */
	char path[192];   /* dir/agents.names */
	struct nm_cidr r4, r6;
};

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	snprintf(f->top, sizeof(f->top), "/tmp/nm-synth-XXXXXX");
	if (!mkdtemp(f->top)) {
		free(f);
		return -1;
	}
	snprintf(f->dir, sizeof(f->dir), "%s/names", f->top);
	snprintf(f->path, sizeof(f->path), "%s/agents.names", f->dir);
	f->r4 = cidr("100.64.0.0/24");
	f->r6 = cidr("fd00:6e6d::/120");
	*state = f;
	return 0;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;
	int r = nftw(f->top, rm_one, 16, FTW_DEPTH | FTW_PHYS);

	free(f);
	return r;
}

static void open_ok(struct nm_synth *t, const struct fx *f, bool writer)
{
	int r = nm_synth_open(t, f->dir, "agents", &f->r4, &f->r6, writer);

	if (r)
		fail_msg("nm_synth_open(%s): %s", writer ? "writer" : "reader", strerror(-r));
}

static void expect_name(const struct nm_synth *t, uint32_t slot, const char *want)
{
	char name[NM_HOST_MAX + 1];
	int r = nm_synth_name(t, slot, name, sizeof(name));

	if (!want) {
		if (r != -ENOENT)
			fail_msg("slot %u: %d '%s', want -ENOENT", slot, r, r ? "" : name);
		return;
	}
	if (r)
		fail_msg("slot %u: %d, want '%s'", slot, r, want);
	assert_string_equal(name, want);
}

/* ---- tests ---------------------------------------------------------------- */

static void test_slots(void **state)
{
	static const struct {
		const char *r4, *r6;
		uint32_t want;
	} t[] = {
		{ "100.64.0.0/24", "fd00::/120", 256 },   { "100.64.0.0/24", "fd00::/64", 256 },
		{ "100.64.0.0/16", "fd00::/120", 256 },   { "100.64.0.0/16", "fd00::/112", 65536 },
		{ "100.64.0.0/10", "fd00::/64", 65536 },  { "0.0.0.0/0", "::/0", 65536 },
		{ "100.64.0.0/20", "fd00::/100", 4096 },  { "100.64.0.0/17", "fd00::/64", 32768 },
		{ "100.64.0.0/30", "fd00::/64", 4 },      { "100.64.0.0/24", "fd00::/126", 4 },
		{ "100.64.0.0/31", "fd00::/64", 2 },      { "100.64.0.1", "fd00::/64", 1 },
		{ "100.64.0.0/24", "fd00::1", 1 },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		struct nm_cidr r4 = cidr(t[i].r4), r6 = cidr(t[i].r6);
		uint32_t n = nm_synth_slots(&r4, &r6);

		if (n != t[i].want)
			fail_msg("%s %s: %u slots, want %u", t[i].r4, t[i].r6, n, t[i].want);
	}
}

static void test_assign(void **state)
{
	struct fx *f = *state;
	char toolong[NM_HOST_MAX + 2];
	struct nm_synth w;
	struct stat st;

	open_ok(&w, f, true);
	/* the directory and the file, sparse, of its full length */
	assert_int_equal(stat(f->path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_size, 4096 + 256 * sizeof(struct nm_synth_slot));
	assert_int_equal(w.nslots, 256);
	assert_memory_equal(w.hdr->magic, "NMSYNTH1", 8);
	assert_int_equal(w.hdr->version, NM_SYNTH_VERSION);
	assert_string_equal(w.hdr->policy, "agents");

	assert_int_equal(nm_synth_assign(&w, "a.example", 1000, 3600), 1);
	assert_int_equal(nm_synth_assign(&w, "b.example", 1001, 3600), 2);
	assert_int_equal(nm_synth_assign(&w, "c.example", 1002, 3600), 3);
	assert_int_equal(nm_synth_assign(&w, "a.example", 1003, 3600), 1);
	assert_int_equal(nm_synth_assign(&w, "c.example", 1004, 3600), 3);
	assert_int_equal(nm_synth_assign(&w, "d.example", 1005, 3600), 4);
	assert_int_equal(w.used, 4);
	/* answered: the last answer's time */
	assert_int_equal(w.slot[1].answered, 1003);
	assert_int_equal(w.slot[2].answered, 1001);
	assert_int_equal(w.slot[3].answered, 1004);

	/* names that never get a slot */
	memset(toolong, 'a', sizeof(toolong) - 1);
	toolong[sizeof(toolong) - 1] = 0;
	assert_int_equal(nm_synth_assign(&w, "", 1006, 3600), -EINVAL);
	assert_int_equal(nm_synth_assign(&w, toolong, 1006, 3600), -EINVAL);
	toolong[NM_HOST_MAX] = 0; /* 253: the longest name */
	assert_int_equal(nm_synth_assign(&w, toolong, 1006, 3600), 5);
	expect_name(&w, 5, toolong);
	expect_name(&w, 1, "a.example");
	expect_name(&w, 6, NULL);
	nm_synth_close(&w);
	assert_int_equal(w.fd, -1);
	assert_null(w.hdr);
}

static void test_addresses(void **state)
{
	struct fx *f = *state;
	static const struct {
		const char *addr;
		bool in;
		uint32_t slot;
	} t[] = {
		{ "100.64.0.1", true, 1 },       { "100.64.0.2", true, 2 },
		{ "100.64.0.254", true, 254 },   { "100.64.0.0", false, 0 },
		{ "100.64.0.255", false, 0 },    { "100.64.1.1", false, 0 },
		{ "100.63.255.255", false, 0 },  { "100.63.255.254", false, 0 },
		{ "100.65.0.1", false, 0 },      { "10.0.0.1", false, 0 },
		{ "0.0.0.0", false, 0 },         { "255.255.255.255", false, 0 },
		{ "fd00:6e6d::1", true, 1 },     { "fd00:6e6d::fe", true, 254 },
		{ "fd00:6e6d::80", true, 128 },  { "fd00:6e6d::", false, 0 },
		{ "fd00:6e6d::ff", false, 0 },   { "fd00:6e6d::100", false, 0 },
		{ "fd00:6e6d::1:1", false, 0 },  { "fd00:6e6c:ffff:ffff:ffff:ffff:ffff:ffff", false, 0 },
		{ "fd00:6e6d:0:0:0:0:ffff:ffff", false, 0 }, { "fd00:6e6e::1", false, 0 },
		{ "fd01:6e6d::1", false, 0 },    { "::1", false, 0 },
	};
	struct nm_synth w;
	uint8_t a4[4], a6[16];

	open_ok(&w, f, true);
	nm_synth_addr4(&w, 1, a4);
	assert_memory_equal(a4, "\x64\x40\x00\x01", 4);
	nm_synth_addr4(&w, 254, a4);
	assert_memory_equal(a4, "\x64\x40\x00\xfe", 4);
	nm_synth_addr6(&w, 1, a6);
	assert_memory_equal(a6, "\xfd\x00\x6e\x6d\0\0\0\0\0\0\0\0\0\0\0\x01", 16);
	nm_synth_addr6(&w, 254, a6);
	assert_memory_equal(a6, "\xfd\x00\x6e\x6d\0\0\0\0\0\0\0\0\0\0\0\xfe", 16);

	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		int family = strchr(t[i].addr, ':') ? 6 : 4;
		uint8_t a[16];
		uint32_t slot = 0xdead;
		bool in;

		assert_int_equal(inet_pton(family == 4 ? AF_INET : AF_INET6, t[i].addr, a), 1);
		in = nm_synth_slot_of(&w, family, a, &slot);
		if (in != t[i].in || (in && slot != t[i].slot))
			fail_msg("%s: %s slot %u, want %s %u", t[i].addr, in ? "in" : "out", slot,
				 t[i].in ? "in" : "out", t[i].slot);
		/* out: *slot untouched */
		if (!in)
			assert_int_equal(slot, 0xdead);
	}
	/* every slot there and back */
	for (uint32_t s = 1; s < w.nslots - 1; s++) {
		uint32_t back4 = 0, back6 = 0;

		nm_synth_addr4(&w, s, a4);
		nm_synth_addr6(&w, s, a6);
		assert_true(nm_synth_slot_of(&w, 4, a4, &back4));
		assert_true(nm_synth_slot_of(&w, 6, a6, &back6));
		assert_int_equal(back4, s);
		assert_int_equal(back6, s);
	}
	nm_synth_close(&w);
	/* a closed table knows no address */
	{
		uint32_t s;
		uint8_t in4[4] = { 100, 64, 0, 1 };

		assert_false(nm_synth_slot_of(&w, 4, in4, &s));
	}
}

/* Ranges where slots carry into the next byte, and a range that is wider
 * than its slots. */
static void test_addresses_wide(void **state)
{
	struct fx *f = *state;
	struct nm_synth w;
	uint8_t a4[4], a6[16], b4[4], b6[16];
	uint32_t s;

	f->r4 = cidr("100.64.0.0/16");
	f->r6 = cidr("fd00:6e6d::1:0/112");
	open_ok(&w, f, true);
	assert_int_equal(w.nslots, 65536);
	nm_synth_addr4(&w, 256, a4);
	assert_memory_equal(a4, "\x64\x40\x01\x00", 4);
	nm_synth_addr4(&w, 65534, a4);
	assert_memory_equal(a4, "\x64\x40\xff\xfe", 4);
	nm_synth_addr6(&w, 0x1234, a6);
	assert_memory_equal(a6, "\xfd\x00\x6e\x6d\0\0\0\0\0\0\0\0\0\x01\x12\x34", 16);
	assert_true(nm_synth_slot_of(&w, 4, a4, &s));
	assert_int_equal(s, 65534);
	assert_true(nm_synth_slot_of(&w, 6, a6, &s));
	assert_int_equal(s, 0x1234);
	memcpy(b4, "\x64\x40\xff\xff", 4);
	assert_false(nm_synth_slot_of(&w, 4, b4, &s));
	memcpy(b4, "\x64\x3f\xff\xff", 4); /* just below the range */
	assert_false(nm_synth_slot_of(&w, 4, b4, &s));
	memcpy(b6, a6, 16);
	b6[13] = 0; /* fd00:6e6d::1234, below the range */
	assert_false(nm_synth_slot_of(&w, 6, b6, &s));
	b6[13] = 2; /* fd00:6e6d::2:1234, above */
	assert_false(nm_synth_slot_of(&w, 6, b6, &s));
	memcpy(b6 + 12, "\0\0\xff\xff", 4); /* fd00:6e6d::ffff, just below */
	assert_false(nm_synth_slot_of(&w, 6, b6, &s));
	memcpy(b6 + 12, "\0\x01\0\x01", 4); /* the first slot */
	assert_true(nm_synth_slot_of(&w, 6, b6, &s));
	assert_int_equal(s, 1);
	nm_synth_close(&w);

	/* the IPv4 range is wider than the slots (the IPv6 one has 256) */
	f->r4 = cidr("100.64.0.0/16");
	f->r6 = cidr("fd00:6e6d::/120");
	open_ok(&w, f, true);
	assert_int_equal(w.nslots, 256);
	memcpy(b4, "\x64\x40\x01\x01", 4);
	assert_false(nm_synth_slot_of(&w, 4, b4, &s));
	memcpy(b4, "\x64\x40\x00\xff", 4);
	assert_false(nm_synth_slot_of(&w, 4, b4, &s));
	memcpy(b4, "\x64\x40\x00\xfe", 4);
	assert_true(nm_synth_slot_of(&w, 4, b4, &s));
	assert_int_equal(s, 254);
	nm_synth_close(&w);
}

static void test_reader(void **state)
{
	struct fx *f = *state;
	struct nm_synth w, r;
	char small[4];

	open_ok(&w, f, true);
	assert_int_equal(nm_synth_assign(&w, "pypi.org", 10, 100), 1);
	assert_int_equal(nm_synth_assign(&w, "files.pythonhosted.org", 10, 100), 2);
	open_ok(&r, f, false);
	assert_false(r.writer);
	expect_name(&r, 1, "pypi.org");
	expect_name(&r, 2, "files.pythonhosted.org");
	expect_name(&r, 3, NULL);
	/* a name given while the reader has the file open */
	assert_int_equal(nm_synth_assign(&w, "github.com", 11, 100), 3);
	expect_name(&r, 3, "github.com");
	/* slots that are never names: the first, the last, past the end */
	memcpy(w.slot[0].name, "zero", 5);     /* (never written so: the first */
	memcpy(w.slot[255].name, "last", 5);   /* and last slots are no names) */
	expect_name(&r, 0, NULL);
	expect_name(&r, 255, NULL);
	expect_name(&r, 256, NULL);
	expect_name(&r, 0xffffffffu, NULL);
	expect_name(&r, 0x80000000u, NULL);
	/* a buffer too small for the name */
	assert_int_equal(nm_synth_name(&r, 1, small, sizeof(small)), -ENOENT);
	{
		char *exact = malloc(9); /* "pypi.org" and its NUL, not one byte less */

		assert_non_null(exact);
		assert_int_equal(nm_synth_name(&r, 1, exact, 8), -ENOENT);
		assert_int_equal(nm_synth_name(&r, 1, exact, 9), 0);
		assert_string_equal(exact, "pypi.org");
		free(exact);
	}
	assert_int_equal(nm_synth_name(&r, 1, small, 0), -ENOENT);
	/* the reader cannot write */
	assert_int_equal(nm_synth_assign(&r, "x.example", 12, 100), -EINVAL);
	nm_synth_close(&r);
	nm_synth_close(&w);

	/* a reader of a file nobody wrote: every slot empty */
	f->r4 = cidr("100.64.0.0/30");
	f->r6 = cidr("fd00::/64");
	open_ok(&w, f, true);
	nm_synth_close(&w);
	open_ok(&r, f, false);
	assert_int_equal(r.nslots, 4);
	expect_name(&r, 1, NULL);
	expect_name(&r, 2, NULL);
	expect_name(&r, 3, NULL);
	nm_synth_close(&r);
}

static void test_persist(void **state)
{
	struct fx *f = *state;
	struct nm_synth w, r;

	open_ok(&w, f, true);
	assert_int_equal(nm_synth_assign(&w, "a.example", 100, 10), 1);
	assert_int_equal(nm_synth_assign(&w, "b.example", 101, 10), 2);
	assert_int_equal(nm_synth_assign(&w, "c.example", 102, 10), 3);
	nm_synth_close(&w);

	open_ok(&w, f, true);
	assert_int_equal(w.used, 3);
	assert_int_equal(nm_synth_assign(&w, "b.example", 200, 10), 2);
	assert_int_equal(nm_synth_assign(&w, "c.example", 201, 10), 3);
	assert_int_equal(nm_synth_assign(&w, "a.example", 202, 10), 1);
	assert_int_equal(nm_synth_assign(&w, "d.example", 203, 10), 4);
	assert_int_equal(w.used, 4);
	nm_synth_close(&w);

	/* a reader after both writers */
	open_ok(&r, f, false);
	expect_name(&r, 1, "a.example");
	expect_name(&r, 4, "d.example");
	expect_name(&r, 5, NULL);
	nm_synth_close(&r);

	/* the times of the answers too: with a full table, the oldest goes */
	f->r4 = cidr("100.64.0.0/30");
	f->r6 = cidr("fd00::/64");
	open_ok(&w, f, true);
	assert_int_equal(nm_synth_assign(&w, "x", 500, 50), 1);
	assert_int_equal(nm_synth_assign(&w, "y", 400, 50), 2);
	nm_synth_close(&w);
	open_ok(&w, f, true);
	assert_int_equal(nm_synth_assign(&w, "z", 460, 50), 2);
	assert_int_equal(nm_synth_assign(&w, "y", 461, 50), -ENOSPC);
	nm_synth_close(&w);
}

static void test_stale(void **state)
{
	struct fx *f = *state;
	struct nm_cidr r4 = f->r4, r6 = f->r6;
	struct nm_cidr other4 = cidr("100.65.0.0/24"), other6 = cidr("fd00:6e6e::/120");
	struct nm_cidr wide4 = cidr("100.64.0.0/23"), wide6 = cidr("fd00:6e6d::/119");
	struct nm_cidr r4_23 = cidr("100.64.0.0/23"); /* with r6 still 256 slots */
	struct nm_synth w, r;

	/* no file yet */
	assert_int_equal(nm_synth_open(&r, f->dir, "agents", &r4, &r6, false), -ENOENT);
	assert_int_equal(r.fd, -1);

	open_ok(&w, f, true);
	assert_int_equal(nm_synth_assign(&w, "a.example", 1, 10), 1);
	nm_synth_close(&w);

	/* readers with other ranges: the same size or another */
	assert_int_equal(nm_synth_open(&r, f->dir, "agents", &other4, &r6, false), -ESTALE);
	assert_int_equal(nm_synth_open(&r, f->dir, "agents", &r4, &other6, false), -ESTALE);
	assert_int_equal(nm_synth_open(&r, f->dir, "agents", &wide4, &wide6, false), -ESTALE);
	assert_null(r.hdr);
	/* the same base and number of slots, another length */
	assert_int_equal(nm_synth_slots(&r4_23, &r6), 256);
	assert_int_equal(nm_synth_open(&r, f->dir, "agents", &r4_23, &r6, false), -ESTALE);
	wide6 = cidr("fd00:6e6d::/119");
	assert_int_equal(nm_synth_slots(&r4, &wide6), 256);
	assert_int_equal(nm_synth_open(&r, f->dir, "agents", &r4, &wide6, false), -ESTALE);
	/* another policy: another file */
	assert_int_equal(nm_synth_open(&r, f->dir, "other", &r4, &r6, false), -ENOENT);
	/* ranges of the wrong family */
	assert_int_equal(nm_synth_open(&r, f->dir, "agents", &r6, &r4, false), -EINVAL);
	/* too few slots */
	r4 = cidr("100.64.0.0/31");
	assert_int_equal(nm_synth_open(&w, f->dir, "agents", &r4, &r6, true), -EINVAL);

	/* the right ones still work */
	open_ok(&r, f, false);
	expect_name(&r, 1, "a.example");
	nm_synth_close(&r);
}

/* A writer with other ranges starts an empty table. */
static void test_writer_other_ranges(void **state)
{
	struct fx *f = *state;
	struct nm_cidr r4 = f->r4, r6 = f->r6;
	struct nm_synth w, r;
	struct stat st;

	open_ok(&w, f, true);
	assert_int_equal(nm_synth_assign(&w, "a.example", 1, 10), 1);
	assert_int_equal(nm_synth_assign(&w, "b.example", 1, 10), 2);
	nm_synth_close(&w);

	/* same number of slots, another range */
	f->r4 = cidr("100.65.0.0/24");
	open_ok(&w, f, true);
	assert_int_equal(w.used, 0);
	expect_name(&w, 1, NULL);
	expect_name(&w, 2, NULL);
	assert_int_equal(nm_synth_assign(&w, "b.example", 2, 10), 1);
	nm_synth_close(&w);
	/* the old ranges are stale now, the new ones read */
	assert_int_equal(nm_synth_open(&r, f->dir, "agents", &r4, &r6, false), -ESTALE);
	open_ok(&r, f, false);
	expect_name(&r, 1, "b.example");
	expect_name(&r, 2, NULL);
	nm_synth_close(&r);

	/* another number of slots: another length */
	f->r4 = cidr("100.64.0.0/20");
	f->r6 = cidr("fd00:6e6d::/100");
	open_ok(&w, f, true);
	assert_int_equal(w.nslots, 4096);
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_size, 4096 + 4096 * sizeof(struct nm_synth_slot));
	expect_name(&w, 1, NULL);
	assert_int_equal(nm_synth_assign(&w, "c.example", 3, 10), 1);
	nm_synth_close(&w);

	/* and back: the names of the first ranges are gone for good */
	f->r4 = r4;
	f->r6 = r6;
	open_ok(&w, f, true);
	assert_int_equal(w.used, 0);
	expect_name(&w, 1, NULL);
	assert_int_equal(nm_synth_assign(&w, "b.example", 4, 10), 1);
	nm_synth_close(&w);

	/* a file of another policy of the same ranges is another table */
	assert_int_equal(nm_synth_open(&w, f->dir, "other", &f->r4, &f->r6, true), 0);
	expect_name(&w, 1, NULL);
	nm_synth_close(&w);
}

/* A file with the right ranges but another policy's name, or cut short. */
static void test_bad_file(void **state)
{
	struct fx *f = *state;
	char other[256], cmd[600];
	struct nm_synth w, r;

	open_ok(&w, f, true);
	assert_int_equal(nm_synth_assign(&w, "a.example", 1, 10), 1);
	assert_int_equal(nm_synth_assign(&w, "b.example", 1, 10), 2);
	nm_synth_close(&w);

	/* copied to another policy's name */
	snprintf(other, sizeof(other), "%s/other.names", f->dir);
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", f->path, other);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(nm_synth_open(&r, f->dir, "other", &f->r4, &f->r6, false), -ESTALE);
	assert_int_equal(nm_synth_open(&w, f->dir, "other", &f->r4, &f->r6, true), 0);
	assert_int_equal(w.used, 0);
	expect_name(&w, 1, NULL);
	assert_string_equal(w.hdr->policy, "other");
	nm_synth_close(&w);

	/* cut short, its header whole: a reader refuses it, a writer starts
	 * again with the right length */
	assert_int_equal(truncate(f->path, 4096), 0);
	assert_int_equal(nm_synth_open(&r, f->dir, "agents", &f->r4, &f->r6, false), -ESTALE);
	open_ok(&w, f, true);
	assert_int_equal(w.used, 0);
	expect_name(&w, 1, NULL);
	assert_int_equal(nm_synth_assign(&w, "b.example", 2, 10), 1);
	nm_synth_close(&w);
	open_ok(&r, f, false);
	expect_name(&r, 1, "b.example");
	nm_synth_close(&r);
	/* and longer than it should be */
	assert_int_equal(truncate(f->path, 4096 + 257 * sizeof(struct nm_synth_slot)), 0);
	assert_int_equal(nm_synth_open(&r, f->dir, "agents", &f->r4, &f->r6, false), -ESTALE);
	open_ok(&w, f, true);
	assert_int_equal(w.used, 0);
	nm_synth_close(&w);
	open_ok(&r, f, false);
	nm_synth_close(&r);
}

static void test_busy(void **state)
{
	struct fx *f = *state;
	struct nm_synth w, w2, r;

	open_ok(&w, f, true);
	assert_int_equal(nm_synth_open(&w2, f->dir, "agents", &f->r4, &f->r6, true), -EBUSY);
	assert_int_equal(w2.fd, -1);
	assert_null(w2.hdr);
	/* readers are not kept out, and the first writer goes on */
	open_ok(&r, f, false);
	assert_int_equal(nm_synth_assign(&w, "a.example", 1, 10), 1);
	expect_name(&r, 1, "a.example");
	nm_synth_close(&w);
	/* once it is gone, another writer may come */
	open_ok(&w2, f, true);
	assert_int_equal(nm_synth_assign(&w2, "a.example", 2, 10), 1);
	nm_synth_close(&w2);
	nm_synth_close(&r);
}

/* A /30: 4 slots, 2 names.  A name's slot goes to another only after the
 * hold time, least recently answered first. */
static void test_full(void **state)
{
	struct fx *f = *state;
	struct nm_synth w, r;
	const int64_t hold = 100;

	f->r4 = cidr("100.64.0.0/30");
	f->r6 = cidr("fd00:6e6d::/64");
	open_ok(&w, f, true);
	open_ok(&r, f, false);
	assert_int_equal(w.nslots, 4);
	assert_int_equal(nm_synth_assign(&w, "a", 1000, hold), 1);
	assert_int_equal(nm_synth_assign(&w, "b", 1010, hold), 2);
	/* within the hold time of both */
	assert_int_equal(nm_synth_assign(&w, "c", 1050, hold), -ENOSPC);
	assert_int_equal(nm_synth_assign(&w, "c", 1099, hold), -ENOSPC);
	/* a is answered again: now b is the older one */
	assert_int_equal(nm_synth_assign(&w, "a", 1060, hold), 1);
	assert_int_equal(nm_synth_assign(&w, "c", 1101, hold), -ENOSPC); /* a's old time would do */
	assert_int_equal(nm_synth_assign(&w, "c", 1109, hold), -ENOSPC);
	/* past b's hold time: c takes b's slot */
	assert_int_equal(nm_synth_assign(&w, "c", 1111, hold), 2);
	expect_name(&r, 2, "c");
	expect_name(&r, 1, "a");
	assert_int_equal(w.used, 2);
	/* b comes back: a new slot, once a's (answered at 1060) may go */
	assert_int_equal(nm_synth_assign(&w, "b", 1112, hold), -ENOSPC);
	assert_int_equal(nm_synth_assign(&w, "c", 1150, hold), 2);
	assert_int_equal(nm_synth_assign(&w, "b", 1161, hold), 1);
	expect_name(&r, 1, "b");
	/* the names that lost their slot get none back without a new one */
	assert_int_equal(nm_synth_assign(&w, "a", 1200, hold), -ENOSPC);
	assert_int_equal(nm_synth_assign(&w, "c", 1201, hold), 2);
	assert_int_equal(nm_synth_assign(&w, "b", 1202, hold), 1);
	/* a hold of 0: the least recently answered goes at once */
	assert_int_equal(nm_synth_assign(&w, "a", 1203, 0), 2);
	assert_int_equal(nm_synth_assign(&w, "c", 1204, 0), 1);
	expect_name(&r, 1, "c");
	expect_name(&r, 2, "a");
	assert_int_equal(w.used, 2);
	nm_synth_close(&r);
	nm_synth_close(&w);
}

/* A slot whose write was cut short (odd count) is free after a reopen,
 * and a free slot goes first, whatever the hold time. */
static void test_cut_short(void **state)
{
	struct fx *f = *state;
	struct nm_synth w, r;

	f->r4 = cidr("100.64.0.0/29");
	f->r6 = cidr("fd00:6e6d::/64");
	open_ok(&w, f, true);
	assert_int_equal(w.nslots, 8);
	for (int i = 0; i < 6; i++) {
		char name[16];

		snprintf(name, sizeof(name), "n%d", i + 1);
		assert_int_equal(nm_synth_assign(&w, name, 1000 + i, 1000), i + 1);
	}
	assert_int_equal(nm_synth_assign(&w, "late", 1010, 1000), -ENOSPC);
	/* a crash in the middle of writing slot 4; slot 5 the same name as 2 */
	w.slot[4].seq++;
	open_ok(&r, f, false);
	expect_name(&r, 4, NULL); /* never read while odd */
	nm_synth_close(&r);
	memcpy(w.slot[5].name, "n2", 3);
	w.hdr->hwm = 0xffffffffu; /* and a mark out of range: every slot is read */
	nm_synth_close(&w);

	open_ok(&w, f, true);
	assert_int_equal(w.used, 4);
	assert_int_equal(w.slot[4].seq % 2, 0);
	open_ok(&r, f, false);
	expect_name(&r, 4, NULL);
	expect_name(&r, 5, NULL);
	expect_name(&r, 2, "n2");
	assert_int_equal(nm_synth_assign(&w, "n2", 1020, 1000), 2);
	assert_int_equal(nm_synth_assign(&w, "n4", 1021, 1000), 4);
	assert_int_equal(nm_synth_assign(&w, "n5", 1022, 1000), 5);
	expect_name(&r, 4, "n4");
	expect_name(&r, 5, "n5");
	assert_int_equal(nm_synth_assign(&w, "late", 1023, 1000), -ENOSPC);
	nm_synth_close(&r);
	nm_synth_close(&w);
}

/* A reader while the writer rewrites the slots all the time: what it reads
 * is a whole name, never part of one or a mix of two (the sequence count). */
struct hammer {
	struct nm_synth *w;
	char names[4][201];
	volatile int stop;
	volatile long writes;
};

static void *hammer_run(void *arg)
{
	struct hammer *h = arg;

	for (int64_t now = 1; !h->stop; now++) {
		/* hold 0 and two slots: every name takes the older slot */
		if (nm_synth_assign(h->w, h->names[now % 4], now, 0) < 1)
			abort();
		h->writes++;
	}
	return NULL;
}

static void test_seqlock(void **state)
{
	struct fx *f = *state;
	static struct hammer h;
	struct nm_synth w, r;
	pthread_t th;
	long reads = 0, whole = 0;
	struct timespec t0, t1;

	f->r4 = cidr("100.64.0.0/30");
	f->r6 = cidr("fd00:6e6d::/64");
	open_ok(&w, f, true);
	open_ok(&r, f, false);
	memset(&h, 0, sizeof(h));
	h.w = &w;
	for (int i = 0; i < 4; i++) {
		memset(h.names[i], 'a' + i, 200 - 50 * (i % 2)); /* 200 and 150 characters */
		h.names[i][200 - 50 * (i % 2)] = 0;
	}
	assert_int_equal(pthread_create(&th, NULL, hammer_run, &h), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* 200000 writes and 1000 names read, or two seconds */
	for (;; reads++) {
		char name[NM_HOST_MAX + 1];
		int i;

		if (reads % 1024 == 0) {
			clock_gettime(CLOCK_MONOTONIC, &t1);
			if ((h.writes >= 200000 && whole >= 1000) || t1.tv_sec - t0.tv_sec > 2)
				break;
		}
		if (nm_synth_name(&r, 1 + (uint32_t)(reads % 2), name, sizeof(name)))
			continue; /* free, or being written every time it was tried */
		whole++;
		for (i = 0; i < 4; i++)
			if (!strcmp(name, h.names[i]))
				break;
		if (i == 4) {
			h.stop = 1;
			pthread_join(th, NULL);
			fail_msg("read %zu characters '%.8s...' that are no name", strlen(name), name);
		}
	}
	h.stop = 1;
	assert_int_equal(pthread_join(th, NULL), 0);
	print_message("%ld reads (%ld names) while %ld writes\n", reads, whole, h.writes);
	assert_true(h.writes > 1000);
	assert_true(whole > 100);
	nm_synth_close(&r);
	nm_synth_close(&w);
}

/* Random names and times against a model of the table: every name keeps
 * its slot until it is taken, a slot is taken only from the least recently
 * answered name past the hold time, the reader agrees. */
static void test_model(void **state)
{
	enum { NAMES = 40, STEPS = 20000 };
	struct fx *f = *state;
	const int64_t hold = 101; /* odd: times are even, never exactly on it */
	struct {
		int name; /* -1: free */
		int64_t answered;
	} slot[16];
	int where[NAMES]; /* the slot of a name, 0 for none */
	uint64_t rng = 12345;
	uint32_t hwm = 1, usable;
	int64_t now = 0;
	int takes = 0, full = 0;
	struct nm_synth w, r;

	f->r4 = cidr("100.64.0.0/28");
	f->r6 = cidr("fd00:6e6d::/64");
	open_ok(&w, f, true);
	open_ok(&r, f, false);
	usable = w.nslots - 2;
	assert_int_equal(usable, 14);
	for (size_t i = 0; i < ARRAY_SIZE(slot); i++)
		slot[i].name = -1;
	memset(where, 0, sizeof(where));

	for (int step = 0; step < STEPS; step++) {
		char name[32];
		int n;
		long got, want;

		rng = rng * 6364136223846793005ull + 1442695040888963407ull;
		n = (int)((rng >> 33) % NAMES);
		now += 2 * (int64_t)(1 + (rng >> 20) % 4); /* no two answers at one time */
		snprintf(name, sizeof(name), "name-%d.example", n);
		if (where[n]) {
			want = where[n];
		} else if (hwm <= usable) {
			want = hwm++;
		} else {
			uint32_t best = 0;

			for (uint32_t s = 1; s <= usable; s++)
				if (!best || slot[s].answered < slot[best].answered)
					best = s;
			if (now - slot[best].answered < hold) {
				want = -ENOSPC;
			} else {
				want = best;
				where[slot[best].name] = 0;
				takes++;
			}
		}
		got = nm_synth_assign(&w, name, now, hold);
		if (got != want)
			fail_msg("step %d: '%s' at %lld: %ld, want %ld", step, name, (long long)now, got, want);
		if (want < 0) {
			full++;
			continue;
		}
		slot[want].name = n;
		slot[want].answered = now;
		where[n] = (int)want;
		if (step % 97 == 0) {
			for (uint32_t s = 1; s <= usable; s++) {
				char buf[32];

				if (slot[s].name < 0) {
					expect_name(&r, s, NULL);
					continue;
				}
				snprintf(buf, sizeof(buf), "name-%d.example", slot[s].name);
				expect_name(&r, s, buf);
			}
		}
	}
	/* both ways were taken, many times */
	if (takes < 100 || full < 100)
		fail_msg("%d slots taken, %d refused", takes, full);
	print_message("%d steps: %d slots taken from another name, %d refused\n", STEPS, takes, full);
	nm_synth_close(&r);
	nm_synth_close(&w);

	/* and the table as the writer reads it again */
	open_ok(&w, f, true);
	for (int n = 0; n < NAMES; n++) {
		char name[32];

		if (!where[n])
			continue;
		snprintf(name, sizeof(name), "name-%d.example", n);
		assert_int_equal(nm_synth_assign(&w, name, now, hold), where[n]);
	}
	nm_synth_close(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_slots),
		cmocka_unit_test_setup_teardown(test_assign, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_addresses, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_addresses_wide, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_reader, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_persist, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_stale, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_writer_other_ranges, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_bad_file, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_busy, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_full, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_cut_short, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_seqlock, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_model, fx_setup, fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
