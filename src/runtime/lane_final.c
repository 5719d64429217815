/*
 * The final recogniser (driver.h, vt_session_engines.open_final): hybrid
 * recognition. The speech lane's local decoder still gives the interim text,
 * the utterance boundaries and the keyword hits in real time; a recogniser
 * that hears a whole recording (the remote OpenAI-compatible engine, through
 * vt_stt_ops.transcribe) gives each utterance's final text.
 *
 * DESIGN
 * When the lane ends an utterance it hands over its own final and the
 * utterance's audio (pre-roll included). Utterances queue here on the loop
 * thread and run one job at a time, in order, on the io pool (the work is a
 * network wait, and the cpu workers stay free for decoding), so the
 * recogniser's ctx is only ever used by one thread. The phrases the brain
 * expects next (vt_brain_expected) are read on the loop thread when the
 * utterance ends and travel with it (the remote engine puts them in its
 * prompt). The job's completion gives the core the remote text; when the
 * engine fails (a timeout, an HTTP error, an answer that is not a
 * transcription, or it did not open) the local text stands and one
 * `stt_error` event says why: the session goes on. Jobs run with
 * generation 0 (an interruption does not cancel what the person said);
 * closing the session cancels them.
 */
#include "runtime/driver_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engines/brain/brain.h"

#define MAX_EXPECTED 16

typedef struct final_job {
    vt_session *s;
    vt__final_op *op;
    vt_stt_result res;
    char err[512];
} final_job;

static void op_free(vt__final_op *o)
{
    if (!o)
        return;
    free(o->local);
    free(o->pcm);
    free(o->expected);
    free(o);
}

static int final_run(vt_exec_job *job, void *arg, const volatile int *abort)
{
    (void)job;
    final_job *j = arg;
    vt_session *s = j->s;
    if (*abort)
        return VT_ECANCELED;
    if (!s->final_opened) {
        s->final_opened = 1;
        int rc = s->eng.open_final(s->eng.ud, &s->final_stt, &s->final_ctx, s->final_open_err,
                                   sizeof s->final_open_err);
        if (rc) {
            s->final_stt = NULL;
            s->final_ctx = NULL;
            if (!s->final_open_err[0])
                snprintf(s->final_open_err, sizeof s->final_open_err, "%s", vt_strerror(rc));
        }
    }
    if (!s->final_stt || !s->final_stt->transcribe) {
        snprintf(j->err, sizeof j->err, "the recogniser did not open: %s",
                 s->final_open_err[0] ? s->final_open_err : "it cannot transcribe a recording");
        return VT_ENOTFOUND;
    }
    const char *ex[MAX_EXPECTED];
    for (size_t i = 0; i < j->op->n_expected; i++)
        ex[i] = j->op->expected[i];
    int rc = s->final_stt->transcribe(s->final_ctx, j->op->pcm, j->op->n, ex, j->op->n_expected,
                                      &j->res, abort, j->err, sizeof j->err);
    if (*abort)
        return VT_ECANCELED;
    if (rc && !j->err[0])
        snprintf(j->err, sizeof j->err, "%s", vt_strerror(rc));
    return rc;
}

static void final_kick(vt_session *s);

static void final_complete(void *arg, int status)
{
    final_job *j = arg;
    vt_session *s = j->s;
    if (!s->closed && status != VT_ECANCELED) {
        if (status == 0) {
            vt__speech_final(s, j->op->utt, j->res.text, &j->res);
        } else {
            char msg[700];
            snprintf(msg, sizeof msg, "the remote recogniser failed (%s): used the local text",
                     j->err);
            vt__drv_report(s, "stt_error", msg);
            vt__speech_final(s, j->op->utt, j->op->local ? j->op->local->text : "",
                             j->op->local);
        }
        vt__drv_reschedule(s);
    }
    op_free(j->op);
    free(j);
    s->final_busy = 0;
    if (!s->closed)
        final_kick(s);
    vt__drv_job_done(s);
}

static void final_kick(vt_session *s)
{
    if (s->final_busy || !s->final_q)
        return;
    final_job *j = calloc(1, sizeof *j);
    if (!j)
        goto fail;
    j->s = s;
    j->op = s->final_q;
    if (vt__drv_submit(s, VT_EXEC_IO, 0, final_run, final_complete, NULL, NULL, j)) {
        free(j);
        goto fail;
    }
    s->final_q = j->op->next;
    if (!s->final_q)
        s->final_tail = NULL;
    j->op->next = NULL;
    s->final_busy = 1;
    return;
fail:
    /* no job: the local text now, so the turn never waits on it */
    while (s->final_q) {
        vt__final_op *o = s->final_q;
        s->final_q = o->next;
        vt__speech_final(s, o->utt, o->local ? o->local->text : "", o->local);
        op_free(o);
    }
    s->final_tail = NULL;
}

void vt__final_add(vt_session *s, uint32_t utt, vt_stt_result *local, int16_t *pcm, size_t n)
{
    vt__final_op *o = calloc(1, sizeof *o);
    if (o)
        o->expected = calloc(MAX_EXPECTED, sizeof *o->expected);
    if (!o || !o->expected) {
        vt__speech_final(s, utt, local ? local->text : "", local);
        free(local);
        free(pcm);
        if (o)
            free(o);
        return;
    }
    o->utt = utt;
    o->local = local;
    o->pcm = pcm;
    o->n = n;
    int k = s->eng.brain ? vt_brain_expected(s->eng.brain, s->eng.brain_ctx, o->expected,
                                             MAX_EXPECTED)
                         : 0;
    o->n_expected = k > 0 ? (size_t)k : 0;
    if (s->final_tail)
        s->final_tail->next = o;
    else
        s->final_q = o;
    s->final_tail = o;
    final_kick(s);
}

void vt__final_clear(vt_session *s)
{
    while (s->final_q) {
        vt__final_op *o = s->final_q;
        s->final_q = o->next;
        op_free(o);
    }
    s->final_tail = NULL;
}

void vt__final_free(vt_session *s)
{
    vt__final_clear(s);
    if (s->final_stt && s->final_ctx)
        s->final_stt->destroy(s->final_ctx);
    s->final_stt = NULL;
    s->final_ctx = NULL;
    free(s->utt_pcm);
    s->utt_pcm = NULL;
}
