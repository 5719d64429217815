/*
 * Live sessions: a pure core driven in real time, its engines on the worker
 * pools. See session.h for the threading and lifetime rules; in short,
 * everything here runs on the loop thread except the job bodies (*_run),
 * which touch only their own job argument and the engine contexts of their
 * lane (a lane has at most one job in flight, so a decoder is never used by
 * two threads, and the pool's queue lock orders one job before the next).
 */
#define _POSIX_C_SOURCE 200809L
#include "runtime/session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engines/brain/brain.h"
#include "engines/speech/speech.h"
#include "runtime/pool.h"

#define PREROLL_RING (VT_IN_RATE * 2)     /* audio kept for an utterance's pre-roll */
#define PARTIAL_EVERY_SAMPLES (VT_IN_RATE / 5) /* interim text every 200 ms of audio */
#define MAX_QUEUED_AUDIO (VT_IN_RATE * 30)   /* the speech lane may fall 30 s behind */

/* ---- the runtime ----------------------------------------------------------- */

struct vt_runtime {
    vt_runtime_config cfg;
    char *opt_store[2 * VT_RUNTIME_MAX_OPTS];
    char voice[64], stt[32], brain_name[32];
    vt_pool *cpu, *io;
    const vt_brain_ops *brain;
    int speech;                    /* the speech engines are used */
    vt_clip *fill, *ack;
    int n_fill, n_ack;
    vt_filler_desc *fill_desc;
    int n_sessions;
};

void vt_runtime_config_default(vt_runtime_config *c)
{
    memset(c, 0, sizeof *c);
    vt_config_default(&c->core);
    /* live: a filler only when the answer is not ready 300 ms after the turn */
    c->core.filler_delay_ms = 300;
    /* live: every utterance gets its final from the speech lane, only later
     * on a loaded machine; wait for it rather than fall back early */
    c->core.final_wait_ms = 4000;
    c->stt = "pocketsphinx";
    c->voice = VT_TTS_DEFAULT_VOICE;
    c->brain = "lesson";
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    c->cpu_workers = n > 0 ? (int)n : 2;
    c->io_workers = 8;
}

int vt_runtime_create(const vt_runtime_config *c, vt_runtime **out, char *err, size_t errlen)
{
    char e[512] = "";
    int rc = VT_ENOMEM;
    *out = NULL;
    vt_runtime *rt = calloc(1, sizeof *rt);
    if (!rt)
        goto fail;
    rt->cfg = *c;
    snprintf(rt->voice, sizeof rt->voice, "%s", c->voice ? c->voice : VT_TTS_DEFAULT_VOICE);
    snprintf(rt->stt, sizeof rt->stt, "%s", c->stt ? c->stt : "pocketsphinx");
    snprintf(rt->brain_name, sizeof rt->brain_name, "%s", c->brain ? c->brain : "lesson");
    rt->cfg.voice = rt->voice;
    rt->cfg.stt = rt->stt;
    rt->cfg.brain = rt->brain_name;
    for (size_t i = 0; i < c->n_brain_opts && i < VT_RUNTIME_MAX_OPTS; i++) {
        rt->opt_store[2 * i] = strdup(c->brain_opts[i].key ? c->brain_opts[i].key : "");
        rt->opt_store[2 * i + 1] = strdup(c->brain_opts[i].value ? c->brain_opts[i].value : "");
        if (!rt->opt_store[2 * i] || !rt->opt_store[2 * i + 1])
            goto fail;
        rt->cfg.brain_opts[i] = (vt_opt){rt->opt_store[2 * i], rt->opt_store[2 * i + 1]};
    }
    if (strcmp(rt->stt, "pocketsphinx") == 0) {
        rt->speech = 1;
    } else if (strcmp(rt->stt, "none") != 0) {
        rc = VT_EINVAL;
        snprintf(e, sizeof e, "unknown speech recogniser '%s' (pocketsphinx or none)", rt->stt);
        goto fail;
    }
    if (!(rt->brain = vt_brain_find(rt->brain_name))) {
        rc = VT_EINVAL;
        snprintf(e, sizeof e, "unknown brain '%s' (%s)", rt->brain_name, vt_brain_names());
        goto fail;
    }
    if ((rc = vt_config_validate(&rt->cfg.core, e, sizeof e)) != 0)
        goto fail;

    /* the clips every session shares, in the session voice */
    const vt_tts_ops *tts = NULL;
    void *tts_ctx = NULL;
    if ((rc = vt_tts_open(rt->voice, NULL, 0, &tts, &tts_ctx, e, sizeof e)) != 0)
        goto fail;
    rc = vt_clips_build(tts, tts_ctx, rt->cfg.core.out_rate, vt_default_filler_texts,
                        vt_default_filler_descriptions, vt_default_n_fillers, &rt->fill, e,
                        sizeof e);
    if (rc == 0) {
        rt->n_fill = vt_default_n_fillers;
        rc = vt_clips_build(tts, tts_ctx, rt->cfg.core.out_rate, vt_default_ack_texts, NULL,
                            vt_default_n_acks, &rt->ack, e, sizeof e);
    }
    tts->destroy(tts_ctx);
    if (rc)
        goto fail;
    rt->n_ack = vt_default_n_acks;
    rt->fill_desc = calloc((size_t)rt->n_fill, sizeof *rt->fill_desc);
    if (!rt->fill_desc) {
        rc = VT_ENOMEM;
        goto fail;
    }
    for (int i = 0; i < rt->n_fill; i++)
        rt->fill_desc[i] = (vt_filler_desc){rt->fill[i].text, rt->fill[i].description};

    vt_pool_config pc;
    vt_pool_config_default(&pc);
    pc.max_jobs = 8192;
    pc.max_progress = 65536;
    pc.wake = c->wake;
    pc.wake_ud = c->wake_ud;
    pc.workers = c->cpu_workers > 0 ? c->cpu_workers : 2;
    if ((rc = vt_pool_create(&pc, &rt->cpu)) != 0)
        goto fail;
    pc.workers = c->io_workers > 0 ? c->io_workers : 8;
    if ((rc = vt_pool_create(&pc, &rt->io)) != 0)
        goto fail;
    *out = rt;
    return 0;
fail:
    snprintf(err, errlen, "%s", e[0] ? e : vt_strerror(rc));
    vt_runtime_destroy(rt);
    return rc ? rc : VT_ENOMEM;
}

