/*
 * The console's audio device layer (see audio.h): the rings and the flush
 * shared by both backends, the file clock, and PortAudio.
 *
 * Why PortAudio's callback pairs each input buffer with the output buffer
 * of the same call: that output is what the speaker plays next, and its
 * echo reaches the microphone one input + output latency later. The loop
 * delays the reference by that much (vt_audio_ref_delay) so that the echo
 * canceller's filter only has to cover the room.
 */
#include "transport/console/audio.h"
#include "transport/console/ring.h"
#include "util/clock.h"
#include "util/wav.h"
#include "voicetutor/core.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <portaudio.h>
#include <pthread.h>
#include <speex/speex_resampler.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define RING_SECONDS 4       /* speaker and capture rings */
#define ACC_FRAMES 8         /* device-mode frame assembly */

struct vt_audio {
    vt_audio_config cfg;
    int file_mode;
    size_t F;                               /* frame */
    vt_ring play, cap_mic, cap_ref;
    /* flush: written by the loop, applied by the audio thread */
    _Atomic uint64_t flush_to, flush_seq;
    _Atomic int64_t flush_req_us;
    uint64_t flush_seen;                    /* audio thread */
    /* counters (audio thread writes, loop reads) */
    _Atomic uint64_t frames, overruns, underruns, flushes, flushed, clock;
    _Atomic int64_t last_flush_us, max_flush_us;
    _Atomic int input_done, ended, stop;
    int started;
    int opened;                             /* open succeeded: close writes the output */
    /* file mode */
    pthread_t thread;
    int16_t *in_pcm;
    size_t in_n, in_pos;
    int16_t *out_pcm;
    size_t out_n, out_cap;
    size_t tail_frames;
    vt_room *room;
    int16_t *f_spk, *f_near, *f_mic;
    /* PortAudio */
    int pa_init;
    PaStream *stream;
    double dev_rate;
    int in_ch, out_ch;
    SpeexResamplerState *rs_in, *rs_out;
    int16_t *t_dev;                         /* device-rate scratch, F_dev samples */
    int16_t *t16;                           /* session-rate scratch, 2 F */
    int16_t *pend;                          /* speaker samples waiting for rs_out */
    size_t pend_n, pend_pos;
    size_t F_dev;
    int16_t *acc_mic, *acc_ref;
    size_t acc_mic_n, acc_ref_n;
    size_t ref_delay;
    double in_lat, out_lat;
};

void vt_audio_config_default(vt_audio_config *c)
{
    memset(c, 0, sizeof *c);
    c->rate = 16000;
    c->frame = 320;
    c->max_tail_s = 30;
    c->wake_fd = -1;
}

/* ---- shared by both backends (audio thread side) --------------------------- */

static void wake(vt_audio *a)
{
    if (a->cfg.wake_fd >= 0) {
        uint64_t one = 1;
        ssize_t w = write(a->cfg.wake_fd, &one, sizeof one);
        (void)w; /* a full eventfd is awake already */
    }
}

static void apply_flush(vt_audio *a)
{
    uint64_t seq = atomic_load_explicit(&a->flush_seq, memory_order_acquire);
    if (seq == a->flush_seen)
        return;
    a->flush_seen = seq;
    uint64_t to = atomic_load_explicit(&a->flush_to, memory_order_acquire);
    size_t dropped = vt_ring_skip_to(&a->play, to);
    int64_t lat = vt_now_us() - atomic_load_explicit(&a->flush_req_us, memory_order_acquire);
    if (lat < 0)
        lat = 0;
    atomic_fetch_add(&a->flushes, 1);
    atomic_fetch_add(&a->flushed, dropped);
    atomic_store(&a->last_flush_us, lat);
    if (lat > atomic_load(&a->max_flush_us))
        atomic_store(&a->max_flush_us, lat);
}

static size_t ring_space(const vt_ring *r)
{
    return r->cap - vt_ring_used(r);
}

