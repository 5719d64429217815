/*
 * Speech-to-text and keyword spotting on pocketsphinx, with speech made by
 * the flite command line at test time (voices rms and awb, which
 * pocketsphinx recognises; slt plays the tutor).
 *
 * Bounds (measured on this machine, docs/BENCHMARKS.md): word error rate
 * over the test sentences 11.0 % (rms+awb, 9 errors in 82 words), asserted
 * <= 20 %; "stop"
 * spoken over the tutor's voice is detected -0.1..+0.1 s from the end of
 * the word's sound, asserted within 0.6 s; no keyword in command-free
 * speech or in the tutor's own voice.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include "engines/speech/speech.h"
#include "speech/speech_testutil.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RATE 16000
#define WER_BOUND 0.20
#define KWS_DELAY_BOUND_MS 600

/* the first sentences of the benchmark's set (support/wer.h) */
#define sentences vt_test_sentences
#define N_SENTENCES VT_TEST_N_SHORT

static void *model; /* loaded once, as in a server */
static void *stt;   /* one warm decoder for the whole file, as in a session */

static int setup(void **state)
{
    (void)state;
    char err[512];
    if (vt_stt_open(&vt_stt_pocketsphinx, NULL, 0, &model, &stt, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    vt_stt_close(&vt_stt_pocketsphinx, model, stt);
    return 0;
}

static void test_word_error_rate(void **state)
{
    (void)state;
    const char *voices[] = { "rms", "awb" };
    int errors = 0, words = 0;
    vt_stt_result *r = malloc(sizeof *r);
    for (size_t v = 0; v < 2; v++)
        for (size_t i = 0; i < N_SENTENCES; i++) {
            int16_t *pcm = NULL;
            size_t n = 0;
            assert_int_equal(vt_test_speech(voices[v], sentences[i], &pcm, &n), 0);
            assert_int_equal(vt_speech_transcribe_pcm(&vt_stt_pocketsphinx, stt, pcm, n, r), 0);
            int nw = 0, e = vt_test_word_errors(sentences[i], r->text, &nw);
            errors += e;
            words += nw;
            if (getenv("VT_TEST_VERBOSE"))
                fprintf(stderr, "%s: \"%s\" -> \"%s\" (%d errors)\n", voices[v], sentences[i],
                        r->text, e);
            /* word times: in order, inside the audio, no fillers */
            for (size_t k = 0; k < r->n_words; k++) {
                assert_true(r->words[k].start_ms < r->words[k].end_ms);
                assert_true(r->words[k].end_ms <= n * 1000 / RATE + 10);
                if (k)
                    assert_true(r->words[k].start_ms >= r->words[k - 1].end_ms);
                assert_null(strchr(r->words[k].text, '('));
                assert_true(r->words[k].text[0] != '<' && r->words[k].text[0] != '[');
            }
            free(pcm);
        }
    double wer = (double)errors / words;
    fprintf(stderr, "word error rate %.1f %% (%d/%d)\n", 100.0 * wer, errors, words);
    assert_true(wer <= WER_BOUND);
    free(r);
}

static void test_partial_and_times(void **state)
{
    (void)state;
    int16_t *pcm = NULL;
    size_t n = 0;
    assert_int_equal(vt_test_speech("rms", "Please open the window and turn on the light.", &pcm,
                                    &n), 0);
    /* one second of silence first: word times count from begin() */
    size_t lead = RATE;
    int16_t *buf = calloc(n + lead, sizeof *buf);
    memcpy(buf + lead, pcm, n * sizeof *pcm);
    assert_int_equal(vt_stt_pocketsphinx.begin(stt), 0);
    char partial[256] = "";
    int saw_partial = 0;
    for (size_t off = 0; off < n + lead; off += 320) {
        size_t m = n + lead - off < 320 ? n + lead - off : 320;
        assert_int_equal(vt_stt_pocketsphinx.feed(stt, buf + off, m), 0);
        if (!saw_partial && off >= lead + n / 2) {
            assert_true(vt_stt_pocketsphinx.partial(stt, partial, sizeof partial) >= 0);
            saw_partial = partial[0] != '\0';
        }
    }
    vt_stt_result *r = malloc(sizeof *r);
    assert_int_equal(vt_stt_pocketsphinx.end(stt, r), 0);
    assert_true(saw_partial);
    assert_non_null(strstr(r->text, "window"));
    assert_true(r->n_words >= 5);
    assert_true(r->words[0].start_ms >= 900 && r->words[0].start_ms < 1600);
    /* not in an utterance any more */
    assert_int_equal(vt_stt_pocketsphinx.feed(stt, buf, 320), VT_ESTATE);
    assert_int_equal(vt_stt_pocketsphinx.end(stt, r), VT_ESTATE);
    free(r);
    free(buf);
    free(pcm);
}

static void test_missing_models(void **state)
{
    (void)state;
    void *ctx = NULL;
    char err[512];
    void *m = NULL;
    const vt_opt o[] = { { "modeldir", "/nonexistent/models" } };
    assert_int_equal(vt_stt_pocketsphinx.load(o, 1, &m, err, sizeof err), VT_ENOTFOUND);
    assert_non_null(strstr(err, "/nonexistent/models/en-us/en-us"));
    assert_non_null(strstr(err, "apt-get install pocketsphinx-en-us"));
    const vt_opt l[] = { { "lm", "/nonexistent.lm.bin" }, { "warmup", "0" } };
    assert_int_equal(vt_stt_open(&vt_stt_pocketsphinx, l, 2, &m, &ctx, err, sizeof err),
                     VT_ENOTFOUND);
    assert_non_null(strstr(err, "/nonexistent.lm.bin"));
    assert_null(m);
    assert_null(ctx);
    vt_keyword kw = { "stop", 0 };
    assert_int_equal(vt_kws_open(&vt_kws_pocketsphinx, o, 1, &kw, 1, &m, &ctx, err, sizeof err),
                     VT_ENOTFOUND);
    assert_non_null(strstr(err, "pocketsphinx-en-us"));
    /* the keyword list is checked per session, on a model that loaded */
    assert_int_equal(vt_kws_pocketsphinx.load(NULL, 0, &m, err, sizeof err), 0);
    vt_keyword bad = { "xqzzyplonk", 0 };
    assert_int_equal(vt_kws_pocketsphinx.create(m, NULL, 0, &bad, 1, &ctx, err, sizeof err),
                     VT_ENOTFOUND);
    assert_non_null(strstr(err, "xqzzyplonk"));
    assert_int_equal(vt_kws_pocketsphinx.create(m, NULL, 0, &bad, 0, &ctx, err, sizeof err),
                     VT_EINVAL);
    vt_kws_pocketsphinx.unload(m);
    assert_int_equal(vt_stt_pocketsphinx.create(NULL, NULL, 0, &ctx, err, sizeof err), VT_EINVAL);
    /* the scorer's and search's tuning: a bad value is an error at load,
     * naming the option and what it takes */
    vt_opt t1[] = {{"ds", "9"}};
    assert_int_equal(vt_stt_pocketsphinx.load(t1, 1, &m, err, sizeof err), VT_EINVAL);
    assert_non_null(strstr(err, "ds"));
    vt_opt t2[] = {{"beam", "2"}};
    assert_int_equal(vt_stt_pocketsphinx.load(t2, 1, &m, err, sizeof err), VT_EINVAL);
    assert_non_null(strstr(err, "beam"));
    assert_non_null(strstr(err, "1e-40"));
    vt_opt t3[] = {{"wbeam", "1e-20x"}};
    assert_int_equal(vt_stt_pocketsphinx.load(t3, 1, &m, err, sizeof err), VT_EINVAL);
    /* good values make a decoder with them */
    vt_opt t4[] = {{"topn", "2"}, {"beam", "1e-40"}};
    assert_int_equal(vt_stt_pocketsphinx.load(t4, 2, &m, err, sizeof err), 0);
    vt_stt_pocketsphinx.unload(m);
}

/* Two sessions on one model: each has its own decoder and hears the same
 * speech the same way; the model outlives neither's use (engine.h's
 * read-only rule: create and destroy while the other decodes). */
static void test_two_sessions_one_model(void **state)
{
    (void)state;
    int16_t *pcm = NULL;
    size_t n = 0;
    assert_int_equal(vt_test_speech("rms", "What is the capital of France?", &pcm, &n), 0);
    void *second = NULL;
    char err[512];
    assert_int_equal(vt_stt_pocketsphinx.create(model, NULL, 0, &second, err, sizeof err), 0);
    vt_stt_result *a = malloc(sizeof *a), *b = malloc(sizeof *b);
    assert_int_equal(vt_speech_transcribe_pcm(&vt_stt_pocketsphinx, second, pcm, n, b), 0);
    assert_int_equal(vt_speech_transcribe_pcm(&vt_stt_pocketsphinx, stt, pcm, n, a), 0);
    assert_non_null(strstr(b->text, "capital"));
    vt_stt_pocketsphinx.destroy(second);
    assert_int_equal(vt_speech_transcribe_pcm(&vt_stt_pocketsphinx, stt, pcm, n, b), 0);
    assert_string_equal(a->text, b->text); /* the first decoder did not notice */
    free(a);
    free(b);
    free(pcm);
}

/* The tutor (slt) talks; the person says `said` at 1.5 s, mixed in as a
 * microphone hears both (the tutor's voice divided by echo_div: 10 is
 * -20 dB, what is left after echo cancellation; 0 none). Returns
 * the first hit's sample or -1; *word_end gets the end of the person's
 * speech. */
static int64_t spot(void *kws, const char *said, const char *voice, int echo_div,
                    int64_t *word_end, char *word, size_t cap)
{
    int16_t *tutor = NULL, *user = NULL;
    size_t nt = 0, nu = 0;
    assert_int_equal(vt_test_speech("slt", "So the mitochondria is where the cell makes its "
                                    "energy, and that is why we call it the powerhouse.",
                                    &tutor, &nt), 0);
    if (said)
        assert_int_equal(vt_test_speech(voice, said, &user, &nu), 0);
    size_t at = RATE * 3 / 2, n = nt > at + nu ? nt : at + nu;
    n += RATE;
    int16_t *mix = calloc(n, sizeof *mix);
    for (size_t i = 0; i < nt; i++)
        mix[i] = (int16_t)(echo_div ? tutor[i] / echo_div : 0);
    int64_t last_loud = -1;
    for (size_t i = 0; i < nu; i++) {
        int v = mix[at + i] + user[i];
        mix[at + i] = (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : v);
        if (user[i] > 800 || user[i] < -800)
            last_loud = (int64_t)(at + i);
    }
    *word_end = last_loud;
    assert_int_equal(vt_kws_pocketsphinx.reset(kws), 0);
    int64_t hit_at = -1;
    for (size_t off = 0; off < n; off += 320) {
        vt_kws_hit hit;
        size_t m = n - off < 320 ? n - off : 320;
        int rc = vt_kws_pocketsphinx.feed(kws, mix + off, m, &hit);
        assert_true(rc >= 0);
        if (rc == 1 && hit_at < 0) {
            hit_at = (int64_t)hit.at_sample;
            snprintf(word, cap, "%s", hit.word);
        }
    }
    free(tutor);
    free(user);
    free(mix);
    return hit_at;
}

static void test_keyword_over_tutor(void **state)
{
    (void)state;
    vt_keyword kw[] = { { "stop", 0 }, { "wait", 0 } };
    void *kws = NULL, *km = NULL;
    char err[512];
    assert_int_equal(vt_kws_open(&vt_kws_pocketsphinx, NULL, 0, kw, 2, &km, &kws, err, sizeof err),
                     0);
    /* bench_speech: "stop" is found 6/6 without echo and 5/6 at -20 dB (awb
     * is the one missed there) */
    const char *voices[] = { "rms", "awb", "rms" };
    const int echo[] = { 10, 0, 0 };
    for (int v = 0; v < 3; v++) {
        int64_t end = -1;
        char word[32] = "";
        int64_t hit = spot(kws, "stop", voices[v], echo[v], &end, word, sizeof word);
        double delay_ms = (double)(hit - end) * 1000.0 / RATE;
        fprintf(stderr, "%s, echo 1/%d: \"stop\" detected %.0f ms after the word ends\n",
                voices[v], echo[v], delay_ms);
        assert_true(hit >= 0);
        assert_string_equal(word, "stop");
        assert_true(delay_ms > -300 && delay_ms <= KWS_DELAY_BOUND_MS);
    }
    /* a sentence without a command, and the tutor alone: nothing */
    int64_t end;
    char word[32] = "";
    assert_int_equal(spot(kws, "I would like to learn about the history of Rome.", "awb", 10,
                          &end, word, sizeof word), -1);
    assert_int_equal(spot(kws, "Could you give me another example with numbers?", "rms", 10,
                          &end, word, sizeof word), -1);
    assert_int_equal(spot(kws, NULL, NULL, 10, &end, word, sizeof word), -1);
    vt_kws_pocketsphinx.destroy(kws);
    /* the tutor's voice at full level (no echo cancellation at all): "stop"
     * stays silent; "wait" is a weak word that sometimes fires on it (see
     * docs/BENCHMARKS.md), so it is not asserted here. Another session of
     * the same model, with its own keyword list. */
    assert_int_equal(vt_kws_pocketsphinx.create(km, NULL, 0, kw, 1, &kws, err, sizeof err), 0);
    assert_int_equal(spot(kws, NULL, NULL, 1, &end, word, sizeof word), -1);
    vt_kws_close(&vt_kws_pocketsphinx, km, kws);
}

static void test_fakes(void **state)
{
    (void)state;
    void *m = NULL, *ctx = NULL;
    char err[256];
    const vt_opt o[] = { { "text", "what is the time now" } };
    assert_int_equal(vt_stt_open(&vt_stt_fake, o, 1, &m, &ctx, err, sizeof err), 0);
    int16_t pcm[320] = { 0 };
    char part[64];
    vt_stt_result *r = malloc(sizeof *r);
    assert_int_equal(vt_speech_transcribe_pcm(&vt_stt_fake, ctx, pcm, 320, r), 0);
    assert_string_equal(r->text, "what is the time now");
    assert_int_equal(r->n_words, 5);
    assert_int_equal(r->words[4].end_ms, 1500);
    assert_int_equal(vt_stt_fake.begin(ctx), 0);
    assert_int_equal(vt_stt_fake.feed(ctx, pcm, 320), 0);
    assert_true(vt_stt_fake.partial(ctx, part, sizeof part) > 0);
    assert_string_equal(part, "what is the");
    vt_stt_close(&vt_stt_fake, m, ctx);
    const vt_opt f[] = { { "fail", "end" } }, fc[] = { { "fail", "create" } };
    assert_int_equal(vt_stt_open(&vt_stt_fake, f, 1, &m, &ctx, err, sizeof err), 0);
    assert_int_equal(vt_speech_transcribe_pcm(&vt_stt_fake, ctx, pcm, 320, r), VT_EIO);
    vt_stt_close(&vt_stt_fake, m, ctx);
    assert_int_equal(vt_stt_open(&vt_stt_fake, fc, 1, &m, &ctx, err, sizeof err), VT_EIO);
    assert_null(m);

    vt_keyword kw = { "stop", 0 };
    const vt_opt k[] = { { "after", "500" } };
    assert_int_equal(vt_kws_open(&vt_kws_fake, k, 1, &kw, 1, &m, &ctx, err, sizeof err), 0);
    vt_kws_hit hit;
    assert_int_equal(vt_kws_fake.feed(ctx, pcm, 320, &hit), 0);
    assert_int_equal(vt_kws_fake.feed(ctx, pcm, 320, &hit), 1);
    assert_string_equal(hit.word, "stop");
    assert_int_equal(hit.at_sample, 500);
    assert_int_equal(vt_kws_fake.feed(ctx, pcm, 320, &hit), 0); /* once per reset */
    assert_int_equal(vt_kws_fake.reset(ctx), 0);
    assert_int_equal(vt_kws_fake.feed(ctx, pcm, 320, &hit), 0);
    vt_kws_close(&vt_kws_fake, m, ctx);
    assert_ptr_equal(vt_stt_find("pocketsphinx"), &vt_stt_pocketsphinx);
    assert_ptr_equal(vt_kws_find("fake"), &vt_kws_fake);
    assert_ptr_equal(vt_tts_find("espeak-ng"), &vt_tts_espeak);
    assert_null(vt_tts_find("nope"));
    assert_null(vt_stt_find(NULL));
    assert_string_equal(vt_stt_names(), "pocketsphinx, openai, fake");
    assert_string_equal(vt_kws_names(), "pocketsphinx, fake");
    assert_string_equal(vt_tts_names(), "flite, espeak, openai, fake");
    free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_word_error_rate),
        cmocka_unit_test(test_partial_and_times),
        cmocka_unit_test(test_missing_models),
        cmocka_unit_test(test_two_sessions_one_model),
        cmocka_unit_test(test_keyword_over_tutor),
        cmocka_unit_test(test_fakes),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
