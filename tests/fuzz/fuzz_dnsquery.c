// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * fuzz_dnsquery - libFuzzer target for the DNS query parser of nomoat-dns
 * and the answers it builds (user/dns/wire.c).  The input is one message
 * as a client sends it over UDP (no TCP length prefix).  Seed corpus:
 * tests/fuzz/corpus/dnsquery/, dictionary tests/fuzz/dict/dnsquery.dict.
 *
 * Besides memory errors (ASan, UBSan) it checks what wire.h promises:
 * DROP exactly for short messages and responses, NOTIMP exactly for other
 * opcodes; for a query read (OK) the name NUL-terminated, the name as sent
 * a prefix of the question ending in the root label, the size within
 * 512..1232, a good name exactly when every label byte is a letter, digit,
 * '-' or '_', and then made of [a-z0-9_-] labels joined by dots (no empty
 * label, at most 253 characters), the lower-cased text of the name as
 * sent.  Then the answer to the query (or the FORMERR / NOTIMP one) in
 * buffers of several sizes: never longer than the buffer, absent only when
 * the header and question do not fit, and read back a response with the
 * query's id, flags and question, the addresses given (as many as fit,
 * each after a pointer to the question's name) and an OPT exactly when the
 * query had one (a header-only answer drops it when it does not fit).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "wire.h"

#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* The checks of a query read. */
static void check_query(const uint8_t *m, size_t len, const struct nmd_query *q)
{
	size_t n = strnlen(q->name, sizeof(q->name));

	CHECK(n < sizeof(q->name), "name not NUL-terminated");
	CHECK(q->has_question, "OK without a question");
	CHECK(q->qwire_len >= 1 && q->qwire_len <= NMD_NAME_WIRE_MAX, "qwire_len %zu", q->qwire_len);
	CHECK(q->qwire[q->qwire_len - 1] == 0, "qwire does not end in the root label");
	CHECK(NMD_HDR_LEN + q->qwire_len + 4 <= len && !memcmp(m + NMD_HDR_LEN, q->qwire, q->qwire_len),
	      "qwire is not the question's name");
	CHECK(q->qtype == rd16(m + NMD_HDR_LEN + q->qwire_len) && q->qclass == rd16(m + NMD_HDR_LEN + q->qwire_len + 2),
	      "qtype %u qclass %u", q->qtype, q->qclass);
	CHECK(q->id == rd16(m) && q->flags == rd16(m + 2), "id %04x flags %04x", q->id, q->flags);
	CHECK(q->udp_size >= NMD_UDP_MIN && q->udp_size <= NMD_UDP_MAX, "udp_size %u", q->udp_size);
	CHECK(q->edns || (q->udp_size == NMD_UDP_MIN && !q->edns_options && !q->edns_version),
	      "EDNS fields without an OPT");
	if (q->qwire_len == 1)
		CHECK(!strcmp(q->name, ".") && !q->name_ok, "root: '%s'", q->name);
	/* good exactly when every byte of every label is a letter (either
	 * case), a digit, '-' or '_' */
	{
		bool all = q->qwire_len > 1;

		for (size_t o = 0; q->qwire[o]; o += 1 + q->qwire[o])
			for (size_t i = 1; i <= q->qwire[o]; i++) {
				char c = (char)q->qwire[o + i];

				all = all && (name_char(c) || (c >= 'A' && c <= 'Z'));
			}
		CHECK(q->name_ok == all, "name_ok %d for '%s'", q->name_ok, q->name);
	}
	if (!q->name_ok)
		return;
	CHECK(n >= 1 && n <= 253, "good name of %zu characters", n);
	CHECK(q->name[0] != '.' && q->name[n - 1] != '.' && !strstr(q->name, ".."), "empty label in '%s'", q->name);
	for (size_t i = 0; i < n; i++)
		CHECK(name_char(q->name[i]) || q->name[i] == '.', "character %02x in a good name",
		      (unsigned char)q->name[i]);
	/* and it is the name as sent, lower-cased */
	{
		char t[NMD_NAME_WIRE_MAX + 1];
		size_t o = 0, w = 0;

		while (q->qwire[o]) {
			size_t l = q->qwire[o++];

			if (w)
				t[w++] = '.';
			for (size_t i = 0; i < l; i++, o++) {
				char c = (char)q->qwire[o];

				t[w++] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
			}
		}
		t[w] = 0;
		CHECK(!strcmp(t, q->name), "name '%s' for '%s'", q->name, t);
	}
}

