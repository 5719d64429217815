/*
 * Speech-to-text and keyword spotting on pocketsphinx 5prealpha (Debian's
 * pocketsphinx-en-us models), streaming, one decoder per session.
 *
 * DESIGN
 * DECODERS ARE LENT, NOT OWNED (ps_pool.c): the model keeps a pool of warm
 * decoders; a session borrows one for an utterance (expect/begin .. end)
 * and gives it back, its cepstral mean saved into the session and put into
 * the next decoder it borrows, so it hears as on a decoder of its own
 * (test_speech_decoders). A person talks a fraction of the time, so the
 * decoders are as many as utterances in progress at once: a session open
 * and listening costs no decoder (0.5 MiB, bench_share sessions) and is
 * ready at once, where a decoder of its own cost 91 MiB and 510 ms.
 *
 * STT: begin() restarts the stream (frame counter back to 0, so segment
 * frames are 10 ms steps from the utterance start) and the utterance;
 * feed() decodes as audio arrives; partial() is ps_get_hyp (a cheap
 * backtrace); end() gives the final text with word times, fillers and
 * "(2)" suffixes removed. Option warmup=1 starts a session from the mean a
 * short phrase synthesized with flite leaves (decoded once per model);
 * measured on flite test speech it did not improve the first utterance
 * (16 % vs 19 % word errors, bench_speech), so it is off by default for
 * STT; the keyword spotter, whose thresholds were measured warmed up, keeps
 * it on. By default pocketsphinx's silence removal is off so that word
 * times are wall-clock times (the core runs its own VAD); `transcribe` turns
 * it on (vad=1) and segments a file with ps_get_in_speech.
 *
 * KWS: a decoder in keyword mode (acoustic model + dictionary, no
 * language model), lent per keyword list from reset() to pause() (the
 * runtime pauses it while the tutor is silent). Its dictionary is only the command words' lines, taken
 * from the full dictionary that kws_load reads once (ps_dict.c): 5.5 MiB and
 * 9 ms of ps_init per session instead of 27 MiB and 99 ms (bench_share);
 * option kws_dict=full gives it the whole file as before. Its warm-up phrase
 * is synthesized once, at kws_load, and decoded by every new spotter. The command list written to a keyword file with one
 * threshold per word. Audio is fed in 20 ms pieces so a hit is placed to
 * within 20 ms; after a hit the utterance restarts so one word is reported
 * once. Segment times are unreliable in this mode; we count samples.
 *
 * MODEL VS DECODER: load() resolves and checks the model paths, reads the
 * options that shape a decoder's configuration (modeldir, hmm, lm, dict,
 * jsgf, vad; kws_delay) and the pool's (decoders, spare, idle_ms), and makes
 * the first decoder; each decoder has its own cmd_ln_t (ps_init writes into
 * the configuration it is given). The n-gram language model is NOT shared
 * between decoders, although pocketsphinx allows it (ngram_model_read
 * once, ps_set_lm per decoder: a decoder then adds 58.3 MiB instead of 91.2
 * MiB, bench_share): sphinxbase's trie language model keeps a scoring cache
 * inside the model (the last history and its backoffs), written on every
 * lookup, so decoders on different worker threads sharing one race (4-7 of
 * 80 hypotheses differ, bench_lm_share). Serialising every call on the
 * decoders of one model makes it exact (0 of 264 differ: bench_lm_share
 * --locked) but also serialises their acoustic scoring; with decoders lent
 * per utterance the saving is per concurrent utterance, not per session.
 *
 * Missing model files are reported by path, with the package to install,
 * at load(). pocketsphinx's log goes nowhere (err_set_logfp(NULL),
 * process-wide).
 */
#include "engines/speech/speech.h"
#include "engines/speech/speech_internal.h"
#include "engines/speech/ps_dict.h"
#include "engines/speech/ps_pool.h"
#include <pocketsphinx.h>
#include <ckd_alloc.h>
#include <err.h>
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#ifndef VT_PS_MODELDIR
#define VT_PS_MODELDIR "/usr/share/pocketsphinx/model"
#endif

#define PS_INSTALL_HINT "apt-get install pocketsphinx-en-us"
#define KWS_PIECE 320      /* 20 ms at 16 kHz */
/* The biased recognition's defaults (stt_expect.c), chosen with bench_hear:
 * the grammar's text may replace a language-model text of at most
 * VT_PS_EXPECT_WORDS words, one holding an answer, or one at most
 * VT_PS_EXPECT_SLACK words longer than the grammar's; utterances longer
 * than expect_ms keep the LM's text. */
#define VT_PS_EXPECT_WORDS 4
#define VT_PS_EXPECT_SLACK 3
#define VT_PS_EXPECT_WEIGHT 100.0 /* the expected answers' JSGF weight over the competitors */
#define VT_PS_EXPECT_MS 5000
/* Grammar first (expect_first=1): each loop word's weight against 1 for an
 * answer. bench_hear --grammar-first, docs/BENCHMARKS.md: 1e-12 hears as
 * the biased rule and spares the full model for 55 % of utterances. */
#define VT_PS_FIRST_LOOP_WEIGHT 1e-12
/* The n-gram search's pruning: active HMMs and word exits per frame
 * (pocketsphinx's defaults 30000 and -1: no limit). Chosen with bench_hear
 * --stride 6 --opt maxhmmpf=N --opt maxwpf=M (docs/BENCHMARKS.md, "Search
 * pruning"): 3000 and 5 hear as well or better on every figure (right
 * answers 62 vs 61 of 105, wrong 2 vs 2 of 53, free questions' word errors
 * 55.6 vs 63.5 %) for 0.228 instead of 0.366 CPU s per s of audio (-38 %);
 * 2000 and 1500 save little more and hear a little worse. */
#define VT_PS_MAXHMMPF 3000
#define VT_PS_MAXWPF 5
#define VT_PS_TUNE_N 5 /* ds, topn, beam, wbeam, pbeam */

const char *vt__ps_modeldir(void)
{
    return VT_PS_MODELDIR;
}

