// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * resolver.c - names to addresses for the proxy's own upstream connects.
 *
 * A hosts file (--hosts, hosts(5) format: "ADDRESS NAME..." a line, '#'
 * comments) is read once at start and answers at once, in file order, up
 * to NMP_MAX_ADDRS addresses a name; a name it lists is never sent to DNS.
 * Other names go to getaddrinfo() in a pool of threads (the system's
 * resolver: /etc/resolv.conf, nsswitch), through a queue of bounded
 * length: a full queue refuses the lookup (-EBUSY) rather than growing.
 * Answers come back through an eventfd the main loop polls; the connection
 * that asked stays allocated until its answer is delivered.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "hostname.h"
#include "proxy.h"

#define HOSTS_MAX_BYTES (4u << 20)

struct job {
	struct job *next;
	struct nmp_conn *c;
	char name[NM_HOST_MAX + 1];
	uint16_t port;
	struct nmp_addrs res;
};

struct host_ent {
	char name[NM_HOST_MAX + 1];
	struct sockaddr_storage a;
};

struct nmp_resolver {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct job *todo, *todo_tail, *done;
	unsigned queued, queue_max;
	int efd;
	bool stop, no_dns;
	pthread_t *th;
	unsigned nth;
	struct host_ent *hosts;
	size_t nhosts;
};

static void lookup(struct job *j)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_ADDRCONFIG }, *ai, *p;
	int rc;

	rc = getaddrinfo(j->name, NULL, &hints, &ai);
	if (rc) {
		j->res.err = rc;
		return;
	}
	for (p = ai; p && j->res.n < NMP_MAX_ADDRS; p = p->ai_next) {
		if ((p->ai_family != AF_INET && p->ai_family != AF_INET6) || p->ai_addrlen > sizeof(j->res.a[0]))
			continue;
		memset(&j->res.a[j->res.n], 0, sizeof(j->res.a[0]));
		memcpy(&j->res.a[j->res.n++], p->ai_addr, p->ai_addrlen);
	}
	freeaddrinfo(ai);
}

static void *worker(void *arg)
{
	struct nmp_resolver *r = arg;

	for (;;) {
		struct job *j;
		uint64_t one = 1;

		pthread_mutex_lock(&r->mu);
		while (!r->todo && !r->stop)
			pthread_cond_wait(&r->cv, &r->mu);
		if (r->stop) {
			pthread_mutex_unlock(&r->mu);
			return NULL;
		}
		j = r->todo;
		r->todo = j->next;
		if (!r->todo)
			r->todo_tail = NULL;
		pthread_mutex_unlock(&r->mu);

		lookup(j);

		pthread_mutex_lock(&r->mu);
		j->next = r->done;
		r->done = j;
		pthread_mutex_unlock(&r->mu);
		if (write(r->efd, &one, sizeof(one)) < 0) {
			/* the counter cannot overflow in practice */
		}
	}
}

static int load_hosts(struct nmp_resolver *r, const char *path)
{
	FILE *f = fopen(path, "re");
	char line[4096];
	size_t total = 0, cap = 0;
	int ln = 0;

	if (!f) {
		fprintf(stderr, "nomoat-proxy: --hosts %s: %s\n", path, strerror(errno));
		return -errno;
	}
	while (fgets(line, sizeof(line), f)) {
		char *save, *tok, *hash;
		struct sockaddr_storage a = { 0 };

		ln++;
		total += strlen(line);
		if (total > HOSTS_MAX_BYTES) {
			fprintf(stderr, "nomoat-proxy: %s: larger than 4 MiB\n", path);
			fclose(f);
			return -EFBIG;
		}
		hash = strchr(line, '#');
		if (hash)
			*hash = 0;
		tok = strtok_r(line, " \t\r\n", &save);
		if (!tok)
			continue;
		if (inet_pton(AF_INET, tok, &((struct sockaddr_in *)&a)->sin_addr) == 1) {
			a.ss_family = AF_INET;
		} else if (inet_pton(AF_INET6, tok, &((struct sockaddr_in6 *)&a)->sin6_addr) == 1) {
			a.ss_family = AF_INET6;
		} else {
			fprintf(stderr, "nomoat-proxy: %s:%d: '%s' is not an IP address\n", path, ln, tok);
			fclose(f);
			return -EINVAL;
		}
		while ((tok = strtok_r(NULL, " \t\r\n", &save))) {
			struct host_ent *e;
			char norm[NM_HOST_MAX + 2];

			if (nm_host_norm(tok, strlen(tok), norm, sizeof(norm), NULL, 0) != NM_HOST_NAME) {
				fprintf(stderr, "nomoat-proxy: %s:%d: '%s' is not a host name\n", path, ln, tok);
				fclose(f);
				return -EINVAL;
			}
			if (r->nhosts == cap) {
				cap = cap ? cap * 2 : 16;
				e = realloc(r->hosts, cap * sizeof(*e));
				if (!e) {
					fclose(f);
					return -ENOMEM;
				}
				r->hosts = e;
			}
			e = &r->hosts[r->nhosts++];
			memcpy(e->name, norm, sizeof(e->name) - 1);
			e->name[sizeof(e->name) - 1] = 0;
			e->a = a;
		}
	}
	fclose(f);
	return 0;
}

