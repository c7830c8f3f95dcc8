// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* nomoat doctor (doctor.h): the host's checks, and the table of all of them
 * at the end (the endpoint and pin-dir checks are in doctor_ns.c). */
#include "doctor.h"
#include "doctor_int.h"
#include "canary.h"
#include "cgroup.h"
#include "err.h"
#include "loader.h"
#include "pins.h"
#include "probe.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <linux/magic.h>

const char *nm_doc_status_name(enum nm_doc_status s)
{
	static const char *const names[NM_DOC__MAX] = { "ok", "warn", "fail" };

	return s < NM_DOC__MAX ? names[s] : "?";
}

void nm_doc_say(struct nm_doc *c, const char *name, enum nm_doc_status st, const char *fmt, ...)
{
	struct nm_doctor *d = c->d;
	struct nm_doc_line l = { name, st, NULL };
	char detail[1536];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	l.detail = detail;
	d->n[st]++;
	if (st == NM_DOC_FAIL && !d->first_fail[0])
		if (snprintf(d->first_fail, sizeof(d->first_fail), "%s: %s", name, detail) >= (int)sizeof(d->first_fail))
			d->first_fail[sizeof(d->first_fail) - 1] = 0; /* cut: the doctor says it all */
	if (d->report)
		d->report(&l, d->arg);
}

/* ---- mountinfo ----------------------------------------------------------- */
/* Undo mountinfo's octal escapes (\040 for a space, ...) in place. */
static void unescape(char *s)
{
	char *o = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' && s[3] >= '0' &&
		    s[3] <= '7') {
			*o++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*o++ = *s;
		}
	}
	*o = 0;
}

int nm_doc_mounts(const char *path, int (*fn)(const struct nm_doc_mnt *, void *), void *arg)
{
	char line[3 * PATH_MAX];
	FILE *f = fopen(path, "re");
	int ret = 0;

	if (!f)
		return -errno;
	while (!ret && fgets(line, sizeof(line), f)) {
		/* id parent maj:min root mountpoint opts [optional...] - fstype src super */
		static __thread struct nm_doc_mnt mt;
		char *sep = strstr(line, " - ");

		if (!sep || sscanf(line, "%*u %*u %u:%u %4095s %4095s", &mt.maj, &mt.min, mt.root, mt.point) != 4)
			continue;
		mt.super[0] = 0;
		if (sscanf(sep + 3, "%31s %*s %255s", mt.fstype, mt.super) < 1)
			continue;
		unescape(mt.root);
		unescape(mt.point);
		ret = fn(&mt, arg);
	}
	fclose(f);
	return ret;
}

/* Is a path below (or at) dir, as strings ("/a" holds "/a/b", not "/ab")? */
bool nm_doc_under(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	if (!strcmp(dir, "/"))
		return path[0] == '/';
	return !strncmp(path, dir, n) && (path[n] == '/' || !path[n]);
}

/* ---- what is loaded (several checks need it) ----------------------------- */
static int first_attach(const struct nm_attachment *a, void *arg)
{
	struct nm_doc *c = arg;

	if (a->origdst_only || !a->path[0])
		return 0;
	if (!c->nattach++)
		snprintf(c->attach, sizeof(c->attach), "%s", a->path);
	return 0;
}

void nm_doc_state(struct nm_doc *c)
{
	if (c->state_read)
		return;
	c->state_read = true;
	c->loaded = nm_is_loaded(c->d->pin_dir);
	if (!c->loaded)
		return;
	nm_attach_foreach(c->d->pin_dir, first_attach, c);
	c->maps_ok = nm_maps_open(c->d->pin_dir, &c->m) == 0;
	nm_err_clear();
}

/* ---- 1. cgroup v2 -------------------------------------------------------- */
struct cg_layout {
	char v2[PATH_MAX];
	int nv1;
};

