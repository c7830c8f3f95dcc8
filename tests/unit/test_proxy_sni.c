// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unit tests for user/proxy/tls_sni.c: ClientHello server names (cmocka). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tls_sni.h"

/* A real ClientHello: curl 7.88 / OpenSSL 3.0 to files.pythonhosted.org. */
static const uint8_t hello_curl[] = {
  0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03, 0x5c,
  0x05, 0x91, 0xd0, 0x68, 0x69, 0x82, 0x1f, 0xc2, 0xf6, 0x10, 0x3e, 0xb6,
  0xc5, 0x5a, 0x9c, 0xbf, 0x46, 0x21, 0xa2, 0xe2, 0x2d, 0x0e, 0x45, 0x96,
  0x3f, 0x6b, 0xb5, 0xba, 0x2a, 0x70, 0xfc, 0x20, 0x04, 0x50, 0x42, 0x6d,
  0x0d, 0x9c, 0x4c, 0xba, 0x0a, 0x43, 0x01, 0x22, 0x4c, 0x91, 0x38, 0x01,
  0x38, 0xac, 0xfb, 0xd0, 0x3a, 0x7f, 0x53, 0x23, 0x25, 0x72, 0x9a, 0xa2,
  0xcd, 0xcd, 0x8d, 0x37, 0x00, 0x3e, 0x13, 0x02, 0x13, 0x03, 0x13, 0x01,
  0xc0, 0x2c, 0xc0, 0x30, 0x00, 0x9f, 0xcc, 0xa9, 0xcc, 0xa8, 0xcc, 0xaa,
  0xc0, 0x2b, 0xc0, 0x2f, 0x00, 0x9e, 0xc0, 0x24, 0xc0, 0x28, 0x00, 0x6b,
  0xc0, 0x23, 0xc0, 0x27, 0x00, 0x67, 0xc0, 0x0a, 0xc0, 0x14, 0x00, 0x39,
  0xc0, 0x09, 0xc0, 0x13, 0x00, 0x33, 0x00, 0x9d, 0x00, 0x9c, 0x00, 0x3d,
  0x00, 0x3c, 0x00, 0x35, 0x00, 0x2f, 0x00, 0xff, 0x01, 0x00, 0x01, 0x75,
  0x00, 0x00, 0x00, 0x1b, 0x00, 0x19, 0x00, 0x00, 0x16, 0x66, 0x69, 0x6c,
  0x65, 0x73, 0x2e, 0x70, 0x79, 0x74, 0x68, 0x6f, 0x6e, 0x68, 0x6f, 0x73,
  0x74, 0x65, 0x64, 0x2e, 0x6f, 0x72, 0x67, 0x00, 0x0b, 0x00, 0x04, 0x03,
  0x00, 0x01, 0x02, 0x00, 0x0a, 0x00, 0x16, 0x00, 0x14, 0x00, 0x1d, 0x00,
  0x17, 0x00, 0x1e, 0x00, 0x19, 0x00, 0x18, 0x01, 0x00, 0x01, 0x01, 0x01,
  0x02, 0x01, 0x03, 0x01, 0x04, 0x00, 0x10, 0x00, 0x0e, 0x00, 0x0c, 0x02,
  0x68, 0x32, 0x08, 0x68, 0x74, 0x74, 0x70, 0x2f, 0x31, 0x2e, 0x31, 0x00,
  0x16, 0x00, 0x00, 0x00, 0x17, 0x00, 0x00, 0x00, 0x31, 0x00, 0x00, 0x00,
  0x0d, 0x00, 0x2a, 0x00, 0x28, 0x04, 0x03, 0x05, 0x03, 0x06, 0x03, 0x08,
  0x07, 0x08, 0x08, 0x08, 0x09, 0x08, 0x0a, 0x08, 0x0b, 0x08, 0x04, 0x08,
  0x05, 0x08, 0x06, 0x04, 0x01, 0x05, 0x01, 0x06, 0x01, 0x03, 0x03, 0x03,
  0x01, 0x03, 0x02, 0x04, 0x02, 0x05, 0x02, 0x06, 0x02, 0x00, 0x2b, 0x00,
  0x09, 0x08, 0x03, 0x04, 0x03, 0x03, 0x03, 0x02, 0x03, 0x01, 0x00, 0x2d,
  0x00, 0x02, 0x01, 0x01, 0x00, 0x33, 0x00, 0x26, 0x00, 0x24, 0x00, 0x1d,
  0x00, 0x20, 0xe9, 0x2a, 0xa6, 0x24, 0xd8, 0x30, 0x2a, 0x5d, 0x1a, 0x4b,
  0x8f, 0x31, 0x09, 0x35, 0x86, 0xd2, 0x91, 0x07, 0x88, 0x84, 0xec, 0xbb,
  0x8e, 0x88, 0xdd, 0x5b, 0xed, 0xdb, 0xe8, 0x36, 0x17, 0x3c, 0x00, 0x15,
  0x00, 0xa7, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x00
};
static const size_t hello_curl_len = 517;

