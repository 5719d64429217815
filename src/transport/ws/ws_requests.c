/*
 * What a WebSocket client sends (see ws_internal.h, docs/PROTOCOL.md
 * "Requests"): binary audio, and JSON text frames dispatched through one
 * request table.
 *
 * Why a table: the request types are named once, here. vt__ws_text_in()
 * is the one place that consults it, so an unknown type, a request before
 * initialize and the list of known types in error messages all come from
 * the same rows (Redis's command table and processCommand()). Handlers
 * check their fields and answer with the builders of
 * src/protocol/messages.h; bad input gets an error with a stable code and
 * never ends the session.
 */
#define _POSIX_C_SOURCE 200809L
#include "transport/ws/ws_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/config_json.h"
#include "protocol/messages.h"
#include "protocol/utf8.h"
#include "util/base64.h"

/* ---- rate limits and audio -------------------------------------------------- */

static int rate_ok(vt__ws_conn *c, double msgs, double samples)
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
        vt__ws_send_error(c, "rate_limited",
                          "too many messages: at most %d JSON messages a second and audio at "
                          "%dx real time; the excess was dropped, slow down",
                          VT_WS_MSGS_PER_S, VT_WS_AUDIO_SPEED);
    }
    return 0;
}

void vt__ws_audio_in(vt__ws_conn *c, const unsigned char *data, size_t len)
{
    if (len % 2) {
        vt__ws_send_error(c, "bad_audio",
                          "audio frame of %zu bytes: PCM must be 16-bit samples (an even number "
                          "of bytes), 16 kHz mono little-endian",
                          len);
        return;
    }
    if (!c->initialized) {
        vt__ws_send_error(c, "not_initialized",
                          "audio before initialize: send {\"type\":\"initialize\"} first");
        return;
    }
    if (!rate_ok(c, 0, (double)(len / 2)))
        return;
    if (len == 0)
        return;
    /* the frame's buffer is malloc'd (the frame, or the decoded base64), so
     * aligned for int16_t; should a caller ever pass bytes at an odd address,
     * they are copied (the host is little-endian) */
    if ((uintptr_t)data % _Alignof(int16_t)) {
        int16_t *pcm = malloc(len);
        if (!pcm)
            return;
        memcpy(pcm, data, len);
        vt_session_audio(c->s, pcm, len / 2, vt_now_us());
        free(pcm);
        return;
    }
    vt_session_audio(c->s, (const int16_t *)(const void *)data, len / 2, vt_now_us());
}

/* ---- fields ------------------------------------------------------------------ */

/* Field access with type checks: 1 present and right, 0 absent, -1 wrong
 * type (error sent). */
static const cJSON *field(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return v && !cJSON_IsNull(v) ? v : NULL;
}

static int get_str(vt__ws_conn *c, const cJSON *o, const char *type, const char *key,
                   const char **out)
{
    const cJSON *v = field(o, key);
    if (!v)
        return 0;
    if (!cJSON_IsString(v)) {
        vt__ws_send_error(c, "bad_field", "%s: '%s' must be a string", type, key);
        return -1;
    }
    *out = v->valuestring;
    return 1;
}

static int get_num(vt__ws_conn *c, const cJSON *o, const char *type, const char *key,
                   double *out)
{
    const cJSON *v = field(o, key);
    if (!v)
        return 0;
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble)) {
        vt__ws_send_error(c, "bad_field", "%s: '%s' must be a number", type, key);
        return -1;
    }
    *out = v->valuedouble;
    return 1;
}

static int get_bool(vt__ws_conn *c, const cJSON *o, const char *type, const char *key, int *out)
{
    const cJSON *v = field(o, key);
    if (!v)
        return 0;
    if (!cJSON_IsBool(v)) {
        vt__ws_send_error(c, "bad_field", "%s: '%s' must be true or false", type, key);
        return -1;
    }
    *out = cJSON_IsTrue(v);
    return 1;
}

/* ---- requests ------------------------------------------------------------------ */

typedef void (*req_fn)(vt__ws_conn *c, const char *type, const cJSON *o, int64_t now);

static void req_ping(vt__ws_conn *c, const char *type, const cJSON *o, int64_t now)
{
    vt__ws_send_json(c, vt_msg_new("pong"), 0);
}

/* initialize's "turn_taking": these settings of the server's configuration,
 * for this session (docs/PROTOCOL.md); out: the configuration to use.
 * 0, or -1 with the error sent. */
