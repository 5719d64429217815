/*
 * Learner progress in SQLite: per user_id and lesson, how often each
 * question was asked and answered right, wrong or skipped, and the question
 * to resume at. Every change is one transaction, so a crash in the middle
 * of a write leaves the file as it was before the change (WAL journal).
 *
 * THREAD SAFETY: one vt_progress per brain ctx, used under the ctx's lock.
 * Several processes may share the file (busy timeout 2 s).
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
 * path ":memory:" keeps nothing. */
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
/* The last SQLite error message. */
const char *vt__progress_errmsg(vt_progress *p);

/* Fault injection for tests: called inside each write transaction at
 * "stats" (after the per-question row), "position" (after the resume row)
 * and "commit" (just before COMMIT). Non-zero fails the write there. */
extern int (*vt__progress_fault)(const char *stage);

#endif
