/*
 * bench_hear: does the tutor hear the learner (issue 12)? The augmented
 * test set of tests/speech/hear_set.h (seven flite and espeak-ng voices,
 * nine sox changes, answers right and wrong, free questions) is made at run
 * time and recognised by the session's pocketsphinx decoder, told what the
 * lesson expects (vt_stt_ops.expect) before each utterance. One decode
 * gives both hypotheses (vt_stt_pocketsphinx_info): the full language
 * model's (the baseline) and the grammar's, so the baseline and the biased
 * recogniser are measured in one run on the same audio and decoder state.
 *
 * Figures: right answers accepted by each lesson, wrong answers wrongly
 * accepted, word error rate on the free questions, complete sentences that
 * would wait the long (2 s) silence (before: the full model's text and the
 * judge without context; after: the biased text and the judge with the
 * lesson's answers), recognition CPU per second of audio, and memory per
 * session (each case in a fresh process). --sweep prints the decision
 * rule's alternatives from the same decodes. Results: docs/BENCHMARKS.md.
 *
 * Usage: bench_hear [--stride N] [--sweep] [-v] [--no-memory] [--opt KEY=VALUE]...
 *   --stride N   every N-th item of each kind (default 1: the whole set)
 *   --sweep      the decision rule's margin and word limit, tabulated
 *   -v           every item whose biased text differs from what was said
 *   --opt K=V    a recogniser option (expect_weight=20, expect_words=4, ...)
 *   --grammar-first  what a grammar-first rule would hear and cost, with the
 *                phone loop (--opt expect_phone=1) or the grammar's loop of
 *                common words (--opt expect_garbage=W) as its reference
 */
#include "speech/hear_set.h"
#include "support/rss.h"
#include "support/wer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct rec {
    vt_stt_ps_info info;
    char final[256];
    double audio_s;
} rec;

static int verbose;

static vt_opt g_opts[8];
static size_t g_n_opts;

static int open_decoder(void **model, void **ctx)
{
    char err[512];
    if (vt_stt_open(&vt_stt_pocketsphinx, g_opts, g_n_opts, model, ctx, err, sizeof err) != 0) {
        fprintf(stderr, "bench_hear: %s\n", err);
        return -1;
    }
    return 0;
}

static int decode(void *ctx, const hs_item *it, rec *r)
{
    int16_t *pcm = NULL;
    size_t n = 0;
    if (hs_render(it, &pcm, &n) != 0)
        return -1;
    const char *ans[HS_MAX_ANS];
    const char *const *cmds = NULL;
    int na = hs_expected(it, ans);
    size_t nc = hs_commands(&cmds);
    vt_stt_pocketsphinx.expect(ctx, ans, (size_t)na, cmds, nc);
    vt_stt_result res;
    int rc = vt_speech_transcribe_pcm(&vt_stt_pocketsphinx, ctx, pcm, n, &res);
    free(pcm);
    if (rc)
        return rc;
    vt_stt_pocketsphinx_info(ctx, &r->info);
    snprintf(r->final, sizeof r->final, "%.255s", res.text);
    r->audio_s = (double)n / 16000.0;
    return 0;
}

/* The text a rule gives: 0 the full LM, 1 the engine's choice, 2 the
 * grammar alone, 3 the rule with (margin, words). */
static const char *text_of(const rec *r, int how, int slack, int words)
{
    switch (how) {
    case 0: return r->info.lm_text;
    case 1: return r->final;
    case 2: return r->info.grammar_text;
    default:
        return vt_stt_pocketsphinx_choose(&r->info, slack, words) ? r->info.grammar_text
                                                                    : r->info.lm_text;
    }
}

typedef struct tally {
    int ans, ans_ok, wrong, wrong_ok, free_n, free_err, free_words, sent, waited;
} tally;

