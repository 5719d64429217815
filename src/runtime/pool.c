/*
 * The worker pool (see pool.h for the contract): pthreads workers, a FIFO
 * run queue, per-job progress lists and one list of every job in the pool.
 *
 * DESIGN
 * One mutex guards everything; it is held only to move pointers, never while
 * a job runs or a callback is called. A job moves QUEUED -> RUNNING -> DONE
 * on workers; drain() (owner thread) detaches DONE jobs and pending progress
 * under the lock, then calls progress/drop/complete without it. Because a
 * job leaves the pool only inside drain() or destroy(), and both decide its
 * status from its abort flag at that moment, a job completes exactly once
 * and a cancelled job's result is never delivered as a result.
 */
#include "runtime/pool.h"
#include "voicetutor/core.h"
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { JOB_QUEUED = 0, JOB_RUNNING, JOB_DONE };

typedef struct msg_node {
    struct msg_node *next;
    void *msg;
} msg_node;

struct vt_job {
    vt_job_desc d;
    uint64_t id;
    volatile int abort;
    int state;
    int status;
    msg_node *mhead, *mtail;
    vt_job *prev, *next;      /* every job in the pool, in submission order */
    vt_job *qnext;            /* run queue */
    vt_pool *pool;
};

struct vt_pool {
    vt_pool_config cfg;
    pthread_mutex_t mu;
    pthread_cond_t work_cv, ready_cv, space_cv;
    pthread_t *threads;
    int n_threads;
    vt_job *head, *tail;
    vt_job *qhead, *qtail;
    int n_jobs, n_done, n_msgs;
    int stop;
    uint64_t next_id;
};

void vt_pool_config_default(vt_pool_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->workers = 2;
    cfg->max_jobs = 256;
    cfg->max_progress = 1024;
}

static void wake(vt_pool *p)
{
    if (p->cfg.wake)
        p->cfg.wake(p->cfg.wake_ud);
}

static void raise_abort(vt_job *j)
{
    __atomic_store_n(&j->abort, 1, __ATOMIC_RELEASE);
}

static int aborted(const vt_job *j)
{
    return __atomic_load_n(&j->abort, __ATOMIC_ACQUIRE);
}

static void *worker(void *arg)
{
    vt_pool *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->stop && !p->qhead)
            pthread_cond_wait(&p->work_cv, &p->mu);
        if (p->stop)
            break;
        vt_job *j = p->qhead;
        p->qhead = j->qnext;
        if (!p->qhead)
            p->qtail = NULL;
        int status = VT_ECANCELED;
        if (!aborted(j)) {
            j->state = JOB_RUNNING;
            pthread_mutex_unlock(&p->mu);
            status = j->d.run(j, j->d.arg, &j->abort);
            pthread_mutex_lock(&p->mu);
        }
        j->status = status;
        j->state = JOB_DONE;
        p->n_done++;
        pthread_cond_broadcast(&p->ready_cv);
        pthread_mutex_unlock(&p->mu);
        wake(p);
        pthread_mutex_lock(&p->mu);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

int vt_pool_create(const vt_pool_config *cfg, vt_pool **out)
{
    if (!out)
        return VT_EINVAL;
    *out = NULL;
    vt_pool_config c;
    if (cfg)
        c = *cfg;
    else
        vt_pool_config_default(&c);
    if (c.workers < 1 || c.workers > 256 || c.max_jobs < 1 || c.max_progress < 1)
        return VT_EINVAL;
    vt_pool *p = calloc(1, sizeof *p);
    if (!p)
        return VT_ENOMEM;
    p->cfg = c;
    p->threads = calloc((size_t)c.workers, sizeof *p->threads);
    if (!p->threads) {
        free(p);
        return VT_ENOMEM;
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work_cv, NULL);
    pthread_cond_init(&p->ready_cv, NULL);
    pthread_cond_init(&p->space_cv, NULL);
    for (int i = 0; i < c.workers; i++) {
        if (pthread_create(&p->threads[i], NULL, worker, p) != 0) {
            vt_pool_destroy(p);
            return VT_ENOMEM;
        }
        p->n_threads++;
    }
    *out = p;
    return 0;
}

