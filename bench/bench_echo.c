/*
 * bench_echo: does the tutor hear itself? Echo cancellation for
 * `voicetutor talk` (issue 6), measured two ways on the tutor's own voice
 * through simulated rooms (src/transport/console/room.h):
 *
 *  1. offline, the canceller alone (fast): tutor answers spoken by flite,
 *     played back to back through each room into one canceller as in a
 *     session; echo return loss enhancement (ERLE) while it learns (the
 *     first 2 s) and after, the longest stretch the residual stays at the
 *     level that would interrupt (225 rms, 15 dB over the VAD's lowest
 *     floor), and how much of the person's "stop" said over the echo is
 *     kept — for the filter alone, with speex's residual suppressor, and
 *     with the echo gate (the default);
 *  2. end to end, in real time: `talk`'s own loop (vt_console_run, file
 *     mode, --echo) with the real session — pocketsphinx, the keyword
 *     spotter, the core's interruption rules — the tutor speaking its
 *     lesson introduction while the microphone hears only the room
 *     (false-interruption rate), and with the person's "stop" over it
 *     (detection rate), canceller off and on. Runs are forked, -j at once.
 *
 * usage: bench_echo [--quick] [--offline] [-j N] [--keep]
 * (--keep: leave the runs' WAVs and JSON logs in the work folder)
 * Prints markdown tables (docs/BENCHMARKS.md, "Echo cancellation").
 */
#include "engines/speech/speech.h"
#include "transport/console/aec.h"
#include "transport/console/console.h"
#include "transport/console/room.h"
#include "util/wav.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define RATE 16000
#define F 320
#define LOUD_RMS 225.0

static const char *k_answers[] = {
    "Right! Eight times four is thirty two. Now, what is seven times six?",
    "Not quite. Here's a hint. Count up in steps of four, eight times. Try again.",
    "Paris is the capital of France. It is sometimes called the city of light.",
    "Photosynthesis is how plants turn sunlight, water and air into sugar and oxygen.",
    "Let's stay with the sums. What is nine times seven?",
    "Well done! That was every question in this lesson. Shall we try another one?",
};
#define N_ANSWERS (int)(sizeof k_answers / sizeof *k_answers)

static const char *k_rooms[] = {"30:-6:50", "60:-10:50", "120:-6:100", "120:-20:50", "80:-3:150"};
static const char *k_no_echo = "60:-60:50"; /* the reference: the person alone, as good as it gets */
#define N_ROOMS (int)(sizeof k_rooms / sizeof *k_rooms)

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double energy(const int16_t *x, size_t n)
{
    double e = 0;
    for (size_t i = 0; i < n; i++)
        e += (double)x[i] * x[i];
    return e;
}

/* ---- 1. offline ------------------------------------------------------------------ */

typedef struct clip {
    int16_t *pcm;
    size_t n;
} clip;

typedef struct offline_row {
    double erle_learning, erle_after, stop_kept_db;
    int loud_ms;
    int false_hits;     /* keyword hits with no person (tutor alone) */
} offline_row;

static void *kws_model, *kws_ctx; /* one keyword spotter (the session's commands) */

/* Hits of the spotter on out (nobody speaks: every hit is false). The
 * session turns the spotter on (and resets it) when an answer starts; so
 * does this, at each answer's first sample (starts[k]). */
static int spot(const int16_t *out, size_t total, const size_t *starts, int n_ans)
{
    int hits = 0, k = 0;
    for (size_t i = 0; i + F <= total; i += F) {
        if (k < n_ans && i >= starts[k]) {
            vt_kws_pocketsphinx.reset(kws_ctx);
            k++;
        }
        vt_kws_hit hit;
        hits += vt_kws_pocketsphinx.feed(kws_ctx, out + i, F, &hit) == 1;
    }
    return hits;
}

/* One "session": answers back to back (1 s apart) through the room into one
 * canceller; with_stop puts the person's "stop" at 60 % of each answer. */
