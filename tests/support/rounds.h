/*
 * Rounds of live sessions on one runtime, as a server serves learner after
 * learner: open N sessions, give each a turn (typed: a question as text;
 * spoken: a question streamed in real time over a quiet room), wait for
 * every answer to start or every question to be heard, close them all, wait
 * until their memory is released, and read the process's resident memory.
 * Shared by tests/runtime/test_memory.c and bench/bench_memory.c.
 */
#ifndef VT_TESTS_SUPPORT_ROUNDS_H
#define VT_TESTS_SUPPORT_ROUNDS_H
#include <stddef.h>
#include <stdint.h>

#include "runtime/session.h"

typedef struct vt_rounds vt_rounds;

typedef struct vt_round_result {
    int done;          /* sessions whose answer started (typed) or question was heard */
    double open_mb;    /* VmRSS with every session open, after its turn */
    double closed_mb;  /* VmRSS after every session was released */
    int decoders_after; /* recogniser decoders alive then (the pool keeps one) */
    int spotters_after; /* keyword-spotter decoders alive then */
    double turn_s;     /* seconds from the question to the last session done */
    /* spoken rounds: the end of the question (its last frame sent) to the
     * first audio of any kind / of the answer, median over the sessions; ms */
    double first_audio_ms, first_answer_ms;
} vt_round_result;

/* A runtime of the default engines (db=none) whose wake-ups the rounds
 * wait on. question: 16 kHz speech for the spoken rounds (borrowed). */
int vt_rounds_create(const int16_t *question, size_t n, vt_rounds **out, char *err,
                     size_t errlen);
/* The same on a runtime of these settings (wake is set by the rounds). */
int vt_rounds_create_with(const vt_runtime_config *rc, const int16_t *question, size_t n,
                          vt_rounds **out, char *err, size_t errlen);
void vt_rounds_destroy(vt_rounds *r);
/* One round of n sessions (spoken or typed); timeout_s bounds the wait.
 * Spoken rounds wait for every answer's first audio when answers is set
 * (the first-audio figures), else for every question to be heard. */
void vt_rounds_wait_answers(vt_rounds *r, int answers);
int vt_rounds_run(vt_rounds *r, int n, int spoken, double timeout_s, vt_round_result *res);
#endif
