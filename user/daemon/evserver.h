/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * evserver - fan-out of JSON event lines to the clients of a unix socket.
 *
 * The daemon listens on a path (mode 0600, owned by the daemon's user:
 * root-only) and writes every event line to every connected client.  It
 * never blocks: sockets are non-blocking and each client has a bounded
 * output buffer (NM_EVS_BUF_MAX, 8 MiB); lines come in batches
 * (nm_evs_broadcast) and go out with one send per client.  A line that does
 * not fit is lost for that client only and counted; before the client's next delivered
 * line it gets one
 *     {"type":"drops","events_dropped":N,"reason":"client too slow"}
 * line (N: lines it lost since its last delivered line).  Clients that hang
 * up are removed.  Anything a client sends is read and discarded.  Only
 * peers running as root (or as the daemon's user) are served, whatever the
 * socket's mode; more than max_clients (256) get one
 *     {"type":"error","reason":"too many clients"}
 * line and are closed.  A line longer than the buffer can never be sent and
 * is counted as dropped for every client.
 *
 * epoll: the caller passes its epoll fd and a 32-bit tag to nm_evs_open();
 * the module adds, modifies and removes its own fds (the listening socket
 * and one per client, level-triggered) with epoll_event.data.u64 =
 * nm_epoll_data(tag, fd).  The main loop routes every event whose
 * nm_epoll_tag() is that tag to
 *     nm_evs_handle(s, nm_epoll_fd(ev.data.u64), ev.events);
 * (or to the nm_evs_on_*() calls below; nm_evs_handle does exactly that).
 * EPOLLOUT is asked for only while a client has buffered output.  Stale
 * events for an fd the module already closed (within one epoll_wait batch)
 * are harmless: a hangup is verified with poll() before a client is dropped.
 *
 * Single-threaded.  Failing calls return a negative errno and leave a
 * message for nm_err_msg() (err.h).
 */
#ifndef NM_EVSERVER_H
#define NM_EVSERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <linux/types.h>

/* ---- epoll data shared by the daemon modules (evserver, metrics) --------- */
#ifndef NM_EPOLL_DATA_DEFINED
#define NM_EPOLL_DATA_DEFINED
static inline __u64 nm_epoll_data(__u32 tag, int fd)
{
	return ((__u64)tag << 32) | (__u32)fd;
}
static inline __u32 nm_epoll_tag(__u64 data) { return (__u32)(data >> 32); }
static inline int nm_epoll_fd(__u64 data) { return (int)(__u32)data; }
#endif

/* ---- unix listening sockets (also used by metrics.c) --------------------- */
/* Listen on a unix stream socket at path: non-blocking, close-on-exec,
 * mode 0600 from creation (umask) and after.  A stale socket (nobody
 * listening) is unlinked first; a live one is -EADDRINUSE; a path that
 * exists and is not a socket is refused (-EEXIST); a path too long for
 * sun_path is -ENAMETOOLONG.  dev and ino identify the new socket file for
 * nm_unix_unlink().  Returns the fd or a negative errno. */
int nm_unix_listen(const char *path, dev_t *dev, ino_t *ino);
/* Unlink path if it is still the socket file (dev, ino) created above. */
void nm_unix_unlink(const char *path, dev_t dev, ino_t ino);
/* Is the peer of an accepted unix socket root or our own user?  (Defence
 * in depth behind the 0600 mode; such peers are the only ones served.) */
bool nm_unix_peer_ok(int fd);

/* ---- connections: accepting, sending (also used by metrics.c) ------------ */
/*
 * Accept at most batch pending connections on the non-blocking listening
 * socket lfd, each non-blocking and close-on-exec.  With check_peer (unix
 * sockets) a peer that is not root or our user (nm_unix_peer_ok) is closed
 * at once.  The others go to add(server, fd): 0 keeps the fd; -EBUSY (the
 * server is full) has busy sent to it (one non-blocking send: the reason
 * in the server's own format) before it is closed; any other error closes
 * it.  Refused peers and full-server refusals are counted in *refused.
 * Returns true when accepting ran out of fds or memory: the caller should
 * pause it (nm_accept_pause) rather than spin on a readable socket.
 */
bool nm_accept_batch(int lfd, int batch, bool check_peer, int (*add)(void *server, int fd), void *server,
		     const char *busy, __u64 *refused);
/* Stop (pause true) or restart asking epoll (epfd, the listening socket
 * registered as nm_epoll_data(tag, lfd)) for new connections; *paused
 * tracks which, a failed epoll_ctl changes nothing. */
void nm_accept_pause(int epfd, __u32 tag, int lfd, bool *paused, bool pause);
/* Send buf[*off..len) on the non-blocking socket fd, at most batch send()
 * calls, advancing *off.  0 (all sent, or the socket is full for now), or
 * a negative errno: the peer is gone. */
int nm_send_pending(int fd, const char *buf, size_t *off, size_t len, int batch);

/* ---- the server ---------------------------------------------------------- */
#define NM_EVS_BUF_MAX     (8u << 20) /* per-client output buffer */
#define NM_EVS_MAX_CLIENTS 256        /* more are refused with a line */
#define NM_EVS_PATH_MAX    108        /* sizeof(sun_path) */

struct nm_evs_client;

struct nm_evs_stats {
	__u64 clients;          /* connected now */
	__u64 clients_accepted; /* since open */
	__u64 clients_refused;  /* over max_clients, or not root */
	__u64 lines_sent;       /* lines queued to a client (per client) */
	__u64 lines_dropped;    /* lines a client lost (per client) */
};

struct nm_evs {
	bool is_open;
	int lfd;
	int epfd;
	__u32 tag;
	bool accept_paused;     /* out of fds: listening fd removed from epoll */
	dev_t dev;
	ino_t ino;
	char path[NM_EVS_PATH_MAX];
	size_t buf_max;
	unsigned max_clients;
	unsigned nclients, cap_clients;
	struct nm_evs_client **clients;
	struct nm_evs_stats st;
};

/* Listen on path and register with epfd under tag.  s needs no prior
 * setup.  Returns 0 or a negative errno (see nm_unix_listen). */
int nm_evs_open(struct nm_evs *s, const char *path, int epfd, __u32 tag);
/* Change the limits (0 keeps the default); for tests and tuning. */
void nm_evs_set_limits(struct nm_evs *s, size_t buf_max, unsigned max_clients);
/* The listening fd. */
int nm_evs_fd(const struct nm_evs *s);

/* Dispatch one epoll event of this module's tag. */
void nm_evs_handle(struct nm_evs *s, int fd, __u32 events);
/* The parts of nm_evs_handle: */
void nm_evs_on_accept(struct nm_evs *s);          /* listening fd readable */
void nm_evs_on_readable(struct nm_evs *s, int fd); /* client sent something */
void nm_evs_on_writable(struct nm_evs *s, int fd); /* client can take more */
void nm_evs_on_hangup(struct nm_evs *s, int fd);   /* EPOLLHUP / EPOLLERR */

/* Send complete lines ("...\n...\n"; a missing final newline is added) to
 * every client, as far as each one's buffer allows: to a client with
 * nothing pending straight from data (send() until the socket is full),
 * the rest through its buffer; a line that does not fit is lost for that
 * client (and so are the lines after it in data), counted, and reported
 * in the drops note before its next delivered line.  Batches of lines are
 * cheaper than lines one by one: one send per client per batch. */
void nm_evs_broadcast(struct nm_evs *s, const char *line, size_t len);

void nm_evs_stats(const struct nm_evs *s, struct nm_evs_stats *st);
/* Disconnect every client, close the listening socket, unlink the path
 * (if it is still ours).  Safe on a closed or never opened (zeroed) s. */
void nm_evs_close(struct nm_evs *s);

#endif
