// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * answer.c - what nomoat-dns answers.  For a query whose sender the kernel
 * named (server.c), in this order:
 *
 *   a malformed query              FORMERR (no question: NOTIMP for another
 *                                  opcode); a response is never answered
 *   over the sandbox's rate        REFUSED (rate)
 *   no kernel record               REFUSED (no-origin), or --default-policy
 *   a policy not in the file       REFUSED (unknown-policy)
 *   EDNS version other than 0      BADVERS
 *   a class other than IN          REFUSED (class)
 *   not a host name                NXDOMAIN (bad-name): bytes outside
 *                                  [a-z0-9_-] in a label, an IP literal, the
 *                                  root
 *   not on the policy's allowlist  NXDOMAIN (not-allowed), at once
 *   A or AAAA                      the policy's cache, else upstream
 *                                  (cache.c); synthetic: the name's
 *                                  synthetic address
 *   any other type                 NOERROR, no data (type): HTTPS and SVCB
 *                                  too, which would switch ECH on and hide
 *                                  the SNI from the proxy
 *
 * Nothing but A and AAAA of an allowed name ever leaves for upstream.  An
 * upstream answer with an address the policy denies (a rule, or in real
 * mode the default) is refused whole (REFUSED, rebinding).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dns.h"

static const char *const reason_names[NMD_RS__MAX] = {
	[NMD_RS_ANSWER] = "answer",
	[NMD_RS_NOT_ALLOWED] = "not-allowed",
	[NMD_RS_BAD_NAME] = "bad-name",
	[NMD_RS_TYPE] = "type",
	[NMD_RS_CLASS] = "class",
	[NMD_RS_MALFORMED] = "malformed",
	[NMD_RS_OPCODE] = "opcode",
	[NMD_RS_BADVERS] = "edns-version",
	[NMD_RS_NO_ORIGIN] = "no-origin",
	[NMD_RS_UNKNOWN_POLICY] = "unknown-policy",
	[NMD_RS_REBINDING] = "rebinding",
	[NMD_RS_UPSTREAM_FAILED] = "upstream-failed",
	[NMD_RS_UPSTREAM_TIMEOUT] = "upstream-timeout",
	[NMD_RS_RATE] = "rate",
	[NMD_RS_BUSY] = "busy",
	[NMD_RS_SYNTH_FULL] = "synthetic-full",
};

const char *nmd_reason_str(enum nmd_reason r)
{
	return r < NMD_RS__MAX && reason_names[r] ? reason_names[r] : "?";
}

#define RCODE_BADVERS 16

void nmd_reply(struct nmd *S, struct nmd_req *r, int rcode, const uint8_t (*addrs)[16], int naddrs, uint32_t ttl,
	       enum nmd_reason reason, const char *detail)
{
	/* an answer is small: a question and at most NMD_MAX_ADDRS records */
	uint8_t buf[2 + 4096];
	size_t max = r->tcp ? sizeof(buf) - 2 : r->q.udp_size, n;

	n = nmd_answer(buf + 2, max, &r->q, rcode, addrs, naddrs, ttl, NULL);
	if (n) {
		buf[0] = (uint8_t)(n >> 8);
		buf[1] = (uint8_t)n;
		if (r->tcp)
			nmd_send(S, r, buf, n + 2);
		else
			nmd_send(S, r, buf + 2, n);
	}
	if (reason == NMD_RS_ANSWER)
		S->st.answered++;
	else
		S->st.refused[reason]++;
	if (reason != NMD_RS_ANSWER || S->o.log_all) {
		if ((reason == NMD_RS_RATE || reason == NMD_RS_BUSY) && r->has_origin &&
		    !nmd_limits_log_ok(S->lim, r->origin.cgroup_id, nm_svc_now_ms()))
			S->st.log_suppressed++;
		else
			nmd_log_query(S, r, rcode, reason, detail);
	}
	if (r->counted) {
		S->inflight--;
		if (r->has_origin)
			nmd_limits_give(S->lim, r->origin.cgroup_id);
	}
	if (r->tc)
		nmd_tcp_release(S, r->tc);
	free(r);
}

