/*
 * Live sessions whose speech goes through the remote engines (--stt openai,
 * --tts openai) served by tests/remote/fake_audio.py on 127.0.0.1: a
 * runtime and a loop like the server's (as tests/runtime/test_session.c)
 * drive one session in real time. A whole turn: the tutor's question in the
 * remote voice, a spoken answer whose final text comes from the remote
 * recogniser (with the lesson's expected answer in its prompt) while
 * pocketsphinx gives the interim text, the answer in the remote voice, a
 * key interruption in the middle of it, then listening again. And the same
 * turn with both servers failing: the local final and the embedded voice
 * serve it, with one stt_error and one tts_error event. Also the figure
 * for docs/BENCHMARKS.md: what a remote final adds to end of speech ->
 * first audio (printed; the fake answers in 0 ms or a set delay).
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
#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "runtime/session.h"
#include "speech/speech_testutil.h"
#include "support/live.h"
#include "support/fake_llm.h"
#include "support/fake_stats.h"

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

#define SECRET "sk-live-SECRET-abcdef0123456789"

static vt_fake_llm server;
static char base_url[64];

static int count_error(const char *code)
{
    int n = 0;
    for (int i = 0; i < H.n_ev; i++)
        if (H.ev[i].type == VT_EV_ERROR && strcmp(H.ev[i].text2, code) == 0)
            n++;
    return n;
}

/* GET /stats of the fake (tests/support/fake_stats.c); the caller deletes it. */
static cJSON *stats(void)
{
    cJSON *j = vt_fake_stats(server.port);
    assert_non_null(j);
    return j;
}

static int start_server(void **state)
{
    (void)state;
    char script[1024];
    snprintf(script, sizeof script, "%s/tests/remote/fake_audio.py",
             getenv("VT_SOURCE_DIR") ? getenv("VT_SOURCE_DIR") : ".");
    /* the figures' runs (VT_REMOTE_TRIALS) last longer than the test */
    if (vt_fake_llm_start(&server, script, getenv("VT_REMOTE_TRIALS") ? 1800 : 170) != 0)
        return -1;
    snprintf(base_url, sizeof base_url, "http://127.0.0.1:%d/v1", server.port);
    setenv("VT_TEST_LIVE_KEY", SECRET, 1);
    return 0;
}

static int stop_server(void **state)
{
    (void)state;
    vt_fake_llm_stop(&server);
    return 0;
}

/* A runtime on the remote engines; stt or tts NULL: the embedded one. */
static void runtime_open(const char *stt_model, const char *tts_model, const char *tts_format)
{
    vt_runtime_config rc;
    vt_runtime_config_default(&rc);
    assert_int_equal(vt_live_init(&rc), 0);
    H.print_errors = 1;
    size_t n = 0;
    rc.brain_opts[n++] = (vt_opt){"db", "none"};
    rc.brain_opts[n++] = (vt_opt){"stt_url", base_url};
    rc.brain_opts[n++] = (vt_opt){"tts_url", base_url};
    rc.brain_opts[n++] = (vt_opt){"stt_api_key_env", "VT_TEST_LIVE_KEY"};
    rc.brain_opts[n++] = (vt_opt){"tts_api_key_env", "VT_TEST_LIVE_KEY"};
    rc.brain_opts[n++] = (vt_opt){"tts_voice", "nova"};
    if (stt_model) {
        rc.stt = "openai";
        rc.brain_opts[n++] = (vt_opt){"stt_model", stt_model};
    }
    if (tts_model) {
        rc.tts = "openai";
        rc.brain_opts[n++] = (vt_opt){"tts_model", tts_model};
        rc.brain_opts[n++] = (vt_opt){"tts_format", tts_format};
    }
    rc.n_brain_opts = n;
    char err[512];
    int r = vt_runtime_create(&rc, &H.rt, err, sizeof err);
    if (r)
        fprintf(stderr, "runtime: %s\n", err);
    assert_int_equal(r, 0);
}

static void runtime_close(void)
{
    if (H.s)
        vt_session_destroy(H.s);
    H.s = NULL;
    int64_t until = vt_now_us() + 5000000;
    while (vt_runtime_sessions(H.rt) > 0 && vt_now_us() < until)
        loop_once(until);
    assert_int_equal(vt_runtime_sessions(H.rt), 0);
    vt_runtime_destroy(H.rt);
    close(H.pipe[0]);
    close(H.pipe[1]);
}