static int cg_scan(const struct nm_doc_mnt *mt, void *arg)
{
	struct cg_layout *l = arg;

	if (!strcmp(mt->fstype, "cgroup2") && !l->v2[0])
		snprintf(l->v2, sizeof(l->v2), "%s", mt->point);
	else if (!strcmp(mt->fstype, "cgroup"))
		l->nv1++;
	return 0;
}

bool nm_doc_fs_is(const char *p, long magic)
{
	struct statfs s;

	return statfs(p, &s) == 0 && s.f_type == magic;
}

/*
 * No cgroup2 anywhere (a v1-only host): mount one, as nm_bpffs_ensure
 * mounts the bpffs nomoat needs.  Where systemd's hybrid layout puts it
 * when /sys/fs/cgroup is a tmpfs of v1 hierarchies, else at /sys/fs/cgroup.
 */
static int cg2_mount(char *where, size_t len)
{
	const char *base = "/sys/fs/cgroup";

	if (nm_doc_fs_is(base, TMPFS_MAGIC)) {
		snprintf(where, len, "%s/unified", base);
		if (mkdir(where, 0555) && errno != EEXIST)
			return -errno;
	} else {
		snprintf(where, len, "%s", base);
	}
	if (mount("cgroup2", where, "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL))
		return -errno;
	return 0;
}

static void check_cgroup2(struct nm_doc *c, const char *name)
{
	struct cg_layout l = { "", 0 };
	char where[PATH_MAX];
	int err;

	nm_doc_mounts("/proc/self/mountinfo", cg_scan, &l);
	if (l.v2[0] && !strcmp(l.v2, "/sys/fs/cgroup") && !l.nv1)
		nm_doc_say(c, name, NM_DOC_OK, "unified: cgroup2 at /sys/fs/cgroup");
	else if (l.v2[0] && l.nv1)
		nm_doc_say(c, name, NM_DOC_OK,
			   "hybrid: cgroup2 at %s, %d cgroup v1 hierarchies beside it (nomoat uses cgroup2 only)", l.v2,
			   l.nv1);
	else if (l.v2[0])
		nm_doc_say(c, name, NM_DOC_OK, "cgroup2 at %s", l.v2);
	else if ((err = cg2_mount(where, sizeof(where))) == 0)
		nm_doc_say(c, name, NM_DOC_WARN,
			   "none: no cgroup2 was mounted (%d v1 hierarchies), so nomoat could attach nowhere; mounted "
			   "one at %s now. Make it last: boot with a cgroup2 hierarchy (systemd.unified_cgroup_hierarchy) "
			   "or add it to /etc/fstab",
			   l.nv1, where);
	else
		nm_doc_say(c, name, NM_DOC_FAIL,
			   "none: no cgroup2 is mounted and mounting one at %s failed (%s): nomoat cannot attach "
			   "anywhere. Mount one: mount -t cgroup2 none %s (as root)",
			   where, strerror(-err), where);
}

/* ---- 6. kernel features ------------------------------------------------- */
static void list_add(char *buf, size_t len, const char *s)
{
	size_t n = strlen(buf);

	if (snprintf(buf + n, len - n, "%s%s", n ? "; " : "", s) >= (int)(len - n))
		buf[len - 1] = 0; /* a long list is cut */
}

static void check_features(struct nm_doc *c, const char *name)
{
	char req[1024] = "", opt[1024] = "";
	struct nm_features fs;
	int n = 0;

	nm_probe(&fs);
	for (int i = 0; i < NM_F__MAX; i++) {
		n++;
		if (!fs.f[i].present)
			list_add(fs.f[i].required ? req : opt, fs.f[i].required ? sizeof(req) : sizeof(opt),
				 fs.f[i].name);
	}
	if (req[0])
		nm_doc_say(c, name, NM_DOC_FAIL,
			   "missing: %s: this kernel cannot enforce nomoat (it needs Linux 5.15+ with cgroup BPF, run "
			   "as root; see README \"Kernel requirements\")",
			   req);
	else if (opt[0])
		nm_doc_say(c, name, NM_DOC_WARN, "optional features missing: %s (events then carry pid 0 or no comm)",
			   opt);
	else
		nm_doc_say(c, name, NM_DOC_OK, "all %d probed features present", n);
}

/* ---- 7. loaded ----------------------------------------------------------- */
static void check_loaded(struct nm_doc *c, const char *name)
{
	nm_doc_state(c);
	if (!c->loaded)
		nm_doc_say(c, name, NM_DOC_WARN,
			   "nothing loaded at %s: nothing is enforced. Run nomoat load or start nomoatd (or is the pin "
			   "dir right? --pin-dir, $NOMOAT_PIN_DIR)",
			   c->d->pin_dir);
	else if (!c->nattach)
		nm_doc_say(c, name, NM_DOC_WARN,
			   "loaded at %s but attached nowhere: nothing is judged. Run nomoat cgroup attach PATH", c->d->pin_dir);
	else
		nm_doc_say(c, name, NM_DOC_OK, "loaded at %s, attached at %s%s", c->d->pin_dir, c->attach,
			   c->nattach > 1 ? " and more (nomoat cgroup list)" : "");
}

/* ---- 2. cgroup2 socket matching ------------------------------------------ */
#define SK_MATCH_MSG "disabling cgroup2 socket matching"

/* Kernel release as major * 1000 + minor ("6.18.4-..." -> 6018). */
static int kernel_version(char *rel, size_t len)
{
	struct utsname u;
	int maj = 0, min = 0;

	if (uname(&u))
		return 0;
	snprintf(rel, len, "%s", u.release);
	sscanf(u.release, "%d.%d", &maj, &min);
	return maj * 1000 + min;
}

/*
 * Before Linux 5.15 a socket's cgroup data was a union: once a net_cls or
 * net_prio v1 hierarchy was used, the kernel logged SK_MATCH_MSG and every
 * new socket counted as the root cgroup's, so cgroup BPF programs below the
 * root (nomoat's) were bypassed.  Commit 8520e224f547 ("bpf, cgroups: Fix
 * cgroup v2 fallback on v1/v2 mixed mode", 5.15) split the union: since
 * then a net_cls or net_prio hierarchy is harmless here.
 */
static int netcls_scan(const struct nm_doc_mnt *mt, void *arg)
{
	char *where = arg;

	if (!strcmp(mt->fstype, "cgroup") && (strstr(mt->super, "net_cls") || strstr(mt->super, "net_prio")))
		list_add(where, PATH_MAX, mt->point);
	return 0;
}

static int netcls_hierarchies(void)
{
	char line[256], nm[64];
	FILE *f = fopen("/proc/cgroups", "re");
	int hier, n = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%63s %d", nm, &hier) == 2 && hier > 0 &&
		    (!strcmp(nm, "net_cls") || !strcmp(nm, "net_prio")))
			n++;
	fclose(f);
	return n;
}

static void check_netcls(struct nm_doc *c, const char *name)
{
	char where[PATH_MAX] = "", rel[128] = "";
	int kv = kernel_version(rel, sizeof(rel)), nh = netcls_hierarchies();

	nm_doc_mounts("/proc/self/mountinfo", netcls_scan, where);
	if (!nh && !where[0])
		nm_doc_say(c, name, NM_DOC_OK, "no net_cls or net_prio cgroup v1 hierarchy");
	else if (kv >= 5015)
		nm_doc_say(c, name, NM_DOC_OK,
			   "net_cls/net_prio on a cgroup v1 hierarchy (%s): harmless on this kernel (%s): since 5.15 it no "
			   "longer turns cgroup2 socket matching off",
			   where[0] ? where : "not mounted here", rel);
	else
		nm_doc_say(c, name, NM_DOC_WARN,
			   "net_cls/net_prio on a cgroup v1 hierarchy (%s): on this kernel (%s, before 5.15) its first "
			   "use turns cgroup2 socket matching off for every new socket, and nomoat's hooks are bypassed. "
			   "Unmount it and keep it unused (or run Linux 5.15+)",
			   where[0] ? where : "not mounted here", rel);
}

/* Scan the kernel log for SK_MATCH_MSG, from messages of the kernel itself
 * (facility 0: user space writing to /dev/kmsg cannot forge one).  1 found,
 * 0 not, -errno when the log cannot be read. */
static int kmsg_has(const char *needle)
{
	char rec[8192];
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC), found = 0;

	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t n = read(fd, rec, sizeof(rec) - 1);
		unsigned pri;

		if (n < 0 && errno == EPIPE) /* overwritten while we read: go on */
			continue;
		if (n <= 0)
			break;
		rec[n] = 0;
		/* "PRI,SEQ,TS,FLAGS;MESSAGE\n": PRI = facility * 8 + level */
		if (sscanf(rec, "%u,", &pri) == 1 && pri < 8 && strstr(rec, needle)) {
			found = 1;
			break;
		}
	}
	close(fd);
	return found;
}

