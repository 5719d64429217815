/*
 * The simulator's engines: scripted speech-to-text, keyword spotting,
 * synthesis and brain as real vt_stt_ops / vt_kws_ops / vt_tts_ops /
 * vt_brain_ops implementations (next to the speech library's fakes), and
 * the timing wrappers that give any engine — scripted or real — the cost
 * the scenario models, in virtual time (vt_vexec_spend). The live driver
 * runs them on its lanes exactly as it runs pocketsphinx and flite.
 *
 * The scripted recogniser and spotter are oracles: they know the
 * timeline's text. They locate the audio they are fed on the microphone
 * from the starts the simulator's observer saw (an utterance's first
 * pre-roll sample, a spotting run's first sample), then count what they
 * are fed, so what they hear does not depend on when the lane's job ran.
 */
#include "sim/sim_internal.h"
#include "engines/brain/brain_internal.h"
#include "engines/speech/speech.h"
#include "util/grow.h"
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NEVER_US ((int64_t)1 << 50) /* "the brain never answers": past any scenario */

/* ---- fifo ----------------------------------------------------------------- */

int vt__sim_fifo_push(vt__sim_fifo *f, int64_t v)
{
    if (f->head + f->n == f->cap && f->head) {
        memmove(f->v, f->v + f->head, f->n * sizeof *f->v);
        f->head = 0;
    }
    if (vt_grow((void **)&f->v, &f->cap, f->n + 1, sizeof *f->v) != 0)
        return VT_ENOMEM;
    f->v[f->head + f->n++] = v;
    return 0;
}

int64_t vt__sim_fifo_pop(vt__sim_fifo *f, int64_t def)
{
    if (!f->n)
        return def;
    f->n--;
    return f->v[f->head++];
}

void vt__sim_fifo_free(vt__sim_fifo *f)
{
    free(f->v);
    memset(f, 0, sizeof *f);
}

/* ---- what the person said ------------------------------------------------- */

/* Text of the timeline items overlapping [from, to]; consume them when final. */
/* Text of the timeline items overlapping [from, to]; consume them when final. */
static void utt_text(vt_sim *s, int64_t from, int64_t to, bool consume, bool partial, char *out,
                     size_t cap)
{
    size_t o = 0;
    out[0] = 0;
    for (size_t i = 0; i < s->n_items; i++) {
        vt__sim_item *u = &s->items[i];
        if (u->used || !u->text[0])
            continue;
        int64_t a = VT__US(u->at), b = VT__US(u->at + u->dur);
        if (!(a < to && b > from))
            continue;
        const char *t = u->text;
        size_t take = strlen(t);
        if (partial) {
            double frac = fmin(1.0, (double)(to - a) / (double)(b - a));
            size_t nw = 0, words = 0;
            for (const char *p = t; *p; p++)
                if (*p != ' ' && (p == t || p[-1] == ' '))
                    nw++;
            size_t want = (size_t)ceil(frac * (double)nw);
            take = 0;
            for (const char *p = t; *p; p++) {
                if (*p != ' ' && (p == t || p[-1] == ' '))
                    if (++words > want)
                        break;
                take = (size_t)(p - t) + 1;
            }
        }
        if (take == 0)
            continue;
        o += (size_t)snprintf(out + o, o < cap ? cap - o : 0, "%s%.*s", o ? " " : "", (int)take,
                              t);
        if (o >= cap)
            o = cap - 1;
        if (consume)
            u->used = true;
    }
}

static int64_t at_us(size_t sample)
{
    return (int64_t)sample * 1000000 / VT_IN_RATE;
}

/* ---- scripted speech-to-text ----------------------------------------------- */

typedef struct sim_stt {
    vt_sim *s;
    size_t start, fed;    /* microphone sample of the first audio; samples fed */
} sim_stt;

/* The simulator's engines are made by the simulator, for one run: neither
 * loaded nor created by name. */
static int made_here(char *err, size_t errlen)
{
    snprintf(err, errlen, "the simulator's engines are made by the simulator");
    return VT_EINVAL;
}

