/*
 * The simulator (see sim.h): a discrete-event loop in virtual time around
 * one vt_core, with scripted engines and a modelled client.
 *
 * Order inside one virtual instant is fixed (scheduled results by time and
 * insertion order, then the microphone frame, then the core's own timers),
 * so a scenario always produces the same events.jsonl and out.wav.
 */
#include "sim/sim.h"
#include "util/config_json.h"
#include "voicetutor/engine.h"
#include "protocol/messages.h"
#include "util/wav.h"
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#ifdef VT_HAVE_SPEECH
#include "engines/speech/speech.h"
#endif
#ifdef VT_HAVE_BRAIN
#include "engines/brain/brain.h"
#endif

#define FRAME_MS 20
#define MAX_DURATION_S 3600.0
#define US(sec) ((int64_t)llround((sec) * 1e6))

typedef struct item {
    bool generated;   /* speech-like sound made from the text (not a WAV, not a click) */
    double at, dur;
    int16_t *pcm; /* 16 kHz */
    size_t n;
    char *text;   /* what the scripted STT hears */
    bool used;
} item;

typedef struct reply {
    char *text;
    double first_token_ms, token_ms;
    char *error;       /* fail after error_after tokens */
    int error_after;
} reply;

typedef struct clipdef {
    char *text, *description;
    int16_t *pcm;
    size_t n;
} clipdef;

enum { S_FINAL = 1, S_KWS, S_VERDICT, S_FILLER, S_TOKEN, S_LLM_DONE, S_LLM_ERROR, S_TTS_CHUNK,
       S_TTS_DONE, S_TTS_ERROR, S_KEY, S_TEXT };

typedef struct sched {
    int64_t t;
    uint64_t seq;
    int kind;
    uint32_t gen, id;
    int index;
    char *text;
    int16_t *pcm;
    size_t n;
    vt_word *words;
    size_t n_words;
    char **word_text;
} sched;

typedef struct sim_utt {
    uint32_t id;
    int64_t begin_us;
    bool open;
    char last_partial[512];
    int64_t last_partial_us;
} sim_utt;

struct vt_sim {
    char name[256];
    char base_dir[1024];
    vt_config cfg;
    double duration;
    item *items;
    size_t n_items;
    double *keys;
    size_t n_keys;
    item *typed; /* at + text */
    size_t n_typed;
    reply *replies;
    size_t n_replies;
    size_t reply_next;
    int *judge; /* scripted verdicts per request; -1 heuristic */
    size_t n_judge;
    double judge_ms;
    int filler_index;
    double filler_ms; /* < 0: the brain never answers */
    double tts_ms_per_char, tts_first_ms, tts_chunk_ms, tts_rtf;
    bool tts_timings;
    int tts_fail_phrase;
    double stt_final_ms, stt_partial_ms, kws_delay_ms;
    double report_ms;
    double noise_rms;
    clipdef *fillers, *acks;
    int n_fillers, n_acks;
    vt_clip *filler_clips, *ack_clips;
    bool real;                  /* "engines": "real" */
    char brain_engine[32];      /* "brain": {"engine": "lesson" | "llm"} */
    vt_opt *brain_opts;
    size_t n_brain_opts;
#ifdef VT_HAVE_BRAIN
    const vt_brain_ops *brain;
    void *brain_ctx;
    uint32_t brain_rng;
#endif
    char voice[64], user_voice[64];
#ifdef VT_HAVE_SPEECH
    const vt_stt_ops *stt;
    void *stt_ctx;
    const vt_kws_ops *kws;
    void *kws_ctx;
    const vt_tts_ops *tts;
    void *tts_ctx;
    vt_clip *real_fill, *real_ack;
    int n_real_fill, n_real_ack;
    uint32_t real_utt;          /* open pocketsphinx utterance, 0 if none */
    size_t fed_until;           /* microphone samples given to the recogniser */
#endif

    /* run state */
    vt_core *core;
    int16_t *mic;
    size_t mic_n;
    int16_t *out;
    size_t out_n;
    int64_t client_end_us;
    uint64_t client_received;
    sched *q;
    size_t nq, capq;
    uint64_t seq;
    sim_utt utts[16];
    int n_utts;
    size_t frame_end;   /* microphone samples up to the end of the frame being fed */
    char real_partial[512];
    int64_t real_partial_us;
    bool kws_on;
    int stale;
    vt_sim_record *recs;
    size_t nrec, caprec;
    bool ran;
};

/* ---- records ---------------------------------------------------------------- */

static void record(vt_sim *s, int64_t now, cJSON *o)
{
    if (!o)
        return;
    double t = (double)now / 1e6;
    cJSON_AddNumberToObject(o, "t", floor(t * 1e6 + 0.5) / 1e6);
    char *js = cJSON_PrintUnformatted(o);
    const cJSON *ty = cJSON_GetObjectItem(o, "type");
    char *type = strdup(cJSON_IsString(ty) ? ty->valuestring : "?");
    cJSON_Delete(o);
    if (!js || !type) {
        free(js);
        free(type);
        return;
    }
    if (s->nrec == s->caprec) {
        size_t cap = s->caprec ? s->caprec * 2 : 256;
        vt_sim_record *r = realloc(s->recs, cap * sizeof *r);
        if (!r) {
            free(js);
            free(type);
            return;
        }
        s->recs = r;
        s->caprec = cap;
    }
    s->recs[s->nrec++] = (vt_sim_record){.t = t, .type = type, .json = js};
}

static void record_engine(vt_sim *s, int64_t now, const char *type, const vt_action *a)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return;
    cJSON_AddStringToObject(o, "type", type);
    cJSON_AddNumberToObject(o, "gen", a->gen);
    if (a->id)
        cJSON_AddNumberToObject(o, "id", a->id);
    if (a->text)
        cJSON_AddStringToObject(o, "text", a->text);
    if (a->type == VT_ACT_KWS)
        cJSON_AddBoolToObject(o, "on", a->flag);
    record(s, now, o);
}

/* ---- scheduling ------------------------------------------------------------- */

static sched *sched_add(vt_sim *s, int64_t t, int kind, uint32_t gen, uint32_t id)
{
    if (s->nq == s->capq) {
        size_t cap = s->capq ? s->capq * 2 : 64;
        sched *q = realloc(s->q, cap * sizeof *q);
        if (!q)
            return NULL;
        s->q = q;
        s->capq = cap;
    }
    /* keep sorted by (t, seq): insertion from the back */
    size_t i = s->nq;
    while (i > 0 && s->q[i - 1].t > t) {
        s->q[i] = s->q[i - 1];
        i--;
    }
    sched *e = &s->q[i];
    memset(e, 0, sizeof *e);
    e->t = t;
    e->seq = s->seq++;
    e->kind = kind;
    e->gen = gen;
    e->id = id;
    s->nq++;
    return e;
}

static void sched_free(sched *e)
{
    free(e->text);
    free(e->pcm);
    free(e->words);
    for (size_t i = 0; i < e->n_words; i++)
        free(e->word_text ? e->word_text[i] : NULL);
    free(e->word_text);
}

static void sched_cancel_gen(vt_sim *s, uint32_t gen)
{
    size_t o = 0;
    for (size_t i = 0; i < s->nq; i++) {
        sched *e = &s->q[i];
        bool engine = e->kind == S_TOKEN || e->kind == S_LLM_DONE || e->kind == S_LLM_ERROR ||
                      e->kind == S_TTS_CHUNK || e->kind == S_TTS_DONE ||
                      e->kind == S_TTS_ERROR || e->kind == S_FILLER;
        if (engine && e->gen == gen) {
            sched_free(e);
            continue;
        }
        s->q[o++] = *e;
    }
    s->nq = o;
}