/* One frame of microphone with what the speaker played meanwhile. */
static void push_capture(vt_audio *a, const int16_t *mic, const int16_t *ref)
{
    if (ring_space(&a->cap_mic) < a->F || ring_space(&a->cap_ref) < a->F) {
        atomic_fetch_add(&a->overruns, 1);
        return;
    }
    /* the reference first: a loop that sees the microphone frame sees it too */
    vt_ring_write(&a->cap_ref, ref, a->F);
    vt_ring_write(&a->cap_mic, mic, a->F);
    atomic_fetch_add(&a->frames, 1);
    wake(a);
}

/* ---- the loop thread's side ------------------------------------------------ */

int vt_audio_capture(vt_audio *a, int16_t *mic, int16_t *ref)
{
    if (vt_ring_used(&a->cap_mic) < a->F)
        return 0;
    vt_ring_read(&a->cap_ref, ref, a->F);
    vt_ring_read(&a->cap_mic, mic, a->F);
    return 1;
}

size_t vt_audio_play(vt_audio *a, const int16_t *pcm, size_t n)
{
    return vt_ring_write(&a->play, pcm, n);
}

void vt_audio_flush(vt_audio *a, int64_t now_us)
{
    (void)now_us; /* the audio thread reads the same clock (vt_now_us) itself */
    atomic_store_explicit(&a->flush_req_us, vt_now_us(), memory_order_release);
    atomic_store_explicit(&a->flush_to, vt_ring_write_pos(&a->play), memory_order_release);
    atomic_fetch_add_explicit(&a->flush_seq, 1, memory_order_release);
}

uint64_t vt_audio_position(const vt_audio *a)
{
    return vt_ring_read_pos(&a->play);
}

size_t vt_audio_queued(const vt_audio *a)
{
    return vt_ring_used(&a->play);
}

int vt_audio_file_mode(const vt_audio *a)
{
    return a->file_mode;
}

int vt_audio_input_done(const vt_audio *a)
{
    return atomic_load(&((vt_audio *)a)->input_done);
}

int vt_audio_ended(const vt_audio *a)
{
    return atomic_load(&((vt_audio *)a)->ended);
}

uint64_t vt_audio_clock(const vt_audio *a)
{
    return atomic_load(&((vt_audio *)a)->clock);
}

size_t vt_audio_ref_delay(const vt_audio *a)
{
    return a->ref_delay;
}

void vt_audio_get_stats(const vt_audio *a, vt_audio_stats *s)
{
    vt_audio *m = (vt_audio *)a;
    s->frames = atomic_load(&m->frames);
    s->overruns = atomic_load(&m->overruns);
    s->underruns = atomic_load(&m->underruns);
    s->flushes = atomic_load(&m->flushes);
    s->flushed_samples = atomic_load(&m->flushed);
    s->last_flush_us = atomic_load(&m->last_flush_us);
    s->max_flush_us = atomic_load(&m->max_flush_us);
    s->device_rate = a->file_mode ? a->cfg.rate : a->dev_rate;
    s->in_latency_ms = a->in_lat * 1000.0;
    s->out_latency_ms = a->out_lat * 1000.0;
}

/* ---- file mode: the same path on a file clock ------------------------------ */