static pthread_once_t quiet_once = PTHREAD_ONCE_INIT;
static void quiet(void)
{
    err_set_logfp(NULL);
}

typedef struct ps_paths {
    char hmm[512], lm[512], dict[512];
} ps_paths;

static int check_path(const char *what, const char *path, char *err, size_t errlen)
{
    if (access(path, R_OK) == 0)
        return 0;
    snprintf(err, errlen, "pocketsphinx %s not found: %s (%s); install the models with `%s` "
             "or set the %s option", what, path, strerror(errno), PS_INSTALL_HINT, what);
    return VT_ENOTFOUND;
}

static int resolve_paths(const vt_opt *opts, size_t n, int need_lm, ps_paths *p, char *err,
                         size_t errlen)
{
    const char *dir = vt_opt_get(opts, n, "modeldir", vt__ps_modeldir());
    const char *hmm = vt_opt_get(opts, n, "hmm", NULL);
    const char *lm = vt_opt_get(opts, n, "lm", NULL);
    const char *dict = vt_opt_get(opts, n, "dict", NULL);
    if (hmm)
        snprintf(p->hmm, sizeof p->hmm, "%s", hmm);
    else
        snprintf(p->hmm, sizeof p->hmm, "%s/en-us/en-us", dir);
    if (lm)
        snprintf(p->lm, sizeof p->lm, "%s", lm);
    else
        snprintf(p->lm, sizeof p->lm, "%s/en-us/en-us.lm.bin", dir);
    if (dict)
        snprintf(p->dict, sizeof p->dict, "%s", dict);
    else
        snprintf(p->dict, sizeof p->dict, "%s/en-us/cmudict-en-us.dict", dir);
    char mdef[600];
    snprintf(mdef, sizeof mdef, "%s/mdef", p->hmm);
    int rc = check_path("hmm", p->hmm, err, errlen);
    if (!rc)
        rc = check_path("hmm", mdef, err, errlen);
    if (!rc && need_lm)
        rc = check_path("lm", p->lm, err, errlen);
    if (!rc)
        rc = check_path("dict", p->dict, err, errlen);
    return rc;
}

/* ---- speech-to-text ---------------------------------------------------- */

/* What every STT decoder of a process shares: the checked paths, the
 * decoder configuration and the pool of decoders lent per utterance. */
typedef struct ps_stt_model {
    ps_paths p;
    char jsgf[512];          /* "" : the n-gram language model p.lm */
    int vad;
    char maxhmmpf[16], maxwpf[16]; /* the search's pruning (bench_hear, bench_share) */
    /* the acoustic scorer's and the beams' settings where one is given
     * (ds, topn, beam, wbeam, pbeam: measured with bench_hear --opt) */
    int phone_cd;            /* the phone loop (expect_phone) with context-dependent phones */
    int expect_first;        /* sessions' default for expect_first (load option) */
    char tune[VT_PS_TUNE_N][2][24];
    size_t n_tune;
    vt__ps_pool pool;
    pthread_mutex_t warm_mu; /* the warm-up CMN, made once when a session asks */
    int warm_done;
    vt__ps_cmn warm;
} ps_stt_model;

typedef struct ps_stt {
    ps_stt_model *m;
    vt__ps_slot *slot;       /* lent from the pool for the utterance in progress */
    vt__ps_cmn cmn;          /* this session's cepstral mean between utterances */
    int in_utt;
    int loop_stream;         /* this utterance streams the loop grammar (expect_first) */
    double utt_cpu_s;        /* thread CPU spent on this utterance's streamed pass */
    vt__ps_expect ex;        /* the expected answers' grammar (stt_expect.c) */
} ps_stt;

static int is_filler(const char *w)
{
    return w[0] == '<' || w[0] == '[' || w[0] == '+' || strcmp(w, "(NULL)") == 0;
}

/* Borrow a decoder for this session (its cepstral mean goes in); give it
 * back keeping what it adapted to. */
static int stt_borrow(ps_stt *s)
{
    if (s->slot)
        return 0;
    char err[256];
    int rc = VT_ENOMEM;
    s->slot = vt__ps_pool_borrow(&s->m->pool, 0, NULL, &s->cmn, &rc, err, sizeof err);
    return s->slot ? 0 : rc;
}

static void stt_return(ps_stt *s)
{
    if (s->slot && s->loop_stream) {
        /* given back mid-utterance (a session closed while the person
         * spoke): the next borrower starts on the n-gram search */
        if (s->in_utt)
            ps_end_utt(s->slot->ps);
        s->in_utt = 0;
        ps_set_search(s->slot->ps, s->ex.lm_search);
    }
    s->loop_stream = 0;
    vt__ps_pool_return(&s->m->pool, &s->slot, &s->in_utt, &s->cmn);
}

static void stt_destroy(void *ctx)
{
    ps_stt *s = ctx;
    if (!s)
        return;
    stt_return(s);
    vt__ps_expect_free(&s->ex);
    free(s);
}

static int stt_begin(void *ctx)
{
    ps_stt *s = ctx;
    if (!s)
        return VT_EINVAL;
    if (s->in_utt) {
        ps_end_utt(s->slot->ps);
        if (s->loop_stream)
            ps_set_search(s->slot->ps, s->ex.lm_search);
    }
    s->in_utt = 0;
    s->loop_stream = 0;
    int rc = stt_borrow(s);
    if (rc)
        return rc;
    ps_decoder_t *ps = s->slot->ps;
    vt__ps_expect_apply(&s->ex, ps, &s->slot->grammar);
    s->loop_stream = vt__ps_expect_stream_loop(&s->ex, ps, s->slot->grammar);
    if (ps_start_stream(ps) < 0 || ps_start_utt(ps) < 0) {
        if (s->loop_stream)
            ps_set_search(ps, s->ex.lm_search);
        s->loop_stream = 0;
        return VT_EIO;
    }
    s->in_utt = 1;
    s->utt_cpu_s = 0;
    vt__ps_expect_begin(&s->ex);
    return 0;
}

