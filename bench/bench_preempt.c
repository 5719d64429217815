/*
 * bench_preempt: preemptive answers in real time (issue 15), against the
 * local fake OpenAI-compatible server (tests/brain/fake_openai.py, model
 * "first:MS:TOK:TEXT": the first token after MS ms, then one every TOK ms).
 * A live session (the LLM brain, pocketsphinx, flite) hears "what is seven
 * times eight" spoken by flite in real time; measured: the end of the
 * question (its last frame sent) to the first audio and to the first answer
 * audio, with preempt_ms off and at 150 ms, for first-token times of 0, 300,
 * 600 and 1000 ms. Goal: <= 550 ms up to a 400 ms first token. Medians of
 * TRIALS runs; results in docs/BENCHMARKS.md.
 *
 * Usage: bench_preempt [TRIALS]     (default 3)
 */
#include <stdio.h>
#include <stdlib.h>

#include "speech/speech_testutil.h"
#include "support/fake_llm.h"
#include "support/rounds.h"

#ifndef VT_SOURCE_DIR
#define VT_SOURCE_DIR "."
#endif

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    return n ? (n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2) : -1;
}

int main(int argc, char **argv)
{
    int trials = argc > 1 ? atoi(argv[1]) : 3;
    if (trials < 1 || trials > 50)
        trials = 3;
    int16_t *q = NULL;
    size_t qn = 0;
    if (vt_test_speech("slt", "what is seven times eight", &q, &qn) != 0) {
        fprintf(stderr, "bench_preempt: flite did not speak (install flite)\n");
        return 1;
    }
    char script[1024];
    vt_fake_llm llm;
    if (vt_fake_llm_start(&llm, vt_fake_llm_script(VT_SOURCE_DIR, script, sizeof script), 900))
        return 1;
    char base_url[64];
    snprintf(base_url, sizeof base_url, "http://127.0.0.1:%d/v1", llm.port);
    static const int first[] = {0, 300, 600, 1000};
    static const int preempt[] = {0, 150};
    printf("# bench_preempt: end of the question -> first audio, live, fake LLM (medians of %d)\n\n",
           trials);
    printf("| first token | preempt_ms | first audio | first answer audio | goal (<= 550 ms up to "
           "400 ms) |\n|---|---|---|---|---|\n");
    for (size_t fi = 0; fi < sizeof first / sizeof *first; fi++)
        for (size_t pi = 0; pi < sizeof preempt / sizeof *preempt; pi++) {
            char model[160];
            snprintf(model, sizeof model,
                     "first:%d:20:It is fifty six, because seven eights are fifty six.", first[fi]);
            vt_runtime_config rc;
            vt_runtime_config_default(&rc);
            rc.brain = "llm";
            rc.brain_opts[0] = (vt_opt){"base_url", base_url};
            rc.brain_opts[1] = (vt_opt){"model", model};
            rc.n_brain_opts = 2;
            rc.core.preempt_ms = preempt[pi];
            vt_rounds *r = NULL;
            char err[512];
            if (vt_rounds_create_with(&rc, q, qn, &r, err, sizeof err) != 0) {
                fprintf(stderr, "bench_preempt: %s\n", err);
                vt_fake_llm_stop(&llm);
                return 1;
            }
            vt_rounds_wait_answers(r, 1);
            double fa[50], fan[50];
            int n = 0;
            for (int t = 0; t < trials; t++) {
                vt_round_result res;
                if (vt_rounds_run(r, 1, 1, 30, &res) == 0 && res.done == 1)
                    fa[n] = res.first_audio_ms, fan[n] = res.first_answer_ms, n++;
            }
            vt_rounds_destroy(r);
            double a = median(fa, n), an = median(fan, n);
            const char *goal = first[fi] > 400 ? "-" : an >= 0 && an <= 550 ? "met" : "not met";
            printf("| %d ms | %d | %.0f ms | %.0f ms | %s |\n", first[fi], preempt[pi], a, an,
                   goal);
            fflush(stdout);
        }
    vt_fake_llm_stop(&llm);
    free(q);
    return 0;
}
