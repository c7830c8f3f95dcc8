/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The policy file of the daemon (nomoatd): attach points, cgroup bindings,
 * event and metrics outputs, and policy blocks with their rules.
 *
 * Format: one statement a line, tokens separated by blanks (space, tab),
 * '#' starts a comment to the end of the line (on a rule line the comment
 * is the rule's reason), blank lines are ignored, a trailing CR is dropped.
 * Paths and other words cannot contain blanks or '#'.
 *
 *   include PATH                  another config file (relative to the
 *                                 including file's directory)
 *   attach CGROUP [origdst-only]  an attach point: a path below the cgroup2
 *                                 mount ("/nomoat", or "nomoat"), or an
 *                                 absolute path of it; origdst-only for a
 *                                 proxy's cgroup
 *   bind PATTERN POLICY           bind cgroups matching PATTERN ("/agents/a1"
 *                                 or "/system.slice/docker-*.scope"; '*', '?'
 *                                 and [..] never cross '/', '**' refused)
 *   events-log PATH | stdout      JSON event lines            (stdout)
 *   events-socket PATH            socket of `nomoat events`   (/run/nomoat/events.sock)
 *   events-rate N                 events per second per cgroup, 0 = unlimited (200)
 *   proxy-log PATH                nomoat-proxy's access log, merged into the
 *                                 event stream line by line     (none)
 *   metrics unix:PATH | ADDR:PORT Prometheus endpoint, ADDR in 127.0.0.0/8 or
 *                                 ::1                          (unix:/run/nomoat/metrics.sock)
 *   policy NAME {                 a policy block, ended by "}" on its own line:
 *       default deny|allow|redirect     (redirect)
 *       mode enforce|audit              (enforce)
 *       events deny|redirect|all        (deny)
 *       proxy4 A:P | proxy6 [A]:P | dns4 A:P | dns6 [A]:P   (each at most
 *                                       once; "none" = unset, the default)
 *       include PATH | deny-defaults    a rules file, or the built-in list
 *                                       (write ./deny-defaults for a file of
 *                                       that name)
 *       deny|allow|redirect TARGET [# reason]   a rule (as nm_ruleset_parse)
 *       hostname NAME[:PORT]            allowlist entry of the proxy and the
 *                                       resolver, "*.suffix" ok (the grammar
 *                                       is hostname.h's): stored lower case
 *                                       without a trailing dot; refused: IP
 *                                       literals (also names ending in a
 *                                       number, "127.1", "0x7f000001", which
 *                                       clients read as IPv4), empty labels,
 *                                       labels over 63, names over 253,
 *                                       characters outside [a-z0-9-_.*], '*'
 *                                       but a leading "*.", port outside
 *                                       1..65535
 *       ip-only                         flag for the proxy
 *       raw-sockets allow|deny          raw IP and ping sockets   (deny)
 *       names real|synthetic            what nomoat-dns answers for an
 *                                       allowed name: its real addresses,
 *                                       or one of this policy's synthetic
 *                                       addresses, which the kernel sends
 *                                       to the proxy and the proxy maps
 *                                       back to the name (real)
 *       synthetic4 CIDR | synthetic6 CIDR   the synthetic ranges (IPv4 /16
 *                                       to /30, IPv6 /64 to /126; default
 *                                       NM_CFG_DEF_SYNTH4, NM_CFG_DEF_SYNTH6);
 *                                       only with names synthetic, which
 *                                       adds a redirect rule for each (line
 *                                       0, the policy's last rules) and
 *                                       needs a proxy endpoint
 *   }
 *   dns-upstream ADDR[:PORT]...   nomoat-dns's upstream resolvers, 1 to
 *                                 NM_CFG_MAX_UPSTREAMS (port 53 if none;
 *                                 default: /etc/resolv.conf's)
 *   dns-log PATH                  nomoat-dns's event log, merged into the
 *                                 event stream like proxy-log   (none)
 *
 * Stricter than the bare grammar, so that a mistake is an error rather than
 * a surprise: paths given to events-log, events-socket, proxy-log and metrics unix:
 * must be absolute (socket paths at most 107 bytes); each top-level setting
 * (events-*, metrics) may be given once across all files and each block
 * setting (default, mode, events, proxy4/6, dns4/6, ip-only) once a block;
 * a bind pattern may be bound only once; an attach path holds no glob
 * characters; "." and ".." path components are refused in attach paths and
 * bind patterns; at most NM_MAX_POLICIES-1 policies, NM_CFG_MAX_BINDS
 * binds, NM_CFG_MAX_ATTACHES attach points, and NM_MAX_RULES rules of one
 * family a policy (repeated targets count).
 *
 * Attach paths and bind patterns are stored normalised: a leading '/'
 * added when missing (attach), repeated '/' collapsed, a trailing '/'
 * dropped.  Whether an attach path is absolute (under the cgroup2 mount
 * point) or relative to the mount is left to the daemon.
 *
 * Limits: a line longer than NM_CFG_MAX_LINE bytes, an include chain deeper
 * than NM_CFG_MAX_DEPTH (a rules file counts as a level), a file larger than NM_CFG_MAX_FILE bytes, more
 * than NM_CFG_MAX_FILES files or NM_CFG_MAX_TOTAL bytes in one load, more
 * than NM_CFG_MAX_RULES rules in all policies together (reported once), a
 * control character (other than tab) in a line, and a file that is not a
 * regular file are errors.
 *
 * Errors: every error found is written as one line "FILE:LINE: message"
 * (FILE as named in the include, or the origin; LINE 1-based; 0 when the
 * error is about the file as a whole, e.g. it cannot be read).  Included
 * files name their own lines; an include problem (missing file, loop, too
 * deep) is reported at the include line.  Parsing goes on after an error,
 * so one run reports them all.
 */
#ifndef NM_CONFIG_H
#define NM_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <linux/types.h>

#include "hostname.h"
#include "nomoat.h"
#include "policy.h"

#define NM_CFG_MAX_LINE   4096          /* bytes a line, without the newline */
#define NM_CFG_MAX_DEPTH  8             /* nested includes below the first file */
#define NM_CFG_MAX_FILE   (64u << 20)   /* bytes a file */
#define NM_CFG_MAX_FILES  1024          /* files read by one load, includes too */
#define NM_CFG_MAX_TOTAL  (256u << 20)  /* bytes read by one load, all files */
#define NM_CFG_MAX_RULES  (1u << 23)    /* rules in all policies of one load */
#define NM_CFG_MAX_RATE   1000000u      /* events-rate ceiling */
#define NM_CFG_MAX_BINDS  4096          /* bind lines */
#define NM_CFG_MAX_ATTACHES 1024        /* attach lines */

#define NM_CFG_MAX_UPSTREAMS 4          /* dns-upstream servers */

/* Defaults of the top-level settings. */
#define NM_CFG_DEF_EVENTS_LOG    "stdout"
#define NM_CFG_DEF_EVENTS_SOCKET "/run/nomoat/events.sock"
#define NM_CFG_DEF_EVENTS_RATE   200u
#define NM_CFG_DEF_METRICS       "unix:/run/nomoat/metrics.sock"
/* Synthetic ranges: in the benchmarking range (RFC 2544) and a ULA, both
 * in the default deny list, so no real destination is ever shadowed. */
#define NM_CFG_DEF_SYNTH4        "198.19.0.0/16"
#define NM_CFG_DEF_SYNTH6        "fd6e:6d6f:6174:6e61::/64"

/* One policy block. */
struct nm_cfg_policy {
	struct nm_policy p;      /* name, default_action, mode, events, endpoints (network order,
				  * zero = unset); id and in_use are 0 */
	struct nm_ruleset rules; /* in file order, includes expanded in place; each entry's line is
				  * its line in the file it came from */
	struct nm_hostpat *hosts; /* `hostname` lines in file order (hostname.h) */
	size_t nhosts;
	bool ip_only;
	bool names_synthetic;    /* names synthetic */
	struct nm_cidr synth4, synth6; /* the synthetic ranges (set when names_synthetic) */
	char file[256];          /* where the block started (truncated if longer) */
	int line;
};

/* One "bind PATTERN POLICY" line (pattern normalised, see above). */
struct nm_cfg_bind {
	char pattern[512];
	char policy[NM_POLICY_NAME_LEN];
	char file[256];
	int line;
};

/* One "attach CGROUP [origdst-only]" line (path normalised, see above). */
struct nm_cfg_attach {
	char path[512];
	bool origdst_only;
	char file[256];
	int line;
};

/* One dns-upstream server. */
struct nm_cfg_upstream {
	int family;      /* 4 or 6 */
	__u8 addr[16];   /* IPv4 in addr[0..3] */
	__u16 port;      /* host order */
};

/* A whole configuration, in file order (includes expanded in place). */
struct nm_config {
	struct nm_cfg_policy *policies;
	size_t npolicies;
	struct nm_cfg_bind *binds;
	size_t nbinds;
	struct nm_cfg_attach *attaches;
	size_t nattaches;
	char events_log[512];    /* "stdout" or an absolute path */
	char events_socket[512]; /* an absolute path */
	unsigned events_rate;    /* per cgroup per second; 0 = unlimited */
	char proxy_log[512];     /* "" or an absolute path: the proxy's access log */
	char metrics[512];       /* "unix:/abs/path", "127.0.0.1:9100" or "[::1]:9100" (an
				  * ADDR:PORT is stored in canonical form) */
	char dns_log[512];       /* "" or an absolute path: nomoat-dns's event log */
	struct nm_cfg_upstream dns_upstream[NM_CFG_MAX_UPSTREAMS];
	size_t ndns_upstream;    /* 0: the resolvers of /etc/resolv.conf */
};

/* Parse the file at path and its includes into *cfg (overwritten, not
 * freed first).  Returns 0, or -EINVAL after reporting every error found,
 * each as one line "FILE:LINE: message" on errf (may be NULL), and counted
 * in *nerrors (may be NULL; 0 on success).  -ENOMEM when memory ran out
 * (also reported).  On error *cfg is left empty (all zero). */
int nm_config_load(const char *path, struct nm_config *cfg, FILE *errf, int *nerrors);

/* The same on a string; origin names it in messages, and its relative
 * includes are relative to the current directory. */
int nm_config_parse(const char *text, const char *origin, struct nm_config *cfg, FILE *errf, int *nerrors);

/* Free everything *cfg holds and zero it (safe on a zeroed config). */
void nm_config_free(struct nm_config *cfg);

/* The policy block named name, or NULL. */
const struct nm_cfg_policy *nm_config_policy(const struct nm_config *cfg, const char *name);

/* Does a cgroup path (relative to the cgroup2 mount, starting with '/')
 * match a bind pattern?  fnmatch(3) with FNM_PATHNAME: '*', '?' and [..]
 * never match '/'; an exact path matches only itself. */
bool nm_cfg_bind_match(const char *pattern, const char *cgroup_rel);

#endif
