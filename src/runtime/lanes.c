/*
 * The session's two lanes (driver.h): engine work that must run in order on
 * one engine context, one job at a time, on the executor's cpu workers.
 *
 * Speech lane: microphone audio, utterance begin/end (the core's
 * VT_ACT_STT_BEGIN/END) and the keyword spotter's on/off are queued as ops
 * in arrival order; a job takes every op queued so far. It keeps the last
 * 2 s of audio for an utterance's pre-roll, gives interim text every
 * partial_every samples, the final text with word times at the end, and
 * keyword hits stamped with the arrival of the audio that held them.
 * Decoders are opened by the first job, so a new session never stalls the
 * loop thread. With a final recogniser in the setup (a remote one) the
 * lane also keeps each utterance's audio, pre-roll included, and hands it
 * with its own final to lane_final.c, which gives the core the final text.
 * Before each utterance the recogniser is told what the brain
 * expects (its answers and the lesson's commands, asked on the loop thread
 * when the utterance begins, vt_stt_ops.expect), and so is the core's end
 * of turn (vt_core_expect): a learner's answer is heard and judged in the
 * lesson's context.
 *
 * Synthesis lane: one phrase job at a time, in order; chunks are resampled
 * to the output rate and handed to the core as job progress. When the
 * synthesizer fails on a phrase and the setup has a fallback voice, that
 * voice speaks the phrase and the rest of its answer (one `tts_error`
 * event says so).
 */
#include "runtime/driver_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engines/brain/brain.h"
#include "engines/speech/speech.h"

/* ---- speech lane ------------------------------------------------------- */

#define EXPECT_N 8    /* expected answers passed on per utterance */

/* What the speech lane hands back. */
typedef enum { SMSG_PARTIAL, SMSG_FINAL, SMSG_KEYWORD, SMSG_ERROR } smsg_kind;
typedef struct smsg {
    smsg_kind kind;
    uint32_t utt;
    int64_t t;         /* arrival of the audio (or op) it came from */
    char text[1024];
    vt_stt_result *res;
    int16_t *pcm;      /* FINAL with a final recogniser: the utterance */
    size_t n_pcm;
} smsg;

typedef struct speech_job {
    vt_session *s;
    vt__sop *ops;
} speech_job;

static void ring_push(vt_session *s, const int16_t *pcm, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        s->ring[s->ring_pos] = pcm[i];
        s->ring_pos = (s->ring_pos + 1) % VT__PREROLL_RING;
    }
    s->ring_fill = s->ring_fill + n > VT__PREROLL_RING ? VT__PREROLL_RING : s->ring_fill + n;
}

/* Feed the last n samples of the ring to the recogniser. */
static void ring_feed(vt_session *s, size_t n)
{
    if (n > s->ring_fill)
        n = s->ring_fill;
    size_t start = (s->ring_pos + VT__PREROLL_RING - n) % VT__PREROLL_RING;
    while (n) {
        size_t run = VT__PREROLL_RING - start < n ? VT__PREROLL_RING - start : n;
        s->stt->feed(s->stt_ctx, s->ring + start, run);
        n -= run;
        start = (start + run) % VT__PREROLL_RING;
    }
}

/* The utterance's audio for the final recogniser (job side). Beyond
 * VT__MAX_QUEUED_AUDIO the rest is not kept: the remote engine hears the
 * first 30 s. */
static void utt_keep(vt_session *s, const int16_t *pcm, size_t n)
{
    if (!s->final_on || !n)
        return;
    if (s->utt_n + n > VT__MAX_QUEUED_AUDIO)
        n = VT__MAX_QUEUED_AUDIO - s->utt_n;
    if (s->utt_n + n > s->utt_cap) {
        size_t cap = s->utt_cap ? s->utt_cap : VT_IN_RATE * 4;
        while (cap < s->utt_n + n)
            cap *= 2;
        int16_t *p = realloc(s->utt_pcm, cap * sizeof *p);
        if (!p)
            return; /* the remote engine hears less; the local final stands */
        s->utt_pcm = p;
        s->utt_cap = cap;
    }
    memcpy(s->utt_pcm + s->utt_n, pcm, n * sizeof *pcm);
    s->utt_n += n;
}