void vt_runtime_destroy(vt_runtime *rt)
{
    if (!rt)
        return;
    if (rt->cpu)
        vt_pool_destroy(rt->cpu);
    if (rt->io)
        vt_pool_destroy(rt->io);
    vt_clips_free(rt->fill, rt->n_fill);
    vt_clips_free(rt->ack, rt->n_ack);
    free(rt->fill_desc);
    for (size_t i = 0; i < 2 * VT_RUNTIME_MAX_OPTS; i++)
        free(rt->opt_store[i]);
    free(rt);
}

int vt_runtime_drain(vt_runtime *rt)
{
    return vt_pool_drain(rt->cpu, 0) + vt_pool_drain(rt->io, 0);
}

int vt_runtime_sessions(const vt_runtime *rt)
{
    return rt->n_sessions;
}

const vt_runtime_config *vt_runtime_get_config(const vt_runtime *rt)
{
    return &rt->cfg;
}

/* ---- the session ----------------------------------------------------------- */

/* An input of the speech lane, in order. */
typedef enum { SOP_OPEN, SOP_AUDIO, SOP_BEGIN, SOP_END, SOP_KWS } sop_kind;
typedef struct sop {
    struct sop *next;
    sop_kind kind;
    uint32_t utt;
    int flag;          /* KWS on/off; BEGIN: pre-roll in ms */
    int64_t t;         /* AUDIO: arrival time */
    size_t n;
    int16_t pcm[];     /* AUDIO */
} sop;

/* What the speech lane hands back. */
typedef enum { SMSG_PARTIAL, SMSG_FINAL, SMSG_KEYWORD, SMSG_ERROR } smsg_kind;
typedef struct smsg {
    smsg_kind kind;
    uint32_t utt;
    int64_t t;         /* KEYWORD: arrival of the audio that held it */
    char text[1024];
    vt_stt_result *res;
} smsg;

/* A phrase waiting for the synthesis lane. */
typedef struct tts_op {
    struct tts_op *next;
    uint32_t gen, id;
    char text[];
} tts_op;

struct vt_session {
    vt_runtime *rt;
    vt_core *core;
    vt_session_output out;
    void *ud;
    int closed;
    int jobs;                  /* jobs in flight on either pool */
    char character[64];
    char user_id[64];
    const vt_brain_ops *brain;
    void *brain_ctx;
    uint32_t rng;
    int64_t last_deadline;

    /* speech lane: loop-thread side */
    int speech;
    int in_voice;              /* the core's VAD has an utterance open */
    int64_t voice_end_us;      /* ... and the last one ended then */
    sop *ops, *ops_tail;
    size_t queued_samples;
    int lane_busy;
    int overload_reported;
    /* speech lane: job side (one job at a time) */
    char commands[VT_MAX_COMMANDS][VT_MAX_COMMAND_LEN]; /* copied: the core is not ours */
    int n_commands;
    const vt_stt_ops *stt;
    const vt_kws_ops *kws;
    void *stt_ctx, *kws_ctx;
    int kws_on, in_utt;
    uint32_t utt;
    int16_t ring[PREROLL_RING];
    size_t ring_pos, ring_fill;
    size_t since_partial;
    char last_partial[512];

    /* synthesis lane */
    tts_op *tts_q, *tts_tail;
    int tts_busy;
    const vt_tts_ops *tts;
    void *tts_ctx;
};

static void session_free(vt_session *s);

