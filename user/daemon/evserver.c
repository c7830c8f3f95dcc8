// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Fan-out of JSON event lines to unix-socket clients (evserver.h). */
#include "evserver.h"
#include "err.h"
#include "evline.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define ACCEPT_BATCH  64        /* accepts per readable event */
#define READ_BATCH    16        /* discarding reads per readable event */
#define SEND_BATCH    64        /* send() calls per flush */
#define BUF_MIN       4096      /* first allocation of a client buffer */
#define BUF_KEEP      (64u << 10) /* an emptied buffer above this is freed */
#define CLIENT_EVENTS (EPOLLIN | EPOLLRDHUP)

struct nm_evs_client {
	int fd;
	bool rd_closed;  /* peer shut down its sending side: no EPOLLIN */
	__u32 events;    /* what epoll has now */
	char *buf;       /* unsent output is buf[off..len) */
	size_t off, len, cap;
	__u64 drops;     /* lines lost since the last delivered one */
};

/* ---- unix listening sockets ---------------------------------------------- */

/* A socket file where nobody listens is unlinked; anything else stays. */
static int remove_stale(const char *path, const struct sockaddr_un *sa)
{
	struct stat st;
	int fd, r, err;

	if (lstat(path, &st)) {
		if (errno == ENOENT)
			return 0;
		err = -errno;
		return nm_fail(NM_E_RUNTIME, err, "cannot check socket path '%s': %s", path, strerror(-err));
	}
	if (!S_ISSOCK(st.st_mode))
		return nm_fail(NM_E_INPUT, -EEXIST, "'%s' exists and is not a socket: refusing to replace it",
			       path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		err = -errno;
		return nm_fail(NM_E_RUNTIME, err, "socket: %s", strerror(-err));
	}
	r = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
	err = r ? errno : 0;
	close(fd);
	if (!r || err == EAGAIN || err == EINPROGRESS)
		return nm_fail(NM_E_RUNTIME, -EADDRINUSE, "'%s': another process is listening there", path);
	if (err != ECONNREFUSED && err != ENOENT)
		return nm_fail(NM_E_RUNTIME, -err, "cannot check socket '%s': %s", path, strerror(err));
	if (unlink(path) && errno != ENOENT) {
		err = -errno;
		return nm_fail(NM_E_RUNTIME, err, "cannot remove stale socket '%s': %s", path, strerror(-err));
	}
	return 0;
}

static int bind_listen(int fd, const char *path, const struct sockaddr_un *sa, struct stat *st)
{
	mode_t old = umask(0177); /* 0600 from the start: no window */
	int r = bind(fd, (const struct sockaddr *)sa, sizeof(*sa)), err;

	umask(old);
	if (r) {
		err = -errno;
		return nm_fail(NM_E_RUNTIME, err, "cannot bind '%s': %s", path, strerror(-err));
	}
	if (chmod(path, 0600) || lstat(path, st) || listen(fd, SOMAXCONN)) {
		err = -errno;
		unlink(path);
		return nm_fail(NM_E_RUNTIME, err, "cannot listen on '%s': %s", path, strerror(-err));
	}
	return 0;
}

int nm_unix_listen(const char *path, dev_t *dev, ino_t *ino)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	size_t n = path ? strlen(path) : 0;
	int fd, ret;

	if (!n)
		return nm_fail(NM_E_INPUT, -EINVAL, "socket path is empty");
	if (n >= sizeof(sa.sun_path))
		return nm_fail(NM_E_INPUT, -ENAMETOOLONG, "socket path '%s' is too long (at most %zu bytes)", path,
			       sizeof(sa.sun_path) - 1);
	memcpy(sa.sun_path, path, n + 1);
	ret = remove_stale(path, &sa);
	if (ret)
		return ret;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		ret = -errno;
		return nm_fail(NM_E_RUNTIME, ret, "socket: %s", strerror(-ret));
	}
	ret = bind_listen(fd, path, &sa, &st);
	if (ret) {
		close(fd);
		return ret;
	}
	*dev = st.st_dev;
	*ino = st.st_ino;
	return fd;
}

