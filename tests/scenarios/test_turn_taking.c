/*
 * Scenario tests of turn taking past the seeds (issue 15), in virtual time:
 * preemptive answers, resume after a false interruption, backchannels and a
 * minimum of words, ducking, think time. Each behaviour is also run with its
 * setting off (the default), where the seeds' behaviour must be unchanged.
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
#include <cjson/cJSON.h>
#include "scenarios/scenario_test.h"

/* ---- preemptive answers (preempt_ms) ---------------------------------------- */

#define SEVEN(cfg, first_token)                                                              \
    "{\"config\":{\"filler_enabled\":false" cfg "},"                                         \
    "\"user\":[{\"at\":0.5,\"text\":\"what is seven times eight\",\"ms\":1500}],"            \
    "\"brain\":{\"replies\":[{\"text\":\"Seven times eight is fifty six.\","                 \
    "\"first_token_ms\":" first_token ",\"token_ms\":10}]},\"duration\":6}"

static void preempt_off_the_answer_starts_at_the_end_of_turn(void **st)
{
    (void)st;
    vt_sim *s = run(SEVEN("", "300"));
    assert_true(fabs(t_of(s, "engine.llm_start", 0) - 2.5) < 0.03);
    /* 0.5 s rule + 300 ms first token + 50 ms of tokens + synthesis */
    assert_true(t_enter(s, "RESPONDING", 0) > 2.5 + 0.35);
    vt_sim_free(s);
}

static void preempt_first_audio_leaves_when_the_turn_ends(void **st)
{
    (void)st;
    vt_sim *s = run(SEVEN(",\"preempt_ms\":150", "300"));
    /* begun 150 ms into the silence, on the interim text */
    assert_true(fabs(t_of(s, "engine.llm_start", 0) - 2.15) < 0.03);
    assert_string_equal(field(s, "engine.llm_start", 0, "text"), "what is seven times eight");
    assert_int_equal(count(s, "engine.llm_start"), 1);
    double te = t_of(s, "processing_started", 0);
    assert_true(fabs(te - 2.5) < 0.03);      /* the rule still decides */
    assert_true(energy(s, 0, te) == 0);      /* nothing was heard before it */
    assert_true(t_enter(s, "RESPONDING", 0) - te < 0.05);
    /* memory holds the turn once */
    const vt_turn *t;
    size_t n = vt_core_history(vt_sim_core(s), &t);
    assert_int_equal(n, 2);
    assert_int_equal(t[0].role, VT_ROLE_USER);
    assert_string_equal(t[0].text, "what is seven times eight");
    assert_string_equal(t[1].text, "Seven times eight is fifty six.");
    vt_sim_free(s);
}

static void preempt_restarts_when_the_person_goes_on(void **st)
{
    (void)st;
    vt_sim *s = run("{\"config\":{\"filler_enabled\":false,\"preempt_ms\":150},"
                    "\"user\":[{\"at\":0.5,\"text\":\"what is the capital of\",\"ms\":1500},"
                    "{\"at\":3.0,\"text\":\"france\",\"ms\":600}],"
                    "\"brain\":{\"replies\":[{\"text\":\"Paris.\",\"first_token_ms\":100}]},"
                    "\"duration\":8}");
    assert_true(count(s, "engine.llm_start") >= 2);
    assert_string_equal(field(s, "engine.llm_start", 0, "text"), "what is the capital of");
    int k = count(s, "engine.llm_start");
    assert_string_equal(field(s, "engine.llm_start", k - 1, "text"),
                        "what is the capital of france");
    /* the first was cancelled by generation when the person went on */
    assert_true(count(s, "engine.cancel") >= 1);
    assert_true(t_of(s, "engine.cancel", 0) > 3.0 && t_of(s, "engine.cancel", 0) < 3.2);
    assert_int_equal(count(s, "processing_started"), 1);
    assert_string_equal(field(s, "processing_started", 0, "text"),
                        "what is the capital of france");
    assert_true(energy(s, 0, t_of(s, "processing_started", 0)) == 0);
    const vt_turn *t;
    size_t n = vt_core_history(vt_sim_core(s), &t);
    assert_int_equal(n, 2);
    assert_string_equal(t[0].text, "what is the capital of france");
    assert_string_equal(t[1].text, "Paris.");
    vt_sim_free(s);
}