static offline_row offline_run(const char *room_spec, int residual, int gate, const clip *ans,
                               int n_ans, const clip *stop, int with_stop)
{
    offline_row row = {0};
    char err[256];
    vt_room_config rc;
    vt_room_config_default(&rc);
    vt_room_parse(room_spec, &rc, err, sizeof err);
    vt_room *room;
    vt_room_create(&rc, &room, err, sizeof err);
    vt_aec_config ac;
    vt_aec_config_default(&ac);
    ac.residual = residual > 0;
    ac.gate = gate;
    vt_aec *a;
    vt_aec_create(&ac, &a);
    size_t total = 0;
    for (int k = 0; k < n_ans; k++)
        total += ans[k].n + RATE;
    total = (total / F + 1) * F;
    int16_t *far = calloc(total, 2), *near = calloc(total, 2), *mic = calloc(total, 2),
            *out = calloc(total, 2);
    size_t *stop_at = calloc((size_t)n_ans, sizeof *stop_at);
    size_t *starts = calloc((size_t)n_ans, sizeof *starts);
    size_t pos = 0, first_end = ans[0].n;
    for (int k = 0; k < n_ans; k++) {
        memcpy(far + pos, ans[k].pcm, ans[k].n * 2);
        starts[k] = pos / F * F;
        stop_at[k] = pos + ans[k].n * 6 / 10;
        if (with_stop)
            for (size_t i = 0; i < stop->n && stop_at[k] + i < total; i++)
                near[stop_at[k] + i] = stop->pcm[i];
        pos += ans[k].n + RATE;
    }
    vt_room_process(room, far, near, mic, total);
    for (size_t i = 0; i < total; i += F) {
        if (residual < 0) /* no canceller: the microphone as it is */
            memcpy(out + i, mic + i, F * sizeof *out);
        else
            vt_aec_process(a, mic + i, far + i, out + i);
    }
    if (!with_stop) {
        /* ERLE over the frames where the speaker played */
        double lm = 0, lo = 0, am = 0, ao = 0;
        int run = 0, worst = 0;
        for (size_t i = 0; i < total; i += F) {
            double ef = energy(far + i, F), em = energy(mic + i, F), eo = energy(out + i, F);
            if (ef >= F * 100.0 * 100.0) {
                if (i < 2 * RATE && i < first_end) {
                    lm += em;
                    lo += eo;
                } else {
                    am += em;
                    ao += eo;
                }
            }
            run = sqrt(eo / F) > LOUD_RMS ? run + 1 : 0;
            if (run > worst)
                worst = run;
        }
        row.erle_learning = 10 * log10((lm + 1) / (lo + 1));
        row.erle_after = 10 * log10((am + 1) / (ao + 1));
        row.loud_ms = worst * 1000 * F / RATE;
        row.false_hits = spot(out, total, starts, n_ans);
    } else {
        /* the person's level kept: output vs the person alone, where they spoke */
        double en = 0, eo = 0;
        for (int k = 0; k < n_ans; k++) {
            en += energy(near + stop_at[k], stop->n);
            eo += energy(out + stop_at[k], stop->n);
        }
        row.stop_kept_db = 10 * log10((eo + 1) / (en + 1));
    }
    free(far);
    free(near);
    free(mic);
    free(out);
    free(stop_at);
    free(starts);
    vt_aec_destroy(a);
    vt_room_destroy(room);
    return row;
}