static int64_t session_clock(void *ud)
{
    (void)ud;
    return vt_now_us();
}

static void reschedule(vt_session *s)
{
    if (s->closed || !s->out.schedule)
        return;
    int64_t d = vt_core_next_deadline(s->core);
    if (d != s->last_deadline) {
        s->last_deadline = d;
        s->out.schedule(s->ud, d);
    }
}

static void job_done(vt_session *s)
{
    s->jobs--;
    if (s->closed && s->jobs == 0)
        session_free(s);
}

static int submit(vt_session *s, vt_pool *p, uint32_t gen, vt_job_run_fn run,
                  vt_job_complete_fn complete, vt_job_progress_fn progress, vt_job_drop_fn drop,
                  void *arg)
{
    vt_job_desc d = {.owner = s, .gen = gen, .run = run, .complete = complete,
                     .progress = progress, .drop = drop, .arg = arg};
    int rc = vt_pool_submit(p, &d, NULL);
    if (rc == 0)
        s->jobs++;
    return rc;
}

static void report(vt_session *s, const char *code, const char *msg)
{
    if (s->closed || !s->out.event)
        return;
    vt_event ev = {.type = VT_EV_ERROR, .state = vt_core_state(s->core),
                   .is_audio_playing = vt_core_is_audio_playing(s->core), .text = msg,
                   .text2 = code};
    s->out.event(s->ud, &ev, vt_now_us());
}

/* ---- speech lane ---- */

typedef struct speech_job {
    vt_session *s;
    sop *ops;
} speech_job;

static void ring_push(vt_session *s, const int16_t *pcm, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        s->ring[s->ring_pos] = pcm[i];
        s->ring_pos = (s->ring_pos + 1) % PREROLL_RING;
    }
    s->ring_fill = s->ring_fill + n > PREROLL_RING ? PREROLL_RING : s->ring_fill + n;
}

/* Feed the last n samples of the ring to the recogniser. */
static void ring_feed(vt_session *s, size_t n)
{
    if (n > s->ring_fill)
        n = s->ring_fill;
    size_t start = (s->ring_pos + PREROLL_RING - n) % PREROLL_RING;
    while (n) {
        size_t run = PREROLL_RING - start < n ? PREROLL_RING - start : n;
        s->stt->feed(s->stt_ctx, s->ring + start, run);
        n -= run;
        start = (start + run) % PREROLL_RING;
    }
}

static int post(vt_job *job, smsg_kind kind, uint32_t utt, int64_t t, const char *text,
                vt_stt_result *res)
{
    smsg *m = calloc(1, sizeof *m);
    if (!m) {
        free(res);
        return VT_ENOMEM;
    }
    m->kind = kind;
    m->utt = utt;
    m->t = t;
    m->res = res;
    size_t l = text ? strnlen(text, sizeof m->text - 1) : 0;
    memcpy(m->text, text ? text : "", l);
    m->text[l] = 0;
    return vt_job_post(job, m);
}

static int speech_open(vt_session *s, vt_job *job)
{
    char e[512] = "";
    int rc = vt_stt_pocketsphinx.create(NULL, 0, &s->stt_ctx, e, sizeof e);
    if (rc == 0) {
        s->stt = &vt_stt_pocketsphinx;
        vt_keyword kw[VT_MAX_COMMANDS];
        for (int i = 0; i < s->n_commands; i++)
            kw[i] = (vt_keyword){s->commands[i], 0};
        rc = vt_kws_pocketsphinx.create(NULL, 0, kw, (size_t)s->n_commands, &s->kws_ctx, e,
                                        sizeof e);
        if (rc == 0)
            s->kws = &vt_kws_pocketsphinx;
    }
    if (rc) {
        char msg[600];
        snprintf(msg, sizeof msg, "the speech recogniser did not start (%s); typed messages still work",
                 e[0] ? e : vt_strerror(rc));
        post(job, SMSG_ERROR, 0, 0, msg, NULL);
    }
    return rc;
}

