/*
 * Tests of the lesson brain: lesson files (and their error messages), answer
 * matching, a whole tutoring conversation through the ops table (answers
 * in words and digits, repeat / hint / skip / explain / next, steering,
 * filler choice by context, the judge), progress resumed by a second
 * session of the same user, and the progress database staying consistent
 * when a write fails or the process dies in the middle of one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "brain_internal.h"
#include "lesson.h"
#include "progress.h"
#include "text.h"
#include "voicetutor/core.h"

static char tmpdir[256];

static int setup_dir(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/vt_brain_lesson_XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_dir(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void parse_fails(const char *text, const char *want)
{
    vt_lesson *l = NULL;
    char err[256] = "";
    int rc = vt__lesson_parse(text, strlen(text), "bad.lesson", &l, err, sizeof err);
    assert_int_equal(rc, VT_EFORMAT);
    assert_null(l);
    if (!strstr(err, want))
        fail_msg("error '%s' lacks '%s'", err, want);
}

static void test_lesson_errors(void **state)
{
    (void)state;
    parse_fails("answer: 3\n", "bad.lesson:1: 'answer' before the first 'question:'");
    parse_fails("# c\n\nquestion: a?\nhint: h\nquestion: b?\nanswer: 1\n",
                "bad.lesson:5: the question on line 3 has no answer");
    parse_fails("question: a?\n", "bad.lesson:1: the question has no answer");
    parse_fails("title: x\n", "no questions");
    parse_fails("question: a?\nanswer: 1\ncolour: red\n", "bad.lesson:3: unknown key 'colour'");
    parse_fails("question: a?\nanswer: 1\nno colon here\n", "bad.lesson:3: expected 'key: value'");
    parse_fails("generate: multiply 2..x by 1..3\n", "bad.lesson:1: generate:");
    parse_fails("tries: 9\nquestion: a?\nanswer: 1\n", "bad.lesson:1: tries");
    parse_fails("question: a?\nanswer: |  |\n", "bad.lesson:2: empty value");
    parse_fails("question: a?\nanswer:\n", "bad.lesson:2: 'answer' has no value");
    parse_fails("question: a?\nanswer: 1\nexplain: x\nexplain: y\n", "a second 'explain:'");

    char err[256];
    vt_lesson *l = NULL;
    assert_int_equal(vt__lesson_load("/nonexistent/x.lesson", &l, err, sizeof err),
                     VT_ENOTFOUND);
    assert_non_null(strstr(err, "/nonexistent/x.lesson"));
    char path[512];
    assert_int_equal(vt__lesson_find("no-such-lesson", NULL, path, sizeof path, err, sizeof err),
                     VT_ENOTFOUND);
    assert_non_null(strstr(err, "no-such-lesson"));
}

static void test_lesson_parse_and_match(void **state)
{
    (void)state;
    const char *text = "title: T\n"
                       "intro: Hi.\n"
                       "  More intro.\n"
                       "Question: What is 6 times 7?\n"
                       "A: 42\n"
                       "question: Which gas?\n"
                       "answer: Carbon dioxide | CO2\n"
                       "answer: the air we breathe out\n"
                       "hint: one\nhint: two\n"
                       "generate: add 1..2 to 1..2\n";
    vt_lesson *l = NULL;
    char err[256] = "";
    assert_int_equal(vt__lesson_parse(text, strlen(text), "dir/my-quiz.lesson", &l, err,
                                      sizeof err), 0);
    assert_string_equal(l->id, "my-quiz");
    assert_string_equal(l->intro, "Hi. More intro.");
    assert_int_equal(l->n_q, 6);
    assert_true(l->q[0].numeric);
    assert_false(l->q[1].numeric);
    assert_int_equal(l->q[1].n_answers, 3);
    assert_string_equal(l->q[1].norm[2], "air we breathe out");
    assert_int_equal(l->q[1].n_hints, 2);
    assert_string_equal(l->q[2].text, "What is 1 plus 1?");
    assert_true(l->n_praise > 0 && l->n_encourage > 0 && l->n_steer > 0);

    char n[128];
#define MATCH(qi, said) (vt__text_normalize(said, n, sizeof n), vt__lesson_match(&l->q[qi], n))
    assert_int_equal(MATCH(0, "forty two"), VT_MATCH_RIGHT);
    assert_int_equal(MATCH(0, "Forty-two!"), VT_MATCH_RIGHT);
    assert_int_equal(MATCH(0, "42"), VT_MATCH_RIGHT);
    assert_int_equal(MATCH(0, "six times seven is forty two"), VT_MATCH_RIGHT);
    assert_int_equal(MATCH(0, "twenty four"), VT_MATCH_WRONG);
    assert_int_equal(MATCH(0, "what's the weather"), VT_MATCH_OTHER);
    assert_int_equal(MATCH(1, "I think it's carbon dioxide"), VT_MATCH_RIGHT);
    assert_int_equal(MATCH(1, "CO2."), VT_MATCH_RIGHT);
    assert_int_equal(MATCH(1, "oxygen"), VT_MATCH_WRONG);
    assert_int_equal(MATCH(1, "i am quite sure it is oxygen"), VT_MATCH_OTHER);
    assert_int_equal(MATCH(1, "can you tell me a story"), VT_MATCH_OTHER);
    assert_int_equal(MATCH(1, "is it nitrogen"), VT_MATCH_WRONG);
#undef MATCH
    char *ctx = vt__lesson_context(l);
    assert_non_null(strstr(ctx, "What is 6 times 7? Answer: 42"));
    assert_non_null(strstr(ctx, "(or CO2)"));
    free(ctx);
    vt__lesson_free(l);
}

static void test_shipped_lessons(void **state)
{
    (void)state;
    const char *names[] = {"times-tables", "capitals", "science"};
    size_t want[] = {64, 14, 12};
    for (int i = 0; i < 3; i++) {
        char path[1024], err[256] = "";
        vt_lesson *l = NULL;
        assert_int_equal(vt__lesson_find(names[i], NULL, path, sizeof path, err, sizeof err), 0);
        if (vt__lesson_load(path, &l, err, sizeof err) != 0)
            fail_msg("%s", err);
        assert_int_equal(l->n_q, want[i]);
        assert_string_equal(l->id, names[i]);
        vt__lesson_free(l);
    }
    /* the shuffle is the same every time */
    char path[1024], err[256];
    vt_lesson *a = NULL, *b = NULL;
    assert_int_equal(vt__lesson_find("times-tables", NULL, path, sizeof path, err, sizeof err), 0);
    assert_int_equal(vt__lesson_load(path, &a, err, sizeof err), 0);
    assert_int_equal(vt__lesson_load(path, &b, err, sizeof err), 0);
    for (size_t i = 0; i < a->n_q; i++)
        assert_string_equal(a->q[i].text, b->q[i].text);
    assert_string_not_equal(a->q[0].text, "What is 2 times 2?");
    vt__lesson_free(a);
    vt__lesson_free(b);
}

