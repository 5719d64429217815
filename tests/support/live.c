/* A live session driven by a test in real time (see live.h). */
#define _POSIX_C_SOURCE 200809L
#include "support/live.h"

#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

vt_live H;

static void wake(void *ud)
{
    (void)ud;
    char b = 1;
    if (write(H.pipe[1], &b, 1) < 0) {
        /* full pipe: a wake-up is pending anyway */
    }
}

static void on_event(void *ud, const vt_event *ev, int64_t now)
{
    (void)ud;
    if (H.n_ev >= VT_LIVE_MAX_EV)
        return;
    vt_live_rec *r = &H.ev[H.n_ev++];
    r->type = ev->type;
    r->trigger = ev->trigger;
    r->latency_ms = ev->latency_ms;
    r->t = now;
    r->state = ev->state;
    snprintf(r->text, sizeof r->text, "%s", ev->text ? ev->text : "");
    snprintf(r->text2, sizeof r->text2, "%s", ev->text2 ? ev->text2 : "");
    if (ev->type == VT_EV_INTERRUPTION_DETECTED)
        H.interrupted = 1;
    if (ev->type == VT_EV_ERROR && H.print_errors)
        fprintf(stderr, "  event error %s: %s\n", r->text2, r->text);
}

static void on_audio(void *ud, const int16_t *pcm, size_t n, vt_audio_kind kind, int64_t now)
{
    (void)ud;
    (void)pcm;
    H.audio[kind] += n;
    if (kind == VT_AUDIO_ANSWER && !H.first_answer_audio_us)
        H.first_answer_audio_us = now;
    if (kind == VT_AUDIO_ANSWER && H.interrupted)
        H.answer_after_interrupt += n;
}

static void on_schedule(void *ud, int64_t at)
{
    (void)ud;
    H.deadline = at;
}

const vt_session_output vt_live_output = {.event = on_event, .audio = on_audio,
                                          .schedule = on_schedule};

int vt_live_init(vt_runtime_config *rc)
{
    memset(&H, 0, sizeof H);
    H.deadline = INT64_MAX;
    if (pipe(H.pipe) != 0)
        return -1;
    fcntl(H.pipe[0], F_SETFL, O_NONBLOCK);
    fcntl(H.pipe[1], F_SETFL, O_NONBLOCK);
    rc->wake = wake;
    return 0;
}

void vt_live_loop_once(int64_t until)
{
    int64_t now = vt_now_us();
    int64_t wait_until = H.deadline < until ? H.deadline : until;
    int ms = wait_until > now ? (int)((wait_until - now + 999) / 1000) : 0;
    struct pollfd p = {H.pipe[0], POLLIN, 0};
    if (poll(&p, 1, ms) > 0) {
        char buf[64];
        while (read(H.pipe[0], buf, sizeof buf) > 0) {
        }
    }
    vt_runtime_drain(H.rt);
    if (H.s && vt_now_us() >= H.deadline) {
        H.deadline = INT64_MAX;
        vt_session_tick(H.s, vt_now_us());
    }
}

void vt_live_run_ms(int ms)
{
    int64_t until = vt_now_us() + (int64_t)ms * 1000;
    while (vt_now_us() < until)
        vt_live_loop_once(until);
}

int vt_live_find(vt_event_type t, int from)
{
    for (int i = from; i < H.n_ev; i++)
        if (H.ev[i].type == t)
            return i;
    return -1;
}

int vt_live_wait_event(vt_event_type t, int from, int timeout_ms)
{
    int64_t until = vt_now_us() + (int64_t)timeout_ms * 1000;
    int i;
    while ((i = vt_live_find(t, from)) < 0 && vt_now_us() < until)
        vt_live_loop_once(until);
    return i;
}

void vt_live_speak(const int16_t *pcm, size_t n)
{
    const size_t frame = VT_IN_RATE / 50;
    int64_t t0 = vt_now_us();
    for (size_t off = 0, k = 0; off < n; off += frame, k++) {
        int64_t due = t0 + (int64_t)k * 20000;
        while (vt_now_us() < due)
            vt_live_loop_once(due);
        size_t m = n - off < frame ? n - off : frame;
        vt_session_audio(H.s, pcm + off, m, vt_now_us());
    }
}

void vt_live_silence_ms(int ms)
{
    size_t n = (size_t)ms * VT_IN_RATE / 1000;
    int16_t *z = calloc(n ? n : 1, sizeof *z);
    if (!z)
        return;
    uint32_t r = 12345;
    for (size_t i = 0; i < n; i++) { /* a quiet room, not digital zero */
        r = r * 1103515245u + 12345u;
        z[i] = (int16_t)((int)(r >> 16) % 61 - 30);
    }
    vt_live_speak(z, n);
    free(z);
}
