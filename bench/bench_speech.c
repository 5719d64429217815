/*
 * bench_speech: the speech stack's figures for docs/BENCHMARKS.md, printed
 * as markdown tables.
 *
 *   speech-to-text: real-time factor per core and word error rate per voice,
 *     the first utterance of a cold vs a warmed-up decoder, how many
 *     sessions one core sustains in real time, memory per warm session;
 *   keyword spotting: hit rate, false alarms per minute of command-free
 *     speech (people and the tutor's own voice) and detection delay after
 *     the word ends, for several thresholds per command word;
 *   text-to-speech: real-time factor and time to first audio per voice.
 *
 * Test speech is synthesized with flite (the same engine as the flite
 * command line the tests use), so the figures are reproducible offline.
 * Usage: bench_speech [stt|kws|tts|mem|all]   (default all; -h for help)
 */
#include "engines/speech/speech.h"
#include "support/rss.h"
#include "support/wer.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define RATE 16000

/* the sentences and the scoring are the tests' own (tests/support/wer.h) */
#define sentences vt_test_sentences
#define N_SENT ((size_t)VT_TEST_N_SENTENCES)

static const char *tutor_text =
    "Photosynthesis is how plants turn light into food. The leaves take in carbon dioxide "
    "from the air and water from the roots, and with the energy of sunlight they make sugar "
    "and give off oxygen. That is why forests matter so much for the air we breathe.";