static int sim_load(const vt_opt *o, size_t n, void **model, char *err, size_t errlen)
{
    return made_here(err, errlen);
}

static void sim_unload(void *model) {}

static int stt_create(void *model, const vt_opt *o, size_t n, void **ctx, char *err,
                      size_t errlen)
{
    return made_here(err, errlen);
}

static void stt_destroy(void *ctx)
{
    free(ctx);
}

static int stt_begin(void *ctx)
{
    sim_stt *c = ctx;
    c->start = (size_t)vt__sim_fifo_pop(&c->s->utt_starts, 0);
    c->fed = 0;
    return 0;
}

static int stt_feed(void *ctx, const int16_t *pcm, size_t n)
{
    ((sim_stt *)ctx)->fed += n;
    return 0;
}

static int stt_partial(void *ctx, char *buf, size_t cap)
{
    sim_stt *c = ctx;
    utt_text(c->s, at_us(c->start), at_us(c->start + c->fed), false, true, buf, cap);
    return (int)strlen(buf);
}

static int stt_end(void *ctx, vt_stt_result *out)
{
    sim_stt *c = ctx;
    memset(out, 0, sizeof *out);
    utt_text(c->s, at_us(c->start), at_us(c->start + c->fed), true, false, out->text,
             sizeof out->text);
    return 0;
}

static const vt_stt_ops k_sim_stt = {"sim", sim_load, sim_unload, stt_create, stt_destroy,
                                     stt_begin, stt_feed, stt_partial, stt_end, NULL, NULL};

/* ---- scripted keyword spotting --------------------------------------------- */

int vt__sim_find_hits(vt_sim *s)
{
    for (size_t i = 0; i < s->n_items; i++) {
        vt__sim_item *u = &s->items[i];
        size_t len = strlen(u->text);
        if (!len)
            continue;
        for (int c = 0; c < s->cfg.n_commands; c++) {
            const char *cmd = s->cfg.commands[c];
            size_t cl = strlen(cmd);
            for (const char *p = u->text; (p = strstr(p, cmd)) != NULL; p += cl) {
                bool start_ok = p == u->text || p[-1] == ' ';
                bool end_ok = p[cl] == 0 || p[cl] == ' ' || p[cl] == ',' || p[cl] == '.';
                if (!start_ok || !end_ok)
                    continue;
                /* heard kws_delay_ms after the word ends, as the real spotter */
                double end = u->at + u->dur * (double)(p - u->text + (long)cl) / (double)len;
                vt__sim_hit *h = realloc(s->hits, (s->n_hits + 1) * sizeof *h);
                if (!h)
                    return VT_ENOMEM;
                s->hits = h;
                s->hits[s->n_hits++] = (vt__sim_hit){
                    (size_t)llround((end + s->kws_delay_ms / 1000.0) * VT_IN_RATE), cmd};
            }
        }
    }
    return 0;
}

typedef struct sim_kws {
    vt_sim *s;
    size_t pos;           /* microphone sample of the next audio fed */
} sim_kws;

static int kws_create(void *model, const vt_opt *o, size_t n, const vt_keyword *kw, size_t nkw,
                      void **ctx, char *err, size_t errlen)
{
    return made_here(err, errlen);
}

static int kws_reset(void *ctx)
{
    sim_kws *c = ctx;
    c->pos = (size_t)vt__sim_fifo_pop(&c->s->kws_starts, 0);
    return 0;
}

static int kws_feed(void *ctx, const int16_t *pcm, size_t n, vt_kws_hit *hit)
{
    sim_kws *c = ctx;
    size_t from = c->pos;
    c->pos += n;
    for (size_t i = 0; i < c->s->n_hits; i++)
        if (c->s->hits[i].at >= from && c->s->hits[i].at < c->pos) {
            snprintf(hit->word, sizeof hit->word, "%s", c->s->hits[i].word);
            hit->at_sample = c->s->hits[i].at;
            return 1;
        }
    return 0;
}

