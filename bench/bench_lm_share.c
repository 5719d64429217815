/*
 * bench_lm_share: could the pocketsphinx speech-to-text model share its
 * n-gram language model between sessions? (issue 10: a model loaded once
 * per process, a decoder per session.) pocketsphinx allows it:
 * ngram_model_read once, ps_set_lm on every decoder, which retains it.
 * This measures what it would save and whether it is safe:
 *
 *   memory: resident size added by each of three decoders (/proc/self/statm),
 *           each with its own language model vs one shared (each case in a
 *           fresh process);
 *   safety: two decoders on two threads, each decoding its own recording
 *           at the same time, N times (after one decode each, so cepstral
 *           mean normalisation has settled): how many hypotheses differ from
 *           the steady one, with their own models vs one shared.
 *
 * The answer (docs/SPEECH.md): about 34 MB per session saved, but the shared
 * model gives different hypotheses under concurrency (sphinxbase's trie
 * language model keeps a scoring cache inside it), so each decoder keeps its
 * own. Usage: bench_lm_share [RUNS]   (default 40)
 *
 * bench_lm_share --locked [ROUNDS]   (default 1): is the shared model safe
 * if no two decoders call into it at the same time? The trie's cache (the
 * last history scored and its backoffs, lm_trie_score) looks like a pure
 * memo, rewritten whenever the history changes. Four decoders, two threads
 * each driving two of them, interleaved 20 ms chunk by 20 ms chunk (decoder
 * A feeds a chunk, then B, then A...), so the memo keeps switching between
 * the decoders' histories. Each decoder decodes ROUNDS times the same list
 * of utterances (the ten test sentences, each in two flite voices, and the
 * two long texts above), each decoder starting at a different place in it;
 * a partial ps_get_hyp every 100 ms, at the end ps_get_hyp with its score
 * and the segmentation (words, frames, acoustic and language scores). Four
 * ways, each with fresh decoders:
 *   reference   their own language models, each thread decoding its two
 *               decoders' utterances one decoder after the other;
 *   own         their own language models, interleaved;
 *   locked      one shared model, interleaved, every pocketsphinx call
 *               (ps_start_stream/utt, ps_process_raw, ps_get_hyp, ps_end_utt,
 *               ps_seg_*) made holding one mutex for that model;
 *   unlocked    one shared model, interleaved, no lock.
 * Every utterance's hypothesis, score, segmentation and partial hypotheses
 * are compared with the reference's for the same decoder and utterance (the
 * decoder's history, and so its cepstral mean, is the same in every way),
 * with the wall and CPU time of each way. The lock serialises all of
 * decoding (acoustic scoring runs inside ps_process_raw), so the locked way
 * uses one core per shared model.
 * Measured (3 runs, 88 decodes per way each, 2 cores): locked, 0 of 264
 * hypotheses, scores, segmentations or partial hypotheses differ; unlocked,
 * 18 of 264 hypotheses and 192 of 264 scores differ. The lock costs no CPU
 * that stands out of the noise but halves the cores used; in the run on an
 * otherwise idle machine: locked 56.2 s wall, 56.2 s CPU; own models
 * interleaved 25.1 s, 49.0 s CPU; reference 27.8 s, 53.7 s CPU.
 */
#include "engines/speech/speech.h"
#include "support/rss.h"
#include "support/wer.h"
#include <pocketsphinx.h>
#include <err.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef VT_PS_MODELDIR
#define VT_PS_MODELDIR "/usr/share/pocketsphinx/model"
#endif
#define D VT_PS_MODELDIR "/en-us/"

static const char *k_text[2] = {
    "Could you tell me why the moon changes its shape every night and what the tides have to "
    "do with it",
    "I do not understand the second step of the proof about prime numbers and their "
    "distribution",
};
static const char *k_voice[2] = {"awb", "rms"};

typedef struct job {
    ps_decoder_t *ps;
    const int16_t *pcm;
    size_t n;
    char hyp[512];
} job;


static void *decode(void *arg)
{
    job *j = arg;
    ps_start_stream(j->ps);
    ps_start_utt(j->ps);
    for (size_t off = 0; off < j->n; off += 320)
        ps_process_raw(j->ps, j->pcm + off, j->n - off < 320 ? j->n - off : 320, FALSE, FALSE);
    ps_end_utt(j->ps);
    const char *h = ps_get_hyp(j->ps, NULL);
    snprintf(j->hyp, sizeof j->hyp, "%s", h ? h : "");
    return NULL;
}

