/*
 * Lesson files: a small line-based "key: value" format that is easy to write
 * by hand and to parse robustly (docs/LESSONS.md). Every mistake is reported
 * as "file:line: what is wrong", the way compilers do, so a teacher editing
 * a lesson can fix it without reading this code. Times tables are generated
 * ("generate: multiply 2..9 by 2..9") rather than typed out.
 */
#include "lesson.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"
#include "voicetutor/core.h"

#define MAX_LINE 2000
#define MAX_QUESTIONS 2000
#define MAX_FILE (1 << 20)

/* ---- small vectors ---------------------------------------------------- */
static int vec_push(char ***v, size_t *n, const char *s)
{
    char **nv = realloc(*v, (*n + 1) * sizeof **v);
    if (!nv)
        return VT_ENOMEM;
    *v = nv;
    nv[*n] = strdup(s);
    if (!nv[*n])
        return VT_ENOMEM;
    (*n)++;
    return 0;
}

static void vec_free(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

/* Appends "a | b | c" alternatives; empty ones are an error. */
static int push_alts(char ***v, size_t *n, char *value, const char *name, int line, char *err,
                     size_t errlen)
{
    char *save = NULL;
    int count = 0;
    for (char *tok = strtok_r(value, "|", &save); tok; tok = strtok_r(NULL, "|", &save)) {
        char *t = trim(tok);
        if (!*t)
            continue;
        if (vec_push(v, n, t))
            return VT_ENOMEM;
        count++;
    }
    if (!count) {
        snprintf(err, errlen, "%s:%d: empty value", name, line);
        return VT_EFORMAT;
    }
    return 0;
}

static int set_str(char **dst, const char *value)
{
    char *d = strdup(value);
    if (!d)
        return VT_ENOMEM;
    free(*dst);
    *dst = d;
    return 0;
}

/* ---- questions -------------------------------------------------------- */
static vt_lesson_q *new_question(vt_lesson *l, const char *text, int line)
{
    if (l->n_q >= MAX_QUESTIONS)
        return NULL;
    vt_lesson_q *nq = realloc(l->q, (l->n_q + 1) * sizeof *nq);
    if (!nq)
        return NULL;
    l->q = nq;
    vt_lesson_q *q = &nq[l->n_q];
    memset(q, 0, sizeof *q);
    q->text = strdup(text);
    if (!q->text)
        return NULL;
    q->line = line;
    l->n_q++;
    return q;
}

static void free_question(vt_lesson_q *q)
{
    free(q->text);
    vec_free(q->answers, q->n_answers);
    vec_free(q->norm, q->n_answers);
    vec_free(q->hints, q->n_hints);
    free(q->explain);
}

/* Normal forms of the answers, articles dropped ("the sun" -> "sun"). */
static int finish_question(vt_lesson_q *q)
{
    q->norm = calloc(q->n_answers ? q->n_answers : 1, sizeof *q->norm);
    if (!q->norm)
        return VT_ENOMEM;
    q->numeric = q->n_answers > 0;
    for (size_t i = 0; i < q->n_answers; i++) {
        char buf[512];
        vt__text_normalize(q->answers[i], buf, sizeof buf);
        const char *s = buf;
        if (strncmp(s, "the ", 4) == 0)
            s += 4;
        else if (strncmp(s, "a ", 2) == 0)
            s += 2;
        else if (strncmp(s, "an ", 3) == 0)
            s += 3;
        q->norm[i] = strdup(s);
        if (!q->norm[i])
            return VT_ENOMEM;
        if (!vt__text_is_number(s))
            q->numeric = 0;
    }
    return 0;
}

static int parse_range(const char *s, long *a, long *b, const char **end)
{
    char *e;
    errno = 0;
    *a = strtol(s, &e, 10);
    if (e == s || strncmp(e, "..", 2) != 0)
        return -1;
    s = e + 2;
    *b = strtol(s, &e, 10);
    if (e == s || errno || *a < 0 || *b < *a || *b > 1000)
        return -1;
    *end = e;
    return 0;
}

/* "multiply 2..9 by 2..9" or "add 1..10 to 1..10" */
static int generate(vt_lesson *l, const char *value, const char *name, int line, char *err,
                    size_t errlen)
{
    char op[16] = "";
    long a0, a1, b0, b1;
    const char *p = value, *e;
    size_t ol = strcspn(p, " \t");
    if (ol == 0 || ol >= sizeof op)
        goto bad;
    memcpy(op, p, ol);
    int mul = strcmp(op, "multiply") == 0, add = strcmp(op, "add") == 0;
    if (!mul && !add)
        goto bad;
    p += ol;
    while (*p == ' ' || *p == '\t')
        p++;
    if (parse_range(p, &a0, &a1, &e))
        goto bad;
    p = e;
    while (*p == ' ' || *p == '\t')
        p++;
    const char *joiner = mul ? "by" : "to";
    if (strncmp(p, joiner, 2) != 0)
        goto bad;
    p += 2;
    while (*p == ' ' || *p == '\t')
        p++;
    if (parse_range(p, &b0, &b1, &e))
        goto bad;
    while (*e == ' ' || *e == '\t')
        e++;
    if (*e)
        goto bad;
    if ((a1 - a0 + 1) * (b1 - b0 + 1) + (long)l->n_q > MAX_QUESTIONS) {
        snprintf(err, errlen, "%s:%d: generate: too many questions (at most %d)", name, line,
                 MAX_QUESTIONS);
        return VT_EFORMAT;
    }
    for (long a = a0; a <= a1; a++)
        for (long b = b0; b <= b1; b++) {
            char q[128], ans[32], hint[160], expl[200];
            long r = mul ? a * b : a + b;
            if (mul) {
                snprintf(q, sizeof q, "What is %ld times %ld?", a, b);
                snprintf(hint, sizeof hint, "Count up in steps of %ld, %ld times.", b, a);
                snprintf(expl, sizeof expl, "%ld times %ld is %ld. %ld groups of %ld make %ld.",
                         a, b, r, a, b, r);
            } else {
                snprintf(q, sizeof q, "What is %ld plus %ld?", a, b);
                snprintf(hint, sizeof hint, "Start at %ld and count on %ld.", a, b);
                snprintf(expl, sizeof expl, "%ld plus %ld is %ld.", a, b, r);
            }
            snprintf(ans, sizeof ans, "%ld", r);
            vt_lesson_q *nq = new_question(l, q, line);
            if (!nq || vec_push(&nq->answers, &nq->n_answers, ans) ||
                vec_push(&nq->hints, &nq->n_hints, hint) || set_str(&nq->explain, expl))
                return VT_ENOMEM;
        }
    return 0;
bad:
    snprintf(err, errlen,
             "%s:%d: generate: expected 'multiply A..B by C..D' or 'add A..B to C..D'", name,
             line);
    return VT_EFORMAT;
}

static void shuffle(vt_lesson *l, unsigned long seed)
{
    uint64_t x = seed * 2654435761u + 88172645463325252ull;
    for (size_t i = l->n_q; i > 1; i--) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        size_t j = (size_t)(x % i);
        vt_lesson_q t = l->q[i - 1];
        l->q[i - 1] = l->q[j];
        l->q[j] = t;
    }
}

