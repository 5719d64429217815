/*
 * The executors (src/runtime/exec.h): the virtual-time executor keeps the
 * pool's job contract — a job never runs inside the call that submitted
 * it, progress comes in order before the completion, every job completes
 * exactly once, cancellation drops progress and completes with
 * VT_ECANCELED — and places results in virtual time by what the job's
 * engines spent. The pool executor gives the same sequence on threads.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/exec.h"
#include "voicetutor/core.h"

typedef struct rec {
    vt_exec x;
    vt_vexec *vx;            /* NULL with the pool executor */
    int runs, completes, status;
    int got[16], n_got, dropped;
    int64_t got_at[16], done_at;
    int post_n;              /* messages each run posts */
    int64_t spend_us;        /* virtual cost before each message */
} rec;

static int64_t now_of(rec *r)
{
    return r->x.ops->now(r->x.impl);
}

static int body(vt_exec_job *job, void *arg, const volatile int *abort)
{
    rec *r = arg;
    r->runs++;
    for (int i = 0; i < r->post_n && !*abort; i++) {
        if (r->vx)
            vt_vexec_spend(r->vx, r->spend_us);
        int *m = malloc(sizeof *m);
        *m = i;
        r->x.ops->post(r->x.impl, job, m);
    }
    return 0;
}

static void progress(void *arg, void *msg)
{
    rec *r = arg;
    r->got_at[r->n_got] = now_of(r);
    r->got[r->n_got++] = *(int *)msg;
    free(msg);
}

static void drop(void *arg, void *msg)
{
    ((rec *)arg)->dropped++;
    free(msg);
}

static void complete(void *arg, int status)
{
    rec *r = arg;
    r->completes++;
    r->status = status;
    r->done_at = now_of(r);
}

static int submit(rec *r, uint32_t gen)
{
    vt_exec_desc d = {.owner = r, .gen = gen, .kind = VT_EXEC_CPU, .run = body,
                      .complete = complete, .progress = progress, .drop = drop, .arg = r};
    return r->x.ops->submit(r->x.impl, &d);
}

static void virtual_setup(rec *r)
{
    memset(r, 0, sizeof *r);
    assert_int_equal(vt_vexec_create(&r->vx), 0);
    r->x = vt_vexec_exec(r->vx);
}

static void virtual_time_places_results_by_cost(void **st)
{
    (void)st;
    rec r;
    virtual_setup(&r);
    r.post_n = 3;
    r.spend_us = 40000;
    vt_vexec_set_now(r.vx, 1000000);
    assert_int_equal(submit(&r, 1), 0);
    assert_int_equal(r.runs, 0); /* never inside submit */
    assert_int_equal(vt_vexec_next(r.vx), 1000000);
    vt_vexec_run_until(r.vx, 1000000);
    assert_int_equal(r.runs, 1);
    assert_int_equal(r.n_got, 0); /* the first message costs 40 ms */
    assert_int_equal(vt_vexec_next(r.vx), 1040000);
    vt_vexec_run_until(r.vx, 1100000);
    assert_int_equal(r.n_got, 2);
    assert_int_equal(r.got_at[0], 1040000);
    assert_int_equal(r.got_at[1], 1080000);
    assert_int_equal(r.completes, 0);
    vt_vexec_run_until(r.vx, 2000000);
    assert_int_equal(r.n_got, 3);
    assert_int_equal(r.got[2], 2);
    assert_int_equal(r.completes, 1);
    assert_int_equal(r.status, 0);
    assert_int_equal(r.done_at, 1120000); /* at the end of the job's modelled work */
    assert_int_equal(vt_vexec_pending(r.vx), 0);
    vt_vexec_destroy(r.vx);
}

static void virtual_cancel_before_and_after_the_run(void **st)
{
    (void)st;
    rec r;
    virtual_setup(&r);
    r.post_n = 2;
    r.spend_us = 10000;
    submit(&r, 7);
    r.x.ops->cancel_gen(r.x.impl, &r, 6); /* another generation: untouched */
    r.x.ops->cancel_gen(r.x.impl, &r, 7);
    vt_vexec_run_until(r.vx, 50000);
    assert_int_equal(r.runs, 0);
    assert_int_equal(r.completes, 1);
    assert_int_equal(r.status, VT_ECANCELED);
    /* ran, then cancelled with its messages still in flight */
    memset(r.got, 0, sizeof r.got);
    r.completes = 0;
    submit(&r, 8);
    vt_vexec_run_until(r.vx, 50000);
    assert_int_equal(r.runs, 1);
    r.x.ops->cancel_owner(r.x.impl, &r);
    vt_vexec_run_until(r.vx, 200000);
    assert_int_equal(r.n_got, 0);
    assert_int_equal(r.dropped, 2);
    assert_int_equal(r.completes, 1);
    assert_int_equal(r.status, VT_ECANCELED);
    /* destroy completes what is left, exactly once */
    r.completes = 0;
    submit(&r, 9);
    vt_vexec_destroy(r.vx);
    assert_int_equal(r.completes, 1);
    assert_int_equal(r.status, VT_ECANCELED);
}

static void pool_executor_keeps_the_same_order(void **st)
{
    (void)st;
    vt_pool_config pc;
    vt_pool_config_default(&pc);
    vt_pool *cpu, *io;
    assert_int_equal(vt_pool_create(&pc, &cpu), 0);
    assert_int_equal(vt_pool_create(&pc, &io), 0);
    vt_exec_pools pools = {{cpu, io}};
    rec r;
    memset(&r, 0, sizeof r);
    r.x = vt_exec_pool(&pools);
    r.post_n = 5;
    assert_int_equal(submit(&r, 1), 0);
    for (int i = 0; i < 500 && !r.completes; i++) {
        vt_pool_wait(cpu, 10);
        vt_pool_drain(cpu, 0);
    }
    assert_int_equal(r.completes, 1);
    assert_int_equal(r.status, 0);
    assert_int_equal(r.n_got, 5);
    for (int i = 0; i < 5; i++)
        assert_int_equal(r.got[i], i);
    assert_true(now_of(&r) > 0);
    vt_pool_destroy(cpu);
    vt_pool_destroy(io);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(virtual_time_places_results_by_cost),
        cmocka_unit_test(virtual_cancel_before_and_after_the_run),
        cmocka_unit_test(pool_executor_keeps_the_same_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