/* ---- building hellos ----------------------------------------------------- */
struct hb {
	uint8_t b[40000];
	size_t n;
};

static void put8(struct hb *h, unsigned v)
{
	h->b[h->n++] = (uint8_t)v;
}

static void put16(struct hb *h, unsigned v)
{
	put8(h, v >> 8);
	put8(h, v & 0xff);
}

static void putmem(struct hb *h, const void *p, size_t n)
{
	memcpy(h->b + h->n, p, n);
	h->n += n;
}

/* Patch a 16-bit length at off to the bytes written since off + 2. */
static void fix16(struct hb *h, size_t off)
{
	size_t l = h->n - off - 2;

	h->b[off] = (uint8_t)(l >> 8);
	h->b[off + 1] = (uint8_t)l;
}

struct hello_opts {
	const char *names[3];  /* host_name entries (NULL-terminated) */
	bool no_ext;           /* no extensions block at all */
	bool no_sni_ext;       /* extensions, but no server_name */
	bool dup_ext;          /* a second supported_groups */
	size_t pad;            /* a padding extension of this many bytes */
	int sid_len;           /* session id length (default 32) */
	uint8_t hs_type;       /* default 1 */
};

/* The handshake message (header included). */
static void hello_msg(struct hb *h, const struct hello_opts *o)
{
	size_t len_off, ext_off;
	uint8_t rnd[32];
	int sid = o->sid_len ? o->sid_len : 32;

	memset(rnd, 0x5a, sizeof(rnd));
	h->n = 0;
	put8(h, o->hs_type ? o->hs_type : 1);
	len_off = h->n;
	put8(h, 0);
	put16(h, 0);
	put16(h, 0x0303);
	putmem(h, rnd, 32);
	put8(h, sid);
	for (int i = 0; i < sid; i++)
		put8(h, i);
	put16(h, 4);
	put16(h, 0x1301);
	put16(h, 0x1302);
	put8(h, 1);
	put8(h, 0);
	if (!o->no_ext) {
		ext_off = h->n;
		put16(h, 0);
		if (!o->no_sni_ext) {
			size_t e, l;

			put16(h, 0);
			e = h->n;
			put16(h, 0);
			l = h->n;
			put16(h, 0);
			for (int i = 0; o->names[i]; i++) {
				put8(h, 0);
				put16(h, strlen(o->names[i]));
				putmem(h, o->names[i], strlen(o->names[i]));
			}
			fix16(h, l);
			fix16(h, e);
		}
		put16(h, 10); /* supported_groups */
		put16(h, 4);
		put16(h, 2);
		put16(h, 0x001d);
		if (o->dup_ext) {
			put16(h, 10);
			put16(h, 4);
			put16(h, 2);
			put16(h, 0x0017);
		}
		if (o->pad) {
			put16(h, 21);
			put16(h, o->pad);
			memset(h->b + h->n, 0, o->pad);
			h->n += o->pad;
		}
		fix16(h, ext_off);
	}
	{
		size_t l = h->n - len_off - 3;

		h->b[len_off] = (uint8_t)(l >> 16);
		h->b[len_off + 1] = (uint8_t)(l >> 8);
		h->b[len_off + 2] = (uint8_t)l;
	}
}

