/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Integration cases that live in their own files, run from integration.c's
 * main after the CLI set-up (policies loaded, <base>/agents attached). */
#ifndef NMT_CASES_H
#define NMT_CASES_H

/* backstop.c: the packet backstop (raw, ping, IP options, running flows,
 * accepted connections, audit). */
void case_backstop(void);

/* faults.c: the ring buffer flooded, a rule table at capacity. */
void case_faults(void);

/* failclosed.c: no usable policy, at sock_create and connect4: denied,
 * counted and reported alike. */
void case_failclosed(void);

#endif
