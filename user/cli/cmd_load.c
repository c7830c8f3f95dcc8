// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* load, unload, status */
#include "cli.h"
#include "err.h"
#include "loader.h"
#include "probe.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NM_MAX_FLOWS_LIMIT (1u << 20)

int nm_cmd_load(struct nm_cli *c, int argc, char **argv)
{
	const char *flows_s = NULL;
	struct nm_opt opts[] = { { "max-flows", &flows_s, NULL }, { NULL, NULL, NULL } };
	unsigned long flows = 0;
	bool adopted;
	char *end;
	int n, err;

	err = nm_opts_parse(argc, argv, opts, NULL, 0, &n, NULL, NULL);
	if (err)
		return err;
	if (flows_s) {
		errno = 0;
		flows = strtoul(flows_s, &end, 10);
		if (flows_s[0] < '0' || flows_s[0] > '9' || *end || errno || !flows || flows > NM_MAX_FLOWS_LIMIT)
			return nm_usage("--max-flows '%s': expected a whole number 1..%u", flows_s, NM_MAX_FLOWS_LIMIT);
	}
	err = nm_load_flows(c->pin_dir, &adopted, c->verbose, flows);
	if (err)
		return err;
	if (c->json) {
		nm_json_obj(&c->j, NULL);
		nm_json_str(&c->j, "pin_dir", c->pin_dir);
		nm_json_bool(&c->j, "adopted", adopted);
		nm_json_obj_end(&c->j);
		nm_json_done(&c->j);
	} else {
		printf("%s %s\n", adopted ? "already loaded, adopted:" : "loaded and pinned at", c->pin_dir);
	}
	return 0;
}

int nm_cmd_unload(struct nm_cli *c, int argc, char **argv)
{
	int n, err;

	err = nm_opts_parse(argc, argv, NULL, NULL, 0, &n, NULL, NULL);
	if (err)
		return err;
	err = nm_unload(c->pin_dir);
	if (err)
		return err;
	if (c->json) {
		nm_json_obj(&c->j, NULL);
		nm_json_str(&c->j, "unloaded", c->pin_dir);
		nm_json_obj_end(&c->j);
		nm_json_done(&c->j);
	} else {
		printf("unloaded: %s removed, nothing enforced any more\n", c->pin_dir);
	}
	return 0;
}

int nm_cmd_status(struct nm_cli *c, int argc, char **argv)
{
	struct nm_features fs;
	bool loaded;
	int n, err;

	err = nm_opts_parse(argc, argv, NULL, NULL, 0, &n, NULL, NULL);
	if (err)
		return err;
	nm_probe(&fs);
	loaded = nm_is_loaded(c->pin_dir);
	if (c->json) {
		nm_json_obj(&c->j, NULL);
		nm_json_str(&c->j, "pin_dir", c->pin_dir);
		nm_json_bool(&c->j, "loaded", loaded);
		nm_json_str(&c->j, "cgroup2", fs.cgroup2);
		nm_json_arr(&c->j, "features");
		for (int i = 0; i < NM_F__MAX; i++) {
			nm_json_obj(&c->j, NULL);
			nm_json_str(&c->j, "name", fs.f[i].name);
			nm_json_bool(&c->j, "required", fs.f[i].required);
			nm_json_bool(&c->j, "present", fs.f[i].present);
			nm_json_obj_end(&c->j);
		}
		nm_json_arr_end(&c->j);
		nm_json_arr(&c->j, "attached");
		nm_attach_foreach(c->pin_dir, nm_cli_print_attachment, c);
		nm_json_arr_end(&c->j);
		nm_json_obj_end(&c->j);
		nm_json_done(&c->j);
	} else {
		printf("pin dir: %s (%s)\n", c->pin_dir, loaded ? "loaded" : "not loaded");
		printf("cgroup2: %s\n", fs.cgroup2[0] ? fs.cgroup2 : "not mounted");
		printf("kernel features:\n");
		for (int i = 0; i < NM_F__MAX; i++)
			printf("  [%s] %s%s\n", fs.f[i].present ? "yes" : " no", fs.f[i].name,
			       fs.f[i].required ? "" : " (optional)");
		printf("attached:\n");
		nm_attach_foreach(c->pin_dir, nm_cli_print_attachment, c);
	}
	return nm_probe_require(&fs) ? nm_fail(NM_E_RUNTIME, -ENOTSUP, "%s", nm_err_msg()) : 0;
}