static int stt_feed(void *ctx, const int16_t *pcm, size_t n)
{
    ps_stt *s = ctx;
    if (!s || (!pcm && n))
        return VT_EINVAL;
    if (!s->in_utt)
        return VT_ESTATE;
    double t0 = vt__thread_cpu_s();
    if (n && ps_process_raw(s->slot->ps, pcm, n, FALSE, FALSE) < 0)
        return VT_EIO;
    s->utt_cpu_s += vt__thread_cpu_s() - t0;
    vt__ps_expect_feed(&s->ex, pcm, n);
    return 0;
}

static int stt_partial(void *ctx, char *buf, size_t cap)
{
    ps_stt *s = ctx;
    if (!s || !buf || !cap)
        return VT_EINVAL;
    buf[0] = '\0';
    if (!s->in_utt)
        return 0;
    const char *hyp = ps_get_hyp(s->slot->ps, NULL);
    if (!hyp || (s->loop_stream && vt__ps_expect_is_loop(&s->ex, hyp)))
        return 0; /* the loop's words are no interim text: the full model decodes at end */
    snprintf(buf, cap, "%s", hyp);
    return (int)strlen(buf);
}

static int stt_end(void *ctx, vt_stt_result *out)
{
    ps_stt *s = ctx;
    if (!s || !out)
        return VT_EINVAL;
    memset(out, 0, sizeof *out);
    if (!s->in_utt)
        return VT_ESTATE;
    s->in_utt = 0;
    ps_decoder_t *ps = s->slot->ps;
    double t0 = vt__thread_cpu_s();
    int rc = ps_end_utt(ps) < 0 ? VT_EIO : 0;
    if (s->loop_stream) {
        s->loop_stream = 0;
        int r = vt__ps_expect_end_first(&s->ex, ps, out, s->utt_cpu_s + vt__thread_cpu_s() - t0);
        if (!rc)
            rc = r;
    } else if (!rc) {
        vt__ps_result(ps, out);
        vt__ps_expect_end(&s->ex, ps, out, s->utt_cpu_s + vt__thread_cpu_s() - t0);
    }
    stt_return(s);
    return rc;
}

static int stt_expect(void *ctx, const char *const *answers, size_t n_answers,
                      const char *const *commands, size_t n_commands)
{
    ps_stt *s = ctx;
    if (!s || (n_answers && !answers) || (n_commands && !commands))
        return VT_EINVAL;
    if (s->in_utt)
        return VT_ESTATE; /* pocketsphinx changes searches between utterances only */
    if (n_answers == 0)
        return vt__ps_expect_set(&s->ex, NULL, answers, 0, commands, n_commands);
    /* the grammar is spelled with a decoder's dictionary: borrow the one the
     * next utterance will use (begin follows; end gives it back) */
    int rc = stt_borrow(s);
    if (rc)
        return rc;
    rc = vt__ps_expect_set(&s->ex, s->slot->ps, answers, n_answers, commands, n_commands);
    if (!rc)
        rc = vt__ps_expect_apply(&s->ex, s->slot->ps, &s->slot->grammar);
    return rc;
}

int vt_stt_pocketsphinx_info(void *ctx, vt_stt_ps_info *out)
{
    ps_stt *s = ctx;
    if (!s || !out)
        return VT_EINVAL;
    *out = s->ex.last;
    return 0;
}

void vt__ps_result(ps_decoder_t *ps, vt_stt_result *out)
{
    size_t len = 0;
    memset(out, 0, sizeof *out);
    for (ps_seg_t *seg = ps_seg_iter(ps); seg; seg = ps_seg_next(seg)) {
        const char *w = ps_seg_word(seg);
        if (!w || is_filler(w))
            continue;
        char word[48];
        snprintf(word, sizeof word, "%s", w);
        char *paren = strchr(word, '(');
        if (paren && paren != word)
            *paren = '\0';
        int sf = 0, ef = 0;
        ps_seg_frames(seg, &sf, &ef);
        if (out->n_words < sizeof out->words / sizeof out->words[0]) {
            vt_stt_word *o = &out->words[out->n_words++];
            snprintf(o->text, sizeof o->text, "%s", word);
            o->start_ms = (uint32_t)(sf > 0 ? sf : 0) * 10;
            o->end_ms = (uint32_t)(ef + 1 > 0 ? ef + 1 : 0) * 10;
        }
        size_t wl = strlen(word);
        if (len + wl + 2 < sizeof out->text) {
            if (len)
                out->text[len++] = ' ';
            memcpy(out->text + len, word, wl + 1);
            len += wl;
        }
    }
}

/* The warm-up phrase synthesized with flite (awb, 16 kHz); *pcm NULL when
 * flite failed (harmless: no warm-up). */
static void warm_phrase(int16_t **pcm, size_t *n)
{
    static const char *phrase =
        "Hello there. Could you tell me what the weather will be like tomorrow morning?";
    void *voice = NULL, *tts = NULL;
    char err[128];
    const vt_opt o[] = { { "voice", "awb" } };
    *pcm = NULL;
    *n = 0;
    if (vt_tts_flite.load(o, 1, &voice, err, sizeof err) != 0)
        return;
    if (vt_tts_flite.create(voice, o, 1, &tts, err, sizeof err) == 0) {
        if (vt_tts_synth_buffer(&vt_tts_flite, tts, VT_IN_RATE, phrase, pcm, n, NULL) != 0) {
            free(*pcm);
            *pcm = NULL;
            *n = 0;
        }
        vt_tts_flite.destroy(tts);
    }
    vt_tts_flite.unload(voice);
}

/* Decode the phrase so cepstral mean normalisation starts from speech-like
 * values; see the DESIGN note. */
static void warm_decode(ps_decoder_t *ps, const int16_t *pcm, size_t n)
{
    if (!pcm || ps_start_stream(ps) < 0 || ps_start_utt(ps) < 0)
        return;
    for (size_t off = 0; off < n; off += 320)
        ps_process_raw(ps, pcm + off, n - off < 320 ? n - off : 320, FALSE, FALSE);
    ps_end_utt(ps);
}