/* ---- backchannels and a minimum of words ------------------------------------------ */

#define LONG_ANSWER                                                                          \
    "\"text\": \"Photosynthesis is how plants make food from light. They take in water and " \
    "carbon dioxide, and with the energy of sunlight they turn them into sugar. Oxygen is "  \
    "released as a by-product, which is the air we breathe. It happens in the leaves.\""

/* The answer plays from about 2.8 s to past 14 s. */
#define ANSWERING_FOR(extra_user, cfg, duration)                                           \
    "{\"config\":{" cfg "},\"user\":[{\"at\":0.5,\"text\":\"tell me about plants\","      \
    "\"ms\":1500}" extra_user "],\"brain\":{\"replies\":[{" LONG_ANSWER "}]},"              \
    "\"duration\":" duration "}"
#define ANSWERING(extra_user, cfg) ANSWERING_FOR(extra_user, cfg, "18")

#define BACKCH "\"backchannels\":\"uh huh,mhm,yeah,okay,right,i see\""

static void backchannel_interrupts_without_the_filter(void **st)
{
    (void)st;
    vt_sim *s = run(ANSWERING(",{\"at\":5.0,\"text\":\"uh huh\",\"ms\":600}",
                              "\"interrupt_mode\":\"speech\""));
    assert_int_equal(count(s, "interruption_detected"), 1);
    vt_sim_free(s);
}

static void backchannels_do_not_interrupt_with_the_filter(void **st)
{
    (void)st;
    vt_sim *s = run(ANSWERING(",{\"at\":5.0,\"text\":\"uh huh\",\"ms\":600},"
                              "{\"at\":7.0,\"text\":\"i see\",\"ms\":500},"
                              "{\"at\":9.0,\"text\":\"yeah\",\"ms\":400}",
                              "\"interrupt_mode\":\"speech\"," BACKCH));
    assert_int_equal(count(s, "interruption_detected"), 0);
    assert_true(energy(s, 10.0, 11.0) > 100); /* the answer went on */
    /* kept in memory as notes, not turns */
    const vt_turn *t;
    size_t n = vt_core_history(vt_sim_core(s), &t);
    int notes = 0;
    for (size_t i = 0; i < n; i++)
        if (t[i].role == VT_ROLE_NOTE && strstr(t[i].text, "the learner said"))
            notes++;
    assert_int_equal(notes, 3);
    assert_int_equal(count(s, "processing_started"), 1);
    vt_sim_free(s);
}

static void real_interruption_still_interrupts_with_the_filter(void **st)
{
    (void)st;
    vt_sim *s = run(ANSWERING(",{\"at\":5.0,\"text\":\"yeah but what about animals\","
                              "\"ms\":1600}",
                              "\"interrupt_mode\":\"speech\"," BACKCH));
    assert_int_equal(count(s, "interruption_detected"), 1);
    double ti = t_of(s, "interruption_detected", 0);
    /* it waits for a word that is not a backchannel: later than 250 ms */
    assert_true(ti > 5.25 && ti < 6.0);
    assert_string_equal(field(s, "interruption_detected", 0, "trigger"), "speech");
    assert_string_equal(field(s, "processing_started", 1, "text"),
                        "yeah but what about animals");
    vt_sim_free(s);
}

