/*
 * Sample-rate conversion (speexdsp). A streaming resampler for engines whose
 * native rate differs from the session's, and a one-shot helper for files.
 */
#ifndef VT_UTIL_RESAMPLE_H
#define VT_UTIL_RESAMPLE_H
#include <stddef.h>
#include <stdint.h>

typedef struct vt_resampler vt_resampler;
/* quality 0..10 (speex); 4 is a good default for speech. */
int vt_resampler_create(int in_rate, int out_rate, int quality, vt_resampler **out);
void vt_resampler_destroy(vt_resampler *r);
/* Convert n input samples; writes at most cap samples and sets *written.
 * Needs cap >= n * out_rate / in_rate + 16. */
int vt_resampler_process(vt_resampler *r, const int16_t *in, size_t n,
                         int16_t *out, size_t cap, size_t *written);
/* Output samples for n input samples (upper bound). */
size_t vt_resampler_out_len(const vt_resampler *r, size_t n);
/* Whole buffer at once; *out is malloc'd. Same rates just copy. */
int vt_resample_buffer(const int16_t *in, size_t n, int in_rate, int out_rate,
                       int16_t **out, size_t *out_n);
#endif
