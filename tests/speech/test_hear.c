/*
 * Issue 12: the recogniser, told what the lesson expects, accepts spoken
 * answers it did not hear with the full language model alone. A fixed
 * subset of the augmented test set (tests/speech/hear_set.h: every 9th
 * right answer and every 9th free question in flite awb, slt and espeak-ng
 * en-us, each with its sox change) is recognised once; the biased text
 * must be accepted at least as often as the floor below, and free
 * questions must not be turned into answers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "speech/hear_set.h"

/* Measured on this subset (deterministic: flite, espeak-ng, the seeded
 * noise and pocketsphinx repeat): 20 of 30 right answers accepted biased
 * (67 %), 12-13 of 30 with the full language model. The margin is three
 * items or more: the floor is 55 % (17 of 30), and the bias must gain at
 * least 4 answers over the full model (it gained 7-8). */
#define HEAR_FLOOR_PCT 55
#define HEAR_MIN_GAIN 4

static void biased_answers_are_accepted(void **state)
{
    (void)state;
    assert_int_equal(hs_init(VT_LESSONS_DIR), 0);
    hs_set s;
    /* voices 0 (flite awb), 2 (flite slt), 4 (espeak-ng en-us) */
    assert_int_equal(hs_build(&s, 9, (1u << 0) | (1u << 2) | (1u << 4)), 0);
    void *model = NULL, *ctx = NULL;
    char err[512];
    assert_int_equal(vt_stt_open(&vt_stt_pocketsphinx, NULL, 0, &model, &ctx, err, sizeof err), 0);
    int ans = 0, before = 0, after = 0, free_n = 0, free_as_answer = 0;
    for (size_t i = 0; i < s.n; i++) {
        const hs_item *it = &s.items[i];
        if (it->kind == HS_WRONG)
            continue;
        int16_t *pcm = NULL;
        size_t n = 0;
        assert_int_equal(hs_render(it, &pcm, &n), 0);
        const char *a[HS_MAX_ANS];
        const char *const *cmds = NULL;
        int na = hs_expected(it, a);
        size_t nc = hs_commands(&cmds);
        assert_int_equal(vt_stt_pocketsphinx.expect(ctx, a, (size_t)na, cmds, nc), 0);
        vt_stt_result r;
        assert_int_equal(vt_speech_transcribe_pcm(&vt_stt_pocketsphinx, ctx, pcm, n, &r), 0);
        free(pcm);
        vt_stt_ps_info info;
        assert_int_equal(vt_stt_pocketsphinx_info(ctx, &info), 0);
        assert_true(info.ran);
        if (it->kind == HS_ANSWER) {
            ans++;
            before += hs_accepts(it, info.lm_text);
            after += hs_accepts(it, r.text);
        } else {
            free_n++;
            free_as_answer += hs_accepts(it, r.text) && !hs_accepts(it, info.lm_text);
        }
    }
    printf("hear: %d right answers: accepted %d with the full LM, %d biased (floor %d %%); "
           "%d free questions, %d turned into a right answer\n",
           ans, before, after, HEAR_FLOOR_PCT, free_n, free_as_answer);
    assert_true(ans >= 20);
    assert_true(after * 100 >= ans * HEAR_FLOOR_PCT);
    assert_true(after >= before + HEAR_MIN_GAIN);
    assert_int_equal(free_as_answer, 0);
    /* clearing the expectation: no grammar pass */
    assert_int_equal(vt_stt_pocketsphinx.expect(ctx, NULL, 0, NULL, 0), 0);
    vt_stt_close(&vt_stt_pocketsphinx, model, ctx);
    hs_free(&s);
    hs_done();
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(biased_answers_are_accepted)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
