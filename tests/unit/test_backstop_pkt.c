// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_backstop_pkt.c - the packet parsers of the cgroup_skb backstop
 * (bpf/lib/backstop.h: nm_pkt4, nm_pkt6) on crafted packets, through the
 * loaded nm_egress program with BPF_PROG_TEST_RUN: IPv4 options and
 * fragments (first and later), IPv6 extension header chains up to and past
 * the 6 headers the parser walks, routing headers (type 0, 2, 4), fragment
 * and AH headers, v4-mapped destinations.  Each row has its expected
 * verdict; each drop its event (reason, protocol and port as parsed) and a
 * count in backstop_drops.
 *
 * The test run's socket is a bare one of the running task's cgroup (its
 * type is neither TCP nor UDP), so every packet is judged as a raw one
 * would be: a deny or a redirect drops it.  The test loads nomoat into a pin
 * dir of its own (/sys/fs/bpf/nmt-bspkt-PID), makes a cgroup
 * <cgroup2>/nmt-bspkt-PID bound to its policy and runs there, then moves
 * back and removes both.  Nothing is attached, nothing is sent.  Root.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cmocka.h>

#include "cgroup.h"
#include "err.h"
#include "loader.h"
#include "nomoat.h"
#include "parse.h"
#include "pins.h"
#include "policy.h"

#define RULES                      \
	"allow 10.1.0.0/16\n"          \
	"allow 10.2.0.1:80\n"          \
	"redirect 10.3.0.0/16\n"       \
	"allow 2001:db8:1::/48\n"      \
	"allow [2001:db8:2::1]:80\n"   \
	"redirect 2001:db8:3::/48\n"

/* ---- packets ----------------------------------------------------------------- */
#define PK_MAX 512
#define HOP  IPPROTO_HOPOPTS
#define DST  IPPROTO_DSTOPTS
#define RT   IPPROTO_ROUTING
#define FRAG IPPROTO_FRAGMENT
#define AH   IPPROTO_AH

struct pk_ext {
	__u8 type;
	__u8 arg;   /* RT: routing type; FRAG: 1 = a later fragment; DST/HOP:
		     * length in 8-byte units past the first; AH: payload length */
};

struct pk_row {
	const char *what;
	const char *dst;
	__u8 l4;             /* the last header's protocol */
	__u16 dport;
	__u8 ihl;            /* IPv4: 0 = 5 */
	__u16 frag;          /* IPv4 flags and offset field (host order) */
	struct pk_ext ext[8]; /* IPv6 extension chain, ended by type 0 with arg 0 past the first */
	int next;            /* entries in ext */
	bool pass;
	const char *reason;  /* the event of a drop */
	int ev_proto, ev_port; /* as parsed (the event's proto and port) */
};

/* The L4 header: source port 40000, the destination port (TCP, UDP), or an
 * echo request (ICMP). */
static size_t put_l4(__u8 *p, __u8 l4, __u16 dport)
{
	__u16 ports[2] = { htons(40000), htons(dport) };

	if (l4 == IPPROTO_TCP) {
		memset(p, 0, 20);
		memcpy(p, ports, 4);
		p[12] = 5 << 4;
		p[13] = 0x10; /* ACK */
		return 20;
	}
	if (l4 == IPPROTO_UDP) {
		memset(p, 0, 8);
		memcpy(p, ports, 4);
		p[5] = 8;
		return 8;
	}
	memset(p, 0, 8);
	p[0] = l4 == IPPROTO_ICMPV6 ? 128 : 8;
	/* a later fragment's payload: bytes that read as ports 40000 -> dport */
	memcpy(p, ports, 4);
	return 8;
}

static size_t build4(const struct pk_row *r, __u8 *pkt)
{
	__u8 *ip = pkt + 14, ihl = r->ihl ? r->ihl : 5;
	size_t n;

	pkt[12] = 0x08;
	pkt[13] = 0x00;
	memset(ip, 0, ihl * 4);
	ip[0] = 0x40 | ihl;
	ip[6] = r->frag >> 8;
	ip[7] = r->frag & 0xff;
	ip[8] = 64;
	ip[9] = r->l4;
	inet_pton(AF_INET, "10.200.0.2", ip + 12);
	assert_int_equal(inet_pton(AF_INET, r->dst, ip + 16), 1);
	for (int i = 20; i < ihl * 4; i++)
		ip[i] = 1; /* NOP options */
	/* a later fragment carries ports-looking payload right after the header */
	n = ihl * 4 + put_l4(ip + ihl * 4, (r->frag & 0x1fff) ? IPPROTO_ICMP : r->l4, r->dport);
	if (r->frag & 0x1fff)
		ip[9] = r->l4;
	ip[2] = n >> 8;
	ip[3] = n & 0xff;
	return 14 + n;
}

