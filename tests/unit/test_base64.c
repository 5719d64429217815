/*
 * Base64: RFC 4648 test vectors, round trips of every length, and the
 * strict decoder refusing what a bad client might send.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "util/base64.h"

static void test_vectors(void **state)
{
    (void)state;
    const char *in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    const char *out[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    for (int i = 0; i < 7; i++) {
        char buf[32];
        uint8_t dec[32];
        long n = vt_base64_encode((const uint8_t *)in[i], strlen(in[i]), buf, sizeof buf);
        assert_int_equal(n, (long)strlen(out[i]));
        assert_string_equal(buf, out[i]);
        long d = vt_base64_decode(out[i], strlen(out[i]), dec, sizeof dec);
        assert_int_equal(d, (long)strlen(in[i]));
        assert_memory_equal(dec, in[i], (size_t)d);
    }
}

static void test_round_trip(void **state)
{
    (void)state;
    uint8_t data[300], back[300];
    char enc[420];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 37 + 11);
    for (size_t n = 0; n <= sizeof data; n++) {
        long e = vt_base64_encode(data, n, enc, sizeof enc);
        assert_int_equal(e, (long)vt_base64_len(n));
        long d = vt_base64_decode(enc, (size_t)e, back, sizeof back);
        assert_int_equal(d, (long)n);
        assert_memory_equal(back, data, n);
    }
}

static void test_refuses(void **state)
{
    (void)state;
    uint8_t out[16];
    char small[4];
    assert_int_equal(vt_base64_decode("Zm9v!", 5, out, sizeof out), -1);  /* bad char */
    assert_int_equal(vt_base64_decode("Zm9vY", 5, out, sizeof out), -1);  /* bad length */
    assert_int_equal(vt_base64_decode("Zm 9v", 5, out, sizeof out), -1);  /* space */
    assert_int_equal(vt_base64_decode("Zm9vYmFy", 8, out, 5), -1);        /* too small */
    assert_int_equal(vt_base64_encode((const uint8_t *)"foo", 3, small, sizeof small), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_refuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