static const vt_kws_ops k_sim_kws = {"sim", sim_load, sim_unload, kws_create, stt_destroy,
                                     kws_reset, kws_feed, NULL};

/* ---- scripted synthesis ------------------------------------------------------ */

/* A tone whose length follows the characters, with a word timing per
 * whitespace token, in chunks of tts.chunk_ms. */
typedef struct sim_tts {
    vt_sim *s;
} sim_tts;

static int tts_create(void *model, const vt_opt *o, size_t n, void **ctx, char *err,
                      size_t errlen)
{
    return made_here(err, errlen);
}

static int tts_rate(void *ctx)
{
    return ((sim_tts *)ctx)->s->cfg.out_rate;
}

static int tts_synth(void *ctx, const char *text, vt_tts_chunk_fn on_chunk, void *ud,
                     const volatile int *abort)
{
    vt_sim *s = ((sim_tts *)ctx)->s;
    uint32_t id = (uint32_t)vt__sim_fifo_pop(&s->phrases, 0);
    if (s->tts_fail_phrase && (int)id == s->tts_fail_phrase)
        return VT_EIO;
    int rate = s->cfg.out_rate;
    size_t len = strlen(text);
    size_t total = (size_t)((double)len * s->tts_ms_per_char * rate / 1000.0);
    if (total < (size_t)rate / 5)
        total = (size_t)rate / 5;
    int16_t *pcm = calloc(total, sizeof *pcm);
    size_t cap = len / 2 + 2, nw = 0;
    vt_word *words = calloc(cap, sizeof *words);
    char *tok = strdup(text);
    int rc = VT_ENOMEM;
    if (!pcm || !words || !tok)
        goto out;
    vt__sim_gen_speech(pcm, total, rate, 0.3, 160, 900u + id);
    /* word offsets by character position (absolute, cut per chunk below) */
    for (char *p = tok; *p && nw < cap;) {
        while (*p == ' ')
            *p++ = 0;
        if (!*p)
            break;
        char *e = p;
        while (*e && *e != ' ')
            e++;
        words[nw++] = (vt_word){
            .text = p,
            .start = (uint32_t)((double)(p - tok) / (double)len * (double)total),
            .end = (uint32_t)((double)(e - tok) / (double)len * (double)total)};
        p = e;
    }
    for (size_t i = 0; i < len; i++)
        if (tok[i] == ' ')
            tok[i] = 0;
    size_t chunk = (size_t)(s->tts_chunk_ms * rate / 1000.0), w = 0;
    rc = 0;
    for (size_t off = 0; off < total && rc == 0; off += chunk) {
        size_t n = total - off < chunk ? total - off : chunk;
        vt_word cw[64];
        size_t k = 0;
        while (s->tts_timings && w < nw && words[w].end <= off + n && k < 64) {
            cw[k] = words[w++];
            cw[k].start = cw[k].start > off ? cw[k].start - (uint32_t)off : 0;
            cw[k].end -= (uint32_t)off;
            k++;
        }
        if ((abort && *abort) || on_chunk(ud, pcm + off, n, cw, k))
            rc = VT_ECANCELED;
    }
out:
    free(tok);
    free(words);
    free(pcm);
    return rc;
}

static const vt_tts_ops k_sim_tts = {"sim", sim_load, sim_unload, tts_create, stt_destroy,
                                     tts_rate, tts_synth};

/* ---- timing: what the scenario says each engine's work costs -------------- */

typedef struct timed {
    vt_sim *s;
    union {
        const vt_stt_ops *stt;
        const vt_kws_ops *kws;
        const vt_tts_ops *tts;
    } in;
    void *ctx;
    void *model;                 /* a real engine's, unloaded with the wrapper */
    void (*unload)(void *model);
    /* synthesis in progress */
    vt_tts_chunk_fn on_chunk;
    void *ud;
    int rate;
} timed;

static void spend_ms(vt_sim *s, double ms)
{
    vt_vexec_spend(s->vx, VT__US(ms / 1000.0));
}

static int timed_stt_begin(void *ctx)
{
    timed *t = ctx;
    return t->in.stt->begin(t->ctx);
}

