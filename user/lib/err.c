// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "err.h"

#include <stdarg.h>
#include <stdio.h>

static __thread char msg[512];
static __thread int kind = NM_E_RUNTIME;

int nm_fail(int k, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	kind = k;
	return err;
}

const char *nm_err_msg(void)
{
	return msg[0] ? msg : "unknown error";
}

int nm_err_kind(void)
{
	return kind;
}

void nm_err_clear(void)
{
	msg[0] = 0;
	kind = NM_E_RUNTIME;
}
