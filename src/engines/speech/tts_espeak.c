/*
 * Text-to-speech on espeak-ng 1.51: many languages at 22050 Hz, streamed in
 * 40 ms chunks with word timings from espeak's own WORD events.
 *
 * DESIGN
 * espeak-ng runs in AUDIO_OUTPUT_SYNCHRONOUS mode: espeak_Synth calls our
 * callback with each buffer of audio plus the events that fall in it. A WORD
 * event carries the word's character position in the text (mapped to our
 * whitespace token) and its audio position; a word ends where the next token
 * starts or where the clause ends (END event). Since a word's end is learned
 * only with the buffer that contains it, each buffer is held back one step
 * and delivered after the next buffer's events are read; the last buffer is
 * delivered when espeak returns, with every word left. Several events on one
 * token ("42" -> "forty", "two") extend that token.
 *
 * Abort: the callback returns 1 (espeak's own abort) when *abort is set or
 * the caller's callback asks to stop.
 *
 * MODEL VS CTX: load initialises espeak-ng (once per process: espeak keeps
 * everything in globals and is never terminated) and checks the voice; the
 * model holds that voice and the library's sample rate. A ctx is one
 * session's speaking rate on it.
 *
 * THREAD SAFETY: espeak-ng keeps all of its state in globals (voice, rate,
 * callback), so initialisation is done once and each synthesis selects its
 * voice and rate under one process-wide lock.
 */
#include "engines/speech/speech.h"
#include "engines/speech/speech_internal.h"
#include <espeak-ng/speak_lib.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ESPEAK_BUFFER_MS 40

static pthread_mutex_t espeak_lock = PTHREAD_MUTEX_INITIALIZER;
static int espeak_rate;      /* 0: not initialised, < 0: failed */

typedef struct espeak_model {
    char voice[64];          /* checked with espeak_SetVoiceByName at load */
    int rate;
} espeak_model;

typedef struct espeak_ctx {
    char voice[64];
    int wpm;
} espeak_ctx;

typedef struct espeak_job {
    vt__synth_job s;         /* words, callback, abort flag */
    size_t open;             /* token being spoken, words.n if none */
    int64_t total;           /* samples received */
    int16_t *held;           /* previous buffer, delivered one step late */
    size_t held_n, held_cap;
    int stopped;             /* 1: caller stopped, VT_ENOMEM: failed */
} espeak_job;

static espeak_job *current; /* the job espeak is synthesizing (under espeak_lock) */

static void close_open(espeak_job *j, int64_t at)
{
    if (j->open < j->s.words.n)
        vt__words_set_end(&j->s.words, j->open, at);
    j->open = j->s.words.n;
}

static int on_espeak(short *wav, int numsamples, espeak_EVENT *ev)
{
    espeak_job *j = current;
    if (!j || j->stopped || (j->s.abort && *j->s.abort))
        return 1;
    for (; ev && ev->type != espeakEVENT_LIST_TERMINATED; ev++) {
        int64_t at = (int64_t)ev->audio_position * espeak_rate / 1000;
        if (ev->type == espeakEVENT_WORD) {
            size_t t = vt__words_at_char(&j->s.words, ev->text_position > 0
                                                        ? (size_t)ev->text_position - 1 : 0);
            if (t >= j->s.words.n || t == j->open)
                continue;
            close_open(j, at);
            vt__words_set_start(&j->s.words, t, at);
            j->open = t;
        } else if (ev->type == espeakEVENT_END || ev->type == espeakEVENT_MSG_TERMINATED) {
            close_open(j, at);
        }
    }
    if (j->held_n) {
        int rc = vt__words_chunk(&j->s.words, j->held, j->held_n, 0, j->s.fn, j->s.ud);
        j->held_n = 0;
        if (rc) {
            j->stopped = 1;
            return 1;
        }
    }
    if (numsamples > 0 && wav) {
        if ((size_t)numsamples > j->held_cap) {
            int16_t *p = realloc(j->held, (size_t)numsamples * sizeof *p);
            if (!p) {
                j->stopped = VT_ENOMEM;
                return 1;
            }
            j->held = p;
            j->held_cap = (size_t)numsamples;
        }
        memcpy(j->held, wav, (size_t)numsamples * sizeof *wav);
        j->held_n = (size_t)numsamples;
        j->total += numsamples;
    }
    return 0;
}