static void *file_thread(void *arg)
{
    vt_audio *a = arg;
    size_t F = a->F, after_end = 0;
    int64_t period_ns = (int64_t)F * 1000000000 / a->cfg.rate;
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    while (!atomic_load(&a->stop)) {
        apply_flush(a);
        size_t got = vt_ring_read(&a->play, a->f_spk, F);
        if (got && got < F)
            atomic_fetch_add(&a->underruns, 1);
        memset(a->f_spk + got, 0, (F - got) * sizeof *a->f_spk);
        size_t m = a->in_pos < a->in_n ? a->in_n - a->in_pos : 0;
        if (m > F)
            m = F;
        if (m)
            memcpy(a->f_near, a->in_pcm + a->in_pos, m * sizeof *a->f_near);
        memset(a->f_near + m, 0, (F - m) * sizeof *a->f_near);
        a->in_pos += m;
        if (a->in_pos >= a->in_n) {
            if (!atomic_load(&a->input_done))
                atomic_store(&a->input_done, 1);
            else
                after_end++;
        }
        if (a->out_n + F <= a->out_cap) {
            memcpy(a->out_pcm + a->out_n, a->f_spk, F * sizeof *a->f_spk);
            a->out_n += F;
        }
        if (a->room)
            vt_room_process(a->room, a->f_spk, a->f_near, a->f_mic, F);
        else
            memcpy(a->f_mic, a->f_near, F * sizeof *a->f_mic);
        push_capture(a, a->f_mic, a->f_spk);
        atomic_fetch_add(&a->clock, F);
        if (after_end >= a->tail_frames || a->out_n + F > a->out_cap)
            break;
        next.tv_nsec += period_ns;
        while (next.tv_nsec >= 1000000000) {
            next.tv_nsec -= 1000000000;
            next.tv_sec++;
        }
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR)
            ;
    }
    atomic_store(&a->ended, 1);
    wake(a);
    return NULL;
}

static int open_files(vt_audio *a, char *err, size_t errlen)
{
    const vt_audio_config *c = &a->cfg;
    int rc = vt_wav_read(c->input_file, c->rate, &a->in_pcm, &a->in_n, NULL, err, errlen);
    if (rc)
        return rc;
    a->tail_frames = (size_t)(c->max_tail_s * c->rate / (double)a->F) + 1;
    a->out_cap = (a->in_n / a->F + a->tail_frames + 2) * a->F;
    a->out_pcm = malloc(a->out_cap * sizeof *a->out_pcm);
    a->f_spk = calloc(a->F, sizeof *a->f_spk);
    a->f_near = calloc(a->F, sizeof *a->f_near);
    a->f_mic = calloc(a->F, sizeof *a->f_mic);
    if (!a->out_pcm || !a->f_spk || !a->f_near || !a->f_mic) {
        snprintf(err, errlen, "out of memory for %s", c->input_file);
        return VT_ENOMEM;
    }
    if (c->room) {
        rc = vt_room_create(c->room, &a->room, err, errlen);
        if (rc)
            return rc;
    }
    /* fail now rather than after the conversation: can the output be written? */
    int fd = open(c->output_file, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd < 0) {
        snprintf(err, errlen, "%s: cannot write: %s", c->output_file, strerror(errno));
        return VT_EIO;
    }
    close(fd);
    return 0;
}

/* ---- PortAudio ---------------------------------------------------------------- */

/* PortAudio's ALSA and JACK back ends print pages of probing noise on stderr
 * when there is no sound card; hide it unless VT_AUDIO_DEBUG is set. */
static PaError pa_init_quiet(void)
{
    setenv("JACK_NO_START_SERVER", "1", 0);
    if (getenv("VT_AUDIO_DEBUG"))
        return Pa_Initialize();
    fflush(stderr);
    int saved = dup(2), devnull = open("/dev/null", O_WRONLY);
    if (saved >= 0 && devnull >= 0)
        dup2(devnull, 2);
    PaError e = Pa_Initialize();
    if (saved >= 0) {
        dup2(saved, 2);
        close(saved);
    }
    if (devnull >= 0)
        close(devnull);
    return e;
}

static const char *k_no_card =
    "no sound card: PortAudio found no %s on this machine.\n"
    "  To talk through files instead, in real time on the same code path:\n"
    "    voicetutor talk --input question.wav --output answer.wav\n"
    "  (make question.wav with: voicetutor say \"What is seven times eight?\" -o question.wav;\n"
    "   add --echo 60:-10 to let the microphone hear the tutor as in a room.)\n"
    "  With a sound card: voicetutor talk --list-devices, then --input-device N --output-device N.";