static int turn_taking(vt__ws_conn *c, const cJSON *obj, vt_config *out)
{
    static const char *const keys[] = {"preempt_ms",  "resume_ms",    "backchannels",
                                       "interrupt_min_words", "duck_db", "duck_ramp_ms",
                                       "think_silence_ms"};
    if (!cJSON_IsObject(obj)) {
        vt__ws_send_error(c, "bad_field", "initialize: turn_taking must be an object");
        return -1;
    }
    const cJSON *it;
    cJSON_ArrayForEach(it, obj)
    {
        size_t k = 0;
        while (k < sizeof keys / sizeof *keys && strcmp(it->string, keys[k]) != 0)
            k++;
        if (k == sizeof keys / sizeof *keys) {
            char name[64];
            snprintf(name, sizeof name, "%.*s", (int)vt_utf8_cut(it->string, 40), it->string);
            vt__ws_send_error(c, "bad_field",
                              "initialize: turn_taking has no setting '%s' (it takes preempt_ms, "
                              "resume_ms, backchannels, interrupt_min_words, duck_db, "
                              "duck_ramp_ms, think_silence_ms)",
                              name);
            return -1;
        }
    }
    /* the numbers are numbers and the list a list or a string: else
     * bad_field; what then fails is a value out of its range */
    cJSON_ArrayForEach(it, obj)
    {
        int list = strcmp(it->string, "backchannels") == 0;
        if (list ? !(cJSON_IsArray(it) || cJSON_IsString(it)) : !cJSON_IsNumber(it)) {
            vt__ws_send_error(c, "bad_field", "initialize: turn_taking.%s must be %s",
                              it->string, list ? "a list of phrases" : "a number");
            return -1;
        }
    }
    *out = vt_runtime_get_config(c->srv->rt)->core;
    char err[512];
    if (vt_config_apply_json(out, obj, err, sizeof err) != 0) { /* it validates too */
        vt__ws_send_error(c, "out_of_range", "initialize: turn_taking: %s", err);
        return -1;
    }
    return 0;
}