static ps_decoder_t *decoder(int shared, ngram_model_t **lm)
{
    cmd_ln_t *c = shared ? cmd_ln_init(NULL, ps_args(), TRUE, "-hmm", D "en-us", "-dict",
                                       D "cmudict-en-us.dict", "-remove_silence", "no", NULL)
                         : cmd_ln_init(NULL, ps_args(), TRUE, "-hmm", D "en-us", "-dict",
                                       D "cmudict-en-us.dict", "-lm", D "en-us.lm.bin",
                                       "-remove_silence", "no", NULL);
    ps_decoder_t *ps = c ? ps_init(c) : NULL;
    if (ps && shared) {
        if (!*lm)
            *lm = ngram_model_read(c, D "en-us.lm.bin", NGRAM_AUTO, ps_get_logmath(ps));
        if (!*lm || ps_set_lm(ps, "lm", *lm) < 0 || ps_set_search(ps, "lm") < 0) {
            ps_free(ps);
            ps = NULL;
        }
    }
    if (c)
        cmd_ln_free_r(c);
    if (!ps) {
        fprintf(stderr, "bench_lm_share: pocketsphinx did not start (apt-get install "
                        "pocketsphinx-en-us)\n");
        exit(1);
    }
    return ps;
}

static void run(int shared, int runs, int16_t *const *pcm, const size_t *n)
{
    ngram_model_t *lm = NULL;
    ps_decoder_t *d[3];
    double before = vt_test_rss_mb(), added[3];
    for (int i = 0; i < 3; i++) {
        d[i] = decoder(shared, &lm);
        double now = vt_test_rss_mb();
        added[i] = now - before;
        before = now;
    }
    job j[2], ref[2];
    for (int i = 0; i < 2; i++) {
        ref[i] = (job){d[i], pcm[i], n[i], ""};
        decode(&ref[i]); /* settles cepstral mean normalisation */
        decode(&ref[i]); /* the steady hypothesis */
    }
    int differ = 0;
    for (int r = 0; r < runs; r++) {
        pthread_t t[2];
        for (int i = 0; i < 2; i++) {
            j[i] = (job){d[i], pcm[i], n[i], ""};
            pthread_create(&t[i], NULL, decode, &j[i]);
        }
        for (int i = 0; i < 2; i++) {
            pthread_join(t[i], NULL);
            differ += strcmp(j[i].hyp, ref[i].hyp) != 0;
        }
    }
    printf("| %s | %.1f | %.1f | %.1f | %d of %d |\n", shared ? "one shared" : "one each",
           added[0], added[1], added[2], differ, 2 * runs);
    fflush(stdout);
    for (int i = 0; i < 3; i++)
        ps_free(d[i]);
    if (lm)
        ngram_model_free(lm);
}

/* ---- --locked: one shared model, calls serialised by a mutex ---------- */
#define N_DEC 4          /* decoders, two per thread */
#define CHUNK 320        /* 20 ms at 16 kHz */
#define PARTIAL_EVERY 5  /* a partial hypothesis every 100 ms */
#define MAX_UTT 32

typedef struct utt {
    int16_t *pcm;
    size_t n;
    const char *voice, *text;
} utt;

typedef struct outcome {
    char hyp[512];
    int32 score;
    uint64_t seg, partial; /* FNV-1a of the segmentation, of the partial hypotheses */
} outcome;

typedef struct stream {
    ps_decoder_t *ps;
    int dec, k, total, chunks, in_utt;
    size_t off;
    uint64_t partial;
    outcome *out; /* [total] */
} stream;

typedef struct lane {
    stream s[2];
    pthread_mutex_t *mu; /* NULL: no lock */
    int interleave;
} lane;

static utt g_utt[MAX_UTT];
static int g_n_utt;

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211u;
    return h;
}
#define FNV0 14695981039346656037u

static int seq(int dec, int k)
{
    return (k + dec * g_n_utt / N_DEC) % g_n_utt;
}

static void lock(pthread_mutex_t *mu)
{
    if (mu)
        pthread_mutex_lock(mu);
}

static void unlock(pthread_mutex_t *mu)
{
    if (mu)
        pthread_mutex_unlock(mu);
}

/* One 20 ms chunk of the stream's current utterance (starting it before the
 * first, finishing it after the last); 0 once all its utterances are done. */
