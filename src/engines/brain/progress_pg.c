/*
 * Learner progress in PostgreSQL (libpq), for several `voicetutor serve`
 * instances serving the same learners: `-o db=postgresql://user@host/db`.
 *
 * DESIGN: the same two tables as the SQLite backend (progress_sqlite.c) and
 * the same write: BEGIN; the question's counter (INSERT ... ON CONFLICT DO
 * UPDATE SET n = n + 1, one row lock); the resume row (position, completed
 * += done); COMMIT. READ COMMITTED is enough: both statements are upserts
 * whose updates are relative to the row they lock, so two instances writing
 * for one learner serialise on the row and never lose an increment; a
 * learner is in one session at a time, so the resume point is the last
 * writer's. A connection lost between writes is reset once before the next
 * one; a write whose COMMIT did not come back is reported as failed (the
 * lesson goes on, as with SQLite). The tables are created under an advisory
 * lock so that instances starting together do not race on CREATE TABLE.
 *
 * One connection per vt_progress (per lesson session). Without libpq at
 * build time the backend exists and says so.
 */
#include "progress.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "voicetutor/core.h"

#ifdef VT_HAVE_LIBPQ
#include <libpq-fe.h>

typedef struct pg_progress {
    PGconn *conn;
    char msg[256];
} pg_progress;

static const char *const pg_schema =
    "BEGIN;"
    "SELECT pg_advisory_xact_lock(7464726);" /* "vtp" */
    "CREATE TABLE IF NOT EXISTS learner_lesson("
    "  user_id TEXT NOT NULL, lesson TEXT NOT NULL,"
    "  position INTEGER NOT NULL DEFAULT 0,"
    "  completed INTEGER NOT NULL DEFAULT 0,"
    "  updated_at BIGINT NOT NULL,"
    "  PRIMARY KEY(user_id, lesson));"
    "CREATE TABLE IF NOT EXISTS question_stats("
    "  user_id TEXT NOT NULL, lesson TEXT NOT NULL, question INTEGER NOT NULL,"
    "  text TEXT NOT NULL,"
    "  n_asked INTEGER NOT NULL DEFAULT 0, n_right INTEGER NOT NULL DEFAULT 0,"
    "  n_wrong INTEGER NOT NULL DEFAULT 0, n_skipped INTEGER NOT NULL DEFAULT 0,"
    "  PRIMARY KEY(user_id, lesson, question));"
    "COMMIT;";

static void set_msg(pg_progress *p, const char *what)
{
    const char *m = p->conn ? PQerrorMessage(p->conn) : "out of memory";
    snprintf(p->msg, sizeof p->msg, "%s%s%s", what, *m ? ": " : "", m);
    size_t n = strlen(p->msg);
    while (n && (p->msg[n - 1] == '\n' || p->msg[n - 1] == ' '))
        p->msg[--n] = 0;
}

/* Runs a command with no result rows; 0 or VT_EIO (message kept). */
static int pg_cmd(pg_progress *p, const char *sql)
{
    PGresult *r = PQexec(p->conn, sql);
    int ok = r && (PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK);
    PQclear(r);
    if (!ok)
        set_msg(p, "postgresql");
    return ok ? 0 : VT_EIO;
}

static PGresult *pg_params(pg_progress *p, const char *sql, int n, const char *const *vals)
{
    return PQexecParams(p->conn, sql, n, NULL, vals, NULL, NULL, 0);
}

/* A connection that went away (the server restarted) is reset once. */
static int pg_ensure(pg_progress *p)
{
    if (PQstatus(p->conn) == CONNECTION_OK)
        return 0;
    PQreset(p->conn);
    if (PQstatus(p->conn) == CONNECTION_OK)
        return 0;
    set_msg(p, "postgresql: connection lost");
    return VT_EIO;
}

static void pg_close(void *ctx)
{
    pg_progress *p = ctx;
    if (!p)
        return;
    if (p->conn)
        PQfinish(p->conn);
    free(p);
}

static int pg_open(const char *url, void **out, char *err, size_t errlen)
{
    *out = NULL;
    pg_progress *p = calloc(1, sizeof *p);
    if (!p)
        return VT_ENOMEM;
    /* a bounded connect: a session's start must not hang on a dead server */
    const char *keys[] = {"dbname", "connect_timeout", "application_name", NULL};
    const char *vals[] = {url, "5", "voicetutor", NULL};
    p->conn = PQconnectdbParams(keys, vals, 1);
    if (!p->conn || PQstatus(p->conn) != CONNECTION_OK) {
        set_msg(p, "cannot connect");
        snprintf(err, errlen, "progress: postgresql: %s", p->msg);
        pg_close(p);
        return VT_EIO;
    }
    PGresult *r = PQexec(p->conn, "SET client_min_messages = warning");
    PQclear(r);
    if (pg_cmd(p, pg_schema) != 0) {
        snprintf(err, errlen, "progress: postgresql: cannot create the tables: %s", p->msg);
        pg_close(p);
        return VT_EIO;
    }
    *out = p;
    return 0;
}

static const char *pg_errmsg(void *ctx)
{
    pg_progress *p = ctx;
    return p && p->msg[0] ? p->msg : "no error";
}