static int speech_run(vt_job *job, void *arg, const volatile int *abort)
{
    speech_job *j = arg;
    vt_session *s = j->s;
    for (sop *o = j->ops; o && !*abort; o = o->next) {
        switch (o->kind) {
        case SOP_OPEN:
            if (!s->stt)
                speech_open(s, job);
            break;
        case SOP_AUDIO: {
            ring_push(s, o->pcm, o->n);
            vt_kws_hit hit;
            if (s->kws && s->kws_on && s->kws->feed(s->kws_ctx, o->pcm, o->n, &hit) == 1)
                post(job, SMSG_KEYWORD, 0, o->t, hit.word, NULL);
            if (s->stt && s->in_utt) {
                s->stt->feed(s->stt_ctx, o->pcm, o->n);
                s->since_partial += o->n;
                if (s->since_partial >= PARTIAL_EVERY_SAMPLES) {
                    char text[512];
                    s->since_partial = 0;
                    if (s->stt->partial(s->stt_ctx, text, sizeof text) > 0 &&
                        strcmp(text, s->last_partial) != 0) {
                        snprintf(s->last_partial, sizeof s->last_partial, "%s", text);
                        post(job, SMSG_PARTIAL, s->utt, o->t, text, NULL);
                    }
                }
            }
            break;
        }
        case SOP_BEGIN:
            if (!s->stt)
                break;
            if (s->in_utt) {
                vt_stt_result *junk = malloc(sizeof *junk);
                if (junk)
                    s->stt->end(s->stt_ctx, junk);
                free(junk);
            }
            s->stt->begin(s->stt_ctx);
            s->in_utt = 1;
            s->utt = o->utt;
            s->since_partial = 0;
            s->last_partial[0] = 0;
            ring_feed(s, (size_t)o->flag * VT_IN_RATE / 1000);
            break;
        case SOP_END:
            if (s->stt && s->in_utt && s->utt == o->utt) {
                vt_stt_result *res = calloc(1, sizeof *res);
                s->in_utt = 0;
                if (res && s->stt->end(s->stt_ctx, res) < 0)
                    res->text[0] = 0, res->n_words = 0;
                post(job, SMSG_FINAL, o->utt, o->t, res ? res->text : "", res);
            } else if (!s->stt) {
                /* no recogniser: the utterance still ends, with no text */
                post(job, SMSG_FINAL, o->utt, o->t, "", NULL);
            }
            break;
        case SOP_KWS:
            if (o->flag && !s->kws_on && s->kws)
                s->kws->reset(s->kws_ctx);
            s->kws_on = o->flag;
            break;
        }
    }
    return *abort ? VT_ECANCELED : 0;
}

static void speech_progress(void *arg, void *msg)
{
    speech_job *j = arg;
    vt_session *s = j->s;
    smsg *m = msg;
    int64_t now = vt_now_us();
    if (!s->closed) {
        switch (m->kind) {
        case SMSG_PARTIAL:
            vt_core_stt_partial(s->core, m->utt, m->text, now);
            break;
        case SMSG_FINAL: {
            vt_word words[128];
            size_t n = 0;
            if (m->res)
                for (; n < m->res->n_words && n < 128; n++)
                    words[n] = (vt_word){m->res->words[n].text,
                                         VT_MS_TO_IN_SAMPLES(m->res->words[n].start_ms),
                                         VT_MS_TO_IN_SAMPLES(m->res->words[n].end_ms)};
            vt_core_stt_final(s->core, m->utt, m->text, words, n, now);
            break;
        }
        case SMSG_KEYWORD:
            /* a command needs a voice behind it: the spotter can fire on
             * the near-silence an echo canceller leaves */
            if (!s->in_voice && m->t - s->voice_end_us > 1000000)
                break;
            /* the decision is made now, but the input that triggered it
             * arrived at m->t: the latency reported covers the decoding */
            vt_core_keyword(s->core, m->text, m->t, now);
            break;
        case SMSG_ERROR:
            report(s, "session_error", m->text);
            break;
        }
        reschedule(s);
    }
    free(m->res);
    free(m);
}

static void speech_drop(void *arg, void *msg)
{
    (void)arg;
    smsg *m = msg;
    free(m->res);
    free(m);
}

static void speech_kick(vt_session *s);

static void speech_complete(void *arg, int status)
{
    speech_job *j = arg;
    vt_session *s = j->s;
    (void)status;
    while (j->ops) {
        sop *n = j->ops->next;
        free(j->ops);
        j->ops = n;
    }
    free(j);
    s->lane_busy = 0;
    if (!s->closed)
        speech_kick(s);
    job_done(s);
}

/* Hand the queued ops to a lane job, unless one is running. */
static void speech_kick(vt_session *s)
{
    if (s->lane_busy || !s->ops)
        return;
    speech_job *j = malloc(sizeof *j);
    if (!j)
        return;
    j->s = s;
    j->ops = s->ops;
    if (submit(s, s->rt->cpu, 0, speech_run, speech_complete, speech_progress, speech_drop, j)) {
        free(j);
        return; /* the pool is full: try again on the next input */
    }
    s->ops = s->ops_tail = NULL;
    s->queued_samples = 0;
    s->lane_busy = 1;
}

static sop *sop_add(vt_session *s, sop_kind kind, size_t n)
{
    sop *o = calloc(1, sizeof *o + n * sizeof(int16_t));
    if (!o)
        return NULL;
    o->kind = kind;
    o->n = n;
    if (s->ops_tail)
        s->ops_tail->next = o;
    else
        s->ops = o;
    s->ops_tail = o;
    return o;
}

/* ---- synthesis lane ---- */

typedef struct tts_job {
    vt_session *s;
    tts_op *op;
    int out_rate;
    char err[256];
} tts_job;