/* ---- generated audio -------------------------------------------------------- */

static uint32_t lcg(uint32_t *st)
{
    *st = *st * 1664525u + 1013904223u;
    return *st >> 8;
}

/* Speech-like sound: a voiced tone with harmonics and a syllable envelope
 * that never falls silent long enough to end a VAD segment. */
static void gen_speech(int16_t *dst, size_t n, int rate, double level, double f0, uint32_t seed)
{
    uint32_t st = seed;
    for (size_t i = 0; i < n; i++) {
        double t = (double)i / rate;
        double env = 0.55 + 0.45 * sin(2 * M_PI * 4.0 * t);
        double fade = fmin(1.0, fmin(t, (double)(n - i) / rate) / 0.02);
        double v = 0;
        for (int h = 1; h <= 5; h++)
            v += sin(2 * M_PI * f0 * h * t + h) / h;
        v += ((double)(lcg(&st) & 0xffff) / 65535.0 - 0.5) * 0.1;
        double x = level * 32767.0 * 0.55 * env * fade * v;
        if (x > 32767)
            x = 32767;
        if (x < -32768)
            x = -32768;
        dst[i] = (int16_t)x;
    }
}

static void gen_click(int16_t *dst, size_t n, double level, uint32_t seed)
{
    uint32_t st = seed;
    for (size_t i = 0; i < n; i++)
        dst[i] = (int16_t)(((double)(lcg(&st) & 0xffff) / 65535.0 - 0.5) * 2 * level * 32000);
}

/* ---- loading ---------------------------------------------------------------- */

static int num(const cJSON *o, const char *key, double def, double lo, double hi, double *out,
               const char *ctx, char *err, size_t errlen)
{
    const cJSON *v = cJSON_GetObjectItem(o, key);
    if (!v) {
        *out = def;
        return 0;
    }
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= lo && v->valuedouble <= hi)) {
        snprintf(err, errlen, "%s.%s: must be a number from %g to %g", ctx, key, lo, hi);
        return VT_EINVAL;
    }
    *out = v->valuedouble;
    return 0;
}

static int str(const cJSON *o, const char *key, const char *def, char **out, const char *ctx,
               char *err, size_t errlen)
{
    const cJSON *v = cJSON_GetObjectItem(o, key);
    if (!v) {
        *out = def ? strdup(def) : NULL;
        return (def && !*out) ? VT_ENOMEM : 0;
    }
    if (!cJSON_IsString(v)) {
        snprintf(err, errlen, "%s.%s: must be a string", ctx, key);
        return VT_EINVAL;
    }
    *out = strdup(v->valuestring);
    return *out ? 0 : VT_ENOMEM;
}

#define TRY(x)            \
    do {                  \
        rc = (x);         \
        if (rc)           \
            goto out;     \
    } while (0)

static int load_items(vt_sim *s, const cJSON *arr, char *err, size_t errlen)
{
    int rc = 0;
    if (!arr)
        return 0;
    if (!cJSON_IsArray(arr)) {
        snprintf(err, errlen, "user: must be a list");
        return VT_EINVAL;
    }
    size_t n = (size_t)cJSON_GetArraySize(arr);
    s->items = calloc(n ? n : 1, sizeof *s->items);
    if (!s->items)
        return VT_ENOMEM;
    const cJSON *it;
    cJSON_ArrayForEach(it, arr)
    {
        char ctx[48];
        snprintf(ctx, sizeof ctx, "user[%zu]", s->n_items);
        item *u = &s->items[s->n_items++];
        if (!cJSON_IsObject(it)) {
            snprintf(err, errlen, "%s: must be an object", ctx);
            return VT_EINVAL;
        }
        double level, ms, click, gain, f0;
        TRY(num(it, "at", -1, 0, MAX_DURATION_S, &u->at, ctx, err, errlen));
        if (u->at < 0) {
            snprintf(err, errlen, "%s.at: missing (seconds from the start)", ctx);
            return VT_EINVAL;
        }
        TRY(str(it, "text", "", &u->text, ctx, err, errlen));
        TRY(num(it, "level", 0.25, 0, 1, &level, ctx, err, errlen));
        TRY(num(it, "gain", 1.0, 0, 16, &gain, ctx, err, errlen));
        TRY(num(it, "f0", 130, 50, 400, &f0, ctx, err, errlen));
        TRY(num(it, "click_ms", 0, 0, 10000, &click, ctx, err, errlen));
        double def_ms = 250.0 + 300.0 * (double)(strlen(u->text) + 4) / 5.0;
        TRY(num(it, "ms", def_ms, 10, MAX_DURATION_S * 1000, &ms, ctx, err, errlen));
        const cJSON *wav = cJSON_GetObjectItem(it, "wav");
        if (wav) {
            if (!cJSON_IsString(wav)) {
                snprintf(err, errlen, "%s.wav: must be a file name", ctx);
                return VT_EINVAL;
            }
            char path[2048];
            if (wav->valuestring[0] == '/')
                snprintf(path, sizeof path, "%s", wav->valuestring);
            else
                snprintf(path, sizeof path, "%s/%s", s->base_dir, wav->valuestring);
            char werr[512];
            rc = vt_wav_read(path, VT_IN_RATE, &u->pcm, &u->n, NULL, werr, sizeof werr);
            if (rc) {
                snprintf(err, errlen, "%s.wav: %s", ctx, werr);
                return rc;
            }
            for (size_t i = 0; i < u->n; i++) {
                double x = u->pcm[i] * gain;
                u->pcm[i] = (int16_t)(x > 32767 ? 32767 : x < -32768 ? -32768 : x);
            }
        } else {
            double len_ms = click > 0 ? click : ms;
            u->n = (size_t)(len_ms * VT_IN_RATE / 1000.0);
            u->pcm = calloc(u->n ? u->n : 1, sizeof *u->pcm);
            if (!u->pcm)
                return VT_ENOMEM;
            if (click > 0)
                gen_click(u->pcm, u->n, level, 77u + (uint32_t)s->n_items);
            else
                gen_speech(u->pcm, u->n, VT_IN_RATE, level, f0, 11u + (uint32_t)s->n_items);
            u->generated = click <= 0;
        }
        u->dur = (double)u->n / VT_IN_RATE;
    }
out:
    return rc;
}

static int make_tone_clip(clipdef *c, int rate, double ms, double f0, uint32_t seed)
{
    c->n = (size_t)(ms * rate / 1000.0);
    c->pcm = calloc(c->n ? c->n : 1, sizeof *c->pcm);
    if (!c->pcm)
        return VT_ENOMEM;
    gen_speech(c->pcm, c->n, rate, 0.2, f0, seed);
    return 0;
}