void nm_unix_unlink(const char *path, dev_t dev, ino_t ino)
{
	struct stat st;

	if (path && *path && !lstat(path, &st) && S_ISSOCK(st.st_mode) && st.st_dev == dev && st.st_ino == ino)
		unlink(path);
}

bool nm_unix_peer_ok(int fd)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) || len != sizeof(cr))
		return false;
	return cr.uid == 0 || cr.uid == geteuid();
}

/* ---- connections: accepting, sending ------------------------------------- */

bool nm_accept_batch(int lfd, int batch, bool check_peer, int (*add)(void *server, int fd), void *server,
		     const char *busy, __u64 *refused)
{
	for (int n = 0; n < batch; n++) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), ret;

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM;
		}
		if (check_peer && !nm_unix_peer_ok(fd)) {
			close(fd);
			(*refused)++;
			continue;
		}
		ret = add(server, fd);
		if (ret == -EBUSY) {
			/* say why in the stream's own format, then hang up */
			(void)!send(fd, busy, strlen(busy), MSG_NOSIGNAL | MSG_DONTWAIT);
			(*refused)++;
		}
		if (ret)
			close(fd);
	}
	return false;
}

void nm_accept_pause(int epfd, __u32 tag, int lfd, bool *paused, bool pause)
{
	struct epoll_event ev = { .events = pause ? 0 : EPOLLIN, .data.u64 = nm_epoll_data(tag, lfd) };

	if (*paused != pause && !epoll_ctl(epfd, EPOLL_CTL_MOD, lfd, &ev))
		*paused = pause;
}

