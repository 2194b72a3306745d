/* SPDX-License-Identifier: GPL-2.0-or-later */
/* C-style escaping of names, arguments and reasons (escape.h). UTF-8 is
 * judged as RFC 3629 says: no overlong forms, no surrogates, nothing past
 * U+10FFFF; a byte that breaks a sequence is escaped alone and the next
 * one judged afresh. */
#include "escape.h"

#include <stddef.h>

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
	static const char hex[] = "0123456789abcdef";
	const unsigned char *u = (const unsigned char *)s;
	size_t o = 0, i = 0;

	if (!dstlen)
		return 0;
	while (i < n) {
		char esc[4];
		size_t k = 0, take = 1;
		unsigned c = u[i];

		/* printable ASCII, the most of any name: as it is */
		if (c >= 0x20 && c < 0x7f && c != '\\') {
			if (o + 1 >= dstlen)
				break;
			dst[o++] = (char)c;
			i++;
			continue;
		}
		if (c == '\\' || c == '\n' || c == '\t' || c == '\r') {
			esc[0] = '\\';
			esc[1] = c == '\\'   ? '\\'
				 : c == '\n' ? 'n'
				 : c == '\t' ? 't'
					     : 'r';
			k = 2;
		} else if (c < 0x20 || c == 0x7f ||
			   !(take = utf8_len(u + i, n - i))) {
			esc[0] = '\\';
			esc[1] = 'x';
			esc[2] = hex[c >> 4];
			esc[3] = hex[c & 15];
			k = 4;
			take = 1;
		}
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
