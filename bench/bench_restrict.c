/*
 * bench_restrict: does restricting the recogniser to the expected answers
 * help while a lesson question waits? (issue 4's open item; results in
 * docs/BENCHMARKS-restrict.md)
 *
 * For each shipped lesson the lesson brain (db=none) is walked question by
 * question (greeting, then the right answer as the user turn) and
 * vt_brain_lesson.expected() gives each question's accepted answers as spoken.
 * Every answer, three command words and a few off-lesson sentences are
 * synthesized with flite (awb, rms) and recognised by pocketsphinx with
 *   (a) lm:       the full en-us language model (the default decoder),
 *   (b) lesson:   a JSGF grammar of every answer of the lesson + the commands,
 *   (c) question: a JSGF grammar of the waiting question's answers + the
 *                 commands (one decoder per question).
 * An answer counts as right when the normalised hypothesis (lower case, no
 * punctuation) equals one of the question's accepted answers; a command when
 * it equals the command. An off-lesson sentence is a false accept when its
 * hypothesis is a valid answer of the waiting question (counted over every
 * question), and a false command when it equals a command word. The
 * real-time factor is thread CPU time over audio time. Every decoder first
 * hears the off-lesson sentences, so no scored answer meets a cold decoder.
 *
 * Answers or commands with a word missing from the pocketsphinx dictionary
 * are left out of the grammars and the test set, with a note on stderr.
 *
 * Usage: bench_restrict [-v|-vv] [--dict FILE] [--no-question]
 *   -v             print every misrecognised item and false accept on stderr
 *   -vv            also every off-lesson hypothesis
 *   --dict FILE    pocketsphinx dictionary (default: the en-us one)
 *   --no-question  skip condition (c)
 */
#include "engines/brain/brain.h"
#include "engines/speech/speech.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define RATE 16000
#define PHR VT_EXPECTED_PHRASE_MAX
#define MAX_Q 128
#define MAX_ANS 8
#define MAX_ALL 512
#define N_VOICES 2
#define N_COND 3

static const char *const lessons[] = {"times-tables", "capitals", "science"};
#define N_LESSONS (sizeof lessons / sizeof lessons[0])
static const char *const voices[N_VOICES] = {"awb", "rms"};
static const char *const cond_names[N_COND] = {"(a) full LM", "(b) lesson grammar",
                                               "(c) question grammar"};
/* the commands a learner says (spoken and scored); the grammar holds them all */
static const char *const said_commands[] = {"repeat", "hint", "skip"};
#define N_SAID (sizeof said_commands / sizeof said_commands[0])
static const char *const off_lesson[] = {
    "what is the weather like today",
    "can you tell me a joke",
    "my sister has a new bicycle",
};
#define N_OFF (sizeof off_lesson / sizeof off_lesson[0])
#define DEFAULT_DICT "/usr/share/pocketsphinx/model/en-us/cmudict-en-us.dict"

static int verbose;

/* ---- small helpers ----------------------------------------------------- */

static double now_s(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* lower case, apostrophes dropped, other punctuation a space, single spaces */
static void normalise(const char *in, char *out, size_t cap)
{
    size_t len = 0;
    int space = 0;
    for (; *in && len + 1 < cap; in++) {
        int c = (unsigned char)*in;
        if (c == '\'')
            continue;
        if (isalnum(c)) {
            if (space && len)
                out[len++] = ' ';
            space = 0;
            if (len + 1 < cap)
                out[len++] = (char)tolower(c);
        } else {
            space = 1;
        }
    }
    out[len] = '\0';
}

/* ---- the pocketsphinx dictionary ---------------------------------------- */

typedef struct dict {
    char **w;
    size_t n, cap;
} dict;

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void dict_free(dict *d)
{
    for (size_t i = 0; i < d->n; i++)
        free(d->w[i]);
    free(d->w);
    memset(d, 0, sizeof *d);
}

static int dict_load(dict *d, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "bench_restrict: cannot read the dictionary %s (install "
                        "pocketsphinx-en-us or pass --dict)\n", path);
        return VT_ENOTFOUND;
    }
    char line[512];
    int rc = 0;
    while (fgets(line, sizeof line, f)) {
        size_t k = strcspn(line, " \t\r\n(");
        if (k == 0)
            continue;
        line[k] = '\0';
        if (d->n == d->cap) {
            size_t nc = d->cap ? d->cap * 2 : 4096;
            char **nw = realloc(d->w, nc * sizeof *nw);
            if (!nw) {
                rc = VT_ENOMEM;
                break;
            }
            d->w = nw;
            d->cap = nc;
        }
        if (!(d->w[d->n] = strdup(line))) {
            rc = VT_ENOMEM;
            break;
        }
        d->n++;
    }
    fclose(f);
    if (rc) {
        dict_free(d);
        return rc;
    }
    qsort(d->w, d->n, sizeof *d->w, cmp_str);
    return d->n ? 0 : VT_EFORMAT;
}