static int load_clips(vt_sim *s, const cJSON *arr, bool ack, char *err, size_t errlen)
{
    static const char *const def_fill[][2] = {
        {"Hmm, let me think.", "thinking: a question that needs a moment"},
        {"Good question.", "praise: the learner asked something interesting"},
        {"Let's see.", "working: calculating or checking an answer"}};
    static const char *const def_ack[] = {"Okay, I'm listening.", "Sure, go ahead."};
    int rc = 0;
    int n = arr ? cJSON_GetArraySize(arr) : (ack ? 2 : 3);
    if (arr && !cJSON_IsArray(arr)) {
        snprintf(err, errlen, "%s: must be a list", ack ? "acks" : "fillers");
        return VT_EINVAL;
    }
    clipdef *cd = calloc((size_t)(n ? n : 1), sizeof *cd);
    vt_clip *cl = calloc((size_t)(n ? n : 1), sizeof *cl);
    if (!cd || !cl) {
        free(cd);
        free(cl);
        return VT_ENOMEM;
    }
    if (ack) {
        s->acks = cd;
        s->ack_clips = cl;
        s->n_acks = n;
    } else {
        s->fillers = cd;
        s->filler_clips = cl;
        s->n_fillers = n;
    }
    for (int i = 0; i < n; i++) {
        char ctx[48];
        snprintf(ctx, sizeof ctx, "%s[%d]", ack ? "acks" : "fillers", i);
        double ms = 600;
        if (arr) {
            const cJSON *it = cJSON_GetArrayItem(arr, i);
            TRY(str(it, "text", "", &cd[i].text, ctx, err, errlen));
            TRY(str(it, "description", "", &cd[i].description, ctx, err, errlen));
            TRY(num(it, "ms", 600, 20, 10000, &ms, ctx, err, errlen));
        } else {
            cd[i].text = strdup(ack ? def_ack[i] : def_fill[i][0]);
            cd[i].description = strdup(ack ? "" : def_fill[i][1]);
            ms = ack ? 700 : 500 + 100 * i;
            if (!cd[i].text || !cd[i].description)
                return VT_ENOMEM;
        }
        TRY(make_tone_clip(&cd[i], s->cfg.out_rate, ms, ack ? 240 + 20 * i : 200 + 15 * i,
                           (ack ? 500u : 600u) + (uint32_t)i));
        cl[i] = (vt_clip){.pcm = cd[i].pcm, .n = cd[i].n, .text = cd[i].text,
                          .description = cd[i].description};
    }
out:
    return rc;
}

static int load(vt_sim *s, const cJSON *root, char *err, size_t errlen)
{
    int rc = 0;
    if (!cJSON_IsObject(root)) {
        snprintf(err, errlen, "the scenario must be a JSON object");
        return VT_EFORMAT;
    }
    vt_config_default(&s->cfg);
    const cJSON *cfg = cJSON_GetObjectItem(root, "config");
    if (cfg)
        TRY(vt_config_apply_json(&s->cfg, cfg, err, errlen));
    TRY(load_items(s, cJSON_GetObjectItem(root, "user"), err, errlen));

    const cJSON *keys = cJSON_GetObjectItem(root, "keys");
    if (keys) {
        if (!cJSON_IsArray(keys)) {
            snprintf(err, errlen, "keys: must be a list of times in seconds");
            return VT_EINVAL;
        }
        s->keys = calloc((size_t)cJSON_GetArraySize(keys) + 1, sizeof *s->keys);
        if (!s->keys)
            return VT_ENOMEM;
        const cJSON *k;
        cJSON_ArrayForEach(k, keys)
        {
            if (!cJSON_IsNumber(k) || k->valuedouble < 0) {
                snprintf(err, errlen, "keys[%zu]: must be a time in seconds", s->n_keys);
                return VT_EINVAL;
            }
            s->keys[s->n_keys++] = k->valuedouble;
        }
    }
    const cJSON *typed = cJSON_GetObjectItem(root, "typed");
    if (typed) {
        if (!cJSON_IsArray(typed)) {
            snprintf(err, errlen, "typed: must be a list of {\"at\", \"text\"}");
            return VT_EINVAL;
        }
        s->typed = calloc((size_t)cJSON_GetArraySize(typed) + 1, sizeof *s->typed);
        if (!s->typed)
            return VT_ENOMEM;
        const cJSON *t;
        cJSON_ArrayForEach(t, typed)
        {
            char ctx[48];
            snprintf(ctx, sizeof ctx, "typed[%zu]", s->n_typed);
            item *u = &s->typed[s->n_typed++];
            TRY(num(t, "at", 0, 0, MAX_DURATION_S, &u->at, ctx, err, errlen));
            TRY(str(t, "text", "", &u->text, ctx, err, errlen));
        }
    }

    const cJSON *brain = cJSON_GetObjectItem(root, "brain");
    const cJSON *replies = brain ? cJSON_GetObjectItem(brain, "replies") : NULL;
    if (replies && !cJSON_IsArray(replies)) {
        snprintf(err, errlen, "brain.replies: must be a list");
        return VT_EINVAL;
    }
    size_t nr = replies ? (size_t)cJSON_GetArraySize(replies) : 0;
    s->replies = calloc(nr ? nr : 1, sizeof *s->replies);
    if (!s->replies)
        return VT_ENOMEM;
    for (size_t i = 0; i < nr; i++) {
        char ctx[48];
        snprintf(ctx, sizeof ctx, "brain.replies[%zu]", i);
        const cJSON *r = cJSON_GetArrayItem(replies, (int)i);
        reply *rp = &s->replies[i];
        double ea;
        TRY(str(r, "text", "", &rp->text, ctx, err, errlen));
        TRY(num(r, "first_token_ms", 300, 0, 60000, &rp->first_token_ms, ctx, err, errlen));
        TRY(num(r, "token_ms", 40, 0, 10000, &rp->token_ms, ctx, err, errlen));
        TRY(str(r, "error", NULL, &rp->error, ctx, err, errlen));
        TRY(num(r, "error_after", 0, 0, 100000, &ea, ctx, err, errlen));
        rp->error_after = (int)ea;
        s->n_replies++;
    }
    if (s->n_replies == 0) {
        s->replies[0].text = strdup("That is a good question. Let me explain it step by step, "
                                    "starting with the basics.");
        s->replies[0].first_token_ms = 300;
        s->replies[0].token_ms = 40;
        if (!s->replies[0].text)
            return VT_ENOMEM;
        s->n_replies = 1;
    }
    const cJSON *be = brain ? cJSON_GetObjectItem(brain, "engine") : NULL;
    if (be) {
        if (!cJSON_IsString(be) || strlen(be->valuestring) >= sizeof s->brain_engine) {
            snprintf(err, errlen, "brain.engine: must be \"scripted\", \"lesson\" or \"llm\"");
            return VT_EINVAL;
        }
        if (strcmp(be->valuestring, "scripted") != 0)
            snprintf(s->brain_engine, sizeof s->brain_engine, "%s", be->valuestring);
#ifndef VT_HAVE_BRAIN
        if (s->brain_engine[0]) {
            snprintf(err, errlen, "brain.engine: this build has no brains");
            return VT_EINVAL;
        }
#endif
    }
    const cJSON *bo = brain ? cJSON_GetObjectItem(brain, "options") : NULL;
    if (bo) {
        if (!cJSON_IsObject(bo)) {
            snprintf(err, errlen, "brain.options: must be an object of strings");
            return VT_EINVAL;
        }
        s->brain_opts = calloc((size_t)cJSON_GetArraySize(bo) + 1, sizeof *s->brain_opts);
        if (!s->brain_opts)
            return VT_ENOMEM;
        const cJSON *o;
        cJSON_ArrayForEach(o, bo)
        {
            if (!cJSON_IsString(o)) {
                snprintf(err, errlen, "brain.options.%s: must be a string", o->string);
                return VT_EINVAL;
            }
            vt_opt *x = &s->brain_opts[s->n_brain_opts++];
            x->key = strdup(o->string);
            x->value = strdup(o->valuestring);
            if (!x->key || !x->value)
                return VT_ENOMEM;
        }
    }
    const cJSON *judge = brain ? cJSON_GetObjectItem(brain, "judge") : NULL;
    if (judge) {
        if (!cJSON_IsArray(judge)) {
            snprintf(err, errlen, "brain.judge: must be a list of true/false verdicts");
            return VT_EINVAL;
        }
        s->judge = calloc((size_t)cJSON_GetArraySize(judge) + 1, sizeof *s->judge);
        if (!s->judge)
            return VT_ENOMEM;
        const cJSON *j;
        cJSON_ArrayForEach(j, judge) s->judge[s->n_judge++] =
            cJSON_IsBool(j) ? cJSON_IsTrue(j) : -1;
    }
    double fi;
    const cJSON *b = brain ? brain : root; /* defaults when no brain object */
    TRY(num(b, "judge_ms", 30, 0, 60000, &s->judge_ms, "brain", err, errlen));
    TRY(num(b, "filler", -1, -1, 1000, &fi, "brain", err, errlen));
    s->filler_index = (int)fi;
    TRY(num(b, "filler_ms", 60, -1, 60000, &s->filler_ms, "brain", err, errlen));

    const cJSON *tts = cJSON_GetObjectItem(root, "tts");
    const cJSON *t = tts ? tts : root;
    double fail;
    TRY(num(t, "ms_per_char", 65, 1, 1000, &s->tts_ms_per_char, "tts", err, errlen));
    TRY(num(t, "first_chunk_ms", 20, 0, 60000, &s->tts_first_ms, "tts", err, errlen));
    TRY(num(t, "chunk_ms", 250, 10, 10000, &s->tts_chunk_ms, "tts", err, errlen));
    TRY(num(t, "rtf", 0.05, 0, 10, &s->tts_rtf, "tts", err, errlen));
    TRY(num(t, "fail_phrase", 0, 0, 100000, &fail, "tts", err, errlen));
    s->tts_fail_phrase = (int)fail;
    const cJSON *tim = tts ? cJSON_GetObjectItem(tts, "timings") : NULL;
    s->tts_timings = tim ? cJSON_IsTrue(tim) : true;

    const cJSON *stt = cJSON_GetObjectItem(root, "stt");
    const cJSON *st = stt ? stt : root;
    TRY(num(st, "final_ms", 40, 0, 60000, &s->stt_final_ms, "stt", err, errlen));
    TRY(num(st, "partial_ms", 200, 20, 60000, &s->stt_partial_ms, "stt", err, errlen));
    TRY(num(st, "kws_delay_ms", 150, 0, 60000, &s->kws_delay_ms, "stt", err, errlen));
    const cJSON *client = cJSON_GetObjectItem(root, "client");
    TRY(num(client ? client : root, "report_ms", 0, 0, 60000, &s->report_ms, "client", err,
            errlen));
    TRY(num(root, "noise_rms", 30, 0, 10000, &s->noise_rms, "scenario", err, errlen));

    const cJSON *eng = cJSON_GetObjectItem(root, "engines");
    if (eng) {
        if (!cJSON_IsString(eng) ||
            (strcmp(eng->valuestring, "real") && strcmp(eng->valuestring, "scripted"))) {
            snprintf(err, errlen, "engines: must be \"scripted\" or \"real\"");
            return VT_EINVAL;
        }
        s->real = strcmp(eng->valuestring, "real") == 0;
#ifndef VT_HAVE_SPEECH
        if (s->real) {
            snprintf(err, errlen, "engines: \"real\" needs the speech engines, which this "
                                  "build does not have");
            return VT_EINVAL;
        }
#endif
    }
    char *v = NULL;
    TRY(str(root, "voice", "rms", &v, "scenario", err, errlen));
    snprintf(s->voice, sizeof s->voice, "%s", v);
    free(v);
    v = NULL;
    TRY(str(root, "user_voice", "awb", &v, "scenario", err, errlen));
    snprintf(s->user_voice, sizeof s->user_voice, "%s", v);
    free(v);
    TRY(load_clips(s, cJSON_GetObjectItem(root, "fillers"), false, err, errlen));
    TRY(load_clips(s, cJSON_GetObjectItem(root, "acks"), true, err, errlen));

    double end = 0;
    for (size_t i = 0; i < s->n_items; i++)
        end = fmax(end, s->items[i].at + s->items[i].dur);
    for (size_t i = 0; i < s->n_keys; i++)
        end = fmax(end, s->keys[i]);
    for (size_t i = 0; i < s->n_typed; i++)
        end = fmax(end, s->typed[i].at);
    TRY(num(root, "duration", end + 10.0, 0.1, MAX_DURATION_S, &s->duration, "scenario", err,
            errlen));
out:
    return rc;
}

