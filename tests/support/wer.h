/*
 * Scoring recognised speech, shared by the speech tests and bench_speech so
 * that the figures in docs/BENCHMARKS.md and the bounds the tests assert are
 * computed the same way: word error rate (edit distance over words, case
 * and punctuation ignored) and the sentences both speak.
 */
#ifndef VT_TESTS_SUPPORT_WER_H
#define VT_TESTS_SUPPORT_WER_H

/* Edits between ref and hyp (up to 128 words each); *ref_words (may be
 * NULL) receives the reference length. Not thread-safe (static tables). */
int vt_test_word_errors(const char *ref, const char *hyp, int *ref_words);

/* Questions a learner asks, for recognition tests: the tests use the first
 * VT_TEST_N_SHORT, the benchmarks all VT_TEST_N_SENTENCES. */
#define VT_TEST_N_SENTENCES 10
#define VT_TEST_N_SHORT 6
extern const char *const vt_test_sentences[VT_TEST_N_SENTENCES];
#endif
