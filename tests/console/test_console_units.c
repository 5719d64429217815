/*
 * The console transport's parts, without a session: the echo canceller on
 * the tutor's own voice through a simulated room (speech made with the
 * flite command line at test time), the room itself, the lock-free ring,
 * the file-clock audio layer (pairing, flush within one frame, the output
 * WAV), the terminal's raw mode and its restoration on a signal (on a
 * pseudo-terminal), and the screen in both of its forms.
 *
 * Bounds (measured figures in docs/BENCHMARKS.md, "Echo cancellation"):
 * once converged the filter alone removes >= 15 dB (measured 20-25), with
 * speex's residual suppressor >= 30 dB (measured 35); with the gate (the
 * default) the whole sentence >= 20 dB and the residual never stays above
 * the interruption level for 100 ms (the microphone: for a second); the
 * person's voice over the echo keeps its level within 3 dB.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "speech/speech_testutil.h"
#include "transport/console/aec.h"
#include "transport/console/audio.h"
#include "transport/console/ring.h"
#include "transport/console/room.h"
#include "transport/console/term.h"
#include "transport/console/ui.h"
#include "util/wav.h"

#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define RATE 16000
#define F 320
#define LOUD_RMS 225.0 /* 15 dB over the VAD's lowest floor: the interruption level */

static const char *k_tutor =
    "Let's practise the times tables. I'll say a sum, and you tell me the answer. "
    "What is eight times four?";

static int16_t *far_pcm, *stop_pcm;
static size_t far_n, stop_n;

