/*
 * The lesson brain: the offline default tutor. It asks a lesson's questions
 * one at a time, checks what the learner says against the accepted answers
 * (numbers spoken as words match digits), praises, hints, explains, and
 * understands repeat / hint / skip / explain / next; anything else is
 * steered back to the question. Replies stream word by word through the
 * same token path as the LLM, so the pipeline cannot tell them apart.
 *
 * Progress (progress.c) is written as the lesson goes, so a new session of
 * the same user resumes at the question they were on.
 *
 * THREAD SAFETY: reply, judge and choose_filler may run concurrently on one
 * ctx (the filler choice starts with the answer); one mutex guards the
 * lesson state, and the reply text is built under it, then streamed
 * without it. choose_filler never changes state: it classifies the text
 * against the question waiting, or reuses the class reply gave that text.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "brain_internal.h"
#include "lesson.h"
#include "progress.h"
#include "text.h"
#include "voicetutor/core.h"

typedef enum { CLS_RIGHT = 0, CLS_WRONG, CLS_COMMAND, CLS_OTHER } reply_class;

typedef enum { CMD_NONE = 0, CMD_REPEAT, CMD_HINT, CMD_SKIP, CMD_EXPLAIN, CMD_NEXT, CMD_DONTKNOW } command;

#define LESSON_DEFAULT "times-tables"  /* the lesson when none is named */
#define LESSON_TAG 0x4c53534eu  /* "LSSN": vt_lesson_get_status checks its ctx */

typedef struct lesson_brain {
    uint32_t tag;             /* LESSON_TAG */
    pthread_mutex_t mu;
    vt_lesson *lesson;
    vt_progress *db;          /* NULL: progress not kept */
    char user[128];
    size_t pos;               /* the question waiting */
    int tries_used;           /* wrong answers to it so far */
    size_t hint_next;         /* its next hint */
    int introduced;           /* the greeting / current question was said */
    int finished;             /* the lesson ended in this session */
    long prev_q;              /* the last question settled, or -1 */
    int prev_fresh;           /* nothing said about pos since prev_q was settled */
    int resumed, completed_before;
    size_t praise_i, enc_i, steer_i, filler_rot;
    int right, wrong, skipped;   /* this session */
    int db_errors;            /* progress writes that failed (the lesson goes on) */
    char db_error[256];       /* the last one's message */
    char last_text[512];      /* the text reply last handled, and its class */
    reply_class last_class;
} lesson_brain;

/* ---- text building ---------------------------------------------------- */
typedef struct out {
    char s[2048];
    size_t len;
} out;

static void say(out *o, const char *t)
{
    if (!t || !*t)
        return;
    int n = snprintf(o->s + o->len, sizeof o->s - o->len, "%s%s", o->len ? " " : "", t);
    if (n > 0)
        o->len += (size_t)n < sizeof o->s - o->len ? (size_t)n : sizeof o->s - o->len - 1;
}

static const char *rotate(char **v, size_t n, size_t *i)
{
    if (!n)
        return "";
    return v[(*i)++ % n];
}

static const vt_lesson_q *current(lesson_brain *b)
{
    return b->pos < b->lesson->n_q ? &b->lesson->q[b->pos] : NULL;
}

static void db_check(lesson_brain *b, int rc)
{
    if (rc) {
        b->db_errors++;
        vt__brain_fail(b->db_error, sizeof b->db_error, rc, "progress: %s",
                       vt__progress_errmsg(b->db));
    }
}

/* Puts the question at pos to the learner. */
static void ask(lesson_brain *b, out *o, const char *lead)
{
    const vt_lesson_q *q = current(b);
    if (!q)
        return;
    say(o, lead);
    say(o, q->text);
    b->tries_used = 0;
    b->hint_next = 0;
    b->introduced = 1;
    if (b->db)
        db_check(b, vt__progress_asked(b->db, b->user, b->lesson->id, (int)b->pos, q->text));
}

static void finish(lesson_brain *b, out *o)
{
    char buf[160];
    say(o, b->lesson->outro);
    int total = b->right + b->wrong + b->skipped;
    if (total) {
        snprintf(buf, sizeof buf, "You got %d right out of %d.", b->right, total);
        say(o, buf);
    }
    say(o, "Say next to go through it again.");
    b->finished = 1;
}