typedef struct tts_chunk {
    size_t n, n_words;
    vt_word *words;
    char **word_text;
    int16_t pcm[];
} tts_chunk;

static void chunk_free(tts_chunk *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n_words; i++)
        free(c->word_text[i]);
    free(c->word_text);
    free(c->words);
    free(c);
}

static int tts_on_chunk(void *ud, const int16_t *pcm, size_t n, const vt_word *words,
                        size_t n_words)
{
    vt_job *job = ud;
    tts_chunk *c = calloc(1, sizeof *c + n * sizeof *pcm);
    if (!c)
        return 1;
    memcpy(c->pcm, pcm, n * sizeof *pcm);
    c->n = n;
    if (n_words) {
        c->words = calloc(n_words, sizeof *c->words);
        c->word_text = calloc(n_words, sizeof *c->word_text);
        if (!c->words || !c->word_text) {
            chunk_free(c);
            return 1;
        }
        for (size_t i = 0; i < n_words; i++) {
            c->word_text[i] = strdup(words[i].text ? words[i].text : "");
            c->words[i] = words[i];
            c->words[i].text = c->word_text[i] ? c->word_text[i] : "";
            c->n_words = i + 1;
        }
    }
    return vt_job_post(job, c) != 0;
}

static int tts_run(vt_job *job, void *arg, const volatile int *abort)
{
    tts_job *j = arg;
    vt_session *s = j->s;
    if (*abort)
        return VT_ECANCELED;
    if (!s->tts) {
        int rc = vt_tts_open(s->rt->voice, NULL, 0, &s->tts, &s->tts_ctx, j->err, sizeof j->err);
        if (rc)
            return rc;
    }
    int rc = vt_tts_synth_at(s->tts, s->tts_ctx, j->out_rate, j->op->text, tts_on_chunk, job,
                             abort);
    if (*abort)
        return VT_ECANCELED;
    if (rc && !j->err[0])
        snprintf(j->err, sizeof j->err, "synthesis failed: %s", vt_strerror(rc));
    return rc;
}

static void tts_progress(void *arg, void *msg)
{
    tts_job *j = arg;
    vt_session *s = j->s;
    tts_chunk *c = msg;
    if (!s->closed) {
        vt_core_tts_audio(s->core, j->op->gen, j->op->id, c->pcm, c->n, c->words, c->n_words,
                          vt_now_us());
        reschedule(s);
    }
    chunk_free(c);
}

static void tts_drop(void *arg, void *msg)
{
    (void)arg;
    chunk_free(msg);
}

static void tts_kick(vt_session *s);

static void tts_complete(void *arg, int status)
{
    tts_job *j = arg;
    vt_session *s = j->s;
    if (!s->closed && status != VT_ECANCELED) {
        int64_t now = vt_now_us();
        if (status == 0)
            vt_core_tts_done(s->core, j->op->gen, j->op->id, now);
        else
            vt_core_tts_error(s->core, j->op->gen, j->op->id, j->err, now);
        reschedule(s);
    }
    free(j->op);
    free(j);
    s->tts_busy = 0;
    if (!s->closed)
        tts_kick(s);
    job_done(s);
}

static void tts_kick(vt_session *s)
{
    if (s->tts_busy || !s->tts_q)
        return;
    tts_job *j = calloc(1, sizeof *j);
    if (!j)
        return;
    j->s = s;
    j->op = s->tts_q;
    j->out_rate = vt_core_config(s->core)->out_rate;
    if (submit(s, s->rt->cpu, j->op->gen, tts_run, tts_complete, tts_progress, tts_drop, j)) {
        free(j);
        return;
    }
    s->tts_q = j->op->next;
    if (!s->tts_q)
        s->tts_tail = NULL;
    j->op->next = NULL;
    s->tts_busy = 1;
}

static void tts_drop_gen(vt_session *s, uint32_t gen)
{
    tts_op **pp = &s->tts_q;
    s->tts_tail = NULL;
    while (*pp) {
        if ((*pp)->gen == gen) {
            tts_op *d = *pp;
            *pp = d->next;
            free(d);
        } else {
            s->tts_tail = *pp;
            pp = &(*pp)->next;
        }
    }
}

/* ---- brain jobs ---- */

typedef struct brain_job {
    vt_session *s;
    int kind;                 /* 0 answer, 1 verdict, 2 filler */
    uint32_t gen, req;
    char *text;
    vt_turn *turns;           /* answer: a copy of the memory */
    size_t n_turns;
    int result;
    uint32_t rng;
    char err[512];
} brain_job;

static void brain_job_free(brain_job *j)
{
    for (size_t i = 0; i < j->n_turns; i++) {
        free(j->turns[i].text);
        free(j->turns[i].unspoken);
    }
    free(j->turns);
    free(j->text);
    free(j);
}

static int brain_token(void *ud, const char *tok)
{
    char *t = strdup(tok);
    return !t || vt_job_post(ud, t) != 0;
}