/* ---- the brain, through its ops table ---------------------------------- */
typedef struct sink {
    char text[4096];
    int n_tokens;
    int stop_after;
} sink;

static int on_tok(void *ud, const char *t)
{
    sink *s = ud;
    if (s->n_tokens > 0)
        assert_int_equal(t[0], ' '); /* tokens after the first carry their space */
    strncat(s->text, t, sizeof s->text - strlen(s->text) - 1);
    s->n_tokens++;
    return s->stop_after && s->n_tokens >= s->stop_after;
}

typedef struct session {
    void *ctx;
    vt_turn turns[64];
    size_t n;
} session;

static const char *say(session *s, const char *user)
{
    static sink out;
    memset(&out, 0, sizeof out);
    s->turns[s->n].role = VT_ROLE_USER;
    s->turns[s->n].text = (char *)user;
    s->n = (s->n + 1) % 64;
    int rc = vt_brain_lesson.reply(s->ctx, s->turns, s->n, on_tok, &out, NULL, NULL, 0);
    assert_int_equal(rc, 0);
    assert_true(out.n_tokens > 0);
    return out.text;
}

static void contains(const char *text, const char *want)
{
    if (!strstr(text, want))
        fail_msg("'%s' does not contain '%s'", text, want);
}

static const char *quiz =
    "title: the quiz\n"
    "intro: Welcome to the quiz.\n"
    "praise: Right!\n"
    "encourage: Not quite.\n"
    "steer: Let's stay with the quiz.\n"
    "question: What is 6 times 7?\n"
    "answer: 42\n"
    "hint: Six sevens.\n"
    "explain: Six sevens make forty two.\n"
    "question: What is the capital of France?\n"
    "answer: Paris\n"
    "hint: The city of light.\n"
    "question: Which gas do plants take in?\n"
    "answer: carbon dioxide | CO2\n";

