/*
 * Scenario tests: every behaviour of the three seeds as a conversation in
 * virtual time (the simulator with scripted engines), checked on the
 * protocol events, the state transitions, the memory and out.wav.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include "scenarios/scenario_test.h"
#include "util/wav.h"

#define LONG_ANSWER                                                                          \
    "\"text\": \"Photosynthesis is how plants make food from light. They take in water and " \
    "carbon dioxide, and with the energy of sunlight they turn them into sugar. Oxygen is "  \
    "released as a by-product, which is the air we breathe. It happens in the leaves.\""

/* Length of the longest run of exact silence in out.wav between a and b. */
static double longest_gap_ms(const vt_sim *s, double a, double b)
{
    size_t n;
    int rate;
    const int16_t *o = vt_sim_output(s, &n, &rate);
    size_t i0 = (size_t)(a * rate), i1 = (size_t)(b * rate), run = 0, best = 0;
    for (size_t i = i0; i < i1 && i < n; i++) {
        run = o[i] == 0 ? run + 1 : 0;
        if (run > best)
            best = run;
    }
    return best * 1000.0 / rate;
}

/* ---- end of turn (seed 000) ------------------------------------------------ */

static void complete_sentence_ends_after_half_a_second(void **st)
{
    (void)st;
    vt_sim *s = run("{\"user\":[{\"at\":0.5,\"text\":\"what is two plus two\",\"ms\":1500}],"
                    "\"duration\":8}");
    double end = 2.0, t = t_of(s, "processing_started", 0);
    assert_true(t > 0);
    assert_true(fabs((t - end) - 0.5) < 0.03);
    assert_string_equal(field(s, "processing_started", 0, "text"), "what is two plus two");
    assert_string_equal(field(s, "transition", 0, "why"), "sentence complete, short silence");
    vt_sim_free(s);
}

static void incomplete_sentence_waits_two_seconds(void **st)
{
    (void)st;
    vt_sim *s = run("{\"user\":[{\"at\":0.5,\"text\":\"what is the capital of\",\"ms\":1500}],"
                    "\"duration\":8}");
    double t = t_of(s, "processing_started", 0);
    assert_true(fabs((t - 2.0) - 2.0) < 0.03);
    vt_sim_free(s);
}

static void pause_inside_an_incomplete_sentence_is_one_turn(void **st)
{
    (void)st;
    vt_sim *s = run("{\"user\":[{\"at\":0.5,\"text\":\"what is the capital of\",\"ms\":1500},"
                    "{\"at\":3.2,\"text\":\"france\",\"ms\":600}],\"duration\":10}");
    assert_int_equal(count(s, "processing_started"), 1);
    assert_string_equal(field(s, "processing_started", 0, "text"),
                        "what is the capital of france");
    assert_true(fabs(t_of(s, "processing_started", 0) - (3.8 + 0.5)) < 0.03);
    vt_sim_free(s);
}

static void late_verdict_never_waits_past_the_long_limit(void **st)
{
    (void)st;
    vt_sim *s = run("{\"user\":[{\"at\":0.5,\"text\":\"what is two plus two\",\"ms\":1500}],"
                    "\"brain\":{\"judge_ms\":5000},\"duration\":10}");
    assert_true(fabs(t_of(s, "processing_started", 0) - 4.0) < 0.03);
    assert_string_equal(field(s, "transition", 0, "why"), "no verdict, long silence");
    vt_sim_free(s);
}

static void verdict_after_short_limit_ends_the_turn_at_once(void **st)
{
    (void)st;
    vt_sim *s = run("{\"user\":[{\"at\":0.5,\"text\":\"what is two plus two\",\"ms\":1500}],"
                    "\"stt\":{\"final_ms\":40},\"brain\":{\"judge_ms\":900},\"duration\":10}");
    /* final at 2.28 (hangover + 40 ms), verdict at 3.18: later than 2.5 */
    double t = t_of(s, "processing_started", 0);
    assert_true(t > 3.1 && t < 3.25);
    vt_sim_free(s);
}

/* ---- filler (seed 000) ----------------------------------------------------------- */

