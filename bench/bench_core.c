/*
 * bench_core — the core's figures for docs/BENCHMARKS.md:
 *   1. core cost per 20 ms audio frame (listening, and during an answer with
 *      the pacer running) and how many real-time sessions one core carries;
 *   2. decision to output flushed (key press, spoken command, sustained
 *      speech): the time of the one core call that stops the output, p50/p99;
 *   3. bytes per session (the core's own count and malloc's), and for
 *      interruption tracking alone.
 * Medians of repeated runs; wall-clock via CLOCK_MONOTONIC. Not a test.
 *
 * usage: bench_core [--quick]
 */
#include "voicetutor/core.h"
#include <malloc.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(double *v, int n, double p)
{
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    int i = (int)ceil(p / 100.0 * n) - 1;
    return v[i < 0 ? 0 : i];
}

/* The sink of a session as the runtime has it: it looks at each action and
 * remembers the ids the engines would need; audio goes nowhere. */
typedef struct bsink {
    uint32_t llm_gen, tts_gen, tts_id;
    long audio_slices;
} bsink;

static void sink(void *ud, const vt_action *a, int64_t now)
{
    (void)now;
    bsink *b = ud;
    if (a->type == VT_ACT_LLM_START)
        b->llm_gen = a->gen;
    if (a->type == VT_ACT_TTS) {
        b->tts_gen = a->gen;
        b->tts_id = a->id;
    }
    if (a->type == VT_ACT_AUDIO)
        b->audio_slices++;
}

static int16_t clip_pcm[16000];
static vt_clip clips[2] = {{clip_pcm, 8000, "Hmm.", "thinking"}, {clip_pcm, 12000, "Okay.", ""}};

static vt_core *make(bsink *b)
{
    vt_config cfg;
    vt_config_default(&cfg);
    vt_core *c = NULL;
    char err[256];
    if (vt_core_create(&cfg, sink, b, &c, err, sizeof err) != 0) {
        fprintf(stderr, "bench_core: %s\n", err);
        exit(1);
    }
    vt_core_set_clips(c, &clips[0], 1, &clips[1], 1);
    return c;
}

/* speech-like audio: 1.5 s voiced, 1.5 s room noise, repeated */
static void make_audio(int16_t *a, size_t n)
{
    uint32_t st = 1;
    for (size_t i = 0; i < n; i++) {
        st = st * 1664525u + 1013904223u;
        double noise = ((double)(st >> 16) / 65535.0 - 0.5) * 100;
        double t = (double)i / 16000;
        bool voiced = fmod(t, 3.0) < 1.5;
        double v = voiced ? 4000 * sin(2 * M_PI * 140 * t) * (0.6 + 0.4 * sin(2 * M_PI * 4 * t)) : 0;
        a[i] = (int16_t)(v + noise);
    }
}

/* Start an answer with `secs` of synthesized audio queued. */
static void answer(vt_core *c, bsink *b, double secs, int64_t t)
{
    vt_core_text(c, "tell me about photosynthesis", t);
    vt_core_llm_token(c, b->llm_gen, "Photosynthesis is how plants make food from light. ", t);
    vt_core_llm_done(c, b->llm_gen, t);
    size_t n = (size_t)(secs * 16000);
    static int16_t pcm[16000 * 10];
    vt_word w[10];
    for (int i = 0; i < 8; i++)
        w[i] = (vt_word){"w", (uint32_t)(i * n / 8), (uint32_t)((i + 1) * n / 8)};
    vt_core_tts_audio(c, b->tts_gen, b->tts_id, pcm, n, w, 8, t);
    vt_core_tts_done(c, b->tts_gen, b->tts_id, t);
}

