/*
 * Live sessions (src/runtime/session.c) on the real engines, in real time:
 * a loop like the server's (wake-up pipe, drain, ticks at the core's
 * deadline) drives one session. Typed and spoken turns, the welcome, a key
 * and a spoken "stop" over the answer, and a session destroyed in the
 * middle of an answer (ASan checks that nothing leaks). Speech is made with
 * the flite command line at test time.
 */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "runtime/session.h"
#include "speech/speech_testutil.h"

#define MAX_EV 4096

typedef struct rec {
    vt_event_type type;
    vt_trigger trigger;
    double latency_ms;
    int64_t t;
    char text[256];
    char text2[256];
    vt_state state;
} rec;

typedef struct harness {
    vt_runtime *rt;
    vt_session *s;
    int pipe[2];
    int64_t deadline;
    rec ev[MAX_EV];
    int n_ev;
    size_t audio[3];          /* samples by kind */
    size_t answer_after_interrupt;
    int interrupted;
    int64_t first_answer_audio_us;
} harness;

static harness H;

static void wake(void *ud)
{
    (void)ud;
    char b = 1;
    if (write(H.pipe[1], &b, 1) < 0) {
        /* full pipe: a wake-up is pending anyway */
    }
}

static void on_event(void *ud, const vt_event *ev, int64_t now)
{
    (void)ud;
    if (H.n_ev >= MAX_EV)
        return;
    rec *r = &H.ev[H.n_ev++];
    r->type = ev->type;
    r->trigger = ev->trigger;
    r->latency_ms = ev->latency_ms;
    r->t = now;
    r->state = ev->state;
    snprintf(r->text, sizeof r->text, "%s", ev->text ? ev->text : "");
    snprintf(r->text2, sizeof r->text2, "%s", ev->text2 ? ev->text2 : "");
    if (ev->type == VT_EV_INTERRUPTION_DETECTED)
        H.interrupted = 1;
}

static void on_audio(void *ud, const int16_t *pcm, size_t n, vt_audio_kind kind, int64_t now)
{
    (void)ud;
    (void)pcm;
    H.audio[kind] += n;
    if (kind == VT_AUDIO_ANSWER && !H.first_answer_audio_us)
        H.first_answer_audio_us = now;
    if (kind == VT_AUDIO_ANSWER && H.interrupted)
        H.answer_after_interrupt += n;
}

static void on_schedule(void *ud, int64_t at)
{
    (void)ud;
    H.deadline = at;
}

static const vt_session_output k_out = {.event = on_event, .audio = on_audio,
                                        .schedule = on_schedule};

/* One turn of the loop: wait for a wake-up or the deadline (at most until
 * `until`), drain, tick. */
static void loop_once(int64_t until)
{
    int64_t now = vt_now_us();
    int64_t wait_until = H.deadline < until ? H.deadline : until;
    int ms = wait_until > now ? (int)((wait_until - now + 999) / 1000) : 0;
    struct pollfd p = {H.pipe[0], POLLIN, 0};
    if (poll(&p, 1, ms) > 0) {
        char buf[64];
        while (read(H.pipe[0], buf, sizeof buf) > 0) {
        }
    }
    vt_runtime_drain(H.rt);
    if (H.s && vt_now_us() >= H.deadline) {
        H.deadline = INT64_MAX;
        vt_session_tick(H.s, vt_now_us());
    }
}

static void run_ms(int ms)
{
    int64_t until = vt_now_us() + (int64_t)ms * 1000;
    while (vt_now_us() < until)
        loop_once(until);
}

static int find(vt_event_type t, int from)
{
    for (int i = from; i < H.n_ev; i++)
        if (H.ev[i].type == t)
            return i;
    return -1;
}

/* Run until an event of type t appears (after index from), or timeout. */
static int wait_event(vt_event_type t, int from, int timeout_ms)
{
    int64_t until = vt_now_us() + (int64_t)timeout_ms * 1000;
    int i;
    while ((i = find(t, from)) < 0 && vt_now_us() < until)
        loop_once(until);
    return i;
}

static int wait_answer_audio(int timeout_ms)
{
    int64_t until = vt_now_us() + (int64_t)timeout_ms * 1000;
    while (H.audio[VT_AUDIO_ANSWER] == 0 && vt_now_us() < until)
        loop_once(until);
    return H.audio[VT_AUDIO_ANSWER] > 0;
}