/* Is every word of the phrase in the dictionary, and is it a plain JSGF
 * token (letters, digits, apostrophes)? */
static int dict_has_phrase(const dict *d, const char *phrase)
{
    char tmp[PHR];
    snprintf(tmp, sizeof tmp, "%s", phrase);
    int words = 0;
    for (char *save = NULL, *w = strtok_r(tmp, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
        for (const char *p = w; *p; p++)
            if (!isalnum((unsigned char)*p) && *p != '\'')
                return 0;
        const char *key = w;
        if (!bsearch(&key, d->w, d->n, sizeof *d->w, cmp_str))
            return 0;
        words++;
    }
    return words > 0;
}

/* ---- the lessons, walked with the lesson brain -------------------------- */

typedef struct question {
    char ans[MAX_ANS][PHR];   /* spoken form, in the dictionary */
    int n_ans;
} question;

typedef struct lesson_data {
    const char *name;
    question q[MAX_Q];
    int n_q;
    char all[MAX_ALL][PHR];  /* every distinct in-dictionary answer of the lesson */
    int n_all;
    int n_oov;
} lesson_data;

static int discard_token(void *ud, const char *tok)
{
    (void)ud;
    (void)tok;
    return 0;
}

/* Copy a phrase into a PHR-sized slot (truncated if longer). */
static void copy_phrase(char *dst, const char *src)
{
    size_t k = strnlen(src, PHR - 1);
    memcpy(dst, src, k);
    dst[k] = '\0';
}

static void add_distinct(char all[][PHR], int *n, int max, const char *s)
{
    for (int i = 0; i < *n; i++)
        if (strcmp(all[i], s) == 0)
            return;
    if (*n < max)
        copy_phrase(all[(*n)++], s);
}

static int walk_lesson(lesson_data *L, const dict *d)
{
    const vt_brain_ops *ops = &vt_brain_lesson;
    const vt_opt o[] = {{"lesson", L->name}, {"db", "none"}};
    void *ctx = NULL;
    char err[512], buf[2048];
    int rc = ops->create(o, 2, &ctx, err, sizeof err);
    if (rc) {
        fprintf(stderr, "bench_restrict: lesson %s: %s\n", L->name, err);
        return rc;
    }
    rc = vt_brain_greeting(ops, ctx, buf, sizeof buf);
    if (rc < 0) {
        fprintf(stderr, "bench_restrict: lesson %s greeting: %s\n", L->name, vt_strerror(rc));
        ops->destroy(ctx);
        return rc;
    }
    rc = 0;
    while (L->n_q < MAX_Q) {
        char words[MAX_ANS][PHR];
        int n = ops->expected(ctx, words, MAX_ANS);
        if (n < 0) {
            rc = n;
            break;
        }
        if (n == 0)
            break;
        vt_lesson_status st0, st1;
        if ((rc = vt_lesson_get_status(ctx, &st0)) != 0)
            break;
        question *q = &L->q[L->n_q++];
        for (int i = 0; i < n; i++) {
            if (!dict_has_phrase(d, words[i])) {
                fprintf(stderr, "note: %s question %d: answer '%s' has a word outside the "
                                "pocketsphinx dictionary; left out of grammars and tests\n",
                        L->name, L->n_q, words[i]);
                L->n_oov++;
                continue;
            }
            copy_phrase(q->ans[q->n_ans++], words[i]);
            add_distinct(L->all, &L->n_all, MAX_ALL, words[i]);
        }
        /* answer it right so the brain moves to the next question */
        char said[PHR];
        snprintf(said, sizeof said, "%s", words[0]);
        vt_turn t = {VT_ROLE_USER, said, NULL, 0};
        rc = ops->reply(ctx, &t, 1, discard_token, NULL, NULL, err, sizeof err);
        if (rc < 0) {
            fprintf(stderr, "bench_restrict: lesson %s reply: %s\n", L->name, err);
            break;
        }
        rc = vt_lesson_get_status(ctx, &st1);
        if (rc)
            break;
        if (!st1.finished && st1.position == st0.position) {
            fprintf(stderr, "bench_restrict: lesson %s did not advance past question %d\n",
                    L->name, st0.position);
            break;
        }
    }
    ops->destroy(ctx);
    return rc < 0 ? rc : 0;
}

/* ---- audio: every phrase once per voice --------------------------------- */

typedef struct clip {
    char text[PHR];
    int16_t *pcm[N_VOICES];
    size_t n[N_VOICES];
} clip;

typedef struct clips {
    clip *c;
    size_t n, cap;
    const vt_tts_ops *ops[N_VOICES];
    void *model[N_VOICES];
    void *ctx[N_VOICES];
} clips;

static void clips_free(clips *cs)
{
    for (size_t i = 0; i < cs->n; i++)
        for (int v = 0; v < N_VOICES; v++)
            free(cs->c[i].pcm[v]);
    free(cs->c);
    for (int v = 0; v < N_VOICES; v++)
        vt_tts_close(cs->ops[v], cs->model[v], cs->ctx[v]);
    memset(cs, 0, sizeof *cs);
}

static int clips_open(clips *cs)
{
    char err[512];
    for (int v = 0; v < N_VOICES; v++) {
        int rc = vt_tts_open(voices[v], NULL, 0, &cs->ops[v], &cs->model[v], &cs->ctx[v], err,
                             sizeof err);
        if (rc) {
            fprintf(stderr, "bench_restrict: voice %s: %s\n", voices[v], err);
            return rc;
        }
    }
    return 0;
}

/* The clip of text (synthesized on first use); NULL on error. */
static const clip *clip_get(clips *cs, const char *text)
{
    for (size_t i = 0; i < cs->n; i++)
        if (strcmp(cs->c[i].text, text) == 0)
            return &cs->c[i];
    if (cs->n == cs->cap) {
        size_t nc = cs->cap ? cs->cap * 2 : 64;
        clip *nv = realloc(cs->c, nc * sizeof *nv);
        if (!nv)
            return NULL;
        cs->c = nv;
        cs->cap = nc;
    }
    clip *c = &cs->c[cs->n];
    memset(c, 0, sizeof *c);
    snprintf(c->text, sizeof c->text, "%s", text);
    for (int v = 0; v < N_VOICES; v++) {
        int rc = vt_tts_synth_buffer(cs->ops[v], cs->ctx[v], RATE, text, &c->pcm[v], &c->n[v],
                                     NULL);
        if (rc || !c->n[v]) {
            fprintf(stderr, "bench_restrict: synthesis of '%s' (%s): %s\n", text, voices[v],
                    rc ? vt_strerror(rc) : "no audio");
            for (int k = 0; k <= v; k++)
                free(c->pcm[k]);
            return NULL;
        }
    }
    cs->n++;
    return c;
}

/* ---- grammars ------------------------------------------------------------ */

typedef struct tmpdir {
    char path[64];
    int made;
} tmpdir;

/* Write "#JSGF ... public <answer> = a | b | ... ;" into dir/name. */
static int write_grammar(const char *path, char items[][PHR], int n_items,
                         const char *const *cmds, size_t n_cmds)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "bench_restrict: cannot write %s\n", path);
        return VT_EIO;
    }
    fprintf(f, "#JSGF V1.0;\ngrammar restrict;\npublic <answer> =");
    int k = 0;
    for (int i = 0; i < n_items; i++)
        fprintf(f, "%s %s", k++ ? " |" : "", items[i]);
    for (size_t i = 0; i < n_cmds; i++)
        fprintf(f, "%s %s", k++ ? " |" : "", cmds[i]);
    fprintf(f, " ;\n");
    return fclose(f) == 0 && k > 0 ? 0 : VT_EIO;
}

