/*
 * The talk loop (see console.h): one thread, one poll, the session, the echo
 * canceller between the microphone and the session, the speaker ring after
 * it, keys, the screen, and a terminal that is always given back.
 */
#include "transport/console/console.h"
#include "transport/console/ring.h"
#include "transport/console/term.h"
#include "transport/console/ui.h"
#include "util/wav.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define FAR_ACTIVE_RMS 100.0   /* a speaker frame above this counts as the tutor talking */
#define MAX_FRAMES_PER_TURN 25 /* microphone frames taken per turn of the loop */

typedef struct pcm_buf {
    int16_t *pcm;
    size_t n, cap;
} pcm_buf;

typedef struct console {
    const vt_console_config *cfg;
    vt_audio *audio;
    vt_session *session;
    vt_ui *ui;
    vt_aec *aec;
    int efd;
    int64_t t0, tick_at, last_event_us;
    uint64_t flushes_seen;
    vt_console_result res;
    double e_mic, e_out;
    uint64_t far_frames;
    vt_ring refdl;               /* reference delay line (device mode) */
    int refdl_on;
    pcm_buf mic_out, mic_raw;
    size_t out_dropped;
} console;

static volatile sig_atomic_t g_stop;

void vt_console_config_default(vt_console_config *c)
{
    memset(c, 0, sizeof *c);
    vt_runtime_config_default(&c->rt);
    vt_audio_config_default(&c->audio);
    vt_room_config_default(&c->room);
    vt_aec_config_default(&c->aec_cfg);
    c->session.speech = 1;
    c->aec = 1;
    c->welcome = 1;
    c->tty = -1;
    c->keys = 1;
    c->idle_exit_s = 2.5;
}

static void wake_fd(void *ud)
{
    int fd = *(int *)ud;
    uint64_t one = 1;
    ssize_t w = write(fd, &one, sizeof one);
    (void)w;
}

static int64_t t_ms(const console *c, int64_t now)
{
    return (now - c->t0) / 1000;
}

static int buf_add(pcm_buf *b, const int16_t *pcm, size_t n)
{
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 16000 * 60;
        while (cap < b->n + n)
            cap *= 2;
        int16_t *p = realloc(b->pcm, cap * sizeof *p);
        if (!p)
            return VT_ENOMEM;
        b->pcm = p;
        b->cap = cap;
    }
    memcpy(b->pcm + b->n, pcm, n * sizeof *pcm);
    b->n += n;
    return 0;
}

/* ---- the session's output ---------------------------------------------------- */

static void on_event(void *ud, const vt_event *ev, int64_t now)
{
    console *c = ud;
    switch (ev->type) {
    case VT_EV_INTERRUPTION_DETECTED:
        /* the speaker falls silent at the audio thread's next frame */
        vt_audio_flush(c->audio, now);
        c->res.interruptions++;
        if (ev->trigger == VT_TRIGGER_KEY)
            c->res.by_key++;
        else if (ev->trigger == VT_TRIGGER_COMMAND)
            c->res.by_command++;
        else if (ev->trigger == VT_TRIGGER_SPEECH)
            c->res.by_speech++;
        else if (ev->trigger == VT_TRIGGER_TEXT)
            c->res.by_text++;
        break;
    case VT_EV_RESPONSE_START:
        c->res.responses_started++;
        break;
    case VT_EV_RESPONSE_COMPLETE:
        c->res.responses_completed++;
        break;
    case VT_EV_ERROR:
        c->res.errors++;
        break;
    default:
        break;
    }
    c->last_event_us = now;
    vt_ui_event(c->ui, ev, t_ms(c, now));
}

static void on_audio(void *ud, const int16_t *pcm, size_t n, vt_audio_kind kind, int64_t now)
{
    console *c = ud;
    (void)kind;
    (void)now;
    size_t w = vt_audio_play(c->audio, pcm, n);
    c->out_dropped += n - w;
}