static size_t build6(const struct pk_row *r, __u8 *pkt)
{
	__u8 *ip = pkt + 14, *p = ip + 40;
	bool later = false;

	pkt[12] = 0x86;
	pkt[13] = 0xdd;
	memset(ip, 0, 40);
	ip[0] = 0x60;
	ip[6] = r->next ? r->ext[0].type : r->l4;
	ip[7] = 64;
	inet_pton(AF_INET6, "fd00:200::2", ip + 8);
	assert_int_equal(inet_pton(AF_INET6, r->dst, ip + 24), 1);
	for (int i = 0; i < r->next; i++) {
		const struct pk_ext *e = &r->ext[i];
		size_t len;

		p[0] = i + 1 < r->next ? r->ext[i + 1].type : r->l4;
		switch (e->type) {
		case FRAG:
			len = 8;
			memset(p + 1, 0, 7);
			/* offset 100 (in 8-byte units) or 0, the M flag set */
			p[2] = e->arg ? (100 << 3) >> 8 : 0;
			p[3] = (e->arg ? (100 << 3) & 0xff : 0) | 1;
			later = later || e->arg;
			break;
		case AH:
			len = ((size_t)e->arg + 2) * 4;
			memset(p + 1, 0, len - 1);
			p[1] = e->arg;
			break;
		case RT:
			len = 8 + 16;
			memset(p + 1, 0, len - 1);
			p[1] = 2;
			p[2] = e->arg;
			p[3] = 1; /* segments left */
			break;
		default:
			len = ((size_t)e->arg + 1) * 8;
			memset(p + 1, 0, len - 1);
			p[1] = e->arg;
			p[2] = 1; /* PadN */
			p[3] = len - 4;
		}
		p += len;
	}
	p += put_l4(p, later ? IPPROTO_ICMPV6 : r->l4, r->dport);
	ip[4] = (p - ip - 40) >> 8;
	ip[5] = (p - ip - 40) & 0xff;
	return p - pkt;
}

#define E(t, a) { t, a }
#define DSTX E(DST, 0)

