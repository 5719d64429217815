/*
 * The console's audio device layer: a microphone and a loudspeaker for the
 * loop thread, from PortAudio or from WAV files at real-time pace.
 *
 * DESIGN
 * An audio thread (PortAudio's callback, or in file mode a thread of ours
 * that ticks every frame on CLOCK_MONOTONIC) exchanges samples with the loop
 * thread through lock-free rings only (ring.h), and never blocks, allocates
 * or locks:
 *   - speaker ring (loop -> audio thread): the session's paced output;
 *   - capture rings (audio thread -> loop): each microphone frame together
 *     with the frame the speaker played meanwhile (the echo canceller's
 *     reference, so the two are aligned by construction), then a wake-up
 *     on wake_fd (an eventfd the loop polls).
 * Flushing (an interruption) is a position, not a lock: the loop publishes
 * "drop everything written before here" and the audio thread skips to it
 * at its next frame, so the speaker falls silent within one frame of the
 * decision (PortAudio's own output latency comes on top with a device).
 *
 * File mode (--input/--output) runs exactly this code path with a file
 * clock instead of a sound card: every 20 ms the thread takes one frame of
 * the input WAV as the microphone (silence once it ends), one frame of the
 * speaker ring as what is played (recorded into the output WAV), and, with
 * a simulated room (room.h), adds the speaker's echo to the microphone.
 *
 * THREAD SAFETY: everything here is called by the loop thread; the audio
 * thread is internal.
 */
#ifndef VT_CONSOLE_AUDIO_H
#define VT_CONSOLE_AUDIO_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "transport/console/room.h"

typedef struct vt_audio vt_audio;

typedef struct vt_audio_config {
    int rate;                    /* session rate, 16000 (device audio is resampled) */
    int frame;                   /* samples per frame, 320 (20 ms) */
    /* devices */
    const char *input_device;    /* index or part of a name; NULL: the default */
    const char *output_device;
    double latency_ms;           /* suggested device latency; 0: the device's low latency */
    /* file mode: both set */
    const char *input_file;      /* the microphone: any WAV (resampled to rate, mono) */
    const char *output_file;     /* what the speaker played, written by vt_audio_close */
    double max_tail_s;           /* file mode: the clock stops this long after the input ends */
    const vt_room_config *room;  /* file mode: simulated echo; NULL none */
    int wake_fd;                 /* eventfd written after each captured frame; -1 none */
} vt_audio_config;

void vt_audio_config_default(vt_audio_config *c);

/* Print the PortAudio devices (index, name, channels, rate, defaults). 0, or
 * a negative code with a message. */
int vt_audio_list_devices(FILE *f, char *err, size_t errlen);

/* Opens the devices (or reads the input file). VT_ENOTFOUND when there is no
 * sound card or no such device: err then says so and what to do. */
int vt_audio_open(const vt_audio_config *c, vt_audio **out, char *err, size_t errlen);
int vt_audio_start(vt_audio *a, char *err, size_t errlen);
/* Stops the audio thread (idempotent). */
void vt_audio_stop(vt_audio *a);
/* Stops, writes the output file (file mode), frees. 0 or an error with a
 * message; a is freed either way. */
int vt_audio_close(vt_audio *a, char *err, size_t errlen);

int vt_audio_file_mode(const vt_audio *a);
/* 1 when the input file has been played to its end (file mode), 0 otherwise. */
int vt_audio_input_done(const vt_audio *a);
/* 1 when the audio thread has stopped on its own (file mode: the tail is
 * over; device: the stream ended or failed). */
int vt_audio_ended(const vt_audio *a);
/* Samples the audio thread has played since start (its clock). */
uint64_t vt_audio_clock(const vt_audio *a);

/* One captured frame: the microphone and what the speaker played meanwhile.
 * 1 when a frame was there, 0 when not. */
int vt_audio_capture(vt_audio *a, int16_t *mic, int16_t *ref);
/* The echo canceller's reference should be delayed by this many samples
 * (device: the stream's input + output latency, less a margin; files: 0). */
size_t vt_audio_ref_delay(const vt_audio *a);
/* Queue output; returns how many samples fitted (the ring holds seconds,
 * far more than the session's pacer ever sends ahead). */
size_t vt_audio_play(vt_audio *a, const int16_t *pcm, size_t n);
/* Drop everything queued so far; the audio thread does it at its next
 * frame. now_us: when the decision was taken (for the latency figure). */
void vt_audio_flush(vt_audio *a, int64_t now_us);
/* Position in the output stream: samples played or dropped by a flush
 * (what vt_session_playback wants). */
uint64_t vt_audio_position(const vt_audio *a);
/* Output waiting in the speaker ring. */
size_t vt_audio_queued(const vt_audio *a);

typedef struct vt_audio_stats {
    uint64_t frames;             /* frames captured by the audio thread */
    uint64_t overruns;           /* microphone frames lost: the loop was late */
    uint64_t underruns;          /* frames the speaker had only part of */
    uint64_t flushes;            /* flushes applied */
    uint64_t flushed_samples;    /* output dropped by them */
    int64_t last_flush_us;       /* decision to silence, the last flush */
    int64_t max_flush_us;        /* ... the longest */
    double device_rate;          /* the device's sample rate */
    double in_latency_ms, out_latency_ms; /* the stream's, with a device */
} vt_audio_stats;
void vt_audio_get_stats(const vt_audio *a, vt_audio_stats *s);
#endif
