/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* One error message per failed call: what went wrong, naming the bad word.
 * Library calls return a negative errno and leave the message here; the
 * CLI prints it as one line and maps the kind to its exit status. */
#ifndef NM_ERR_H
#define NM_ERR_H

enum nm_err_kind {
	NM_E_RUNTIME = 1, /* the system failed: exit status 1 */
	NM_E_INPUT   = 2, /* the request was wrong: exit status 2 */
};

/* Record a message; returns err (a negative errno) for `return nm_fail(...)`. */
int nm_fail(int kind, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
const char *nm_err_msg(void);
int nm_err_kind(void);
void nm_err_clear(void);

#endif
