/*
 * bench_share: what a speech session costs with each way of building its
 * pocketsphinx decoders (issue 13, part 1: shared read-only models; results
 * in docs/BENCHMARKS.md, "Shared models (issue 13)").
 *
 * Why: a speech session is 126 MiB resident today (an n-gram recogniser with
 * the full dictionary, 97 MiB, and a keyword spotter with the full
 * dictionary, 29 MiB), its decoders take hundreds of ms to open, and one
 * core holds 8-10 sessions. The goals are <= 24 MiB per additional session,
 * ready to hear within 50 ms of initialize and >= 16 sessions per core.
 * This measures, per decoder configuration, in a fresh process each:
 *   MiB added by each of 4 decoders (/proc/self/statm; the median of
 *     decoders 2-4 is the cost of one more session, the first also pays
 *     for what is shared: the dictionary file's pages, allocator arenas);
 *   ps_init time (median of 4): how soon a new session could hear;
 *   decoding cost: CPU seconds per second of speech (thread CPU time over
 *     decoding a 2-3 s flite sentence 5 times after one warm-up), from which
 *     sessions per core = 1 / (cost x speaking share) follows.
 * Configurations:
 *   ngram      today's recogniser: -lm en-us.lm.bin, the full dictionary
 *   ngram-lm1  the same with one language model shared by ps_set_lm (NOT
 *              safe concurrently: bench_lm_share), for the memory figure
 *   kws        today's keyword spotter, the full dictionary
 *   kws-tiny   the keyword spotter with a dictionary of the command words
 *   jsgf-tiny  a grammar of the lesson's answers (numbers 1-144 for the
 *              times tables) with a dictionary of its words only
 *   jsgf-mmap  jsgf-tiny with -mmap yes (mixture weights mapped, shared
 *              between processes' page cache)
 * Usage: bench_share [CONFIG...]   (default: all)
 *
 * bench_share sessions [N]  (default 16) measures what the engines do now:
 * sessions borrow their decoders from the model's pool per utterance
 * (ps_pool.c). In a fresh process, the recogniser's and the spotter's
 * models are loaded as serve loads them (one decoder made at load); then
 * N sessions are opened (recogniser + spotter ctx, the spotter paused as a
 * session is while the tutor is silent): the time to open each is how
 * soon a new session can hear; the MiB added per session open; then every
 * session speaks once in turn (an utterance with a lesson's answers
 * expected, and the spotter listening through it): MiB per additional
 * session that has spoken; then K sessions speak at the same moment
 * (K = 1, 2, 4, 8): the pool grows to K decoders, which is what a session
 * speaking at the same time as others costs.
 */
#define _POSIX_C_SOURCE 200809L
#include "engines/speech/speech.h"
#include "support/rss.h"
#include <pocketsphinx.h>
#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef VT_PS_MODELDIR
#define VT_PS_MODELDIR "/usr/share/pocketsphinx/model"
#endif
#define D VT_PS_MODELDIR "/en-us/"
#define N_DEC 4

static const char *k_commands[] = {"stop", "wait", "pause", "hold", "repeat", "next", "skip",
                                   "hint"};
static const char *k_units[] = {"zero", "one", "two", "three", "four", "five", "six",
                                "seven", "eight", "nine", "ten", "eleven", "twelve",
                                "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
                                "eighteen", "nineteen"};
static const char *k_tens[] = {"twenty", "thirty", "forty", "fifty", "sixty", "seventy",
                               "eighty", "ninety", "hundred", "and", "i", "do", "not",
                               "know", "it", "is"};
static char g_tmp[64], g_kdict[128], g_jdict[128], g_jsgf[128], g_kws[128];

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* the full dictionary's entries (with their variants "word(2)") for words */
static void tiny_dict(const char *path, const char *const *w1, size_t n1, const char *const *w2,
                      size_t n2)
{
    FILE *in = fopen(D "cmudict-en-us.dict", "r"), *out = fopen(path, "w");
    if (!in || !out) {
        fprintf(stderr, "bench_share: cannot read the dictionary (apt-get install "
                        "pocketsphinx-en-us)\n");
        exit(1);
    }
    char line[512];
    while (fgets(line, sizeof line, in)) {
        char w[128];
        if (sscanf(line, "%127s", w) != 1)
            continue;
        char *paren = strchr(w, '(');
        if (paren)
            *paren = 0;
        int keep = 0;
        for (size_t i = 0; i < n1 && !keep; i++)
            keep = strcmp(w, w1[i]) == 0;
        for (size_t i = 0; i < n2 && !keep; i++)
            keep = strcmp(w, w2[i]) == 0;
        if (keep)
            fputs(line, out);
    }
    fclose(in);
    fclose(out);
}

