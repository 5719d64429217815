/*
 * Scripted fakes of the three speech engine kinds, for the core's tests and
 * the simulator: deterministic, instant, no models. Each can be told to fail
 * at a chosen call (option "fail") so error paths can be tested too.
 *
 * They have the real engines' shape: load() parses the options into a model
 * that is read-only afterwards (the script every session of it follows) and
 * create(model, ...) copies it into one session's state; the options given
 * to create are not read ("fail" = "load" fails the load, "create" each
 * create).
 *
 *   stt:  the final text comes from option "text"; words get word_ms each.
 *   kws:  reports a hit once "after" samples have been fed since reset.
 *   tts:  a 440 Hz tone per word (length follows the word) with 40 ms of
 *         silence after it, streamed in chunk_ms chunks with word timings
 *         through the same emitter the real engines use.
 */
#include "engines/speech/speech.h"
#include "engines/speech/speech_internal.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fails(const vt_opt *opts, size_t n, const char *call)
{
    const char *f = vt_opt_get(opts, n, "fail", NULL);
    return f && strcmp(f, call) == 0;
}

/* The start of a fake's create: the model check, fail=create, a zeroed ctx. */
static void *fake_ctx(const void *model, int fail_create, size_t size, const char *who, int *rc,
                      char *err, size_t errlen)
{
    if (model && fail_create) {
        snprintf(err, errlen, "%s: failing on purpose (fail=create)", who);
        *rc = VT_EIO;
        return NULL;
    }
    return vt__ctx_new(model, size, who, rc, err, errlen);
}

/* ---- speech-to-text ---------------------------------------------------- */

typedef struct fake_stt {
    char text[1024];
    char partial[1024];
    int word_ms;
    char fail[16];
    int in_utt;
    uint64_t fed;
} fake_stt;

static int fstt_load(const vt_opt *opts, size_t n, void **out, char *err, size_t errlen)
{
    if (fails(opts, n, "load")) {
        snprintf(err, errlen, "fake stt: failing on purpose (fail=load)");
        return VT_EIO;
    }
    fake_stt *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "fake stt: out of memory");
        return VT_ENOMEM;
    }
    int rc = vt__opt_int(opts, n, "word_ms", 300, 1, 10000, &s->word_ms, err, errlen);
    if (rc) {
        free(s);
        return rc;
    }
    snprintf(s->text, sizeof s->text, "%s", vt_opt_get(opts, n, "text", "hello"));
    snprintf(s->fail, sizeof s->fail, "%s", vt_opt_get(opts, n, "fail", ""));
    const char *p = vt_opt_get(opts, n, "partial", NULL);
    if (p) {
        snprintf(s->partial, sizeof s->partial, "%s", p);
    } else { /* the first half of the words */
        size_t words = 0, len = strlen(s->text);
        for (size_t i = 0; i < len; i++)
            words += s->text[i] != ' ' && (i == 0 || s->text[i - 1] == ' ');
        size_t keep = (words + 1) / 2, seen = 0, i = 0;
        for (; i < len; i++) {
            if (s->text[i] != ' ' && (i == 0 || s->text[i - 1] == ' ') && seen++ == keep)
                break;
        }
        while (i > 0 && s->text[i - 1] == ' ')
            i--;
        snprintf(s->partial, sizeof s->partial, "%.*s", (int)i, s->text);
    }
    *out = s;
    return 0;
}

static int fstt_create(void *model, const vt_opt *opts, size_t n, void **out, char *err,
                       size_t errlen)
{
    const fake_stt *m = model;
    int rc;
    fake_stt *s = fake_ctx(m, m && strcmp(m->fail, "create") == 0, sizeof *s, "fake stt", &rc,
                           err, errlen);
    if (!s)
        return rc;
    *s = *m;
    *out = s;
    return 0;
}

static void fstt_destroy(void *ctx)
{
    free(ctx);
}

static int fstt_begin(void *ctx)
{
    fake_stt *s = ctx;
    if (strcmp(s->fail, "begin") == 0)
        return VT_EIO;
    s->in_utt = 1;
    s->fed = 0;
    return 0;
}

static int fstt_feed(void *ctx, const int16_t *pcm, size_t n)
{
    fake_stt *s = ctx;
    if (strcmp(s->fail, "feed") == 0)
        return VT_EIO;
    if (!s->in_utt)
        return VT_ESTATE;
    s->fed += n;
    return 0;
}