static void offline(const clip *ans, int n_ans, double total_s, const clip *stop, int n_rooms)
{
    static const struct {
        const char *name;
        int residual, gate;
    } cfgs[] = {{"none", -1, 0},
                {"filter", 0, 0},
                {"filter + speex residual suppressor", 1, 0},
                {"filter + echo gate (default)", 0, 1},
                {"filter + suppressor + gate", 1, 1}};
    printf("### The canceller alone (offline)\n\n");
    printf("%d tutor answers (%d sentences, flite rms and slt; %.1f s in all) back to back, 1 s apart, through each room "
           "into one canceller, as in a session. ERLE over the frames where the speaker played. "
           "Longest residual: the longest run of 20 ms frames above 225 rms (15 dB over the "
           "VAD's lowest floor; 250 ms of it interrupts). Keyword false alarms: hits of the "
           "session's spotter (stop, wait, pause, hold on, be quiet; default thresholds) on the "
           "output with nobody speaking. Last column: the level of \"stop\" (flite awb) said at 60 %% of "
           "each answer, after the canceller, against the word alone.\n\n",
           n_ans, n_ans / 2, total_s);
    printf("| room (delay:gain:smear) | canceller | ERLE, first 2 s | ERLE after | longest "
           "residual at the interruption level | keyword false alarms | \"stop\" level kept |\n");
    printf("| --- | --- | ---: | ---: | ---: | ---: | ---: |\n");
    for (int r = 0; r < n_rooms; r++)
        for (size_t c = 0; c < sizeof cfgs / sizeof *cfgs; c++) {
            offline_row e = offline_run(k_rooms[r], cfgs[c].residual, cfgs[c].gate, ans, n_ans,
                                        stop, 0);
            offline_row s = offline_run(k_rooms[r], cfgs[c].residual, cfgs[c].gate, ans, n_ans,
                                        stop, 1);
            char l[32], a[32];
            /* a gate that silences every echo frame makes the ratio meaningless */
            if (e.erle_learning > 60)
                snprintf(l, sizeof l, "> 60 dB");
            else
                snprintf(l, sizeof l, "%.1f dB", e.erle_learning);
            if (e.erle_after > 60)
                snprintf(a, sizeof a, "> 60 dB");
            else
                snprintf(a, sizeof a, "%.1f dB", e.erle_after);
            printf("| %s | %s | %s | %s | %d ms | %d | %.1f dB |\n", k_rooms[r], cfgs[c].name, l,
                   a, e.loud_ms, e.false_hits, s.stop_kept_db);
        }
    printf("\n");
}

/* ---- 2. end to end ------------------------------------------------------------------- */

typedef struct e2e_job {
    const char *room;
    int aec;
    const char *mode;          /* "both" or "commands" */
    const char *lesson, *voice;
    double stop_at;            /* < 0: no person */
    const char *stop_voice;
    /* results */
    vt_console_result res;
    double first_int_ms;
    int ok;
    pid_t pid;
    int fd;
    char input[600], log[600];
} e2e_job;

static char workdir[256];

static void make_input(e2e_job *j, double secs, const clip *stops, int n_stops)
{
    size_t n = (size_t)(secs * RATE);
    int16_t *pcm = calloc(n, 2);
    if (j->stop_at >= 0) {
        const clip *s = &stops[strcmp(j->stop_voice, "awb") == 0 || n_stops < 2 ? 0 : 1];
        size_t at = (size_t)(j->stop_at * RATE);
        for (size_t i = 0; i < s->n && at + i < n; i++)
            pcm[at + i] = s->pcm[i];
    }
    char err[256];
    vt_wav_write(j->input, pcm, n, RATE, err, sizeof err);
    free(pcm);
}

typedef struct e2e_out {
    vt_console_result res;
    double first_int_ms;
    int rc;
} e2e_out;

/* In the child: one talk run, figures down the pipe. */
static void e2e_child(e2e_job *j, int fd, double secs)
{
    vt_console_config c;
    vt_console_config_default(&c);
    static vt_opt opts[1] = {{"db", "none"}};
    c.rt.brain_opts[0] = opts[0];
    c.rt.n_brain_opts = 1;
    c.rt.voice = j->voice;
    c.rt.cpu_workers = 1;
    vt_mode_parse(j->mode, &c.rt.core.interrupt_mode);
    c.session.character = j->lesson;
    char out[700];
    snprintf(out, sizeof out, "%s.out.wav", j->input);
    c.audio.input_file = j->input;
    c.audio.output_file = out;
    c.audio.max_tail_s = 0; /* the run lasts the input's length */
    char err[256];
    vt_room_parse(j->room, &c.room, err, sizeof err);
    c.echo = 1;
    c.aec = j->aec;
    c.tty = 0;
    c.keys = 0;
    c.out = fopen(j->log, "w");
    e2e_out o;
    memset(&o, 0, sizeof o);
    o.rc = vt_console_run(&c, &o.res, err, sizeof err);
    if (c.out)
        fclose(c.out);
    /* the time of the first interruption, from the log */
    o.first_int_ms = -1;
    FILE *f = fopen(j->log, "r");
    char line[8192];
    while (f && fgets(line, sizeof line, f))
        if (strstr(line, "\"type\":\"interruption_detected\"")) {
            char *t = strstr(line, "\"t_ms\":");
            if (t)
                o.first_int_ms = atof(t + 7);
            break;
        }
    if (f)
        fclose(f);
    ssize_t w = write(fd, &o, sizeof o);
    (void)w;
    (void)secs;
    _exit(0);
}

