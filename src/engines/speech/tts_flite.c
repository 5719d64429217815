/*
 * Text-to-speech on flite 2.2: the English voices slt, rms, awb (clustergen)
 * and kal16 (diphone), all 16 kHz, streamed in chunks with word timings.
 *
 * DESIGN
 * We build the utterance ourselves and attach an audio_streaming_info to its
 * own features (never the shared voice's), so flite calls us with each piece
 * of waveform as it is generated. By the first piece flite has already laid
 * out every segment, so word times are read once from the utterance: each
 * Token ("42") owns Word daughters ("forty", "two") whose SylStructure leads
 * to segments with end times. flite tokens are matched in order to our
 * whitespace tokens (flite drops punctuation, so a flite token is a
 * substring of ours); an unmatched token is interpolated by the emitter.
 *
 * Abort: the chunk callback returns CST_AUDIO_STREAM_STOP when *abort is set
 * or the caller's callback asks to stop; no chunk is delivered after that.
 *
 * MODEL VS CTX: the model is a registered voice (load registers it once per
 * process and reads its sample rate; voices stay registered for the life of
 * the process, so unload frees only the handle); a ctx is one session's
 * chunk size and speaking rate on it.
 *
 * THREAD SAFETY: flite's voices and lexicon are process-global and parts of
 * its text processing keep static state, so voice registration and synthesis
 * hold one process-wide lock.
 */
#include "engines/speech/speech.h"
#include "engines/speech/speech_internal.h"
#include <flite/flite.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

cst_voice *register_cmu_us_slt(const char *voxdir);
cst_voice *register_cmu_us_rms(const char *voxdir);
cst_voice *register_cmu_us_awb(const char *voxdir);
cst_voice *register_cmu_us_kal16(const char *voxdir);

static pthread_mutex_t flite_lock = PTHREAD_MUTEX_INITIALIZER;
static int flite_ready;

static struct {
    const char *name;
    cst_voice *(*reg)(const char *);
    cst_voice *voice;
} voices[] = {
    { "slt", register_cmu_us_slt, NULL },
    { "rms", register_cmu_us_rms, NULL },
    { "awb", register_cmu_us_awb, NULL },
    { "kal16", register_cmu_us_kal16, NULL },
};

typedef struct flite_model {
    cst_voice *voice;        /* registered once, shared by every ctx */
    int rate;
} flite_model;

typedef struct flite_ctx {
    cst_voice *voice;
    int rate;
    int chunk_ms;
    double stretch;
} flite_ctx;

typedef struct flite_job {
    vt__synth_job s;         /* words, callback, abort flag */
    flite_ctx *c;
    int timed;               /* word times read from the utterance */
    int stopped;             /* caller asked to stop */
    int chunks;
} flite_job;

static int flite_load(const vt_opt *opts, size_t n_opts, void **out, char *err, size_t errlen)
{
    const char *name = vt_opt_get(opts, n_opts, "voice", VT_TTS_DEFAULT_VOICE);
    if (strncmp(name, "cmu_us_", 7) == 0)
        name += 7;
    size_t vi = 0;
    while (vi < sizeof voices / sizeof voices[0] && strcmp(voices[vi].name, name) != 0)
        vi++;
    if (vi == sizeof voices / sizeof voices[0]) {
        snprintf(err, errlen, "flite: unknown voice '%s' (available: slt, rms, awb, kal16)", name);
        return VT_ENOTFOUND;
    }
    flite_model *m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(err, errlen, "flite: out of memory");
        return VT_ENOMEM;
    }
    pthread_mutex_lock(&flite_lock);
    if (!flite_ready) {
        flite_init();
        flite_ready = 1;
    }
    if (!voices[vi].voice)
        voices[vi].voice = voices[vi].reg(NULL);
    m->voice = voices[vi].voice;
    pthread_mutex_unlock(&flite_lock);
    if (!m->voice) {
        free(m);
        snprintf(err, errlen, "flite: voice '%s' failed to load; apt-get install flite", name);
        return VT_ENOTFOUND;
    }
    m->rate = flite_get_param_int(m->voice->features, "sample_rate", 16000);
    *out = m;
    return 0;
}

static void flite_unload(void *model)
{
    free(model); /* voices stay registered for the life of the process */
}

static int flite_create(void *model, const vt_opt *opts, size_t n_opts, void **out, char *err,
                        size_t errlen)
{
    const flite_model *m = model;
    int rc;
    flite_ctx *c = vt__ctx_new(m, sizeof *c, "flite", &rc, err, errlen);
    if (!c)
        return rc;
    rc = vt__opt_int(opts, n_opts, "chunk_ms", 40, 5, 1000, &c->chunk_ms, err, errlen);
    if (!rc)
        rc = vt__opt_double(opts, n_opts, "duration_stretch", 1.0, 0.3, 3.0, &c->stretch, err,
                            errlen);
    if (rc) {
        free(c);
        return rc;
    }
    c->voice = m->voice;
    c->rate = m->rate;
    *out = c;
    return 0;
}

