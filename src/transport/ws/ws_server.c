/*
 * The WebSocket server of `voicetutor serve` (see ws_server.h): libwebsockets
 * callbacks, one connection = one vt_session, the seed 003 protocol of
 * docs/PROTOCOL.md (requests, events, audio in JSON or binary), bad input
 * answered with stable error codes, rate limits, access token.
 *
 * Everything here runs on the lws service thread. Output to a client is a
 * queue of ready frames written one per WRITEABLE callback; when an
 * interruption is detected the audio still waiting in that queue is
 * dropped, so the client stops hearing the tutor within the pacer's lead.
 */
#define _POSIX_C_SOURCE 200809L
#include "transport/ws/ws_server.h"

#include <libwebsockets.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "util/base64.h"
#include "util/protocol.h"
#include "util/wav.h"

#ifndef VT_WEB_DIR
#define VT_WEB_DIR "web"
#endif

#define MAX_QUEUED_OUT (8u << 20) /* bytes waiting for a slow client */

typedef struct omsg {
    struct omsg *next;
    int binary;
    int audio;                    /* dropped on interruption */
    size_t len;
    unsigned char buf[];          /* LWS_PRE, then the payload */
} omsg;

typedef struct conn {
    struct lws *wsi;
    vt_ws_server *srv;
    vt_session *s;
    char id[40];
    lws_sorted_usec_list_t sul;   /* the session's next tick */
    int sul_armed;
    /* output */
    omsg *q, *q_tail;
    size_t q_bytes;
    /* input */
    unsigned char *rx;
    size_t rx_len, rx_cap;
    int rx_binary, rx_discard;
    /* protocol */
    int initialized, pcm_out, events_all;
    int chunk_id, chunk_kind;
    int interrupted_now;          /* an interruption_detected went out in this call */
    char spoken[512];             /* the answer's words spoken so far (audio_chunk.text) */
    /* rate limits: token buckets */
    double msg_tokens, audio_tokens;
    int64_t bucket_us, last_limit_err_us;
    int closed;
} conn;

struct vt_ws_server {
    vt_ws_config cfg;
    char host[128], token[128], web_dir[1024];
    struct lws_context *ctx;
    struct lws_vhost *vh;
    struct lws_http_mount mount;
    vt_runtime *rt;
    volatile sig_atomic_t stop;
    pthread_mutex_t wake_mu;      /* workers' wake-ups vs the context going away */
    unsigned long next_id;
    int port;
};

/* ---- helpers --------------------------------------------------------------- */

static void timestamp(char *buf, size_t cap)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t l = strftime(buf, cap, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + l, cap - l, ".%03ldZ", ts.tv_nsec / 1000000);
}

static void enqueue(conn *c, const void *data, size_t len, int binary, int audio)
{
    if (c->closed)
        return;
    if (audio && c->q_bytes + len > MAX_QUEUED_OUT)
        return; /* a client that does not read loses audio, not control */
    omsg *m = malloc(sizeof *m + LWS_PRE + len);
    if (!m)
        return;
    m->next = NULL;
    m->binary = binary;
    m->audio = audio;
    m->len = len;
    memcpy(m->buf + LWS_PRE, data, len);
    if (c->q_tail)
        c->q_tail->next = m;
    else
        c->q = m;
    c->q_tail = m;
    c->q_bytes += len;
    lws_callback_on_writable(c->wsi);
}

/* Send a JSON object (consumed), with a timestamp. */
static void send_json(conn *c, cJSON *o, int audio)
{
    char ts[40];
    timestamp(ts, sizeof ts);
    cJSON_AddStringToObject(o, "timestamp", ts);
    char *txt = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (txt) {
        enqueue(c, txt, strlen(txt), 0, audio);
        free(txt);
    }
}

static void send_error(conn *c, const char *code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", "error");
    cJSON_AddStringToObject(o, "code", code);
    cJSON_AddStringToObject(o, "message", msg);
    send_json(c, o, 0);
}

static void drop_queued_audio(conn *c)
{
    omsg **pp = &c->q;
    c->q_tail = NULL;
    while (*pp) {
        omsg *m = *pp;
        if (m->audio) {
            *pp = m->next;
            c->q_bytes -= m->len;
            free(m);
        } else {
            c->q_tail = m;
            pp = &m->next;
        }
    }
}