/* The question at pos is settled (right, wrong, skipped): record, move on. */
static void settle(lesson_brain *b, out *o, vt_outcome oc)
{
    const vt_lesson_q *q = current(b);
    size_t next = b->pos + 1;
    int done = next >= b->lesson->n_q;
    if (oc == VT_OUTCOME_RIGHT)
        b->right++;
    else if (oc == VT_OUTCOME_WRONG)
        b->wrong++;
    else
        b->skipped++;
    if (b->db)
        db_check(b, vt__progress_record(b->db, b->user, b->lesson->id, (int)b->pos, q->text, oc,
                                        done ? 0 : (int)next, done));
    b->prev_q = (long)b->pos;
    b->pos = done ? 0 : next;
    b->prev_fresh = 1;
    if (done)
        finish(b, o);
    else
        ask(b, o, "Next question.");
}

static void tell_answer(out *o, const vt_lesson_q *q, const char *lead)
{
    char buf[600];
    snprintf(buf, sizeof buf, "%s %s.", lead, q->answers[0]);
    say(o, buf);
}

static void greeting(lesson_brain *b, out *o)
{
    char buf[300];
    const vt_lesson *l = b->lesson;
    if (b->resumed && (b->pos > 0 || b->completed_before > 0)) {
        snprintf(buf, sizeof buf, "Welcome back to %s.", l->title);
        say(o, buf);
        if (b->pos > 0) {
            snprintf(buf, sizeof buf, "Let's carry on from question %zu of %zu.", b->pos + 1,
                     l->n_q);
            say(o, buf);
            ask(b, o, NULL);
        } else {
            ask(b, o, "Let's go through it again. First question.");
        }
        return;
    }
    say(o, l->intro ? l->intro : l->title);
    say(o, "Say repeat, hint, skip or explain whenever you like.");
    ask(b, o, "First question.");
}

/* ---- understanding ---------------------------------------------------- */
static const struct {
    const char *phrase;
    command cmd;
} commands[] = {
    {"repeat", CMD_REPEAT},         {"say that again", CMD_REPEAT}, {"say it again", CMD_REPEAT},
    {"again", CMD_REPEAT},          {"pardon", CMD_REPEAT},         {"come again", CMD_REPEAT},
    {"what was the question", CMD_REPEAT},
    {"hint", CMD_HINT},             {"clue", CMD_HINT},             {"help", CMD_HINT},
    {"skip", CMD_SKIP},             {"pass", CMD_SKIP},
    {"explain", CMD_EXPLAIN},       {"explanation", CMD_EXPLAIN},   {"why", CMD_EXPLAIN},
    {"next", CMD_NEXT},             {"move on", CMD_NEXT},
    {"i dont know", CMD_DONTKNOW},  {"dont know", CMD_DONTKNOW},    {"no idea", CMD_DONTKNOW},
    {"not sure", CMD_DONTKNOW},
};

static const char *const command_words[] = {"repeat", "hint", "skip", "explain", "next",
                                             "again",  "help", "pass", "i don't know"};

size_t vt_lesson_commands(const char *const **words)
{
    if (words)
        *words = command_words;
    return sizeof command_words / sizeof *command_words;
}

static command find_command(const char *norm)
{
    if (vt__text_words(norm) > 8)
        return CMD_NONE; /* a long sentence that happens to hold "why" is a question */
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        if (vt__text_has_phrase(norm, commands[i].phrase))
            return commands[i].cmd;
    return CMD_NONE;
}

static int is_greeting(const char *norm, int *thanks)
{
    static const char *hello[] = {"hello", "hi", "hey", "good morning", "good afternoon",
                                  "good evening"};
    *thanks = vt__text_has_phrase(norm, "thanks") || vt__text_has_phrase(norm, "thank you");
    if (*thanks)
        return 1;
    if (vt__text_words(norm) > 5)
        return 0;
    for (size_t i = 0; i < sizeof hello / sizeof *hello; i++)
        if (vt__text_has_phrase(norm, hello[i]))
            return 1;
    return 0;
}