int vt_sim_load_string(const char *json, const char *base_dir, const char *name, vt_sim **out,
                       char *err, size_t errlen)
{
    char dummy[8];
    if (!err) {
        err = dummy;
        errlen = sizeof dummy;
    }
    if (!json || !out)
        return VT_EINVAL;
    *out = NULL;
    name = name ? name : "scenario";
    cJSON *root = cJSON_Parse(json);
    if (!root) {
        const char *at = cJSON_GetErrorPtr();
        size_t line = 1;
        for (const char *p = json; at && p < at && *p; p++)
            line += *p == '\n';
        snprintf(err, errlen, "%s: not valid JSON (near line %zu)", name, line);
        return VT_EFORMAT;
    }
    vt_sim *s = calloc(1, sizeof *s);
    if (!s) {
        cJSON_Delete(root);
        return VT_ENOMEM;
    }
    snprintf(s->name, sizeof s->name, "%s", name);
    snprintf(s->base_dir, sizeof s->base_dir, "%s", base_dir ? base_dir : ".");
    char e2[768] = "";
    int rc = load(s, root, e2, sizeof e2);
    cJSON_Delete(root);
    if (rc) {
        snprintf(err, errlen, "%s: %s", name, e2[0] ? e2 : vt_strerror(rc));
        vt_sim_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

int vt_sim_load_file(const char *path, vt_sim **out, char *err, size_t errlen)
{
    char dummy[8];
    if (!err) {
        err = dummy;
        errlen = sizeof dummy;
    }
    if (!path || !out)
        return VT_EINVAL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open (%s)", path, strerror(errno));
        return VT_ENOTFOUND;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 8192;
            if (cap > 16u << 20) {
                free(buf);
                fclose(f);
                snprintf(err, errlen, "%s: too large for a scenario (over 16 MiB)", path);
                return VT_EFORMAT;
            }
            char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                return VT_ENOMEM;
            }
            buf = nb;
        }
        size_t r = fread(buf + len, 1, 4096, f);
        len += r;
        if (r < 4096)
            break;
    }
    fclose(f);
    if (!buf || len == 0) {
        free(buf);
        snprintf(err, errlen, "%s: the file is empty", path);
        return VT_EFORMAT;
    }
    buf[len] = 0;
    char dir[1024];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = 0;
    else
        snprintf(dir, sizeof dir, ".");
    int rc = vt_sim_load_string(buf, dir, path, out, err, errlen);
    free(buf);
    return rc;
}

