/*
 * The pocketsphinx decoders lent per utterance (src/engines/speech/ps_pool.c,
 * issue 13): a session on a lent decoder hears exactly what it would hear
 * on a decoder of its own, its cepstral mean carried from one decoder to
 * the next; decoders follow the utterances in progress, not the sessions;
 * a new session makes no decoder; decoders left idle are freed; keyword
 * spotters are lent from reset to pause and hit as their own would.
 *
 * The two speakers differ on purpose: one loud (flite slt), one quiet and
 * lower (flite awb at a quarter of the amplitude), so that a decoder that
 * kept the other speaker's cepstral mean would score, and often hear,
 * differently (checked: with the mean not carried over, the first and the
 * last case fail).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "engines/speech/speech.h"
#include "support/wer.h"
#include "speech/speech_testutil.h"
#include "util/clock.h"

#define RATE 16000
#define N_UTT 3

static const char *const k_loud[N_UTT] = {"what is seven times eight", "fifty six",
                                          "could you tell me why the sky is blue"};
static const char *const k_quiet[N_UTT] = {"the capital of france is paris", "i think it is london",
                                           "stop"};
static const char *const k_answers[] = {"fifty six", "fifty four", "london", "paris"};

typedef struct utt {
    int16_t *pcm;
    size_t n;
} utt;

static utt loud[N_UTT], quiet[N_UTT];

static int setup(void **st)
{
    (void)st;
    for (int i = 0; i < N_UTT; i++) {
        if (vt_test_speech("slt", k_loud[i], &loud[i].pcm, &loud[i].n) != 0 ||
            vt_test_speech("awb", k_quiet[i], &quiet[i].pcm, &quiet[i].n) != 0)
            return -1;
        for (size_t k = 0; k < quiet[i].n; k++)
            quiet[i].pcm[k] = (int16_t)(quiet[i].pcm[k] / 4);
    }
    return 0;
}

static int teardown(void **st)
{
    (void)st;
    for (int i = 0; i < N_UTT; i++) {
        free(loud[i].pcm);
        free(quiet[i].pcm);
    }
    return 0;
}

typedef struct heard {
    vt_stt_result r;
    vt_stt_ps_info info;
} heard;

/* One utterance of a session: the lesson's answers expected on the
 * odd ones (the grammar pass runs and scores), then begin, feed, end. */
static void hear(void *ctx, int i, const utt *u, heard *out)
{
    static const char *const cmds[] = {"stop", "repeat"};
    if (i % 2)
        assert_int_equal(vt_stt_pocketsphinx.expect(ctx, k_answers, 4, cmds, 2), 0);
    else
        assert_int_equal(vt_stt_pocketsphinx.expect(ctx, NULL, 0, NULL, 0), 0);
    assert_int_equal(vt_speech_transcribe_pcm(&vt_stt_pocketsphinx, ctx, u->pcm, u->n, &out->r),
                     0);
    assert_int_equal(vt_stt_pocketsphinx_info(ctx, &out->info), 0);
}

/* The n-gram pass's score may differ by a little: pocketsphinx's PTM
 * acoustic scorer seeds its top-N codeword search at an utterance's first
 * frame with a frame the decoder heard last (ptm_mgau.c), whoever spoke it.
 * That state cannot be saved through the library's API, and it is no
 * adaptation: one decoder hearing one utterance twice from the same mean
 * scores -3970 and -3961 (0.2 %); here the lent decoder is within 0.5-1.2 %
 * of the own one, with the same words at the same times. The grammar pass
 * (seeded by the n-gram pass of the same audio) scores exactly alike. A
 * decoder holding the other speaker's mean hears other words ("the capital
 * of france is that it" against "... friends is bad news"): checked by
 * leaving the mean out, which fails this test on the text. Bound: 2 %. */
static int close_score(int32_t a, int32_t b)
{
    int32_t d = a > b ? a - b : b - a;
    int32_t m = a < 0 ? -a : a;
    return d * 50 <= m;
}

