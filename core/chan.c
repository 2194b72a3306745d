/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The generic channel layer (DESIGN.md §5): picks a backend by spec, checks the
 * packet against the slot, writes the optional kick line, and holds the
 * write helpers the backends share. */
#include "chan.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "packet.h"

#define SPEC_FORMS                                                             \
	"valid forms: shm:KEY (KEY a decimal number, e.g. " QCHAN_SPEC_DEFAULT \
	"), vshm:PATH (e.g. vshm:/dev/shm/quest) or dev:PATH (e.g. "           \
	"dev:/dev/qSB1)"

/* Slots beyond this are a typo, not a channel (shm: maps them whole). */

static const struct qchan_ops *const backends[] = {
    &qchan_shm_ops,
    &qchan_vshm_ops,
    &qchan_dev_ops,
};

static const struct qchan_rx_ops *const rx_backends[] = {
    &qchan_shm_rx_ops,
    &qchan_vshm_rx_ops,
};

void qchan_opts_default(struct qchan_opts *o)
{
	o->slot_size = QPKT_SLOT_DEFAULT;
	o->kick = NULL;
	o->kick_cmd = NULL;
	o->vshm_offset = 0;
}

enum qerr qchan_open(const char *spec, const struct qchan_opts *o,
		     struct qchan **out, struct qerror *err)
{
	struct qchan_opts def;
	const struct qchan_ops *ops = NULL;
	struct qchan *c = NULL;
	enum qerr rc;

	*out = NULL;
	if (!o) {
		qchan_opts_default(&def);
		o = &def;
	}
	if (!spec || !*spec)
		return qerr_set(err, QE_CHAN_SPEC, "empty channel spec; %s",
				SPEC_FORMS);
	for (size_t i = 0; i < sizeof backends / sizeof backends[0]; i++) {
		size_t n = strlen(backends[i]->prefix);
		if (!strncmp(spec, backends[i]->prefix, n)) {
			ops = backends[i];
			break;
		}
	}
	if (!ops)
		return qerr_set(err, QE_CHAN_SPEC, "unknown channel \"%s\"; %s",
				spec, SPEC_FORMS);
	if ((rc = qpkt_slot_check(o->slot_size, err)) != QE_OK)
		return rc;

	rc = ops->open(&c, spec + strlen(ops->prefix), o, err);
	if (rc != QE_OK)
		return rc;
	c->ops = ops;
	c->slot_size = o->slot_size;
	c->kick = NULL;
	c->kick_cmd = NULL;
	if (o->kick && *o->kick) {
		c->kick = strdup(o->kick);
		c->kick_cmd =
		    strdup(o->kick_cmd ? o->kick_cmd : QCHAN_KICK_CMD_DEFAULT);
		if (!c->kick || !c->kick_cmd) {
			qchan_close(c);
			return qerr_set(err, QE_NOMEM, "out of memory");
		}
	}
	*out = c;
	return QE_OK;
}

/* The seed's `echo proc_creat > /dev/qSB0`, before every packet. */
static enum qerr write_kick(struct qchan *c, struct qerror *err)
{
	struct iovec v[2] = {
	    {.iov_base = c->kick_cmd, .iov_len = strlen(c->kick_cmd)},
	    {.iov_base = "\n", .iov_len = 1},
	};
	enum qerr rc = QE_OK;
	int fd = qchan_open_wronly(c->kick, 0);

	if (fd == -ENXIO)
		return qerr_set(err, QE_CHAN_IO,
				"kick %s: nobody reads it (a FIFO without "
				"reader or a device without driver)",
				c->kick);
	if (fd < 0)
		return qerr_set(err, QE_CHAN_IO, "kick %s: cannot open: %s",
				c->kick, strerror(-fd));
	int w = qchan_writev_all(fd, v, 2, -1, NULL);
	if (close(fd) < 0 && !w)
		w = -errno;
	if (w)
		rc = qerr_set(err, QE_CHAN_IO,
			      "kick %s: cannot write \"%s\": %s", c->kick,
			      c->kick_cmd, strerror(-w));
	return rc;
}

enum qerr qchan_send(struct qchan *c, const struct iovec *iov, int iovcnt,
		     int timeout_ms, struct qerror *err)
{
	size_t total = 0;
	enum qerr rc;

	if (!c || iovcnt < 0 || iovcnt > IOV_MAX || (iovcnt && !iov))
		return qerr_set(err, QE_USAGE, "bad packet vector");
	for (int i = 0; i < iovcnt; i++) {
		if (iov[i].iov_len > c->slot_size - total)
			return qerr_set(err, QE_PKT_TOO_BIG,
					"the packet does not fit the channel's "
					"slot of %zu bytes (largest program "
					"%zu bytes)",
					c->slot_size,
					qpkt_max_binary(c->slot_size));
		total += iov[i].iov_len;
	}
	if (!total)
		return qerr_set(err, QE_USAGE, "empty packet");
	if (c->kick) {
		rc = write_kick(c, err);
		if (rc != QE_OK)
			return rc;
	}
	return c->ops->send(c, iov, iovcnt, timeout_ms, err);
}

enum qerr qchan_wait_peer(struct qchan *c, int timeout_ms, struct qerror *err)
{
	struct qchan_peer p;

	if (c->ops->wait_peer)
		return c->ops->wait_peer(c, timeout_ms, err);
	c->ops->peer(c, &p);
	if (!p.known || p.attached)
		return QE_OK;
	return qerr_set(err, QE_CHAN_NO_RECEIVER, "no Quest side is attached");
}

