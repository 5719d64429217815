/*
 * The tutor's brains: what answers the person, judges whether their sentence
 * is complete, and picks the filler clip that covers the wait (seed 000).
 *
 * DESIGN
 * Two brains sit behind one ops table (voicetutor/engine.h, vt_brain_ops):
 *
 *   "llm"     any OpenAI-compatible chat-completions server (OpenAI, Ollama,
 *             llama.cpp's server, vLLM). The answer streams over HTTP(S) as
 *             server-sent events (libcurl); the judge and the filler choice
 *             are two small requests with short deadlines.
 *   "lesson"  the offline default: a tutor that teaches from a lesson file
 *             (docs/LESSONS.md), understands repeat / hint / skip / explain /
 *             next, streams its replies token by token like the LLM, and
 *             keeps the learner's progress in SQLite.
 *
 * Both stream tokens through on_token as they are produced; the core's
 * phrase buffer turns them into phrases for TTS. Neither ever sleeps.
 *
 * OPTIONS (vt_opt key=value; every key is optional)
 *   llm:
 *     base_url               http://127.0.0.1:11434/v1 (Ollama). The request
 *                            goes to base_url + "/chat/completions".
 *     model                  llama3.2
 *     api_key_env            OPENAI_API_KEY: the NAME of the environment
 *                            variable holding the key. The key itself is only
 *                            ever put in the Authorization header; it is never
 *                            logged, echoed or copied into an error message.
 *                            Unset or empty: no Authorization header.
 *     system_prompt          the tutor's persona (a short spoken-style default)
 *     connect_timeout_ms     3000   TCP/TLS connection
 *     first_token_timeout_ms 10000  request sent -> first token
 *     stall_timeout_ms       5000   longest silence inside a stream
 *     max_reply_ms           120000 whole answer
 *     judge_deadline_ms      600    completeness judge (then: heuristic)
 *     filler_deadline_ms     400    filler choice (then: random)
 *     max_tokens             300    answer length cap sent to the server
 *     temperature            0.7
 *     history_turns          40     most recent turns sent
 *     lesson                 a lesson (name or path) given to the model as
 *                            context so it tutors around the same material
 *     lessons_dir            where lesson names are looked up
 *   lesson:
 *     lesson                 name under the lessons directory (times-tables,
 *                            capitals, science) or a path; default
 *                            times-tables
 *     lessons_dir            $VT_LESSONS_DIR, else the source tree's lessons/
 *     db                     SQLite progress file; default
 *                            $XDG_DATA_HOME/voicetutor/progress.db, else
 *                            ~/.local/share/voicetutor/progress.db; "none"
 *                            keeps no progress. Created on first use.
 *     user_id                default "default"
 *
 * THREAD SAFETY: a ctx serves one session. reply, judge and choose_filler
 * may run at the same time on different worker threads (the filler choice
 * and the answer start together); destroy only after every call returned.
 *
 * ERRORS: 0 or a negative VT_E* code, and a message in the call's err
 * buffer (the API key never appears in it). A failed reply is reported by
 * the worker to the core (vt_core_llm_error), which speaks its apology and
 * emits the error event; the session goes on.
 *
 * FILES: registry.c is the table of brains (vt_brain_find); brain.c the
 * helpers every brain uses and the wrappers below; llm.c, lesson_brain.c
 * the brains.
 */
#ifndef VT_ENGINES_BRAIN_H
#define VT_ENGINES_BRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "voicetutor/engine.h"

#ifdef __cplusplus
extern "C" {
#endif

extern const vt_brain_ops vt_brain_llm;
extern const vt_brain_ops vt_brain_lesson;

/* The registry (registry.c): "llm" (also "openai") or "lesson"; NULL when
 * unknown. */
const vt_brain_ops *vt_brain_find(const char *name);
/* Comma separated list of the names, for usage messages. */
const char *vt_brain_names(void);

/* What the tutor says first (ops->greeting): for the lesson brain its intro
 * (or "welcome back") and the question where the learner resumes; for the
 * llm brain the "greeting" option or a short default; "" for a brain
 * without the op. Returns the length or < 0. The lesson brain counts the
 * question as asked. */
int vt_brain_greeting(const vt_brain_ops *ops, void *ctx, char *buf, size_t cap);

/* What the brain expects to hear next (ops->expected); 0 for a brain
 * without the op. */
int vt_brain_expected(const vt_brain_ops *ops, void *ctx,
                      char phrases[][VT_EXPECTED_PHRASE_MAX], size_t n);

/* The judge with its fallback: the brain's verdict when it gives one, else
 * the core's embedded heuristic (vt_judge_heuristic). *from_brain (may be
 * NULL) says which answered. Always 0 or 1. */
int vt_brain_judge_or_heuristic(const vt_brain_ops *ops, void *ctx, const char *text,
                                const volatile int *abort, int *from_brain);
/* The filler choice with its fallback: the brain's index when valid, else a
 * random one drawn from *rng (xorshift state, non-zero). -1 when n == 0. */
int vt_brain_filler_or_random(const vt_brain_ops *ops, void *ctx, const char *text,
                              const vt_filler_desc *fillers, size_t n,
                              const volatile int *abort, uint32_t *rng, int *from_brain);

/* ---- the lesson brain's extras (ctx from vt_brain_lesson.create) ------ */
/* vt_brain_lesson.expected gives the accepted answers of the question now
 * waiting, as a recogniser would hear them (digits spelled out: "42" ->
 * "forty two"), lower case, so the runtime can restrict the recogniser to
 * them plus vt_lesson_commands(); 0 when no question waits. */

/* The command words the lesson brain understands; returns their count. */
size_t vt_lesson_commands(const char *const **words);

typedef struct vt_lesson_status {
    char lesson[64];        /* the lesson's id (file name without .lesson) */
    char title[96];
    int position;           /* index of the question waiting */
    int n_questions;
    int asked, right, wrong, skipped;  /* this user, this lesson, all sessions */
    int finished;           /* the last question was done in this session */
} vt_lesson_status;
/* VT_EINVAL when ctx is not a lesson brain's (the ctx carries a tag). */
int vt_lesson_get_status(void *ctx, vt_lesson_status *st);

#ifdef __cplusplus
}
#endif
#endif
