/*
 * The WebSocket server of `voicetutor serve` (see ws_server.h): the
 * libwebsockets side. Refuses a handshake at the wrong path or without the
 * access token, gives each connection its conn, assembles fragmented frames
 * (bounded: VT_WS_MAX_BINARY, VT_WS_MAX_TEXT) and hands whole ones to
 * ws_requests.c, writes the output queue of ws_output.c one frame per
 * WRITEABLE callback, and destroys the session when the socket closes.
 *
 * Everything here runs on the lws service thread; workers only wake it
 * (wake(): lws_cancel_service()), and the loop then drains the runtime.
 */
#define _POSIX_C_SOURCE 200809L
#include "transport/ws/ws_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/messages.h"

#ifndef VT_WEB_DIR
#define VT_WEB_DIR "web"
#endif

/* ---- libwebsockets --------------------------------------------------------- */

/* A header's value ("" when absent). */
static void header(struct lws *wsi, enum lws_token_indexes h, char *buf, int cap)
{
    buf[0] = 0;
    if (lws_hdr_total_length(wsi, h) > 0 && lws_hdr_copy(wsi, buf, cap, h) < 0)
        buf[0] = 0;
}

/* Bytes of the request's header block that lws kept (every header it knows;
 * it drops the values of unknown ones). */
static size_t header_bytes(struct lws *wsi)
{
    size_t n = 0;
    for (int h = 0; h < WSI_TOKEN_COUNT; h++) {
        int l = lws_hdr_total_length(wsi, (enum lws_token_indexes)h);
        if (l > 0)
            n += (size_t)l;
    }
    return n;
}

static int refuse(struct lws *wsi, unsigned status, const char *why)
{
    lwsl_user("refused a WebSocket: %s\n", why);
    char body[300];
    snprintf(body, sizeof body, "voicetutor: %s", why);
    lws_return_http_status(wsi, status, body);
    return -1;
}

static void conn_close(vt__ws_conn *c)
{
    if (!c || !c->srv || c->closed)
        return; /* refused at the handshake: never established */
    c->closed = 1;
    c->srv->admit.conns--;
    if (c->initialized)
        c->srv->admit.sessions--;
    c->tick_at = INT64_MAX;
    if (c->s)
        vt_session_destroy(c->s);
    c->s = NULL;
    vt__ws_ops_conn_close(c);
    vt__ws_output_free(c);
    free(c->rx);
    c->rx = NULL;
    if (!c->srv->cfg.quiet)
        lwsl_user("session %s closed\n", c->id);
}