static void check_kmsg(struct nm_doc *c, const char *name)
{
	int r = kmsg_has(SK_MATCH_MSG);

	if (r < 0)
		nm_doc_say(c, name, NM_DOC_WARN,
			   "cannot read the kernel log (/dev/kmsg: %s): run as root; the socket-matching check proves "
			   "enforcement by a connect instead",
			   strerror(-r));
	else if (r)
		nm_doc_say(c, name, NM_DOC_FAIL,
			   "the kernel logged \"cgroup: " SK_MATCH_MSG " due to net_prio or net_cls activation\": since "
			   "then new sockets skip the cgroup BPF programs below the root cgroup, nomoat's included, until "
			   "reboot. Keep net_cls and net_prio unused (no v1 mount of them), reboot, or run Linux 5.15+");
	else
		nm_doc_say(c, name, NM_DOC_OK, "the kernel log does not say \"" SK_MATCH_MSG "\"");
}

/* The canary of nomoatd (canary.h), from a scratch cgroup of its own. */
static void check_canary(struct nm_doc *c, const char *name)
{
	int err;

	nm_doc_state(c);
	if (!c->loaded || !c->nattach || !c->maps_ok) {
		nm_doc_say(c, name, NM_DOC_OK, "not run: it needs nomoat loaded and an attach point (%s)",
			   !c->loaded ? "not loaded" : !c->nattach ? "none" : "maps unreadable");
		return;
	}
	err = nm_canary_run(&c->m, c->attach, "nomoat-doctor", true);
	if (!err)
		nm_doc_say(c, name, NM_DOC_OK,
			   "a connect to 169.254.169.254 from a scratch cgroup under %s (deny-all policy, empty network "
			   "namespace) was refused with EPERM: the hooks see new sockets",
			   c->attach);
	else
		nm_doc_say(c, name, NM_DOC_FAIL,
			   "%s. Sandboxes under %s are not policed: cgroup2 socket matching may be off (net_cls/net_prio "
			   "before Linux 5.15), or the programs were detached (nomoat cgroup list; nomoat cgroup attach)",
			   nm_err_msg(), c->attach);
	nm_err_clear();
}