/* ---- scoring ------------------------------------------------------------- */

typedef struct score {
    int ans_ok, ans_n;
    int cmd_ok, cmd_n;
    int fa, fa_cmd, fa_n;    /* off-lesson: valid answer / command, of fa_n trials */
    int off_n;               /* off-lesson decodes (for fa_cmd, off_empty) */
    int off_empty;           /* off-lesson decodes that heard nothing */
    double cpu, audio;       /* recognition */
    double load;             /* decoder creation, wall clock */
    int n_load;
} score;

typedef struct bench {
    dict d;
    clips cs;
    tmpdir td;
    const char *cmds[VT_MAX_COMMANDS];  /* commands in the dictionary */
    size_t n_cmds;
    vt_stt_result res;
    score sc[N_LESSONS][N_VOICES][N_COND];
    int do_question;
} bench;

/* The JSGF grammar shapes the decoder's configuration, so it is a model
 * option: one model per grammar, one decoder on it. Closed with
 * vt_stt_close(&vt_stt_pocketsphinx, model, stt). */
static int decoder_open(const char *jsgf, void **model, void **stt, score *s)
{
    char err[1024];
    const vt_opt o[] = {{"jsgf", jsgf}};
    double t0 = now_s(CLOCK_MONOTONIC);
    int rc = vt_stt_open(&vt_stt_pocketsphinx, jsgf ? o : NULL, jsgf ? 1 : 0, model, stt, err,
                         sizeof err);
    if (rc) {
        fprintf(stderr, "bench_restrict: decoder (%s): %s\n", jsgf ? jsgf : "lm", err);
        *stt = NULL;
        return rc;
    }
    s->load += now_s(CLOCK_MONOTONIC) - t0;
    s->n_load++;
    return 0;
}

