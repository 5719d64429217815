/*
 * Learner progress in SQLite, the default backend (see progress.h). Two tables: learner_lesson
 * (where to resume, how often finished) and question_stats (asked / right /
 * wrong / skipped per question). A write touches both inside one
 * BEGIN IMMEDIATE ... COMMIT, so the resume point and the counts can never
 * disagree, whatever happens in between. WAL with synchronous=NORMAL keeps
 * commits cheap (no fsync per answer) and the file consistent after a crash;
 * at worst the last answer of a power cut is lost.
 */
#include "progress.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <sqlite3.h>

#include "voicetutor/core.h"

typedef struct sqlite_progress {
    sqlite3 *db;
} sqlite_progress;

static const char *const schema =
    "PRAGMA busy_timeout=2000;"
    "CREATE TABLE IF NOT EXISTS learner_lesson("
    "  user_id TEXT NOT NULL, lesson TEXT NOT NULL,"
    "  position INTEGER NOT NULL DEFAULT 0,"
    "  completed INTEGER NOT NULL DEFAULT 0,"
    "  updated_at INTEGER NOT NULL,"
    "  PRIMARY KEY(user_id, lesson));"
    "CREATE TABLE IF NOT EXISTS question_stats("
    "  user_id TEXT NOT NULL, lesson TEXT NOT NULL, question INTEGER NOT NULL,"
    "  text TEXT NOT NULL,"
    "  n_asked INTEGER NOT NULL DEFAULT 0, n_right INTEGER NOT NULL DEFAULT 0,"
    "  n_wrong INTEGER NOT NULL DEFAULT 0, n_skipped INTEGER NOT NULL DEFAULT 0,"
    "  PRIMARY KEY(user_id, lesson, question));";

/* mkdir -p of the directory part of path */
static int make_parent_dirs(const char *path)
{
    char buf[1024];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return -1;
    char *slash = strrchr(buf, '/');
    if (!slash || slash == buf)
        return 0;
    *slash = '\0';
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0700) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(buf, 0700) != 0 && errno != EEXIST)
        return -1;
    return 0;
}

static void sq_close(void *ctx);

static int sq_open(const char *path, void **out, char *err, size_t errlen)
{
    int rc = 0;
    sqlite_progress *p = NULL;
    *out = NULL;
    if (strcmp(path, ":memory:") != 0 && make_parent_dirs(path) != 0) {
        snprintf(err, errlen, "progress: cannot create the directory of %s: %s", path,
                 strerror(errno));
        return VT_EIO;
    }
    p = calloc(1, sizeof *p);
    if (!p)
        return VT_ENOMEM;
    if (sqlite3_open_v2(path, &p->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK) {
        snprintf(err, errlen, "progress: cannot open %s: %s", path,
                 p->db ? sqlite3_errmsg(p->db) : "out of memory");
        rc = VT_EIO;
        goto out;
    }
    char *msg = NULL;
    /* journal_mode answers with a row; exec ignores it */
    if (sqlite3_exec(p->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", NULL, NULL,
                     &msg) != SQLITE_OK ||
        sqlite3_exec(p->db, schema, NULL, NULL, &msg) != SQLITE_OK) {
        snprintf(err, errlen, "progress: %s: %s (is it a voicetutor progress database?)", path,
                 msg ? msg : sqlite3_errmsg(p->db));
        sqlite3_free(msg);
        rc = VT_EIO;
        goto out;
    }
    *out = p;
    p = NULL;
out:
    sq_close(p);
    return rc;
}

static void sq_close(void *ctx)
{
    sqlite_progress *p = ctx;
    if (!p)
        return;
    sqlite3_close(p->db);
    free(p);
}

static const char *sq_errmsg(void *ctx)
{
    sqlite_progress *p = ctx;
    return p && p->db ? sqlite3_errmsg(p->db) : "no database";
}

static int sq_resume(void *ctx, const char *user, const char *lesson, int *position,
                     int *completed)
{
    sqlite_progress *p = ctx;
    sqlite3_stmt *st = NULL;
    int rc = VT_EIO;
    if (sqlite3_prepare_v2(p->db,
                           "SELECT position, completed FROM learner_lesson "
                           "WHERE user_id=?1 AND lesson=?2",
                           -1, &st, NULL) != SQLITE_OK)
        goto out;
    sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, lesson, -1, SQLITE_STATIC);
    int s = sqlite3_step(st);
    if (s == SQLITE_ROW) {
        *position = sqlite3_column_int(st, 0);
        *completed = sqlite3_column_int(st, 1);
        rc = 0;
    } else if (s == SQLITE_DONE) {
        rc = VT_ENOTFOUND;
    }
out:
    sqlite3_finalize(st);
    return rc;
}

