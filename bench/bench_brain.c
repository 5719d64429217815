/*
 * Brain latency figures for docs/BENCHMARKS.md (issue 4):
 *   - turn end (reply() called) to the first token and to the first phrase
 *     (text up to the first clause or sentence boundary: what the phrase
 *     buffer can send to TTS first), for the lesson brain (with its SQLite
 *     progress writes) and the LLM brain against the local fake
 *     OpenAI-compatible server (tests/brain/fake_openai.py, 127.0.0.1), so
 *     the figures are the client's own cost, not a model's;
 *   - interruption (abort flag set by another thread) to the transfer
 *     closed (reply() returned, handle removed), while tokens flow and
 *     while the stream is stalled;
 *   - the judge's and the filler choice's round trip.
 * Medians over N runs (default 50), with p90 and max.
 *   usage: bench_brain [-n RUNS]
 */
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "support/fake_llm.h"
#include "engines/brain/brain.h"
#include "voicetutor/core.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void report(const char *what, double *v, int n)
{
    if (n <= 0) {
        printf("| %s | - | - | - | 0 |\n", what);
        return;
    }
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    printf("| %s | %.3f | %.3f | %.3f | %d |\n", what, v[n / 2], v[(n * 9) / 10 < n ? (n * 9) / 10 : n - 1],
           v[n - 1], n);
}

/* ---- the fake server ---------------------------------------------------- */
#ifndef VT_SOURCE_DIR
#define VT_SOURCE_DIR "."
#endif
static vt_fake_llm srv;   /* the tests' launcher: support/fake_llm.h */
static char base_url[64];

static int start_server(void)
{
    char script[1024];
    vt_fake_llm_script(VT_SOURCE_DIR, script, sizeof script);
    if (vt_fake_llm_start(&srv, script, 600) != 0)
        return -1;
    snprintf(base_url, sizeof base_url, "http://127.0.0.1:%d/v1", srv.port);
    return 0;
}

static void stop_server(void)
{
    vt_fake_llm_stop(&srv);
}

/* ---- one reply ------------------------------------------------------------ */
typedef struct probe {
    double t0, first_tok, first_phrase;
    char text[4096];
    int n;
} probe;

static int is_boundary(char c)
{
    return c == '.' || c == ',' || c == '!' || c == '?' || c == ';' || c == ':';
}

static int on_tok(void *ud, const char *t)
{
    probe *p = ud;
    double now = now_ms();
    if (!p->n)
        p->first_tok = now - p->t0;
    p->n++;
    strncat(p->text, t, sizeof p->text - strlen(p->text) - 1);
    size_t l = strlen(p->text);
    if (!p->first_phrase && l && is_boundary(p->text[l - 1]))
        p->first_phrase = now - p->t0;
    return 0;
}

static void bench_reply(const char *label, const vt_brain_ops *ops, void *ctx, int runs,
                        const char *(*next_text)(void *ctx, int i))
{
    double *tok = calloc((size_t)runs, sizeof *tok), *phr = calloc((size_t)runs, sizeof *phr);
    double *all = calloc((size_t)runs, sizeof *all);
    int ok = 0;
    for (int i = 0; i < runs; i++) {
        vt_turn h[1] = {{VT_ROLE_USER, (char *)next_text(ctx, i), NULL, 0}};
        probe p;
        memset(&p, 0, sizeof p);
        p.t0 = now_ms();
        char err[512] = "";
        int rc = ops->reply(ctx, h, 1, on_tok, &p, NULL, err, sizeof err);
        double end = now_ms() - p.t0;
        if (rc != 0 || !p.n) {
            fprintf(stderr, "%s: run %d failed: %s\n", label, i, err);
            continue;
        }
        tok[ok] = p.first_tok;
        phr[ok] = p.first_phrase ? p.first_phrase : end;
        all[ok++] = end;
    }
    char buf[160];
    snprintf(buf, sizeof buf, "%s: turn end to first token", label);
    report(buf, tok, ok);
    snprintf(buf, sizeof buf, "%s: turn end to first phrase", label);
    report(buf, phr, ok);
    snprintf(buf, sizeof buf, "%s: turn end to last token", label);
    report(buf, all, ok);
    free(tok);
    free(phr);
    free(all);
}

static const char *lesson_answer(void *ctx, int i)
{
    static char words[2][VT_EXPECTED_PHRASE_MAX];
    (void)i;
    /* the right answer, in words as a recogniser writes it */
    if (vt_brain_lesson.expected(ctx, words, 2) < 1)
        return "next";
    return words[0];
}

static const char *llm_question(void *ctx, int i)
{
    (void)ctx;
    (void)i;
    return "what is seven times eight";
}

/* ---- interruption to transfer closed ----------------------------------------- */
typedef struct cut {
    volatile int flag;
    volatile int tokens;
    int after_tokens;
    int delay_ms;
    double at;
} cut;