static int timed_stt_feed(void *ctx, const int16_t *pcm, size_t n)
{
    timed *t = ctx;
    return t->in.stt->feed(t->ctx, pcm, n);
}

static int timed_stt_partial(void *ctx, char *buf, size_t cap)
{
    timed *t = ctx;
    return t->in.stt->partial(t->ctx, buf, cap);
}

/* The final text comes stt.final_ms after the utterance's end. */
static int timed_stt_end(void *ctx, vt_stt_result *out)
{
    timed *t = ctx;
    int rc = t->in.stt->end(t->ctx, out);
    spend_ms(t->s, t->s->stt_final_ms);
    return rc;
}

/* The expected answers reach the wrapped engine (a real recogniser's bias). */
static int timed_stt_expect(void *ctx, const char *const *answers, size_t n_answers,
                            const char *const *commands, size_t n_commands)
{
    timed *t = ctx;
    return t->in.stt->expect ? t->in.stt->expect(t->ctx, answers, n_answers, commands, n_commands)
                             : 0;
}

static void timed_stt_destroy(void *ctx)
{
    timed *t = ctx;
    t->in.stt->destroy(t->ctx);
    if (t->model)
        t->unload(t->model);
    free(t);
}

static const vt_stt_ops k_timed_stt = {"timed", sim_load, sim_unload, stt_create,
                                       timed_stt_destroy, timed_stt_begin, timed_stt_feed,
                                       timed_stt_partial, timed_stt_end, NULL, timed_stt_expect};

/* The spotter costs nothing; its hits are recorded as engine.keyword. */
static int timed_kws_reset(void *ctx)
{
    timed *t = ctx;
    return t->in.kws->reset(t->ctx);
}

static void timed_kws_pause(void *ctx)
{
    timed *t = ctx;
    if (t->in.kws->pause)
        t->in.kws->pause(t->ctx);
}

static int timed_kws_feed(void *ctx, const int16_t *pcm, size_t n, vt_kws_hit *hit)
{
    timed *t = ctx;
    int r = t->in.kws->feed(t->ctx, pcm, n, hit);
    if (r == 1) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "type", "engine.keyword");
        cJSON_AddStringToObject(o, "word", hit->word);
        vt__sim_record(t->s, vt_vexec_now(t->s->vx), o);
    }
    return r;
}

static void timed_kws_destroy(void *ctx)
{
    timed *t = ctx;
    t->in.kws->destroy(t->ctx);
    if (t->model)
        t->unload(t->model);
    free(t);
}

static const vt_kws_ops k_timed_kws = {"timed", sim_load, sim_unload, kws_create,
                                       timed_kws_destroy, timed_kws_reset, timed_kws_feed,
                                       timed_kws_pause};

/* Synthesis: the first chunk after tts.first_chunk_ms, then each chunk's
 * audio at the real-time factor tts.rtf. */
static int timed_chunk(void *ud, const int16_t *pcm, size_t n, const vt_word *words,
                       size_t n_words)
{
    timed *t = ud;
    int r = t->on_chunk(t->ud, pcm, n, words, n_words);
    spend_ms(t->s, t->s->tts_rtf * 1000.0 * (double)n / t->rate);
    return r;
}

static int timed_tts_rate(void *ctx)
{
    timed *t = ctx;
    return t->in.tts->sample_rate(t->ctx);
}

static int timed_tts_synth(void *ctx, const char *text, vt_tts_chunk_fn on_chunk, void *ud,
                           const volatile int *abort)
{
    timed *t = ctx;
    t->on_chunk = on_chunk;
    t->ud = ud;
    t->rate = t->in.tts->sample_rate(t->ctx);
    spend_ms(t->s, t->s->tts_first_ms);
    return t->in.tts->synth(t->ctx, text, timed_chunk, t, abort);
}

static void timed_tts_destroy(void *ctx)
{
    timed *t = ctx;
    t->in.tts->destroy(t->ctx);
    if (t->model)
        t->unload(t->model);
    free(t);
}

