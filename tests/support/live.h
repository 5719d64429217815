/*
 * A live session driven by a test in real time, the way the server's loop
 * does it: a wake-up pipe the runtime's workers write to, drain, a tick at
 * the session's deadline; every event recorded, answer audio counted; a
 * person speaking in 20 ms frames at real-time pace over a quiet room.
 * Shared by tests/runtime/test_session.c and tests/remote/test_remote_session.c
 * (one harness per process: the runtime's wake-up has no user data).
 */
#ifndef VT_TESTS_SUPPORT_LIVE_H
#define VT_TESTS_SUPPORT_LIVE_H
#include <stddef.h>
#include <stdint.h>

#include "runtime/session.h"

#define VT_LIVE_MAX_EV 4096

typedef struct vt_live_rec {
    vt_event_type type;
    vt_trigger trigger;
    double latency_ms;
    int64_t t;
    char text[256];
    char text2[256];
    vt_state state;
} vt_live_rec;

typedef struct vt_live {
    vt_runtime *rt;
    vt_session *s;
    int pipe[2];
    int64_t deadline;
    vt_live_rec ev[VT_LIVE_MAX_EV];
    int n_ev;
    size_t audio[3];              /* samples by kind */
    size_t answer_after_interrupt;
    int interrupted;
    int64_t first_answer_audio_us;
    int print_errors;             /* error events go to stderr too */
} vt_live;

/* The process's harness. */
extern vt_live H;

/* Resets H and opens its pipe; 0 or -1. rc->wake is set to the pipe's. */
int vt_live_init(vt_runtime_config *rc);
/* What a session of H reports to (ud unused). */
extern const vt_session_output vt_live_output;

/* One turn of the loop: wait for a wake-up or the deadline (at most until
 * `until`), drain, tick. */
void vt_live_loop_once(int64_t until);
void vt_live_run_ms(int ms);
/* Index of the first event of type t at or after from, or -1. */
int vt_live_find(vt_event_type t, int from);
/* Run until such an event appears, or timeout; its index or -1. */
int vt_live_wait_event(vt_event_type t, int from, int timeout_ms);
/* Audio at real-time pace in 20 ms frames, running the loop meanwhile. */
void vt_live_speak(const int16_t *pcm, size_t n);
/* ms of a quiet room (not digital zero), spoken the same way. */
void vt_live_silence_ms(int ms);
#endif
