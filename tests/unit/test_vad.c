/* Unit tests: the energy VAD (confidence scale, hysteresis, noise floor). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include "core/internal.h"

static void fill(int16_t *f, int n, double amp, int k)
{
    for (int i = 0; i < n; i++)
        f[i] = (int16_t)(amp * sin(2 * M_PI * 200.0 * (i + k * n) / 16000.0));
}

static void confidence_scale(void **st)
{
    (void)st;
    assert_true(fabs(vt__vad_confidence(1000, 100) - 2.0) < 1e-9);   /* 20 dB */
    assert_true(fabs(vt__vad_confidence(316.2278, 100) - 1.0) < 1e-4); /* 10 dB */
    assert_true(vt__vad_confidence(50, 100) == 0.0);
    assert_true(vt__vad_confidence(10, 0) == 0.0);
}

static void start_end_hysteresis(void **st)
{
    (void)st;
    vt_config cfg;
    vt_config_default(&cfg); /* 20 ms frames, start 60 ms, hangover 240 ms */
    vad v;
    vt__vad_init(&v, &cfg);
    int16_t f[320];
    int64_t t = 0;
    int k = 0;
    for (int i = 0; i < 25; i++, k++) { /* 0.5 s of quiet room */
        fill(f, 320, 40, k);
        t += 20000;
        assert_int_equal(vt__vad_frame(&v, f, t), VAD_NONE);
    }
    /* loud speech: starts on the third frame, dated at the first */
    fill(f, 320, 8000, k++);
    assert_int_equal(vt__vad_frame(&v, f, t += 20000), VAD_NONE);
    int64_t first_end = t;
    fill(f, 320, 8000, k++);
    assert_int_equal(vt__vad_frame(&v, f, t += 20000), VAD_NONE);
    fill(f, 320, 8000, k++);
    assert_int_equal(vt__vad_frame(&v, f, t += 20000), VAD_START);
    assert_int_equal(v.seg_start_us, first_end - 20000);
    assert_true(v.conf > 2.0);
    /* a dip shorter than the hangover does not end the segment */
    for (int i = 0; i < 5; i++) {
        fill(f, 320, 30, k++);
        assert_int_equal(vt__vad_frame(&v, f, t += 20000), VAD_NONE);
    }
    fill(f, 320, 8000, k++);
    assert_int_equal(vt__vad_frame(&v, f, t += 20000), VAD_NONE);
    int64_t last_voice = t;
    int edge = VAD_NONE, frames = 0;
    while (edge == VAD_NONE && frames < 100) {
        fill(f, 320, 30, k++);
        edge = vt__vad_frame(&v, f, t += 20000);
        frames++;
    }
    assert_int_equal(edge, VAD_END);
    assert_int_equal(frames, 12); /* 240 ms of hangover */
    assert_int_equal(v.last_voice_us, last_voice);
}

static void floor_adapts_to_steady_noise(void **st)
{
    (void)st;
    vt_config cfg;
    vt_config_default(&cfg);
    vad v;
    vt__vad_init(&v, &cfg);
    int16_t f[320];
    /* a steady fan just under the start threshold: the floor climbs to it */
    for (int i = 0; i < 500; i++) {
        fill(f, 320, 300, i);
        vt__vad_frame(&v, f, (i + 1) * 20000);
    }
    assert_true(v.floor > 150 && v.floor < 260);
    assert_false(v.in_speech);
    /* then silence: the floor falls quickly, never under floor_min */
    for (int i = 0; i < 100; i++) {
        fill(f, 320, 0, i);
        vt__vad_frame(&v, f, (501 + i) * 20000);
    }
    assert_true(v.floor >= cfg.vad_floor_min && v.floor < cfg.vad_floor_min + 1);
}

static void short_click_is_a_short_segment(void **st)
{
    (void)st;
    vt_config cfg;
    vt_config_default(&cfg);
    vad v;
    vt__vad_init(&v, &cfg);
    int16_t f[320];
    int64_t t = 0;
    int starts = 0;
    for (int i = 0; i < 5; i++) { /* 100 ms click */
        fill(f, 320, 9000, i);
        starts += vt__vad_frame(&v, f, t += 20000) == VAD_START;
    }
    assert_int_equal(starts, 1);
    int ends = 0;
    for (int i = 0; i < 20; i++) {
        fill(f, 320, 0, i);
        ends += vt__vad_frame(&v, f, t += 20000) == VAD_END;
    }
    assert_int_equal(ends, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(confidence_scale),
        cmocka_unit_test(start_end_hysteresis),
        cmocka_unit_test(floor_adapts_to_steady_noise),
        cmocka_unit_test(short_click_is_a_short_segment),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
