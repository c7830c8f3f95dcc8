// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * cprobe - the client inside the test containers of tests/containers: one
 * attempt per invocation, the way an application makes it, and one line
 * saying what happened.  Linked statically (the image holds busybox and
 * this, no libc), so it resolves names itself: an A query over UDP to the
 * first nameserver of /etc/resolv.conf, as a stub resolver would.
 *
 *   cprobe tcp ADDR PORT      connect (AF by ADDR; ::ffff:a.b.c.d is a
 *                             dual-stack socket's IPv4), read a line
 *   cprobe udp ADDR PORT      sendto + recvfrom on an unconnected socket
 *   cprobe raw | raw6         a raw ICMP socket
 *   cprobe ping | ping6       an ICMP datagram ("ping") socket
 *   cprobe resolve NAME       the A record (or the rcode: NXDOMAIN, ...)
 *   cprobe fetch NAME [PATH]  resolve, then HTTP GET http://NAME/PATH
 *                             on port 80: the reply's first line
 *   cprobe sleep              stay until killed (a long-running container)
 *
 * Output: "OK <text>" or "ERR <errno name or rcode> <detail>"; exit 0 for
 * OK, 1 otherwise.  Every socket call has a 3 s time bound.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <signal.h>
#include <sys/time.h>
#include <unistd.h>

static void on_term(int sig)
{
	(void)sig;
	_exit(0);
}

static const char *ename(int e)
{
	switch (e) {
	case EPERM: return "EPERM";
	case EACCES: return "EACCES";
	case ECONNREFUSED: return "ECONNREFUSED";
	case ENETUNREACH: return "ENETUNREACH";
	case EHOSTUNREACH: return "EHOSTUNREACH";
	case ETIMEDOUT: return "ETIMEDOUT";
	case EAGAIN: return "EAGAIN";
	case EINVAL: return "EINVAL";
	case EAFNOSUPPORT: return "EAFNOSUPPORT";
	case EPROTONOSUPPORT: return "EPROTONOSUPPORT";
	default: return "ERRNO";
	}
}

static int fail(int e, const char *what)
{
	printf("ERR %s %s: %s\n", ename(e), what, strerror(e));
	return 1;
}

static void bound(int fd)
{
	struct timeval tv = { .tv_sec = 3 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* ADDR PORT as a socket address; ::ffff:a.b.c.d stays IPv6 (mapped). */
static int sockaddr_of(const char *a, int port, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *s4 = (void *)ss;
	struct sockaddr_in6 *s6 = (void *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, a, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		*len = sizeof(*s4);
		return AF_INET;
	}
	if (inet_pton(AF_INET6, a, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		*len = sizeof(*s6);
		return AF_INET6;
	}
	return -1;
}

static int read_line(int fd, char *buf, size_t len)
{
	size_t n = 0;

	while (n + 1 < len) {
		ssize_t r = recv(fd, buf + n, 1, 0);

		if (r <= 0)
			break;
		if (buf[n] == '\n' || buf[n] == '\r')
			break;
		n++;
	}
	buf[n] = 0;
	return (int)n;
}

/* connect to addr:port and, if req, send it; the first line back. */
static int tcp(const char *addr, int port, const char *req)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	char line[512];
	int fam = sockaddr_of(addr, port, &ss, &sl), fd;

	if (fam < 0)
		return fail(EINVAL, addr);
	fd = socket(fam, SOCK_STREAM, 0);
	if (fd < 0)
		return fail(errno, "socket");
	bound(fd);
	if (connect(fd, (struct sockaddr *)&ss, sl))
		return fail(errno, "connect");
	if (req && send(fd, req, strlen(req), MSG_NOSIGNAL) < 0)
		return fail(errno, "send");
	if (read_line(fd, line, sizeof(line)) <= 0)
		return fail(errno ? errno : ECONNREFUSED, "no reply");
	printf("OK %s\n", line);
	return 0;
}

static int udp(const char *addr, int port)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	char buf[512];
	int fam = sockaddr_of(addr, port, &ss, &sl), fd;
	ssize_t n;

	if (fam < 0)
		return fail(EINVAL, addr);
	fd = socket(fam, SOCK_DGRAM, 0);
	if (fd < 0)
		return fail(errno, "socket");
	bound(fd);
	if (sendto(fd, "cprobe", 6, 0, (struct sockaddr *)&ss, sl) < 0)
		return fail(errno, "sendto");
	n = recv(fd, buf, sizeof(buf) - 1, 0);
	if (n < 0)
		return fail(errno, "recv");
	buf[n] = 0;
	buf[strcspn(buf, "\r\n")] = 0;
	printf("OK %s\n", buf);
	return 0;
}

static int sock(int fam, int type, int proto)
{
	int fd = socket(fam, type, proto);

	if (fd < 0)
		return fail(errno, "socket");
	printf("OK socket made\n");
	return 0;
}

/* The first nameserver of /etc/resolv.conf. */
static int nameserver(struct sockaddr_storage *ss, socklen_t *sl)
{
	FILE *f = fopen("/etc/resolv.conf", "r");
	char line[256], a[128];

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "nameserver %127s", a) == 1 && sockaddr_of(a, 53, ss, sl) > 0) {
			fclose(f);
			return 0;
		}
	}
	fclose(f);
	return -ENOENT;
}

