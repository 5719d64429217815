/*
 * One HTTP POST for the remote speech engines (remote_http.h).
 *
 * DESIGN
 * As in the LLM brain (src/engines/brain/llm.c): the transfer runs on a
 * curl multi handle that this thread drives itself, curl_multi_poll for at
 * most POLL_MS between looks at the abort flag, so an interruption stops a
 * synthesis stream within a few milliseconds even on a quiet connection
 * (curl's progress callback can be a second apart). The easy handle is kept
 * between requests (connection reuse: no new TCP or TLS set-up per
 * utterance) and reset before each; a request stopped half-way is removed
 * with its connection closed.
 *
 * SECRETS: the key is put only in the Authorization header (built in a
 * buffer wiped after use) and every message that leaves here is scrubbed
 * of it: some servers echo part of a rejected key in their error body.
 */
#include "engines/speech/remote_http.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "util/clock.h"

#define POLL_MS 5

struct vt__http {
    CURLM *m;
    CURL *e;
};

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static CURLcode g_rc;

static void global_init(void)
{
    g_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int vt__http_global(char *err, size_t errlen)
{
    pthread_once(&g_once, global_init);
    if (g_rc != CURLE_OK) {
        snprintf(err, errlen, "curl_global_init failed: %s", curl_easy_strerror(g_rc));
        return VT_EIO;
    }
    return 0;
}

int vt__http_new(vt__http **out)
{
    vt__http *h = calloc(1, sizeof *h);
    if (!h || !(h->m = curl_multi_init()) || !(h->e = curl_easy_init())) {
        vt__http_free(h);
        *out = NULL;
        return VT_ENOMEM;
    }
    *out = h;
    return 0;
}

void vt__http_free(vt__http *h)
{
    if (!h)
        return;
    if (h->e)
        curl_easy_cleanup(h->e);
    if (h->m)
        curl_multi_cleanup(h->m);
    free(h);
}

void *vt__http_mime(vt__http *h)
{
    return curl_mime_init(h->e);
}

static void wipe(void *p, size_t n)
{
    volatile unsigned char *b = p;
    while (n--)
        *b++ = 0;
}

void vt__http_scrub(char *msg, size_t cap, const char *key)
{
    if (!msg || !cap || !key || !*key)
        return;
    size_t kl = strlen(key), min = kl < 6 ? kl : 6;
    size_t ml = strnlen(msg, cap - 1);
    char *out = malloc(ml + 1);
    if (!out) {
        msg[0] = 0; /* no room to scrub: say nothing rather than leak */
        return;
    }
    size_t o = 0;
    for (size_t i = 0; i < ml;) {
        size_t best = 0;
        for (size_t j = 0; j < kl; j++) {
            size_t l = 0;
            while (i + l < ml && j + l < kl && msg[i + l] == key[j + l])
                l++;
            if (l > best)
                best = l;
        }
        if (best >= min) {
            size_t put = best < 3 ? best : 3;
            memset(out + o, '*', put); /* "***" is never longer than the run */
            o += put;
            i += best;
        } else {
            out[o++] = msg[i++];
        }
    }
    memcpy(msg, out, o);
    msg[o] = 0;
    wipe(out, ml + 1);
    free(out);
}

char *vt__http_key_load(const vt_opt *opts, size_t n, const char *key_opt, const char *env1,
                        const char *env2)
{
    const char *name = vt_opt_get(opts, n, key_opt, NULL);
    const char *v = NULL;
    if (name && *name)
        v = getenv(name);
    else {
        if (env1 && (v = getenv(env1)) != NULL && !*v)
            v = NULL;
        if (!v && env2)
            v = getenv(env2);
    }
    return v && *v ? strdup(v) : NULL;
}

void vt__http_key_free(char *key)
{
    if (key) {
        wipe(key, strlen(key));
        free(key);
    }
}

static int ends_with(const char *s, const char *t)
{
    size_t a = strlen(s), b = strlen(t);
    return a >= b && strcmp(s + a - b, t) == 0;
}

int vt__http_url(const char *base, const char *tail, char *out, size_t cap)
{
    if (!base || !*base || !tail)
        return VT_EINVAL;
    const char *scheme = strstr(base, "://");
    const char *path = scheme ? strchr(scheme + 3, '/') : strchr(base, '/');
    int n;
    if (ends_with(base, tail))
        n = snprintf(out, cap, "%s", base);
    else if (ends_with(base, "/v1"))
        n = snprintf(out, cap, "%s/%s", base, tail);
    else if (ends_with(base, "/v1/"))
        n = snprintf(out, cap, "%s%s", base, tail);
    else if (!path || strcmp(path, "/") == 0)
        n = snprintf(out, cap, "%s%sv1/%s", base, path ? "" : "/", tail);
    else
        n = snprintf(out, cap, "%s", base); /* a full endpoint: whisper.cpp's /inference */
    return n < 0 || (size_t)n >= cap ? VT_EINVAL : 0;
}

typedef struct xfer {
    const vt__http_req *r;
    vt__http_res *res;
    CURL *e;
    size_t body_n;
    int stopped;          /* on_data asked to stop */
    int64_t t_first, t_last;
} xfer;

static size_t on_body(char *p, size_t sz, size_t nm, void *ud)
{
    xfer *x = ud;
    size_t n = sz * nm;
    if (x->r->abort && *x->r->abort)
        return 0; /* nothing of an aborted request is handed on */
    int64_t now = vt_now_us();
    if (!x->t_first)
        x->t_first = now;
    x->t_last = now;
    if (!x->res->status)
        curl_easy_getinfo(x->e, CURLINFO_RESPONSE_CODE, &x->res->status);
    if (!x->res->content_type[0]) {
        char *ct = NULL;
        if (curl_easy_getinfo(x->e, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct)
            snprintf(x->res->content_type, sizeof x->res->content_type, "%s", ct);
    }
    if (x->res->status < 200 || x->res->status > 299) {
        /* keep the start of an error body for the message */
        size_t room = sizeof x->res->body - 1 - x->body_n;
        size_t k = n < room ? n : room;
        memcpy(x->res->body + x->body_n, p, k);
        x->body_n += k;
        x->res->body[x->body_n] = 0;
        return n;
    }
    if (x->r->on_data && x->r->on_data(x->r->ud, p, n)) {
        x->stopped = 1;
        return 0;
    }
    return n;
}

static void tidy(char *s)
{
    for (; *s; s++)
        if (*s == '\n' || *s == '\r' || *s == '\t')
            *s = ' ';
}

int vt__http_post(vt__http *h, const vt__http_req *r, vt__http_res *res, char *err,
                  size_t errlen)
{
    int rc = 0;
    struct curl_slist *hdr = NULL, *tmp;
    char errbuf[CURL_ERROR_SIZE] = "";
    memset(res, 0, sizeof *res);
    if (err && errlen)
        err[0] = 0;
    if (!h || !r || !r->url) {
        snprintf(err, errlen, "http: missing argument");
        return VT_EINVAL;
    }
    xfer x = {.r = r, .res = res, .e = h->e};
    CURL *e = h->e;
    curl_easy_reset(e);
    hdr = curl_slist_append(NULL, "Expect:");
    if (hdr && r->content_type) {
        char ct[160];
        snprintf(ct, sizeof ct, "Content-Type: %s", r->content_type);
        tmp = curl_slist_append(hdr, ct);
        hdr = tmp ? tmp : hdr;
    }
    if (hdr && r->key) {
        size_t al = strlen(r->key) + 32;
        char *auth = malloc(al);
        if (!auth) {
            curl_slist_free_all(hdr);
            snprintf(err, errlen, "http: out of memory");
            return VT_ENOMEM;
        }
        snprintf(auth, al, "Authorization: Bearer %s", r->key);
        tmp = curl_slist_append(hdr, auth);
        wipe(auth, al);
        free(auth);
        hdr = tmp ? tmp : hdr;
    }
    if (!hdr) {
        snprintf(err, errlen, "http: out of memory");
        return VT_ENOMEM;
    }
    curl_easy_setopt(e, CURLOPT_URL, r->url);
    if (r->mime)
        curl_easy_setopt(e, CURLOPT_MIMEPOST, (curl_mime *)r->mime);
    else {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body ? r->body : "");
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)(r->body ? r->body_len : 0));
    }
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &x);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, r->connect_ms > 0 ? r->connect_ms : 1000L);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_USERAGENT, "voicetutor/0.1");
    if (curl_multi_add_handle(h->m, e) != CURLM_OK) {
        curl_slist_free_all(hdr);
        snprintf(err, errlen, "http: cannot start the request to %s", r->url);
        return VT_EIO;
    }
    int64_t t0 = vt_now_us();
    CURLcode res_code = CURLE_OK;
    int done = 0;
    for (;;) {
        int running = 0, left = 0;
        if (curl_multi_perform(h->m, &running) != CURLM_OK) {
            rc = VT_EIO;
            snprintf(err, errlen, "http: curl_multi_perform failed");
            break;
        }
        CURLMsg *msg;
        while ((msg = curl_multi_info_read(h->m, &left)) != NULL)
            if (msg->msg == CURLMSG_DONE) {
                res_code = msg->data.result;
                done = 1;
            }
        if (done)
            break;
        if (r->abort && *r->abort) {
            rc = VT_ECANCELED;
            snprintf(err, errlen, "cancelled");
            break;
        }
        int64_t now = vt_now_us();
        if (r->total_ms > 0 && now - t0 > r->total_ms * 1000) {
            rc = VT_ETIMEDOUT;
            snprintf(err, errlen, "no complete answer from %s within %ld ms", r->url, r->total_ms);
            break;
        }
        if (r->first_byte_ms > 0 && !x.t_first && now - t0 > r->first_byte_ms * 1000) {
            rc = VT_ETIMEDOUT;
            snprintf(err, errlen, "no answer from %s within %ld ms", r->url, r->first_byte_ms);
            break;
        }
        if (r->stall_ms > 0 && x.t_first && now - x.t_last > r->stall_ms * 1000) {
            rc = VT_ETIMEDOUT;
            snprintf(err, errlen, "the answer from %s stalled for %ld ms", r->url, r->stall_ms);
            break;
        }
        curl_multi_poll(h->m, NULL, 0, POLL_MS, NULL);
    }
    curl_multi_remove_handle(h->m, e);
    if (done && rc == 0) {
        if (!res->status)
            curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &res->status);
        if (res->status >= 200 && res->status <= 299 && res_code == CURLE_OK) {
            rc = 0;
        } else if (res->status >= 200 && res->status <= 299 && x.stopped) {
            rc = VT_ECANCELED;
            snprintf(err, errlen, "stopped");
        } else if (r->abort && *r->abort) {
            rc = VT_ECANCELED;
            snprintf(err, errlen, "cancelled");
        } else if (res->status && (res->status < 200 || res->status > 299)) {
            rc = VT_EIO;
            tidy(res->body);
            vt__http_scrub(res->body, sizeof res->body, r->key);
            snprintf(err, errlen, "%s answered HTTP %ld%s%.200s", r->url, res->status,
                     res->body[0] ? ": " : "", res->body);
        } else {
            rc = res_code == CURLE_OPERATION_TIMEDOUT ? VT_ETIMEDOUT : VT_EIO;
            snprintf(err, errlen, "%s: %s", r->url,
                     errbuf[0] ? errbuf : curl_easy_strerror(res_code));
        }
    }
    /* a transfer removed unfinished has its connection closed by curl:
     * a half-read response is never reused */
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(e, CURLOPT_MIMEPOST, NULL);
    curl_slist_free_all(hdr);
    tidy(err);
    vt__http_scrub(err, errlen, r->key);
    return rc;
}