static void req_initialize(vt__ws_conn *c, const char *type, const cJSON *o, int64_t now)
{
    const char *character = NULL, *user = NULL, *aout = NULL, *events = NULL;
    int welcome = 0, ack = 0, has_ack = 0;
    double chunk_ms = VT__WS_JSON_CHUNK_MS;
    if (c->initialized) {
        vt__ws_send_error(c, "already_initialized",
                          "this session is already initialized (character %s); open a new "
                          "connection to start another",
                          vt_session_character(c->s));
        return;
    }
    if (get_str(c, o, type, "character", &character) < 0 ||
        get_str(c, o, type, "user_id", &user) < 0 ||
        get_str(c, o, type, "audio_output", &aout) < 0 ||
        get_str(c, o, type, "events", &events) < 0 ||
        get_bool(c, o, type, "speak_welcome", &welcome) < 0 ||
        (has_ack = get_bool(c, o, type, "acknowledgement", &ack)) < 0 ||
        get_num(c, o, type, "json_chunk_ms", &chunk_ms) < 0)
        return;
    const vt_range *cr = vt_range_find("out_chunk_ms");
    if (!(chunk_ms >= VT_OUT_CHUNK_MIN_MS && chunk_ms <= cr->max)) {
        vt__ws_send_error(c, "out_of_range",
                          "initialize: json_chunk_ms must be between %d and %g ms (got %g)",
                          VT_OUT_CHUNK_MIN_MS, cr->max, chunk_ms);
        return;
    }
    if (aout && strcmp(aout, "json") != 0 && strcmp(aout, "pcm") != 0) {
        vt__ws_send_error(c, "bad_field",
                          "initialize: audio_output must be \"json\" or \"pcm\", not \"%s\"", aout);
        return;
    }
    if (events && strcmp(events, "all") != 0 && strcmp(events, "seed") != 0) {
        vt__ws_send_error(c, "bad_field",
                          "initialize: events must be \"all\" or \"seed\", not \"%s\"", events);
        return;
    }
    /* ours, opt-in: issue 15's turn-taking for this session only */
    vt_config tt;
    const cJSON *tto = cJSON_GetObjectItemCaseSensitive(o, "turn_taking");
    if (tto && turn_taking(c, tto, &tt) != 0)
        return;
    char msg[512];
    if (!vt__ws_admit_session(c->srv, msg, sizeof msg)) {
        vt__ws_send_error(c, "server_full", "%s", msg);
        return;
    }
    vt_session_options so = {.character = character, .user_id = user, .speech = 1,
                             .core = tto ? &tt : NULL};
    vt_session_output out = vt__ws_session_output();
    int rc = vt_session_create(c->srv->rt, &so, &out, c, &c->s, msg, sizeof msg);
    if (rc) {
        vt__ws_send_error(c, "session_error", "the session did not start: %s", msg);
        return;
    }
    c->initialized = 1;
    c->srv->admit.sessions++;
    vt__ws_ops_session_started(c);
    c->pcm_out = aout && strcmp(aout, "pcm") == 0;
    c->events_all = events && strcmp(events, "all") == 0;
    /* seed 003's flow unless asked: no acknowledgement clip; JSON audio in
     * phrase-sized chunks, binary PCM in the core's 20 ms slices */
    vt_core *core = vt_session_core(c->s);
    vt_core_set_acknowledgement(core, has_ack ? ack : c->events_all);
    vt_core_set_out_chunk(core, c->pcm_out ? 0 : (int)(chunk_ms + 0.5));
    c->bucket_us = vt_now_us();
    cJSON *r = vt_msg_initialized(vt_session_core(c->s), vt_session_character(c->s), c->id, msg,
                                  c->pcm_out, c->events_all);
    if (tto) {
        /* the turn-taking this session got, for the client that asked */
        const vt_config *k = vt_core_config(vt_session_core(c->s));
        cJSON *t = cJSON_AddObjectToObject(r, "turn_taking");
        cJSON_AddNumberToObject(t, "preempt_ms", k->preempt_ms);
        cJSON_AddNumberToObject(t, "resume_ms", k->resume_ms);
        cJSON *b = cJSON_AddArrayToObject(t, "backchannels");
        for (int i = 0; i < k->n_backchannels; i++)
            cJSON_AddItemToArray(b, cJSON_CreateString(k->backchannels[i]));
        cJSON_AddNumberToObject(t, "interrupt_min_words", k->interrupt_min_words);
        cJSON_AddNumberToObject(t, "duck_db", k->duck_db);
        cJSON_AddNumberToObject(t, "duck_ramp_ms", k->duck_ramp_ms);
        cJSON_AddNumberToObject(t, "think_silence_ms", k->think_silence_ms);
    }
    vt__ws_send_json(c, r, 0);
    if (welcome) {
        char text[1024];
        /* the message goes out before the welcome's first audio */
        if (vt_session_welcome(c->s, text, sizeof text, vt_now_us()) >= 0)
            vt__ws_send_json(c,
                             vt_msg_welcome(vt_session_core(c->s), vt_session_character(c->s),
                                            text),
                             0);
    }
}

static void req_audio(vt__ws_conn *c, const char *type, const cJSON *o, int64_t now)
{
    const char *b64 = NULL;
    int h = get_str(c, o, type, "audio", &b64);
    if (h == 0)
        vt__ws_send_error(c, "bad_field", "audio: 'audio' (base64 PCM) is required");
    if (h != 1)
        return;
    size_t cap = strlen(b64) / 4 * 3 + 4;
    uint8_t *pcm = malloc(cap);
    long n = pcm ? vt_base64_decode(b64, strlen(b64), pcm, cap) : -1;
    if (n < 0)
        vt__ws_send_error(c, "bad_audio", "audio: 'audio' is not valid base64 (RFC 4648)");
    else
        vt__ws_audio_in(c, pcm, (size_t)n);
    free(pcm);
}

static void req_text_message(vt__ws_conn *c, const char *type, const cJSON *o, int64_t now)
{
    const char *text = NULL;
    int h = get_str(c, o, type, "text", &text);
    if (h == 0 || (h == 1 && vt_session_text(c->s, text, now) != 0))
        vt__ws_send_error(c, "bad_field",
                          "text_message: 'text' must be a non-empty string with words");
}