static int pg_resume(void *ctx, const char *user, const char *lesson, int *position,
                     int *completed)
{
    pg_progress *p = ctx;
    if (pg_ensure(p) != 0)
        return VT_EIO;
    const char *v[] = {user, lesson};
    PGresult *r = pg_params(p,
                            "SELECT position, completed FROM learner_lesson "
                            "WHERE user_id=$1 AND lesson=$2",
                            2, v);
    int rc = VT_EIO;
    if (r && PQresultStatus(r) == PGRES_TUPLES_OK) {
        if (PQntuples(r) == 0) {
            rc = VT_ENOTFOUND;
        } else {
            *position = atoi(PQgetvalue(r, 0, 0));
            *completed = atoi(PQgetvalue(r, 0, 1));
            rc = 0;
        }
    } else {
        set_msg(p, "postgresql");
    }
    PQclear(r);
    return rc;
}

static int pg_write(void *ctx, const char *user, const char *lesson, int question,
                    const char *text, const char *col, int next, int done)
{
    pg_progress *p = ctx;
    char sql[512], qs[16], ns[16], ds[16], ts[24];
    int rc;
    if (pg_ensure(p) != 0)
        return VT_EIO;
    snprintf(qs, sizeof qs, "%d", question);
    snprintf(ns, sizeof ns, "%d", next);
    snprintf(ds, sizeof ds, "%d", done);
    snprintf(ts, sizeof ts, "%lld", (long long)time(NULL));
    if ((rc = pg_cmd(p, "BEGIN")) != 0)
        return rc;
    snprintf(sql, sizeof sql,
             "INSERT INTO question_stats(user_id, lesson, question, text, %s) "
             "VALUES($1, $2, $3::int, $4, 1) "
             "ON CONFLICT(user_id, lesson, question) DO UPDATE SET %s = question_stats.%s + 1, "
             "text = $4",
             col, col, col);
    const char *v1[] = {user, lesson, qs, text ? text : ""};
    PGresult *r = pg_params(p, sql, 4, v1);
    rc = r && PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : VT_EIO;
    PQclear(r);
    if (rc) {
        set_msg(p, "postgresql");
        goto rollback;
    }
    if ((rc = vt__progress_stage("stats")) != 0)
        goto rollback;
    const char *v2[] = {user, lesson, ns, ds, ts};
    r = pg_params(p,
                  "INSERT INTO learner_lesson(user_id, lesson, position, completed, updated_at) "
                  "VALUES($1, $2, $3::int, $4::int, $5::bigint) "
                  "ON CONFLICT(user_id, lesson) DO UPDATE SET position = $3::int, "
                  "completed = learner_lesson.completed + $4::int, updated_at = $5::bigint",
                  5, v2);
    rc = r && PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : VT_EIO;
    PQclear(r);
    if (rc) {
        set_msg(p, "postgresql");
        goto rollback;
    }
    if ((rc = vt__progress_stage("position")) != 0 || (rc = vt__progress_stage("commit")) != 0)
        goto rollback;
    if ((rc = pg_cmd(p, "COMMIT")) != 0)
        return rc; /* the transaction is over either way */
    return 0;
rollback:
    r = PQexec(p->conn, "ROLLBACK");
    PQclear(r);
    return rc;
}

static int pg_counts(void *ctx, const char *user, const char *lesson, int question,
                     vt_progress_counts *c)
{
    pg_progress *p = ctx;
    if (pg_ensure(p) != 0)
        return VT_EIO;
    char qs[16];
    snprintf(qs, sizeof qs, "%d", question);
    const char *v[] = {user, lesson, qs};
    PGresult *r = pg_params(p,
                            "SELECT COALESCE(SUM(n_asked),0), COALESCE(SUM(n_right),0), "
                            "COALESCE(SUM(n_wrong),0), COALESCE(SUM(n_skipped),0) "
                            "FROM question_stats WHERE user_id=$1 AND lesson=$2 "
                            "AND ($3::int < 0 OR question = $3::int)",
                            3, v);
    int rc = VT_EIO;
    if (r && PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) {
        c->asked = atoi(PQgetvalue(r, 0, 0));
        c->right = atoi(PQgetvalue(r, 0, 1));
        c->wrong = atoi(PQgetvalue(r, 0, 2));
        c->skipped = atoi(PQgetvalue(r, 0, 3));
        rc = 0;
    } else {
        set_msg(p, "postgresql");
    }
    PQclear(r);
    return rc;
}

const vt__progress_backend vt__progress_pg = {
    .name = "postgresql",
    .open = pg_open,
    .close = pg_close,
    .errmsg = pg_errmsg,
    .resume = pg_resume,
    .write = pg_write,
    .counts = pg_counts,
};

#else /* no libpq */

static int pg_open(const char *url, void **out, char *err, size_t errlen)
{
    (void)url;
    *out = NULL;
    snprintf(err, errlen,
             "progress: this voicetutor was built without PostgreSQL (install libpq-dev: "
             "scripts/install-deps.sh, then rebuild)");
    return VT_EINVAL;
}

static void pg_close(void *ctx) { (void)ctx; }
static const char *pg_errmsg(void *ctx) { (void)ctx; return "built without PostgreSQL"; }

const vt__progress_backend vt__progress_pg = {
    .name = "postgresql",
    .open = pg_open,
    .close = pg_close,
    .errmsg = pg_errmsg,
};
#endif
