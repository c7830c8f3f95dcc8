// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* wire.c - reading DNS queries and writing answers (wire.h). */
#include "wire.h"

#include <stdio.h>
#include <string.h>

#include "hostname.h"

#define F_QR     0x8000
#define F_OPCODE 0x7800
#define F_RD     0x0100
#define F_RA     0x0080

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void wr32(uint8_t *p, uint32_t v)
{
	wr16(p, (uint16_t)(v >> 16));
	wr16(p + 2, (uint16_t)v);
}

/* The question's name at *off: into q->qwire as sent and q->name as text.
 * 0, or -1 when it is not a name a question may hold (a pointer, a label
 * type other than a plain label, longer than 255 bytes, cut short). */
static int read_qname(const uint8_t *m, size_t len, size_t *off, struct nmd_query *q)
{
	size_t o = *off, t = 0;
	bool ok = true;

	for (;;) {
		uint8_t l;

		if (o >= len)
			return -1;
		l = m[o];
		if (l == 0) {
			o++;
			break;
		}
		if (l & 0xc0) /* a compression pointer (or a reserved label type) */
			return -1;
		if (o + 1 + l > len || o + 1 + l + 1 - *off > NMD_NAME_WIRE_MAX)
			return -1;
		if (t)
			q->name[t++] = '.';
		for (size_t i = o + 1; i <= o + l; i++) {
			unsigned char c = m[i];

			if (c >= 'A' && c <= 'Z')
				c = (unsigned char)(c - 'A' + 'a');
			if (nm_host_char_ok(c)) {
				q->name[t++] = (char)c;
			} else {
				/* dig's escape: a name that is not a host name, shown */
				t += (size_t)snprintf(q->name + t, 5, "\\%03u", m[i]);
				ok = false;
			}
		}
		o += 1 + l;
	}
	q->qwire_len = o - *off;
	memcpy(q->qwire, m + *off, q->qwire_len);
	if (q->qwire_len == 1) {
		memcpy(q->name, ".", 2);
		ok = false;
	} else {
		q->name[t] = 0;
	}
	q->name_ok = ok && t <= NM_HOST_MAX;
	*off = o;
	return 0;
}

/* Skip a record's owner name (pointers allowed, outside the question). */
static int skip_name(const uint8_t *m, size_t len, size_t *off, bool *root)
{
	size_t o = *off;

	*root = o < len && m[o] == 0;
	for (int labels = 0; labels < 128; labels++) {
		uint8_t l;

		if (o >= len)
			return -1;
		l = m[o];
		if (l == 0) {
			*off = o + 1;
			return 0;
		}
		if ((l & 0xc0) == 0xc0) {
			if (o + 2 > len)
				return -1;
			*off = o + 2;
			return 0;
		}
		if (l & 0xc0)
			return -1;
		o += 1 + l;
	}
	return -1;
}

enum nmd_parse nmd_query_parse(const uint8_t *m, size_t len, struct nmd_query *q)
{
	size_t off = NMD_HDR_LEN;
	uint16_t ar;

	memset(q, 0, sizeof(*q));
	q->udp_size = NMD_UDP_MIN;
	if (len < NMD_HDR_LEN)
		return NMD_P_DROP;
	q->id = rd16(m);
	q->flags = rd16(m + 2);
	if (q->flags & F_QR) /* a response: never answered (no loops) */
		return NMD_P_DROP;
	if (q->flags & F_OPCODE)
		return NMD_P_NOTIMP;
	ar = rd16(m + 10);
	if (rd16(m + 4) != 1 || rd16(m + 6) || rd16(m + 8) || ar > NMD_MAX_ADDITIONAL)
		return NMD_P_FORMERR;
	if (read_qname(m, len, &off, q) || off + 4 > len)
		return NMD_P_FORMERR;
	q->qtype = rd16(m + off);
	q->qclass = rd16(m + off + 2);
	off += 4;
	for (uint16_t i = 0; i < ar; i++) {
		uint16_t type, class, rdlen;
		uint32_t ttl;
		bool root;

		if (skip_name(m, len, &off, &root) || off + 10 > len)
			return NMD_P_FORMERR;
		type = rd16(m + off);
		class = rd16(m + off + 2);
		ttl = (uint32_t)rd16(m + off + 4) << 16 | rd16(m + off + 6);
		rdlen = rd16(m + off + 8);
		off += 10;
		if (off + rdlen > len)
			return NMD_P_FORMERR;
		if (type == NMD_T_OPT) {
			if (q->edns || !root)
				return NMD_P_FORMERR;
			q->edns = true;
			q->udp_size = class < NMD_UDP_MIN ? NMD_UDP_MIN : class > NMD_UDP_MAX ? NMD_UDP_MAX : class;
			q->edns_version = (uint8_t)(ttl >> 16);
			q->edns_options = rdlen > 0;
		}
		off += rdlen;
	}
	if (off != len) /* bytes after the last record */
		return NMD_P_FORMERR;
	q->has_question = true;
	return NMD_P_OK;
}

