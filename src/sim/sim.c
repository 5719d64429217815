/*
 * The simulator (see sim.h): the live driver (src/runtime/driver.c) on the
 * virtual-time executor, fed by a timeline of microphone audio, key presses
 * and typed text, with the scripted or real engines of sim_engines.c, and a
 * modelled client that plays the paced output and drops what it holds when
 * interruption_detected arrives. The scenario is parsed by sim_load.c.
 *
 * Order inside one virtual instant is fixed (the client's inputs, then
 * engine results by time and creation order, then the microphone frame,
 * then the playback report, then the session's own timers), so a scenario
 * always produces the same events.jsonl and out.wav.
 */
#include "sim/sim_internal.h"
#include "engines/brain/brain.h"
#include "engines/speech/speech.h"
#include "protocol/messages.h"
#include "util/wav.h"
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define FRAME_MS VT__SIM_FRAME_MS
#define US VT__US

/* ---- records ---------------------------------------------------------------- */

void vt__sim_record(vt_sim *s, int64_t now, void *json_object)
{
    cJSON *o = json_object;
    if (!o)
        return;
    double t = (double)now / 1e6;
    cJSON_AddNumberToObject(o, "t", floor(t * 1e6 + 0.5) / 1e6);
    char *js = cJSON_PrintUnformatted(o);
    const cJSON *ty = cJSON_GetObjectItem(o, "type");
    char *type = strdup(cJSON_IsString(ty) ? ty->valuestring : "?");
    cJSON_Delete(o);
    if (!js || !type) {
        free(js);
        free(type);
        return;
    }
    if (s->nrec == s->caprec) {
        size_t cap = s->caprec ? s->caprec * 2 : 256;
        vt_sim_record *r = realloc(s->recs, cap * sizeof *r);
        if (!r) {
            free(js);
            free(type);
            return;
        }
        s->recs = r;
        s->caprec = cap;
    }
    s->recs[s->nrec++] = (vt_sim_record){.t = t, .type = type, .json = js};
}

static void record_engine(vt_sim *s, int64_t now, const char *type, const vt_action *a)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return;
    cJSON_AddStringToObject(o, "type", type);
    cJSON_AddNumberToObject(o, "gen", a->gen);
    if (a->id)
        cJSON_AddNumberToObject(o, "id", a->id);
    if (a->text)
        cJSON_AddStringToObject(o, "text", a->text);
    if (a->type == VT_ACT_KWS)
        cJSON_AddBoolToObject(o, "on", a->flag);
    vt__sim_record(s, now, o);
}

/* ---- the modelled client ------------------------------------------------------ */

static void client_play(vt_sim *s, const int16_t *pcm, size_t n, int64_t now)
{
    int rate = s->cfg.out_rate;
    int64_t start = s->client_end_us > now ? s->client_end_us : now;
    size_t pos = (size_t)(start * rate / 1000000);
    for (size_t i = 0; i < n && pos + i < s->out_n; i++)
        s->out[pos + i] = pcm[i];
    s->client_end_us = start + (int64_t)n * 1000000 / rate;
    s->client_received += n;
}

static void client_flush(vt_sim *s, int64_t now)
{
    int rate = s->cfg.out_rate;
    if (s->client_end_us <= now)
        return;
    size_t a = (size_t)(now * rate / 1000000), b = (size_t)(s->client_end_us * rate / 1000000);
    for (size_t i = a; i < b && i < s->out_n; i++)
        s->out[i] = 0;
    uint64_t dropped = (uint64_t)(b - a);
    s->client_received = s->client_received > dropped ? s->client_received - dropped : 0;
    s->client_end_us = now;
}


/* ---- what the session tells its transport ------------------------------------ */

/* The core's actions, seen before the driver acts on them: the records, and
 * where the scripted engines' audio starts on the microphone. */