static void same(const heard *a, const heard *b, const char *who, int i)
{
    printf("decoders: %s %d: own \"%s\" (%d / %d)  lent \"%s\" (%d / %d)\n", who, i, a->r.text,
           a->info.lm_score, a->info.grammar_score, b->r.text, b->info.lm_score,
           b->info.grammar_score);
    assert_string_equal(a->r.text, b->r.text);
    assert_int_equal(a->r.n_words, b->r.n_words);
    for (size_t w = 0; w < a->r.n_words; w++) {
        assert_int_equal(a->r.words[w].start_ms, b->r.words[w].start_ms);
        assert_int_equal(a->r.words[w].end_ms, b->r.words[w].end_ms);
    }
    assert_int_equal(a->info.ran, b->info.ran);
    assert_string_equal(a->info.grammar_text, b->info.grammar_text);
    assert_true(close_score(a->info.lm_score, b->info.lm_score));
    assert_int_equal(a->info.grammar_score, b->info.grammar_score);
}

/* Two sessions, each on a model of its own, against the same two sessions
 * taking turns on one decoder of a shared model. */
static void lent_decoders_hear_as_their_own(void **st)
{
    (void)st;
    char err[512];
    void *ma = NULL, *mb = NULL, *mp = NULL, *a = NULL, *b = NULL, *pa = NULL, *pb = NULL;
    assert_int_equal(vt_stt_pocketsphinx.load(NULL, 0, &ma, err, sizeof err), 0);
    assert_int_equal(vt_stt_pocketsphinx.load(NULL, 0, &mb, err, sizeof err), 0);
    assert_int_equal(vt_stt_pocketsphinx.load(NULL, 0, &mp, err, sizeof err), 0);
    assert_int_equal(vt_stt_pocketsphinx.create(ma, NULL, 0, &a, err, sizeof err), 0);
    assert_int_equal(vt_stt_pocketsphinx.create(mb, NULL, 0, &b, err, sizeof err), 0);
    assert_int_equal(vt_stt_pocketsphinx.create(mp, NULL, 0, &pa, err, sizeof err), 0);
    assert_int_equal(vt_stt_pocketsphinx.create(mp, NULL, 0, &pb, err, sizeof err), 0);
    heard *h = calloc(4, sizeof *h);
    for (int i = 0; i < N_UTT; i++) {
        hear(a, i, &loud[i], &h[0]);
        hear(b, i, &quiet[i], &h[1]);
        hear(pa, i, &loud[i], &h[2]);
        hear(pb, i, &quiet[i], &h[3]);
        same(&h[0], &h[2], "loud", i);
        same(&h[1], &h[3], "quiet", i);
    }
    vt_ps_pool_info info;
    assert_int_equal(vt_stt_pocketsphinx_pool(mp, &info), 0);
    printf("decoders: shared model: %zu decoder(s), %llu lends, peak %zu\n", info.decoders,
           (unsigned long long)info.lends, info.peak);
    assert_int_equal(info.decoders, 1); /* both sessions on the one decoder */
    assert_int_equal(info.lent, 0);
    assert_true(info.lends >= 2 * N_UTT);
    free(h);
    vt_stt_pocketsphinx.destroy(a);
    vt_stt_pocketsphinx.destroy(b);
    vt_stt_pocketsphinx.destroy(pa);
    vt_stt_pocketsphinx.destroy(pb);
    vt_stt_pocketsphinx.unload(ma);
    vt_stt_pocketsphinx.unload(mb);
    vt_stt_pocketsphinx.unload(mp);
}

/* Sessions cost no decoder until they speak; utterances in progress at once
 * each hold one; those left idle past idle_ms are freed down to the one
 * the pool keeps. */