size_t nmd_answer(uint8_t *out, size_t max, const struct nmd_query *q, int rcode, const uint8_t (*addrs)[16],
		  int naddrs, uint32_t ttl, int *written)
{
	size_t off = NMD_HDR_LEN, opt = q->edns ? 11 : 0;
	bool question = q->has_question && q->qwire_len;
	size_t alen = q->qtype == NMD_T_A ? 4 : 16;
	int n = 0;

	if (written)
		*written = 0;
	if (max < NMD_HDR_LEN)
		return 0;
	memset(out, 0, NMD_HDR_LEN);
	wr16(out, q->id);
	wr16(out + 2, (uint16_t)(F_QR | (q->flags & (F_OPCODE | F_RD)) | F_RA | (rcode & 0xf)));
	if (question) {
		if (off + q->qwire_len + 4 + opt > max)
			return 0;
		wr16(out + 4, 1);
		memcpy(out + off, q->qwire, q->qwire_len);
		off += q->qwire_len;
		wr16(out + off, q->qtype);
		wr16(out + off + 2, q->qclass);
		off += 4;
	}
	if (question && rcode == NMD_R_NOERROR && (q->qtype == NMD_T_A || q->qtype == NMD_T_AAAA)) {
		for (int i = 0; i < naddrs && n < NMD_MAX_ADDRS; i++) {
			if (off + 12 + alen + opt > max)
				break;
			wr16(out + off, 0xc000 | NMD_HDR_LEN); /* the question's name */
			wr16(out + off + 2, q->qtype);
			wr16(out + off + 4, NMD_C_IN);
			wr32(out + off + 6, ttl);
			wr16(out + off + 10, (uint16_t)alen);
			memcpy(out + off + 12, addrs[i], alen);
			off += 12 + alen;
			n++;
		}
	}
	wr16(out + 6, (uint16_t)n);
	if (opt && off + opt <= max) {
		/* our own OPT: root owner, our size, the extended rcode, no options */
		out[off] = 0;
		wr16(out + off + 1, NMD_T_OPT);
		wr16(out + off + 3, NMD_UDP_MAX);
		wr32(out + off + 5, (uint32_t)((rcode >> 4) & 0xff) << 24);
		wr16(out + off + 9, 0);
		off += opt;
		wr16(out + 10, 1);
	}
	if (written)
		*written = n;
	return off;
}

const char *nmd_type_str(uint16_t t, char *buf, size_t len)
{
	static const struct {
		uint16_t t;
		const char *s;
	} names[] = {
		{ NMD_T_A, "A" },       { NMD_T_NS, "NS" },     { NMD_T_CNAME, "CNAME" }, { NMD_T_SOA, "SOA" },
		{ NMD_T_NULL, "NULL" }, { NMD_T_PTR, "PTR" },   { NMD_T_MX, "MX" },       { NMD_T_TXT, "TXT" },
		{ NMD_T_AAAA, "AAAA" }, { NMD_T_SRV, "SRV" },   { NMD_T_OPT, "OPT" },     { NMD_T_SVCB, "SVCB" },
		{ NMD_T_HTTPS, "HTTPS" }, { NMD_T_AXFR, "AXFR" }, { NMD_T_ANY, "ANY" },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].t == t)
			return names[i].s;
	snprintf(buf, len, "TYPE%u", t);
	return buf;
}

const char *nmd_rcode_str(int rcode, char *buf, size_t len)
{
	static const char *const names[] = { "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED" };

	if (rcode >= 0 && rcode < (int)(sizeof(names) / sizeof(names[0])))
		return names[rcode];
	if (rcode == 16)
		return "BADVERS";
	snprintf(buf, len, "RCODE%d", rcode);
	return buf;
}