static int step(stream *s, pthread_mutex_t *mu)
{
    if (s->k == s->total)
        return 0;
    const utt *u = &g_utt[seq(s->dec, s->k)];
    if (!s->in_utt) {
        lock(mu);
        ps_start_stream(s->ps);
        ps_start_utt(s->ps);
        unlock(mu);
        s->in_utt = 1;
        s->off = 0;
        s->chunks = 0;
        s->partial = FNV0;
    }
    size_t m = u->n - s->off < CHUNK ? u->n - s->off : CHUNK;
    lock(mu);
    ps_process_raw(s->ps, u->pcm + s->off, m, FALSE, FALSE);
    unlock(mu);
    s->off += m;
    if (++s->chunks % PARTIAL_EVERY == 0) {
        lock(mu);
        const char *h = ps_get_hyp(s->ps, NULL);
        s->partial = fnv(s->partial, h ? h : "", h ? strlen(h) + 1 : 1);
        unlock(mu);
    }
    if (s->off < u->n)
        return 1;
    outcome *o = &s->out[s->k];
    uint64_t seg = FNV0;
    lock(mu);
    ps_end_utt(s->ps);
    int32 score = 0;
    const char *h = ps_get_hyp(s->ps, &score);
    snprintf(o->hyp, sizeof o->hyp, "%s", h ? h : "");
    o->score = score;
    for (ps_seg_t *g = ps_seg_iter(s->ps); g; g = ps_seg_next(g)) {
        const char *w = ps_seg_word(g);
        int32 v[5];
        ps_seg_frames(g, &v[0], &v[1]);
        ps_seg_prob(g, &v[2], &v[3], &v[4]);
        seg = fnv(fnv(seg, w, strlen(w) + 1), v, sizeof v);
    }
    unlock(mu);
    o->seg = seg;
    o->partial = s->partial;
    s->in_utt = 0;
    s->k++;
    return 1;
}

static void *drive(void *arg)
{
    lane *l = arg;
    if (l->interleave) {
        for (;;) {
            int a = step(&l->s[0], l->mu);
            int b = step(&l->s[1], l->mu);
            if (!a && !b)
                break;
        }
    } else {
        for (int i = 0; i < 2; i++)
            while (step(&l->s[i], l->mu))
                ;
    }
    return NULL;
}

