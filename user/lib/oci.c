// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * OCI hook support: the runtime's state document (parsed strictly with
 * nm_json_parse, jansson) and /proc/PID/cgroup.
 */
#include "oci.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "files.h"
#include "jsonparse.h"
#include "parse.h"

#define CGROUP_FILE_MAX (64u << 10) /* /proc/PID/cgroup read at most */
#define QUOTE_MAX 48

static void quote(char *dst, size_t dlen, const char *s, size_t n)
{
	nm_json_quote(dst, dlen, s, n, QUOTE_MAX);
}

/* What a wrong value was, for a message: "a string", "an object"; a
 * number when show_number is set: an integer as such, a real with a
 * fraction or exponent, or ".0" ("42.5", "1000.0"). */
static const char *got(const json_t *v, bool show_number, char *buf, size_t len)
{
	if (json_is_integer(v) && show_number) {
		snprintf(buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return buf;
	}
	if (json_is_real(v) && show_number) {
		snprintf(buf, len, "%.15g", json_real_value(v));
		if (!buf[strcspn(buf, ".en")])
			snprintf(buf + strlen(buf), len - strlen(buf), ".0");
		return buf;
	}
	snprintf(buf, len, "%s %s", json_is_array(v) || json_is_object(v) ? "an" : "a", nm_json_type_name(v));
	return buf;
}

/* A string member: required or not, no NUL, at most cap - 1 bytes,
 * non-empty when required.  *out NULL when absent and optional. */
static int member_string(const json_t *obj, const char *key, bool required,
			 size_t cap, const char **out, char *err, size_t errlen)
{
	const json_t *v = json_object_get(obj, key);
	char g[QUOTE_MAX + 8];
	size_t n;

	*out = NULL;
	if (!v)
		return required ? nm_errf(err, errlen, "state: missing \"%s\"", key) : 0;
	if (!json_is_string(v))
		return nm_errf(err, errlen, "state: \"%s\" is not a string (got %s)", key,
			    got(v, false, g, sizeof(g)));
	n = json_string_length(v);
	if (strlen(json_string_value(v)) != n)
		return nm_errf(err, errlen, "state: \"%s\" contains a NUL byte", key);
	if (required && !n)
		return nm_errf(err, errlen, "state: \"%s\" is empty", key);
	if (n >= cap)
		return nm_errf(err, errlen, "state: \"%s\" is longer than %zu bytes", key, cap - 1);
	*out = json_string_value(v);
	return 0;
}

static int get_pid(const json_t *root, bool stopped, int *pid, char *err, size_t errlen)
{
	const json_t *v = json_object_get(root, "pid");
	char g[QUOTE_MAX + 8];
	json_int_t n = json_integer_value(v);

	*pid = 0;
	if (!v)
		return stopped ? 0 : nm_errf(err, errlen, "state: missing \"pid\"");
	if (!json_is_integer(v) || n < (stopped ? 0 : 1) || n > INT_MAX)
		return nm_errf(err, errlen, "state: \"pid\" is not a positive integer (got %s)",
			    got(v, true, g, sizeof(g)));
	*pid = (int)n;
	return 0;
}

/* "annotations": absent, null, or an object of strings; the policy one. */
static int get_policy(const json_t *root, const char **policy, char *err, size_t errlen)
{
	const json_t *a = json_object_get(root, "annotations"), *m;
	char q[QUOTE_MAX + 8], g[QUOTE_MAX + 8], perr[NM_ERR_LEN];
	const char *key;

	*policy = NULL;
	if (!a || json_is_null(a))
		return 0;
	if (!json_is_object(a))
		return nm_errf(err, errlen, "state: \"annotations\" is not an object (got %s)",
			    got(a, false, g, sizeof(g)));
	/* in document order: jansson keeps objects in insertion order */
	json_object_foreach((json_t *)a, key, m) {
		if (json_is_string(m))
			continue;
		quote(q, sizeof(q), key, strlen(key));
		return nm_errf(err, errlen, "state: annotation \"%s\" is not a string (got %s)",
			    q, got(m, false, g, sizeof(g)));
	}
	m = json_object_get(a, NM_OCI_ANNOTATION);
	if (!m)
		return 0;
	if (strlen(json_string_value(m)) != json_string_length(m))
		return nm_errf(err, errlen, "state: annotation \"%s\" contains a NUL byte",
			    NM_OCI_ANNOTATION);
	if (nm_parse_policy_name(json_string_value(m), perr, sizeof(perr)))
		return nm_errf(err, errlen, "state: annotation \"%s\": %s", NM_OCI_ANNOTATION, perr);
	*policy = json_string_value(m);
	return 0;
}

static int fill(const json_t *root, struct nm_oci_state *st, char *err, size_t errlen)
{
	const char *ver, *id, *status, *bundle, *policy;
	char g[QUOTE_MAX + 8];
	int pid, rc;

	if (!json_is_object(root))
		return nm_errf(err, errlen, "state: not a JSON object (got %s)",
			    got(root, false, g, sizeof(g)));
	rc = member_string(root, "ociVersion", false, NM_OCI_VERSION_LEN, &ver, err, errlen);
	if (!rc)
		rc = member_string(root, "id", true, NM_OCI_ID_LEN, &id, err, errlen);
	if (!rc)
		rc = member_string(root, "status", true, NM_OCI_STATUS_LEN, &status, err, errlen);
	if (!rc)
		rc = get_pid(root, !strcmp(status, "stopped"), &pid, err, errlen);
	if (!rc)
		rc = member_string(root, "bundle", true, PATH_MAX, &bundle, err, errlen);
	if (!rc && bundle[0] != '/')
		rc = nm_errf(err, errlen, "state: \"bundle\" is not an absolute path");
	if (!rc)
		rc = get_policy(root, &policy, err, errlen);
	if (rc)
		return rc;
	memset(st, 0, sizeof(*st));
	snprintf(st->oci_version, sizeof(st->oci_version), "%s", ver ? ver : "");
	snprintf(st->id, sizeof(st->id), "%s", id);
	snprintf(st->status, sizeof(st->status), "%s", status);
	st->pid = pid;
	snprintf(st->bundle, sizeof(st->bundle), "%s", bundle);
	snprintf(st->policy, sizeof(st->policy), "%s", policy ? policy : "");
	return 0;
}

int nm_oci_parse(const char *json, size_t len, struct nm_oci_state *st, char *err, size_t errlen)
{
	json_t *root;
	int rc;

	if (err && errlen)
		err[0] = 0;
	rc = nm_json_parse(json, len, &root, err, errlen);
	if (rc)
		return rc;
	rc = fill(root, st, err, errlen);
	json_decref(root);
	return rc;
}

/* ---- /proc/PID/cgroup --------------------------------------------------- */

/* The text after "0::" up to the end of its line, or NULL. */
static const char *v2_line(const char *buf, size_t *n)
{
	const char *l = buf;

	while (l && *l) {
		const char *nl = strchr(l, '\n');

		if (!strncmp(l, "0::", 3)) {
			l += 3;
			*n = nl ? (size_t)(nl - l) : strlen(l);
			return l;
		}
		l = nl ? nl + 1 : NULL;
	}
	return NULL;
}

static bool ends_with(const char *s, size_t n, const char *suffix)
{
	size_t k = strlen(suffix);

	return n >= k && !memcmp(s + n - k, suffix, k);
}

int nm_oci_cgroup_of_pid(int pid, char *rel, size_t len)
{
	char path[64], *buf;
	const char *p;
	size_t n;
	int rc;

	if (pid <= 0 || !rel || !len)
		return -EINVAL;
	snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
	rc = nm_read_file(path, CGROUP_FILE_MAX, 0, &buf, &n, NULL, NULL, 0);
	if (rc)
		return rc == -ENOENT ? -ESRCH : rc;
	p = v2_line(buf, &n);
	if (!p || !n || p[0] != '/' || ends_with(p, n, " (deleted)")) {
		rc = -ENOENT;
		goto out;
	}
	if (n >= 3 && !memcmp(p, "/..", 3) && (n == 3 || p[3] == '/')) {
		rc = -EXDEV;
		goto out;
	}
	p++, n--;
	if (n >= len) {
		rc = -ENAMETOOLONG;
		goto out;
	}
	memcpy(rel, p, n);
	rel[n] = 0;
out:
	free(buf);
	return rc;
}