static void warm_up(ps_decoder_t *ps)
{
    int16_t *pcm;
    size_t n;
    warm_phrase(&pcm, &n);
    warm_decode(ps, pcm, n);
    free(pcm);
}

/* One decoder of the pool (ps_pool.h): the configuration every decoder of
 * the model has. */
static vt__ps_slot *stt_make(void *ud, unsigned long key, const void *arg, int *rc,
                             char *err, size_t errlen)
{
    const ps_stt_model *m = ud;
    (void)key;
    (void)arg;
    vt__ps_slot *slot = calloc(1, sizeof *slot);
    if (!slot) {
        snprintf(err, errlen, "pocketsphinx: out of memory");
        *rc = VT_ENOMEM;
        return NULL;
    }
    const char *jsgf = m->jsgf[0] ? m->jsgf : NULL;
    /* the configuration as one argument vector: the paths, the pruning,
     * and the tuning options given */
    char *argv[14 + 2 * VT_PS_TUNE_N];
    int argc = 0;
    argv[argc++] = "-hmm";
    argv[argc++] = (char *)m->p.hmm;
    argv[argc++] = "-dict";
    argv[argc++] = (char *)m->p.dict;
    argv[argc++] = jsgf ? "-jsgf" : "-lm";
    argv[argc++] = (char *)(jsgf ? jsgf : m->p.lm);
    argv[argc++] = "-remove_silence";
    argv[argc++] = m->vad ? "yes" : "no";
    argv[argc++] = "-maxhmmpf";
    argv[argc++] = (char *)m->maxhmmpf;
    argv[argc++] = "-maxwpf";
    argv[argc++] = (char *)m->maxwpf;
    argv[argc++] = "-allphone_ci"; /* a phone loop of context-independent phones: cheap */
    argv[argc++] = m->phone_cd ? "no" : "yes";
    for (size_t i = 0; i < m->n_tune; i++) {
        argv[argc++] = (char *)m->tune[i][0];
        argv[argc++] = (char *)m->tune[i][1];
    }
    slot->config = cmd_ln_parse_r(NULL, ps_args(), argc, argv, TRUE);
    if (slot->config)
        slot->ps = ps_init(slot->config);
    if (!slot->ps) {
        snprintf(err, errlen, "pocketsphinx could not load its models (hmm %s, %s %s, dict %s); "
                 "reinstall them with `%s`", m->p.hmm, jsgf ? "jsgf" : "lm",
                 jsgf ? jsgf : m->p.lm, m->p.dict, PS_INSTALL_HINT);
        vt__ps_slot_free(slot);
        *rc = VT_ENOTFOUND;
        return NULL;
    }
    vt__ps_cmn_save(slot->ps, &slot->fresh);
    return slot;
}

/* The tuning options, checked here so that a bad value is an error at
 * load and not a decoder that does not start: frame downsampling (ds:
 * score every n-th frame), Gaussians scored per frame (topn), and the
 * search's beams (a probability, e.g. 1e-40; pocketsphinx's defaults
 * otherwise). */
static int read_tune(const vt_opt *opts, size_t n_opts, ps_stt_model *m, char *err, size_t errlen)
{
    static const struct { const char *key; int lo, hi; } ints[] = {{"ds", 1, 4}, {"topn", 1, 16}};
    static const char *const beams[] = {"beam", "wbeam", "pbeam"};
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        if (!vt_opt_get(opts, n_opts, ints[i].key, NULL))
            continue;
        int v = 0, rc = vt__opt_int(opts, n_opts, ints[i].key, 0, ints[i].lo, ints[i].hi, &v,
                                    err, errlen);
        if (rc)
            return rc;
        snprintf(m->tune[m->n_tune][0], sizeof m->tune[0][0], "-%s", ints[i].key);
        snprintf(m->tune[m->n_tune++][1], sizeof m->tune[0][1], "%d", v);
    }
    for (size_t i = 0; i < sizeof beams / sizeof beams[0]; i++) {
        const char *v = vt_opt_get(opts, n_opts, beams[i], NULL);
        if (!v)
            continue;
        char *end = NULL;
        double b = strtod(v, &end);
        if (end == v || *end || !(b > 0 && b < 1) || strlen(v) >= sizeof m->tune[0][1]) {
            snprintf(err, errlen, "pocketsphinx option %s must be a probability between 0 and 1 "
                     "such as 1e-40, not '%s'", beams[i], v);
            return VT_EINVAL;
        }
        snprintf(m->tune[m->n_tune][0], sizeof m->tune[0][0], "-%s", beams[i]);
        snprintf(m->tune[m->n_tune++][1], sizeof m->tune[0][1], "%s", v);
    }
    return 0;
}

