/*
 * Unit tests of the brain's pure parts: answer normalisation and number
 * words, the incremental SSE parser (every split point, CRLF, comments,
 * oversize lines), streamed-chunk interpretation, the history the model is
 * sent (seed 004: only what was said, "..." where cut, the interruption
 * note), and parsing the judge's and filler's answers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "llm_prompt.h"
#include "sse.h"
#include "text.h"
#include "voicetutor/core.h"

static void norm_is(const char *in, const char *want)
{
    char out[256];
    vt__text_normalize(in, out, sizeof out);
    if (strcmp(out, want) != 0)
        fail_msg("normalize('%s') = '%s', want '%s'", in, out, want);
}

static void test_normalize_numbers(void **state)
{
    (void)state;
    norm_is("Forty two", "42");
    norm_is("forty-two!", "42");
    norm_is("  FORTY   two. ", "42");
    norm_is("twelve", "12");
    norm_is("It's 42.", "its 42");
    norm_is("one hundred and five", "105");
    norm_is("a hundred", "100");
    norm_is("two thousand and six", "2006");
    norm_is("nineteen eighty nine", "19 89");
    norm_is("nineteen hundred", "1900");
    norm_is("six times seven is forty two", "6 times 7 is 42");
    norm_is("one two three", "1 2 3");
    norm_is("zero", "0");
    norm_is("twenty one thousand three hundred", "21300");
    norm_is("I don\xE2\x80\x99t know", "i dont know");
    norm_is("rock and roll", "rock and roll");
    norm_is("hundred", "hundred");
    norm_is("", "");
    norm_is("Paris, France?", "paris france");
    char out[64];
    vt__text_normalize_words("Forty-Two!", out, sizeof out);
    assert_string_equal(out, "forty two");
    /* a tiny buffer truncates at a word boundary */
    char small[8];
    vt__text_normalize("hello wonderful world", small, sizeof small);
    assert_string_equal(small, "hello");
}

static void test_number_words(void **state)
{
    (void)state;
    char out[96];
    struct {
        long v;
        const char *w;
    } cases[] = {{0, "zero"},          {7, "seven"},       {12, "twelve"},
                 {40, "forty"},        {42, "forty two"},  {100, "one hundred"},
                 {105, "one hundred five"}, {2006, "two thousand six"},
                 {999999, "nine hundred ninety nine thousand nine hundred ninety nine"}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        assert_true(vt__number_words(cases[i].v, out, sizeof out) > 0);
        assert_string_equal(out, cases[i].w);
        /* and back again */
        char back[32], want[32];
        vt__text_normalize(out, back, sizeof back);
        snprintf(want, sizeof want, "%ld", cases[i].v);
        assert_string_equal(back, want);
    }
    assert_int_equal(vt__number_words(-1, out, sizeof out), 0);
    assert_int_equal(vt__number_words(1000000, out, sizeof out), 0);
    assert_int_equal(vt__number_words(42, out, 4), 0);
}

static void test_phrases(void **state)
{
    (void)state;
    assert_true(vt__text_has_phrase("i think its paris", "paris"));
    assert_false(vt__text_has_phrase("i think its parisian", "paris"));
    assert_true(vt__text_has_phrase("carbon dioxide", "carbon dioxide"));
    assert_true(vt__text_is_prefix("forty", "forty two"));
    assert_false(vt__text_is_prefix("forty two", "forty two"));
    assert_false(vt__text_is_prefix("fort", "forty two"));
    assert_int_equal(vt__text_last_number("6 times 7 is 42"), 42);
    assert_int_equal(vt__text_last_number("no numbers"), -1);
    assert_int_equal(vt__text_words("a b  c"), 3);
}

/* ---- SSE -------------------------------------------------------------- */
typedef struct events {
    char got[16][256];
    int n;
} events;

static int collect(void *ud, const char *data, size_t len)
{
    events *e = ud;
    if (e->n < 16)
        snprintf(e->got[e->n++], 256, "%.*s", (int)len, data);
    return 0;
}

