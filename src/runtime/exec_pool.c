/*
 * The pool executor (exec.h): a live session's jobs on the process's two
 * worker pools, time from CLOCK_MONOTONIC. A thin adapter: the pool already
 * gives the job contract (exactly-once completion, cancellation by owner and
 * generation, ordered progress); this file only picks the pool by kind and
 * hands the job body a vt_exec_job.
 */
#include "runtime/exec.h"

#include <stdlib.h>

#include "util/clock.h"
#include "voicetutor/core.h"


/* One per job: the body's functions, between the pool and the job. */
typedef struct shim {
    vt_exec_desc d;
} shim;

static int shim_run(vt_job *job, void *arg, const volatile int *abort)
{
    shim *s = arg;
    return s->d.run((vt_exec_job *)job, s->d.arg, abort);
}

static void shim_complete(void *arg, int status)
{
    shim *s = arg;
    s->d.complete(s->d.arg, status);
    free(s);
}

static void shim_progress(void *arg, void *msg)
{
    shim *s = arg;
    s->d.progress(s->d.arg, msg);
}

static void shim_drop(void *arg, void *msg)
{
    shim *s = arg;
    s->d.drop(s->d.arg, msg);
}

static int px_submit(void *impl, const vt_exec_desc *d)
{
    vt_exec_pools *ps = impl;
    shim *s = malloc(sizeof *s);
    if (!s)
        return VT_ENOMEM;
    s->d = *d;
    vt_job_desc jd = {.owner = d->owner, .gen = d->gen, .run = shim_run,
                      .complete = shim_complete,
                      .progress = d->progress ? shim_progress : NULL,
                      .drop = d->drop ? shim_drop : NULL, .arg = s};
    int rc = vt_pool_submit(ps->pool[d->kind == VT_EXEC_IO], &jd, NULL);
    if (rc)
        free(s);
    return rc;
}

static void px_cancel_gen(void *impl, const void *owner, uint32_t gen)
{
    vt_exec_pools *ps = impl;
    vt_pool_cancel_gen(ps->pool[0], owner, gen);
    vt_pool_cancel_gen(ps->pool[1], owner, gen);
}

static void px_cancel_owner(void *impl, const void *owner)
{
    vt_exec_pools *ps = impl;
    vt_pool_cancel_owner(ps->pool[0], owner);
    vt_pool_cancel_owner(ps->pool[1], owner);
}

static int px_post(void *impl, vt_exec_job *job, void *msg)
{
    (void)impl;
    return vt_job_post((vt_job *)job, msg);
}

static int64_t px_now(void *impl)
{
    (void)impl;
    return vt_now_us();
}

static const vt_exec_ops k_pool_ops = {px_submit, px_cancel_gen, px_cancel_owner, px_post,
                                       px_now};

vt_exec vt_exec_pool(vt_exec_pools *p)
{
    return (vt_exec){&k_pool_ops, p};
}
