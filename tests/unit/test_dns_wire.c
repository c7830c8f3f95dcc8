// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unit tests for user/dns/wire.c: reading DNS queries (nmd_query_parse,
 * header, question, EDNS, every FORMERR/NOTIMP/DROP case, the text of
 * names) and writing answers (nmd_answer, read back field by field), and
 * the names of types and rcodes (cmocka).  Queries are built byte by byte
 * here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "wire.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define F_QR 0x8000
#define F_AA 0x0400
#define F_TC 0x0200
#define F_RD 0x0100
#define F_RA 0x0080

/* ---- building queries ---------------------------------------------------- */

struct qb {
	uint8_t b[70000];
	size_t n;
};

static void put8(struct qb *q, uint8_t v)
{
	assert_true(q->n < sizeof(q->b));
	q->b[q->n++] = v;
}

static void put16(struct qb *q, uint16_t v)
{
	put8(q, (uint8_t)(v >> 8));
	put8(q, (uint8_t)v);
}

static void put32(struct qb *q, uint32_t v)
{
	put16(q, (uint16_t)(v >> 16));
	put16(q, (uint16_t)v);
}

static void put_bytes(struct qb *q, const void *p, size_t n)
{
	assert_true(q->n + n <= sizeof(q->b));
	if (n)
		memcpy(q->b + q->n, p, n);
	q->n += n;
}

static void put_hdr(struct qb *q, uint16_t id, uint16_t flags, uint16_t qd, uint16_t an, uint16_t ns, uint16_t ar)
{
	q->n = 0;
	put16(q, id);
	put16(q, flags);
	put16(q, qd);
	put16(q, an);
	put16(q, ns);
	put16(q, ar);
}

/* name "a.b.c" as labels and the root label; "" is the root alone.  Bytes
 * are taken as they are (no escapes): a dot always ends a label. */
static void put_name(struct qb *q, const char *name)
{
	const char *p = name;

	while (*p) {
		const char *dot = strchr(p, '.');
		size_t l = dot ? (size_t)(dot - p) : strlen(p);

		assert_true(l > 0 && l < 64);
		put8(q, (uint8_t)l);
		put_bytes(q, p, l);
		p += l;
		if (*p)
			p++;
	}
	put8(q, 0);
}

static void put_question(struct qb *q, const char *name, uint16_t type, uint16_t class)
{
	put_name(q, name);
	put16(q, type);
	put16(q, class);
}

/* An OPT record: root owner, size, extended rcode, version, DO, options. */
static void put_opt(struct qb *q, uint16_t size, uint8_t ext_rcode, uint8_t version, const void *opts,
		    uint16_t optlen)
{
	put8(q, 0);
	put16(q, NMD_T_OPT);
	put16(q, size);
	put32(q, (uint32_t)ext_rcode << 24 | (uint32_t)version << 16);
	put16(q, optlen);
	put_bytes(q, opts, optlen);
}

/* A plain query: one question, RD, optionally an OPT (size, no options). */
static void plain_query(struct qb *q, uint16_t id, const char *name, uint16_t type, uint16_t edns_size)
{
	put_hdr(q, id, F_RD, 1, 0, 0, edns_size ? 1 : 0);
	put_question(q, name, type, NMD_C_IN);
	if (edns_size)
		put_opt(q, edns_size, 0, 0, NULL, 0);
}

/* Parse b from a copy of exactly its length, so that ASan sees a read past
 * the message. */
static enum nmd_parse parse(const struct qb *b, struct nmd_query *q)
{
	uint8_t *m = malloc(b->n ? b->n : 1);
	enum nmd_parse r;

	assert_non_null(m);
	memcpy(m, b->b, b->n);
	r = nmd_query_parse(m, b->n, q);
	free(m);
	return r;
}

/* ---- reading answers ------------------------------------------------------ */

struct rd {
	const uint8_t *b;
	size_t n, off;
};

static uint8_t get8(struct rd *r)
{
	assert_true(r->off + 1 <= r->n);
	return r->b[r->off++];
}

static uint16_t get16(struct rd *r)
{
	uint16_t hi = get8(r);

	return (uint16_t)(hi << 8 | get8(r));
}

static uint32_t get32(struct rd *r)
{
	uint32_t hi = get16(r);

	return hi << 16 | get16(r);
}

struct resp {
	uint16_t id, flags, qd, an, ns, ar;
};

static void get_hdr(struct rd *r, struct resp *h)
{
	h->id = get16(r);
	h->flags = get16(r);
	h->qd = get16(r);
	h->an = get16(r);
	h->ns = get16(r);
	h->ar = get16(r);
}

/* The question must be q's, byte for byte (name as sent, type, class). */
static void expect_question(struct rd *r, const struct nmd_query *q)
{
	assert_true(r->off + q->qwire_len + 4 <= r->n);
	assert_memory_equal(r->b + r->off, q->qwire, q->qwire_len);
	r->off += q->qwire_len;
	assert_int_equal(get16(r), q->qtype);
	assert_int_equal(get16(r), q->qclass);
}

/* An address record: a pointer to the question's name, type, IN, ttl, data. */
static void expect_addr(struct rd *r, uint16_t type, uint32_t ttl, const uint8_t *data)
{
	size_t alen = type == NMD_T_A ? 4 : 16;

	assert_int_equal(get16(r), 0xc00c);
	assert_int_equal(get16(r), type);
	assert_int_equal(get16(r), NMD_C_IN);
	assert_int_equal(get32(r), ttl);
	assert_int_equal(get16(r), alen);
	assert_true(r->off + alen <= r->n);
	assert_memory_equal(r->b + r->off, data, alen);
	r->off += alen;
}

/* Our OPT: root owner, size 1232, the extended rcode, version 0, no flags,
 * no options. */
static void expect_opt(struct rd *r, uint8_t ext_rcode)
{
	assert_int_equal(get8(r), 0);
	assert_int_equal(get16(r), NMD_T_OPT);
	assert_int_equal(get16(r), NMD_UDP_MAX);
	assert_int_equal(get32(r), (uint32_t)ext_rcode << 24);
	assert_int_equal(get16(r), 0);
}