/* Send audio at real-time pace in 20 ms frames, running the loop. */
static void speak(const int16_t *pcm, size_t n)
{
    const size_t frame = VT_IN_RATE / 50;
    int64_t t0 = vt_now_us();
    for (size_t off = 0, k = 0; off < n; off += frame, k++) {
        int64_t due = t0 + (int64_t)k * 20000;
        while (vt_now_us() < due)
            loop_once(due);
        size_t m = n - off < frame ? n - off : frame;
        vt_session_audio(H.s, pcm + off, m, vt_now_us());
    }
}

static void silence_ms(int ms)
{
    size_t n = (size_t)ms * VT_IN_RATE / 1000;
    int16_t *z = calloc(n, sizeof *z);
    assert_non_null(z);
    uint32_t r = 12345;
    for (size_t i = 0; i < n; i++) { /* a quiet room, not digital zero */
        r = r * 1103515245u + 12345u;
        z[i] = (int16_t)((int)(r >> 16) % 61 - 30);
    }
    speak(z, n);
    free(z);
}

static int setup_runtime(void **state)
{
    (void)state;
    memset(&H, 0, sizeof H);
    H.deadline = INT64_MAX;
    if (pipe(H.pipe) != 0)
        return -1;
    fcntl(H.pipe[0], F_SETFL, O_NONBLOCK);
    fcntl(H.pipe[1], F_SETFL, O_NONBLOCK);
    vt_runtime_config rc;
    vt_runtime_config_default(&rc);
    rc.wake = wake;
    rc.brain_opts[0] = (vt_opt){"db", "none"};
    rc.n_brain_opts = 1;
    char err[512];
    int r = vt_runtime_create(&rc, &H.rt, err, sizeof err);
    if (r)
        fprintf(stderr, "runtime: %s\n", err);
    return r;
}

static int teardown_runtime(void **state)
{
    (void)state;
    if (H.s)
        vt_session_destroy(H.s);
    H.s = NULL;
    run_ms(50);
    vt_runtime_destroy(H.rt);
    close(H.pipe[0]);
    close(H.pipe[1]);
    return 0;
}

static void open_session(const char *character, int speech, char *msg, size_t cap)
{
    vt_session_options o = {.character = character, .user_id = "test", .speech = speech};
    assert_int_equal(vt_session_create(H.rt, &o, &k_out, NULL, &H.s, msg, cap), 0);
}

static void test_typed_turn(void **state)
{
    (void)state;
    char msg[256];
    open_session("capitals", 0, msg, sizeof msg);
    assert_string_equal(vt_session_character(H.s), "capitals");
    assert_int_equal(vt_session_text(H.s, "hello", vt_now_us()), 0);
    int ps = find(VT_EV_PROCESSING_STARTED, 0);
    assert_true(ps >= 0);
    int rs = wait_event(VT_EV_RESPONSE_START, ps, 3000);
    assert_true(rs > ps);
    int rc = wait_event(VT_EV_RESPONSE_COMPLETE, rs, 30000);
    assert_true(rc > rs);
    /* answer audio at real-time pace: at least 1 s of it */
    assert_true(H.audio[VT_AUDIO_ANSWER] > VT_IN_RATE);
    /* memory: the whole answer was heard */
    const vt_turn *t;
    size_t n = vt_core_history(vt_session_core(H.s), &t);
    assert_true(n >= 2);
    assert_int_equal(t[n - 1].role, VT_ROLE_ASSISTANT);
    assert_int_equal(t[n - 1].interrupted, 0);
}

static void test_unknown_character(void **state)
{
    (void)state;
    char msg[256];
    open_session("adina", 0, msg, sizeof msg);
    assert_non_null(strstr(msg, "Unknown character 'adina'"));
    assert_string_equal(vt_session_character(H.s), "times-tables");
}

static void test_welcome(void **state)
{
    (void)state;
    char msg[256], text[512];
    open_session("science", 0, msg, sizeof msg);
    int l = vt_session_welcome(H.s, text, sizeof text, vt_now_us());
    assert_true(l > 0);
    assert_true(strlen(text) > 10);
    assert_true(wait_answer_audio(3000));
    /* a second welcome while the first plays is refused */
    assert_int_equal(vt_session_welcome(H.s, NULL, 0, vt_now_us()), VT_ESTATE);
}