static void score(const hs_set *s, const rec *R, int how, int slack, int words, int context,
                  int lesson, tally *t)
{
    memset(t, 0, sizeof *t);
    for (size_t i = 0; i < s->n; i++) {
        const hs_item *it = &s->items[i];
        if (lesson >= 0 && it->lesson != lesson)
            continue;
        const char *txt = text_of(&R[i], how, slack, words);
        if (it->kind == HS_ANSWER) {
            t->ans++;
            t->ans_ok += hs_accepts(it, txt);
        } else if (it->kind == HS_WRONG) {
            t->wrong++;
            t->wrong_ok += hs_accepts(it, txt);
        } else {
            int nref = 0;
            t->free_err += vt_test_word_errors(it->text, txt, &nref);
            t->free_words += nref;
            t->free_n++;
        }
        t->sent++;
        t->waited += hs_waits(it, txt, context);
    }
}

static double pc(int k, int n)
{
    return n ? 100.0 * k / n : 0;
}

/* Resident memory one session's decoders add, in a fresh process. */
static double memory_case(int after)
{
    int fd[2];
    if (pipe(fd) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        close(fd[0]);
        char err[512];
        const vt_opt kopt[] = {{"kws_tiny_dict", after ? "1" : "0"}};
        void *sm = NULL, *km = NULL, *sc[3] = {0}, *kc[3] = {0};
        vt_keyword kw[] = {{"stop", 0}, {"wait", 0}, {"pause", 0}, {"hold on", 0}};
        double mb = -1;
        if (vt_stt_pocketsphinx.load(NULL, 0, &sm, err, sizeof err) == 0 &&
            vt_kws_pocketsphinx.load(kopt, 1, &km, err, sizeof err) == 0) {
            double before = vt_test_rss_mb();
            const char *ans[] = {"fifty six", "forty two"};
            const char *const *cmds = NULL;
            size_t nc = hs_commands(&cmds);
            for (int i = 0; i < 3; i++) {
                vt_stt_pocketsphinx.create(sm, NULL, 0, &sc[i], err, sizeof err);
                vt_kws_pocketsphinx.create(km, kopt, 1, kw, 4, &kc[i], err, sizeof err);
                if (after && sc[i])
                    vt_stt_pocketsphinx.expect(sc[i], ans, 2, cmds, nc);
            }
            mb = (vt_test_rss_mb() - before) / 3;
        }
        if (write(fd[1], &mb, sizeof mb) != (ssize_t)sizeof mb)
            _exit(1);
        _exit(0);
    }
    close(fd[1]);
    double mb = -1;
    if (read(fd[0], &mb, sizeof mb) != (ssize_t)sizeof mb)
        mb = -1;
    close(fd[0]);
    waitpid(pid, NULL, 0);
    return mb;
}

/* The grammar's score against the phone loop's, per frame (<= 0 mostly:
 * the loop fits any sounds at least as well). */