/* Wrap a handshake message in records of at most chunk bytes. */
static void records(struct hb *out, const struct hb *msg, size_t chunk)
{
	out->n = 0;
	for (size_t off = 0; off < msg->n; off += chunk) {
		size_t l = msg->n - off < chunk ? msg->n - off : chunk;

		put8(out, 22);
		put16(out, 0x0301);
		put16(out, l);
		putmem(out, msg->b + off, l);
	}
}

static enum nmp_sni_result parse(const struct hb *h, struct nmp_sni *s)
{
	return nmp_sni_parse(h->b, h->n, s);
}

#define ASSERT_RES(got, want)                                                                              \
	do {                                                                                               \
		enum nmp_sni_result g_ = (got), w_ = (want);                                               \
		if (g_ != w_)                                                                              \
			fail_msg("%s:%d: got %s (%s), want %s", __FILE__, __LINE__, nmp_sni_result_str(g_),  \
				 s.why ? s.why : "", nmp_sni_result_str(w_));                               \
	} while (0)

/* ---- real hellos ----------------------------------------------------------- */
static void test_real_curl(void **state)
{
	struct nmp_sni s;

	(void)state;
	ASSERT_RES(nmp_sni_parse(hello_curl, hello_curl_len, &s), NMP_SNI_FOUND);
	assert_string_equal(s.name, "files.pythonhosted.org");
	assert_int_equal(s.name_len, 22);
	assert_int_equal(s.hello_bytes, hello_curl_len);
	/* every prefix is a wait, never a verdict */
	for (size_t n = 0; n < hello_curl_len; n++)
		if (nmp_sni_parse(hello_curl, n, &s) != NMP_SNI_NEED_MORE)
			fail_msg("prefix of %zu bytes: %s (%s)", n, nmp_sni_result_str(nmp_sni_parse(hello_curl, n, &s)),
				 s.why);
}

/* The real hello re-split into records of every size from 1 to 600. */
static void test_real_resplit(void **state)
{
	static struct hb msg, rec;
	struct nmp_sni s;

	(void)state;
	msg.n = hello_curl_len - 5;
	memcpy(msg.b, hello_curl + 5, msg.n);
	for (size_t chunk = 1; chunk <= 600; chunk++) {
		records(&rec, &msg, chunk);
		if (rec.n > NMP_SNI_MAX_BYTES)
			continue;
		if ((msg.n + chunk - 1) / chunk > 64) {
			/* more than 64 records */
			ASSERT_RES(parse(&rec, &s), NMP_SNI_MALFORMED);
			continue;
		}
		ASSERT_RES(parse(&rec, &s), NMP_SNI_FOUND);
		assert_string_equal(s.name, "files.pythonhosted.org");
		for (size_t n = 0; n < rec.n; n += 7)
			if (nmp_sni_parse(rec.b, n, &s) != NMP_SNI_NEED_MORE)
				fail_msg("chunk %zu prefix %zu: not need-more", chunk, n);
	}
}

/* Trailing bytes after the hello (another record) do not matter. */
static void test_trailing_record(void **state)
{
	uint8_t buf[1024];
	struct nmp_sni s;

	(void)state;
	memcpy(buf, hello_curl, hello_curl_len);
	memcpy(buf + hello_curl_len, "\x17\x03\x03\x00\x02hi", 7);
	ASSERT_RES(nmp_sni_parse(buf, hello_curl_len + 7, &s), NMP_SNI_FOUND);
	assert_int_equal(s.hello_bytes, hello_curl_len);
}

/* Every single-byte change of the real hello: no crash, and a name found is
 * always a sane one. */
static void test_real_mutations(void **state)
{
	uint8_t buf[1024];
	struct nmp_sni s;

	(void)state;
	for (size_t i = 0; i < hello_curl_len; i++) {
		for (unsigned v = 0; v < 256; v += 17) {
			enum nmp_sni_result r;

			memcpy(buf, hello_curl, hello_curl_len);
			buf[i] = (uint8_t)(buf[i] ^ (v | 1));
			r = nmp_sni_parse(buf, hello_curl_len, &s);
			if (r == NMP_SNI_FOUND && (s.name_len == 0 || s.name_len > NMP_SNI_MAX_NAME ||
						    strlen(s.name) != s.name_len))
				fail_msg("byte %zu ^ %u: bad name", i, v | 1);
		}
	}
}

