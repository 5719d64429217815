/* Unit tests: the completeness heuristic, command matching and stripping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include "voicetutor/core.h"
#include "core/internal.h"

static void judge_complete_and_incomplete(void **st)
{
    (void)st;
    assert_int_equal(vt_judge_heuristic("what is the capital of france"), 1);
    assert_int_equal(vt_judge_heuristic("I think the answer is forty two"), 1);
    assert_int_equal(vt_judge_heuristic("what is the capital of"), 0);
    assert_int_equal(vt_judge_heuristic("I want to know about the"), 0);
    assert_int_equal(vt_judge_heuristic("tell me about cats and"), 0);
    assert_int_equal(vt_judge_heuristic("so the answer is um"), 0);
    assert_int_equal(vt_judge_heuristic("it was because"), 0);
    assert_int_equal(vt_judge_heuristic("Paris, "), 0);
    assert_int_equal(vt_judge_heuristic("well..."), 0);
    assert_int_equal(vt_judge_heuristic(""), 0);
    assert_int_equal(vt_judge_heuristic("   "), 0);
    assert_int_equal(vt_judge_heuristic(NULL), 0);
    assert_int_equal(vt_judge_heuristic("The Answer Is An"), 0);
    assert_int_equal(vt_judge_heuristic("thank you."), 1);
}

/* Issue 12: the judge with the lesson's context */
static void judge_with_expected_answers(void **st)
{
    (void)st;
    const char *ans[] = {"fifty six", "Paris"};
    assert_int_equal(vt_judge_heuristic_expected("fifty six a", ans, 2), 1);
    assert_int_equal(vt_judge_heuristic_expected("I think it's paris and", ans, 2), 1);
    assert_int_equal(vt_judge_heuristic_expected("fifty", ans, 2), 1); /* the heuristic's */
    assert_int_equal(vt_judge_heuristic_expected("fifty sixty the", ans, 2), 0);
    assert_int_equal(vt_judge_heuristic_expected("what is seven times a", ans, 2), 0);
    assert_int_equal(vt_judge_heuristic_expected("what is seven times a", NULL, 0), 0);
}

static void find_commands(void **st)
{
    (void)st;
    vt_config cfg;
    vt_config_default(&cfg);
    assert_true(vt_find_command(&cfg, "stop") >= 0);
    assert_true(vt_find_command(&cfg, "Stop!") >= 0);
    assert_true(vt_find_command(&cfg, "please wait a second") >= 0);
    assert_true(vt_find_command(&cfg, "hold on") >= 0);
    assert_int_equal(vt_find_command(&cfg, "the bus stops here"), -1);
    assert_int_equal(vt_find_command(&cfg, "hold the door"), -1);
    assert_int_equal(vt_find_command(&cfg, "what is the capital of france"), -1);
    assert_int_equal(vt_find_command(&cfg, ""), -1);
    assert_int_equal(vt_find_command(NULL, "stop"), -1);
}

static void strip_leading_command(void **st)
{
    (void)st;
    vt_config cfg;
    vt_config_default(&cfg);
    char out[128];
    vt_strip_command(&cfg, "stop what about germany", out, sizeof out);
    assert_string_equal(out, "what about germany");
    vt_strip_command(&cfg, "Stop, stop. Hold on, what is seven times eight", out, sizeof out);
    assert_string_equal(out, "what is seven times eight");
    vt_strip_command(&cfg, "stop", out, sizeof out);
    assert_string_equal(out, "");
    vt_strip_command(&cfg, "what is the stop", out, sizeof out);
    assert_string_equal(out, "what is the stop");
    vt_strip_command(&cfg, "stopwatch please", out, sizeof out);
    assert_string_equal(out, "stopwatch please");
    assert_int_equal(vt_strip_command(&cfg, "stop x", out, 3), 1);
    assert_string_equal(out, "x");
}

static void command_list_config(void **st)
{
    (void)st;
    vt_config cfg;
    vt_config_default(&cfg);
    char err[128];
    assert_int_equal(vt_config_set_commands(&cfg, " Enough , Quiet please,", err, sizeof err), 0);
    assert_int_equal(cfg.n_commands, 2);
    assert_string_equal(cfg.commands[0], "enough");
    assert_string_equal(cfg.commands[1], "quiet please");
    assert_true(vt_find_command(&cfg, "okay enough") >= 0);
    assert_int_equal(vt_find_command(&cfg, "stop"), -1);
    assert_int_equal(vt_config_set_commands(&cfg,
                     "a-very-long-command-word-that-never-ends-here", err, sizeof err),
                     VT_EINVAL);
    assert_non_null(strstr(err, "too long"));
    assert_int_equal(cfg.n_commands, 2); /* unchanged on error */
}

/* Issue 11: what is only noise never becomes a turn. */
static void noise_only_texts(void **st)
{
    (void)st;
    assert_true(vt__text_only_noise("", false));
    assert_true(vt__text_only_noise("[NOISE]", false));
    assert_true(vt__text_only_noise("<sil> ++BREATH++ (coughs) *door slams* ...", false));
    assert_false(vt__text_only_noise("[NOISE] stop", false));
    assert_false(vt__text_only_noise("ah", false));
    assert_true(vt__text_only_noise("ah", true));
    assert_true(vt__text_only_noise("um, uh [noise]", true));
    assert_false(vt__text_only_noise("um fifty", true));
    assert_false(vt__text_only_noise("I think (maybe", false)); /* never closed */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(noise_only_texts),
        cmocka_unit_test(judge_complete_and_incomplete),
        cmocka_unit_test(judge_with_expected_answers),
        cmocka_unit_test(find_commands),
        cmocka_unit_test(strip_leading_command),
        cmocka_unit_test(command_list_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
