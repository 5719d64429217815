/*
 * WAV files in and out (libsndfile). Reading mixes any channel count down to
 * mono and can resample to the rate the caller asks for, so every command
 * accepts whatever a user has. Errors name the file and what is wrong.
 */
#ifndef VT_UTIL_WAV_H
#define VT_UTIL_WAV_H
#include <stddef.h>
#include <stdint.h>

/* Longest file accepted (a guard against absurd inputs): one hour, and at
 * most this many samples over all channels (an hour of 16 kHz stereo). */
#define VT_WAV_MAX_SECONDS 3600
#define VT_WAV_MAX_SAMPLES ((long long)16000 * 3600 * 2)

/* Read a sound file as mono s16. rate_out 0 keeps the file's rate (written to
 * *rate); otherwise the audio is resampled to rate_out. *pcm is malloc'd. */
int vt_wav_read(const char *path, int rate_out, int16_t **pcm, size_t *n, int *rate,
                char *err, size_t errlen);
/* The same from a file's bytes in memory (a WAV upload); name is what
 * error messages call it. */
int vt_wav_read_mem(const void *data, size_t len, const char *name, int rate_out,
                    int16_t **pcm, size_t *n, int *rate, char *err, size_t errlen);
int vt_wav_write(const char *path, const int16_t *pcm, size_t n, int rate,
                 char *err, size_t errlen);
/* Encode mono s16 as an in-memory WAV (44-byte header). *out is malloc'd. */
int vt_wav_encode(const int16_t *pcm, size_t n, int rate, uint8_t **out, size_t *out_n);
#endif