static void unlink_job(vt_pool *p, vt_job *j)
{
    if (j->prev)
        j->prev->next = j->next;
    else
        p->head = j->next;
    if (j->next)
        j->next->prev = j->prev;
    else
        p->tail = j->prev;
    p->n_jobs--;
}

/* Deliver (or drop, for a cancelled job) a detached list of messages. */
static void deliver_msgs(vt_job *j, msg_node *m)
{
    while (m) {
        msg_node *next = m->next;
        if (aborted(j) || !j->d.progress) {
            if (j->d.drop)
                j->d.drop(j->d.arg, m->msg);
        } else {
            j->d.progress(j->d.arg, m->msg);
        }
        free(m);
        m = next;
    }
}

static void finish(vt_job *j)
{
    int status = aborted(j) ? VT_ECANCELED : j->status;
    j->d.complete(j->d.arg, status);
    free(j);
}

void vt_pool_destroy(vt_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    for (vt_job *j = p->head; j; j = j->next)
        raise_abort(j);
    pthread_cond_broadcast(&p->work_cv);
    pthread_cond_broadcast(&p->space_cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->n_threads; i++)
        pthread_join(p->threads[i], NULL);
    /* no worker is left: every job still here completes as cancelled */
    while (p->head) {
        vt_job *j = p->head;
        unlink_job(p, j);
        msg_node *m = j->mhead;
        j->mhead = j->mtail = NULL;
        deliver_msgs(j, m);
        finish(j);
    }
    pthread_cond_destroy(&p->work_cv);
    pthread_cond_destroy(&p->ready_cv);
    pthread_cond_destroy(&p->space_cv);
    pthread_mutex_destroy(&p->mu);
    free(p->threads);
    free(p);
}

int vt_pool_submit(vt_pool *p, const vt_job_desc *d, uint64_t *id)
{
    if (!p || !d || !d->run || !d->complete || (d->progress && !d->drop))
        return VT_EINVAL;
    vt_job *j = calloc(1, sizeof *j);
    if (!j)
        return VT_ENOMEM;
    j->d = *d;
    j->pool = p;
    pthread_mutex_lock(&p->mu);
    if (p->stop || p->n_jobs >= p->cfg.max_jobs) {
        int full = !p->stop;
        pthread_mutex_unlock(&p->mu);
        free(j);
        return full ? VT_EFULL : VT_ESTATE;
    }
    j->id = ++p->next_id;
    j->prev = p->tail;
    if (p->tail)
        p->tail->next = j;
    else
        p->head = j;
    p->tail = j;
    if (p->qtail)
        p->qtail->qnext = j;
    else
        p->qhead = j;
    p->qtail = j;
    p->n_jobs++;
    if (id)
        *id = j->id;
    pthread_cond_signal(&p->work_cv);
    pthread_mutex_unlock(&p->mu);
    return 0;
}

enum { MATCH_GEN, MATCH_BEFORE, MATCH_OWNER };

static int cancel_where(vt_pool *p, const void *owner, uint32_t gen, int how)
{
    if (!p)
        return VT_EINVAL;
    int n = 0;
    pthread_mutex_lock(&p->mu);
    for (vt_job *j = p->head; j; j = j->next) {
        if (j->d.owner != owner || aborted(j))
            continue;
        int hit = how == MATCH_OWNER || (how == MATCH_GEN && j->d.gen == gen) ||
                  (how == MATCH_BEFORE && (int32_t)(j->d.gen - gen) < 0);
        if (hit) {
            raise_abort(j);
            n++;
        }
    }
    pthread_cond_broadcast(&p->space_cv); /* a poster waiting for room gives up */
    pthread_mutex_unlock(&p->mu);
    return n;
}