static const struct pk_row rows[] = {
	/* IPv4 */
	{ "v4 TCP to an allowed host:port", "10.2.0.1", IPPROTO_TCP, 80, .pass = true },
	{ "v4 TCP to another port of it", "10.2.0.1", IPPROTO_TCP, 81, .reason = "default", .ev_proto = 6, .ev_port = 81 },
	{ "v4 UDP to the allowed host:port", "10.2.0.1", IPPROTO_UDP, 80, .pass = true },
	{ "v4 ICMP to an allowed range", "10.1.0.9", IPPROTO_ICMP, 0, .pass = true },
	{ "v4 ICMP elsewhere", "10.9.0.1", IPPROTO_ICMP, 0, .reason = "default", .ev_proto = 1 },
	{ "v4 TCP the policy would redirect (a packet cannot be)", "10.3.0.1", IPPROTO_TCP, 80, .reason = "proto",
	  .ev_proto = 6, .ev_port = 80 },
	{ "v4 TCP to the proxy endpoint", "10.250.0.1", IPPROTO_TCP, 3128, .pass = true },
	{ "v4 options (one word) to an allowed range", "10.1.0.9", IPPROTO_TCP, 80, .ihl = 6, .reason = "ip-options",
	  .ev_proto = 6, .ev_port = 80 },
	{ "v4 options (40 bytes, the most) to an allowed range", "10.1.0.9", IPPROTO_UDP, 53, .ihl = 15,
	  .reason = "ip-options", .ev_proto = 17, .ev_port = 53 },
	{ "v4 options to the allowed host:port", "10.2.0.1", IPPROTO_TCP, 80, .ihl = 6, .reason = "ip-options",
	  .ev_proto = 6, .ev_port = 80 },
	{ "v4 first fragment (MF, offset 0): its ports are read", "10.2.0.1", IPPROTO_TCP, 80, .frag = 0x2000,
	  .pass = true },
	{ "v4 first fragment to another port", "10.2.0.1", IPPROTO_UDP, 81, .frag = 0x2000, .reason = "default",
	  .ev_proto = 17, .ev_port = 81 },
	{ "v4 later fragment (offset 185): no port, host:port does not match", "10.2.0.1", IPPROTO_TCP, 80,
	  .frag = 0x2000 | 185, .reason = "default", .ev_proto = 6, .ev_port = 0 },
	{ "v4 last fragment to an allowed range: judged by address", "10.1.0.9", IPPROTO_UDP, 80, .frag = 185,
	  .pass = true },
	/* IPv6 */
	{ "v6 TCP to an allowed host:port", "2001:db8:2::1", IPPROTO_TCP, 80, .pass = true },
	{ "v6 TCP to another port of it", "2001:db8:2::1", IPPROTO_TCP, 81, .reason = "default", .ev_proto = 6,
	  .ev_port = 81 },
	{ "v6 UDP to the allowed host:port", "2001:db8:2::1", IPPROTO_UDP, 80, .pass = true },
	{ "v6 ICMPv6 elsewhere", "2001:db8:9::1", IPPROTO_ICMPV6, 0, .reason = "default", .ev_proto = 58 },
	{ "v6 TCP the policy would redirect, no IPv6 proxy", "2001:db8:3::1", IPPROTO_TCP, 443, .reason = "no-proxy",
	  .ev_proto = 6, .ev_port = 443 },
	{ "v6 hop-by-hop, then TCP: ports read", "2001:db8:2::1", IPPROTO_TCP, 80, .ext = { E(HOP, 0) }, .next = 1,
	  .pass = true },
	{ "v6 hop-by-hop (16 bytes), destination options (24), then UDP to another port", "2001:db8:2::1",
	  IPPROTO_UDP, 81, .ext = { E(HOP, 1), E(DST, 2) }, .next = 2, .reason = "default", .ev_proto = 17,
	  .ev_port = 81 },
	{ "v6 AH (24 bytes, counted in 4-byte units), then TCP", "2001:db8:2::1", IPPROTO_TCP, 80,
	  .ext = { E(AH, 4) }, .next = 1, .pass = true },
	{ "v6 routing type 2 (mobile IPv6) passes", "2001:db8:2::1", IPPROTO_TCP, 80, .ext = { E(RT, 2) },
	  .next = 1, .pass = true },
	{ "v6 routing type 0 (source route) to an allowed range", "2001:db8:1::5", IPPROTO_TCP, 80,
	  .ext = { E(RT, 0) }, .next = 1, .reason = "ip-options", .ev_proto = 6, .ev_port = 80 },
	{ "v6 routing type 4 (segment routing) to an allowed range", "2001:db8:1::5", IPPROTO_UDP, 80,
	  .ext = { E(RT, 4) }, .next = 1, .reason = "ip-options", .ev_proto = 17, .ev_port = 80 },
	{ "v6 hop-by-hop, destination options, routing type 0", "2001:db8:1::5", IPPROTO_TCP, 80,
	  .ext = { E(HOP, 0), DSTX, E(RT, 0) }, .next = 3, .reason = "ip-options", .ev_proto = 6, .ev_port = 80 },
	{ "v6 4 headers (hop, dst, routing 2, dst), then TCP", "2001:db8:2::1", IPPROTO_TCP, 80,
	  .ext = { E(HOP, 0), E(DST, 1), E(RT, 2), DSTX }, .next = 4, .pass = true },
	{ "v6 6 headers (the most walked), then TCP: ports read", "2001:db8:2::1", IPPROTO_TCP, 80,
	  .ext = { E(HOP, 0), DSTX, DSTX, DSTX, DSTX, DSTX }, .next = 6, .pass = true },
	{ "v6 6 headers, then TCP to another port", "2001:db8:2::1", IPPROTO_TCP, 81,
	  .ext = { E(HOP, 0), DSTX, DSTX, DSTX, DSTX, DSTX }, .next = 6, .reason = "default", .ev_proto = 6,
	  .ev_port = 81 },
	{ "v6 6 headers, the 6th routing type 0", "2001:db8:1::5", IPPROTO_TCP, 80,
	  .ext = { E(HOP, 0), DSTX, DSTX, DSTX, DSTX, E(RT, 0) }, .next = 6, .reason = "ip-options", .ev_proto = 6,
	  .ev_port = 80 },
	{ "v6 7 headers (past the limit): dropped as a possible source route", "2001:db8:2::1", IPPROTO_TCP, 80,
	  .ext = { E(HOP, 0), DSTX, DSTX, DSTX, DSTX, DSTX, DSTX }, .next = 7, .reason = "ip-options",
	  .ev_proto = IPPROTO_DSTOPTS, .ev_port = 0 },
	{ "v6 7 headers to an allowed range: dropped all the same", "2001:db8:1::5", IPPROTO_TCP, 80,
	  .ext = { E(HOP, 0), DSTX, DSTX, DSTX, DSTX, DSTX, DSTX }, .next = 7, .reason = "ip-options",
	  .ev_proto = IPPROTO_DSTOPTS, .ev_port = 0 },
	{ "v6 7 headers, the 7th routing type 4 (unseen by the walk), to an allowed range", "2001:db8:1::5",
	  IPPROTO_TCP, 80, .ext = { E(HOP, 0), DSTX, DSTX, DSTX, DSTX, DSTX, E(RT, 4) }, .next = 7,
	  .reason = "ip-options", .ev_proto = IPPROTO_ROUTING, .ev_port = 0 },
	{ "v6 first fragment (offset 0): its ports are read", "2001:db8:2::1", IPPROTO_TCP, 80,
	  .ext = { E(FRAG, 0) }, .next = 1, .pass = true },
	{ "v6 later fragment (offset 800): no port, host:port does not match", "2001:db8:2::1", IPPROTO_TCP, 80,
	  .ext = { E(FRAG, 1) }, .next = 1, .reason = "default", .ev_proto = 6, .ev_port = 0 },
	{ "v6 later fragment to an allowed range: judged by address", "2001:db8:1::5", IPPROTO_UDP, 80,
	  .ext = { E(FRAG, 1) }, .next = 1, .pass = true },
	{ "v6 hop-by-hop, fragment (first), then UDP to another port", "2001:db8:2::1", IPPROTO_UDP, 82,
	  .ext = { E(HOP, 0), E(FRAG, 0) }, .next = 2, .reason = "default", .ev_proto = 17, .ev_port = 82 },
	{ "v6 to ::ffff:10.2.0.1 port 80: judged as IPv4", "::ffff:10.2.0.1", IPPROTO_TCP, 80, .pass = true },
	{ "v6 to ::ffff:10.9.0.1: judged as IPv4, denied", "::ffff:10.9.0.1", IPPROTO_TCP, 80, .reason = "default",
	  .ev_proto = 6, .ev_port = 80 },
};