static void decoders_follow_utterances(void **st)
{
    (void)st;
    char err[512];
    const vt_opt o[] = {{"idle_ms", "200"}};
    void *m = NULL, *s[3] = {NULL, NULL, NULL};
    assert_int_equal(vt_stt_pocketsphinx.load(o, 1, &m, err, sizeof err), 0);
    vt_ps_pool_info info;
    for (int i = 0; i < 3; i++)
        assert_int_equal(vt_stt_pocketsphinx.create(m, NULL, 0, &s[i], err, sizeof err), 0);
    assert_int_equal(vt_stt_pocketsphinx_pool(m, &info), 0);
    assert_int_equal(info.made, 1); /* the one made at load: sessions made none */
    for (int i = 0; i < 3; i++) {
        assert_int_equal(vt_stt_pocketsphinx.begin(s[i]), 0);
        assert_int_equal(vt_stt_pocketsphinx.feed(s[i], loud[0].pcm, 3200), 0);
    }
    assert_int_equal(vt_stt_pocketsphinx_pool(m, &info), 0);
    assert_int_equal(info.decoders, 3);
    assert_int_equal(info.lent, 3);
    vt_stt_result *r = malloc(sizeof *r);
    for (int i = 0; i < 3; i++)
        assert_int_equal(vt_stt_pocketsphinx.end(s[i], r), 0);
    free(r);
    assert_int_equal(vt_stt_pocketsphinx_pool(m, &info), 0);
    assert_int_equal(info.lent, 0);
    assert_int_equal(info.peak, 3);
    int64_t t0 = vt_now_us();
    while (info.decoders > 1 && vt_now_us() - t0 < 10000000) {
        usleep(50000);
        vt_stt_pocketsphinx_pool(m, &info);
    }
    printf("decoders: idle ones freed after %.0f ms\n", (double)(vt_now_us() - t0) / 1000.0);
    assert_int_equal(info.decoders, 1);
    for (int i = 0; i < 3; i++)
        vt_stt_pocketsphinx.destroy(s[i]);
    vt_stt_pocketsphinx.unload(m);
}

/* A minute of the loud speaker's words with "stop" from the quiet one
 * (0.5 s after `at`); returns the first hit's sample or -1. */
static int64_t spot_once(void *kws, int16_t *mix, size_t n)
{
    vt_kws_hit hit;
    assert_int_equal(vt_kws_pocketsphinx.reset(kws), 0);
    for (size_t off = 0; off < n; off += 320) {
        size_t m = n - off < 320 ? n - off : 320;
        if (vt_kws_pocketsphinx.feed(kws, mix + off, m, &hit) == 1)
            return (int64_t)hit.at_sample;
    }
    return -1;
}

/* Spotters of one keyword list share decoders, lent from reset to pause,
 * and hit where their own decoder hits. */
static void lent_spotters_hit_as_their_own(void **st)
{
    (void)st;
    char err[512];
    vt_keyword kw[] = {{"stop", 0}, {"wait", 0}};
    void *mo = NULL, *mp = NULL, *own = NULL, *pa = NULL, *pb = NULL;
    assert_int_equal(vt_kws_pocketsphinx.load(NULL, 0, &mo, err, sizeof err), 0);
    assert_int_equal(vt_kws_pocketsphinx.load(NULL, 0, &mp, err, sizeof err), 0);
    assert_int_equal(vt_kws_pocketsphinx.create(mo, NULL, 0, kw, 2, &own, err, sizeof err), 0);
    assert_int_equal(vt_kws_pocketsphinx.create(mp, NULL, 0, kw, 2, &pa, err, sizeof err), 0);
    vt_kws_pocketsphinx.pause(pa);
    assert_int_equal(vt_kws_pocketsphinx.create(mp, NULL, 0, kw, 2, &pb, err, sizeof err), 0);
    vt_kws_pocketsphinx.pause(pb);
    vt_ps_pool_info info;
    assert_int_equal(vt_kws_pocketsphinx_pool(mp, &info), 0);
    assert_int_equal(info.decoders, 1); /* one list, one decoder for both */
    assert_int_equal(info.lent, 0);
    size_t n = loud[2].n + quiet[2].n + RATE;
    int16_t *mix = calloc(n, sizeof *mix);
    memcpy(mix, loud[2].pcm, loud[2].n * sizeof *mix);
    for (size_t i = 0; i < quiet[2].n; i++)
        mix[loud[2].n + i] = (int16_t)(quiet[2].pcm[i] * 4);
    for (int round = 0; round < 2; round++) {
        int64_t o = spot_once(own, mix, n);
        int64_t a = spot_once(pa, mix, n);
        vt_kws_pocketsphinx.pause(pa);
        int64_t b = spot_once(pb, mix, n);
        vt_kws_pocketsphinx.pause(pb);
        printf("decoders: spotter round %d: own %lld, lent %lld and %lld\n", round,
               (long long)o, (long long)a, (long long)b);
        assert_true(o > (int64_t)loud[2].n);
        assert_int_equal(a, o);
        assert_int_equal(b, o);
    }
    assert_int_equal(vt_kws_pocketsphinx_pool(mp, &info), 0);
    assert_int_equal(info.decoders, 1);
    free(mix);
    vt_kws_pocketsphinx.destroy(own);
    vt_kws_pocketsphinx.destroy(pa);
    vt_kws_pocketsphinx.destroy(pb);
    vt_kws_pocketsphinx.unload(mo);
    vt_kws_pocketsphinx.unload(mp);
}