int main(int argc, char **argv)
{
    int quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    int runs = quick ? 3 : 9;
    const size_t secs = 60, n = secs * 16000;
    int16_t *audio = malloc(n * sizeof *audio);
    make_audio(audio, n);

    /* 1a. listening: VAD + utterances + turn logic, no answer */
    double per_frame_listen[16];
    for (int r = 0; r < runs; r++) {
        bsink b = {0};
        vt_core *c = make(&b);
        vt_config cfg = *vt_core_config(c);
        (void)cfg;
        int64_t t0 = now_ns();
        for (size_t i = 0; i + 320 <= n; i += 320)
            vt_core_audio(c, audio + i, 320, (int64_t)(i + 320) * 1000000 / 16000);
        per_frame_listen[r] = (double)(now_ns() - t0) / (double)(n / 320);
        vt_core_destroy(c);
    }
    /* 1b. answering: audio frames + pacer ticks every 10 ms, answer queued */
    double per_frame_answer[16];
    for (int r = 0; r < runs; r++) {
        bsink b = {0};
        vt_core *c = make(&b);
        vt_core_set_mode(c, VT_MODE_COMMANDS); /* so the audio does not interrupt */
        int64_t t0 = now_ns();
        size_t frames = 0;
        for (int64_t t = 0; t < (int64_t)secs * 1000000; t += 20000) {
            if (!vt_core_has_active_response(c))
                answer(c, &b, 9.0, t);
            size_t i = (size_t)(t / 20000) * 320 % (n - 320);
            vt_core_audio(c, audio + i, 320, t + 20000);
            vt_core_tick(c, t + 10000);
            frames++;
        }
        per_frame_answer[r] = (double)(now_ns() - t0) / (double)frames;
        vt_core_destroy(c);
    }
    double listen_ns = pct(per_frame_listen, runs, 50), answer_ns = pct(per_frame_answer, runs, 50);

    /* 2. decision to output flushed */
    const int N = quick ? 2000 : 20000;
    double *key = malloc((size_t)N * sizeof *key), *cmd = malloc((size_t)N * sizeof *cmd),
           *sp = malloc((size_t)N * sizeof *sp);
    bsink b = {0};
    vt_core *c = make(&b);
    int64_t t = 0;
    for (int i = 0; i < N; i++) {
        answer(c, &b, 9.0, t);
        for (int k = 0; k < 25; k++)
            vt_core_tick(c, t += 20000); /* half a second of answer released */
        int64_t a0 = now_ns();
        vt_core_key(c, t);
        key[i] = (double)(now_ns() - a0) / 1000.0;
        t += 2000000;
        vt_core_tick(c, t);

        answer(c, &b, 9.0, t);
        for (int k = 0; k < 25; k++)
            vt_core_tick(c, t += 20000);
        a0 = now_ns();
        vt_core_keyword(c, "stop", t, t);
        cmd[i] = (double)(now_ns() - a0) / 1000.0;
        t += 2000000;
        vt_core_tick(c, t);
    }
    vt_core_destroy(c);
    /* sustained speech: the frame that completes min_speech_ms is timed */
    c = make(&b);
    vt_core_set_mode(c, VT_MODE_SPEECH);
    vt_core_configure_interruption(c, 1.5, 0.1, NULL, 0);
    int16_t loud[320], quiet[320];
    for (int i = 0; i < 320; i++) {
        loud[i] = (int16_t)(6000 * sin(2 * M_PI * 150 * i / 16000.0));
        quiet[i] = (int16_t)((i * 7919 % 61) - 30);
    }
    for (int i = 0; i < N; i++) {
        for (int k = 0; k < 20; k++)
            vt_core_audio(c, quiet, 320, t += 20000);
        answer(c, &b, 9.0, t);
        int64_t worst = 0;
        while (vt_core_state(c) != VT_STATE_ACKNOWLEDGING) {
            int64_t a0 = now_ns();
            vt_core_audio(c, loud, 320, t += 20000);
            int64_t d = now_ns() - a0;
            if (vt_core_state(c) == VT_STATE_ACKNOWLEDGING)
                worst = d;
        }
        sp[i] = (double)worst / 1000.0;
        for (int k = 0; k < 60; k++)
            vt_core_audio(c, quiet, 320, t += 20000);
    }
    vt_metrics m;
    vt_core_metrics(c, &m);
    vt_core_destroy(c);

    /* 3. memory per session */
    struct mallinfo2 m0 = mallinfo2();
    bsink b2 = {0};
    vt_core *mc = make(&b2);
    size_t idle_core = vt_core_memory(mc);
    struct mallinfo2 m1 = mallinfo2();
    answer(mc, &b2, 3.0, 0);
    size_t answering = vt_core_memory(mc);
    struct mallinfo2 m2 = mallinfo2();
    vt_core_key(mc, 100000);
    for (int i = 0; i < 19; i++) {
        answer(mc, &b2, 1.0, 1000000 * (i + 1));
        vt_core_key(mc, 1000000 * (i + 1) + 500000);
    }
    vt_core_tick(mc, 30000000);
    size_t after20 = vt_core_memory(mc);
    vt_core_destroy(mc);

    printf("## Core (bench_core%s, %d runs, medians)\n\n", quick ? " --quick" : "", runs);
    printf("| figure | value |\n|---|---|\n");
    printf("| core cost per 20 ms frame, listening | %.2f µs |\n", listen_ns / 1000);
    printf("| core cost per 20 ms frame, answering (frame + pacer tick) | %.2f µs |\n",
           answer_ns / 1000);
    printf("| real-time sessions of core work per CPU core (listening) | %.0f |\n",
           20e6 / listen_ns);
    printf("| real-time sessions of core work per CPU core (answering) | %.0f |\n",
           20e6 / answer_ns);
    printf("| decision to output flushed, key press: p50 / p99 | %.2f / %.2f µs |\n",
           pct(key, N, 50), pct(key, N, 99));
    printf("| decision to output flushed, spoken command: p50 / p99 | %.2f / %.2f µs |\n",
           pct(cmd, N, 50), pct(cmd, N, 99));
    printf("| decision to output flushed, sustained speech (the deciding frame): p50 / p99 | "
           "%.2f / %.2f µs |\n", pct(sp, N, 50), pct(sp, N, 99));
    printf("| seed 003 target (50 ms) over p99, key press | %.0fx |\n",
           50000.0 / pct(key, N, 99));
    printf("| core memory, idle session (vt_core_memory) | %zu B |\n", idle_core);
    printf("| core memory, session answering with 3 s of audio queued | %zu B |\n", answering);
    printf("| core memory after 20 interrupted turns (history kept) | %zu B |\n", after20);
    printf("| malloc'd at session creation (mallinfo2) | %zu B |\n",
           (size_t)(m1.uordblks - m0.uordblks));
    printf("| malloc'd while answering (mallinfo2, incl. queued audio) | %zu B |\n",
           (size_t)(m2.uordblks - m0.uordblks));
    printf("| interruption tracking alone (vt_core_interrupt_memory) | %zu B |\n",
           vt_core_interrupt_memory());
    printf("\n(%d speech interruptions measured; core's own window: %d latencies)\n",
           m.total_interruptions, m.n_latencies);
    free(audio);
    free(key);
    free(cmd);
    free(sp);
    return 0;
}
