/*
 * bench_turn — the turn-taking figures of issue 15 for docs/BENCHMARKS.md,
 * measured in virtual time through the simulator (the live driver on the
 * virtual-time executor, scripted engines; src/sim), so every figure is
 * deterministic and comes from the same code `serve` and `talk` run:
 *   1. end of a complete sentence -> first answer audio, by the brain's
 *      first-token time, with and without preemptive answers;
 *   2. backchannels over the tutor that wrongly interrupted, and real
 *      interruptions' latency (speech onset -> interruption), before and
 *      after the backchannel filter;
 *   3. ducking: speech onset -> the tutor audibly quieter (-6 dB, and the
 *      full -15 dB) beside onset -> silent (the interruption);
 *   4. resume after a false interruption (a cough), and think time (a
 *      number said in pieces).
 * Times are virtual: engine costs are the scenario's models, the core's
 * decisions take no time. Not a test.
 *
 * usage: bench_turn
 */
#include "sim/sim.h"
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LONG_ANSWER                                                                          \
    "Photosynthesis is how plants make food from light. They take in water and carbon "     \
    "dioxide, and with the energy of sunlight they turn them into sugar. Oxygen is released " \
    "as a by-product, which is the air we breathe. It happens in the leaves."

static vt_sim *run(const char *json)
{
    char err[512] = "";
    vt_sim *s = NULL;
    if (vt_sim_load_string(json, ".", "bench", &s, err, sizeof err) ||
        vt_sim_run(s, err, sizeof err)) {
        fprintf(stderr, "bench_turn: %s\n%s\n", err, json);
        exit(1);
    }
    return s;
}





/* The run's records (sim_query.c). */
#define nth vt_sim_find
#define count(s, type) vt_sim_count(s, type, NULL)
#define t_of vt_sim_time
#define energy vt_sim_energy

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    return n ? (n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2) : -1;
}

/* ---- 1. preemptive answers ------------------------------------------------------- */

static void preempt(void)
{
    static const int first_token[] = {0, 300, 400, 600, 1000};
    static const int preempt_ms[] = {0, 150, 100};
    static const int token_ms[] = {40, 10};
    printf("\n## 1. End of a complete sentence -> first answer audio (ms)\n\n");
    printf("The learner says \"what is seven times eight\" (1.5 s of generated speech, ending at "
           "2.0 s); the scripted brain answers \"It is fifty six, because seven eights are "
           "fifty six.\" after first_token_ms, then a token every token_ms; synthesis 20 ms to "
           "the first chunk; no filler. Cells: ms from the end of the speech to the first "
           "answer audio released (brain requests in brackets).\n\n");
    printf("| first token | token pace |");
    for (size_t p = 0; p < sizeof preempt_ms / sizeof *preempt_ms; p++)
        printf(preempt_ms[p] ? " preempt_ms %d |" : " off (seed) |", preempt_ms[p]);
    printf("\n|---|---|---|---|---|\n");
    for (size_t k = 0; k < sizeof token_ms / sizeof *token_ms; k++)
        for (size_t f = 0; f < sizeof first_token / sizeof *first_token; f++) {
            printf("| %d ms | %d ms |", first_token[f], token_ms[k]);
            for (size_t p = 0; p < sizeof preempt_ms / sizeof *preempt_ms; p++) {
                char js[1024];
                snprintf(js, sizeof js,
                         "{\"config\":{\"filler_enabled\":false,\"preempt_ms\":%d},"
                         "\"user\":[{\"at\":0.5,\"text\":\"what is seven times eight\","
                         "\"ms\":1500}],\"brain\":{\"replies\":[{\"text\":\"It is fifty six, "
                         "because seven eights are fifty six.\",\"first_token_ms\":%d,"
                         "\"token_ms\":%d}]},\"duration\":8}",
                         preempt_ms[p], first_token[f], token_ms[k]);
                vt_sim *s = run(js);
                double t = t_of(s, "transition", "\"to\":\"RESPONDING\"", 0);
                printf(" %.0f (%d) |", (t - 2.0) * 1000, count(s, "engine.llm_start"));
                vt_sim_free(s);
            }
            printf("\n");
        }
}

/* ---- 2. backchannels ------------------------------------------------------------- */

static const char *const k_backchannels[] = {"uh huh", "mhm", "yeah", "okay", "right",
                                             "i see", "uh huh yeah", "mm hmm"};
static const char *const k_real[] = {"actually what about animals", "but why is that",
                                     "can you say that again", "no i mean the roots",
                                     "yeah but what about water", "okay and then what",
                                     "what do you mean", "sorry i did not get that"};