static void *open_brain(const char *lesson_path, const char *db, const char *user)
{
    vt_opt o[] = {{"lesson", lesson_path}, {"db", db}, {"user_id", user}};
    void *ctx = NULL;
    char err[256] = "";
    if (vt_brain_lesson.create(o, 3, &ctx, err, sizeof err) != 0)
        fail_msg("create: %s", err);
    return ctx;
}

static void test_conversation(void **state)
{
    (void)state;
    char lp[300], db[300];
    snprintf(lp, sizeof lp, "%s/quiz.lesson", tmpdir);
    snprintf(db, sizeof db, "%s/conv.db", tmpdir);
    write_file(lp, quiz);
    session s = {open_brain(lp, db, "ann"), {{0}}, 0};
    vt_filler_desc fillers[] = {{"Hmm, let me think.", "thinking, neutral"},
                                {"Great!", "praise after a correct answer"},
                                {"Let's see.", "encouraging, after a wrong answer"}};

    /* nothing said yet: the greeting */
    sink g = {{0}, 0, 0};
    assert_int_equal(vt_brain_lesson.reply(s.ctx, NULL, 0, on_tok, &g, NULL, NULL, 0), 0);
    contains(g.text, "Welcome to the quiz.");
    contains(g.text, "What is 6 times 7?");

    char words[4][VT_EXPECTED_PHRASE_MAX];
    assert_int_equal(vt_brain_lesson.expected(s.ctx, words, 4), 1);
    assert_string_equal(words[0], "forty two");
    const char *const *cmds;
    assert_true(vt_lesson_commands(&cmds) >= 5);

    /* the judge waits for the rest of "forty ..." */
    assert_int_equal(vt_brain_lesson.judge(s.ctx, "forty", NULL, NULL, 0), 0);
    assert_int_equal(vt_brain_lesson.judge(s.ctx, "forty two", NULL, NULL, 0), 1);
    assert_int_equal(vt_brain_lesson.judge(s.ctx, "hint", NULL, NULL, 0), 1);
    assert_int_equal(vt_brain_lesson.judge(s.ctx, "I want to", NULL, NULL, 0), vt_judge_heuristic("I want to"));

    /* fillers by context, before the reply is made and after */
    assert_int_equal(vt_brain_lesson.choose_filler(s.ctx, "forty two", fillers, 3, NULL, NULL, 0), 1);
    assert_int_equal(vt_brain_lesson.choose_filler(s.ctx, "twenty", fillers, 3, NULL, NULL, 0), 2);
    assert_int_equal(vt_brain_lesson.choose_filler(s.ctx, "what is the weather", fillers, 3, NULL, NULL, 0), 0);

    const char *r = say(&s, "Forty-two!");
    contains(r, "Right!");
    contains(r, "What is the capital of France?");
    /* the reply already moved on, but the filler for that text is still praise */
    assert_int_equal(vt_brain_lesson.choose_filler(s.ctx, "Forty-two!", fillers, 3, NULL, NULL, 0), 1);

    contains(say(&s, "explain"), "Six sevens make forty two.");
    contains(say(&s, "could you repeat that please"), "What is the capital of France?");
    contains(say(&s, "hint"), "The city of light.");
    contains(say(&s, "give me a hint"), "no more hints");
    r = say(&s, "what's the weather going to be like tomorrow");
    contains(r, "Let's stay with the quiz.");
    contains(r, "capital of France");
    contains(say(&s, "hello"), "Hello!");
    r = say(&s, "london");
    contains(r, "Not quite.");
    contains(r, "Try again.");
    assert_int_equal(vt_brain_lesson.choose_filler(s.ctx, "berlin", fillers, 3, NULL, NULL, 0), 2);
    r = say(&s, "berlin");
    contains(r, "The answer is Paris.");
    contains(r, "Which gas do plants take in?");

    assert_int_equal(vt_brain_lesson.expected(s.ctx, words, 4), 2);
    assert_string_equal(words[0], "carbon dioxide");
    assert_string_equal(words[1], "co2");

    r = say(&s, "skip");
    contains(r, "The answer was carbon dioxide.");
    contains(r, "You got 1 right out of 3.");
    vt_lesson_status st;
    assert_int_equal(vt_lesson_get_status(s.ctx, &st), 0);
    assert_true(st.finished);
    assert_int_equal(st.right, 1);
    assert_int_equal(st.wrong, 2);
    assert_int_equal(st.skipped, 1);
    assert_int_equal(vt_brain_lesson.expected(s.ctx, words, 4), 0);
    contains(say(&s, "what now"), "finished");
    contains(say(&s, "next"), "What is 6 times 7?");
    r = say(&s, "i don't know");
    contains(r, "Six sevens.");
    r = say(&s, "no idea");
    contains(r, "The answer is 42.");
    contains(r, "capital of France");

    /* cancellation: no token after the flag; on_token may stop the stream */
    volatile int abort_flag = 1;
    sink c = {{0}, 0, 0};
    s.turns[s.n].role = VT_ROLE_USER;
    s.turns[s.n++].text = "repeat";
    assert_int_equal(vt_brain_lesson.reply(s.ctx, s.turns, s.n, on_tok, &c, &abort_flag, NULL, 0),
                     VT_ECANCELED);
    assert_int_equal(c.n_tokens, 0);
    sink c2 = {{0}, 0, 2};
    assert_int_equal(vt_brain_lesson.reply(s.ctx, s.turns, s.n, on_tok, &c2, NULL, NULL, 0),
                     VT_ECANCELED);
    assert_int_equal(c2.n_tokens, 2);

    vt_brain_lesson.destroy(s.ctx);
}