static int brain_run(vt_job *job, void *arg, const volatile int *abort)
{
    brain_job *j = arg;
    vt_session *s = j->s;
    if (*abort)
        return VT_ECANCELED;
    switch (j->kind) {
    case 0: {
        int rc = s->brain->reply(s->brain_ctx, j->turns, j->n_turns, brain_token, job, abort);
        if (*abort)
            return VT_ECANCELED;
        if (rc)
            snprintf(j->err, sizeof j->err, "%s",
                     vt_brain_error()[0] ? vt_brain_error() : vt_strerror(rc));
        return rc;
    }
    case 1:
        j->result = vt_brain_judge_or_heuristic(s->brain, s->brain_ctx, j->text, abort, NULL);
        return 0;
    default:
        j->result = vt_brain_filler_or_random(s->brain, s->brain_ctx, j->text, s->rt->fill_desc,
                                              (size_t)s->rt->n_fill, abort, &j->rng, NULL);
        return 0;
    }
}

static void brain_progress(void *arg, void *msg)
{
    brain_job *j = arg;
    vt_session *s = j->s;
    if (!s->closed) {
        vt_core_llm_token(s->core, j->gen, msg, vt_now_us());
        reschedule(s);
    }
    free(msg);
}

static void brain_drop(void *arg, void *msg)
{
    (void)arg;
    free(msg);
}

static void brain_complete(void *arg, int status)
{
    brain_job *j = arg;
    vt_session *s = j->s;
    if (!s->closed && status != VT_ECANCELED) {
        int64_t now = vt_now_us();
        if (j->kind == 0 && status == 0)
            vt_core_llm_done(s->core, j->gen, now);
        else if (j->kind == 0)
            vt_core_llm_error(s->core, j->gen, j->err, now);
        else if (j->kind == 1)
            vt_core_verdict(s->core, j->req, j->result, now);
        else
            vt_core_filler_choice(s->core, j->gen, j->result, now);
        reschedule(s);
    }
    brain_job_free(j);
    job_done(s);
}

static void brain_submit(vt_session *s, int kind, const vt_action *a, int64_t now)
{
    brain_job *j = calloc(1, sizeof *j);
    if (!j)
        goto fail;
    j->s = s;
    j->kind = kind;
    j->gen = a->gen;
    j->req = a->id;
    j->rng = s->rng++ * 2654435761u + 1;
    if (!(j->text = strdup(a->text ? a->text : "")))
        goto fail;
    if (kind == 0) {
        const vt_turn *h;
        size_t n = vt_core_history(s->core, &h);
        j->turns = calloc(n ? n : 1, sizeof *j->turns);
        if (!j->turns)
            goto fail;
        for (size_t i = 0; i < n; i++) {
            j->turns[i] = h[i];
            j->turns[i].text = strdup(h[i].text ? h[i].text : "");
            j->turns[i].unspoken = h[i].unspoken ? strdup(h[i].unspoken) : NULL;
            j->n_turns = i + 1;
            if (!j->turns[i].text)
                goto fail;
        }
    }
    if (submit(s, s->rt->io, kind == 1 ? 0 : a->gen, brain_run, brain_complete, brain_progress,
               brain_drop, j) == 0)
        return;
fail:
    if (j)
        brain_job_free(j);
    /* the answer must not hang: tell the core */
    if (kind == 0)
        vt_core_llm_error(s->core, a->gen, "the tutor is overloaded: too many jobs waiting", now);
    else if (kind == 1)
        vt_core_verdict(s->core, a->id, vt_judge_heuristic(a->text ? a->text : ""), now);
    else
        vt_core_filler_choice(s->core, a->gen, -1, now);
}

/* ---- the core's actions ---- */

