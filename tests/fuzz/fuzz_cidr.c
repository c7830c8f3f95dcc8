// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libFuzzer target: the text parsers of user/lib/parse.c (rule targets,
 * endpoints, ports, enum words, policy names) and the rules text parser
 * nm_ruleset_parse, all on every input.
 *
 * Besides crashes it checks what the parsers promise: an accepted target
 * has no host bits, formats to text that parses back to the same value
 * (and formats the same again), survives the LPM key round trip and
 * contains its own address; an endpoint is accepted exactly when the target
 * is a single address with a port; the number and word parsers agree with
 * simple reference versions; a rejection leaves the output untouched and
 * writes one printable line starting with the quoted input; any address
 * the event formatter prints parses back to itself.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "err.h"
#include "parse.h"
#include "policy.h"

#include "fuzz_check.h"

/* A parser's error message: one printable line, quoting the input first. */
static void check_msg(const char *what, const char *in, const char *err)
{
	size_t n = strlen(err);

	CHECK(n > 0, "%s('%s'): rejected without a message", what, in);
	CHECK(n < NM_ERR_LEN - 1, "%s('%s'): message may be cut: %s", what, in, err);
	CHECK(err[0] == '\'', "%s('%s'): message does not quote the input: %s", what, in, err);
	for (size_t i = 0; i < n; i++)
		CHECK((unsigned char)err[i] >= 0x20 && (unsigned char)err[i] < 0x7f,
		      "%s: byte 0x%02x in the message: %s", what, (unsigned char)err[i], err);
}

static bool is_v4mapped(const __u8 a[16])
{
	static const __u8 pfx[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	return !memcmp(a, pfx, sizeof(pfx));
}

/* Everything an accepted rule target must satisfy. */
static void check_cidr(const char *in, const struct nm_cidr *c)
{
	unsigned int max = c->family == 4 ? 32 : 128;
	char txt[NM_CIDR_STRLEN], txt2[NM_CIDR_STRLEN], err[NM_ERR_LEN];
	struct nm_cidr m = *c, back;
	struct nm_key4 k4;
	struct nm_key6 k6;
	struct nm_rule r;
	__u32 a16[4];

	CHECK(c->family == 4 || c->family == 6, "'%s': family %u", in, c->family);
	CHECK(c->prefixlen <= max, "'%s': prefix /%u", in, c->prefixlen);
	CHECK(!c->port || c->prefixlen == max, "'%s': port %u on a /%u", in, c->port, c->prefixlen);
	if (c->family == 4)
		for (int i = 4; i < 16; i++)
			CHECK(!c->addr[i], "'%s': IPv4 with addr[%d] set", in, i);
	else
		CHECK(!is_v4mapped(c->addr), "'%s': an IPv4-mapped address kept as IPv6", in);
	nm_cidr_mask(&m);
	CHECK(!memcmp(&m, c, sizeof(m)), "'%s': host bits set after parsing", in);
	CHECK(nm_cidr_contains(c, c->addr, c->port ? c->port : 1), "'%s': does not contain itself", in);

	/* text round trip: format, parse back, format again */
	nm_format_cidr(c, txt, sizeof(txt));
	CHECK(strlen(txt) < sizeof(txt) - 1, "'%s': formatted text may be cut", in);
	memset(err, 0, sizeof(err));
	CHECK(!nm_parse_cidr(txt, &back, err, sizeof(err)), "'%s': formatted as '%s', which is rejected: %s", in,
	      txt, err);
	CHECK(!memcmp(&back, c, sizeof(back)), "'%s': formatted as '%s', which parses to another value", in, txt);
	nm_format_cidr(&back, txt2, sizeof(txt2));
	CHECK(!strcmp(txt, txt2), "'%s': formats as '%s', then as '%s'", in, txt, txt2);

	/* LPM key and rule value round trip */
	if (c->family == 4) {
		nm_cidr_to_key4(c, &k4);
		nm_key4_to_cidr(&k4, &back);
	} else {
		nm_cidr_to_key6(c, &k6);
		nm_key6_to_cidr(&k6, &back);
	}
	CHECK(!memcmp(&back, c, sizeof(back)), "'%s': LPM key round trip changed it", in);
	nm_cidr_to_rule(c, NM_ACT_DENY, 7, &r);
	CHECK(r.prefixlen == c->prefixlen && ntohs(r.port) == c->port, "'%s': rule value differs", in);

	/* a single address formats the same through the event formatter */
	if (c->prefixlen == max) {
		memset(a16, 0, sizeof(a16));
		if (c->family == 4) {
			a16[2] = htonl(0xffff);
			memcpy(&a16[3], c->addr, 4);
		} else {
			memcpy(a16, c->addr, 16);
		}
		nm_format_addr16(a16, c->family, htons(c->port), txt2, sizeof(txt2));
		CHECK(!strcmp(txt, txt2), "'%s': '%s' but the event formatter says '%s'", in, txt, txt2);
	}
}

/* Reference port parser: 1..65535, digits only, no leading zero. */
static bool ref_port(const char *s, unsigned *v)
{
	size_t n = strlen(s);

	if (!n || n > 5 || s[0] == '0')
		return false;
	*v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		*v = *v * 10 + (unsigned)(s[i] - '0');
	}
	return *v >= 1 && *v <= 65535;
}

