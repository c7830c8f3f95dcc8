/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * faults.c - nomoat under faults, end to end:
 *
 *   - a rule table at its capacity (NM_MAX_RULES): a policy made exactly
 *     full works; one more rule is refused with a clear message; an import
 *     that replaces a rule and then overflows leaves the table as it was;
 *     a replace or create with one rule too many changes nothing;
 *   - the ring buffer flooded by a sandbox sending denied datagrams as fast
 *     as it can, with nobody reading: every datagram is still refused,
 *     connects made during the flood are judged as always, and the lost
 *     events are counted.
 */
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cases.h"
#include "harness.h"
#include "netprobe.h"
#include "nomoat.h"
#include "run.h"

/* ---- a table at capacity ------------------------------------------------- */

/* n rules "deny 1.0.0.0", "deny 1.0.0.1", ... then the extra lines. */
static bool write_rules(const char *path, size_t n, const char *extra)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned a = 0x01000000u + (unsigned)i;

		fprintf(f, "deny %u.%u.%u.%u\n", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
	}
	if (extra)
		fputs(extra, f);
	return fclose(f) == 0;
}

/* `nomoat check ADDR 80 --policy p-cap` says verdict? */
static bool says(const char *addr, const char *verdict, char *why, size_t len)
{
	char v[32] = "";

	if (nmt_cli("-j check %s 80 --policy p-cap", addr) || nmt_json_get(nmt_cli_out, "verdict", v, sizeof(v))) {
		nmt_why_set(why, len, "check %s: %s", addr, nmt_cli_msg());
		return false;
	}
	if (strcmp(v, verdict)) {
		nmt_why_set(why, len, "%s is '%s', expected '%s'", addr, v, verdict);
		return false;
	}
	return true;
}

static void case_capacity(void)
{
	char full[PATH_MAX], over[PATH_MAX], imp[PATH_MAX], why[512] = "";
	int rc;

	snprintf(full, sizeof(full), "/tmp/nomoat-test-%d-full.rules", (int)nmt_h.main_pid);
	snprintf(over, sizeof(over), "/tmp/nomoat-test-%d-over.rules", (int)nmt_h.main_pid);
	snprintf(imp, sizeof(imp), "/tmp/nomoat-test-%d-imp.rules", (int)nmt_h.main_pid);
	if (!write_rules(full, NM_MAX_RULES, NULL) || !write_rules(over, NM_MAX_RULES, "deny 9.9.9.9\n") ||
	    !write_rules(imp, 0, "allow 1.0.0.0\ndeny 9.9.9.9\n")) {
		nmt_verdict(false, "capacity: rule files", "cannot write /tmp: %s", strerror(errno));
		goto out;
	}

	rc = nmt_cli("policy create p-cap --default allow --rules %s", full);
	nmt_verdict(rc == 0 && says("1.0.0.0", "deny", why, sizeof(why)) && says("1.32.0.0", "allow", why, sizeof(why)),
		    "capacity: a policy with exactly NM_MAX_RULES (2^21) IPv4 rules is made and works",
		    "exit %d: %s %s", rc, nmt_cli_msg(), why);
	if (rc)
		goto out;

	*why = 0;
	rc = nmt_cli("deny add 9.9.9.9 --policy p-cap");
	nmt_verdict(rc == 2 && strstr(nmt_cli_err, "IPv4 table of policy 'p-cap' is full (2097152 rules)") &&
			    says("9.9.9.9", "allow", why, sizeof(why)),
		    "capacity: one more rule is refused (exit 2, 'the IPv4 table of policy ... is full')",
		    "exit %d: %s %s", rc, nmt_cli_msg(), why);

	*why = 0;
	rc = nmt_cli("rule import %s --policy p-cap", imp);
	nmt_verdict(rc == 2 && strstr(nmt_cli_err, "'9.9.9.9'") && says("1.0.0.0", "deny", why, sizeof(why)) &&
			    says("9.9.9.9", "allow", why, sizeof(why)),
		    "capacity: an import that changes a rule and then overflows is rolled back whole",
		    "exit %d: %s %s", rc, nmt_cli_msg(), why);

	*why = 0;
	rc = nmt_cli("rule replace %s --policy p-cap", over);
	nmt_verdict(rc == 2 && strstr(nmt_cli_err, "of policy 'p-cap' is full") &&
			    says("1.0.0.0", "deny", why, sizeof(why)) && says("9.9.9.9", "allow", why, sizeof(why)),
		    "capacity: `rule replace` with one rule too many leaves the live table as it was",
		    "exit %d: %s %s", rc, nmt_cli_msg(), why);

	rc = nmt_cli("policy create p-cap2 --default deny --rules %s", over);
	{
		int rc2 = nmt_cli("policy show p-cap2");

		nmt_verdict(rc == 2 && rc2 != 0, "capacity: `policy create` with one rule too many creates nothing",
			    "create exit %d, then `policy show p-cap2` exit %d", rc, rc2);
	}
	rc = nmt_cli("policy delete p-cap");
	nmt_verdict(rc == 0, "capacity: the full policy is deleted", "exit %d: %s", rc, nmt_cli_msg());
out:
	unlink(full);
	unlink(over);
	unlink(imp);
}