/* The pre-roll (the last n samples of the ring) into the kept audio. */
static void utt_keep_ring(vt_session *s, size_t n)
{
    if (n > s->ring_fill)
        n = s->ring_fill;
    size_t start = (s->ring_pos + VT__PREROLL_RING - n) % VT__PREROLL_RING;
    while (n) {
        size_t run = VT__PREROLL_RING - start < n ? VT__PREROLL_RING - start : n;
        utt_keep(s, s->ring + start, run);
        n -= run;
        start = (start + run) % VT__PREROLL_RING;
    }
}

/* Posts a message; it owns res and pcm from here. A cancelled job's message
 * is the executor's (it goes to speech_drop); any other failure leaves it
 * here, and it is freed. */
static int post_pcm(vt_session *s, vt_exec_job *job, smsg_kind kind, uint32_t utt, int64_t t,
                    const char *text, vt_stt_result *res, int16_t *pcm, size_t n_pcm)
{
    smsg *m = calloc(1, sizeof *m);
    if (!m) {
        free(res);
        free(pcm);
        return VT_ENOMEM;
    }
    m->kind = kind;
    m->utt = utt;
    m->t = t;
    m->res = res;
    m->pcm = pcm;
    m->n_pcm = n_pcm;
    size_t l = text ? strnlen(text, sizeof m->text - 1) : 0;
    memcpy(m->text, text ? text : "", l);
    m->text[l] = 0;
    int rc = s->x.ops->post(s->x.impl, job, m);
    if (rc && rc != VT_ECANCELED) {
        free(m->res);
        free(m->pcm);
        free(m);
    }
    return rc;
}

static int post(vt_session *s, vt_exec_job *job, smsg_kind kind, uint32_t utt, int64_t t,
                const char *text, vt_stt_result *res)
{
    return post_pcm(s, job, kind, utt, t, text, res, NULL, 0);
}

static int speech_open(vt_session *s, vt_exec_job *job)
{
    char e[512] = "";
    s->speech_opened = 1;
    int rc = s->eng.open_speech(s->eng.ud, &s->cfg, &s->stt, &s->stt_ctx, &s->kws, &s->kws_ctx,
                                e, sizeof e);
    if (rc) {
        char msg[600];
        snprintf(msg, sizeof msg, "the speech recogniser did not start (%s); typed messages still work",
                 e[0] ? e : vt_strerror(rc));
        post(s, job, SMSG_ERROR, 0, 0, msg, NULL);
    }
    return rc;
}

/* Job side: hand the utterance's expectation to the recogniser. */
static void speech_expect(vt_session *s, const vt__sop *o)
{
    if (!s->stt->expect || o->n_expect < 0)
        return;
    const char *ans[EXPECT_N], *const *lesson = NULL, *cmds[64];
    size_t n = 0, n_cmds = 0, n_lesson = 0;
    for (; n < (size_t)o->n_expect && n < EXPECT_N; n++)
        ans[n] = o->expect[n];
    if (n)
        n_lesson = vt_lesson_commands(&lesson);
    /* the lesson's commands, and the interruption words ("stop"), so that a
     * command is heard as itself and not pulled to an answer */
    for (size_t i = 0; i < n_lesson && n_cmds < 64; i++)
        cmds[n_cmds++] = lesson[i];
    for (int i = 0; n && i < s->cfg.n_commands && n_cmds < 64; i++)
        if (s->cfg.commands[i][0])
            cmds[n_cmds++] = s->cfg.commands[i];
    s->stt->expect(s->stt_ctx, ans, n, cmds, n_cmds);
}

/* Loop side, as an utterance begins: what the brain expects now, for the
 * recogniser (the op) and the core's end of turn. */