static int fstt_partial(void *ctx, char *buf, size_t cap)
{
    fake_stt *s = ctx;
    if (!buf || !cap)
        return VT_EINVAL;
    snprintf(buf, cap, "%s", s->in_utt && s->fed ? s->partial : "");
    return (int)strlen(buf);
}

static int fstt_end(void *ctx, vt_stt_result *out)
{
    fake_stt *s = ctx;
    memset(out, 0, sizeof *out);
    if (strcmp(s->fail, "end") == 0)
        return VT_EIO;
    if (!s->in_utt)
        return VT_ESTATE;
    s->in_utt = 0;
    snprintf(out->text, sizeof out->text, "%s", s->text);
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s", s->text);
    uint32_t at = 0;
    for (char *save = NULL, *w = strtok_r(tmp, " ", &save);
         w && out->n_words < sizeof out->words / sizeof out->words[0];
         w = strtok_r(NULL, " ", &save)) {
        vt_stt_word *o = &out->words[out->n_words++];
        snprintf(o->text, sizeof o->text, "%s", w);
        o->start_ms = at;
        o->end_ms = at + (uint32_t)s->word_ms;
        at = o->end_ms;
    }
    return 0;
}

const vt_stt_ops vt_stt_fake = {
    .name = "fake",
    .load = fstt_load,
    .unload = fstt_destroy,
    .create = fstt_create,
    .destroy = fstt_destroy,
    .begin = fstt_begin,
    .feed = fstt_feed,
    .partial = fstt_partial,
    .end = fstt_end,
};

/* ---- keyword spotting -------------------------------------------------- */

typedef struct fake_kws_model {
    char word[32];           /* "" : the first keyword of each ctx */
    int after;
    int fail_create;
} fake_kws_model;

typedef struct fake_kws {
    char word[32];
    int after;
    uint64_t fed;
    int fired;
} fake_kws;

static int fkws_load(const vt_opt *opts, size_t n, void **out, char *err, size_t errlen)
{
    if (fails(opts, n, "load")) {
        snprintf(err, errlen, "fake kws: failing on purpose (fail=load)");
        return VT_EIO;
    }
    fake_kws_model *m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(err, errlen, "fake kws: out of memory");
        return VT_ENOMEM;
    }
    int rc = vt__opt_int(opts, n, "after", 8000, 0, 1 << 30, &m->after, err, errlen);
    if (rc) {
        free(m);
        return rc;
    }
    snprintf(m->word, sizeof m->word, "%s", vt_opt_get(opts, n, "word", ""));
    m->fail_create = fails(opts, n, "create");
    *out = m;
    return 0;
}

static int fkws_create(void *model, const vt_opt *opts, size_t n, const vt_keyword *kw,
                       size_t n_kw, void **out, char *err, size_t errlen)
{
    const fake_kws_model *m = model;
    int rc;
    fake_kws *k = fake_ctx(m, m && m->fail_create, sizeof *k, "fake kws", &rc, err, errlen);
    if (!k)
        return rc;
    k->after = m->after;
    const char *w = m->word[0] ? m->word : n_kw && kw && kw[0].word ? kw[0].word : "stop";
    snprintf(k->word, sizeof k->word, "%s", w);
    *out = k;
    return 0;
}

static void fkws_destroy(void *ctx)
{
    free(ctx);
}

static int fkws_reset(void *ctx)
{
    fake_kws *k = ctx;
    k->fed = 0;
    k->fired = 0;
    return 0;
}

static int fkws_feed(void *ctx, const int16_t *pcm, size_t n, vt_kws_hit *hit)
{
    fake_kws *k = ctx;
    uint64_t before = k->fed;
    k->fed += n;
    if (k->fired || k->after <= 0 || k->fed < (uint64_t)k->after)
        return 0;
    k->fired = 1;
    if (hit) {
        snprintf(hit->word, sizeof hit->word, "%s", k->word);
        hit->at_sample = before < (uint64_t)k->after ? (uint64_t)k->after : before;
    }
    return 1;
}

const vt_kws_ops vt_kws_fake = {
    .name = "fake",
    .load = fkws_load,
    .unload = fkws_destroy,
    .create = fkws_create,
    .destroy = fkws_destroy,
    .reset = fkws_reset,
    .feed = fkws_feed,
};