/* The phone-loop pass (expect_phone=1, what bench_hear --grammar-first
 * measures): it runs on the lent decoder after the grammar's, and the
 * grammar fits an expected answer better, against the loop, than a
 * question it does not hold. */
#if defined(__SANITIZE_ADDRESS__)
#define VT_PHONE_TEST 0 /* pocketsphinx's allphone search leaks 1 KB at ps_free (LeakSanitizer) */
#else
#define VT_PHONE_TEST 1
#endif
#if VT_PHONE_TEST
static void phone_loop_scores_the_grammar(void **st)
{
    (void)st;
    char err[512];
    void *m = NULL, *ctx = NULL;
    const vt_opt o[] = {{"expect_phone", "1"}};
    assert_int_equal(vt_stt_pocketsphinx.load(NULL, 0, &m, err, sizeof err), 0);
    assert_int_equal(vt_stt_pocketsphinx.create(m, o, 1, &ctx, err, sizeof err), 0);
    heard *h = calloc(2, sizeof *h);
    hear(ctx, 1, &loud[1], &h[0]); /* "fifty six", expected */
    hear(ctx, 1, &loud[2], &h[1]); /* a question */
    double fit[2];
    for (int i = 0; i < 2; i++) {
        assert_true(h[i].info.ran);
        assert_true(h[i].info.phone_ran);
        assert_true(h[i].info.phone_score < 0);
        assert_true(h[i].info.frames > 0);
        fit[i] = (double)(h[i].info.grammar_score - h[i].info.phone_score) / h[i].info.frames;
        printf("decoders: \"%s\": grammar - phone loop %.1f a frame\n", h[i].r.text, fit[i]);
    }
    assert_true(fit[0] > fit[1]);
    free(h);
    vt_stt_pocketsphinx.destroy(ctx);
    vt_stt_pocketsphinx.unload(m);
}
#endif

/* expect_garbage: the grammar with a loop of common words beside the
 * answers hears the expected answer as the answer, and a question as the
 * loop (bench_hear's grammar-first rule, docs/BENCHMARKS.md). */
static void word_loop_tells_answers_from_questions(void **st)
{
    (void)st;
    char err[512];
    void *m = NULL, *ctx = NULL;
    const vt_opt o[] = {{"expect_garbage", "1e-12"}};
    assert_int_equal(vt_stt_pocketsphinx.load(NULL, 0, &m, err, sizeof err), 0);
    assert_int_equal(vt_stt_pocketsphinx.create(m, o, 1, &ctx, err, sizeof err), 0);
    heard *h = calloc(3, sizeof *h);
    hear(ctx, 1, &loud[1], &h[0]); /* "fifty six", expected */
    hear(ctx, 1, &loud[0], &h[1]); /* "what is seven times eight" */
    hear(ctx, 1, &loud[2], &h[2]); /* "could you tell me why the sky is blue" */
    for (int i = 0; i < 3; i++) {
        assert_true(h[i].info.loop_ran);
        assert_true(h[i].info.loop_cpu_s > 0);
        printf("decoders: \"%s\": the loop grammar heard \"%s\"%s\n", h[i].r.text,
               h[i].info.loop_text, h[i].info.loop_garbage ? " (the loop)" : "");
    }
    assert_string_equal(h[0].info.loop_text, "fifty six");
    assert_false(h[0].info.loop_garbage);
    assert_true(h[1].info.loop_garbage);
    assert_true(h[2].info.loop_garbage);
    /* the loop pass changes nothing of what is given */
    assert_string_equal(h[0].r.text, "fifty six");
    free(h);
    /* a weight out of range is refused, saying which option */
    const vt_opt bad[] = {{"expect_garbage", "-1"}};
    void *c2 = NULL;
    assert_int_not_equal(vt_stt_pocketsphinx.create(m, bad, 1, &c2, err, sizeof err), 0);
    assert_non_null(strstr(err, "expect_garbage"));
    vt_stt_pocketsphinx.destroy(ctx);
    vt_stt_pocketsphinx.unload(m);
}

