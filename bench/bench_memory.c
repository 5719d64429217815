/*
 * bench_memory: memory that returns (issue 16). Rounds of N live sessions
 * (N = 10, 25, 50 by default) opened, given one turn each, and closed on
 * one runtime — the server minus its socket — first typed, then spoken
 * (a question by flite streamed in real time over a quiet room); after each
 * round, once every session is released, the process's resident memory.
 * Goal: back within 50 MB of the idle level. Results in docs/BENCHMARKS.md.
 *
 * Usage: bench_memory [N...]        e.g. bench_memory 10 25 50
 */
#include <stdio.h>
#include <stdlib.h>

#include "speech/speech_testutil.h"
#include "support/rounds.h"
#include "support/rss.h"

int main(int argc, char **argv)
{
    int ns[16] = {10, 25, 50}, nn = 3;
    if (argc > 1) {
        nn = 0;
        for (int i = 1; i < argc && nn < 16; i++)
            if ((ns[nn] = atoi(argv[i])) > 0)
                nn++;
    }
    int16_t *q = NULL;
    size_t qn = 0;
    if (vt_test_speech("slt", "what is seven times eight", &q, &qn) != 0) {
        fprintf(stderr, "bench_memory: flite did not speak (install flite)\n");
        return 1;
    }
    vt_rounds *r = NULL;
    char err[512];
    if (vt_rounds_create(q, qn, &r, err, sizeof err) != 0) {
        fprintf(stderr, "bench_memory: %s\n", err);
        return 1;
    }
    double idle = vt_test_rss_mb();
    printf("# bench_memory: rounds of sessions on one runtime, RSS after each round\n\n");
    printf("idle runtime: %.1f MB\n\n", idle);
    printf("| round | sessions | done | turn (s) | RSS open (MB) | RSS after close (MB) | "
           "above idle (MB) | goal (<= 50) |\n|---|---|---|---|---|---|---|---|\n");
    int fail = 0;
    for (int spoken = 0; spoken <= 1; spoken++)
        for (int i = 0; i < nn; i++) {
            vt_round_result res;
            int rc = vt_rounds_run(r, ns[i], spoken, 300, &res);
            if (rc) {
                fprintf(stderr, "bench_memory: round of %d failed (%d)\n", ns[i], rc);
                fail = 1;
                continue;
            }
            double above = res.closed_mb - idle;
            printf("| %s | %d | %d | %.1f | %.1f | %.1f | %.1f | %s |\n",
                   spoken ? "spoken" : "typed", ns[i], res.done, res.turn_s, res.open_mb,
                   res.closed_mb, above, above <= 50 ? "met" : "not met");
            fflush(stdout);
        }
    vt_rounds_destroy(r);
    free(q);
    return fail;
}