/* Recognise a clip in voice v; the normalised hypothesis into hyp. */
static int recognise(bench *B, void *stt, const clip *c, int v, score *s, char *hyp, size_t cap)
{
    double t0 = now_s(CLOCK_THREAD_CPUTIME_ID);
    int rc = vt_speech_transcribe_pcm(&vt_stt_pocketsphinx, stt, c->pcm[v], c->n[v], &B->res);
    s->cpu += now_s(CLOCK_THREAD_CPUTIME_ID) - t0;
    s->audio += (double)c->n[v] / RATE;
    if (rc) {
        fprintf(stderr, "bench_restrict: recognition of '%s': %s\n", c->text, vt_strerror(rc));
        return rc;
    }
    normalise(B->res.text, hyp, cap);
    return 0;
}

static int is_answer(const question *q, const char *hyp)
{
    char a[PHR];
    for (int i = 0; i < q->n_ans; i++) {
        normalise(q->ans[i], a, sizeof a);
        if (strcmp(a, hyp) == 0)
            return 1;
    }
    return 0;
}

static int is_command(const bench *B, const char *hyp)
{
    char a[PHR];
    for (size_t i = 0; i < B->n_cmds; i++) {
        normalise(B->cmds[i], a, sizeof a);
        if (strcmp(a, hyp) == 0)
            return 1;
    }
    return 0;
}

/* Off-lesson sentences through a decoder; hyps[i] receives each hypothesis. */
static int run_off(bench *B, void *stt, int v, score *s, char hyps[][PHR])
{
    for (size_t i = 0; i < N_OFF; i++) {
        const clip *c = clip_get(&B->cs, off_lesson[i]);
        if (!c)
            return VT_EIO;
        int rc = recognise(B, stt, c, v, s, hyps[i], PHR);
        if (rc)
            return rc;
        s->off_n++;
        if (verbose > 1)
            fprintf(stderr, "  off %s: '%s' -> '%s'\n", voices[v], off_lesson[i], hyps[i]);
        if (!hyps[i][0])
            s->off_empty++;
        else if (is_command(B, hyps[i]))
            s->fa_cmd++;
    }
    return 0;
}