static int16_t *g_answer;
static size_t g_n_answer;
static double g_final_ms, g_audio_ms;   /* the last turn's, from the end of speech */

/* The capitals lesson's first question, heard to its end; then the spoken
 * answer "london" (pocketsphinx hears it) and the turn's events. Returns
 * the index of the transcription's completion. */
static int question_and_answer(void)
{
    char msg[256];
    vt_session_options o = {.character = "capitals", .user_id = "remote", .speech = 1};
    assert_int_equal(vt_session_create(H.rt, &o, &k_out, NULL, &H.s, msg, sizeof msg), 0);
    silence_ms(300);
    assert_true(vt_session_welcome(H.s, NULL, 0, vt_now_us()) > 0);
    int done = wait_event(VT_EV_RESPONSE_COMPLETE, 0, 20000);
    assert_true(done >= 0);
    assert_true(H.audio[VT_AUDIO_ANSWER] > VT_IN_RATE);
    run_ms(300);
    silence_ms(400);
    int from = H.n_ev;
    H.first_answer_audio_us = 0;
    speak(g_answer, g_n_answer);
    int64_t end_of_speech = vt_now_us();
    silence_ms(200);
    int tc = wait_event(VT_EV_TRANSCRIPTION_COMPLETE, from, 8000);
    assert_true(tc >= 0);
    int64_t until = vt_now_us() + 8000000;
    while (!H.first_answer_audio_us && vt_now_us() < until)
        loop_once(until);
    assert_true(H.first_answer_audio_us > 0);
    vt_metrics met;
    vt_core_metrics(vt_session_core(H.s), &met);
    g_final_ms = (double)(H.ev[tc].t - end_of_speech) / 1000.0;
    g_audio_ms = (double)(H.first_answer_audio_us - end_of_speech) / 1000.0;
    fprintf(stderr, "  \"%s\": end of speech -> final %.0f ms, -> first answer audio %.0f ms "
                    "(core's last_first_audio_ms %.0f)\n", H.ev[tc].text,
            (double)(H.ev[tc].t - end_of_speech) / 1000.0,
            (double)(H.first_answer_audio_us - end_of_speech) / 1000.0,
            met.last_first_audio_ms);
    return tc;
}

static void test_remote_turn_with_interruption(void **state)
{
    (void)state;
    runtime_open("say:Paris.", "realtime", "pcm");
    int tc = question_and_answer();
    /* the remote final replaced pocketsphinx's */
    assert_string_equal(H.ev[tc].text, "Paris.");
    assert_int_equal(count_error("stt_error"), 0);
    assert_int_equal(count_error("tts_error"), 0);
    cJSON *j = stats();
    const cJSON *st = cJSON_GetObjectItem(j, "last_stt");
    /* the lesson's expected answer went in the prompt, the key in the header */
    assert_non_null(strstr(cJSON_GetObjectItem(st, "prompt")->valuestring, "paris"));
    assert_true(cJSON_GetObjectItem(st, "duration")->valuedouble > 0.5);
    assert_string_equal(cJSON_GetObjectItem(j, "last_auth")->valuestring, "Bearer " SECRET);
    int tts_before = cJSON_GetObjectItem(j, "tts_requests")->valueint;
    cJSON_Delete(j);
    /* the answer plays in the remote voice; a key in the middle of it */
    run_ms(600);
    int before = H.n_ev;
    assert_int_equal(vt_session_key(H.s, vt_now_us()), 0);
    int ii = find(VT_EV_INTERRUPTION_DETECTED, before);
    assert_true(ii >= 0);
    int ri = find(VT_EV_RESPONSE_INTERRUPTED, before);
    assert_true(ri > ii);
    int li = -1;
    for (int k = ri; li < 0 && k >= 0; k = wait_event(VT_EV_STATE_CHANGED, k + 1, 4000))
        if (H.ev[k].type == VT_EV_STATE_CHANGED && H.ev[k].state == VT_STATE_LISTENING)
            li = k;
    assert_true(li > ri);
    assert_int_equal(H.answer_after_interrupt, 0);
    run_ms(500);
    j = stats();
    assert_true(cJSON_GetObjectItem(j, "tts_requests")->valueint >= tts_before);
    assert_true(cJSON_GetObjectItem(j, "tts_closed_early")->valueint >= 1);
    cJSON_Delete(j);
    /* the session goes on: a typed turn is answered in the remote voice */
    size_t audio = H.audio[VT_AUDIO_ANSWER];
    H.interrupted = 0;
    vt_session_text(H.s, "rome", vt_now_us());
    assert_true(wait_event(VT_EV_RESPONSE_START, li, 5000) >= 0);
    run_ms(800);
    assert_true(H.audio[VT_AUDIO_ANSWER] > audio);
    runtime_close();
}

