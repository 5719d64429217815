/*
 * What a WebSocket client receives (see ws_internal.h): a queue of ready
 * frames per connection, written one per WRITEABLE callback by
 * ws_server.c, and the session's output turned into messages.
 *
 * Why the queue: the receiver sets the pace. A client that does not read
 * loses audio (bounded by VT__WS_MAX_QUEUED_OUT), never control messages;
 * when an interruption is detected the audio still waiting here is
 * dropped before interruption_detected is queued, so the client stops
 * hearing the tutor within the pacer's lead.
 */
#define _POSIX_C_SOURCE 200809L
#include "transport/ws/ws_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "protocol/messages.h"
#include "protocol/utf8.h"
#include "util/base64.h"
#include "util/wav.h"

static void timestamp(char *buf, size_t cap)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t l = strftime(buf, cap, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + l, cap - l, ".%03ldZ", ts.tv_nsec / 1000000);
}

void vt__ws_enqueue(vt__ws_conn *c, const void *data, size_t len, int binary, int audio)
{
    if (c->closed)
        return;
    if (audio && c->q_bytes + len > VT__WS_MAX_QUEUED_OUT)
        return; /* a client that does not read loses audio, not control */
    vt__ws_msg *m = malloc(sizeof *m + LWS_PRE + len);
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
    if (c->wsi) /* a connection without a socket: the protocol fuzz harness */
        lws_callback_on_writable(c->wsi);
}

void vt__ws_send_json(vt__ws_conn *c, cJSON *o, int audio)
{
    if (!o)
        return;
    char ts[40];
    timestamp(ts, sizeof ts);
    cJSON_AddStringToObject(o, "timestamp", ts);
    char *txt = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!txt)
        return;
    size_t len = strlen(txt);
    if (!vt_utf8_valid(txt, len)) {
        /* a string cut at a byte limit somewhere: a browser would close
         * the socket (1007), so send U+FFFD for the broken bytes */
        static int warned;
        if (!warned++)
            lwsl_warn("a message had invalid UTF-8 (repaired): %.80s\n", txt);
        char *fixed = vt_utf8_repair(txt, len, &len);
        free(txt);
        if (!(txt = fixed))
            return;
    }
    vt__ws_enqueue(c, txt, len, 0, audio);
    free(txt);
}

void vt__ws_send_error(vt__ws_conn *c, const char *code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *msg = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (!msg)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, (size_t)n + 1, fmt, ap);
    va_end(ap);
    vt__ws_send_json(c, vt_msg_error(code, msg), 0);
    free(msg);
}

static void drop_queued_audio(vt__ws_conn *c)
{
    vt__ws_msg **pp = &c->q;
    c->q_tail = NULL;
    while (*pp) {
        vt__ws_msg *m = *pp;
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

void vt__ws_output_free(vt__ws_conn *c)
{
    while (c->q) {
        vt__ws_msg *n = c->q->next;
        free(c->q);
        c->q = n;
    }
    c->q_tail = NULL;
    c->q_bytes = 0;
    vt_chunk_seq_free(&c->chunks);
}

/* ---- the session's output ------------------------------------------------- */

/* Is this one of seed 003's events (sent to every client), or one of
 * voicetutor's own (sent with "events":"all")? */
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
    vt__ws_conn *c = ud;
    (void)now;
    if (ev->type == VT_EV_INTERRUPTION_DETECTED)
        drop_queued_audio(c); /* first: nothing more of that answer leaves */
    vt_chunk_seq_event(&c->chunks, ev);
    vt__ws_ops_event(c, ev);
    if (!c->events_all && !seed_event(ev->type))
        return;
    vt__ws_send_json(c, vt_event_json(ev, vt_session_character(c->s)), 0);
}

static void on_audio(void *ud, const int16_t *pcm, size_t n, vt_audio_kind kind, int64_t now)
{
    vt__ws_conn *c = ud;
    (void)now;
    vt__ws_ops_audio(c);
    if (c->pcm_out) {
        vt__ws_enqueue(c, pcm, n * sizeof *pcm, 1, 1);
        return;
    }
    const vt_core *core = vt_session_core(c->s);
    int rate = vt_core_config(core)->out_rate;
    uint8_t *wav = NULL;
    size_t wn = 0;
    if (vt_wav_encode(pcm, n, rate, &wav, &wn) != 0)
        return;
    size_t cap = vt_base64_len(wn) + 1;
    char *b64 = malloc(cap);
    if (b64 && vt_base64_encode(wav, wn, b64, cap) >= 0) {
        const char *text = "";
        int total = 0;
        int id = vt_chunk_seq_next(&c->chunks, core, kind, &text, &total);
        vt__ws_send_json(c,
                         vt_msg_audio_chunk(id, total, text, b64, vt_session_character(c->s),
                                            kind, rate),
                         1);
    }
    free(b64);
    free(wav);
}

/* The core's actions: an audio action carries its slice's words. */
static void on_action(void *ud, const vt_action *a, int64_t now)
{
    vt__ws_conn *c = ud;
    (void)now;
    if (!c->pcm_out)
        vt_chunk_seq_action(&c->chunks, a);
}

static void on_schedule(void *ud, int64_t at)
{
    vt__ws_conn *c = ud;
    if (c->closed || !c->wsi)
        return;
    if (at != INT64_MAX && at < 0)
        at = 0; /* INT64_MIN: "now" */
    vt__ws_ticker_set(c, at);
}

vt_session_output vt__ws_session_output(void)
{
    vt_session_output out = {.event = on_event, .audio = on_audio, .schedule = on_schedule,
                             .action = on_action};
    return out;
}
