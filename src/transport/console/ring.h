/*
 * A single-producer single-consumer ring of samples, lock-free (C11
 * atomics), the only thing the audio thread (a PortAudio callback or the
 * file clock) and the loop thread share besides a few counters. Real-time
 * paths never block, allocate or lock (style guide 10): both ends only load
 * and store their own 64-bit position and read the other's.
 *
 * Positions count samples since creation and never wrap (2^64 samples is
 * millions of years), so "everything written before this moment" is just a
 * number: the loop thread can ask the audio thread to drop what is queued up
 * to a position (vt_ring_skip_to) without touching the consumer's index.
 *
 * THREAD SAFETY: one thread writes (vt_ring_write, vt_ring_write_pos), one
 * thread reads (vt_ring_read, vt_ring_skip_to, vt_ring_read_pos); the
 * counters may be read from either.
 */
#ifndef VT_CONSOLE_RING_H
#define VT_CONSOLE_RING_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

typedef struct vt_ring {
    int16_t *buf;
    size_t cap;                   /* a power of two */
    _Atomic uint64_t wpos, rpos;
} vt_ring;

/* cap is rounded up to a power of two. 0 or VT_ENOMEM. */
int vt_ring_init(vt_ring *r, size_t cap);
void vt_ring_free(vt_ring *r);

/* Producer: copies up to n samples; returns how many fitted. */
size_t vt_ring_write(vt_ring *r, const int16_t *pcm, size_t n);
/* Producer: samples written since creation. */
uint64_t vt_ring_write_pos(const vt_ring *r);

/* Consumer: copies up to n samples; returns how many were there. */
size_t vt_ring_read(vt_ring *r, int16_t *pcm, size_t n);
/* Consumer: drop everything before pos (no-op when already past it);
 * returns how many samples were dropped. */
size_t vt_ring_skip_to(vt_ring *r, uint64_t pos);
uint64_t vt_ring_read_pos(const vt_ring *r);

/* Either side: samples waiting. */
size_t vt_ring_used(const vt_ring *r);
#endif