static void test_numbers_spoken(void **state)
{
    (void)state;
    char db[300];
    snprintf(db, sizeof db, "%s/tt.db", tmpdir);
    session s = {open_brain("times-tables", db, "bob"), {{0}}, 0};
    char greet[512];
    assert_true(vt_brain_greeting(&vt_brain_lesson, s.ctx, greet, sizeof greet) > 0);
    contains(greet, "times tables");
    /* answer every question in words, as a recogniser writes them */
    for (int i = 0; i < 5; i++) {
        char words[2][VT_EXPECTED_PHRASE_MAX];
        assert_int_equal(vt_brain_lesson.expected(s.ctx, words, 2), 1);
        contains(say(&s, words[0]), "Next question.");
    }
    vt_lesson_status st;
    assert_int_equal(vt_lesson_get_status(s.ctx, &st), 0);
    assert_int_equal(st.right, 5);
    assert_int_equal(st.position, 5);
    assert_int_equal(st.n_questions, 64);
    vt_brain_lesson.destroy(s.ctx);
}

static void test_resume(void **state)
{
    (void)state;
    char lp[300], db[300];
    snprintf(lp, sizeof lp, "%s/quiz.lesson", tmpdir);
    snprintf(db, sizeof db, "%s/sub/dir/resume.db", tmpdir); /* directories made on first use */
    write_file(lp, quiz);
    session s = {open_brain(lp, db, "cat"), {{0}}, 0};
    char greet[512];
    vt_brain_greeting(&vt_brain_lesson, s.ctx, greet, sizeof greet);
    contains(greet, "Welcome to the quiz.");
    contains(say(&s, "42"), "capital of France");
    vt_brain_lesson.destroy(s.ctx);

    session s2 = {open_brain(lp, db, "cat"), {{0}}, 0};
    vt_brain_greeting(&vt_brain_lesson, s2.ctx, greet, sizeof greet);
    contains(greet, "Welcome back");
    contains(greet, "question 2 of 3");
    contains(greet, "capital of France");
    vt_lesson_status st;
    assert_int_equal(vt_lesson_get_status(s2.ctx, &st), 0);
    assert_int_equal(st.position, 1);
    assert_int_equal(st.right, 1);
    assert_int_equal(st.asked, 3); /* q1 once, q2 in each session */
    contains(say(&s2, "paris"), "Which gas");
    vt_brain_lesson.destroy(s2.ctx);

    /* another learner starts at the beginning */
    session s3 = {open_brain(lp, db, "dan"), {{0}}, 0};
    vt_brain_greeting(&vt_brain_lesson, s3.ctx, greet, sizeof greet);
    contains(greet, "What is 6 times 7?");
    vt_brain_lesson.destroy(s3.ctx);
}

/* ---- the database under failure ---------------------------------------- */
static const char *fail_stage;
static int fail_at(const char *stage)
{
    return fail_stage && strcmp(stage, fail_stage) == 0;
}
static int crash_at(const char *stage)
{
    if (fail_stage && strcmp(stage, fail_stage) == 0)
        _exit(42); /* the process dies inside the transaction */
    return 0;
}