static void filler_plays_and_answer_follows_without_gap(void **st)
{
    (void)st;
    vt_sim *s = run("{\"user\":[{\"at\":0.5,\"text\":\"what is photosynthesis\",\"ms\":1500}],"
                    "\"brain\":{\"filler\":1,\"filler_ms\":40,\"replies\":[{" LONG_ANSWER
                    ",\"first_token_ms\":200,\"token_ms\":30}]},"
                    "\"fillers\":[{\"text\":\"Hmm.\",\"ms\":500},{\"text\":\"Good question.\","
                    "\"description\":\"praise\",\"ms\":700}],\"duration\":25}");
    double tf = t_of(s, "filler_started", 0);
    assert_true(tf > 0);
    assert_string_equal(field(s, "filler_started", 0, "text"), "Good question.");
    assert_true(fabs(tf - (t_of(s, "processing_started", 0) + 0.04)) < 0.001);
    /* the answer starts when the filler ends, with no hole in between */
    double tr = t_enter(s, "RESPONDING", 0);
    assert_true(fabs(tr - (tf + 0.7 - 0.1)) < 0.03); /* released one lead early */
    /* (a gap would be at least one 20 ms slice; the clips fade in over a few samples) */
    assert_true(longest_gap_ms(s, tf + 0.01, tf + 2.0) < 5.0);
    assert_int_equal(count(s, "response_complete"), 1);
    vt_sim_free(s);
}

static void filler_falls_back_to_random_after_deadline(void **st)
{
    (void)st;
    vt_sim *s = run("{\"user\":[{\"at\":0.5,\"text\":\"what is two plus two\",\"ms\":1500}],"
                    "\"config\":{\"filler_deadline_ms\":250},"
                    "\"brain\":{\"filler_ms\":-1,\"replies\":[{\"text\":\"Four.\","
                    "\"first_token_ms\":900}]},\"duration\":8}");
    double tp = t_of(s, "processing_started", 0), tf = t_of(s, "filler_started", 0);
    assert_true(fabs(tf - tp - 0.25) < 0.001);
    vt_sim_free(s);
}

/* ---- interruption (seeds 000 and 003) ------------------------------------------------ */

#define ANSWERING(extra_user, cfg)                                                          \
    "{\"config\":{" cfg "},\"user\":[{\"at\":0.5,\"text\":\"tell me about plants\","      \
    "\"ms\":1500}" extra_user "],\"brain\":{\"replies\":[{" LONG_ANSWER "}]},\"duration\":16}"

static void commands_mode_ignores_speech_but_stops_on_command(void **st)
{
    (void)st;
    /* the answer plays from about 2.8 s */
    vt_sim *s = run(ANSWERING(",{\"at\":4.0,\"text\":\"oh that is really interesting\","
                              "\"ms\":1500},{\"at\":7.0,\"text\":\"stop\",\"ms\":400}",
                              "\"interrupt_mode\":\"commands\""));
    assert_int_equal(count(s, "interruption_detected"), 1);
    double ti = t_of(s, "interruption_detected", 0);
    assert_true(ti > 7.0 && ti < 7.7);
    assert_string_equal(field(s, "interruption_detected", 0, "trigger"), "command");
    /* the ordinary speech is kept in memory as a note, not dropped */
    const vt_turn *t;
    size_t n = vt_core_history(vt_sim_core(s), &t);
    bool note = false;
    for (size_t i = 0; i < n; i++)
        note |= t[i].role == VT_ROLE_NOTE && strstr(t[i].text, "really interesting");
    assert_true(note);
    /* "stop" alone starts no new turn */
    assert_int_equal(count(s, "processing_started"), 1);
    vt_sim_free(s);
}

/* The driver counts a keyword only with a voice behind it (the VAD open, or
 * closed less than a second before): the spotter can fire on the
 * near-silence an echo canceller leaves. Here the scripted spotter hears
 * "stop" in silent audio. */
static void keyword_needs_a_voice_behind_it(void **st)
{
    (void)st;
    vt_sim *s = run(ANSWERING(",{\"at\":7.0,\"text\":\"stop\",\"ms\":400,\"level\":0}",
                              "\"interrupt_mode\":\"commands\""));
    assert_int_equal(count(s, "engine.keyword"), 1); /* the spotter fired ... */
    assert_int_equal(count(s, "speech_detected"), 1); /* (only the question was heard) */
    assert_int_equal(count(s, "interruption_detected"), 0); /* ... and nothing followed */
    assert_int_equal(count(s, "response_interrupted"), 0);
    vt_sim_free(s);
    /* the same silent "stop" half a second after the learner spoke counts */
    s = run(ANSWERING(",{\"at\":5.0,\"text\":\"oh really\",\"ms\":500},"
                      "{\"at\":6.0,\"text\":\"stop\",\"ms\":400,\"level\":0}",
                      "\"interrupt_mode\":\"commands\""));
    assert_int_equal(count(s, "interruption_detected"), 1);
    assert_string_equal(field(s, "interruption_detected", 0, "trigger"), "command");
    double ti = t_of(s, "interruption_detected", 0);
    assert_true(ti > 6.4 && ti < 6.8);
    vt_sim_free(s);
}