/* ---- the ring buffer flooded ---------------------------------------------- */
#define FLOOD_MS       2500
#define FLOOD_CHILDREN 2
#define FLOOD_MAX      20000000

struct flood_res {
	long long sent, refused, other;
	int first_err;
};

static int flood_child(void *arg)
{
	int fd = *(int *)arg;
	struct flood_res res = { 0 };
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(5300) };
	long long end = nmt_now_ms() + FLOOD_MS;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	inet_pton(AF_INET, NMT_META4, &sa.sin_addr);
	for (long long i = 0; s >= 0 && i < FLOOD_MAX; i++) {
		if ((i & 255) == 0 && nmt_now_ms() >= end)
			break;
		if (sendto(s, "x", 1, 0, (struct sockaddr *)&sa, sizeof(sa)) == 1) {
			res.sent++;
		} else if (errno == EPERM) {
			res.refused++;
		} else {
			if (!res.other++)
				res.first_err = errno;
		}
	}
	return write(fd, &res, sizeof(res)) == sizeof(res) ? 0 : 1;
}

static void case_flood(void)
{
	const char *desc = "flood: a sandbox floods the ring buffer with denied datagrams: all refused, drops counted";
	struct flood_res total = { 0 };
	pid_t kids[FLOOD_CHILDREN] = { 0 };
	int pipes[FLOOD_CHILDREN][2];
	char cgp[PATH_MAX], why[512] = "", got[256];
	unsigned long long d0, d1;
	int checks = 0, bad = 0;

	nmt_cg_path("agents/flood", cgp, sizeof(cgp));
	if ((mkdir(cgp, 0755) && errno != EEXIST) || nmt_cli("cgroup bind %s --policy p-main", cgp)) {
		nmt_verdict(false, desc, "set-up: %s", nmt_cli_msg());
		return;
	}
	d0 = nmt_cli_gstat("events_dropped");
	for (int i = 0; i < FLOOD_CHILDREN; i++) {
		pipes[i][0] = pipes[i][1] = -1;
		if (pipe(pipes[i]))
			continue;
		kids[i] = nmt_spawn(cgp, nmt_h.topo.cns, flood_child, &pipes[i][1]);
		close(pipes[i][1]);
	}
	/* Meanwhile: the policy holds, and judges as always. */
	for (long long end = nmt_now_ms() + FLOOD_MS - 500; nmt_now_ms() < end && checks < 40; checks++) {
		struct nmt_probe meta = { .kind = NMT_TCP, .addr = NMT_META4, .port = 80 };
		struct nmt_probe ok = { .kind = NMT_TCP, .addr = NMT_NET4B, .port = 80 };
		struct nmt_probe_res r1, r2;

		nmt_probe_run(cgp, nmt_h.topo.cns, &meta, &r1, 0);
		nmt_probe_run(cgp, nmt_h.topo.cns, &ok, &r2, 0);
		if (r1.err != EPERM || r2.err || strncmp(r2.line, "HELLO 11.22.33.45:80", 20)) {
			char a[128], b[128];

			if (!bad++)
				snprintf(got, sizeof(got), "metadata: %s; allowed host: %s",
					 nmt_probe_res_str(&r1, a, sizeof(a)), nmt_probe_res_str(&r2, b, sizeof(b)));
		}
	}
	for (int i = 0; i < FLOOD_CHILDREN; i++) {
		struct flood_res r = { 0 };
		char buf[sizeof(r) + 1];

		if (kids[i] <= 0) {
			nmt_why_set(why, sizeof(why), "a flooding child did not start");
			continue;
		}
		if (nmt_read_all(pipes[i][0], buf, sizeof(buf), FLOOD_MS + 5000) < sizeof(r))
			nmt_why_set(why, sizeof(why), "a flooding child reported nothing");
		else
			memcpy(&r, buf, sizeof(r));
		close(pipes[i][0]);
		nmt_wait(kids[i], 5000);
		total.sent += r.sent;
		total.refused += r.refused;
		total.other += r.other;
		if (r.other && !total.first_err)
			total.first_err = r.first_err;
	}
	d1 = nmt_cli_gstat("events_dropped");
	nmt_cli("cgroup unbind %s", cgp);
	if (total.sent)
		nmt_why_set(why, sizeof(why), "%lld datagrams got out", total.sent);
	if (total.other)
		nmt_why_set(why, sizeof(why), "%lld sends failed otherwise (first: %s)", total.other,
			    strerror(total.first_err));
	if (bad)
		nmt_why_set(why, sizeof(why), "%d of %d probes during the flood went wrong (first: %s)", bad, checks, got);
	if (!checks)
		nmt_why_set(why, sizeof(why), "no probe ran during the flood");
	if (d0 == ~0ull || d1 == ~0ull || d1 <= d0)
		nmt_why_set(why, sizeof(why), "events_dropped did not grow (%llu -> %llu)", d0, d1);
	if (total.refused < (1 << 16))
		nmt_why_set(why, sizeof(why), "only %lld datagrams refused: not a flood", total.refused);
	nmt_verdict(!*why, desc, "%s", why);
	if (nmt_verbose)
		fprintf(stderr, "flood: %lld refused, %d probe pairs, events_dropped +%llu\n", total.refused, checks,
			d1 - d0);
}

void case_faults(void)
{
	case_flood();
	case_capacity();
}