static int stt_load(const vt_opt *opts, size_t n_opts, void **out, char *err, size_t errlen)
{
    pthread_once(&quiet_once, quiet);
    const char *jsgf = vt_opt_get(opts, n_opts, "jsgf", NULL);
    ps_paths p;
    int rc = resolve_paths(opts, n_opts, jsgf == NULL, &p, err, errlen);
    if (rc)
        return rc;
    if (jsgf && (rc = check_path("jsgf", jsgf, err, errlen)) != 0)
        return rc;
    int vad = 0, first = 1, spare = 0, idle_ms = 0;
    if ((rc = vt__opt_int(opts, n_opts, "vad", 0, 0, 1, &vad, err, errlen)) != 0 ||
        (rc = vt__opt_int(opts, n_opts, "decoders", 1, 1, 1024, &first, err, errlen)) != 0 ||
        (rc = vt__opt_int(opts, n_opts, "spare", 0, 0, 64, &spare, err, errlen)) != 0 ||
        (rc = vt__opt_int(opts, n_opts, "idle_ms", 0, 0, 86400000, &idle_ms, err, errlen)) != 0)
        return rc;
    int maxhmmpf = VT_PS_MAXHMMPF, maxwpf = VT_PS_MAXWPF;
    if ((rc = vt__opt_int(opts, n_opts, "maxhmmpf", maxhmmpf, -1, 1000000, &maxhmmpf, err,
                          errlen)) != 0 ||
        (rc = vt__opt_int(opts, n_opts, "maxwpf", maxwpf, -1, 100000, &maxwpf, err, errlen)) != 0)
        return rc;
    ps_stt_model *m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(err, errlen, "pocketsphinx: out of memory");
        return VT_ENOMEM;
    }
    if ((rc = read_tune(opts, n_opts, m, err, errlen)) != 0 ||
        (rc = vt__opt_int(opts, n_opts, "phone_cd", 0, 0, 1, &m->phone_cd, err, errlen)) != 0 ||
        (rc = vt__opt_int(opts, n_opts, "expect_first", 0, 0, 1, &m->expect_first, err,
                          errlen)) != 0) {
        free(m);
        return rc;
    }
    m->p = p;
    snprintf(m->jsgf, sizeof m->jsgf, "%s", jsgf ? jsgf : "");
    m->vad = vad;
    snprintf(m->maxhmmpf, sizeof m->maxhmmpf, "%d", maxhmmpf);
    snprintf(m->maxwpf, sizeof m->maxwpf, "%d", maxwpf);
    pthread_mutex_init(&m->warm_mu, NULL);
    vt__ps_pool_init(&m->pool, stt_make, m);
    /* the first decoder now: the models are checked at load, and the first
     * session is ready to hear at once */
    if ((rc = vt__ps_pool_start(&m->pool, (size_t)first, (size_t)spare, idle_ms, err,
                                errlen)) != 0) {
        vt__ps_pool_destroy(&m->pool);
        pthread_mutex_destroy(&m->warm_mu);
        free(m);
        return rc;
    }
    *out = m;
    return 0;
}

static void stt_unload(void *model)
{
    ps_stt_model *m = model;
    if (!m)
        return;
    vt__ps_pool_destroy(&m->pool);
    pthread_mutex_destroy(&m->warm_mu);
    free(m);
}

/* The cepstral mean after the warm-up phrase, decoded once per model. */
static void stt_warm_cmn(ps_stt_model *m, vt__ps_cmn *out)
{
    pthread_mutex_lock(&m->warm_mu);
    if (!m->warm_done) {
        char err[256];
        int rc = 0;
        vt__ps_slot *slot = vt__ps_pool_take(&m->pool, 0, NULL, &rc, err, sizeof err);
        if (slot) {
            vt__ps_cmn_load(slot->ps, &slot->fresh);
            warm_up(slot->ps);
            vt__ps_cmn_save(slot->ps, &m->warm);
            vt__ps_pool_give(&m->pool, slot);
        }
        m->warm_done = 1;
    }
    *out = m->warm;
    pthread_mutex_unlock(&m->warm_mu);
}

static int stt_create(void *model, const vt_opt *opts, size_t n_opts, void **out, char *err,
                      size_t errlen)
{
    ps_stt_model *m = model;
    int warm = 0, rc = m ? vt__opt_int(opts, n_opts, "warmup", 0, 0, 1, &warm, err, errlen) : 0;
    int max_words = VT_PS_EXPECT_WORDS, max_ms = VT_PS_EXPECT_MS;
    int slack = VT_PS_EXPECT_SLACK;
    double weight = VT_PS_EXPECT_WEIGHT;
    if (!rc && m)
        rc = vt__opt_int(opts, n_opts, "expect_words", max_words, 0, 100, &max_words, err,
                         errlen);
    if (!rc && m)
        rc = vt__opt_int(opts, n_opts, "expect_ms", max_ms, 0, 30000, &max_ms, err, errlen);
    if (!rc && m)
        rc = vt__opt_int(opts, n_opts, "expect_slack", slack, 0, 100, &slack, err, errlen);
    if (!rc && m)
        rc = vt__opt_double(opts, n_opts, "expect_weight", weight, 1, 1e6, &weight, err, errlen);
    int phone = 0;
    if (!rc && m)
        rc = vt__opt_int(opts, n_opts, "expect_phone", 0, 0, 1, &phone, err, errlen);
    int first = m ? m->expect_first : 0;
    if (!rc && m)
        rc = vt__opt_int(opts, n_opts, "expect_first", first, 0, 1, &first, err, errlen);
    double garbage = first ? VT_PS_FIRST_LOOP_WEIGHT : 0;
    if (!rc && m)
        rc = vt__opt_double(opts, n_opts, "expect_garbage", garbage, 0, 1e6, &garbage, err,
                            errlen);
    if (!rc && first && garbage <= 0) {
        snprintf(err, errlen, "pocketsphinx: expect_first=1 needs expect_garbage above 0 (the "
                              "loop's weight, e.g. 1e-12)");
        rc = VT_EINVAL;
    }
    if (rc)
        return rc;
    ps_stt *s = vt__ctx_new(m, sizeof *s, "pocketsphinx", &rc, err, errlen);
    if (!s)
        return rc;
    s->m = m;
    vt__ps_expect_init(&s->ex, NULL, slack, max_words, max_ms / 1000.0);
    s->ex.weight = weight;
    s->ex.phone = phone;
    s->ex.garbage = garbage;
    s->ex.first = first;
    if (warm)
        stt_warm_cmn(m, &s->cmn);
    *out = s;
    return 0;
}

int vt_stt_pocketsphinx_in_speech(void *ctx)
{
    ps_stt *s = ctx;
    if (!s)
        return VT_EINVAL;
    if (!s->in_utt)
        return 0;
    return ps_get_in_speech(s->slot->ps) ? 1 : 0;
}

static void pool_info(vt__ps_pool *p, vt_ps_pool_info *out)
{
    vt__ps_pool_stats st;
    vt__ps_pool_stats_get(p, &st);
    out->decoders = st.total;
    out->lent = st.lent;
    out->peak = st.peak;
    out->made = st.made;
    out->lends = st.lends;
    out->made_on_demand = st.waited;
}

