/*
 * What every TTS engine shares: the word-timing emitter (one report per
 * whitespace token, in the chunk that holds the word's end), the resampling
 * wrapper that delivers any engine at the session's output rate, whole-text
 * synthesis into a buffer and option helpers. The engines use these, so the
 * table of engines is elsewhere (registry.c): this file names no engine.
 *
 * The emitter lets each engine say what it knows when it knows it: flite
 * knows every segment time before the first sample, espeak-ng learns a
 * word's end only when the next word starts. A token the engine gave no time
 * for is interpolated between its neighbours, so no token is ever skipped.
 */
#include "engines/speech/speech.h"
#include "engines/speech/speech_internal.h"
#include "util/resample.h"
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- word emitter ------------------------------------------------------ */

int vt__words_init(vt__words *w, const char *text)
{
    memset(w, 0, sizeof *w);
    if (!text)
        text = "";
    size_t len = strlen(text);
    size_t cap = 0;
    for (size_t i = 0; i < len; i++)
        if (!isspace((unsigned char)text[i]) && (i == 0 || isspace((unsigned char)text[i - 1])))
            cap++;
    w->buf = malloc(len + 1);
    w->tok = calloc(cap ? cap : 1, sizeof *w->tok);
    w->scratch = calloc(cap ? cap : 1, sizeof *w->scratch);
    if (!w->buf || !w->tok || !w->scratch) {
        vt__words_free(w);
        return VT_ENOMEM;
    }
    memcpy(w->buf, text, len + 1);
    size_t chars = 0;
    for (size_t i = 0; i < len;) {
        unsigned char c = (unsigned char)w->buf[i];
        if (isspace(c)) {
            w->buf[i++] = '\0';
            chars++;
            continue;
        }
        vt__tok *t = &w->tok[w->n++];
        t->text = w->buf + i;
        t->byte_off = i;
        t->char_off = chars;
        while (i < len && !isspace((unsigned char)w->buf[i])) {
            if (((unsigned char)w->buf[i] & 0xC0) != 0x80)
                chars++;
            i++;
        }
        t->char_len = chars - t->char_off;
    }
    return 0;
}

void vt__words_free(vt__words *w)
{
    free(w->buf);
    free(w->tok);
    free(w->scratch);
    memset(w, 0, sizeof *w);
}

void vt__words_set_start(vt__words *w, size_t i, int64_t start)
{
    if (i >= w->n || w->tok[i].have_start)
        return;
    w->tok[i].start = start < 0 ? 0 : start;
    w->tok[i].have_start = 1;
}

void vt__words_set_end(vt__words *w, size_t i, int64_t end)
{
    if (i >= w->n)
        return;
    vt__tok *t = &w->tok[i];
    if (!t->have_start)
        vt__words_set_start(w, i, end);
    if (end < t->start)
        end = t->start;
    if (!t->have_end || end > t->end)
        t->end = end;
    t->have_end = 1;
}

size_t vt__words_at_char(const vt__words *w, size_t pos)
{
    for (size_t i = 0; i < w->n; i++)
        if (pos < w->tok[i].char_off + w->tok[i].char_len)
            return i;
    return w->n;
}

/* Spread tokens [from, to) evenly over [a, b]. */
static void interpolate(vt__words *w, size_t from, size_t to, int64_t a, int64_t b)
{
    if (b < a)
        b = a;
    size_t k = to - from;
    for (size_t i = 0; i < k; i++) {
        vt__tok *t = &w->tok[from + i];
        t->start = a + (b - a) * (int64_t)i / (int64_t)k;
        t->end = a + (b - a) * (int64_t)(i + 1) / (int64_t)k;
        t->have_start = t->have_end = 1;
    }
}

int vt__words_chunk(vt__words *w, const int16_t *pcm, size_t n, int last,
                    vt_tts_chunk_fn fn, void *ud)
{
    int64_t c0 = w->emitted, c1 = w->emitted + (int64_t)n;
    size_t nw = 0;
    while (w->next < w->n) {
        vt__tok *t = &w->tok[w->next];
        if (!t->have_start) {
            /* no time for this token: interpolate up to the next one that has */
            size_t k = w->next + 1;
            while (k < w->n && !w->tok[k].have_start)
                k++;
            if (k < w->n)
                interpolate(w, w->next, k, w->last_end, w->tok[k].start);
            else if (last)
                interpolate(w, w->next, w->n, w->last_end, c1);
            else
                break;
        }
        if (!t->have_end) {
            if (!last)
                break;
            vt__words_set_end(w, w->next, c1);
        }
        if (t->end > c1 && !last)
            break;
        int64_t s = t->start > w->last_end ? t->start : w->last_end;
        int64_t e = t->end > s ? t->end : s;
        if (e > c1)
            e = c1;
        if (s > e)
            s = e;
        w->last_end = e;
        vt_word *o = &w->scratch[nw++];
        o->text = t->text;
        o->start = (uint32_t)(s > c0 ? s - c0 : 0);
        o->end = (uint32_t)(e > c0 ? e - c0 : 0);
        w->next++;
    }
    w->emitted = c1;
    if (n == 0 && nw == 0)
        return 0;
    return fn(ud, pcm, n, nw ? w->scratch : NULL, nw) ? VT_ECANCELED : 0;
}

