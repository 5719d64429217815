/*
 * The LLM brain: any OpenAI-compatible chat-completions server (OpenAI,
 * Ollama, llama.cpp's server, vLLM) over HTTP(S) with libcurl.
 *
 * DESIGN
 * Every call runs one transfer on a curl multi handle and drives it itself:
 * curl_multi_perform, then curl_multi_poll for at most POLL_MS. Waking every
 * few milliseconds is what makes an interruption prompt — the abort flag is
 * a plain int with no wake-up, and curl's own progress callback can be a
 * second apart on a quiet connection. When the flag is seen the handle is
 * removed at once, which closes the connection (a half-read response cannot
 * be reused), and the write callback refuses any bytes that arrive after
 * the flag, so no token of the old generation is ever handed on.
 *
 * The answer streams as server-sent events (sse.c) interpreted into tokens
 * (llm_prompt.c); the judge and the filler choice are small non-streamed
 * requests with their own deadlines. Multi handles are pooled per ctx so
 * consecutive requests reuse the connection (and skip TCP and TLS set-up);
 * each call takes its own, so concurrent calls never share one.
 *
 * Timeouts: connect_timeout_ms (curl), first_token_timeout_ms (request sent
 * to the first token), stall_timeout_ms (no bytes inside a stream), and
 * max_reply_ms; the judge and filler have one deadline each.
 *
 * SECRETS: the API key is read from the environment variable named by
 * api_key_env, kept only in the ctx, put only in the Authorization header,
 * wiped from memory after use, and scrubbed from every error message (some
 * servers echo part of a rejected key).
 */
#include <ctype.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "brain_internal.h"
#include "lesson.h"
#include "llm_prompt.h"
#include "sse.h"
#include "util/clock.h"
#include "voicetutor/core.h"

#define POLL_MS 5
#define MAX_BODY (256 * 1024)
#define POOL_MAX 4

#define DEFAULT_SYSTEM                                                                         \
    "You are a friendly, patient tutor talking with a learner by voice. Everything you write " \
    "is spoken aloud by a speech synthesizer, so answer in short, plain spoken sentences: no " \
    "lists, no markdown, no emoji, no code. Ask one question at a time. When the learner "    \
    "interrupted you, do not start over; respond to what they said."

