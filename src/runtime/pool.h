/*
 * The worker pool: runs engine jobs (speech-to-text decoding, synthesis, LLM
 * calls) off the I/O thread, and hands their results back to it.
 *
 * DESIGN
 * A job is { owner, generation, run, complete, arg }. Workers call run() with
 * the job's abort flag; the finished job goes onto a completion queue that
 * the owner thread empties with vt_pool_drain(), which calls complete() for
 * each job there. Workers touch only the pool's queues plus one wake-up
 * callback (the server passes lws_cancel_service; several wake-ups may
 * collapse into one), never the loop's API.
 *
 * Every job completes exactly once, on the thread that calls drain (or
 * destroy): complete(arg, status) with status 0 (ok), a negative VT_E*
 * code (the job failed), or VT_ECANCELED — the job was cancelled before it
 * ran, while it ran, or after it finished but before its completion was
 * drained. A cancelled job's output is never delivered as a result: its
 * complete() sees VT_ECANCELED and must only free what the job produced.
 * complete() owns arg and frees it. A job that was refused by submit()
 * (VT_EFULL, VT_EINVAL) is not the pool's: complete() is never called.
 *
 * Progress: a running job may post intermediate messages (say, TTS chunks)
 * with vt_job_post(); they are delivered in order by drain() through the
 * job's progress() callback before its completion, or handed to
 * drop() (on the drain thread) when the job has been cancelled.
 *
 * Bounds: at most max_jobs jobs are in the pool (queued, running or waiting
 * to be drained); submit() returns VT_EFULL beyond that, so the completion
 * queue can never overflow and a worker never waits on the owner for it.
 * Progress messages are bounded too: vt_job_post() blocks while
 * max_progress messages wait undrained, and returns VT_ECANCELED when the
 * job is cancelled meanwhile (back-pressure on a fast producer).
 *
 * THREAD SAFETY: submit, cancel, drain and destroy are called by the owner
 * thread (the one event loop); run and vt_job_post on workers. Cancel is
 * also safe from any thread.
 */
#ifndef VT_RUNTIME_POOL_H
#define VT_RUNTIME_POOL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vt_pool vt_pool;
typedef struct vt_job vt_job;

/* Runs on a worker. Check *abort often; return 0, a VT_E* error or
 * VT_ECANCELED. */
typedef int (*vt_job_run_fn)(vt_job *job, void *arg, const volatile int *abort);
/* Runs on the drain thread exactly once per accepted job. */
typedef void (*vt_job_complete_fn)(void *arg, int status);
/* Progress delivery and disposal, on the drain thread. */
typedef void (*vt_job_progress_fn)(void *arg, void *msg);
typedef void (*vt_job_drop_fn)(void *arg, void *msg);

typedef struct vt_job_desc {
    const void *owner;           /* cancellation scope (a session) */
    uint32_t gen;                /* generation inside the owner */
    vt_job_run_fn run;
    vt_job_complete_fn complete;
    vt_job_progress_fn progress; /* optional */
    vt_job_drop_fn drop;         /* required when progress is used */
    void *arg;
} vt_job_desc;

typedef struct vt_pool_config {
    int workers;                 /* threads, default 2 */
    int max_jobs;                /* jobs in the pool at once, default 256 */
    int max_progress;            /* undrained progress messages, default 1024 */
    void (*wake)(void *ud);      /* called by workers when there is work to drain */
    void *wake_ud;
} vt_pool_config;

void vt_pool_config_default(vt_pool_config *cfg);
int vt_pool_create(const vt_pool_config *cfg, vt_pool **out);
/* Cancels everything, joins the workers and completes every job left with
 * VT_ECANCELED (on the calling thread). */
void vt_pool_destroy(vt_pool *p);

/* Queue a job; *id (optional) receives a non-zero job id. */
int vt_pool_submit(vt_pool *p, const vt_job_desc *d, uint64_t *id);
/* Raise the abort flag of every job of owner with generation gen; returns
 * how many jobs were flagged. */
int vt_pool_cancel_gen(vt_pool *p, const void *owner, uint32_t gen);
/* ... of every job of owner whose generation is older than gen. */
int vt_pool_cancel_before(vt_pool *p, const void *owner, uint32_t gen);
/* ... of every job of owner (a session closing). */
int vt_pool_cancel_owner(vt_pool *p, const void *owner);
int vt_pool_cancel_job(vt_pool *p, uint64_t id);

/* Deliver progress and completions; returns how many completions ran.
 * max 0: all that are ready. Never blocks on a running job. */
int vt_pool_drain(vt_pool *p, int max);
/* Jobs in the pool (queued + running + awaiting drain). */
int vt_pool_pending(vt_pool *p);
/* Block until a completion is ready or timeout_ms passes (tests, simple
 * loops without their own wake-up). Returns 1 when ready, 0 on timeout. */
int vt_pool_wait(vt_pool *p, int timeout_ms);

/* From inside run(): post a progress message (owned by the pool until it is
 * delivered or dropped). Returns 0, or VT_ECANCELED when the job was
 * cancelled (msg is then handed to drop() by the next drain). */
int vt_job_post(vt_job *job, void *msg);
uint64_t vt_job_id(const vt_job *job);

#ifdef __cplusplus
}
#endif
#endif