static const char *state_str(vt_session *s)
{
    return vt_state_name(vt_core_state(vt_session_core(s)));
}

/* ---- session output -------------------------------------------------------- */

static int seed_event(vt_event_type t)
{
    switch (t) {
    case VT_EV_RESPONSE_TEXT:
    case VT_EV_FILLER_STARTED:
    case VT_EV_ACKNOWLEDGEMENT_STARTED:
    case VT_EV_STATE_CHANGED:
        return 0;
    default:
        return 1;
    }
}

static void on_event(void *ud, const vt_event *ev, int64_t now)
{
    conn *c = ud;
    (void)now;
    if (ev->type == VT_EV_INTERRUPTION_DETECTED) {
        drop_queued_audio(c); /* first: nothing more of that answer leaves */
        c->interrupted_now = 1;
    }
    if (ev->type == VT_EV_RESPONSE_START && ev->chunks_sent == 0)
        c->spoken[0] = 0;
    if (ev->type == VT_EV_PROCESSING_STARTED || ev->type == VT_EV_INTERRUPTION_DETECTED) {
        c->chunk_id = 0;
        c->chunk_kind = -1;
        c->spoken[0] = 0;
    }
    if (ev->type == VT_EV_RESPONSE_TEXT && ev->text2)
        snprintf(c->spoken, sizeof c->spoken, "%s", ev->text2);
    if (!c->events_all && !seed_event(ev->type))
        return;
    cJSON *o = vt_event_json(ev, vt_session_character(c->s));
    if (o)
        send_json(c, o, 0);
}

static void on_audio(void *ud, const int16_t *pcm, size_t n, vt_audio_kind kind, int64_t now)
{
    conn *c = ud;
    (void)now;
    if (c->pcm_out) {
        enqueue(c, pcm, n * sizeof *pcm, 1, 1);
        return;
    }
    uint8_t *wav = NULL;
    size_t wn = 0;
    const vt_config *cfg = vt_core_config(vt_session_core(c->s));
    if (vt_wav_encode(pcm, n, cfg->out_rate, &wav, &wn) != 0)
        return;
    size_t cap = vt_base64_len(wn) + 1;
    char *b64 = malloc(cap);
    if (b64 && vt_base64_encode(wav, wn, b64, cap) >= 0) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "type", "audio_chunk");
        if ((int)kind != c->chunk_kind) { /* ids count within the answer, filler, ack */
            c->chunk_kind = (int)kind;
            c->chunk_id = 0;
        }
        cJSON_AddNumberToObject(o, "chunk_id", ++c->chunk_id);
        cJSON_AddNumberToObject(o, "total_chunks", 0);
        cJSON_AddBoolToObject(o, "is_final", 0);
        cJSON_AddStringToObject(o, "text", c->spoken);
        cJSON_AddStringToObject(o, "audio", b64);
        cJSON_AddStringToObject(o, "character", vt_session_character(c->s));
        cJSON_AddStringToObject(o, "kind", kind == VT_AUDIO_ANSWER   ? "answer"
                                           : kind == VT_AUDIO_FILLER ? "filler"
                                                                     : "acknowledgement");
        cJSON_AddNumberToObject(o, "sample_rate", cfg->out_rate);
        send_json(c, o, 1);
    }
    free(b64);
    free(wav);
}

static void tick_cb(lws_sorted_usec_list_t *sul)
{
    conn *c = lws_container_of(sul, conn, sul);
    c->sul_armed = 0;
    if (c->s && !c->closed)
        vt_session_tick(c->s, vt_now_us());
}

static void on_schedule(void *ud, int64_t at)
{
    conn *c = ud;
    if (c->closed)
        return;
    if (at == INT64_MAX) {
        if (c->sul_armed)
            lws_sul_cancel(&c->sul);
        c->sul_armed = 0;
        return;
    }
    int64_t d = at - vt_now_us();
    if (d < 1)
        d = 1;
    lws_sul_schedule(lws_get_context(c->wsi), 0, &c->sul, tick_cb, d);
    c->sul_armed = 1;
}

/* ---- requests ---------------------------------------------------------- */

