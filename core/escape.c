/* SPDX-License-Identifier: GPL-2.0-or-later */
/* C-style escaping of names, arguments and reasons (escape.h). UTF-8 is
 * judged as RFC 3629 says: no overlong forms, no surrogates, nothing past
 * U+10FFFF; a byte that breaks a sequence is escaped alone and the next
 * one judged afresh. */
#include "escape.h"

#include <stdio.h>

/* Length of the valid UTF-8 sequence at s (n bytes left), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned c = s[0], cp;
	size_t len;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, cp = c & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	/* C1 controls: some terminals act on them as on ESC sequences */
	if (cp >= 0x80 && cp <= 0x9f)
		return 0;
	return len;
}

size_t qesc(const char *s, size_t n, char *dst, size_t dstlen)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t o = 0, i = 0;

	while (i < n) {
		char esc[5];
		size_t k = 0, take = 1;
		unsigned c = u[i];

		if (c == '\\')
			k = (size_t)snprintf(esc, sizeof esc, "\\\\");
		else if (c == '\n')
			k = (size_t)snprintf(esc, sizeof esc, "\\n");
		else if (c == '\t')
			k = (size_t)snprintf(esc, sizeof esc, "\\t");
		else if (c == '\r')
			k = (size_t)snprintf(esc, sizeof esc, "\\r");
		else if (c < 0x20 || c == 0x7f ||
			 !(take = utf8_len(u + i, n - i)))
			k = (size_t)snprintf(esc, sizeof esc, "\\x%02x", c),
			take = 1;
		if (k) {
			if (o + k >= dstlen)
				break;
			for (size_t j = 0; j < k; j++)
				dst[o++] = esc[j];
		} else {
			if (o + take >= dstlen)
				break;
			for (size_t j = 0; j < take; j++)
				dst[o++] = s[i + j];
		}
		i += take;
	}
	dst[o] = '\0';
	return o;
}

size_t qesc_str(const char *s, char *dst, size_t dstlen)
{
	size_t n = 0;

	while (s[n])
		n++;
	return qesc(s, n, dst, dstlen);
}
