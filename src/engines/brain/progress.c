/*
 * Learner progress behind one small backend interface (progress.h): SQLite
 * (progress_sqlite.c, a file path, the default) or PostgreSQL
 * (progress_pg.c, a postgresql:// or postgres:// URL, so that several
 * `voicetutor serve` instances on several machines serve the same learners).
 *
 * DESIGN: the backends differ only in how they speak SQL. Both keep the same
 * two tables and the same write: the question's counter and the resume point
 * in one transaction, with the fault-injection stages ("stats", "position",
 * "commit") at the same places, so tests/brain and the crash tests hold for
 * either. This file picks the backend by the name's prefix and forwards.
 */
#include "progress.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "voicetutor/core.h"

int (*vt__progress_fault)(const char *stage);

struct vt_progress {
    const vt__progress_backend *be;
    void *ctx;
};

int vt__progress_is_url(const char *name)
{
    return name && (strncmp(name, "postgresql://", 13) == 0 || strncmp(name, "postgres://", 11) == 0);
}

int vt__progress_open(const char *name, vt_progress **out, char *err, size_t errlen)
{
    *out = NULL;
    if (!name || !*name) {
        snprintf(err, errlen, "progress: no database path");
        return VT_EINVAL;
    }
    const vt__progress_backend *be = vt__progress_is_url(name) ? &vt__progress_pg
                                                                : &vt__progress_sqlite;
    vt_progress *p = calloc(1, sizeof *p);
    if (!p)
        return VT_ENOMEM;
    p->be = be;
    int rc = be->open(name, &p->ctx, err, errlen);
    if (rc) {
        free(p);
        return rc;
    }
    *out = p;
    return 0;
}

void vt__progress_close(vt_progress *p)
{
    if (!p)
        return;
    p->be->close(p->ctx);
    free(p);
}

const char *vt__progress_backend_name(const vt_progress *p)
{
    return p ? p->be->name : "none";
}

const char *vt__progress_errmsg(vt_progress *p)
{
    return p ? p->be->errmsg(p->ctx) : "no database";
}

int vt__progress_resume(vt_progress *p, const char *user, const char *lesson, int *position,
                        int *completed)
{
    return p->be->resume(p->ctx, user, lesson, position, completed);
}

int vt__progress_asked(vt_progress *p, const char *user, const char *lesson, int question,
                       const char *text)
{
    return p->be->write(p->ctx, user, lesson, question, text, "n_asked", question, 0);
}

int vt__progress_record(vt_progress *p, const char *user, const char *lesson, int question,
                        const char *text, vt_outcome o, int next, int done)
{
    const char *col = o == VT_OUTCOME_RIGHT ? "n_right"
                      : o == VT_OUTCOME_WRONG ? "n_wrong"
                                              : "n_skipped";
    return p->be->write(p->ctx, user, lesson, question, text, col, next, done ? 1 : 0);
}

int vt__progress_counts(vt_progress *p, const char *user, const char *lesson, int question,
                        vt_progress_counts *c)
{
    memset(c, 0, sizeof *c);
    return p->be->counts(p->ctx, user, lesson, question, c);
}

/* Tests that kill the server in the middle of a write widen the window:
 * VT_TEST_PROGRESS_STALL_MS holds every write transaction open that long
 * (tests/web/crash.test.mjs). Unset in normal use. */
static void stall(void)
{
    static int ms = -1;
    if (ms < 0) {
        const char *e = getenv("VT_TEST_PROGRESS_STALL_MS");
        ms = e ? atoi(e) : 0;
        ms = ms < 0 ? 0 : ms > 2000 ? 2000 : ms;
    }
    if (ms > 0) {
        struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
}

int vt__progress_stage(const char *stage)
{
    if (strcmp(stage, "position") == 0)
        stall();
    return vt__progress_fault && vt__progress_fault(stage) ? VT_EIO : 0;
}