/* Call with espeak_lock held. */
static int espeak_ready(char *err, size_t errlen)
{
    if (espeak_rate == 0) {
        int r = espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, ESPEAK_BUFFER_MS, NULL, 0);
        espeak_rate = r > 0 ? r : -1;
        if (r > 0)
            espeak_SetSynthCallback(on_espeak);
    }
    if (espeak_rate < 0) {
        snprintf(err, errlen,
                 "espeak-ng: cannot initialise (voice data missing?); "
                 "apt-get install espeak-ng espeak-ng-data");
        return VT_ENOTFOUND;
    }
    return 0;
}

static int espeak_load(const vt_opt *opts, size_t n_opts, void **out, char *err,
                       size_t errlen)
{
    const char *voice = vt_opt_get(opts, n_opts, "voice", "en");
    if (!voice || !*voice || strlen(voice) >= sizeof ((espeak_model *)0)->voice) {
        snprintf(err, errlen, "espeak-ng: bad voice name");
        return VT_EINVAL;
    }
    espeak_model *m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(err, errlen, "espeak-ng: out of memory");
        return VT_ENOMEM;
    }
    snprintf(m->voice, sizeof m->voice, "%s", voice);
    pthread_mutex_lock(&espeak_lock);
    int rc = espeak_ready(err, errlen);
    if (!rc && espeak_SetVoiceByName(m->voice) != EE_OK) {
        snprintf(err, errlen,
                 "espeak-ng: no voice '%s' (`espeak-ng --voices` lists them; "
                 "apt-get install espeak-ng-data)", m->voice);
        rc = VT_ENOTFOUND;
    }
    m->rate = espeak_rate;
    pthread_mutex_unlock(&espeak_lock);
    if (rc) {
        free(m);
        return rc;
    }
    *out = m;
    return 0;
}

static void espeak_unload(void *model)
{
    free(model); /* the library stays initialised for the life of the process */
}

static int espeak_create(void *model, const vt_opt *opts, size_t n_opts, void **out,
                         char *err, size_t errlen)
{
    const espeak_model *m = model;
    int rc;
    espeak_ctx *c = vt__ctx_new(m, sizeof *c, "espeak-ng", &rc, err, errlen);
    if (!c)
        return rc;
    rc = vt__opt_int(opts, n_opts, "wpm", 160, 80, 450, &c->wpm, err, errlen);
    if (rc) {
        free(c);
        return rc;
    }
    snprintf(c->voice, sizeof c->voice, "%s", m->voice);
    *out = c;
    return 0;
}

static void espeak_destroy(void *ctx)
{
    free(ctx);
}

static int espeak_rate_of(void *ctx)
{
    pthread_mutex_lock(&espeak_lock);
    int r = espeak_rate;
    pthread_mutex_unlock(&espeak_lock);
    return r > 0 ? r : 22050;
}

static int espeak_synth(void *ctx, const char *text, vt_tts_chunk_fn on_chunk, void *ud,
                        const volatile int *abort)
{
    espeak_ctx *c = ctx;
    espeak_job j;
    memset(&j, 0, sizeof j);
    int rc = c ? vt__synth_start(&j.s, text, on_chunk, ud, abort) : VT_EINVAL;
    if (rc)
        return rc > 0 ? 0 : rc; /* 1: nothing to say */
    j.open = j.s.words.n;
    char err[160];
    pthread_mutex_lock(&espeak_lock);
    rc = espeak_ready(err, sizeof err);
    if (!rc && (espeak_SetVoiceByName(c->voice) != EE_OK ||
                espeak_SetParameter(espeakRATE, c->wpm, 0) != EE_OK))
        rc = VT_ENOTFOUND;
    if (!rc) {
        current = &j;
        espeak_ERROR e = espeak_Synth(text, strlen(text) + 1, 0, POS_CHARACTER, 0,
                                      espeakCHARS_UTF8, NULL, NULL);
        current = NULL;
        if (j.stopped || (abort && *abort))
            rc = j.stopped < 0 ? j.stopped : VT_ECANCELED;
        else if (e != EE_OK)
            rc = VT_EIO;
        else {
            close_open(&j, j.total);
            static const int16_t silence[160];
            if (j.held_n)
                rc = vt__words_chunk(&j.s.words, j.held, j.held_n, 1, on_chunk, ud);
            else if (j.s.words.next < j.s.words.n) /* said nothing audible */
                rc = vt__words_chunk(&j.s.words, silence, 160, 1, on_chunk, ud);
        }
    }
    pthread_mutex_unlock(&espeak_lock);
    free(j.held);
    vt__words_free(&j.s.words);
    return rc;
}

const vt_tts_ops vt_tts_espeak = {
    .name = "espeak",
    .load = espeak_load,
    .unload = espeak_unload,
    .create = espeak_create,
    .destroy = espeak_destroy,
    .sample_rate = espeak_rate_of,
    .synth = espeak_synth,
};
