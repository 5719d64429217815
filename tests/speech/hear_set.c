/* The "hear the learner" test set: items, audio made at run time, scoring
 * (see hear_set.h). */
#include "speech/hear_set.h"
#include "speech/speech_testutil.h"
#include "engines/brain/brain.h"
#include "engines/brain/lesson.h"
#include "engines/brain/text.h"
#include "util/wav.h"
#include "voicetutor/core.h"

#include <math.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* "flite:awb" or "espeak:en-us+f3" */
const char *const hs_voice_names[HS_N_VOICES] = {"flite:awb",    "flite:rms",       "flite:slt",
                                                 "flite:kal16",  "espeak:en-us",    "espeak:en-us+f3",
                                                 "espeak:en-gb+m3"};
const char *const hs_aug_names[HS_N_AUGS] = {"clean",     "tempo 0.85", "tempo 1.15",
                                             "pitch +300", "pitch -300", "reverb",
                                             "noise 10 dB", "noise 20 dB", "leading um"};
const char *const hs_lesson_names[] = {"times-tables", "capitals", "science"};
const size_t hs_n_lessons = sizeof hs_lesson_names / sizeof hs_lesson_names[0];

/* How learners put an answer (the recogniser's spelling). */
static const char *const k_frames[] = {"", "it's ", "i think it's ", "is it "};
#define N_FRAMES (sizeof k_frames / sizeof k_frames[0])

/* Questions a learner asks instead of answering. */
static const char *const k_free[] = {
    "what is seven times eight",         "can you say that again more slowly",
    "why is the sky blue",               "how many legs does a spider have",
    "i do not understand the question",  "can we do something else now",
    "what time is it",                   "how do plants make their food",
    "could you give me an easier one",   "where do penguins live",
    "is this going to be on the test",   "what does multiply mean",
};
#define N_FREE (sizeof k_free / sizeof k_free[0])

typedef struct hs_q {
    char spoken[HS_MAX_ANS][VT_EXPECTED_PHRASE_MAX];
    int n;
} hs_q;

static vt_lesson *L[8];
static hs_q *Q[8];

static void spoken(const vt_lesson_q *q, size_t i, char *out, size_t cap)
{
    if (q->numeric && vt__number_words(strtol(q->norm[i], NULL, 10), out, cap))
        return;
    vt__text_normalize_words(q->answers[i], out, cap);
}

int hs_init(const char *dir)
{
    for (size_t l = 0; l < hs_n_lessons; l++) {
        char path[600], err[512];
        snprintf(path, sizeof path, "%s/%s.lesson", dir, hs_lesson_names[l]);
        if (vt__lesson_load(path, &L[l], err, sizeof err) != 0) {
            fprintf(stderr, "hear_set: %s\n", err);
            return -1;
        }
        Q[l] = calloc(L[l]->n_q, sizeof *Q[l]);
        if (!Q[l])
            return -1;
        for (size_t i = 0; i < L[l]->n_q; i++)
            for (size_t a = 0; a < L[l]->q[i].n_answers && Q[l][i].n < HS_MAX_ANS; a++) {
                char *o = Q[l][i].spoken[Q[l][i].n];
                spoken(&L[l]->q[i], a, o, VT_EXPECTED_PHRASE_MAX);
                /* "co2": no spoken form the recogniser has; left out */
                int ok = o[0] != 0;
                for (const char *p = o; *p; p++)
                    if (*p >= '0' && *p <= '9')
                        ok = 0;
                if (ok)
                    Q[l][i].n++;
            }
    }
    return 0;
}

void hs_done(void)
{
    for (size_t l = 0; l < hs_n_lessons; l++) {
        vt__lesson_free(L[l]);
        free(Q[l]);
        L[l] = NULL;
        Q[l] = NULL;
    }
}

static hs_item *add(hs_set *s)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 256;
        hs_item *p = realloc(s->items, cap * sizeof *p);
        if (!p)
            return NULL;
        s->items = p;
        s->cap = cap;
    }
    hs_item *it = &s->items[s->n++];
    memset(it, 0, sizeof *it);
    return it;
}