static int rx_append(vt__ws_conn *c, const void *in, size_t len)
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
    vt__ws_conn *c = user;
    vt_ws_server *srv = lws_context_user(lws_get_context(wsi));
    switch (reason) {
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        if (srv && srv->rt)
            vt_runtime_drain(srv->rt);
        if (srv) {
            vt__ws_ticker_run(srv);
            vt__ws_ops_poll(srv);
        }
        return 0;
    case LWS_CALLBACK_FILTER_HTTP_CONNECTION:
        if (header_bytes(wsi) > VT_WS_MAX_HEADERS)
            return refuse(wsi, 431, "the request's headers are over 8 KiB");
        break;
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION: {
        if (header_bytes(wsi) > VT_WS_MAX_HEADERS)
            return refuse(wsi, 431, "the request's headers are over 8 KiB");
        char uri[256] = "";
        lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI);
        if (strcmp(uri, "/ws/audio") != 0 && strcmp(uri, "/ws") != 0) {
            lwsl_user("refused a WebSocket at '%s': the protocol is at /ws/audio\n", uri);
            return -1;
        }
        char host[256], origin[512];
        header(wsi, WSI_TOKEN_HOST, host, sizeof host);
        header(wsi, WSI_TOKEN_ORIGIN, origin, sizeof origin);
        if (!vt__ws_host_ok(srv, host))
            return refuse(wsi, HTTP_STATUS_FORBIDDEN,
                          "Host is not this server's address (start it with --allow-host NAME "
                          "to be reached by that name)");
        if (!vt__ws_origin_ok(srv, origin, host))
            return refuse(wsi, HTTP_STATUS_FORBIDDEN,
                          "a page from another origin may not connect (start the server with "
                          "--allow-origin ORIGIN for another front end)");
        if (!vt__ws_token_ok(srv, wsi))
            return refuse(wsi, HTTP_STATUS_UNAUTHORIZED,
                          "an access token is required (?token=...)");
        if (vt__ws_ops_draining(srv)) {
            vt__ws_ops_refused(srv);
            return refuse(wsi, HTTP_STATUS_SERVICE_UNAVAILABLE,
                          "this server is draining (shutting down): connect again, to another "
                          "instance");
        }
        char why[256];
        if (!vt__ws_admit_connection(srv, why, sizeof why))
            return refuse(wsi, HTTP_STATUS_SERVICE_UNAVAILABLE, why);
        return 0;
    }
    case LWS_CALLBACK_ESTABLISHED: {
        memset(c, 0, sizeof *c);
        c->wsi = wsi;
        c->srv = srv;
        srv->admit.conns++;
        snprintf(c->id, sizeof c->id, "s%lu-%lx", ++srv->next_id, (unsigned long)vt_now_us());
        c->msg_tokens = VT_WS_MSGS_PER_S;
        c->audio_tokens = (double)VT_IN_RATE * 2 * VT_WS_AUDIO_SPEED;
        c->bucket_us = vt_now_us();
        c->tick_at = INT64_MAX;
        vt__ws_ops_conn_open(c);
        if (!srv->cfg.quiet)
            lwsl_user("session %s connected\n", c->id);
        vt__ws_send_json(c, vt_msg_connected(c->id), 0);
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
                vt__ws_send_error(c, "frame_too_large",
                           "binary frame over %d KiB: send audio in frames of 20-100 ms "
                           "(640-3200 bytes); this one was dropped",
                           VT_WS_MAX_BINARY / 1024);
            else
                vt__ws_send_error(c, "message_too_large",
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
            vt__ws_audio_in(c, c->rx, c->rx_len);
        else
            vt__ws_text_in(c, (const char *)c->rx, c->rx_len);
        c->rx_len = 0;
        if (c->rx_cap > (256u << 10)) { /* don't keep a big buffer around */
            free(c->rx);
            c->rx = NULL;
            c->rx_cap = 0;
        }
        return 0;
    }
    case LWS_CALLBACK_SERVER_WRITEABLE: {
        vt__ws_msg *m = c->q;
        if (!m)
            return c->closing ? vt__ws_ops_close_now(c) : 0;
        c->q = m->next;
        if (!c->q)
            c->q_tail = NULL;
        c->q_bytes -= m->len;
        int w = lws_write(wsi, m->buf + LWS_PRE, m->len, m->binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT);
        free(m);
        if (w < 0)
            return -1;
        if (c->q || c->closing)
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

static struct lws_protocols k_protocols[] = {
    {"voicetutor", callback, sizeof(vt__ws_conn), 65536, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0}, /* vt__ws_ops_protocol */
    {NULL, NULL, 0, 0, 0, NULL, 0}};

void vt__ws_wake(vt_ws_server *srv)
{
    pthread_mutex_lock(&srv->wake_mu);
    if (srv->ctx)
        lws_cancel_service(srv->ctx);
    pthread_mutex_unlock(&srv->wake_mu);
}

static void wake(void *ud)
{
    vt__ws_wake(ud);
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

static int copy_list(char ***dst, const char *const *src, size_t n)
{
    *dst = NULL;
    if (!n)
        return 0;
    if (!(*dst = calloc(n, sizeof **dst)))
        return -1;
    for (size_t i = 0; i < n; i++)
        if (!((*dst)[i] = strdup(src[i])))
            return -1;
    return 0;
}

static void free_list(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

static void free_server(vt_ws_server *s)
{
    vt__ws_ops_destroy(s);
    free_list(s->allow_origins, s->cfg.n_allow_origins);
    free_list(s->allow_hosts, s->cfg.n_allow_hosts);
    pthread_mutex_destroy(&s->wake_mu);
    free(s);
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
    if (cfg->token && strlen(cfg->token) > VT_WS_MAX_TOKEN) {
        snprintf(err, errlen, "the access token is %zu bytes long: at most %d", strlen(cfg->token),
                 VT_WS_MAX_TOKEN);
        free_server(s);
        return VT_EINVAL;
    }
    if (cfg->token)
        memcpy(s->token, cfg->token, strlen(cfg->token) + 1); /* calloc'd: the rest stays 0 */
    snprintf(s->web_dir, sizeof s->web_dir, "%s", cfg->web_dir ? cfg->web_dir : VT_WEB_DIR);
    if (!vt_ws_host_is_loopback(s->host) && !s->token[0]) {
        snprintf(err, errlen,
                 "listening on %s lets other machines talk to the tutor: give an access token "
                 "with --token TOKEN (or VOICETUTOR_TOKEN=TOKEN), or listen on 127.0.0.1",
                 s->host);
        free_server(s);
        return VT_EINVAL;
    }
    if (copy_list(&s->allow_origins, cfg->allow_origins, cfg->n_allow_origins) != 0 ||
        copy_list(&s->allow_hosts, cfg->allow_hosts, cfg->n_allow_hosts) != 0) {
        snprintf(err, errlen, "out of memory");
        free_server(s);
        return VT_ENOMEM;
    }
    if (vt__ws_ops_create(s) != 0) {
        snprintf(err, errlen, "out of memory");
        free_server(s);
        return VT_ENOMEM;
    }
    s->n_allow_origins = cfg->n_allow_origins;
    s->n_allow_hosts = cfg->n_allow_hosts;
    vt_runtime_config rc = cfg->runtime;
    rc.wake = wake;
    rc.wake_ud = s;
    int r = vt_runtime_create(&rc, &s->rt, err, errlen);
    if (r) {
        free_server(s);
        return r;
    }
    const char *speech_err = vt_runtime_speech_error(s->rt);
    if (speech_err) /* sessions go on typing; each says so at initialize */
        fprintf(stderr, "voicetutor serve: speech recognition is off: %s\n", speech_err);
    lws_set_log_level(cfg->quiet ? LLL_ERR : LLL_ERR | LLL_WARN | LLL_USER, NULL);
    s->mount.mountpoint = "/";
    s->mount.mountpoint_len = 1;
    s->mount.origin = s->web_dir;
    s->mount.def = "index.html";
    s->mount.origin_protocol = LWSMPRO_FILE;
    k_protocols[1] = vt__ws_ops_protocol;
    vt__ws_ops_mounts(s, &s->mount);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = cfg->port;
    info.iface = s->host;
    info.protocols = k_protocols;
    info.mounts = &s->ops_mounts[0];
    info.user = s;
    info.options = 0;
    /* room for header blocks past our own limit, so that they are answered
     * 431 instead of being dropped by lws; past this lws closes at once */
    info.max_http_header_data = VT_WS_HEADER_ROOM;
    if (strchr(s->host, ':') == NULL)
        info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
    s->ctx = lws_create_context(&info);
    if (!s->ctx) {
        snprintf(err, errlen, "cannot listen on %s:%d (is the port in use? try --port)", s->host,
                 cfg->port);
        vt_runtime_destroy(s->rt);
        free_server(s);
        return VT_EIO;
    }
    vt__ws_admit_start(s, s->ctx);
    if (vt__ws_ticker_start(s) != 0) {
        snprintf(err, errlen, "cannot start the sessions' timer thread");
        vt_ws_destroy(s);
        return VT_ENOMEM;
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

void vt_ws_drain(vt_ws_server *s)
{
    s->drain_requested = 1;
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
    vt__ws_ticker_stop(s);
    vt__ws_admit_stop(s);
    if (ctx)
        lws_context_destroy(ctx); /* closes every connection: sessions destroyed */
    if (s->rt) {
        vt_runtime_drain(s->rt);
        vt_runtime_destroy(s->rt); /* completes what is left: sessions freed */
    }
    free_server(s);
}