/* What the text is, against the question waiting (no state changes). */
static reply_class classify(lesson_brain *b, const char *text)
{
    char norm[512];
    vt__text_normalize(text, norm, sizeof norm);
    const vt_lesson_q *q = current(b);
    if (b->finished || !b->introduced || !q)
        return find_command(norm) ? CLS_COMMAND : CLS_OTHER;
    vt_match m = vt__lesson_match(q, norm);
    if (m == VT_MATCH_RIGHT)
        return CLS_RIGHT;
    if (find_command(norm))
        return CLS_COMMAND;
    int thanks;
    if (is_greeting(norm, &thanks))
        return CLS_OTHER;
    return m == VT_MATCH_WRONG ? CLS_WRONG : CLS_OTHER;
}

/* Builds the reply to text and changes the lesson state accordingly. */
static reply_class respond(lesson_brain *b, const char *text, out *o)
{
    char norm[512];
    vt__text_normalize(text, norm, sizeof norm);
    const vt_lesson *l = b->lesson;
    command cmd = find_command(norm);
    if (b->finished) {
        if (cmd == CMD_NEXT || cmd == CMD_REPEAT || vt__text_has_phrase(norm, "yes") ||
            vt__text_has_phrase(norm, "start")) {
            b->finished = 0;
            b->right = b->wrong = b->skipped = 0;
            b->pos = 0;
            b->prev_q = -1;
            ask(b, o, "Let's start again from the beginning. First question.");
            return CLS_COMMAND;
        }
        say(o, "We have finished this lesson. Say next to go through it again.");
        return CLS_OTHER;
    }
    if (!b->introduced || !current(b)) {
        greeting(b, o);
        return CLS_OTHER;
    }
    const vt_lesson_q *q = current(b);
    vt_match m = vt__lesson_match(q, norm);
    if (m == VT_MATCH_RIGHT) {
        say(o, rotate(l->praise, l->n_praise, &b->praise_i));
        settle(b, o, VT_OUTCOME_RIGHT);
        return CLS_RIGHT;
    }
    if (cmd != CMD_NONE) {
        int fresh = b->prev_fresh;
        b->prev_fresh = 0;
        switch (cmd) {
        case CMD_REPEAT:
            say(o, "Sure.");
            say(o, q->text);
            b->prev_fresh = fresh;
            break;
        case CMD_HINT:
            if (b->hint_next < q->n_hints) {
                say(o, "Here's a hint.");
                say(o, q->hints[b->hint_next++]);
            } else {
                say(o, q->n_hints ? "I have no more hints for this one."
                                  : "I have no hint for this one.");
                say(o, "Have a guess, or say skip.");
            }
            break;
        case CMD_EXPLAIN:
            if (fresh && b->prev_q >= 0) { /* about the question just settled */
                const vt_lesson_q *pq = &l->q[b->prev_q];
                if (pq->explain)
                    say(o, pq->explain);
                else
                    tell_answer(o, pq, "The answer was");
                say(o, "Now, back to this one.");
                say(o, q->text);
            } else {
                if (q->explain) {
                    say(o, "Here's how it works.");
                    say(o, q->explain);
                } else {
                    say(o, "There's not much to explain here.");
                    tell_answer(o, q, "The answer is");
                }
                say(o, "Now you say it.");
                say(o, q->text);
            }
            break;
        case CMD_DONTKNOW:
            if (b->hint_next < q->n_hints) {
                say(o, "That's okay. Here's a hint.");
                say(o, q->hints[b->hint_next++]);
                break;
            }
            say(o, "That's okay.");
            tell_answer(o, q, "The answer is");
            say(o, q->explain);
            settle(b, o, VT_OUTCOME_SKIPPED);
            break;
        case CMD_SKIP:
        case CMD_NEXT:
        default:
            say(o, cmd == CMD_SKIP ? "Okay, let's skip it." : "Okay, moving on.");
            tell_answer(o, q, "The answer was");
            settle(b, o, VT_OUTCOME_SKIPPED);
            break;
        }
        return CLS_COMMAND;
    }
    int thanks;
    if (is_greeting(norm, &thanks)) {
        say(o, thanks ? "You're welcome." : "Hello!");
        say(o, q->text);
        return CLS_OTHER;
    }
    if (m == VT_MATCH_WRONG) {
        b->prev_fresh = 0;
        b->tries_used++;
        say(o, rotate(l->encourage, l->n_encourage, &b->enc_i));
        if (b->tries_used < l->tries) {
            if (b->db)
                db_check(b, vt__progress_record(b->db, b->user, l->id, (int)b->pos, q->text,
                                                VT_OUTCOME_WRONG, (int)b->pos, 0));
            if (b->hint_next < q->n_hints) {
                say(o, "Here's a hint.");
                say(o, q->hints[b->hint_next++]);
            }
            say(o, "Try again.");
            return CLS_WRONG;
        }
        tell_answer(o, q, "The answer is");
        say(o, q->explain);
        settle(b, o, VT_OUTCOME_WRONG);
        return CLS_WRONG;
    }
    say(o, rotate(l->steer, l->n_steer, &b->steer_i));
    say(o, q->text);
    return CLS_OTHER;
}