static void sink(void *ud, const vt_action *a, int64_t now)
{
    vt_session *s = ud;
    if (s->closed)
        return;
    switch (a->type) {
    case VT_ACT_STATE:
        break;
    case VT_ACT_EVENT:
        if (s->out.event)
            s->out.event(s->ud, a->ev, now);
        break;
    case VT_ACT_AUDIO:
        if (s->out.audio)
            s->out.audio(s->ud, a->pcm, a->n, a->kind, now);
        break;
    case VT_ACT_STT_BEGIN:
    case VT_ACT_STT_END:
    case VT_ACT_KWS: {
        if (a->type == VT_ACT_STT_BEGIN)
            s->in_voice = 1;
        if (a->type == VT_ACT_STT_END) {
            s->in_voice = 0;
            s->voice_end_us = now;
        }
        if (!s->speech) {
            if (a->type == VT_ACT_STT_END)
                vt_core_stt_final(s->core, a->id, "", NULL, 0, now);
            break;
        }
        sop *o = sop_add(s, a->type == VT_ACT_STT_BEGIN ? SOP_BEGIN
                            : a->type == VT_ACT_STT_END ? SOP_END
                                                        : SOP_KWS,
                         0);
        if (o) {
            o->utt = a->id;
            o->t = now;
            o->flag = a->type == VT_ACT_STT_BEGIN ? a->preroll_ms : a->flag;
        }
        break;
    }
    case VT_ACT_JUDGE:
        brain_submit(s, 1, a, now);
        break;
    case VT_ACT_CHOOSE_FILLER:
        brain_submit(s, 2, a, now);
        break;
    case VT_ACT_LLM_START:
        brain_submit(s, 0, a, now);
        break;
    case VT_ACT_TTS: {
        size_t l = strlen(a->text ? a->text : "");
        tts_op *o = malloc(sizeof *o + l + 1);
        if (!o) {
            vt_core_tts_error(s->core, a->gen, a->id, "out of memory", now);
            break;
        }
        o->next = NULL;
        o->gen = a->gen;
        o->id = a->id;
        memcpy(o->text, a->text ? a->text : "", l + 1);
        if (s->tts_tail)
            s->tts_tail->next = o;
        else
            s->tts_q = o;
        s->tts_tail = o;
        tts_kick(s);
        break;
    }
    case VT_ACT_CANCEL:
        tts_drop_gen(s, a->gen);
        vt_pool_cancel_gen(s->rt->cpu, s, a->gen);
        vt_pool_cancel_gen(s->rt->io, s, a->gen);
        break;
    }
}

/* ---- public ---- */

static int open_brain(vt_session *s, const char *character, char *msg, size_t msglen)
{
    vt_runtime *rt = s->rt;
    vt_opt opts[VT_RUNTIME_MAX_OPTS + 2];
    size_t n = 0;
    const char *def = vt_opt_get(rt->cfg.brain_opts, rt->cfg.n_brain_opts, "lesson",
                                 rt->brain == &vt_brain_lesson ? "times-tables" : NULL);
    for (size_t i = 0; i < rt->cfg.n_brain_opts; i++)
        if (strcmp(rt->cfg.brain_opts[i].key, "lesson") != 0 &&
            strcmp(rt->cfg.brain_opts[i].key, "user_id") != 0)
            opts[n++] = rt->cfg.brain_opts[i];
    opts[n++] = (vt_opt){"user_id", s->user_id};
    char e[512] = "";
    int rc = VT_ENOTFOUND;
    if (character && character[0]) {
        opts[n] = (vt_opt){"lesson", character};
        rc = rt->brain->create(opts, n + 1, &s->brain_ctx, e, sizeof e);
        if (rc == 0) {
            snprintf(s->character, sizeof s->character, "%s", character);
            snprintf(msg, msglen, "Session started with %s.", character);
            return 0;
        }
    }
    if (def)
        opts[n++] = (vt_opt){"lesson", def};
    rc = rt->brain->create(opts, n, &s->brain_ctx, e, sizeof e);
    if (rc) {
        snprintf(msg, msglen, "the %s brain did not start: %s", rt->brain_name,
                 e[0] ? e : vt_strerror(rc));
        return rc;
    }
    snprintf(s->character, sizeof s->character, "%s", def ? def : "tutor");
    if (character && character[0])
        snprintf(msg, msglen,
                 "Unknown character '%s': started the default tutor (%s) instead. "
                 "Known lessons are in the lessons/ folder.",
                 character, s->character);
    else
        snprintf(msg, msglen, "Session started with %s.", s->character);
    return 0;
}

int vt_session_create(vt_runtime *rt, const vt_session_options *o, const vt_session_output *out,
                      void *ud, vt_session **sp, char *message, size_t message_len)
{
    char scratch[512];
    if (!message) {
        message = scratch;
        message_len = sizeof scratch;
    }
    message[0] = 0;
    *sp = NULL;
    vt_session *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(message, message_len, "out of memory");
        return VT_ENOMEM;
    }
    s->rt = rt;
    s->out = *out;
    s->ud = ud;
    s->last_deadline = INT64_MIN;
    s->voice_end_us = INT64_MIN / 2;
    s->rng = (uint32_t)vt_now_us();
    s->speech = rt->speech && (!o || o->speech);
    snprintf(s->user_id, sizeof s->user_id, "%s", o && o->user_id && o->user_id[0] ? o->user_id
                                                                                  : "default");
    s->brain = rt->brain;
    int rc = open_brain(s, o ? o->character : NULL, message, message_len);
    if (rc) {
        free(s);
        return rc;
    }
    vt_config cfg = rt->cfg.core;
    snprintf(cfg.character, sizeof cfg.character, "%s", s->character);
    cfg.seed = s->rng;
    char e[256];
    if ((rc = vt_core_create(&cfg, sink, s, &s->core, e, sizeof e)) != 0) {
        snprintf(message, message_len, "%s", e);
        s->brain->destroy(s->brain_ctx);
        free(s);
        return rc;
    }
    vt_core_set_clips(s->core, rt->fill, rt->n_fill, rt->ack, rt->n_ack);
    memcpy(s->commands, cfg.commands, sizeof s->commands);
    s->n_commands = cfg.n_commands;
    vt_core_set_clock(s->core, session_clock, s);
    rt->n_sessions++;
    if (s->speech) {
        sop_add(s, SOP_OPEN, 0);
        speech_kick(s);
    }
    *sp = s;
    return 0;
}

