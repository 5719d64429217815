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
    lws_sorted_usec_list_t sul;   /* the session's next tick */
    int sul_armed;
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
} vt__ws_conn;

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
};

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

/* ws_requests.c */
void vt__ws_text_in(vt__ws_conn *c, const char *data, size_t len);
void vt__ws_audio_in(vt__ws_conn *c, const unsigned char *data, size_t len);

#endif