static int pa_find(const char *spec, int input, char *err, size_t errlen)
{
    int n = Pa_GetDeviceCount();
    const char *what = input ? "input" : "output";
    if (n <= 0) {
        snprintf(err, errlen, k_no_card, "audio devices at all");
        return VT_ENOTFOUND;
    }
    if (!spec || !*spec) {
        int d = input ? Pa_GetDefaultInputDevice() : Pa_GetDefaultOutputDevice();
        if (d == paNoDevice) {
            snprintf(err, errlen, k_no_card, input ? "microphone" : "speaker");
            return VT_ENOTFOUND;
        }
        return d;
    }
    char *end;
    long idx = strtol(spec, &end, 10);
    if (*end == '\0') {
        if (idx < 0 || idx >= n) {
            snprintf(err, errlen, "--%s-device %s: no such device (0..%d; see --list-devices)",
                     what, spec, n - 1);
            return VT_ENOTFOUND;
        }
        const PaDeviceInfo *d = Pa_GetDeviceInfo((int)idx);
        if ((input ? d->maxInputChannels : d->maxOutputChannels) < 1) {
            snprintf(err, errlen, "--%s-device %s: '%s' has no %s channels", what, spec, d->name,
                     what);
            return VT_ENOTFOUND;
        }
        return (int)idx;
    }
    for (int i = 0; i < n; i++) {
        const PaDeviceInfo *d = Pa_GetDeviceInfo(i);
        if ((input ? d->maxInputChannels : d->maxOutputChannels) < 1)
            continue;
        for (const char *p = d->name; *p; p++) {
            size_t k = 0;
            while (spec[k] && p[k] && tolower((unsigned char)p[k]) == tolower((unsigned char)spec[k]))
                k++;
            if (!spec[k])
                return i;
        }
    }
    snprintf(err, errlen, "--%s-device '%s': no %s device has that in its name (see --list-devices)",
             what, spec, what);
    return VT_ENOTFOUND;
}

int vt_audio_list_devices(FILE *f, char *err, size_t errlen)
{
    PaError e = pa_init_quiet();
    if (e != paNoError) {
        snprintf(err, errlen, "PortAudio: %s", Pa_GetErrorText(e));
        return VT_EIO;
    }
    int n = Pa_GetDeviceCount(), din = Pa_GetDefaultInputDevice(), dout = Pa_GetDefaultOutputDevice();
    if (n <= 0) {
        fprintf(f, "No audio devices: PortAudio found no sound card on this machine.\n");
    } else {
        fprintf(f, "  #  in out   rate  host API   name\n");
        for (int i = 0; i < n; i++) {
            const PaDeviceInfo *d = Pa_GetDeviceInfo(i);
            const PaHostApiInfo *h = Pa_GetHostApiInfo(d->hostApi);
            fprintf(f, "%3d %3d %3d %6.0f  %-9s  %s%s%s\n", i, d->maxInputChannels,
                    d->maxOutputChannels, d->defaultSampleRate, h ? h->name : "?", d->name,
                    i == din ? "  (default input)" : "", i == dout ? "  (default output)" : "");
        }
    }
    Pa_Terminate();
    return 0;
}

static void mono_from(const int16_t *in, int ch, size_t n, int16_t *out)
{
    if (!in) {
        memset(out, 0, n * sizeof *out);
        return;
    }
    if (ch == 1) {
        memcpy(out, in, n * sizeof *out);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        int s = 0;
        for (int c = 0; c < ch; c++)
            s += in[i * (size_t)ch + (size_t)c];
        out[i] = (int16_t)(s / ch);
    }
}

static void mono_to(const int16_t *in, size_t n, int ch, int16_t *out)
{
    for (size_t i = 0; i < n; i++)
        for (int c = 0; c < ch; c++)
            out[i * (size_t)ch + (size_t)c] = in[i];
}

static void acc_append(int16_t *acc, size_t *an, size_t cap, const int16_t *x, size_t m)
{
    if (m > cap) { /* keep the newest */
        x += m - cap;
        m = cap;
    }
    if (*an + m > cap) { /* the other side stalled: drop the oldest */
        size_t drop = *an + m - cap;
        memmove(acc, acc + drop, (*an - drop) * sizeof *acc);
        *an -= drop;
    }
    memcpy(acc + *an, x, m * sizeof *acc);
    *an += m;
}

