/*
 * Who may open a WebSocket (see ws_internal.h): the access token, the Host
 * header and the Origin header, checked at the handshake before a session
 * exists.
 *
 * Why Host and Origin: a browser lets any page open a WebSocket to
 * 127.0.0.1 and sends its own Origin, so without a check any site the
 * learner visits could drive the tutor (read and write lesson progress,
 * spend an LLM key). The rules:
 *   - Origin absent (command-line and seed-system clients): accepted.
 *     Present: it must be the origin of this server's own page (scheme
 *     http/https and the same host:port as the Host header), or one given
 *     with --allow-origin.
 *   - Host (DNS rebinding: evil.example resolving to 127.0.0.1 sends
 *     "Host: evil.example"): an IP address, localhost, the --host name, or
 *     one given with --allow-host; the port is not compared (the socket
 *     already decided it). A request without Host is accepted.
 * The token: any length up to VT_WS_MAX_TOKEN, compared in constant time.
 * Pure string checks on the lws thread.
 */
#include "transport/ws/ws_internal.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* The name part of a Host value: "[::1]:8080" -> "::1", "a.b:80" -> "a.b". */
static void host_name(const char *host, char *out, size_t cap)
{
    const char *end;
    if (host[0] == '[') {
        host++;
        end = strchr(host, ']');
    } else {
        end = strrchr(host, ':');
        if (end && strchr(host, ':') != end)
            end = NULL; /* an IPv6 address without brackets: no port */
    }
    size_t n = end ? (size_t)(end - host) : strlen(host);
    if (n >= cap)
        n = cap - 1;
    memcpy(out, host, n);
    out[n] = 0;
    /* a trailing dot names the same host ("localhost.") */
    if (n > 1 && out[n - 1] == '.')
        out[n - 1] = 0;
}

static int is_ip(const char *name)
{
    unsigned char buf[16];
    return inet_pton(AF_INET, name, buf) == 1 || inet_pton(AF_INET6, name, buf) == 1;
}

static int in_list(const char *s, char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(s, list[i]) == 0)
            return 1;
    return 0;
}

int vt__ws_host_ok(const vt_ws_server *srv, const char *host)
{
    if (!host || !host[0])
        return 1;
    char name[256];
    host_name(host, name, sizeof name);
    char listen[256];
    host_name(srv->host, listen, sizeof listen);
    return is_ip(name) || strcasecmp(name, "localhost") == 0 || strcasecmp(name, listen) == 0 ||
           in_list(name, srv->allow_hosts, srv->n_allow_hosts);
}

int vt__ws_origin_ok(const vt_ws_server *srv, const char *origin, const char *host)
{
    if (!origin || !origin[0])
        return 1;
    if (in_list(origin, srv->allow_origins, srv->n_allow_origins))
        return 1;
    const char *rest = strncasecmp(origin, "http://", 7) == 0    ? origin + 7
                       : strncasecmp(origin, "https://", 8) == 0 ? origin + 8
                                                                 : NULL;
    /* our own page: the origin names the host:port the client connected to */
    return rest && host && host[0] && strcasecmp(rest, host) == 0;
}

int vt__ws_token_ok(const vt_ws_server *srv, struct lws *wsi)
{
    if (!srv->token[0])
        return 1;
    /* "token=" + the longest token + one byte to tell a longer one apart */
    char buf[sizeof "token=" + VT_WS_MAX_TOKEN + 1];
    memset(buf, 0, sizeof buf);
    if (lws_get_urlarg_by_name(wsi, "token=", buf, (int)sizeof buf - 1) == NULL)
        return 0;
    const unsigned char *given = (const unsigned char *)buf + strlen("token=");
    const unsigned char *want = (const unsigned char *)srv->token;
    /* constant time: every byte of both zero-padded buffers, whatever
     * matched, so the time says nothing of how much of a guess was right;
     * the byte after VT_WS_MAX_TOKEN is 0 in want and tells longer guesses */
    volatile unsigned diff = 0;
    for (size_t i = 0; i <= VT_WS_MAX_TOKEN; i++)
        diff |= (unsigned)(given[i] ^ want[i]);
    return diff == 0;
}
