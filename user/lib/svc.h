/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * svc.h - what the services nomoat redirects to (nomoat-proxy, nomoat-dns)
 * share: their option values and their fence.  A service moves into its own
 * cgroup before any socket exists (so that cgroup's programs answer for
 * every socket it has), opens what needs privileges, binds, and then drops
 * to an unprivileged user with no capability at all.  Messages go to stderr
 * and start with prog ("nomoat-proxy", "nomoat-dns").
 */
#ifndef NM_SVC_H
#define NM_SVC_H

#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <linux/types.h>

/* A number lo..hi for option opt.  0, or -EINVAL after a message. */
int nm_svc_uint(const char *prog, const char *opt, const char *s, unsigned lo, unsigned hi, unsigned *out);
/* Seconds, decimals allowed ("0.5"), 0.05 to a week, into milliseconds. */
int nm_svc_secs(const char *prog, const char *opt, const char *s, unsigned *ms);
/* ADDR:PORT or [ADDR]:PORT into a sockaddr. */
int nm_svc_listen(const char *prog, const char *opt, const char *s, struct sockaddr_storage *ss);
/* An endpoint (nm_parse_endpoint_from: ports from port_min) as a socket
 * address: 0 and *ss, *len; or -EINVAL with err. */
int nm_svc_sockaddr(const char *s, unsigned port_min, struct sockaddr_storage *ss, socklen_t *len, char *err,
		    size_t errlen);

/* The programs' getopt_long loops (nomoatd's too) end alike: for 'h'
 * (--help) nm_svc_opt_usage prints the usage to stdout and returns 1 (exit
 * 0), for anything else getopt_long returned ('?': it said why) the usage
 * to stderr, 2; after the loop nm_svc_opt_rest refuses a word left over
 * (2, "PROG: unexpected argument 'WORD'"), else returns 0. */
int nm_svc_opt_usage(int c, void (*usage)(FILE *f));
int nm_svc_opt_rest(const char *prog, int argc, char *const argv[]);

/* Milliseconds on CLOCK_MONOTONIC. */
long long nm_svc_now_ms(void);
/* "a.b.c.d:p" or "[v6]:p" ("?" for another family); returns buf. */
char *nm_svc_sa_str(const struct sockaddr_storage *ss, char *buf, size_t len);
/* An IPv4 or IPv6 socket address as the kernel's records hold it: four
 * address words, v4-mapped for IPv4, and the port (network order). */
void nm_svc_sa_words(const struct sockaddr_storage *ss, __u32 w[4], __u16 *port);
/* The socket-option level of a family's IP options (IPPROTO_IP or IPPROTO_IPV6). */
static inline int nm_svc_sol(int family)
{
	return family == AF_INET6 ? IPPROTO_IPV6 : IPPROTO_IP;
}

/* 0 when the calling process's cgroup is under an attach point whose
 * getsockopt program answers (NM_SO_DNSQ on fd, a socket of family): the
 * kernel will give this process the origin of what it accepts.  -errno
 * (ENOPROTOOPT: no program) otherwise. */
int nm_svc_origin_probe(int fd, int family);

/* Move this process into the cgroup at path (absolute, or below the
 * cgroup2 mount).  0 or -errno. */
int nm_svc_enter_cgroup(const char *path);
/* Drop to user: all groups, every capability (the bounding set too),
 * no_new_privs; refuses root.  0, or -errno after a message. */
int nm_svc_drop_privs(const char *prog, const char *user);

#endif
