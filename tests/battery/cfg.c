/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * cfg.c - what the harness tells the agent, as "key=value" arguments of the
 * re-executed binary (the agent inherits no memory from the harness, only
 * its arguments and the descriptors of the passers), and the pass names.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "battery.h"

const char *const nmb_pass_name[NMB_PASS__MAX] = {
	[NMB_CONTROL] = "control",
	[NMB_ROOT] = "root",
	[NMB_USER] = "user",
	[NMB_BACKSTOP] = "backstop",
};

/* The string fields, by key. */
#define STR_FIELDS(c)                                                                          \
	{ "cgmount", (c)->cgmount, sizeof((c)->cgmount) },                                    \
	{ "cg_free", (c)->cg_free, sizeof((c)->cg_free) },                                    \
	{ "cg_attach", (c)->cg_attach, sizeof((c)->cg_attach) },                              \
	{ "pin_link", (c)->pin_link, sizeof((c)->pin_link) },                                 \
	{ "pin_dir", (c)->pin_dir, sizeof((c)->pin_dir) },                                    \
	{ "run_dir", (c)->run_dir, sizeof((c)->run_dir) },                                    \
	{ "world_ns", (c)->world_ns, sizeof((c)->world_ns) },                                 \
	{ "cdev", (c)->cdev, sizeof((c)->cdev) }

struct str_field {
	const char *key;
	char *val;
	size_t len;
};

static bool parse_int(const char *s, long *v)
{
	char *end;

	*v = strtol(s, &end, 10);
	return *s && !*end;
}

bool nmb_cfg_parse(struct nmb_cfg *c, int argc, char **argv)
{
	struct str_field sf[] = { STR_FIELDS(c) };

	memset(c, 0, sizeof(*c));
	c->pass = NMB_PASS__MAX;
	c->sib_fd = c->free_fd = -1;
	for (int i = 0; i < argc; i++) {
		char *eq = strchr(argv[i], '=');
		const char *v;
		size_t kl;
		long n;
		bool done = false;

		if (!eq) {
			fprintf(stderr, "agent: bad argument '%s'\n", argv[i]);
			return false;
		}
		kl = eq - argv[i];
		v = eq + 1;
		for (size_t k = 0; k < sizeof(sf) / sizeof(sf[0]) && !done; k++) {
			if (strlen(sf[k].key) == kl && !strncmp(argv[i], sf[k].key, kl)) {
				snprintf(sf[k].val, sf[k].len, "%s", v);
				done = true;
			}
		}
		if (done)
			continue;
		if (!strncmp(argv[i], "pass=", 5)) {
			for (int p = 0; p < NMB_PASS__MAX; p++)
				if (!strcmp(v, nmb_pass_name[p]))
					c->pass = p;
		} else if (!strncmp(argv[i], "sib_fd=", 7) && parse_int(v, &n)) {
			c->sib_fd = (int)n;
		} else if (!strncmp(argv[i], "free_fd=", 8) && parse_int(v, &n)) {
			c->free_fd = (int)n;
		} else if (!strncmp(argv[i], "free_pid=", 9) && parse_int(v, &n)) {
			c->free_pid = (pid_t)n;
		} else {
			fprintf(stderr, "agent: bad argument '%s'\n", argv[i]);
			return false;
		}
	}
	if (c->pass == NMB_PASS__MAX) {
		fprintf(stderr, "agent: no pass=\n");
		return false;
	}
	return true;
}

int nmb_cfg_format(const struct nmb_cfg *c, char **argv, int max, char *buf, size_t len)
{
	struct str_field sf[] = { STR_FIELDS((struct nmb_cfg *)c) };
	size_t used = 0;
	int n = 0;

#define ADD(...)                                                                 \
	do {                                                                     \
		int w_;                                                          \
		if (n >= max - 1 || used >= len)                                 \
			return -1;                                               \
		w_ = snprintf(buf + used, len - used, __VA_ARGS__);              \
		if (w_ < 0 || (size_t)w_ >= len - used)                          \
			return -1;                                               \
		argv[n++] = buf + used;                                          \
		used += w_ + 1;                                                  \
	} while (0)

	ADD("pass=%s", nmb_pass_name[c->pass]);
	ADD("sib_fd=%d", c->sib_fd);
	ADD("free_fd=%d", c->free_fd);
	ADD("free_pid=%d", (int)c->free_pid);
	for (size_t k = 0; k < sizeof(sf) / sizeof(sf[0]); k++)
		ADD("%s=%s", sf[k].key, sf[k].val);
#undef ADD
	argv[n] = NULL;
	return n;
}