static const vt_tts_ops k_timed_tts = {"timed", sim_load, sim_unload, tts_create,
                                       timed_tts_destroy, timed_tts_rate, timed_tts_synth};

static timed *wrap(vt_sim *s, const void *in, void *ctx, void *model, void (*unload)(void *))
{
    timed *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->s = s;
    t->in.stt = in;
    t->ctx = ctx;
    t->model = model;
    t->unload = unload;
    return t;
}

/* ---- the engines of the session ----------------------------------------------- */

int vt__sim_open_speech(void *ud, const vt_config *cfg, const vt_stt_ops **stt, void **stt_ctx,
                        const vt_kws_ops **kws, void **kws_ctx, char *err, size_t errlen)
{
    vt_sim *s = ud;
    const vt_stt_ops *so = &k_sim_stt;
    const vt_kws_ops *ko = &k_sim_kws;
    void *sc = NULL, *kc = NULL, *sm = NULL, *km = NULL;
    int rc = VT_ENOMEM;
    if (s->real) {
        so = vt_stt_find("pocketsphinx");
        ko = vt_kws_find("pocketsphinx");
        vt_keyword kw[VT_MAX_COMMANDS];
        for (int i = 0; i < cfg->n_commands; i++)
            kw[i] = (vt_keyword){cfg->commands[i], 0};
        if ((rc = vt_stt_open(so, NULL, 0, &sm, &sc, err, errlen)) != 0)
            return rc;
        if ((rc = vt_kws_open(ko, NULL, 0, kw, (size_t)cfg->n_commands, &km, &kc, err,
                              errlen)) != 0) {
            vt_stt_close(so, sm, sc);
            return rc;
        }
    } else {
        sim_stt *a = calloc(1, sizeof *a);
        sim_kws *b = calloc(1, sizeof *b);
        if (!a || !b) {
            free(a);
            free(b);
            return rc;
        }
        a->s = b->s = s;
        sc = a;
        kc = b;
    }
    timed *ts = wrap(s, so, sc, sm, so->unload), *tk = wrap(s, ko, kc, km, ko->unload);
    if (!ts || !tk) {
        free(ts);
        free(tk);
        vt_stt_close(so, sm, sc);
        vt_kws_close(ko, km, kc);
        return VT_ENOMEM;
    }
    *stt = &k_timed_stt;
    *stt_ctx = ts;
    *kws = &k_timed_kws;
    *kws_ctx = tk;
    return 0;
}

int vt__sim_open_tts(void *ud, const vt_tts_ops **tts, void **tts_ctx, char *err, size_t errlen)
{
    vt_sim *s = ud;
    const vt_tts_ops *to = &k_sim_tts;
    void *tc = NULL, *tm = NULL;
    if (s->real) {
        int rc = vt_tts_open(s->voice, NULL, 0, &to, &tm, &tc, err, errlen);
        if (rc)
            return rc;
    } else {
        sim_tts *c = calloc(1, sizeof *c);
        if (!c)
            return VT_ENOMEM;
        c->s = s;
        tc = c;
    }
    timed *t = wrap(s, to, tc, tm, to->unload);
    if (!t) {
        vt_tts_close(to, tm, tc);
        return VT_ENOMEM;
    }
    *tts = &k_timed_tts;
    *tts_ctx = t;
    return 0;
}

/* ---- the brain ------------------------------------------------------------------ */

typedef struct brain_ctx {
    vt_sim *s;
    const vt_brain_ops *in;      /* a real brain, or NULL: the scripted replies */
    void *ictx;
    size_t reply_next, judge_next;
    /* the token stream in progress */
    vt_token_fn on_token;
    void *ud;
    double token_ms;
} brain_ctx;

static int brain_create(const vt_opt *o, size_t n, void **ctx, char *err, size_t errlen)
{
    snprintf(err, errlen, "the simulator's brain is made by the simulator");
    return VT_EINVAL;
}

static void brain_destroy(void *ctx)
{
    brain_ctx *b = ctx;
    if (b->in)
        b->in->destroy(b->ictx);
    free(b);
}