static void test_sse_every_split(void **state)
{
    (void)state;
    const char *stream = ": comment\r\n\r\ndata: one\r\n\r\ndata:two\n\ndata: a\ndata: b\r\r"
                         "event: x\nid: 3\nretry: 10\ndata: [DONE]\n\n";
    size_t n = strlen(stream);
    for (size_t cut1 = 0; cut1 <= n; cut1++)
        for (size_t cut2 = cut1; cut2 <= n; cut2 += 7) {
            events e = {0};
            vt_sse s;
            vt__sse_init(&s, 1024, collect, &e);
            assert_int_equal(vt__sse_feed(&s, stream, cut1), 0);
            assert_int_equal(vt__sse_feed(&s, stream + cut1, cut2 - cut1), 0);
            assert_int_equal(vt__sse_feed(&s, stream + cut2, n - cut2), 0);
            assert_int_equal(vt__sse_finish(&s), 0);
            vt__sse_free(&s);
            assert_int_equal(e.n, 4);
            assert_string_equal(e.got[0], "one");
            assert_string_equal(e.got[1], "two");
            assert_string_equal(e.got[2], "a\nb");
            assert_string_equal(e.got[3], "[DONE]");
        }
}

static void test_sse_limits_and_eof(void **state)
{
    (void)state;
    events e = {0};
    vt_sse s;
    vt__sse_init(&s, 32, collect, &e);
    char big[100];
    memset(big, 'x', sizeof big);
    assert_int_equal(vt__sse_feed(&s, "data: ", 6), 0);
    assert_int_equal(vt__sse_feed(&s, big, sizeof big), VT_EFORMAT);
    assert_int_equal(vt__sse_feed(&s, "\n\n", 2), VT_EFORMAT); /* sticky */
    vt__sse_free(&s);

    /* a last event without its blank line is still delivered at EOF */
    memset(&e, 0, sizeof e);
    vt__sse_init(&s, 0, collect, &e);
    assert_int_equal(vt__sse_feed(&s, "data: last", 10), 0);
    assert_int_equal(e.n, 0);
    assert_int_equal(vt__sse_finish(&s), 0);
    assert_int_equal(e.n, 1);
    assert_string_equal(e.got[0], "last");
    vt__sse_free(&s);
}

/* ---- streamed chunks -------------------------------------------------- */
typedef struct toks {
    char text[512];
    int n;
    int stop_after;
} toks;

static int on_tok(void *ud, const char *t)
{
    toks *k = ud;
    strncat(k->text, t, sizeof k->text - strlen(k->text) - 1);
    k->n++;
    return k->stop_after && k->n >= k->stop_after;
}

static int feed_event(vt_oai_stream *st, const char *json)
{
    return vt__oai_on_event(st, json, strlen(json));
}