static double now_s(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Decodes every decoder's utterances one way; out[dec][k]. */
static void run_way(int shared, int interleave, int locked, int total, outcome **out,
                    double *wall, double *cpu)
{
    ngram_model_t *lm = NULL;
    ps_decoder_t *d[N_DEC];
    for (int i = 0; i < N_DEC; i++) {
        ngram_model_t *own = NULL;
        d[i] = decoder(1, shared ? &lm : &own);
        if (own)
            ngram_model_free(own); /* the decoder holds its own reference */
    }
    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    lane l[2];
    for (int t = 0; t < 2; t++) {
        l[t] = (lane){.mu = locked ? &mu : NULL, .interleave = interleave};
        for (int i = 0; i < 2; i++) {
            int dec = 2 * t + i;
            l[t].s[i] = (stream){.ps = d[dec], .dec = dec, .total = total, .out = out[dec]};
        }
    }
    double w0 = now_s(CLOCK_MONOTONIC), c0 = now_s(CLOCK_PROCESS_CPUTIME_ID);
    pthread_t th[2];
    for (int t = 0; t < 2; t++)
        pthread_create(&th[t], NULL, drive, &l[t]);
    for (int t = 0; t < 2; t++)
        pthread_join(th[t], NULL);
    *wall = now_s(CLOCK_MONOTONIC) - w0;
    *cpu = now_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
    for (int i = 0; i < N_DEC; i++)
        ps_free(d[i]);
    if (lm)
        ngram_model_free(lm);
}

static int synth(const char *voice, const char *text)
{
    const vt_tts_ops *ops;
    void *model, *ctx;
    char e[256] = "";
    utt *u = &g_utt[g_n_utt];
    if (g_n_utt == MAX_UTT || vt_tts_open(voice, NULL, 0, &ops, &model, &ctx, e, sizeof e) ||
        vt_tts_synth_buffer(ops, ctx, VT_IN_RATE, text, &u->pcm, &u->n, NULL)) {
        fprintf(stderr, "bench_lm_share: %s\n", e);
        return -1;
    }
    vt_tts_close(ops, model, ctx);
    u->voice = voice;
    u->text = text;
    g_n_utt++;
    return 0;
}

static int locked_mode(int rounds)
{
    static const char *voices[4] = {"slt", "rms", "awb", "kal16"};
    double secs = 0;
    for (int i = 0; i < VT_TEST_N_SENTENCES; i++)
        for (int v = 0; v < 2; v++)
            if (synth(voices[(i + 2 * v) % 4], vt_test_sentences[i]))
                return 1;
    for (int i = 0; i < 2; i++)
        if (synth(k_voice[i], k_text[i]))
            return 1;
    for (int i = 0; i < g_n_utt; i++)
        secs += (double)g_utt[i].n / VT_IN_RATE;
    int total = rounds * g_n_utt;
    static const struct {
        const char *name;
        int shared, interleave, locked;
    } way[4] = {
        {"reference: own models, one decoder after the other", 0, 0, 0},
        {"own models, interleaved", 0, 1, 0},
        {"one shared model, interleaved, calls under one mutex", 1, 1, 1},
        {"one shared model, interleaved, no lock", 1, 1, 0},
    };
    outcome *res[4][N_DEC];
    for (int w = 0; w < 4; w++)
        for (int i = 0; i < N_DEC; i++)
            if (!(res[w][i] = calloc((size_t)total, sizeof(outcome))))
                return 1;
    printf("### One shared language model, calls serialised (bench_lm_share --locked %d)\n\n"
           "%d decoders on 2 threads, %d utterances (%.0f s of speech) each per round, "
           "interleaved in 20 ms chunks: %d decodes per way.\n\n",
           rounds, N_DEC, g_n_utt, secs, N_DEC * total);
    printf("| decoders | hypotheses that differ | scores | segmentations | partial hypotheses "
           "| wall s | CPU s |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n");
    for (int w = 0; w < 4; w++) {
        double wall, cpu;
        run_way(way[w].shared, way[w].interleave, way[w].locked, total, res[w], &wall, &cpu);
        int dh = 0, ds = 0, dg = 0, dp = 0, n = N_DEC * total, shown = 0;
        for (int i = 0; i < N_DEC; i++)
            for (int k = 0; k < total; k++) {
                const outcome *a = &res[w][i][k], *r = &res[0][i][k];
                int h = strcmp(a->hyp, r->hyp) != 0;
                dh += h;
                ds += a->score != r->score;
                dg += a->seg != r->seg;
                dp += a->partial != r->partial;
                if ((h || a->score != r->score) && shown++ < 2)
                    fprintf(stderr, "%s: decoder %d utterance %d (%s): \"%s\" %d, reference "
                                    "\"%s\" %d\n",
                            way[w].name, i, k, g_utt[seq(i, k)].voice, a->hyp, a->score, r->hyp,
                            r->score);
            }
        printf("| %s | %d of %d | %d of %d | %d of %d | %d of %d | %.1f | %.1f |\n", way[w].name,
               dh, n, ds, n, dg, n, dp, n, wall, cpu);
        fflush(stdout);
    }
    for (int w = 0; w < 4; w++)
        for (int i = 0; i < N_DEC; i++)
            free(res[w][i]);
    for (int i = 0; i < g_n_utt; i++)
        free(g_utt[i].pcm);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--locked") == 0) {
        int rounds = argc > 2 ? atoi(argv[2]) : 1;
        if (rounds <= 0) {
            fprintf(stderr, "usage: bench_lm_share --locked [ROUNDS]\n");
            return 2;
        }
        err_set_logfp(NULL);
        return locked_mode(rounds);
    }
    int runs = argc > 1 ? atoi(argv[1]) : 40;
    if (runs <= 0) {
        fprintf(stderr, "usage: bench_lm_share [RUNS] | --locked [ROUNDS]\n");
        return 2;
    }
    err_set_logfp(NULL);
    int16_t *pcm[2];
    size_t n[2];
    for (int i = 0; i < 2; i++) {
        const vt_tts_ops *ops;
        void *model, *ctx;
        char e[256];
        if (vt_tts_open(k_voice[i], NULL, 0, &ops, &model, &ctx, e, sizeof e) ||
            vt_tts_synth_buffer(ops, ctx, VT_IN_RATE, k_text[i], &pcm[i], &n[i], NULL)) {
            fprintf(stderr, "bench_lm_share: %s\n", e);
            return 1;
        }
        vt_tts_close(ops, model, ctx);
    }
    printf("### Sharing the language model between decoders (bench_lm_share, %d runs)\n\n", runs);
    printf("| language model | MiB added by decoder 1 | decoder 2 | decoder 3 | hypotheses that "
           "differ, two threads at once |\n| --- | ---: | ---: | ---: | ---: |\n");
    /* each case in a fresh process: memory freed by the first would be
     * reused by the second and hide what it costs */
    for (int shared = 0; shared < 2; shared++) {
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            run(shared, runs, pcm, n);
            _exit(0);
        }
        if (pid < 0 || waitpid(pid, NULL, 0) != pid)
            return 1;
    }
    free(pcm[0]);
    free(pcm[1]);
    return 0;
}
