// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* svc.c - option values and the fence of nomoat's services (svc.h). */
#include "svc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <linux/capability.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"
#include "err.h"
#include "nomoat.h"
#include "parse.h"

int nm_svc_uint(const char *prog, const char *opt, const char *s, unsigned lo, unsigned hi, unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || v < lo || v > hi) {
		fprintf(stderr, "%s: %s '%s': a number from %u to %u\n", prog, opt, s, lo, hi);
		return -EINVAL;
	}
	*out = (unsigned)v;
	return 0;
}

int nm_svc_secs(const char *prog, const char *opt, const char *s, unsigned *ms)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= 0.05) || v > 86400 * 7) {
		fprintf(stderr, "%s: %s '%s': seconds from 0.05 to 604800\n", prog, opt, s);
		return -EINVAL;
	}
	*ms = (unsigned)(v * 1000 + 0.5);
	return 0;
}

int nm_svc_opt_usage(int c, void (*usage)(FILE *f))
{
	usage(c == 'h' ? stdout : stderr);
	return c == 'h' ? 1 : 2;
}

int nm_svc_opt_rest(const char *prog, int argc, char *const argv[])
{
	if (optind >= argc)
		return 0;
	fprintf(stderr, "%s: unexpected argument '%s' (see --help)\n", prog, argv[optind]);
	return 2;
}

int nm_svc_sockaddr(const char *s, unsigned port_min, struct sockaddr_storage *ss, socklen_t *len, char *err,
		    size_t errlen)
{
	struct nm_ep4 e4;
	struct nm_ep6 e6;
	int fam, rc;

	memset(ss, 0, sizeof(*ss));
	rc = nm_parse_endpoint_from(s, port_min, &fam, &e4, &e6, err, errlen);
	if (rc)
		return rc;
	if (fam == 4) {
		struct sockaddr_in *a = (void *)ss;

		a->sin_family = AF_INET;
		a->sin_addr.s_addr = e4.addr;
		a->sin_port = e4.port;
		*len = sizeof(*a);
	} else {
		struct sockaddr_in6 *a = (void *)ss;

		a->sin6_family = AF_INET6;
		memcpy(&a->sin6_addr, e6.addr, 16);
		a->sin6_port = e6.port;
		*len = sizeof(*a);
	}
	return 0;
}

int nm_svc_listen(const char *prog, const char *opt, const char *s, struct sockaddr_storage *ss)
{
	char err[NM_ERR_LEN];
	socklen_t len;

	if (nm_svc_sockaddr(s, 1, ss, &len, err, sizeof(err))) {
		fprintf(stderr, "%s: %s %s\n", prog, opt, err);
		return -EINVAL;
	}
	return 0;
}

long long nm_svc_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

char *nm_svc_sa_str(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s = (const void *)ss;

		inet_ntop(AF_INET, &s->sin_addr, a, sizeof(a));
		snprintf(buf, len, "%s:%u", a, ntohs(s->sin_port));
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const void *)ss;

		inet_ntop(AF_INET6, &s->sin6_addr, a, sizeof(a));
		snprintf(buf, len, "[%s]:%u", a, ntohs(s->sin6_port));
	} else {
		snprintf(buf, len, "?");
	}
	return buf;
}

int nm_svc_origin_probe(int fd, int family)
{
	struct nm_origin o;
	socklen_t len = sizeof(o);

	if (getsockopt(fd, nm_svc_sol(family), NM_SO_DNSQ, &o, &len))
		return -errno;
	return len == sizeof(o) ? 0 : -EPROTO;
}

void nm_svc_sa_words(const struct sockaddr_storage *ss, __u32 w[4], __u16 *port)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const void *)ss;

		w[0] = w[1] = 0;
		w[2] = htonl(0xffff);
		w[3] = a->sin_addr.s_addr;
		*port = a->sin_port;
	} else {
		const struct sockaddr_in6 *a = (const void *)ss;

		memcpy(w, &a->sin6_addr, 16);
		*port = a->sin6_port;
	}
}

int nm_svc_enter_cgroup(const char *path)
{
	char abs[4096];
	int err = nm_cgroup_resolve(path, abs, sizeof(abs));

	if (err)
		return err;
	return nm_cgroup_enter(abs, 0);
}

static int cap_last(void)
{
	FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
	int n = 40;

	if (f) {
		if (fscanf(f, "%d", &n) != 1)
			n = 40;
		fclose(f);
	}
	return n;
}

int nm_svc_drop_privs(const char *prog, const char *user)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];
	struct passwd *pw;

	errno = 0;
	pw = getpwnam(user);
	if (!pw) {
		fprintf(stderr, "%s: --user %s: %s\n", prog, user, errno ? strerror(errno) : "no such user");
		return -ENOENT;
	}
	if (pw->pw_uid == 0) {
		fprintf(stderr, "%s: --user %s: is root\n", prog, user);
		return -EINVAL;
	}
	/* the bounding set first (needs CAP_SETPCAP, which goes with it) */
	for (int c = 0; c <= cap_last(); c++)
		prctl(PR_CAPBSET_DROP, c, 0, 0, 0);
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	if (setgroups(0, NULL) || setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid)) {
		fprintf(stderr, "%s: cannot become %s: %s\n", prog, user, strerror(errno));
		return -errno;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
		fprintf(stderr, "%s: no_new_privs: %s\n", prog, strerror(errno));
		return -errno;
	}
	/* setresuid from root clears permitted and effective; make sure */
	memset(d, 0, sizeof(d));
	if (syscall(SYS_capset, &h, d) || syscall(SYS_capget, &h, d) || d[0].permitted || d[1].permitted ||
	    d[0].effective || d[1].effective || d[0].inheritable || d[1].inheritable) {
		fprintf(stderr, "%s: capabilities remain after dropping to %s\n", prog, user);
		return -EPERM;
	}
	if (setuid(0) == 0) {
		fprintf(stderr, "%s: could become root again after dropping to %s\n", prog, user);
		return -EPERM;
	}
	return 0;
}
