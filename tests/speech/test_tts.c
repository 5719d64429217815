/*
 * Text-to-speech: the word-timing contract for every flite voice and for
 * espeak-ng (one word per token, in order, inside its chunk, monotonic,
 * covering the audio), at the engine's rate and resampled; aborting stops
 * synthesis within one chunk; the fakes and the clip cache; bad voices give
 * clear errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include "engines/speech/speech.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_WORDS 64

typedef struct capture {
    int64_t total;
    int chunks;
    int n_words;
    char text[MAX_WORDS][48];
    int64_t start[MAX_WORDS], end[MAX_WORDS]; /* absolute */
    int abort_after;           /* raise *flag after this many chunks (0: never) */
    int stop_after;            /* return non-zero after this many chunks */
    volatile int *flag;
    int64_t energy_first, energy_last; /* first and last loud sample */
} capture;

static int on_chunk(void *ud, const int16_t *pcm, size_t n, const vt_word *words, size_t nw)
{
    capture *c = ud;
    for (size_t i = 0; i < nw; i++) {
        assert_true(words[i].start <= words[i].end);
        assert_true(words[i].end <= n);
        assert_true(c->n_words < MAX_WORDS);
        snprintf(c->text[c->n_words], sizeof c->text[0], "%s", words[i].text);
        c->start[c->n_words] = c->total + words[i].start;
        c->end[c->n_words] = c->total + words[i].end;
        c->n_words++;
    }
    for (size_t i = 0; i < n; i++)
        if (pcm[i] > 1000 || pcm[i] < -1000) {
            if (c->energy_first < 0)
                c->energy_first = c->total + (int64_t)i;
            c->energy_last = c->total + (int64_t)i;
        }
    c->total += (int64_t)n;
    c->chunks++;
    if (c->abort_after && c->chunks == c->abort_after)
        *c->flag = 1;
    return c->stop_after && c->chunks >= c->stop_after;
}

static const char *sentence = "Well, I have 42 apples (really) and three-and-a-half pears!";

static void check_words(const capture *c, const char *text, int rate)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", text);
    int i = 0;
    for (char *save = NULL, *t = strtok_r(buf, " ", &save); t; t = strtok_r(NULL, " ", &save), i++) {
        assert_true(i < c->n_words);
        assert_string_equal(c->text[i], t);
        if (i > 0)
            assert_true(c->start[i] >= c->end[i - 1]); /* monotonic */
    }
    assert_int_equal(i, c->n_words);
    int64_t slack = rate / 4;
    if (getenv("VT_TEST_VERBOSE")) {
        fprintf(stderr, "rate %d total %lld energy %lld..%lld:", rate, (long long)c->total,
                (long long)c->energy_first, (long long)c->energy_last);
        for (int k = 0; k < c->n_words; k++)
            fprintf(stderr, " %s[%lld-%lld]", c->text[k], (long long)c->start[k],
                    (long long)c->end[k]);
        fprintf(stderr, "\n");
    }
    /* cover the audio. A word's start is clamped to its end's chunk, so
     * coverage is judged on the ends: the first word ends after speech
     * begins, the last one near where it stops (250 ms of slack for the
     * trailing pause), with no long stretch of audio without a word end. */
    assert_true(c->energy_first >= 0);
    assert_true(c->end[0] > c->energy_first);
    assert_true(c->end[c->n_words - 1] >= c->energy_last - slack);
    assert_true(c->end[c->n_words - 1] <= c->total);
    int64_t prev = c->energy_first;
    for (int k = 0; k < c->n_words; k++) {
        assert_true(c->end[k] - prev < (int64_t)rate * 3 / 2);
        prev = c->end[k];
    }
}

static void synth_and_check(const char *spec, int out_rate, const char *text)
{
    const vt_tts_ops *ops = NULL;
    void *model = NULL, *ctx = NULL;
    char err[256] = "";
    int rc = vt_tts_open(spec, NULL, 0, &ops, &model, &ctx, err, sizeof err);
    if (rc)
        fail_msg("open %s: %s", spec, err);
    int rate = out_rate ? out_rate : ops->sample_rate(ctx);
    capture c = { .energy_first = -1 };
    assert_int_equal(vt_tts_synth_at(ops, ctx, rate, text, on_chunk, &c, NULL), 0);
    assert_true(c.chunks > 1); /* streamed, not one block */
    check_words(&c, text, rate);
    vt_tts_close(ops, model, ctx);
}