int vt_pool_cancel_gen(vt_pool *p, const void *owner, uint32_t gen)
{
    return cancel_where(p, owner, gen, MATCH_GEN);
}

int vt_pool_cancel_before(vt_pool *p, const void *owner, uint32_t gen)
{
    return cancel_where(p, owner, gen, MATCH_BEFORE);
}

int vt_pool_cancel_owner(vt_pool *p, const void *owner)
{
    return cancel_where(p, owner, 0, MATCH_OWNER);
}

int vt_pool_cancel_job(vt_pool *p, uint64_t id)
{
    if (!p)
        return VT_EINVAL;
    int n = 0;
    pthread_mutex_lock(&p->mu);
    for (vt_job *j = p->head; j; j = j->next)
        if (j->id == id && !aborted(j)) {
            raise_abort(j);
            n = 1;
        }
    pthread_cond_broadcast(&p->space_cv);
    pthread_mutex_unlock(&p->mu);
    return n;
}

int vt_pool_drain(vt_pool *p, int max)
{
    if (!p)
        return VT_EINVAL;
    int completed = 0;
    for (;;) {
        /* take one job's progress, and the job itself if it is done */
        pthread_mutex_lock(&p->mu);
        vt_job *j = p->head;
        while (j && !j->mhead && j->state != JOB_DONE)
            j = j->next;
        if (!j || (max > 0 && completed >= max && j->state == JOB_DONE && !j->mhead)) {
            pthread_mutex_unlock(&p->mu);
            break;
        }
        msg_node *m = j->mhead;
        int nm = 0;
        for (msg_node *x = m; x; x = x->next)
            nm++;
        j->mhead = j->mtail = NULL;
        p->n_msgs -= nm;
        int done = j->state == JOB_DONE && (max == 0 || completed < max);
        if (done) {
            unlink_job(p, j);
            p->n_done--;
        }
        if (nm)
            pthread_cond_broadcast(&p->space_cv);
        pthread_mutex_unlock(&p->mu);
        deliver_msgs(j, m);
        if (done) {
            finish(j);
            completed++;
        }
    }
    return completed;
}

int vt_pool_pending(vt_pool *p)
{
    if (!p)
        return VT_EINVAL;
    pthread_mutex_lock(&p->mu);
    int n = p->n_jobs;
    pthread_mutex_unlock(&p->mu);
    return n;
}

int vt_pool_wait(vt_pool *p, int timeout_ms)
{
    if (!p)
        return VT_EINVAL;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&p->mu);
    int rc = 0;
    while (p->n_done == 0 && p->n_msgs == 0 && rc == 0)
        rc = pthread_cond_timedwait(&p->ready_cv, &p->mu, &ts);
    int ready = p->n_done > 0 || p->n_msgs > 0;
    pthread_mutex_unlock(&p->mu);
    return ready;
}

int vt_job_post(vt_job *job, void *msg)
{
    if (!job)
        return VT_EINVAL;
    vt_pool *p = job->pool;
    msg_node *m = malloc(sizeof *m);
    if (!m)
        return VT_ENOMEM;   /* msg stays the caller's */
    m->next = NULL;
    m->msg = msg;
    pthread_mutex_lock(&p->mu);
    while (!aborted(job) && !p->stop && p->n_msgs >= p->cfg.max_progress)
        pthread_cond_wait(&p->space_cv, &p->mu);
    /* queued even when cancelled: drain() hands it to drop() */
    if (job->mtail)
        job->mtail->next = m;
    else
        job->mhead = m;
    job->mtail = m;
    p->n_msgs++;
    int rc = aborted(job) ? VT_ECANCELED : 0;
    pthread_cond_broadcast(&p->ready_cv);
    pthread_mutex_unlock(&p->mu);
    wake(p);
    return rc;
}

uint64_t vt_job_id(const vt_job *job)
{
    return job ? job->id : 0;
}