static int rate_ok(conn *c, double msgs, double samples)
{
    int64_t now = vt_now_us();
    double dt = (double)(now - c->bucket_us) / 1e6;
    c->bucket_us = now;
    c->msg_tokens = fmin(VT_WS_MSGS_PER_S, c->msg_tokens + dt * VT_WS_MSGS_PER_S);
    c->audio_tokens = fmin((double)VT_IN_RATE * 2 * VT_WS_AUDIO_SPEED,
                           c->audio_tokens + dt * VT_IN_RATE * VT_WS_AUDIO_SPEED);
    if (c->msg_tokens >= msgs && c->audio_tokens >= samples) {
        c->msg_tokens -= msgs;
        c->audio_tokens -= samples;
        return 1;
    }
    if (now - c->last_limit_err_us >= 1000000) {
        c->last_limit_err_us = now;
        send_error(c, "rate_limited",
                   "too many messages: at most %d JSON messages a second and audio at %dx "
                   "real time; the excess was dropped, slow down",
                   VT_WS_MSGS_PER_S, VT_WS_AUDIO_SPEED);
    }
    return 0;
}

static void audio_in(conn *c, const unsigned char *data, size_t len)
{
    if (len % 2) {
        send_error(c, "bad_audio",
                   "audio frame of %zu bytes: PCM must be 16-bit samples (an even number of "
                   "bytes), 16 kHz mono little-endian",
                   len);
        return;
    }
    if (!c->initialized) {
        send_error(c, "not_initialized", "audio before initialize: send {\"type\":\"initialize\"} first");
        return;
    }
    if (!rate_ok(c, 0, (double)(len / 2)))
        return;
    if (len == 0)
        return;
    /* data is the start of a malloc'd buffer (the frame, or the decoded
     * base64), so it is aligned for int16_t; the host is little-endian */
    vt_session_audio(c->s, (const int16_t *)(const void *)data, len / 2, vt_now_us());
}

/* Field access with type checks: 1 present and right, 0 absent, -1 wrong type (error sent). */
static int get_str(conn *c, const cJSON *o, const char *type, const char *key, const char **out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsString(v)) {
        send_error(c, "bad_field", "%s: '%s' must be a string", type, key);
        return -1;
    }
    *out = v->valuestring;
    return 1;
}

static int get_num(conn *c, const cJSON *o, const char *type, const char *key, double *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble)) {
        send_error(c, "bad_field", "%s: '%s' must be a number", type, key);
        return -1;
    }
    *out = v->valuedouble;
    return 1;
}

static int get_bool(conn *c, const cJSON *o, const char *type, const char *key, int *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsBool(v)) {
        send_error(c, "bad_field", "%s: '%s' must be true or false", type, key);
        return -1;
    }
    *out = cJSON_IsTrue(v);
    return 1;
}

static cJSON *interruption_settings(vt_session *s)
{
    const vt_config *cfg = vt_core_config(vt_session_core(s));
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "enabled", cfg->interrupt_enabled);
    cJSON_AddNumberToObject(o, "threshold", cfg->interrupt_threshold);
    cJSON_AddNumberToObject(o, "cooldown", cfg->interrupt_cooldown_ms / 1000.0);
    cJSON_AddStringToObject(o, "mode", vt_mode_name(cfg->interrupt_mode));
    return o;
}