static void session_free(vt_session *s)
{
    if (s->stt)
        s->stt->destroy(s->stt_ctx);
    if (s->kws)
        s->kws->destroy(s->kws_ctx);
    if (s->tts)
        s->tts->destroy(s->tts_ctx);
    if (s->brain_ctx)
        s->brain->destroy(s->brain_ctx);
    s->rt->n_sessions--;
    free(s);
}

void vt_session_destroy(vt_session *s)
{
    if (!s || s->closed)
        return;
    s->closed = 1;
    vt_pool_cancel_owner(s->rt->cpu, s);
    vt_pool_cancel_owner(s->rt->io, s);
    while (s->ops) {
        sop *n = s->ops->next;
        free(s->ops);
        s->ops = n;
    }
    s->ops_tail = NULL;
    while (s->tts_q) {
        tts_op *n = s->tts_q->next;
        free(s->tts_q);
        s->tts_q = n;
    }
    s->tts_tail = NULL;
    vt_core_destroy(s->core);
    s->core = NULL;
    if (s->jobs == 0)
        session_free(s);
}

const char *vt_session_character(const vt_session *s)
{
    return s->character;
}

vt_core *vt_session_core(vt_session *s)
{
    return s->core;
}

int vt_session_audio(vt_session *s, const int16_t *pcm, size_t n, int64_t now)
{
    if (!s || s->closed || (!pcm && n))
        return VT_EINVAL;
    if (s->speech) {
        if (s->queued_samples + n > MAX_QUEUED_AUDIO) {
            if (!s->overload_reported)
                report(s, "overloaded",
                       "the speech recogniser is more than 30 s behind: audio is being dropped; "
                       "this machine cannot keep up (too many sessions for its cores?)");
            s->overload_reported = 1;
        } else {
            sop *o = sop_add(s, SOP_AUDIO, n);
            if (o) {
                memcpy(o->pcm, pcm, n * sizeof *pcm);
                o->t = now;
                s->queued_samples += n;
            }
        }
    }
    /* the core after the audio op: its utterance begin/end follow the frame */
    int rc = vt_core_audio(s->core, pcm, n, now);
    if (s->speech)
        speech_kick(s);
    reschedule(s);
    return rc;
}

int vt_session_key(vt_session *s, int64_t now)
{
    if (!s || s->closed)
        return VT_EINVAL;
    int rc = vt_core_key(s->core, now);
    speech_kick(s);
    reschedule(s);
    return rc;
}

int vt_session_text(vt_session *s, const char *text, int64_t now)
{
    if (!s || s->closed)
        return VT_EINVAL;
    int rc = vt_core_text(s->core, text, now);
    speech_kick(s);
    reschedule(s);
    return rc;
}

int vt_session_playback(vt_session *s, uint64_t samples, int64_t now)
{
    if (!s || s->closed)
        return VT_EINVAL;
    int rc = vt_core_playback(s->core, samples, now);
    reschedule(s);
    return rc;
}

int vt_session_welcome(vt_session *s, char *text, size_t cap, int64_t now)
{
    char buf[1024];
    if (!s || s->closed)
        return VT_EINVAL;
    if (vt_core_has_active_response(s->core) || vt_core_state(s->core) != VT_STATE_LISTENING)
        return VT_ESTATE;
    int l = vt_brain_greeting(s->brain, s->brain_ctx, buf, sizeof buf);
    if (l <= 0)
        snprintf(buf, sizeof buf, "Hello! I am your tutor. Ask me anything.");
    int rc = vt_core_say(s->core, buf, now);
    if (text && cap)
        snprintf(text, cap, "%s", buf);
    speech_kick(s);
    reschedule(s);
    return rc ? rc : (int)strlen(buf);
}

int vt_session_tick(vt_session *s, int64_t now)
{
    if (!s || s->closed)
        return VT_EINVAL;
    s->last_deadline = INT64_MIN; /* the timer that called us has fired */
    int rc = vt_core_tick(s->core, now);
    speech_kick(s);
    reschedule(s);
    return rc;
}

int64_t vt_session_next_deadline(const vt_session *s)
{
    return s && !s->closed ? vt_core_next_deadline(s->core) : INT64_MAX;
}

size_t vt_session_memory(const vt_session *s)
{
    size_t m = sizeof *s + vt_core_memory(s->core);
    for (const sop *o = s->ops; o; o = o->next)
        m += sizeof *o + o->n * sizeof(int16_t);
    for (const tts_op *o = s->tts_q; o; o = o->next)
        m += sizeof *o + strlen(o->text) + 1;
    return m;
}