/* Reference policy name check. */
static bool ref_name(const char *s)
{
	size_t n = strlen(s);

	if (!n || n >= NM_POLICY_NAME_LEN)
		return false;
	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || strchr("_.-", s[i])))
			return false;
	return true;
}

static void fuzz_target(const char *s)
{
	char err[NM_ERR_LEN];
	struct nm_cidr c, sentinel;
	struct nm_ep4 e4, e4s;
	struct nm_ep6 e6, e6s;
	bool ok;
	int fam, rc;

	memset(&sentinel, 0xa5, sizeof(sentinel));
	c = sentinel;
	memset(err, 0, sizeof(err));
	rc = nm_parse_cidr(s, &c, err, sizeof(err));
	CHECK(rc == 0 || rc == -EINVAL, "'%s': rc %d", s, rc);
	ok = rc == 0;
	if (ok) {
		check_cidr(s, &c);
	} else {
		CHECK(!memcmp(&c, &sentinel, sizeof(c)), "'%s': output written on error", s);
		check_msg("nm_parse_cidr", s, err);
	}

	/* endpoints: a single address with a port, in an allowed family */
	for (int allow = 0; allow < 3; allow++) {
		bool want = ok && c.port && (allow == 0 || (allow == 1) == (c.family == 4));

		memset(&e4, 0x5a, sizeof(e4));
		memset(&e6, 0x5a, sizeof(e6));
		e4s = e4;
		e6s = e6;
		fam = -1;
		memset(err, 0, sizeof(err));
		rc = nm_parse_endpoint(s, &fam, allow != 2 ? &e4 : NULL, allow != 1 ? &e6 : NULL, err, sizeof(err));
		CHECK(!rc == want, "'%s': endpoint (allow %d) rc %d, target rc %d port %u", s, allow, rc, ok ? 0 : -1,
		      ok ? c.port : 0);
		if (rc) {
			check_msg("nm_parse_endpoint", s, err);
			CHECK(fam == -1 && !memcmp(&e4, &e4s, sizeof(e4)) && !memcmp(&e6, &e6s, sizeof(e6)),
			      "'%s': endpoint output written on error", s);
			continue;
		}
		CHECK(fam == c.family, "'%s': endpoint family %d, target %u", s, fam, c.family);
		if (fam == 4)
			CHECK(!memcmp(&e4.addr, c.addr, 4) && ntohs(e4.port) == c.port && !memcmp(&e6, &e6s, sizeof(e6)),
			      "'%s': endpoint differs from the target", s);
		else
			CHECK(!memcmp(e6.addr, c.addr, 16) && ntohs(e6.port) == c.port && !memcmp(&e4, &e4s, sizeof(e4)),
			      "'%s': endpoint differs from the target", s);
	}
}