int vt__synth_init(vt__synth_job *j, const char *text, vt_tts_chunk_fn fn, void *ud,
                   const volatile int *abort)
{
    memset(j, 0, sizeof *j);
    if (!text || !fn)
        return VT_EINVAL;
    j->fn = fn;
    j->ud = ud;
    j->abort = abort;
    return vt__words_init(&j->words, text);
}

int vt__synth_start(vt__synth_job *j, const char *text, vt_tts_chunk_fn fn, void *ud,
                    const volatile int *abort)
{
    int rc = vt__synth_init(j, text, fn, ud, abort);
    if (rc)
        return rc;
    if (j->words.n == 0)
        rc = 1;
    else if (abort && *abort)
        rc = VT_ECANCELED;
    if (rc)
        vt__words_free(&j->words);
    return rc;
}

/* ---- resampling wrapper ----------------------------------------------- */

typedef struct resample_job {
    vt__synth_job s;         /* the tokens, with times at out_rate */
    size_t received;         /* words the engine has reported so far */
    int64_t in_total;        /* engine samples seen */
    int in_rate, out_rate;
    vt_resampler *rs;
    int16_t *held;           /* last output chunk, delivered one step late */
    size_t held_n, held_cap;
    int16_t *tmp;
    size_t tmp_cap;
    int stopped;
} resample_job;

static int64_t scale(const resample_job *j, int64_t in_samples)
{
    return in_samples * j->out_rate / j->in_rate;
}

static int ensure(int16_t **buf, size_t *cap, size_t need)
{
    if (need <= *cap)
        return 0;
    size_t c = *cap ? *cap : 1024;
    while (c < need)
        c *= 2;
    int16_t *p = realloc(*buf, c * sizeof *p);
    if (!p)
        return VT_ENOMEM;
    *buf = p;
    *cap = c;
    return 0;
}

static int deliver_held(resample_job *j, int last)
{
    if (j->s.abort && *j->s.abort)
        return VT_ECANCELED;
    int rc = vt__words_chunk(&j->s.words, j->held, j->held_n, last, j->s.fn, j->s.ud);
    j->held_n = 0;
    return rc;
}

static int on_engine_chunk(void *ud, const int16_t *pcm, size_t n, const vt_word *words,
                           size_t n_words)
{
    resample_job *j = ud;
    if (j->stopped || (j->s.abort && *j->s.abort))
        return 1;
    for (size_t i = 0; i < n_words && j->received < j->s.words.n; i++, j->received++) {
        vt__words_set_start(&j->s.words, j->received, scale(j, j->in_total + words[i].start));
        vt__words_set_end(&j->s.words, j->received, scale(j, j->in_total + words[i].end));
    }
    j->in_total += (int64_t)n;
    size_t cap_needed = (size_t)scale(j, (int64_t)n) + 64;
    size_t wrote = 0;
    if (ensure(&j->tmp, &j->tmp_cap, cap_needed) ||
        vt_resampler_process(j->rs, pcm, n, j->tmp, j->tmp_cap, &wrote)) {
        j->stopped = VT_ENOMEM;
        return 1;
    }
    /* The words just learned may end inside the held chunk: deliver it now,
     * then hold the new audio until the engine's next chunk (or its end). */
    if (j->held_n) {
        int rc = deliver_held(j, 0);
        if (rc) {
            j->stopped = rc;
            return 1;
        }
    }
    if (ensure(&j->held, &j->held_cap, wrote)) {
        j->stopped = VT_ENOMEM;
        return 1;
    }
    memcpy(j->held, j->tmp, wrote * sizeof *j->tmp);
    j->held_n = wrote;
    return 0;
}