/* ---- real engines ("engines": "real") ------------------------------------------- */
#ifdef VT_HAVE_SPEECH
static int real_open(vt_sim *s, char *err, size_t errlen)
{
    char e[512] = "";
    int rc = vt_stt_pocketsphinx.create(NULL, 0, &s->stt_ctx, e, sizeof e);
    if (rc)
        goto fail;
    s->stt = &vt_stt_pocketsphinx;
    vt_keyword kw[VT_MAX_COMMANDS];
    for (int i = 0; i < s->cfg.n_commands; i++)
        kw[i] = (vt_keyword){s->cfg.commands[i], 0};
    rc = vt_kws_pocketsphinx.create(NULL, 0, kw, (size_t)s->cfg.n_commands, &s->kws_ctx, e,
                                    sizeof e);
    if (rc)
        goto fail;
    s->kws = &vt_kws_pocketsphinx;
    rc = vt_tts_open(s->voice, NULL, 0, &s->tts, &s->tts_ctx, e, sizeof e);
    if (rc)
        goto fail;
    rc = vt_clips_build(s->tts, s->tts_ctx, s->cfg.out_rate, vt_default_filler_texts,
                        vt_default_filler_descriptions, vt_default_n_fillers, &s->real_fill, e,
                        sizeof e);
    if (rc)
        goto fail;
    s->n_real_fill = vt_default_n_fillers;
    rc = vt_clips_build(s->tts, s->tts_ctx, s->cfg.out_rate, vt_default_ack_texts, NULL,
                        vt_default_n_acks, &s->real_ack, e, sizeof e);
    if (rc)
        goto fail;
    s->n_real_ack = vt_default_n_acks;
    /* the person's lines without a WAV are spoken by another flite voice */
    const vt_tts_ops *uops = NULL;
    void *uctx = NULL;
    rc = vt_tts_open(s->user_voice, NULL, 0, &uops, &uctx, e, sizeof e);
    if (rc)
        goto fail;
    for (size_t i = 0; i < s->n_items && rc == 0; i++) {
        item *u = &s->items[i];
        if (!u->generated || !u->text[0])
            continue;
        int16_t *pcm = NULL;
        size_t n = 0;
        rc = vt_tts_synth_buffer(uops, uctx, VT_IN_RATE, u->text, &pcm, &n, NULL);
        if (rc == 0) {
            free(u->pcm);
            u->pcm = pcm;
            u->n = n;
            u->dur = (double)n / VT_IN_RATE;
        } else {
            snprintf(e, sizeof e, "user[%zu]: speaking \"%s\" failed", i, u->text);
        }
    }
    uops->destroy(uctx);
    if (rc)
        goto fail;
    return 0;
fail:
    snprintf(err, errlen, "%s: real engines: %s", s->name, e[0] ? e : vt_strerror(rc));
    return rc;
}

static void real_close(vt_sim *s)
{
    if (s->stt)
        s->stt->destroy(s->stt_ctx);
    if (s->kws)
        s->kws->destroy(s->kws_ctx);
    if (s->tts)
        s->tts->destroy(s->tts_ctx);
    vt_clips_free(s->real_fill, s->n_real_fill);
    vt_clips_free(s->real_ack, s->n_real_ack);
}

/* Give the recogniser the microphone up to the end of the current frame. */
static void real_feed(vt_sim *s)
{
    size_t end = s->frame_end < s->mic_n ? s->frame_end : s->mic_n;
    if (s->real_utt && end > s->fed_until)
        s->stt->feed(s->stt_ctx, s->mic + s->fed_until, end - s->fed_until);
    s->fed_until = end;
}

static void real_stt_begin(vt_sim *s, const vt_action *a)
{
    size_t pre = (size_t)a->preroll_ms * VT_IN_RATE / 1000;
    size_t end = s->frame_end < s->mic_n ? s->frame_end : s->mic_n;
    if (s->real_utt) {
        vt_stt_result junk;
        s->stt->end(s->stt_ctx, &junk);
    }
    s->stt->begin(s->stt_ctx);
    s->real_utt = a->id;
    s->fed_until = end > pre ? end - pre : 0;
    s->real_partial[0] = 0;
    real_feed(s);
}

typedef struct collect {
    vt_sim *s;
    const vt_action *a;
    int64_t t;
} collect;

static int real_tts_chunk(void *ud, const int16_t *pcm, size_t n, const vt_word *words,
                          size_t n_words)
{
    collect *c = ud;
    sched *x = sched_add(c->s, c->t, S_TTS_CHUNK, c->a->gen, c->a->id);
    if (!x)
        return 1;
    x->pcm = malloc((n ? n : 1) * sizeof *pcm);
    x->words = calloc(n_words ? n_words : 1, sizeof *x->words);
    x->word_text = calloc(n_words ? n_words : 1, sizeof *x->word_text);
    if (!x->pcm || !x->words || !x->word_text)
        return 1;
    memcpy(x->pcm, pcm, n * sizeof *pcm);
    x->n = n;
    for (size_t i = 0; i < n_words; i++) {
        x->word_text[i] = strdup(words[i].text ? words[i].text : "");
        x->words[i] = words[i];
        x->words[i].text = x->word_text[i];
    }
    x->n_words = n_words;
    c->t += US(c->s->tts_rtf * (double)n / c->s->cfg.out_rate);
    return 0;
}

static void real_tts(vt_sim *s, const vt_action *a, int64_t now)
{
    collect c = {s, a, now + US(s->tts_first_ms / 1000.0)};
    int rc = vt_tts_synth_at(s->tts, s->tts_ctx, s->cfg.out_rate, a->text, real_tts_chunk, &c,
                             NULL);
    sched *x = sched_add(s, c.t, rc ? S_TTS_ERROR : S_TTS_DONE, a->gen, a->id);
    if (x && rc)
        x->text = strdup(vt_strerror(rc));
}

/* After each microphone frame: recogniser, interim text, keyword spotter. */
static void real_frame(vt_sim *s, const int16_t *frame, size_t n, int64_t now)
{
    real_feed(s);
    if (s->real_utt && now - s->real_partial_us >= US(s->stt_partial_ms / 1000.0)) {
        char text[512];
        s->real_partial_us = now;
        if (s->stt->partial(s->stt_ctx, text, sizeof text) > 0 &&
            strcmp(text, s->real_partial) != 0) {
            snprintf(s->real_partial, sizeof s->real_partial, "%s", text);
            vt_core_stt_partial(s->core, s->real_utt, text, now);
        }
    }
    vt_kws_hit hit;
    if (s->kws_on && s->kws->feed(s->kws_ctx, frame, n, &hit) == 1) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "type", "engine.keyword");
        cJSON_AddStringToObject(o, "word", hit.word);
        record(s, now, o);
        vt_core_keyword(s->core, hit.word, now, now);
    }
}
#endif


/* ---- a real brain ("brain": {"engine": "lesson"}) --------------------------------- */
#ifdef VT_HAVE_BRAIN
typedef struct tokctx {
    vt_sim *s;
    uint32_t gen;
    int64_t t;
    double step_ms;
} tokctx;

static int brain_token(void *ud, const char *tok)
{
    tokctx *k = ud;
    sched *x = sched_add(k->s, k->t, S_TOKEN, k->gen, 0);
    if (!x || !(x->text = strdup(tok)))
        return 1;
    k->t += US(k->step_ms / 1000.0);
    return 0;
}

/* The brain answers from the core's memory, inline; its tokens are then
 * delivered at the modelled pace of brain.first_token_ms / token_ms. */
static void brain_reply(vt_sim *s, const vt_action *a, int64_t now)
{
    reply *r = &s->replies[0];
    const vt_turn *turns;
    size_t n = vt_core_history(s->core, &turns);
    tokctx k = {s, a->gen, now + US(r->first_token_ms / 1000.0), r->token_ms};
    int rc = s->brain->reply(s->brain_ctx, turns, n, brain_token, &k, NULL);
    sched *x = sched_add(s, k.t, rc ? S_LLM_ERROR : S_LLM_DONE, a->gen, 0);
    if (x && rc)
        x->text = strdup(vt_brain_error()[0] ? vt_brain_error() : vt_strerror(rc));
}
#endif
/* ---- scripted engines (the core's sink) -------------------------------------- */

static sim_utt *sutt(vt_sim *s, uint32_t id)
{
    for (int i = 0; i < s->n_utts; i++)
        if (s->utts[i].id == id)
            return &s->utts[i];
    return NULL;
}