/* ---- the fixture ------------------------------------------------------------- */
static char pin_dir[128], cg_dir[PATH_MAX], cg_home[PATH_MAX];
static struct nm_maps maps;
static struct ring_buffer *rb;
static int prog_fd = -1;
static bool loaded, moved;
static struct nm_event last_ev;
static int n_ev;

static void cleanup(void)
{
	if (rb)
		ring_buffer__free(rb);
	rb = NULL;
	if (prog_fd >= 0)
		close(prog_fd);
	prog_fd = -1;
	if (moved)
		nm_cgroup_enter(cg_home, 0);
	moved = false;
	if (cg_dir[0])
		rmdir(cg_dir);
	cg_dir[0] = 0;
	if (loaded)
		nm_unload(pin_dir);
	loaded = false;
}

static int on_event(void *ctx, void *data, size_t len)
{
	(void)ctx;
	if (len >= sizeof(last_ev)) {
		memcpy(&last_ev, data, sizeof(last_ev));
		n_ev++;
	}
	return 0;
}

/* The cgroup this process is in, as an absolute path. */
static int own_cgroup(const char *mnt, char *out, size_t len)
{
	char line[2048];
	FILE *f = fopen("/proc/self/cgroup", "r");
	int ret = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "0::", 3)) {
			line[strcspn(line, "\n")] = 0;
			snprintf(out, len, "%s%s", mnt, line + 3);
			ret = 0;
		}
	fclose(f);
	return ret;
}

