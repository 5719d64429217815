/* The lock-free single-producer single-consumer sample ring (see ring.h):
 * acquire/release ordering on the two positions publishes the samples. */
#include "transport/console/ring.h"
#include "voicetutor/core.h"
#include <stdlib.h>
#include <string.h>

int vt_ring_init(vt_ring *r, size_t cap)
{
    size_t c = 1;
    while (c < cap)
        c <<= 1;
    r->buf = calloc(c, sizeof *r->buf);
    if (!r->buf)
        return VT_ENOMEM;
    r->cap = c;
    atomic_init(&r->wpos, 0);
    atomic_init(&r->rpos, 0);
    return 0;
}

void vt_ring_free(vt_ring *r)
{
    free(r->buf);
    r->buf = NULL;
    r->cap = 0;
}

static void copy_in(vt_ring *r, uint64_t pos, const int16_t *pcm, size_t n)
{
    size_t at = (size_t)(pos & (r->cap - 1));
    size_t first = r->cap - at < n ? r->cap - at : n;
    memcpy(r->buf + at, pcm, first * sizeof *pcm);
    memcpy(r->buf, pcm + first, (n - first) * sizeof *pcm);
}

static void copy_out(const vt_ring *r, uint64_t pos, int16_t *pcm, size_t n)
{
    size_t at = (size_t)(pos & (r->cap - 1));
    size_t first = r->cap - at < n ? r->cap - at : n;
    memcpy(pcm, r->buf + at, first * sizeof *pcm);
    memcpy(pcm + first, r->buf, (n - first) * sizeof *pcm);
}

size_t vt_ring_write(vt_ring *r, const int16_t *pcm, size_t n)
{
    uint64_t w = atomic_load_explicit(&r->wpos, memory_order_relaxed);
    uint64_t rd = atomic_load_explicit(&r->rpos, memory_order_acquire);
    size_t space = r->cap - (size_t)(w - rd);
    if (n > space)
        n = space;
    if (n) {
        copy_in(r, w, pcm, n);
        atomic_store_explicit(&r->wpos, w + n, memory_order_release);
    }
    return n;
}

uint64_t vt_ring_write_pos(const vt_ring *r)
{
    return atomic_load_explicit(&r->wpos, memory_order_acquire);
}

size_t vt_ring_read(vt_ring *r, int16_t *pcm, size_t n)
{
    uint64_t rd = atomic_load_explicit(&r->rpos, memory_order_relaxed);
    uint64_t w = atomic_load_explicit(&r->wpos, memory_order_acquire);
    size_t avail = (size_t)(w - rd);
    if (n > avail)
        n = avail;
    if (n) {
        copy_out(r, rd, pcm, n);
        atomic_store_explicit(&r->rpos, rd + n, memory_order_release);
    }
    return n;
}

size_t vt_ring_skip_to(vt_ring *r, uint64_t pos)
{
    uint64_t rd = atomic_load_explicit(&r->rpos, memory_order_relaxed);
    uint64_t w = atomic_load_explicit(&r->wpos, memory_order_acquire);
    if (pos > w)
        pos = w;
    if (pos <= rd)
        return 0;
    atomic_store_explicit(&r->rpos, pos, memory_order_release);
    return (size_t)(pos - rd);
}

uint64_t vt_ring_read_pos(const vt_ring *r)
{
    return atomic_load_explicit(&r->rpos, memory_order_acquire);
}

size_t vt_ring_used(const vt_ring *r)
{
    uint64_t w = atomic_load_explicit(&r->wpos, memory_order_acquire);
    uint64_t rd = atomic_load_explicit(&r->rpos, memory_order_acquire);
    return (size_t)(w - rd);
}