void vt__lesson_free(vt_lesson *l)
{
    if (!l)
        return;
    free(l->id);
    free(l->title);
    free(l->intro);
    free(l->outro);
    vec_free(l->praise, l->n_praise);
    vec_free(l->encourage, l->n_encourage);
    vec_free(l->steer, l->n_steer);
    for (size_t i = 0; i < l->n_q; i++)
        free_question(&l->q[i]);
    free(l->q);
    free(l);
}

static int defaults(vt_lesson *l)
{
    static const char *praise[] = {"Right!", "Well done!", "Yes, that's it!", "Exactly!",
                                   "Great job!"};
    static const char *encourage[] = {"Not quite.", "Hmm, not that one.", "Close, but no."};
    static const char *steer[] = {"Let's stay with our lesson.",
                                  "Good thought, but let's get back to the lesson.",
                                  "Let's keep going with the lesson."};
    int rc = 0;
    for (size_t i = 0; !l->n_praise && i < sizeof praise / sizeof *praise && !rc; i++)
        rc = vec_push(&l->praise, &l->n_praise, praise[i]);
    for (size_t i = 0; !rc && !l->n_encourage && i < sizeof encourage / sizeof *encourage; i++)
        rc = vec_push(&l->encourage, &l->n_encourage, encourage[i]);
    for (size_t i = 0; !rc && !l->n_steer && i < sizeof steer / sizeof *steer; i++)
        rc = vec_push(&l->steer, &l->n_steer, steer[i]);
    if (!rc && !l->outro)
        rc = set_str(&l->outro, "That was the last question of this lesson.");
    return rc;
}