static uint8_t addrs[40][16];

static int setup_addrs(void **state)
{
	(void)state;
	for (int i = 0; i < (int)ARRAY_SIZE(addrs); i++)
		for (int j = 0; j < 16; j++)
			addrs[i][j] = (uint8_t)(i * 16 + j + 1);
	return 0;
}

/* ---- parsing ---------------------------------------------------------------- */

static void test_plain_a(void **state)
{
	static const uint8_t qwire[] = "\x07" "AlLoWeD" "\x04" "TeSt";
	struct nmd_query q;
	struct qb b;

	(void)state;
	plain_query(&b, 0xbeef, "AlLoWeD.TeSt", NMD_T_A, 0);
	assert_int_equal(parse(&b, &q), NMD_P_OK);
	assert_int_equal(q.id, 0xbeef);
	assert_int_equal(q.flags, F_RD);
	assert_int_equal(q.qtype, NMD_T_A);
	assert_int_equal(q.qclass, NMD_C_IN);
	assert_true(q.has_question);
	assert_true(q.name_ok);
	assert_string_equal(q.name, "allowed.test");
	assert_int_equal(q.qwire_len, sizeof(qwire)); /* with the root label */
	assert_memory_equal(q.qwire, qwire, sizeof(qwire));
	assert_false(q.edns);
	assert_false(q.edns_options);
	assert_int_equal(q.udp_size, NMD_UDP_MIN);

	/* RD clear, another type and class: taken as sent */
	put_hdr(&b, 7, 0, 1, 0, 0, 0);
	put_question(&b, "x.y", NMD_T_TXT, 3);
	assert_int_equal(parse(&b, &q), NMD_P_OK);
	assert_int_equal(q.id, 7);
	assert_int_equal(q.flags, 0);
	assert_int_equal(q.qtype, NMD_T_TXT);
	assert_int_equal(q.qclass, 3);
	assert_string_equal(q.name, "x.y");
}

static void test_edns(void **state)
{
	static const struct {
		uint16_t size, want;
	} sizes[] = {
		{ 0, 512 },     { 1, 512 },     { 511, 512 },  { 512, 512 },  { 513, 513 },
		{ 1000, 1000 }, { 1232, 1232 }, { 1233, 1232 }, { 4096, 1232 }, { 65535, 1232 },
	};
	static const uint8_t cookie[] = { 0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8 };
	struct nmd_query q;
	struct qb b;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		plain_query(&b, 1, "a.test", NMD_T_AAAA, 0);
		b.b[11] = 1;
		put_opt(&b, sizes[i].size, 0, 0, NULL, 0);
		assert_int_equal(parse(&b, &q), NMD_P_OK);
		assert_true(q.edns);
		assert_false(q.edns_options);
		assert_int_equal(q.edns_version, 0);
		if (q.udp_size != sizes[i].want)
			fail_msg("OPT size %u: udp_size %u, want %u", sizes[i].size, q.udp_size, sizes[i].want);
	}

	/* a cookie option, version 1, an extended rcode bit in the query */
	plain_query(&b, 2, "a.test", NMD_T_A, 0);
	b.b[11] = 1;
	put_opt(&b, 4096, 0, 1, cookie, sizeof(cookie));
	assert_int_equal(parse(&b, &q), NMD_P_OK);
	assert_true(q.edns);
	assert_true(q.edns_options);
	assert_int_equal(q.edns_version, 1);
	assert_int_equal(q.udp_size, NMD_UDP_MAX);
	assert_string_equal(q.name, "a.test");

	put_hdr(&b, 3, 0, 1, 0, 0, 1);
	put_question(&b, "a.test", NMD_T_A, NMD_C_IN);
	put_opt(&b, 1400, 0xff, 0xfe, "\0\x0c\0\0", 4); /* padding, empty */
	assert_int_equal(parse(&b, &q), NMD_P_OK);
	assert_int_equal(q.edns_version, 0xfe);
	assert_true(q.edns_options);

	/* an OPT and another additional record (not an OPT: skipped) */
	put_hdr(&b, 4, 0, 1, 0, 0, 2);
	put_question(&b, "a.test", NMD_T_A, NMD_C_IN);
	put_name(&b, "key.test");
	put16(&b, 250);
	put16(&b, 255);
	put32(&b, 0);
	put16(&b, 3);
	put_bytes(&b, "xyz", 3);
	put_opt(&b, 800, 0, 0, NULL, 0);
	assert_int_equal(parse(&b, &q), NMD_P_OK);
	assert_true(q.edns);
	assert_int_equal(q.udp_size, 800);

	/* up to NMD_MAX_ADDITIONAL records; their owners may be pointers */
	put_hdr(&b, 5, 0, 1, 0, 0, NMD_MAX_ADDITIONAL);
	put_question(&b, "a.test", NMD_T_A, NMD_C_IN);
	for (int i = 0; i < NMD_MAX_ADDITIONAL; i++) {
		put16(&b, 0xc00c);
		put16(&b, NMD_T_TXT);
		put16(&b, NMD_C_IN);
		put32(&b, 0);
		put16(&b, 0);
	}
	assert_int_equal(parse(&b, &q), NMD_P_OK);
	assert_false(q.edns);
	assert_int_equal(q.udp_size, NMD_UDP_MIN);
}

/* Every builder makes one message; the table says what the parser makes of it. */
static void b_empty(struct qb *b)
{
	b->n = 0;
}

static void b_one(struct qb *b)
{
	b->n = 0;
	put8(b, 0x12);
}

static void b_eleven(struct qb *b)
{
	plain_query(b, 0x1234, "a.test", NMD_T_A, 0);
	b->n = 11;
}

static void b_header_only(struct qb *b)
{
	put_hdr(b, 0x1234, F_RD, 1, 0, 0, 0);
}

static void b_response(struct qb *b)
{
	put_hdr(b, 0x1234, F_QR | F_RD | F_RA, 1, 1, 0, 0);
	put_question(b, "a.test", NMD_T_A, NMD_C_IN);
	put16(b, 0xc00c);
	put16(b, NMD_T_A);
	put16(b, NMD_C_IN);
	put32(b, 60);
	put16(b, 4);
	put32(b, 0x01020304);
}

