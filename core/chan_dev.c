/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The dev:PATH channel backend: each packet goes to a device node (a kernel
 * driver exposing the Quest-V channel), a FIFO or a regular file with one
 * writev(2). Nothing comes back, so the peer is unknown. */
#include "chan.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct dev_chan {
	struct qchan base;
	char *path;
};

static enum qerr dev_open(struct qchan **out, const char *arg,
			  const struct qchan_opts *o, struct qerror *err)
{
	struct dev_chan *d;

	(void)o;
	if (!*arg)
		return qerr_set(err, QE_CHAN_SPEC,
				"dev:PATH needs a path, e.g. dev:/dev/qSB1");
	d = calloc(1, sizeof *d);
	if (d)
		d->path = strdup(arg);
	if (!d || !d->path) {
		free(d);
		return qerr_set(err, QE_NOMEM, "out of memory");
	}
	*out = &d->base;
	return QE_OK;
}

static enum qerr dev_send(struct qchan *c, const struct iovec *iov, int iovcnt,
			  int timeout_ms, struct qerror *err)
{
	struct dev_chan *d = (struct dev_chan *)c;
	int64_t deadline = timeout_ms < 0 ? -1 : qchan_mono_ms() + timeout_ms;
	size_t total = 0, written = 0;
	enum qerr rc = QE_OK;
	struct stat st;
	int fd, w;

	for (int i = 0; i < iovcnt; i++)
		total += iov[i].iov_len;

	/* Opened per packet: a device driver or FIFO reader sees one open,
	 * one packet, one close, as with the seed's loader. */
	fd = qchan_open_wronly(d->path, 0);
	if (fd == -ENXIO)
		return qerr_set(err, QE_CHAN_NO_RECEIVER,
				"nobody is reading dev:%s (a FIFO without "
				"reader, or a device without driver); nothing "
				"was sent",
				d->path);
	if (fd < 0)
		return qerr_set(err, QE_CHAN_IO, "dev:%s: cannot open: %s",
				d->path, strerror(-fd));
	if (fstat(fd, &st) < 0) {
		rc = qerr_set(err, QE_CHAN_IO, "dev:%s: %s", d->path,
			      strerror(errno));
		goto out;
	}
	if (S_ISREG(st.st_mode) && ftruncate(fd, 0) < 0) {
		/* One packet per file, as a device holds one: not O_TRUNC at
		 * open, which would also apply to whatever PATH turns out to
		 * be; the offset is 0 since there is no O_APPEND. */
		rc = qerr_set(err, QE_CHAN_IO, "dev:%s: cannot truncate: %s",
			      d->path, strerror(errno));
		goto out;
	}
	if (S_ISFIFO(st.st_mode)) {
		/* A pipe polls properly, so a reader that stops reading is
		 * bounded by the timeout; devices stay blocking, since a
		 * driver without poll support would make us spin. */
		int fl = fcntl(fd, F_GETFL);
		if (fl >= 0)
			fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	}

	w = qchan_writev_all(fd, iov, iovcnt, deadline, &written);
	if (w == -EPIPE)
		rc = qerr_set(err, QE_CHAN_GONE,
			      "the reader of dev:%s went away after %zu of %zu "
			      "bytes",
			      d->path, written, total);
	else if (w == -ETIMEDOUT)
		rc = qerr_set(err, QE_CHAN_TIMEOUT,
			      "the reader of dev:%s took only %zu of %zu bytes "
			      "in %d ms; the rest was withdrawn",
			      d->path, written, total, timeout_ms);
	else if (w)
		rc = qerr_set(err, QE_CHAN_IO,
			      "dev:%s: write failed after %zu of %zu bytes: %s",
			      d->path, written, total, strerror(-w));
out:
	if (close(fd) < 0 && rc == QE_OK)
		rc = qerr_set(err, QE_CHAN_IO, "dev:%s: close: %s", d->path,
			      strerror(errno));
	return rc;
}

static void dev_peer(struct qchan *c, struct qchan_peer *out)
{
	(void)c;
	memset(out, 0, sizeof *out);
}

static void dev_close(struct qchan *c)
{
	struct dev_chan *d = (struct dev_chan *)c;

	free(d->path);
	free(d);
}

const struct qchan_ops qchan_dev_ops = {
    .prefix = "dev:",
    .open = dev_open,
    .send = dev_send,
    .peer = dev_peer,
    .close = dev_close,
};