typedef struct llm {
    char url[1024];
    char model[256];
    char key_env[128];
    char *system;
    char *api_key;            /* NULL: no Authorization header */
    char greeting[512];
    long connect_ms, first_ms, stall_ms, max_ms, judge_ms, filler_ms;
    int max_tokens;
    double temperature;
    size_t history_turns;
    pthread_mutex_t pool_mu;
    CURLM *pool[POOL_MAX];
    int n_pool;
} llm;

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;
static void curl_init(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void wipe(void *p, size_t n)
{
    volatile unsigned char *v = p;
    while (n--)
        *v++ = 0;
}

/* Formats an error, replacing the API key wherever it appears. */
static int llm_fail(const llm *L, int rc, const char *fmt, ...) VT_PRINTF(3, 4);
static int llm_fail(const llm *L, int rc, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (L && L->api_key && strlen(L->api_key) >= 4) {
        size_t kl = strlen(L->api_key);
        char *hit;
        while ((hit = strstr(msg, L->api_key)) != NULL) {
            memmove(hit + 3, hit + kl, strlen(hit + kl) + 1);
            memcpy(hit, "***", 3);
        }
        /* also a key's tail, as in OpenAI's "Incorrect API key provided: sk-ab***wxyz" */
        const char *tail = L->api_key + kl - 4;
        while ((hit = strstr(msg, tail)) != NULL)
            memcpy(hit, "****", 4);
    }
    return vt__brain_fail(rc, "%s", msg);
}

/* ---- options ---------------------------------------------------------- */
static int opt_long(const vt_opt *o, size_t n, const char *key, long def, long lo, long hi,
                    long *out, char *err, size_t errlen)
{
    const char *v = vt_opt_get(o, n, key, NULL);
    if (!v) {
        *out = def;
        return 0;
    }
    char *e;
    long x = strtol(v, &e, 10);
    if (e == v || *e || x < lo || x > hi) {
        snprintf(err, errlen, "llm: %s must be a number from %ld to %ld (got '%.40s')", key, lo,
                 hi, v);
        return VT_EINVAL;
    }
    *out = x;
    return 0;
}

static void llm_destroy(void *ctx)
{
    llm *L = ctx;
    if (!L)
        return;
    for (int i = 0; i < L->n_pool; i++)
        curl_multi_cleanup(L->pool[i]);
    if (L->api_key) {
        wipe(L->api_key, strlen(L->api_key));
        free(L->api_key);
    }
    free(L->system);
    pthread_mutex_destroy(&L->pool_mu);
    free(L);
}

static int llm_create(const vt_opt *o, size_t n, void **ctx, char *err, size_t errlen)
{
    int rc = 0;
    long v;
    vt_lesson *lesson = NULL;
    char *context = NULL;
    *ctx = NULL;
    pthread_once(&curl_once, curl_init);
    if (curl_init_rc != CURLE_OK) {
        snprintf(err, errlen, "llm: curl_global_init failed: %s", curl_easy_strerror(curl_init_rc));
        return VT_EIO;
    }
    llm *L = calloc(1, sizeof *L);
    if (!L)
        return VT_ENOMEM;
    pthread_mutex_init(&L->pool_mu, NULL);
    const char *base = vt_opt_get(o, n, "base_url", "http://127.0.0.1:11434/v1");
    size_t bl = strlen(base);
    while (bl && base[bl - 1] == '/')
        bl--;
    if (strncmp(base, "http://", 7) != 0 && strncmp(base, "https://", 8) != 0) {
        snprintf(err, errlen, "llm: base_url must start with http:// or https:// (got '%.60s')",
                 base);
        rc = VT_EINVAL;
        goto out;
    }
    const char *suffix = "/chat/completions";
    int has_suffix = bl >= strlen(suffix) && strncmp(base + bl - strlen(suffix), suffix,
                                                     strlen(suffix)) == 0;
    if ((size_t)snprintf(L->url, sizeof L->url, "%.*s%s", (int)bl, base,
                         has_suffix ? "" : suffix) >= sizeof L->url) {
        snprintf(err, errlen, "llm: base_url too long");
        rc = VT_EINVAL;
        goto out;
    }
    snprintf(L->model, sizeof L->model, "%s", vt_opt_get(o, n, "model", "llama3.2"));
    snprintf(L->key_env, sizeof L->key_env, "%s",
             vt_opt_get(o, n, "api_key_env", "OPENAI_API_KEY"));
    const char *key = *L->key_env ? getenv(L->key_env) : NULL;
    if (key && *key) {
        for (const char *k = key; *k; k++)
            if (!isprint((unsigned char)*k) || *k == ' ') {
                snprintf(err, errlen, "llm: the API key in $%s holds spaces or control "
                         "characters", L->key_env);
                rc = VT_EINVAL;
                goto out;
            }
        if (!(L->api_key = strdup(key))) {
            rc = VT_ENOMEM;
            goto out;
        }
    }
    if ((rc = opt_long(o, n, "connect_timeout_ms", 3000, 1, 600000, &L->connect_ms, err, errlen)) ||
        (rc = opt_long(o, n, "first_token_timeout_ms", 10000, 1, 600000, &L->first_ms, err,
                       errlen)) ||
        (rc = opt_long(o, n, "stall_timeout_ms", 5000, 1, 600000, &L->stall_ms, err, errlen)) ||
        (rc = opt_long(o, n, "max_reply_ms", 120000, 1, 3600000, &L->max_ms, err, errlen)) ||
        (rc = opt_long(o, n, "judge_deadline_ms", 600, 1, 60000, &L->judge_ms, err, errlen)) ||
        (rc = opt_long(o, n, "filler_deadline_ms", 400, 1, 60000, &L->filler_ms, err, errlen)))
        goto out;
    if ((rc = opt_long(o, n, "max_tokens", 300, 0, 100000, &v, err, errlen)))
        goto out;
    L->max_tokens = (int)v;
    if ((rc = opt_long(o, n, "history_turns", 40, 1, 10000, &v, err, errlen)))
        goto out;
    L->history_turns = (size_t)v;
    const char *t = vt_opt_get(o, n, "temperature", "0.7");
    char *e;
    L->temperature = strtod(t, &e);
    if (e == t || *e || L->temperature < 0 || L->temperature > 2) {
        snprintf(err, errlen, "llm: temperature must be from 0 to 2 (got '%.20s')", t);
        rc = VT_EINVAL;
        goto out;
    }
    const char *system = vt_opt_get(o, n, "system_prompt", DEFAULT_SYSTEM);
    const char *lesson_name = vt_opt_get(o, n, "lesson", NULL);
    snprintf(L->greeting, sizeof L->greeting, "%s",
             vt_opt_get(o, n, "greeting",
                        "Hello! I'm your tutor. What would you like to learn about today?"));
    if (lesson_name && *lesson_name) {
        char path[1024];
        if ((rc = vt__lesson_find(lesson_name, vt_opt_get(o, n, "lessons_dir", NULL), path,
                                  sizeof path, err, errlen)) ||
            (rc = vt__lesson_load(path, &lesson, err, errlen)))
            goto out;
        if (!(context = vt__lesson_context(lesson))) {
            rc = VT_ENOMEM;
            goto out;
        }
        if (!vt_opt_get(o, n, "greeting", NULL))
            snprintf(L->greeting, sizeof L->greeting,
                     "Hello! Today we're working on %s. Shall we begin?", lesson->title);
    }
    size_t sl = strlen(system) + (context ? strlen(context) + 2 : 0) + 1;
    if (!(L->system = malloc(sl))) {
        rc = VT_ENOMEM;
        goto out;
    }
    snprintf(L->system, sl, "%s%s%s", system, context ? "\n\n" : "", context ? context : "");
    *ctx = L;
    L = NULL;
out:
    free(context);
    vt__lesson_free(lesson);
    llm_destroy(L);
    return rc;
}

int vt__llm_greeting(void *ctx, char *buf, size_t cap)
{
    llm *L = ctx;
    int n = snprintf(buf, cap, "%s", L->greeting);
    return n < 0 ? VT_EINVAL : (size_t)n < cap ? n : (int)cap - 1;
}

/* ---- one request ------------------------------------------------------ */
typedef struct req {
    llm *L;
    CURL *easy;
    const volatile int *abort;
    int stream;               /* asked for server-sent events */
    int mode;                 /* 0 nothing yet, 1 events, 2 buffered body */
    long status;
    int cb_rc;                /* error raised inside the write callback */
    vt_sse sse;
    vt_oai_stream st;
    char *body;
    size_t body_len, body_cap;
    int64_t t_start, t_last, t_first;
} req;

static size_t on_data(char *p, size_t size, size_t nmemb, void *ud)
{
    req *r = ud;
    size_t n = size * nmemb;
    if (r->abort && *r->abort) {
        r->cb_rc = VT_ECANCELED;
        return 0; /* drops the transfer; nothing after the flag is parsed */
    }
    r->t_last = vt_now_us();
    if (r->mode == 0) {
        char *ct = NULL;
        curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &r->status);
        curl_easy_getinfo(r->easy, CURLINFO_CONTENT_TYPE, &ct);
        int json = ct && strstr(ct, "json");
        r->mode = r->stream && r->status >= 200 && r->status < 300 && !json ? 1 : 2;
    }
    if (r->mode == 1) {
        int rc = vt__sse_feed(&r->sse, p, n);
        if (r->st.n_tokens && !r->t_first)
            r->t_first = r->t_last;
        if (rc) {
            r->cb_rc = rc;
            return 0;
        }
        return n;
    }
    size_t room = MAX_BODY - r->body_len;
    size_t take = n < room ? n : room;
    if (take) {
        if (r->body_len + take + 1 > r->body_cap) {
            size_t nc = r->body_cap ? r->body_cap : 4096;
            while (nc < r->body_len + take + 1)
                nc *= 2;
            char *nb = realloc(r->body, nc);
            if (!nb) {
                r->cb_rc = VT_ENOMEM;
                return 0;
            }
            r->body = nb;
            r->body_cap = nc;
        }
        memcpy(r->body + r->body_len, p, take);
        r->body_len += take;
        r->body[r->body_len] = '\0';
    }
    if (take < n && r->status < 400) {
        r->cb_rc = VT_EFORMAT;
        snprintf(r->st.err, sizeof r->st.err, "the answer is larger than %d bytes", MAX_BODY);
        return 0;
    }
    return n;
}