static void test_oai_events(void **state)
{
    (void)state;
    toks k = {{0}, 0, 0};
    volatile int abort_flag = 0;
    vt_oai_stream st = {.on_token = on_tok, .ud = &k, .abort = &abort_flag};
    assert_int_equal(feed_event(&st, "{\"choices\":[{\"delta\":{\"role\":\"assistant\"}}]}"), 0);
    assert_int_equal(feed_event(&st, "{\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}"), 0);
    assert_int_equal(feed_event(&st, "{\"choices\":[{\"delta\":{\"content\":null}}]}"), 0);
    assert_int_equal(feed_event(&st, "{\"usage\":{\"total_tokens\":3}}"), 0); /* no choices */
    assert_int_equal(feed_event(&st, "{\"choices\":[]}"), 0);
    assert_int_equal(feed_event(&st, "{\"choices\":[{\"text\":\" there\"}]}"), 0);
    assert_false(st.finished);
    assert_int_equal(
        feed_event(&st, "{\"choices\":[{\"delta\":{\"content\":\"!\"},\"finish_reason\":\"stop\"}]}"),
        0);
    assert_true(st.finished);
    assert_int_equal(feed_event(&st, "[DONE]"), 0);
    assert_true(st.done);
    assert_string_equal(k.text, "Hi there!");
    assert_int_equal(feed_event(&st, "{garbage after done is ignored"), 0);

    vt_oai_stream bad = {.on_token = on_tok, .ud = &k};
    assert_int_equal(feed_event(&bad, "{not json"), VT_EFORMAT);
    assert_non_null(strstr(bad.err, "malformed"));
    assert_int_equal(feed_event(&bad, "[1,2]"), VT_EFORMAT);
    assert_int_equal(feed_event(&bad, "{\"error\":{\"message\":\"overloaded\"}}"), VT_EIO);
    assert_non_null(strstr(bad.err, "overloaded"));

    /* the abort flag stops tokens before they are handed on */
    toks k2 = {{0}, 0, 0};
    vt_oai_stream ab = {.on_token = on_tok, .ud = &k2, .abort = &abort_flag};
    abort_flag = 1;
    assert_int_equal(feed_event(&ab, "{\"choices\":[{\"delta\":{\"content\":\"late\"}}]}"),
                     VT_ECANCELED);
    assert_int_equal(k2.n, 0);
    /* and so does on_token asking to stop */
    toks k3 = {{0}, 0, 1};
    vt_oai_stream st3 = {.on_token = on_tok, .ud = &k3};
    assert_int_equal(feed_event(&st3, "{\"choices\":[{\"delta\":{\"content\":\"a\"}}]}"),
                     VT_ECANCELED);
}

/* ---- what the model is sent -------------------------------------------- */
static cJSON *messages_of(const char *body, cJSON **root)
{
    *root = cJSON_Parse(body);
    assert_non_null(*root);
    cJSON *m = cJSON_GetObjectItem(*root, "messages");
    assert_true(cJSON_IsArray(m));
    return m;
}

static const char *msg_field(cJSON *msgs, int i, const char *f)
{
    cJSON *m = cJSON_GetArrayItem(msgs, i);
    assert_non_null(m);
    return cJSON_GetStringValue(cJSON_GetObjectItem(m, f));
}

static void test_history_rules(void **state)
{
    (void)state;
    vt_turn h[] = {
        {VT_ROLE_USER, "what is photosynthesis", NULL, 0},
        {VT_ROLE_ASSISTANT, "Photosynthesis is how plants make", "food from sunlight.", 1},
        {VT_ROLE_NOTE, "the person interrupted", NULL, 0},
        {VT_ROLE_USER, "wait, what do they need", NULL, 0},
        {VT_ROLE_ASSISTANT, "Light, water and air...", "And also warmth.", 1},
        {VT_ROLE_NOTE, "the person interrupted", NULL, 0},
        {VT_ROLE_USER, "ok", NULL, 0},
        {VT_ROLE_USER, "and then?", NULL, 0},
    };
    char *body = vt__llm_reply_body("m1", "You are a tutor.", h, 8, 40, 100, 0.5);
    assert_non_null(body);
    assert_null(strstr(body, "food from sunlight")); /* the unspoken rest is never sent */
    assert_null(strstr(body, "warmth"));
    cJSON *root;
    cJSON *msgs = messages_of(body, &root);
    assert_int_equal(cJSON_GetArraySize(msgs), 6);
    assert_string_equal(msg_field(msgs, 0, "role"), "system");
    assert_string_equal(msg_field(msgs, 0, "content"), "You are a tutor.");
    assert_string_equal(msg_field(msgs, 1, "role"), "user");
    assert_string_equal(msg_field(msgs, 2, "role"), "assistant");
    assert_string_equal(msg_field(msgs, 2, "content"), "Photosynthesis is how plants make...");
    assert_string_equal(msg_field(msgs, 3, "role"), "user");
    assert_string_equal(msg_field(msgs, 3, "content"),
                        "[the person interrupted] wait, what do they need");
    assert_string_equal(msg_field(msgs, 4, "content"), "Light, water and air...");
    assert_string_equal(msg_field(msgs, 5, "content"), "[the person interrupted] ok\nand then?");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(root, "stream")));
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(root, "model")), "m1");
    cJSON_Delete(root);
    free(body);

    /* a window of the last turns starts with the person; cut before a word */
    vt_turn h2[] = {
        {VT_ROLE_USER, "one", NULL, 0},
        {VT_ROLE_ASSISTANT, "reply one", NULL, 0},
        {VT_ROLE_USER, "two", NULL, 0},
        {VT_ROLE_ASSISTANT, "", "all of it", 1},
        {VT_ROLE_NOTE, "the person interrupted", NULL, 0},
    };
    body = vt__llm_reply_body("m", NULL, h2, 5, 4, 0, -1);
    msgs = messages_of(body, &root);
    assert_int_equal(cJSON_GetArraySize(msgs), 3);
    assert_string_equal(msg_field(msgs, 0, "content"), "two");
    assert_string_equal(msg_field(msgs, 1, "content"), "...");
    assert_string_equal(msg_field(msgs, 2, "role"), "user");
    assert_string_equal(msg_field(msgs, 2, "content"), "[the person interrupted]");
    assert_null(cJSON_GetObjectItem(root, "max_tokens"));
    cJSON_Delete(root);
    free(body);
}

