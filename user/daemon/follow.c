// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* follow.c - the services' logs into the event stream (follow.h). */
#include "follow.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "jsonparse.h"

int nm_follow_set(struct nm_follow *f, const char *path)
{
	if (f->t && (!*path || strcmp(f->t->path, path))) {
		nm_tail_close(f->t);
		free(f->t);
		f->t = NULL;
	}
	if (!*path || f->t)
		return 0;
	f->t = malloc(sizeof(*f->t));
	if (!f->t)
		return -ENOMEM;
	nm_tail_init(f->t, path);
	nm_tail_read(f->t, NULL, NULL, 0); /* from its end */
	return 0;
}

struct rd {
	struct nm_follow *f;
	nm_follow_emit emit;
	void *arg;
};

static const char STATS[] = "{\"type\":\"dns-stats\"";

static void on_line(const char *line, size_t len, void *arg)
{
	struct rd *r = arg;
	char buf[NM_TAIL_LINE_MAX + 1];

	if (len < 2 || line[0] != '{' || line[len - 1] != '}' || len >= sizeof(buf))
		return;
	if (len > sizeof(STATS) - 1 && !memcmp(line, STATS, sizeof(STATS) - 1)) {
		char *s = realloc(r->f->stats, len);

		if (s) {
			memcpy(s, line, len);
			r->f->stats = s;
			r->f->stats_len = len;
		}
		return;
	}
	memcpy(buf, line, len);
	buf[len] = '\n';
	r->emit(buf, len + 1, r->arg);
	r->f->lines++;
}

void nm_follow_read(struct nm_follow *f, nm_follow_emit emit, void *arg, unsigned max)
{
	struct rd r = { f, emit, arg };

	if (f->t)
		nm_tail_read(f->t, on_line, &r, max);
}

void nm_follow_dns_metrics(const struct nm_follow *f, struct nm_metrics *mt)
{
	json_t *root = NULL, *v;
	const json_t *refused;
	const char *key;
	char err[NM_JSON_ERR_LEN];

	nm_metrics_family(mt, "nomoat_dns_total", NM_METRIC_COUNTER,
			  "nomoat-dns's counters (queries, udp, tcp, answered, cached, upstream, ...), from its log.");
	if (f->stats && !nm_json_parse(f->stats, f->stats_len, &root, err, sizeof(err))) {
		json_object_foreach(root, key, v)
			if (json_is_number(v) && json_number_value(v) >= 0)
				nm_metrics_u64(mt, NM_LABELS({ "counter", key }), (__u64)json_number_value(v));
	}
	nm_metrics_family(mt, "nomoat_dns_refused_total", NM_METRIC_COUNTER,
			  "Queries nomoat-dns refused (NXDOMAIN, REFUSED, SERVFAIL, empty answers), by reason.");
	refused = json_object_get(root, "refused");
	json_object_foreach((json_t *)refused, key, v)
		if (json_is_number(v) && json_number_value(v) >= 0)
			nm_metrics_u64(mt, NM_LABELS({ "reason", key }), (__u64)json_number_value(v));
	json_decref(root);
}

void nm_follow_close(struct nm_follow *f)
{
	if (f->t) {
		nm_tail_close(f->t);
		free(f->t);
	}
	free(f->stats);
	f->t = NULL;
	f->stats = NULL;
}