static int key_is(const char *k, const char *a, const char *b)
{
    return strcmp(k, a) == 0 || (b && strcmp(k, b) == 0);
}

int vt__lesson_parse(const char *text, size_t len, const char *name, vt_lesson **out,
                     char *err, size_t errlen)
{
    int rc = 0, line = 0;
    char buf[MAX_LINE + 2];
    vt_lesson *l = calloc(1, sizeof *l);
    vt_lesson_q *q = NULL;   /* the question being read */
    char **last = NULL;      /* the value a continuation line extends */
    long seed = -1;
    *out = NULL;
    if (!l)
        return VT_ENOMEM;
    l->tries = 2;
    const char *p = text, *endp = text + len;
    while (p < endp) {
        const char *nl = memchr(p, '\n', (size_t)(endp - p));
        size_t ll = nl ? (size_t)(nl - p) : (size_t)(endp - p);
        line++;
        if (ll > MAX_LINE) {
            snprintf(err, errlen, "%s:%d: line longer than %d characters", name, line, MAX_LINE);
            rc = VT_EFORMAT;
            goto out;
        }
        memcpy(buf, p, ll);
        buf[ll] = '\0';
        p = nl ? nl + 1 : endp;
        if (memchr(buf, '\0', ll)) {
            snprintf(err, errlen, "%s:%d: binary data (a NUL byte)", name, line);
            rc = VT_EFORMAT;
            goto out;
        }
        int indented = buf[0] == ' ' || buf[0] == '\t';
        char *s = trim(buf);
        if (!*s || *s == '#')
            continue;
        if (indented && last && *last) { /* continuation of the previous value */
            size_t a = strlen(*last), b = strlen(s);
            char *joined = realloc(*last, a + b + 2);
            if (!joined) {
                rc = VT_ENOMEM;
                goto out;
            }
            joined[a] = ' ';
            memcpy(joined + a + 1, s, b + 1);
            *last = joined;
            continue;
        }
        last = NULL;
        char *colon = strchr(s, ':');
        if (!colon) {
            snprintf(err, errlen, "%s:%d: expected 'key: value', got '%.40s'", name, line, s);
            rc = VT_EFORMAT;
            goto out;
        }
        *colon = '\0';
        char *key = trim(s), *value = trim(colon + 1);
        for (char *k = key; *k; k++)
            *k = (char)tolower((unsigned char)*k);
        if (!*value) {
            snprintf(err, errlen, "%s:%d: '%s' has no value", name, line, key);
            rc = VT_EFORMAT;
            goto out;
        }
        if (key_is(key, "question", "q")) {
            if (q && !q->n_answers) {
                snprintf(err, errlen, "%s:%d: the question on line %d has no answer", name,
                         line, q->line);
                rc = VT_EFORMAT;
                goto out;
            }
            q = new_question(l, value, line);
            if (!q) {
                snprintf(err, errlen, "%s:%d: too many questions or out of memory", name, line);
                rc = l->n_q >= MAX_QUESTIONS ? VT_EFORMAT : VT_ENOMEM;
                goto out;
            }
            last = &q->text;
        } else if (key_is(key, "answer", "a") || key_is(key, "hint", NULL) ||
                   key_is(key, "explain", "explanation")) {
            if (!q) {
                snprintf(err, errlen, "%s:%d: '%s' before the first 'question:'", name, line, key);
                rc = VT_EFORMAT;
                goto out;
            }
            if (key[0] == 'a') {
                rc = push_alts(&q->answers, &q->n_answers, value, name, line, err, errlen);
            } else if (key[0] == 'h') {
                rc = vec_push(&q->hints, &q->n_hints, value);
                last = rc ? NULL : &q->hints[q->n_hints - 1];
            } else if (q->explain) {
                snprintf(err, errlen, "%s:%d: a second 'explain:' for the question on line %d",
                         name, line, q->line);
                rc = VT_EFORMAT;
            } else {
                rc = set_str(&q->explain, value);
                last = &q->explain;
            }
        } else if (key_is(key, "title", NULL)) {
            rc = set_str(&l->title, value);
            last = &l->title;
        } else if (key_is(key, "id", NULL)) {
            rc = set_str(&l->id, value);
        } else if (key_is(key, "intro", NULL)) {
            rc = set_str(&l->intro, value);
            last = &l->intro;
        } else if (key_is(key, "outro", NULL)) {
            rc = set_str(&l->outro, value);
            last = &l->outro;
        } else if (key_is(key, "praise", NULL)) {
            rc = push_alts(&l->praise, &l->n_praise, value, name, line, err, errlen);
        } else if (key_is(key, "encourage", NULL)) {
            rc = push_alts(&l->encourage, &l->n_encourage, value, name, line, err, errlen);
        } else if (key_is(key, "steer", NULL)) {
            rc = push_alts(&l->steer, &l->n_steer, value, name, line, err, errlen);
        } else if (key_is(key, "tries", "shuffle")) {
            char *e;
            long v = strtol(value, &e, 10);
            int is_tries = key[0] == 't';
            if (*e || e == value || v < (is_tries ? 1 : 0) || v > (is_tries ? 5 : 1000000000L)) {
                snprintf(err, errlen, "%s:%d: %s: expected a number%s", name, line, key,
                         is_tries ? " from 1 to 5" : "");
                rc = VT_EFORMAT;
                goto out;
            }
            if (is_tries)
                l->tries = (int)v;
            else
                seed = v;
        } else if (key_is(key, "generate", NULL)) {
            if (q && !q->n_answers) {
                snprintf(err, errlen, "%s:%d: the question on line %d has no answer", name,
                         line, q->line);
                rc = VT_EFORMAT;
                goto out;
            }
            rc = generate(l, value, name, line, err, errlen);
            q = NULL;
        } else {
            snprintf(err, errlen,
                     "%s:%d: unknown key '%s' (expected question, answer, hint, explain, "
                     "title, intro, outro, praise, encourage, steer, tries, generate, shuffle, "
                     "id)",
                     name, line, key);
            rc = VT_EFORMAT;
        }
        if (rc) {
            if (rc == VT_ENOMEM)
                snprintf(err, errlen, "%s:%d: out of memory", name, line);
            goto out;
        }
    }
    if (q && !q->n_answers) {
        snprintf(err, errlen, "%s:%d: the question has no answer", name, q->line);
        rc = VT_EFORMAT;
        goto out;
    }
    if (!l->n_q) {
        snprintf(err, errlen, "%s: no questions (add 'question:' and 'answer:' lines)", name);
        rc = VT_EFORMAT;
        goto out;
    }
    for (size_t i = 0; i < l->n_q; i++)
        if ((rc = finish_question(&l->q[i])) != 0)
            goto out;
    if (seed >= 0)
        shuffle(l, (unsigned long)seed);
    if (!l->id) {
        const char *b = strrchr(name, '/');
        b = b ? b + 1 : name;
        size_t bl = strcspn(b, ".");
        l->id = strndup(b, bl ? bl : strlen(b));
    }
    if (!l->title)
        l->title = strdup(l->id ? l->id : "lesson");
    if (!l->id || !l->title || (rc = defaults(l)) != 0) {
        rc = VT_ENOMEM;
        snprintf(err, errlen, "%s: out of memory", name);
        goto out;
    }
    *out = l;
    l = NULL;
out:
    vt__lesson_free(l);
    return rc;
}

