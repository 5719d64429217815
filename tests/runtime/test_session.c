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
#include "support/live.h"

/* the live harness (tests/support/live.c) under the names this file uses */
typedef vt_live_rec rec;
#define MAX_EV VT_LIVE_MAX_EV
#define k_out vt_live_output
#define loop_once vt_live_loop_once
#define run_ms vt_live_run_ms
#define find vt_live_find
#define wait_event vt_live_wait_event
#define speak vt_live_speak
#define silence_ms vt_live_silence_ms

static int wait_answer_audio(int timeout_ms)
{
    int64_t until = vt_now_us() + (int64_t)timeout_ms * 1000;
    while (H.audio[VT_AUDIO_ANSWER] == 0 && vt_now_us() < until)
        loop_once(until);
    return H.audio[VT_AUDIO_ANSWER] > 0;
}

static int setup_runtime_with(int grammar_first)
{
    vt_runtime_config rc;
    vt_runtime_config_default(&rc);
    if (vt_live_init(&rc) != 0)
        return -1;
    rc.brain_opts[0] = (vt_opt){"db", "none"};
    rc.brain_opts[1] = (vt_opt){"stt_expect_first", grammar_first ? "1" : "0"};
    rc.n_brain_opts = 2;
    char err[512];
    int r = vt_runtime_create(&rc, &H.rt, err, sizeof err);
    if (r)
        fprintf(stderr, "runtime: %s\n", err);
    return r;
}

static int setup_runtime(void **state)
{
    (void)state;
    return setup_runtime_with(0);
}

/* stt_expect_first=1: a lesson's answers decoded with its grammar first */
static int setup_runtime_first(void **state)
{
    (void)state;
    return setup_runtime_with(1);
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

/* Grammar first: a question asked while the lesson waits for an answer
 * wins the grammar's loop of common words, so the full model decodes it
 * after its end: its words come, and the tutor answers. */
static void test_question_during_a_lesson_grammar_first(void **state)
{
    (void)state;
    char msg[256];
    int16_t *q = NULL;
    size_t nq = 0;
    assert_int_equal(vt_test_speech("awb", "what is the capital of france", &q, &nq), 0);
    open_session("capitals", 1, msg, sizeof msg);
    silence_ms(600);
    speak(q, nq);
    int64_t spoken = vt_now_us();
    silence_ms(300);
    int tc = wait_event(VT_EV_TRANSCRIPTION_COMPLETE, 0, 8000);
    assert_true(tc >= 0);
    printf("session: grammar first heard \"%s\" %.0f ms after the end of speech\n",
           H.ev[tc].text, (double)(H.ev[tc].t - spoken) / 1000.0);
    assert_non_null(strstr(H.ev[tc].text, "capital"));
    int rs = wait_event(VT_EV_RESPONSE_START, tc, 5000);
    assert_true(rs > tc);
    assert_true(wait_answer_audio(5000));
    free(q);
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
        cmocka_unit_test_setup_teardown(test_question_during_a_lesson_grammar_first,
                                        setup_runtime_first, teardown_runtime),
        cmocka_unit_test_setup_teardown(test_spoken_turn_then_stop, setup_runtime,
                                        teardown_runtime),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