/* ---- ops -------------------------------------------------------------- */
static void lesson_destroy(void *ctx)
{
    lesson_brain *b = ctx;
    if (!b)
        return;
    vt__progress_close(b->db);
    vt__lesson_free(b->lesson);
    pthread_mutex_destroy(&b->mu);
    b->tag = 0;
    free(b);
}

static void default_db(char *path, size_t cap)
{
    const char *xdg = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
    if (xdg && *xdg)
        snprintf(path, cap, "%s/voicetutor/progress.db", xdg);
    else if (home && *home)
        snprintf(path, cap, "%s/.local/share/voicetutor/progress.db", home);
    else
        snprintf(path, cap, "none");
}

static int lesson_create(const vt_opt *opts, size_t n, void **ctx, char *err, size_t errlen)
{
    int rc = 0;
    char path[1024], dbpath[1024];
    lesson_brain *b = NULL;
    *ctx = NULL;
    b = calloc(1, sizeof *b);
    if (!b) {
        snprintf(err, errlen, "lesson: out of memory");
        return VT_ENOMEM;
    }
    b->tag = LESSON_TAG;
    pthread_mutex_init(&b->mu, NULL);
    b->prev_q = -1;
    const char *name = vt_opt_get(opts, n, "lesson", LESSON_DEFAULT);
    const char *dir = vt_opt_get(opts, n, "lessons_dir", NULL);
    const char *user = vt_opt_get(opts, n, "user_id", "default");
    const char *db = vt_opt_get(opts, n, "db", NULL);
    if (!*user || strlen(user) >= sizeof b->user) {
        snprintf(err, errlen, "lesson: user_id must be 1 to %zu characters", sizeof b->user - 1);
        rc = VT_EINVAL;
        goto out;
    }
    snprintf(b->user, sizeof b->user, "%s", user);
    if ((rc = vt__lesson_find(name, dir, path, sizeof path, err, errlen)) != 0 ||
        (rc = vt__lesson_load(path, &b->lesson, err, errlen)) != 0)
        goto out;
    if (db)
        snprintf(dbpath, sizeof dbpath, "%s", db);
    else
        default_db(dbpath, sizeof dbpath);
    if (strcmp(dbpath, "none") != 0 && strcmp(dbpath, "off") != 0) {
        if ((rc = vt__progress_open(dbpath, &b->db, err, errlen)) != 0)
            goto out;
        int pos = 0, completed = 0;
        int r = vt__progress_resume(b->db, b->user, b->lesson->id, &pos, &completed);
        if (r == 0) {
            b->resumed = 1;
            b->completed_before = completed;
            b->pos = pos >= 0 && (size_t)pos < b->lesson->n_q ? (size_t)pos : 0;
        } else if (r != VT_ENOTFOUND) {
            snprintf(err, errlen, "lesson: progress database %s: %s", dbpath,
                     vt__progress_errmsg(b->db));
            rc = r;
            goto out;
        }
    }
    *ctx = b;
    b = NULL;
out:
    lesson_destroy(b);
    return rc;
}

static const char *last_user_text(const vt_turn *h, size_t n)
{
    for (size_t i = n; i-- > 0;)
        if (h[i].role == VT_ROLE_USER)
            return h[i].text ? h[i].text : "";
    return NULL;
}