static void test_remote_failures_fall_back(void **state)
{
    (void)state;
    runtime_open("http500", "http500", "pcm");
    int tc = question_and_answer();
    /* pocketsphinx's final stands (it heard something for "london") */
    assert_true(strlen(H.ev[tc].text) > 0);
    assert_string_not_equal(H.ev[tc].text, "Paris.");
    assert_int_equal(count_error("stt_error"), 1);
    /* the embedded voice spoke the welcome and the answer: one tts_error
     * per answer whose voice failed */
    assert_true(count_error("tts_error") >= 1);
    assert_true(H.audio[VT_AUDIO_ANSWER] > VT_IN_RATE);
    for (int i = 0; i < H.n_ev; i++) {
        assert_null(strstr(H.ev[i].text, "SECRET"));
        if (H.ev[i].type == VT_EV_ERROR && !strcmp(H.ev[i].text2, "stt_error"))
            assert_non_null(strstr(H.ev[i].text, "HTTP 500"));
    }
    runtime_close();
}

/* What the remote final adds to end of speech -> first audio, against a
 * fake that answers at once and one that takes 300 ms (printed for
 * docs/BENCHMARKS.md; the assertions only bound it). */
static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* VT_REMOTE_TRIALS=N (default 1) sessions per case; medians printed. */
static void test_remote_final_latency(void **state)
{
    (void)state;
    const char *models[] = {NULL, "say:Paris.", "slow:300:Paris.", "slow:1000:Paris."};
    int trials = getenv("VT_REMOTE_TRIALS") ? atoi(getenv("VT_REMOTE_TRIALS")) : 1;
    int cases = getenv("VT_REMOTE_TRIALS") ? 4 : 3;
    if (trials < 1 || trials > 20)
        trials = 1;
    if (getenv("VT_REMOTE_MODEL")) { /* one case: "" for pocketsphinx only */
        models[0] = getenv("VT_REMOTE_MODEL")[0] ? getenv("VT_REMOTE_MODEL") : NULL;
        cases = 1;
    }
    for (int k = 0; k < cases; k++) {
        double fin[20], aud[20];
        fprintf(stderr, "stt %s:\n", models[k] ? models[k] : "pocketsphinx only");
        for (int t = 0; t < trials; t++) {
            runtime_open(models[k], NULL, "pcm");
            question_and_answer();
            fin[t] = g_final_ms;
            aud[t] = g_audio_ms;
            assert_true(g_audio_ms < 6000); /* below stt_timeout_ms + final_wait_ms */
            runtime_close();
        }
        qsort(fin, (size_t)trials, sizeof fin[0], cmp_d);
        qsort(aud, (size_t)trials, sizeof aud[0], cmp_d);
        fprintf(stderr, "  median of %d: end of speech -> final %.0f ms, -> first answer audio "
                        "%.0f ms\n", trials, fin[trials / 2], aud[trials / 2]);
    }
}

int main(void)
{
    if (vt_test_speech("awb", "london", &g_answer, &g_n_answer) != 0) {
        fprintf(stderr, "flite is needed to make the test speech\n");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_remote_turn_with_interruption),
        cmocka_unit_test(test_remote_failures_fall_back),
        cmocka_unit_test(test_remote_final_latency),
    };
    if (getenv("VT_REMOTE_ONLY")) /* e.g. test_remote_final_latency */
        cmocka_set_test_filter(getenv("VT_REMOTE_ONLY"));
    int rc = cmocka_run_group_tests(tests, start_server, stop_server);
    free(g_answer);
    return rc;
}