static void speech_mode_sustained_speech_interrupts(void **st)
{
    (void)st;
    vt_sim *s = run(ANSWERING(",{\"at\":5.0,\"text\":\"no wait i mean animals\",\"ms\":1600}",
                              "\"interrupt_mode\":\"speech\",\"min_speech_ms\":250"));
    assert_int_equal(count(s, "interruption_detected"), 1);
    double ti = t_of(s, "interruption_detected", 0);
    /* 250 ms of speech after its start at 5.0 */
    assert_true(ti >= 5.25 && ti < 5.32);
    assert_string_equal(field(s, "interruption_detected", 0, "trigger"), "speech");
    assert_true(atof(field(s, "interruption_detected", 0, "confidence")) >= 1.5);
    assert_string_equal(field(s, "interruption_detected", 0, "conversation_state"),
                        "ACKNOWLEDGING");
    /* what they said became the next turn (leading "no wait" kept: only
     * command words are stripped, and "wait" is second) */
    assert_string_equal(field(s, "processing_started", 1, "text"), "no wait i mean animals");
    vt_sim_free(s);
}

static void speech_mode_click_does_not_interrupt(void **st)
{
    (void)st;
    vt_sim *s = run(ANSWERING(",{\"at\":5.0,\"click_ms\":100,\"level\":0.5}",
                              "\"interrupt_mode\":\"speech\""));
    assert_int_equal(count(s, "speech_detected"), 2); /* heard, yet not an interruption */
    assert_int_equal(count(s, "interruption_detected"), 0);
    assert_true(energy(s, 5.2, 9.0) > 100);           /* the answer went on */
    vt_sim_free(s);
}

static void speech_mode_quiet_speech_under_threshold_does_not_interrupt(void **st)
{
    (void)st;
    /* ~13 dB over the floor: VAD hears it, the 1.5 threshold (15 dB) does not */
    vt_sim *s = run(ANSWERING(",{\"at\":5.0,\"text\":\"mm hm\",\"ms\":1000,\"level\":0.013}",
                              "\"interrupt_mode\":\"speech\""));
    assert_int_equal(count(s, "speech_detected"), 2);
    assert_int_equal(count(s, "interruption_detected"), 0);
    vt_sim_free(s);
    s = run(ANSWERING(",{\"at\":5.0,\"text\":\"mm hm\",\"ms\":1000,\"level\":0.013}",
                      "\"interrupt_mode\":\"speech\",\"interrupt_threshold\":0.8"));
    assert_int_equal(count(s, "interruption_detected"), 1);
    vt_sim_free(s);
}

static void disabled_ignores_speech_and_commands_but_not_keys(void **st)
{
    (void)st;
    vt_sim *s = run("{\"config\":{\"interrupt_enabled\":false},\"user\":[{\"at\":0.5,"
                    "\"text\":\"tell me about plants\",\"ms\":1500},{\"at\":4.0,"
                    "\"text\":\"stop stop please stop\",\"ms\":1500}],\"keys\":[7.0],"
                    "\"brain\":{\"replies\":[{" LONG_ANSWER "}]},\"duration\":14}");
    assert_int_equal(count(s, "interruption_detected"), 1);
    assert_true(fabs(t_of(s, "interruption_detected", 0) - 7.0) < 1e-6);
    assert_string_equal(field(s, "interruption_detected", 0, "trigger"), "key");
    vt_sim_free(s);
}

#define COOLDOWN(cd)                                                                         \
    "{\"config\":{\"interrupt_mode\":\"speech\",\"interrupt_cooldown_ms\":" cd "},"          \
    "\"user\":[{\"at\":0.5,\"text\":\"tell me about plants\",\"ms\":1500},"               \
    "{\"at\":4.6,\"text\":\"hmm\",\"ms\":900}],\"keys\":[4.0],"                             \
    "\"typed\":[{\"at\":4.1,\"text\":\"tell me about trees\"}],"                           \
    "\"brain\":{\"replies\":[{" LONG_ANSWER ",\"first_token_ms\":100}]},\"duration\":14}"

