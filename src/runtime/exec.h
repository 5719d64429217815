/*
 * Executors: where a session's engine work runs, and what time it is.
 *
 * The driver (driver.h) never calls a thread, a pool or a clock directly: it
 * submits jobs, cancels them by generation and reads the time through a
 * vt_exec. Two executors exist, so the code that serves users is the code
 * the deterministic tests run (libuv's work queue and miniaudio's null
 * backend are the models):
 *
 *   pool     (exec_pool.c)    live: jobs run on the worker pools of
 *            src/runtime/pool.h (cpu: speech and synthesis, io: brain calls),
 *            now is CLOCK_MONOTONIC.
 *   virtual  (exec_virtual.c) simulate and the scenario tests: a job runs
 *            inline at the virtual time it was submitted; an engine that
 *            models its cost advances the job's own clock with
 *            vt_vexec_spend(), so its progress and completion are delivered
 *            later in virtual time; now is the simulator's virtual time.
 *
 * The job contract is the pool's (pool.h): every accepted job completes
 * exactly once, on the loop thread, after its progress messages, with
 * VT_ECANCELED when its generation (or owner) was cancelled before its
 * completion was delivered; a cancelled job's progress goes to drop().
 */
#ifndef VT_RUNTIME_EXEC_H
#define VT_RUNTIME_EXEC_H

#include <stddef.h>
#include <stdint.h>

#include "runtime/pool.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vt_exec vt_exec;
typedef struct vt_exec_job vt_exec_job;   /* a running job, as seen by its body */

/* Which kind of worker a job needs: CPU-bound engine work or waiting on a
 * network. */
typedef enum { VT_EXEC_CPU = 0, VT_EXEC_IO = 1 } vt_exec_kind;

typedef int (*vt_exec_run_fn)(vt_exec_job *job, void *arg, const volatile int *abort);

typedef struct vt_exec_desc {
    const void *owner;            /* cancellation scope (a session) */
    uint32_t gen;                 /* generation inside the owner */
    vt_exec_kind kind;
    vt_exec_run_fn run;
    vt_job_complete_fn complete;
    vt_job_progress_fn progress;  /* optional */
    vt_job_drop_fn drop;          /* required with progress */
    void *arg;
} vt_exec_desc;

typedef struct vt_exec_ops {
    /* 0, or VT_EFULL / VT_ENOMEM (the job is not accepted: no completion) */
    int (*submit)(void *impl, const vt_exec_desc *d);
    void (*cancel_gen)(void *impl, const void *owner, uint32_t gen);
    void (*cancel_owner)(void *impl, const void *owner);
    /* from inside run(): hand a progress message to the loop thread */
    int (*post)(void *impl, vt_exec_job *job, void *msg);
    int64_t (*now)(void *impl);
} vt_exec_ops;

struct vt_exec {
    const vt_exec_ops *ops;
    void *impl;
};

/* ---- the pool executor --------------------------------------------------- */
/* The pools by kind ([VT_EXEC_CPU], [VT_EXEC_IO]); the caller keeps them
 * (and this struct) alive as long as the executor is used. */
typedef struct vt_exec_pools {
    vt_pool *pool[2];
} vt_exec_pools;
vt_exec vt_exec_pool(vt_exec_pools *p);

/* ---- the virtual-time executor ------------------------------------------ */
typedef struct vt_vexec vt_vexec;

int vt_vexec_create(vt_vexec **out);
/* Completes what is left with VT_ECANCELED, then frees. */
void vt_vexec_destroy(vt_vexec *vx);
vt_exec vt_vexec_exec(vt_vexec *vx);
/* The virtual time of the next job start, progress delivery or completion;
 * INT64_MAX when nothing is pending. */
int64_t vt_vexec_next(const vt_vexec *vx);
/* Runs every event due at or before t, in time and then creation order,
 * each with now at its own time (never backwards), then sets now to t.
 * Returns how many ran. */
int vt_vexec_run_until(vt_vexec *vx, int64_t t);
/* The virtual time now (set by run_until or vt_vexec_set_now). */
int64_t vt_vexec_now(const vt_vexec *vx);
void vt_vexec_set_now(vt_vexec *vx, int64_t t);
/* From inside a job body: the work so far took us of virtual time
 * (modelled engine cost). Outside a job: ignored. */
void vt_vexec_spend(vt_vexec *vx, int64_t us);
/* Jobs not yet completed. */
int vt_vexec_pending(const vt_vexec *vx);

#ifdef __cplusplus
}
#endif
#endif