static void req_configure_interruption(vt__ws_conn *c, const char *type, const cJSON *o,
                                       int64_t now)
{
    vt_core *core = vt_session_core(c->s);
    const vt_config *cfg = vt_core_config(core);
    double thr = cfg->interrupt_threshold, cd = cfg->interrupt_cooldown_ms / 1000.0;
    const char *mode = NULL;
    if (get_num(c, o, type, "threshold", &thr) < 0 || get_num(c, o, type, "cooldown", &cd) < 0 ||
        get_str(c, o, type, "mode", &mode) < 0)
        return;
    vt_interrupt_mode m = cfg->interrupt_mode;
    if (mode && vt_mode_parse(mode, &m) != 0) {
        vt__ws_send_error(c, "bad_field",
                          "configure_interruption: mode must be \"commands\", \"speech\" or "
                          "\"both\", not \"%s\"; settings unchanged",
                          mode);
        return;
    }
    /* the core checks the same ranges (vt_ranges); checking first keeps
     * the mode unchanged too when a number is out of range */
    const vt_range *tr = vt_range_find("interrupt_threshold");
    const vt_range *cr = vt_range_find("interrupt_cooldown_ms");
    if (!(thr >= tr->min && thr <= tr->max) ||
        !(cd >= cr->min / 1000.0 && cd <= cr->max / 1000.0)) {
        vt__ws_send_error(c, "out_of_range",
                          "configure_interruption: threshold must be %.1f-%.1f (got %g) and "
                          "cooldown %.1f-%.1f s (got %g); settings unchanged",
                          tr->min, tr->max, thr, cr->min / 1000.0, cr->max / 1000.0, cd);
        return;
    }
    char err[256];
    if (vt_core_configure_interruption(core, thr, cd, err, sizeof err) != 0) {
        vt__ws_send_error(c, "out_of_range", "configure_interruption: %s; settings unchanged",
                          err);
        return;
    }
    vt_core_set_mode(core, m);
    vt__ws_send_json(c, vt_msg_interruption_configured(core), 0);
}

static void req_enable_interruption(vt__ws_conn *c, const char *type, const cJSON *o,
                                    int64_t now)
{
    int en = 0;
    int h = get_bool(c, o, type, "enabled", &en);
    if (h < 0)
        return;
    if (h == 0) {
        vt__ws_send_error(c, "bad_field",
                          "enable_interruption: 'enabled' (true or false) is required");
        return;
    }
    vt_core_enable_interruption(vt_session_core(c->s), en);
    vt__ws_send_json(c, vt_msg_interruption_toggled(en), 0);
}

static void req_get_interruption_stats(vt__ws_conn *c, const char *type, const cJSON *o,
                                       int64_t now)
{
    vt__ws_send_json(c, vt_msg_interruption_stats(vt_session_core(c->s)), 0);
}

static void req_get_performance_summary(vt__ws_conn *c, const char *type, const cJSON *o,
                                        int64_t now)
{
    cJSON *r = vt_msg_performance_summary(vt_session_core(c->s));
    if (c->events_all) {
        /* ours, for clients that opted in: the server's load and capacity */
        const vt__ws_admit *a = &c->srv->admit;
        cJSON *srv = cJSON_AddObjectToObject(r, "server");
        cJSON_AddNumberToObject(srv, "sessions", a->sessions);
        cJSON_AddNumberToObject(srv, "capacity", a->capacity);
        cJSON_AddNumberToObject(srv, "cpu_load", (double)(int)(a->load * 1000 + 0.5) / 1000);
        cJSON_AddNumberToObject(srv, "max_load", a->max_load);
    }
    vt__ws_send_json(c, r, 0);
}

static void req_interrupt(vt__ws_conn *c, const char *type, const cJSON *o, int64_t now)
{
    /* 0: this key interrupted (interruption_detected is already queued);
     * VT_ESTATE: there was no answer to interrupt */
    if (vt_session_key(c->s, now) != 0)
        vt__ws_send_json(c, vt_msg_interrupt_ignored(vt_session_core(c->s)), 0);
}

static void req_playback_position(vt__ws_conn *c, const char *type, const cJSON *o, int64_t now)
{
    double v = 0;
    int h = get_num(c, o, type, "samples", &v);
    /* a day of output audio: far beyond any session, far below 2^53 */
    double max = (double)vt_core_config(vt_session_core(c->s))->out_rate * VT_WS_MAX_PLAYBACK_S;
    if (h == 0 || (h == 1 && v < 0))
        vt__ws_send_error(c, "bad_field",
                          "playback_position: 'samples' must be a number of samples played (>= 0)");
    else if (h == 1 && v > max)
        vt__ws_send_error(c, "out_of_range",
                          "playback_position: 'samples' %.0f is more than a day of audio (%.0f "
                          "samples at %d Hz); ignored",
                          v, max, vt_core_config(vt_session_core(c->s))->out_rate);
    else if (h == 1)
        vt_session_playback(c->s, (uint64_t)v, now);
}