static void count_fa(const question *q, char hyps[][PHR], score *s, const char *lesson, int qi,
                     int cond)
{
    for (size_t i = 0; i < N_OFF; i++) {
        s->fa_n++;
        if (hyps[i][0] && is_answer(q, hyps[i])) {
            s->fa++;
            if (verbose)
                fprintf(stderr, "  FA %s q%d %s: '%s' -> '%s'\n", lesson, qi + 1,
                        cond_names[cond], off_lesson[i], hyps[i]);
        }
    }
}

static int run_answers(bench *B, void *stt, int v, const question *q, score *s,
                       const char *lesson, int qi, int cond)
{
    char hyp[PHR];
    for (int i = 0; i < q->n_ans; i++) {
        const clip *c = clip_get(&B->cs, q->ans[i]);
        if (!c)
            return VT_EIO;
        int rc = recognise(B, stt, c, v, s, hyp, sizeof hyp);
        if (rc)
            return rc;
        s->ans_n++;
        if (is_answer(q, hyp))
            s->ans_ok++;
        else if (verbose)
            fprintf(stderr, "  miss %s q%d %s %s: '%s' -> '%s'\n", lesson, qi + 1, voices[v],
                    cond_names[cond], q->ans[i], hyp);
    }
    return 0;
}

static int run_commands(bench *B, void *stt, int v, score *s, int cond)
{
    char hyp[PHR], want[PHR];
    for (size_t i = 0; i < N_SAID; i++) {
        const clip *c = clip_get(&B->cs, said_commands[i]);
        if (!c)
            return VT_EIO;
        int rc = recognise(B, stt, c, v, s, hyp, sizeof hyp);
        if (rc)
            return rc;
        normalise(said_commands[i], want, sizeof want);
        s->cmd_n++;
        if (strcmp(hyp, want) == 0)
            s->cmd_ok++;
        else if (verbose)
            fprintf(stderr, "  miss command %s %s: '%s' -> '%s'\n", voices[v],
                    cond_names[cond], said_commands[i], hyp);
    }
    return 0;
}

/* Conditions (a) and (b): one decoder per lesson and voice. */
static int run_whole(bench *B, const lesson_data *L, size_t li, int cond, const char *jsgf)
{
    for (int v = 0; v < N_VOICES; v++) {
        score *s = &B->sc[li][v][cond];
        void *stt = NULL, *model = NULL;
        char hyps[N_OFF][PHR];
        int rc = decoder_open(jsgf, &model, &stt, s);
        if (rc)
            return rc;
        rc = run_off(B, stt, v, s, hyps);
        for (int qi = 0; !rc && qi < L->n_q; qi++) {
            count_fa(&L->q[qi], hyps, s, L->name, qi, cond);
            rc = run_answers(B, stt, v, &L->q[qi], s, L->name, qi, cond);
        }
        if (!rc)
            rc = run_commands(B, stt, v, s, cond);
        vt_stt_close(&vt_stt_pocketsphinx, model, stt);
        if (rc)
            return rc;
    }
    return 0;
}

/* Condition (c): one decoder per question and voice, its grammar the
 * question's answers plus the commands. */