static void minimum_words_for_speech_but_not_for_commands_or_keys(void **st)
{
    (void)st;
    /* two words are under the minimum of three; "stop" and the key still count */
    vt_sim *s = run(ANSWERING(",{\"at\":4.0,\"text\":\"oh nice\",\"ms\":700},"
                              "{\"at\":6.0,\"text\":\"no i mean animals\",\"ms\":1400}",
                              "\"interrupt_mode\":\"speech\",\"interrupt_min_words\":3"));
    assert_int_equal(count(s, "interruption_detected"), 1);
    assert_true(t_of(s, "interruption_detected", 0) > 6.25);
    vt_sim_free(s);
    s = run(ANSWERING(",{\"at\":5.0,\"text\":\"stop\",\"ms\":400}",
                      "\"interrupt_mode\":\"both\",\"interrupt_min_words\":3," BACKCH));
    assert_int_equal(count(s, "interruption_detected"), 1);
    assert_string_equal(field(s, "interruption_detected", 0, "trigger"), "command");
    vt_sim_free(s);
    s = run("{\"config\":{\"interrupt_min_words\":5," BACKCH "},\"user\":[{\"at\":0.5,"
            "\"text\":\"tell me about plants\",\"ms\":1500}],\"keys\":[5.0],\"brain\":"
            "{\"replies\":[{" LONG_ANSWER "}]},\"duration\":10}");
    assert_int_equal(count(s, "interruption_detected"), 1);
    assert_true(fabs(t_of(s, "interruption_detected", 0) - 5.0) < 0.001);
    vt_sim_free(s);
}

/* ---- resume after a false interruption (resume_ms) ------------------------------ */

#define COUGH ",{\"at\":5.0,\"click_ms\":400,\"level\":0.5}"

static void cough_leaves_the_tutor_silent_without_resume(void **st)
{
    (void)st;
    vt_sim *s = run(ANSWERING(COUGH, "\"interrupt_mode\":\"speech\""));
    assert_int_equal(count(s, "interruption_detected"), 1);
    assert_true(energy(s, 6.5, 17.0) == 0); /* a turn that never comes */
    vt_sim_free(s);
}

static void cough_resumes_from_the_word_it_cut(void **st)
{
    (void)st;
    vt_sim *s = run(
        ANSWERING_FOR(COUGH, "\"interrupt_mode\":\"speech\",\"resume_ms\":1500", "24"));
    assert_int_equal(count(s, "interruption_detected"), 1);
    double ti = t_of(s, "interruption_detected", 0);
    char spoken[1024], rest[1024];
    snprintf(spoken, sizeof spoken, "%s", field(s, "response_interrupted", 0, "spoken_text"));
    snprintf(rest, sizeof rest, "%s", field(s, "response_interrupted", 0, "unspoken_text"));
    /* 1.5 s after the interruption, the rest from the word it was cut in */
    assert_true(fabs(t_enter(s, "THINKING", 1) - (ti + 1.5)) < 0.03);
    assert_true(energy(s, ti + 1.6, ti + 3.0) > 100);
    int k = 0;
    while (t_of(s, "engine.tts", k) >= 0 && t_of(s, "engine.tts", k) < ti)
        k++;
    const char *first = field(s, "engine.tts", k, "text");
    assert_true(first[0] && strncmp(first, rest, strlen(first)) == 0);
    /* memory: the whole answer once, not cut, no note */
    const vt_turn *t;
    size_t n = vt_core_history(vt_sim_core(s), &t);
    assert_int_equal(n, 2);
    assert_int_equal(t[1].role, VT_ROLE_ASSISTANT);
    assert_false(t[1].interrupted);
    assert_non_null(strstr(t[1].text, "Photosynthesis is how plants make food from light. They"));
    assert_non_null(strstr(t[1].text, "It happens in the leaves."));
    assert_null(strstr(t[1].text + 1, "Photosynthesis"));
    spoken[strlen(spoken) - 3] = 0; /* without "..." */
    assert_true(strncmp(t[1].text, spoken, strlen(spoken)) == 0);
    vt_sim_free(s);
}