static void on_schedule(void *ud, int64_t at_us)
{
    console *c = ud;
    c->tick_at = at_us;
}

/* ---- the microphone ----------------------------------------------------------- */

static double energy(const int16_t *x, size_t n)
{
    double e = 0;
    for (size_t i = 0; i < n; i++)
        e += (double)x[i] * x[i];
    return e;
}

static double dbfs(double e, size_t n)
{
    double rms = sqrt(e / (double)(n ? n : 1));
    return rms < 1 ? -90.3 : 20.0 * log10(rms / 32768.0);
}

/* Returns how many frames were taken. */
static int take_frames(console *c)
{
    size_t F = (size_t)c->cfg->audio.frame;
    int16_t mic[4800], ref[4800], clean[4800];
    /* at most half a second per turn of the loop, so keys and timers are
     * never starved by a device that delivers faster than real time */
    int k = 0;
    for (; k < MAX_FRAMES_PER_TURN && vt_audio_capture(c->audio, mic, ref); k++) {
        if (c->refdl_on) {
            vt_ring_write(&c->refdl, ref, F);
            vt_ring_read(&c->refdl, ref, F);
        }
        if (c->aec)
            vt_aec_process(c->aec, mic, ref, clean);
        else
            memcpy(clean, mic, F * sizeof *clean);
        double er = energy(ref, F);
        if (sqrt(er / (double)F) >= FAR_ACTIVE_RMS) {
            c->e_mic += energy(mic, F);
            c->e_out += energy(clean, F);
            c->far_frames++;
        }
        if (c->cfg->mic_out_file)
            buf_add(&c->mic_out, clean, F);
        if (c->cfg->mic_raw_file)
            buf_add(&c->mic_raw, mic, F);
        vt_ui_level(c->ui, dbfs(energy(clean, F), F));
        vt_session_audio(c->session, clean, F, vt_now_us());
    }
    return k;
}

/* ---- keys ----------------------------------------------------------------------- */

/* Returns 1 when the person asked to quit. */
static int take_keys(console *c, int *stdin_open)
{
    unsigned char buf[64];
    ssize_t n = read(0, buf, sizeof buf);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        *stdin_open = 0; /* a closed pipe or /dev/null: no keyboard */
        return 0;
    }
    for (ssize_t i = 0; i < n; i++) {
        int k = vt_term_key(buf[i]);
        if (k == VT_KEY_QUIT)
            return 1;
        if (k == VT_KEY_INTERRUPT) {
            int64_t now = vt_now_us();
            int rc = vt_session_key(c->session, now);
            cJSON *x = cJSON_CreateObject();
            if (x)
                cJSON_AddStringToObject(x, "result", rc == 0 ? "ok" : vt_strerror(rc));
            vt_ui_note(c->ui, t_ms(c, now), "key", NULL, x);
        }
    }
    return 0;
}

/* ---- reports -------------------------------------------------------------------- */

static void report_flushes(console *c)
{
    vt_audio_stats st;
    vt_audio_get_stats(c->audio, &st);
    if (st.flushes == c->flushes_seen)
        return;
    c->flushes_seen = st.flushes;
    cJSON *x = cJSON_CreateObject();
    if (x) {
        cJSON_AddNumberToObject(x, "latency_ms", st.last_flush_us / 1000.0);
        cJSON_AddNumberToObject(x, "flushed_ms",
                                (double)st.flushed_samples * 1000.0 / c->cfg->audio.rate);
    }
    vt_ui_note(c->ui, t_ms(c, vt_now_us()), "speaker_flushed", NULL, x);
}

static int write_buf(const char *path, const pcm_buf *b, int rate, char *err, size_t errlen)
{
    if (!path)
        return 0;
    return vt_wav_write(path, b->pcm ? b->pcm : (const int16_t *)"\0\0", b->n, rate, err, errlen);
}

/* ---- the run -------------------------------------------------------------------- */