/* Each token token_ms after the one before. */
static int brain_token(void *ud, const char *tok)
{
    brain_ctx *b = ud;
    int r = b->on_token(b->ud, tok);
    spend_ms(b->s, b->token_ms);
    return r;
}

static int brain_reply(void *ctx, const vt_turn *history, size_t n_turns, vt_token_fn on_token,
                       void *ud, const volatile int *abort, char *err, size_t errlen)
{
    brain_ctx *b = ctx;
    vt_sim *s = b->s;
    /* a real brain's tokens come at the pace of the first reply */
    const vt__sim_reply *r = &s->replies[b->in ? 0 : b->reply_next++ % s->n_replies];
    b->on_token = on_token;
    b->ud = ud;
    b->token_ms = r->token_ms;
    spend_ms(s, r->first_token_ms);
    if (b->in)
        return b->in->reply(b->ictx, history, n_turns, brain_token, b, abort, err, errlen);
    int tokens = 0;
    for (const char *p = r->text; *p;) {
        if (r->error && tokens == r->error_after)
            break;
        const char *e = p;
        while (*e == ' ')
            e++;
        while (*e && *e != ' ')
            e++;
        if (*e == ' ')
            e++;
        char tok[256];
        snprintf(tok, sizeof tok, "%.*s", (int)(e - p), p);
        if (brain_token(b, tok))
            return VT_ECANCELED;
        tokens++;
        p = e;
    }
    return r->error ? vt__brain_fail(err, errlen, VT_EIO, "%s", r->error) : 0;
}

/* The scripted verdicts in order of the requests (null: the brain has
 * none), each after brain.judge_ms. */
static int brain_judge(void *ctx, const char *text, const volatile int *abort, char *err,
                       size_t errlen)
{
    brain_ctx *b = ctx;
    vt_sim *s = b->s;
    size_t k = b->judge_next++;
    int v = k < s->n_judge ? s->judge[k] : -1;
    if (v < 0 && b->in && b->in->judge)
        v = b->in->judge(b->ictx, text, abort, err, errlen);
    spend_ms(s, s->judge_ms);
    return v;
}

static int brain_filler(void *ctx, const char *text, const vt_filler_desc *fillers, size_t n,
                        const volatile int *abort, char *err, size_t errlen)
{
    brain_ctx *b = ctx;
    vt_sim *s = b->s;
    if (s->filler_ms < 0) {
        vt_vexec_spend(s->vx, NEVER_US);
        return -1;
    }
    spend_ms(s, s->filler_ms);
    if (s->filler_index >= 0 || !b->in || !b->in->choose_filler)
        return s->filler_index;
    return b->in->choose_filler(b->ictx, text, fillers, n, abort, err, errlen);
}

/* what a real brain says first and expects to hear; the scripted one has
 * neither */
static int brain_greeting(void *ctx, char *buf, size_t cap)
{
    brain_ctx *b = ctx;
    return b->in ? b->in->greeting(b->ictx, buf, cap) : VT_ENOTFOUND;
}

static int brain_expected(void *ctx, char phrases[][VT_EXPECTED_PHRASE_MAX], size_t n)
{
    brain_ctx *b = ctx;
    return b->in ? b->in->expected(b->ictx, phrases, n) : 0;
}

static const vt_brain_ops k_sim_brain = {"sim",        NULL,          brain_create,
                                         brain_destroy, brain_greeting, brain_reply,
                                         brain_judge,  brain_filler,  brain_expected};

int vt__sim_brain(vt_sim *s, const vt_brain_ops *inner, void *inner_ctx,
                  const vt_brain_ops **ops, void **ctx)
{
    brain_ctx *b = calloc(1, sizeof *b);
    if (!b) {
        if (inner)
            inner->destroy(inner_ctx);
        return VT_ENOMEM;
    }
    b->s = s;
    b->in = inner;
    b->ictx = inner_ctx;
    *ops = &k_sim_brain;
    *ctx = b;
    return 0;
}
