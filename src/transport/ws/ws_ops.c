/*
 * What operators need from `voicetutor serve` (see ws_internal.h):
 *
 *   GET /healthz   200 "ready" or 503 "draining" (a load balancer stops
 *                  sending new learners to an instance that is going away)
 *   GET /metrics   Prometheus text format 0.0.4: sessions, turns,
 *                  interruptions by trigger, interruption-to-flush and
 *                  first-audio histograms, engine errors by code, queue
 *                  depths (worker pools, bytes waiting for clients)
 *   drain          after SIGTERM (vt_ws_drain): new WebSockets are refused
 *                  with 503, a session whose tutor is listening is closed at
 *                  once, one with an answer in progress (thinking, speaking,
 *                  acknowledging) when the answer is over, every one at the
 *                  latest after the bound (vt_ws_config.drain_ms); each close
 *                  says 1001 "server draining: reconnect". Then the loop
 *                  stops.
 *
 * DESIGN: the counters are plain integers of the lws service thread, which
 * alone runs sessions' events, HTTP callbacks and the drain timer, so
 * nothing here locks. The metrics carry no learner data; they are served
 * without the access token, like /healthz, so a scraper and a load
 * balancer need no secret. The drain is a 100 ms sorted-usec timer on the
 * context that walks the list of open connections.
 */
#define _POSIX_C_SOURCE 200809L
#include "transport/ws/ws_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engines/speech/speech.h"
#include "runtime/session.h"

#define N_BUCKETS 12
static const double k_buckets_ms[N_BUCKETS] = {5,   10,  25,   50,   100,  250,
                                               500, 1000, 2500, 5000, 10000, 30000};
#define N_TRIGGERS 5 /* vt_trigger: none, key, command, speech, text */
#define N_ERRCODES 8
#define DRAIN_CLOSE_REASON "server draining: reconnect"

typedef struct histogram {
    unsigned long long le[N_BUCKETS];
    unsigned long long count;
    double sum;
} histogram;

struct vt__ws_ops {
    vt_ws_server *srv;
    vt__ws_conn *conns;           /* open connections, newest first */
    int open;
    unsigned long long sessions_total, refused_draining, turns, drained_closed;
    unsigned long long interruptions[N_TRIGGERS];
    unsigned long long errors_other;
    struct {
        char code[40];
        unsigned long long n;
    } errors[N_ERRCODES];
    histogram interrupt_flush, first_audio;
    /* drain */
    int draining;
    int64_t drain_deadline_us;
    lws_sorted_usec_list_t drain_sul;
};

typedef struct http_reply {
    char *body;
    size_t len;
    unsigned status;
} http_reply;

int vt__ws_ops_create(vt_ws_server *srv)
{
    srv->ops = calloc(1, sizeof *srv->ops);
    if (!srv->ops)
        return VT_ENOMEM;
    srv->ops->srv = srv;
    return 0;
}

void vt__ws_ops_destroy(vt_ws_server *srv)
{
    if (!srv->ops)
        return;
    if (srv->ctx)
        lws_sul_cancel(&srv->ops->drain_sul);
    free(srv->ops);
    srv->ops = NULL;
}

int vt__ws_ops_draining(const vt_ws_server *srv)
{
    return srv->ops && srv->ops->draining;
}

void vt__ws_ops_refused(vt_ws_server *srv)
{
    if (srv->ops)
        srv->ops->refused_draining++;
}

/* ---- connections ---------------------------------------------------------- */

void vt__ws_ops_conn_open(vt__ws_conn *c)
{
    struct vt__ws_ops *o = c->srv->ops;
    if (!o)
        return;
    c->ops_next = o->conns;
    c->ops_prev = NULL;
    if (o->conns)
        o->conns->ops_prev = c;
    o->conns = c;
    o->open++;
    c->ops_listed = 1;
}

vt__ws_conn *vt__ws_ops_conns(vt_ws_server *srv)
{
    return srv->ops ? srv->ops->conns : NULL;
}

void vt__ws_ops_conn_close(vt__ws_conn *c)
{
    struct vt__ws_ops *o = c->srv ? c->srv->ops : NULL;
    if (!o || !c->ops_listed)
        return;
    if (c->ops_prev)
        c->ops_prev->ops_next = c->ops_next;
    else
        o->conns = c->ops_next;
    if (c->ops_next)
        c->ops_next->ops_prev = c->ops_prev;
    c->ops_listed = 0;
    o->open--;
}

void vt__ws_ops_session_started(vt__ws_conn *c)
{
    if (c->srv->ops)
        c->srv->ops->sessions_total++;
}

/* ---- the session's events --------------------------------------------------- */

