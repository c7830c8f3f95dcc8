/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * verdict.c - from what the agent said and what the witness saw to the
 * test's verdicts.  The harness feeds every agent line to nmb_parse_line()
 * and marks what the witness saw in nmb_out[]; then, per pass:
 *
 *   identity   the sandbox is what it should be (uid, capabilities,
 *              no_new_privs, cgroup, read-only cgroupfs, hidden pins);
 *   complete   every attempt of the table printed exactly its line, and
 *              the agent said DONE with the right count;
 *   groups     per group of attempts, none reached a target (by the agent's
 *              evidence or the witness's), documented limits aside;
 *   backstop   (backstop pass) raw and ping sockets were really made, so
 *              the backstop is what stopped their packets;
 *   limits     each documented limit behaves exactly as documented;
 *   control    (control pass) every attempt marked so reached its target
 *              when nothing policed it, so "blocked" elsewhere is real.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "battery.h"
#include "harness.h"

struct nmb_outcome nmb_out[NMB_ATT_MAX];

int nmb_att_index(const char *name)
{
	int n;
	const struct nmb_att *a = nmb_attempts(&n);

	for (int i = 0; i < n; i++)
		if (!strcmp(a[i].name, name))
			return i;
	return -1;
}

void nmb_parse_line(char *line, struct nmb_pass_io *io)
{
	char word[12], group[32], name[128];
	int i, off = 0;

	if (!strncmp(line, "INFO identity ", 14)) {
		nmb_copy(io->identity, sizeof(io->identity), line + 14);
		return;
	}
	if (!strncmp(line, "SANDBOX-ERROR", 13)) {
		nmb_copy(io->error, sizeof(io->error), line);
		return;
	}
	if (sscanf(line, "DONE %d", &io->done) == 1)
		return;
	if (sscanf(line, "%11s [%31[^]]] %127s -> %n", word, group, name, &off) < 3 || !off)
		return;
	i = nmb_att_index(name);
	if (i < 0 || nmb_out[i].printed) {
		io->unknown++;
		return;
	}
	io->lines++;
	nmb_out[i].printed = true;
	nmb_copy(nmb_out[i].word, sizeof(nmb_out[i].word), word);
	nmb_copy(nmb_out[i].text, sizeof(nmb_out[i].text), line + off);
	nmb_out[i].through = !strcmp(word, "ESCAPE") || (!strcmp(word, "LIMIT") && !strncmp(line + off, "got through", 11));
}

/* ---- verdicts ----------------------------------------------------------------------- */
static const char *kv(const char *s, const char *key, char *buf, size_t len)
{
	const char *p = strstr(s, key);

	if (!p) {
		snprintf(buf, len, "?");
		return buf;
	}
	p += strlen(key);
	snprintf(buf, len, "%.*s", (int)strcspn(p, " \n"), p);
	return buf;
}

void nmb_verdict_identity(enum nmb_pass p, const struct nmb_pass_io *io, const char *want_cg)
{
	char d[300], uid[16], cap[32], nnp[8], cg[400], ro[8], pins[16], why[600] = "";
	bool user = p == NMB_USER;

	snprintf(d, sizeof(d), "%s: the agent runs as in a container (%s, %s, own cgroup and cgroup namespace, "
		 "read-only cgroupfs, pins and daemon sockets hidden)", nmb_pass_name[p], user ? "uid 65534" : "uid 0",
		 user ? "no capabilities" : "Docker's default capabilities");
	kv(io->identity, "uid=", uid, sizeof(uid));
	kv(io->identity, "capeff=", cap, sizeof(cap));
	kv(io->identity, "nnp=", nnp, sizeof(nnp));
	kv(io->identity, "cgroup=", cg, sizeof(cg));
	kv(io->identity, "cgroupfs=", ro, sizeof(ro));
	kv(io->identity, "pins=", pins, sizeof(pins));
	if (*io->error)
		nmt_why_set(why, sizeof(why), "%s", io->error);
	else if (!*io->identity)
		nmt_why_set(why, sizeof(why), "the agent did not say who it is");
	else if (strcmp(uid, user ? "65534" : "0"))
		nmt_why_set(why, sizeof(why), "uid %s", uid);
	else if (strtoull(cap, NULL, 16) != (user ? 0 : NMB_CAP_DOCKER))
		nmt_why_set(why, sizeof(why), "CapEff %s", cap);
	else if (strcmp(nnp, "1"))
		nmt_why_set(why, sizeof(why), "no_new_privs %s", nnp);
	else if (strcmp(cg, "/"))
		nmt_why_set(why, sizeof(why), "cgroup %s, expected / (its own cgroup namespace, rooted at %s)", cg,
			    want_cg);
	else if (strcmp(ro, "ro"))
		nmt_why_set(why, sizeof(why), "the cgroup filesystem is %s", ro);
	else if (strcmp(pins, "hidden"))
		nmt_why_set(why, sizeof(why), "the pins are %s", pins);
	nmt_verdict(!*why, d, "%s", why);
}

void nmb_verdict_complete(enum nmb_pass p, const struct nmb_pass_io *io)
{
	char d[200], why[600] = "";
	int n;
	const struct nmb_att *a = nmb_attempts(&n);

	snprintf(d, sizeof(d), "%s: every attempt ran and reported (%d)", nmb_pass_name[p], n);
	for (int i = 0; i < n; i++)
		if (!nmb_out[i].printed)
			nmt_why_set(why, sizeof(why), "no line for %s (the agent exited with status 0x%x)", a[i].name,
				    io->status);
	if (io->done != n)
		nmt_why_set(why, sizeof(why), "DONE %d, expected %d", io->done, n);
	if (io->unknown)
		nmt_why_set(why, sizeof(why), "%d lines name no attempt or repeat one", io->unknown);
	nmt_verdict(!*why, d, "%s", why);
}

/* Which group names appear, in order. */
static int groups(const char **g, int max)
{
	int n, k = 0;
	const struct nmb_att *a = nmb_attempts(&n);

	for (int i = 0; i < n; i++) {
		bool seen = false;

		for (int j = 0; j < k; j++)
			seen = seen || !strcmp(g[j], a[i].group);
		if (!seen && k < max)
			g[k++] = a[i].group;
	}
	return k;
}

static bool escaped(int i)
{
	return nmb_out[i].through || nmb_out[i].witnessed;
}

static void evidence(int i, char *buf, size_t len)
{
	if (nmb_out[i].witnessed && nmb_out[i].through)
		snprintf(buf, len, "%s; the witness saw its token going to %s", nmb_out[i].text, nmb_out[i].wdst);
	else if (nmb_out[i].witnessed)
		snprintf(buf, len, "the witness saw its token going to %s (agent: %s)", nmb_out[i].wdst, nmb_out[i].text);
	else
		snprintf(buf, len, "%s", nmb_out[i].text);
}

void nmb_verdict_groups(enum nmb_pass p)
{
	const char *g[32];
	int ng = groups(g, 32), n;
	const struct nmb_att *a = nmb_attempts(&n);

	for (int k = 0; k < ng; k++) {
		char d[200], why[4096] = "", ev[800];
		int total = 0, blocked = 0, failed = 0, esc = 0;
		size_t wl = 0;

		for (int i = 0; i < n; i++) {
			if (strcmp(a[i].group, g[k]) || nmb_limit_of(a[i].name))
				continue;
			total++;
			if (escaped(i)) {
				esc++;
				evidence(i, ev, sizeof(ev));
				if (wl < sizeof(why))
					wl += snprintf(why + wl, sizeof(why) - wl, "%sESCAPE %s -> %s", wl ? " | " : "",
						       a[i].name, ev);
			} else if (!strncmp(nmb_out[i].text, "blocked", 7)) {
				blocked++;
			} else {
				failed++;
			}
		}
		if (!total)
			continue;
		snprintf(d, sizeof(d), "%s [%s]: no attempt reached a target (%d blocked, %d failed for other reasons)",
			 nmb_pass_name[p], g[k], blocked, failed);
		nmt_verdict(!esc, d, "%d of %d got through: %s", esc, total, why);
	}
}

void nmb_verdict_limits(enum nmb_pass p)
{
	int nl;
	const struct nmb_limit *all = nmb_limits_all(&nl);

	for (int l = 0; l < nl; l++) {
		const struct nmb_limit *lim = &all[l];
		int i = nmb_att_index(lim->name);
		char d[400], ev[800];
		bool want = lim->through[p];

		if (i < 0) {
			nmt_verdict(false, lim->name, "the limit names no attempt");
			continue;
		}
		evidence(i, ev, sizeof(ev));
		snprintf(d, sizeof(d), "%s limit %s: %s, as documented (%s)", nmb_pass_name[p], lim->name,
			 want ? "gets through" : "is refused", want ? lim->why : "no CAP_NET_RAW");
		nmt_verdict(escaped(i) == want, d, "%s: %s", want ? "expected to get through but did not" :
			    "expected to be refused but got through", ev);
	}
}

/* The backstop pass: raw and ping sockets were made (the policy allows
 * them), so what stopped their packets was the backstop. */
void nmb_verdict_backstop(void)
{
	char why[2048] = "", d[200];
	int n, made = 0, total = 0;
	const struct nmb_att *a = nmb_attempts(&n);
	size_t wl = 0;

	for (int i = 0; i < n; i++) {
		if (strcmp(a[i].group, "raw") || !a[i].ctl)
			continue;
		total++;
		if (!strstr(nmb_out[i].text, " at socket"))
			made++;
		else if (wl < sizeof(why))
			wl += snprintf(why + wl, sizeof(why) - wl, "%s%s -> %s", wl ? " | " : "", a[i].name, nmb_out[i].text);
	}
	snprintf(d, sizeof(d), "backstop: raw and ping sockets are made (%d of %d, raw-sockets allow), so it is the "
		 "packet backstop that stops what they send", made, total);
	nmt_verdict(made == total, d, "%s", why);
}

void nmb_verdict_control(const struct nmb_pass_io *io)
{
	char why[4096] = "", d[200], ev[800];
	int n, reach = 0, miss = 0;
	const struct nmb_att *a = nmb_attempts(&n);
	size_t wl = 0;

	for (int i = 0; i < n; i++) {
		if (!a[i].ctl)
			continue;
		if (escaped(i)) {
			reach++;
			continue;
		}
		miss++;
		evidence(i, ev, sizeof(ev));
		if (wl < sizeof(why))
			wl += snprintf(why + wl, sizeof(why) - wl, "%s%s -> %s", wl ? " | " : "", a[i].name, ev);
	}
	snprintf(d, sizeof(d), "control: every attempt that should reach its target from an unpoliced cgroup does "
		 "(%d)", reach + miss);
	if (*io->error)
		nmt_verdict(false, d, "%s", io->error);
	else
		nmt_verdict(!miss, d, "%d did not: %s", miss, why);
}
