/*
 * The worker pool's contract: every accepted job completes exactly once (ok,
 * error or cancelled), on the drain thread; a cancelled job's result and
 * progress are dropped, never delivered; the pool is bounded. The race tests
 * cancel from another thread while workers run, many times over; run them
 * under ASan (make test) and, by hand, under TSan.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include "runtime/pool.h"
#include "voicetutor/core.h"
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct rec {
    int completions;
    int status;
    int run_calls;
    int progress, dropped;
    int sleep_us;
    int posts;
    int result;
    int *result_buf;          /* "output" the job makes, freed in completion */
} rec;

static atomic_int wakes;
static atomic_int live_results;

static void on_wake(void *ud)
{
    (void)ud;
    atomic_fetch_add(&wakes, 1);
}

static int run_job(vt_job *job, void *arg, const volatile int *abort)
{
    rec *r = arg;
    r->run_calls++;
    r->result_buf = malloc(sizeof *r->result_buf);
    atomic_fetch_add(&live_results, 1);
    for (int i = 0; i < r->posts; i++) {
        int *m = malloc(sizeof *m);
        *m = i;
        if (vt_job_post(job, m) == VT_ECANCELED)
            return VT_ECANCELED;
    }
    for (int t = 0; t < r->sleep_us; t += 100) {
        if (*abort)
            return VT_ECANCELED;
        usleep(100);
    }
    return r->result;
}

static void on_complete(void *arg, int status)
{
    rec *r = arg;
    r->completions++;
    r->status = status;
    if (r->result_buf) { /* the job's output is freed here, delivered or not */
        free(r->result_buf);
        r->result_buf = NULL;
        atomic_fetch_sub(&live_results, 1);
    }
}

static void on_progress(void *arg, void *msg)
{
    ((rec *)arg)->progress++;
    free(msg);
}

static void on_drop(void *arg, void *msg)
{
    ((rec *)arg)->dropped++;
    free(msg);
}

static vt_job_desc desc(rec *r, const void *owner, uint32_t gen)
{
    vt_job_desc d = { owner, gen, run_job, on_complete, on_progress, on_drop, r };
    return d;
}

static vt_pool *make_pool(int workers, int max_jobs)
{
    vt_pool_config cfg;
    vt_pool_config_default(&cfg);
    cfg.workers = workers;
    cfg.max_jobs = max_jobs;
    cfg.max_progress = 8;
    cfg.wake = on_wake;
    vt_pool *p = NULL;
    assert_int_equal(vt_pool_create(&cfg, &p), 0);
    return p;
}

static void drain_all(vt_pool *p)
{
    for (int i = 0; i < 20000 && vt_pool_pending(p) > 0; i++) {
        vt_pool_wait(p, 10);
        vt_pool_drain(p, 0);
    }
    assert_int_equal(vt_pool_pending(p), 0);
}

static void test_ok_and_error(void **state)
{
    (void)state;
    vt_pool *p = make_pool(2, 16);
    rec a = { .result = 0 }, b = { .result = VT_EIO };
    int owner;
    vt_job_desc da = desc(&a, &owner, 1), db = desc(&b, &owner, 1);
    assert_int_equal(vt_pool_submit(p, &da, NULL), 0);
    assert_int_equal(vt_pool_submit(p, &db, NULL), 0);
    drain_all(p);
    assert_int_equal(a.completions, 1);
    assert_int_equal(a.status, 0);
    assert_int_equal(b.completions, 1);
    assert_int_equal(b.status, VT_EIO);
    assert_true(atomic_load(&wakes) > 0);
    vt_pool_destroy(p);
    assert_int_equal(a.completions, 1);
}

static void test_progress_in_order(void **state)
{
    (void)state;
    vt_pool *p = make_pool(1, 4);
    rec a = { .posts = 50 }; /* more than max_progress: the poster waits */
    int owner;
    vt_job_desc d = desc(&a, &owner, 7);
    assert_int_equal(vt_pool_submit(p, &d, NULL), 0);
    drain_all(p);
    assert_int_equal(a.progress, 50);
    assert_int_equal(a.dropped, 0);
    assert_int_equal(a.completions, 1);
    assert_int_equal(a.status, 0);
    vt_pool_destroy(p);
}

static void test_cancel_queued_running_done(void **state)
{
    (void)state;
    vt_pool *p = make_pool(1, 16);
    int owner, other;
    rec running = { .sleep_us = 200000 }, queued = { 0 }, keep = { 0 }, old = { 0 };
    vt_job_desc d1 = desc(&running, &owner, 3), d2 = desc(&queued, &owner, 3);
    vt_job_desc d3 = desc(&keep, &other, 3), d4 = desc(&old, &owner, 2);
    assert_int_equal(vt_pool_submit(p, &d1, NULL), 0);
    assert_int_equal(vt_pool_submit(p, &d2, NULL), 0);
    assert_int_equal(vt_pool_submit(p, &d3, NULL), 0);
    assert_int_equal(vt_pool_submit(p, &d4, NULL), 0);
    usleep(20000);
    assert_int_equal(vt_pool_cancel_gen(p, &owner, 3), 2);
    assert_int_equal(vt_pool_cancel_gen(p, &owner, 3), 0); /* already flagged */
    drain_all(p);
    assert_int_equal(running.completions, 1);
    assert_int_equal(running.status, VT_ECANCELED);
    assert_int_equal(queued.completions, 1);
    assert_int_equal(queued.status, VT_ECANCELED);
    assert_int_equal(queued.run_calls, 0); /* never started */
    assert_int_equal(keep.status, 0);      /* another owner is untouched */
    assert_int_equal(old.status, 0);       /* another generation too */

    /* finished, not yet drained, then cancelled: the result is dropped */
    rec late = { .posts = 3 };
    vt_job_desc d5 = desc(&late, &owner, 4);
    assert_int_equal(vt_pool_submit(p, &d5, NULL), 0);
    while (!vt_pool_wait(p, 10))
        ;
    usleep(10000);
    assert_int_equal(vt_pool_cancel_before(p, &owner, 5), 1);
    drain_all(p);
    assert_int_equal(late.run_calls, 1);
    assert_int_equal(late.completions, 1);
    assert_int_equal(late.status, VT_ECANCELED);
    assert_int_equal(late.progress, 0);
    assert_int_equal(late.dropped, 3);
    vt_pool_destroy(p);
    assert_int_equal(atomic_load(&live_results), 0);
}