/* ---- text-to-speech ---------------------------------------------------- */

typedef struct fake_tts {
    int rate, chunk_ms, word_ms, fail_after;
    int fail_synth, fail_create;
} fake_tts;

static int ftts_load(const vt_opt *opts, size_t n, void **out, char *err, size_t errlen)
{
    if (fails(opts, n, "load")) {
        snprintf(err, errlen, "fake tts: failing on purpose (fail=load)");
        return VT_EIO;
    }
    fake_tts *t = calloc(1, sizeof *t);
    if (!t) {
        snprintf(err, errlen, "fake tts: out of memory");
        return VT_ENOMEM;
    }
    int rc = vt__opt_int(opts, n, "rate", 16000, 8000, 48000, &t->rate, err, errlen);
    if (!rc)
        rc = vt__opt_int(opts, n, "chunk_ms", 20, 1, 1000, &t->chunk_ms, err, errlen);
    if (!rc)
        rc = vt__opt_int(opts, n, "word_ms", 40, 1, 1000, &t->word_ms, err, errlen);
    if (!rc)
        rc = vt__opt_int(opts, n, "fail_after", -1, -1, 1 << 30, &t->fail_after, err, errlen);
    if (rc) {
        free(t);
        return rc;
    }
    t->fail_synth = fails(opts, n, "synth");
    t->fail_create = fails(opts, n, "create");
    *out = t;
    return 0;
}

static int ftts_create(void *model, const vt_opt *opts, size_t n, void **out, char *err,
                       size_t errlen)
{
    const fake_tts *m = model;
    int rc;
    fake_tts *t = fake_ctx(m, m && m->fail_create, sizeof *t, "fake tts", &rc, err, errlen);
    if (!t)
        return rc;
    *t = *m;
    *out = t;
    return 0;
}

static void ftts_destroy(void *ctx)
{
    free(ctx);
}

static int ftts_rate(void *ctx)
{
    return ((fake_tts *)ctx)->rate;
}

static int ftts_synth(void *ctx, const char *text, vt_tts_chunk_fn on_chunk, void *ud,
                      const volatile int *abort)
{
    fake_tts *t = ctx;
    if (!t || !text || !on_chunk)
        return VT_EINVAL;
    if (t->fail_synth)
        return VT_EIO;
    vt__words w;
    int rc = vt__words_init(&w, text);
    if (rc)
        return rc;
    int16_t *pcm = NULL;
    int64_t total = 0, gap = t->rate / 25; /* 40 ms */
    for (size_t i = 0; i < w.n; i++) {
        int64_t len = (int64_t)t->rate * (80 + t->word_ms * (int64_t)w.tok[i].char_len) / 1000;
        vt__words_set_start(&w, i, total);
        vt__words_set_end(&w, i, total + len);
        total += len + gap;
    }
    if (w.n == 0)
        goto out;
    pcm = malloc((size_t)total * sizeof *pcm);
    if (!pcm) {
        rc = VT_ENOMEM;
        goto out;
    }
    for (int64_t s = 0; s < total; s++)
        pcm[s] = 0;
    for (size_t i = 0; i < w.n; i++)
        for (int64_t s = w.tok[i].start; s < w.tok[i].end; s++)
            pcm[s] = (int16_t)(6000.0 * sin(2.0 * 3.14159265358979 * 440.0 * (double)s / t->rate));
    size_t chunk = (size_t)t->rate * (size_t)t->chunk_ms / 1000;
    int delivered = 0;
    for (int64_t off = 0; off < total; off += (int64_t)chunk) {
        if (abort && *abort) {
            rc = VT_ECANCELED;
            goto out;
        }
        if (t->fail_after >= 0 && delivered >= t->fail_after) {
            rc = VT_EIO;
            goto out;
        }
        size_t m = (size_t)(total - off) < chunk ? (size_t)(total - off) : chunk;
        rc = vt__words_chunk(&w, pcm + off, m, off + (int64_t)m >= total, on_chunk, ud);
        if (rc)
            goto out;
        delivered++;
    }
out:
    free(pcm);
    vt__words_free(&w);
    return rc;
}

const vt_tts_ops vt_tts_fake = {
    .name = "fake",
    .load = ftts_load,
    .unload = ftts_destroy,
    .create = ftts_create,
    .destroy = ftts_destroy,
    .sample_rate = ftts_rate,
    .synth = ftts_synth,
};
