/*
 * UTF-8 for the wire: a WebSocket text frame must be valid UTF-8 (RFC 6455;
 * a browser closes the socket with 1007 otherwise), so the server checks
 * what clients send, cuts what it shortens at character boundaries only,
 * and repairs what it sends as a last line of defence against strings cut
 * at a byte limit elsewhere.
 *
 * Valid means RFC 3629: no overlong forms, no surrogates, nothing above
 * U+10FFFF. Pure functions; safe on any thread.
 */
#ifndef VT_PROTOCOL_UTF8_H
#define VT_PROTOCOL_UTF8_H
#include <stddef.h>

/* 1 when s[0..n) is valid UTF-8. */
int vt_utf8_valid(const char *s, size_t n);
/* The largest length <= max (and <= strlen(s)) that does not split a
 * character of the NUL-terminated s. */
size_t vt_utf8_cut(const char *s, size_t max);
/* s[0..n) with every byte that is not part of a valid sequence replaced by
 * U+FFFD: a new NUL-terminated string (*out_len its length), or NULL when
 * out of memory. */
char *vt_utf8_repair(const char *s, size_t n, size_t *out_len);
#endif