static void test_flite_voices(void **state)
{
    (void)state;
    const char *voices[] = { "slt", "rms", "awb", "kal16" };
    for (size_t i = 0; i < 4; i++)
        synth_and_check(voices[i], 0, sentence);
}

static void test_espeak(void **state)
{
    (void)state;
    synth_and_check("espeak", 0, sentence);
    synth_and_check("espeak:fr", 0, "Bonjour, je m'appelle Marie et j'ai 42 ans.");
    synth_and_check("espeak:de", 16000, "Guten Morgen, wie geht es dir heute?");
}

static void test_resampled(void **state)
{
    (void)state;
    synth_and_check("rms", 48000, sentence);
    synth_and_check("slt", 8000, "Short one.");
    synth_and_check("espeak", 16000, sentence);
    synth_and_check("fake", 24000, sentence);
}

/* Abort raised while a chunk is being handled: no further chunk arrives. */
static void abort_case(const char *spec, int out_rate)
{
    const vt_tts_ops *ops = NULL;
    void *model = NULL, *ctx = NULL;
    char err[256];
    assert_int_equal(vt_tts_open(spec, NULL, 0, &ops, &model, &ctx, err, sizeof err), 0);
    int rate = out_rate ? out_rate : ops->sample_rate(ctx);
    const char *longer = "This is a long sentence that the tutor will not get to finish "
                         "because the person interrupts it in the middle of a phrase.";
    volatile int flag = 0;
    capture c = { .energy_first = -1, .abort_after = 3, .flag = &flag };
    assert_int_equal(vt_tts_synth_at(ops, ctx, rate, longer, on_chunk, &c, &flag), VT_ECANCELED);
    assert_int_equal(c.chunks, 3);
    /* the callback asking to stop works the same way */
    capture d = { .energy_first = -1, .stop_after = 2 };
    assert_int_equal(vt_tts_synth_at(ops, ctx, rate, longer, on_chunk, &d, NULL), VT_ECANCELED);
    assert_int_equal(d.chunks, 2);
    /* raised before the call: nothing at all */
    capture e = { .energy_first = -1 };
    flag = 1;
    assert_int_equal(vt_tts_synth_at(ops, ctx, rate, longer, on_chunk, &e, &flag), VT_ECANCELED);
    assert_int_equal(e.chunks, 0);
    vt_tts_close(ops, model, ctx);
}

static void test_abort_within_one_chunk(void **state)
{
    (void)state;
    abort_case("slt", 0);
    abort_case("kal16", 0);
    abort_case("espeak", 0);
    abort_case("rms", 48000);
    abort_case("espeak", 16000);
    abort_case("fake", 0);
}

static void test_fake_and_failures(void **state)
{
    (void)state;
    const vt_opt o[] = { { "rate", "8000" }, { "fail_after", "2" } };
    void *model = NULL, *ctx = NULL, *ctx2 = NULL;
    char err[256];
    assert_int_equal(vt_tts_fake.load(o, 1, &model, err, sizeof err), 0);
    assert_int_equal(vt_tts_fake.create(model, NULL, 0, &ctx, err, sizeof err), 0);
    capture c = { .energy_first = -1 };
    assert_int_equal(vt_tts_fake.synth(ctx, "one two three", on_chunk, &c, NULL), 0);
    check_words(&c, "one two three", 8000);
    vt_tts_fake.destroy(ctx);
    vt_tts_fake.unload(model);
    assert_int_equal(vt_tts_open("fake", o, 2, &(const vt_tts_ops *){ NULL }, &model, &ctx, err,
                                 sizeof err), 0);
    /* a second session on the same model follows the same script */
    assert_int_equal(vt_tts_fake.create(model, NULL, 0, &ctx2, err, sizeof err), 0);
    capture d = { .energy_first = -1 }, d2 = { .energy_first = -1 };
    assert_int_equal(vt_tts_fake.synth(ctx, "one two three", on_chunk, &d, NULL), VT_EIO);
    assert_int_equal(d.chunks, 2);
    assert_int_equal(vt_tts_fake.synth(ctx2, "one two three", on_chunk, &d2, NULL), VT_EIO);
    assert_int_equal(d2.chunks, 2);
    vt_tts_fake.destroy(ctx2);
    vt_tts_close(&vt_tts_fake, model, ctx);
    const vt_opt f[] = { { "fail", "create" } }, fl[] = { { "fail", "load" } };
    assert_int_equal(vt_tts_fake.load(f, 1, &model, err, sizeof err), 0);
    assert_int_equal(vt_tts_fake.create(model, NULL, 0, &ctx, err, sizeof err), VT_EIO);
    vt_tts_fake.unload(model);
    assert_int_equal(vt_tts_fake.load(fl, 1, &model, err, sizeof err), VT_EIO);
    /* empty text: no chunk, no word, no error */
    assert_int_equal(vt_tts_open("slt", NULL, 0, &(const vt_tts_ops *){ NULL }, &model, &ctx, err,
                                 sizeof err), 0);
    capture e = { .energy_first = -1 };
    assert_int_equal(vt_tts_flite.synth(ctx, "   ", on_chunk, &e, NULL), 0);
    assert_int_equal(e.chunks, 0);
    vt_tts_close(&vt_tts_flite, model, ctx);
}