int vt__lesson_load(const char *path, vt_lesson **out, char *err, size_t errlen)
{
    int rc = 0;
    char *text = NULL;
    FILE *f = fopen(path, "rb");
    *out = NULL;
    if (!f) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return errno == ENOENT ? VT_ENOTFOUND : VT_EIO;
    }
    text = malloc(MAX_FILE + 1);
    if (!text) {
        rc = VT_ENOMEM;
        goto out;
    }
    size_t n = fread(text, 1, MAX_FILE + 1, f);
    if (ferror(f)) {
        snprintf(err, errlen, "%s: read error", path);
        rc = VT_EIO;
        goto out;
    }
    if (n > MAX_FILE) {
        snprintf(err, errlen, "%s: larger than %d bytes", path, MAX_FILE);
        rc = VT_EFORMAT;
        goto out;
    }
    rc = vt__lesson_parse(text, n, path, out, err, errlen);
out:
    free(text);
    fclose(f);
    return rc;
}

/* ---- the lesson as LLM context ---------------------------------------- */
char *vt__lesson_context(const vt_lesson *l)
{
    size_t cap = 16384, len = 0;
    char *s = malloc(cap);
    if (!s)
        return NULL;
    len += (size_t)snprintf(s + len, cap - len,
                            "You are teaching the lesson \"%s\". %s\nAsk its questions one at a "
                            "time and wait for the answer. Praise right answers, give a hint "
                            "after a wrong one, and explain when asked. If the learner drifts "
                            "off topic, answer briefly and steer back to the lesson.\n"
                            "Questions, with accepted answers, hints and explanations:\n",
                            l->title, l->intro ? l->intro : "");
    for (size_t i = 0; i < l->n_q && len + 600 < cap; i++) {
        const vt_lesson_q *q = &l->q[i];
        len += (size_t)snprintf(s + len, cap - len, "%zu. %s Answer: %s", i + 1, q->text,
                                q->answers[0]);
        for (size_t j = 1; j < q->n_answers && len + 300 < cap; j++)
            len += (size_t)snprintf(s + len, cap - len, " (or %s)", q->answers[j]);
        if (q->n_hints)
            len += (size_t)snprintf(s + len, cap - len, ". Hint: %.200s", q->hints[0]);
        if (q->explain)
            len += (size_t)snprintf(s + len, cap - len, ". Why: %.200s", q->explain);
        len += (size_t)snprintf(s + len, cap - len, "\n");
    }
    return s;
}