static double now_s(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    if (n <= 0)
        return 0;
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void die(const char *what, const char *err)
{
    fprintf(stderr, "bench_speech: %s: %s\n", what, err);
    exit(1);
}

/* Speech in a flite voice at 16 kHz. */
static int16_t *speak(const char *voice, const char *text, size_t *n)
{
    const vt_tts_ops *ops;
    void *model, *ctx;
    char err[256];
    if (vt_tts_open(voice, NULL, 0, &ops, &model, &ctx, err, sizeof err))
        die("tts", err);
    int16_t *pcm = NULL;
    if (vt_tts_synth_buffer(ops, ctx, RATE, text, &pcm, n, NULL))
        die("tts", text);
    vt_tts_close(ops, model, ctx);
    return pcm;
}

/* ---- speech-to-text ---------------------------------------------------- */

/* The models, loaded once for the whole run as a server loads them (kept
 * until exit); every decoder below is a session's ctx on them. */
static void *stt_model, *kws_model;

static void *stt_create(int warm)
{
    void *ctx;
    char err[512];
    const vt_opt o[] = { { "warmup", warm ? "1" : "0" } };
    if (!stt_model && vt_stt_pocketsphinx.load(NULL, 0, &stt_model, err, sizeof err))
        die("stt", err);
    if (vt_stt_pocketsphinx.create(stt_model, o, 1, &ctx, err, sizeof err))
        die("stt", err);
    return ctx;
}

static int kws_create(const vt_keyword *kw, size_t n, void **ctx, char *err, size_t errlen)
{
    if (!kws_model) {
        int rc = vt_kws_pocketsphinx.load(NULL, 0, &kws_model, err, errlen);
        if (rc)
            return rc;
    }
    return vt_kws_pocketsphinx.create(kws_model, NULL, 0, kw, n, ctx, err, errlen);
}

static void bench_stt(void)
{
    const char *voices[] = { "rms", "awb", "kal16", "slt" };
    printf("### Speech-to-text (pocketsphinx en-us, warm decoder, one core)\n\n");
    printf("| voice | sentences | words | word error rate | real-time factor (median) |\n");
    printf("| --- | ---: | ---: | ---: | ---: |\n");
    void *stt = stt_create(1);
    vt_stt_result *r = malloc(sizeof *r);
    int all_e = 0, all_w = 0;
    for (size_t v = 0; v < 4; v++) {
        int errors = 0, words = 0;
        double rtf[N_SENT];
        for (size_t i = 0; i < N_SENT; i++) {
            size_t n;
            int16_t *pcm = speak(voices[v], sentences[i], &n);
            double t0 = now_s(CLOCK_THREAD_CPUTIME_ID);
            vt_speech_transcribe_pcm(&vt_stt_pocketsphinx, stt, pcm, n, r);
            rtf[i] = (now_s(CLOCK_THREAD_CPUTIME_ID) - t0) / ((double)n / RATE);
            int nw;
            errors += vt_test_word_errors(sentences[i], r->text, &nw);
            words += nw;
            free(pcm);
        }
        if (v < 2) {
            all_e += errors;
            all_w += words;
        }
        printf("| %s | %zu | %d | %.1f %% | %.3f |\n", voices[v], N_SENT, words,
               100.0 * errors / words, median(rtf, (int)N_SENT));
    }
    printf("\nTest set (rms + awb, the voices the tests use): word error rate %.1f %% "
           "(%d errors in %d words).\n\n", 100.0 * all_e / all_w, all_e, all_w);

    /* first utterance of a fresh decoder, with and without the warm-up */
    int e_cold = 0, e_warm = 0, w_first = 0;
    double create_cold[N_SENT], create_warm[N_SENT];
    for (size_t i = 0; i < N_SENT; i++) {
        size_t n;
        int16_t *pcm = speak(i % 2 ? "awb" : "rms", sentences[i], &n);
        int nw;
        for (int warm = 0; warm < 2; warm++) {
            double t0 = now_s(CLOCK_MONOTONIC);
            void *d = stt_create(warm);
            (warm ? create_warm : create_cold)[i] = now_s(CLOCK_MONOTONIC) - t0;
            vt_speech_transcribe_pcm(&vt_stt_pocketsphinx, d, pcm, n, r);
            int e = vt_test_word_errors(sentences[i], r->text, &nw);
            if (warm)
                e_warm += e;
            else
                e_cold += e;
            vt_stt_pocketsphinx.destroy(d);
        }
        w_first += nw;
        free(pcm);
    }
    printf("| first utterance after create | word error rate | create time (median) |\n");
    printf("| --- | ---: | ---: |\n");
    printf("| cold decoder (warmup=0, default) | %.1f %% | %.0f ms |\n", 100.0 * e_cold / w_first,
           1000 * median(create_cold, (int)N_SENT));
    printf("| warmed up (warmup=1) | %.1f %% | %.0f ms |\n\n",
           100.0 * e_warm / w_first, 1000 * median(create_warm, (int)N_SENT));

    /* sessions one core sustains: K decoders fed 20 ms each in turn on one
     * thread, as a worker would; real time while wall time <= audio time */
    size_t n_long = 0;
    int16_t *talk = speak("rms", tutor_text, &n_long);
    double audio_s = (double)n_long / RATE;
    printf("| sessions on one core | CPU time / audio time |\n| ---: | ---: |\n");
    int best = 0;
    for (int k = 1; k <= 16; k++) {
        void **d = calloc((size_t)k, sizeof *d);
        for (int i = 0; i < k; i++) {
            d[i] = stt_create(0);
            vt_stt_pocketsphinx.begin(d[i]);
        }
        double t0 = now_s(CLOCK_THREAD_CPUTIME_ID);
        for (size_t off = 0; off < n_long; off += 320)
            for (int i = 0; i < k; i++)
                vt_stt_pocketsphinx.feed(d[i], talk + off, n_long - off < 320 ? n_long - off : 320);
        for (int i = 0; i < k; i++) {
            vt_stt_pocketsphinx.end(d[i], r);
            vt_stt_pocketsphinx.destroy(d[i]);
        }
        double ratio = (now_s(CLOCK_THREAD_CPUTIME_ID) - t0) / audio_s;
        free(d);
        printf("| %d | %.2f |\n", k, ratio);
        fflush(stdout);
        if (ratio > 1.0)
            break;
        best = k;
    }
    printf("\nOne core sustains **%d** sessions of continuous speech in real time "
           "(CPU time of one thread; speech is rarely continuous, so more in practice).\n\n",
           best);
    free(talk);
    free(r);
    vt_stt_pocketsphinx.destroy(stt);
}

/* ---- memory ------------------------------------------------------------ */


static void bench_mem(void)
{
    enum { K = 4 };
    void *stt[K], *kws[K];
    vt_keyword kw[] = { { "stop", 0 }, { "wait", 0 } };
    char err[512];
    vt_stt_result *r = malloc(sizeof *r);
    size_t n;
    int16_t *pcm = speak("rms", sentences[0], &n);
    /* one of each first, so shared libraries and flite are already counted */
    void *s0 = stt_create(1), *k0;
    if (kws_create(kw, 2, &k0, err, sizeof err))
        die("kws", err);
    double base = vt_test_rss_mb();
    for (int i = 0; i < K; i++) {
        stt[i] = stt_create(1);
        vt_speech_transcribe_pcm(&vt_stt_pocketsphinx, stt[i], pcm, n, r);
    }
    double after_stt = vt_test_rss_mb();
    for (int i = 0; i < K; i++)
        if (kws_create(kw, 2, &kws[i], err, sizeof err))
            die("kws", err);
    double after_kws = vt_test_rss_mb();
    printf("### Memory per session (resident, median of %d sessions added)\n\n", K);
    printf("| part | MiB per session |\n| --- | ---: |\n");
    printf("| speech-to-text decoder, warm (en-us acoustic model + 27 MB language model + "
           "dictionary) | %.1f |\n", (after_stt - base) / K);
    printf("| keyword-spotting decoder (acoustic model + dictionary) | %.1f |\n",
           (after_kws - after_stt) / K);
    printf("| total | %.1f |\n\n", (after_kws - base) / K);
    for (int i = 0; i < K; i++) {
        vt_stt_pocketsphinx.destroy(stt[i]);
        vt_kws_pocketsphinx.destroy(kws[i]);
    }
    vt_stt_pocketsphinx.destroy(s0);
    vt_kws_pocketsphinx.destroy(k0);
    free(pcm);
    free(r);
}

/* ---- keyword spotting -------------------------------------------------- */

typedef struct kws_set {
    int16_t *tutor;           /* the tutor's voice at half level (echo) */
    size_t n_tutor;
    int16_t *people[3 * N_SENT];
    size_t n_people[3 * N_SENT];
    int n_p;
    double people_minutes;    /* command-free speech by people */
    double tutor_minutes;     /* the tutor's voice alone, full level */
} kws_set;

static const char *user_voices[] = { "rms", "awb", "kal16" };
static const char *only_word; /* bench_speech kws WORD */

/* Feed pcm; count hits, and note the first hit at or after from. */
static int feed_count(void *k, const int16_t *pcm, size_t n, int64_t from, int64_t *first_hit)
{
    int hits = 0;
    for (size_t off = 0; off < n; off += 320) {
        vt_kws_hit hit;
        int rc = vt_kws_pocketsphinx.feed(k, pcm + off, n - off < 320 ? n - off : 320, &hit);
        if (rc == 1) {
            hits++;
            if (first_hit && *first_hit < 0 && (int64_t)hit.at_sample >= from)
                *first_hit = (int64_t)hit.at_sample;
        }
    }
    return hits;
}

static void bench_kws_word(const kws_set *s, const char *word)
{
    const double thresholds[] = { 1, 1e-2, 1e-5, 1e-10, 1e-15, 1e-20, 1e-25, 1e-30, 1e-40 };
    printf("| \"%s\" threshold | hits, no echo | hits, echo -20 dB | hits, echo -12 dB | "
           "false alarms / min, people | ... tutor's voice | delay after word end, median "
           "(max) |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n", word);
    /* trials: 3 voices x 3 echo levels x 2 onsets over the tutor; the echo is
     * the tutor's voice as the microphone hears it after echo cancellation */
    static const double echo_gain[3] = { 0.0, 0.1, 0.25 };
    for (size_t t = 0; t < sizeof thresholds / sizeof thresholds[0]; t++) {
        char err[512];
        vt_keyword kw = { word, thresholds[t] };
        void *k;
        if (kws_create(&kw, 1, &k, err, sizeof err))
            die("kws", err);
        int trials = 0, hits[3] = { 0, 0, 0 }, fa = 0, fa_tutor = 0, nd = 0;
        double delays[64], dmax = 0;
        for (int v = 0; v < 3; v++) {
            size_t nu;
            int16_t *u = speak(user_voices[v], word, &nu);
            int64_t last_loud = 0;
            for (size_t i = 0; i < nu; i++)
                if (abs(u[i]) > 800)
                    last_loud = (int64_t)i;
            for (int echo = 0; echo < 3; echo++)
                for (int onset = 0; onset < 2; onset++) {
                    size_t at = (size_t)(RATE * (onset ? 4.2 : 1.5));
                    size_t n = at + nu + RATE;
                    int16_t *mix = calloc(n, sizeof *mix);
                    for (size_t i = 0; i < n && i < s->n_tutor; i++)
                        mix[i] = (int16_t)(s->tutor[i] * echo_gain[echo]);
                    for (size_t i = 0; i < nu; i++) {
                        int x = mix[at + i] + u[i];
                        mix[at + i] = (int16_t)(x > 32767 ? 32767 : x < -32768 ? -32768 : x);
                    }
                    vt_kws_pocketsphinx.reset(k);
                    int64_t first = -1;
                    feed_count(k, mix, n, (int64_t)at, &first);
                    trials++;
                    int64_t end = (int64_t)at + last_loud;
                    if (getenv("VT_BENCH_VERBOSE"))
                        fprintf(stderr, "%s %g %s echo %d onset %d: hit %lld end %lld\n", word,
                                thresholds[t], user_voices[v], echo, onset, (long long)first,
                                (long long)end);
                    if (first >= 0 && first <= end + RATE) {
                        hits[echo]++;
                        double d = (double)(first - end) * 1000.0 / RATE;
                        delays[nd++] = d;
                        dmax = d > dmax ? d : dmax;
                    }
                    free(mix);
                }
            free(u);
        }
        for (int i = 0; i < s->n_p; i++) {
            vt_kws_pocketsphinx.reset(k);
            fa += feed_count(k, s->people[i], s->n_people[i], 0, NULL);
        }
        vt_kws_pocketsphinx.reset(k);
        fa_tutor = feed_count(k, s->tutor, s->n_tutor, 0, NULL);
        printf("| %.0e | %d/%d | %d/%d | %d/%d | %.2f | %.2f | %.0f ms (%.0f ms) |\n",
               thresholds[t], hits[0], trials / 3, hits[1], trials / 3, hits[2], trials / 3,
               fa / s->people_minutes, fa_tutor / s->tutor_minutes, median(delays, nd), dmax);
        fflush(stdout);
        vt_kws_pocketsphinx.destroy(k);
    }
    printf("\n");
}

static void bench_kws(void)
{
    kws_set s;
    memset(&s, 0, sizeof s);
    /* the tutor: its own voice (slt), as the microphone hears it */
    size_t n1, n2;
    int16_t *a = speak("slt", tutor_text, &n1);
    int16_t *b = speak("slt", "Now, can you tell me which gas the leaves give off? Think about "
                              "what we breathe in, and take your time before you answer.", &n2);
    s.tutor = malloc((n1 + n2) * sizeof *s.tutor);
    memcpy(s.tutor, a, n1 * sizeof *a);
    memcpy(s.tutor + n1, b, n2 * sizeof *b);
    s.n_tutor = n1 + n2;
    free(a);
    free(b);
    size_t total = 0;
    for (int v = 0; v < 3; v++)
        for (size_t i = 0; i < N_SENT; i++) {
            s.people[s.n_p] = speak(user_voices[v], sentences[i], &s.n_people[s.n_p]);
            total += s.n_people[s.n_p++];
        }
    s.people_minutes = (double)total / RATE / 60.0;
    s.tutor_minutes = (double)s.n_tutor / RATE / 60.0;
    printf("### Keyword spotting (pocketsphinx keyword mode, kws_delay 1)\n\n");
    printf("Hits: the word said by rms, awb and kal16 at two moments while the tutor (slt) "
           "speaks, with the tutor's voice mixed in at -inf, -20 and -12 dB (what is left "
           "of it after echo cancellation): 6 trials per column. False alarms: %.1f minutes "
           "of command-free speech (%d sentences by the same voices) and %.1f minutes of the "
           "tutor's own voice at full level. Delay: from the end of the word's audio to the "
           "hit (negative: before the last sound of the word).\n\n",
           s.people_minutes, s.n_p, s.tutor_minutes);
    const char *words[] = { "stop", "wait", "pause", "hold on" };
    for (size_t w = 0; w < 4; w++)
        if (!only_word || strcmp(only_word, words[w]) == 0)
            bench_kws_word(&s, words[w]);
    if (only_word && strcmp(only_word, "stop") && strcmp(only_word, "wait") &&
        strcmp(only_word, "pause") && strcmp(only_word, "hold on"))
        bench_kws_word(&s, only_word);
    for (int i = 0; i < s.n_p; i++)
        free(s.people[i]);
    free(s.tutor);
}

/* ---- text-to-speech ---------------------------------------------------- */

typedef struct ttfa {
    double t0, first;
    size_t n;
} ttfa;

static int on_first(void *ud, const int16_t *pcm, size_t n, const vt_word *w, size_t nw)
{
    ttfa *t = ud;
    if (t->first < 0)
        t->first = now_s(CLOCK_MONOTONIC) - t->t0;
    t->n += n;
    return 0;
}

static void bench_tts(void)
{
    const char *voices[] = { "slt", "rms", "awb", "kal16", "espeak" };
    printf("### Text-to-speech (one phrase at a time, as the tutor speaks)\n\n");
    printf("| voice | native rate | real-time factor (median) | time to first audio "
           "(median) | time to first audio at 48 kHz |\n| --- | ---: | ---: | ---: | ---: |\n");
    for (size_t v = 0; v < 5; v++) {
        const vt_tts_ops *ops;
        void *model, *ctx;
        char err[256];
        if (vt_tts_open(voices[v], NULL, 0, &ops, &model, &ctx, err, sizeof err))
            die("tts", err);
        double rtf[N_SENT], first[N_SENT], first48[N_SENT];
        for (int rep = 0; rep < 2; rep++) /* the first pass loads what is lazy */
            for (size_t i = 0; i < N_SENT; i++) {
                ttfa t = { now_s(CLOCK_MONOTONIC), -1, 0 };
                double c0 = now_s(CLOCK_THREAD_CPUTIME_ID);
                ops->synth(ctx, sentences[i], on_first, &t, NULL);
                rtf[i] = (now_s(CLOCK_THREAD_CPUTIME_ID) - c0) /
                         ((double)t.n / ops->sample_rate(ctx));
                first[i] = t.first;
                ttfa u = { now_s(CLOCK_MONOTONIC), -1, 0 };
                vt_tts_synth_at(ops, ctx, 48000, sentences[i], on_first, &u, NULL);
                first48[i] = u.first;
            }
        printf("| %s | %d Hz | %.4f | %.1f ms | %.1f ms |\n", voices[v], ops->sample_rate(ctx),
               median(rtf, (int)N_SENT), 1000 * median(first, (int)N_SENT),
               1000 * median(first48, (int)N_SENT));
        vt_tts_close(ops, model, ctx);
    }
    printf("\n");
}

int main(int argc, char **argv)
{
    const char *what = argc > 1 ? argv[1] : "all";
    if (strcmp(what, "-h") == 0 || strcmp(what, "--help") == 0) {
        printf("usage: bench_speech [stt|kws [WORD]|tts|mem|all]\n");
        return 0;
    }
    int all = strcmp(what, "all") == 0;
    only_word = argc > 2 ? argv[2] : NULL;
    char host[128] = "?";
    gethostname(host, sizeof host);
    printf("## Speech engines (bench_speech %s; %ld cores)\n\n", what,
           sysconf(_SC_NPROCESSORS_ONLN));
    if (all || strcmp(what, "tts") == 0)
        bench_tts();
    if (all || strcmp(what, "stt") == 0)
        bench_stt();
    if (all || strcmp(what, "mem") == 0)
        bench_mem();
    if (all || strcmp(what, "kws") == 0)
        bench_kws();
    return 0;
}
