/*
 * UTF-8 for the wire (src/protocol/utf8.h): what is valid (RFC 3629),
 * cutting at character boundaries, and repair with U+FFFD.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "protocol/utf8.h"

static void test_valid(void **state)
{
    (void)state;
    const char *good[] = {"", "ping", "日本語", "مرحبا", "👋🌍", "\xc2\x80", "\xef\xbf\xbf",
                          "\xf4\x8f\xbf\xbf"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        assert_true(vt_utf8_valid(good[i], strlen(good[i])));
    const char *bad[] = {"\xff", "\xfe", "\x80", "\xc0\xaf", "\xc1\xbf", "\xe0\x80\xaf",
                         "\xed\xa0\x80", "\xf0\x80\x80\xaf", "\xf4\x90\x80\x80", "\xf5\x80\x80\x80",
                         "\xe6\x97", "a\xe6", "\xc3(", "\xf0\x9f\x91"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_false(vt_utf8_valid(bad[i], strlen(bad[i])));
}

static void test_cut(void **state)
{
    (void)state;
    const char *s = "ab日本"; /* 2 + 3 + 3 bytes */
    assert_int_equal(vt_utf8_cut(s, 100), 8);
    assert_int_equal(vt_utf8_cut(s, 8), 8);
    assert_int_equal(vt_utf8_cut(s, 7), 5);
    assert_int_equal(vt_utf8_cut(s, 5), 5);
    assert_int_equal(vt_utf8_cut(s, 4), 2);
    assert_int_equal(vt_utf8_cut(s, 2), 2);
    assert_int_equal(vt_utf8_cut(s, 0), 0);
    assert_int_equal(vt_utf8_cut("👋", 3), 0);
    for (size_t m = 0; m <= 8; m++)
        assert_true(vt_utf8_valid(s, vt_utf8_cut(s, m)));
}

static void test_repair(void **state)
{
    (void)state;
    size_t n = 0;
    char *r = vt_utf8_repair("ok \xe6\x97\"}", 7, &n);
    assert_non_null(r);
    assert_string_equal(r, "ok \xef\xbf\xbd\xef\xbf\xbd\"}");
    assert_int_equal(n, strlen(r));
    assert_true(vt_utf8_valid(r, n));
    free(r);
    r = vt_utf8_repair("日本語", strlen("日本語"), &n);
    assert_string_equal(r, "日本語");
    free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_cut),
        cmocka_unit_test(test_repair),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
