// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* stats: the counters of nm_stats_snapshot (state.h), which nomoatd's
 * /metrics serves too */
#include "cli.h"
#include "err.h"
#include "parse.h"
#include "state.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

static void print_row(struct nm_cli *c, const struct nm_stats_row *r)
{
	const char *name = r->policy_id ? r->name : "(no policy)";

	if (c->json) {
		nm_json_obj(&c->j, NULL);
		nm_json_str(&c->j, "policy", name);
		nm_json_u64(&c->j, "policy_id", r->policy_id);
		for (__u32 i = 0; i < NM_V__MAX; i++)
			nm_json_u64(&c->j, nm_verdict_name(i), r->v[i]);
		nm_json_obj_end(&c->j);
	} else {
		printf("  %-20s", name);
		for (__u32 i = 0; i < NM_V__MAX; i++)
			printf(" %s=%llu", nm_verdict_name(i), (unsigned long long)r->v[i]);
		printf("\n");
	}
}

int nm_cmd_stats(struct nm_cli *c, int argc, char **argv)
{
	struct nm_stats_snap *s;
	struct nm_maps m;
	int n, ret;

	ret = nm_opts_parse(argc, argv, NULL, NULL, 0, &n, NULL, NULL);
	if (ret)
		return ret;
	ret = nm_cli_maps(c, &m);
	if (ret)
		return ret;
	s = calloc(1, sizeof(*s));
	if (!s) {
		nm_maps_close(&m);
		return nm_fail(NM_E_RUNTIME, -ENOMEM, "stats: out of memory");
	}
	nm_stats_snapshot(&m, s);
	nm_maps_close(&m);
	if (c->json) {
		nm_json_obj(&c->j, NULL);
		nm_json_arr(&c->j, "policies");
	} else {
		printf("decisions:\n");
	}
	for (size_t i = 0; i < s->nrows; i++)
		print_row(c, &s->rows[i]);
	if (c->json) {
		nm_json_arr_end(&c->j);
		nm_json_obj(&c->j, "global");
	} else {
		printf("global:\n");
	}
	for (__u32 i = 0; i < NM_G__MAX; i++) {
		if (c->json)
			nm_json_u64(&c->j, nm_gstat_name(i), s->g[i]);
		else
			printf("  %-22s %llu\n", nm_gstat_name(i), (unsigned long long)s->g[i]);
	}
	if (c->json) {
		nm_json_u64(&c->j, "flows_live", s->flows_live);
		nm_json_obj_end(&c->j);
		nm_json_obj_end(&c->j);
		nm_json_done(&c->j);
	} else {
		printf("  %-22s %llu\n", "flows_live", (unsigned long long)s->flows_live);
	}
	free(s);
	return 0;
}