int hs_build(hs_set *s, int stride, unsigned voices)
{
    memset(s, 0, sizeof *s);
    if (stride < 1)
        stride = 1;
    unsigned k_ans = 0, k_wrong = 0, k_free_i = 0, kept = 0;
    for (int v = 0; v < HS_N_VOICES; v++) {
        if (voices && !(voices & (1u << v)))
            continue;
        for (size_t l = 0; l < hs_n_lessons; l++)
            for (size_t q = 0; q < L[l]->n_q; q++) {
                if (!Q[l][q].n)
                    continue;
                unsigned r = (unsigned)(q * 7 + (size_t)v * 3 + l);
                /* right: every question, in every voice */
                if (k_ans++ % (unsigned)stride == 0) {
                    hs_item *it = add(s);
                    if (!it)
                        return -1;
                    /* the change rotates with the kept items, so any stride
                     * still gives every voice every change */
                    *it = (hs_item){HS_ANSWER, (int)l, (int)q, v, (int)(kept++ % HS_N_AUGS), ""};
                    snprintf(it->text, sizeof it->text, "%s%s", k_frames[r % N_FRAMES],
                             Q[l][q].spoken[0]);
                }
                /* wrong: another question's answer the lesson does not accept */
                if (q % 2 == (size_t)v % 2 && k_wrong++ % (unsigned)stride == 0) {
                    for (size_t d = 1; d < L[l]->n_q; d++) {
                        size_t o = (q + d * 5) % L[l]->n_q;
                        if (!Q[l][o].n)
                            continue;
                        hs_item tmp = {HS_WRONG, (int)l, (int)q, v, (int)((r + 4) % HS_N_AUGS), ""};
                        snprintf(tmp.text, sizeof tmp.text, "%s%s", k_frames[(r + 1) % N_FRAMES],
                                 Q[l][o].spoken[0]);
                        if (hs_accepts(&tmp, tmp.text))
                            continue;
                        hs_item *it = add(s);
                        if (!it)
                            return -1;
                        *it = tmp;
                        break;
                    }
                }
            }
        /* free questions, each while some question waits */
        for (size_t f = 0; f < N_FREE; f++) {
            if (k_free_i++ % (unsigned)stride)
                continue;
            size_t l = (f + (size_t)v) % hs_n_lessons;
            hs_item *it = add(s);
            if (!it)
                return -1;
            *it = (hs_item){HS_FREE, (int)l, (int)((f * 5 + (size_t)v) % L[l]->n_q), v,
                            (int)((f + (size_t)v * 2) % HS_N_AUGS), ""};
            snprintf(it->text, sizeof it->text, "%s", k_free[f]);
        }
    }
    return 0;
}

void hs_free(hs_set *s)
{
    free(s->items);
    memset(s, 0, sizeof *s);
}

int hs_expected(const hs_item *it, const char *out[HS_MAX_ANS])
{
    const hs_q *q = &Q[it->lesson][it->q];
    for (int i = 0; i < q->n; i++)
        out[i] = q->spoken[i];
    return q->n;
}

size_t hs_commands(const char *const **words)
{
    return vt_lesson_commands(words);
}

static int run(char *const argv[])
{
    pid_t pid;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", 1, 0); /* sox's warnings */
    int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0)
        return -1;
    int st = 0;
    if (waitpid(pid, &st, 0) < 0)
        return -1;
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/* White noise at snr_db below the speech's level (its loud 20 ms frames). */
static void add_noise(int16_t *pcm, size_t n, double snr_db, unsigned seed)
{
    double frame_e[4096], max_e = 0;
    size_t nf = n / 320 < 4096 ? n / 320 : 4096;
    for (size_t f = 0; f < nf; f++) {
        double e = 0;
        for (size_t k = 0; k < 320; k++)
            e += (double)pcm[f * 320 + k] * pcm[f * 320 + k];
        frame_e[f] = e / 320;
        if (frame_e[f] > max_e)
            max_e = frame_e[f];
    }
    double sum = 0;
    size_t cnt = 0;
    for (size_t f = 0; f < nf; f++)
        if (frame_e[f] > max_e * 0.05)
            sum += frame_e[f], cnt++;
    double rms = cnt ? sqrt(sum / (double)cnt) : 1000;
    double nrms = rms / pow(10, snr_db / 20);
    uint32_t r = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        double g = 0;
        for (int k = 0; k < 4; k++) {
            r = r * 1664525u + 1013904223u;
            g += (double)(r >> 8) / 16777216.0 - 0.5;
        }
        double v = pcm[i] + g * 1.732 * nrms; /* 4 uniforms: unit variance x sqrt(3) */
        pcm[i] = (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : v);
    }
}