static int group_setup(void **state)
{
	struct nm_policy p = { 0 };
	struct nm_ruleset rs = { 0 };
	char mnt[1024], path[256], err[NM_ERR_LEN];
	bool adopted = false;
	__u64 cg;
	__u32 id;
	int fam;

	(void)state;
	if (geteuid()) {
		fprintf(stderr, "test_backstop_pkt: must run as root (it loads nomoat and runs BPF programs)\n");
		return -1;
	}
	atexit(cleanup);
	snprintf(pin_dir, sizeof(pin_dir), "/sys/fs/bpf/nmt-bspkt-%d", (int)getpid());
	if (nm_load(pin_dir, &adopted, false) || nm_maps_open(pin_dir, &maps)) {
		fprintf(stderr, "test_backstop_pkt: load into %s: %s\n", pin_dir, nm_err_msg());
		return -1;
	}
	loaded = true;
	snprintf(path, sizeof(path), "%s/progs/nm_egress", pin_dir);
	prog_fd = bpf_obj_get(path);
	rb = ring_buffer__new(maps.events, on_event, NULL, NULL);
	if (prog_fd < 0 || !rb) {
		fprintf(stderr, "test_backstop_pkt: %s or the ring buffer: %s\n", path, strerror(errno));
		return -1;
	}

	snprintf(p.name, sizeof(p.name), "bspkt");
	p.default_action = NM_ACT_DENY;
	p.mode = NM_MODE_ENFORCE;
	p.raw = 1;
	if (nm_parse_endpoint("10.250.0.1:3128", &fam, &p.proxy4, NULL, err, sizeof(err)) ||
	    nm_ruleset_parse(RULES, "bspkt", &rs) || nm_policy_create(&maps, &p, &rs, &id)) {
		fprintf(stderr, "test_backstop_pkt: policy: %s %s\n", err, nm_err_msg());
		return -1;
	}
	nm_ruleset_free(&rs);

	if (nm_cgroup2_mount(mnt, sizeof(mnt)) || own_cgroup(mnt, cg_home, sizeof(cg_home))) {
		fprintf(stderr, "test_backstop_pkt: no cgroup2 mount or own cgroup\n");
		return -1;
	}
	snprintf(cg_dir, sizeof(cg_dir), "%s/nmt-bspkt-%d", mnt, (int)getpid());
	if (nm_cgroup_create(cg_dir) || nm_cgroup_id(cg_dir, &cg) || nm_bind(&maps, cg, id)) {
		fprintf(stderr, "test_backstop_pkt: cgroup %s: %s\n", cg_dir, nm_err_msg());
		return -1;
	}
	/* The test run's socket belongs to the running task's cgroup. */
	if (nm_cgroup_enter(cg_dir, 0)) {
		fprintf(stderr, "test_backstop_pkt: entering %s: %s\n", cg_dir, nm_err_msg());
		return -1;
	}
	moved = true;
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	cleanup();
	nm_maps_close(&maps);
	return 0;
}

/* ---- the rows ------------------------------------------------------------------ */
static void test_backstop_rows(void **state)
{
	unsigned long long drops0 = nm_percpu_sum(maps.gstats, NM_G_BACKSTOP_DROP);
	unsigned long long quiet0 = nm_percpu_sum(maps.gstats, NM_G_BACKSTOP_QUIET);
	unsigned int drops = 0, bad = 0;

	(void)state;
	ring_buffer__consume(rb); /* nothing of ours yet */
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct pk_row *r = &rows[i];
		__u8 pkt[PK_MAX] = { 0 };
		size_t n = strchr(r->dst, ':') ? build6(r, pkt) : build4(r, pkt);
		LIBBPF_OPTS(bpf_test_run_opts, t, .data_in = pkt, .repeat = 1);
		char why[256] = "";

		t.data_size_in = n;
		n_ev = 0;
		if (bpf_prog_test_run_opts(prog_fd, &t)) {
			snprintf(why, sizeof(why), "test run: %s", strerror(errno));
		} else if ((t.retval == 1) != r->pass) {
			snprintf(why, sizeof(why), "retval %u, expected %s", t.retval, r->pass ? "pass (1)" : "drop (0)");
		} else {
			ring_buffer__consume(rb);
			if (r->pass && n_ev)
				snprintf(why, sizeof(why), "passed, but %d event(s)", n_ev);
			else if (!r->pass && n_ev != 1)
				snprintf(why, sizeof(why), "dropped with %d events, expected 1", n_ev);
			else if (!r->pass &&
				 (last_ev.hook != NM_HOOK_EGRESS || strcmp(nm_reason_name(last_ev.reason), r->reason) ||
				  last_ev.proto != r->ev_proto || ntohs(last_ev.orig_port) != r->ev_port ||
				  last_ev.verdict != NM_V_DENY))
				snprintf(why, sizeof(why),
					 "event hook %s reason %s proto %u port %u verdict %s; expected egress %s %d %d deny",
					 nm_hook_name(last_ev.hook), nm_reason_name(last_ev.reason), last_ev.proto,
					 ntohs(last_ev.orig_port), nm_verdict_name(last_ev.verdict), r->reason, r->ev_proto,
					 r->ev_port);
		}
		drops += !r->pass;
		if (*why) {
			bad++;
			print_message("FAIL %zu - %s (%s): %s\n", i + 1, r->what, r->dst, why);
		} else {
			print_message("ok %zu - %s (%s): %s\n", i + 1, r->what, r->dst, r->pass ? "pass" : r->reason);
		}
	}
	assert_int_equal(bad, 0);
	/* every drop counted; none went unreported (the event budget) */
	assert_int_equal(nm_percpu_sum(maps.gstats, NM_G_BACKSTOP_DROP) - drops0, drops);
	assert_int_equal(nm_percpu_sum(maps.gstats, NM_G_BACKSTOP_QUIET) - quiet0, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backstop_rows),
	};

	return cmocka_run_group_tests_name("backstop packets", tests, group_setup, group_teardown);
}