static void b_response_short(struct qb *b)
{
	put_hdr(b, 0x1234, F_QR, 0, 0, 0, 0);
}

static void b_response_opcode(struct qb *b)
{
	put_hdr(b, 0x1234, F_QR | 2 << 11, 1, 0, 0, 0);
	put_question(b, "a.test", NMD_T_A, NMD_C_IN);
}

static void b_opcode(struct qb *b, int opcode)
{
	put_hdr(b, 0x1234, (uint16_t)(F_RD | opcode << 11), 1, 0, 0, 0);
	put_question(b, "a.test", NMD_T_A, NMD_C_IN);
}

static void b_iquery(struct qb *b)
{
	b_opcode(b, 1);
}

static void b_status(struct qb *b)
{
	b_opcode(b, 2);
}

static void b_notify(struct qb *b)
{
	b_opcode(b, 4);
}

static void b_update(struct qb *b)
{
	b_opcode(b, 5);
}

static void b_opcode15(struct qb *b)
{
	/* and a malformed body: the opcode is looked at first */
	put_hdr(b, 0x1234, 15 << 11, 0, 3, 3, 9);
}

static void b_qd0(struct qb *b)
{
	put_hdr(b, 0x1234, F_RD, 0, 0, 0, 0);
}

static void b_qd2(struct qb *b)
{
	put_hdr(b, 0x1234, F_RD, 2, 0, 0, 0);
	put_question(b, "a.test", NMD_T_A, NMD_C_IN);
	put_question(b, "b.test", NMD_T_A, NMD_C_IN);
}

static void b_qd2_one(struct qb *b)
{
	put_hdr(b, 0x1234, F_RD, 2, 0, 0, 0);
	put_question(b, "a.test", NMD_T_A, NMD_C_IN);
}

static void b_qd_max(struct qb *b)
{
	put_hdr(b, 0x1234, F_RD, 0xffff, 0, 0, 0);
	put_question(b, "a.test", NMD_T_A, NMD_C_IN);
}

/* counts of records that are not there: the count alone is refused */
static void b_an1_empty(struct qb *b)
{
	put_hdr(b, 0x1234, F_RD, 1, 1, 0, 0);
	put_question(b, "a.test", NMD_T_A, NMD_C_IN);
}

static void b_ns1_empty(struct qb *b)
{
	put_hdr(b, 0x1234, F_RD, 1, 0, 1, 0);
	put_question(b, "a.test", NMD_T_A, NMD_C_IN);
}

static void b_an1(struct qb *b)
{
	b_response(b);
	b->b[2] &= 0x7f; /* QR clear: a query with an answer record */
}

static void b_ns1(struct qb *b)
{
	put_hdr(b, 0x1234, F_RD, 1, 0, 1, 0);
	put_question(b, "a.test", NMD_T_A, NMD_C_IN);
	put_name(b, "test");
	put16(b, NMD_T_NS);
	put16(b, NMD_C_IN);
	put32(b, 60);
	put16(b, 2);
	put16(b, 0xc00e);
}

static void b_ptr_question(struct qb *b)
{
	put_hdr(b, 0x1234, F_RD, 1, 0, 0, 0);
	put16(b, 0xc00c);
	put16(b, NMD_T_A);
	put16(b, NMD_C_IN);
}

static void b_ptr_after_label(struct qb *b)
{
	put_hdr(b, 0x1234, F_RD, 1, 0, 0, 0);
	put8(b, 1);
	put8(b, 'a');
	put16(b, 0xc00c);
	put16(b, NMD_T_A);
	put16(b, NMD_C_IN);
}

static void b_label_0x40(struct qb *b)
{
	put_hdr(b, 0x1234, F_RD, 1, 0, 0, 0);
	put8(b, 0x41); /* extended label type (and 65 > 63) */
	for (int i = 0; i < 65; i++)
		put8(b, 'a');
	put8(b, 0);
	put16(b, NMD_T_A);
	put16(b, NMD_C_IN);
}

static void b_label_0x80(struct qb *b)
{
	put_hdr(b, 0x1234, F_RD, 1, 0, 0, 0);
	put8(b, 0x81);
	put8(b, 'a');
	put8(b, 0);
	put16(b, NMD_T_A);
	put16(b, NMD_C_IN);
}

static void b_name_cut(struct qb *b)
{
	put_hdr(b, 0x1234, F_RD, 1, 0, 0, 0);
	put8(b, 5);
	put_bytes(b, "ab", 2);
}

static void b_name_unterminated(struct qb *b)
{
	put_hdr(b, 0x1234, F_RD, 1, 0, 0, 0);
	put8(b, 1);
	put8(b, 'a');
}

static void b_no_type(struct qb *b)
{
	put_hdr(b, 0x1234, F_RD, 1, 0, 0, 0);
	put_name(b, "a.test");
	put16(b, NMD_T_A);
	put8(b, 0); /* class cut short */
}

static void b_trailing(struct qb *b)
{
	plain_query(b, 0x1234, "a.test", NMD_T_A, 0);
	put8(b, 0);
}

static void b_trailing_after_opt(struct qb *b)
{
	plain_query(b, 0x1234, "a.test", NMD_T_A, 1232);
	put16(b, 0);
}

static void b_two_opt(struct qb *b)
{
	put_hdr(b, 0x1234, F_RD, 1, 0, 0, 2);
	put_question(b, "a.test", NMD_T_A, NMD_C_IN);
	put_opt(b, 1232, 0, 0, NULL, 0);
	put_opt(b, 1232, 0, 0, NULL, 0);
}

static void b_opt_owner(struct qb *b)
{
	put_hdr(b, 0x1234, F_RD, 1, 0, 0, 1);
	put_question(b, "a.test", NMD_T_A, NMD_C_IN);
	put_name(b, "a");
	put16(b, NMD_T_OPT);
	put16(b, 1232);
	put32(b, 0);
	put16(b, 0);
}

