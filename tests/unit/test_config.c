/* Unit tests: configuration defaults, range checks and the JSON form. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include "voicetutor/core.h"
#include "protocol/config_json.h"

static void defaults_follow_the_seeds(void **st)
{
    (void)st;
    vt_config c;
    vt_config_default(&c);
    char err[256] = "";
    assert_int_equal(vt_config_validate(&c, err, sizeof err), 0);
    assert_int_equal(c.complete_silence_ms, 500);
    assert_int_equal(c.incomplete_silence_ms, 2000);
    assert_true(c.interrupt_threshold == 1.5);
    assert_int_equal(c.interrupt_cooldown_ms, 1000);
    assert_int_equal(c.interrupt_enabled, 1);
    assert_int_equal(c.interrupt_mode, VT_MODE_BOTH);
    assert_int_equal(c.pacer_lead_ms, 100);
    assert_true(vt_find_command(&c, "stop") >= 0 && vt_find_command(&c, "wait") >= 0);
}

static void out_of_range_is_refused_with_a_message(void **st)
{
    (void)st;
    vt_config c;
    char err[256];
    vt_config_default(&c);
    c.interrupt_threshold = 3.5;
    assert_int_equal(vt_config_validate(&c, err, sizeof err), VT_EINVAL);
    assert_non_null(strstr(err, "interrupt_threshold"));
    assert_non_null(strstr(err, "0.5 to 3"));
    vt_config_default(&c);
    c.interrupt_cooldown_ms = 50;
    assert_int_equal(vt_config_validate(&c, err, sizeof err), VT_EINVAL);
    assert_non_null(strstr(err, "interrupt_cooldown_ms"));
    vt_config_default(&c);
    c.incomplete_silence_ms = 300;
    assert_int_equal(vt_config_validate(&c, err, sizeof err), VT_EINVAL);
    assert_non_null(strstr(err, "complete_silence_ms"));
    vt_config_default(&c);
    c.vad_frame_ms = 15;
    assert_int_equal(vt_config_validate(&c, err, sizeof err), VT_EINVAL);
    vt_config_default(&c);
    c.interrupt_mode = (vt_interrupt_mode)7;
    assert_int_equal(vt_config_validate(&c, err, sizeof err), VT_EINVAL);
    assert_int_equal(vt_config_validate(NULL, err, sizeof err), VT_EINVAL);
    assert_int_equal(vt_config_validate(&c, NULL, 0), VT_EINVAL); /* no buffer: no crash */
    /* the core refuses a bad config too, without aborting */
    vt_core *core = (vt_core *)1;
    assert_int_equal(vt_core_create(&c, NULL, NULL, &core, err, sizeof err), VT_EINVAL);
}

static void one_range_table(void **st)
{
    (void)st;
    const vt_range *r = vt_range_find("interrupt_threshold");
    assert_non_null(r);
    assert_true(r->min == 0.5 && r->max == 3.0);
    r = vt_range_find("interrupt_cooldown_ms");
    assert_non_null(r);
    assert_true(r->min == 100 && r->max == 5000);
    assert_null(vt_range_find("no_such_field"));
    assert_null(vt_range_find(NULL));
    /* every entry is enforced: one past each bound is refused by validate */
    size_t n = 0;
    for (const vt_range *e = vt_ranges; e->name; e++)
        n++;
    assert_true(n >= 20);
    vt_config c;
    char err[256];
    vt_config_default(&c);
    c.interrupt_threshold = vt_range_find("interrupt_threshold")->max + 0.01;
    assert_int_equal(vt_config_validate(&c, err, sizeof err), VT_EINVAL);
    vt_config_default(&c);
    c.tts_lookahead_ms = (int)vt_range_find("tts_lookahead_ms")->min - 1;
    assert_int_equal(vt_config_validate(&c, err, sizeof err), VT_EINVAL);
    assert_non_null(strstr(err, "tts_lookahead_ms"));
}

