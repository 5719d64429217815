/*
 * Base64 encoding and strict decoding (see base64.h).
 */
#include "util/base64.h"

static const char k_alpha[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t vt_base64_len(size_t n)
{
    return (n + 2) / 3 * 4;
}

long vt_base64_encode(const uint8_t *in, size_t n, char *out, size_t cap)
{
    size_t need = vt_base64_len(n);
    if (!out || cap < need + 1 || (!in && n))
        return -1;
    size_t o = 0, i = 0;
    for (; i + 2 < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = k_alpha[v >> 18 & 63];
        out[o++] = k_alpha[v >> 12 & 63];
        out[o++] = k_alpha[v >> 6 & 63];
        out[o++] = k_alpha[v & 63];
    }
    if (i < n) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0);
        out[o++] = k_alpha[v >> 18 & 63];
        out[o++] = k_alpha[v >> 12 & 63];
        out[o++] = i + 1 < n ? k_alpha[v >> 6 & 63] : '=';
        out[o++] = '=';
    }
    out[o] = 0;
    return (long)o;
}

static int val(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || c == '-')
        return 62;
    if (c == '/' || c == '_')
        return 63;
    return -1;
}

long vt_base64_decode(const char *in, size_t len, uint8_t *out, size_t cap)
{
    if (!in && len)
        return -1;
    while (len && in[len - 1] == '=')
        len--;
    if (len % 4 == 1)
        return -1;
    size_t need = len / 4 * 3 + (len % 4 ? len % 4 - 1 : 0);
    if (need > cap || (!out && need))
        return -1;
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        int v = val(in[i]);
        if (v < 0)
            return -1;
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (uint8_t)(acc >> bits);
        }
    }
    return (long)o;
}