static void b_opt_owner_ptr(struct qb *b)
{
	put_hdr(b, 0x1234, F_RD, 1, 0, 0, 1);
	put_question(b, "a.test", NMD_T_A, NMD_C_IN);
	put16(b, 0xc00c);
	put16(b, NMD_T_OPT);
	put16(b, 1232);
	put32(b, 0);
	put16(b, 0);
}

static void b_ar_over(struct qb *b)
{
	put_hdr(b, 0x1234, F_RD, 1, 0, 0, NMD_MAX_ADDITIONAL + 1);
	put_question(b, "a.test", NMD_T_A, NMD_C_IN);
	for (int i = 0; i < NMD_MAX_ADDITIONAL + 1; i++) {
		put16(b, 0xc00c);
		put16(b, NMD_T_TXT);
		put16(b, NMD_C_IN);
		put32(b, 0);
		put16(b, 0);
	}
}

static void b_ar_missing(struct qb *b)
{
	put_hdr(b, 0x1234, F_RD, 1, 0, 0, 1);
	put_question(b, "a.test", NMD_T_A, NMD_C_IN);
}

static void b_ar_cut(struct qb *b)
{
	plain_query(b, 0x1234, "a.test", NMD_T_A, 1232);
	b->n -= 1; /* the OPT's rdlength cut */
}

static void b_ar_rdlen(struct qb *b)
{
	put_hdr(b, 0x1234, F_RD, 1, 0, 0, 1);
	put_question(b, "a.test", NMD_T_A, NMD_C_IN);
	put_opt(b, 1232, 0, 0, "\0\x0a\0\x08", 4);
	b->b[b->n - 5] = 8; /* rdlength 8, 4 bytes there */
}

/* A name of n wire bytes (n >= 2), labels of up to 63 bytes. */
static void put_long_name(struct qb *b, size_t n)
{
	size_t left = n - 1;

	while (left) {
		size_t l = left - 1 > 63 ? 63 : left - 1;

		if (left - 1 - l == 1) /* never leave a single byte: no room for a label */
			l--;
		put8(b, (uint8_t)l);
		for (size_t i = 0; i < l; i++)
			put8(b, (uint8_t)('a' + i % 26));
		left -= l + 1;
	}
	put8(b, 0);
}

static void b_name_256(struct qb *b)
{
	put_hdr(b, 0x1234, F_RD, 1, 0, 0, 0);
	put_long_name(b, 256);
	put16(b, NMD_T_A);
	put16(b, NMD_C_IN);
}

static void b_name_255(struct qb *b)
{
	put_hdr(b, 0x1234, F_RD, 1, 0, 0, 0);
	put_long_name(b, 255);
	put16(b, NMD_T_A);
	put16(b, NMD_C_IN);
}

static void b_name_300(struct qb *b)
{
	put_hdr(b, 0x1234, F_RD, 1, 0, 0, 0);
	put_long_name(b, 300);
	put16(b, NMD_T_A);
	put16(b, NMD_C_IN);
}

static void b_root(struct qb *b)
{
	put_hdr(b, 0x1234, F_RD, 1, 0, 0, 0);
	put_question(b, "", NMD_T_NS, NMD_C_IN);
}

static void test_parse_results(void **state)
{
	static const struct {
		const char *what;
		void (*build)(struct qb *);
		enum nmd_parse want;
		bool header; /* id and flags were read */
	} t[] = {
		{ "empty", b_empty, NMD_P_DROP, false },
		{ "1 byte", b_one, NMD_P_DROP, false },
		{ "11 bytes", b_eleven, NMD_P_DROP, false },
		{ "a response", b_response, NMD_P_DROP, false },
		{ "a response, header only", b_response_short, NMD_P_DROP, false },
		{ "a response, opcode STATUS", b_response_opcode, NMD_P_DROP, false },
		{ "opcode IQUERY", b_iquery, NMD_P_NOTIMP, true },
		{ "opcode STATUS", b_status, NMD_P_NOTIMP, true },
		{ "opcode NOTIFY", b_notify, NMD_P_NOTIMP, true },
		{ "opcode UPDATE", b_update, NMD_P_NOTIMP, true },
		{ "opcode 15, body malformed", b_opcode15, NMD_P_NOTIMP, true },
		{ "header only", b_header_only, NMD_P_FORMERR, true },
		{ "qdcount 0", b_qd0, NMD_P_FORMERR, true },
		{ "qdcount 2", b_qd2, NMD_P_FORMERR, true },
		{ "qdcount 2, one question", b_qd2_one, NMD_P_FORMERR, true },
		{ "qdcount 65535", b_qd_max, NMD_P_FORMERR, true },
		{ "ancount 1, no record", b_an1_empty, NMD_P_FORMERR, true },
		{ "nscount 1, no record", b_ns1_empty, NMD_P_FORMERR, true },
		{ "ancount 1", b_an1, NMD_P_FORMERR, true },
		{ "nscount 1", b_ns1, NMD_P_FORMERR, true },
		{ "pointer as the question's name", b_ptr_question, NMD_P_FORMERR, true },
		{ "pointer after a label", b_ptr_after_label, NMD_P_FORMERR, true },
		{ "label type 0x40", b_label_0x40, NMD_P_FORMERR, true },
		{ "label type 0x80", b_label_0x80, NMD_P_FORMERR, true },
		{ "name cut in a label", b_name_cut, NMD_P_FORMERR, true },
		{ "name without its root label", b_name_unterminated, NMD_P_FORMERR, true },
		{ "question cut in the class", b_no_type, NMD_P_FORMERR, true },
		{ "a trailing byte", b_trailing, NMD_P_FORMERR, true },
		{ "trailing bytes after the OPT", b_trailing_after_opt, NMD_P_FORMERR, true },
		{ "two OPT records", b_two_opt, NMD_P_FORMERR, true },
		{ "OPT owner a.", b_opt_owner, NMD_P_FORMERR, true },
		{ "OPT owner a pointer", b_opt_owner_ptr, NMD_P_FORMERR, true },
		{ "additional over the limit", b_ar_over, NMD_P_FORMERR, true },
		{ "additional record missing", b_ar_missing, NMD_P_FORMERR, true },
		{ "additional record cut", b_ar_cut, NMD_P_FORMERR, true },
		{ "rdlength past the end", b_ar_rdlen, NMD_P_FORMERR, true },
		{ "name of 256 wire bytes", b_name_256, NMD_P_FORMERR, true },
		{ "name of 300 wire bytes", b_name_300, NMD_P_FORMERR, true },
		{ "name of 255 wire bytes", b_name_255, NMD_P_OK, true },
		{ "the root", b_root, NMD_P_OK, true },
	};
	static const char *const res[] = { "OK", "FORMERR", "NOTIMP", "DROP" };

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		static struct qb b;
		struct nmd_query q;
		enum nmd_parse r;

		t[i].build(&b);
		memset(&q, 0xa5, sizeof(q));
		r = parse(&b, &q);
		if (r != t[i].want)
			fail_msg("%s (%zu bytes): %s, want %s", t[i].what, b.n, res[r], res[t[i].want]);
		if (t[i].header) {
			assert_int_equal(q.id, 0x1234);
			assert_int_equal(q.flags, b.b[2] << 8 | b.b[3]);
		}
		if (r != NMD_P_OK && q.has_question)
			fail_msg("%s: has_question without a question", t[i].what);
		if (r == NMD_P_OK && !q.has_question)
			fail_msg("%s: OK without has_question", t[i].what);
		if (r == NMD_P_DROP && b.n < NMD_HDR_LEN && q.udp_size != NMD_UDP_MIN)
			fail_msg("%s: udp_size %u", t[i].what, q.udp_size);
	}
}

