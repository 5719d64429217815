/*
 * The brains' shared plumbing: lookup by name, the per-thread error message,
 * the judge and filler fallbacks (heuristic / random), streaming a ready
 * text as tokens, and finding lesson files. Kept apart from the two brains
 * so both behave the same at their edges.
 */
#include "brain_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "voicetutor/core.h"

#ifndef VT_LESSONS_DIR
#define VT_LESSONS_DIR "lessons"
#endif

static _Thread_local char last_error[512];

const char *vt_brain_error(void)
{
    return last_error;
}

void vt__brain_clear_error(void)
{
    last_error[0] = '\0';
}

int vt__brain_fail(int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return rc;
}

const vt_brain_ops *vt_brain_find(const char *name)
{
    if (!name)
        return NULL;
    if (strcmp(name, "llm") == 0 || strcmp(name, "openai") == 0)
        return &vt_brain_llm;
    if (strcmp(name, "lesson") == 0)
        return &vt_brain_lesson;
    return NULL;
}

const char *vt_brain_names(void)
{
    return "lesson, llm";
}

int vt_brain_greeting(const vt_brain_ops *ops, void *ctx, char *buf, size_t cap)
{
    if (!ops || !ctx || !buf || !cap)
        return VT_EINVAL;
    if (ops == &vt_brain_llm)
        return vt__llm_greeting(ctx, buf, cap);
    if (ops == &vt_brain_lesson)
        return vt__lesson_greeting(ctx, buf, cap);
    buf[0] = '\0';
    return 0;
}

int vt_brain_judge_or_heuristic(const vt_brain_ops *ops, void *ctx, const char *text,
                                const volatile int *abort, int *from_brain)
{
    int v = ops && ops->judge ? ops->judge(ctx, text, abort) : VT_EINVAL;
    if (from_brain)
        *from_brain = v == 0 || v == 1;
    if (v == 0 || v == 1)
        return v;
    return vt_judge_heuristic(text ? text : "") ? 1 : 0;
}

int vt_brain_filler_or_random(const vt_brain_ops *ops, void *ctx, const char *text,
                              const vt_filler_desc *fillers, size_t n,
                              const volatile int *abort, uint32_t *rng, int *from_brain)
{
    if (from_brain)
        *from_brain = 0;
    if (n == 0)
        return -1;
    int i = ops && ops->choose_filler ? ops->choose_filler(ctx, text, fillers, n, abort)
                                      : VT_EINVAL;
    if (i >= 0 && (size_t)i < n) {
        if (from_brain)
            *from_brain = 1;
        return i;
    }
    uint32_t x = rng && *rng ? *rng : 2463534242u; /* xorshift32 */
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    if (rng)
        *rng = x;
    return (int)(x % n);
}

int vt__stream_text(const char *text, vt_token_fn on_token, void *ud,
                    const volatile int *abort)
{
    char tok[256];
    const char *p = text ? text : "";
    int first = 1;
    while (*p) {
        while (*p == ' ')
            p++;
        if (!*p)
            break;
        const char *s = p;
        while (*p && *p != ' ')
            p++;
        size_t wl = (size_t)(p - s);
        size_t off = first ? 0 : 1;
        if (wl + off + 1 > sizeof tok)
            wl = sizeof tok - off - 1;
        if (off)
            tok[0] = ' ';
        memcpy(tok + off, s, wl);
        tok[off + wl] = '\0';
        if (abort && *abort)
            return VT_ECANCELED;
        if (on_token && on_token(ud, tok) != 0)
            return VT_ECANCELED;
        first = 0;
    }
    return 0;
}

static int try_path(const char *dir, const char *name, char *path, size_t cap)
{
    if (!dir || !*dir)
        return 0;
    int n = snprintf(path, cap, "%s/%s.lesson", dir, name);
    return n > 0 && (size_t)n < cap && access(path, R_OK) == 0;
}

int vt__lesson_find(const char *name, const char *lessons_dir, char *path, size_t cap,
                    char *err, size_t errlen)
{
    size_t nl = name ? strlen(name) : 0;
    if (!nl) {
        snprintf(err, errlen, "lesson: no lesson name given");
        return VT_EINVAL;
    }
    if (strchr(name, '/') || (nl > 7 && strcmp(name + nl - 7, ".lesson") == 0)) {
        if ((size_t)snprintf(path, cap, "%s", name) >= cap) {
            snprintf(err, errlen, "lesson: path too long");
            return VT_EINVAL;
        }
        if (access(path, R_OK) != 0) {
            snprintf(err, errlen, "lesson: cannot read %s", name);
            return VT_ENOTFOUND;
        }
        return 0;
    }
    const char *env = getenv("VT_LESSONS_DIR");
    if (try_path(lessons_dir, name, path, cap) || try_path(env, name, path, cap) ||
        try_path(VT_LESSONS_DIR, name, path, cap) || try_path("lessons", name, path, cap))
        return 0;
    snprintf(err, errlen,
             "lesson: no lesson named '%s' (looked for %s.lesson in %s%s$VT_LESSONS_DIR=%s, "
             VT_LESSONS_DIR " and ./lessons)",
             name, name, lessons_dir ? lessons_dir : "", lessons_dir ? ", " : "",
             env ? env : "(unset)");
    return VT_ENOTFOUND;
}

