/*
 * The sessions' ticks (vt_session_tick at the time each asks for: the
 * output pacer's next slice, the core's timers), woken by a thread of
 * their own at the earliest deadline.
 *
 * Why not an lws timer per session: lws waits for its next timer with
 * poll(), whose timeout is whole milliseconds rounded down, so in the last
 * millisecond before each timer its loop calls poll() with timeout 0 until
 * the timer is due, walking every connection's socket each time. With a
 * session's output paced in 20 ms slices, a server with 30 sessions made
 * 60000 poll() calls a second, and the kernel's side of them was a fifth of
 * the server's CPU (perf, docs/BENCHMARKS.md). Here one thread sleeps on a
 * condition variable (CLOCK_MONOTONIC, the clock of vt_now_us) until the
 * earliest deadline and then wakes the loop with lws_cancel_service, as a
 * worker does; the loop ticks every session that is due and arms the next
 * deadline. Ticks run on the loop thread, as before.
 */
#include "transport/ws/ws_internal.h"

#include <errno.h>
#include <stdint.h>
#include <time.h>

static void *ticker_main(void *arg)
{
    vt_ws_server *srv = arg;
    vt__ws_ticker *t = &srv->ticker;
    pthread_mutex_lock(&t->mu);
    while (!t->stop) {
        if (t->next_us == INT64_MAX) {
            pthread_cond_wait(&t->cv, &t->mu);
            continue;
        }
        int64_t now = vt_now_us();
        if (now >= t->next_us) {
            t->next_us = INT64_MAX; /* the loop arms the next one as it ticks */
            pthread_mutex_unlock(&t->mu);
            vt__ws_wake(srv);
            pthread_mutex_lock(&t->mu);
            continue;
        }
        struct timespec ts = {(time_t)(t->next_us / 1000000), (long)(t->next_us % 1000000) * 1000};
        pthread_cond_timedwait(&t->cv, &t->mu, &ts);
    }
    pthread_mutex_unlock(&t->mu);
    return NULL;
}

int vt__ws_ticker_start(vt_ws_server *srv)
{
    vt__ws_ticker *t = &srv->ticker;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&t->mu, NULL);
    pthread_cond_init(&t->cv, &ca);
    pthread_condattr_destroy(&ca);
    t->next_us = INT64_MAX;
    t->inited = 1;
    if (pthread_create(&t->th, NULL, ticker_main, srv) != 0)
        return VT_ENOMEM;
    t->started = 1;
    return 0;
}

void vt__ws_ticker_stop(vt_ws_server *srv)
{
    vt__ws_ticker *t = &srv->ticker;
    if (!t->inited)
        return;
    if (t->started) {
        pthread_mutex_lock(&t->mu);
        t->stop = 1;
        pthread_cond_signal(&t->cv);
        pthread_mutex_unlock(&t->mu);
        pthread_join(t->th, NULL);
        t->started = 0;
    }
    pthread_cond_destroy(&t->cv);
    pthread_mutex_destroy(&t->mu);
    t->inited = 0;
}

static void arm(vt__ws_ticker *t, int64_t at)
{
    pthread_mutex_lock(&t->mu);
    if (at < t->next_us) {
        t->next_us = at;
        pthread_cond_signal(&t->cv);
    }
    pthread_mutex_unlock(&t->mu);
}

void vt__ws_ticker_set(vt__ws_conn *c, int64_t at)
{
    c->tick_at = at;
    if (at != INT64_MAX)
        arm(&c->srv->ticker, at);
}

void vt__ws_ticker_run(vt_ws_server *srv)
{
    vt__ws_ticker *t = &srv->ticker;
    if (!t->inited)
        return;
    int64_t now = vt_now_us();
    /* the open connections' list of ws_ops.c */
    for (vt__ws_conn *c = vt__ws_ops_conns(srv), *next; c; c = next) {
        next = c->ops_next;
        if (c->tick_at > now)
            continue;
        c->tick_at = INT64_MAX;
        if (c->s && !c->closed)
            vt_session_tick(c->s, now); /* may ask for its next tick (set) */
    }
    int64_t first = INT64_MAX;
    for (vt__ws_conn *c = vt__ws_ops_conns(srv); c; c = c->ops_next)
        if (c->tick_at < first)
            first = c->tick_at;
    if (first != INT64_MAX)
        arm(t, first);
}
