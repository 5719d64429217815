/*
 * Admission control: a session the server cannot serve in real time is
 * refused at the door, so the sessions it already serves keep their pace
 * (past capacity, every session's answers used to stall for seconds).
 *
 * Capacity is --max-sessions, or by default what this machine was measured
 * to hold in real time: VT_WS_SESSIONS_PER_CORE speech sessions per
 * speech worker (docs/BENCHMARKS.md, "Serving"). A handshake past capacity
 * (counting connections, initialized or not) gets HTTP 503; an
 * `initialize` past it, or while the process has used more than --max-load
 * of its cores over the last second (a CPU guard for what the count cannot
 * see: a neighbour on the machine, heavier sessions), gets the error
 * `server_full` saying what to do. The load is sampled once a second with
 * an lws timer, from getrusage() of the whole process.
 */
#include "transport/ws/ws_internal.h"

#include <stdio.h>
#include <sys/resource.h>

static double process_cpu_us(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0;
    return (double)ru.ru_utime.tv_sec * 1e6 + (double)ru.ru_utime.tv_usec +
           (double)ru.ru_stime.tv_sec * 1e6 + (double)ru.ru_stime.tv_usec;
}

static void sample(lws_sorted_usec_list_t *sul)
{
    vt__ws_admit *a = lws_container_of(sul, vt__ws_admit, sul);
    int64_t now = vt_now_us();
    double cpu = process_cpu_us();
    if (now > a->t_us)
        a->load = (cpu - a->cpu_us) / ((double)(now - a->t_us) * a->cores);
    a->t_us = now;
    a->cpu_us = cpu;
    lws_sul_schedule(a->ctx, 0, &a->sul, sample, 1000000);
}

void vt__ws_admit_start(vt_ws_server *srv, struct lws_context *ctx)
{
    vt__ws_admit *a = &srv->admit;
    const vt_runtime_config *rc = vt_runtime_get_config(srv->rt);
    a->cores = rc->cpu_workers > 0 ? rc->cpu_workers : 1;
    a->capacity = srv->cfg.max_sessions > 0 ? srv->cfg.max_sessions
                                            : a->cores * VT_WS_SESSIONS_PER_CORE;
    a->max_load = srv->cfg.max_load > 0 ? srv->cfg.max_load : VT_WS_MAX_LOAD;
    a->ctx = ctx;
    a->t_us = vt_now_us();
    a->cpu_us = process_cpu_us();
    a->load = 0;
    lws_sul_schedule(ctx, 0, &a->sul, sample, 1000000);
}

void vt__ws_admit_stop(vt_ws_server *srv)
{
    if (srv->admit.ctx)
        lws_sul_cancel(&srv->admit.sul);
    srv->admit.ctx = NULL;
}

int vt__ws_admit_connection(const vt_ws_server *srv, char *why, size_t cap)
{
    const vt__ws_admit *a = &srv->admit;
    if (a->conns < a->capacity)
        return 1;
    snprintf(why, cap,
             "the tutor is serving as many learners as it can (%d); try again in a minute",
             a->capacity);
    return 0;
}

int vt__ws_admit_session(const vt_ws_server *srv, char *why, size_t cap)
{
    const vt__ws_admit *a = &srv->admit;
    if (a->sessions >= a->capacity) {
        snprintf(why, cap,
                 "the tutor is serving as many learners as it can (%d of %d); close this "
                 "connection and try again in a minute",
                 a->sessions, a->capacity);
        return 0;
    }
    if (a->load > a->max_load) {
        snprintf(why, cap,
                 "the tutor's machine is too busy to answer in real time (%.0f%% of its cores "
                 "in use); close this connection and try again in a minute",
                 100 * a->load);
        return 0;
    }
    return 1;
}