int hs_render(const hs_item *it, int16_t **pcm, size_t *n)
{
    static unsigned counter;
    char raw[600], out[600], name[64], text[200], err[256];
    unsigned id = counter++;
    snprintf(name, sizeof name, "hear-%u-raw.wav", id);
    vt_test_path(name, raw, sizeof raw);
    snprintf(name, sizeof name, "hear-%u.wav", id);
    vt_test_path(name, out, sizeof out);
    snprintf(text, sizeof text, "%s%s", it->aug == 8 ? "um, " : "", it->text);
    const char *vn = hs_voice_names[it->voice];
    int rc;
    if (strncmp(vn, "flite:", 6) == 0) {
        char *argv[] = {"flite", "-voice", (char *)vn + 6, "-t", text, "-o", raw, NULL};
        rc = run(argv);
    } else {
        char *argv[] = {"espeak-ng", "-v", (char *)vn + 7, "-w", raw, text, NULL};
        rc = run(argv);
    }
    if (rc) {
        fprintf(stderr, "hear_set: cannot synthesize '%s' with %s\n", text, vn);
        return -1;
    }
    char *sox[24] = {"sox", raw, "-r", "16000", "-c", "1", "-b", "16", out};
    int k = 9;
    switch (it->aug) {
    case 1: sox[k++] = "tempo"; sox[k++] = "0.85"; break;
    case 2: sox[k++] = "tempo"; sox[k++] = "1.15"; break;
    case 3: sox[k++] = "pitch"; sox[k++] = "300"; break;
    case 4: sox[k++] = "pitch"; sox[k++] = "-300"; break;
    case 5: sox[k++] = "reverb"; sox[k++] = "50"; sox[k++] = "50"; sox[k++] = "80"; break;
    default: break;
    }
    sox[k++] = "pad";
    sox[k++] = "0.3";
    sox[k++] = "0.3";
    sox[k] = NULL;
    if (run(sox) != 0) {
        fprintf(stderr, "hear_set: sox failed on %s (apt-get install sox)\n", raw);
        unlink(raw);
        return -1;
    }
    unlink(raw);
    rc = vt_wav_read(out, 16000, pcm, n, NULL, err, sizeof err);
    unlink(out);
    if (rc) {
        fprintf(stderr, "hear_set: %s\n", err);
        return -1;
    }
    if (it->aug == 6 || it->aug == 7)
        add_noise(*pcm, *n, it->aug == 6 ? 10 : 20, id);
    return 0;
}

int hs_accepts(const hs_item *it, const char *text)
{
    char norm[512];
    vt__text_normalize(text ? text : "", norm, sizeof norm);
    return vt__lesson_match(&L[it->lesson]->q[it->q], norm) == VT_MATCH_RIGHT;
}

int hs_waits(const hs_item *it, const char *text, int context)
{
    char words[512];
    vt__text_normalize_words(text ? text : "", words, sizeof words);
    if (!words[0])
        return 0; /* nothing heard: no turn */
    const char *ans[HS_MAX_ANS];
    int n = hs_expected(it, ans);
    /* the core's rule first: a turn holding an expected answer is complete */
    for (int i = 0; context && i < n; i++)
        if (vt__text_has_phrase(words, ans[i]))
            return 0;
    /* the lesson brain's judge: a prefix of an answer waits, a right answer
     * or a command is complete, the rest goes to the embedded heuristic */
    for (int i = 0; i < n; i++)
        if (vt__text_is_prefix(words, ans[i]))
            return 1;
    if (hs_accepts(it, text))
        return 0;
    const char *const *cmds = NULL;
    size_t nc = vt_lesson_commands(&cmds);
    for (size_t i = 0; i < nc; i++) {
        char c[64];
        vt__text_normalize_words(cmds[i], c, sizeof c);
        if (vt__text_has_phrase(words, c))
            return 0;
    }
    return !vt_judge_heuristic(words);
}