static void test_bounded_and_destroy(void **state)
{
    (void)state;
    vt_pool *p = make_pool(1, 3);
    int owner;
    rec r[4] = { { .sleep_us = 100000 }, { 0 }, { 0 }, { 0 } };
    vt_job_desc d[4];
    for (int i = 0; i < 3; i++) {
        d[i] = desc(&r[i], &owner, 1);
        assert_int_equal(vt_pool_submit(p, &d[i], NULL), 0);
    }
    d[3] = desc(&r[3], &owner, 1);
    assert_int_equal(vt_pool_submit(p, &d[3], NULL), VT_EFULL);
    vt_pool_destroy(p); /* completes all three, as cancelled, here */
    for (int i = 0; i < 3; i++) {
        assert_int_equal(r[i].completions, 1);
        assert_int_equal(r[i].status, VT_ECANCELED);
    }
    assert_int_equal(r[3].completions, 0); /* refused: never the pool's */
    assert_int_equal(atomic_load(&live_results), 0);
}

typedef struct racer {
    vt_pool *p;
    const void *owner;
    atomic_int stop;
} racer;

static void *cancel_thread(void *arg)
{
    racer *rc = arg;
    unsigned seed = 12345;
    while (!atomic_load(&rc->stop)) {
        uint32_t gen = (uint32_t)(rand_r(&seed) % 8);
        vt_pool_cancel_gen(rc->p, rc->owner, gen);
        usleep((useconds_t)(rand_r(&seed) % 200));
    }
    return NULL;
}

static void test_exactly_once_under_races(void **state)
{
    (void)state;
    enum { N = 3000 };
    vt_pool *p = make_pool(3, 64);
    int owner;
    rec *r = calloc(N, sizeof *r);
    racer rc = { p, &owner, 0 };
    pthread_t th;
    pthread_create(&th, NULL, cancel_thread, &rc);
    unsigned seed = 99;
    int submitted = 0;
    for (int i = 0; i < N;) {
        r[i].sleep_us = (int)(rand_r(&seed) % 3) * 100;
        r[i].posts = (int)(rand_r(&seed) % 4);
        r[i].result = (rand_r(&seed) % 5 == 0) ? VT_EIO : 0;
        vt_job_desc d = desc(&r[i], &owner, (uint32_t)(i % 8));
        int s = vt_pool_submit(p, &d, NULL);
        if (s == VT_EFULL) {
            vt_pool_wait(p, 5);
            vt_pool_drain(p, (int)(rand_r(&seed) % 4)); /* sometimes partial */
            continue;
        }
        assert_int_equal(s, 0);
        submitted++;
        i++;
        if (rand_r(&seed) % 7 == 0)
            vt_pool_drain(p, 0);
    }
    drain_all(p);
    atomic_store(&rc.stop, 1);
    pthread_join(th, NULL);
    int cancelled = 0;
    for (int i = 0; i < N; i++) {
        assert_int_equal(r[i].completions, 1);
        assert_true(r[i].run_calls <= 1);
        if (r[i].status == VT_ECANCELED) {
            cancelled++;
            assert_int_equal(r[i].progress + r[i].dropped <= r[i].posts, 1);
        } else {
            assert_int_equal(r[i].status, r[i].result);
            assert_int_equal(r[i].progress, r[i].posts); /* delivered, all of them */
            assert_int_equal(r[i].dropped, 0);
        }
    }
    assert_int_equal(submitted, N);
    assert_true(cancelled > 0);
    vt_pool_destroy(p);
    assert_int_equal(atomic_load(&live_results), 0);
    free(r);
}

static void test_bad_args(void **state)
{
    (void)state;
    vt_pool *p = NULL;
    vt_pool_config cfg;
    vt_pool_config_default(&cfg);
    cfg.workers = 0;
    assert_int_equal(vt_pool_create(&cfg, &p), VT_EINVAL);
    p = make_pool(1, 2);
    vt_job_desc d = { 0 };
    assert_int_equal(vt_pool_submit(p, &d, NULL), VT_EINVAL);
    assert_int_equal(vt_pool_drain(p, 0), 0);
    assert_int_equal(vt_pool_wait(p, 1), 0);
    vt_pool_destroy(p);
    vt_pool_destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ok_and_error),
        cmocka_unit_test(test_progress_in_order),
        cmocka_unit_test(test_cancel_queued_running_done),
        cmocka_unit_test(test_bounded_and_destroy),
        cmocka_unit_test(test_exactly_once_under_races),
        cmocka_unit_test(test_bad_args),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
