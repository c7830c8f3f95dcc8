// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* nomoat doctor (doctor.h): the checks that look past this process's own
 * namespaces: the policies' endpoints as a sandbox's network would reach
 * them, and the pin dir as other mount namespaces see it. */
#include "doctor_int.h"
#include "canary.h"
#include "err.h"
#include "nomoat.h"
#include "parse.h"
#include "policy.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <linux/magic.h>

/* ---- 4. the policies' endpoints ------------------------------------------ */
struct ep {
	const char *kind; /* "proxy4", ... */
	bool tcp;
	int family;
	__u32 addr[4];    /* network order; IPv4 in addr[0] */
	__u16 port;       /* network order */
};

static bool ep_loopback(const struct ep *e)
{
	const __u32 *a = e->addr;

	if (e->family == 4)
		return ntohl(a[0]) >> 24 == 127;
	if (!a[0] && !a[1] && !a[2] && a[3] == htonl(1))
		return true;
	return !a[0] && !a[1] && a[2] == htonl(0xffff) && ntohl(a[3]) >> 24 == 127;
}

/* The interface of the root network namespace holding the address. */
static bool ep_local(const struct ep *e, char *ifname, size_t len)
{
	struct ifaddrs *ifs, *i;
	bool found = false;

	if (getifaddrs(&ifs))
		return false;
	for (i = ifs; i && !found; i = i->ifa_next) {
		if (!i->ifa_addr)
			continue;
		if (e->family == 4 && i->ifa_addr->sa_family == AF_INET)
			found = ((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr == e->addr[0];
		else if (e->family == 6 && i->ifa_addr->sa_family == AF_INET6)
			found = !memcmp(&((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr, e->addr, 16);
		if (found)
			snprintf(ifname, len, "%s", i->ifa_name);
	}
	freeifaddrs(ifs);
	return found;
}

/* A socket's local address (from /proc/net, the raw words as printed)
 * serves the endpoint: the same address, or a wildcard of its family (an
 * IPv6 wildcard also takes IPv4 unless it is IPV6_V6ONLY, which /proc does
 * not show), or the endpoint v4-mapped. */
static bool addr_serves(const __u32 a[4], bool v6, const struct ep *e)
{
	if (!v6)
		return !a[0] || (e->family == 4 && a[0] == e->addr[0]);
	if (!a[0] && !a[1] && !a[2] && !a[3])
		return true;
	if (e->family == 6)
		return !memcmp(a, e->addr, 16);
	return !a[0] && !a[1] && a[2] == htonl(0xffff) && a[3] == e->addr[0];
}

/* Is there a listening TCP socket (a bound unconnected UDP one) for the
 * endpoint in /proc/net/FILE?  Reads the table; sends nothing. */
static bool proc_serves(const char *file, bool v6, const struct ep *e)
{
	char line[512], hex[40];
	unsigned port, st;
	FILE *f = fopen(file, "re");
	bool hit = false;

	if (!f)
		return false;
	while (!hit && fgets(line, sizeof(line), f)) {
		__u32 a[4] = { 0 };

		if (sscanf(line, " %*u: %39[0-9A-Fa-f]:%x %*s %x", hex, &port, &st) != 3)
			continue;
		/* TCP_LISTEN 0x0a; an unconnected UDP socket is TCP_CLOSE 0x07 */
		if (port != ntohs(e->port) || st != (e->tcp ? 0x0a : 0x07) || strlen(hex) != (v6 ? 32u : 8u))
			continue;
		for (int w = 0; w < (v6 ? 4 : 1); w++) {
			char g[9];

			memcpy(g, hex + 8 * w, 8);
			g[8] = 0;
			a[w] = (__u32)strtoul(g, NULL, 16);
		}
		hit = addr_serves(a, v6, e);
	}
	fclose(f);
	return hit;
}

static bool ep_served(const struct ep *e)
{
	const char *p = e->tcp ? "/proc/net/tcp" : "/proc/net/udp";
	char p6[32];

	snprintf(p6, sizeof(p6), "%s6", p);
	return (e->family == 4 && proc_serves(p, false, e)) || proc_serves(p6, true, e);
}

static void check_ep(struct nm_doc *c, const char *pol, const struct ep *e)
{
	__u32 w[4] = { 0, 0, htonl(0xffff), e->addr[0] };
	char name[96], addr[NM_CIDR_STRLEN], ifn[64] = "", detail[1200];
	const char *proto = e->tcp ? "TCP" : "UDP", *svc = e->tcp ? "nomoat-proxy" : "nomoat-dns";
	bool lo = ep_loopback(e), local = ep_local(e, ifn, sizeof(ifn)), served = ep_served(e);
	size_t n;

	nm_format_addr16(e->family == 4 ? w : e->addr, e->family, e->port, addr, sizeof(addr));
	snprintf(name, sizeof(name), "endpoint:%s:%s", pol, e->kind);
	if (local)
		n = snprintf(detail, sizeof(detail), "%s on %s", addr, ifn);
	else
		n = snprintf(detail, sizeof(detail),
			     "%s is no address of this host (root network namespace): what is redirected there goes "
			     "nowhere; give the policy an address the host holds (nomoat policy set %s --%s A:P)",
			     addr, pol, e->kind);
	if (lo && n < sizeof(detail))
		n += snprintf(detail + n, sizeof(detail) - n,
			      "; loopback: reachable from the host's own network namespace (nomoat run) only, not from a "
			      "container in its own network namespace (its loopback is its own): for containers use the "
			      "bridge address (docker0's, say): nomoat policy set %s --%s A:P",
			      pol, e->kind);
	if (n < sizeof(detail))
		snprintf(detail + n, sizeof(detail) - n, served ? "; %s socket listening" :
			 "; nothing listens on %s there: start %s on it", proto, svc);
	nm_doc_say(c, name, local && !lo && served ? NM_DOC_OK : NM_DOC_WARN, "%s", detail);
}

static void check_policy_eps(struct nm_doc *c, const struct nm_policy *p)
{
	struct ep eps[4] = {
		{ "proxy4", true, 4, { p->proxy4.addr }, p->proxy4.port },
		{ "proxy6", true, 6, { 0 }, p->proxy6.port },
		{ "dns4", false, 4, { p->dns4.addr }, p->dns4.port },
		{ "dns6", false, 6, { 0 }, p->dns6.port },
	};
	int n = 0;

	memcpy(eps[1].addr, p->proxy6.addr, 16);
	memcpy(eps[3].addr, p->dns6.addr, 16);
	for (int i = 0; i < 4; i++)
		if (eps[i].port) {
			check_ep(c, p->name, &eps[i]);
			n++;
		}
	if (!n)
		nm_doc_say(c, "endpoint", NM_DOC_OK, "policy %s has no proxy or DNS endpoint", p->name);
}

struct bound {
	__u32 ids[NM_MAX_POLICIES];
	unsigned n;
};

static int bound_cb(__u64 cg, __u32 id, void *arg)
{
	struct bound *b = arg;

	(void)cg;
	for (unsigned i = 0; i < b->n; i++)
		if (b->ids[i] == id)
			return 0;
	if (b->n < NM_MAX_POLICIES)
		b->ids[b->n++] = id;
	return 0;
}

void nm_doc_check_endpoints(struct nm_doc *c, const char *name)
{
	struct bound b = { .n = 0 };
	unsigned shown = 0;

	nm_doc_state(c);
	if (!c->loaded || !c->maps_ok) {
		nm_doc_say(c, name, NM_DOC_OK, "not run: nothing loaded");
		return;
	}
	nm_binding_foreach(&c->m, bound_cb, &b);
	for (unsigned i = 0; i < b.n; i++) {
		struct nm_policy p;

		if (nm_policy_get(&c->m, b.ids[i], &p) || !strcmp(p.name, NM_CANARY_POLICY))
			continue;
		check_policy_eps(c, &p);
		shown++;
	}
	if (!shown)
		nm_doc_say(c, name, NM_DOC_OK, "no cgroup is bound to a policy");
	nm_err_clear();
}

/* ---- 5. the pin directory ------------------------------------------------ */
/* The bpffs mount (in our mount namespace) that holds path. */
struct bpf_mnt {
	const char *path;
	unsigned maj, min; /* 0:0 = any */
	char root[PATH_MAX], point[PATH_MAX];
	bool found;
};

static int bpf_scan(const struct nm_doc_mnt *mt, void *arg)
{
	struct bpf_mnt *b = arg;

	if (strcmp(mt->fstype, "bpf") || !nm_doc_under(b->path, mt->point))
		return 0;
	if ((b->maj || b->min) && (mt->maj != b->maj || mt->min != b->min))
		return 0;
	/* the deepest wins; at the same point the later (it covers the other) */
	if (b->found && strlen(mt->point) < strlen(b->point))
		return 0;
	snprintf(b->root, sizeof(b->root), "%s", mt->root);
	snprintf(b->point, sizeof(b->point), "%s", mt->point);
	b->found = true;
	return 0;
}

void nm_doc_check_pin_mode(struct nm_doc *c, const char *name)
{
	struct bpf_mnt b = { .path = c->d->pin_dir };
	struct stat fs, ps;
	bool pin, fs_open, pin_open;

	nm_doc_mounts("/proc/self/mountinfo", bpf_scan, &b);
	if (!b.found || stat(b.point, &fs)) {
		nm_doc_say(c, name, NM_DOC_OK, "no bpffs holds %s yet (nomoat load mounts one at /sys/fs/bpf, mode 0700)",
			   c->d->pin_dir);
		return;
	}
	pin = stat(c->d->pin_dir, &ps) == 0;
	fs_open = fs.st_mode & 0077;
	pin_open = pin && (ps.st_mode & 0077);
	if (!fs_open && !pin_open) {
		nm_doc_say(c, name, NM_DOC_OK, "bpffs at %s mode %04o; pin dir %s %s", b.point, fs.st_mode & 07777,
			   c->d->pin_dir, pin ? "mode 0700 or tighter" : "not made yet");
		return;
	}
	/* the pinned objects are 0600, but their names (policies, cgroup ids) show */
	if (fs_open)
		nm_doc_say(c, name, NM_DOC_WARN,
			   "the bpffs at %s has mode %04o: users other than root can list it; mount it with mode=0700",
			   b.point, fs.st_mode & 07777);
	if (pin_open)
		nm_doc_say(c, name, NM_DOC_WARN, "the pin dir %s has mode %04o: users other than root can list it; chmod 0700 %s",
			   c->d->pin_dir, ps.st_mode & 07777, c->d->pin_dir);
}

/* What one other mount namespace sees of the pins. */
struct seen {
	const struct stat *target; /* the pin dir (or its nearest bpffs ancestor) */
	const char *path;          /* its path here */
	const char *rel;           /* its path inside the bpffs */
	int pid;
	char where[PATH_MAX];      /* where the process sees it */
};

/* A bpffs mount of the same instance as the pins whose root is the target,
 * above it or inside it; then whether a lookup in the process's own root
 * really lands there (a mount covered by another one hides nothing). */
static int seen_scan(const struct nm_doc_mnt *mt, void *arg)
{
	struct seen *s = arg;
	char in[PATH_MAX], probe[PATH_MAX + 32];
	bool inside = false;
	struct stat st;

	if (strcmp(mt->fstype, "bpf") || makedev(mt->maj, mt->min) != s->target->st_dev)
		return 0;
	if (nm_doc_under(s->rel, mt->root))
		snprintf(in, sizeof(in), "%s%s", strcmp(mt->point, "/") ? mt->point : "",
			 s->rel + (strcmp(mt->root, "/") ? strlen(mt->root) : 0));
	else if ((inside = nm_doc_under(mt->root, s->rel)))
		snprintf(in, sizeof(in), "%s", mt->point);
	else
		return 0;
	snprintf(probe, sizeof(probe), "/proc/%d/root%s", s->pid, in[0] ? in : "/");
	if (stat(probe, &st) || st.st_dev != s->target->st_dev || (!inside && st.st_ino != s->target->st_ino))
		return 0;
	snprintf(s->where, sizeof(s->where), "%s", in[0] ? in : "/");
	return 1;
}

static bool ns_ino(int pid, const char *ns, ino_t *ino)
{
	char p[64];
	struct stat st;

	snprintf(p, sizeof(p), "/proc/%d/ns/%s", pid, ns);
	if (stat(p, &st))
		return false;
	*ino = st.st_ino;
	return true;
}

/* A container: another root directory or another user namespace.  A host
 * service in a mount namespace of its own (systemd's PrivateTmp=) keeps
 * the host's root and sees the host's bpffs like any host process.  One
 * that shares our IPC namespace is one of ours: the containers of one
 * Kubernetes pod share it (nomoat-proxy and nomoat-dns beside nomoatd in
 * the DaemonSet need the pins), while Docker and Podman give every
 * container its own unless told --ipc=host. */
static bool is_container(int pid, const struct stat *root, ino_t userns, ino_t ipcns)
{
	char p[64];
	struct stat st;
	ino_t u, i;

	snprintf(p, sizeof(p), "/proc/%d/root", pid);
	if (stat(p, &st))
		return false;
	if (ns_ino(pid, "ipc", &i) && i == ipcns)
		return false;
	return st.st_dev != root->st_dev || st.st_ino != root->st_ino || (ns_ino(pid, "user", &u) && u != userns);
}

/* The pin dir, or while it is not made its nearest ancestor on a bpffs. */
static bool pin_target(const char *pin_dir, char *t, size_t len, struct stat *st)
{
	snprintf(t, len, "%s", pin_dir);
	while (stat(t, st) || !nm_doc_fs_is(t, BPF_FS_MAGIC)) {
		char *slash = strrchr(t, '/');

		if (!slash || slash == t)
			return false;
		*slash = 0;
	}
	return true;
}

#define MAX_NS 4096

struct ns_walk {
	ino_t seen[MAX_NS];
	unsigned nseen, ncont, nhost, nfail;
};

static void visit_pid(struct nm_doc *c, const char *name, struct ns_walk *w, struct seen *s, int pid,
		      const struct stat *root, ino_t self_mnt, ino_t self_user, ino_t self_ipc)
{
	char p[64], comm[64] = "?";
	ino_t mnt;
	FILE *f;

	/* kernel threads (kdevtmpfs has a mount namespace of its own) and
	 * zombies have no executable, and nothing to run in a container */
	snprintf(p, sizeof(p), "/proc/%d/exe", pid);
	if (readlink(p, comm, sizeof(comm)) < 0 || !ns_ino(pid, "mnt", &mnt) || mnt == self_mnt)
		return;
	snprintf(comm, sizeof(comm), "?");
	for (unsigned i = 0; i < w->nseen; i++)
		if (w->seen[i] == mnt)
			return;
	if (w->nseen < MAX_NS)
		w->seen[w->nseen++] = mnt;
	if (!is_container(pid, root, self_user, self_ipc)) {
		w->nhost++;
		return;
	}
	w->ncont++;
	s->pid = pid;
	snprintf(p, sizeof(p), "/proc/%d/mountinfo", pid);
	if (nm_doc_mounts(p, seen_scan, s) != 1 || w->nfail++ >= 8)
		return;
	snprintf(p, sizeof(p), "/proc/%d/comm", pid);
	if ((f = fopen(p, "re"))) {
		if (fgets(comm, sizeof(comm), f))
			comm[strcspn(comm, "\n")] = 0;
		fclose(f);
	}
	nm_doc_say(c, name, NM_DOC_FAIL,
		"pid %d (%s), in mount namespace %lu, sees %s at %s: a container can detach nomoat (bpffs checks file "
		"modes only; root in it can open the pinned links and detach them). Remove that mount from the "
		"container (no -v /sys/fs/bpf, no --privileged) and restart it",
		pid, comm, (unsigned long)mnt, s->path, s->where);
}

void nm_doc_check_pin_visible(struct nm_doc *c, const char *name)
{
	char target[PATH_MAX], rel[2 * PATH_MAX];
	struct stat tst, root;
	struct bpf_mnt b = { .path = target };
	struct ns_walk *w;
	struct seen s = { .target = &tst, .path = target, .rel = rel };
	ino_t self_mnt = 0, self_user = 0, self_ipc = 0;
	struct dirent *e;
	DIR *d;

	if (!pin_target(c->d->pin_dir, target, sizeof(target), &tst)) {
		nm_doc_say(c, name, NM_DOC_OK, "no bpffs holds %s: nothing to see", c->d->pin_dir);
		return;
	}
	b.maj = major(tst.st_dev);
	b.min = minor(tst.st_dev);
	nm_doc_mounts("/proc/self/mountinfo", bpf_scan, &b);
	w = calloc(1, sizeof(*w));
	d = opendir("/proc");
	if (!b.found || !w || !d || stat("/", &root) || !ns_ino(getpid(), "mnt", &self_mnt) ||
	    !ns_ino(getpid(), "user", &self_user) || !ns_ino(getpid(), "ipc", &self_ipc)) {
		nm_doc_say(c, name, NM_DOC_WARN, "cannot look at other mount namespaces (/proc: %s): run as root",
			strerror(errno));
		goto out;
	}
	/* the target's path inside its bpffs: the mount's root + the rest */
	snprintf(rel, sizeof(rel), "%s%s", strcmp(b.root, "/") ? b.root : "",
		 target + (strcmp(b.point, "/") ? strlen(b.point) : 0));
	if (!rel[0])
		snprintf(rel, sizeof(rel), "/");
	while ((e = readdir(d)))
		if (isdigit((unsigned char)e->d_name[0]))
			visit_pid(c, name, w, &s, atoi(e->d_name), &root, self_mnt, self_user, self_ipc);
	if (!w->nfail)
		nm_doc_say(c, name, NM_DOC_OK,
			"no container sees %s (%u other mount namespaces: %u of containers, %u of host services)",
			target, w->nseen, w->ncont, w->nhost);
out:
	if (d)
		closedir(d);
	free(w);
}
