/*
 * Helpers for the speech tests: test speech is generated at test time with
 * the flite command line (no audio is checked in), kept in a temporary
 * folder removed at exit, and scored by word error rate (support/wer.h,
 * shared with bench_speech).
 */
#ifndef VT_TESTS_SPEECH_TESTUTIL_H
#define VT_TESTS_SPEECH_TESTUTIL_H
#include <stddef.h>
#include <stdint.h>
#include "support/wer.h"

/* A fresh temporary folder for this process (removed at exit). */
const char *vt_test_dir(void);
/* Path of NAME inside vt_test_dir() (static buffer per call slot). */
const char *vt_test_path(const char *name, char *buf, size_t cap);
/* Run `flite -voice VOICE -t TEXT -o PATH`; 0 on success. */
int vt_test_flite(const char *voice, const char *text, const char *path);
/* flite-generated speech read back as 16 kHz mono; *pcm malloc'd. */
int vt_test_speech(const char *voice, const char *text, int16_t **pcm, size_t *n);
/* Run argv through fn with stdout and stderr captured into out/err. */
int vt_test_capture(int (*fn)(int, char **), int argc, char **argv, char *out, size_t out_cap,
                    char *err, size_t err_cap);
#endif