/* ---- built hellos ---------------------------------------------------------- */
static void test_built(void **state)
{
	static struct hb msg, rec;
	struct hello_opts o = { .names = { "Example.ORG." } };
	struct nmp_sni s;

	(void)state;
	hello_msg(&msg, &o);
	records(&rec, &msg, 16384);
	ASSERT_RES(parse(&rec, &s), NMP_SNI_FOUND);
	assert_string_equal(s.name, "Example.ORG."); /* as sent: normalising is hostname.c's job */

	o = (struct hello_opts){ .no_sni_ext = true };
	hello_msg(&msg, &o);
	records(&rec, &msg, 16384);
	ASSERT_RES(parse(&rec, &s), NMP_SNI_NONE);

	o = (struct hello_opts){ .no_ext = true };
	hello_msg(&msg, &o);
	records(&rec, &msg, 16384);
	ASSERT_RES(parse(&rec, &s), NMP_SNI_NONE);

	o = (struct hello_opts){ .names = { "a.example", "b.example" } };
	hello_msg(&msg, &o);
	records(&rec, &msg, 16384);
	ASSERT_RES(parse(&rec, &s), NMP_SNI_MALFORMED);

	o = (struct hello_opts){ .names = { "a.example" }, .dup_ext = true };
	hello_msg(&msg, &o);
	records(&rec, &msg, 16384);
	ASSERT_RES(parse(&rec, &s), NMP_SNI_MALFORMED);

	o = (struct hello_opts){ .names = { "a example" } };
	hello_msg(&msg, &o);
	records(&rec, &msg, 16384);
	ASSERT_RES(parse(&rec, &s), NMP_SNI_MALFORMED);

	o = (struct hello_opts){ .names = { "" } };
	hello_msg(&msg, &o);
	records(&rec, &msg, 16384);
	ASSERT_RES(parse(&rec, &s), NMP_SNI_MALFORMED);

	o = (struct hello_opts){ .names = { NULL } }; /* an empty server_name list */
	hello_msg(&msg, &o);
	records(&rec, &msg, 16384);
	ASSERT_RES(parse(&rec, &s), NMP_SNI_MALFORMED);

	o = (struct hello_opts){ .names = { "a.example" }, .sid_len = 33 };
	hello_msg(&msg, &o);
	records(&rec, &msg, 16384);
	ASSERT_RES(parse(&rec, &s), NMP_SNI_MALFORMED);

	o = (struct hello_opts){ .names = { "a.example" }, .hs_type = 2 };
	hello_msg(&msg, &o);
	records(&rec, &msg, 16384);
	ASSERT_RES(parse(&rec, &s), NMP_SNI_MALFORMED);
}

static void test_long_names(void **state)
{
	static struct hb msg, rec;
	char name[300];
	struct hello_opts o = { .names = { name } };
	struct nmp_sni s;

	(void)state;
	memset(name, 'a', sizeof(name));
	name[255] = 0;
	hello_msg(&msg, &o);
	records(&rec, &msg, 16384);
	ASSERT_RES(parse(&rec, &s), NMP_SNI_FOUND);
	assert_int_equal(s.name_len, 255);
	name[255] = 'a';
	name[256] = 0;
	hello_msg(&msg, &o);
	records(&rec, &msg, 16384);
	ASSERT_RES(parse(&rec, &s), NMP_SNI_MALFORMED);
}

/* A hello with padding up to the limit, over it, and split. */
static void test_sizes(void **state)
{
	static struct hb msg, rec;
	struct hello_opts o = { .names = { "big.example" } };
	struct nmp_sni s;

	(void)state;
	o.pad = 8000;
	hello_msg(&msg, &o);
	records(&rec, &msg, 16384);
	ASSERT_RES(parse(&rec, &s), NMP_SNI_FOUND);
	records(&rec, &msg, 1000); /* 9 records */
	ASSERT_RES(parse(&rec, &s), NMP_SNI_FOUND);
	assert_string_equal(s.name, "big.example");

	o.pad = NMP_SNI_MAX_HELLO; /* body over 16 KiB */
	hello_msg(&msg, &o);
	records(&rec, &msg, 16384);
	/* told by the handshake header alone */
	ASSERT_RES(nmp_sni_parse(rec.b, 9, &s), NMP_SNI_TOO_LARGE);
	ASSERT_RES(parse(&rec, &s), NMP_SNI_TOO_LARGE);
}