void qchan_peer(struct qchan *c, struct qchan_peer *out)
{
	memset(out, 0, sizeof *out);
	c->ops->peer(c, out);
}

void qchan_close(struct qchan *c)
{
	char *kick, *kick_cmd;

	if (!c)
		return;
	kick = c->kick;
	kick_cmd = c->kick_cmd;
	c->ops->close(c);
	free(kick);
	free(kick_cmd);
}

int qchan_open_wronly(const char *path, int flags)
{
	/* O_NONBLOCK turns "wait forever for a FIFO reader" into ENXIO. */
	int fd = open(path, O_WRONLY | O_CLOEXEC | O_NONBLOCK | flags);
	int fl;

	if (fd < 0)
		return -errno;
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

int64_t qchan_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t qchan_real_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for room on a non-blocking fd; 0, or -ETIMEDOUT / -errno. */
static int wait_room(int fd, int64_t deadline_ms)
{
	struct pollfd p = {.fd = fd, .events = POLLOUT};
	int left = -1, n;

	if (deadline_ms >= 0) {
		int64_t d = deadline_ms - qchan_mono_ms();
		if (d <= 0)
			return -ETIMEDOUT;
		left = d > INT_MAX ? INT_MAX : (int)d;
	}
	n = poll(&p, 1, left);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	return n ? 0 : -ETIMEDOUT;
}

int qchan_writev_all(int fd, const struct iovec *iov, int iovcnt,
		     int64_t deadline_ms, size_t *written)
{
	struct iovec *v = NULL;
	sigset_t pipe_only, old, pending;
	int was_pending, r = 0;
	size_t done = 0;

	if (iovcnt <= 0 || iovcnt > IOV_MAX) {
		r = iovcnt ? -EINVAL : 0;
		goto out;
	}
	/* Our own copy: a short write advances it. */
	v = malloc(sizeof *v * (size_t)iovcnt);
	if (!v) {
		r = -ENOMEM;
		goto out;
	}
	memcpy(v, iov, sizeof *v * (size_t)iovcnt);

	/* A reader that goes away mid-packet must give EPIPE, not kill the
	 * daemon: block SIGPIPE here and swallow the one we cause. */
	sigemptyset(&pipe_only);
	sigaddset(&pipe_only, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_only, &old);
	sigpending(&pending);
	was_pending = sigismember(&pending, SIGPIPE);

	struct iovec *cur = v;
	int left = iovcnt;
	while (left) {
		if (!cur->iov_len) {
			cur++;
			left--;
			continue;
		}
		ssize_t n = writev(fd, cur, left);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				r = wait_room(fd, deadline_ms);
				if (r)
					break;
				continue;
			}
			r = -errno;
			break;
		}
		if (n == 0) {
			r = -EIO;
			break;
		}
		done += (size_t)n;
		while (left && (size_t)n >= cur->iov_len) {
			n -= (ssize_t)cur->iov_len;
			cur++;
			left--;
		}
		if (left) {
			cur->iov_base = (char *)cur->iov_base + n;
			cur->iov_len -= (size_t)n;
		}
	}

	if (r == -EPIPE && !was_pending) {
		struct timespec zero = {0, 0};
		while (sigtimedwait(&pipe_only, NULL, &zero) < 0 &&
		       errno == EINTR)
			;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
out:
	free(v);
	if (written)
		*written = done;
	return r;
}

int qchan_mark(struct qchan *c, struct qchan_mark *m)
{
	return c->ops->mark ? c->ops->mark(c, m) : -1;
}

int qchan_taken_since(struct qchan *c, const struct qchan_mark *m)
{
	return c->ops->taken_since ? c->ops->taken_since(c, m) : -1;
}

/* ---- receiver side ---- */

enum qerr qchan_rx_open_at(const char *spec, size_t slot_size,
			   size_t vshm_offset, struct qchan_rx **out,
			   struct qerror *err)
{
	enum qerr rc;

	*out = NULL;
	for (size_t i = 0; spec && i < sizeof rx_backends / sizeof *rx_backends;
	     i++) {
		const struct qchan_rx_ops *ops = rx_backends[i];
		size_t n = strlen(ops->prefix);
		if (strncmp(spec, ops->prefix, n))
			continue;
		if (slot_size &&
		    (rc = qpkt_slot_check(slot_size, err)) != QE_OK)
			return rc;
		rc = ops->open(out, spec + n, slot_size, vshm_offset, err);
		if (rc == QE_OK)
			(*out)->ops = ops;
		return rc;
	}
	return qerr_set(err, QE_CHAN_SPEC,
			"the receiving side exists for shm:KEY and vshm:PATH "
			"channels only, not \"%s\"",
			spec ? spec : "");
}

enum qerr qchan_rx_open(const char *spec, size_t slot_size,
			struct qchan_rx **out, struct qerror *err)
{
	return qchan_rx_open_at(spec, slot_size, 0, out, err);
}

enum qerr qchan_rx_take(struct qchan_rx *rx, const uint8_t **pkt, size_t *len,
			int timeout_ms, struct qerror *err)
{
	return rx->ops->take(rx, pkt, len, timeout_ms, err);
}

enum qerr qchan_rx_answer(struct qchan_rx *rx, int accepted, const char *reason,
			  struct qerror *err)
{
	return rx->ops->answer(rx, accepted, reason, err);
}

void qchan_rx_close(struct qchan_rx *rx)
{
	if (rx)
		rx->ops->close(rx);
}