/* ---- 3. runtimes that bypass socket hooks -------------------------------- */
struct runtime {
	const char *key, *what, *why;
	const char *const bins[3];
	const char *const words[3]; /* as runtimes are named in config files */
};

static const struct runtime runtimes[] = {
	{ "gvisor", "gVisor",
	  "its containers run on gVisor's own network stack, which reaches the host through the sandbox's "
	  "sockets (or a packet socket), so nomoat never sees their connections",
	  { "runsc", "containerd-shim-runsc-v1", NULL }, { "runsc", "gvisor", NULL } },
	{ "kata", "Kata Containers",
	  "its containers run in a VM whose traffic leaves through a tap device, below every socket hook",
	  { "kata-runtime", "containerd-shim-kata-v2", NULL }, { "kata", NULL, NULL } },
};

static const char *const bin_dirs[] = { "/usr/local/bin", "/usr/local/sbin", "/usr/bin", "/usr/sbin",
					"/bin", "/sbin", "/opt/kata/bin", "/snap/bin", NULL };

static const char *const runtime_confs[] = { "/etc/docker/daemon.json", "/etc/containerd/config.toml",
					     "/etc/containers/containers.conf", "/etc/crio/crio.conf", NULL };

static bool exe_in(const char *dir, const char *bin, char *found, size_t len)
{
	struct stat st;

	snprintf(found, len, "%s/%s", dir, bin);
	return stat(found, &st) == 0 && S_ISREG(st.st_mode) && access(found, X_OK) == 0;
}