static int lesson_reply(void *ctx, const vt_turn *h, size_t n, vt_token_fn on_token, void *ud,
                        const volatile int *abort, char *err, size_t errlen)
{
    lesson_brain *b = ctx;
    out o = {{0}, 0};
    vt__brain_clear_error(err, errlen);
    if (!b)
        return vt__brain_fail(err, errlen, VT_EINVAL, "lesson: no brain");
    if (abort && *abort)
        return VT_ECANCELED;
    const char *text = last_user_text(h, n);
    pthread_mutex_lock(&b->mu);
    if (!text) {
        greeting(b, &o);
    } else {
        reply_class c = respond(b, text, &o);
        snprintf(b->last_text, sizeof b->last_text, "%s", text);
        b->last_class = c;
    }
    pthread_mutex_unlock(&b->mu);
    return vt__stream_text(o.s, on_token, ud, abort);
}

static int lesson_greeting(void *ctx, char *buf, size_t cap)
{
    lesson_brain *b = ctx;
    out o = {{0}, 0};
    if (!b || !buf || !cap)
        return VT_EINVAL;
    pthread_mutex_lock(&b->mu);
    greeting(b, &o);
    pthread_mutex_unlock(&b->mu);
    snprintf(buf, cap, "%s", o.s);
    return (int)(o.len < cap ? o.len : cap - 1);
}

/* Spoken form of an accepted answer: "42" -> "forty two", "Paris" -> "paris". */
static void spoken_answer(const vt_lesson_q *q, size_t i, char *out_s, size_t cap)
{
    if (q->numeric && vt__number_words(strtol(q->norm[i], NULL, 10), out_s, cap))
        return;
    vt__text_normalize_words(q->answers[i], out_s, cap);
}

static int lesson_judge(void *ctx, const char *text, const volatile int *abort, char *err,
                        size_t errlen)
{
    lesson_brain *b = ctx;
    char words[512], ans[256];
    int verdict = -1;
    vt__brain_clear_error(err, errlen);
    if (!b || !text)
        return vt__brain_fail(err, errlen, VT_EINVAL, "lesson: judge: no text");
    vt__text_normalize_words(text, words, sizeof words);
    pthread_mutex_lock(&b->mu);
    const vt_lesson_q *q = current(b);
    if (q && b->introduced && !b->finished) {
        /* "forty" while the answer is "forty two": wait for the rest */
        for (size_t i = 0; i < q->n_answers && verdict < 0; i++) {
            spoken_answer(q, i, ans, sizeof ans);
            if (vt__text_is_prefix(words, ans))
                verdict = 0;
        }
        reply_class c = verdict < 0 ? classify(b, text) : CLS_OTHER;
        if (verdict < 0 && (c == CLS_RIGHT || c == CLS_COMMAND))
            verdict = 1;
    }
    pthread_mutex_unlock(&b->mu);
    if (verdict < 0)
        verdict = vt_judge_heuristic(text) ? 1 : 0;
    return verdict;
}

/* ---- filler choice by context ----------------------------------------- */
static const char *const positive_words[] = {"correct", "right",  "prais*", "great", "good",
                                             "well",    "excell*", "nice",  "yes",   "positive",
                                             "celebrat*", "congrat*"};
static const char *const wrong_words[] = {"encourag*", "wrong", "incorrect", "mistake",
                                          "not", "gentle", "again", "retry"};
static const char *const neutral_words[] = {"think*", "hmm", "let", "neutral", "consider*",
                                            "moment", "okay", "ok", "sure", "general", "see", "lets"};

static int count_words(const char *norm, const char *const *kw, size_t nkw)
{
    int score = 0;
    for (const char *p = norm; *p;) {
        const char *s = p;
        while (*p && *p != ' ')
            p++;
        size_t wl = (size_t)(p - s);
        for (size_t i = 0; i < nkw; i++) {
            size_t kl = strlen(kw[i]);
            int stem = kw[i][kl - 1] == '*';
            if (stem ? (wl >= kl - 1 && strncmp(s, kw[i], kl - 1) == 0)
                     : (wl == kl && strncmp(s, kw[i], kl) == 0))
                score++;
        }
        while (*p == ' ')
            p++;
    }
    return score;
}

