/*
 * Speech-to-text and keyword spotting on pocketsphinx 5prealpha (Debian's
 * pocketsphinx-en-us models), streaming, one decoder per session.
 *
 * DESIGN
 * STT: the decoder is created once and kept warm. begin() restarts the
 * stream (frame counter back to 0, so segment frames are 10 ms steps from
 * the utterance start) and the utterance; feed() decodes as audio arrives;
 * partial() is ps_get_hyp (a cheap backtrace); end() gives the final text
 * with word times, fillers and "(2)" suffixes removed. Cepstral mean
 * normalisation adapts over the audio a decoder hears, which is why each
 * session keeps its own decoder for its whole life instead of creating one
 * per utterance. Option warmup=1 also decodes a short phrase synthesized
 * with flite at create; measured on flite test speech it did not improve
 * the first utterance (16 % vs 19 % word errors, bench_speech) and costs
 * about 0.5 s, so it is off by default for STT; the keyword spotter, whose
 * thresholds were measured warmed up, keeps it on. By default pocketsphinx's silence removal is off so that word
 * times are wall-clock times (the core runs its own VAD); `transcribe` turns
 * it on (vad=1) and segments a file with ps_get_in_speech.
 *
 * KWS: a second decoder in keyword mode (acoustic model + dictionary, no
 * language model). Its dictionary is only the command words' lines, taken
 * from the full dictionary that kws_load reads once (ps_dict.c): 5.5 MiB and
 * 9 ms of ps_init per session instead of 27 MiB and 99 ms (bench_share);
 * option kws_dict=full gives it the whole file as before. Its warm-up phrase
 * is synthesized once, at kws_load, and decoded by every new spotter. The command list written to a keyword file with one
 * threshold per word. Audio is fed in 20 ms pieces so a hit is placed to
 * within 20 ms; after a hit the utterance restarts so one word is reported
 * once. Segment times are unreliable in this mode; we count samples.
 *
 * MODEL VS DECODER: load() resolves and checks the model paths and reads
 * the options that shape a decoder's configuration (modeldir, hmm, lm, dict,
 * jsgf, vad; kws_delay); that model is immutable afterwards, and create()
 * builds each decoder from it with its own cmd_ln_t (ps_init writes into the
 * configuration it is given, so one shared cmd_ln_t would be written by
 * concurrent creates). The n-gram language model is NOT shared, although
 * pocketsphinx allows it (ngram_model_read once, ps_set_lm per decoder: a
 * second decoder then adds 58.3 MiB resident instead of 91.2 MiB,
 * bench_lm_share): sphinxbase's trie language model keeps a scoring
 * cache inside the model (the last history and its backoffs), written on
 * every lookup, so decoders on different worker threads sharing one race:
 * two threads decoding at once 40 times gave 7 of 80 hypotheses different
 * from the steady result with a shared model, 0 of 80 with their own
 * (bench_lm_share, docs/SPEECH.md). A lock around decoding would serialise every session.
 *
 * Missing model files are reported by path, with the package to install,
 * at load(). pocketsphinx's log goes nowhere (err_set_logfp(NULL),
 * process-wide).
 */
#include "engines/speech/speech.h"
#include "engines/speech/speech_internal.h"
#include "engines/speech/ps_dict.h"
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

typedef struct ps_stt {
    ps_decoder_t *ps;
    cmd_ln_t *config;
    int in_utt;
    int vad;
    double utt_cpu_s;        /* thread CPU spent on this utterance's n-gram pass */
    vt__ps_expect ex;        /* the expected answers' grammar (stt_expect.c) */
} ps_stt;

static int is_filler(const char *w)
{
    return w[0] == '<' || w[0] == '[' || w[0] == '+' || strcmp(w, "(NULL)") == 0;
}

static void stt_destroy(void *ctx)
{
    ps_stt *s = ctx;
    if (!s)
        return;
    vt__ps_expect_free(&s->ex);
    if (s->ps)
        ps_free(s->ps);
    if (s->config)
        cmd_ln_free_r(s->config);
    free(s);
}

static int stt_begin(void *ctx)
{
    ps_stt *s = ctx;
    if (!s)
        return VT_EINVAL;
    if (s->in_utt)
        ps_end_utt(s->ps);
    s->in_utt = 0;
    if (ps_start_stream(s->ps) < 0 || ps_start_utt(s->ps) < 0)
        return VT_EIO;
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
    if (n && ps_process_raw(s->ps, pcm, n, FALSE, FALSE) < 0)
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
    const char *hyp = ps_get_hyp(s->ps, NULL);
    if (!hyp)
        return 0;
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
    double t0 = vt__thread_cpu_s();
    if (ps_end_utt(s->ps) < 0)
        return VT_EIO;
    vt__ps_result(s->ps, out);
    vt__ps_expect_end(&s->ex, s->ps, out, s->utt_cpu_s + vt__thread_cpu_s() - t0);
    return 0;
}