static void begin_expect(vt_session *s, vt__sop *o)
{
    char (*ph)[VT_EXPECTED_PHRASE_MAX] = calloc(EXPECT_N, sizeof *ph);
    int n = ph && s->eng.brain ? vt_brain_expected(s->eng.brain, s->eng.brain_ctx, ph,
                                                   EXPECT_N)
                               : 0;
    if (n < 0)
        n = 0;
    o->expect = ph;
    o->n_expect = ph ? n : -1;
    const char *list[EXPECT_N];
    for (int i = 0; i < n; i++)
        list[i] = ph[i];
    vt_core_expect(s->core, list, (size_t)n);
}

static void sop_free(vt__sop *o)
{
    free(o->expect);
    free(o);
}

static int speech_run(vt_exec_job *job, void *arg, const volatile int *abort)
{
    speech_job *j = arg;
    vt_session *s = j->s;
    for (vt__sop *o = j->ops; o && !*abort; o = o->next) {
        switch (o->kind) {
        case SOP_OPEN:
            if (!s->speech_opened && speech_open(s, job) == 0 && s->kws && !s->kws_on &&
                s->kws->pause)
                s->kws->pause(s->kws_ctx); /* listens from the first SOP_KWS on */
            break;
        case SOP_AUDIO: {
            ring_push(s, o->pcm, o->n);
            vt_kws_hit hit;
            if (s->kws && s->kws_on && s->kws->feed(s->kws_ctx, o->pcm, o->n, &hit) == 1)
                post(s, job, SMSG_KEYWORD, 0, o->t, hit.word, NULL);
            if (s->stt && s->in_utt) {
                utt_keep(s, o->pcm, o->n);
                s->stt->feed(s->stt_ctx, o->pcm, o->n);
                s->since_partial += o->n;
                if (s->since_partial >= s->partial_every) {
                    char text[512];
                    s->since_partial = 0;
                    if (s->stt->partial(s->stt_ctx, text, sizeof text) > 0 &&
                        strcmp(text, s->last_partial) != 0) {
                        snprintf(s->last_partial, sizeof s->last_partial, "%s", text);
                        post(s, job, SMSG_PARTIAL, s->utt, o->t, text, NULL);
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
            speech_expect(s, o);
            s->stt->begin(s->stt_ctx);
            s->in_utt = 1;
            s->utt = o->utt;
            s->since_partial = 0;
            s->last_partial[0] = 0;
            ring_feed(s, (size_t)o->flag * VT_IN_RATE / 1000);
            s->utt_n = 0;
            utt_keep_ring(s, (size_t)o->flag * VT_IN_RATE / 1000);
            break;
        case SOP_END:
            if (s->stt && s->in_utt && s->utt == o->utt) {
                vt_stt_result *res = calloc(1, sizeof *res);
                s->in_utt = 0;
                if (res && s->stt->end(s->stt_ctx, res) < 0)
                    res->text[0] = 0, res->n_words = 0;
                /* with a final recogniser the message takes the utterance's
                 * audio along (delivered or dropped, it is freed) */
                int16_t *pcm = s->final_on && s->utt_n ? s->utt_pcm : NULL;
                size_t n_pcm = pcm ? s->utt_n : 0;
                if (pcm) {
                    s->utt_pcm = NULL;
                    s->utt_cap = 0;
                }
                s->utt_n = 0;
                post_pcm(s, job, SMSG_FINAL, o->utt, o->t, res ? res->text : "", res, pcm, n_pcm);
            } else if (!s->stt) {
                /* no recogniser: the utterance still ends, with no text */
                post(s, job, SMSG_FINAL, o->utt, o->t, "", NULL);
            }
            break;
        case SOP_KWS:
            if (o->flag && !s->kws_on && s->kws)
                s->kws->reset(s->kws_ctx);
            else if (!o->flag && s->kws_on && s->kws && s->kws->pause)
                s->kws->pause(s->kws_ctx); /* its decoder back to the pool */
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
    int64_t now = vt__drv_now(s);
    if (!s->closed) {
        switch (m->kind) {
        case SMSG_PARTIAL:
            vt_core_stt_partial(s->core, m->utt, m->text, now);
            break;
        case SMSG_FINAL:
            if (m->pcm && s->final_on) {
                /* the final recogniser gives this utterance's text */
                vt__final_add(s, m->utt, m->res, m->pcm, m->n_pcm);
                m->res = NULL;
                m->pcm = NULL;
            } else {
                vt__speech_final(s, m->utt, m->text, m->res);
            }
            break;
        case SMSG_KEYWORD:
            /* a command needs a voice behind it: the spotter can fire on
             * the near-silence an echo canceller leaves */
            if (!s->in_voice && m->t - s->voice_end_us > VT__KEYWORD_VOICE_US)
                break;
            /* the decision is made now, but the input that triggered it
             * arrived at m->t: the latency reported covers the decoding */
            vt_core_keyword(s->core, m->text, m->t, now);
            break;
        case SMSG_ERROR:
            vt__drv_report(s, "session_error", m->text);
            break;
        }
        vt__drv_reschedule(s);
    }
    free(m->res);
    free(m->pcm);
    free(m);
}

static void speech_drop(void *arg, void *msg)
{
    (void)arg;
    smsg *m = msg;
    free(m->res);
    free(m->pcm);
    free(m);
}

void vt__speech_final(vt_session *s, uint32_t utt, const char *text, const vt_stt_result *res)
{
    vt_word words[128];
    size_t n = 0;
    if (res)
        for (; n < res->n_words && n < 128; n++)
            words[n] = (vt_word){res->words[n].text, VT_MS_TO_IN_SAMPLES(res->words[n].start_ms),
                                 VT_MS_TO_IN_SAMPLES(res->words[n].end_ms)};
    vt_core_stt_final(s->core, utt, text, words, n, vt__drv_now(s));
}


static void speech_complete(void *arg, int status)
{
    speech_job *j = arg;
    vt_session *s = j->s;
    (void)status;
    while (j->ops) {
        vt__sop *n = j->ops->next;
        sop_free(j->ops);
        j->ops = n;
    }
    free(j);
    s->lane_busy = 0;
    if (!s->closed)
        vt__speech_kick(s);
    vt__drv_job_done(s);
}

/* Hand the queued ops to a lane job, unless one is running. */
void vt__speech_kick(vt_session *s)
{
    if (s->lane_busy || !s->ops)
        return;
    speech_job *j = malloc(sizeof *j);
    if (!j)
        return;
    j->s = s;
    j->ops = s->ops;
    if (vt__drv_submit(s, VT_EXEC_CPU, 0, speech_run, speech_complete, speech_progress, speech_drop, j)) {
        free(j);
        return; /* the pool is full: try again on the next input */
    }
    s->ops = s->ops_tail = NULL;
    s->queued_samples = 0;
    s->lane_busy = 1;
}

vt__sop *vt__speech_add(vt_session *s, vt__sop_kind kind, size_t n)
{
    vt__sop *o = calloc(1, sizeof *o + n * sizeof(int16_t));
    if (!o)
        return NULL;
    o->kind = kind;
    o->n = n;
    o->n_expect = -1;
    if (kind == SOP_BEGIN)
        begin_expect(s, o);
    if (s->ops_tail)
        s->ops_tail->next = o;
    else
        s->ops = o;
    s->ops_tail = o;
    return o;
}

/* ---- synthesis lane ---------------------------------------------------- */

typedef struct tts_job {
    vt_exec_job *job;
    vt_session *s;
    vt__tts_op *op;
    int out_rate;
    int fell_back;     /* this phrase started the fallback voice */
    char err[256];
    char why[256];     /* why the synthesizer failed, when it fell back */
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
    tts_job *j = ud;
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
    return j->s->x.ops->post(j->s->x.impl, j->job, c) != 0;
}

static int tts_run(vt_exec_job *job, void *arg, const volatile int *abort)
{
    tts_job *j = arg;
    j->job = job;
    vt_session *s = j->s;
    if (*abort)
        return VT_ECANCELED;
    int rc = 0;
    if (!(s->tts_fb_on && s->tts_fb_gen == j->op->gen)) {
        if (!s->tts)
            rc = s->eng.open_tts(s->eng.ud, &s->tts, &s->tts_ctx, j->err, sizeof j->err);
        if (rc == 0)
            rc = vt_tts_synth_at(s->tts, s->tts_ctx, j->out_rate, j->op->text, tts_on_chunk, j,
                                 abort);
        if (*abort)
            return VT_ECANCELED;
        if (rc == 0 || !s->eng.open_tts_fallback)
            goto out;
        /* the fallback voice speaks this phrase (again, from its start,
         * when some of it was heard) and the rest of the answer */
        snprintf(j->why, sizeof j->why, "%s", j->err[0] ? j->err : vt_strerror(rc));
        j->err[0] = 0;
        j->fell_back = 1;
        s->tts_fb_on = 1;
        s->tts_fb_gen = j->op->gen;
    }
    rc = 0;
    if (!s->tts_fb)
        rc = s->eng.open_tts_fallback(s->eng.ud, &s->tts_fb, &s->tts_fb_ctx, j->err,
                                      sizeof j->err);
    if (rc == 0)
        rc = vt_tts_synth_at(s->tts_fb, s->tts_fb_ctx, j->out_rate, j->op->text, tts_on_chunk,
                             j, abort);
out:
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
                          vt__drv_now(s));
        vt__drv_reschedule(s);
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
        int64_t now = vt__drv_now(s);
        if (j->fell_back) {
            char msg[600];
            snprintf(msg, sizeof msg,
                     "the voice failed (%s): the embedded voice speaks the rest of this answer",
                     j->why);
            vt__drv_report(s, "tts_error", msg);
        }
        if (status == 0)
            vt_core_tts_done(s->core, j->op->gen, j->op->id, now);
        else
            vt_core_tts_error(s->core, j->op->gen, j->op->id, j->err, now);
        vt__drv_reschedule(s);
    }
    free(j->op);
    free(j);
    s->tts_busy = 0;
    if (!s->closed)
        tts_kick(s);
    vt__drv_job_done(s);
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
    j->out_rate = s->cfg.out_rate;
    if (vt__drv_submit(s, VT_EXEC_CPU, j->op->gen, tts_run, tts_complete, tts_progress, tts_drop,
                       j)) {
        free(j);
        return;
    }
    s->tts_q = j->op->next;
    if (!s->tts_q)
        s->tts_tail = NULL;
    j->op->next = NULL;
    s->tts_busy = 1;
}

void vt__tts_drop_gen(vt_session *s, uint32_t gen)
{
    vt__tts_op **pp = &s->tts_q;
    s->tts_tail = NULL;
    while (*pp) {
        if ((*pp)->gen == gen) {
            vt__tts_op *d = *pp;
            *pp = d->next;
            free(d);
        } else {
            s->tts_tail = *pp;
            pp = &(*pp)->next;
        }
    }
}


int vt__tts_add(vt_session *s, uint32_t gen, uint32_t id, const char *text)
{
    size_t l = strlen(text ? text : "");
    vt__tts_op *o = malloc(sizeof *o + l + 1);
    if (!o)
        return VT_ENOMEM;
    o->next = NULL;
    o->gen = gen;
    o->id = id;
    memcpy(o->text, text ? text : "", l + 1);
    if (s->tts_tail)
        s->tts_tail->next = o;
    else
        s->tts_q = o;
    s->tts_tail = o;
    tts_kick(s);
    return 0;
}

void vt__tts_clear(vt_session *s)
{
    while (s->tts_q) {
        vt__tts_op *n = s->tts_q->next;
        free(s->tts_q);
        s->tts_q = n;
    }
    s->tts_tail = NULL;
}

void vt__speech_clear(vt_session *s)
{
    while (s->ops) {
        vt__sop *n = s->ops->next;
        sop_free(s->ops);
        s->ops = n;
    }
    s->ops_tail = NULL;
    s->queued_samples = 0;
}