static void test_bad_voices(void **state)
{
    (void)state;
    const vt_tts_ops *ops;
    void *model, *ctx;
    char err[256];
    assert_int_equal(vt_tts_open("nosuchvoice", NULL, 0, &ops, &model, &ctx, err, sizeof err),
                     VT_ENOTFOUND);
    assert_non_null(strstr(err, "slt, rms, awb, kal16"));
    assert_null(model);
    assert_null(ctx);
    assert_int_equal(vt_tts_open("espeak:zz-nope", NULL, 0, &ops, &model, &ctx, err, sizeof err),
                     VT_ENOTFOUND);
    assert_non_null(strstr(err, "--voices"));
    assert_int_equal(vt_tts_open("festival:x", NULL, 0, &ops, &model, &ctx, err, sizeof err),
                     VT_EINVAL);
    const vt_opt o[] = { { "chunk_ms", "0" } };
    assert_int_equal(vt_tts_open("flite", o, 1, &ops, &model, &ctx, err, sizeof err), VT_EINVAL);
    assert_non_null(strstr(err, "chunk_ms"));
    assert_null(model);
    assert_int_equal(vt_tts_flite.create(NULL, NULL, 0, &ctx, err, sizeof err), VT_EINVAL);
}

static void test_clips(void **state)
{
    (void)state;
    const vt_tts_ops *ops;
    void *model, *ctx;
    char err[256];
    assert_int_equal(vt_tts_open(VT_TTS_DEFAULT_VOICE, NULL, 0, &ops, &model, &ctx, err,
                                 sizeof err), 0);
    vt_clip *fillers = NULL, *acks = NULL;
    assert_int_equal(vt_clips_build(ops, ctx, 24000, vt_default_filler_texts,
                                    vt_default_filler_descriptions, vt_default_n_fillers,
                                    &fillers, err, sizeof err), 0);
    assert_int_equal(vt_clips_build(ops, ctx, 24000, vt_default_ack_texts, NULL,
                                    vt_default_n_acks, &acks, err, sizeof err), 0);
    for (int i = 0; i < vt_default_n_fillers; i++) {
        assert_string_equal(fillers[i].text, vt_default_filler_texts[i]);
        assert_true(strlen(fillers[i].description) > 5);
        assert_true(fillers[i].n > 24000 / 4 && fillers[i].n < 24000 * 3);
        /* trimmed: sound within the first 30 ms */
        int loud = 0;
        for (size_t s = 0; s < 24000 * 30 / 1000; s++)
            loud |= abs(fillers[i].pcm[s]) >= 300;
        assert_true(loud);
    }
    for (int i = 0; i < vt_default_n_acks; i++)
        assert_string_equal(acks[i].description, "");
    vt_clips_free(fillers, vt_default_n_fillers);
    vt_clips_free(acks, vt_default_n_acks);
    const char *bad[] = { "fine", "" };
    assert_int_equal(vt_clips_build(ops, ctx, 16000, bad, NULL, 2, &acks, err, sizeof err),
                     VT_EINVAL);
    assert_null(acks);
    vt_tts_close(ops, model, ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flite_voices),
        cmocka_unit_test(test_espeak),
        cmocka_unit_test(test_resampled),
        cmocka_unit_test(test_abort_within_one_chunk),
        cmocka_unit_test(test_fake_and_failures),
        cmocka_unit_test(test_bad_voices),
        cmocka_unit_test(test_clips),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