/* The first executable named bin in $PATH or the usual directories. */
static bool find_bin(const char *bin, char *found, size_t len)
{
	const char *path = getenv("PATH");
	char buf[4096], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", path ? path : "");
	for (char *d = strtok_r(buf, ":", &save); d; d = strtok_r(NULL, ":", &save))
		if (*d == '/' && exe_in(d, bin, found, len))
			return true;
	for (int i = 0; bin_dirs[i]; i++)
		if (exe_in(bin_dirs[i], bin, found, len))
			return true;
	return false;
}

static bool file_names(const char *path, const char *word)
{
	char buf[1 << 16];
	size_t n;
	FILE *f = fopen(path, "re");

	if (!f)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	for (size_t i = 0; i < n; i++)
		buf[i] = (char)tolower((unsigned char)buf[i]);
	return strstr(buf, word) != NULL;
}

static void check_runtimes(struct nm_doc *c, const char *name)
{
	int found_any = 0;

	for (size_t r = 0; r < sizeof(runtimes) / sizeof(runtimes[0]); r++) {
		const struct runtime *rt = &runtimes[r];
		char where[2048] = "", p[PATH_MAX], line[96];

		for (int b = 0; rt->bins[b]; b++)
			if (find_bin(rt->bins[b], p, sizeof(p)))
				list_add(where, sizeof(where), p);
		for (int f = 0; runtime_confs[f]; f++)
			for (int w = 0; rt->words[w]; w++)
				if (file_names(runtime_confs[f], rt->words[w])) {
					snprintf(line, sizeof(line), "named in %s", runtime_confs[f]);
					list_add(where, sizeof(where), line);
					break;
				}
		if (!where[0])
			continue;
		found_any++;
		snprintf(line, sizeof(line), "runtime:%s", rt->key);
		nm_doc_say(c, line, NM_DOC_WARN,
			   "%s found (%s): %s: containers on it are not policed by nomoat. Run the sandboxes you police "
			   "with runc or crun",
			   rt->what, where, rt->why);
	}
	if (!found_any)
		nm_doc_say(c, name, NM_DOC_OK,
			   "no gVisor (runsc) or Kata runtime in $PATH, the usual directories or the Docker, containerd, "
			   "podman and CRI-O configs");
}

/* ---- the table ----------------------------------------------------------- */
static const struct {
	const char *name;
	void (*fn)(struct nm_doc *c, const char *name);
	bool at_start; /* nomoatd runs it before it serves */
} checks[] = {
	{ "cgroup2", check_cgroup2, false },
	{ "kernel-features", check_features, true },
	{ "loaded", check_loaded, false },
	{ "net-cls-prio", check_netcls, false },
	{ "socket-matching-log", check_kmsg, true },
	/* nomoatd runs the canary itself, once its policy file is applied */
	{ "socket-matching", check_canary, false },
	{ "runtimes", check_runtimes, false },
	{ "endpoints", nm_doc_check_endpoints, false },
	{ "pin-dir-mode", nm_doc_check_pin_mode, false },
	{ "pin-dir-containers", nm_doc_check_pin_visible, true },
};

void nm_doctor_run(struct nm_doctor *d)
{
	struct nm_doc c = { .d = d };

	memset(d->n, 0, sizeof(d->n));
	d->first_fail[0] = 0;
	for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++)
		if (d->scope == NM_DOC_ALL || checks[i].at_start)
			checks[i].fn(&c, checks[i].name);
	if (c.maps_ok)
		nm_maps_close(&c.m);
	nm_err_clear();
}
