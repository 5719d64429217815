/* The simulated room (see room.h): a seeded impulse response applied by
 * direct convolution over a history ring of the speaker signal. */
#include "transport/console/room.h"
#include "voicetutor/core.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct vt_room {
    vt_room_config cfg;
    float *h;            /* taps, h[0] is the direct path */
    size_t n_taps, delay;
    float *hist;         /* speaker history, hist_cap (power of two) samples */
    size_t hist_cap, hist_pos;
    double noise_rms;
    uint64_t rng;
};

void vt_room_config_default(vt_room_config *c)
{
    c->rate = 16000;
    c->delay_ms = 60;
    c->gain_db = -10;
    c->rt60_ms = 50;
    c->noise_db = -60;
    c->seed = 1;
}

static uint64_t next_u64(uint64_t *s)
{
    /* splitmix64: tiny, seedable, good enough for noise */
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double uniform(uint64_t *s)
{
    return ((double)(next_u64(s) >> 11) + 0.5) / 9007199254740992.0;
}

static double gauss(uint64_t *s)
{
    double u = uniform(s), v = uniform(s);
    return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

int vt_room_parse(const char *spec, vt_room_config *c, char *err, size_t errlen)
{
    double v[4];
    int n = 0;
    const char *p = spec;
    for (;;) {
        char *end;
        if (!p || n == 4)
            goto bad;
        v[n] = strtod(p, &end);
        if (end == p || (*end && *end != ':'))
            goto bad;
        n++;
        if (!*end)
            break;
        p = end + 1; /* after a ':' another number must follow */
    }
    if (n < 2)
        goto bad;
    c->delay_ms = v[0];
    c->gain_db = v[1];
    if (n > 2)
        c->rt60_ms = v[2];
    if (n > 3)
        c->noise_db = v[3];
    if (c->delay_ms < 0 || c->delay_ms > 500 || c->gain_db < -60 || c->gain_db > 6 ||
        c->rt60_ms < 0 || c->rt60_ms > 500) {
        snprintf(err, errlen,
                 "--echo %s: out of range (delay 0..500 ms, gain -60..6 dB, rt60 0..500 ms)",
                 spec);
        return VT_EINVAL;
    }
    return 0;
bad:
    snprintf(err, errlen,
             "--echo wants DELAY_MS:GAIN_DB[:RT60_MS[:NOISE_DB]], e.g. 60:-10 (got '%s')",
             spec ? spec : "");
    return VT_EINVAL;
}

int vt_room_create(const vt_room_config *c, vt_room **out, char *err, size_t errlen)
{
    if (!c || !out || c->rate < 8000 || c->rate > 48000 || c->delay_ms < 0 ||
        c->delay_ms > 500 || c->rt60_ms < 0 || c->rt60_ms > 500 || c->gain_db > 6 ||
        c->gain_db < -60) {
        snprintf(err, errlen, "room: settings out of range");
        return VT_EINVAL;
    }
    vt_room *r = calloc(1, sizeof *r);
    if (!r)
        return VT_ENOMEM;
    r->cfg = *c;
    r->rng = (uint64_t)c->seed * 0x2545f4914f6cdd1dull + 1;
    r->delay = (size_t)llround(c->delay_ms * c->rate / 1000.0);
    size_t tail = (size_t)llround(c->rt60_ms * c->rate / 1000.0);
    r->n_taps = 1 + tail;
    r->h = calloc(r->n_taps, sizeof *r->h);
    r->hist_cap = 1;
    while (r->hist_cap < r->delay + r->n_taps + 1)
        r->hist_cap <<= 1;
    r->hist = calloc(r->hist_cap, sizeof *r->hist);
    if (!r->h || !r->hist) {
        vt_room_destroy(r);
        return VT_ENOMEM;
    }
    /* direct path 1, tail with the same total energy: amplitude decays by
     * 60 dB (a factor 1000) over the tail, exp(-k * ln(1000) / tail) */
    double energy = 1.0;
    r->h[0] = 1.0f;
    if (tail) {
        double decay = log(1000.0) / (double)tail, sum = 0;
        for (size_t k = 1; k <= tail; k++)
            sum += exp(-2.0 * decay * (double)k);
        double sd = sqrt(1.0 / sum);
        for (size_t k = 1; k <= tail; k++) {
            r->h[k] = (float)(gauss(&r->rng) * sd * exp(-decay * (double)k));
            energy += (double)r->h[k] * r->h[k];
        }
    }
    double scale = pow(10.0, c->gain_db / 20.0) / sqrt(energy);
    for (size_t k = 0; k < r->n_taps; k++)
        r->h[k] = (float)(r->h[k] * scale);
    r->noise_rms = c->noise_db <= -120 ? 0 : 32768.0 * pow(10.0, c->noise_db / 20.0);
    *out = r;
    return 0;
}

void vt_room_destroy(vt_room *r)
{
    if (!r)
        return;
    free(r->h);
    free(r->hist);
    free(r);
}

void vt_room_process(vt_room *r, const int16_t *speaker, const int16_t *near, int16_t *mic,
                     size_t n)
{
    size_t mask = r->hist_cap - 1;
    for (size_t i = 0; i < n; i++) {
        r->hist[r->hist_pos & mask] = speaker ? (float)speaker[i] : 0.0f;
        /* echo = sum_k h[k] * speaker[t - delay - k] */
        size_t t = r->hist_pos - r->delay; /* wraps modulo the mask on purpose */
        double acc = 0;
        for (size_t k = 0; k < r->n_taps; k++)
            acc += (double)r->h[k] * r->hist[(t - k) & mask];
        r->hist_pos++;
        if (r->noise_rms > 0)
            acc += gauss(&r->rng) * r->noise_rms;
        if (near)
            acc += near[i];
        long v = lrint(acc);
        mic[i] = (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : v);
    }
}

const float *vt_room_response(const vt_room *r, size_t *n_taps, size_t *delay)
{
    if (n_taps)
        *n_taps = r->n_taps;
    if (delay)
        *delay = r->delay;
    return r->h;
}
