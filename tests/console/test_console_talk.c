/*
 * `voicetutor talk` end to end, as a person would run it without a sound
 * card: the built program in file mode (--input/--output, real time, the
 * same code path as with devices), its JSON lines read as they come, keys
 * written to its standard input, and for the terminal a pseudo-terminal.
 * Speech is made at test time with the flite command line.
 *
 *   - no sound card: a clear message naming the problem and the file flags;
 *   - the device path runs (PortAudio on ALSA's null device);
 *   - a spoken question is heard and the tutor answers into the output WAV;
 *   - a key interrupts, and the speaker falls silent within one frame;
 *   - the tutor's own voice through a simulated room (60 ms, -10 dB, 50 ms
 *     of smear) does not interrupt it with the echo canceller on, and does
 *     without it (the control);
 *   - the person's "stop" over that echo does interrupt;
 *   - Ctrl-C ends it with the terminal given back as it was.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "speech/speech_testutil.h"
#include "util/wav.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define RATE 16000
#define FLUSH_BOUND_MS 60.0 /* one 20 ms frame (measured 8-19 ms), plus slack for a loaded CI machine */

extern char **environ;

static char talk_bin[600];

typedef struct proc {
    pid_t pid;
    int in, out;        /* its stdin (write) and stdout (read); with a pty, both the master */
    char *buf;
    size_t len, cap;
    int eof;
    double t0;
} proc;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int setup(void **state)
{
    (void)state;
    const char *bin = getenv("VT_BINARY_DIR");
    snprintf(talk_bin, sizeof talk_bin, "%s/voicetutor", bin ? bin : ".");
    if (access(talk_bin, X_OK) != 0) {
        fprintf(stderr, "%s: not built\n", talk_bin);
        return -1;
    }
    signal(SIGPIPE, SIG_IGN);
    return 0;
}