static void cooldown_is_honoured(void **st)
{
    (void)st;
    /* key at 4.0; a typed question starts a new answer; speech at 4.6 */
    vt_sim *s = run(COOLDOWN("3000"));
    assert_int_equal(count(s, "interruption_detected"), 1);
    vt_sim_free(s);
    s = run(COOLDOWN("100"));
    assert_int_equal(count(s, "interruption_detected"), 2);
    assert_true(fabs(t_of(s, "interruption_detected", 1) - 4.86) < 0.03);
    vt_sim_free(s);
    s = run(COOLDOWN("1000"));
    /* blocked until the cooldown ends, then the still-speaking person wins */
    assert_int_equal(count(s, "interruption_detected"), 2);
    assert_true(fabs(t_of(s, "interruption_detected", 1) - 5.0) < 0.03);
    vt_sim_free(s);
}

static void keyboard_interrupts_and_acknowledgement_plays(void **st)
{
    (void)st;
    vt_sim *s = run("{\"user\":[{\"at\":0.5,\"text\":\"tell me about plants\",\"ms\":1500}],"
                    "\"keys\":[5.0],\"acks\":[{\"text\":\"Okay.\",\"ms\":600}],"
                    "\"brain\":{\"replies\":[{" LONG_ANSWER "}]},\"duration\":12}");
    assert_true(fabs(t_of(s, "interruption_detected", 0) - 5.0) < 1e-6);
    assert_true(fabs(t_of(s, "response_interrupted", 0) - 5.0) < 1e-6);
    assert_true(fabs(t_of(s, "acknowledgement_started", 0) - 5.0) < 1e-6);
    assert_true(atof(field(s, "response_interrupted", 0, "chunks_sent")) > 50);
    assert_true(fabs(t_enter(s, "ACKNOWLEDGING", 0) - 5.0) < 1e-6);
    assert_true(fabs(t_enter(s, "LISTENING", 0) - 5.6) < 0.001);
    /* the person hears the answer, the acknowledgement, then silence */
    assert_true(energy(s, 4.5, 4.99) > 100);
    assert_true(energy(s, 5.05, 5.55) > 100);
    assert_true(energy(s, 5.61, 12.0) == 0);
    vt_sim_free(s);
}

static void speech_during_acknowledgement_is_the_next_turn(void **st)
{
    (void)st;
    vt_sim *s = run("{\"user\":[{\"at\":0.5,\"text\":\"tell me about plants\",\"ms\":1500},"
                    "{\"at\":5.2,\"text\":\"what about germany\",\"ms\":1200}],\"keys\":[5.0],"
                    "\"acks\":[{\"text\":\"Okay.\",\"ms\":800}],\"config\":{\"interrupt_mode\":"
                    "\"commands\"},\"brain\":{\"replies\":[{" LONG_ANSWER "}]},\"duration\":14}");
    assert_int_equal(count(s, "processing_started"), 2);
    assert_string_equal(field(s, "processing_started", 1, "text"), "what about germany");
    assert_true(fabs(t_of(s, "processing_started", 1) - (6.4 + 0.5)) < 0.03);
    vt_sim_free(s);
}

static void spoken_stop_then_question_becomes_next_turn(void **st)
{
    (void)st;
    vt_sim *s = run(ANSWERING(",{\"at\":5.0,\"text\":\"stop what about animals\",\"ms\":1800}",
                              "\"interrupt_mode\":\"commands\""));
    assert_int_equal(count(s, "interruption_detected"), 1);
    assert_string_equal(field(s, "processing_started", 1, "text"), "what about animals");
    vt_sim_free(s);
}

/* ---- memory (seed 004) -------------------------------------------------------------- */

static void memory_holds_only_spoken_words_and_dots(void **st)
{
    (void)st;
    vt_sim *s = run("{\"user\":[{\"at\":0.5,\"text\":\"tell me about plants\",\"ms\":1500}],"
                    "\"keys\":[6.0],\"brain\":{\"replies\":[{" LONG_ANSWER "}]},"
                    "\"duration\":10}");
    int k = count(s, "response_text");
    assert_true(k > 3);
    char spoken[1024];
    snprintf(spoken, sizeof spoken, "%s", field(s, "response_text", k - 1, "spoken_text"));
    const vt_turn *t;
    size_t n = vt_core_history(vt_sim_core(s), &t);
    assert_int_equal(n, 3);
    assert_int_equal(t[1].role, VT_ROLE_ASSISTANT);
    char want[1100];
    snprintf(want, sizeof want, "%s...", spoken);
    assert_string_equal(t[1].text, want);
    assert_true(t[1].interrupted);
    assert_non_null(strstr(t[1].unspoken, "It happens in the leaves."));
    assert_null(strstr(t[1].text, "leaves"));
    assert_int_equal(t[2].role, VT_ROLE_NOTE);
    vt_sim_free(s);
}

