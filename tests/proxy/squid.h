/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * squid.h - the third-party proxy case of proxy-integration: Debian's
 * unmodified Squid in intercept mode behind nomoat's redirect (squid.c).
 */
#ifndef NMT_PTEST_SQUID_H
#define NMT_PTEST_SQUID_H

/*
 * Run the Squid cases in the fixture of proxy.c (test network, world
 * servers, nomoat loaded, the policy p-fence): tmp is the test's
 * directory (Squid's own goes below it), hosts the hosts(5) file of the
 * test names.  Everything it starts or makes is gone when it returns; the
 * harness's cleanup covers a signal in between.
 */
void ptest_squid(const char *tmp, const char *hosts);

#endif