static CURLM *pool_take(llm *L)
{
    CURLM *m = NULL;
    pthread_mutex_lock(&L->pool_mu);
    if (L->n_pool)
        m = L->pool[--L->n_pool];
    pthread_mutex_unlock(&L->pool_mu);
    return m ? m : curl_multi_init();
}

static void pool_give(llm *L, CURLM *m)
{
    pthread_mutex_lock(&L->pool_mu);
    if (L->n_pool < POOL_MAX) {
        L->pool[L->n_pool++] = m;
        m = NULL;
    }
    pthread_mutex_unlock(&L->pool_mu);
    if (m)
        curl_multi_cleanup(m);
}

static void free_headers(struct curl_slist *h)
{
    for (struct curl_slist *p = h; p; p = p->next)
        wipe(p->data, strlen(p->data)); /* the Authorization line holds the key */
    curl_slist_free_all(h);
}

/* Runs r to completion, cancellation or a timeout. deadline_ms > 0: the
 * whole request (judge, filler); 0: the streaming rules. */
static int perform(req *r, const char *body, long deadline_ms)
{
    llm *L = r->L;
    int rc = 0, done = 0;
    CURLcode res = CURLE_OK;
    char errbuf[CURL_ERROR_SIZE] = "";
    struct curl_slist *hdr = NULL, *tmp;
    CURLM *m = pool_take(L);
    r->easy = curl_easy_init();
    if (!m || !r->easy) {
        rc = llm_fail(L, VT_ENOMEM, "llm: out of memory");
        goto out;
    }
    /* "Expect:" off: no 100-continue round trip before a large prompt */
    hdr = curl_slist_append(NULL, "Content-Type: application/json");
    tmp = hdr ? curl_slist_append(hdr, "Expect:") : NULL;
    if (tmp)
        hdr = tmp;
    tmp = hdr ? curl_slist_append(hdr, r->stream ? "Accept: text/event-stream"
                                                 : "Accept: application/json")
              : NULL;
    if (!tmp) {
        rc = llm_fail(L, VT_ENOMEM, "llm: out of memory");
        goto out;
    }
    hdr = tmp;
    if (L->api_key) {
        size_t al = strlen(L->api_key) + 32;
        char *auth = malloc(al);
        if (!auth) {
            rc = llm_fail(L, VT_ENOMEM, "llm: out of memory");
            goto out;
        }
        snprintf(auth, al, "Authorization: Bearer %s", L->api_key);
        tmp = curl_slist_append(hdr, auth);
        wipe(auth, al);
        free(auth);
        if (!tmp) {
            rc = llm_fail(L, VT_ENOMEM, "llm: out of memory");
            goto out;
        }
        hdr = tmp;
    }
    CURL *e = r->easy;
    curl_easy_setopt(e, CURLOPT_URL, L->url);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, L->connect_ms);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_USERAGENT, "voicetutor/0.1");
    if (curl_multi_add_handle(m, e) != CURLM_OK) {
        rc = llm_fail(L, VT_EIO, "llm: cannot start the request");
        goto out;
    }
    r->t_start = r->t_last = vt_now_us();
    for (;;) {
        int running = 0, left = 0;
        if (curl_multi_perform(m, &running) != CURLM_OK) {
            rc = llm_fail(L, VT_EIO, "llm: curl_multi_perform failed");
            break;
        }
        CURLMsg *msg;
        while ((msg = curl_multi_info_read(m, &left)) != NULL)
            if (msg->msg == CURLMSG_DONE) {
                res = msg->data.result;
                done = 1;
            }
        if (done)
            break;
        if (r->abort && *r->abort) {
            rc = VT_ECANCELED;
            vt__brain_fail(rc, "llm: cancelled");
            break;
        }
        int64_t now = vt_now_us();
        if (deadline_ms > 0 && now - r->t_start > deadline_ms * 1000) {
            rc = llm_fail(L, VT_ETIMEDOUT, "llm: no answer from %s within %ld ms", L->url,
                          deadline_ms);
            break;
        }
        if (deadline_ms == 0 && !r->t_first && now - r->t_start > L->first_ms * 1000) {
            rc = llm_fail(L, VT_ETIMEDOUT, "llm: no first token from %s within %ld ms", L->url,
                          L->first_ms);
            break;
        }
        if (deadline_ms == 0 && r->t_first && now - r->t_last > L->stall_ms * 1000) {
            rc = llm_fail(L, VT_ETIMEDOUT, "llm: the stream from %s stalled for %ld ms", L->url,
                          L->stall_ms);
            break;
        }
        if (deadline_ms == 0 && now - r->t_start > L->max_ms * 1000) {
            rc = llm_fail(L, VT_ETIMEDOUT, "llm: the answer took longer than %ld ms", L->max_ms);
            break;
        }
        curl_multi_poll(m, NULL, 0, POLL_MS, NULL);
    }
    /* Removing a handle mid-transfer closes its connection at once. */
    curl_multi_remove_handle(m, e);
    if (rc || !done)
        goto out;
    if (res == CURLE_OK) {
        if (r->status == 0)
            curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &r->status);
        if (r->status >= 400 || r->status < 200) {
            char m2[240];
            vt__llm_error_message(r->body, r->body_len, m2, sizeof m2);
            const char *why = r->status == 401 || r->status == 403
                                  ? " (check the API key in $"
                                  : r->status == 404 ? " (check base_url and model)" : "";
            rc = llm_fail(L, VT_EIO, "llm: HTTP %ld from %s%s%s%s: %s", r->status, L->url, why,
                          r->status == 401 || r->status == 403 ? L->key_env : "",
                          r->status == 401 || r->status == 403 ? ")" : "", m2);
        }
        goto out;
    }
    if (res == CURLE_WRITE_ERROR && r->cb_rc) {
        rc = r->cb_rc;
        if (rc == VT_ECANCELED)
            vt__brain_fail(rc, "llm: cancelled");
        else
            llm_fail(L, rc, "llm: %s", r->st.err[0] ? r->st.err : "bad answer from the server");
    } else if (res == CURLE_COULDNT_CONNECT || res == CURLE_COULDNT_RESOLVE_HOST) {
        rc = llm_fail(L, VT_EIO, "llm: cannot reach the LLM server at %s: %s", L->url,
                      errbuf[0] ? errbuf : curl_easy_strerror(res));
    } else if (res == CURLE_OPERATION_TIMEDOUT) {
        rc = llm_fail(L, VT_ETIMEDOUT, "llm: %s timed out: %s", L->url,
                      errbuf[0] ? errbuf : curl_easy_strerror(res));
    } else {
        rc = llm_fail(L, VT_EIO, "llm: the connection to %s failed mid-answer: %s", L->url,
                      errbuf[0] ? errbuf : curl_easy_strerror(res));
    }