static void e2e_run_all(e2e_job *jobs, int n, int parallel, double secs, const clip *stops,
                        int n_stops)
{
    int next = 0, running = 0, done = 0;
    double t0 = now_s();
    while (done < n) {
        while (running < parallel && next < n) {
            e2e_job *j = &jobs[next];
            snprintf(j->input, sizeof j->input, "%s/run%03d.wav", workdir, next);
            snprintf(j->log, sizeof j->log, "%s/run%03d.jsonl", workdir, next);
            make_input(j, secs, stops, n_stops);
            int p[2];
            if (pipe(p) != 0)
                exit(1);
            fflush(stdout);
            j->pid = fork();
            if (j->pid == 0) {
                close(p[0]);
                e2e_child(j, p[1], secs);
            }
            close(p[1]);
            j->fd = p[0];
            next++;
            running++;
        }
        int st;
        pid_t pid = wait(&st);
        for (int k = 0; k < next; k++)
            if (jobs[k].pid == pid && pid > 0) {
                e2e_out o;
                if (read(jobs[k].fd, &o, sizeof o) == (ssize_t)sizeof o && o.rc == 0) {
                    jobs[k].res = o.res;
                    jobs[k].first_int_ms = o.first_int_ms;
                    jobs[k].ok = 1;
                } else {
                    fprintf(stderr, "run %d failed (log %s)\n", k, jobs[k].log);
                }
                close(jobs[k].fd);
                jobs[k].pid = 0;
                running--;
                done++;
                fprintf(stderr, "\r%d/%d runs, %.0f s", done, n, now_s() - t0);
            }
    }
    fprintf(stderr, "\n");
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    int quick = 0, offline_only = 0, parallel = 2, keep = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0)
            quick = 1;
        else if (strcmp(argv[i], "--offline") == 0)
            offline_only = 1;
        else if (strcmp(argv[i], "--keep") == 0)
            keep = 1;
        else if (strcmp(argv[i], "-j") == 0 && i + 1 < argc)
            parallel = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: bench_echo [--quick] [--offline] [-j N] [--keep]\n");
            return 2;
        }
    }
    if (parallel < 1)
        parallel = 1;
    const char *tmp = getenv("TMPDIR");
    snprintf(workdir, sizeof workdir, "%s/bench-echo-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(workdir)) {
        perror("mkdtemp");
        return 1;
    }

    /* the tutor's answers and the person's "stop", spoken by flite */
    const vt_tts_ops *tts;
    void *model, *ctx;
    char err[512];
    int n_ans = quick ? 3 : N_ANSWERS, n_rooms = quick ? 2 : N_ROOMS;
    clip ans[2 * N_ANSWERS], stops[2];
    const char *stop_voices[2] = {"awb", "kal16"};
    double total_s = 0;
    for (int v = 0; v < 2; v++) {
        if (vt_tts_open(v ? "slt" : "rms", NULL, 0, &tts, &model, &ctx, err, sizeof err) != 0) {
            fprintf(stderr, "%s\n", err);
            return 1;
        }
        for (int k = 0; k < n_ans; k++) {
            clip *c = &ans[v * n_ans + k];
            vt_tts_synth_buffer(tts, ctx, RATE, k_answers[k], &c->pcm, &c->n, NULL);
            total_s += (double)c->n / RATE;
        }
        vt_tts_close(tts, model, ctx);
    }
    for (int k = 0; k < 2; k++) {
        vt_tts_open(stop_voices[k], NULL, 0, &tts, &model, &ctx, err, sizeof err);
        vt_tts_synth_buffer(tts, ctx, RATE, "stop", &stops[k].pcm, &stops[k].n, NULL);
        vt_tts_close(tts, model, ctx);
    }

    {
        static const char *words[] = {"stop", "wait", "pause", "hold on", "be quiet"};
        vt_keyword kw[5];
        for (int k = 0; k < 5; k++)
            kw[k] = (vt_keyword){words[k], 0};
        if (vt_kws_open(&vt_kws_pocketsphinx, NULL, 0, kw, 5, &kws_model, &kws_ctx, err,
                        sizeof err) != 0) {
            fprintf(stderr, "%s\n", err);
            return 1;
        }
    }
    printf("## bench_echo%s\n\n", quick ? " --quick" : "");

    offline(ans, 2 * n_ans, total_s, &stops[0], n_rooms);
    vt_kws_close(&vt_kws_pocketsphinx, kws_model, kws_ctx);
    if (offline_only) {
        rmdir(workdir);
        return 0;
    }

    /* end to end: each run is secs of real time */
    const double secs = 8.0;
    const char *lessons[] = {"times-tables", "capitals", "science"};
    const char *voices[] = {"rms", "slt"};
    int n_lessons = quick ? 1 : 3, n_voices = quick ? 1 : 2;
    e2e_job *jobs = calloc(1000, sizeof *jobs);
    int n = 0;
    /* A: the tutor alone (false interruptions), both modes' worth */
    for (int r = 0; r < n_rooms; r++)
        for (int aec = 0; aec <= 1; aec++)
            for (int l = 0; l < n_lessons; l++)
                for (int v = 0; v < n_voices; v++)
                    jobs[n++] = (e2e_job){.room = k_rooms[r], .aec = aec, .mode = "both",
                                          .lesson = lessons[l], .voice = voices[v],
                                          .stop_at = -1};
    int n_a = n;
    /* B: seed 000's mode (commands only), canceller off: does the tutor's
     * own voice trigger the spotter? */
    for (int r = 0; r < n_rooms; r++)
        for (int l = 0; l < n_lessons; l++)
            jobs[n++] = (e2e_job){.room = k_rooms[r], .aec = 0, .mode = "commands",
                                  .lesson = lessons[l], .voice = "rms", .stop_at = -1};
    int n_b = n;
    /* C: the person's "stop" over the tutor, in each room and in a room
     * with no echo to speak of (-60 dB: the reference) */
    const double stop_times[] = {2.5, 4.0, 5.5};
    int n_stop_t = quick ? 2 : 3;
    for (int r = 0; r <= n_rooms; r++)
        for (int aec = 0; aec <= 1; aec++)
            for (int mi = 0; mi < 2; mi++)
                for (int t = 0; t < n_stop_t; t++)
                    for (int sv = 0; sv < 2; sv++)
                        jobs[n++] = (e2e_job){.room = r < n_rooms ? k_rooms[r] : k_no_echo,
                                              .aec = aec, .mode = mi ? "commands" : "both",
                                              .lesson = lessons[(t + sv) % n_lessons],
                                              .voice = "rms", .stop_at = stop_times[t],
                                              .stop_voice = stop_voices[sv]};
    fprintf(stderr, "%d end-to-end runs of %.0f s, %d at a time (logs in %s)\n", n, secs,
            parallel, workdir);
    e2e_run_all(jobs, n, parallel, secs, stops, 2);

    printf("### End to end: `talk` in file mode, the tutor alone (false interruptions)\n\n");
    printf("Each run: the tutor speaks its lesson introduction (3 lessons x voices rms and slt) "
           "for %.0f s while the microphone hears only the room; mode both (speech or command "
           "interrupts, the default). A run with any interruption is a false interruption.\n\n",
           secs);
    printf("| room | canceller | runs falsely interrupted | first false interruption (median) "
           "| interruptions per minute of the tutor | ERLE (talk's own figure) |\n");
    printf("| --- | --- | ---: | ---: | ---: | ---: |\n");
    for (int r = 0; r < n_rooms; r++)
        for (int aec = 0; aec <= 1; aec++) {
            int runs = 0, bad = 0, ints = 0, ne = 0;
            double firsts[64], far_s = 0, em = 0;
            int nf = 0;
            for (int k = 0; k < n_a; k++) {
                e2e_job *j = &jobs[k];
                if (!j->ok || j->room != k_rooms[r] || j->aec != aec)
                    continue;
                runs++;
                ints += j->res.interruptions;
                far_s += j->res.far_active_s;
                if (j->res.interruptions) {
                    bad++;
                    if (nf < 64)
                        firsts[nf++] = j->first_int_ms;
                }
                if (aec) {
                    em += j->res.erle_db;
                    ne++;
                }
            }
            qsort(firsts, (size_t)nf, sizeof *firsts, cmp_double);
            char first[32] = "-", erle[32] = "-";
            if (nf)
                snprintf(first, sizeof first, "%.0f ms", firsts[nf / 2]);
            if (ne)
                snprintf(erle, sizeof erle, "%.1f dB", em / ne);
            printf("| %s | %s | %d/%d | %s | %.1f | %s |\n", k_rooms[r], aec ? "on" : "off", bad,
                   runs, first, far_s > 0 ? ints * 60.0 / far_s : 0.0, erle);
        }
    printf("\nSeed 000's mode (`--mode commands`: only a spoken command interrupts), canceller "
           "off:\n\n| room | runs falsely interrupted |\n| --- | ---: |\n");
    for (int r = 0; r < n_rooms; r++) {
        int runs = 0, bad = 0;
        for (int k = n_a; k < n_b; k++)
            if (jobs[k].ok && jobs[k].room == k_rooms[r]) {
                runs++;
                bad += jobs[k].res.interruptions > 0;
            }
        printf("| %s | %d/%d |\n", k_rooms[r], bad, runs);
    }
    printf("\n### End to end: the person's \"stop\" over the tutor\n\n");
    printf("\"stop\" (flite awb and kal16, each at 2.5, 4.0 and 5.5 s into the introduction). "
           "Detected: the first interruption comes after the word starts and within 1.5 s; an "
           "interruption before the word is a false one (the run cannot count as detected). The "
           "last room, %s, has no echo to speak of: the reference.\n\n", k_no_echo);
    printf("| room | canceller | mode | detected | false before the word | word start to "
           "interruption (median) |\n| --- | --- | --- | ---: | ---: | ---: |\n");
    for (int r = 0; r <= n_rooms; r++)
        for (int aec = 0; aec <= 1; aec++)
            for (int mi = 0; mi < 2; mi++) {
                const char *room = r < n_rooms ? k_rooms[r] : k_no_echo;
                int runs = 0, det = 0, early = 0;
                double lat[64];
                int nl = 0;
                for (int k = n_b; k < n; k++) {
                    e2e_job *j = &jobs[k];
                    if (!j->ok || j->room != room || j->aec != aec ||
                        strcmp(j->mode, mi ? "commands" : "both") != 0)
                        continue;
                    runs++;
                    double t = j->first_int_ms, w = j->stop_at * 1000;
                    if (t >= 0 && t < w)
                        early++;
                    else if (t >= w && t <= w + 1500) {
                        det++;
                        if (nl < 64)
                            lat[nl++] = t - w;
                    }
                }
                qsort(lat, (size_t)nl, sizeof *lat, cmp_double);
                char l[32] = "-";
                if (nl)
                    snprintf(l, sizeof l, "%.0f ms", lat[nl / 2]);
                printf("| %s | %s | %s | %d/%d | %d | %s |\n", room, aec ? "on" : "off",
                       mi ? "commands" : "both", det, runs, early, l);
            }
    printf("\nCommand: `./build/bench_echo%s -j %d`\n", quick ? " --quick" : "", parallel);
    for (int k = 0; k < 2 * n_ans; k++)
        free(ans[k].pcm);
    free(stops[0].pcm);
    free(stops[1].pcm);
    int failed = 0;
    for (int k = 0; k < n; k++) {
        failed += !jobs[k].ok;
        if (keep || !jobs[k].ok)
            continue;
        char out[700];
        snprintf(out, sizeof out, "%s.out.wav", jobs[k].input);
        unlink(jobs[k].input);
        unlink(out);
        unlink(jobs[k].log);
    }
    if (!keep && !failed)
        rmdir(workdir);
    else
        fprintf(stderr, "runs kept in %s\n", workdir);
    free(jobs);
    return failed ? 1 : 0;
}