static void observe(histogram *h, double ms)
{
    if (ms < 0)
        return;
    for (int i = 0; i < N_BUCKETS; i++)
        if (ms <= k_buckets_ms[i])
            h->le[i]++;
    h->count++;
    h->sum += ms;
}

static void count_error(struct vt__ws_ops *o, const char *code)
{
    if (!code || !*code)
        code = "unknown";
    for (int i = 0; i < N_ERRCODES; i++) {
        if (!o->errors[i].code[0]) {
            snprintf(o->errors[i].code, sizeof o->errors[i].code, "%s", code);
            o->errors[i].n = 1;
            return;
        }
        if (strcmp(o->errors[i].code, code) == 0) {
            o->errors[i].n++;
            return;
        }
    }
    o->errors_other++;
}

void vt__ws_ops_event(vt__ws_conn *c, const vt_event *ev)
{
    struct vt__ws_ops *o = c->srv->ops;
    if (!o)
        return;
    switch (ev->type) {
    case VT_EV_PROCESSING_STARTED:
        o->turns++;
        c->await_first_audio = 1;
        break;
    case VT_EV_INTERRUPTION_DETECTED:
        if ((int)ev->trigger >= 0 && (int)ev->trigger < N_TRIGGERS)
            o->interruptions[ev->trigger]++;
        observe(&o->interrupt_flush, ev->latency_ms);
        break;
    case VT_EV_ERROR:
        count_error(o, ev->text2);
        break;
    default:
        break;
    }
}

void vt__ws_ops_audio(vt__ws_conn *c)
{
    struct vt__ws_ops *o = c->srv->ops;
    if (!o || !c->await_first_audio || !c->s)
        return;
    c->await_first_audio = 0;
    vt_metrics m;
    vt_core_metrics(vt_session_core(c->s), &m);
    observe(&o->first_audio, m.last_first_audio_ms);
}

/* ---- /metrics ---------------------------------------------------------------- */

typedef struct buf {
    char *s;
    size_t len, cap;
} buf;

static void bprintf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void bprintf(buf *b, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0)
            return;
        if (b->s && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap ? b->cap * 2 : 8192;
        while (cap < b->len + (size_t)n + 1)
            cap *= 2;
        char *s = realloc(b->s, cap);
        if (!s)
            return;
        b->s = s;
        b->cap = cap;
    }
}