static int run_question(bench *B, const lesson_data *L, size_t li)
{
    char path[128];
    snprintf(path, sizeof path, "%s/question.gram", B->td.path);
    for (int qi = 0; qi < L->n_q; qi++) {
        const question *q = &L->q[qi];
        char items[MAX_ANS][PHR];
        for (int i = 0; i < q->n_ans; i++)
            copy_phrase(items[i], q->ans[i]);
        int rc = write_grammar(path, items, q->n_ans, B->cmds, B->n_cmds);
        if (rc)
            return rc;
        for (int v = 0; v < N_VOICES; v++) {
            score *s = &B->sc[li][v][2];
            void *stt = NULL, *model = NULL;
            char hyps[N_OFF][PHR];
            rc = decoder_open(path, &model, &stt, s);
            if (rc)
                return rc;
            rc = run_off(B, stt, v, s, hyps);
            if (!rc) {
                count_fa(q, hyps, s, L->name, qi, 2);
                rc = run_answers(B, stt, v, q, s, L->name, qi, 2);
            }
            if (!rc)
                rc = run_commands(B, stt, v, s, 2);
            vt_stt_close(&vt_stt_pocketsphinx, model, stt);
            if (rc)
                return rc;
        }
    }
    return 0;
}

/* ---- report --------------------------------------------------------------- */

static void pct(char *out, size_t cap, int k, int n)
{
    if (n)
        snprintf(out, cap, "%d/%d (%.0f %%)", k, n, 100.0 * k / n);
    else
        snprintf(out, cap, "-");
}

static void print_row(const char *lesson, const char *voice, int cond, const score *s)
{
    char a[48], c[48], f[48], fc[48], fe[48];
    pct(a, sizeof a, s->ans_ok, s->ans_n);
    pct(c, sizeof c, s->cmd_ok, s->cmd_n);
    pct(f, sizeof f, s->fa, s->fa_n);
    pct(fc, sizeof fc, s->fa_cmd, s->off_n);
    pct(fe, sizeof fe, s->off_empty, s->off_n);
    printf("| %s | %s | %s | %s | %s | %s | %s | %s | %.3f | %.0f ms |\n", lesson, voice,
           cond_names[cond], a, c, f, fc, fe, s->audio > 0 ? s->cpu / s->audio : 0.0,
           s->n_load ? 1000 * s->load / s->n_load : 0.0);
}

static void add_score(score *t, const score *s)
{
    t->ans_ok += s->ans_ok;
    t->ans_n += s->ans_n;
    t->cmd_ok += s->cmd_ok;
    t->cmd_n += s->cmd_n;
    t->fa += s->fa;
    t->fa_cmd += s->fa_cmd;
    t->fa_n += s->fa_n;
    t->off_n += s->off_n;
    t->off_empty += s->off_empty;
    t->cpu += s->cpu;
    t->audio += s->audio;
    t->load += s->load;
    t->n_load += s->n_load;
}

