/*
 * voicetutor engines — the ops tables every engine sits behind.
 *
 * DESIGN
 * Engines are synchronous: each call does its work and returns. The runtime
 * (worker pool, issue 3) makes them asynchronous by running calls on worker
 * threads with a generation id and an abort flag; `simulate` runs them inline
 * in virtual time. An engine kind is an ops table plus a `void *ctx` (Redis's
 * ConnectionType, miniaudio's backends). Each kind has a scripted fake for the
 * core's tests and real engines (pocketsphinx, flite, espeak-ng, the LLM and
 * lesson brains).
 *
 * Long-running calls take `const volatile int *abort`: when *abort becomes
 * non-zero the call stops as soon as it can and returns VT_ECANCELED. Callbacks
 * are called on the calling thread, never after the call has returned.
 *
 * MODELS AND SESSIONS (the speech kinds; whisper.cpp's context vs state):
 * load(opts) -> model reads what every session can share (model files,
 * registered voices, the resolved configuration) once per process;
 * create(model, opts) -> ctx makes one session's state from it (a decoder, a
 * speaking rate). load and create each read their own keys from the option
 * list they are given, so passing one list to both is the normal use.
 *
 * THE READ-ONLY RULE: once load() has returned, nothing writes to a model.
 * Any number of ctxs created from one model may therefore be used at the same
 * time on different threads (each ctx by one thread at a time), and create()
 * and destroy() may run on any thread while other ctxs of the same model
 * work. What an engine cannot share read-only stays in the ctx (see each
 * engine's DESIGN note: pocketsphinx's language model keeps a scoring cache
 * inside it, so each decoder loads its own). unload(model) only after every
 * ctx created from it was destroyed.
 *
 * Brains have create() only: what a brain holds is the session's own (a
 * lesson position, an HTTP connection pool); a lesson file is small.
 *
 * Each family is looked up by name in its registry (vt_stt_find, vt_kws_find,
 * vt_tts_find in src/engines/speech/registry.c; vt_brain_find in
 * src/engines/brain/registry.c), never by naming an engine's table.
 *
 * OWNERSHIP: load() returns a model freed with unload(); create() returns a
 * ctx freed with destroy(). Strings and arrays handed to callbacks are valid
 * only during the callback. Per-utterance state is reset explicitly.
 *
 * ERRORS: 0 or a negative VT_E* code (voicetutor/core.h); on error a message
 * is written to err (what is wrong and how to fix it).
 */
#ifndef VOICETUTOR_ENGINE_H
#define VOICETUTOR_ENGINE_H

#include <stddef.h>
#include <stdint.h>
#include "voicetutor/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A generic key=value option list, so engines can be configured from the
 * config file and the command line without the ops table knowing the keys. */
typedef struct vt_opt {
    const char *key;
    const char *value;
} vt_opt;
/* Returns the value for key, or def. */
const char *vt_opt_get(const vt_opt *opts, size_t n, const char *key, const char *def);

/* ---- speech-to-text: streaming, one model per process, one ctx per session */
typedef struct vt_stt_word {
    char text[48];
    uint32_t start_ms, end_ms;   /* from the utterance start */
} vt_stt_word;

typedef struct vt_stt_result {
    char text[1024];
    vt_stt_word words[128];
    size_t n_words;
} vt_stt_result;

typedef struct vt_stt_ops {
    const char *name;
    int (*load)(const vt_opt *opts, size_t n_opts, void **model, char *err, size_t errlen);
    void (*unload)(void *model);
    int (*create)(void *model, const vt_opt *opts, size_t n_opts, void **ctx, char *err,
                  size_t errlen);
    void (*destroy)(void *ctx);
    /* Start an utterance. Audio is 16 kHz mono s16. */
    int (*begin)(void *ctx);
    int (*feed)(void *ctx, const int16_t *pcm, size_t n);
    /* Interim text so far (may be empty); returns its length or < 0. */
    int (*partial)(void *ctx, char *buf, size_t cap);
    /* End the utterance and give the final text with word times. */
    int (*end)(void *ctx, vt_stt_result *out);
    /* Optional (NULL: the engine streams only). A whole utterance at once,
     * for engines that recognise a recording rather than a stream (the
     * OpenAI-compatible remote recogniser): pcm is 16 kHz mono, expected
     * the phrases the tutor expects to hear (may be NULL; the engine may
     * bias towards them). Honours abort; on failure err says why (never a
     * secret). The runtime calls it on an io worker with each utterance's
     * audio to replace the streaming recogniser's final text. */
    int (*transcribe)(void *ctx, const int16_t *pcm, size_t n, const char *const *expected,
                      size_t n_expected, vt_stt_result *out, const volatile int *abort,
                      char *err, size_t errlen);
    /* Optional (NULL: the engine hears everything alike). What the
     * utterances begun after this call are likely to be: the answers the
     * brain expects (vt_brain_ops.expected, spoken form) and the commands
     * it understands. The engine may bias its recognition towards them but
     * must still hear anything else; n_answers == 0 clears the bias.
     * Called between utterances, on the thread that uses ctx. */
    int (*expect)(void *ctx, const char *const *answers, size_t n_answers,
                  const char *const *commands, size_t n_commands);
} vt_stt_ops;