int vt_stt_pocketsphinx_pool(void *model, vt_ps_pool_info *out)
{
    if (!model || !out)
        return VT_EINVAL;
    pool_info(&((ps_stt_model *)model)->pool, out);
    return 0;
}

const vt_stt_ops vt_stt_pocketsphinx = {
    .name = "pocketsphinx",
    .load = stt_load,
    .unload = stt_unload,
    .create = stt_create,
    .destroy = stt_destroy,
    .begin = stt_begin,
    .feed = stt_feed,
    .partial = stt_partial,
    .end = stt_end,
    .expect = stt_expect,
};

/* ---- keyword spotting -------------------------------------------------- */

static const struct {
    const char *word;
    double threshold;
} kws_defaults[] = {
    /* measured with bench_speech kws (docs/BENCHMARKS.md): per word, the
     * threshold with every clean hit, no false alarm on the tutor's own
     * voice, and the fewest false alarms on the person's other speech */
    { "stop", 1e-10 },     /* hits 6/6 clean, 4-5/6 at -20 dB echo; 1.5 FA/min of speech */
    { "wait", 1e-2 },      /* weak word: 4/6 clean; 0.8 FA/min; looser fires on the tutor */
    { "pause", 1e-15 },    /* 6/6 clean, 5/6 at -20 dB; 1.5 FA/min */
    { "hold on", 1e-30 },  /* 6/6 clean, 4/6 at -20 dB; no false alarm even at 1e-40 */
};

double vt_kws_default_threshold(const char *word)
{
    for (size_t i = 0; word && i < sizeof kws_defaults / sizeof kws_defaults[0]; i++)
        if (strcmp(kws_defaults[i].word, word) == 0)
            return kws_defaults[i].threshold;
    return 1e-10; /* a middle value for a word nobody measured */
}

/* What every keyword decoder of a process shares: the checked paths, the
 * indexed dictionary, the warm-up and the pool of decoders (one kind per
 * keyword list). */
typedef struct ps_kws_model {
    ps_paths p;
    int delay;               /* -kws_delay, frames */
    vt__ps_dict *dict;       /* p.dict indexed; NULL: decoders read p.dict whole */
    int16_t *warm_pcm;       /* the warm-up phrase, synthesized once (NULL: none) */
    size_t warm_n;
    vt__ps_pool pool;
    pthread_mutex_t warm_mu; /* the cepstral mean after the warm-up, decoded once */
    int warm_done;
    vt__ps_cmn warm;
} ps_kws_model;

/* What a keyword decoder is made for: its lines of the keyword file. */
typedef struct kws_spec {
    char words[VT_MAX_COMMANDS][VT_MAX_COMMAND_LEN];   /* lower case */
    double threshold[VT_MAX_COMMANDS];
    size_t n;
    int tiny;                /* a dictionary of the command words only */
} kws_spec;

typedef struct ps_kws {
    ps_kws_model *m;
    kws_spec spec;
    unsigned long key;       /* of spec: decoders made for it are lent to it */
    vt__ps_slot *slot;       /* lent from reset() to pause() */
    vt__ps_cmn cmn;          /* this session's cepstral mean while not listening */
    uint64_t fed;            /* samples since reset */
    int in_utt;
} ps_kws;

static void kws_pause(void *ctx)
{
    ps_kws *k = ctx;
    if (k)
        vt__ps_pool_return(&k->m->pool, &k->slot, &k->in_utt, &k->cmn);
}

static void kws_destroy(void *ctx)
{
    kws_pause(ctx);
    free(ctx);
}

static int kws_reset(void *ctx)
{
    ps_kws *k = ctx;
    if (!k)
        return VT_EINVAL;
    if (k->in_utt)
        ps_end_utt(k->slot->ps);
    k->in_utt = 0;
    k->fed = 0;
    if (!k->slot) {
        char err[256];
        int rc = VT_ENOMEM;
        if (!(k->slot = vt__ps_pool_borrow(&k->m->pool, k->key, &k->spec, &k->cmn, &rc, err,
                                           sizeof err)))
            return rc;
    }
    if (ps_start_stream(k->slot->ps) < 0 || ps_start_utt(k->slot->ps) < 0)
        return VT_EIO;
    k->in_utt = 1;
    return 0;
}

static int kws_feed(void *ctx, const int16_t *pcm, size_t n, vt_kws_hit *hit)
{
    ps_kws *k = ctx;
    if (!k || (!pcm && n))
        return VT_EINVAL;
    if (!k->in_utt)
        return VT_ESTATE;
    int found = 0;
    for (size_t off = 0; off < n; off += KWS_PIECE) {
        size_t m = n - off < KWS_PIECE ? n - off : KWS_PIECE;
        if (ps_process_raw(k->slot->ps, pcm + off, m, FALSE, FALSE) < 0)
            return VT_EIO;
        k->fed += m;
        const char *hyp = ps_get_hyp(k->slot->ps, NULL);
        if (!hyp || !*hyp)
            continue;
        if (!found && hit) {
            size_t len = strlen(hyp); /* the hypothesis ends with a space */
            while (len && hyp[len - 1] == ' ')
                len--;
            snprintf(hit->word, sizeof hit->word, "%.*s", (int)len, hyp);
            hit->at_sample = k->fed;
        }
        found = 1;
        /* restart so the same word is not reported again */
        ps_end_utt(k->slot->ps);
        if (ps_start_utt(k->slot->ps) < 0) {
            k->in_utt = 0;
            return VT_EIO;
        }
    }
    return found;
}

/* Lower-case a keyword into out and check each of its words is in the
 * dictionary. */