static int stt_expect(void *ctx, const char *const *answers, size_t n_answers,
                      const char *const *commands, size_t n_commands)
{
    ps_stt *s = ctx;
    if (!s || (n_answers && !answers) || (n_commands && !commands))
        return VT_EINVAL;
    if (s->in_utt)
        return VT_ESTATE; /* pocketsphinx changes searches between utterances only */
    return vt__ps_expect_set(&s->ex, s->ps, answers, n_answers, commands, n_commands);
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

/* What every STT decoder of a process shares: immutable after stt_load. */
typedef struct ps_stt_model {
    ps_paths p;
    char jsgf[512];          /* "" : the n-gram language model p.lm */
    int vad;
} ps_stt_model;

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
    int vad = 0;
    if ((rc = vt__opt_int(opts, n_opts, "vad", 0, 0, 1, &vad, err, errlen)) != 0)
        return rc;
    ps_stt_model *m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(err, errlen, "pocketsphinx: out of memory");
        return VT_ENOMEM;
    }
    m->p = p;
    snprintf(m->jsgf, sizeof m->jsgf, "%s", jsgf ? jsgf : "");
    m->vad = vad;
    *out = m;
    return 0;
}

static void stt_unload(void *model)
{
    free(model);
}

static int stt_create(void *model, const vt_opt *opts, size_t n_opts, void **out, char *err,
                      size_t errlen)
{
    const ps_stt_model *m = model;
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
    if (rc)
        return rc;
    ps_stt *s = vt__ctx_new(m, sizeof *s, "pocketsphinx", &rc, err, errlen);
    if (!s)
        return rc;
    const char *jsgf = m->jsgf[0] ? m->jsgf : NULL;
    s->vad = m->vad;
    s->config = cmd_ln_init(NULL, ps_args(), TRUE, "-hmm", m->p.hmm, "-dict", m->p.dict,
                            jsgf ? "-jsgf" : "-lm", jsgf ? jsgf : m->p.lm,
                            "-remove_silence", m->vad ? "yes" : "no", NULL);
    if (s->config)
        s->ps = ps_init(s->config);
    if (!s->ps) {
        snprintf(err, errlen, "pocketsphinx could not load its models (hmm %s, %s %s, dict %s); "
                 "reinstall them with `%s`", m->p.hmm, jsgf ? "jsgf" : "lm",
                 jsgf ? jsgf : m->p.lm, m->p.dict, PS_INSTALL_HINT);
        stt_destroy(s);
        return VT_ENOTFOUND;
    }
    vt__ps_expect_init(&s->ex, s->ps, slack, max_words, max_ms / 1000.0);
    s->ex.weight = weight;
    if (warm)
        warm_up(s->ps);
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
    return ps_get_in_speech(s->ps) ? 1 : 0;
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

typedef struct ps_kws {
    ps_decoder_t *ps;
    cmd_ln_t *config;
    uint64_t fed;            /* samples since reset */
    int in_utt;
} ps_kws;

static void kws_destroy(void *ctx)
{
    ps_kws *k = ctx;
    if (!k)
        return;
    if (k->ps)
        ps_free(k->ps);
    if (k->config)
        cmd_ln_free_r(k->config);
    free(k);
}

static int kws_reset(void *ctx)
{
    ps_kws *k = ctx;
    if (!k)
        return VT_EINVAL;
    if (k->in_utt)
        ps_end_utt(k->ps);
    k->in_utt = 0;
    k->fed = 0;
    if (ps_start_stream(k->ps) < 0 || ps_start_utt(k->ps) < 0)
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
        if (ps_process_raw(k->ps, pcm + off, m, FALSE, FALSE) < 0)
            return VT_EIO;
        k->fed += m;
        const char *hyp = ps_get_hyp(k->ps, NULL);
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
        ps_end_utt(k->ps);
        if (ps_start_utt(k->ps) < 0) {
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

/* What every keyword decoder of a process shares: immutable after kws_load. */
typedef struct ps_kws_model {
    ps_paths p;
    int delay;               /* -kws_delay, frames */
    vt__ps_dict *dict;       /* p.dict indexed; NULL: decoders read p.dict whole */
    int16_t *warm_pcm;       /* the warm-up phrase, synthesized once (NULL: none) */
    size_t warm_n;
} ps_kws_model;

static int kws_load(const vt_opt *opts, size_t n_opts, void **out, char *err, size_t errlen)
{
    pthread_once(&quiet_once, quiet);
    ps_paths p;
    int rc = resolve_paths(opts, n_opts, 0, &p, err, errlen);
    if (rc)
        return rc;
    int delay = 1;
    if ((rc = vt__opt_int(opts, n_opts, "kws_delay", 1, 1, 100, &delay, err, errlen)) != 0)
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
    *out = m;
    return 0;
}

static void kws_unload(void *model)
{
    ps_kws_model *m = model;
    if (m) {
        vt__ps_dict_free(m->dict);
        free(m->warm_pcm);
    }
    free(m);
}

static int kws_create(void *model, const vt_opt *opts, size_t n_opts, const vt_keyword *kw,
                      size_t n_kw, void **out, char *err, size_t errlen)
{
    const ps_kws_model *m = model;
    if (!m) {
        snprintf(err, errlen, "keyword spotting: no model (load it first)");
        return VT_EINVAL;
    }
    if (!kw || n_kw == 0) {
        snprintf(err, errlen, "keyword spotting: no command words given");
        return VT_EINVAL;
    }
    const ps_paths *pp = &m->p;
    int warm = 1, tiny = 1;
    int rc = vt__opt_int(opts, n_opts, "warmup", 1, 0, 1, &warm, err, errlen);
    if (!rc)
        rc = vt__opt_int(opts, n_opts, "kws_tiny_dict", 1, 0, 1, &tiny, err, errlen);
    if (rc)
        return rc;
    char delay_s[16];
    snprintf(delay_s, sizeof delay_s, "%d", m->delay);
    ps_kws *k = calloc(1, sizeof *k);
    char path[] = "/tmp/voicetutor-kws-XXXXXX";
    char dpath[64] = "";
    int fd = -1, have_file = 0;
    FILE *f = NULL;
    if (!k) {
        snprintf(err, errlen, "keyword spotting: out of memory");
        return VT_ENOMEM;
    }
    if (m->dict && tiny) {
        /* only the command words' pronunciations: 5 MiB and 9 ms, not 27 and 99
         * (option kws_tiny_dict=0: the full dictionary) */
        const char *words[VT_MAX_COMMANDS + 8];
        size_t nw = 0;
        for (size_t i = 0; i < n_kw && nw < sizeof words / sizeof *words; i++)
            if (kw[i].word)
                words[nw++] = kw[i].word;
        char lw[VT_MAX_COMMANDS + 8][VT_MAX_COMMAND_LEN];
        for (size_t i = 0; i < nw; i++) {
            size_t j = 0;
            for (; words[i][j] && j + 1 < sizeof lw[i]; j++)
                lw[i][j] = (char)tolower((unsigned char)words[i][j]);
            lw[i][j] = 0;
            words[i] = lw[i];
        }
        char bad[64] = "";
        rc = vt__ps_dict_subset(m->dict, words, nw, dpath, sizeof dpath, bad, sizeof bad);
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
    k->config = cmd_ln_init(NULL, ps_args(), TRUE, "-hmm", pp->hmm, "-dict",
                            dpath[0] ? dpath : pp->dict, "-kws_delay", delay_s, NULL);
    if (k->config)
        k->ps = ps_init(k->config);
    if (!k->ps) {
        snprintf(err, errlen, "pocketsphinx could not load its models (hmm %s, dict %s); "
                 "reinstall them with `%s`", pp->hmm, pp->dict, PS_INSTALL_HINT);
        rc = VT_ENOTFOUND;
        goto out;
    }
    fd = mkstemp(path);
    have_file = fd >= 0;
    if (fd < 0 || !(f = fdopen(fd, "w"))) {
        snprintf(err, errlen, "keyword spotting: cannot write a keyword file in /tmp (%s)",
                 strerror(errno));
        rc = VT_EIO;
        goto out;
    }
    fd = -1;
    for (size_t i = 0; i < n_kw; i++) {
        char word[VT_MAX_COMMAND_LEN];
        if (!kw[i].word) {
            snprintf(err, errlen, "keyword spotting: keyword %zu has no text", i);
            rc = VT_EINVAL;
            goto out;
        }
        rc = kws_word(k->ps, kw[i].word, word, sizeof word, pp->dict, err, errlen);
        if (rc)
            goto out;
        char key[VT_MAX_COMMAND_LEN + 8];
        snprintf(key, sizeof key, "kws.%s", word);
        double th = kw[i].threshold > 0 ? kw[i].threshold : vt_kws_default_threshold(word);
        rc = vt__opt_double(opts, n_opts, key, th, 1e-100, 1e10, &th, err, errlen);
        if (rc)
            goto out;
        fprintf(f, "%s /%g/\n", word, th);
    }
    if (fclose(f) != 0) {
        f = NULL;
        snprintf(err, errlen, "keyword spotting: cannot write the keyword file %s", path);
        rc = VT_EIO;
        goto out;
    }
    f = NULL;
    if (ps_set_kws(k->ps, "commands", path) < 0 || ps_set_search(k->ps, "commands") < 0) {
        snprintf(err, errlen, "keyword spotting: pocketsphinx rejected the command list");
        rc = VT_EINVAL;
        goto out;
    }
    if (warm)
        warm_decode(k->ps, m->warm_pcm, m->warm_n);
    rc = kws_reset(k);
    if (rc)
        snprintf(err, errlen, "keyword spotting: cannot start the decoder");
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
        kws_destroy(k);
        return rc;
    }
    *out = k;
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
};