#define W(s) s, sizeof(s) - 1

/* Names as text: lower case, escapes for what is not a host name. */
static void test_names(void **state)
{
	static char l63[64], n63[80];
	static const struct {
		const char *wire; /* labels, without the root label */
		size_t len;
		const char *text;
		bool ok;
	} t[] = {
		{ W("\x07" "AlLoWeD" "\x04" "TeSt"), "allowed.test", true },
		{ W("\x03" "www" "\x07" "example" "\x03" "org"), "www.example.org", true },
		{ W("\x01" "_" "\x03" "a-b" "\x01" "9"), "_.a-b.9", true },
		{ W("\x04" "_tcp" "\x03" "SRV"), "_tcp.srv", true },
		{ W("\x03" "a.b" "\x04" "test"), "a\\046b.test", false },
		{ W("\x03" "A.B"), "a\\046b", false },
		{ W("\x03" "a b" "\x01" "c"), "a\\032b.c", false },
		{ W("\x03" "a\0b"), "a\\000b", false },
		{ W("\x02" "\xff" "a"), "\\255a", false },
		{ W("\x03" "b\xc3\xbc" "\x04" "test"), "b\\195\\188.test", false },
		{ W("\x01" "*" "\x03" "com"), "\\042.com", false },
		{ W("\x02" "a/" "\x01" "b"), "a\\047.b", false },
		{ W("\x02" "a\x7f"), "a\\127", false },
		{ W("\x01" "\\"), "\\092", false },
		{ W(""), ".", false },
	};
	struct nmd_query q;
	struct qb b;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		put_hdr(&b, 1, 0, 1, 0, 0, 0);
		put_bytes(&b, t[i].wire, t[i].len);
		put8(&b, 0);
		put16(&b, NMD_T_A);
		put16(&b, NMD_C_IN);
		if (parse(&b, &q) != NMD_P_OK)
			fail_msg("name %zu ('%s'): not OK", i, t[i].text);
		if (strcmp(q.name, t[i].text) || q.name_ok != t[i].ok)
			fail_msg("name %zu: '%s' %s, want '%s' %s", i, q.name, q.name_ok ? "ok" : "bad", t[i].text,
				 t[i].ok ? "ok" : "bad");
		assert_int_equal(q.qwire_len, t[i].len + 1);
		assert_memory_equal(q.qwire, t[i].wire, t[i].len);
		assert_int_equal(q.qwire[q.qwire_len - 1], 0);
	}

	/* a label of 63 bytes, the longest there is */
	memset(l63, 'X', 63);
	put_hdr(&b, 1, 0, 1, 0, 0, 0);
	snprintf(n63, sizeof(n63), "%s.test", l63);
	put_question(&b, n63, NMD_T_A, NMD_C_IN);
	assert_int_equal(parse(&b, &q), NMD_P_OK);
	assert_true(q.name_ok);
	assert_int_equal(strlen(q.name), 68);
	assert_int_equal(q.name[0], 'x');
	assert_memory_equal(q.name + 63, ".test", 6);
	assert_int_equal(q.qwire_len, 1 + 63 + 5 + 1);
	assert_int_equal(q.qwire[1], 'X');
}

/* The longest name there is: 255 wire bytes, 253 characters; with escapes
 * its text is far longer and still whole. */
static void test_long_names(void **state)
{
	static struct qb b;
	struct nmd_query q;

	(void)state;
	b_name_255(&b);
	assert_int_equal(parse(&b, &q), NMD_P_OK);
	assert_int_equal(q.qwire_len, 255);
	assert_int_equal(strlen(q.name), 253);
	assert_true(q.name_ok);

	/* the same with every byte 0xff: 4 characters each */
	for (size_t o = 12; o < 12 + 254;) {
		size_t l = b.b[o];

		memset(b.b + o + 1, 0xff, l);
		o += 1 + l;
	}
	assert_int_equal(parse(&b, &q), NMD_P_OK);
	assert_false(q.name_ok);
	assert_int_equal(q.qwire_len, 255);
	assert_true(strlen(q.name) < sizeof(q.name));
	assert_int_equal(strlen(q.name), 250 * 4 + 3); /* labels of 63, 63, 63, 61 bytes, 3 dots */
	assert_memory_equal(q.name, "\\255\\255", 8);
	assert_int_equal(q.name[63 * 4], '.');
	assert_string_equal(q.name + strlen(q.name) - 4, "\\255");
}

/* ---- answers ---------------------------------------------------------------- */

static void parse_ok(struct qb *b, struct nmd_query *q)
{
	assert_int_equal(parse(b, q), NMD_P_OK);
}

