// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "topo.h"
#include "svc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "run.h"

const char *const nmt_world_hosts4[] = {
	NMT_META4, NMT_INTERNAL4, NMT_PRIVATE4, NMT_NET4, NMT_NET4B, NULL,
};
const char *const nmt_world_hosts6[] = { NMT_META6, NMT_NET6, NULL };
const char *const nmt_world_addrs4[] = {
	NMT_WORLD4, NMT_META4, NMT_INTERNAL4, NMT_PRIVATE4, NMT_NET4, NMT_NET4B, NULL,
};
const char *const nmt_world_addrs6[] = { NMT_WORLD6, NMT_META6, NMT_NET6, NULL };

void nmt_topo_init(struct nmt_topo *t, const char *prefix)
{
	memset(t, 0, sizeof(*t));
	if (prefix)
		snprintf(t->prefix, sizeof(t->prefix), "%s", prefix);
	else
		snprintf(t->prefix, sizeof(t->prefix), "nmt%d", (int)getpid());
	snprintf(t->cns, sizeof(t->cns), "%s-c", t->prefix);
	snprintf(t->wns, sizeof(t->wns), "%s-w", t->prefix);
	/* IFNAMSIZ is 16: keep the device names short. */
	snprintf(t->cdev, sizeof(t->cdev), "%.13sc", t->prefix);
	snprintf(t->wdev, sizeof(t->wdev), "%.13sw", t->prefix);
}

/* Write a sysctl inside a netns: /proc/sys/net follows the opener's netns. */
struct sysctl_arg {
	const char *path;
	const char *val;
};

static int sysctl_child(void *p)
{
	const struct sysctl_arg *a = p;
	int fd = open(a->path, O_WRONLY | O_CLOEXEC);

	if (fd < 0) {
		fprintf(stderr, "nmt: open %s: %s\n", a->path, strerror(errno));
		return 1;
	}
	if (write(fd, a->val, strlen(a->val)) < 0) {
		fprintf(stderr, "nmt: write %s: %s\n", a->path, strerror(errno));
		close(fd);
		return 1;
	}
	close(fd);
	return 0;
}

static int netns_sysctl(const char *ns, const char *path, const char *val)
{
	struct sysctl_arg a = { path, val };
	pid_t pid = nmt_spawn(NULL, ns, sysctl_child, &a);
	int st;

	if (pid < 0)
		return pid;
	st = nmt_wait(pid, 5000);
	if (st < 0 || !WIFEXITED(st) || WEXITSTATUS(st)) {
		fprintf(stderr, "nmt: sysctl %s=%s in netns %s failed\n", path, val, ns);
		return -EIO;
	}
	return 0;
}

#define TRY(...)                          \
	do {                              \
		if (nmt_run(__VA_ARGS__)) \
			return -EIO;      \
	} while (0)

int nmt_topo_up(struct nmt_topo *t)
{
	const char *c = t->cns, *w = t->wns;

	TRY("ip netns add %s", c);
	t->have_cns = true;
	TRY("ip netns add %s", w);
	t->have_wns = true;
	/* Both ends are made inside their namespaces: nothing of the test
	 * ever appears in the root namespace. */
	TRY("ip link add %s netns %s type veth peer name %s netns %s", t->cdev, c, t->wdev, w);
	TRY("ip -n %s link set lo up", c);
	TRY("ip -n %s link set lo up", w);
	TRY("ip -n %s addr add %s/24 dev %s", c, NMT_CLIENT4, t->cdev);
	TRY("ip -n %s addr add %s/64 dev %s nodad", c, NMT_CLIENT6, t->cdev);
	TRY("ip -n %s addr add %s/24 dev %s", w, NMT_WORLD4, t->wdev);
	TRY("ip -n %s addr add %s/64 dev %s nodad", w, NMT_WORLD6, t->wdev);
	TRY("ip -n %s link set %s up", c, t->cdev);
	TRY("ip -n %s link set %s up", w, t->wdev);
	for (int i = 0; nmt_world_hosts4[i]; i++) {
		TRY("ip -n %s addr add %s/32 dev lo", w, nmt_world_hosts4[i]);
		TRY("ip -n %s route add %s/32 via %s dev %s", c, nmt_world_hosts4[i], NMT_WORLD4,
		    t->cdev);
	}
	for (int i = 0; nmt_world_hosts6[i]; i++) {
		TRY("ip -n %s addr add %s/128 dev lo", w, nmt_world_hosts6[i]);
		TRY("ip -n %s -6 route add %s/128 via %s dev %s", c, nmt_world_hosts6[i],
		    NMT_WORLD6, t->cdev);
	}
	for (int k = 0; k < 2; k++) {
		const char *ns = k ? w : c;

		if (netns_sysctl(ns, "/proc/sys/net/ipv4/tcp_fastopen", "3"))
			return -EIO;
	}
	return 0;
}