int nm_send_pending(int fd, const char *buf, size_t *off, size_t len, int batch)
{
	for (int n = 0; n < batch && *off < len; n++) {
		ssize_t w = send(fd, buf + *off, len - *off, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (w > 0) {
			*off += (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		return w < 0 ? -errno : -EPIPE;
	}
	return 0;
}

/* ---- epoll --------------------------------------------------------------- */

static int ep_ctl(struct nm_evs *s, int op, int fd, __u32 events)
{
	struct epoll_event ev = { .events = events, .data.u64 = nm_epoll_data(s->tag, fd) };

	return epoll_ctl(s->epfd, op, fd, &ev) ? -errno : 0;
}

static void client_interest(struct nm_evs *s, struct nm_evs_client *c)
{
	__u32 want = (c->rd_closed ? 0 : CLIENT_EVENTS) | (c->len > c->off ? EPOLLOUT : 0);

	if (want != c->events && !ep_ctl(s, EPOLL_CTL_MOD, c->fd, want))
		c->events = want;
}

/* Accepting again (after running out of fds): a client left, or the next
 * broadcast. */
static void accept_resume(struct nm_evs *s)
{
	nm_accept_pause(s->epfd, s->tag, s->lfd, &s->accept_paused, false);
}

/* ---- clients ------------------------------------------------------------- */

static int client_index(const struct nm_evs *s, int fd)
{
	for (unsigned i = 0; i < s->nclients; i++)
		if (s->clients[i]->fd == fd)
			return (int)i;
	return -1;
}

static void client_remove(struct nm_evs *s, unsigned i)
{
	struct nm_evs_client *c = s->clients[i];

	if (s->epfd >= 0)
		epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->buf);
	free(c);
	s->clients[i] = s->clients[--s->nclients];
	s->st.clients = s->nclients;
	accept_resume(s);
}

/* A new client (nm_accept_batch's add): 0, -EBUSY over max_clients, or
 * another negative errno. */
static int client_add(void *server, int fd)
{
	struct nm_evs *s = server;
	struct nm_evs_client *c;

	if (s->nclients >= s->max_clients)
		return -EBUSY;
	if (s->nclients == s->cap_clients) {
		unsigned n = s->cap_clients ? 2 * s->cap_clients : 8;
		struct nm_evs_client **p = realloc(s->clients, n * sizeof(*p));

		if (!p)
			return -ENOMEM;
		s->clients = p;
		s->cap_clients = n;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->fd = fd;
	c->events = CLIENT_EVENTS;
	if (ep_ctl(s, EPOLL_CTL_ADD, fd, c->events)) {
		free(c);
		return -EIO;
	}
	s->clients[s->nclients++] = c;
	s->st.clients = s->nclients;
	s->st.clients_accepted++;
	return 0;
}

/* Write what the socket takes now.  0, or a negative errno: drop it. */
static int client_flush(struct nm_evs_client *c)
{
	int ret = nm_send_pending(c->fd, c->buf, &c->off, c->len, SEND_BATCH);

	if (ret)
		return ret;
	if (c->off == c->len) {
		c->off = c->len = 0;
		if (c->cap > BUF_KEEP) { /* a burst is over: give the memory back */
			free(c->buf);
			c->buf = NULL;
			c->cap = 0;
		}
	}
	return 0;
}

/* Room for need more bytes within max: compact, grow.  False if none. */
static bool client_reserve(struct nm_evs_client *c, size_t need, size_t max)
{
	size_t pending = c->len - c->off, cap;
	char *p;

	if (need > max || pending > max - need)
		return false;
	if (c->len + need <= c->cap)
		return true;
	if (c->off) {
		memmove(c->buf, c->buf + c->off, pending);
		c->off = 0;
		c->len = pending;
		if (c->len + need <= c->cap)
			return true;
	}
	cap = c->cap ? c->cap : BUF_MIN;
	while (cap < pending + need)
		cap = cap > max / 2 ? max : cap * 2;
	p = realloc(c->buf, cap);
	if (!p)
		return false;
	c->buf = p;
	c->cap = cap;
	return true;
}

static void client_put(struct nm_evs_client *c, const void *p, size_t n)
{
	memcpy(c->buf + c->len, p, n);
	c->len += n;
}

/* The drops note a client is owed, into note; its length. */
static size_t drops_note(const struct nm_evs_client *c, char *note, size_t cap)
{
	return NM_EVLINE_BUF(note, cap, nm_evline_drops, c->drops, false, 0, "client too slow");
}

/* Bytes of the first lines of data[0..len) that fit in room, and how
 * many lines that is. */
static size_t lines_within(const char *data, size_t len, size_t room, __u64 *nlines)
{
	size_t took = 0;
	const char *nl;

	*nlines = 0;
	while (took < len && (nl = memchr(data + took, '\n', len - took)) && (size_t)(nl + 1 - data) <= room) {
		took = (size_t)(nl + 1 - data);
		(*nlines)++;
	}
	return took;
}

/* Queue the lines data[0..len) (nlines of them) behind what the client
 * has pending, with its drops note first: as many whole lines as its
 * buffer allows, the rest counted lost. */
static void client_queue(struct nm_evs *s, struct nm_evs_client *c, const char *data, size_t len, __u64 nlines)
{
	size_t pending = c->len - c->off, nlen = 0, room, took;
	char note[128];
	__u64 k = 0;

	if (c->drops)
		nlen = drops_note(c, note, sizeof(note));
	room = s->buf_max > pending + nlen ? s->buf_max - pending - nlen : 0;
	took = len <= room ? len : lines_within(data, len, room, &k);
	if (took == len)
		k = nlines;
	if (!k || !client_reserve(c, nlen + took, s->buf_max)) {
		c->drops += nlines;
		s->st.lines_dropped += nlines;
		return;
	}
	client_put(c, note, nlen);
	client_put(c, data, took);
	c->drops = nlines - k;
	s->st.lines_sent += k;
	s->st.lines_dropped += nlines - k;
}

/* Deliver the complete lines data[0..len) (nlines of them) to one client:
 * straight from data while it has nothing pending, else (and for what the
 * socket does not take now) through its buffer.  A negative errno when
 * the client is gone. */
static int client_deliver(struct nm_evs *s, struct nm_evs_client *c, const char *data, size_t len, __u64 nlines)
{
	int ret;

	if (c->off == c->len && !c->drops && !(c->events & EPOLLOUT)) {
		size_t sent = 0, tail;
		const char *nl;
		__u64 rest;

		ret = nm_send_pending(c->fd, data, &sent, len, SEND_BATCH);
		if (ret)
			return ret;
		if (sent == len) {
			s->st.lines_sent += nlines;
			return 0;
		}
		/* A line begun on the socket is finished there, whatever the
		 * limit: a cut line would corrupt the stream. */
		rest = 0;
		for (const char *p = data + sent; (p = memchr(p, '\n', data + len - p)); p++)
			rest++;
		nl = memchr(data + sent, '\n', len - sent);
		tail = sent && data[sent - 1] != '\n' ? (size_t)(nl + 1 - (data + sent)) : 0;
		if (tail) {
			if (!client_reserve(c, tail, (size_t)-1))
				return -ENOMEM;
			client_put(c, data + sent, tail);
			rest--;
		}
		s->st.lines_sent += nlines - rest;
		client_queue(s, c, data + sent + tail, len - sent - tail, rest);
		client_interest(s, c);
		return 0;
	}
	client_queue(s, c, data, len, nlines);
	if (c->events & EPOLLOUT)
		return 0; /* the socket is full: wait for EPOLLOUT */
	ret = client_flush(c);
	if (!ret)
		client_interest(s, c);
	return ret;
}

/* Queue the pending drops note on its own. */
static void notify_drops(struct nm_evs *s, struct nm_evs_client *c)
{
	char note[128];
	size_t n = drops_note(c, note, sizeof(note));

	if (!n || !client_reserve(c, n, s->buf_max))
		return;
	client_put(c, note, n);
	c->drops = 0;
	if (client_flush(c) == 0)
		client_interest(s, c);
}

/* ---- the server ---------------------------------------------------------- */

int nm_evs_open(struct nm_evs *s, const char *path, int epfd, __u32 tag)
{
	int fd, err;

	memset(s, 0, sizeof(*s));
	s->lfd = -1;
	s->epfd = epfd;
	s->tag = tag;
	s->buf_max = NM_EVS_BUF_MAX;
	s->max_clients = NM_EVS_MAX_CLIENTS;
	if (epfd < 0)
		return nm_fail(NM_E_INPUT, -EBADF, "event server: no epoll fd");
	fd = nm_unix_listen(path, &s->dev, &s->ino);
	if (fd < 0)
		return fd;
	s->lfd = fd;
	s->is_open = true;
	snprintf(s->path, sizeof(s->path), "%s", path);
	err = ep_ctl(s, EPOLL_CTL_ADD, fd, EPOLLIN);
	if (err) {
		nm_evs_close(s);
		return nm_fail(NM_E_RUNTIME, err, "epoll_ctl: %s", strerror(-err));
	}
	return 0;
}

void nm_evs_set_limits(struct nm_evs *s, size_t buf_max, unsigned max_clients)
{
	if (buf_max)
		s->buf_max = buf_max;
	if (max_clients)
		s->max_clients = max_clients;
}

int nm_evs_fd(const struct nm_evs *s)
{
	return s->lfd;
}

void nm_evs_on_accept(struct nm_evs *s)
{
	char busy[64];
	size_t n = NM_EVLINE_BUF(busy, sizeof(busy) - 1, nm_evline_error, "too many clients");

	busy[n] = 0;

	/* out of fds or memory: stop listening until a client leaves or the
	 * next broadcast, rather than spin on a readable fd */
	if (nm_accept_batch(s->lfd, ACCEPT_BATCH, true, client_add, s, busy, &s->st.clients_refused))
		nm_accept_pause(s->epfd, s->tag, s->lfd, &s->accept_paused, true);
}

void nm_evs_on_readable(struct nm_evs *s, int fd)
{
	int i = client_index(s, fd);
	char tmp[4096];

	if (i < 0)
		return;
	for (int n = 0; n < READ_BATCH; n++) {
		ssize_t r = recv(fd, tmp, sizeof(tmp), MSG_DONTWAIT);

		if (r > 0)
			continue; /* clients have nothing to say: discard */
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (r < 0) {
			client_remove(s, (unsigned)i);
			return;
		}
		/* EOF: the peer only stopped sending; it may still read */
		s->clients[i]->rd_closed = true;
		client_interest(s, s->clients[i]);
		return;
	}
}

void nm_evs_on_writable(struct nm_evs *s, int fd)
{
	int i = client_index(s, fd);

	if (i < 0)
		return;
	if (client_flush(s->clients[i])) {
		client_remove(s, (unsigned)i);
		return;
	}
	/* Drained after losing lines: say so now rather than with the next
	 * line, which may never come (the end of a burst). */
	if (s->clients[i]->drops && s->clients[i]->off == s->clients[i]->len)
		notify_drops(s, s->clients[i]);
	else
		client_interest(s, s->clients[i]);
}

void nm_evs_on_hangup(struct nm_evs *s, int fd)
{
	struct pollfd p = { .fd = fd, .events = 0 };
	int i = client_index(s, fd);

	/* the event may be stale (fd closed and reused in the same batch) */
	if (i >= 0 && poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR | POLLNVAL)))
		client_remove(s, (unsigned)i);
}

void nm_evs_handle(struct nm_evs *s, int fd, __u32 events)
{
	if (fd == s->lfd) {
		nm_evs_on_accept(s);
		return;
	}
	if (events & (EPOLLHUP | EPOLLERR)) {
		nm_evs_on_hangup(s, fd);
		if (client_index(s, fd) < 0)
			return;
	}
	if (events & (EPOLLIN | EPOLLRDHUP))
		nm_evs_on_readable(s, fd);
	if (events & EPOLLOUT)
		nm_evs_on_writable(s, fd);
}

void nm_evs_broadcast(struct nm_evs *s, const char *data, size_t len)
{
	char *copy = NULL;
	__u64 nlines = 0;

	accept_resume(s);
	if (!s->nclients || !len)
		return;
	if (data[len - 1] != '\n') {
		/* rare (callers write whole lines): add the newline in a copy */
		copy = malloc(len + 1);
		if (!copy)
			return;
		memcpy(copy, data, len);
		copy[len++] = '\n';
		data = copy;
	}
	for (const char *p = data; (p = memchr(p, '\n', data + len - p)); p++)
		nlines++;
	/* backwards: a removal moves the last client into slot i */
	for (unsigned i = s->nclients; i-- > 0;)
		if (client_deliver(s, s->clients[i], data, len, nlines))
			client_remove(s, i);
	free(copy);
}

void nm_evs_stats(const struct nm_evs *s, struct nm_evs_stats *st)
{
	*st = s->st;
	st->clients = s->nclients;
}

void nm_evs_close(struct nm_evs *s)
{
	if (!s->is_open)
		return;
	for (unsigned i = s->nclients; i-- > 0;)
		client_remove(s, i);
	free(s->clients);
	s->clients = NULL;
	s->cap_clients = 0;
	if (s->lfd >= 0) {
		if (s->epfd >= 0)
			epoll_ctl(s->epfd, EPOLL_CTL_DEL, s->lfd, NULL);
		close(s->lfd);
		nm_unix_unlink(s->path, s->dev, s->ino);
	}
	s->lfd = -1;
	s->path[0] = 0;
	s->is_open = false;
}
