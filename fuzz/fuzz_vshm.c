/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer target for the vshm: channel as read from a hostile region
 * (PROTOCOL.md §3b): the input is the region's header and slot. The
 * first byte chooses what runs on it: a sender (open, peer, taken_since,
 * one send), or a Linux receiver (open, one take, answer), with or
 * without the header's identity made valid first so that the state
 * machine is reached. No side may read or write outside the region, trap,
 * or wait past its deadline; a packet taken lies inside the slot. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chan.h"
#include "packet.h"

#define REGION (4 * 4096)

static char dir[64], path[96], spec[112];

static void violation(const char *what, const struct qerror *e)
{
	fprintf(stderr, "fuzz_vshm: %s (%s: %s)\n", what,
		e ? qerr_name(e->code) : "-", e ? e->msg : "");
	abort();
}

static void put32(uint8_t *b, unsigned off, uint32_t v)
{
	memcpy(b + off, &v, 4);
}

static void remove_region(void)
{
	unlink(path);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	strcpy(dir, "/dev/shm/fuzz_vshm.XXXXXX");
	if (!mkdtemp(dir))
		abort();
	snprintf(path, sizeof path, "%s/region", dir);
	snprintf(spec, sizeof spec, "vshm:%s", path);
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || ftruncate(fd, REGION) < 0)
		abort();
	close(fd);
	atexit(remove_region);
	return 0;
}

static void run_sender(const uint8_t *data, size_t size)
{
	struct qchan_opts o;
	struct qchan *c;
	struct qchan_peer p;
	struct qchan_mark m;
	struct qerror e;
	uint8_t pkt[200];

	qchan_opts_default(&o);
	o.slot_size = 4096;
	if (qchan_open(spec, &o, &c, &e) != QE_OK) {
		if (!e.msg[0])
			violation("refusal without a message", &e);
		return;
	}
	qchan_peer(c, &p);
	m.epoch = size > 4 ? data[1] | (uint32_t)data[2] << 8 : 0;
	m.seq = size > 4 ? data[3] : 0;
	int t = qchan_taken_since(c, &m);
	if (t < -1 || t > 1)
		violation("taken_since out of range", NULL);
	memset(pkt, 0x5a, sizeof pkt);
	struct iovec v = {pkt, sizeof pkt};
	enum qerr rc = qchan_send(c, &v, 1, 0, &e);
	if (rc != QE_OK && !e.msg[0])
		violation("send failed without a message", &e);
	qchan_close(c);
}

static void run_receiver(void)
{
	struct qchan_rx *rx;
	struct qerror e;
	const uint8_t *p;
	size_t len;
	unsigned sum = 0;

	if (qchan_rx_open(spec, 4096, &rx, &e) != QE_OK)
		return;
	if (qchan_rx_take(rx, &p, &len, 0, &e) == QE_OK) {
		if (len < 1 || len > REGION - 4096)
			violation("taken packet outside the slot", &e);
		for (size_t i = 0; i < len; i++) /* ASan: inside the map */
			sum += p[i];
		qchan_rx_answer(rx, sum & 1, "fuzz", &e);
	}
	qchan_rx_close(rx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t img[REGION];
	int fd;

	if (size < 1)
		return 0;
	memset(img, 0, sizeof img);
	memcpy(img, data + 1, size - 1 < REGION ? size - 1 : REGION);
	if (data[0] & 2) {
		/* a valid identity, so that the fields behind it are read */
		memcpy(img, "QVS1", 4);
		put32(img, 4, 1);
		put32(img, 8, 4096);
		put32(img, 12, REGION - 4096);
		if (!img[16])
			img[16] = 1;
		memcpy(img + 20, "QVS1", 4);
	}
	fd = open(path, O_WRONLY);
	if (fd < 0 || pwrite(fd, img, sizeof img, 0) != (ssize_t)sizeof img)
		abort();
	close(fd);
	if (data[0] & 1)
		run_receiver();
	else
		run_sender(data, size);
	return 0;
}
