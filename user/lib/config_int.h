/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The policy file parser's own pieces, shared by config.c (files, lines,
 * rules, includes, the API) and config_kw.c (policy blocks, statements). */
#ifndef NM_CONFIG_INT_H
#define NM_CONFIG_INT_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>

#include "config.h"
#include "ruleline.h"

#define MAXTOK   NM_RULE_MAXTOK /* tokens kept a line (more are counted, not kept) */
#define QLEN     56  /* a token quoted in a message: 48 bytes + "..." */
#define SUN_MAX  (sizeof(((struct sockaddr_un *)0)->sun_path) - 1)

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Where a once-only top-level setting was first given (line 0: not yet). */
struct seen {
	char file[256];
	int line;
};

struct fid {
	dev_t dev;
	ino_t ino;
};

/* The state of one load. */
struct ld {
	struct nm_config *cfg;
	FILE *errf;
	int nerr;
	bool oom;
	struct fid stack[NM_CFG_MAX_DEPTH + 1]; /* config files being read */
	int nstack;
	unsigned nfiles;
	size_t nbytes; /* read from files so far */
	size_t nrules; /* rules in all policies so far */
	char **bind_files; /* full file name of each bind (cfg->binds[i].file may be cut) */
	struct seen ev_log, ev_sock, ev_rate, metrics, proxy_log, dns_log, dns_upstream;
};

/* The file being read. */
struct src {
	const char *name; /* as shown in messages */
	const char *dir;  /* base of relative includes; NULL: the current directory */
	int depth;        /* 0: the first file */
};

/* The policy block being read (one per config file: blocks do not span files). */
struct blk {
	bool open, keep;
	struct nm_cfg_policy pol;
	char hdr[QLEN]; /* the name as written, for messages */
	int l_default, l_mode, l_events, l_ep[4], l_iponly, l_raw, l_names, l_synth[2];
};

typedef void (*kw_fn)(struct ld *L, const struct src *S, struct blk *B, int ln, char **tok, int n);

struct kw {
	const char *name;
	bool block;    /* allowed inside a policy block (else only outside) */
	int min, max;  /* arguments */
	const char *usage;
	kw_fn fn;
};

/* config.c */
void cf_report(struct ld *L, const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void cf_nomem(struct ld *L, const char *file, int line);
const char *cf_q(char buf[QLEN], const char *s);
void cf_setstr(char *dst, size_t len, const char *s);
void *cf_grow(void *arr, size_t n, size_t elsz);
bool cf_has_glob(const char *s);
int cf_parse_uint(const char *s, unsigned max, unsigned *out);
int cf_norm_path(const char *in, bool relative_ok, char *out, size_t outlen, const char **why);
void cf_parse_lines(struct ld *L, const struct src *S, const char *text, size_t len, struct blk *B,
		    struct nm_ruleset *rs);
void cf_include_file(struct ld *L, const struct src *S, int ln, const char *arg, struct nm_ruleset *rs);

/* config_kw.c: policy blocks and the statements */
void cf_open_block(struct ld *L, const struct src *S, struct blk *B, int ln, char **tok, int n);
void cf_close_block(struct ld *L, const struct src *S, struct blk *B);
const struct kw *cf_find_kw(const char *name, bool block);

#endif