/* ---- matching --------------------------------------------------------- */
static int starts_with_word(const char *t, const char *w)
{
    size_t n = strlen(w);
    return strncmp(t, w, n) == 0 && (t[n] == ' ' || t[n] == '\0');
}

vt_match vt__lesson_match(const vt_lesson_q *q, const char *t)
{
    static const char *asks[] = {"what", "why",  "how",  "who",   "where", "when", "which",
                                 "can",  "could", "would", "tell",  "do",    "does", "let",
                                 "please", "i want", "lets"};
    if (!*t)
        return VT_MATCH_OTHER;
    if (q->numeric) {
        long said = vt__text_last_number(t);
        if (said < 0)
            return VT_MATCH_OTHER;
        for (size_t i = 0; i < q->n_answers; i++)
            if (strtol(q->norm[i], NULL, 10) == said)
                return VT_MATCH_RIGHT;
        return VT_MATCH_WRONG;
    }
    for (size_t i = 0; i < q->n_answers; i++)
        if (*q->norm[i] && vt__text_has_phrase(t, q->norm[i]))
            return VT_MATCH_RIGHT;
    size_t nw = vt__text_words(t);
    if (nw <= 3)
        return VT_MATCH_WRONG;
    if (nw > 6)
        return VT_MATCH_OTHER;
    for (size_t i = 0; i < sizeof asks / sizeof *asks; i++)
        if (starts_with_word(t, asks[i]))
            return VT_MATCH_OTHER;
    return VT_MATCH_WRONG;
}
