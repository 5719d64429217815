/*
 * The driver: one conversation — a pure core (src/core), its engines and
 * the jobs that run them — on an executor (exec.h). It is the one
 * implementation of vt_session (session.h) and serves both time bases:
 *
 *   live     src/runtime/runtime.c creates sessions on the pool executor
 *            with the process's engines (serve, talk);
 *   virtual  src/sim creates one on the virtual-time executor with
 *            scripted or real engines (simulate, the scenario tests).
 *
 * What it does (see docs/ARCHITECTURE.md, "Threads"): the core's sink; a
 * speech lane (microphone audio, utterance begin/end and keyword spotting
 * as ordered ops, at most one job at a time, a 2 s pre-roll ring, interim
 * text every partial_ms of audio, keyword hits stamped with the arrival of
 * the audio that held them and counted only with a voice behind them); a
 * synthesis lane (one phrase job at a time, in order); brain jobs (answer,
 * completeness verdict, filler choice). Interruption cancels by
 * generation. The engines come from the setup: the brain ready-made, the
 * speech engines opened by the lanes' first jobs (on a worker, live): the
 * recogniser when the first audio comes, so a session that only types never
 * loads a decoder, and the synthesizer with the first phrase.
 */
#ifndef VT_RUNTIME_DRIVER_H
#define VT_RUNTIME_DRIVER_H

#include "runtime/exec.h"
#include "runtime/session.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vt_session_engines {
    /* Open the recogniser and the keyword spotter for cfg's command words.
     * Runs in the speech lane's first job (a worker, live). Either may be
     * left NULL: without a recogniser utterances end with no text. */
    int (*open_speech)(void *ud, const vt_config *cfg, const vt_stt_ops **stt, void **stt_ctx,
                       const vt_kws_ops **kws, void **kws_ctx, char *err, size_t errlen);
    /* Open the synthesizer; runs in the first synthesis job. */
    int (*open_tts)(void *ud, const vt_tts_ops **tts, void **tts_ctx, char *err, size_t errlen);
    /* Optional (NULL: none). The final recogniser (a remote one, whose
     * vt_stt_ops.transcribe takes a whole utterance): the speech lane keeps
     * each utterance's audio with its pre-roll, and a job on the io pool
     * (lane_final.c) replaces the lane's final text with this engine's,
     * one utterance at a time, in order; on failure the lane's text stands
     * and an `stt_error` event says why. Opened by its first job. */
    int (*open_final)(void *ud, const vt_stt_ops **stt, void **ctx, char *err, size_t errlen);
    /* Optional (NULL: none). The voice that speaks the rest of an answer
     * when the synthesizer failed on one of its phrases (the embedded voice
     * behind a remote one); opened by the first synthesis job that needs it. */
    int (*open_tts_fallback)(void *ud, const vt_tts_ops **tts, void **tts_ctx, char *err,
                             size_t errlen);
    void *ud;                     /* for the opens; must outlive the session */
    const vt_brain_ops *brain;    /* brain_ctx becomes the session's (destroyed with it) */
    void *brain_ctx;
    const vt_clip *fill, *ack;    /* borrowed: must outlive the session */
    int n_fill, n_ack;
} vt_session_engines;

typedef struct vt_session_setup {
    vt_config core;               /* the session's configuration (character set) */
    vt_exec exec;
    vt_session_engines eng;
    int speech;                   /* 1: listen (the speech lane), 0: typed input only */
    int partial_ms;               /* interim text every this much audio; 0: 200 */
    char character[64];           /* what vt_session_character() reports */
    /* called once when the session's memory is released (may be NULL) */
    void (*released)(void *ud);
    void *released_ud;
} vt_session_setup;

/* Creates a session from a setup. On failure the brain context is
 * destroyed too and err says why. */
int vt_session_start(const vt_session_setup *st, const vt_session_output *out, void *ud,
                     vt_session **s, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
