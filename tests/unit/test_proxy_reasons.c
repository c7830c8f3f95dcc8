// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unit tests for user/proxy/reasons.c (cmocka): every reason has one
 * distinct name, and the README's list of them is exactly the table. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "reasons.h"
#include "unit_util.h"

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(nmp_reason_name(NMP_R_NONE), "");
	assert_string_equal(nmp_reason_name(NMP_R__MAX), "");
	assert_string_equal(nmp_reason_name((enum nmp_reason)-1), "");
	for (int i = 1; i < NMP_R__MAX; i++) {
		const char *n = nmp_reason_name(i);

		if (!n[0] || strspn(n, "abcdefghijklmnopqrstuvwxyz-") != strlen(n))
			fail_msg("reason %d: bad name '%s'", i, n);
		for (int k = 1; k < i; k++)
			if (!strcmp(n, nmp_reason_name(k)))
				fail_msg("reasons %d and %d are both '%s'", k, i, n);
	}
}

/* The README's paragraph "**Refusals.** ... Reasons ...": every
 * `lower-case-word` after "Reasons" up to the blank line. */
static int readme_reasons(char names[][40], int max)
{
	FILE *f = ut_open_readme();
	char line[1024];
	bool in_par = false, listing = false;
	int n = 0;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		char *p = line;

		if (!in_par) {
			in_par = !strncmp(line, "**Refusals.**", 13);
			if (!in_par)
				continue;
		} else if (line[0] == '\n') {
			break;
		}
		if (!listing) {
			p = strstr(line, "Reasons");
			if (!p)
				continue;
			listing = true;
		}
		while ((p = strchr(p, '`'))) {
			char *e = strchr(p + 1, '`');
			size_t len;

			if (!e)
				break;
			len = (size_t)(e - p - 1);
			if (len && len < 40 && strspn(p + 1, "abcdefghijklmnopqrstuvwxyz-") == len && n < max) {
				memcpy(names[n], p + 1, len);
				names[n++][len] = 0;
			}
			p = e + 1;
		}
	}
	fclose(f);
	return n;
}

static void test_readme_lists_them(void **state)
{
	char names[128][40];
	int n = readme_reasons(names, 128);

	(void)state;
	for (int i = 0; i < n; i++) {
		int r = 1;

		while (r < NMP_R__MAX && strcmp(names[i], nmp_reason_name(r)))
			r++;
		/* words of the prose that are not reasons: none allowed */
		if (r == NMP_R__MAX)
			fail_msg("README lists '%s', which is not a reason of user/proxy/reasons.h", names[i]);
	}
	for (int r = 1; r < NMP_R__MAX; r++) {
		bool found = false;

		for (int i = 0; i < n && !found; i++)
			found = !strcmp(names[i], nmp_reason_name(r));
		if (!found)
			fail_msg("README's list of refusal reasons lacks '%s'", nmp_reason_name(r));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_readme_lists_them),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