static int kws_word(ps_decoder_t *ps, const char *word, char *out, size_t cap,
                    const char *dict, char *err, size_t errlen)
{
    size_t i = 0;
    for (; word[i] && i + 1 < cap; i++)
        out[i] = (char)tolower((unsigned char)word[i]);
    out[i] = '\0';
    if (!out[0] || word[i]) {
        snprintf(err, errlen, "keyword '%s': empty or longer than %zu characters", word,
                 cap - 1);
        return VT_EINVAL;
    }
    char tmp[64];
    snprintf(tmp, sizeof tmp, "%s", out);
    for (char *save = NULL, *w = strtok_r(tmp, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
        char *ph = ps_lookup_word(ps, w);
        if (!ph) {
            snprintf(err, errlen, "keyword '%s': the word '%s' is not in the pocketsphinx "
                     "dictionary %s; choose another command word", word, w, dict);
            return VT_ENOTFOUND;
        }
        ckd_free(ph);
    }
    return 0;
}

static unsigned long kws_key(const kws_spec *sp)
{
    unsigned long h = 5381u + (unsigned long)sp->tiny;
    for (size_t i = 0; i < sp->n; i++) {
        char line[VT_MAX_COMMAND_LEN + 32];
        snprintf(line, sizeof line, "%s /%g/;", sp->words[i], sp->threshold[i]);
        for (const char *c = line; *c; c++)
            h = h * 33u + (unsigned char)*c;
    }
    return h | 1; /* never 0, the STT pool's key */
}

/* One keyword decoder for the spec (the pool's make): its dictionary (the
 * command words' lines, or the whole file), the keyword file, the search. */
static vt__ps_slot *kws_make(void *ud, unsigned long key, const void *arg, int *rc_out,
                             char *err, size_t errlen)
{
    const ps_kws_model *m = ud;
    const kws_spec *sp = arg;
    const ps_paths *pp = &m->p;
    if (!sp) {
        snprintf(err, errlen, "keyword spotting: no keyword list");
        *rc_out = VT_EINVAL;
        return NULL;
    }
    char delay_s[16];
    snprintf(delay_s, sizeof delay_s, "%d", m->delay);
    vt__ps_slot *slot = calloc(1, sizeof *slot);
    char path[] = "/tmp/voicetutor-kws-XXXXXX";
    char dpath[64] = "";
    int fd = -1, have_file = 0, rc = 0;
    FILE *f = NULL;
    if (!slot) {
        snprintf(err, errlen, "keyword spotting: out of memory");
        *rc_out = VT_ENOMEM;
        return NULL;
    }
    slot->key = key;
    if (m->dict && sp->tiny) {
        /* only the command words' pronunciations: 5 MiB and 9 ms, not 27 and 99
         * (option kws_tiny_dict=0: the full dictionary) */
        const char *words[VT_MAX_COMMANDS];
        for (size_t i = 0; i < sp->n; i++)
            words[i] = sp->words[i];
        char bad[64] = "";
        rc = vt__ps_dict_subset(m->dict, words, sp->n, dpath, sizeof dpath, bad, sizeof bad);
        if (rc == VT_ENOTFOUND) {
            snprintf(err, errlen, "keyword spotting: the word '%s' is not in the pocketsphinx "
                     "dictionary %s; choose another command word", bad, pp->dict);
            dpath[0] = 0;
            goto out;
        }
        if (rc) {
            snprintf(err, errlen, "keyword spotting: cannot write a dictionary in /tmp");
            dpath[0] = 0;
            goto out;
        }
    }
    slot->config = cmd_ln_init(NULL, ps_args(), TRUE, "-hmm", pp->hmm, "-dict",
                               dpath[0] ? dpath : pp->dict, "-kws_delay", delay_s, NULL);
    if (slot->config)
        slot->ps = ps_init(slot->config);
    if (!slot->ps) {
        snprintf(err, errlen, "pocketsphinx could not load its models (hmm %s, dict %s); "
                 "reinstall them with `%s`", pp->hmm, pp->dict, PS_INSTALL_HINT);
        rc = VT_ENOTFOUND;
        goto out;
    }
    vt__ps_cmn_save(slot->ps, &slot->fresh);
    fd = mkstemp(path);
    have_file = fd >= 0;
    if (fd < 0 || !(f = fdopen(fd, "w"))) {
        snprintf(err, errlen, "keyword spotting: cannot write a keyword file in /tmp (%s)",
                 strerror(errno));
        rc = VT_EIO;
        goto out;
    }
    fd = -1;
    for (size_t i = 0; i < sp->n; i++) {
        char word[VT_MAX_COMMAND_LEN];
        rc = kws_word(slot->ps, sp->words[i], word, sizeof word, pp->dict, err, errlen);
        if (rc)
            goto out;
        fprintf(f, "%s /%g/\n", word, sp->threshold[i]);
    }
    if (fclose(f) != 0) {
        f = NULL;
        snprintf(err, errlen, "keyword spotting: cannot write the keyword file %s", path);
        rc = VT_EIO;
        goto out;
    }
    f = NULL;
    if (ps_set_kws(slot->ps, "commands", path) < 0 || ps_set_search(slot->ps, "commands") < 0) {
        snprintf(err, errlen, "keyword spotting: pocketsphinx rejected the command list");
        rc = VT_EINVAL;
    }
out:
    if (f)
        fclose(f);
    if (fd >= 0)
        close(fd);
    if (have_file)
        unlink(path);
    if (dpath[0])
        unlink(dpath);
    if (rc) {
        vt__ps_slot_free(slot);
        *rc_out = rc;
        return NULL;
    }
    return slot;
}

static void kws_unload(void *model);

static int kws_load(const vt_opt *opts, size_t n_opts, void **out, char *err, size_t errlen)
{
    pthread_once(&quiet_once, quiet);
    ps_paths p;
    int rc = resolve_paths(opts, n_opts, 0, &p, err, errlen);
    if (rc)
        return rc;
    int delay = 1, idle_ms = 0;
    if ((rc = vt__opt_int(opts, n_opts, "kws_delay", 1, 1, 100, &delay, err, errlen)) != 0 ||
        (rc = vt__opt_int(opts, n_opts, "idle_ms", 0, 0, 86400000, &idle_ms, err, errlen)) != 0)
        return rc;
    ps_kws_model *m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(err, errlen, "keyword spotting: out of memory");
        return VT_ENOMEM;
    }
    m->p = p;
    m->delay = delay;
    const char *full = vt_opt_get(opts, n_opts, "kws_dict", "subset");
    if (strcmp(full, "full") != 0 && strcmp(full, "subset") != 0) {
        snprintf(err, errlen, "kws_dict must be subset or full, not '%s'", full);
        free(m);
        return VT_EINVAL;
    }
    if (strcmp(full, "subset") == 0 && (rc = vt__ps_dict_load(p.dict, &m->dict, err, errlen)) != 0) {
        free(m);
        return rc;
    }
    /* every spotter's warm-up decodes the same phrase: synthesized here once,
     * not per session under flite's process-wide lock (which the tutor's
     * synthesis of every session also takes) */
    warm_phrase(&m->warm_pcm, &m->warm_n);
    pthread_mutex_init(&m->warm_mu, NULL);
    vt__ps_pool_init(&m->pool, kws_make, m);
    if ((rc = vt__ps_pool_start(&m->pool, 0, 0, idle_ms, err, errlen)) != 0) {
        kws_unload(m);
        return rc;
    }
    *out = m;
    return 0;
}

