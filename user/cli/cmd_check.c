// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* check ADDR [PORT] --policy NAME [--proto tcp|udp] */
#include "cli.h"
#include "err.h"
#include "parse.h"
#include "policy.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

int nm_cmd_check(struct nm_cli *c, int argc, char **argv)
{
	const char *policy = NULL, *proto_s = NULL;
	struct nm_opt opts[] = {
		{ "policy", &policy, NULL },
		{ "proto", &proto_s, NULL },
		{ NULL, NULL, NULL },
	};
	char err[NM_ERR_LEN], *pos[2], dst[NM_CIDR_STRLEN], rule[NM_CIDR_STRLEN] = "", ndst[NM_CIDR_STRLEN] = "";
	char reason[NM_REASON_LEN] = "";
	struct nm_cidr d;
	struct nm_check r;
	struct nm_maps m;
	__u8 proto = IPPROTO_TCP;
	__u32 id;
	int n, ret;

	ret = nm_opts_parse(argc, argv, opts, pos, 2, &n, NULL, NULL);
	if (ret)
		return ret;
	if (n < 1)
		return nm_usage("check needs an ADDR (and optionally a PORT)");
	if (!policy)
		return nm_usage("check needs --policy NAME");
	if (proto_s && nm_parse_proto(proto_s, &proto, err, sizeof(err)))
		return nm_usage("%s", err);
	if (nm_parse_cidr(pos[0], &d, err, sizeof(err)))
		return nm_usage("%s", err);
	if (d.prefixlen != (d.family == 4 ? 32 : 128))
		return nm_usage("'%s': check takes a single address, not a prefix", pos[0]);
	if (n == 2) {
		if (d.port)
			return nm_usage("'%s': port given twice", pos[1]);
		if (nm_parse_port(pos[1], &d.port, err, sizeof(err)))
			return nm_usage("%s", err);
	}
	ret = nm_cli_maps(c, &m);
	if (ret)
		return ret;
	ret = nm_policy_lookup(&m, policy, &id, NULL);
	if (!ret)
		ret = nm_check(&m, id, &d, proto, &r);
	if (ret)
		goto out;
	nm_format_cidr(&d, dst, sizeof(dst));
	if (r.has_rule) {
		nm_format_cidr(&r.rule, rule, sizeof(rule));
		nm_rule_reason(&m, id, &r.rule, reason, sizeof(reason));
	}
	if (r.action == NM_ACT_REDIRECT)
		nm_format_addr16(r.new_addr, r.new_addr[2] == htonl(0xffff) && !r.new_addr[0] && !r.new_addr[1] ? 4 : 6,
				 r.new_port, ndst, sizeof(ndst));
	if (c->json) {
		nm_json_obj(&c->j, NULL);
		nm_json_str(&c->j, "dst", dst);
		nm_json_str(&c->j, "proto", nm_proto_name(proto));
		nm_json_str(&c->j, "policy", policy);
		nm_json_str(&c->j, "verdict", nm_verdict_name(r.verdict));
		nm_json_str(&c->j, "action", nm_action_name(r.action));
		nm_json_str(&c->j, "reason", nm_reason_name(r.reason));
		nm_json_str(&c->j, "rule", rule);
		nm_json_str(&c->j, "reason_text", reason);
		nm_json_str(&c->j, "new_dst", ndst);
		nm_json_obj_end(&c->j);
		nm_json_done(&c->j);
	} else {
		printf("%s %s/%s: %s (%s%s%s)%s%s%s%s\n", policy, dst, nm_proto_name(proto), nm_verdict_name(r.verdict),
		       nm_reason_name(r.reason), rule[0] ? " " : "", rule, ndst[0] ? " -> " : "", ndst,
		       reason[0] ? "  # " : "", reason);
	}
out:
	nm_maps_close(&m);
	return ret;
}