static void two_turns_in_a_row(void **st)
{
    (void)st;
    vt_sim *s = run("{\"user\":[{\"at\":0.5,\"text\":\"what is two plus two\",\"ms\":1500},"
                    "{\"at\":7.0,\"text\":\"and three plus three\",\"ms\":1500}],"
                    "\"brain\":{\"replies\":[{\"text\":\"Two plus two is four.\"},"
                    "{\"text\":\"Three plus three is six.\"}]},\"duration\":14}");
    assert_int_equal(count(s, "response_complete"), 2);
    assert_string_equal(field(s, "response_complete", 0, "conversation_turn"), "1");
    assert_string_equal(field(s, "response_complete", 1, "conversation_turn"), "2");
    /* the cycle: LISTENING -> THINKING -> RESPONDING -> LISTENING, twice */
    const char *cycle[] = {"THINKING", "RESPONDING", "LISTENING"};
    for (int turn = 0; turn < 2; turn++)
        for (int i = 0; i < 3; i++)
            assert_true(t_enter(s, cycle[i], turn) > 0);
    assert_true(t_enter(s, "LISTENING", 0) < t_of(s, "processing_started", 1));
    const vt_turn *t;
    assert_int_equal(vt_core_history(vt_sim_core(s), &t), 4);
    assert_string_equal(t[3].text, "Three plus three is six.");
    vt_sim_free(s);
}

static void llm_failure_apologises_and_the_session_goes_on(void **st)
{
    (void)st;
    vt_sim *s = run("{\"user\":[{\"at\":0.5,\"text\":\"what is two plus two\",\"ms\":1500},"
                    "{\"at\":9.0,\"text\":\"hello again\",\"ms\":1000}],"
                    "\"brain\":{\"replies\":[{\"text\":\"Well, let me see. The answer is\","
                    "\"error\":\"stream truncated\",\"error_after\":3},{\"text\":\"Hi.\"}]},"
                    "\"duration\":14}");
    assert_int_equal(count(s, "error"), 1);
    assert_string_equal(field(s, "error", 0, "code"), "llm_error");
    assert_string_equal(field(s, "error", 0, "message"), "stream truncated");
    const vt_turn *t;
    size_t n = vt_core_history(vt_sim_core(s), &t);
    assert_true(n >= 4);
    assert_non_null(strstr(t[1].text, "Sorry"));
    assert_int_equal(count(s, "response_complete"), 2);
    vt_sim_free(s);
}

/* ---- files, determinism, bad input --------------------------------------------------- */

static void wav_input_any_rate_and_channels(void **st)
{
    (void)st;
    char dir[] = "/tmp/vt_scn_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256], err[256];
    snprintf(path, sizeof path, "%s/q.wav", dir);
    /* 1.2 s of a voiced sound at 44.1 kHz */
    size_t n = 52920;
    int16_t *pcm = malloc(n * sizeof *pcm);
    for (size_t i = 0; i < n; i++)
        pcm[i] = (int16_t)(6000 * sin(2 * M_PI * 150 * i / 44100.0) *
                           (0.6 + 0.4 * sin(2 * M_PI * 3 * i / 44100.0)));
    assert_int_equal(vt_wav_write(path, pcm, n, 44100, err, sizeof err), 0);
    free(pcm);
    char json[512];
    snprintf(json, sizeof json, "{\"user\":[{\"at\":1.0,\"wav\":\"%s\",\"text\":\"hello "
                                "there\"}],\"duration\":6}", path);
    vt_sim *s = run(json);
    assert_true(fabs(t_of(s, "speech_detected", 0) - 1.06) < 0.03);
    assert_string_equal(field(s, "processing_started", 0, "text"), "hello there");
    assert_true(fabs(t_of(s, "processing_started", 0) - 2.7) < 0.05);
    snprintf(path, sizeof path, "%s/out", dir);
    assert_int_equal(vt_sim_write(s, path, err, sizeof err), 0);
    snprintf(path, sizeof path, "%s/out/events.jsonl", dir);
    assert_int_equal(access(path, R_OK), 0);
    vt_sim_free(s);
    snprintf(path, sizeof path, "rm -rf %s", dir);
    assert_int_equal(system(path), 0);
}

