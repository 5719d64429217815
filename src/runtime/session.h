/*
 * The runtime: live conversations in real time. Shared by `voicetutor serve`
 * (one session per WebSocket) and `voicetutor talk` (one session on the
 * local microphone).
 *
 * A vt_runtime is process-wide: the engine choice, two worker pools (cpu:
 * speech-to-text, keyword spotting and synthesis; io: brain calls, which
 * mostly wait on the network), and the filler and acknowledgement clips,
 * synthesized once and shared read-only by every session.
 *
 * A vt_session is one conversation: a pure core (src/core) plus its engine
 * instances. It runs on ONE thread, the loop thread (the libwebsockets
 * service thread in serve, the main loop in talk): every vt_session_* call
 * and vt_runtime_drain() happen there. Engines run on the pools:
 *   - a speech lane per session (one job at a time, so the decoders never
 *     run on two threads): microphone audio, utterance begin/end and the
 *     keyword spotter's on/off go in as ops; partial text, final text and
 *     keyword hits come back as job progress;
 *   - a synthesis lane per session (phrases in order, one job each);
 *   - brain jobs (answer, completeness verdict, filler choice) on io.
 * Workers never touch the session: they post results to the pool, call the
 * runtime's wake() (lws_cancel_service in serve), and the loop thread's
 * vt_runtime_drain() feeds them to the core. Interruption cancels by
 * generation: the core flushes its output queue in the same call, the
 * session raises the abort flag of the old generation's jobs and drops
 * its queued phrases.
 *
 * Time: every call carries now_us from vt_now_us() (CLOCK_MONOTONIC). The
 * core's measuring clock is set to the same clock, so
 * interruption_latency_ms is the time from the arrival of the input that
 * triggered the decision (the audio frame holding the keyword, the key
 * message, the frame that completed the speech) to the flush.
 *
 * Lifetime: vt_session_destroy() may be called at any time, in the middle
 * of an answer too: it cancels the session's jobs and stops calling the
 * output; the memory is released once the last job has completed (on a
 * later drain), or at once when none is in flight.
 */
#ifndef VT_RUNTIME_SESSION_H
#define VT_RUNTIME_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "voicetutor/core.h"
#include "voicetutor/engine.h"
#include "util/clock.h" /* vt_now_us(), the clock of every now_us */

