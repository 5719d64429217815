/*
 * The "hear the learner" test set (issue 12), shared by bench_hear and
 * test_hear so the figures in docs/BENCHMARKS.md and the bound the test
 * asserts are computed the same way.
 *
 * Items: each shipped lesson's questions answered right (bare or in a
 * frame: "it's", "i think it's", "is it"), answered wrong (another
 * question's answer), and free questions a learner asks instead of
 * answering. Audio is made at run time: flite (awb, rms, slt, kal16) and
 * espeak-ng (en-us, en-us+f3, en-gb+m3) voices, then one of nine changes
 * through sox or here: none, tempo 0.85 / 1.15, pitch +300 / -300 cents,
 * reverberation, white noise at 10 / 20 dB SNR, a leading "um". Every
 * voice meets every change (the change rotates with the item). Nothing is
 * checked in; files live in the test folder of speech_testutil.c.
 *
 * Scoring: an answer is accepted when the lesson's own matcher
 * (vt__lesson_match) says right; "waits 2 s" is the end-of-turn rule the
 * lesson brain and the core apply to the text (with or without the
 * lesson's context). Not thread-safe.
 */
#ifndef VT_TESTS_HEAR_SET_H
#define VT_TESTS_HEAR_SET_H

#include <stddef.h>
#include <stdint.h>

#include "engines/speech/speech.h"

#define HS_N_VOICES 7
#define HS_N_AUGS 9
#define HS_MAX_ANS 8

typedef enum { HS_ANSWER, HS_WRONG, HS_FREE } hs_kind;

typedef struct hs_item {
    hs_kind kind;
    int lesson, q;          /* the question waiting */
    int voice, aug;
    char text[160];         /* what is said (normalised, the reference) */
} hs_item;

typedef struct hs_set {
    hs_item *items;
    size_t n, cap;
} hs_set;

extern const char *const hs_voice_names[HS_N_VOICES];
extern const char *const hs_aug_names[HS_N_AUGS];
extern const char *const hs_lesson_names[];
extern const size_t hs_n_lessons;

/* Load the shipped lessons (lessons_dir: the project's lessons/). 0 or < 0
 * with the message on stderr. */
int hs_init(const char *lessons_dir);
void hs_done(void);
/* Every item, or every stride-th of each kind (stride 1: the whole set).
 * voices: bit mask of hs_voice_names to use (0: all). */
int hs_build(hs_set *s, int stride, unsigned voices);
void hs_free(hs_set *s);
/* The waiting question's accepted answers as spoken; returns how many. */
int hs_expected(const hs_item *it, const char *out[HS_MAX_ANS]);
/* Render an item to 16 kHz mono (malloc'd). 0 or < 0. */
int hs_render(const hs_item *it, int16_t **pcm, size_t *n);
/* Does the lesson accept text as the right answer to the item's question? */
int hs_accepts(const hs_item *it, const char *text);
/* Would this text wait the long (2 s) silence? context: the lesson's
 * expected answers are given to the judge (vt_judge_heuristic_expected). */
int hs_waits(const hs_item *it, const char *text, int context);
/* The lesson's commands, for vt_stt_ops.expect. */
size_t hs_commands(const char *const **words);

#endif