static void test_judge_and_filler_parsing(void **state)
{
    (void)state;
    assert_int_equal(vt__llm_parse_judge("true"), 1);
    assert_int_equal(vt__llm_parse_judge(" False."), 0);
    assert_int_equal(vt__llm_parse_judge("{\"complete\": true}"), 1);
    assert_int_equal(vt__llm_parse_judge("Incomplete"), 0);
    assert_int_equal(vt__llm_parse_judge("No, it is not"), 0);
    assert_int_equal(vt__llm_parse_judge("maybe"), VT_EFORMAT);
    assert_int_equal(vt__llm_parse_judge(""), VT_EFORMAT);
    assert_int_equal(vt__llm_parse_filler("2", 4), 2);
    assert_int_equal(vt__llm_parse_filler("I pick number 3.", 4), 3);
    assert_int_equal(vt__llm_parse_filler("two", 4), 2);
    assert_int_equal(vt__llm_parse_filler("7", 4), VT_EFORMAT);
    assert_int_equal(vt__llm_parse_filler("none", 4), VT_EFORMAT);

    vt_filler_desc f[] = {{"Hmm, let me think.", "thinking"}, {"Great!", "praise"}};
    char *body = vt__llm_filler_body("m", "is it paris", f, 2);
    assert_non_null(strstr(body, "0: \\\"Hmm, let me think.\\\" (thinking)"));
    assert_non_null(strstr(body, "1: \\\"Great!\\\" (praise)"));
    assert_non_null(strstr(body, "\"stream\":false"));
    free(body);
    body = vt__llm_judge_body("m", "i want to");
    assert_non_null(strstr(body, "true if the sentence is complete"));
    free(body);

    char out[64], err[128];
    const char *ok = "{\"choices\":[{\"message\":{\"content\":\"true\"}}]}";
    assert_int_equal(vt__llm_message_content(ok, strlen(ok), out, sizeof out, err, sizeof err), 0);
    assert_string_equal(out, "true");
    assert_int_equal(vt__llm_message_content("{}", 2, out, sizeof out, err, sizeof err),
                     VT_EFORMAT);
    assert_int_equal(vt__llm_message_content("nope", 4, out, sizeof out, err, sizeof err),
                     VT_EFORMAT);
    const char *e = "{\"error\":{\"message\":\"bad key\"}}";
    vt__llm_error_message(e, strlen(e), out, sizeof out);
    assert_string_equal(out, "bad key");
    vt__llm_error_message("plain\ntext", 10, out, sizeof out);
    assert_string_equal(out, "plain text");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normalize_numbers), cmocka_unit_test(test_number_words),
        cmocka_unit_test(test_phrases),           cmocka_unit_test(test_sse_every_split),
        cmocka_unit_test(test_sse_limits_and_eof), cmocka_unit_test(test_oai_events),
        cmocka_unit_test(test_history_rules),     cmocka_unit_test(test_judge_and_filler_parsing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