/* Issue 15's settings: every one off by default, range-checked, set from JSON. */
static void turn_taking_settings(void **st)
{
    (void)st;
    vt_config c;
    char err[256] = "";
    vt_config_default(&c);
    assert_int_equal(c.preempt_ms, 0);
    assert_int_equal(c.resume_ms, 0);
    assert_int_equal(c.n_backchannels, 0);
    assert_int_equal(c.interrupt_min_words, 0);
    assert_true(c.duck_db == 0);
    assert_int_equal(c.think_silence_ms, 0);
    cJSON *o = cJSON_Parse("{\"preempt_ms\":150,\"resume_ms\":1500,\"backchannels\":"
                           "[\"uh huh\",\"Mhm\",\"I see\"],\"interrupt_min_words\":2,"
                           "\"duck_db\":-15,\"duck_ramp_ms\":10,\"think_silence_ms\":3000}");
    assert_int_equal(vt_config_apply_json(&c, o, err, sizeof err), 0);
    cJSON_Delete(o);
    assert_int_equal(c.n_backchannels, 3);
    assert_string_equal(c.backchannels[1], "mhm");
    assert_string_equal(c.backchannels[2], "i see");
    assert_int_equal(vt_config_set_backchannels(&c, VT_BACKCHANNELS_SUGGESTED, err, sizeof err), 0);
    assert_true(c.n_backchannels > 10);
    const char *bad[][2] = {
        {"{\"preempt_ms\":20}", "preempt_ms"},
        {"{\"resume_ms\":100}", "resume_ms"},
        {"{\"interrupt_min_words\":21}", "interrupt_min_words"},
        {"{\"duck_db\":6}", "duck_db"},
        {"{\"duck_ramp_ms\":0}", "duck_ramp_ms"},
        {"{\"think_silence_ms\":1000}", "think_silence_ms"},
        {"{\"backchannels\":[1]}", "backchannels"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        vt_config_default(&c);
        o = cJSON_Parse(bad[i][0]);
        assert_int_not_equal(vt_config_apply_json(&c, o, err, sizeof err), 0);
        cJSON_Delete(o);
        if (!strstr(err, bad[i][1]))
            fail_msg("case %zu: '%s' lacks '%s'", i, err, bad[i][1]);
    }
}

static void json_overrides(void **st)
{
    (void)st;
    vt_config c;
    vt_config_default(&c);
    char err[256] = "";
    cJSON *o = cJSON_Parse("{\"interrupt_threshold\":2.0,\"interrupt_mode\":\"commands\","
                           "\"commands\":[\"stop\",\"enough\"],\"filler_enabled\":false,"
                           "\"character\":\"adina\"}");
    assert_int_equal(vt_config_apply_json(&c, o, err, sizeof err), 0);
    assert_true(c.interrupt_threshold == 2.0);
    assert_int_equal(c.interrupt_mode, VT_MODE_COMMANDS);
    assert_int_equal(c.n_commands, 2);
    assert_int_equal(c.filler_enabled, 0);
    assert_string_equal(c.character, "adina");
    cJSON_Delete(o);

    const char *bad[][2] = {
        {"{\"nope\":1}", "unknown key \"nope\""},
        {"{\"out_rate\":\"fast\"}", "out_rate: must be a whole number"},
        {"{\"interrupt_threshold\":9}", "interrupt_threshold"},
        {"{\"interrupt_mode\":\"loud\"}", "interrupt_mode"},
        {"{\"commands\":[1,2]}", "commands"},
        {"{\"min_speech_ms\":2.5}", "whole number"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        vt_config_default(&c);
        o = cJSON_Parse(bad[i][0]);
        assert_non_null(o);
        assert_int_not_equal(vt_config_apply_json(&c, o, err, sizeof err), 0);
        assert_non_null(strstr(err, bad[i][1]));
        cJSON_Delete(o);
    }
}

static void names(void **st)
{
    (void)st;
    vt_interrupt_mode m;
    assert_int_equal(vt_mode_parse("speech", &m), 0);
    assert_int_equal(m, VT_MODE_SPEECH);
    assert_int_equal(vt_mode_parse("Speech!", &m), VT_EINVAL);
    assert_string_equal(vt_state_name(VT_STATE_RESPONDING), "RESPONDING");
    assert_string_equal(vt_strerror(VT_ESTALE), "stale generation");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults_follow_the_seeds),
        cmocka_unit_test(out_of_range_is_refused_with_a_message),
        cmocka_unit_test(one_range_table),
        cmocka_unit_test(json_overrides),
        cmocka_unit_test(turn_taking_settings),
        cmocka_unit_test(names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