static void req_initialize(conn *c, const cJSON *o)
{
    const char *character = NULL, *user = NULL, *aout = NULL, *events = NULL;
    int welcome = 0;
    if (c->initialized) {
        send_error(c, "already_initialized",
                   "this session is already initialized (character %s); open a new connection "
                   "to start another",
                   vt_session_character(c->s));
        return;
    }
    if (get_str(c, o, "initialize", "character", &character) < 0 ||
        get_str(c, o, "initialize", "user_id", &user) < 0 ||
        get_str(c, o, "initialize", "audio_output", &aout) < 0 ||
        get_str(c, o, "initialize", "events", &events) < 0 ||
        get_bool(c, o, "initialize", "speak_welcome", &welcome) < 0)
        return;
    if (aout && strcmp(aout, "json") != 0 && strcmp(aout, "pcm") != 0) {
        send_error(c, "bad_field", "initialize: audio_output must be \"json\" or \"pcm\", not \"%s\"",
                   aout);
        return;
    }
    if (events && strcmp(events, "all") != 0 && strcmp(events, "seed") != 0) {
        send_error(c, "bad_field", "initialize: events must be \"all\" or \"seed\", not \"%s\"",
                   events);
        return;
    }
    char msg[512];
    vt_session_options so = {.character = character, .user_id = user, .speech = 1};
    vt_session_output out = {.event = on_event, .audio = on_audio, .schedule = on_schedule};
    int rc = vt_session_create(c->srv->rt, &so, &out, c, &c->s, msg, sizeof msg);
    if (rc) {
        send_error(c, "session_error", "the session did not start: %s", msg);
        return;
    }
    c->initialized = 1;
    c->pcm_out = aout && strcmp(aout, "pcm") == 0;
    c->events_all = events && strcmp(events, "all") == 0;
    c->bucket_us = vt_now_us();
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "type", "initialized");
    cJSON_AddStringToObject(r, "character", vt_session_character(c->s));
    cJSON_AddStringToObject(r, "session_id", c->id);
    cJSON_AddStringToObject(r, "message", msg);
    cJSON_AddStringToObject(r, "conversation_state", state_str(c->s));
    cJSON_AddBoolToObject(r, "session_active", 1);
    cJSON_AddNumberToObject(r, "sample_rate", vt_core_config(vt_session_core(c->s))->out_rate);
    cJSON_AddStringToObject(r, "audio_output", c->pcm_out ? "pcm" : "json");
    cJSON_AddStringToObject(r, "events", c->events_all ? "all" : "seed");
    cJSON_AddItemToObject(r, "interruption", interruption_settings(c->s));
    send_json(c, r, 0);
    if (welcome) {
        char text[1024];
        /* the message goes out before the welcome's first audio */
        cJSON *w = cJSON_CreateObject();
        if (vt_session_welcome(c->s, text, sizeof text, vt_now_us()) >= 0) {
            cJSON_AddStringToObject(w, "type", "welcome_message");
            cJSON_AddStringToObject(w, "character", vt_session_character(c->s));
            cJSON_AddStringToObject(w, "text", text);
            cJSON_AddStringToObject(w, "conversation_state", state_str(c->s));
            send_json(c, w, 0);
        } else {
            cJSON_Delete(w);
        }
    }
}

static void req_configure(conn *c, const cJSON *o)
{
    vt_core *core = vt_session_core(c->s);
    const vt_config *cfg = vt_core_config(core);
    double thr = cfg->interrupt_threshold, cd = cfg->interrupt_cooldown_ms / 1000.0;
    const char *mode = NULL;
    int ht = get_num(c, o, "configure_interruption", "threshold", &thr);
    if (ht < 0)
        return;
    int hc = get_num(c, o, "configure_interruption", "cooldown", &cd);
    if (hc < 0 || get_str(c, o, "configure_interruption", "mode", &mode) < 0)
        return;
    vt_interrupt_mode m = cfg->interrupt_mode;
    if (mode && vt_mode_parse(mode, &m) != 0) {
        send_error(c, "bad_field",
                   "configure_interruption: mode must be \"commands\", \"speech\" or \"both\", "
                   "not \"%s\"; settings unchanged",
                   mode);
        return;
    }
    if (thr < 0.5 || thr > 3.0 || cd < 0.1 || cd > 5.0) {
        send_error(c, "out_of_range",
                   "configure_interruption: threshold must be 0.5-3.0 (got %g) and cooldown "
                   "0.1-5.0 s (got %g); settings unchanged",
                   thr, cd);
        return;
    }
    char err[256];
    if (vt_core_configure_interruption(core, thr, cd, err, sizeof err) != 0) {
        send_error(c, "out_of_range", "configure_interruption: %s; settings unchanged", err);
        return;
    }
    vt_core_set_mode(core, m);
    cfg = vt_core_config(core);
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "type", "interruption_configured");
    cJSON_AddNumberToObject(r, "threshold", cfg->interrupt_threshold);
    cJSON_AddNumberToObject(r, "cooldown", cfg->interrupt_cooldown_ms / 1000.0);
    cJSON_AddStringToObject(r, "mode", vt_mode_name(cfg->interrupt_mode));
    send_json(c, r, 0);
}

