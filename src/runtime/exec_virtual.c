/*
 * The virtual-time executor (exec.h): the simulator's scheduler behind the
 * same interface as the worker pools, so `simulate` and the scenario tests
 * drive the live driver, its lanes and its brain jobs deterministically.
 *
 * A submitted job starts at the virtual time of its submission, but never
 * inside the call that submitted it: it waits in the event queue, so the
 * driver sees the same asynchrony as live (a result always arrives in a
 * later call). When it starts, its body runs to the end at once; the body's
 * engines advance the job's own clock with vt_vexec_spend() for the time
 * their work is modelled to take, each progress message is stamped with the
 * job's clock when posted, and the completion comes at the clock's final
 * value. Events run in time order, ties in the order they were created, so
 * the same scenario gives the same result every time. Every job runs as if
 * on its own worker; lanes serialise themselves (the driver submits a
 * lane's next job only when the last one completed).
 */
#include "runtime/exec.h"

#include <stdlib.h>
#include <string.h>

#include "util/grow.h"
#include "voicetutor/core.h"

enum { EV_RUN, EV_MSG, EV_DONE };

typedef struct vjob {
    vt_exec_desc d;
    int abort;
    int status;
    int64_t clock;
} vjob;

typedef struct vev {
    int64_t t;
    uint64_t seq;
    int kind;
    vjob *job;
    void *msg;
} vev;

struct vt_vexec {
    vev *q;                /* sorted by (t, seq) */
    size_t n, cap;
    uint64_t seq;
    int64_t now;
    vjob *running;         /* the job whose body is running, if any */
    vjob **jobs;           /* not yet completed, for cancellation */
    size_t n_jobs, cap_jobs;
};

static int push(vt_vexec *vx, int64_t t, int kind, vjob *job, void *msg)
{
    if (vt_grow((void **)&vx->q, &vx->cap, vx->n + 1, sizeof *vx->q) != 0)
        return VT_ENOMEM;
    size_t i = vx->n;
    while (i > 0 && vx->q[i - 1].t > t) {
        vx->q[i] = vx->q[i - 1];
        i--;
    }
    vx->q[i] = (vev){t, vx->seq++, kind, job, msg};
    vx->n++;
    return 0;
}

static int track(vt_vexec *vx, vjob *j)
{
    if (vt_grow((void **)&vx->jobs, &vx->cap_jobs, vx->n_jobs + 1, sizeof *vx->jobs) != 0)
        return VT_ENOMEM;
    vx->jobs[vx->n_jobs++] = j;
    return 0;
}

static void untrack(vt_vexec *vx, vjob *j)
{
    for (size_t i = 0; i < vx->n_jobs; i++)
        if (vx->jobs[i] == j) {
            vx->jobs[i] = vx->jobs[--vx->n_jobs];
            return;
        }
}

static int vx_submit(void *impl, const vt_exec_desc *d)
{
    vt_vexec *vx = impl;
    vjob *j = calloc(1, sizeof *j);
    if (!j)
        return VT_ENOMEM;
    j->d = *d;
    if (track(vx, j) != 0) {
        free(j);
        return VT_ENOMEM;
    }
    if (push(vx, vx->now, EV_RUN, j, NULL) != 0) {
        untrack(vx, j);
        free(j);
        return VT_ENOMEM;
    }
    return 0;
}

static void vx_cancel_gen(void *impl, const void *owner, uint32_t gen)
{
    vt_vexec *vx = impl;
    for (size_t i = 0; i < vx->n_jobs; i++)
        if (vx->jobs[i]->d.owner == owner && vx->jobs[i]->d.gen == gen)
            vx->jobs[i]->abort = 1;
}

static void vx_cancel_owner(void *impl, const void *owner)
{
    vt_vexec *vx = impl;
    for (size_t i = 0; i < vx->n_jobs; i++)
        if (vx->jobs[i]->d.owner == owner)
            vx->jobs[i]->abort = 1;
}

static int vx_post(void *impl, vt_exec_job *job, void *msg)
{
    vt_vexec *vx = impl;
    vjob *j = (vjob *)job;
    if (j->abort || push(vx, j->clock, EV_MSG, j, msg) != 0) {
        if (j->d.drop)
            j->d.drop(j->d.arg, msg);
        return VT_ECANCELED;
    }
    return 0;
}

static int64_t vx_now(void *impl)
{
    return ((vt_vexec *)impl)->now;
}

static const vt_exec_ops k_virtual_ops = {vx_submit, vx_cancel_gen, vx_cancel_owner, vx_post,
                                          vx_now};

int vt_vexec_create(vt_vexec **out)
{
    *out = calloc(1, sizeof **out);
    return *out ? 0 : VT_ENOMEM;
}

vt_exec vt_vexec_exec(vt_vexec *vx)
{
    return (vt_exec){&k_virtual_ops, vx};
}

int64_t vt_vexec_next(const vt_vexec *vx)
{
    return vx->n ? vx->q[0].t : INT64_MAX;
}

int64_t vt_vexec_now(const vt_vexec *vx)
{
    return vx->now;
}

void vt_vexec_set_now(vt_vexec *vx, int64_t t)
{
    if (t > vx->now)
        vx->now = t;
}

void vt_vexec_spend(vt_vexec *vx, int64_t us)
{
    if (vx->running && us > 0)
        vx->running->clock += us;
}

int vt_vexec_pending(const vt_vexec *vx)
{
    return (int)vx->n_jobs;
}

static void run_one(vt_vexec *vx, vev e)
{
    vjob *j = e.job;
    switch (e.kind) {
    case EV_RUN:
        j->clock = e.t;
        if (j->abort) {
            j->status = VT_ECANCELED;
        } else {
            vx->running = j;
            j->status = j->d.run((vt_exec_job *)j, j->d.arg, &j->abort);
            vx->running = NULL;
        }
        if (push(vx, j->clock, EV_DONE, j, NULL) != 0) {
            /* no memory for the completion: complete now, never twice */
            untrack(vx, j);
            j->d.complete(j->d.arg, VT_ECANCELED);
            free(j);
        }
        break;
    case EV_MSG:
        if (j->abort)
            j->d.drop(j->d.arg, e.msg);
        else
            j->d.progress(j->d.arg, e.msg);
        break;
    case EV_DONE:
        untrack(vx, j);
        j->d.complete(j->d.arg, j->abort ? VT_ECANCELED : j->status);
        free(j);
        break;
    }
}

int vt_vexec_run_until(vt_vexec *vx, int64_t t)
{
    int ran = 0;
    while (vx->n && vx->q[0].t <= t) {
        vt_vexec_set_now(vx, vx->q[0].t); /* each event at its own time */
        vev e = vx->q[0];
        memmove(vx->q, vx->q + 1, (vx->n - 1) * sizeof *vx->q);
        vx->n--;
        run_one(vx, e);
        ran++;
    }
    vt_vexec_set_now(vx, t);
    return ran;
}

void vt_vexec_destroy(vt_vexec *vx)
{
    if (!vx)
        return;
    for (size_t i = 0; i < vx->n_jobs; i++)
        vx->jobs[i]->abort = 1;
    /* deliver what is left as cancelled: drops, then completions */
    while (vx->n) {
        vev e = vx->q[0];
        memmove(vx->q, vx->q + 1, (vx->n - 1) * sizeof *vx->q);
        vx->n--;
        if (e.kind == EV_RUN) {
            e.job->status = VT_ECANCELED;
            e.kind = EV_DONE;
        }
        run_one(vx, e);
    }
    free(vx->q);
    free(vx->jobs);
    free(vx);
}
