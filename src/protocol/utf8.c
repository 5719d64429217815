/* UTF-8 checks, boundary cuts and repair for the wire (see utf8.h). */
#include "protocol/utf8.h"

#include <stdlib.h>
#include <string.h>

/* The length of the valid sequence at s[0..n), or 0 when it is not one. */
static size_t seq_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    size_t len;
    unsigned lo = 0x80, hi = 0xBF; /* the range of the second byte */
    if (c >= 0xC2 && c <= 0xDF)
        len = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0)
            lo = 0xA0; /* overlong */
        else if (c == 0xED)
            hi = 0x9F; /* surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0)
            lo = 0x90; /* overlong */
        else if (c == 0xF4)
            hi = 0x8F; /* above U+10FFFF */
    } else
        return 0;
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    return len;
}

int vt_utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        if (p[i] < 0x80) { /* the common case */
            i++;
            continue;
        }
        size_t l = seq_len(p + i, n - i);
        if (!l)
            return 0;
        i += l;
    }
    return 1;
}

size_t vt_utf8_cut(const char *s, size_t max)
{
    size_t n = strnlen(s, max);
    if (n < max)
        return n; /* all of it fits */
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--; /* s[n] continues a character: cut before its lead byte */
    return n;
}

char *vt_utf8_repair(const char *s, size_t n, size_t *out_len)
{
    char *out = malloc(n * 3 + 1); /* each byte at most one U+FFFD */
    if (!out)
        return NULL;
    const unsigned char *p = (const unsigned char *)s;
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        size_t l = seq_len(p + i, n - i);
        if (l) {
            memcpy(out + o, p + i, l);
            o += l;
            i += l;
        } else {
            memcpy(out + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
        }
    }
    out[o] = 0;
    if (out_len)
        *out_len = o;
    return out;
}
