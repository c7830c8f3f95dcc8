/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The nomoat CLI: bpftool-style "OBJECT VERB ARGS", -j for JSON. */
#ifndef NM_CLI_H
#define NM_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include "json.h"
#include "pins.h"

/* Exit statuses. */
#define NM_EXIT_OK      0
#define NM_EXIT_RUNTIME 1
#define NM_EXIT_USAGE   2

struct nm_cli {
	const char *pin_dir;
	bool json, pretty, verbose;
	struct nm_json j;
	const char *object; /* the OBJECT word being run ("deny", "policy", ...) */
};

/*
 * A command table, as bpftool's cmds[]: the objects, or one object's verbs;
 * it ends with an entry whose name is NULL.  An entry runs fn with the words
 * after its name, or, for an object with verbs, picks one from its table.
 * Names match exactly.  "help" or "--help" in place of a verb prints the
 * table's usage, "--help" right after a verb (or "help" right after an
 * object) that entry's; to stdout, exit status 0.  One dispatcher
 * (nm_cli_main's) runs every table.
 */
struct nm_cmd {
	const char *name;
	int (*fn)(struct nm_cli *c, int argc, char **argv);
	const struct nm_cmd *verbs; /* instead of fn: the object's verbs */
	const char *usage;          /* its arguments: "NAME [--rules FILE]" */
	const char *about;          /* what it does, one line */
	const char *notes;          /* an object's: lines after its verbs' usage */
};

/* The options before OBJECT, for getopt_long (the fuzz target reads them
 * the same way). */
extern const char nm_cli_shortopts[];
extern const struct option nm_cli_longopts[];

/* Run the CLI on argv (argv[0] is the program name); returns the exit
 * status.  Every verb validates all its input before it touches the
 * kernel, so a rejected command changes nothing. */
int nm_cli_main(int argc, char **argv);

/* Options of a verb: "--name VALUE", "--name=VALUE" or a "--flag". */
struct nm_opt {
	const char *name;     /* without the dashes */
	const char **val;     /* set for an option with a value */
	bool *flag;           /* set for a flag */
};

/* Split args into options and at most maxpos positional words; "--" ends
 * option parsing and, with rest != NULL, leaves what follows in *rest.
 * Returns 0 or a usage error (message recorded, see err.h). */
int nm_opts_parse(int argc, char **argv, const struct nm_opt *opts, char **pos, int maxpos, int *npos,
		  char ***rest, int *nrest);

/* Print the recorded error as one line (JSON in -j mode); returns the exit
 * status for it. */
int nm_cli_error(struct nm_cli *c);
/* Record a usage error and return NM_EXIT_USAGE's error code. */
int nm_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

struct nm_attachment;
/* Print one attach point (an nm_attach_foreach callback; arg is the cli). */
int nm_cli_print_attachment(const struct nm_attachment *a, void *arg);

/* Open the maps, or print why not. */
int nm_cli_maps(struct nm_cli *c, struct nm_maps *m);

/* Objects with verbs: their tables (and the notes under their usage). */
extern const struct nm_cmd nm_policy_verbs[], nm_action_verbs[], nm_rule_verbs[], nm_cgroup_verbs[];
extern const char nm_policy_notes[], nm_target_notes[], nm_rule_notes[];

/* Objects without verbs. */
int nm_cmd_load(struct nm_cli *c, int argc, char **argv);
int nm_cmd_unload(struct nm_cli *c, int argc, char **argv);
int nm_cmd_status(struct nm_cli *c, int argc, char **argv);
int nm_cmd_check(struct nm_cli *c, int argc, char **argv);
int nm_cmd_run(struct nm_cli *c, int argc, char **argv);
int nm_cmd_events(struct nm_cli *c, int argc, char **argv);
int nm_cmd_stats(struct nm_cli *c, int argc, char **argv);
int nm_cmd_reload(struct nm_cli *c, int argc, char **argv);
int nm_cmd_oci_hook(struct nm_cli *c, int argc, char **argv);
int nm_cmd_doctor(struct nm_cli *c, int argc, char **argv);

#endif