/* Text of the timeline items overlapping [from, to]; consume them when final. */
static void utt_text(vt_sim *s, int64_t from, int64_t to, bool consume, bool partial, char *out,
                     size_t cap)
{
    size_t o = 0;
    out[0] = 0;
    for (size_t i = 0; i < s->n_items; i++) {
        item *u = &s->items[i];
        if (u->used || !u->text[0])
            continue;
        int64_t a = US(u->at), b = US(u->at + u->dur);
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

static void on_llm_start(vt_sim *s, const vt_action *a, int64_t now)
{
    reply *r = &s->replies[s->reply_next++ % s->n_replies];
    int64_t t = now + US(r->first_token_ms / 1000.0);
    int tokens = 0;
    const char *p = r->text;
    while (*p) {
        if (r->error && tokens == r->error_after)
            break;
        const char *e = p;
        while (*e == ' ')
            e++;
        while (*e && *e != ' ')
            e++;
        if (*e == ' ')
            e++;
        sched *x = sched_add(s, t, S_TOKEN, a->gen, 0);
        if (!x)
            return;
        x->text = strndup(p, (size_t)(e - p));
        tokens++;
        p = e;
        t += US(r->token_ms / 1000.0);
    }
    if (r->error) {
        sched *x = sched_add(s, t, S_LLM_ERROR, a->gen, 0);
        if (x)
            x->text = strdup(r->error);
    } else {
        sched_add(s, t, S_LLM_DONE, a->gen, 0);
    }
}

/* Scripted TTS: a tone whose length follows the characters, with a word
 * timing per whitespace token, delivered in chunks faster than real time. */
static void on_tts(vt_sim *s, const vt_action *a, int64_t now)
{
    if (s->tts_fail_phrase && (int)a->id == s->tts_fail_phrase) {
        sched *x = sched_add(s, now + US(s->tts_first_ms / 1000.0), S_TTS_ERROR, a->gen, a->id);
        if (x)
            x->text = strdup("scripted synthesis failure");
        return;
    }
    int rate = s->cfg.out_rate;
    size_t len = strlen(a->text);
    size_t total = (size_t)((double)len * s->tts_ms_per_char * rate / 1000.0);
    if (total < (size_t)rate / 5)
        total = (size_t)rate / 5;
    int16_t *pcm = calloc(total, sizeof *pcm);
    if (!pcm)
        return;
    gen_speech(pcm, total, rate, 0.3, 160, 900u + a->id);
    /* word end offsets by character position */
    size_t nw = 0, cap = 16;
    size_t *ends = malloc(cap * sizeof *ends);
    size_t *starts = malloc(cap * sizeof *starts);
    char **texts = malloc(cap * sizeof *texts);
    const char *p = a->text;
    while (ends && starts && texts && *p) {
        while (*p == ' ')
            p++;
        if (!*p)
            break;
        const char *e = p;
        while (*e && *e != ' ')
            e++;
        if (nw == cap) {
            cap *= 2;
            size_t *ne = realloc(ends, cap * sizeof *ne);
            if (ne)
                ends = ne;
            size_t *ns = realloc(starts, cap * sizeof *ns);
            if (ns)
                starts = ns;
            char **nt = realloc(texts, cap * sizeof *nt);
            if (nt)
                texts = nt;
            if (!ne || !ns || !nt)
                break;
        }
        starts[nw] = (size_t)((double)(p - a->text) / (double)len * (double)total);
        ends[nw] = (size_t)((double)(e - a->text) / (double)len * (double)total);
        texts[nw] = strndup(p, (size_t)(e - p));
        nw++;
        p = e;
    }
    size_t chunk = (size_t)(s->tts_chunk_ms * rate / 1000.0);
    int64_t t = now + US(s->tts_first_ms / 1000.0);
    size_t w = 0;
    for (size_t off = 0; off < total; off += chunk) {
        size_t n = total - off < chunk ? total - off : chunk;
        sched *x = sched_add(s, t, S_TTS_CHUNK, a->gen, a->id);
        if (!x)
            break;
        x->pcm = malloc(n * sizeof *pcm);
        if (x->pcm)
            memcpy(x->pcm, pcm + off, n * sizeof *pcm);
        x->n = x->pcm ? n : 0;
        if (s->tts_timings && ends && texts) {
            size_t k0 = w;
            while (w < nw && ends[w] <= off + n)
                w++;
            x->n_words = w - k0;
            x->words = calloc(x->n_words ? x->n_words : 1, sizeof *x->words);
            x->word_text = calloc(x->n_words ? x->n_words : 1, sizeof *x->word_text);
            for (size_t k = k0; x->words && x->word_text && k < w; k++) {
                x->word_text[k - k0] = texts[k];
                texts[k] = NULL;
                x->words[k - k0] = (vt_word){
                    .text = x->word_text[k - k0],
                    .start = (uint32_t)(starts[k] > off ? starts[k] - off : 0),
                    .end = (uint32_t)(ends[k] - off)};
            }
        }
        t += US(s->tts_rtf * (double)n / rate);
    }
    sched_add(s, t, S_TTS_DONE, a->gen, a->id);
    for (size_t k = 0; texts && k < nw; k++)
        free(texts[k]);
    free(texts);
    free(ends);
    free(starts);
    free(pcm);
}

static void client_play(vt_sim *s, const int16_t *pcm, size_t n, int64_t now)
{
    int rate = s->cfg.out_rate;
    int64_t start = s->client_end_us > now ? s->client_end_us : now;
    size_t pos = (size_t)(start * rate / 1000000);
    for (size_t i = 0; i < n && pos + i < s->out_n; i++)
        s->out[pos + i] = pcm[i];
    s->client_end_us = start + (int64_t)n * 1000000 / rate;
    s->client_received += n;
}

static void client_flush(vt_sim *s, int64_t now)
{
    int rate = s->cfg.out_rate;
    if (s->client_end_us <= now)
        return;
    size_t a = (size_t)(now * rate / 1000000), b = (size_t)(s->client_end_us * rate / 1000000);
    for (size_t i = a; i < b && i < s->out_n; i++)
        s->out[i] = 0;
    uint64_t dropped = (uint64_t)(b - a);
    s->client_received = s->client_received > dropped ? s->client_received - dropped : 0;
    s->client_end_us = now;
}

static void sink(void *ud, const vt_action *a, int64_t now)
{
    vt_sim *s = ud;
    switch (a->type) {
    case VT_ACT_STATE:
        record(s, now, vt_state_json(a));
        break;
    case VT_ACT_EVENT:
        if (a->ev->type == VT_EV_INTERRUPTION_DETECTED)
            client_flush(s, now);
        record(s, now, vt_event_json(a->ev, s->cfg.character));
        break;
    case VT_ACT_AUDIO:
        client_play(s, a->pcm, a->n, now);
        break;
    case VT_ACT_STT_BEGIN:
        record_engine(s, now, "engine.stt_begin", a);
#ifdef VT_HAVE_SPEECH
        if (s->real) {
            real_stt_begin(s, a);
            break;
        }
#endif
        if (s->n_utts < 16)
            s->utts[s->n_utts++] = (sim_utt){.id = a->id, .open = true, .last_partial_us = now,
                                             .begin_us = now - (int64_t)a->preroll_ms * 1000};
        break;
    case VT_ACT_STT_END: {
        record_engine(s, now, "engine.stt_end", a);
        sim_utt *u = sutt(s, a->id);
        char text[1024] = "";
#ifdef VT_HAVE_SPEECH
        if (s->real && s->real_utt == a->id) {
            vt_stt_result res;
            real_feed(s);
            if (s->stt->end(s->stt_ctx, &res) == 0)
                snprintf(text, sizeof text, "%s", res.text);
            s->real_utt = 0;
        }
#endif
        if (u) {
            utt_text(s, u->begin_us, now, true, false, text, sizeof text);
            u->open = false;
        }
        sched *x = sched_add(s, now + US(s->stt_final_ms / 1000.0), S_FINAL, a->gen, a->id);
        if (x)
            x->text = strdup(text);
        break;
    }
    case VT_ACT_KWS:
        record_engine(s, now, "engine.kws", a);
        s->kws_on = a->flag;
#ifdef VT_HAVE_SPEECH
        if (s->real && a->flag)
            s->kws->reset(s->kws_ctx);
#endif
        break;
    case VT_ACT_JUDGE: {
        record_engine(s, now, "engine.judge", a);
        int v = a->id - 1 < s->n_judge ? s->judge[a->id - 1] : -1;
#ifdef VT_HAVE_BRAIN
        if (v < 0 && s->brain)
            v = vt_brain_judge_or_heuristic(s->brain, s->brain_ctx, a->text, NULL, NULL);
#endif
        if (v < 0)
            v = vt_judge_heuristic(a->text);
        sched *x = sched_add(s, now + US(s->judge_ms / 1000.0), S_VERDICT, a->gen, a->id);
        if (x)
            x->index = v;
        break;
    }
    case VT_ACT_CHOOSE_FILLER:
        record_engine(s, now, "engine.choose_filler", a);
        if (s->filler_ms >= 0) {
            sched *x = sched_add(s, now + US(s->filler_ms / 1000.0), S_FILLER, a->gen, 0);
            if (x)
                x->index = s->filler_index;
#ifdef VT_HAVE_BRAIN
            if (x && s->brain && s->filler_index < 0) {
                const vt_clip *cl = s->filler_clips;
                int nc = s->n_fillers;
#ifdef VT_HAVE_SPEECH
                if (s->real) {
                    cl = s->real_fill;
                    nc = s->n_real_fill;
                }
#endif
                vt_filler_desc d[16];
                int nd = nc < 16 ? nc : 16;
                for (int i = 0; i < nd; i++)
                    d[i] = (vt_filler_desc){cl[i].text, cl[i].description};
                x->index = vt_brain_filler_or_random(s->brain, s->brain_ctx, a->text, d,
                                                     (size_t)nd, NULL, &s->brain_rng, NULL);
            }
#endif
        }
        break;
    case VT_ACT_LLM_START:
        record_engine(s, now, "engine.llm_start", a);
#ifdef VT_HAVE_BRAIN
        if (s->brain) {
            brain_reply(s, a, now);
            break;
        }
#endif
        on_llm_start(s, a, now);
        break;
    case VT_ACT_TTS:
        record_engine(s, now, "engine.tts", a);
#ifdef VT_HAVE_SPEECH
        if (s->real) {
            real_tts(s, a, now);
            break;
        }
#endif
        on_tts(s, a, now);
        break;
    case VT_ACT_CANCEL:
        record_engine(s, now, "engine.cancel", a);
        sched_cancel_gen(s, a->gen);
        break;
    }
}


/* ---- the run ------------------------------------------------------------------ */

static void deliver(vt_sim *s, sched *e)
{
    vt_core *c = s->core;
    int64_t t = e->t;
    int rc = 0;
    switch (e->kind) {
    case S_FINAL: {
        sim_utt *u = sutt(s, e->id);
        if (u)
            *u = s->utts[--s->n_utts];
        rc = vt_core_stt_final(c, e->id, e->text ? e->text : "", NULL, 0, t);
        break;
    }
    case S_KWS:
        if (s->kws_on) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "type", "engine.keyword");
            cJSON_AddStringToObject(o, "word", e->text);
            record(s, t, o);
            rc = vt_core_keyword(c, e->text, t, t);
        }
        break;
    case S_VERDICT: rc = vt_core_verdict(c, e->id, e->index, t); break;
    case S_FILLER: rc = vt_core_filler_choice(c, e->gen, e->index, t); break;
    case S_TOKEN: rc = vt_core_llm_token(c, e->gen, e->text, t); break;
    case S_LLM_DONE: rc = vt_core_llm_done(c, e->gen, t); break;
    case S_LLM_ERROR: rc = vt_core_llm_error(c, e->gen, e->text, t); break;
    case S_TTS_CHUNK:
        rc = vt_core_tts_audio(c, e->gen, e->id, e->pcm, e->n, e->words, e->n_words, t);
        break;
    case S_TTS_DONE: rc = vt_core_tts_done(c, e->gen, e->id, t); break;
    case S_TTS_ERROR: rc = vt_core_tts_error(c, e->gen, e->id, e->text, t); break;
    case S_KEY: {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "type", "input.key");
        record(s, t, o);
        rc = vt_core_key(c, t);
        if (rc == VT_ESTATE)
            rc = 0;
        break;
    }
    case S_TEXT: {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "type", "input.text");
        cJSON_AddStringToObject(o, "text", e->text);
        record(s, t, o);
        rc = vt_core_text(c, e->text, t);
        break;
    }
    }
    if (rc == VT_ESTALE)
        s->stale++;
}

