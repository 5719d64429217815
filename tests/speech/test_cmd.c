/*
 * `voicetutor transcribe` and `voicetutor say` end to end (cmd_speech.c is
 * compiled into this test): a two-utterance stereo 44.1 kHz file prints two
 * lines; say writes a WAV at the asked rate that transcribes back; bad input
 * (missing, empty, non-WAV, directory, too long, missing models, unknown
 * voice, bad usage) gives a clear message and a non-zero exit, never a crash.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include "app/cmd_engines.h"
#include "engines/speech/speech.h"
#include "speech/speech_testutil.h"
#include "util/resample.h"
#include "util/wav.h"
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char out[8192], err[8192];

static int run(int (*fn)(int, char **), int argc, char **argv)
{
    int rc = vt_test_capture(fn, argc, argv, out, sizeof out, err, sizeof err);
    if (getenv("VT_TEST_VERBOSE"))
        fprintf(stderr, "%s -> %d\nstdout: %sstderr: %s\n", argv[0], rc, out, err);
    return rc;
}

static void write_stereo_44k(const char *path, const int16_t *a, size_t na, const int16_t *b,
                             size_t nb)
{
    /* a, 1.2 s of silence, b: resampled to 44.1 kHz, written as two channels */
    size_t gap = 16000 * 6 / 5, n = na + gap + nb;
    int16_t *mono = calloc(n, sizeof *mono);
    memcpy(mono, a, na * sizeof *a);
    memcpy(mono + na + gap, b, nb * sizeof *b);
    int16_t *hi = NULL;
    size_t nh = 0;
    assert_int_equal(vt_resample_buffer(mono, n, 16000, 44100, &hi, &nh), 0);
    int16_t *st = malloc(nh * 2 * sizeof *st);
    for (size_t i = 0; i < nh; i++)
        st[2 * i] = st[2 * i + 1] = hi[i];
    SF_INFO info = { .samplerate = 44100, .channels = 2,
                     .format = SF_FORMAT_WAV | SF_FORMAT_PCM_16 };
    SNDFILE *sf = sf_open(path, SFM_WRITE, &info);
    assert_non_null(sf);
    assert_int_equal(sf_writef_short(sf, st, (sf_count_t)nh), (sf_count_t)nh);
    sf_close(sf);
    free(mono);
    free(hi);
    free(st);
}

static void test_transcribe_two_utterances(void **state)
{
    (void)state;
    int16_t *a = NULL, *b = NULL;
    size_t na = 0, nb = 0;
    assert_int_equal(vt_test_speech("rms", "What is the capital of France?", &a, &na), 0);
    assert_int_equal(vt_test_speech("awb", "Please tell me a story about a dragon.", &b, &nb), 0);
    char path[600];
    write_stereo_44k(vt_test_path("two.wav", path, sizeof path), a, na, b, nb);
    char *argv[] = { "transcribe", path, NULL };
    assert_int_equal(run(cmd_transcribe, 2, argv), 0);
    char *nl = strchr(out, '\n');
    assert_non_null(nl);
    assert_non_null(strstr(out, "capital"));
    assert_non_null(strstr(nl + 1, "dragon"));
    assert_null(strchr(strchr(nl + 1, '\n') + 1, '\n')); /* exactly two lines */
    free(a);
    free(b);
}

static void test_say_round_trip(void **state)
{
    (void)state;
    char path[600];
    vt_test_path("said.wav", path, sizeof path);
    char *argv[] = { "say", "Could you repeat the last question please?", "-o", path,
                     "--voice", "awb", "--rate", "22050", NULL };
    assert_int_equal(run(cmd_say, 8, argv), 0);
    int16_t *pcm = NULL;
    size_t n = 0;
    int rate = 0;
    char e[256];
    assert_int_equal(vt_wav_read(path, 0, &pcm, &n, &rate, e, sizeof e), 0);
    assert_int_equal(rate, 22050);
    assert_true(n > 22050);
    free(pcm);
    char *t[] = { "transcribe", path, "--warmup", NULL };
    assert_int_equal(run(cmd_transcribe, 3, t), 0);
    assert_non_null(strstr(out, "question"));
    char *e2[] = { "say", "Bonjour tout le monde", "-o", path, "--voice", "espeak:fr", NULL };
    assert_int_equal(run(cmd_say, 6, e2), 0);
}