static void write_files(void)
{
    snprintf(g_tmp, sizeof g_tmp, "/tmp/vt-share-XXXXXX");
    if (!mkdtemp(g_tmp))
        exit(1);
    snprintf(g_kdict, sizeof g_kdict, "%s/kws.dict", g_tmp);
    snprintf(g_jdict, sizeof g_jdict, "%s/lesson.dict", g_tmp);
    snprintf(g_jsgf, sizeof g_jsgf, "%s/lesson.gram", g_tmp);
    snprintf(g_kws, sizeof g_kws, "%s/kws.list", g_tmp);
    tiny_dict(g_kdict, k_commands, sizeof k_commands / sizeof *k_commands, NULL, 0);
    tiny_dict(g_jdict, k_units, sizeof k_units / sizeof *k_units, k_tens,
              sizeof k_tens / sizeof *k_tens);
    FILE *f = fopen(g_kws, "w");
    for (size_t i = 0; i < sizeof k_commands / sizeof *k_commands; i++)
        fprintf(f, "%s /1e-20/\n", k_commands[i]);
    fclose(f);
    f = fopen(g_jsgf, "w");
    fprintf(f, "#JSGF V1.0;\ngrammar lesson;\n"
               "<unit> = zero | one | two | three | four | five | six | seven | eight | nine;\n"
               "<teen> = ten | eleven | twelve | thirteen | fourteen | fifteen | sixteen | "
               "seventeen | eighteen | nineteen;\n"
               "<tens> = twenty | thirty | forty | fifty | sixty | seventy | eighty | ninety;\n"
               "<number> = <unit> | <teen> | <tens> [<unit>] | one hundred [and] [<unit> | "
               "<teen> | <tens> [<unit>]];\n"
               "public <answer> = [it is] <number> | i do not know;\n");
    fclose(f);
}

