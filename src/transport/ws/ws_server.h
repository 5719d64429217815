/*
 * `voicetutor serve`: the libwebsockets server. One port carries the static
 * web client (web/, at /) and the seed 003 WebSocket protocol (/ws/audio
 * and /ws; docs/PROTOCOL.md). One thread runs the lws event loop, every
 * session's core and the pacing timers (lws sorted-usec timers); engine
 * jobs run on the runtime's pools and wake the loop with
 * lws_cancel_service().
 */
#ifndef VT_TRANSPORT_WS_SERVER_H
#define VT_TRANSPORT_WS_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "runtime/session.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VT_WS_MAX_BINARY (64 * 1024)      /* bytes in one binary frame */
#define VT_WS_MAX_TEXT (1024 * 1024)      /* bytes in one text message */
#define VT_WS_MSGS_PER_S 100              /* JSON messages a second (burst as many) */
#define VT_WS_AUDIO_SPEED 4               /* audio may arrive this much faster than real time */
#define VT_WS_MAX_PLAYBACK_S 86400        /* playback_position: at most this much audio played */
#define VT_WS_MAX_TOKEN 1024              /* bytes of an access token; longer ones refuse to start */
#define VT_WS_MAX_HEADERS 8192            /* bytes of request headers; more: HTTP 431 */
#define VT_WS_HEADER_ROOM 65535           /* what lws may hold to read them; more: closed */
#define VT_WS_SESSIONS_PER_CORE 8         /* speech sessions a core held in real time (measured) */
#define VT_WS_MAX_LOAD 0.9                /* default CPU guard: share of the speech cores */

typedef struct vt_ws_server vt_ws_server;

typedef struct vt_ws_config {
    const char *host;             /* default 127.0.0.1 */
    int port;                     /* default 8080; 0: any free port */
    const char *token;            /* required unless host is loopback; at most VT_WS_MAX_TOKEN */
    /* WebSocket handshakes (see ws_access.c): Origins besides the server's
     * own page, and names besides an IP address, localhost and host that
     * may appear in Host. Copied by vt_ws_create. */
    const char *const *allow_origins;
    size_t n_allow_origins;
    const char *const *allow_hosts;
    size_t n_allow_hosts;
    const char *web_dir;          /* the static client; default: the source tree's web/ */
    vt_runtime_config runtime;    /* engines; wake is set by the server */
    /* admission (ws_admit.c): sessions at most (0: VT_WS_SESSIONS_PER_CORE
     * per speech worker) and the CPU guard (0: VT_WS_MAX_LOAD) */
    int max_sessions;
    double max_load;
    int quiet;                    /* no per-connection log lines */
    int drain_ms;                 /* after vt_ws_drain: how long answers in progress may
                                   * finish (default VT_WS_DRAIN_MS_DEFAULT) */
} vt_ws_config;

#define VT_WS_DRAIN_MS_DEFAULT 10000

void vt_ws_config_default(vt_ws_config *c);
/* Starts listening (engines loaded, clips built). */
int vt_ws_create(const vt_ws_config *c, vt_ws_server **out, char *err, size_t errlen);
int vt_ws_port(const vt_ws_server *s);
/* Runs the loop until vt_ws_stop() (async-signal-safe) is called. */
int vt_ws_run(vt_ws_server *s);
void vt_ws_stop(vt_ws_server *s);
/* Graceful stop (SIGTERM; async-signal-safe): /healthz says draining, new
 * WebSockets get 503, sessions close as their answers end (at most
 * drain_ms), then vt_ws_run returns. */
void vt_ws_drain(vt_ws_server *s);
void vt_ws_destroy(vt_ws_server *s);

/* Is this address one only this machine can reach? */
int vt_ws_host_is_loopback(const char *host);

#ifdef __cplusplus
}
#endif
#endif