static void flite_destroy(void *ctx)
{
    free(ctx);
}

static int flite_rate(void *ctx)
{
    return ((flite_ctx *)ctx)->rate;
}

static double seg_end(const cst_item *seg)
{
    return seg ? (double)item_feat_float(seg, "end") : 0.0;
}

/* Read each flite token's span from the utterance and give it to the
 * matching whitespace token. */
static void read_word_times(flite_job *j, cst_utterance *u, int rate)
{
    size_t cursor = 0;
    for (cst_item *t = relation_head(utt_relation(u, "Token")); t; t = item_next(t)) {
        cst_item *first = item_daughter(t), *last = item_last_daughter(t);
        if (!first || !last)
            continue;
        cst_item *fs = item_as(first, "SylStructure");
        cst_item *ls = item_as(last, "SylStructure");
        cst_item *seg0 = fs ? item_daughter(item_daughter(fs)) : NULL;
        cst_item *seg1 = ls ? item_last_daughter(item_last_daughter(ls)) : NULL;
        if (!seg0 || !seg1)
            continue;
        cst_item *prev = item_prev(item_as(seg0, "Segment"));
        double s = prev ? seg_end(prev) : 0.0, e = seg_end(seg1);
        const char *name = item_feat_string(t, "name");
        size_t k = cursor;
        while (k < j->s.words.n && !(name && *name && strstr(j->s.words.tok[k].text, name)))
            k++;
        if (k == j->s.words.n)
            continue; /* unmatched: the emitter interpolates */
        vt__words_set_start(&j->s.words, k, (int64_t)(s * rate + 0.5));
        vt__words_set_end(&j->s.words, k, (int64_t)(e * rate + 0.5));
        cursor = k;
    }
    j->timed = 1;
}

static int on_flite_chunk(const cst_wave *w, int start, int size, int last,
                          cst_audio_streaming_info *asi)
{
    flite_job *j = asi->userdata;
    if (j->stopped || (j->s.abort && *j->s.abort))
        return CST_AUDIO_STREAM_STOP;
    if (!j->timed && asi->utt)
        read_word_times(j, (cst_utterance *)asi->utt, j->c->rate);
    j->chunks++;
    if (vt__words_chunk(&j->s.words, w->samples + start, (size_t)size, last, j->s.fn, j->s.ud)) {
        j->stopped = 1;
        return CST_AUDIO_STREAM_STOP;
    }
    return CST_AUDIO_STREAM_CONT;
}

static int flite_synth(void *ctx, const char *text, vt_tts_chunk_fn on_chunk, void *ud,
                       const volatile int *abort)
{
    flite_ctx *c = ctx;
    flite_job j;
    memset(&j, 0, sizeof j);
    int rc = c ? vt__synth_start(&j.s, text, on_chunk, ud, abort) : VT_EINVAL;
    if (rc)
        return rc > 0 ? 0 : rc; /* 1: nothing to say */
    j.c = c;

    pthread_mutex_lock(&flite_lock);
    cst_utterance *u = new_utterance();
    cst_audio_streaming_info *asi = new_audio_streaming_info();
    asi->asc = on_flite_chunk;
    asi->userdata = &j;
    asi->min_buffsize = c->rate * c->chunk_ms / 1000;
    /* the utterance owns asi from here on */
    feat_set(u->features, "streaming_info", audio_streaming_info_val(asi));
    if (c->stretch != 1.0)
        feat_set_float(u->features, "duration_stretch", (float)c->stretch);
    utt_set_input_text(u, text);
    u = flite_do_synth(u, c->voice, utt_synth);
    if (u && !j.stopped && !(abort && *abort) && j.chunks == 0) {
        /* a voice that did not stream: deliver its whole wave at once */
        cst_wave *w = utt_wave(u);
        if (!j.timed)
            read_word_times(&j, u, c->rate);
        static const int16_t silence[160];
        if (w && w->num_samples > 0)
            rc = vt__words_chunk(&j.s.words, w->samples, (size_t)w->num_samples, 1, on_chunk, ud);
        else
            rc = vt__words_chunk(&j.s.words, silence, 160, 1, on_chunk, ud);
    }
    if (u)
        delete_utterance(u);
    pthread_mutex_unlock(&flite_lock);
    if (!u && !rc) {
        rc = VT_EIO;
        goto out;
    }
    if (j.stopped || (abort && *abort))
        rc = VT_ECANCELED;
    else if (j.s.words.next < j.s.words.n) {
        /* flite streamed but never flagged the last piece: close the words */
        static const int16_t silence[1];
        rc = vt__words_chunk(&j.s.words, silence, 0, 1, on_chunk, ud);
    }
out:
    vt__words_free(&j.s.words);
    return rc;
}

const vt_tts_ops vt_tts_flite = {
    .name = "flite",
    .load = flite_load,
    .unload = flite_unload,
    .create = flite_create,
    .destroy = flite_destroy,
    .sample_rate = flite_rate,
    .synth = flite_synth,
};
