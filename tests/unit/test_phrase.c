/* Unit tests: LLM tokens to TTS phrases (seed 004's phrase buffer). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include "core/internal.h"

static phrase_buf pb;

static int setup(void **st)
{
    (void)st;
    vt_config cfg;
    vt_config_default(&cfg); /* first 12, later 40, max 200 */
    vt__phrase_init(&pb, &cfg);
    return 0;
}

static int teardown(void **st)
{
    (void)st;
    vt__phrase_free(&pb);
    return 0;
}

static void push_words(const char *text)
{
    /* stream word by word as an LLM would */
    const char *p = text;
    while (*p) {
        const char *e = strchr(p + 1, ' ');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        char tok[64];
        memcpy(tok, p, l);
        tok[l] = 0;
        vt__phrase_push(&pb, tok);
        p += l;
    }
}

static void first_phrase_at_clause(void **st)
{
    (void)st;
    push_words("Well, seven times eight is fifty six, because");
    char *a = vt__phrase_next(&pb, false);
    /* "Well," is shorter than 12 characters: the first cut is the next comma */
    assert_non_null(a);
    assert_string_equal(a, "Well, seven times eight is fifty six,");
    free(a);
    assert_null(vt__phrase_next(&pb, false)); /* later phrases wait for a sentence end */
    push_words(" seven eights are fifty six. Good.");
    assert_null(vt__phrase_next(&pb, false)); /* "Good." has no space after yet */
    char *b = vt__phrase_next(&pb, true);
    assert_string_equal(b, "because seven eights are fifty six. Good.");
    free(b);
    assert_null(vt__phrase_next(&pb, true));
}

static void sentence_end_always_ends_the_first(void **st)
{
    (void)st;
    push_words("Yes. That is right, and");
    char *a = vt__phrase_next(&pb, false);
    assert_string_equal(a, "Yes.");
    free(a);
    assert_null(vt__phrase_next(&pb, false));
}

static void decimals_are_not_boundaries(void **st)
{
    (void)st;
    vt__phrase_push(&pb, "Pi is about 3.");
    assert_null(vt__phrase_next(&pb, false)); /* nothing after the dot yet */
    vt__phrase_push(&pb, "14 and e is about 2.7 okay");
    assert_null(vt__phrase_next(&pb, false));
    char *a = vt__phrase_next(&pb, true);
    assert_string_equal(a, "Pi is about 3.14 and e is about 2.7 okay");
    free(a);
}

static void never_longer_than_max(void **st)
{
    (void)st;
    char big[1200] = "";
    for (int i = 0; i < 100; i++)
        strcat(big, "word ");
    vt__phrase_push(&pb, big);
    size_t total = 0;
    char *a;
    while ((a = vt__phrase_next(&pb, true)) != NULL) {
        assert_true(strlen(a) <= 200);
        assert_true(strlen(a) > 0);
        total += strlen(a) + 1;
        free(a);
    }
    assert_int_equal(total, 500);
}

static void later_phrases_at_sentence_ends(void **st)
{
    (void)st;
    push_words("Sure. Photosynthesis turns light into sugar. Plants use it to grow, "
               "and they release oxygen. ");
    char *a = vt__phrase_next(&pb, false), *b = vt__phrase_next(&pb, false);
    assert_string_equal(a, "Sure.");
    /* a sentence shorter than phrase_min_chars joins the next one */
    assert_string_equal(b, "Photosynthesis turns light into sugar. Plants use it to grow, "
                           "and they release oxygen.");
    assert_null(vt__phrase_next(&pb, false));
    free(a);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(first_phrase_at_clause, setup, teardown),
        cmocka_unit_test_setup_teardown(sentence_end_always_ends_the_first, setup, teardown),
        cmocka_unit_test_setup_teardown(decimals_are_not_boundaries, setup, teardown),
        cmocka_unit_test_setup_teardown(never_longer_than_max, setup, teardown),
        cmocka_unit_test_setup_teardown(later_phrases_at_sentence_ends, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