static int lesson_choose_filler(void *ctx, const char *text, const vt_filler_desc *f, size_t n,
                                const volatile int *abort, char *err, size_t errlen)
{
    lesson_brain *b = ctx;
    vt__brain_clear_error(err, errlen);
    if (!b || !f || n == 0)
        return vt__brain_fail(err, errlen, VT_EINVAL, "lesson: no fillers to choose from");
    pthread_mutex_lock(&b->mu);
    reply_class c = text && strcmp(text, b->last_text) == 0 && b->last_text[0]
                        ? b->last_class
                        : classify(b, text ? text : "");
    size_t rot = b->filler_rot++;
    pthread_mutex_unlock(&b->mu);

    int best = -1, n_best = 0;
    int ties[64];
    for (size_t i = 0; i < n && i < 64; i++) {
        char norm[512];
        char both[600];
        snprintf(both, sizeof both, "%s %s", f[i].description ? f[i].description : "",
                 f[i].text ? f[i].text : "");
        vt__text_normalize_words(both, norm, sizeof norm);
        int pos = count_words(norm, positive_words, sizeof positive_words / sizeof *positive_words);
        int neg = count_words(norm, wrong_words, sizeof wrong_words / sizeof *wrong_words);
        int neu = count_words(norm, neutral_words, sizeof neutral_words / sizeof *neutral_words);
        int score;
        if (c == CLS_RIGHT)
            score = pos * 4 + neu;          /* praise first, else anything */
        else if (pos > neg && pos > 0)
            continue;                       /* never praise a wrong answer */
        else if (c == CLS_WRONG)
            score = neg * 10 + neu + 1;     /* encouraging, else thinking */
        else
            score = neu * 2 + 1;            /* a neutral "let me think" */
        if (score > best) {
            best = score;
            n_best = 0;
        }
        if (score == best)
            ties[n_best++] = (int)i;
    }
    if (n_best == 0) /* the caller picks at random */
        return vt__brain_fail(err, errlen, VT_ENOTFOUND, "lesson: no filler fits");
    return ties[rot % (size_t)n_best];
}

/* ---- the lesson brain's extras ----------------------------------------- */
static int lesson_expected(void *ctx, char words[][VT_EXPECTED_PHRASE_MAX], size_t n)
{
    lesson_brain *b = ctx;
    int k = 0;
    if (!b || !words)
        return VT_EINVAL;
    pthread_mutex_lock(&b->mu);
    const vt_lesson_q *q = b->finished ? NULL : current(b);
    for (size_t i = 0; q && i < q->n_answers && (size_t)k < n; i++) {
        spoken_answer(q, i, words[k], VT_EXPECTED_PHRASE_MAX);
        if (words[k][0])
            k++;
    }
    pthread_mutex_unlock(&b->mu);
    return k;
}

int vt_lesson_get_status(void *ctx, vt_lesson_status *st)
{
    lesson_brain *b = ctx;
    if (!b || !st || b->tag != LESSON_TAG)
        return VT_EINVAL;
    memset(st, 0, sizeof *st);
    pthread_mutex_lock(&b->mu);
    snprintf(st->lesson, sizeof st->lesson, "%s", b->lesson->id);
    snprintf(st->title, sizeof st->title, "%s", b->lesson->title);
    st->position = (int)b->pos;
    st->n_questions = (int)b->lesson->n_q;
    st->finished = b->finished;
    int rc = 0;
    if (b->db) {
        vt_progress_counts c;
        rc = vt__progress_counts(b->db, b->user, b->lesson->id, -1, &c);
        st->asked = c.asked;
        st->right = c.right;
        st->wrong = c.wrong;
        st->skipped = c.skipped;
    } else {
        st->right = b->right;
        st->wrong = b->wrong;
        st->skipped = b->skipped;
    }
    pthread_mutex_unlock(&b->mu);
    return rc;
}

const vt_brain_ops vt_brain_lesson = {
    .name = "lesson",
    .default_character = LESSON_DEFAULT,
    .create = lesson_create,
    .destroy = lesson_destroy,
    .greeting = lesson_greeting,
    .reply = lesson_reply,
    .judge = lesson_judge,
    .choose_filler = lesson_choose_filler,
    .expected = lesson_expected,
};