struct rd {
	const uint8_t *b;
	size_t n, off;
};

static uint16_t get16(struct rd *r)
{
	CHECK(r->off + 2 <= r->n, "answer cut at %zu of %zu", r->off, r->n);
	r->off += 2;
	return rd16(r->b + r->off - 2);
}

static uint32_t get32(struct rd *r)
{
	uint32_t hi = get16(r);

	return hi << 16 | get16(r);
}

static const uint8_t addrs[NMD_MAX_ADDRS + 2][16] = {
	{ 192, 0, 2, 1, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 1 },
	{ 192, 0, 2, 2, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 2 },
	{ 198, 51, 100, 7, 0xfd, 0, 0x6e, 0x6d, 0, 0, 0, 0, 0, 0, 0, 3 },
};

/* nmd_answer into max bytes, and the answer read back. */
static void check_answer(const struct nmd_query *q, size_t max, int rcode, int naddrs, uint32_t ttl)
{
	static uint8_t out[4096 + 16];
	bool question = q->has_question, addr = question && rcode == NMD_R_NOERROR &&
						     (q->qtype == NMD_T_A || q->qtype == NMD_T_AAAA);
	/* an OPT when the query had one; a header-only answer goes without it
	 * when it does not fit */
	bool has_opt = q->edns && (question || max >= NMD_HDR_LEN + 11);
	size_t alen = q->qtype == NMD_T_A ? 4 : 16;
	size_t need = NMD_HDR_LEN + (question ? q->qwire_len + 4 + (has_opt ? 11 : 0) : 0);
	int want = addr ? (naddrs < NMD_MAX_ADDRS ? naddrs : NMD_MAX_ADDRS) : 0, written = -1;
	size_t n;
	struct rd r;
	uint16_t flags;

	memset(out, 0xee, sizeof(out));
	n = nmd_answer(out, max, q, rcode, addrs, naddrs, ttl, &written);
	CHECK(n <= max, "%zu bytes into %zu", n, max);
	CHECK(out[max] == 0xee, "written past %zu", max);
	CHECK(written >= 0 && written <= want, "written %d of %d", written, want);
	if (!n) {
		CHECK(written == 0, "written %d without an answer", written);
		CHECK(need > max, "no answer though %zu bytes of %zu fit", need, max);
		return;
	}
	CHECK(n >= need, "%zu bytes, the least is %zu", n, need);
	/* as many as fit */
	CHECK(written == want || n + 12 + alen > max, "%d of %d addresses in %zu of %zu", written, want, n, max);

	r = (struct rd){ out, n, 0 };
	CHECK(get16(&r) == q->id, "id");
	flags = get16(&r);
	CHECK((flags & 0x8000) && (flags & 0x0080), "QR, RA clear: %04x", flags);
	CHECK(!(flags & 0x0670), "AA, TC, Z, AD or CD: %04x", flags);
	CHECK((flags & 0x7900) == (q->flags & 0x7900), "opcode, RD %04x for %04x", flags, q->flags);
	CHECK((flags & 0xf) == (rcode & 0xf), "rcode %d for %d", flags & 0xf, rcode);
	CHECK(get16(&r) == (question ? 1 : 0), "qdcount");
	CHECK(get16(&r) == written, "ancount");
	CHECK(get16(&r) == 0, "nscount");
	CHECK(get16(&r) == (has_opt ? 1 : 0), "arcount");
	if (question) {
		CHECK(r.off + q->qwire_len <= n && !memcmp(out + r.off, q->qwire, q->qwire_len),
		      "question name not echoed");
		r.off += q->qwire_len;
		CHECK(get16(&r) == q->qtype && get16(&r) == q->qclass, "question type or class");
	}
	for (int i = 0; i < written; i++) {
		CHECK(get16(&r) == 0xc00c, "record %d: owner", i);
		CHECK(get16(&r) == q->qtype && get16(&r) == NMD_C_IN, "record %d: type, class", i);
		CHECK(get32(&r) == ttl, "record %d: ttl", i);
		CHECK(get16(&r) == alen, "record %d: rdlength", i);
		CHECK(r.off + alen <= n && !memcmp(out + r.off, addrs[i], alen), "record %d: data", i);
		r.off += alen;
	}
	if (has_opt) {
		CHECK(r.off < n && out[r.off] == 0, "OPT owner");
		r.off++;
		CHECK(get16(&r) == NMD_T_OPT && get16(&r) == NMD_UDP_MAX, "OPT type, size");
		CHECK(get32(&r) == (uint32_t)((rcode >> 4) & 0xff) << 24, "OPT extended rcode, version, flags");
		CHECK(get16(&r) == 0, "OPT options");
	}
	CHECK(r.off == n, "%zu bytes after the answer", n - r.off);
	/* an answer is never read as a query */
	{
		struct nmd_query a;

		CHECK(nmd_query_parse(out, n, &a) == NMD_P_DROP, "our answer is not dropped");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t sizes[] = { 0, 11, 12, 100, 512, 4096 };
	struct nmd_query q;
	enum nmd_parse res = nmd_query_parse(data, size, &q);
	/* no address, some, or more than an answer holds (the rest all zero) */
	static const int naddrs[] = { 0, 1, 3, sizeof(addrs) / sizeof(addrs[0]) };
	int rcodes[3], nr = 0;
	uint32_t ttl = size >= 4 ? (uint32_t)data[0] << 24 | (uint32_t)data[size - 2] << 8 | data[size - 3] : 60;

	CHECK(res <= NMD_P_DROP, "result %d", res);
	CHECK((res == NMD_P_DROP) == (size < NMD_HDR_LEN || (data[2] & 0x80)), "DROP for %zu bytes", size);
	CHECK((res == NMD_P_NOTIMP) == (size >= NMD_HDR_LEN && !(data[2] & 0x80) && (data[2] & 0x78)),
	      "NOTIMP for opcode %d", size >= 3 ? (data[2] >> 3) & 0xf : -1);
	CHECK(q.has_question == (res == NMD_P_OK), "has_question %d for %d", q.has_question, res);
	CHECK(q.udp_size >= NMD_UDP_MIN && q.udp_size <= NMD_UDP_MAX, "udp_size %u", q.udp_size);
	switch (res) {
	case NMD_P_OK:
		check_query(data, size, &q);
		rcodes[nr++] = NMD_R_NOERROR;
		rcodes[nr++] = q.edns && q.edns_version ? 16 : NMD_R_NXDOMAIN;
		rcodes[nr++] = NMD_R_REFUSED;
		break;
	case NMD_P_FORMERR:
		CHECK(q.id == rd16(data) && q.flags == rd16(data + 2), "FORMERR: id, flags");
		rcodes[nr++] = NMD_R_FORMERR;
		break;
	case NMD_P_NOTIMP:
		CHECK(q.id == rd16(data) && q.flags == rd16(data + 2), "NOTIMP: id, flags");
		rcodes[nr++] = NMD_R_NOTIMP;
		break;
	case NMD_P_DROP:
		return 0;
	}
	for (int i = 0; i < nr; i++)
		for (size_t a = 0; a < sizeof(naddrs) / sizeof(naddrs[0]); a++) {
			for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++)
				check_answer(&q, sizes[s], rcodes[i], naddrs[a], ttl);
			check_answer(&q, q.udp_size, rcodes[i], naddrs[a], ttl);
		}
	return 0;
}
