/*
 * The echo canceller (see aec.h): speexdsp's adaptive filter, then an echo
 * gate, optionally speex's preprocessor in between.
 *
 * Why the gate: measured on the tutor's own voice through a simulated room
 * (bench_echo), speex's filter removes 20-25 dB of echo once it has
 * converged, but it needs about a second and a half of the tutor's speech
 * to get there, and during that time the microphone keeps nearly all of
 * the echo — enough for the session to hear "speech" and interrupt its own
 * first answer. What it leaves afterwards is quiet but not silent, and
 * pocketsphinx's keyword spotter hears commands ("pause", "hold on") in
 * those fragments of residual echo: measured, more false alarms after the
 * filter than on the raw echo. The gate is a Geigel-style echo suppressor
 * with learned levels: it knows how loud the echo can be (the loudest
 * recent speaker frame times the coupling from speaker to microphone, a
 * high percentile tracked over frames where the speaker played) and how
 * much the filter removes now (its ERLE, learnt mostly from frames taken
 * for echo alone, so the person talking over the tutor hardly moves it); a
 * frame quieter than that bound after the filter can only be echo and is
 * replaced by silence. Until the filter first removes 12 dB (and again if
 * it falls under 6 dB: a changed room), a frame whose microphone signal is
 * no louder than the echo could be is taken for echo as well (Geigel's
 * double-talk test; speex's output is then no guide: while it learns it
 * can even exceed its input): the person has to be louder than the
 * tutor's echo to get through, for that second or two. Afterwards the
 * person's "stop" over the tutor passes at full level: it is louder than
 * what the filter leaves; the 100 ms after it pass too (the end of the
 * word, quieter, with the echo under it). Only frames taken for echo teach
 * the gate, so the person talking over the tutor cannot talk it into
 * gating them.
 *
 * Why speex's preprocessor is off by default: its residual echo
 * suppression works through its denoiser, whose musical noise the keyword
 * spotter also hears as "pause"; with the gate it adds nothing measurable
 * against self-interruption and costs false keyword hits (bench_echo).
 */
#include "transport/console/aec.h"
#include "voicetutor/core.h"
#include <math.h>
#include <speex/speex_echo.h>
#include <speex/speex_preprocess.h>
#include <stdlib.h>
#include <string.h>

#define FAR_MIN_POWER (100.0 * 100.0)  /* a speaker frame under -50 dBFS is silence */
#define HIST_MAX 128                   /* frames of speaker history for the gate */
#define LEARNING_ERLE_DB 12.0          /* below: the filter is still learning the room */
#define HOLD_FRAMES 5                  /* after the person's voice, pass 100 ms more */

struct vt_aec {
    vt_aec_config cfg;
    SpeexEchoState *echo;
    SpeexPreprocessState *pre;
    int16_t *tmp;             /* speex_echo_cancellation's output must not alias */
    /* the gate */
    double hist[HIST_MAX];    /* speaker frame powers, newest at hist_pos - 1 */
    int hist_n, hist_pos, hist_len;
    double coupling_db;       /* echo power at the mic over the loudest recent speaker frame */
    double erle_db;           /* what the filter removes now (smoothed, dB) */
    int learning;             /* the filter has not converged yet (or lost the room) */
    int hold;                 /* frames the person's voice is still let through */
    uint64_t gated;
};

void vt_aec_config_default(vt_aec_config *c)
{
    c->rate = 16000;
    c->frame = 320;
    c->filter_ms = 256;
    c->residual = 0;
    c->gate = 1;
    c->echo_suppress_db = -40;
    c->echo_suppress_active_db = -15;
    c->noise_suppress_db = -15;
}