static void put_histogram(buf *b, const char *name, const char *help, const histogram *h)
{
    bprintf(b, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
    for (int i = 0; i < N_BUCKETS; i++)
        bprintf(b, "%s_bucket{le=\"%g\"} %llu\n", name, k_buckets_ms[i] / 1000.0, h->le[i]);
    bprintf(b, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.6f\n%s_count %llu\n", name, h->count, name,
            h->sum / 1000.0, name, h->count);
}

static void put_one(buf *b, const char *name, const char *type, const char *help, double v)
{
    bprintf(b, "# HELP %s %s\n# TYPE %s %s\n%s %.17g\n", name, help, name, type, name, v);
}

static char *metrics_text(vt_ws_server *srv, size_t *len)
{
    struct vt__ws_ops *o = srv->ops;
    buf b = {0};
    size_t out_bytes = 0, out_max = 0;
    int initialized = 0, answering = 0;
    for (vt__ws_conn *c = o->conns; c; c = c->ops_next) {
        out_bytes += c->q_bytes;
        out_max = c->q_bytes > out_max ? c->q_bytes : out_max;
        if (c->s) {
            initialized++;
            answering += vt_core_state(vt_session_core(c->s)) != VT_STATE_LISTENING;
        }
    }
    int cpu = 0, io = 0;
    vt_runtime_queue_depths(srv->rt, &cpu, &io);
    put_one(&b, "voicetutor_up", "gauge", "1 while serving (0 never shows: the process is gone)", 1);
    put_one(&b, "voicetutor_draining", "gauge", "1 after SIGTERM, while sessions are drained",
            o->draining);
    put_one(&b, "voicetutor_connections", "gauge", "open WebSocket connections", o->open);
    put_one(&b, "voicetutor_sessions", "gauge", "sessions (connections past initialize)",
            initialized);
    put_one(&b, "voicetutor_sessions_answering", "gauge",
            "sessions whose tutor is thinking, speaking or acknowledging", answering);
    put_one(&b, "voicetutor_runtime_sessions", "gauge",
            "sessions the runtime still holds (closed ones wait for their last job)",
            vt_runtime_sessions(srv->rt));
    put_one(&b, "voicetutor_sessions_total", "counter", "sessions started", (double)o->sessions_total);
    put_one(&b, "voicetutor_connections_refused_draining_total", "counter",
            "WebSockets refused with 503 while draining", (double)o->refused_draining);
    put_one(&b, "voicetutor_drain_closed_total", "counter",
            "sessions closed by the drain (1001 server draining)", (double)o->drained_closed);
    put_one(&b, "voicetutor_turns_total", "counter", "learner turns the tutor answered",
            (double)o->turns);
    bprintf(&b, "# HELP voicetutor_interruptions_total interruptions of the tutor by trigger\n"
                "# TYPE voicetutor_interruptions_total counter\n");
    for (int t = 1; t < N_TRIGGERS; t++)
        bprintf(&b, "voicetutor_interruptions_total{trigger=\"%s\"} %llu\n",
                vt_trigger_name((vt_trigger)t), o->interruptions[t]);
    put_histogram(&b, "voicetutor_interruption_flush_seconds",
                  "from the interrupting input to the output flush", &o->interrupt_flush);
    put_histogram(&b, "voicetutor_first_audio_seconds",
                  "from the end of the learner's turn to the tutor's first audio",
                  &o->first_audio);
    bprintf(&b, "# HELP voicetutor_engine_errors_total errors reported to clients by code\n"
                "# TYPE voicetutor_engine_errors_total counter\n");
    int any = 0;
    for (int i = 0; i < N_ERRCODES && o->errors[i].code[0]; i++, any++)
        bprintf(&b, "voicetutor_engine_errors_total{code=\"%s\"} %llu\n", o->errors[i].code,
                o->errors[i].n);
    if (o->errors_other || !any)
        bprintf(&b, "voicetutor_engine_errors_total{code=\"other\"} %llu\n", o->errors_other);
    bprintf(&b, "# HELP voicetutor_queue_depth jobs in a worker pool (queued, running, done)\n"
                "# TYPE voicetutor_queue_depth gauge\n"
                "voicetutor_queue_depth{pool=\"cpu\"} %d\nvoicetutor_queue_depth{pool=\"io\"} %d\n",
            cpu, io);
    vt_ps_pool_info pi[2];
    if (vt_runtime_decoders(srv->rt, &pi[0], &pi[1]) == 0) {
        static const char *const kind[2] = {"recogniser", "spotter"};
        bprintf(&b, "# HELP voicetutor_decoders pocketsphinx decoders alive, lent per utterance "
                    "from a pool\n# TYPE voicetutor_decoders gauge\n");
        for (int k = 0; k < 2; k++)
            bprintf(&b, "voicetutor_decoders{kind=\"%s\"} %zu\n", kind[k], pi[k].decoders);
        bprintf(&b, "# HELP voicetutor_decoders_lent decoders in use by a session now\n"
                    "# TYPE voicetutor_decoders_lent gauge\n");
        for (int k = 0; k < 2; k++)
            bprintf(&b, "voicetutor_decoders_lent{kind=\"%s\"} %zu\n", kind[k], pi[k].lent);
        bprintf(&b, "# HELP voicetutor_decoders_made_on_demand_total lends that waited for a "
                    "decoder to be made\n# TYPE voicetutor_decoders_made_on_demand_total counter\n");
        for (int k = 0; k < 2; k++)
            bprintf(&b, "voicetutor_decoders_made_on_demand_total{kind=\"%s\"} %llu\n", kind[k],
                    (unsigned long long)pi[k].made_on_demand);
    }
    put_one(&b, "voicetutor_output_queued_bytes", "gauge",
            "bytes waiting to be written to clients, all connections", (double)out_bytes);
    put_one(&b, "voicetutor_output_queued_bytes_max", "gauge",
            "bytes waiting for the slowest client", (double)out_max);
    *len = b.len;
    return b.s;
}

/* ---- the HTTP routes (an lws protocol behind two callback mounts) ----------- */

static int http_reply_start(struct lws *wsi, http_reply *r, unsigned status, const char *type,
                            char *body, size_t len)
{
    unsigned char hdr[LWS_PRE + 1024], *start = hdr + LWS_PRE, *p = start,
                                       *end = hdr + sizeof hdr - 1;
    r->body = body;
    r->len = len;
    r->status = status;
    if (lws_add_http_common_headers(wsi, status, type, (lws_filepos_t)len, &p, end) ||
        lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CACHE_CONTROL,
                                     (const unsigned char *)"no-store", 8, &p, end) ||
        lws_finalize_write_http_header(wsi, start, &p, end))
        return 1;
    lws_callback_on_writable(wsi);
    return 0;
}