static void test_answer_a(void **state)
{
	uint8_t out[512];
	struct nmd_query q;
	struct resp h;
	struct rd r;
	struct qb b;
	size_t n;
	int w = -1;

	(void)state;
	plain_query(&b, 0xbeef, "AlLoWeD.TeSt", NMD_T_A, 0);
	parse_ok(&b, &q);
	n = nmd_answer(out, sizeof(out), &q, NMD_R_NOERROR, (const uint8_t(*)[16])addrs, 2, 300, &w);
	assert_int_equal(w, 2);
	assert_int_equal(n, 12 + 14 + 4 + 2 * 16);
	r = (struct rd){ out, n, 0 };
	get_hdr(&r, &h);
	assert_int_equal(h.id, 0xbeef);
	assert_true(h.flags & F_QR);
	assert_int_equal(h.flags & 0x7800, 0); /* opcode QUERY */
	assert_false(h.flags & F_AA);
	assert_false(h.flags & F_TC);
	assert_true(h.flags & F_RD);
	assert_true(h.flags & F_RA);
	assert_int_equal(h.flags & 0x70, 0); /* Z, AD, CD */
	assert_int_equal(h.flags & 0xf, NMD_R_NOERROR);
	assert_int_equal(h.qd, 1);
	assert_int_equal(h.an, 2);
	assert_int_equal(h.ns, 0);
	assert_int_equal(h.ar, 0);
	expect_question(&r, &q);
	assert_memory_equal(out + 12, "\x07" "AlLoWeD" "\x04" "TeSt", 14); /* case kept */
	expect_addr(&r, NMD_T_A, 300, addrs[0]);
	expect_addr(&r, NMD_T_A, 300, addrs[1]);
	assert_int_equal(r.off, n);

	/* RD clear: RD clear in the answer; written may be NULL */
	put_hdr(&b, 0x0102, 0, 1, 0, 0, 0);
	put_question(&b, "a.test", NMD_T_A, NMD_C_IN);
	parse_ok(&b, &q);
	n = nmd_answer(out, sizeof(out), &q, NMD_R_NOERROR, (const uint8_t(*)[16])addrs, 1, 0, NULL);
	assert_int_equal(n, 12 + 8 + 4 + 16);
	r = (struct rd){ out, n, 0 };
	get_hdr(&r, &h);
	assert_int_equal(h.id, 0x0102);
	assert_int_equal(h.flags, F_QR | F_RA);
	expect_question(&r, &q);
	expect_addr(&r, NMD_T_A, 0, addrs[0]);
	assert_int_equal(r.off, n);
}

static void test_answer_aaaa_edns(void **state)
{
	static const uint8_t cookie[] = { 0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8 };
	uint8_t out[1232];
	struct nmd_query q;
	struct resp h;
	struct rd r;
	struct qb b;
	size_t n;
	int w = -1;

	(void)state;
	put_hdr(&b, 0x4242, F_RD, 1, 0, 0, 1);
	put_question(&b, "V6.test", NMD_T_AAAA, NMD_C_IN);
	put_opt(&b, 4096, 0, 0, cookie, sizeof(cookie));
	parse_ok(&b, &q);
	n = nmd_answer(out, q.udp_size, &q, NMD_R_NOERROR, (const uint8_t(*)[16])addrs, 3, 0x01020304, &w);
	assert_int_equal(w, 3);
	assert_int_equal(n, 12 + 9 + 4 + 3 * 28 + 11);
	r = (struct rd){ out, n, 0 };
	get_hdr(&r, &h);
	assert_int_equal(h.id, 0x4242);
	assert_int_equal(h.flags, F_QR | F_RD | F_RA);
	assert_int_equal(h.qd, 1);
	assert_int_equal(h.an, 3);
	assert_int_equal(h.ns, 0);
	assert_int_equal(h.ar, 1);
	expect_question(&r, &q);
	for (int i = 0; i < 3; i++)
		expect_addr(&r, NMD_T_AAAA, 0x01020304, addrs[i]);
	expect_opt(&r, 0); /* our own: no cookie */
	assert_int_equal(r.off, n);

	/* without an OPT in the query, none in the answer */
	plain_query(&b, 0x4243, "v6.test", NMD_T_AAAA, 0);
	parse_ok(&b, &q);
	n = nmd_answer(out, q.udp_size, &q, NMD_R_NOERROR, (const uint8_t(*)[16])addrs, 1, 5, &w);
	assert_int_equal(n, 12 + 9 + 4 + 28);
	r = (struct rd){ out, n, 0 };
	get_hdr(&r, &h);
	assert_int_equal(h.ar, 0);
	expect_question(&r, &q);
	expect_addr(&r, NMD_T_AAAA, 5, addrs[0]);
	assert_int_equal(r.off, n);
}

/* Error rcodes, answers without addresses, BADVERS. */
static void test_answer_rcodes(void **state)
{
	static const struct {
		int rcode;
		uint16_t qtype;
		bool edns;
		uint8_t ext; /* the OPT's extended rcode */
	} t[] = {
		{ NMD_R_NXDOMAIN, NMD_T_A, false, 0 },  { NMD_R_REFUSED, NMD_T_AAAA, false, 0 },
		{ NMD_R_SERVFAIL, NMD_T_A, true, 0 },   { NMD_R_NXDOMAIN, NMD_T_AAAA, true, 0 },
		{ NMD_R_NOERROR, NMD_T_TXT, false, 0 }, { NMD_R_NOERROR, NMD_T_HTTPS, true, 0 },
		{ NMD_R_NOERROR, NMD_T_ANY, false, 0 }, { 16, NMD_T_A, true, 1 },
		{ 16, NMD_T_TXT, true, 1 },             { 0x35, NMD_T_A, true, 3 },
	};
	uint8_t out[600];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		struct nmd_query q;
		struct resp h;
		struct rd r;
		struct qb b;
		size_t n;
		int w = -1;

		put_hdr(&b, (uint16_t)(0x100 + i), F_RD, 1, 0, 0, t[i].edns);
		put_question(&b, "Some.Name", t[i].qtype, NMD_C_IN);
		if (t[i].edns)
			put_opt(&b, 1232, 0, t[i].rcode == 16 ? 1 : 0, NULL, 0);
		parse_ok(&b, &q);
		n = nmd_answer(out, sizeof(out), &q, t[i].rcode, (const uint8_t(*)[16])addrs, 4, 60, &w);
		assert_int_equal(w, 0);
		assert_int_equal(n, 12 + 11 + 4 + (t[i].edns ? 11 : 0));
		r = (struct rd){ out, n, 0 };
		get_hdr(&r, &h);
		assert_int_equal(h.id, 0x100 + i);
		assert_int_equal(h.flags, F_QR | F_RD | F_RA | (t[i].rcode & 0xf));
		assert_int_equal(h.qd, 1);
		assert_int_equal(h.an, 0);
		assert_int_equal(h.ns, 0);
		assert_int_equal(h.ar, t[i].edns ? 1 : 0);
		expect_question(&r, &q);
		if (t[i].edns)
			expect_opt(&r, t[i].ext);
		assert_int_equal(r.off, n);
	}
}