/* Speech over the answer at 5.0 s: did it interrupt, and when (s after onset)? */
static double over_answer(const char *cfg, const char *text, int ms, double level, int f0)
{
    char js[2048];
    snprintf(js, sizeof js,
             "{\"config\":{\"interrupt_mode\":\"speech\"%s},\"user\":[{\"at\":0.5,\"text\":"
             "\"tell me about plants\",\"ms\":1500},{\"at\":5.0,\"text\":\"%s\",\"ms\":%d,"
             "\"level\":%.2f,\"f0\":%d}],\"brain\":{\"replies\":[{\"text\":\"" LONG_ANSWER
             "\"}]},\"duration\":10}",
             cfg, text, ms, level, f0);
    vt_sim *s = run(js);
    double t = t_of(s, "interruption_detected", NULL, 0);
    vt_sim_free(s);
    return t < 0 ? -1 : t - 5.0;
}

static void backchannels(void)
{
    static const struct { const char *name, *cfg; } setups[] = {
        {"seed (VAD alone)", ""},
        {"backchannels", ",\"backchannels\":\"uh huh,mhm,mm hmm,yeah,okay,right,i see\""},
        {"backchannels + interrupt_min_words 2",
         ",\"backchannels\":\"uh huh,mhm,mm hmm,yeah,okay,right,i see\","
         "\"interrupt_min_words\":2"},
    };
    static const double levels[] = {0.2, 0.3};
    static const int f0s[] = {110, 190};
    printf("\n## 2. Backchannels over the tutor (speech mode)\n\n");
    printf("Generated speech over a long answer, at 5.0 s: %zu backchannels and %zu real "
           "interruptions, each at 2 levels x 2 voices (%zu + %zu runs); backchannels last "
           "300-800 ms, real interruptions 1.2-1.8 s. Latency: speech onset -> "
           "interruption_detected (the output stops then), virtual time, interim text every "
           "200 ms of audio.\n\n",
           sizeof k_backchannels / sizeof *k_backchannels, sizeof k_real / sizeof *k_real,
           4 * sizeof k_backchannels / sizeof *k_backchannels, 4 * sizeof k_real / sizeof *k_real);
    printf("| setting | backchannels that interrupted | real interruptions caught | latency median "
           "| latency max |\n|---|---|---|---|---|\n");
    for (size_t c = 0; c < sizeof setups / sizeof *setups; c++) {
        int wrong = 0, nb = 0, caught = 0, nr = 0;
        double lat[64];
        for (size_t i = 0; i < sizeof k_backchannels / sizeof *k_backchannels; i++)
            for (int l = 0; l < 2; l++)
                for (int f = 0; f < 2; f++) {
                    int ms = 300 + (int)((i * 150 + (size_t)l * 70 + (size_t)f * 40) % 500);
                    nb++;
                    wrong += over_answer(setups[c].cfg, k_backchannels[i], ms, levels[l],
                                         f0s[f]) >= 0;
                }
        for (size_t i = 0; i < sizeof k_real / sizeof *k_real; i++)
            for (int l = 0; l < 2; l++)
                for (int f = 0; f < 2; f++) {
                    int ms = 1200 + (int)((i * 100 + (size_t)l * 150) % 600);
                    double t = over_answer(setups[c].cfg, k_real[i], ms, levels[l], f0s[f]);
                    nr++;
                    if (t >= 0)
                        lat[caught++] = t * 1000;
                }
        double mx = 0;
        for (int i = 0; i < caught; i++)
            mx = lat[i] > mx ? lat[i] : mx;
        printf("| %s | %d / %d | %d / %d | %.0f ms | %.0f ms |\n", setups[c].name, wrong, nb,
               caught, nr, median(lat, caught), mx);
    }
}

/* ---- 3. ducking ------------------------------------------------------------------ */

/* First time after t0 when the output of a is at most `ratio` of b's (10 ms windows). */
static double quieter_at(const vt_sim *a, const vt_sim *b, double t0, double ratio)
{
    for (double t = t0; t < t0 + 2.0; t += 0.001) {
        double eb = energy(b, t, t + 0.005);
        if (eb > 50 && energy(a, t, t + 0.005) <= ratio * eb)
            return t;
    }
    return -1;
}

