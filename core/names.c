/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The naming rules of run/: what tools use for temporary files (rsync's
 * .NAME.XXXXXX, GIO's .goutputstream-XXXXXX, editors' NAME~ and .swp) must
 * never launch. */
#include "names.h"

#include <stdio.h>
#include <string.h>

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && !memcmp(s + n - k, suffix, k);
}

int qname_is_sidecar(const char *name)
{
	return ends_with(name, QNAME_SIDECAR_SUFFIX) &&
	       strlen(name) > strlen(QNAME_SIDECAR_SUFFIX);
}

int qname_launches(const char *name)
{
	return name[0] && name[0] != '.' && !ends_with(name, "~") &&
	       !ends_with(name, ".swp") && !qname_is_sidecar(name);
}

int qname_is_temporary(const char *name)
{
	return name[0] == '.' && !ends_with(name, "~") &&
	       !ends_with(name, ".swp") && !qname_is_sidecar(name);
}

int qname_sidecar_of(const char *name, char *dst, size_t dstlen)
{
	int n = snprintf(dst, dstlen, "%s%s", name, QNAME_SIDECAR_SUFFIX);
	return n < 0 || (size_t)n >= dstlen ? -1 : 0;
}
