// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The Prometheus text exposition builder (metrics.h). */
#include "metrics.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ==== the text builder ==================================================== */

void nm_metrics_init(struct nm_metrics *m)
{
	memset(m, 0, sizeof(*m));
}

void nm_metrics_free(struct nm_metrics *m)
{
	free(m->buf);
	nm_metrics_init(m);
}

void nm_metrics_begin(struct nm_metrics *m)
{
	m->len = 0;
	if (m->buf)
		m->buf[0] = 0;
	m->err = 0;
	m->family[0] = 0;
}

static void fail(struct nm_metrics *m, int err)
{
	if (!m->err)
		m->err = err;
}

/* Room for n more bytes and the NUL. */
static bool grow(struct nm_metrics *m, size_t n)
{
	size_t cap = m->cap ? m->cap : 4096;
	char *p;

	if (m->err == -ENOMEM)
		return false;
	if (n >= (size_t)-1 / 4 - m->len) {
		fail(m, -ENOMEM);
		return false;
	}
	if (m->len + n + 1 <= m->cap)
		return true;
	while (cap < m->len + n + 1)
		cap *= 2;
	p = realloc(m->buf, cap);
	if (!p) {
		fail(m, -ENOMEM);
		return false;
	}
	m->buf = p;
	m->cap = cap;
	return true;
}

static void put(struct nm_metrics *m, const char *s, size_t n)
{
	if (!grow(m, n))
		return;
	memcpy(m->buf + m->len, s, n);
	m->len += n;
	m->buf[m->len] = 0;
}

static void puts_(struct nm_metrics *m, const char *s)
{
	put(m, s, strlen(s));
}

/* s with '\\' and '\n' escaped, and '"' too when quote. */
static void put_escaped(struct nm_metrics *m, const char *s, bool quote)
{
	for (const char *p = s; *p; p++) {
		const char *e = NULL;

		if (*p == '\\')
			e = "\\\\";
		else if (*p == '\n')
			e = "\\n";
		else if (*p == '"' && quote)
			e = "\\\"";
		if (e)
			puts_(m, e);
		else
			put(m, p, 1);
	}
}

static bool name_ok(const char *s, bool colon)
{
	size_t n = 0;

	if (!s || !*s || (s[0] >= '0' && s[0] <= '9'))
		return false;
	for (const char *p = s; *p; p++, n++) {
		char c = *p;

		if (n >= NM_METRIC_NAME_MAX)
			return false;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
		      (c == ':' && colon)))
			return false;
	}
	return true;
}

static const char *type_name(enum nm_metric_type t)
{
	switch (t) {
	case NM_METRIC_COUNTER: return "counter";
	case NM_METRIC_GAUGE: return "gauge";
	default: return "untyped";
	}
}

void nm_metrics_family(struct nm_metrics *m, const char *name, enum nm_metric_type type, const char *help)
{
	if (!name_ok(name, true)) {
		m->family[0] = 0; /* its samples are skipped too */
		fail(m, -EINVAL);
		return;
	}
	memcpy(m->family, name, strlen(name) + 1);
	if (help) {
		puts_(m, "# HELP ");
		puts_(m, name);
		puts_(m, " ");
		put_escaped(m, help, false);
		puts_(m, "\n");
	}
	puts_(m, "# TYPE ");
	puts_(m, name);
	puts_(m, " ");
	puts_(m, type_name(type));
	puts_(m, "\n");
}

static bool labels_ok(const struct nm_label *l, size_t n)
{
	if (n && !l)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!name_ok(l[i].name, false) || !strncmp(l[i].name, "__", 2) || !l[i].value)
			return false;
	return true;
}

/* name{a="x",b="y"} value\n */
static void sample(struct nm_metrics *m, const struct nm_label *l, size_t n, const char *val)
{
	if (!m->family[0] || !labels_ok(l, n)) {
		fail(m, -EINVAL);
		return;
	}
	puts_(m, m->family);
	for (size_t i = 0; i < n; i++) {
		puts_(m, i ? "," : "{");
		puts_(m, l[i].name);
		puts_(m, "=\"");
		put_escaped(m, l[i].value, true);
		puts_(m, "\"");
	}
	puts_(m, n ? "} " : " ");
	puts_(m, val);
	puts_(m, "\n");
}

void nm_metrics_u64(struct nm_metrics *m, const struct nm_label *labels, size_t n, __u64 v)
{
	char val[24];

	snprintf(val, sizeof(val), "%llu", (unsigned long long)v);
	sample(m, labels, n, val);
}

/* Shortest of %.15g..%.17g that reads back as v. */
static void format_f64(double v, char *buf, size_t len)
{
	if (isnan(v)) {
		snprintf(buf, len, "NaN");
		return;
	}
	if (isinf(v)) {
		snprintf(buf, len, v > 0 ? "+Inf" : "-Inf");
		return;
	}
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(buf, len, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			return;
	}
}

void nm_metrics_f64(struct nm_metrics *m, const struct nm_label *labels, size_t n, double v)
{
	char val[32];

	format_f64(v, val, sizeof(val));
	sample(m, labels, n, val);
}

int nm_metrics_error(const struct nm_metrics *m)
{
	return m->err;
}

const char *nm_metrics_text(const struct nm_metrics *m, size_t *len)
{
	if (len)
		*len = m->buf ? m->len : 0;
	return m->buf ? m->buf : "";
}