static int count_tok(void *ud, const char *t)
{
    (void)t;
    cut *c = ud;
    c->tokens++;
    return 0;
}

static void *cutter(void *arg)
{
    cut *c = arg;
    while (c->tokens < c->after_tokens)
        usleep(500);
    struct timespec ts = {0, (long)c->delay_ms * 1000000L};
    nanosleep(&ts, NULL);
    c->at = now_ms();
    c->flag = 1;
    return NULL;
}

static void bench_cancel(const char *label, const char *model, int after_tokens, int delay_ms,
                         int runs)
{
    double *v = calloc((size_t)runs, sizeof *v);
    int ok = 0;
    vt_opt o[] = {{"base_url", base_url}, {"model", model}, {"api_key_env", "VT_BENCH_NO_KEY"},
                  {"stall_timeout_ms", "10000"}};
    void *ctx = NULL;
    char err[256];
    if (vt_brain_llm.create(o, 4, &ctx, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        free(v);
        return;
    }
    for (int i = 0; i < runs; i++) {
        cut c = {0, 0, after_tokens, delay_ms + (i % 5), 0};
        pthread_t t;
        pthread_create(&t, NULL, cutter, &c);
        vt_turn h[1] = {{VT_ROLE_USER, "talk forever", NULL, 0}};
        int rc = vt_brain_llm.reply(ctx, h, 1, count_tok, &c, &c.flag, NULL, 0);
        double end = now_ms();
        pthread_join(t, NULL);
        if (rc == VT_ECANCELED)
            v[ok++] = end - c.at;
    }
    vt_brain_llm.destroy(ctx);
    report(label, v, ok);
    free(v);
}

static void bench_small(const char *label, const char *model, int judge, int runs)
{
    double *v = calloc((size_t)runs, sizeof *v);
    int ok = 0;
    vt_opt o[] = {{"base_url", base_url}, {"model", model}, {"api_key_env", "VT_BENCH_NO_KEY"}};
    vt_filler_desc f[] = {{"Hmm, let me think.", "thinking"}, {"Great!", "praise"}};
    void *ctx = NULL;
    char err[256];
    if (vt_brain_llm.create(o, 3, &ctx, err, sizeof err) != 0) {
        free(v);
        return;
    }
    for (int i = 0; i < runs; i++) {
        double t0 = now_ms();
        int rc = judge ? vt_brain_llm.judge(ctx, "what is seven times eight", NULL, NULL, 0)
                       : vt_brain_llm.choose_filler(ctx, "what is seven times eight", f, 2, NULL,
                                                    NULL, 0);
        if (rc >= 0)
            v[ok++] = now_ms() - t0;
    }
    vt_brain_llm.destroy(ctx);
    report(label, v, ok);
    free(v);
}

int main(int argc, char **argv)
{
    int runs = 50;
    if (argc == 3 && strcmp(argv[1], "-n") == 0)
        runs = atoi(argv[2]) > 0 ? atoi(argv[2]) : 50;
    signal(SIGPIPE, SIG_IGN);
    if (start_server() != 0)
        return 1;
    char db[] = "/tmp/vt_bench_brain_XXXXXX";
    int fd = mkstemp(db);
    if (fd >= 0)
        close(fd);
    printf("| measure (ms) | median | p90 | max | runs |\n| --- | --- | --- | --- | --- |\n");

    vt_opt lo[] = {{"lesson", "times-tables"}, {"db", db}, {"user_id", "bench"}};
    void *lctx = NULL;
    char err[256];
    if (vt_brain_lesson.create(lo, 3, &lctx, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    char greet[512];
    vt_brain_greeting(&vt_brain_lesson, lctx, greet, sizeof greet);
    bench_reply("lesson brain (SQLite progress)", &vt_brain_lesson, lctx, runs, lesson_answer);
    vt_brain_lesson.destroy(lctx);

    vt_opt llo[] = {{"base_url", base_url}, {"model", "bench"}, {"api_key_env", "VT_BENCH_NO_KEY"}};
    void *ctx = NULL;
    if (vt_brain_llm.create(llo, 3, &ctx, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    bench_reply("llm brain, local fake server", &vt_brain_llm, ctx, runs, llm_question);
    vt_brain_llm.destroy(ctx);

    bench_cancel("interruption to transfer closed, tokens flowing (10 ms apart)", "infinite", 3,
                 3, runs);
    bench_cancel("interruption to transfer closed, stream stalled", "stall", 2, 20, runs / 5 > 5 ? runs / 5 : 5);
    bench_small("llm judge round trip", "say:true", 1, runs);
    bench_small("llm filler choice round trip", "say:1", 0, runs);
    stop_server();
    unlink(db);
    char side[64];
    snprintf(side, sizeof side, "%s-wal", db);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", db);
    unlink(side);
    return 0;
}