/* ---- keyword spotting: the interruption commands ---------------------- */
typedef struct vt_keyword {
    const char *word;     /* "stop", "hold on" */
    double threshold;     /* pocketsphinx kws threshold, e.g. 1e-10 */
} vt_keyword;

typedef struct vt_kws_hit {
    char word[32];
    uint64_t at_sample;   /* sample count (since reset) where the hit was found */
} vt_kws_hit;

typedef struct vt_kws_ops {
    const char *name;
    int (*load)(const vt_opt *opts, size_t n_opts, void **model, char *err, size_t errlen);
    void (*unload)(void *model);
    /* The keyword list is per ctx: sessions of one model may listen for
     * different commands. */
    int (*create)(void *model, const vt_opt *opts, size_t n_opts, const vt_keyword *kw,
                  size_t n_kw, void **ctx, char *err, size_t errlen);
    void (*destroy)(void *ctx);
    int (*reset)(void *ctx);
    /* Returns 1 and fills hit when a keyword was spotted in this audio, 0 if not. */
    int (*feed)(void *ctx, const int16_t *pcm, size_t n, vt_kws_hit *hit);
    /* Optional (NULL: nothing to do). Not listening until the next reset:
     * the engine may free what listening holds (pocketsphinx gives its
     * decoder back to the pool). */
    void (*pause)(void *ctx);
} vt_kws_ops;

/* ---- text-to-speech: streaming chunks with word timings ---------------- */
/* pcm at the engine's rate (sample_rate()); word offsets in samples within
 * this chunk. Return non-zero to abort. */
typedef int (*vt_tts_chunk_fn)(void *ud, const int16_t *pcm, size_t n,
                               const vt_word *words, size_t n_words);

typedef struct vt_tts_ops {
    const char *name;
    int (*load)(const vt_opt *opts, size_t n_opts, void **model, char *err, size_t errlen);
    void (*unload)(void *model);
    int (*create)(void *model, const vt_opt *opts, size_t n_opts, void **ctx, char *err,
                  size_t errlen);
    void (*destroy)(void *ctx);
    int (*sample_rate)(void *ctx);
    int (*synth)(void *ctx, const char *text, vt_tts_chunk_fn on_chunk, void *ud,
                 const volatile int *abort);
} vt_tts_ops;

/* ---- brains: the answer, the completeness judge, the filler choice ----- */
typedef int (*vt_token_fn)(void *ud, const char *token);  /* non-zero: stop */

typedef struct vt_filler_desc {
    const char *text;
    const char *description;
} vt_filler_desc;

/* Longest phrase a brain expects to hear next (vt_brain_ops.expected). */
#define VT_EXPECTED_PHRASE_MAX 64

/* A brain. Every call that can fail takes `char *err, size_t errlen`: on
 * failure a message (what went wrong, never a secret such as an API key) is
 * written there; err may be NULL when errlen is 0; on success err is left
 * empty. There is no thread-local "last error". */
typedef struct vt_brain_ops {
    const char *name;
    /* The character (lesson) a session gets when it names none or names one
     * the brain does not know, passed as option "lesson"; NULL: no default
     * (the brain starts without a "lesson" option). */
    const char *default_character;
    int (*create)(const vt_opt *opts, size_t n_opts, void **ctx, char *err, size_t errlen);
    void (*destroy)(void *ctx);
    /* What the tutor says first (a lesson's intro and its first question;
     * the LLM brain's "greeting" option). Returns the length written to buf
     * (0: nothing to say, the caller uses its own) or < 0. May change the
     * brain's state (the lesson brain counts the question as asked). */
    int (*greeting)(void *ctx, char *buf, size_t cap);
    /* Stream the answer to the last user turn of history (what was actually
     * said, "..." where cut). Tokens through on_token. */
    int (*reply)(void *ctx, const vt_turn *history, size_t n_turns,
                 vt_token_fn on_token, void *ud, const volatile int *abort,
                 char *err, size_t errlen);
    /* 1 complete, 0 incomplete, < 0 error (the caller falls back). */
    int (*judge)(void *ctx, const char *text, const volatile int *abort,
                 char *err, size_t errlen);
    /* Index into fillers, or < 0 (the caller picks at random). */
    int (*choose_filler)(void *ctx, const char *text, const vt_filler_desc *fillers,
                         size_t n, const volatile int *abort, char *err, size_t errlen);
    /* What the brain expects to hear next, as a recogniser would hear it
     * (lower case, numbers spelled out), so the runtime can bias or restrict
     * the recogniser: the lesson brain writes its waiting question's
     * accepted answers. Returns how many phrases were written (at most n);
     * 0 when it expects nothing in particular (the LLM brain), < 0 on a bad
     * argument. */
    int (*expected)(void *ctx, char phrases[][VT_EXPECTED_PHRASE_MAX], size_t n);
} vt_brain_ops;

#ifdef __cplusplus
}
#endif
#endif
