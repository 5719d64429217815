/*
 * The driver (driver.h): a session's core, its sink, its brain jobs and the
 * public vt_session_* entry points, on any executor. The two lanes (speech
 * and synthesis) are in lanes.c; what they share is driver_internal.h.
 * Everything here runs on the loop thread except the job bodies (*_run),
 * which touch only their own job argument and the engine contexts they were
 * given (the brain may serve several jobs at once: vt_brain_ops says so).
 */
#include "runtime/driver_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engines/brain/brain.h"
#include "protocol/utf8.h"

static void session_free(vt_session *s);

int64_t vt__drv_now(const vt_session *s)
{
    return s->x.ops->now(s->x.impl);
}

static int64_t session_clock(void *ud)
{
    return vt__drv_now(ud);
}

void vt__drv_reschedule(vt_session *s)
{
    if (s->closed || !s->out.schedule)
        return;
    int64_t d = vt_core_next_deadline(s->core);
    if (d != s->last_deadline) {
        s->last_deadline = d;
        s->out.schedule(s->ud, d);
    }
}

void vt__drv_job_done(vt_session *s)
{
    s->jobs--;
    if (s->closed && s->jobs == 0)
        session_free(s);
}

int vt__drv_submit(vt_session *s, vt_exec_kind kind, uint32_t gen, vt_exec_run_fn run,
                   vt_job_complete_fn complete, vt_job_progress_fn progress,
                   vt_job_drop_fn drop, void *arg)
{
    vt_exec_desc d = {.owner = s, .gen = gen, .kind = kind, .run = run, .complete = complete,
                      .progress = progress, .drop = drop, .arg = arg};
    int rc = s->x.ops->submit(s->x.impl, &d);
    if (rc == 0)
        s->jobs++;
    return rc;
}

void vt__drv_report(vt_session *s, const char *code, const char *msg)
{
    if (s->closed || !s->out.event)
        return;
    vt_event ev = {.type = VT_EV_ERROR, .state = vt_core_state(s->core),
                   .is_audio_playing = vt_core_is_audio_playing(s->core), .text = msg,
                   .text2 = code};
    s->out.event(s->ud, &ev, vt__drv_now(s));
}

/* ---- brain jobs -------------------------------------------------------- */

typedef struct brain_job {
    vt_session *s;
    vt_exec_job *job;
    int kind;                 /* 0 answer, 1 verdict, 2 filler */
    uint32_t gen, req;
    char *text;
    vt_turn *turns;           /* answer: a copy of the memory */
    size_t n_turns;
    int result;
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
    brain_job *j = ud;
    char *t = strdup(tok);
    return !t || j->s->x.ops->post(j->s->x.impl, j->job, t) != 0;
}

static int brain_run(vt_exec_job *job, void *arg, const volatile int *abort)
{
    brain_job *j = arg;
    j->job = job;
    vt_session *s = j->s;
    if (*abort)
        return VT_ECANCELED;
    switch (j->kind) {
    case 0: {
        const vt_brain_ops *b = s->eng.brain;
        int rc = b->reply(s->eng.brain_ctx, j->turns, j->n_turns, brain_token, j, abort, j->err,
                          sizeof j->err);
        if (*abort)
            return VT_ECANCELED;
        if (rc && !j->err[0])
            snprintf(j->err, sizeof j->err, "%s", vt_strerror(rc));
        return rc;
    }
    case 1:
        j->result =
            vt_brain_judge_or_heuristic(s->eng.brain, s->eng.brain_ctx, j->text, abort, NULL);
        return 0;
    default: {
        /* no valid choice: -1, and the core draws one with its seeded random */
        const vt_brain_ops *b = s->eng.brain;
        int i = b->choose_filler ? b->choose_filler(s->eng.brain_ctx, j->text, s->fill_desc,
                                                    (size_t)s->eng.n_fill, abort, j->err,
                                                    sizeof j->err)
                                 : -1;
        j->result = i >= 0 && i < s->eng.n_fill ? i : -1;
        return 0;
    }
    }
}