static int exec_stmt(sqlite3 *db, const char *sql, const char *user, const char *lesson,
                     int question, const char *text, int a, int b)
{
    sqlite3_stmt *st = NULL;
    int rc = VT_EIO;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        goto out;
    sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, lesson, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, question);
    sqlite3_bind_text(st, 4, text ? text : "", -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 5, a);
    sqlite3_bind_int(st, 6, b);
    sqlite3_bind_int64(st, 7, (sqlite3_int64)time(NULL));
    if (sqlite3_step(st) == SQLITE_DONE)
        rc = 0;
out:
    sqlite3_finalize(st);
    return rc;
}

/* One write: the question's counter (column col) and the resume point. */
static int sq_write(void *ctx, const char *user, const char *lesson, int question,
                    const char *text, const char *col, int next, int done)
{
    sqlite_progress *p = ctx;
    char sql[512];
    int rc;
    if (sqlite3_exec(p->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return VT_EIO;
    snprintf(sql, sizeof sql,
             "INSERT INTO question_stats(user_id, lesson, question, text, %s) "
             "VALUES(?1, ?2, ?3, ?4, 1) "
             "ON CONFLICT(user_id, lesson, question) DO UPDATE SET %s = %s + 1, text = ?4",
             col, col, col);
    if ((rc = exec_stmt(p->db, sql, user, lesson, question, text, 0, 0)) != 0 ||
        (rc = vt__progress_stage("stats")) != 0)
        goto rollback;
    if ((rc = exec_stmt(p->db,
                        "INSERT INTO learner_lesson(user_id, lesson, position, completed, "
                        "updated_at) VALUES(?1, ?2, ?5, ?6, ?7) "
                        "ON CONFLICT(user_id, lesson) DO UPDATE SET position = ?5, "
                        "completed = completed + ?6, updated_at = ?7",
                        user, lesson, question, text, next, done)) != 0 ||
        (rc = vt__progress_stage("position")) != 0 || (rc = vt__progress_stage("commit")) != 0)
        goto rollback;
    if (sqlite3_exec(p->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        rc = VT_EIO;
        goto rollback;
    }
    return 0;
rollback:
    sqlite3_exec(p->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

static int sq_counts(void *ctx, const char *user, const char *lesson, int question,
                     vt_progress_counts *c)
{
    sqlite_progress *p = ctx;
    sqlite3_stmt *st = NULL;
    int rc = VT_EIO;
    if (sqlite3_prepare_v2(p->db,
                           "SELECT COALESCE(SUM(n_asked),0), COALESCE(SUM(n_right),0), "
                           "COALESCE(SUM(n_wrong),0), COALESCE(SUM(n_skipped),0) "
                           "FROM question_stats WHERE user_id=?1 AND lesson=?2 "
                           "AND (?3 < 0 OR question = ?3)",
                           -1, &st, NULL) != SQLITE_OK)
        goto out;
    sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, lesson, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, question);
    if (sqlite3_step(st) != SQLITE_ROW)
        goto out;
    c->asked = sqlite3_column_int(st, 0);
    c->right = sqlite3_column_int(st, 1);
    c->wrong = sqlite3_column_int(st, 2);
    c->skipped = sqlite3_column_int(st, 3);
    rc = 0;
out:
    sqlite3_finalize(st);
    return rc;
}

const vt__progress_backend vt__progress_sqlite = {
    .name = "sqlite",
    .open = sq_open,
    .close = sq_close,
    .errmsg = sq_errmsg,
    .resume = sq_resume,
    .write = sq_write,
    .counts = sq_counts,
};