static void acc_emit(vt_audio *a)
{
    size_t F = a->F;
    while (a->acc_mic_n >= F && a->acc_ref_n >= F) {
        push_capture(a, a->acc_mic, a->acc_ref);
        memmove(a->acc_mic, a->acc_mic + F, (a->acc_mic_n - F) * sizeof *a->acc_mic);
        memmove(a->acc_ref, a->acc_ref + F, (a->acc_ref_n - F) * sizeof *a->acc_ref);
        a->acc_mic_n -= F;
        a->acc_ref_n -= F;
    }
}

/* Speaker samples at the session rate for the next m samples. */
static void speaker_pull(vt_audio *a, int16_t *dst, size_t m)
{
    size_t got = vt_ring_read(&a->play, dst, m);
    if (got && got < m)
        atomic_fetch_add(&a->underruns, 1);
    memset(dst + got, 0, (m - got) * sizeof *dst);
    acc_append(a->acc_ref, &a->acc_ref_n, ACC_FRAMES * a->F, dst, m);
}

static int pa_callback(const void *input, void *output, unsigned long frames,
                       const PaStreamCallbackTimeInfo *ti, PaStreamCallbackFlags flags, void *ud)
{
    vt_audio *a = ud;
    const int16_t *in = input;
    int16_t *out = output;
    size_t n = frames, F = a->F;
    (void)ti;
    (void)flags;
    apply_flush(a);
    size_t done = 0;
    while (done < n) {
        size_t m = n - done < a->F_dev ? n - done : a->F_dev;
        /* output */
        if (!a->rs_out) {
            speaker_pull(a, a->t16, m);
            mono_to(a->t16, m, a->out_ch, out + done * (size_t)a->out_ch);
        } else {
            size_t made = 0;
            while (made < m) {
                if (a->pend_pos == a->pend_n) {
                    speaker_pull(a, a->pend, F);
                    a->pend_n = F;
                    a->pend_pos = 0;
                }
                spx_uint32_t il = (spx_uint32_t)(a->pend_n - a->pend_pos);
                spx_uint32_t ol = (spx_uint32_t)(m - made);
                speex_resampler_process_int(a->rs_out, 0, a->pend + a->pend_pos, &il,
                                            a->t_dev + made, &ol);
                a->pend_pos += il;
                made += ol;
                if (il == 0 && ol == 0)
                    break;
            }
            memset(a->t_dev + made, 0, (m - made) * sizeof *a->t_dev);
            mono_to(a->t_dev, m, a->out_ch, out + done * (size_t)a->out_ch);
        }
        /* input */
        if (!a->rs_in) {
            mono_from(in ? in + done * (size_t)a->in_ch : NULL, a->in_ch, m, a->t16);
            acc_append(a->acc_mic, &a->acc_mic_n, ACC_FRAMES * F, a->t16, m);
        } else {
            mono_from(in ? in + done * (size_t)a->in_ch : NULL, a->in_ch, m, a->t_dev);
            size_t used = 0;
            while (used < m) {
                spx_uint32_t il = (spx_uint32_t)(m - used), ol = (spx_uint32_t)(2 * F);
                speex_resampler_process_int(a->rs_in, 0, a->t_dev + used, &il, a->t16, &ol);
                acc_append(a->acc_mic, &a->acc_mic_n, ACC_FRAMES * F, a->t16, ol);
                used += il;
                if (il == 0 && ol == 0)
                    break;
            }
        }
        acc_emit(a);
        done += m;
    }
    atomic_fetch_add(&a->clock, (uint64_t)((double)n * a->cfg.rate / a->dev_rate));
    return atomic_load(&a->stop) ? paComplete : paContinue;
}

static void pa_stream_finished(void *ud)
{
    vt_audio *a = ud;
    atomic_store(&a->ended, 1);
    wake(a);
}