out:
    if (r->easy)
        curl_easy_cleanup(r->easy);
    r->easy = NULL;
    free_headers(hdr);
    if (m)
        pool_give(L, m);
    return rc;
}

static void req_init(req *r, llm *L, int stream, vt_token_fn on_token, void *ud,
                     const volatile int *abort)
{
    memset(r, 0, sizeof *r);
    r->L = L;
    r->abort = abort;
    r->stream = stream;
    r->st.on_token = on_token;
    r->st.ud = ud;
    r->st.abort = abort;
    vt__sse_init(&r->sse, 1 << 20, vt__oai_on_event, &r->st);
}

static void req_free(req *r)
{
    vt__sse_free(&r->sse);
    free(r->body);
}

static int llm_reply(void *ctx, const vt_turn *h, size_t n, vt_token_fn on_token, void *ud,
                     const volatile int *abort)
{
    llm *L = ctx;
    req r;
    vt__brain_clear_error();
    if (!L)
        return vt__brain_fail(VT_EINVAL, "llm: no brain");
    if (abort && *abort)
        return VT_ECANCELED;
    char *body = vt__llm_reply_body(L->model, L->system, h, n, L->history_turns, L->max_tokens,
                                    L->temperature);
    if (!body)
        return vt__brain_fail(VT_ENOMEM, "llm: out of memory");
    req_init(&r, L, 1, on_token, ud, abort);
    int rc = perform(&r, body, 0);
    if (rc == 0 && r.mode == 1) {
        rc = vt__sse_finish(&r.sse);
        if (rc == VT_ECANCELED)
            vt__brain_fail(rc, "llm: cancelled");
        else if (rc)
            llm_fail(L, rc, "llm: %s", r.st.err[0] ? r.st.err : "bad stream");
        else if (!r.st.done && !r.st.finished)
            rc = llm_fail(L, VT_EFORMAT,
                          "llm: the stream from %s ended before the answer was complete "
                          "(no [DONE] and no finish_reason)",
                          L->url);
    } else if (rc == 0) {
        /* the server ignored "stream": take the whole answer */
        char *content = malloc(MAX_BODY + 1), why[160] = "";
        if (!content) {
            rc = vt__brain_fail(VT_ENOMEM, "llm: out of memory");
        } else if (r.mode == 0) {
            rc = llm_fail(L, VT_EFORMAT, "llm: empty answer from %s", L->url);
        } else if ((rc = vt__llm_message_content(r.body, r.body_len, content, MAX_BODY + 1, why,
                                                 sizeof why)) != 0) {
            llm_fail(L, rc, "llm: %s", why);
        } else {
            rc = vt__stream_text(content, on_token, ud, abort);
        }
        free(content);
    }
    req_free(&r);
    free(body);
    return rc;
}