static int setup(void **state)
{
    (void)state;
    if (vt_test_speech("rms", k_tutor, &far_pcm, &far_n) != 0 ||
        vt_test_speech("awb", "stop", &stop_pcm, &stop_n) != 0) {
        fprintf(stderr, "flite failed: is the flite package installed?\n");
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(far_pcm);
    free(stop_pcm);
    return 0;
}

static double rms(const int16_t *x, size_t n)
{
    double e = 0;
    for (size_t i = 0; i < n; i++)
        e += (double)x[i] * x[i];
    return sqrt(e / (double)(n ? n : 1));
}

/* The microphone for far_pcm through room spec, with near (may be NULL)
 * at sample at; then cancelled with config ac into *out. */
static int16_t *run_room(const char *spec, const int16_t *near, size_t near_n, size_t at,
                         const vt_aec_config *ac, int16_t **mic_out)
{
    char err[256];
    vt_room_config rc;
    vt_room_config_default(&rc);
    assert_int_equal(vt_room_parse(spec, &rc, err, sizeof err), 0);
    vt_room *room;
    assert_int_equal(vt_room_create(&rc, &room, err, sizeof err), 0);
    int16_t *nearbuf = calloc(far_n, sizeof *nearbuf);
    int16_t *mic = calloc(far_n, sizeof *mic), *out = calloc(far_n, sizeof *out);
    assert_non_null(nearbuf);
    assert_non_null(mic);
    assert_non_null(out);
    for (size_t i = 0; near && i < near_n && at + i < far_n; i++)
        nearbuf[at + i] = near[i];
    vt_room_process(room, far_pcm, nearbuf, mic, far_n);
    vt_aec *a;
    assert_int_equal(vt_aec_create(ac, &a), 0);
    size_t i = 0;
    for (; i + F <= far_n; i += F)
        vt_aec_process(a, mic + i, far_pcm + i, out + i);
    memcpy(out + i, mic + i, (far_n - i) * sizeof *out);
    vt_aec_destroy(a);
    vt_room_destroy(room);
    free(nearbuf);
    *mic_out = mic;
    return out;
}

/* Longest run of frames louder than the interruption level, in frames. */
static int loud_run(const int16_t *x, size_t n)
{
    int run = 0, worst = 0;
    for (size_t i = 0; i + F <= n; i += F) {
        run = rms(x + i, F) > LOUD_RMS ? run + 1 : 0;
        if (run > worst)
            worst = run;
    }
    return worst;
}

static void test_filter_converges(void **state)
{
    (void)state;
    size_t from = 2 * RATE; /* after two seconds of the tutor's voice */
    assert_true(far_n > from + RATE);
    for (int residual = 0; residual <= 1; residual++) {
        vt_aec_config ac;
        vt_aec_config_default(&ac);
        ac.gate = 0;
        ac.residual = residual;
        int16_t *mic, *out = run_room("60:-10:50", NULL, 0, 0, &ac, &mic);
        double erle = vt_aec_erle_db(mic + from, out + from, far_n - from);
        printf("filter%s, converged: ERLE %.1f dB\n", residual ? " + speex residual suppressor" : "",
               erle);
        assert_true(erle >= (residual ? 30.0 : 15.0));
        free(mic);
        free(out);
    }
}

static void test_gate_covers_convergence(void **state)
{
    (void)state;
    const char *rooms[] = {"60:-10:50", "30:-6:50", "120:-6:100", "120:-20:50"};
    for (size_t k = 0; k < sizeof rooms / sizeof *rooms; k++) {
        vt_aec_config ac;
        vt_aec_config_default(&ac);
        int16_t *mic, *out = run_room(rooms[k], NULL, 0, 0, &ac, &mic);
        double erle = vt_aec_erle_db(mic, out, far_n);
        int raw_run = loud_run(mic, far_n), run = loud_run(out, far_n);
        printf("room %-11s ERLE %.1f dB, loudest run %d ms (microphone: %d ms)\n", rooms[k], erle,
               run * 20, raw_run * 20);
        assert_true(erle >= 20.0);
        assert_true(raw_run >= 13); /* the echo alone would interrupt (250 ms) */
        assert_true(run < 5);       /* after cancellation it never lasts 100 ms */
        free(mic);
        free(out);
    }
}

static void test_person_passes(void **state)
{
    (void)state;
    /* "stop" over the tutor, early (filter still learning) and late */
    double at_s[] = {1.0, 3.0};
    for (size_t k = 0; k < 2; k++) {
        vt_aec_config ac;
        vt_aec_config_default(&ac);
        size_t at = (size_t)(at_s[k] * RATE);
        int16_t *mic, *out = run_room("60:-10:50", stop_pcm, stop_n, at, &ac, &mic);
        double kept = 20 * log10(rms(out + at, stop_n) / rms(stop_pcm, stop_n));
        printf("\"stop\" at %.1f s over the echo: %.1f dB of it kept\n", at_s[k], kept);
        /* while the filter learns, the gate may take a little of the voice */
        assert_true(kept > (k == 0 ? -6.0 : -2.0));
        free(mic);
        free(out);
    }
}

static void test_no_far_end_passes_through(void **state)
{
    (void)state;
    vt_aec_config ac;
    vt_aec_config_default(&ac);
    ac.residual = 0; /* (the default) the denoiser would change the level a little */
    vt_aec *a;
    assert_int_equal(vt_aec_create(&ac, &a), 0);
    int16_t zero[F] = {0}, out[F];
    double in_e = 0, out_e = 0;
    for (size_t i = 0; i + F <= stop_n; i += F) {
        vt_aec_process(a, stop_pcm + i, zero, out);
        in_e += pow(rms(stop_pcm + i, F), 2);
        out_e += pow(rms(out, F), 2);
    }
    assert_true(fabs(10 * log10(out_e / in_e)) < 1.0);
    vt_aec_state st;
    vt_aec_get_state(a, &st);
    assert_int_equal(st.gated_frames, 0);
    vt_aec_reset(a);
    vt_aec_destroy(a);
    vt_aec_config bad = ac;
    bad.frame = 3;
    assert_int_equal(vt_aec_create(&bad, &a), VT_EINVAL);
}

/* ---- the room ---- */

static void test_room(void **state)
{
    (void)state;
    char err[256];
    vt_room_config c;
    vt_room_config_default(&c);
    assert_int_equal(vt_room_parse("100:-12:80:-70", &c, err, sizeof err), 0);
    assert_true(c.delay_ms == 100 && c.gain_db == -12 && c.rt60_ms == 80 && c.noise_db == -70);
    assert_int_equal(vt_room_parse("100", &c, err, sizeof err), VT_EINVAL);
    assert_int_equal(vt_room_parse("a:b", &c, err, sizeof err), VT_EINVAL);
    assert_int_equal(vt_room_parse("9999:-10", &c, err, sizeof err), VT_EINVAL);
    assert_non_null(strstr(err, "delay"));
    assert_int_equal(vt_room_parse("60:-10:", &c, err, sizeof err), VT_EINVAL);

    vt_room_config_default(&c);
    c.delay_ms = 50;
    c.gain_db = -10;
    c.noise_db = -200;
    vt_room *r;
    assert_int_equal(vt_room_create(&c, &r, err, sizeof err), 0);
    size_t taps, delay;
    const float *h = vt_room_response(r, &taps, &delay);
    assert_int_equal(delay, 800);
    assert_int_equal(taps, 801); /* 50 ms of tail */
    double e = 0;
    for (size_t k = 0; k < taps; k++)
        e += (double)h[k] * h[k];
    assert_true(fabs(10 * log10(e) - (-10.0)) < 0.01);
    /* an impulse comes back after the delay, scaled by the direct path */
    int16_t imp[2000] = {0}, mic[2000];
    imp[0] = 10000;
    vt_room_process(r, imp, NULL, mic, 2000);
    for (size_t i = 0; i < 800; i++)
        assert_int_equal(mic[i], 0);
    assert_true(abs(mic[800] - (int)lrint(10000 * h[0])) <= 1);
    vt_room_destroy(r);
    /* the same config gives the same room */
    vt_room *r2;
    assert_int_equal(vt_room_create(&c, &r2, err, sizeof err), 0);
    const float *h2 = vt_room_response(r2, NULL, NULL);
    vt_room *r3;
    assert_int_equal(vt_room_create(&c, &r3, err, sizeof err), 0);
    assert_memory_equal(h2, vt_room_response(r3, NULL, NULL), taps * sizeof *h2);
    vt_room_destroy(r2);
    vt_room_destroy(r3);
}

/* ---- the ring ---- */

static void test_ring_basics(void **state)
{
    (void)state;
    vt_ring r;
    assert_int_equal(vt_ring_init(&r, 1000), 0);
    assert_int_equal(r.cap, 1024);
    int16_t a[700], b[700];
    for (int i = 0; i < 700; i++)
        a[i] = (int16_t)i;
    assert_int_equal(vt_ring_write(&r, a, 700), 700);
    assert_int_equal(vt_ring_write(&r, a, 700), 324); /* full */
    assert_int_equal(vt_ring_read(&r, b, 600), 600);
    assert_memory_equal(a, b, 600 * sizeof *a);
    assert_int_equal(vt_ring_used(&r), 424);
    /* skip to a position: only what was written before it goes */
    uint64_t mark = vt_ring_write_pos(&r);
    assert_int_equal(vt_ring_write(&r, a, 100), 100); /* wraps */
    assert_int_equal(vt_ring_skip_to(&r, mark), 424);
    assert_int_equal(vt_ring_skip_to(&r, mark), 0);
    assert_int_equal(vt_ring_read(&r, b, 700), 100);
    assert_memory_equal(a, b, 100 * sizeof *a);
    assert_int_equal(vt_ring_read_pos(&r), mark + 100);
    assert_int_equal(vt_ring_skip_to(&r, mark + 5000), 0); /* never past the writer */
    vt_ring_free(&r);
}

typedef struct stress {
    vt_ring r;
    int n;
} stress;

static void *producer(void *arg)
{
    stress *s = arg;
    int16_t v[37];
    int next = 0;
    while (next < s->n) {
        int k = 0;
        while (k < 37 && next + k < s->n) {
            v[k] = (int16_t)(next + k);
            k++;
        }
        size_t w = vt_ring_write(&s->r, v, (size_t)k);
        next += (int)w;
        if (!w)
            sched_yield();
    }
    return NULL;
}

static void test_ring_threads(void **state)
{
    (void)state;
    stress s;
    s.n = 200000;
    assert_int_equal(vt_ring_init(&s.r, 256), 0);
    pthread_t t;
    pthread_create(&t, NULL, producer, &s);
    int expect = 0;
    int16_t buf[53];
    while (expect < s.n) {
        size_t got = vt_ring_read(&s.r, buf, 53);
        for (size_t i = 0; i < got; i++, expect++)
            assert_int_equal(buf[i], (int16_t)expect);
        if (!got)
            sched_yield();
    }
    pthread_join(t, NULL);
    vt_ring_free(&s.r);
}

/* ---- the audio layer on its file clock ---- */

static void test_audio_files(void **state)
{
    (void)state;
    char in[600], out[600], err[512];
    vt_test_path("audio-in.wav", in, sizeof in);
    vt_test_path("audio-out.wav", out, sizeof out);
    int16_t *mic_src = calloc(RATE, sizeof *mic_src); /* 1 s, a ramp */
    for (int i = 0; i < RATE; i++)
        mic_src[i] = (int16_t)(i % 1000);
    assert_int_equal(vt_wav_write(in, mic_src, RATE, RATE, err, sizeof err), 0);
    int efd = eventfd(0, EFD_NONBLOCK);
    vt_audio_config c;
    vt_audio_config_default(&c);
    c.input_file = in;
    c.output_file = out;
    c.max_tail_s = 0.2;
    c.wake_fd = efd;
    vt_audio *a;
    assert_int_equal(vt_audio_open(&c, &a, err, sizeof err), 0);
    assert_int_equal(vt_audio_file_mode(a), 1);
    assert_int_equal(vt_audio_ref_delay(a), 0);
    /* half a second of speaker output, a tone, queued before the start */
    int16_t tone[8000];
    for (int i = 0; i < 8000; i++)
        tone[i] = (int16_t)(8000 * sin(i * 0.1));
    assert_int_equal(vt_audio_play(a, tone, 8000), 8000);
    assert_int_equal(vt_audio_start(a, err, sizeof err), 0);
    int16_t mic[F], ref[F];
    size_t got = 0, tone_seen = 0;
    int flushed = 0;
    for (;;) {
        int ended = vt_audio_ended(a); /* before: every frame was pushed before it */
        if (!vt_audio_capture(a, mic, ref)) {
            if (ended)
                break;
            usleep(2000);
            continue;
        }
        /* the microphone is the file, the reference what was played */
        for (int i = 0; i < F; i++) {
            int16_t want = got + (size_t)i < RATE ? mic_src[got + (size_t)i] : 0;
            assert_true(abs(mic[i] - want) <= 1); /* vt_wav_read rounds toward zero */
        }
        if (got < 4000) {
            assert_memory_equal(ref, tone + got, F * sizeof *ref);
            tone_seen += F;
        }
        got += F;
        if (got == 4160 && !flushed) { /* after 260 ms: interrupt */
            vt_audio_flush(a, 0);
            flushed = 1;
        }
    }
    assert_true(got >= RATE);
    assert_true(vt_audio_input_done(a));
    vt_audio_stats st;
    vt_audio_get_stats(a, &st);
    assert_int_equal(st.flushes, 1);
    assert_true(st.flushed_samples > 0);
    printf("file clock: flush applied %.1f ms after the request (one frame is 20 ms)\n",
           st.last_flush_us / 1000.0);
    assert_true(st.last_flush_us <= 60000); /* the next tick (20 ms), with slack for a loaded machine */
    assert_int_equal(vt_audio_position(a), 8000);  /* everything played or dropped */
    assert_int_equal(vt_audio_close(a, err, sizeof err), 0);
    /* the output file is what the speaker played: the tone, then silence */
    int16_t *o;
    size_t on;
    assert_int_equal(vt_wav_read(out, RATE, &o, &on, NULL, err, sizeof err), 0);
    assert_true(on >= RATE);
    for (int i = 0; i < 4000; i++)
        assert_true(abs(o[i] - tone[i]) <= 1);
    assert_true(rms(o + 8000, on - 8000) == 0);
    free(o);
    free(mic_src);
    close(efd);

    /* bad uses */
    vt_audio_config_default(&c);
    c.input_file = in;
    assert_int_equal(vt_audio_open(&c, &a, err, sizeof err), VT_EINVAL);
    c.output_file = out;
    c.input_file = "/nonexistent/x.wav";
    assert_true(vt_audio_open(&c, &a, err, sizeof err) < 0);
    assert_non_null(strstr(err, "/nonexistent/x.wav"));
}

/* ---- the terminal ---- */

static volatile sig_atomic_t stop_flag;

static void test_term_restore(void **state)
{
    (void)state;
    int master, slave;
    assert_int_equal(openpty(&master, &slave, NULL, NULL, NULL), 0);
    struct termios before, now;
    assert_int_equal(tcgetattr(slave, &before), 0);
    assert_true(before.c_lflag & ICANON);
    assert_int_equal(vt_term_raw(slave, -1), 0);
    assert_true(vt_term_is_raw());
    tcgetattr(slave, &now);
    assert_false(now.c_lflag & (ICANON | ECHO));
    assert_true(now.c_lflag & ISIG); /* Ctrl-C still works */
    vt_term_restore();
    assert_false(vt_term_is_raw());
    tcgetattr(slave, &now);
    assert_int_equal(now.c_lflag, before.c_lflag);
    vt_term_restore(); /* idempotent */

    /* Ctrl-C: the handler gives the terminal back at once and sets the flag */
    assert_int_equal(vt_term_raw(slave, -1), 0);
    stop_flag = 0;
    vt_term_catch_signals(&stop_flag);
    raise(SIGINT);
    assert_int_equal(stop_flag, SIGINT);
    assert_false(vt_term_is_raw());
    tcgetattr(slave, &now);
    assert_int_equal(now.c_lflag, before.c_lflag);
    /* SIGTERM too */
    assert_int_equal(vt_term_raw(slave, -1), 0);
    stop_flag = 0;
    raise(SIGTERM);
    assert_int_equal(stop_flag, SIGTERM);
    tcgetattr(slave, &now);
    assert_int_equal(now.c_lflag, before.c_lflag);
    vt_term_release_signals();

    assert_int_equal(vt_term_raw(-1, -1), VT_EINVAL);
    int devnull = open("/dev/null", O_RDONLY);
    assert_int_equal(vt_term_raw(devnull, -1), VT_EINVAL);
    close(devnull);
    close(master);
    close(slave);

    assert_int_equal(vt_term_key(' '), VT_KEY_INTERRUPT);
    assert_int_equal(vt_term_key('\n'), VT_KEY_INTERRUPT);
    assert_int_equal(vt_term_key('\r'), VT_KEY_INTERRUPT);
    assert_int_equal(vt_term_key('q'), VT_KEY_QUIT);
    assert_int_equal(vt_term_key(4), VT_KEY_QUIT);
    assert_int_equal(vt_term_key('x'), VT_KEY_NONE);
    assert_int_equal(vt_term_key(27), VT_KEY_NONE); /* arrows start with Esc */
}

/* ---- the screen ---- */

static void feed_conversation(vt_ui *ui)
{
    vt_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = VT_EV_TRANSCRIPTION_PARTIAL;
    ev.text = "what is";
    vt_ui_event(ui, &ev, 100);
    ev.type = VT_EV_TRANSCRIPTION_COMPLETE;
    ev.text = "what is seven times eight";
    vt_ui_event(ui, &ev, 900);
    ev.type = VT_EV_RESPONSE_START;
    ev.state = VT_STATE_RESPONDING;
    ev.text = "Fifty six. Well done.";
    vt_ui_event(ui, &ev, 1000);
    ev.type = VT_EV_RESPONSE_TEXT;
    ev.text = "Fifty";
    ev.text2 = "Fifty";
    vt_ui_event(ui, &ev, 1200);
    ev.text = "six.";
    ev.text2 = "Fifty six.";
    vt_ui_event(ui, &ev, 1500);
    ev.type = VT_EV_INTERRUPTION_DETECTED;
    ev.trigger = VT_TRIGGER_KEY;
    ev.latency_ms = 0.02;
    ev.state = VT_STATE_ACKNOWLEDGING;
    vt_ui_event(ui, &ev, 1600);
    ev.type = VT_EV_RESPONSE_INTERRUPTED;
    ev.text = "Fifty six...";
    ev.text2 = "Well done.";
    vt_ui_event(ui, &ev, 1600);
}

static void test_ui_tty(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    vt_ui_config c = {.out = f, .tty = 1, .color = 1, .character = "times-tables",
                      .status_note = "echo canceller on"};
    vt_ui *ui = vt_ui_create(&c);
    feed_conversation(ui);
    assert_int_equal(vt_ui_state(ui), VT_STATE_ACKNOWLEDGING);
    vt_ui_note(ui, 2000, "talk_ended", "Bye.", NULL);
    vt_ui_finish(ui);
    vt_ui_destroy(ui);
    fclose(f);
    assert_non_null(strstr(buf, "you:   what is seven times eight"));
    assert_non_null(strstr(buf, "tutor > \033[0mFifty six.")); /* live, as it is spoken */
    assert_non_null(strstr(buf, "tutor: Fifty six..."));    /* finished line */
    assert_non_null(strstr(buf, "[interrupted: key"));
    assert_non_null(strstr(buf, "[ACKNOWLEDGING]"));
    assert_non_null(strstr(buf, "\033[2m"));                /* interim text is dim */
    assert_non_null(strstr(buf, "Bye."));
    /* the live region is erased at the end */
    assert_non_null(strstr(buf + len - 12, "\033[1A\033[J"));
    free(buf);
}

static void test_ui_json(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    vt_ui_config c = {.out = f, .tty = 0, .character = "times-tables"};
    vt_ui *ui = vt_ui_create(&c);
    feed_conversation(ui);
    cJSON *x = cJSON_CreateObject();
    cJSON_AddNumberToObject(x, "latency_ms", 4.5);
    vt_ui_note(ui, 1610, "speaker_flushed", NULL, x);
    vt_ui_tick(ui, 5000);
    vt_ui_finish(ui);
    vt_ui_destroy(ui);
    fclose(f);
    /* one JSON object per line, nothing else */
    int lines = 0;
    for (char *p = buf, *nl; (nl = strchr(p, '\n')); p = nl + 1, lines++) {
        *nl = '\0';
        cJSON *o = cJSON_Parse(p);
        assert_non_null(o);
        assert_non_null(cJSON_GetObjectItem(o, "type"));
        assert_non_null(cJSON_GetObjectItem(o, "t_ms"));
        cJSON_Delete(o);
    }
    assert_int_equal(lines, 8);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_filter_converges),
        cmocka_unit_test(test_gate_covers_convergence),
        cmocka_unit_test(test_person_passes),
        cmocka_unit_test(test_no_far_end_passes_through),
        cmocka_unit_test(test_room),
        cmocka_unit_test(test_ring_basics),
        cmocka_unit_test(test_ring_threads),
        cmocka_unit_test(test_audio_files),
        cmocka_unit_test(test_term_restore),
        cmocka_unit_test(test_ui_tty),
        cmocka_unit_test(test_ui_json),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