static void report(const bench *B, const lesson_data *Ls)
{
    int n_cond = B->do_question ? 3 : 2;
    printf("| lesson | voice | condition | answers right | commands right | off-lesson -> "
           "valid answer | off-lesson -> command | off-lesson -> nothing | RTF | decoder load |\n");
    printf("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
    for (size_t li = 0; li < N_LESSONS; li++)
        for (int v = 0; v < N_VOICES; v++)
            for (int k = 0; k < n_cond; k++)
                print_row(Ls[li].name, voices[v], k, &B->sc[li][v][k]);
    for (int k = 0; k < n_cond; k++) {
        score t = {0};
        for (size_t li = 0; li < N_LESSONS; li++)
            for (int v = 0; v < N_VOICES; v++)
                add_score(&t, &B->sc[li][v][k]);
        print_row("**all**", "awb+rms", k, &t);
    }
    printf("\nOff-lesson -> valid answer: of (question, sentence) pairs, how often the "
           "hypothesis is an accepted answer of the waiting question. -> command / -> nothing: "
           "of the off-lesson decodes, how often the hypothesis is exactly a command word / "
           "empty (the rest is other text: off-topic with the LM, a wrong answer with a "
           "grammar).\n");
    printf("RTF: recognition CPU time of one thread over audio time. Decoder load: wall "
           "time of one vt_stt_open, model and decoder (mean).\n");
}

/* ---- main ----------------------------------------------------------------- */

static void usage(FILE *f)
{
    fprintf(f, "usage: bench_restrict [-v|-vv] [--dict FILE] [--no-question]\n"
               "  Recognition of lesson answers with the full language model vs JSGF\n"
               "  grammars of the expected answers (docs/BENCHMARKS-restrict.md).\n");
}

int main(int argc, char **argv)
{
    const char *dict_path = DEFAULT_DICT;
    static bench B;
    static lesson_data Ls[N_LESSONS];
    B.do_question = 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-v") == 0) {
            verbose = 1;
        } else if (strcmp(argv[i], "-vv") == 0) {
            verbose = 2;
        } else if (strcmp(argv[i], "--no-question") == 0) {
            B.do_question = 0;
        } else if (strcmp(argv[i], "--dict") == 0 && i + 1 < argc) {
            dict_path = argv[++i];
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }
    double t_start = now_s(CLOCK_MONOTONIC);
    int rc = dict_load(&B.d, dict_path);
    if (rc) {
        if (rc != VT_ENOTFOUND)
            fprintf(stderr, "bench_restrict: dictionary %s: %s\n", dict_path, vt_strerror(rc));
        return 1;
    }
    const char *const *cmds;
    size_t n_cmds = vt_lesson_commands(&cmds);
    for (size_t i = 0; i < n_cmds && B.n_cmds < VT_MAX_COMMANDS; i++) {
        char low[PHR];
        size_t k = 0;
        for (; cmds[i][k] && k + 1 < sizeof low; k++)
            low[k] = (char)tolower((unsigned char)cmds[i][k]);
        low[k] = '\0';
        if (dict_has_phrase(&B.d, low))
            B.cmds[B.n_cmds++] = cmds[i];
        else
            fprintf(stderr, "note: command '%s' has a word outside the pocketsphinx "
                            "dictionary; left out of the grammars\n", cmds[i]);
    }
    snprintf(B.td.path, sizeof B.td.path, "/tmp/bench_restrict.XXXXXX");
    if (!mkdtemp(B.td.path)) {
        perror("bench_restrict: mkdtemp");
        dict_free(&B.d);
        return 1;
    }
    B.td.made = 1;
    if ((rc = clips_open(&B.cs)) != 0)
        goto done;

    for (size_t li = 0; li < N_LESSONS; li++) {
        lesson_data *L = &Ls[li];
        L->name = lessons[li];
        if ((rc = walk_lesson(L, &B.d)) != 0)
            goto done;
        fprintf(stderr, "%s: %d questions, %d distinct answers in the grammar, %d left out\n",
                L->name, L->n_q, L->n_all, L->n_oov);
        char gpath[128];
        snprintf(gpath, sizeof gpath, "%s/lesson.gram", B.td.path);
        if ((rc = write_grammar(gpath, L->all, L->n_all, B.cmds, B.n_cmds)) != 0)
            goto done;
        if ((rc = run_whole(&B, L, li, 0, NULL)) != 0 ||
            (rc = run_whole(&B, L, li, 1, gpath)) != 0)
            goto done;
        if (B.do_question && (rc = run_question(&B, L, li)) != 0)
            goto done;
    }
    report(&B, Ls);
    printf("\nGrammar commands: ");
    for (size_t i = 0; i < B.n_cmds; i++)
        printf("%s%s", i ? ", " : "", B.cmds[i]);
    printf(". Off-lesson sentences: ");
    for (size_t i = 0; i < N_OFF; i++)
        printf("%s\"%s\"", i ? ", " : "", off_lesson[i]);
    printf(".\nTotal run time %.0f s.\n", now_s(CLOCK_MONOTONIC) - t_start);

done:
    clips_free(&B.cs);
    dict_free(&B.d);
    if (B.td.made) {
        char p[128];
        snprintf(p, sizeof p, "%s/lesson.gram", B.td.path);
        unlink(p); /* absent when the run stopped early: ENOENT is fine */
        snprintf(p, sizeof p, "%s/question.gram", B.td.path);
        unlink(p);
        if (rmdir(B.td.path) != 0)
            perror("bench_restrict: rmdir");
    }
    if (rc)
        fprintf(stderr, "bench_restrict: failed: %s\n", vt_strerror(rc));
    return rc ? 1 : 0;
}