static void check_db(const char *db, const char *user, int want_pos, int want_right)
{
    sqlite3 *h = NULL;
    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(h, "PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
    sqlite3_finalize(st);
    sqlite3_close(h);
    vt_progress *p = NULL;
    char err[256];
    int pos = -1, done = 0;
    assert_int_equal(vt__progress_open(db, &p, err, sizeof err), 0);
    assert_int_equal(vt__progress_resume(p, user, "quiz", &pos, &done), 0);
    assert_int_equal(pos, want_pos);
    vt_progress_counts c;
    assert_int_equal(vt__progress_counts(p, user, "quiz", 0, &c), 0);
    assert_int_equal(c.right, want_right);
    vt__progress_close(p);
}

static void test_db_failures(void **state)
{
    (void)state;
    char lp[300], db[300];
    snprintf(lp, sizeof lp, "%s/quiz.lesson", tmpdir);
    snprintf(db, sizeof db, "%s/fail.db", tmpdir);
    write_file(lp, quiz);
    session s = {open_brain(lp, db, "eve"), {{0}}, 0};
    char greet[512];
    vt_brain_greeting(&vt_brain_lesson, s.ctx, greet, sizeof greet);
    check_db(db, "eve", 0, 0);

    /* a write that fails half way changes nothing; the lesson goes on */
    vt__progress_fault = fail_at;
    fail_stage = "position";
    contains(say(&s, "42"), "capital of France");
    fail_stage = NULL;
    vt__progress_fault = NULL;
    check_db(db, "eve", 0, 0);
    vt_brain_lesson.destroy(s.ctx);

    /* the process dies between the two statements of one transaction */
    const char *stages[] = {"stats", "position", "commit"};
    for (int i = 0; i < 3; i++) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            session c = {open_brain(lp, db, "eve"), {{0}}, 0};
            char g2[512];
            vt_brain_greeting(&vt_brain_lesson, c.ctx, g2, sizeof g2);
            vt__progress_fault = crash_at;
            fail_stage = stages[i];
            c.turns[0].role = VT_ROLE_USER;
            c.turns[0].text = "42";
            sink out = {{0}, 0, 0};
            vt_brain_lesson.reply(c.ctx, c.turns, 1, on_tok, &out, NULL, NULL, 0);
            _exit(0); /* not reached */
        }
        int status = 0;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 42);
        check_db(db, "eve", 0, 0);
    }
    /* and a normal write after all that */
    session s2 = {open_brain(lp, db, "eve"), {{0}}, 0};
    vt_brain_greeting(&vt_brain_lesson, s2.ctx, greet, sizeof greet);
    contains(say(&s2, "forty two"), "capital of France");
    vt_brain_lesson.destroy(s2.ctx);
    check_db(db, "eve", 1, 1);

    /* a file that is not a database gives a clear error */
    char junk[300], err[512] = "";
    snprintf(junk, sizeof junk, "%s/junk.db", tmpdir);
    write_file(junk, "this is not a database, just some text that is long enough......");
    vt_opt o[] = {{"lesson", lp}, {"db", junk}};
    void *ctx = NULL;
    assert_true(vt_brain_lesson.create(o, 2, &ctx, err, sizeof err) < 0);
    assert_null(ctx);
    assert_non_null(strstr(err, junk));
}

/* reply and choose_filler at the same time on one ctx (the runtime does) */
typedef struct race {
    void *ctx;
    int n;
} race;

static void *filler_thread(void *arg)
{
    race *r = arg;
    vt_filler_desc f[] = {{"Hmm.", "thinking"}, {"Great!", "praise"}};
    for (int i = 0; i < r->n; i++) {
        int k = vt_brain_lesson.choose_filler(r->ctx, "forty two", f, 2, NULL, NULL, 0);
        assert_true(k == 0 || k == 1);
        assert_true(vt_brain_lesson.judge(r->ctx, "forty", NULL, NULL, 0) >= 0);
    }
    return NULL;
}

static void test_concurrent_calls(void **state)
{
    (void)state;
    session s = {open_brain("times-tables", "none", "fay"), {{0}}, 0};
    race r = {s.ctx, 200};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, filler_thread, &r), 0);
    for (int i = 0; i < 200; i++)
        say(&s, i % 3 ? "forty two" : "repeat");
    pthread_join(t, NULL);
    vt_brain_lesson.destroy(s.ctx);
}

