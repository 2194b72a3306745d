/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Error codes and their one-line messages. */
#include "qerr.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const names[QE__COUNT] = {
    [QE_OK] = "ok",
    [QE_NOMEM] = "nomem",
    [QE_SYS] = "system",
    [QE_USAGE] = "usage",
    [QE_ARGS_SYNTAX] = "args-syntax",
    [QE_ARGS_TOO_BIG] = "args-too-big",
    [QE_ARGS_WORD] = "args-word",
    [QE_PKT_TOO_BIG] = "packet-too-big",
    [QE_PKT_MALFORMED] = "packet-malformed",
    [QE_ELF_SHORT] = "elf-short",
    [QE_ELF_MAGIC] = "elf-magic",
    [QE_ELF_CLASS] = "elf-class",
    [QE_ELF_DATA] = "elf-data",
    [QE_ELF_VERSION] = "elf-version",
    [QE_ELF_EHSIZE] = "elf-ehsize",
    [QE_ELF_MACHINE] = "elf-machine",
    [QE_ELF_TYPE] = "elf-type",
    [QE_ELF_INTERP] = "elf-interp",
    [QE_ELF_PHDR] = "elf-phdr",
    [QE_ELF_NOLOAD] = "elf-noload",
    [QE_ELF_SEGSIZE] = "elf-segsize",
    [QE_ELF_SEGFILE] = "elf-segfile",
    [QE_ELF_ALIGN] = "elf-align",
    [QE_ELF_WRAP] = "elf-wrap",
    [QE_ELF_WINDOW] = "elf-window",
    [QE_ELF_OVERLAP] = "elf-overlap",
    [QE_ELF_ENTRY] = "elf-entry",
    [QE_ELF_TOO_BIG] = "elf-too-big",
    [QE_ELF_CORRUPT] = "elf-corrupt",
    [QE_ELF_MISLOAD] = "elf-misload",
    [QE_ELF_LIBELF] = "elf-libelf",
    [QE_CHAN_SPEC] = "channel-spec",
    [QE_CHAN_VERSION] = "channel-version",
    [QE_CHAN_TIMEOUT] = "channel-timeout",
    [QE_CHAN_NO_RECEIVER] = "no-receiver",
    [QE_CHAN_GONE] = "receiver-gone",
    [QE_CHAN_REFUSED] = "refused",
    [QE_CHAN_IO] = "channel-io",
    [QE_BUSY] = "busy",
    [QE_LIMIT] = "limit",
    [QE_FILE_TOO_BIG] = "file-too-big",
    [QE_STOPPED] = "stopped",
};

const char *qerr_name(enum qerr code)
{
	if ((unsigned)code >= QE__COUNT || !names[code])
		return "unknown";
	return names[code];
}

int qerr_is_elf(enum qerr code)
{
	return code >= QE_ELF_SHORT && code <= QE_ELF_LIBELF;
}

static enum qerr vset(struct qerror *err, enum qerr code, int errno_val,
		      const char *fmt, va_list ap)
{
	if (!err)
		return code;
	err->code = code;
	int n = vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	if (errno_val && n >= 0 && (size_t)n < sizeof err->msg)
		snprintf(err->msg + n, sizeof err->msg - (size_t)n, ": %s",
			 strerror(errno_val));
	return code;
}

enum qerr qerr_set(struct qerror *err, enum qerr code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vset(err, code, 0, fmt, ap);
	va_end(ap);
	return code;
}

enum qerr qerr_sys(struct qerror *err, int errno_val, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vset(err, QE_SYS, errno_val, fmt, ap);
	va_end(ap);
	return QE_SYS;
}

int qerr_quotes_args(enum qerr code)
{
	return code == QE_ARGS_WORD;
}