static int pa_open(vt_audio *a, char *err, size_t errlen)
{
    const vt_audio_config *c = &a->cfg;
    PaError e = pa_init_quiet();
    if (e != paNoError) {
        snprintf(err, errlen, "PortAudio: %s", Pa_GetErrorText(e));
        return VT_EIO;
    }
    a->pa_init = 1;
    int din = pa_find(c->input_device, 1, err, errlen);
    if (din < 0)
        return din;
    int dout = pa_find(c->output_device, 0, err, errlen);
    if (dout < 0)
        return dout;
    const PaDeviceInfo *ii = Pa_GetDeviceInfo(din), *oi = Pa_GetDeviceInfo(dout);
    PaStreamParameters ip = {din, 1, paInt16, 0, NULL}, op = {dout, 1, paInt16, 0, NULL};
    ip.suggestedLatency = c->latency_ms > 0 ? c->latency_ms / 1000.0 : ii->defaultLowInputLatency;
    op.suggestedLatency = c->latency_ms > 0 ? c->latency_ms / 1000.0 : oi->defaultLowOutputLatency;
    double rates[] = {c->rate, oi->defaultSampleRate, ii->defaultSampleRate, 48000, 44100};
    int found = 0;
    for (int chans = 1; chans <= 2 && !found; chans++) {
        ip.channelCount = chans <= ii->maxInputChannels ? chans : ii->maxInputChannels;
        op.channelCount = chans <= oi->maxOutputChannels ? chans : oi->maxOutputChannels;
        for (size_t k = 0; k < sizeof rates / sizeof *rates && !found; k++)
            if (rates[k] >= 8000 && Pa_IsFormatSupported(&ip, &op, rates[k]) == paFormatIsSupported) {
                a->dev_rate = rates[k];
                found = 1;
            }
    }
    if (!found) {
        snprintf(err, errlen,
                 "'%s' and '%s' cannot run together with 16-bit audio at %d, %.0f or 48000 Hz "
                 "(try other devices: --list-devices)",
                 ii->name, oi->name, c->rate, oi->defaultSampleRate);
        return VT_EIO;
    }
    a->in_ch = ip.channelCount;
    a->out_ch = op.channelCount;
    a->F_dev = (size_t)(a->F * a->dev_rate / c->rate + 0.5);
    if (a->F_dev < 16)
        a->F_dev = 16;
    int re = 0;
    if ((int)a->dev_rate != c->rate) {
        a->rs_in = speex_resampler_init(1, (spx_uint32_t)a->dev_rate, (spx_uint32_t)c->rate, 4, &re);
        a->rs_out = speex_resampler_init(1, (spx_uint32_t)c->rate, (spx_uint32_t)a->dev_rate, 4, &re);
        if (!a->rs_in || !a->rs_out)
            return VT_ENOMEM;
    }
    a->t_dev = calloc(a->F_dev + 16, sizeof *a->t_dev);
    a->t16 = calloc(2 * a->F + 16, sizeof *a->t16);
    a->pend = calloc(a->F, sizeof *a->pend);
    a->acc_mic = calloc(ACC_FRAMES * a->F, sizeof *a->acc_mic);
    a->acc_ref = calloc(ACC_FRAMES * a->F, sizeof *a->acc_ref);
    if (!a->t_dev || !a->t16 || !a->pend || !a->acc_mic || !a->acc_ref)
        return VT_ENOMEM;
    e = Pa_OpenStream(&a->stream, &ip, &op, a->dev_rate, (unsigned long)a->F_dev, paClipOff,
                      pa_callback, a);
    if (e != paNoError) {
        a->stream = NULL;
        snprintf(err, errlen, "cannot open '%s' / '%s': %s", ii->name, oi->name,
                 Pa_GetErrorText(e));
        return VT_EIO;
    }
    Pa_SetStreamFinishedCallback(a->stream, pa_stream_finished);
    const PaStreamInfo *si = Pa_GetStreamInfo(a->stream);
    if (si) {
        a->in_lat = si->inputLatency;
        a->out_lat = si->outputLatency;
    }
    /* the echo comes back one input + output latency after the reference;
     * leave 10 ms for the room so the filter never sees echo before it */
    double d = (a->in_lat + a->out_lat - 0.010) * c->rate;
    a->ref_delay = d > 0 ? (size_t)d : 0;
    return 0;
}