static void fuzz_words(const char *s)
{
	static const struct {
		int (*parse)(const char *, __u8 *, char *, size_t);
		const char *(*name)(__u8);
		const char *what;
	} words[] = {
		{ nm_parse_action, nm_action_name, "action" },
		{ nm_parse_mode, nm_mode_name, "mode" },
		{ nm_parse_evlevel, nm_evlevel_name, "evlevel" },
	};
	char err[NM_ERR_LEN];
	unsigned ref;
	__u16 port = 0xa5a5;
	__u8 v;
	int rc;

	memset(err, 0, sizeof(err));
	rc = nm_parse_port(s, &port, err, sizeof(err));
	CHECK(!rc == ref_port(s, &ref), "'%s': port rc %d", s, rc);
	if (rc) {
		CHECK(port == 0xa5a5, "'%s': port written on error", s);
		check_msg("nm_parse_port", s, err);
	} else {
		CHECK(port == ref, "'%s': port %u, want %u", s, port, ref);
	}

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		v = 0xee;
		memset(err, 0, sizeof(err));
		rc = words[i].parse(s, &v, err, sizeof(err));
		if (rc) {
			CHECK(v == 0xee, "'%s': %s written on error", s, words[i].what);
			check_msg(words[i].what, s, err);
		} else {
			CHECK(!strcmp(words[i].name(v), s), "'%s': %s %u named '%s'", s, words[i].what, v,
			      words[i].name(v));
		}
	}

	v = 0xee;
	memset(err, 0, sizeof(err));
	rc = nm_parse_proto(s, &v, err, sizeof(err));
	if (rc)
		check_msg("nm_parse_proto", s, err);
	else
		CHECK(!strcmp(nm_proto_name(v), s), "'%s': proto %u named '%s'", s, v, nm_proto_name(v));

	memset(err, 0, sizeof(err));
	rc = nm_parse_policy_name(s, err, sizeof(err));
	CHECK(!rc == ref_name(s), "'%s': policy name rc %d", s, rc);
	if (rc)
		check_msg("nm_parse_policy_name", s, err);
}

/* Rules text: what is accepted is a list of valid rules, line by line. */
static void fuzz_rules(const char *text)
{
	struct nm_ruleset rs = { 0 };
	int rc, last = 0;

	nm_err_clear();
	rc = nm_ruleset_parse(text, "fuzz", &rs);
	if (rc) {
		CHECK(rc == -EINVAL, "rules: rc %d", rc);
		CHECK(rs.n == 0 && !rs.v, "rules: entries kept after an error");
		CHECK(!strncmp(nm_err_msg(), "fuzz:", 5), "rules: message without its origin: %s", nm_err_msg());
		CHECK(!strchr(nm_err_msg(), '\n'), "rules: message of several lines: %s", nm_err_msg());
		return;
	}
	for (size_t i = 0; i < rs.n; i++) {
		const struct nm_rule_entry *e = &rs.v[i];

		CHECK(e->action >= NM_ACT_DENY && e->action <= NM_ACT_REDIRECT, "rules: action %u", e->action);
		CHECK(e->line > last, "rules: line %d after line %d", e->line, last);
		last = e->line;
		CHECK(!e->reason || (e->reason[0] && strlen(e->reason) < NM_REASON_LEN && !strchr(e->reason, '\n')),
		      "rules: reason '%s'", e->reason);
		check_cidr("(rule)", &e->cidr);
	}
	nm_ruleset_free(&rs);
}

/* Any event address the formatter prints is a target the parser reads
 * back to the same address and port (input bytes: 16 address, 2 port, 1
 * family). */
static void fuzz_addr16(const uint8_t *data, size_t size)
{
	char txt[NM_CIDR_STRLEN], err[NM_ERR_LEN];
	struct nm_cidr c;
	__u32 a[4];
	__u16 port_be;
	__u8 fam;

	if (size < 19)
		return;
	memcpy(a, data, 16);
	memcpy(&port_be, data + 16, 2);
	fam = data[18] & 1 ? 4 : 6;
	nm_format_addr16(a, fam, port_be, txt, sizeof(txt));
	memset(err, 0, sizeof(err));
	CHECK(!nm_parse_cidr(txt, &c, err, sizeof(err)), "event address '%s' does not parse: %s", txt, err);
	CHECK(c.port == ntohs(port_be), "'%s': port %u, want %u", txt, c.port, ntohs(port_be));
	if (is_v4mapped((const __u8 *)a))
		CHECK(c.family == 4 && c.prefixlen == 32 && !memcmp(c.addr, (const __u8 *)a + 12, 4), "'%s'", txt);
	else
		CHECK(c.family == 6 && c.prefixlen == 128 && !memcmp(c.addr, a, 16), "'%s'", txt);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* an exact-size copy, so that ASan sees any read past the end */
	char *s = malloc(size + 1);

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = 0;
	fuzz_target(s);
	fuzz_words(s);
	fuzz_rules(s);
	fuzz_addr16(data, size);
	free(s);
	return 0;
}
