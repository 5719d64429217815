/*
 * Fuzzes the whole request path of one `serve` session, as a client drives
 * it: every line of the input is one WebSocket frame handed to the server's
 * own handlers (ws_requests.c: the request table, field checks, rate
 * limits, audio in), a line starting with "b:" a binary audio frame, the
 * rest text frames; `initialize` opens a real session (lesson brain, flite
 * voice, no recogniser so that audio costs nothing), whose replies are
 * queued by ws_output.c exactly as for a socket. After the input the
 * connection closes as a socket would and the session is released. Only
 * the socket itself is missing (the connection has no lws handle).
 */
#include "fuzz/fuzz.h"
#include "transport/ws/ws_internal.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static vt_ws_server *srv;

static void setup(void)
{
    srv = calloc(1, sizeof *srv);
    vt_ws_config_default(&srv->cfg);
    srv->cfg.quiet = 1;
    vt_runtime_config rc;
    vt_runtime_config_default(&rc);
    rc.stt = "none";
    rc.cpu_workers = 1;
    rc.io_workers = 1;
    rc.brain_opts[0] = (vt_opt){"db", "none"};
    rc.n_brain_opts = 1;
    char err[512];
    if (vt_runtime_create(&rc, &srv->rt, err, sizeof err) != 0)
        abort();
    srv->admit.capacity = 1 << 20;
    srv->admit.max_load = 1.0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!srv)
        setup();
    vt__ws_conn c;
    memset(&c, 0, sizeof c);
    c.srv = srv;
    snprintf(c.id, sizeof c.id, "fuzz");
    c.msg_tokens = VT_WS_MSGS_PER_S;
    c.audio_tokens = (double)VT_IN_RATE * 2 * VT_WS_AUDIO_SPEED;
    c.bucket_us = vt_now_us();
    srv->admit.conns++;
    for (size_t off = 0; off < size;) {
        const uint8_t *nl = memchr(data + off, '\n', size - off);
        size_t len = (nl ? (size_t)(nl - data) : size) - off;
        if (len >= 2 && data[off] == 'b' && data[off + 1] == ':')
            vt__ws_audio_in(&c, data + off + 2, len - 2);
        else
            vt__ws_text_in(&c, (const char *)data + off, len);
        vt_runtime_drain(srv->rt);
        off += len + 1;
    }
    /* the socket closes: as ws_server.c's conn_close */
    c.closed = 1;
    srv->admit.conns--;
    if (c.initialized)
        srv->admit.sessions--;
    if (c.s)
        vt_session_destroy(c.s);
    vt__ws_output_free(&c);
    free(c.rx);
    for (int i = 0; i < 2000 && vt_runtime_sessions(srv->rt) > 0; i++) {
        vt_runtime_drain(srv->rt);
        usleep(500);
    }
    if (vt_runtime_sessions(srv->rt) > 0)
        abort(); /* a session that is never released */
    return 0;
}