static int setup(vt_aec *a)
{
    const vt_aec_config *c = &a->cfg;
    int tail = c->rate / 1000 * c->filter_ms;
    a->echo = speex_echo_state_init(c->frame, tail);
    if (!a->echo)
        return VT_ENOMEM;
    int rate = c->rate;
    speex_echo_ctl(a->echo, SPEEX_ECHO_SET_SAMPLING_RATE, &rate);
    /* the gate starts cautious: an echo as loud as the speaker, nothing removed */
    a->coupling_db = 0;
    a->erle_db = 0;
    a->learning = 1;
    a->hold = 0;
    a->hist_n = a->hist_pos = 0;

    a->hist_len = (int)((long)c->filter_ms * c->rate / 1000 / c->frame) + 2;
    if (a->hist_len > HIST_MAX)
        a->hist_len = HIST_MAX;
    if (!c->residual)
        return 0;
    a->pre = speex_preprocess_state_init(c->frame, c->rate);
    if (!a->pre)
        return VT_ENOMEM;
    int on = 1, off = 0, v;
    speex_preprocess_ctl(a->pre, SPEEX_PREPROCESS_SET_ECHO_STATE, a->echo);
    /* the residual echo suppression is part of the denoiser's spectral gain */
    speex_preprocess_ctl(a->pre, SPEEX_PREPROCESS_SET_DENOISE, &on);
    speex_preprocess_ctl(a->pre, SPEEX_PREPROCESS_SET_AGC, &off);
    speex_preprocess_ctl(a->pre, SPEEX_PREPROCESS_SET_DEREVERB, &off);
    v = c->noise_suppress_db;
    speex_preprocess_ctl(a->pre, SPEEX_PREPROCESS_SET_NOISE_SUPPRESS, &v);
    v = c->echo_suppress_db;
    speex_preprocess_ctl(a->pre, SPEEX_PREPROCESS_SET_ECHO_SUPPRESS, &v);
    v = c->echo_suppress_active_db;
    speex_preprocess_ctl(a->pre, SPEEX_PREPROCESS_SET_ECHO_SUPPRESS_ACTIVE, &v);
    return 0;
}

static void teardown(vt_aec *a)
{
    if (a->pre)
        speex_preprocess_state_destroy(a->pre);
    if (a->echo)
        speex_echo_state_destroy(a->echo);
    a->pre = NULL;
    a->echo = NULL;
}

int vt_aec_create(const vt_aec_config *c, vt_aec **out)
{
    if (!c || !out || c->rate < 8000 || c->rate > 48000 || c->frame < 64 || c->frame > 4096 ||
        c->filter_ms < 10 || c->filter_ms > 1000)
        return VT_EINVAL;
    vt_aec *a = calloc(1, sizeof *a);
    if (!a)
        return VT_ENOMEM;
    a->cfg = *c;
    a->tmp = calloc((size_t)c->frame, sizeof *a->tmp);
    int rc = a->tmp ? setup(a) : VT_ENOMEM;
    if (rc) {
        teardown(a);
        free(a->tmp);
        free(a);
        return rc;
    }
    *out = a;
    return 0;
}

void vt_aec_destroy(vt_aec *a)
{
    if (!a)
        return;
    teardown(a);
    free(a->tmp);
    free(a);
}

static double power(const int16_t *x, size_t n)
{
    double e = 0;
    for (size_t i = 0; i < n; i++)
        e += (double)x[i] * x[i];
    return e / (double)n;
}

static double db(double ratio)
{
    return 10.0 * log10(ratio);
}

