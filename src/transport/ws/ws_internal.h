/*
 * What the files of the WebSocket server share (internal: nothing outside
 * src/transport/ws includes this).
 *
 *   ws_server.c    the lws callback: handshake checks, one connection = one
 *                  conn, frames assembled, the write queue drained when
 *                  writable; the server's create/run/stop/destroy
 *   ws_requests.c  what a client sends: the request table (name, handler,
 *                  needs_init) consulted once per message, field checks,
 *                  audio in, rate limits
 *   ws_output.c    what a client receives: the write queue, JSON stamped
 *                  and queued, the session's events and audio turned into
 *                  messages, the session's timer
 *   ws_access.c    who may connect: the access token, Host and Origin
 *   ws_admit.c     how many may: capacity, the CPU guard
 *
 * The message shapes themselves are in src/protocol/messages.h. Everything
 * here runs on the lws service thread.
 */
#ifndef VT_TRANSPORT_WS_INTERNAL_H
#define VT_TRANSPORT_WS_INTERNAL_H

#include <libwebsockets.h>
#include <pthread.h>
#include <signal.h>

#include <cjson/cJSON.h>

#include "protocol/chunk_seq.h"
#include "transport/ws/ws_server.h"

#define VT__WS_MAX_QUEUED_OUT (8u << 20) /* bytes waiting for a slow client */
#define VT__WS_JSON_CHUNK_MS 200         /* default json_chunk_ms of JSON audio */

typedef struct vt__ws_msg {
    struct vt__ws_msg *next;
    int binary;
    int audio;                    /* dropped on interruption */
    size_t len;
    unsigned char buf[];          /* LWS_PRE, then the payload */
} vt__ws_msg;

typedef struct vt__ws_conn {
    struct lws *wsi;
    vt_ws_server *srv;
    vt_session *s;
    char id[40];
    int64_t tick_at;              /* the session's next tick (ws_ticker.c), INT64_MAX none */
    /* output */
    vt__ws_msg *q, *q_tail;
    size_t q_bytes;
    vt_chunk_seq chunks;          /* audio_chunk ids and text (JSON audio) */
    /* input */
    unsigned char *rx;
    size_t rx_len, rx_cap;
    int rx_binary, rx_discard;
    /* protocol */
    int initialized, pcm_out, events_all;
    /* rate limits: token buckets */
    double msg_tokens, audio_tokens;
    int64_t bucket_us, last_limit_err_us;
    int closed;
    /* ws_ops.c: the list of open connections, the drain, first-audio */
    struct vt__ws_conn *ops_next, *ops_prev;
    int ops_listed, closing, await_first_audio;
} vt__ws_conn;

/* ws_admit.c: how many sessions the server takes, and how busy it is */
typedef struct vt__ws_admit {
    int capacity;                 /* sessions (and connections) at most */
    double max_load;              /* share of the cores above which initialize is refused */
    int cores;
    int conns, sessions;          /* open connections, initialized sessions */
    double load;                  /* share of the cores used over the last second */
    int64_t t_us;
    double cpu_us;
    struct lws_context *ctx;
    lws_sorted_usec_list_t sul;
} vt__ws_admit;
struct vt__ws_ops;

/* ws_ticker.c: the sessions' ticks, woken at the earliest deadline by a
 * thread of their own instead of an lws timer each */
typedef struct vt__ws_ticker {
    pthread_mutex_t mu;
    pthread_cond_t cv;            /* CLOCK_MONOTONIC */
    pthread_t th;
    int64_t next_us;              /* the deadline the thread waits for */
    int stop, started, inited;
} vt__ws_ticker;

struct vt_ws_server {
    vt_ws_config cfg;
    char host[128], web_dir[1024];
    char token[VT_WS_MAX_TOKEN + 1]; /* zero-padded: compared over its whole size */
    struct lws_context *ctx;
    struct lws_vhost *vh;
    struct lws_http_mount mount;
    vt_runtime *rt;
    volatile sig_atomic_t stop;
    pthread_mutex_t wake_mu;      /* workers' wake-ups vs the context going away */
    unsigned long next_id;
    int port;
    char **allow_origins, **allow_hosts; /* copies of the config's lists */
    size_t n_allow_origins, n_allow_hosts;
    vt__ws_admit admit;
    struct vt__ws_ops *ops;       /* ws_ops.c: metrics, connections, drain */
    struct lws_http_mount ops_mounts[2]; /* /healthz, /metrics */
    volatile sig_atomic_t drain_requested;
    vt__ws_ticker ticker;
};

