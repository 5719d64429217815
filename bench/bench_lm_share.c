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
 */
#include "engines/speech/speech.h"
#include "support/rss.h"
#include <pocketsphinx.h>
#include <err.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

int main(int argc, char **argv)
{
    int runs = argc > 1 ? atoi(argv[1]) : 40;
    if (runs <= 0) {
        fprintf(stderr, "usage: bench_lm_share [RUNS]\n");
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