void nmt_topo_down(struct nmt_topo *t)
{
	if (t->have_cns && nmt_run_quiet("ip netns del %s", t->cns) == 0)
		t->have_cns = false;
	if (t->have_wns && nmt_run_quiet("ip netns del %s", t->wns) == 0)
		t->have_wns = false;
}

char *nmt_sa_str(const struct sockaddr *sa, char *buf, size_t len)
{
	struct sockaddr_storage ss;

	if (sa->sa_family != AF_INET && sa->sa_family != AF_INET6) {
		snprintf(buf, len, "(family %d)", sa->sa_family);
		return buf;
	}
	memcpy(&ss, sa, sa->sa_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6));
	return nm_svc_sa_str(&ss, buf, len);
}

int nmt_sa_make(struct sockaddr_storage *ss, const char *addr, int port, bool mapped)
{
	struct sockaddr_in *s4 = (void *)ss;
	struct sockaddr_in6 *s6 = (void *)ss;
	struct in_addr a4;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, addr, &a4) == 1) {
		if (!mapped) {
			s4->sin_family = AF_INET;
			s4->sin_port = htons(port);
			s4->sin_addr = a4;
			return sizeof(*s4);
		}
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		s6->sin6_addr.s6_addr[10] = 0xff;
		s6->sin6_addr.s6_addr[11] = 0xff;
		memcpy(&s6->sin6_addr.s6_addr[12], &a4, 4);
		return sizeof(*s6);
	}
	if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		return sizeof(*s6);
	}
	return -EINVAL;
}

/* One bounded connect from the client netns; the exit code says whether it
 * worked. */
struct warm_arg {
	const char *addr;
	int port;
};

static int warm_child(void *p)
{
	const struct warm_arg *a = p;
	struct sockaddr_storage ss;
	struct timeval tv = { 0, 500000 };
	int len = nmt_sa_make(&ss, a->addr, a->port, false);
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || len < 0)
		return 2;
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&ss, len))
		return 1;
	close(fd);
	return 0;
}

int nmt_topo_warmup(const struct nmt_topo *t, int port, int timeout_ms)
{
	long long end = nmt_now_ms() + timeout_ms;
	const char *targets[] = { NMT_NET6, NMT_NET4, NMT_META6 };

	for (unsigned i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		struct warm_arg a = { targets[i], port };
		int ok = 0;

		while (!ok && nmt_now_ms() < end) {
			pid_t pid = nmt_spawn(NULL, t->cns, warm_child, &a);
			int st;

			if (pid < 0)
				return pid;
			st = nmt_wait(pid, 2000);
			if (st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0)
				ok = 1;
			else
				nmt_sleep_ms(100);
		}
		if (!ok) {
			fprintf(stderr, "nmt: warm-up: no TCP connect to %s port %d from netns %s "
					"within %d ms\n",
				targets[i], port, t->cns, timeout_ms);
			return -ETIMEDOUT;
		}
	}
	return 0;
}