static const char *const rcodes[] = { "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED" };

/* An A query for name; 0 with the first address in out, an rcode name in
 * *rc, or -errno. */
static int resolve_a(const char *name, char *out, size_t olen, const char **rc)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	uint8_t q[512], r[1500];
	size_t n = 12;
	const char *p = name;
	int fd, err;
	ssize_t got;
	uint16_t id = (uint16_t)(getpid() ^ 0x4e4d);

	*rc = NULL;
	if ((err = nameserver(&ss, &sl)))
		return err;
	memset(q, 0, 12);
	q[0] = id >> 8, q[1] = id & 0xff, q[2] = 0x01, q[5] = 1; /* RD, one question */
	while (*p) {
		size_t l = strcspn(p, ".");

		if (!l || l > 63 || n + l + 6 > sizeof(q))
			return -EINVAL;
		q[n++] = (uint8_t)l;
		memcpy(q + n, p, l);
		n += l;
		p += l + (p[l] == '.');
	}
	q[n++] = 0;
	q[n++] = 0, q[n++] = 1, q[n++] = 0, q[n++] = 1; /* A IN */
	fd = socket(ss.ss_family, SOCK_DGRAM, 0);
	if (fd < 0)
		return -errno;
	bound(fd);
	if (sendto(fd, q, n, 0, (struct sockaddr *)&ss, sl) < 0 || (got = recv(fd, r, sizeof(r), 0)) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	close(fd);
	if (got < 12 || r[0] != q[0] || r[1] != q[1])
		return -EPROTO;
	if (r[3] & 0xf) {
		*rc = (r[3] & 0xf) < 6 ? rcodes[r[3] & 0xf] : "RCODE";
		return 0;
	}
	/* skip the question, then the first A answer */
	{
		size_t i = n, an = (size_t)(r[6] << 8 | r[7]);

		for (size_t k = 0; k < an && i + 12 <= (size_t)got; k++) {
			uint16_t type, rdlen;

			if ((r[i] & 0xc0) == 0xc0) {
				i += 2;
			} else {
				while (i < (size_t)got && r[i])
					i += r[i] + 1;
				i++;
			}
			if (i + 10 > (size_t)got)
				break;
			type = (uint16_t)(r[i] << 8 | r[i + 1]);
			rdlen = (uint16_t)(r[i + 8] << 8 | r[i + 9]);
			i += 10;
			if (i + rdlen > (size_t)got)
				break;
			if (type == 1 && rdlen == 4) {
				inet_ntop(AF_INET, r + i, out, (socklen_t)olen);
				return 0;
			}
			i += rdlen;
		}
	}
	*rc = "NOANSWER";
	return 0;
}

static int resolve(const char *name, char *addr, size_t len)
{
	const char *rc;
	int err = resolve_a(name, addr, len, &rc);

	if (err)
		return fail(-err, "resolve");
	if (rc) {
		printf("ERR %s %s\n", rc, name);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *c = argc > 1 ? argv[1] : "";
	char addr[64], req[512];

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(c, "tcp") && argc == 4)
		return tcp(argv[2], atoi(argv[3]), NULL);
	if (!strcmp(c, "udp") && argc == 4)
		return udp(argv[2], atoi(argv[3]));
	if (!strcmp(c, "raw"))
		return sock(AF_INET, SOCK_RAW, IPPROTO_ICMP);
	if (!strcmp(c, "raw6"))
		return sock(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6);
	if (!strcmp(c, "ping"))
		return sock(AF_INET, SOCK_DGRAM, IPPROTO_ICMP);
	if (!strcmp(c, "ping6"))
		return sock(AF_INET6, SOCK_DGRAM, IPPROTO_ICMPV6);
	if (!strcmp(c, "resolve") && argc == 3) {
		if (resolve(argv[2], addr, sizeof(addr)))
			return 1;
		printf("OK %s\n", addr);
		return 0;
	}
	if (!strcmp(c, "fetch") && (argc == 3 || argc == 4)) {
		if (resolve(argv[2], addr, sizeof(addr)))
			return 1;
		snprintf(req, sizeof(req), "GET /%s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n",
			 argc == 4 ? argv[3] : "", argv[2]);
		return tcp(addr, 80, req);
	}
	if (!strcmp(c, "sleep")) {
		signal(SIGTERM, on_term); /* PID 1 ignores what it has no handler for */
		for (;;)
			pause();
	}
	fprintf(stderr, "usage: cprobe tcp|udp ADDR PORT | raw | raw6 | ping | ping6 | resolve NAME | "
			"fetch NAME [PATH] | sleep\n");
	return 2;
}