/* Start `voicetutor talk ARGS...` with its stdin and stdout on pipes. */
static void start(proc *p, const char *const *args)
{
    memset(p, 0, sizeof *p);
    const char *argv[40];
    int n = 0;
    argv[n++] = talk_bin;
    argv[n++] = "talk";
    for (; *args && n < 38; args++)
        argv[n++] = *args;
    argv[n] = NULL;
    int pin[2], pout[2];
    assert_int_equal(pipe(pin), 0);
    assert_int_equal(pipe(pout), 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, pin[0], 0);
    posix_spawn_file_actions_adddup2(&fa, pout[1], 1);
    posix_spawn_file_actions_addclose(&fa, pin[1]);
    posix_spawn_file_actions_addclose(&fa, pout[0]);
    assert_int_equal(posix_spawn(&p->pid, talk_bin, &fa, NULL, (char *const *)argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    close(pin[0]);
    close(pout[1]);
    p->in = pin[1];
    p->out = pout[0];
    p->t0 = now_s();
}

/* Read what is there (up to timeout_s); returns 0 at end of output. */
static int pump(proc *p, double timeout_s)
{
    struct pollfd pf = {p->out, POLLIN, 0};
    if (p->eof || poll(&pf, 1, (int)(timeout_s * 1000)) <= 0)
        return !p->eof;
    char tmp[4096];
    ssize_t got = read(p->out, tmp, sizeof tmp);
    if (got <= 0) {
        p->eof = 1;
        return 0;
    }
    if (p->len + (size_t)got + 1 > p->cap) {
        p->cap = (p->len + (size_t)got + 1) * 2;
        p->buf = realloc(p->buf, p->cap);
        assert_non_null(p->buf);
    }
    memcpy(p->buf + p->len, tmp, (size_t)got);
    p->len += (size_t)got;
    p->buf[p->len] = '\0';
    return 1;
}

/* Wait until the output holds needle; 1 when it does. */
static int wait_for(proc *p, const char *needle, double timeout_s)
{
    double end = now_s() + timeout_s;
    while (!(p->buf && strstr(p->buf, needle))) {
        double left = end - now_s();
        if (left <= 0 || !pump(p, left < 0.1 ? left : 0.1))
            if (left <= 0 || p->eof)
                return p->buf && strstr(p->buf, needle);
    }
    return 1;
}

/* Keep reading for s seconds. */
static void wait_s(proc *p, double s)
{
    double end = now_s() + s;
    while (now_s() < end && pump(p, 0.05))
        ;
    while (now_s() < end)
        usleep(10000);
}

static void key(proc *p, char k)
{
    ssize_t w = write(p->in, &k, 1);
    (void)w;
}

/* Read to the end and reap; the exit status (128 + signal when killed).
 * keep: leave the descriptors open (the pty test still asks the master). */
static int finish_keep(proc *p, double timeout_s, int keep)
{
    double end = now_s() + timeout_s;
    while (!p->eof && now_s() < end)
        pump(p, 0.1);
    int st = 0;
    if (!p->eof)
        kill(p->pid, SIGKILL);
    waitpid(p->pid, &st, 0);
    if (!keep) {
        if (p->in != p->out)
            close(p->in);
        close(p->out);
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int finish(proc *p, double timeout_s)
{
    return finish_keep(p, timeout_s, 0);
}

/* The first JSON line of this type (caller frees), or NULL. */
static cJSON *event(const proc *p, const char *type, int nth)
{
    char needle[80];
    snprintf(needle, sizeof needle, "{\"type\":\"%s\"", type);
    const char *s = p->buf;
    for (int k = 0; s && (s = strstr(s, needle)); k++, s++) {
        if (k < nth)
            continue;
        const char *e = strchr(s, '\n');
        size_t l = e ? (size_t)(e - s) : strlen(s);
        char *line = strndup(s, l);
        cJSON *o = cJSON_Parse(line);
        free(line);
        return o;
    }
    return NULL;
}

static int count(const proc *p, const char *type)
{
    char needle[80];
    snprintf(needle, sizeof needle, "{\"type\":\"%s\"", type);
    int n = 0;
    for (const char *s = p->buf; s && (s = strstr(s, needle)); s++)
        n++;
    return n;
}

static const char *str(cJSON *o, const char *k)
{
    cJSON *v = cJSON_GetObjectItem(o, k);
    return cJSON_IsString(v) ? v->valuestring : "";
}

static double num(cJSON *o, const char *k)
{
    cJSON *v = cJSON_GetObjectItem(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static void show(const proc *p)
{
    printf("---- talk said ----\n%s-------------------\n", p->buf ? p->buf : "");
}

/* A WAV of: silence lead_s, speech (voice, text) unless NULL, silence tail_s. */
static void make_input(const char *path, double lead_s, const char *voice, const char *text,
                       double tail_s)
{
    int16_t *sp = NULL;
    size_t sn = 0;
    if (text)
        assert_int_equal(vt_test_speech(voice, text, &sp, &sn), 0);
    size_t lead = (size_t)(lead_s * RATE), tail = (size_t)(tail_s * RATE);
    int16_t *pcm = calloc(lead + sn + tail, sizeof *pcm);
    assert_non_null(pcm);
    if (sn)
        memcpy(pcm + lead, sp, sn * sizeof *sp);
    char err[256];
    assert_int_equal(vt_wav_write(path, pcm, lead + sn + tail, RATE, err, sizeof err), 0);
    free(pcm);
    free(sp);
}

/* ---- no sound card ---------------------------------------------------------------- */

static void test_no_sound_card(void **state)
{
    (void)state;
    proc p;
    const char *list[] = {"--list-devices", NULL};
    start(&p, list);
    assert_int_equal(finish(&p, 20), 0);
    if (!p.buf || !strstr(p.buf, "No audio devices")) {
        free(p.buf);
        skip(); /* this machine has a sound card */
    }
    free(p.buf);
    /* stderr carries the message: run it through a shell-free redirect */
    char errpath[600];
    vt_test_path("nocard.err", errpath, sizeof errpath);
    int fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int saved = dup(2);
    dup2(fd, 2);
    const char *args[] = {"--no-keys", NULL};
    start(&p, args);
    dup2(saved, 2);
    close(saved);
    close(fd);
    int rc = finish(&p, 20);
    free(p.buf);
    char msg[4096] = "";
    FILE *f = fopen(errpath, "r");
    size_t got = fread(msg, 1, sizeof msg - 1, f);
    msg[got] = '\0';
    fclose(f);
    printf("%s", msg);
    assert_int_equal(rc, 2);
    assert_non_null(strstr(msg, "no sound card"));
    assert_non_null(strstr(msg, "--input"));
    assert_non_null(strstr(msg, "--output"));
    assert_null(strstr(msg, "ALSA lib")); /* PortAudio's probing noise is hidden */
}

/* ---- the device path, on ALSA's null device --------------------------------------- */

/* With HOME pointing at an .asoundrc whose default device is ALSA's "null"
 * plugin, PortAudio finds one device that discards what it plays and
 * records silence (unpaced: it runs as fast as the CPU). That is enough to
 * open, run, interrupt and close the device path of talk. */
static void test_device_path_null_device(void **state)
{
    (void)state;
    char home[600], rc_path[700];
    vt_test_path("home", home, sizeof home);
    mkdir(home, 0700);
    snprintf(rc_path, sizeof rc_path, "%s/.asoundrc", home);
    FILE *f = fopen(rc_path, "w");
    assert_non_null(f);
    fputs("pcm.!default { type null }\nctl.!default { type hw card 0 }\n", f);
    fclose(f);
    char old_home[600];
    snprintf(old_home, sizeof old_home, "%s", getenv("HOME") ? getenv("HOME") : "/");
    setenv("HOME", home, 1); /* the children read it; restored below */
    proc p;
    const char *list[] = {"--list-devices", NULL};
    start(&p, list);
    int rc = finish(&p, 20);
    int has_null = p.buf && strstr(p.buf, "default") && !strstr(p.buf, "No audio devices");
    free(p.buf);
    if (!has_null) {
        setenv("HOME", old_home, 1);
        skip(); /* this ALSA has no null plugin */
    }
    const char *args[] = {"--no-welcome", "-o", "db=none", "--json", "--input-device", "0",
                          "--output-device", "default", NULL};
    start(&p, args);
    int up = wait_for(&p, "\"type\":\"talk_started\"", 30);
    wait_s(&p, 1.0);
    key(&p, ' '); /* nothing to interrupt: answered, not fatal */
    key(&p, 'q');
    int rc2 = finish(&p, 30);
    /* a device that does not exist: a clear message, exit 2 */
    proc q;
    const char *bad[] = {"--input-device", "no-such-microphone", "--no-keys", NULL};
    start(&q, bad);
    int rc3 = finish(&q, 20);
    free(q.buf);
    setenv("HOME", old_home, 1);
    if (!up || rc2 != 0)
        show(&p);
    assert_int_equal(rc, 0);
    assert_true(up);
    assert_int_equal(rc2, 0);
    cJSON *s = event(&p, "talk_started", 0);
    assert_string_equal(str(s, "audio"), "devices");
    cJSON_Delete(s);
    cJSON *e = event(&p, "talk_ended", 0);
    assert_non_null(e);
    cJSON_Delete(e);
    free(p.buf);
    assert_int_equal(rc3, 2);
}

/* ---- a question, an answer -------------------------------------------------------- */

static void test_question_answered(void **state)
{
    (void)state;
    char in[600], out[600], err[256];
    vt_test_path("question.wav", in, sizeof in);
    vt_test_path("answer.wav", out, sizeof out);
    const char *q = "What is seven times eight?";
    make_input(in, 0.3, "rms", q, 1.5);
    proc p;
    const char *args[] = {"--input", in, "--output", out, "--no-welcome", "-o", "db=none",
                          "--json", NULL};
    start(&p, args);
    int answered = wait_for(&p, "\"type\":\"response_text\"", 30);
    wait_s(&p, 1.0);
    key(&p, 'q');
    int rc = finish(&p, 30);
    if (!answered || rc != 0)
        show(&p);
    assert_true(answered);
    assert_int_equal(rc, 0);
    cJSON *heard = event(&p, "transcription_complete", 0);
    assert_non_null(heard);
    int words = 0, errors = vt_test_word_errors(q, str(heard, "text"), &words);
    printf("heard \"%s\" (%d errors in %d words)\n", str(heard, "text"), errors, words);
    assert_true(errors <= 2);
    double t_heard = num(heard, "t_ms");
    cJSON_Delete(heard);
    assert_true(count(&p, "processing_started") >= 1);
    cJSON *start_ev = event(&p, "response_start", 0);
    assert_non_null(start_ev);
    double t_answer = num(start_ev, "t_ms");
    cJSON_Delete(start_ev);
    printf("final text at %.0f ms, answer started at %.0f ms\n", t_heard, t_answer);
    assert_true(t_answer >= t_heard);
    /* the output WAV holds what the speaker played: the tutor's voice */
    int16_t *pcm;
    size_t n;
    assert_int_equal(vt_wav_read(out, RATE, &pcm, &n, NULL, err, sizeof err), 0);
    size_t from = (size_t)(t_answer / 1000.0 * RATE);
    assert_true(n > from + RATE / 2);
    double e = 0;
    for (size_t i = from; i < n; i++)
        e += (double)pcm[i] * pcm[i];
    double r = sqrt(e / (double)(n - from));
    printf("output WAV: %.1f s, the answer at %.0f rms\n", (double)n / RATE, r);
    assert_true(r > 300);
    double early = 0;
    for (size_t i = 0; i < (size_t)(0.3 * RATE); i++)
        early += fabs((double)pcm[i]);
    assert_true(early == 0); /* nothing played before the person spoke */
    free(pcm);
    cJSON *end = event(&p, "talk_ended", 0);
    assert_non_null(end);
    assert_true(num(end, "overruns") == 0);
    cJSON_Delete(end);
    free(p.buf);
}

/* ---- the keyboard ------------------------------------------------------------------- */

static void test_key_interrupts_within_a_frame(void **state)
{
    (void)state;
    char in[600], out[600];
    vt_test_path("silence8.wav", in, sizeof in);
    vt_test_path("key-out.wav", out, sizeof out);
    make_input(in, 8.0, NULL, NULL, 0);
    proc p;
    const char *args[] = {"--input", in, "--output", out, "-o", "db=none", "--json", NULL};
    start(&p, args);
    int spoke = wait_for(&p, "\"type\":\"response_text\"", 30);
    wait_s(&p, 0.5);
    key(&p, ' ');
    int flushed = wait_for(&p, "\"type\":\"speaker_flushed\"", 10);
    key(&p, 'q');
    int rc = finish(&p, 30);
    if (!spoke || !flushed || rc != 0)
        show(&p);
    assert_true(spoke && flushed);
    assert_int_equal(rc, 0);
    cJSON *i = event(&p, "interruption_detected", 0);
    assert_non_null(i);
    assert_string_equal(str(i, "trigger"), "key");
    printf("key: decision to output flushed %.3f ms (interruption_latency_ms)\n",
           num(i, "interruption_latency_ms"));
    assert_true(num(i, "interruption_latency_ms") < 5.0);
    /* talk keeps seed 000's flow: the acknowledgement is spoken (issue 11) */
    assert_string_equal(str(i, "conversation_state"), "ACKNOWLEDGING");
    cJSON_Delete(i);
    cJSON *a = event(&p, "acknowledgement_started", 0);
    assert_non_null(a);
    cJSON_Delete(a);
    cJSON *r = event(&p, "response_interrupted", 0);
    assert_non_null(r);
    const char *spoken = str(r, "spoken_text");
    assert_true(strlen(spoken) >= 3 && strcmp(spoken + strlen(spoken) - 3, "...") == 0);
    cJSON_Delete(r);
    cJSON *f = event(&p, "speaker_flushed", 0);
    double lat = num(f, "latency_ms");
    printf("key: the speaker fell silent %.1f ms after the decision (one frame: 20 ms)\n", lat);
    assert_true(lat <= FLUSH_BOUND_MS);
    cJSON_Delete(f);
    free(p.buf);
}

/* ---- echo ------------------------------------------------------------------------------ */

/* The tutor speaks its welcome for about secs while the microphone hears
 * only the room (and input_wav, which may hold the person). */
static void run_echo(proc *p, const char *input_wav, const char *const *extra, double secs,
                     const char *stop_at)
{
    char out[600];
    vt_test_path("echo-out.wav", out, sizeof out);
    const char *args[24] = {"--input", input_wav, "--output", out, "--echo", "60:-10:50",
                            "-o", "db=none", "--json"};
    int n = 9;
    for (; extra && *extra && n < 22; extra++)
        args[n++] = *extra;
    args[n] = NULL;
    start(p, args);
    if (stop_at)
        wait_for(p, stop_at, secs);
    else
        wait_s(p, secs);
    key(p, 'q');
    assert_int_equal(finish(p, 30), 0);
}

static void test_echo_does_not_interrupt(void **state)
{
    (void)state;
    char in[600];
    vt_test_path("silence10.wav", in, sizeof in);
    make_input(in, 10.0, NULL, NULL, 0);
    proc p;
    run_echo(&p, in, NULL, 7.0, NULL);
    int spoken = count(&p, "response_text"), interrupted = count(&p, "interruption_detected");
    printf("echo 60 ms, -10 dB, canceller on: %d words spoken, %d interruptions\n", spoken,
           interrupted);
    if (interrupted)
        show(&p);
    assert_int_equal(interrupted, 0);
    assert_true(spoken >= 10);
    cJSON *end = event(&p, "talk_ended", 0);
    printf("ERLE %.1f dB over %.1f s of the tutor's voice\n", num(end, "erle_db"),
           num(end, "far_active_s"));
    assert_true(num(end, "erle_db") >= 20.0);
    cJSON_Delete(end);
    free(p.buf);

    /* the control: without the canceller the tutor hears itself */
    const char *no_aec[] = {"--no-aec", NULL};
    run_echo(&p, in, no_aec, 6.0, "\"type\":\"interruption_detected\"");
    cJSON *i = event(&p, "interruption_detected", 0);
    if (!i)
        show(&p);
    assert_non_null(i);
    printf("canceller off: interrupted itself after %.0f ms (trigger %s)\n", num(i, "t_ms"),
           str(i, "trigger"));
    cJSON_Delete(i);
    free(p.buf);
}

static void test_stop_over_echo_interrupts(void **state)
{
    (void)state;
    char in[600];
    vt_test_path("stop-over-echo.wav", in, sizeof in);
    make_input(in, 3.0, "awb", "stop", 2.0);
    proc p;
    run_echo(&p, in, NULL, 8.0, "\"type\":\"interruption_detected\"");
    cJSON *i = event(&p, "interruption_detected", 0);
    if (!i)
        show(&p);
    assert_non_null(i);
    const char *trig = str(i, "trigger");
    double t = num(i, "t_ms");
    printf("\"stop\" at 3.0 s over the echo: interrupted at %.0f ms by %s\n", t, trig);
    assert_true(strcmp(trig, "command") == 0 || strcmp(trig, "speech") == 0);
    assert_true(t >= 3000); /* not before the person spoke */
    cJSON_Delete(i);
    free(p.buf);

    /* seed 000's mode, where only the spoken command interrupts: the
     * keyword spotter finds "stop" over the echo in about 3 runs of 4
     * (bench_echo), so it gets two tries */
    const char *cmd[] = {"--mode", "commands", NULL};
    int found = 0;
    for (int attempt = 0; attempt < 2 && !found; attempt++) {
        run_echo(&p, in, cmd, 8.0, "\"type\":\"interruption_detected\"");
        i = event(&p, "interruption_detected", 0);
        if (i) {
            printf("mode commands: interrupted at %.0f ms by %s\n", num(i, "t_ms"),
                   str(i, "trigger"));
            assert_string_equal(str(i, "trigger"), "command");
            assert_true(num(i, "t_ms") >= 3000);
            found = 1;
        } else {
            printf("mode commands, try %d: the spotter missed \"stop\"\n", attempt + 1);
        }
        cJSON_Delete(i);
        free(p.buf);
    }
    assert_true(found);
}

/* ---- the terminal ------------------------------------------------------------------- */

static void test_ctrl_c_restores_terminal(void **state)
{
    (void)state;
    char in[600], out[600];
    vt_test_path("silence8.wav", in, sizeof in);
    vt_test_path("tty-out.wav", out, sizeof out);
    make_input(in, 8.0, NULL, NULL, 0);
    int master;
    struct termios before;
    struct winsize ws = {.ws_row = 24, .ws_col = 100};
    proc p;
    memset(&p, 0, sizeof p);
    p.pid = forkpty(&master, NULL, NULL, &ws);
    assert_true(p.pid >= 0);
    if (p.pid == 0) {
        execl(talk_bin, talk_bin, "talk", "--input", in, "--output", out, "-o", "db=none",
              (char *)NULL);
        _exit(127);
    }
    p.in = p.out = master;
    assert_int_equal(tcgetattr(master, &before), 0);
    assert_true(before.c_lflag & ICANON);
    assert_true(before.c_lflag & ECHO);
    /* the live screen is up: the status line, and the keyboard in raw mode */
    int up = wait_for(&p, "[RESPONDING]", 30);
    struct termios during;
    tcgetattr(master, &during);
    kill(p.pid, SIGINT);
    int rc = finish_keep(&p, 30, 1);
    if (!up || rc != 130)
        show(&p);
    assert_true(up);
    assert_false(during.c_lflag & ICANON);
    assert_false(during.c_lflag & ECHO);
    assert_int_equal(rc, 130);
    struct termios after;
    /* the program has gone; the pty keeps the settings it left behind */
    assert_int_equal(tcgetattr(master, &after), 0);
    close(master);
    assert_true(after.c_lflag & ICANON);
    assert_true(after.c_lflag & ECHO);
    assert_int_equal(after.c_lflag, before.c_lflag);
    assert_non_null(strstr(p.buf, "\033[?25h")); /* the cursor is shown again */
    assert_non_null(strstr(p.buf, "Bye"));
    free(p.buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_sound_card),
        cmocka_unit_test(test_device_path_null_device),
        cmocka_unit_test(test_question_answered),
        cmocka_unit_test(test_key_interrupts_within_a_frame),
        cmocka_unit_test(test_echo_does_not_interrupt),
        cmocka_unit_test(test_stop_over_echo_interrupts),
        cmocka_unit_test(test_ctrl_c_restores_terminal),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