/* expect_first: while answers are expected the loop grammar is streamed;
 * an answer is given without the full model, a question goes to the full
 * model after its end and is heard as a streamed decoder hears it. */
static void grammar_first_spares_the_full_model(void **st)
{
    (void)st;
    char err[512];
    void *m = NULL, *first = NULL, *plain = NULL;
    const vt_opt lo[] = {{"expect_first", "1"}};
    assert_int_equal(vt_stt_pocketsphinx.load(lo, 1, &m, err, sizeof err), 0);
    const vt_opt off[] = {{"expect_first", "0"}};
    assert_int_equal(vt_stt_pocketsphinx.create(m, NULL, 0, &first, err, sizeof err), 0);
    assert_int_equal(vt_stt_pocketsphinx.create(m, off, 1, &plain, err, sizeof err), 0);
    heard *h = calloc(4, sizeof *h);
    hear(first, 1, &loud[1], &h[0]); /* "fifty six", expected */
    hear(first, 1, &loud[2], &h[1]); /* "could you tell me why the sky is blue" */
    hear(plain, 1, &loud[1], &h[2]);
    hear(plain, 1, &loud[2], &h[3]);
    for (int i = 0; i < 4; i++)
        printf("decoders: %s: \"%s\" (loop \"%s\"%s, full model %.3f s)\n",
               i < 2 ? "grammar first" : "as before", h[i].r.text, h[i].info.loop_text,
               h[i].info.first_taken ? ", taken" : "", h[i].info.lm_cpu_s);
    assert_string_equal(h[0].r.text, "fifty six");
    assert_true(h[0].info.first_taken);
    assert_true(h[0].info.lm_cpu_s == 0);
    assert_true(h[0].r.n_words == 2 && h[0].r.words[1].end_ms > h[0].r.words[0].start_ms);
    assert_false(h[1].info.first_taken);
    assert_true(h[1].info.loop_garbage);
    assert_true(h[1].info.lm_cpu_s > 0);
    assert_string_equal(h[2].r.text, "fifty six");
    assert_false(h[2].info.loop_ran);
    /* the question: the full model's words, about as well heard as by a
     * streamed decoder (not word for word: pocketsphinx's PTM scorer seeds
     * an utterance with the last frame its decoder heard, here the loop
     * pass's) */
    int nref = 0;
    int e_first = vt_test_word_errors(k_loud[2], h[1].r.text, &nref);
    int e_plain = vt_test_word_errors(k_loud[2], h[3].r.text, &nref);
    printf("decoders: the question's word errors: %d grammar first, %d as before (of %d)\n",
           e_first, e_plain, nref);
    assert_true(e_first <= e_plain + 2);
    assert_true(e_first * 2 < nref);
    free(h);
    vt_stt_pocketsphinx.destroy(first);
    vt_stt_pocketsphinx.destroy(plain);
    vt_stt_pocketsphinx.unload(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lent_decoders_hear_as_their_own),
        cmocka_unit_test(decoders_follow_utterances),
        cmocka_unit_test(lent_spotters_hit_as_their_own),
        cmocka_unit_test(word_loop_tells_answers_from_questions),
        cmocka_unit_test(grammar_first_spares_the_full_model),
#if VT_PHONE_TEST
        cmocka_unit_test(phone_loop_scores_the_grammar),
#endif
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