static int ops_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                        size_t len)
{
    http_reply *r = user;
    vt_ws_server *srv = lws_context_user(lws_get_context(wsi));
    switch (reason) {
    case LWS_CALLBACK_HTTP: {
        memset(r, 0, sizeof *r);
        char uri[64] = "";
        lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI);
        if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) <= 0) {
            lws_return_http_status(wsi, HTTP_STATUS_METHOD_NOT_ALLOWED, "GET only");
            return -1;
        }
        if (strcmp(uri, "/healthz") == 0) {
            const char *t = srv->ops->draining ? "draining\n" : "ready\n";
            char *body = strdup(t);
            if (!body)
                return -1;
            return http_reply_start(wsi, r, srv->ops->draining ? 503 : 200,
                                    "text/plain; charset=utf-8", body, strlen(body));
        }
        if (strcmp(uri, "/metrics") == 0) {
            size_t n = 0;
            char *body = metrics_text(srv, &n);
            if (!body)
                return -1;
            return http_reply_start(wsi, r, 200, "text/plain; version=0.0.4; charset=utf-8", body,
                                    n);
        }
        lws_return_http_status(wsi, HTTP_STATUS_NOT_FOUND, NULL);
        return -1;
    }
    case LWS_CALLBACK_HTTP_WRITEABLE: {
        if (!r->body)
            return -1;
        unsigned char *b = malloc(LWS_PRE + r->len);
        if (!b)
            return -1;
        memcpy(b + LWS_PRE, r->body, r->len);
        int w = lws_write(wsi, b + LWS_PRE, r->len, LWS_WRITE_HTTP_FINAL);
        free(b);
        free(r->body);
        r->body = NULL;
        if (w < (int)r->len)
            return -1;
        return lws_http_transaction_completed(wsi) ? -1 : 0;
    }
    case LWS_CALLBACK_CLOSED_HTTP:
        if (r) {
            free(r->body);
            r->body = NULL;
        }
        return 0;
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

const struct lws_protocols vt__ws_ops_protocol = {
    VT__WS_OPS_PROTOCOL, ops_callback, sizeof(http_reply), 0, 0, NULL, 0};

void vt__ws_ops_mounts(vt_ws_server *srv, struct lws_http_mount *next)
{
    static const char *const points[2] = {"/healthz", "/metrics"};
    for (int i = 0; i < 2; i++) {
        struct lws_http_mount *m = &srv->ops_mounts[i];
        memset(m, 0, sizeof *m);
        m->mountpoint = points[i];
        m->mountpoint_len = (unsigned char)strlen(points[i]);
        m->origin = VT__WS_OPS_PROTOCOL;
        m->origin_protocol = LWSMPRO_CALLBACK;
        m->mount_next = i == 0 ? &srv->ops_mounts[1] : next;
    }
}

/* ---- drain -------------------------------------------------------------------- */

static void close_conn(vt__ws_conn *c)
{
    if (c->closing)
        return;
    c->closing = 1;
    c->srv->ops->drained_closed++;
    lws_callback_on_writable(c->wsi);
}

int vt__ws_ops_close_now(vt__ws_conn *c)
{
    lws_close_reason(c->wsi, LWS_CLOSE_STATUS_GOINGAWAY, (unsigned char *)DRAIN_CLOSE_REASON,
                     strlen(DRAIN_CLOSE_REASON));
    return -1;
}

static void drain_tick(lws_sorted_usec_list_t *sul)
{
    struct vt__ws_ops *o = lws_container_of(sul, struct vt__ws_ops, drain_sul);
    int64_t now = vt_now_us();
    int over = now >= o->drain_deadline_us;
    for (vt__ws_conn *c = o->conns; c; c = c->ops_next) {
        int busy = c->s && vt_core_state(vt_session_core(c->s)) != VT_STATE_LISTENING;
        if (!busy || over)
            close_conn(c);
    }
    /* every connection gone, or two seconds past the bound: stop the loop */
    if (!o->conns || now >= o->drain_deadline_us + 2000000) {
        lwsl_user("drained: %llu session(s) closed\n", o->drained_closed);
        vt_ws_stop(o->srv);
        return;
    }
    lws_sul_schedule(o->srv->ctx, 0, &o->drain_sul, drain_tick, 100 * LWS_US_PER_MS);
}

void vt__ws_ops_poll(vt_ws_server *srv)
{
    struct vt__ws_ops *o = srv->ops;
    if (!o || !srv->drain_requested || o->draining)
        return;
    o->draining = 1;
    int ms = srv->cfg.drain_ms > 0 ? srv->cfg.drain_ms : VT_WS_DRAIN_MS_DEFAULT;
    o->drain_deadline_us = vt_now_us() + (int64_t)ms * 1000;
    lwsl_user("draining: %d session(s) open; answers in progress may finish for up to %d ms\n",
              o->open, ms);
    if (!o->conns) {
        vt_ws_stop(srv);
        return;
    }
    lws_sul_schedule(srv->ctx, 0, &o->drain_sul, drain_tick, 1);
}