static void on_action(void *ud, const vt_action *a, int64_t now)
{
    vt_sim *s = ud;
    static const char *const names[] = {
        [VT_ACT_STT_BEGIN] = "engine.stt_begin", [VT_ACT_STT_END] = "engine.stt_end",
        [VT_ACT_KWS] = "engine.kws", [VT_ACT_JUDGE] = "engine.judge",
        [VT_ACT_CHOOSE_FILLER] = "engine.choose_filler", [VT_ACT_LLM_START] = "engine.llm_start",
        [VT_ACT_TTS] = "engine.tts", [VT_ACT_CANCEL] = "engine.cancel"};
    switch (a->type) {
    case VT_ACT_STATE:
        vt__sim_record(s, now, vt_state_json(a));
        return;
    case VT_ACT_EVENT:
    case VT_ACT_AUDIO:
        return;
    case VT_ACT_STT_BEGIN: {
        /* the lane feeds the pre-roll from its 2 s ring, then every frame */
        size_t pre = (size_t)a->preroll_ms * VT_IN_RATE / 1000;
        size_t ring = VT_IN_RATE * 2;
        if (pre > ring)
            pre = ring;
        vt__sim_fifo_push(&s->utt_starts, (int64_t)(s->fed > pre ? s->fed - pre : 0));
        break;
    }
    case VT_ACT_KWS:
        if (a->flag && !s->kws_on)
            vt__sim_fifo_push(&s->kws_starts, (int64_t)s->fed);
        s->kws_on = a->flag;
        break;
    case VT_ACT_TTS:
        vt__sim_fifo_push(&s->phrases, a->id);
        break;
    default:
        break;
    }
    if ((size_t)a->type < sizeof names / sizeof *names && names[a->type])
        record_engine(s, now, names[a->type], a);
}

static void on_event(void *ud, const vt_event *ev, int64_t now)
{
    vt_sim *s = ud;
    if (ev->type == VT_EV_INTERRUPTION_DETECTED)
        client_flush(s, now);
    vt__sim_record(s, now, vt_event_json(ev, s->cfg.character));
}

static void on_audio(void *ud, const int16_t *pcm, size_t n, vt_audio_kind kind, int64_t now)
{
    client_play(ud, pcm, n, now);
}

/* ---- the run ------------------------------------------------------------------ */

/* The real engines' clips and the learner's lines in the learner's voice. */
static int real_prepare(vt_sim *s, char *err, size_t errlen)
{
    char e[512] = "";
    const vt_tts_ops *ops = NULL;
    void *model = NULL, *ctx = NULL;
    int rc = vt_tts_open(s->voice, NULL, 0, &ops, &model, &ctx, e, sizeof e);
    if (rc)
        goto fail;
    rc = vt_clips_build(ops, ctx, s->cfg.out_rate, vt_default_filler_texts,
                        vt_default_filler_descriptions, vt_default_n_fillers, &s->real_fill, e,
                        sizeof e);
    if (rc == 0) {
        s->n_real_fill = vt_default_n_fillers;
        rc = vt_clips_build(ops, ctx, s->cfg.out_rate, vt_default_ack_texts, NULL,
                            vt_default_n_acks, &s->real_ack, e, sizeof e);
    }
    vt_tts_close(ops, model, ctx);
    if (rc)
        goto fail;
    s->n_real_ack = vt_default_n_acks;
    /* the person's lines without a WAV are spoken by another voice */
    if ((rc = vt_tts_open(s->user_voice, NULL, 0, &ops, &model, &ctx, e, sizeof e)) != 0)
        goto fail;
    for (size_t i = 0; i < s->n_items && rc == 0; i++) {
        vt__sim_item *u = &s->items[i];
        if (!u->generated || !u->text[0])
            continue;
        int16_t *pcm = NULL;
        size_t n = 0;
        rc = vt_tts_synth_buffer(ops, ctx, VT_IN_RATE, u->text, &pcm, &n, NULL);
        if (rc == 0) {
            free(u->pcm);
            u->pcm = pcm;
            u->n = n;
            u->dur = (double)n / VT_IN_RATE;
        } else {
            snprintf(e, sizeof e, "user[%zu]: speaking \"%s\" failed", i, u->text);
        }
    }
    vt_tts_close(ops, model, ctx);
    if (rc)
        goto fail;
    return 0;
fail:
    snprintf(err, errlen, "%s: real engines: %s", s->name, e[0] ? e : vt_strerror(rc));
    return rc;
}