static int is_idle(console *c, int64_t now)
{
    vt_core *core = vt_session_core(c->session);
    if (vt_core_state(core) != VT_STATE_LISTENING || vt_core_is_audio_playing(core) ||
        vt_core_has_active_response(core) || vt_audio_queued(c->audio) > 0)
        return 0;
    return now - c->last_event_us >= (int64_t)(c->cfg->idle_exit_s * 1e6);
}

int vt_console_run(const vt_console_config *cfg, vt_console_result *r, char *err, size_t errlen)
{
    console c;
    memset(&c, 0, sizeof c);
    c.cfg = cfg;
    c.efd = -1;
    c.tick_at = INT64_MAX;
    vt_runtime *rt = NULL;
    int rc = 0, raw = 0, signals = 0;
    char msg[512] = "";
    FILE *out = cfg->out ? cfg->out : stdout;
    int tty = cfg->tty >= 0 ? cfg->tty : isatty(fileno(out));

    c.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (c.efd < 0) {
        snprintf(err, errlen, "eventfd: %s", strerror(errno));
        return VT_EIO;
    }
    /* the devices first: without a sound card, say so before loading engines */
    vt_audio_config ac = cfg->audio;
    ac.wake_fd = c.efd;
    ac.room = cfg->echo ? &cfg->room : NULL;
    if (cfg->echo && !ac.input_file) {
        snprintf(err, errlen, "--echo simulates a room between files: it needs --input and --output");
        rc = VT_EINVAL;
        goto out;
    }
    if ((rc = vt_audio_open(&ac, &c.audio, err, errlen)) != 0)
        goto out;
    if (cfg->aec) {
        vt_aec_config a = cfg->aec_cfg;
        a.rate = ac.rate;
        a.frame = ac.frame;
        if ((rc = vt_aec_create(&a, &c.aec)) != 0) {
            snprintf(err, errlen, "echo canceller: %s", vt_strerror(rc));
            goto out;
        }
    }
    size_t delay = vt_audio_ref_delay(c.audio);
    if (delay) {
        if ((rc = vt_ring_init(&c.refdl, delay + 4 * (size_t)ac.frame)) != 0)
            goto out;
        int16_t zero[256] = {0};
        for (size_t left = delay; left;) {
            size_t k = left < 256 ? left : 256;
            vt_ring_write(&c.refdl, zero, k);
            left -= k;
        }
        c.refdl_on = 1;
    }

    vt_runtime_config rc_cfg = cfg->rt;
    rc_cfg.core.out_rate = ac.rate; /* the speaker ring and the echo reference share the mic's rate */
    rc_cfg.core.acknowledgement = 1; /* seed 000's flow: the acknowledgement clip is spoken */
    rc_cfg.core.out_chunk_ms = 0;    /* the speaker ring takes the pacer's 20 ms slices */
    rc_cfg.wake = wake_fd;
    rc_cfg.wake_ud = &c.efd;
    if ((rc = vt_runtime_create(&rc_cfg, &rt, err, errlen)) != 0)
        goto out;

    char note[96];
    snprintf(note, sizeof note, "echo canceller %s", cfg->aec ? "on" : "off");
    vt_ui_config uc = {.out = out, .tty = tty, .color = tty && !getenv("NO_COLOR"),
                       .character = NULL, .status_note = note};
    vt_session_output so = {.event = on_event, .audio = on_audio, .schedule = on_schedule};
    if ((rc = vt_session_create(rt, &cfg->session, &so, &c, &c.session, msg, sizeof msg)) != 0) {
        snprintf(err, errlen, "%s", msg);
        goto out;
    }
    uc.character = vt_session_character(c.session);
    if (!(c.ui = vt_ui_create(&uc))) {
        rc = VT_ENOMEM;
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    c.t0 = vt_now_us();
    c.last_event_us = c.t0;
    {
        cJSON *x = cJSON_CreateObject();
        if (x) {
            cJSON_AddStringToObject(x, "character", vt_session_character(c.session));
            cJSON_AddStringToObject(x, "audio", vt_audio_file_mode(c.audio) ? "files" : "devices");
            cJSON_AddBoolToObject(x, "aec", cfg->aec);
            if (cfg->echo) {
                cJSON_AddNumberToObject(x, "echo_delay_ms", cfg->room.delay_ms);
                cJSON_AddNumberToObject(x, "echo_gain_db", cfg->room.gain_db);
                cJSON_AddNumberToObject(x, "echo_rt60_ms", cfg->room.rt60_ms);
            }
            cJSON_AddStringToObject(x, "mode", vt_mode_name(rc_cfg.core.interrupt_mode));
        }
        char line[700];
        snprintf(line, sizeof line, "%s  Space or Enter interrupts the tutor, q quits.%s", msg,
                 vt_audio_file_mode(c.audio) ? "  (files in real time)" : "");
        vt_ui_note(c.ui, 0, "talk_started", line, x);
    }

    int stdin_open = cfg->keys;
    if (cfg->keys && isatty(0)) {
        if (vt_term_raw(0, tty ? fileno(out) : -1) == 0)
            raw = 1;
        if (tty)
            fputs("\033[?25l", out); /* hide the cursor; restored with the terminal */
    }
    g_stop = 0;
    vt_term_catch_signals(&g_stop);
    signals = 1;

    if ((rc = vt_audio_start(c.audio, err, errlen)) != 0)
        goto out;
    if (cfg->welcome)
        vt_session_welcome(c.session, NULL, 0, vt_now_us());

    int more = 0; /* frames were left in the capture ring */
    for (;;) {
        int64_t now = vt_now_us();
        int64_t deadline = c.tick_at;
        int64_t wait_us = more ? 0 : 100000; /* the screen and the idle check, at least */
        if (deadline != INT64_MAX)
            wait_us = deadline <= now ? 0 : (deadline - now < wait_us ? deadline - now : wait_us);
        struct pollfd pf[2] = {{c.efd, POLLIN, 0}, {0, POLLIN, 0}};
        /* signals end poll with EINTR (no SA_RESTART) */
        int np = poll(pf, stdin_open ? 2 : 1, (int)((wait_us + 999) / 1000));
        if (g_stop) {
            c.res.signal = g_stop;
            break;
        }
        if (np > 0 && (pf[0].revents & POLLIN)) {
            uint64_t v;
            ssize_t got = read(c.efd, &v, sizeof v);
            (void)got;
        }
        vt_runtime_drain(rt);
        more = take_frames(&c) == MAX_FRAMES_PER_TURN;
        now = vt_now_us();
        vt_session_playback(c.session, vt_audio_position(c.audio), now);
        if (np > 0 && stdin_open && (pf[1].revents & (POLLIN | POLLHUP | POLLERR))) {
            if (take_keys(&c, &stdin_open))
                break;
        }
        now = vt_now_us();
        if (c.tick_at != INT64_MAX && now >= c.tick_at)
            vt_session_tick(c.session, now);
        report_flushes(&c);
        vt_ui_tick(c.ui, t_ms(&c, now));
        if (vt_audio_ended(c.audio)) {
            while (take_frames(&c) == MAX_FRAMES_PER_TURN)
                ;
            break;
        }
        if (vt_audio_file_mode(c.audio) && vt_audio_input_done(c.audio) && is_idle(&c, now))
            break;
    }

out:
    if (c.audio)
        vt_audio_stop(c.audio);
    if (signals)
        vt_term_release_signals();
    if (c.ui) {
        vt_audio_stats st;
        vt_audio_get_stats(c.audio, &st);
        c.res.audio = st;
        c.res.seconds = (double)vt_audio_clock(c.audio) / ac.rate;
        c.res.far_active_s = (double)c.far_frames * ac.frame / ac.rate;
        c.res.erle_db = c.far_frames ? 10.0 * log10((c.e_mic + 1.0) / (c.e_out + 1.0)) : 0.0;
        size_t nf = (size_t)c.far_frames * (size_t)ac.frame;
        c.res.mic_dbfs = dbfs(c.e_mic, nf);
        c.res.out_dbfs = dbfs(c.e_out, nf);
        cJSON *x = cJSON_CreateObject();
        if (x) {
            cJSON_AddNumberToObject(x, "seconds", c.res.seconds);
            cJSON_AddNumberToObject(x, "responses_started", c.res.responses_started);
            cJSON_AddNumberToObject(x, "responses_completed", c.res.responses_completed);
            cJSON_AddNumberToObject(x, "interruptions", c.res.interruptions);
            cJSON_AddNumberToObject(x, "by_key", c.res.by_key);
            cJSON_AddNumberToObject(x, "by_command", c.res.by_command);
            cJSON_AddNumberToObject(x, "by_speech", c.res.by_speech);
            cJSON_AddNumberToObject(x, "far_active_s", c.res.far_active_s);
            cJSON_AddNumberToObject(x, "erle_db", round(c.res.erle_db * 100) / 100);
            cJSON_AddNumberToObject(x, "max_flush_ms", st.max_flush_us / 1000.0);
            cJSON_AddNumberToObject(x, "overruns", (double)st.overruns);
            cJSON_AddNumberToObject(x, "underruns", (double)st.underruns);
            cJSON_AddNumberToObject(x, "output_dropped", (double)c.out_dropped);
            if (!vt_audio_file_mode(c.audio)) {
                cJSON_AddNumberToObject(x, "device_rate", st.device_rate);
                cJSON_AddNumberToObject(x, "in_latency_ms", st.in_latency_ms);
                cJSON_AddNumberToObject(x, "out_latency_ms", st.out_latency_ms);
            }
            if (c.res.signal)
                cJSON_AddNumberToObject(x, "signal", c.res.signal);
        }
        char bye[256];
        int n = snprintf(bye, sizeof bye, "Bye: %d answer%s, %d interrupted.",
                         c.res.responses_started, c.res.responses_started == 1 ? "" : "s",
                         c.res.interruptions);
        if (c.aec && c.res.far_active_s >= 1.0 && n > 0 && (size_t)n < sizeof bye)
            snprintf(bye + n, sizeof bye - (size_t)n,
                     " The echo canceller removed %.0f dB of the tutor's voice from the "
                     "microphone (%.0f s).", c.res.erle_db, c.res.far_active_s);
        vt_ui_note(c.ui, t_ms(&c, vt_now_us()), "talk_ended", bye, x);
        vt_ui_finish(c.ui);
    }
    if (raw)
        vt_term_restore();
    if (c.session)
        vt_session_destroy(c.session);
    if (rt) {
        /* the session's last jobs complete on this drain (or at destroy) */
        vt_runtime_drain(rt);
        vt_runtime_destroy(rt);
    }
    if (c.audio) {
        char e2[512] = "";
        int wr = vt_audio_close(c.audio, e2, sizeof e2);
        if (wr && !rc) {
            rc = wr;
            snprintf(err, errlen, "%s", e2);
        }
    }
    if (!rc && c.ui) {
        int wr = write_buf(cfg->mic_out_file, &c.mic_out, ac.rate, err, errlen);
        if (!wr)
            wr = write_buf(cfg->mic_raw_file, &c.mic_raw, ac.rate, err, errlen);
        rc = wr;
    }
    vt_ui_destroy(c.ui);
    vt_aec_destroy(c.aec);
    if (c.refdl_on)
        vt_ring_free(&c.refdl);
    free(c.mic_out.pcm);
    free(c.mic_raw.pcm);
    if (c.efd >= 0)
        close(c.efd);
    if (r)
        *r = c.res;
    return rc;
}