static void expect_fail(int (*fn)(int, char **), int argc, char **argv, int code,
                        const char *msg1, const char *msg2)
{
    assert_int_equal(run(fn, argc, argv), code);
    if (msg1 && !strstr(err, msg1))
        fail_msg("stderr lacks \"%s\": %s", msg1, err);
    if (msg2 && !strstr(err, msg2))
        fail_msg("stderr lacks \"%s\": %s", msg2, err);
}

static void test_bad_input(void **state)
{
    (void)state;
    char empty[600], text[600], dir[600], longf[600], good[600];
    vt_test_path("empty.wav", empty, sizeof empty);
    vt_test_path("text.wav", text, sizeof text);
    vt_test_path("sub", dir, sizeof dir);
    vt_test_path("long.wav", longf, sizeof longf);
    vt_test_path("good.wav", good, sizeof good);
    close(open(empty, O_WRONLY | O_CREAT | O_TRUNC, 0600));
    FILE *f = fopen(text, "w");
    fputs("this is not a sound file at all, just some text\n", f);
    fclose(f);
    mkdir(dir, 0700);
    /* more than an hour (of silence at 1 kHz, to keep the file small) */
    SF_INFO info = { .samplerate = 1000, .channels = 1, .format = SF_FORMAT_WAV | SF_FORMAT_PCM_16 };
    SNDFILE *sf = sf_open(longf, SFM_WRITE, &info);
    assert_non_null(sf);
    static int16_t zeros[1000 * 100];
    for (int i = 0; i < 37; i++)
        sf_writef_short(sf, zeros, 1000 * 100);
    sf_close(sf);
    assert_int_equal(vt_test_flite("rms", "hello", good), 0);

    char *m[] = { "transcribe", "/nonexistent/file.wav", NULL };
    expect_fail(cmd_transcribe, 2, m, 1, "/nonexistent/file.wav", "No such file");
    char *e[] = { "transcribe", empty, NULL };
    expect_fail(cmd_transcribe, 2, e, 1, empty, "empty");
    char *t[] = { "transcribe", text, NULL };
    expect_fail(cmd_transcribe, 2, t, 1, text, "WAV");
    char *d[] = { "transcribe", dir, NULL };
    expect_fail(cmd_transcribe, 2, d, 1, dir, "directory");
    char *l[] = { "transcribe", longf, NULL };
    expect_fail(cmd_transcribe, 2, l, 1, longf, "too long");
    char *h[] = { "transcribe", good, "--hmm", "/nonexistent/hmm", NULL };
    expect_fail(cmd_transcribe, 4, h, 1, "/nonexistent/hmm", "apt-get install pocketsphinx-en-us");
    char *lm[] = { "transcribe", good, "--lm", "/nonexistent/x.lm.bin", NULL };
    expect_fail(cmd_transcribe, 4, lm, 1, "/nonexistent/x.lm.bin", "pocketsphinx-en-us");
    char *u[] = { "transcribe", NULL };
    expect_fail(cmd_transcribe, 1, u, 2, "usage", NULL);
    char *o[] = { "transcribe", good, "--bogus", NULL };
    expect_fail(cmd_transcribe, 3, o, 2, "--bogus", NULL);
    char *v[] = { "transcribe", good, "--hmm", NULL };
    expect_fail(cmd_transcribe, 3, v, 2, "--hmm needs a value", NULL);

    char *s1[] = { "say", "hello", NULL };
    expect_fail(cmd_say, 2, s1, 2, "-o out.wav", NULL);
    char *s2[] = { "say", "hello", "-o", good, "--voice", "robot", NULL };
    expect_fail(cmd_say, 6, s2, 1, "robot", "slt, rms, awb, kal16");
    char *s3[] = { "say", "hello", "-o", "/nonexistent/dir/x.wav", NULL };
    expect_fail(cmd_say, 4, s3, 1, "/nonexistent/dir/x.wav", NULL);
    char *s4[] = { "say", "hello", "-o", good, "--rate", "7", NULL };
    expect_fail(cmd_say, 6, s4, 2, "--rate", NULL);
    char *s5[] = { "say", "   ", "-o", good, NULL };
    expect_fail(cmd_say, 4, s5, 2, "empty", NULL);
    char *s6[] = { "say", "hello", "-o", good, "--voice", "espeak:zz-nope", NULL };
    expect_fail(cmd_say, 6, s6, 1, "zz-nope", NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transcribe_two_utterances),
        cmocka_unit_test(test_say_round_trip),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