static void partials(vt_sim *s, int64_t now)
{
    for (int i = 0; i < s->n_utts; i++) {
        sim_utt *u = &s->utts[i];
        if (!u->open || now - u->last_partial_us < US(s->stt_partial_ms / 1000.0))
            continue;
        u->last_partial_us = now;
        char text[512];
        utt_text(s, u->begin_us, now, false, true, text, sizeof text);
        if (text[0] && strcmp(text, u->last_partial) != 0) {
            snprintf(u->last_partial, sizeof u->last_partial, "%s", text);
            vt_core_stt_partial(s->core, u->id, text, now);
        }
    }
}

/* Keyword hits: the end of each command word in the timeline plus a delay. */
static void schedule_keywords(vt_sim *s)
{
    for (size_t i = 0; i < s->n_items; i++) {
        item *u = &s->items[i];
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
                double end = u->at + u->dur * (double)(p - u->text + (long)cl) / (double)len;
                sched *x = sched_add(s, US(end + s->kws_delay_ms / 1000.0), S_KWS, 0, 0);
                if (x)
                    x->text = strdup(cmd);
            }
        }
    }
}

int vt_sim_run(vt_sim *s, char *err, size_t errlen)
{
    char dummy[8];
    if (!err) {
        err = dummy;
        errlen = sizeof dummy;
    }
    if (!s)
        return VT_EINVAL;
    if (s->ran) {
        snprintf(err, errlen, "%s: already run", s->name);
        return VT_ESTATE;
    }
    s->ran = true;
    int rc = 0;
    const vt_clip *fill = s->filler_clips, *ack = s->ack_clips;
    int nf = s->n_fillers, na = s->n_acks;
#ifdef VT_HAVE_SPEECH
    if (s->real) {
        rc = real_open(s, err, errlen);
        if (rc)
            return rc;
        fill = s->real_fill;
        nf = s->n_real_fill;
        ack = s->real_ack;
        na = s->n_real_ack;
    }
#endif
#ifdef VT_HAVE_BRAIN
    if (s->brain_engine[0]) {
        char e[512] = "";
        s->brain = vt_brain_find(s->brain_engine);
        if (!s->brain) {
            snprintf(err, errlen, "%s: brain.engine: unknown brain \"%s\" (%s)", s->name,
                     s->brain_engine, vt_brain_names());
            return VT_EINVAL;
        }
        rc = s->brain->create(s->brain_opts, s->n_brain_opts, &s->brain_ctx, e, sizeof e);
        if (rc) {
            s->brain = NULL;
            snprintf(err, errlen, "%s: brain: %s", s->name, e);
            return rc;
        }
        s->brain_rng = s->cfg.seed ? s->cfg.seed : 1;
    }
#endif
    rc = vt_core_create(&s->cfg, sink, s, &s->core, err, errlen);
    if (rc)
        return rc;
    rc = vt_core_set_clips(s->core, fill, nf, ack, na);
    if (rc) {
        snprintf(err, errlen, "%s: bad filler or acknowledgement clips", s->name);
        return rc;
    }
    /* the microphone: the timeline plus a little deterministic room noise */
    s->mic_n = (size_t)(s->duration * VT_IN_RATE);
    s->mic = calloc(s->mic_n + 1, sizeof *s->mic);
    s->out_n = (size_t)(s->duration * s->cfg.out_rate);
    s->out = calloc(s->out_n + 1, sizeof *s->out);
    if (!s->mic || !s->out)
        return VT_ENOMEM;
    uint32_t st = 12345;
    for (size_t i = 0; i < s->mic_n; i++)
        s->mic[i] = (int16_t)(((double)(lcg(&st) & 0xffff) / 65535.0 - 0.5) * 3.46 * s->noise_rms);
    for (size_t k = 0; k < s->n_items; k++) {
        item *u = &s->items[k];
        size_t off = (size_t)(u->at * VT_IN_RATE);
        for (size_t i = 0; i < u->n && off + i < s->mic_n; i++) {
            int v = s->mic[off + i] + u->pcm[i];
            s->mic[off + i] = (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : v);
        }
    }
    for (size_t k = 0; k < s->n_keys; k++)
        sched_add(s, US(s->keys[k]), S_KEY, 0, 0);
    for (size_t k = 0; k < s->n_typed; k++) {
        sched *x = sched_add(s, US(s->typed[k].at), S_TEXT, 0, 0);
        if (x)
            x->text = strdup(s->typed[k].text);
    }
    if (!s->real)
        schedule_keywords(s);

    const size_t frame = VT_IN_RATE * FRAME_MS / 1000;
    const int64_t end_us = US(s->duration);
    int64_t next_frame = FRAME_MS * 1000, next_report = INT64_MAX, now = 0, last_tick = -1;
    if (s->report_ms > 0)
        next_report = US(s->report_ms / 1000.0);
    size_t mic_pos = 0;
    for (uint64_t iter = 0; iter < 50000000ull; iter++) {
        int64_t dl = vt_core_next_deadline(s->core);
        if (dl <= now && last_tick == now)
            dl = now + 1000; /* the core already ran at this instant */
        if (dl < now)
            dl = now;
        int64_t te = s->nq ? s->q[0].t : INT64_MAX;
        int64_t next = next_frame;
        if (te < next)
            next = te;
        if (dl < next)
            next = dl;
        if (next_report < next)
            next = next_report;
        if (next > end_us)
            break;
        now = next < now ? now : next;
        if (te <= now && s->nq) {
            sched e = s->q[0];
            memmove(s->q, s->q + 1, (s->nq - 1) * sizeof *s->q);
            s->nq--;
            deliver(s, &e);
            sched_free(&e);
        } else if (next_frame <= now) {
            s->frame_end = mic_pos + frame;
            if (mic_pos + frame <= s->mic_n) {
                vt_core_audio(s->core, s->mic + mic_pos, frame, now);
#ifdef VT_HAVE_SPEECH
                if (s->real)
                    real_frame(s, s->mic + mic_pos, frame, now);
#endif
            }
            mic_pos += frame;
            next_frame += FRAME_MS * 1000;
            if (!s->real)
                partials(s, now);
        } else if (next_report <= now) {
            int64_t held = s->client_end_us > now ? s->client_end_us - now : 0;
            uint64_t held_n = (uint64_t)(held * s->cfg.out_rate / 1000000);
            uint64_t played = s->client_received > held_n ? s->client_received - held_n : 0;
            vt_core_playback(s->core, played, now);
            next_report += US(s->report_ms / 1000.0);
        } else {
            vt_core_tick(s->core, now);
            last_tick = now;
        }
    }
    return 0;
}