static int open_brain(vt_sim *s, const vt_brain_ops **ops, void **ctx, char *err, size_t errlen)
{
    const vt_brain_ops *in = NULL;
    void *ictx = NULL;
    if (s->brain_engine[0]) {
        char e[512] = "";
        if (!(in = vt_brain_find(s->brain_engine))) {
            snprintf(err, errlen, "%s: brain.engine: unknown brain \"%s\" (%s)", s->name,
                     s->brain_engine, vt_brain_names());
            return VT_EINVAL;
        }
        int rc = in->create(s->brain_opts, s->n_brain_opts, &ictx, e, sizeof e);
        if (rc) {
            snprintf(err, errlen, "%s: brain: %s", s->name, e);
            return rc;
        }
    }
    return vt__sim_brain(s, in, ictx, ops, ctx);
}

static int start(vt_sim *s, char *err, size_t errlen)
{
    int rc;
    if (s->real && (rc = real_prepare(s, err, errlen)) != 0)
        return rc;
    if (!s->real && (rc = vt__sim_find_hits(s)) != 0)
        return rc;
    if ((rc = vt_vexec_create(&s->vx)) != 0)
        return rc;
    vt_session_setup st;
    memset(&st, 0, sizeof st);
    if ((rc = open_brain(s, &st.eng.brain, &st.eng.brain_ctx, err, errlen)) != 0)
        return rc;
    st.core = s->cfg;
    st.exec = vt_vexec_exec(s->vx);
    st.speech = 1;
    st.partial_ms = (int)s->stt_partial_ms;
    snprintf(st.character, sizeof st.character, "%s", s->cfg.character);
    st.eng.open_speech = vt__sim_open_speech;
    st.eng.open_tts = vt__sim_open_tts;
    st.eng.ud = s;
    st.eng.fill = s->real ? s->real_fill : s->filler_clips;
    st.eng.n_fill = s->real ? s->n_real_fill : s->n_fillers;
    st.eng.ack = s->real ? s->real_ack : s->ack_clips;
    st.eng.n_ack = s->real ? s->n_real_ack : s->n_acks;
    vt_session_output out = {.event = on_event, .audio = on_audio, .action = on_action};
    char e[512] = "";
    if ((rc = vt_session_start(&st, &out, s, &s->session, e, sizeof e)) != 0)
        snprintf(err, errlen, "%s: %s", s->name, e);
    return rc;
}

/* The modelled client's inputs, in time order. */
typedef struct input {
    int64_t t;
    const char *text;      /* NULL: a key */
} input;

/* Stable: at equal times keys come first, then typed text, each as listed. */
static void sort_inputs(input *in, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        input x = in[i];
        size_t j = i;
        for (; j > 0 && in[j - 1].t > x.t; j--)
            in[j] = in[j - 1];
        in[j] = x;
    }
}