/* A small non-streamed request; the answer's text in out. */
static int ask_small(llm *L, const char *body, long deadline_ms, const volatile int *abort,
                     char *out, size_t cap)
{
    req r;
    char why[160];
    req_init(&r, L, 0, NULL, NULL, abort);
    int rc = perform(&r, body, deadline_ms);
    if (rc == 0 && (rc = vt__llm_message_content(r.body ? r.body : "", r.body_len, out, cap, why,
                                                 sizeof why)) != 0)
        llm_fail(L, rc, "llm: %s", why);
    req_free(&r);
    return rc;
}

static int llm_judge(void *ctx, const char *text, const volatile int *abort)
{
    llm *L = ctx;
    char answer[256];
    vt__brain_clear_error();
    if (!L || !text)
        return vt__brain_fail(VT_EINVAL, "llm: judge: no text");
    char *body = vt__llm_judge_body(L->model, text);
    if (!body)
        return vt__brain_fail(VT_ENOMEM, "llm: out of memory");
    int rc = ask_small(L, body, L->judge_ms, abort, answer, sizeof answer);
    free(body);
    if (rc)
        return rc;
    rc = vt__llm_parse_judge(answer);
    if (rc < 0)
        llm_fail(L, rc, "llm: the judge answered neither true nor false: '%.60s'", answer);
    return rc;
}

static int llm_choose_filler(void *ctx, const char *text, const vt_filler_desc *f, size_t n,
                             const volatile int *abort)
{
    llm *L = ctx;
    char answer[256];
    vt__brain_clear_error();
    if (!L || !f || n == 0)
        return vt__brain_fail(VT_EINVAL, "llm: no fillers to choose from");
    char *body = vt__llm_filler_body(L->model, text, f, n);
    if (!body)
        return vt__brain_fail(VT_ENOMEM, "llm: out of memory");
    int rc = ask_small(L, body, L->filler_ms, abort, answer, sizeof answer);
    free(body);
    if (rc)
        return rc;
    rc = vt__llm_parse_filler(answer, n);
    if (rc < 0)
        llm_fail(L, rc, "llm: the filler answer is not an index below %zu: '%.60s'", n, answer);
    return rc;
}

const vt_brain_ops vt_brain_llm = {
    .name = "llm",
    .create = llm_create,
    .destroy = llm_destroy,
    .reply = llm_reply,
    .judge = llm_judge,
    .choose_filler = llm_choose_filler,
};