/* ws_server.c: wake the loop from another thread (lws_cancel_service) */
void vt__ws_wake(vt_ws_server *srv);
/* ws_ticker.c */
int vt__ws_ticker_start(vt_ws_server *srv);
void vt__ws_ticker_stop(vt_ws_server *srv);
/* Loop thread: c's next tick at `at` (INT64_MAX: none). The connections
 * ticked are ws_ops.c's list of open ones. */
void vt__ws_ticker_set(vt__ws_conn *c, int64_t at);
/* Loop thread, on each wake: tick the sessions that are due. */
void vt__ws_ticker_run(vt_ws_server *srv);

/* ws_output.c */
/* Queue a frame (copied); audio frames are dropped for a client over
 * VT__WS_MAX_QUEUED_OUT and on interruption. */
void vt__ws_enqueue(vt__ws_conn *c, const void *data, size_t len, int binary, int audio);
/* Stamp a JSON message (consumed) with its timestamp and queue it. */
void vt__ws_send_json(vt__ws_conn *c, cJSON *o, int audio);
void vt__ws_send_error(vt__ws_conn *c, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The session's output callbacks, with the conn as their ud. */
vt_session_output vt__ws_session_output(void);
/* Frees the queue and the chunk sequence (the connection closed). */
void vt__ws_output_free(vt__ws_conn *c);

/* ws_access.c: 1 allowed, 0 refused (see there for the rules) */
int vt__ws_token_ok(const vt_ws_server *srv, struct lws *wsi);
int vt__ws_host_ok(const vt_ws_server *srv, const char *host);
int vt__ws_origin_ok(const vt_ws_server *srv, const char *origin, const char *host);

/* ws_admit.c: 1 admitted, 0 refused with why (what to do) */
void vt__ws_admit_start(vt_ws_server *srv, struct lws_context *ctx);
void vt__ws_admit_stop(vt_ws_server *srv);
int vt__ws_admit_connection(const vt_ws_server *srv, char *why, size_t cap);
int vt__ws_admit_session(const vt_ws_server *srv, char *why, size_t cap);
/* ws_ops.c: /healthz, /metrics, the drain after SIGTERM (see there) */
#define VT__WS_OPS_PROTOCOL "voicetutor-ops"
extern const struct lws_protocols vt__ws_ops_protocol;
int vt__ws_ops_create(vt_ws_server *srv);
void vt__ws_ops_destroy(vt_ws_server *srv);
/* the two callback mounts, chained before next */
void vt__ws_ops_mounts(vt_ws_server *srv, struct lws_http_mount *next);
void vt__ws_ops_conn_open(vt__ws_conn *c);
void vt__ws_ops_conn_close(vt__ws_conn *c);
/* The open connections (ops_next links them), for ws_ticker.c. */
vt__ws_conn *vt__ws_ops_conns(vt_ws_server *srv);
void vt__ws_ops_session_started(vt__ws_conn *c);
void vt__ws_ops_event(vt__ws_conn *c, const vt_event *ev);
void vt__ws_ops_audio(vt__ws_conn *c);
int vt__ws_ops_draining(const vt_ws_server *srv);
void vt__ws_ops_refused(vt_ws_server *srv);
/* on the loop thread after a wake-up: starts the drain once requested */
void vt__ws_ops_poll(vt_ws_server *srv);
/* a conn marked closing whose queue is empty: sets the close reason;
 * returns -1 for the callback to return */
int vt__ws_ops_close_now(vt__ws_conn *c);

/* ws_requests.c */
void vt__ws_text_in(vt__ws_conn *c, const char *data, size_t len);
void vt__ws_audio_in(vt__ws_conn *c, const unsigned char *data, size_t len);

#endif