int vt_sim_run(vt_sim *s, char *err, size_t errlen)
{
    char dummy[8];
    if (!err) {
        err = dummy;
        errlen = sizeof dummy;
    }
    if (!s)
        return VT_EINVAL;
    if (s->ran) {
        snprintf(err, errlen, "%s: already run", s->name);
        return VT_ESTATE;
    }
    s->ran = true;
    int rc = start(s, err, errlen);
    if (rc)
        return rc;
    /* the microphone: the timeline plus a little deterministic room noise */
    s->mic_n = (size_t)(s->duration * VT_IN_RATE);
    s->mic = calloc(s->mic_n + 1, sizeof *s->mic);
    s->out_n = (size_t)(s->duration * s->cfg.out_rate);
    s->out = calloc(s->out_n + 1, sizeof *s->out);
    size_t n_in = s->n_keys + s->n_typed;
    input *in = calloc(n_in + 1, sizeof *in);
    if (!s->mic || !s->out || !in) {
        free(in);
        return VT_ENOMEM;
    }
    uint32_t st = 12345;
    for (size_t i = 0; i < s->mic_n; i++)
        s->mic[i] =
            (int16_t)(((double)(vt__sim_lcg(&st) & 0xffff) / 65535.0 - 0.5) * 3.46 * s->noise_rms);
    for (size_t k = 0; k < s->n_items; k++) {
        vt__sim_item *u = &s->items[k];
        size_t off = (size_t)(u->at * VT_IN_RATE);
        for (size_t i = 0; i < u->n && off + i < s->mic_n; i++) {
            int v = s->mic[off + i] + u->pcm[i];
            s->mic[off + i] = (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : v);
        }
    }
    for (size_t k = 0; k < s->n_keys; k++)
        in[k] = (input){US(s->keys[k]), NULL};
    for (size_t k = 0; k < s->n_typed; k++)
        in[s->n_keys + k] = (input){US(s->typed[k].at), s->typed[k].text};
    sort_inputs(in, n_in);

    vt_session *ss = s->session;
    const size_t frame = VT_IN_RATE * FRAME_MS / 1000;
    const int64_t end_us = US(s->duration);
    int64_t next_frame = FRAME_MS * 1000, next_report = INT64_MAX, now = 0, last_tick = -1;
    if (s->report_ms > 0)
        next_report = US(s->report_ms / 1000.0);
    size_t mic_pos = 0, in_next = 0;
    for (uint64_t iter = 0; iter < 50000000ull; iter++) {
        int64_t dl = vt_session_next_deadline(ss);
        if (dl <= now && last_tick == now)
            dl = now + 1000; /* the core already ran at this instant */
        if (dl < now)
            dl = now;
        int64_t tc = in_next < n_in ? in[in_next].t : INT64_MAX;
        int64_t te = vt_vexec_next(s->vx);
        int64_t next = next_frame;
        if (tc < next)
            next = tc;
        if (te < next)
            next = te;
        if (dl < next)
            next = dl;
        if (next_report < next)
            next = next_report;
        if (next > end_us)
            break;
        now = next < now ? now : next;
        vt_vexec_set_now(s->vx, now);
        if (tc <= now) {
            const input *x = &in[in_next++];
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "type", x->text ? "input.text" : "input.key");
            if (x->text)
                cJSON_AddStringToObject(o, "text", x->text);
            vt__sim_record(s, now, o);
            if (x->text)
                vt_session_text(ss, x->text, now);
            else
                vt_session_key(ss, now);
        } else if (te <= now) {
            vt_vexec_run_until(s->vx, now);
        } else if (next_frame <= now) {
            if (mic_pos + frame <= s->mic_n) {
                s->fed = mic_pos + frame;
                vt_session_audio(ss, s->mic + mic_pos, frame, now);
            }
            mic_pos += frame;
            next_frame += FRAME_MS * 1000;
        } else if (next_report <= now) {
            int64_t held = s->client_end_us > now ? s->client_end_us - now : 0;
            uint64_t held_n = (uint64_t)(held * s->cfg.out_rate / 1000000);
            uint64_t played = s->client_received > held_n ? s->client_received - held_n : 0;
            vt_session_playback(ss, played, now);
            next_report += US(s->report_ms / 1000.0);
        } else {
            vt_session_tick(ss, now);
            last_tick = now;
        }
    }
    free(in);
    return 0;
}

/* ---- output and queries ------------------------------------------------------- */