/* The echo gate (see the top of this file). Runs after the filter. */
static void gate(vt_aec *a, const int16_t *mic, const int16_t *ref, int16_t *out)
{
    size_t n = (size_t)a->cfg.frame;
    double p_ref = power(ref, n), p_mic = power(mic, n), p_out = power(out, n);
    a->hist[a->hist_pos] = p_ref;
    a->hist_pos = (a->hist_pos + 1) % a->hist_len;
    if (a->hist_n < a->hist_len)
        a->hist_n++;
    double loudest = 0;
    for (int i = 0; i < a->hist_n; i++)
        if (a->hist[i] > loudest)
            loudest = a->hist[i];
    if (loudest < FAR_MIN_POWER)
        return; /* the speaker has been quiet for a filter length: no echo to fear */

    /* the loudest the echo can be at the microphone, +3 dB of margin, and
     * after the filter; while the filter is still learning the room, a
     * microphone no louder than the echo can be is echo too, however badly
     * the filter did on it (Geigel's double-talk test) */
    double raw_bound_db = db(loudest) + a->coupling_db + 3.0;
    double bound_db = raw_bound_db - a->erle_db;
    double now_db = db((p_mic + 1.0) / (p_out + 1.0)); /* what the filter removed here */
    int echo_only = db(p_out + 1.0) < bound_db ||
                    (a->learning && db(p_mic + 1.0) < raw_bound_db);
    if (!echo_only && db(p_out + 1.0) >= bound_db + 6.0) {
        a->hold = HOLD_FRAMES; /* clearly a voice, not a residual just over the bound */
    } else if (echo_only && a->hold > 0) {
        /* the tail of the person's word (quieter than its start, and with
         * the echo under it): let it through, learn nothing from it */
        a->hold--;
        return;
    }

    /* learn from frames taken for echo alone, so that the person talking
     * over the tutor does not teach the gate that the echo is louder or
     * the filter worse than they are. The coupling is the 90th percentile
     * of mic / loudest speaker power (a quantile tracker: up 1.8 dB or down
     * 0.2 dB a frame, 2.5 times that while the filter learns, from 0 dB:
     * louder than any room but a speaker pressed to the microphone), learnt
     * while the filter learns and then only from
     * frames where the filter removed about as much as usual (a quiet start
     * of a word over the echo is not echo). The ERLE, in dB, moves 10 % of
     * the way a frame on echo alone, 1 % on other frames with sound (a
     * changed room is relearnt within seconds). */
    if (echo_only && (a->learning || now_db >= a->erle_db - 3.0)) {
        double r = db((p_mic + 1.0) / loudest), k = a->learning ? 2.5 : 1.0;
        a->coupling_db += r > a->coupling_db ? 1.8 * k : -0.2 * k;
        if (a->coupling_db > 20)
            a->coupling_db = 20;
        if (a->coupling_db < -60)
            a->coupling_db = -60;
    }
    if (p_mic >= FAR_MIN_POWER) {
        a->erle_db += (echo_only ? 0.1 : 0.01) * (now_db - a->erle_db);
        if (a->erle_db < 0)
            a->erle_db = 0;
    }
    /* learning until the filter removes 12 dB; again below 6 dB */
    if (a->erle_db >= LEARNING_ERLE_DB)
        a->learning = 0;
    else if (a->erle_db < LEARNING_ERLE_DB / 2)
        a->learning = 1;
    if (echo_only) {
        /* silence, not an attenuated residual: pocketsphinx's keyword
         * spotter hears "pause" and "hold on" in fragments of residual echo
         * (an experiment while building this, the tutor's voice through 4
         * rooms, 120 runs: 176 false alarms with such frames attenuated by
         * 30 dB, none with them silenced) */
        memset(out, 0, n * sizeof *out);
        a->gated++;
    }
}

void vt_aec_process(vt_aec *a, const int16_t *mic, const int16_t *ref, int16_t *out)
{
    size_t n = (size_t)a->cfg.frame;
    if (!a->echo) { /* a reset that could not allocate: pass through */
        memmove(out, mic, n * sizeof *out);
        return;
    }
    speex_echo_cancellation(a->echo, mic, ref, a->tmp);
    if (a->pre)
        speex_preprocess_run(a->pre, a->tmp);
    if (a->cfg.gate)
        gate(a, mic, ref, a->tmp);
    memcpy(out, a->tmp, n * sizeof *out);
}

void vt_aec_reset(vt_aec *a)
{
    /* re-create rather than speex_echo_state_reset: the preprocessor keeps
     * its own noise and echo estimates, which should go too */
    teardown(a);
    if (setup(a) != 0)
        teardown(a);
}

int vt_aec_frame(const vt_aec *a)
{
    return a->cfg.frame;
}

void vt_aec_get_state(const vt_aec *a, vt_aec_state *s)
{
    s->coupling_db = a->coupling_db;
    s->erle_db = a->erle_db;
    s->gated_frames = a->gated;
}

double vt_aec_erle_db(const int16_t *mic, const int16_t *out, size_t n)
{
    double em = 0, eo = 0;
    for (size_t i = 0; i < n; i++) {
        em += (double)mic[i] * mic[i];
        eo += (double)out[i] * out[i];
    }
    /* one unit of energy per sample keeps an all-zero output finite */
    return 10.0 * log10((em + (double)n) / (eo + (double)n));
}