static void test_create_errors(void **state)
{
    (void)state;
    char err[512] = "", lp[300];
    void *ctx = NULL;
    vt_opt o1[] = {{"lesson", "no-such-lesson"}, {"db", "none"}};
    assert_int_equal(vt_brain_lesson.create(o1, 2, &ctx, err, sizeof err), VT_ENOTFOUND);
    assert_non_null(strstr(err, "no-such-lesson"));
    snprintf(lp, sizeof lp, "%s/broken.lesson", tmpdir);
    write_file(lp, "question: a?\nanswer: 1\nhint:\n");
    vt_opt o2[] = {{"lesson", lp}, {"db", "none"}};
    assert_int_equal(vt_brain_lesson.create(o2, 2, &ctx, err, sizeof err), VT_EFORMAT);
    assert_non_null(strstr(err, "broken.lesson:3:"));
    assert_null(ctx);
    assert_ptr_equal(vt_brain_find("lesson"), &vt_brain_lesson);
    assert_ptr_equal(vt_brain_find("llm"), &vt_brain_llm);
    assert_null(vt_brain_find("nope"));
    assert_ptr_equal(vt_brain_find("openai"), &vt_brain_llm);
    assert_string_equal(vt_brain_names(), "lesson, llm");
}

/* The ops contract every brain fills: no holes, the default character, the
 * err buffer instead of a thread-local message, the typed lesson extension. */
static void test_ops_contract(void **state)
{
    (void)state;
    const vt_brain_ops *all[] = {&vt_brain_lesson, &vt_brain_llm};
    for (size_t i = 0; i < 2; i++) {
        assert_non_null(all[i]->greeting);
        assert_non_null(all[i]->reply);
        assert_non_null(all[i]->judge);
        assert_non_null(all[i]->choose_filler);
        assert_non_null(all[i]->expected);
    }
    assert_string_equal(vt_brain_lesson.default_character, "times-tables");
    assert_null(vt_brain_llm.default_character);

    char err[256] = "stale";
    assert_int_equal(vt_brain_lesson.reply(NULL, NULL, 0, on_tok, NULL, NULL, err, sizeof err),
                     VT_EINVAL);
    assert_non_null(strstr(err, "lesson"));
    assert_true(vt_brain_lesson.judge(NULL, "x", NULL, err, sizeof err) < 0);
    assert_non_null(strstr(err, "judge"));
    vt_filler_desc f[] = {{"hmm", "thinking"}};
    assert_true(vt_brain_lesson.choose_filler(NULL, "x", f, 1, NULL, err, sizeof err) < 0);

    vt_opt o[] = {{"lesson", "times-tables"}, {"db", "none"}};
    void *ctx = NULL;
    assert_int_equal(vt_brain_lesson.create(o, 2, &ctx, err, sizeof err), 0);
    char greet[512];
    assert_true(vt_brain_greeting(&vt_brain_lesson, ctx, greet, sizeof greet) > 0);
    char words[2][VT_EXPECTED_PHRASE_MAX];
    assert_int_equal(vt_brain_expected(&vt_brain_lesson, ctx, words, 2), 1);
    snprintf(err, sizeof err, "stale");
    assert_true(vt_brain_lesson.judge(ctx, "forty", NULL, err, sizeof err) >= 0);
    assert_string_equal(err, "");
    /* a ctx that is not a lesson brain's is refused, not misread */
    int not_a_brain[64] = {0};
    vt_lesson_status st;
    assert_int_equal(vt_lesson_get_status(not_a_brain, &st), VT_EINVAL);
    assert_int_equal(vt_lesson_get_status(ctx, &st), 0);
    vt_brain_lesson.destroy(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lesson_errors),     cmocka_unit_test(test_lesson_parse_and_match),
        cmocka_unit_test(test_shipped_lessons),   cmocka_unit_test(test_conversation),
        cmocka_unit_test(test_numbers_spoken),    cmocka_unit_test(test_resume),
        cmocka_unit_test(test_db_failures),       cmocka_unit_test(test_concurrent_calls),
        cmocka_unit_test(test_create_errors),     cmocka_unit_test(test_ops_contract),
    };
    return cmocka_run_group_tests(tests, setup_dir, remove_dir);
}