static void kws_unload(void *model)
{
    ps_kws_model *m = model;
    if (!m)
        return;
    vt__ps_pool_destroy(&m->pool);
    pthread_mutex_destroy(&m->warm_mu);
    vt__ps_dict_free(m->dict);
    free(m->warm_pcm);
    free(m);
}

/* The cepstral mean the warm-up phrase leaves, decoded once per model on
 * the first spotter made (the thresholds were measured warmed up). */
static void kws_warm_cmn(ps_kws_model *m, vt__ps_slot *slot, vt__ps_cmn *out)
{
    pthread_mutex_lock(&m->warm_mu);
    if (!m->warm_done) {
        vt__ps_cmn_load(slot->ps, &slot->fresh);
        warm_decode(slot->ps, m->warm_pcm, m->warm_n);
        vt__ps_cmn_save(slot->ps, &m->warm);
        m->warm_done = 1;
    }
    *out = m->warm;
    pthread_mutex_unlock(&m->warm_mu);
}

static int kws_create(void *model, const vt_opt *opts, size_t n_opts, const vt_keyword *kw,
                      size_t n_kw, void **out, char *err, size_t errlen)
{
    ps_kws_model *m = model;
    if (!m) {
        snprintf(err, errlen, "keyword spotting: no model (load it first)");
        return VT_EINVAL;
    }
    if (!kw || n_kw == 0) {
        snprintf(err, errlen, "keyword spotting: no command words given");
        return VT_EINVAL;
    }
    if (n_kw > VT_MAX_COMMANDS) {
        snprintf(err, errlen, "keyword spotting: %zu command words, at most %d", n_kw,
                 VT_MAX_COMMANDS);
        return VT_EINVAL;
    }
    int warm = 1, tiny = 1;
    int rc = vt__opt_int(opts, n_opts, "warmup", 1, 0, 1, &warm, err, errlen);
    if (!rc)
        rc = vt__opt_int(opts, n_opts, "kws_tiny_dict", 1, 0, 1, &tiny, err, errlen);
    if (rc)
        return rc;
    ps_kws *k = calloc(1, sizeof *k);
    if (!k) {
        snprintf(err, errlen, "keyword spotting: out of memory");
        return VT_ENOMEM;
    }
    k->m = m;
    k->spec.tiny = tiny;
    for (size_t i = 0; i < n_kw; i++) {
        if (!kw[i].word) {
            snprintf(err, errlen, "keyword spotting: keyword %zu has no text", i);
            free(k);
            return VT_EINVAL;
        }
        char *w = k->spec.words[i];
        size_t j = 0;
        for (; kw[i].word[j] && j + 1 < VT_MAX_COMMAND_LEN; j++)
            w[j] = (char)tolower((unsigned char)kw[i].word[j]);
        w[j] = 0;
        if (!w[0] || kw[i].word[j]) {
            snprintf(err, errlen, "keyword '%s': empty or longer than %d characters", kw[i].word,
                     VT_MAX_COMMAND_LEN - 1);
            free(k);
            return VT_EINVAL;
        }
        char key[VT_MAX_COMMAND_LEN + 8];
        snprintf(key, sizeof key, "kws.%s", w);
        double th = kw[i].threshold > 0 ? kw[i].threshold : vt_kws_default_threshold(w);
        if ((rc = vt__opt_double(opts, n_opts, key, th, 1e-100, 1e10, &th, err, errlen)) != 0) {
            free(k);
            return rc;
        }
        k->spec.threshold[i] = th;
    }
    k->spec.n = n_kw;
    k->key = kws_key(&k->spec);
    /* a decoder for this list now (made, or an idle one): the words are
     * checked here, and the spotter listens from here on, as before */
    rc = VT_EINVAL;
    if (!(k->slot = vt__ps_pool_take(&m->pool, k->key, &k->spec, &rc, err, errlen))) {
        free(k);
        return rc;
    }
    if (warm)
        kws_warm_cmn(m, k->slot, &k->cmn);
    vt__ps_cmn_load(k->slot->ps, k->cmn.set ? &k->cmn : &k->slot->fresh);
    rc = kws_reset(k);
    if (rc) {
        snprintf(err, errlen, "keyword spotting: cannot start the decoder");
        kws_destroy(k);
        return rc;
    }
    *out = k;
    return 0;
}

int vt_kws_pocketsphinx_pool(void *model, vt_ps_pool_info *out)
{
    if (!model || !out)
        return VT_EINVAL;
    pool_info(&((ps_kws_model *)model)->pool, out);
    return 0;
}

const vt_kws_ops vt_kws_pocketsphinx = {
    .name = "pocketsphinx",
    .load = kws_load,
    .unload = kws_unload,
    .create = kws_create,
    .destroy = kws_destroy,
    .reset = kws_reset,
    .feed = kws_feed,
    .pause = kws_pause,
};
