/*
 * What the brain's files share and the tests reach into (the vt__ names):
 * the thread-local error message, streaming a prepared text as tokens, and
 * finding lesson files. Not part of the public API.
 */
#ifndef VT_BRAIN_INTERNAL_H
#define VT_BRAIN_INTERNAL_H
#include <stddef.h>
#include <stdint.h>

#include "brain.h"

#if defined(__GNUC__)
#define VT_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define VT_PRINTF(a, b)
#endif


/* Sets vt_brain_error() for this thread and returns rc (for `return
 * vt__brain_fail(VT_EIO, "...")`). */
int vt__brain_fail(int rc, const char *fmt, ...) VT_PRINTF(2, 3);
void vt__brain_clear_error(void);

/* Streams text word by word (" word" after the first), the way an LLM's
 * tokens arrive. Checks abort before every token: VT_ECANCELED when set or
 * when on_token asks to stop. */
int vt__stream_text(const char *text, vt_token_fn on_token, void *ud,
                    const volatile int *abort);

/* Lesson lookup: a path (contains '/' or ends in .lesson) is used as is;
 * a name is looked up as <dir>/<name>.lesson in lessons_dir, then
 * $VT_LESSONS_DIR, then the source tree's lessons/ (VT_LESSONS_DIR), then
 * ./lessons. 0 and the path, or VT_ENOTFOUND with the places tried in err. */
int vt__lesson_find(const char *name, const char *lessons_dir, char *path, size_t cap,
                    char *err, size_t errlen);



/* The per-brain greetings behind vt_brain_greeting(). */
int vt__llm_greeting(void *ctx, char *buf, size_t cap);
int vt__lesson_greeting(void *ctx, char *buf, size_t cap);
#endif