static void ducking(void)
{
    printf("\n## 3. Ducking: speech onset -> the tutor quieter, beside onset -> silent\n\n");
    printf("Speech (1.4 s, generated) over a long answer at 5.0 s, speech mode, duck_db -15 with "
           "a 10 ms ramp; out.wav (what the modelled client plays) compared with the same run without "
           "ducking. The client holds up to pacer_lead_ms (100 ms) of released audio, which "
           "ducking in the core cannot reach; the interruption drops it.\n\n");
    printf("| setting | onset -> -6 dB | onset -> -15 dB | onset -> silent (interruption) |\n"
           "|---|---|---|---|\n");
    static const struct { const char *name, *cfg, *text; } setups[] = {
        {"\"no i mean the roots\"", "", "no i mean the roots"},
        {"\"no i mean the roots\", pacer_lead_ms 40", ",\"pacer_lead_ms\":40",
         "no i mean the roots"},
        {"\"yeah but what about water\", backchannel filter on",
         ",\"backchannels\":\"uh huh,mhm,mm hmm,yeah,okay,right,i see\"",
         "yeah but what about water"},
    };
    for (size_t c = 0; c < sizeof setups / sizeof *setups; c++) {
        char on[2048], off[2048];
        const char *fmt = "{\"config\":{\"interrupt_mode\":\"speech\"%s%s},\"user\":[{\"at\":0.5,"
                          "\"text\":\"tell me about plants\",\"ms\":1500},{\"at\":5.0,\"text\":"
                          "\"%s\",\"ms\":1400}],\"brain\":{\"replies\":[{"
                          "\"text\":\"" LONG_ANSWER "\"}]},\"duration\":9}";
        snprintf(on, sizeof on, fmt, setups[c].cfg, ",\"duck_db\":-15,\"duck_ramp_ms\":10",
                 setups[c].text);
        snprintf(off, sizeof off, fmt, setups[c].cfg, "", setups[c].text);
        vt_sim *a = run(on), *b = run(off);
        double t6 = quieter_at(a, b, 5.0, 0.5), t15 = quieter_at(a, b, 5.0, 0.18);
        double ti = t_of(a, "interruption_detected", NULL, 0);
        printf("| %s | %.0f ms | %.0f ms | %.0f ms |\n", setups[c].name, (t6 - 5.0) * 1000,
               (t15 - 5.0) * 1000, (ti - 5.0) * 1000);
        vt_sim_free(a);
        vt_sim_free(b);
    }
}

/* ---- 4. resume and think time ----------------------------------------------------- */

static void resume_and_think(void)
{
    printf("\n## 4. Resume after a false interruption; think time\n\n");
    printf("| case | off (seed) | on |\n|---|---|---|\n");
    const char *fmt = "{\"config\":{\"interrupt_mode\":\"speech\"%s},\"user\":[{\"at\":0.5,\"text\":"
                      "\"tell me about plants\",\"ms\":1500},{\"at\":5.0,\"click_ms\":400,"
                      "\"level\":0.5}],\"brain\":{\"replies\":[{\"text\":\"" LONG_ANSWER
                      "\"}]},\"duration\":24}";
    char js[2048];
    double r[2];
    for (int on = 0; on < 2; on++) {
        snprintf(js, sizeof js, fmt, on ? ",\"resume_ms\":1500" : "");
        vt_sim *s = run(js);
        double ti = t_of(s, "interruption_detected", NULL, 0);
        double tr = t_of(s, "transition", "resuming", 0);
        r[on] = tr < 0 ? -1 : tr - ti;
        vt_sim_free(s);
    }
    printf("| a 400 ms cough stops the tutor: it speaks again after | %s | %.0f ms (resume_ms "
           "1500) |\n", r[0] < 0 ? "never" : "?", r[1] * 1000);
    static const double pauses[] = {0.6, 1.0, 1.5, 2.5};
    for (size_t p = 0; p < sizeof pauses / sizeof *pauses; p++) {
        char out[2][64];
        for (int on = 0; on < 2; on++) {
            snprintf(js, sizeof js,
                     "{\"config\":{\"filler_enabled\":false%s},\"user\":[{\"at\":0.5,\"text\":"
                     "\"give me a sum\",\"ms\":1000},{\"at\":4.0,\"text\":\"fifty\",\"ms\":500},"
                     "{\"at\":%.2f,\"text\":\"six\",\"ms\":400}],\"brain\":{\"replies\":[{"
                     "\"text\":\"What is seven times eight?\",\"first_token_ms\":100},{\"text\":"
                     "\"Right.\"}]},\"duration\":14}",
                     on ? ",\"think_silence_ms\":3000" : "", 4.5 + pauses[p]);
            vt_sim *s = run(js);
            const vt_sim_record *rec = nth(s, "processing_started", NULL, 1);
            cJSON *o = rec ? cJSON_Parse(rec->json) : NULL;
            const cJSON *t = cJSON_GetObjectItem(o, "text");
            snprintf(out[on], sizeof out[on], "\"%s\"", cJSON_IsString(t) ? t->valuestring : "?");
            cJSON_Delete(o);
            vt_sim_free(s);
        }
        printf("| \"What is seven times eight?\" - \"fifty\" (%.1f s pause) \"six\": the turn "
               "sent | %s | %s (think_silence_ms 3000) |\n", pauses[p], out[0], out[1]);
    }
}

int main(void)
{
    printf("# bench_turn: issue 15's turn-taking figures (virtual time, scripted engines)\n");
    preempt();
    backchannels();
    ducking();
    resume_and_think();
    return 0;
}