static void test_key_interrupts_at_once(void **state)
{
    (void)state;
    char msg[256];
    open_session("times-tables", 0, msg, sizeof msg);
    vt_session_text(H.s, "let's start", vt_now_us());
    assert_true(wait_answer_audio(5000));
    run_ms(400);
    int before = H.n_ev;
    int64_t t0 = vt_now_us();
    assert_int_equal(vt_session_key(H.s, t0), 0);
    /* the decision and the flush happen inside the call */
    int i = find(VT_EV_INTERRUPTION_DETECTED, before);
    assert_true(i >= 0);
    assert_int_equal(H.ev[i].trigger, VT_TRIGGER_KEY);
    assert_true(H.ev[i].latency_ms >= 0 && H.ev[i].latency_ms < 50);
    int ri = find(VT_EV_RESPONSE_INTERRUPTED, before);
    assert_true(ri > i);
    assert_non_null(strstr(H.ev[ri].text, "..."));
    assert_true(strlen(H.ev[ri].text2) > 0); /* the unspoken rest */
    /* the acknowledgement plays, then the tutor listens again */
    int li = -1;
    for (int k = ri; li < 0 && k >= 0; k = wait_event(VT_EV_STATE_CHANGED, k + 1, 4000))
        if (H.ev[k].type == VT_EV_STATE_CHANGED && H.ev[k].state == VT_STATE_LISTENING)
            li = k;
    assert_true(li > ri);
    assert_int_equal(H.answer_after_interrupt, 0);
    assert_true(H.audio[VT_AUDIO_ACK] > 0);
}

static void test_destroy_mid_answer(void **state)
{
    (void)state;
    char msg[256];
    open_session("times-tables", 1, msg, sizeof msg);
    vt_session_text(H.s, "let's start", vt_now_us());
    assert_true(wait_answer_audio(5000));
    assert_int_equal(vt_runtime_sessions(H.rt), 1);
    vt_session_destroy(H.s);
    H.s = NULL;
    int64_t until = vt_now_us() + 3000000;
    while (vt_runtime_sessions(H.rt) > 0 && vt_now_us() < until)
        loop_once(until);
    assert_int_equal(vt_runtime_sessions(H.rt), 0);
}

static void test_spoken_turn_then_stop(void **state)
{
    (void)state;
    char msg[256];
    int16_t *q = NULL, *stop = NULL;
    size_t nq = 0, ns = 0;
    assert_int_equal(vt_test_speech("awb", "what is the capital of france", &q, &nq), 0);
    assert_int_equal(vt_test_speech("awb", "stop", &stop, &ns), 0);
    open_session("capitals", 1, msg, sizeof msg);
    silence_ms(600);
    speak(q, nq);
    silence_ms(300);
    int tc = wait_event(VT_EV_TRANSCRIPTION_COMPLETE, 0, 5000);
    assert_true(tc >= 0);
    assert_non_null(strstr(H.ev[tc].text, "capital"));
    int rs = wait_event(VT_EV_RESPONSE_START, tc, 5000);
    assert_true(rs > tc);
    assert_true(wait_answer_audio(5000));
    silence_ms(600);
    int before = H.n_ev;
    speak(stop, ns);
    int64_t word_end = vt_now_us();
    silence_ms(200);
    int i = wait_event(VT_EV_INTERRUPTION_DETECTED, before, 1500);
    assert_true(i >= 0);
    assert_true(H.ev[i].trigger == VT_TRIGGER_COMMAND || H.ev[i].trigger == VT_TRIGGER_SPEECH);
    /* within a second of the end of the word (a loaded 2-core machine) */
    assert_true(H.ev[i].t - word_end < 1000000);
    assert_true(H.ev[i].latency_ms >= 0 && H.ev[i].latency_ms < 1000);
    silence_ms(3000);
    assert_int_equal(H.answer_after_interrupt, 0);
    assert_int_equal(vt_core_state(vt_session_core(H.s)), VT_STATE_LISTENING);
    free(q);
    free(stop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_typed_turn, setup_runtime, teardown_runtime),
        cmocka_unit_test_setup_teardown(test_unknown_character, setup_runtime, teardown_runtime),
        cmocka_unit_test_setup_teardown(test_welcome, setup_runtime, teardown_runtime),
        cmocka_unit_test_setup_teardown(test_key_interrupts_at_once, setup_runtime,
                                        teardown_runtime),
        cmocka_unit_test_setup_teardown(test_destroy_mid_answer, setup_runtime,
                                        teardown_runtime),
        cmocka_unit_test_setup_teardown(test_spoken_turn_then_stop, setup_runtime,
                                        teardown_runtime),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