/* As many addresses as fit, never more than NMD_MAX_ADDRS. */
static void test_answer_fit(void **state)
{
	static const struct {
		uint16_t qtype, edns_size; /* 0: no OPT */
		size_t max;
		int naddrs, want;
	} t[] = {
		/* 12 + 14 + 4 = 30 before the answers, 28 / 16 bytes each, OPT 11 */
		{ NMD_T_AAAA, 0, 512, 32, 17 },     /* 30 + 17 * 28 = 506 */
		{ NMD_T_AAAA, 512, 512, 32, 16 },   /* 30 + 16 * 28 + 11 = 489 */
		{ NMD_T_AAAA, 0, 506, 32, 17 },     /* exactly */
		{ NMD_T_AAAA, 0, 505, 32, 16 },
		{ NMD_T_AAAA, 1232, 1232, 32, 32 }, /* 30 + 32 * 28 + 11 = 937 */
		{ NMD_T_AAAA, 0, 65535, 40, 32 },
		{ NMD_T_A, 0, 512, 40, 30 },        /* 30 + 30 * 16 = 510 */
		{ NMD_T_A, 600, 512, 40, 29 },      /* 30 + 29 * 16 + 11 = 505 */
		{ NMD_T_A, 0, 65535, 40, 32 },
		{ NMD_T_A, 0, 45, 3, 0 },
		{ NMD_T_A, 0, 46, 3, 1 },
		{ NMD_T_A, 1232, 56, 3, 0 },
		{ NMD_T_A, 1232, 57, 3, 1 },
		{ NMD_T_A, 0, 512, 0, 0 },
		{ NMD_T_A, 0, 512, -1, 0 },
	};
	static uint8_t out[65535];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		size_t rec = t[i].qtype == NMD_T_A ? 16 : 28, opt = t[i].edns_size ? 11 : 0, n;
		struct nmd_query q;
		struct resp h;
		struct rd r;
		struct qb b;
		int w = -1;

		plain_query(&b, 9, "abcdefg.test", t[i].qtype, t[i].edns_size);
		parse_ok(&b, &q);
		memset(out, 0xee, sizeof(out));
		n = nmd_answer(out, t[i].max, &q, NMD_R_NOERROR, (const uint8_t(*)[16])addrs, t[i].naddrs, 1, &w);
		if (w != t[i].want)
			fail_msg("case %zu: %d addresses in %zu bytes, want %d", i, w, t[i].max, t[i].want);
		assert_int_equal(n, 30 + (size_t)w * rec + opt);
		assert_true(n <= t[i].max);
		assert_int_equal(out[t[i].max < sizeof(out) ? t[i].max : sizeof(out) - 1], 0xee);
		r = (struct rd){ out, n, 0 };
		get_hdr(&r, &h);
		assert_false(h.flags & F_TC);
		assert_int_equal(h.an, w);
		assert_int_equal(h.ar, opt ? 1 : 0);
		expect_question(&r, &q);
		for (int k = 0; k < w; k++)
			expect_addr(&r, t[i].qtype, 1, addrs[k]);
		if (opt)
			expect_opt(&r, 0);
		assert_int_equal(r.off, n);
	}
}

/* Whatever max is, the answer stays within it, and more room never means
 * fewer addresses. */
static void test_answer_every_max(void **state)
{
	uint8_t out[700];
	struct nmd_query q;
	struct qb b;
	int last = 0;

	(void)state;
	plain_query(&b, 0x7777, "x.example", NMD_T_AAAA, 1232);
	parse_ok(&b, &q);
	for (size_t max = 0; max <= sizeof(out); max++) {
		size_t n;
		int w = -1;

		memset(out, 0xee, sizeof(out));
		n = nmd_answer(out, max, &q, NMD_R_NOERROR, (const uint8_t(*)[16])addrs, 32, 9, &w);
		if (n > max)
			fail_msg("max %zu: %zu bytes", max, n);
		if (max < sizeof(out))
			assert_int_equal(out[max], 0xee);
		if (max < NMD_HDR_LEN) {
			assert_int_equal(n, 0);
			assert_int_equal(w, 0);
			continue;
		}
		assert_true(w >= last);
		last = w;
		if (n) {
			struct resp h;
			struct rd r = { out, n, 0 };

			get_hdr(&r, &h);
			assert_int_equal(h.id, 0x7777);
			assert_int_equal(h.qd, 1);
			assert_int_equal(h.an, w);
			assert_int_equal(h.ar, 1); /* the OPT is never left out */
			assert_int_equal(n, 12 + 11 + 4 + (size_t)w * 28 + 11);
			/* the next address would not have fitted */
			assert_true(w == NMD_MAX_ADDRS || n + 28 > max);
		}
	}
	assert_int_equal(last, 23); /* 700: 12 + 11 + 4 + 23 * 28 + 11 = 682 */
}

/* The answers to a query without a question (FORMERR) and with another
 * opcode (NOTIMP): a header only. */
