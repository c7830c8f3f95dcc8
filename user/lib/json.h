/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* A minimal streaming JSON writer: objects, arrays, escaped strings, into
 * a stdio stream or into a caller's buffer (for text that is written once
 * and sent to many places, such as the event stream). */
#ifndef NM_JSON_H
#define NM_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#define NM_JSON_DEPTH 16

struct nm_json {
	FILE *f;          /* the stream; NULL: into buf */
	char *buf;        /* buf[0..len), at most cap bytes */
	size_t len, cap;
	bool full;        /* buf was too small: the text is cut */
	bool pretty;
	int depth;
	bool first[NM_JSON_DEPTH];
};

void nm_json_init(struct nm_json *j, FILE *f, bool pretty);
/* Into buf (cap bytes, no terminating NUL is written). */
void nm_json_init_buf(struct nm_json *j, char *buf, size_t cap, bool pretty);
/* Bytes written into the buffer so far, or 0 if it ran out of room. */
size_t nm_json_len(const struct nm_json *j);
/* key is NULL inside arrays and at the top level. */
void nm_json_obj(struct nm_json *j, const char *key);
void nm_json_obj_end(struct nm_json *j);
void nm_json_arr(struct nm_json *j, const char *key);
void nm_json_arr_end(struct nm_json *j);
void nm_json_str(struct nm_json *j, const char *key, const char *val);
void nm_json_u64(struct nm_json *j, const char *key, uint64_t v);
void nm_json_i64(struct nm_json *j, const char *key, int64_t v);
void nm_json_bool(struct nm_json *j, const char *key, bool v);
void nm_json_null(struct nm_json *j, const char *key);
/* End of a top-level value: newline, and a flush for a stream (one JSON
 * document a line). */
void nm_json_done(struct nm_json *j);

/* The time of every JSON line nomoat writes: "2026-11-26T12:36:14.202979Z"
 * (UTC, microseconds), of real_ns (CLOCK_REALTIME nanoseconds) or now. */
void nm_iso_time(int64_t real_ns, char *buf, size_t len);
void nm_iso_now(char *buf, size_t len);

#endif
