/*
 * A simulated room for testing echo cancellation without hardware: the
 * microphone hears the person (near end) plus the tutor's own voice from
 * the loudspeaker, delayed, attenuated and smeared by reflections, plus a
 * little noise. `voicetutor talk --input F --output F --echo D:G[:RT]`
 * puts this between the file "speaker" and the file "microphone"; the
 * tests and bench_echo use it the same way.
 *
 * The impulse response is a direct path after delay_ms followed by a
 * diffuse tail of decaying random reflections (exponential decay reaching
 * -60 dB after rt60_ms, as much energy in the tail as in the direct path),
 * scaled so that the whole echo is gain_db relative to the speaker signal.
 * Everything is seeded: the same config gives the same room.
 *
 * THREAD SAFETY: one vt_room belongs to one thread (the audio thread in
 * file mode). vt_room_process never allocates.
 */
#ifndef VT_CONSOLE_ROOM_H
#define VT_CONSOLE_ROOM_H

#include <stddef.h>
#include <stdint.h>

typedef struct vt_room vt_room;

typedef struct vt_room_config {
    int rate;           /* 16000 */
    double delay_ms;    /* loudspeaker to microphone, 0..500 (default 60) */
    double gain_db;     /* echo level relative to the speaker, -60..+6 (default -10) */
    double rt60_ms;     /* smear: decay of the tail to -60 dB, 0..500; 0: a pure delay (default 50) */
    double noise_db;    /* microphone noise, dBFS RMS; <= -120: none (default -60) */
    uint32_t seed;      /* reflections and noise (default 1) */
} vt_room_config;

void vt_room_config_default(vt_room_config *c);
/* "DELAY_MS:GAIN_DB[:RT60_MS[:NOISE_DB]]", e.g. "60:-10" or "120:-6:100";
 * the fields given replace c's. 0, or VT_EINVAL with a message. */
int vt_room_parse(const char *spec, vt_room_config *c, char *err, size_t errlen);
int vt_room_create(const vt_room_config *c, vt_room **out, char *err, size_t errlen);
void vt_room_destroy(vt_room *r);
/* mic[i] = near[i] + echo of speaker + noise, for n samples of a stream
 * (the room keeps the speaker's recent past). near may be NULL (silence). */
void vt_room_process(vt_room *r, const int16_t *speaker, const int16_t *near, int16_t *mic,
                     size_t n);
/* The impulse response: taps after the delay, and the delay in samples. */
const float *vt_room_response(const vt_room *r, size_t *n_taps, size_t *delay);
#endif