/* ---- output and queries ------------------------------------------------------- */

/* mkdir -p */
static int make_dirs(const char *dir)
{
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s", dir);
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    return mkdir(tmp, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

int vt_sim_write(const vt_sim *s, const char *dir, char *err, size_t errlen)
{
    if (!s || !dir)
        return VT_EINVAL;
    if (make_dirs(dir) != 0) {
        snprintf(err, errlen, "%s: cannot create the output folder (%s)", dir, strerror(errno));
        return VT_EIO;
    }
    char path[2048];
    snprintf(path, sizeof path, "%s/events.jsonl", dir);
    FILE *f = fopen(path, "w");
    if (!f) {
        snprintf(err, errlen, "%s: cannot write (%s)", path, strerror(errno));
        return VT_EIO;
    }
    for (size_t i = 0; i < s->nrec; i++)
        fprintf(f, "%s\n", s->recs[i].json);
    if (fclose(f) != 0) {
        snprintf(err, errlen, "%s: write failed", path);
        return VT_EIO;
    }
    snprintf(path, sizeof path, "%s/out.wav", dir);
    int rc = vt_wav_write(path, s->out, s->out_n, s->cfg.out_rate, err, errlen);
    if (rc)
        return rc;
    snprintf(path, sizeof path, "%s/in.wav", dir);
    return vt_wav_write(path, s->mic, s->mic_n, VT_IN_RATE, err, errlen);
}

void vt_sim_free(vt_sim *s)
{
    if (!s)
        return;
    vt_core_destroy(s->core);
#ifdef VT_HAVE_SPEECH
    real_close(s);
#endif
#ifdef VT_HAVE_BRAIN
    if (s->brain)
        s->brain->destroy(s->brain_ctx);
#endif
    for (size_t i = 0; i < s->n_brain_opts; i++) {
        free((char *)s->brain_opts[i].key);
        free((char *)s->brain_opts[i].value);
    }
    free(s->brain_opts);
    for (size_t i = 0; i < s->n_items; i++) {
        free(s->items[i].pcm);
        free(s->items[i].text);
    }
    free(s->items);
    for (size_t i = 0; i < s->n_typed; i++)
        free(s->typed[i].text);
    free(s->typed);
    free(s->keys);
    for (size_t i = 0; i < s->n_replies; i++) {
        free(s->replies[i].text);
        free(s->replies[i].error);
    }
    free(s->replies);
    free(s->judge);
    for (int i = 0; i < s->n_fillers; i++) {
        free(s->fillers[i].text);
        free(s->fillers[i].description);
        free(s->fillers[i].pcm);
    }
    for (int i = 0; i < s->n_acks; i++) {
        free(s->acks[i].text);
        free(s->acks[i].description);
        free(s->acks[i].pcm);
    }
    free(s->fillers);
    free(s->acks);
    free(s->filler_clips);
    free(s->ack_clips);
    for (size_t i = 0; i < s->nq; i++)
        sched_free(&s->q[i]);
    free(s->q);
    for (size_t i = 0; i < s->nrec; i++) {
        free(s->recs[i].type);
        free(s->recs[i].json);
    }
    free(s->recs);
    free(s->mic);
    free(s->out);
    free(s);
}

size_t vt_sim_records(const vt_sim *s, const vt_sim_record **recs)
{
    if (!s || !recs)
        return 0;
    *recs = s->recs;
    return s->nrec;
}

const int16_t *vt_sim_output(const vt_sim *s, size_t *n, int *rate)
{
    if (!s)
        return NULL;
    if (n)
        *n = s->out_n;
    if (rate)
        *rate = s->cfg.out_rate;
    return s->out;
}

const vt_core *vt_sim_core(const vt_sim *s)
{
    return s ? s->core : NULL;
}

int vt_sim_stale_drops(const vt_sim *s)
{
    return s ? s->stale : 0;
}