static void words_after_the_interruption_mean_no_resume(void **st)
{
    (void)st;
    vt_sim *s = run(ANSWERING(",{\"at\":5.0,\"text\":\"no i mean animals\",\"ms\":1400}",
                              "\"interrupt_mode\":\"speech\",\"resume_ms\":1500"));
    assert_int_equal(count(s, "interruption_detected"), 1);
    assert_int_equal(count(s, "processing_started"), 2);
    assert_string_equal(field(s, "processing_started", 1, "text"), "no i mean animals");
    const vt_sim_record *r;
    size_t k = vt_sim_records(s, &r);
    for (size_t i = 0; i < k; i++)
        assert_null(strstr(r[i].json, "resuming"));
    vt_sim_free(s);
    /* the key is never taken back */
    s = run("{\"config\":{\"resume_ms\":1500},\"user\":[{\"at\":0.5,\"text\":\"tell me about "
            "plants\",\"ms\":1500}],\"keys\":[5.0],\"brain\":{\"replies\":[{" LONG_ANSWER
            "}]},\"duration\":10}");
    assert_int_equal(count(s, "interruption_detected"), 1);
    assert_true(energy(s, 6.5, 10.0) == 0);
    vt_sim_free(s);
}

/* ---- think time (think_silence_ms) ----------------------------------------------- */

/* The tutor asks (a question, or not), then the learner answers from 4.0 s
 * with `answer` (user lines). */
#define ASKED(reply, answer, cfg)                                                            \
    "{\"config\":{\"filler_enabled\":false" cfg "},\"user\":[{\"at\":0.5,\"text\":"           \
    "\"give me a sum\",\"ms\":1000}" answer "],\"brain\":{\"replies\":[{\"text\":\"" reply  \
    "\",\"first_token_ms\":100},{\"text\":\"Right.\"}]},\"duration\":12}"
#define FIFTY_SIX ",{\"at\":4.0,\"text\":\"fifty\",\"ms\":500},{\"at\":5.7,\"text\":\"six\",\"ms\":400}"
#define UM_FIFTY_SIX                                                                         \
    ",{\"at\":4.0,\"text\":\"um\",\"ms\":400},{\"at\":7.0,\"text\":\"fifty six\",\"ms\":700}"

static void number_in_pieces_is_cut_without_think_time(void **st)
{
    (void)st;
    vt_sim *s = run(ASKED("What is seven times eight?", FIFTY_SIX, ""));
    assert_string_equal(field(s, "processing_started", 1, "text"), "fifty");
    vt_sim_free(s);
    s = run(ASKED("What is seven times eight?", UM_FIFTY_SIX, ""));
    assert_string_equal(field(s, "processing_started", 1, "text"), "um");
    vt_sim_free(s);
}

static void think_time_waits_for_the_rest_of_the_answer(void **st)
{
    (void)st;
    vt_sim *s = run(ASKED("What is seven times eight?", FIFTY_SIX, ",\"think_silence_ms\":3000"));
    assert_int_equal(count(s, "processing_started"), 2);
    assert_string_equal(field(s, "processing_started", 1, "text"), "fifty six");
    /* "six" is a complete answer: the short rule ends it */
    assert_true(fabs(t_of(s, "processing_started", 1) - (6.1 + 0.5)) < 0.05);
    vt_sim_free(s);
    s = run(ASKED("What is seven times eight?", UM_FIFTY_SIX, ",\"think_silence_ms\":3000"));
    assert_int_equal(count(s, "processing_started"), 2);
    assert_string_equal(field(s, "processing_started", 1, "text"), "um fifty six");
    vt_sim_free(s);
}

static void think_time_only_while_a_question_is_open(void **st)
{
    (void)st;
    /* no question asked: the seed's rule, "fifty" ends after half a second */
    vt_sim *s = run(ASKED("Here is one: seven times eight.", FIFTY_SIX,
                          ",\"think_silence_ms\":3000"));
    assert_string_equal(field(s, "processing_started", 1, "text"), "fifty");
    assert_true(fabs(t_of(s, "processing_started", 1) - 5.0) < 0.05);
    vt_sim_free(s);
    /* but a filler alone never ends a turn, question or not */
    s = run(ASKED("Here is one: seven times eight.", UM_FIFTY_SIX, ",\"think_silence_ms\":3000"));
    assert_string_equal(field(s, "processing_started", 1, "text"), "um fifty six");
    vt_sim_free(s);
}

