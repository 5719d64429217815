/*
 * Base64 (RFC 4648) for audio carried in JSON: the seed protocol's
 * audio_chunk (WAV out) and {"type":"audio"} (PCM in). Strict decoding, so
 * a bad client gets a clear error instead of noise.
 */
#ifndef VT_UTIL_BASE64_H
#define VT_UTIL_BASE64_H
#include <stddef.h>
#include <stdint.h>

/* Encoded length of n bytes, without the terminating NUL. */
size_t vt_base64_len(size_t n);
/* Writes vt_base64_len(n) characters and a NUL into out (cap bytes).
 * Returns the length, or -1 when cap is too small. */
long vt_base64_encode(const uint8_t *in, size_t n, char *out, size_t cap);
/* Decodes len characters (padding optional, whitespace not allowed).
 * Returns the number of bytes, or -1 on a bad character, bad length or
 * when cap is too small. */
long vt_base64_decode(const char *in, size_t len, uint8_t *out, size_t cap);
#endif