int nmp_resolver_start(struct nmp_resolver **out, unsigned threads, unsigned queue, const char *hosts_file,
		       bool no_dns)
{
	struct nmp_resolver *r = calloc(1, sizeof(*r));
	int err;

	if (!r)
		return -ENOMEM;
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv, NULL);
	r->queue_max = queue;
	r->no_dns = no_dns;
	r->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (r->efd < 0) {
		err = -errno;
		free(r);
		return err;
	}
	if (hosts_file && (err = load_hosts(r, hosts_file))) {
		close(r->efd);
		free(r->hosts);
		free(r);
		return err;
	}
	if (!no_dns) {
		r->th = calloc(threads, sizeof(*r->th));
		if (!r->th)
			return -ENOMEM;
		for (r->nth = 0; r->nth < threads; r->nth++) {
			err = pthread_create(&r->th[r->nth], NULL, worker, r);
			if (err)
				return -err;
		}
	}
	*out = r;
	return 0;
}

int nmp_resolver_fd(const struct nmp_resolver *r)
{
	return r->efd;
}

int nmp_resolve(struct nmp_resolver *r, struct nmp_conn *c, const char *name, uint16_t port,
		struct nmp_addrs *out)
{
	struct job *j;
	bool listed = false;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < r->nhosts; i++) {
		if (strcmp(r->hosts[i].name, name))
			continue;
		listed = true;
		if (out->n < NMP_MAX_ADDRS)
			out->a[out->n++] = r->hosts[i].a;
	}
	if (listed)
		return 1;
	if (r->no_dns)
		return -ENOENT;
	pthread_mutex_lock(&r->mu);
	if (r->queued >= r->queue_max) {
		pthread_mutex_unlock(&r->mu);
		return -EBUSY;
	}
	pthread_mutex_unlock(&r->mu);
	j = calloc(1, sizeof(*j));
	if (!j)
		return -EBUSY;
	j->c = c;
	j->port = port;
	snprintf(j->name, sizeof(j->name), "%s", name);
	pthread_mutex_lock(&r->mu);
	r->queued++;
	if (r->todo_tail)
		r->todo_tail->next = j;
	else
		r->todo = j;
	r->todo_tail = j;
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->mu);
	return 0;
}

void nmp_resolver_done(struct nmp_resolver *r, void (*cb)(struct nmp_conn *, const struct nmp_addrs *))
{
	struct job *j, *n;
	uint64_t v;

	if (read(r->efd, &v, sizeof(v)) < 0) {
		/* EAGAIN: nothing new, the list is checked anyway */
	}
	pthread_mutex_lock(&r->mu);
	j = r->done;
	r->done = NULL;
	pthread_mutex_unlock(&r->mu);
	for (; j; j = n) {
		n = j->next;
		pthread_mutex_lock(&r->mu);
		r->queued--;
		pthread_mutex_unlock(&r->mu);
		cb(j->c, &j->res);
		free(j);
	}
}

void nmp_resolver_stop(struct nmp_resolver *r)
{
	if (!r)
		return;
	/* Workers may sit in getaddrinfo() for the resolver's whole timeout:
	 * tell them to stop and let the process exit take them, rather than
	 * join. */
	pthread_mutex_lock(&r->mu);
	r->stop = true;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
}