static ps_decoder_t *make(const char *cfg, ngram_model_t **lm)
{
    cmd_ln_t *c = NULL;
    if (strcmp(cfg, "ngram") == 0)
        c = cmd_ln_init(NULL, ps_args(), TRUE, "-hmm", D "en-us", "-dict", D "cmudict-en-us.dict",
                        "-lm", D "en-us.lm.bin", "-remove_silence", "no", NULL);
    else if (strcmp(cfg, "ngram-lm1") == 0)
        c = cmd_ln_init(NULL, ps_args(), TRUE, "-hmm", D "en-us", "-dict", D "cmudict-en-us.dict",
                        "-remove_silence", "no", NULL);
    else if (strcmp(cfg, "kws") == 0)
        c = cmd_ln_init(NULL, ps_args(), TRUE, "-hmm", D "en-us", "-dict", D "cmudict-en-us.dict",
                        "-kws", g_kws, "-kws_delay", "1", NULL);
    else if (strcmp(cfg, "kws-tiny") == 0)
        c = cmd_ln_init(NULL, ps_args(), TRUE, "-hmm", D "en-us", "-dict", g_kdict, "-kws", g_kws,
                        "-kws_delay", "1", NULL);
    else if (strcmp(cfg, "jsgf-tiny") == 0)
        c = cmd_ln_init(NULL, ps_args(), TRUE, "-hmm", D "en-us", "-dict", g_jdict, "-jsgf",
                        g_jsgf, "-remove_silence", "no", NULL);
    else if (strcmp(cfg, "jsgf-mmap") == 0)
        c = cmd_ln_init(NULL, ps_args(), TRUE, "-hmm", D "en-us", "-dict", g_jdict, "-jsgf",
                        g_jsgf, "-remove_silence", "no", "-mmap", "yes", NULL);
    ps_decoder_t *ps = c ? ps_init(c) : NULL;
    if (ps && strcmp(cfg, "ngram-lm1") == 0) {
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
        fprintf(stderr, "bench_share: %s: pocketsphinx did not start\n", cfg);
        exit(1);
    }
    return ps;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void run(const char *cfg, const int16_t *pcm, size_t n, const char *say)
{
    ngram_model_t *lm = NULL;
    ps_decoder_t *d[N_DEC];
    double added[N_DEC], init_ms[N_DEC], before = vt_test_rss_mb();
    for (int i = 0; i < N_DEC; i++) {
        double t = now_s();
        d[i] = make(cfg, &lm);
        init_ms[i] = (now_s() - t) * 1000;
        double r = vt_test_rss_mb();
        added[i] = r - before;
        before = r;
    }
    /* decoding cost on decoder 0 */
    double cpu = 0;
    char hyp[256] = "";
    for (int r = 0; r < 6; r++) {
        double c0 = cpu_s();
        ps_start_utt(d[0]);
        for (size_t off = 0; off < n; off += 320)
            ps_process_raw(d[0], pcm + off, n - off < 320 ? n - off : 320, FALSE, FALSE);
        ps_end_utt(d[0]);
        if (r > 0)
            cpu += cpu_s() - c0;
        const char *h = ps_get_hyp(d[0], NULL);
        snprintf(hyp, sizeof hyp, "%s", h ? h : "");
    }
    double audio_s = (double)n / VT_IN_RATE * 5;
    double more[N_DEC - 1];
    memcpy(more, added + 1, sizeof more);
    qsort(more, N_DEC - 1, sizeof *more, cmp_d);
    qsort(init_ms, N_DEC, sizeof *init_ms, cmp_d);
    printf("| %s | %.1f | %.1f | %.0f | %.3f | \"%s\" -> \"%s\" |\n", cfg, added[0], more[1],
           (init_ms[1] + init_ms[2]) / 2, cpu / audio_s, say, hyp);
    fflush(stdout);
    for (int i = 0; i < N_DEC; i++)
        ps_free(d[i]);
    if (lm)
        ngram_model_free(lm);
}

static void feed_all(void *stt, const int16_t *pcm, size_t n)
{
    for (size_t off = 0; off < n; off += 320)
        vt_stt_pocketsphinx.feed(stt, pcm + off, n - off < 320 ? n - off : 320);
}

static int sessions(int n_sess, const int16_t *pcm, size_t n)
{
    char e[512];
    void *sm = NULL, *km = NULL;
    double rss0 = vt_test_rss_mb();
    if (vt_stt_pocketsphinx.load(NULL, 0, &sm, e, sizeof e) ||
        vt_kws_pocketsphinx.load(NULL, 0, &km, e, sizeof e)) {
        fprintf(stderr, "bench_share: %s\n", e);
        return 1;
    }
    double rss_models = vt_test_rss_mb();
    void **stt = calloc((size_t)n_sess, sizeof *stt), **kws = calloc((size_t)n_sess, sizeof *kws);
    double *open_ms = calloc((size_t)n_sess, sizeof *open_ms);
    vt_keyword kw[] = {{"stop", 0}, {"wait", 0}, {"pause", 0}, {"hold on", 0}};
    double rss_first = 0;
    for (int i = 0; i < n_sess; i++) {
        double t = now_s();
        if (vt_stt_pocketsphinx.create(sm, NULL, 0, &stt[i], e, sizeof e) ||
            vt_kws_pocketsphinx.create(km, NULL, 0, kw, 4, &kws[i], e, sizeof e)) {
            fprintf(stderr, "bench_share: %s\n", e);
            return 1;
        }
        vt_kws_pocketsphinx.pause(kws[i]);
        open_ms[i] = (now_s() - t) * 1000;
        if (i == 0)
            rss_first = vt_test_rss_mb();
    }
    double rss_open = vt_test_rss_mb();
    static const char *const ans[] = {"fifty six", "fifty four"};
    vt_stt_result *r = malloc(sizeof *r);
    vt_kws_hit hit;
    for (int i = 0; i < n_sess; i++) {
        vt_stt_pocketsphinx.expect(stt[i], ans, 2, NULL, 0);
        vt_stt_pocketsphinx.begin(stt[i]);
        vt_kws_pocketsphinx.reset(kws[i]);
        for (size_t off = 0; off < n; off += 320) {
            size_t m = n - off < 320 ? n - off : 320;
            vt_stt_pocketsphinx.feed(stt[i], pcm + off, m);
            vt_kws_pocketsphinx.feed(kws[i], pcm + off, m, &hit);
        }
        vt_stt_pocketsphinx.end(stt[i], r);
        vt_kws_pocketsphinx.pause(kws[i]);
    }
    double rss_spoke = vt_test_rss_mb();
    vt_ps_pool_info si, ki;
    vt_stt_pocketsphinx_pool(sm, &si);
    vt_kws_pocketsphinx_pool(km, &ki);
    double sorted[1024];
    int ns = n_sess < 1024 ? n_sess : 1024;
    memcpy(sorted, open_ms, (size_t)ns * sizeof *sorted);
    qsort(sorted, (size_t)ns, sizeof *sorted, cmp_d);
    printf("| sessions | models loaded (MiB) | first session opened (MiB) | MiB per additional "
           "session, open | MiB per additional session, after each spoke once | open ms "
           "(median / max; the first) | decoders (recogniser / spotter) | heard |\n"
           "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n");
    printf("| %d | %.1f | %.1f | %.2f | %.2f | %.2f / %.2f; %.1f | %zu / %zu | \"%s\" |\n", n_sess,
           rss_models - rss0, rss_first - rss_models, (rss_open - rss_first) / (n_sess - 1),
           (rss_spoke - rss_first) / (n_sess - 1), sorted[ns / 2], sorted[ns - 1], open_ms[0],
           si.decoders, ki.decoders, r->text);
    /* K at once */
    printf("\n| speaking at once | recogniser decoders | RSS (MiB) | MiB per extra speaker |\n"
           "| ---: | ---: | ---: | ---: |\n");
    double base = vt_test_rss_mb();
    for (int k = 1; k <= 8 && k <= n_sess; k *= 2) {
        for (int i = 0; i < k; i++) {
            vt_stt_pocketsphinx.begin(stt[i]);
            feed_all(stt[i], pcm, n);
        }
        vt_stt_pocketsphinx_pool(sm, &si);
        double now = vt_test_rss_mb();
        for (int i = 0; i < k; i++)
            vt_stt_pocketsphinx.end(stt[i], r);
        printf("| %d | %zu | %.1f | %.1f |\n", k, si.decoders, now,
               k > 1 ? (now - base) / (k - 1) : 0.0);
        fflush(stdout);
    }
    for (int i = 0; i < n_sess; i++) {
        vt_stt_pocketsphinx.destroy(stt[i]);
        vt_kws_pocketsphinx.destroy(kws[i]);
    }
    vt_stt_pocketsphinx.unload(sm);
    vt_kws_pocketsphinx.unload(km);
    free(stt);
    free(kws);
    free(open_ms);
    free(r);
    return 0;
}

int main(int argc, char **argv)
{
    const char *all[] = {"ngram", "ngram-lm1", "kws", "kws-tiny", "jsgf-tiny", "jsgf-mmap"};
    const char **cfgs = argc > 1 ? (const char **)argv + 1 : all;
    int n_cfg = argc > 1 ? argc - 1 : (int)(sizeof all / sizeof *all);
    err_set_logfp(NULL);
    write_files();
    const char *texts[2] = {"Could you tell me why the moon changes its shape every night",
                            "fifty six"};
    int16_t *pcm[2];
    size_t n[2];
    for (int i = 0; i < 2; i++) {
        const vt_tts_ops *ops;
        void *model, *ctx;
        char e[256];
        if (vt_tts_open("awb", NULL, 0, &ops, &model, &ctx, e, sizeof e) ||
            vt_tts_synth_buffer(ops, ctx, VT_IN_RATE, texts[i], &pcm[i], &n[i], NULL)) {
            fprintf(stderr, "bench_share: %s\n", e);
            return 1;
        }
        vt_tts_close(ops, model, ctx);
    }
    if (argc > 1 && strcmp(argv[1], "sessions") == 0) {
        int ns = argc > 2 ? atoi(argv[2]) : 16;
        int rc = sessions(ns < 2 ? 2 : ns, pcm[1], n[1]);
        free(pcm[0]);
        free(pcm[1]);
        return rc;
    }
    printf("| decoder | MiB added by the first | MiB per additional (median of 3) | ps_init ms "
           "(median of %d) | CPU s per s of speech | heard |\n| --- | ---: | ---: | ---: | ---: "
           "| --- |\n",
           N_DEC);
    for (int i = 0; i < n_cfg; i++) {
        fflush(stdout);
        int which = strncmp(cfgs[i], "jsgf", 4) == 0;
        pid_t pid = fork();
        if (pid == 0) {
            run(cfgs[i], pcm[which], n[which], texts[which]);
            _exit(0);
        }
        if (pid < 0 || waitpid(pid, NULL, 0) != pid)
            return 1;
    }
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", g_tmp);
    if (system(cmd) != 0)
        return 1;
    free(pcm[0]);
    free(pcm[1]);
    return 0;
}