/* ---- ducking (duck_db) ------------------------------------------------------------ */

/* Output level of a over b (the same scenario without ducking) in [t0, t1). */
static double level_ratio(const vt_sim *a, const vt_sim *b, double t0, double t1)
{
    double ea = energy(a, t0, t1), eb = energy(b, t0, t1);
    return eb > 0 ? ea / eb : -1;
}

static void ducking_lowers_the_tutor_over_a_backchannel_and_restores_it(void **st)
{
    (void)st;
    const char *off = ANSWERING(",{\"at\":5.0,\"text\":\"uh huh\",\"ms\":600}",
                                "\"interrupt_mode\":\"speech\"," BACKCH);
    const char *on = ANSWERING(",{\"at\":5.0,\"text\":\"uh huh\",\"ms\":600}",
                               "\"interrupt_mode\":\"speech\",\"duck_db\":-15," BACKCH);
    vt_sim *a = run(on), *b = run(off);
    assert_int_equal(count(a, "interruption_detected"), 0);
    assert_true(fabs(level_ratio(a, b, 4.0, 5.0) - 1.0) < 1e-9); /* untouched before */
    /* the first frame of speech (to 5.02) plus what the client holds (100 ms) */
    assert_true(fabs(level_ratio(a, b, 5.15, 5.8) - 0.178) < 0.01);  /* -15 dB */
    assert_true(fabs(level_ratio(a, b, 6.1, 9.0) - 1.0) < 1e-9);  /* back up after it */
    vt_sim_free(a);
    vt_sim_free(b);
}

static void ducking_before_an_interruption_and_off_by_default(void **st)
{
    (void)st;
#define USER ",{\"at\":5.0,\"text\":\"no i mean animals\",\"ms\":1400}"
    vt_sim *a = run(ANSWERING(USER, "\"interrupt_mode\":\"speech\",\"duck_db\":-15")),
           *b = run(ANSWERING(USER, "\"interrupt_mode\":\"speech\""));
#undef USER
    double ti = t_of(b, "interruption_detected", 0);
    assert_true(fabs(t_of(a, "interruption_detected", 0) - ti) < 1e-9); /* same decision */
    assert_true(ti > 5.2);
    assert_true(level_ratio(a, b, 5.13, ti) < 0.2);   /* quieter well before it stops */
    assert_true(energy(b, 5.13, ti) > 100);           /* off: full level until the stop */
    /* the acknowledgement is at full level */
    assert_true(fabs(level_ratio(a, b, ti + 0.05, ti + 0.6) - 1.0) < 1e-9);
    vt_sim_free(a);
    vt_sim_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(preempt_off_the_answer_starts_at_the_end_of_turn),
        cmocka_unit_test(preempt_first_audio_leaves_when_the_turn_ends),
        cmocka_unit_test(preempt_restarts_when_the_person_goes_on),
        cmocka_unit_test(backchannel_interrupts_without_the_filter),
        cmocka_unit_test(backchannels_do_not_interrupt_with_the_filter),
        cmocka_unit_test(real_interruption_still_interrupts_with_the_filter),
        cmocka_unit_test(minimum_words_for_speech_but_not_for_commands_or_keys),
        cmocka_unit_test(cough_leaves_the_tutor_silent_without_resume),
        cmocka_unit_test(cough_resumes_from_the_word_it_cut),
        cmocka_unit_test(words_after_the_interruption_mean_no_resume),
        cmocka_unit_test(number_in_pieces_is_cut_without_think_time),
        cmocka_unit_test(think_time_waits_for_the_rest_of_the_answer),
        cmocka_unit_test(think_time_only_while_a_question_is_open),
        cmocka_unit_test(ducking_lowers_the_tutor_over_a_backchannel_and_restores_it),
        cmocka_unit_test(ducking_before_an_interruption_and_off_by_default),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
