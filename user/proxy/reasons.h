/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * reasons.h - why nomoat-proxy ended a connection: the one list, with the
 * name each has in the access log, the X-Nomoat-Reason header and the
 * README (tests/unit/test_proxy_reasons.c holds the README's list to it).
 */
#ifndef NMP_REASONS_H
#define NMP_REASONS_H

/* X(ENUM, "name"): refusals first, then the ends of allowed connections. */
#define NMP_REASONS(X)                                       \
	X(NONE, "")                                          \
	X(NOT_ALLOWED, "not-allowed")                        \
	X(IP_LITERAL, "ip-literal")                          \
	X(BAD_NAME, "bad-name")                              \
	X(NO_HOST, "no-host")                                \
	X(NO_SNI, "no-sni")                                  \
	X(BAD_CLIENTHELLO, "bad-clienthello")                \
	X(CLIENTHELLO_TOO_LARGE, "clienthello-too-large")    \
	X(BAD_REQUEST, "bad-request")                        \
	X(HEAD_TOO_LARGE, "head-too-large")                  \
	X(HOST_MISMATCH, "host-mismatch")                    \
	X(NOT_A_PROXY_REQUEST, "not-a-proxy-request")        \
	X(NO_ORIGIN, "no-origin")                            \
	X(UNKNOWN_POLICY, "unknown-policy")                  \
	X(RESOLVE_FAILED, "resolve-failed")                  \
	X(RESOLVER_BUSY, "resolver-busy")                    \
	X(UPSTREAM_DENIED, "upstream-denied")                \
	X(UPSTREAM_FAILED, "upstream-failed")                \
	X(HANDSHAKE_TIMEOUT, "handshake-timeout")            \
	X(RESOLVE_TIMEOUT, "resolve-timeout")                \
	X(CONNECT_TIMEOUT, "connect-timeout")                \
	X(MAX_CONNS, "max-conns")                            \
	X(MAX_PER_CLIENT, "max-per-client")                  \
	X(UNKNOWN_SYNTHETIC, "unknown-synthetic")            \
	X(SYNTHETIC_TABLE, "synthetic-table")                \
	X(NO_RESOURCES, "no-resources")                      \
	X(NO_MEMORY, "no-memory")                            \
	X(CLIENT_CLOSED, "client-closed")                    \
	X(CLIENT_ERROR, "client-error")                      \
	X(ALLOWED, "allowed")                                \
	X(IP_ONLY, "ip-only")                                \
	X(IDLE_TIMEOUT, "idle-timeout")                      \
	X(CLIENT_GONE, "client-gone")

enum nmp_reason {
#define NMP_REASON_ENUM(e, s) NMP_R_##e,
	NMP_REASONS(NMP_REASON_ENUM)
#undef NMP_REASON_ENUM
	NMP_R__MAX
};

/* The reason's name ("" for NMP_R_NONE and anything out of range). */
const char *nmp_reason_name(enum nmp_reason r);

#endif
