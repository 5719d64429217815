/* Sample-rate conversion over speexdsp's resampler (see resample.h). */
#include "util/resample.h"
#include "voicetutor/core.h"
#include <speex/speex_resampler.h>
#include <stdlib.h>
#include <string.h>

struct vt_resampler {
    SpeexResamplerState *st;
    int in_rate, out_rate;
};

int vt_resampler_create(int in_rate, int out_rate, int quality, vt_resampler **out)
{
    if (!out || in_rate < 1000 || out_rate < 1000 || in_rate > 384000 || out_rate > 384000)
        return VT_EINVAL;
    if (quality < 0 || quality > 10)
        return VT_EINVAL;
    vt_resampler *r = calloc(1, sizeof *r);
    if (!r)
        return VT_ENOMEM;
    int e = 0;
    r->st = speex_resampler_init(1, (spx_uint32_t)in_rate, (spx_uint32_t)out_rate, quality, &e);
    if (!r->st) {
        free(r);
        return VT_ENOMEM;
    }
    speex_resampler_skip_zeros(r->st);
    r->in_rate = in_rate;
    r->out_rate = out_rate;
    *out = r;
    return 0;
}

void vt_resampler_destroy(vt_resampler *r)
{
    if (!r)
        return;
    speex_resampler_destroy(r->st);
    free(r);
}

size_t vt_resampler_out_len(const vt_resampler *r, size_t n)
{
    return (size_t)((uint64_t)n * (uint64_t)r->out_rate / (uint64_t)r->in_rate) + 16;
}

int vt_resampler_process(vt_resampler *r, const int16_t *in, size_t n,
                         int16_t *out, size_t cap, size_t *written)
{
    if (!r || (!in && n) || !out || !written)
        return VT_EINVAL;
    size_t done_in = 0, done_out = 0;
    while (done_in < n) {
        spx_uint32_t ilen = (spx_uint32_t)(n - done_in);
        spx_uint32_t olen = (spx_uint32_t)(cap - done_out);
        if (olen == 0)
            return VT_EFULL;
        speex_resampler_process_int(r->st, 0, in + done_in, &ilen, out + done_out, &olen);
        if (ilen == 0 && olen == 0)
            break;
        done_in += ilen;
        done_out += olen;
    }
    *written = done_out;
    return 0;
}

int vt_resample_buffer(const int16_t *in, size_t n, int in_rate, int out_rate,
                       int16_t **out, size_t *out_n)
{
    if ((!in && n) || !out || !out_n)
        return VT_EINVAL;
    if (in_rate == out_rate) {
        *out = malloc((n ? n : 1) * sizeof **out);
        if (!*out)
            return VT_ENOMEM;
        if (n)
            memcpy(*out, in, n * sizeof *in);
        *out_n = n;
        return 0;
    }
    vt_resampler *r = NULL;
    int rc = vt_resampler_create(in_rate, out_rate, 5, &r);
    if (rc)
        return rc;
    size_t cap = vt_resampler_out_len(r, n);
    /* flush the filter's delay with a few ms of silence */
    size_t pad = (size_t)in_rate / 50;
    cap += pad * (size_t)out_rate / (size_t)in_rate + 16;
    int16_t *buf = malloc(cap * sizeof *buf);
    int16_t *zeros = calloc(pad, sizeof *zeros);
    if (!buf || !zeros) {
        free(buf);
        free(zeros);
        vt_resampler_destroy(r);
        return VT_ENOMEM;
    }
    size_t w1 = 0, w2 = 0;
    rc = vt_resampler_process(r, in, n, buf, cap, &w1);
    if (!rc)
        rc = vt_resampler_process(r, zeros, pad, buf + w1, cap - w1, &w2);
    free(zeros);
    vt_resampler_destroy(r);
    if (rc) {
        free(buf);
        return rc;
    }
    size_t want = (size_t)((uint64_t)n * (uint64_t)out_rate / (uint64_t)in_rate);
    *out_n = w1 + w2 < want ? w1 + w2 : want;
    *out = buf;
    return 0;
}