static double conf_of(const rec *r)
{
    return r->info.frames ? (double)(r->info.grammar_score - r->info.phone_score) /
                                r->info.frames
                          : -1e9;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* What a decision rule heard over the set: each utterance counted with
 * the text the rule gives (txt), whether that text is the grammar's with
 * no full model (g) and the recognition CPU the rule spends on it. */
typedef struct rule_tally {
    int ans, ans_ok, ans_lm, wrong, wrong_ok, fr, fr_g, ferr, fwords, cheap;
    double cpu, audio;
} rule_tally;

static void rule_count(rule_tally *t, const hs_item *it, const rec *r, const char *txt, int g,
                       double cpu)
{
    t->cheap += g;
    t->cpu += cpu;
    t->audio += r->audio_s;
    if (it->kind == HS_ANSWER) {
        t->ans++;
        t->ans_ok += hs_accepts(it, txt);
        t->ans_lm += !g;
    } else if (it->kind == HS_WRONG) {
        t->wrong++;
        t->wrong_ok += hs_accepts(it, txt);
    } else {
        int nref = 0;
        t->ferr += vt_test_word_errors(it->text, txt, &nref);
        t->fwords += nref;
        t->fr++;
        t->fr_g += g;
    }
}

/* Grammar first (--grammar-first, with --opt expect_phone=1): a lesson's
 * answer decoded by the grammar alone, the full language model only when
 * the grammar fits the audio badly against a phone loop (per frame below
 * T) or the utterance is longer than D frames; then the biased rule as
 * now. Tabulates what it hears and what it costs. */
static void grammar_first(const hs_set *s, const rec *R)
{
    static const char *const kinds[] = {"right answers", "wrong answers", "free questions"};
    printf("\n| grammar - phone loop per frame | p10 | p25 | p50 | p75 | p90 | n |\n"
           "| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n");
    double *v = calloc(s->n + 1, sizeof *v);
    for (int k = 0; k < 3; k++) {
        size_t n = 0;
        for (size_t i = 0; i < s->n; i++)
            if ((int)s->items[i].kind == (k == 0 ? HS_ANSWER : k == 1 ? HS_WRONG : HS_FREE) &&
                R[i].info.phone_ran)
                v[n++] = conf_of(&R[i]);
        qsort(v, n, sizeof *v, cmp_d);
        if (n)
            printf("| %s | %.0f | %.0f | %.0f | %.0f | %.0f | %zu |\n", kinds[k], v[n / 10],
                   v[n / 4], v[n / 2], v[3 * n / 4], v[9 * n / 10], n);
    }
    free(v);
    static const double ts[] = {-1e9, -40, -30, -25, -20, -16, -12, -8, -4, 0};
    static const int ds[] = {200, 250, 300, 400};
    printf("\n| T (per frame) | D (frames) | right accepted | wrong accepted | free WER | free "
           "questions taken by the grammar | utterances without the LM | CPU s per s of audio |\n"
           "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
    for (size_t d = 0; d < sizeof ds / sizeof *ds; d++)
        for (size_t t = 0; t < sizeof ts / sizeof *ts; t++) {
            rule_tally t0 = {0}, *k = &t0;
            for (size_t i = 0; i < s->n; i++) {
                const rec *r = &R[i];
                int g = r->info.ran && r->info.phone_ran && r->info.grammar_text[0] &&
                        r->info.frames <= ds[d] && conf_of(r) >= ts[t];
                rule_count(k, &s->items[i], r, g ? r->info.grammar_text : r->final, g,
                           r->info.grammar_cpu_s + r->info.phone_cpu_s +
                               (g ? 0 : r->info.lm_cpu_s));
            }
            printf("| %.0f | %d | %d/%d (%.1f %%) | %d/%d (%.1f %%) | %.1f %% | %d/%d | %d/%zu | "
                   "%.3f |\n", ts[t] < -1e8 ? -INFINITY : ts[t], ds[d], k->ans_ok, k->ans,
                   pc(k->ans_ok, k->ans), k->wrong_ok, k->wrong, pc(k->wrong_ok, k->wrong),
                   pc(k->ferr, k->fwords), k->fr_g, k->fr, k->cheap, s->n,
                   k->audio > 0 ? k->cpu / k->audio : 0);
        }
}

/* Grammar first with a loop of common words beside the answers as the
 * reference (--grammar-first, with --opt expect_garbage=W): that grammar's
 * text stands unless its best path went through the loop or the utterance
 * is longer than D frames; then the full model's decode and the biased
 * rule as now (its CPU counted on top). */
static void grammar_first_garbage(const hs_set *s, const rec *R)
{
    static const int ds[] = {200, 250, 300, 400, 100000};
    {
        /* the rule as now, but the grammar's text refused when the loop
         * grammar says the utterance is not an answer */
        rule_tally v = {0};
        for (size_t i = 0; i < s->n; i++) {
            const rec *r = &R[i];
            int veto = r->info.chose_grammar && r->info.loop_ran && r->info.loop_garbage;
            rule_count(&v, &s->items[i], r, veto ? r->info.lm_text : r->final,
                       r->info.chose_grammar && !veto, 0);
        }
        printf("\nthe biased rule with the loop's veto: right accepted %d/%d (%.1f %%), wrong "
               "accepted %d/%d (%.1f %%), free WER %.1f %%, free questions given the grammar's "
               "text %d/%d\n", v.ans_ok, v.ans, pc(v.ans_ok, v.ans), v.wrong_ok, v.wrong,
               pc(v.wrong_ok, v.wrong), pc(v.ferr, v.fwords), v.fr_g, v.fr);
    }
    printf("\n| rule: grammar unless its loop won, D (frames) | right accepted | wrong accepted | "
           "free WER | free questions taken by the grammar | right answers sent to the LM | "
           "utterances without the LM | CPU s per s of audio |\n"
           "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
    for (size_t d = 0; d < sizeof ds / sizeof *ds; d++) {
        rule_tally t0 = {0}, *k = &t0;
        for (size_t i = 0; i < s->n; i++) {
            const rec *r = &R[i];
            int g = r->info.loop_ran && r->info.loop_text[0] && !r->info.loop_garbage &&
                    r->info.frames <= ds[d];
            rule_count(k, &s->items[i], r, g ? r->info.loop_text : r->final, g,
                       r->info.loop_cpu_s + (g ? 0 : r->info.lm_cpu_s + r->info.grammar_cpu_s));
        }
        printf("| %d | %d/%d (%.1f %%) | %d/%d (%.1f %%) | %.1f %% | %d/%d | %d/%d | %d/%zu | "
               "%.3f |\n", ds[d], k->ans_ok, k->ans, pc(k->ans_ok, k->ans), k->wrong_ok,
               k->wrong, pc(k->wrong_ok, k->wrong), pc(k->ferr, k->fwords), k->fr_g, k->fr,
               k->ans_lm, k->ans, k->cheap, s->n, k->audio > 0 ? k->cpu / k->audio : 0);
    }
}

int main(int argc, char **argv)
{
    int stride = 1, sweep = 0, memory = 1, gfirst = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--stride") == 0 && i + 1 < argc)
            stride = atoi(argv[++i]);
        else if (strcmp(argv[i], "--sweep") == 0)
            sweep = 1;
        else if (strcmp(argv[i], "--grammar-first") == 0)
            gfirst = 1;
        else if (strcmp(argv[i], "-v") == 0)
            verbose = 1;
        else if (strcmp(argv[i], "--no-memory") == 0)
            memory = 0;
        else if (strcmp(argv[i], "--opt") == 0 && i + 1 < argc && strchr(argv[i + 1], '=') &&
                 g_n_opts < 8) {
            char *kv = argv[++i], *eq = strchr(kv, '=');
            *eq = 0;
            g_opts[g_n_opts++] = (vt_opt){kv, eq + 1};
        }
        else {
            fprintf(stderr, "usage: bench_hear [--stride N] [--sweep] [-v] [--no-memory] "
                            "[--opt KEY=VALUE]...\n");
            return 2;
        }
    }
    if (hs_init(VT_LESSONS_DIR) != 0)
        return 1;
    hs_set s;
    if (hs_build(&s, stride, 0) != 0)
        return 1;
    rec *R = calloc(s.n, sizeof *R);
    if (!R)
        return 1;
    double audio = 0, lm_cpu = 0, g_cpu = 0;
    for (int v = 0; v < HS_N_VOICES; v++) {
        void *model = NULL, *ctx = NULL;
        if (open_decoder(&model, &ctx) != 0)
            return 1;
        /* a session's decoder has heard the person before: one unscored
         * sentence in the same voice */
        hs_item warm = {HS_FREE, 0, 0, v, 0, "could you help me with this please"};
        rec junk;
        decode(ctx, &warm, &junk);
        for (size_t i = 0; i < s.n; i++) {
            if (s.items[i].voice != v)
                continue;
            if (decode(ctx, &s.items[i], &R[i]) != 0)
                return 1;
            audio += R[i].audio_s;
            lm_cpu += R[i].info.lm_cpu_s;
            g_cpu += R[i].info.grammar_cpu_s;
            if (verbose && strcmp(R[i].final, s.items[i].text) != 0)
                fprintf(stderr, "%-15s %-11s %-6s '%s' -> lm '%s' | grammar '%s' | loop '%s'%s (%+.1f/frame) -> '%s'\n",
                        hs_voice_names[v], hs_aug_names[s.items[i].aug],
                        s.items[i].kind == HS_ANSWER ? "right" : s.items[i].kind == HS_WRONG ? "wrong" : "free",
                        s.items[i].text, R[i].info.lm_text, R[i].info.grammar_text,
                        R[i].info.loop_text, R[i].info.loop_garbage ? " [loop]" : "",
                        R[i].info.frames ? (double)(R[i].info.grammar_score - R[i].info.lm_score) /
                                               R[i].info.frames : 0.0,
                        R[i].final);
        }
        vt_stt_close(&vt_stt_pocketsphinx, model, ctx);
    }
    printf("items: %zu (stride %d), %.0f s of audio, %d voices x %d changes\n\n", s.n, stride,
           audio, HS_N_VOICES, HS_N_AUGS);
    printf("| lesson | recogniser | right answers accepted | wrong answers accepted | free "
           "questions WER | complete sentences that waited 2 s |\n| --- | --- | ---: | ---: | ---: | ---: |\n");
    for (int l = -1; l < (int)hs_n_lessons; l++)
        for (int how = 0; how <= 2; how++) {
            tally t;
            score(&s, R, how, 0, 0, how == 1, l, &t);
            printf("| %s | %s | %d/%d (%.1f %%) | %d/%d (%.1f %%) | %.1f %% (%d questions) | %d/%d (%.1f %%) |\n",
                   l < 0 ? "**all**" : hs_lesson_names[l],
                   how == 0 ? "full LM (before)" : how == 1 ? "biased (after)" : "grammar alone",
                   t.ans_ok, t.ans, pc(t.ans_ok, t.ans), t.wrong_ok, t.wrong,
                   pc(t.wrong_ok, t.wrong), pc(t.free_err, t.free_words), t.free_n, t.waited,
                   t.sent, pc(t.waited, t.sent));
        }
    printf("\nwaited 2 s, before: full LM text, judge without context; after: biased text, judge "
           "with the lesson's answers\n");
    /* by voice and by change: right answers accepted, before -> after */
    printf("\n| voice or change | right answers accepted, full LM | biased |\n| --- | ---: | ---: |\n");
    for (int pass = 0; pass < 2; pass++)
        for (int k = 0; k < (pass ? HS_N_AUGS : HS_N_VOICES); k++) {
            int n = 0, a0 = 0, a1 = 0;
            for (size_t i = 0; i < s.n; i++) {
                const hs_item *it = &s.items[i];
                if (it->kind != HS_ANSWER || (pass ? it->aug : it->voice) != k)
                    continue;
                n++;
                a0 += hs_accepts(it, R[i].info.lm_text);
                a1 += hs_accepts(it, R[i].final);
            }
            printf("| %s | %d/%d (%.0f %%) | %d/%d (%.0f %%) |\n",
                   pass ? hs_aug_names[k] : hs_voice_names[k], a0, n, pc(a0, n), a1, n, pc(a1, n));
        }
    printf("\nrecognition CPU per second of audio: full LM %.3f s, grammar pass %.3f s, "
           "biased total %.3f s\n", lm_cpu / audio, g_cpu / audio, (lm_cpu + g_cpu) / audio);
    if (sweep) {
        static const int slacks[] = {0, 1, 2, 3, 4};
        static const int words[] = {2, 3, 4, 5, 6};
        printf("\n| LM words at most | or LM words past the grammar's at most | right accepted | wrong accepted | free WER |\n"
               "| ---: | ---: | ---: | ---: | ---: |\n");
        for (size_t m = 0; m < sizeof slacks / sizeof *slacks; m++)
            for (size_t w = 0; w < sizeof words / sizeof *words; w++) {
                tally t;
                score(&s, R, 3, slacks[m], words[w], 1, -1, &t);
                printf("| %d | %d | %.1f %% | %.1f %% | %.1f %% |\n", words[w], slacks[m],
                       pc(t.ans_ok, t.ans), pc(t.wrong_ok, t.wrong),
                       pc(t.free_err, t.free_words));
            }
    }
    if (gfirst) {
        int phone = 0, garbage = 0;
        for (size_t i = 0; i < s.n; i++) {
            phone |= R[i].info.phone_ran;
            garbage |= R[i].info.loop_ran;
        }
        if (phone)
            grammar_first(&s, R);
        if (garbage || !phone)
            grammar_first_garbage(&s, R);
    }
    if (memory)
        printf("\nmemory per session (recogniser + keyword spotter, RSS over 3 sessions, fresh "
               "process each): before (full dictionary in the spotter, no grammar) %.1f MiB, "
               "after (tiny spotter dictionary, grammar search) %.1f MiB\n",
               memory_case(0), memory_case(1));
    free(R);
    hs_free(&s);
    hs_done();
    return 0;
}