/* Broken framing. */
static void test_framing(void **state)
{
	static struct hb msg, rec;
	struct hello_opts o = { .names = { "a.example" } };
	struct nmp_sni s;
	uint8_t b[64];

	(void)state;
	/* SSLv2-style: 2-byte header with the high bit, type 1 */
	memcpy(b, "\x80\x2e\x01\x03\x01", 5);
	ASSERT_RES(nmp_sni_parse(b, 5, &s), NMP_SNI_MALFORMED);
	ASSERT_RES(nmp_sni_parse(b, 1, &s), NMP_SNI_MALFORMED);
	/* HTTP, binary garbage, empty */
	ASSERT_RES(nmp_sni_parse((const uint8_t *)"GET / HTTP/1.1\r\n", 16, &s), NMP_SNI_MALFORMED);
	ASSERT_RES(nmp_sni_parse((const uint8_t *)"\x00\x01", 2, &s), NMP_SNI_MALFORMED);
	ASSERT_RES(nmp_sni_parse(b, 0, &s), NMP_SNI_NEED_MORE);
	/* prefixes of a record header */
	ASSERT_RES(nmp_sni_parse((const uint8_t *)"\x16", 1, &s), NMP_SNI_NEED_MORE);
	ASSERT_RES(nmp_sni_parse((const uint8_t *)"\x16\x03\x01\x00", 4, &s), NMP_SNI_NEED_MORE);
	ASSERT_RES(nmp_sni_parse((const uint8_t *)"\x16\x02", 2, &s), NMP_SNI_MALFORMED);
	/* record length 0, and over 16384 */
	ASSERT_RES(nmp_sni_parse((const uint8_t *)"\x16\x03\x01\x00\x00", 5, &s), NMP_SNI_MALFORMED);
	ASSERT_RES(nmp_sni_parse((const uint8_t *)"\x16\x03\x01\x40\x01", 5, &s), NMP_SNI_MALFORMED);
	/* record version 3.9 */
	ASSERT_RES(nmp_sni_parse((const uint8_t *)"\x16\x03\x09\x00\x10", 5, &s), NMP_SNI_MALFORMED);

	/* an alert record between two halves of a hello */
	hello_msg(&msg, &o);
	records(&rec, &msg, 30);
	memmove(rec.b + 35 + 7, rec.b + 35, rec.n - 35);
	memcpy(rec.b + 35, "\x15\x03\x03\x00\x02\x02\x28", 7);
	rec.n += 7;
	ASSERT_RES(parse(&rec, &s), NMP_SNI_MALFORMED);

	/* each length field of the built hello off by one either way */
	hello_msg(&msg, &o);
	for (size_t off = 1; off < msg.n; off++) {
		for (int d = -1; d <= 1; d += 2) {
			static struct hb m2;
			enum nmp_sni_result r;

			m2 = msg;
			m2.b[off] = (uint8_t)(m2.b[off] + d);
			records(&rec, &m2, 16384);
			r = parse(&rec, &s);
			if (r == NMP_SNI_FOUND && strcmp(s.name, "a.example") &&
			    (s.name_len == 0 || strlen(s.name) != s.name_len))
				fail_msg("offset %zu %+d: bad name", off, d);
		}
	}
	/* the handshake length one too long: waits (the record ended) */
	hello_msg(&msg, &o);
	msg.b[3]++;
	records(&rec, &msg, 16384);
	rec.b[4]++; /* the record claims the extra byte too */
	ASSERT_RES(parse(&rec, &s), NMP_SNI_NEED_MORE);
	/* the extensions length one short of the message */
	hello_msg(&msg, &o);
	msg.b[3]++;
	msg.b[msg.n++] = 0;
	records(&rec, &msg, 16384);
	ASSERT_RES(parse(&rec, &s), NMP_SNI_MALFORMED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_real_curl),      cmocka_unit_test(test_real_resplit),
		cmocka_unit_test(test_trailing_record), cmocka_unit_test(test_real_mutations),
		cmocka_unit_test(test_built),           cmocka_unit_test(test_long_names),
		cmocka_unit_test(test_sizes),           cmocka_unit_test(test_framing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
