/*
 * The echo canceller of `voicetutor talk`: removes the tutor's own voice
 * from the microphone so that the tutor does not hear itself and interrupt
 * itself. A browser cancels echo on its own (getUserMedia's echoCancellation);
 * a terminal with a loudspeaker does not, so the console transport does it
 * here, with speexdsp:
 *
 *   1. an adaptive filter (speex_echo_cancellation, the MDF algorithm)
 *      learns the room's impulse response from the speaker signal to the
 *      microphone and subtracts its estimate of the echo;
 *   2. an echo gate silences every frame that can only be echo: no louder
 *      after the filter than the echo could be, given how loud the speaker
 *      was, the learnt coupling and what the filter removes now. It covers
 *      the second or two the filter needs to learn the room and what the
 *      filter leaves afterwards (aec.c says how the bound is learnt);
 *   3. optionally (residual = 1) speex's preprocessor, its residual echo
 *      suppressor and denoiser. Off by default: measured by bench_echo,
 *      its musical noise makes pocketsphinx's keyword spotter hear "pause"
 *      in the tutor's echo, while the gate alone removes as much echo.

 * The far-end (reference) frame given with each microphone frame must be
 * what the speaker played at the moment that microphone frame was captured
 * (the audio layer pairs them, audio.h); the room's delay and smear are then
 * the filter's job, up to filter_ms.
 *
 * THREAD SAFETY: one vt_aec belongs to one thread (the loop thread).
 */
#ifndef VT_CONSOLE_AEC_H
#define VT_CONSOLE_AEC_H

#include <stddef.h>
#include <stdint.h>

typedef struct vt_aec vt_aec;

typedef struct vt_aec_config {
    int rate;                 /* 16000 */
    int frame;                /* samples per call, 320 (20 ms) */
    int filter_ms;            /* echo tail the filter covers, default 256 */
    int residual;             /* 1: speex's residual echo suppressor + denoiser (default 0, see aec.c) */
    int gate;                 /* 1: the echo gate (default) */
    int echo_suppress_db;     /* residual = 1: residual echo, far end alone: default -40 */
    int echo_suppress_active_db; /* ... while the person talks too: default -15 */
    int noise_suppress_db;    /* ... stationary noise: default -15 */
} vt_aec_config;

void vt_aec_config_default(vt_aec_config *c);
/* 0, VT_EINVAL or VT_ENOMEM. */
int vt_aec_create(const vt_aec_config *c, vt_aec **out);
void vt_aec_destroy(vt_aec *a);
/* One frame: mic and ref (what the speaker played meanwhile) in, the
 * microphone without the echo out (out may alias mic). */
void vt_aec_process(vt_aec *a, const int16_t *mic, const int16_t *ref, int16_t *out);
typedef struct vt_aec_state {
    double coupling_db;       /* learned: echo at the mic over the loudest speaker frame */
    double erle_db;           /* learned: what the filter removes now */
    uint64_t gated_frames;    /* frames the gate silenced */
} vt_aec_state;
void vt_aec_get_state(const vt_aec *a, vt_aec_state *s);

/* Forget the room (a new device, a long pause). */
void vt_aec_reset(vt_aec *a);
int vt_aec_frame(const vt_aec *a);

/* Echo return loss enhancement over a stretch: 10*log10(energy of the
 * microphone / energy after cancellation), in dB. Only meaningful where
 * the microphone holds echo alone. */
double vt_aec_erle_db(const int16_t *mic, const int16_t *out, size_t n);
#endif
