/*
 * Learner progress: per user_id and lesson, how often each question was
 * asked and answered right, wrong or skipped, and the question to resume at.
 * Every change is one transaction, so a crash in the middle of a write
 * leaves the store as it was before the change.
 *
 * Two backends behind vt__progress_backend: SQLite (a file path; WAL
 * journal; progress_sqlite.c) and PostgreSQL (a postgresql:// URL, libpq;
 * progress_pg.c). progress.c picks one by the name and forwards.
 *
 * THREAD SAFETY: one vt_progress per brain ctx, used under the ctx's lock.
 * Several processes may share the file (busy timeout 2 s) or the database
 * (one connection per vt_progress).
 */
#ifndef VT_BRAIN_PROGRESS_H
#define VT_BRAIN_PROGRESS_H
#include <stddef.h>

typedef struct vt_progress vt_progress;

typedef enum { VT_OUTCOME_RIGHT = 0, VT_OUTCOME_WRONG, VT_OUTCOME_SKIPPED } vt_outcome;

typedef struct vt_progress_counts {
    int asked, right, wrong, skipped;
} vt_progress_counts;

/* Opens (creating the file, its directory and the tables on first use).
 * path ":memory:" keeps nothing; a postgresql:// or postgres:// URL opens
 * a PostgreSQL connection instead (the tables created on first use). */
int vt__progress_open(const char *path, vt_progress **out, char *err, size_t errlen);
void vt__progress_close(vt_progress *p);

/* Where the user resumes: 0 with *position and *completed (times finished),
 * or VT_ENOTFOUND for a new user/lesson. */
int vt__progress_resume(vt_progress *p, const char *user, const char *lesson, int *position,
                        int *completed);
/* The question was put to the learner: asked += 1, position = question. */
int vt__progress_asked(vt_progress *p, const char *user, const char *lesson, int question,
                       const char *text);
/* An answer: the outcome's count += 1, position = next, completed += done. */
int vt__progress_record(vt_progress *p, const char *user, const char *lesson, int question,
                        const char *text, vt_outcome o, int next, int done);
/* Totals over the lesson (question < 0) or one question. */
int vt__progress_counts(vt_progress *p, const char *user, const char *lesson, int question,
                        vt_progress_counts *c);
/* The last database error message. */
const char *vt__progress_errmsg(vt_progress *p);
/* "sqlite" or "postgresql" */
const char *vt__progress_backend_name(const vt_progress *p);
/* 1 when name is a PostgreSQL URL */
int vt__progress_is_url(const char *name);

/* Fault injection for tests: called inside each write transaction at
 * "stats" (after the per-question row), "position" (after the resume row)
 * and "commit" (just before COMMIT). Non-zero fails the write there. */
extern int (*vt__progress_fault)(const char *stage);

/* ---- backends (progress_sqlite.c, progress_pg.c) ----
 * write: in one transaction, question_stats' column col (n_asked, n_right,
 * n_wrong, n_skipped) += 1 for the question (text kept), then the resume
 * row: position = next, completed += done; vt__progress_stage() called at
 * "stats", "position" and "commit", a non-zero return rolling back. */
typedef struct vt__progress_backend {
    const char *name;
    int (*open)(const char *name, void **ctx, char *err, size_t errlen);
    void (*close)(void *ctx);
    const char *(*errmsg)(void *ctx);
    int (*resume)(void *ctx, const char *user, const char *lesson, int *position,
                  int *completed);
    int (*write)(void *ctx, const char *user, const char *lesson, int question,
                 const char *text, const char *col, int next, int done);
    int (*counts)(void *ctx, const char *user, const char *lesson, int question,
                  vt_progress_counts *c);
} vt__progress_backend;

extern const vt__progress_backend vt__progress_sqlite;
extern const vt__progress_backend vt__progress_pg;
/* The fault hook and the test stall (VT_TEST_PROGRESS_STALL_MS at
 * "position"): 0 to go on, VT_EIO to roll back. */
int vt__progress_stage(const char *stage);

#endif