static void test_answer_no_question(void **state)
{
	uint8_t out[512];
	struct nmd_query q;
	struct resp h;
	struct rd r;
	struct qb b;
	size_t n;
	int w = -1;

	(void)state;
	put_hdr(&b, 0xabcd, F_RD, 0, 0, 0, 0);
	assert_int_equal(parse(&b, &q), NMD_P_FORMERR);
	n = nmd_answer(out, sizeof(out), &q, NMD_R_FORMERR, (const uint8_t(*)[16])addrs, 2, 60, &w);
	assert_int_equal(n, NMD_HDR_LEN);
	assert_int_equal(w, 0);
	r = (struct rd){ out, n, 0 };
	get_hdr(&r, &h);
	assert_int_equal(h.id, 0xabcd);
	assert_int_equal(h.flags, F_QR | F_RD | F_RA | NMD_R_FORMERR);
	assert_int_equal(h.qd, 0);
	assert_int_equal(h.an, 0);
	assert_int_equal(h.ns, 0);
	assert_int_equal(h.ar, 0);

	/* a question after a bad one: still no question in the answer */
	b_qd2(&b);
	assert_int_equal(parse(&b, &q), NMD_P_FORMERR);
	n = nmd_answer(out, sizeof(out), &q, NMD_R_FORMERR, NULL, 0, 0, &w);
	assert_int_equal(n, NMD_HDR_LEN);
	assert_int_equal(out[5], 0); /* qdcount */

	/* a trailing byte: the question was read, but is not echoed */
	b_trailing(&b);
	assert_int_equal(parse(&b, &q), NMD_P_FORMERR);
	n = nmd_answer(out, sizeof(out), &q, NMD_R_FORMERR, NULL, 0, 0, &w);
	assert_int_equal(n, NMD_HDR_LEN);
	assert_int_equal(out[5], 0);

	/* NOTIMP: the opcode echoed */
	b_status(&b);
	assert_int_equal(parse(&b, &q), NMD_P_NOTIMP);
	n = nmd_answer(out, sizeof(out), &q, NMD_R_NOTIMP, NULL, 0, 0, &w);
	assert_int_equal(n, NMD_HDR_LEN);
	r = (struct rd){ out, n, 0 };
	get_hdr(&r, &h);
	assert_int_equal(h.id, 0x1234);
	assert_int_equal(h.flags, F_QR | 2 << 11 | F_RD | F_RA | NMD_R_NOTIMP);
	assert_int_equal(h.qd, 0);
}

static void test_answer_small_max(void **state)
{
	uint8_t out[16];
	struct nmd_query q;
	struct qb b;

	(void)state;
	plain_query(&b, 1, "a.test", NMD_T_A, 0);
	parse_ok(&b, &q);
	for (size_t max = 0; max < NMD_HDR_LEN; max++) {
		int w = -1;

		memset(out, 0xee, sizeof(out));
		assert_int_equal(nmd_answer(out, max, &q, NMD_R_NOERROR, (const uint8_t(*)[16])addrs, 1, 1, &w), 0);
		assert_int_equal(w, 0);
		for (size_t i = max; i < sizeof(out); i++)
			assert_int_equal(out[i], 0xee);
	}
	/* a header fits, so the header-only answer does */
	put_hdr(&b, 5, 0, 0, 0, 0, 0);
	assert_int_equal(parse(&b, &q), NMD_P_FORMERR);
	assert_int_equal(nmd_answer(out, NMD_HDR_LEN, &q, NMD_R_FORMERR, NULL, 0, 0, NULL), NMD_HDR_LEN);
	assert_int_equal(nmd_answer(out, NMD_HDR_LEN - 1, &q, NMD_R_FORMERR, NULL, 0, 0, NULL), 0);
}

static void test_strings(void **state)
{
	static const struct {
		uint16_t t;
		const char *s;
	} types[] = {
		{ NMD_T_A, "A" },       { NMD_T_NS, "NS" },       { NMD_T_CNAME, "CNAME" }, { NMD_T_SOA, "SOA" },
		{ NMD_T_NULL, "NULL" }, { NMD_T_PTR, "PTR" },     { NMD_T_MX, "MX" },       { NMD_T_TXT, "TXT" },
		{ NMD_T_AAAA, "AAAA" }, { NMD_T_SRV, "SRV" },     { NMD_T_OPT, "OPT" },     { NMD_T_SVCB, "SVCB" },
		{ NMD_T_HTTPS, "HTTPS" }, { NMD_T_AXFR, "AXFR" }, { NMD_T_ANY, "ANY" },     { 0, "TYPE0" },
		{ 99, "TYPE99" },       { 65280, "TYPE65280" },   { 65535, "TYPE65535" },
	};
	static const struct {
		int r;
		const char *s;
	} rcodes[] = {
		{ 0, "NOERROR" }, { 1, "FORMERR" }, { 2, "SERVFAIL" }, { 3, "NXDOMAIN" }, { 4, "NOTIMP" },
		{ 5, "REFUSED" }, { 16, "BADVERS" }, { 6, "RCODE6" },   { 12, "RCODE12" }, { 4095, "RCODE4095" },
	};
	char buf[12];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(types); i++)
		assert_string_equal(nmd_type_str(types[i].t, buf, sizeof(buf)), types[i].s);
	for (size_t i = 0; i < ARRAY_SIZE(rcodes); i++)
		assert_string_equal(nmd_rcode_str(rcodes[i].r, buf, sizeof(buf)), rcodes[i].s);
	/* unknown ones are written into buf */
	assert_ptr_equal(nmd_type_str(300, buf, sizeof(buf)), buf);
	assert_ptr_equal(nmd_rcode_str(9, buf, sizeof(buf)), buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_a),
		cmocka_unit_test(test_edns),
		cmocka_unit_test(test_parse_results),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_long_names),
		cmocka_unit_test(test_answer_a),
		cmocka_unit_test(test_answer_aaaa_edns),
		cmocka_unit_test(test_answer_rcodes),
		cmocka_unit_test(test_answer_fit),
		cmocka_unit_test(test_answer_every_max),
		cmocka_unit_test(test_answer_no_question),
		cmocka_unit_test(test_answer_small_max),
		cmocka_unit_test(test_strings),
	};

	return cmocka_run_group_tests(tests, setup_addrs, NULL);
}
