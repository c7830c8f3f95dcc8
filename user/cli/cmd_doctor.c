// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* doctor: what on this host keeps nomoat from enforcing (doctor.h) */
#include "cli.h"
#include "doctor.h"

#include <stdio.h>

static void print_line(const struct nm_doc_line *l, void *arg)
{
	struct nm_cli *c = arg;

	if (c->json) {
		nm_json_obj(&c->j, NULL);
		nm_json_str(&c->j, "name", l->name);
		nm_json_str(&c->j, "status", nm_doc_status_name(l->status));
		nm_json_str(&c->j, "detail", l->detail);
		nm_json_obj_end(&c->j);
	} else {
		printf("%-4s  %-22s %s\n", nm_doc_status_name(l->status), l->name, l->detail);
	}
}

/* Exit status 1 when any check fails: the host does not (or cannot)
 * police its sandboxes.  Warnings alone are 0. */
int nm_cmd_doctor(struct nm_cli *c, int argc, char **argv)
{
	struct nm_doctor d = { .pin_dir = c->pin_dir, .scope = NM_DOC_ALL, .report = print_line, .arg = c };
	int n, err;

	err = nm_opts_parse(argc, argv, NULL, NULL, 0, &n, NULL, NULL);
	if (err)
		return err;
	if (c->json) {
		nm_json_obj(&c->j, NULL);
		nm_json_arr(&c->j, "checks");
	}
	nm_doctor_run(&d);
	if (c->json) {
		nm_json_arr_end(&c->j);
		nm_json_u64(&c->j, "ok", d.n[NM_DOC_OK]);
		nm_json_u64(&c->j, "warn", d.n[NM_DOC_WARN]);
		nm_json_u64(&c->j, "fail", d.n[NM_DOC_FAIL]);
		nm_json_obj_end(&c->j);
		nm_json_done(&c->j);
	} else {
		printf("%u ok, %u warn, %u fail\n", d.n[NM_DOC_OK], d.n[NM_DOC_WARN], d.n[NM_DOC_FAIL]);
	}
	return d.n[NM_DOC_FAIL] ? NM_EXIT_RUNTIME : NM_EXIT_OK;
}