/* The family and bytes of an answer's address as the kernel judges it
 * (IPv4-mapped IPv6 as IPv4). */
static int judged(uint16_t qtype, const uint8_t *a, const uint8_t **bytes)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	if (qtype == NMD_T_A) {
		*bytes = a;
		return 4;
	}
	if (!memcmp(a, mapped, 12)) {
		*bytes = a + 12;
		return 4;
	}
	*bytes = a;
	return 6;
}

void nmd_answer_check(struct nmd *S, const struct nmd_policy *pol, uint16_t qtype, struct nmd_answer *a)
{
	(void)S;
	if (a->rcode != NMD_R_NOERROR || !pol->pt)
		return;
	for (int i = 0; i < a->naddrs; i++) {
		const uint8_t *b;
		int fam = judged(qtype, a->addrs[i], &b);
		const struct nm_rule_entry *e = nm_ptable_lookup(pol->pt, fam, b);
		char addr[INET6_ADDRSTRLEN], rule[NM_CIDR_STRLEN];
		__u8 act;

		/* synthetic: the sandbox never dials the real address, only
		 * the proxy does (through its fence): a deny rule counts, the
		 * policy's default does not */
		if (!e && pol->synthetic)
			continue;
		act = e ? e->action : pol->default_action;
		if (act != NM_ACT_DENY)
			continue;
		inet_ntop(fam == 4 ? AF_INET : AF_INET6, b, addr, sizeof(addr));
		if (e)
			snprintf(a->detail, sizeof(a->detail), "%s is denied by rule %s%s%s", addr,
				 nm_format_cidr(&e->cidr, rule, sizeof(rule)), e->reason && e->reason[0] ? ": " : "",
				 e->reason ? e->reason : "");
		else
			snprintf(a->detail, sizeof(a->detail), "%s is denied by the policy's default", addr);
		a->rcode = NMD_R_REFUSED;
		a->reason = NMD_RS_REBINDING;
		a->naddrs = 0;
		return;
	}
}

void nmd_reply_answer(struct nmd *S, struct nmd_req *r, const struct nmd_answer *a, uint32_t ttl)
{
	struct nmd_policy *pol = r->pol;
	uint8_t syn[1][16] = { { 0 } };
	long slot;

	if (a->rcode != NMD_R_NOERROR) {
		nmd_reply(S, r, a->rcode, NULL, 0, 0, a->rcode == NMD_R_NXDOMAIN ? NMD_RS_ANSWER : a->reason,
			  a->detail);
		return;
	}
	if (!pol->synthetic || !a->naddrs) {
		nmd_reply(S, r, NMD_R_NOERROR, (const uint8_t(*)[16])a->addrs, a->naddrs, ttl, NMD_RS_ANSWER, "");
		return;
	}
	if (pol->synth.fd < 0) {
		nmd_reply(S, r, NMD_R_SERVFAIL, NULL, 0, 0, NMD_RS_SYNTH_FULL, "no table of synthetic names");
		return;
	}
	slot = nm_synth_assign(&pol->synth, r->name, (int64_t)time(NULL), S->o.hold);
	if (slot < 0) {
		nmd_reply(S, r, NMD_R_SERVFAIL, NULL, 0, 0, NMD_RS_SYNTH_FULL,
			  "every synthetic address was handed out within the hold time");
		return;
	}
	S->st.synth_assigned++;
	if (r->q.qtype == NMD_T_A)
		nm_synth_addr4(&pol->synth, (uint32_t)slot, syn[0]);
	else
		nm_synth_addr6(&pol->synth, (uint32_t)slot, syn[0]);
	nmd_reply(S, r, NMD_R_NOERROR, (const uint8_t(*)[16])syn, 1, ttl, NMD_RS_ANSWER, "");
}