static void same_scenario_same_events(void **st)
{
    (void)st;
    const char *js = ANSWERING(",{\"at\":5.0,\"text\":\"stop what about animals\",\"ms\":1800}",
                               "\"interrupt_mode\":\"both\"");
    vt_sim *a = run(js), *b = run(js);
    const vt_sim_record *ra, *rb;
    size_t na = vt_sim_records(a, &ra), nb = vt_sim_records(b, &rb);
    assert_int_equal(na, nb);
    for (size_t i = 0; i < na; i++)
        assert_string_equal(ra[i].json, rb[i].json);
    size_t n1, n2;
    const int16_t *o1 = vt_sim_output(a, &n1, NULL), *o2 = vt_sim_output(b, &n2, NULL);
    assert_int_equal(n1, n2);
    assert_memory_equal(o1, o2, n1 * sizeof *o1);
    vt_sim_free(a);
    vt_sim_free(b);
}

static void bad_scenarios_give_clear_errors(void **st)
{
    (void)st;
    const char *cases[][2] = {
        {"{\"user\":[{\"at\":0.5,", "not valid JSON"},
        {"[1,2]", "must be a JSON object"},
        {"{\"user\":{}}", "user: must be a list"},
        {"{\"user\":[{\"text\":\"hi\"}]}", "user[0].at: missing"},
        {"{\"user\":[{\"at\":\"soon\"}]}", "user[0].at: must be a number"},
        {"{\"user\":[{\"at\":1,\"wav\":\"/nonexistent/x.wav\"}]}", "x.wav"},
        {"{\"config\":{\"interrupt_threshold\":7}}", "interrupt_threshold"},
        {"{\"config\":{\"colour\":\"red\"}}", "unknown key \"colour\""},
        {"{\"keys\":[\"now\"]}", "keys[0]"},
        {"{\"brain\":{\"replies\":[{\"text\":5}]}}", "brain.replies[0].text"},
        {"{\"duration\":99999}", "duration"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char err[512] = "";
        vt_sim *s = NULL;
        assert_int_not_equal(vt_sim_load_string(cases[i][0], ".", "bad.json", &s, err,
                                                sizeof err), 0);
        assert_null(s);
        if (!strstr(err, cases[i][1]) || !strstr(err, "bad.json"))
            fail_msg("case %zu: '%s' lacks '%s'", i, err, cases[i][1]);
    }
    char err[512];
    vt_sim *s = NULL;
    assert_int_equal(vt_sim_load_file("/nonexistent/scenario.json", &s, err, sizeof err),
                     VT_ENOTFOUND);
    assert_non_null(strstr(err, "/nonexistent/scenario.json"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(complete_sentence_ends_after_half_a_second),
        cmocka_unit_test(incomplete_sentence_waits_two_seconds),
        cmocka_unit_test(pause_inside_an_incomplete_sentence_is_one_turn),
        cmocka_unit_test(late_verdict_never_waits_past_the_long_limit),
        cmocka_unit_test(verdict_after_short_limit_ends_the_turn_at_once),
        cmocka_unit_test(filler_plays_and_answer_follows_without_gap),
        cmocka_unit_test(filler_falls_back_to_random_after_deadline),
        cmocka_unit_test(commands_mode_ignores_speech_but_stops_on_command),
        cmocka_unit_test(keyword_needs_a_voice_behind_it),
        cmocka_unit_test(speech_mode_sustained_speech_interrupts),
        cmocka_unit_test(speech_mode_click_does_not_interrupt),
        cmocka_unit_test(speech_mode_quiet_speech_under_threshold_does_not_interrupt),
        cmocka_unit_test(disabled_ignores_speech_and_commands_but_not_keys),
        cmocka_unit_test(cooldown_is_honoured),
        cmocka_unit_test(keyboard_interrupts_and_acknowledgement_plays),
        cmocka_unit_test(speech_during_acknowledgement_is_the_next_turn),
        cmocka_unit_test(spoken_stop_then_question_becomes_next_turn),
        cmocka_unit_test(memory_holds_only_spoken_words_and_dots),
        cmocka_unit_test(two_turns_in_a_row),
        cmocka_unit_test(llm_failure_apologises_and_the_session_goes_on),
        cmocka_unit_test(wav_input_any_rate_and_channels),
        cmocka_unit_test(same_scenario_same_events),
        cmocka_unit_test(bad_scenarios_give_clear_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