static void req_enable(conn *c, const cJSON *o)
{
    int en = 0;
    int h = get_bool(c, o, "enable_interruption", "enabled", &en);
    if (h < 0)
        return;
    if (h == 0) {
        send_error(c, "bad_field", "enable_interruption: 'enabled' (true or false) is required");
        return;
    }
    vt_core_enable_interruption(vt_session_core(c->s), en);
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "type", "interruption_toggled");
    cJSON_AddBoolToObject(r, "interruption_enabled", en);
    send_json(c, r, 0);
}

static void req_stats(conn *c, int summary)
{
    vt_core *core = vt_session_core(c->s);
    const vt_config *cfg = vt_core_config(core);
    vt_metrics m;
    vt_core_metrics(core, &m);
    cJSON *r = cJSON_CreateObject();
    if (!summary) {
        cJSON_AddStringToObject(r, "type", "interruption_stats");
        cJSON_AddBoolToObject(r, "interruption_enabled", cfg->interrupt_enabled);
        cJSON_AddNumberToObject(r, "interruption_threshold", cfg->interrupt_threshold);
        cJSON_AddNumberToObject(r, "total_interruptions", m.total_interruptions);
        cJSON_AddNumberToObject(r, "avg_interruption_latency_ms", m.avg_latency_ms);
        cJSON_AddBoolToObject(r, "has_active_tts", vt_core_is_audio_playing(core));
    } else {
        cJSON_AddStringToObject(r, "type", "performance_summary");
        cJSON *ip = cJSON_AddObjectToObject(r, "interruption_performance");
        cJSON_AddNumberToObject(ip, "total_interruptions", m.total_interruptions);
        cJSON_AddNumberToObject(ip, "avg_latency_ms", m.avg_latency_ms);
        cJSON_AddNumberToObject(ip, "max_latency_ms", m.max_latency_ms);
        cJSON_AddNumberToObject(ip, "min_latency_ms", m.min_latency_ms);
        cJSON_AddBoolToObject(ip, "target_met", m.target_met);
        cJSON_AddBoolToObject(ip, "enabled", cfg->interrupt_enabled);
        cJSON_AddNumberToObject(ip, "threshold", cfg->interrupt_threshold);
        cJSON_AddNumberToObject(ip, "cooldown", cfg->interrupt_cooldown_ms / 1000.0);
        cJSON *rp = cJSON_AddObjectToObject(r, "response_performance");
        cJSON_AddNumberToObject(rp, "turns", m.turns);
        cJSON_AddNumberToObject(rp, "last_first_audio_ms", m.last_first_audio_ms);
        cJSON_AddNumberToObject(rp, "last_first_answer_ms", m.last_first_answer_ms);
    }
    send_json(c, r, 0);
}

static const char *k_types =
    "initialize, audio, text_message, configure_interruption, enable_interruption, "
    "get_interruption_stats, get_performance_summary, interrupt, playback_position, ping";

/* Is type one of the names in k_types (a ", "-separated list)? */
static int known_type(const char *type)
{
    size_t l = strlen(type);
    for (const char *p = k_types; *p;) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n == l && strncmp(p, type, l) == 0)
            return 1;
        p = e ? e + 2 : p + n;
    }
    return 0;
}