/* mkdir -p */
static int make_dirs(const char *dir)
{
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s", dir);
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    return mkdir(tmp, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

int vt_sim_write(const vt_sim *s, const char *dir, char *err, size_t errlen)
{
    if (!s || !dir)
        return VT_EINVAL;
    if (make_dirs(dir) != 0) {
        snprintf(err, errlen, "%s: cannot create the output folder (%s)", dir, strerror(errno));
        return VT_EIO;
    }
    char path[2048];
    snprintf(path, sizeof path, "%s/events.jsonl", dir);
    FILE *f = fopen(path, "w");
    if (!f) {
        snprintf(err, errlen, "%s: cannot write (%s)", path, strerror(errno));
        return VT_EIO;
    }
    for (size_t i = 0; i < s->nrec; i++)
        fprintf(f, "%s\n", s->recs[i].json);
    if (fclose(f) != 0) {
        snprintf(err, errlen, "%s: write failed", path);
        return VT_EIO;
    }
    snprintf(path, sizeof path, "%s/out.wav", dir);
    int rc = vt_wav_write(path, s->out, s->out_n, s->cfg.out_rate, err, errlen);
    if (rc)
        return rc;
    snprintf(path, sizeof path, "%s/in.wav", dir);
    return vt_wav_write(path, s->mic, s->mic_n, VT_IN_RATE, err, errlen);
}

void vt_sim_free(vt_sim *s)
{
    if (!s)
        return;
    /* the session first (its jobs are cancelled), then the executor, which
     * completes them and so releases the session */
    vt_session_destroy(s->session);
    vt_vexec_destroy(s->vx);
    vt_clips_free(s->real_fill, s->n_real_fill);
    vt_clips_free(s->real_ack, s->n_real_ack);
    vt__sim_fifo_free(&s->utt_starts);
    vt__sim_fifo_free(&s->kws_starts);
    vt__sim_fifo_free(&s->phrases);
    free(s->hits);
    for (size_t i = 0; i < s->n_brain_opts; i++) {
        free((char *)s->brain_opts[i].key);
        free((char *)s->brain_opts[i].value);
    }
    free(s->brain_opts);
    for (size_t i = 0; i < s->n_items; i++) {
        free(s->items[i].pcm);
        free(s->items[i].text);
    }
    free(s->items);
    for (size_t i = 0; i < s->n_typed; i++)
        free(s->typed[i].text);
    free(s->typed);
    free(s->keys);
    for (size_t i = 0; i < s->n_replies; i++) {
        free(s->replies[i].text);
        free(s->replies[i].error);
    }
    free(s->replies);
    free(s->judge);
    for (int i = 0; i < s->n_fillers; i++) {
        free(s->fillers[i].text);
        free(s->fillers[i].description);
        free(s->fillers[i].pcm);
    }
    for (int i = 0; i < s->n_acks; i++) {
        free(s->acks[i].text);
        free(s->acks[i].description);
        free(s->acks[i].pcm);
    }
    free(s->fillers);
    free(s->acks);
    free(s->filler_clips);
    free(s->ack_clips);
    for (size_t i = 0; i < s->nrec; i++) {
        free(s->recs[i].type);
        free(s->recs[i].json);
    }
    free(s->recs);
    free(s->mic);
    free(s->out);
    free(s);
}

size_t vt_sim_records(const vt_sim *s, const vt_sim_record **recs)
{
    if (!s || !recs)
        return 0;
    *recs = s->recs;
    return s->nrec;
}

const int16_t *vt_sim_output(const vt_sim *s, size_t *n, int *rate)
{
    if (!s)
        return NULL;
    if (n)
        *n = s->out_n;
    if (rate)
        *rate = s->cfg.out_rate;
    return s->out;
}

const vt_core *vt_sim_core(const vt_sim *s)
{
    return s && s->session ? vt_session_core(s->session) : NULL;
}


double vt_sim_duration(const vt_sim *s)
{
    return s ? s->duration : 0;
}
