// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "reasons.h"

static const char *const names[NMP_R__MAX] = {
#define NMP_REASON_NAME(e, s) [NMP_R_##e] = s,
	NMP_REASONS(NMP_REASON_NAME)
#undef NMP_REASON_NAME
};

const char *nmp_reason_name(enum nmp_reason r)
{
	return (unsigned)r < NMP_R__MAX ? names[r] : "";
}