/* ---- open, start, stop, close ----------------------------------------------- */

int vt_audio_open(const vt_audio_config *c, vt_audio **out, char *err, size_t errlen)
{
    if (!c || !out || c->rate < 8000 || c->rate > 48000 || c->frame < 16 || c->frame > 4800) {
        snprintf(err, errlen, "audio: bad configuration");
        return VT_EINVAL;
    }
    if (!c->input_file != !c->output_file) {
        snprintf(err, errlen, "file mode needs both --input FILE.wav and --output FILE.wav");
        return VT_EINVAL;
    }
    vt_audio *a = calloc(1, sizeof *a);
    if (!a)
        return VT_ENOMEM;
    a->cfg = *c;
    a->F = (size_t)c->frame;
    a->file_mode = c->input_file != NULL;
    size_t cap = (size_t)c->rate * RING_SECONDS;
    int rc = vt_ring_init(&a->play, cap);
    if (!rc)
        rc = vt_ring_init(&a->cap_mic, cap);
    if (!rc)
        rc = vt_ring_init(&a->cap_ref, cap);
    if (rc)
        snprintf(err, errlen, "out of memory");
    else
        rc = a->file_mode ? open_files(a, err, errlen) : pa_open(a, err, errlen);
    if (rc) {
        vt_audio_close(a, NULL, 0);
        return rc;
    }
    a->opened = 1;
    *out = a;
    return 0;
}

int vt_audio_start(vt_audio *a, char *err, size_t errlen)
{
    if (a->started)
        return 0;
    if (a->file_mode) {
        int e = pthread_create(&a->thread, NULL, file_thread, a);
        if (e) {
            snprintf(err, errlen, "cannot start the file clock: %s", strerror(e));
            return VT_EIO;
        }
    } else {
        PaError e = Pa_StartStream(a->stream);
        if (e != paNoError) {
            snprintf(err, errlen, "cannot start the audio stream: %s", Pa_GetErrorText(e));
            return VT_EIO;
        }
    }
    a->started = 1;
    return 0;
}

void vt_audio_stop(vt_audio *a)
{
    if (!a || !a->started)
        return;
    atomic_store(&a->stop, 1);
    if (a->file_mode)
        pthread_join(a->thread, NULL);
    else if (a->stream)
        Pa_StopStream(a->stream);
    a->started = 0;
}

int vt_audio_close(vt_audio *a, char *err, size_t errlen)
{
    if (!a)
        return 0;
    char dummy[8];
    if (!err) {
        err = dummy;
        errlen = sizeof dummy;
    }
    vt_audio_stop(a);
    int rc = 0;
    if (a->opened && a->file_mode && a->out_pcm && a->cfg.output_file)
        rc = vt_wav_write(a->cfg.output_file, a->out_pcm, a->out_n, a->cfg.rate, err, errlen);
    if (a->stream)
        Pa_CloseStream(a->stream);
    if (a->pa_init)
        Pa_Terminate();
    if (a->rs_in)
        speex_resampler_destroy(a->rs_in);
    if (a->rs_out)
        speex_resampler_destroy(a->rs_out);
    vt_room_destroy(a->room);
    vt_ring_free(&a->play);
    vt_ring_free(&a->cap_mic);
    vt_ring_free(&a->cap_ref);
    free(a->in_pcm);
    free(a->out_pcm);
    free(a->f_spk);
    free(a->f_near);
    free(a->f_mic);
    free(a->t_dev);
    free(a->t16);
    free(a->pend);
    free(a->acc_mic);
    free(a->acc_ref);
    free(a);
    return rc;
}