#ifdef __cplusplus
extern "C" {
#endif

#define VT_RUNTIME_MAX_OPTS 16

typedef struct vt_runtime vt_runtime;
typedef struct vt_session vt_session;

typedef struct vt_runtime_config {
    vt_config core;               /* base configuration of every session */
    const char *stt;              /* "pocketsphinx" (default), "none": typed input only,
                                   * "openai": pocketsphinx for interim text, segmentation
                                   * and commands, the remote recogniser for each final */
    const char *voice;            /* synthesis spec (vt_tts_open), default "rms": the
                                   * clips, and the fallback voice of a remote tts */
    const char *tts;              /* NULL or "" (default): the voice above speaks;
                                   * "openai": the remote voice speaks the answers */
    const char *brain;            /* "lesson" (default) or "llm" */
    /* copied; "lesson" is the default character. Keys starting with stt_ or
     * tts_ are the speech engines' (docs/SPEECH.md), the rest the brain's. */
    vt_opt brain_opts[VT_RUNTIME_MAX_OPTS];
    size_t n_brain_opts;
    int cpu_workers;              /* speech and synthesis threads, default: online CPUs */
    int io_workers;               /* brain threads, default 8 */
    void (*wake)(void *ud);       /* from workers: call vt_runtime_drain soon */
    void *wake_ud;
} vt_runtime_config;

void vt_runtime_config_default(vt_runtime_config *c);
/* Opens the voice and builds the shared clips (a few hundred ms). */
int vt_runtime_create(const vt_runtime_config *c, vt_runtime **out, char *err, size_t errlen);
/* Why the speech recogniser and spotter did not load (a model missing, a
 * bad stt_ option), or NULL when they did or none was asked for. */
const char *vt_runtime_speech_error(const vt_runtime *rt);
/* After every session has been destroyed: joins the workers. */
void vt_runtime_destroy(vt_runtime *rt);
/* Loop thread: hand engine results to their sessions. Returns how many
 * jobs completed. */
int vt_runtime_drain(vt_runtime *rt);
/* Sessions alive (destroyed ones still waiting for their jobs count too). */
int vt_runtime_sessions(const vt_runtime *rt);
const vt_runtime_config *vt_runtime_get_config(const vt_runtime *rt);
/* Jobs in the cpu and io pools (queued, running or awaiting drain), for
 * metrics; either pointer may be NULL. */
void vt_runtime_queue_depths(vt_runtime *rt, int *cpu, int *io);
/* The pocketsphinx recogniser's and spotter's decoder pools, for metrics;
 * VT_ENOTFOUND when the runtime has no pocketsphinx models. */
struct vt_ps_pool_info;
int vt_runtime_decoders(vt_runtime *rt, struct vt_ps_pool_info *stt,
                        struct vt_ps_pool_info *kws);

/* What a session tells its transport. Called on the loop thread, from
 * inside vt_session_* and vt_runtime_drain calls. */
typedef struct vt_session_output {
    /* a protocol event (docs/PROTOCOL.md); character is the session's */
    void (*event)(void *ud, const vt_event *ev, int64_t now_us);
    /* one paced slice of output audio at cfg.out_rate */
    void (*audio)(void *ud, const int16_t *pcm, size_t n, vt_audio_kind kind, int64_t now_us);
    /* the session needs vt_session_tick() at (or soon after) at_us;
     * INT64_MAX: no timer needed. Replaces any earlier request. */
    void (*schedule)(void *ud, int64_t at_us);
    /* optional: every action of the core, before the session acts on it
     * (the simulator records them); NULL for transports */
    void (*action)(void *ud, const vt_action *a, int64_t now_us);
} vt_session_output;

typedef struct vt_session_options {
    const char *character;        /* lesson or persona; NULL: the default */
    const char *user_id;          /* lesson progress is kept per user; NULL: "default" */
    int speech;                   /* 1: listen (STT + keywords), 0: typed input only */
    /* the session's configuration instead of the runtime's (a client's
     * opt-ins at initialize); NULL: the runtime's. Already validated. */
    const vt_config *core;
} vt_session_options;

/* Creates the session; message (may be NULL) receives a human-readable
 * line for the client ("Session started with times-tables.", or that an
 * unknown character fell back to the default tutor). The speech decoders
 * are opened on a worker: audio sent meanwhile waits, nothing is lost. */
int vt_session_create(vt_runtime *rt, const vt_session_options *o,
                      const vt_session_output *out, void *ud, vt_session **s,
                      char *message, size_t message_len);
void vt_session_destroy(vt_session *s);

const char *vt_session_character(const vt_session *s);
/* The core, for interruption settings, queries, history and metrics. */
vt_core *vt_session_core(vt_session *s);

/* Inputs. now_us is the input's arrival time. */
int vt_session_audio(vt_session *s, const int16_t *pcm, size_t n, int64_t now_us);
int vt_session_key(vt_session *s, int64_t now_us);
int vt_session_text(vt_session *s, const char *text, int64_t now_us);
int vt_session_playback(vt_session *s, uint64_t samples, int64_t now_us);
/* Speak the brain's greeting (the lesson's introduction) as a turn of the
 * tutor's own; VT_ESTATE while an answer is active. Returns the text's
 * length written to text (may be NULL). */
int vt_session_welcome(vt_session *s, char *text, size_t cap, int64_t now_us);
/* Timers: pacing, end of turn, filler deadline. */
int vt_session_tick(vt_session *s, int64_t now_us);
int64_t vt_session_next_deadline(const vt_session *s);

/* Bytes held by the session's core and queues (the decoders are measured as
 * process memory by bench_serve). */
size_t vt_session_memory(const vt_session *s);

#ifdef __cplusplus
}
#endif
#endif