static void text_in(conn *c, const char *data, size_t len)
{
    if (!rate_ok(c, 1, 0))
        return;
    const char *end = NULL;
    cJSON *o = cJSON_ParseWithLengthOpts(data, len, &end, 0);
    while (o && end && end < data + len && (*end == ' ' || *end == '\t' || *end == '\r' ||
                                            *end == '\n'))
        end++;
    if (o && end && end < data + len) { /* something after the object */
        cJSON_Delete(o);
        o = NULL;
    }
    if (!o || !cJSON_IsObject(o)) {
        send_error(c, "bad_json",
                   "a text frame must be one JSON object such as {\"type\":\"ping\"}; this one "
                   "is not (%zu bytes)",
                   len);
        cJSON_Delete(o);
        return;
    }
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "type");
    if (!cJSON_IsString(t) || !t->valuestring[0]) {
        send_error(c, "missing_type", "every message needs a string 'type' (one of: %s)", k_types);
        cJSON_Delete(o);
        return;
    }
    const char *type = t->valuestring;
    int64_t now = vt_now_us();
    if (strcmp(type, "ping") == 0) {
        cJSON *r = cJSON_CreateObject();
        cJSON_AddStringToObject(r, "type", "pong");
        send_json(c, r, 0);
    } else if (strcmp(type, "initialize") == 0) {
        req_initialize(c, o);
    } else if (!known_type(type)) {
        char shown[64];
        snprintf(shown, sizeof shown, "%s", type);
        send_error(c, "unknown_type", "unknown message type '%s'; known types: %s", shown, k_types);
    } else if (!c->initialized) {
        send_error(c, "not_initialized", "'%s' before initialize: send {\"type\":\"initialize\"} first",
                   type);
    } else if (strcmp(type, "audio") == 0) {
        const char *b64 = NULL;
        int h = get_str(c, o, type, "audio", &b64);
        if (h == 0)
            send_error(c, "bad_field", "audio: 'audio' (base64 PCM) is required");
        if (h == 1) {
            size_t cap = strlen(b64) / 4 * 3 + 4;
            uint8_t *pcm = malloc(cap);
            long n = pcm ? vt_base64_decode(b64, strlen(b64), pcm, cap) : -1;
            if (n < 0)
                send_error(c, "bad_audio", "audio: 'audio' is not valid base64 (RFC 4648)");
            else
                audio_in(c, pcm, (size_t)n);
            free(pcm);
        }
    } else if (strcmp(type, "text_message") == 0) {
        const char *text = NULL;
        int h = get_str(c, o, type, "text", &text);
        if (h == 0 || (h == 1 && vt_session_text(c->s, text, now) != 0))
            send_error(c, "bad_field", "text_message: 'text' must be a non-empty string with words");
    } else if (strcmp(type, "configure_interruption") == 0) {
        req_configure(c, o);
    } else if (strcmp(type, "enable_interruption") == 0) {
        req_enable(c, o);
    } else if (strcmp(type, "get_interruption_stats") == 0) {
        req_stats(c, 0);
    } else if (strcmp(type, "get_performance_summary") == 0) {
        req_stats(c, 1);
    } else if (strcmp(type, "interrupt") == 0) {
        c->interrupted_now = 0;
        vt_session_key(c->s, now);
        if (!c->interrupted_now) {
            cJSON *r = cJSON_CreateObject();
            cJSON_AddStringToObject(r, "type", "interrupt_ignored");
            cJSON_AddStringToObject(r, "reason", "the tutor is not speaking");
            cJSON_AddStringToObject(r, "conversation_state", state_str(c->s));
            send_json(c, r, 0);
        }
    } else if (strcmp(type, "playback_position") == 0) {
        double v = 0;
        int h = get_num(c, o, type, "samples", &v);
        if (h == 0 || (h == 1 && (v < 0 || v > 1e15)))
            send_error(c, "bad_field",
                       "playback_position: 'samples' must be a number of samples played (>= 0)");
        else if (h == 1)
            vt_session_playback(c->s, (uint64_t)v, now);
    }
    cJSON_Delete(o);
}

/* ---- libwebsockets --------------------------------------------------------- */

static int token_ok(vt_ws_server *srv, struct lws *wsi)
{
    if (!srv->token[0])
        return 1;
    char buf[256];
    if (lws_get_urlarg_by_name(wsi, "token=", buf, sizeof buf) == NULL)
        return 0;
    const char *v = buf + strlen("token=");
    size_t a = strlen(v), b = strlen(srv->token);
    unsigned diff = (unsigned)(a ^ b);
    for (size_t i = 0; i < a && i < b; i++)
        diff |= (unsigned)(v[i] ^ srv->token[i]);
    return diff == 0;
}

static void conn_close(conn *c)
{
    if (!c || !c->srv || c->closed)
        return; /* refused at the handshake: never established */
    c->closed = 1;
    if (c->sul_armed)
        lws_sul_cancel(&c->sul);
    c->sul_armed = 0;
    if (c->s)
        vt_session_destroy(c->s);
    c->s = NULL;
    while (c->q) {
        omsg *n = c->q->next;
        free(c->q);
        c->q = n;
    }
    c->q_tail = NULL;
    free(c->rx);
    c->rx = NULL;
    if (!c->srv->cfg.quiet)
        lwsl_user("session %s closed\n", c->id);
}

