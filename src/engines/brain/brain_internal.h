/*
 * What the brain's files share and the tests reach into (the vt__ names):
 * writing an error message into the caller's err buffer, streaming a
 * prepared text as tokens, and finding lesson files. Not part of the public
 * API. These helpers live in brain.c, which knows no brain by name (the
 * table of brains is registry.c), so the brains depend on brain.c and never
 * the other way round.
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


/* Writes the message into err (when err && errlen) and returns rc, for
 * `return vt__brain_fail(err, errlen, VT_EIO, "...")`. */
int vt__brain_fail(char *err, size_t errlen, int rc, const char *fmt, ...) VT_PRINTF(4, 5);
/* Empties err (when err && errlen): the start of every call that can fail. */
void vt__brain_clear_error(char *err, size_t errlen);

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


#endif
