/* Unit tests: WAV reading (any rate and channel count), writing, errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sndfile.h>
#include <unistd.h>
#include "util/wav.h"
#include "util/resample.h"
#include "voicetutor/core.h"

static char dir[256];

static int setup(void **st)
{
    (void)st;
    snprintf(dir, sizeof dir, "/tmp/vt_wav_XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **st)
{
    (void)st;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void roundtrip_and_resample(void **st)
{
    (void)st;
    char path[300], err[256];
    snprintf(path, sizeof path, "%s/a.wav", dir);
    int16_t tone[22050];
    for (int i = 0; i < 22050; i++)
        tone[i] = (int16_t)(10000 * sin(2 * M_PI * 440 * i / 22050.0));
    assert_int_equal(vt_wav_write(path, tone, 22050, 22050, err, sizeof err), 0);
    int16_t *pcm;
    size_t n;
    int rate;
    assert_int_equal(vt_wav_read(path, 0, &pcm, &n, &rate, err, sizeof err), 0);
    assert_int_equal(rate, 22050);
    assert_int_equal(n, 22050);
    assert_true(abs(pcm[100] - tone[100]) <= 2);
    free(pcm);
    assert_int_equal(vt_wav_read(path, 16000, &pcm, &n, &rate, err, sizeof err), 0);
    assert_int_equal(rate, 16000);
    assert_true(n >= 15990 && n <= 16000);
    double e = 0;
    for (size_t i = 1000; i < 15000; i++)
        e += (double)pcm[i] * pcm[i];
    assert_true(sqrt(e / 14000) > 6000); /* the tone survives resampling */
    free(pcm);
}

static void stereo_is_mixed_down(void **st)
{
    (void)st;
    char path[300], err[256];
    snprintf(path, sizeof path, "%s/s.wav", dir);
    SF_INFO info = {.samplerate = 48000, .channels = 2, .format = SF_FORMAT_WAV | SF_FORMAT_PCM_16};
    SNDFILE *sf = sf_open(path, SFM_WRITE, &info);
    assert_non_null(sf);
    short frames[2 * 4800];
    for (int i = 0; i < 4800; i++) {
        frames[2 * i] = 8000;
        frames[2 * i + 1] = 4000;
    }
    sf_writef_short(sf, frames, 4800);
    sf_close(sf);
    int16_t *pcm;
    size_t n;
    int rate;
    assert_int_equal(vt_wav_read(path, 0, &pcm, &n, &rate, err, sizeof err), 0);
    assert_int_equal(n, 4800);
    assert_true(abs(pcm[10] - 6000) < 3);
    free(pcm);
}

static void bad_files_give_clear_errors(void **st)
{
    (void)st;
    char path[300], err[256];
    int16_t *pcm = NULL;
    size_t n;
    snprintf(path, sizeof path, "%s/missing.wav", dir);
    assert_int_equal(vt_wav_read(path, 0, &pcm, &n, NULL, err, sizeof err), VT_ENOTFOUND);
    assert_non_null(strstr(err, "missing.wav"));
    assert_non_null(strstr(err, "cannot open"));

    snprintf(path, sizeof path, "%s/empty.wav", dir);
    FILE *f = fopen(path, "w");
    fclose(f);
    assert_int_equal(vt_wav_read(path, 0, &pcm, &n, NULL, err, sizeof err), VT_EFORMAT);
    assert_non_null(strstr(err, "empty"));

    snprintf(path, sizeof path, "%s/text.wav", dir);
    f = fopen(path, "w");
    fputs("this is not audio at all, just some text in a file\n", f);
    fclose(f);
    assert_int_equal(vt_wav_read(path, 0, &pcm, &n, NULL, err, sizeof err), VT_EFORMAT);
    assert_non_null(strstr(err, "not a readable sound file"));

    /* a WAV header that promises data which is not there */
    snprintf(path, sizeof path, "%s/trunc.wav", dir);
    uint8_t *buf;
    size_t len;
    int16_t z[1000] = {0};
    assert_int_equal(vt_wav_encode(z, 1000, 16000, &buf, &len), 0);
    f = fopen(path, "wb");
    fwrite(buf, 1, 44, f);
    fclose(f);
    free(buf);
    assert_int_not_equal(vt_wav_read(path, 0, &pcm, &n, NULL, err, sizeof err), 0);
    assert_non_null(strstr(err, "trunc.wav"));

    assert_int_equal(vt_wav_read(dir, 0, &pcm, &n, NULL, err, sizeof err), VT_EFORMAT);
    assert_non_null(strstr(err, "directory"));
    assert_null(pcm);
}

static void encode_header(void **st)
{
    (void)st;
    int16_t s[3] = {1, -1, 300};
    uint8_t *b;
    size_t n;
    assert_int_equal(vt_wav_encode(s, 3, 16000, &b, &n), 0);
    assert_int_equal(n, 50);
    assert_memory_equal(b, "RIFF", 4);
    assert_memory_equal(b + 36, "data", 4);
    assert_int_equal(b[40], 6);
    assert_int_equal(b[44], 1);
    assert_int_equal(b[46], 0xff);
    free(b);
    assert_int_equal(vt_wav_encode(NULL, 3, 16000, &b, &n), VT_EINVAL);
}

static void resampler_streaming(void **st)
{
    (void)st;
    vt_resampler *r;
    assert_int_equal(vt_resampler_create(22050, 16000, 4, &r), 0);
    int16_t in[2205] = {0}, out[2000];
    size_t total = 0, w;
    for (int k = 0; k < 10; k++) {
        assert_int_equal(vt_resampler_process(r, in, 2205, out, sizeof out / 2, &w), 0);
        total += w;
    }
    assert_true(total > 15800 && total <= 16000);
    vt_resampler_destroy(r);
    assert_int_equal(vt_resampler_create(0, 16000, 4, &r), VT_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(roundtrip_and_resample),
        cmocka_unit_test(stereo_is_mixed_down),
        cmocka_unit_test(bad_files_give_clear_errors),
        cmocka_unit_test(encode_header),
        cmocka_unit_test(resampler_streaming),
    };
    return cmocka_run_group_tests_name("wav", tests, setup, teardown);
}