static void brain_progress(void *arg, void *msg)
{
    brain_job *j = arg;
    vt_session *s = j->s;
    if (!s->closed) {
        vt_core_llm_token(s->core, j->gen, msg, vt__drv_now(s));
        vt__drv_reschedule(s);
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
        int64_t now = vt__drv_now(s);
        if (j->kind == 0 && status == 0)
            vt_core_llm_done(s->core, j->gen, now);
        else if (j->kind == 0)
            vt_core_llm_error(s->core, j->gen, j->err, now);
        else if (j->kind == 1)
            vt_core_verdict(s->core, j->req, j->result, now);
        else
            vt_core_filler_choice(s->core, j->gen, j->result, now);
        vt__drv_reschedule(s);
    }
    brain_job_free(j);
    vt__drv_job_done(s);
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
    if (vt__drv_submit(s, VT_EXEC_IO, kind == 1 ? 0 : a->gen, brain_run, brain_complete, brain_progress,
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

/* ---- the core's actions ------------------------------------------------ */

static void sink(void *ud, const vt_action *a, int64_t now)
{
    vt_session *s = ud;
    if (s->closed)
        return;
    if (s->out.action)
        s->out.action(s->ud, a, now);
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
        vt__sop *o = vt__speech_add(s,
                                    a->type == VT_ACT_STT_BEGIN ? SOP_BEGIN
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
    case VT_ACT_TTS:
        if (vt__tts_add(s, a->gen, a->id, a->text) != 0)
            vt_core_tts_error(s->core, a->gen, a->id, "out of memory", now);
        break;
    case VT_ACT_CANCEL:
        vt__tts_drop_gen(s, a->gen);
        s->x.ops->cancel_gen(s->x.impl, s, a->gen);
        break;
    }
}

/* ---- creation ---------------------------------------------------------- */

int vt_session_start(const vt_session_setup *st, const vt_session_output *out, void *ud,
                     vt_session **sp, char *err, size_t errlen)
{
    *sp = NULL;
    vt_session *s = calloc(1, sizeof *s);
    int rc = VT_ENOMEM;
    if (!s || (st->eng.n_fill > 0 &&
               !(s->fill_desc = calloc((size_t)st->eng.n_fill, sizeof *s->fill_desc)))) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    s->x = st->exec;
    s->cfg = st->core;
    s->out = *out;
    s->ud = ud;
    s->eng = st->eng;
    s->released = st->released;
    s->released_ud = st->released_ud;
    s->last_deadline = INT64_MIN;
    s->voice_end_us = INT64_MIN / 2;
    s->speech = st->speech;
    s->final_on = st->speech && st->eng.open_final != NULL;
    s->partial_every = (size_t)(st->partial_ms > 0 ? st->partial_ms : 200) * VT_IN_RATE / 1000;
    snprintf(s->character, sizeof s->character, "%s", st->character);
    for (int i = 0; i < st->eng.n_fill; i++)
        s->fill_desc[i] = (vt_filler_desc){st->eng.fill[i].text, st->eng.fill[i].description};
    if ((rc = vt_core_create(&s->cfg, sink, s, &s->core, err, errlen)) != 0)
        goto fail;
    if ((rc = vt_core_set_clips(s->core, st->eng.fill, st->eng.n_fill, st->eng.ack,
                                st->eng.n_ack)) != 0) {
        snprintf(err, errlen, "bad filler or acknowledgement clips");
        goto fail;
    }
    vt_core_set_clock(s->core, session_clock, s);
    *sp = s;
    return 0;
fail:
    if (st->eng.brain_ctx)
        st->eng.brain->destroy(st->eng.brain_ctx);
    if (s) {
        vt_core_destroy(s->core);
        vt__speech_clear(s);
        free(s->fill_desc);
        free(s);
    }
    return rc;
}

static void session_free(vt_session *s)
{
    if (s->stt)
        s->stt->destroy(s->stt_ctx);
    if (s->kws)
        s->kws->destroy(s->kws_ctx);
    if (s->tts)
        s->tts->destroy(s->tts_ctx);
    if (s->tts_fb)
        s->tts_fb->destroy(s->tts_fb_ctx);
    vt__final_free(s);
    if (s->eng.brain_ctx)
        s->eng.brain->destroy(s->eng.brain_ctx);
    if (s->released)
        s->released(s->released_ud);
    free(s->fill_desc);
    free(s);
}

void vt_session_destroy(vt_session *s)
{
    if (!s || s->closed)
        return;
    s->closed = 1;
    s->x.ops->cancel_owner(s->x.impl, s);
    vt__speech_clear(s);
    vt__tts_clear(s);
    vt__final_clear(s);
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
    if (s->speech && !s->open_queued) {
        /* the decoders are opened by the lane's first job, when the first
         * audio comes: a session that only types never loads them */
        s->open_queued = 1;
        vt__speech_add(s, SOP_OPEN, 0);
    }
    if (s->speech) {
        if (s->queued_samples + n > VT__MAX_QUEUED_AUDIO) {
            if (!s->overload_reported)
                vt__drv_report(s, "overloaded",
                       "the speech recogniser is more than 30 s behind: audio is being dropped; "
                       "this machine cannot keep up (too many sessions for its cores?)");
            s->overload_reported = 1;
        } else {
            vt__sop *o = vt__speech_add(s, SOP_AUDIO, n);
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
        vt__speech_kick(s);
    vt__drv_reschedule(s);
    return rc;
}

int vt_session_key(vt_session *s, int64_t now)
{
    if (!s || s->closed)
        return VT_EINVAL;
    int rc = vt_core_key(s->core, now);
    vt__speech_kick(s);
    vt__drv_reschedule(s);
    return rc;
}

int vt_session_text(vt_session *s, const char *text, int64_t now)
{
    if (!s || s->closed)
        return VT_EINVAL;
    int rc = vt_core_text(s->core, text, now);
    vt__speech_kick(s);
    vt__drv_reschedule(s);
    return rc;
}

int vt_session_playback(vt_session *s, uint64_t samples, int64_t now)
{
    if (!s || s->closed)
        return VT_EINVAL;
    int rc = vt_core_playback(s->core, samples, now);
    vt__drv_reschedule(s);
    return rc;
}

int vt_session_welcome(vt_session *s, char *text, size_t cap, int64_t now)
{
    char buf[1024];
    if (!s || s->closed)
        return VT_EINVAL;
    if (vt_core_has_active_response(s->core) || vt_core_state(s->core) != VT_STATE_LISTENING)
        return VT_ESTATE;
    int l = vt_brain_greeting(s->eng.brain, s->eng.brain_ctx, buf, sizeof buf);
    if (l <= 0)
        snprintf(buf, sizeof buf, "Hello! I am your tutor. Ask me anything.");
    buf[vt_utf8_cut(buf, strlen(buf))] = 0; /* a cut greeting ends on a whole character */
    int rc = vt_core_say(s->core, buf, now);
    if (text && cap) {
        snprintf(text, cap, "%s", buf);
        text[vt_utf8_cut(text, strlen(text))] = 0;
    }
    vt__speech_kick(s);
    vt__drv_reschedule(s);
    return rc ? rc : (int)strlen(buf);
}

int vt_session_tick(vt_session *s, int64_t now)
{
    if (!s || s->closed)
        return VT_EINVAL;
    s->last_deadline = INT64_MIN; /* the timer that called us has fired */
    int rc = vt_core_tick(s->core, now);
    vt__speech_kick(s);
    vt__drv_reschedule(s);
    return rc;
}

int64_t vt_session_next_deadline(const vt_session *s)
{
    return s && !s->closed ? vt_core_next_deadline(s->core) : INT64_MAX;
}

size_t vt_session_memory(const vt_session *s)
{
    size_t m = sizeof *s + vt_core_memory(s->core);
    for (const vt__sop *o = s->ops; o; o = o->next)
        m += sizeof *o + o->n * sizeof(int16_t);
    for (const vt__tts_op *o = s->tts_q; o; o = o->next)
        m += sizeof *o + strlen(o->text) + 1;
    for (const vt__final_op *o = s->final_q; o; o = o->next)
        m += sizeof *o + o->n * sizeof(int16_t);
    return m;
}