static int rx_append(conn *c, const void *in, size_t len)
{
    if (c->rx_len + len > c->rx_cap) {
        size_t cap = c->rx_cap ? c->rx_cap : 4096;
        while (cap < c->rx_len + len)
            cap *= 2;
        unsigned char *n = realloc(c->rx, cap);
        if (!n)
            return -1;
        c->rx = n;
        c->rx_cap = cap;
    }
    memcpy(c->rx + c->rx_len, in, len);
    c->rx_len += len;
    return 0;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    conn *c = user;
    vt_ws_server *srv = lws_context_user(lws_get_context(wsi));
    switch (reason) {
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        if (srv && srv->rt)
            vt_runtime_drain(srv->rt);
        return 0;
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION: {
        char uri[256] = "";
        lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI);
        if (strcmp(uri, "/ws/audio") != 0 && strcmp(uri, "/ws") != 0) {
            lwsl_user("refused a WebSocket at '%s': the protocol is at /ws/audio\n", uri);
            return -1;
        }
        if (!token_ok(srv, wsi)) {
            lwsl_user("refused a WebSocket without the right access token\n");
            lws_return_http_status(wsi, HTTP_STATUS_UNAUTHORIZED,
                                   "voicetutor: an access token is required (?token=...)");
            return -1;
        }
        return 0;
    }
    case LWS_CALLBACK_ESTABLISHED: {
        memset(c, 0, sizeof *c);
        c->wsi = wsi;
        c->srv = srv;
        snprintf(c->id, sizeof c->id, "s%lu-%lx", ++srv->next_id, (unsigned long)vt_now_us());
        c->msg_tokens = VT_WS_MSGS_PER_S;
        c->audio_tokens = (double)VT_IN_RATE * 2 * VT_WS_AUDIO_SPEED;
        c->bucket_us = vt_now_us();
        if (!srv->cfg.quiet)
            lwsl_user("session %s connected\n", c->id);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "type", "connected");
        cJSON_AddStringToObject(o, "session_id", c->id);
        send_json(c, o, 0);
        return 0;
    }
    case LWS_CALLBACK_RECEIVE: {
        int first = lws_is_first_fragment(wsi), final = lws_is_final_fragment(wsi);
        if (first) {
            c->rx_len = 0;
            c->rx_binary = lws_frame_is_binary(wsi);
            c->rx_discard = 0;
        }
        size_t limit = c->rx_binary ? VT_WS_MAX_BINARY : VT_WS_MAX_TEXT;
        if (!c->rx_discard && c->rx_len + len > limit) {
            c->rx_discard = 1;
            if (c->rx_binary)
                send_error(c, "frame_too_large",
                           "binary frame over %d KiB: send audio in frames of 20-100 ms "
                           "(640-3200 bytes); this one was dropped",
                           VT_WS_MAX_BINARY / 1024);
            else
                send_error(c, "message_too_large",
                           "text message over %d MiB: this one was dropped",
                           VT_WS_MAX_TEXT / (1024 * 1024));
        }
        if (!c->rx_discard && rx_append(c, in, len) != 0)
            c->rx_discard = 1;
        if (!final)
            return 0;
        if (c->rx_discard) {
            c->rx_len = 0;
            return 0;
        }
        if (c->rx_binary)
            audio_in(c, c->rx, c->rx_len);
        else
            text_in(c, (const char *)c->rx, c->rx_len);
        c->rx_len = 0;
        if (c->rx_cap > (256u << 10)) { /* don't keep a big buffer around */
            free(c->rx);
            c->rx = NULL;
            c->rx_cap = 0;
        }
        return 0;
    }
    case LWS_CALLBACK_SERVER_WRITEABLE: {
        omsg *m = c->q;
        if (!m)
            return 0;
        c->q = m->next;
        if (!c->q)
            c->q_tail = NULL;
        c->q_bytes -= m->len;
        int w = lws_write(wsi, m->buf + LWS_PRE, m->len, m->binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT);
        free(m);
        if (w < 0)
            return -1;
        if (c->q)
            lws_callback_on_writable(wsi);
        return 0;
    }
    case LWS_CALLBACK_CLOSED:
        conn_close(c);
        return 0;
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols k_protocols[] = {
    {"voicetutor", callback, sizeof(conn), 65536, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0}};