/* Every request a client may send, in the order error messages list them. */
static const struct request {
    const char *name;
    req_fn handler;
    int needs_init;               /* refused with not_initialized before initialize */
} k_requests[] = {
    {"initialize", req_initialize, 0},
    {"audio", req_audio, 1},
    {"text_message", req_text_message, 1},
    {"configure_interruption", req_configure_interruption, 1},
    {"enable_interruption", req_enable_interruption, 1},
    {"get_interruption_stats", req_get_interruption_stats, 1},
    {"get_performance_summary", req_get_performance_summary, 1},
    {"interrupt", req_interrupt, 1},
    {"playback_position", req_playback_position, 1},
    {"ping", req_ping, 0},
};
#define N_REQUESTS (sizeof k_requests / sizeof *k_requests)

static const struct request *find_request(const char *name)
{
    for (size_t i = 0; i < N_REQUESTS; i++)
        if (strcmp(k_requests[i].name, name) == 0)
            return &k_requests[i];
    return NULL;
}

/* "initialize, audio, ...": the names of the table, for error messages. */
static const char *known_types(void)
{
    static char list[512];
    if (!list[0]) {
        size_t l = 0;
        for (size_t i = 0; i < N_REQUESTS && l < sizeof list; i++)
            l += (size_t)snprintf(list + l, sizeof list - l, "%s%s", i ? ", " : "",
                                  k_requests[i].name);
    }
    return list;
}

/* One JSON object and nothing but white space after it, or NULL. */
static cJSON *parse_object(const char *data, size_t len)
{
    const char *end = NULL;
    cJSON *o = cJSON_ParseWithLengthOpts(data, len, &end, 0);
    while (o && end && end < data + len &&
           (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n'))
        end++;
    if (o && (!cJSON_IsObject(o) || (end && end < data + len))) {
        cJSON_Delete(o);
        o = NULL;
    }
    return o;
}

/* Does a string of this (well-formed) JSON hold the escape \u0000? cJSON
 * would end the string there: "ping\u0000x" would read as "ping". */
static int has_nul_escape(const char *p, size_t n)
{
    int in_str = 0;
    for (size_t i = 0; i < n; i++) {
        if (!in_str) {
            in_str = p[i] == '"';
        } else if (p[i] == '"') {
            in_str = 0;
        } else if (p[i] == '\\' && i + 1 < n) {
            if (p[i + 1] == 'u' && i + 5 < n && memcmp(p + i + 2, "0000", 4) == 0)
                return 1;
            i++; /* the escaped character */
        }
    }
    return 0;
}

void vt__ws_text_in(vt__ws_conn *c, const char *data, size_t len)
{
    if (!rate_ok(c, 1, 0))
        return;
    if (!vt_utf8_valid(data, len)) { /* RFC 6455: text is UTF-8; nothing of it is echoed */
        vt__ws_send_error(c, "bad_json",
                          "a text frame must be UTF-8 JSON; this one is not valid UTF-8 "
                          "(%zu bytes)",
                          len);
        return;
    }
    cJSON *o = parse_object(data, len);
    if (!o) {
        vt__ws_send_error(c, "bad_json",
                          "a text frame must be one JSON object such as {\"type\":\"ping\"}; "
                          "this one is not (%zu bytes)",
                          len);
        return;
    }
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "type");
    const struct request *r = NULL;
    if (has_nul_escape(data, len)) {
        vt__ws_send_error(c, "bad_field",
                          "strings must not hold \\u0000 (U+0000): this message was not read");
    } else if (!cJSON_IsString(t) || !t->valuestring[0]) {
        vt__ws_send_error(c, "missing_type", "every message needs a string 'type' (one of: %s)",
                          known_types());
    } else if (!(r = find_request(t->valuestring))) {
        vt__ws_send_error(c, "unknown_type", "unknown message type '%.*s'; known types: %s",
                          (int)vt_utf8_cut(t->valuestring, 63), t->valuestring, known_types());
    } else if (r->needs_init && !c->initialized) {
        vt__ws_send_error(c, "not_initialized",
                          "'%s' before initialize: send {\"type\":\"initialize\"} first", r->name);
    } else {
        r->handler(c, r->name, o, vt_now_us());
    }
    cJSON_Delete(o);
}