void nmd_handle(struct nmd *S, struct nmd_req *r, enum nmd_parse pr)
{
	char why[160], norm[NM_HOST_MAX + 2];
	const char *pname;

	S->st.queries++;
	if (pr == NMD_P_DROP) {
		S->st.refused[NMD_RS_MALFORMED]++;
		r->counted = false;
		if (r->tc)
			nmd_tcp_release(S, r->tc);
		free(r);
		return;
	}
	/* whose it is, first: every line the log writes names the policy */
	if (r->has_origin)
		pname = nm_polnames_get(&S->pols.names, r->origin.policy_id);
	else
		pname = S->o.default_policy;
	r->pol = pname ? nmd_policy_by_name(S, pname) : NULL;
	if (r->pol && !r->pol->live)
		r->pol = NULL;
	if (r->has_origin && !nmd_limits_rate(S->lim, r->origin.cgroup_id, nm_svc_now_ms())) {
		nmd_reply(S, r, NMD_R_REFUSED, NULL, 0, 0, NMD_RS_RATE, "over the sandbox's query rate");
		return;
	}
	if (pr == NMD_P_FORMERR) {
		nmd_reply(S, r, NMD_R_FORMERR, NULL, 0, 0, NMD_RS_MALFORMED, "not a query nomoat-dns reads");
		return;
	}
	if (pr == NMD_P_NOTIMP) {
		nmd_reply(S, r, NMD_R_NOTIMP, NULL, 0, 0, NMD_RS_OPCODE, "only QUERY");
		return;
	}
	if (!r->has_origin && !S->o.default_policy) {
		nmd_reply(S, r, NMD_R_REFUSED, NULL, 0, 0, NMD_RS_NO_ORIGIN,
			  "the kernel has no record of the sender (not redirected by nomoat)");
		return;
	}
	if (!r->pol) {
		snprintf(why, sizeof(why), "policy %s (id %u) is not in the policy file", pname ? pname : "?",
			 r->has_origin ? r->origin.policy_id : 0);
		nmd_reply(S, r, NMD_R_REFUSED, NULL, 0, 0, NMD_RS_UNKNOWN_POLICY, why);
		return;
	}
	if (r->q.edns && r->q.edns_version) {
		nmd_reply(S, r, RCODE_BADVERS, NULL, 0, 0, NMD_RS_BADVERS, "EDNS version 0 only");
		return;
	}
	if (r->q.qclass != NMD_C_IN) {
		nmd_reply(S, r, NMD_R_REFUSED, NULL, 0, 0, NMD_RS_CLASS, "class IN only");
		return;
	}
	if (!r->q.name_ok ||
	    nm_host_norm(r->q.name, strlen(r->q.name), norm, sizeof(norm), why, sizeof(why)) != NM_HOST_NAME) {
		if (!r->q.name_ok) /* else why says what it is */
			snprintf(why, sizeof(why), "not a host name");
		nmd_reply(S, r, NMD_R_NXDOMAIN, NULL, 0, 0, NMD_RS_BAD_NAME, why);
		return;
	}
	memcpy(r->name, norm, strlen(norm) + 1);
	if (!nm_allow_match(&r->pol->allow, r->name, NM_ALLOW_ANY_PORT)) {
		nmd_reply(S, r, NMD_R_NXDOMAIN, NULL, 0, 0, NMD_RS_NOT_ALLOWED, "not on the policy's allowlist");
		return;
	}
	if (r->q.qtype != NMD_T_A && r->q.qtype != NMD_T_AAAA) {
		nmd_reply(S, r, NMD_R_NOERROR, NULL, 0, 0, NMD_RS_TYPE, "an allowed name: A and AAAA only");
		return;
	}
	/* synthetic: no address of a family the policy has no proxy for */
	if (r->pol->synthetic &&
	    !(r->q.qtype == NMD_T_A ? r->pol->has_proxy4 : r->pol->has_proxy6)) {
		nmd_reply(S, r, NMD_R_NOERROR, NULL, 0, 0, NMD_RS_ANSWER, "");
		return;
	}
	nmd_lookup(S, r);
}