static void wake(void *ud)
{
    vt_ws_server *srv = ud;
    pthread_mutex_lock(&srv->wake_mu);
    if (srv->ctx)
        lws_cancel_service(srv->ctx);
    pthread_mutex_unlock(&srv->wake_mu);
}

int vt_ws_host_is_loopback(const char *h)
{
    return !h || !h[0] || strcmp(h, "127.0.0.1") == 0 || strcmp(h, "localhost") == 0 ||
           strcmp(h, "::1") == 0 || strncmp(h, "127.", 4) == 0;
}

void vt_ws_config_default(vt_ws_config *c)
{
    memset(c, 0, sizeof *c);
    c->host = "127.0.0.1";
    c->port = 8080;
    c->web_dir = VT_WEB_DIR;
    vt_runtime_config_default(&c->runtime);
}

int vt_ws_create(const vt_ws_config *cfg, vt_ws_server **out, char *err, size_t errlen)
{
    *out = NULL;
    vt_ws_server *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return VT_ENOMEM;
    }
    s->cfg = *cfg;
    pthread_mutex_init(&s->wake_mu, NULL);
    snprintf(s->host, sizeof s->host, "%s", cfg->host ? cfg->host : "127.0.0.1");
    snprintf(s->token, sizeof s->token, "%s", cfg->token ? cfg->token : "");
    snprintf(s->web_dir, sizeof s->web_dir, "%s", cfg->web_dir ? cfg->web_dir : VT_WEB_DIR);
    if (!vt_ws_host_is_loopback(s->host) && !s->token[0]) {
        snprintf(err, errlen,
                 "listening on %s lets other machines talk to the tutor: give an access token "
                 "with --token TOKEN (or VOICETUTOR_TOKEN=TOKEN), or listen on 127.0.0.1",
                 s->host);
        free(s);
        return VT_EINVAL;
    }
    vt_runtime_config rc = cfg->runtime;
    rc.wake = wake;
    rc.wake_ud = s;
    int r = vt_runtime_create(&rc, &s->rt, err, errlen);
    if (r) {
        free(s);
        return r;
    }
    lws_set_log_level(cfg->quiet ? LLL_ERR : LLL_ERR | LLL_WARN | LLL_USER, NULL);
    s->mount.mountpoint = "/";
    s->mount.mountpoint_len = 1;
    s->mount.origin = s->web_dir;
    s->mount.def = "index.html";
    s->mount.origin_protocol = LWSMPRO_FILE;
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = cfg->port;
    info.iface = s->host;
    info.protocols = k_protocols;
    info.mounts = &s->mount;
    info.user = s;
    info.options = 0;
    if (strchr(s->host, ':') == NULL)
        info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
    s->ctx = lws_create_context(&info);
    if (!s->ctx) {
        snprintf(err, errlen, "cannot listen on %s:%d (is the port in use? try --port)", s->host,
                 cfg->port);
        vt_runtime_destroy(s->rt);
        free(s);
        return VT_EIO;
    }
    s->vh = lws_get_vhost_by_name(s->ctx, "default");
    s->port = s->vh ? lws_get_vhost_listen_port(s->vh) : cfg->port;
    *out = s;
    return 0;
}

int vt_ws_port(const vt_ws_server *s)
{
    return s->port;
}

int vt_ws_run(vt_ws_server *s)
{
    while (!s->stop)
        if (lws_service(s->ctx, 0) < 0)
            break;
    return 0;
}

void vt_ws_stop(vt_ws_server *s)
{
    s->stop = 1;
    if (s->ctx)
        lws_cancel_service(s->ctx);
}

void vt_ws_destroy(vt_ws_server *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->wake_mu);
    struct lws_context *ctx = s->ctx;
    s->ctx = NULL; /* workers stop waking it */
    pthread_mutex_unlock(&s->wake_mu);
    if (ctx)
        lws_context_destroy(ctx); /* closes every connection: sessions destroyed */
    if (s->rt) {
        vt_runtime_drain(s->rt);
        vt_runtime_destroy(s->rt); /* completes what is left: sessions freed */
    }
    pthread_mutex_destroy(&s->wake_mu);
    free(s);
}