int vt_tts_synth_at(const vt_tts_ops *ops, void *ctx, int out_rate, const char *text,
                    vt_tts_chunk_fn on_chunk, void *ud, const volatile int *abort)
{
    if (!ops || !on_chunk || !text || out_rate < 8000 || out_rate > 48000)
        return VT_EINVAL;
    int in_rate = ops->sample_rate(ctx);
    if (in_rate <= 0)
        return VT_EINVAL;
    if (in_rate == out_rate)
        return ops->synth(ctx, text, on_chunk, ud, abort);

    resample_job j;
    memset(&j, 0, sizeof j);
    int rc = vt__synth_init(&j.s, text, on_chunk, ud, abort);
    if (rc)
        return rc;
    j.in_rate = in_rate;
    j.out_rate = out_rate;
    rc = vt_resampler_create(in_rate, out_rate, 4, &j.rs);
    if (rc)
        goto out;
    rc = ops->synth(ctx, text, on_engine_chunk, &j, abort);
    if (j.stopped) {
        rc = j.stopped < 0 ? j.stopped : VT_ECANCELED;
        goto out;
    }
    if (rc)
        goto out;
    if (abort && *abort) {
        rc = VT_ECANCELED;
        goto out;
    }
    /* Flush the filter's tail with 20 ms of silence, keep exactly the
     * rescaled length, and deliver the last chunk with every word left. */
    int16_t zeros[1024];
    memset(zeros, 0, sizeof zeros);
    size_t pad = (size_t)in_rate / 50;
    if (pad > sizeof zeros / sizeof zeros[0])
        pad = sizeof zeros / sizeof zeros[0];
    size_t wrote = 0;
    if (ensure(&j.tmp, &j.tmp_cap, (size_t)scale(&j, (int64_t)pad) + 64) ||
        vt_resampler_process(j.rs, zeros, pad, j.tmp, j.tmp_cap, &wrote)) {
        rc = VT_ENOMEM;
        goto out;
    }
    int64_t want = scale(&j, j.in_total);
    int64_t have = j.s.words.emitted + (int64_t)j.held_n;
    if (have + (int64_t)wrote > want)
        wrote = want > have ? (size_t)(want - have) : 0;
    if (ensure(&j.held, &j.held_cap, j.held_n + wrote + 1)) {
        rc = VT_ENOMEM;
        goto out;
    }
    memcpy(j.held + j.held_n, j.tmp, wrote * sizeof *j.tmp);
    j.held_n += wrote;
    if (j.received == 0 && j.s.words.n) {
        /* an engine without word timings (the remote voices): no words, so
         * the core spreads them over the phrase's audio itself */
        rc = j.held_n && j.s.fn(j.s.ud, j.held, j.held_n, NULL, 0) ? VT_ECANCELED : 0;
        goto out;
    }
    rc = deliver_held(&j, 1);
out:
    vt_resampler_destroy(j.rs);
    free(j.held);
    free(j.tmp);
    vt__words_free(&j.s.words);
    return rc;
}

typedef struct buffer_job {
    int16_t *pcm;
    size_t n, cap;
    int failed;
} buffer_job;

static int on_buffer_chunk(void *ud, const int16_t *pcm, size_t n, const vt_word *words,
                           size_t n_words)
{
    buffer_job *b = ud;
    if (ensure(&b->pcm, &b->cap, b->n + n + 1)) {
        b->failed = 1;
        return 1;
    }
    memcpy(b->pcm + b->n, pcm, n * sizeof *pcm);
    b->n += n;
    return 0;
}

int vt_tts_synth_buffer(const vt_tts_ops *ops, void *ctx, int out_rate, const char *text,
                        int16_t **pcm, size_t *n, const volatile int *abort)
{
    if (!pcm || !n)
        return VT_EINVAL;
    *pcm = NULL;
    *n = 0;
    buffer_job b;
    memset(&b, 0, sizeof b);
    int rc = vt_tts_synth_at(ops, ctx, out_rate, text, on_buffer_chunk, &b, abort);
    if (b.failed)
        rc = VT_ENOMEM;
    if (rc) {
        free(b.pcm);
        return rc;
    }
    if (!b.pcm && ensure(&b.pcm, &b.cap, 1))
        return VT_ENOMEM;
    *pcm = b.pcm;
    *n = b.n;
    return 0;
}

void *vt__ctx_new(const void *model, size_t size, const char *who, int *rc, char *err,
                  size_t errlen)
{
    void *c = NULL;
    *rc = 0;
    if (!model) {
        snprintf(err, errlen, "%s: no model (load it first)", who);
        *rc = VT_EINVAL;
    } else if (!(c = calloc(1, size))) {
        snprintf(err, errlen, "%s: out of memory", who);
        *rc = VT_ENOMEM;
    }
    return c;
}

/* ---- options ----------------------------------------------------------- */

int vt__opt_int(const vt_opt *opts, size_t n, const char *key, int def, int lo, int hi,
                int *out, char *err, size_t errlen)
{
    const char *v = vt_opt_get(opts, n, key, NULL);
    if (!v) {
        *out = def;
        return 0;
    }
    char *end = NULL;
    long x = strtol(v, &end, 10);
    if (!*v || *end || x < lo || x > hi) {
        snprintf(err, errlen, "option %s=%s: want an integer in %d..%d", key, v, lo, hi);
        return VT_EINVAL;
    }
    *out = (int)x;
    return 0;
}

int vt__opt_double(const vt_opt *opts, size_t n, const char *key, double def, double lo,
                   double hi, double *out, char *err, size_t errlen)
{
    const char *v = vt_opt_get(opts, n, key, NULL);
    if (!v) {
        *out = def;
        return 0;
    }
    char *end = NULL;
    double x = strtod(v, &end);
    if (!*v || *end || !(x >= lo && x <= hi)) {
        snprintf(err, errlen, "option %s=%s: want a number in %g..%g", key, v, lo, hi);
        return VT_EINVAL;
    }
    *out = x;
    return 0;
}
