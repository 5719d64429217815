/*
 * The LLM brain against a local OpenAI-compatible streaming server
 * (fake_openai.py, started here on 127.0.0.1 with an ephemeral port):
 * normal and byte-by-byte streams, slow tokens, a late first token, a
 * stall, HTTP 401 and 500, malformed and error events, a dropped connection,
 * a truncated stream, a refused connection, cancellation in the middle of a
 * stream and during a stall (the transfer must drop within milliseconds and
 * no token may follow the flag), the judge and the filler choice with their
 * fallbacks, what the model is sent, and that the API key never leaks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "brain_internal.h"
#include "util/clock.h"
#include "voicetutor/core.h"

#ifndef VT_FAKE_OPENAI
#define VT_FAKE_OPENAI "tests/brain/fake_openai.py"
#endif

#define SECRET "sk-test-SECRET-0123456789abcdef"

static pid_t server_pid = -1;
static int server_stdin = -1;
static char base_url[64];

static int start_server(void **state)
{
    (void)state;
    int out[2], in[2];
    char script[1024];
    const char *src = getenv("VT_SOURCE_DIR");
    if (src)
        snprintf(script, sizeof script, "%s/tests/brain/fake_openai.py", src);
    else
        snprintf(script, sizeof script, "%s", VT_FAKE_OPENAI);
    if (pipe(out) || pipe(in))
        return -1;
    server_pid = fork();
    if (server_pid < 0)
        return -1;
    if (server_pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        close(in[0]);
        close(in[1]);
        close(out[0]);
        close(out[1]);
        execlp("python3", "python3", script, "--lifetime", "170", (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    close(in[0]);
    server_stdin = in[1];
    struct pollfd p = {out[0], POLLIN, 0};
    char line[32] = "";
    size_t n = 0;
    while (n < sizeof line - 1 && poll(&p, 1, 10000) == 1) {
        ssize_t r = read(out[0], line + n, 1);
        if (r <= 0 || line[n] == '\n')
            break;
        n++;
    }
    close(out[0]);
    int port = atoi(line);
    if (port <= 0) {
        fprintf(stderr, "fake_openai.py did not start (%s)\n", script);
        return -1;
    }
    snprintf(base_url, sizeof base_url, "http://127.0.0.1:%d/v1", port);
    setenv("VT_TEST_KEY", SECRET, 1);
    unsetenv("VT_TEST_NO_KEY");
    return 0;
}

static int stop_server(void **state)
{
    (void)state;
    if (server_stdin >= 0)
        close(server_stdin);
    if (server_pid > 0) {
        kill(server_pid, SIGTERM);
        waitpid(server_pid, NULL, 0);
    }
    return 0;
}

static double now_ms(void)
{
    return (double)vt_now_us() / 1000.0;
}

/* ---- helpers ----------------------------------------------------------- */
static void *open_llm_opts(const char *model, const vt_opt *extra, size_t n_extra)
{
    vt_opt o[16] = {{"base_url", base_url}, {"model", model}, {"api_key_env", "VT_TEST_NO_KEY"},
                    {"first_token_timeout_ms", "3000"}, {"stall_timeout_ms", "2000"}};
    size_t n = 5;
    for (size_t i = 0; i < n_extra && n < 16; i++)
        o[n++] = extra[i];
    void *ctx = NULL;
    char err[256] = "";
    if (vt_brain_llm.create(o, n, &ctx, err, sizeof err) != 0)
        fail_msg("create: %s", err);
    return ctx;
}

static void *open_llm(const char *model)
{
    return open_llm_opts(model, NULL, 0);
}

typedef struct sink {
    char text[8192];
    int n;
    const volatile int *abort;
    int late;            /* tokens that arrived with the abort flag already set */
    double last_ms;
} sink;

static int on_tok(void *ud, const char *t)
{
    sink *s = ud;
    if (s->abort && *s->abort)
        s->late++;
    strncat(s->text, t, sizeof s->text - strlen(s->text) - 1);
    s->n++;
    s->last_ms = now_ms();
    return 0;
}

static int ask(void *ctx, sink *s, const volatile int *abort)
{
    vt_turn h[] = {{VT_ROLE_USER, "hello", NULL, 0}};
    s->abort = abort;
    return vt_brain_llm.reply(ctx, h, 1, on_tok, s, abort);
}

static int run_model(const char *model, sink *s)
{
    void *ctx = open_llm(model);
    memset(s, 0, sizeof *s);
    int rc = ask(ctx, s, NULL);
    vt_brain_llm.destroy(ctx);
    return rc;
}

static void error_has(const char *want)
{
    if (!strstr(vt_brain_error(), want))
        fail_msg("error '%s' lacks '%s'", vt_brain_error(), want);
}

typedef struct buf {
    char s[65536];
    size_t n;
} buf;

static size_t buf_write(char *p, size_t sz, size_t nm, void *ud)
{
    buf *b = ud;
    size_t n = sz * nm;
    if (b->n + n >= sizeof b->s)
        n = sizeof b->s - 1 - b->n;
    memcpy(b->s + b->n, p, n);
    b->n += n;
    b->s[b->n] = '\0';
    return sz * nm;
}

static cJSON *stats(void)
{
    static buf b;
    char url[96];
    memset(&b, 0, sizeof b);
    snprintf(url, sizeof url, "%s/stats", base_url);
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, buf_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    curl_easy_cleanup(c);
    cJSON *j = cJSON_Parse(b.s);
    assert_non_null(j);
    return j;
}

static int stat_int(const char *key)
{
    cJSON *j = stats();
    int v = (int)cJSON_GetNumberValue(cJSON_GetObjectItem(j, key));
    cJSON_Delete(j);
    return v;
}

/* ---- streams ------------------------------------------------------------ */
static void test_normal_and_split(void **state)
{
    (void)state;
    sink s;
    assert_int_equal(run_model("normal", &s), 0);
    assert_string_equal(s.text, "Hello there! How can I help you today?");
    assert_int_equal(s.n, 10);
    assert_int_equal(run_model("split", &s), 0);
    assert_string_equal(s.text, "Hello there! How two lines");
    assert_int_equal(run_model("json", &s), 0);
    assert_string_equal(s.text, "Hello from JSON.");
    double t0 = now_ms();
    assert_int_equal(run_model("slow", &s), 0);
    assert_true(now_ms() - t0 >= 350);
    assert_string_equal(s.text, "Hello there! How can I help you today?");
}

static void test_failures(void **state)
{
    (void)state;
    sink s;
    assert_int_equal(run_model("http500", &s), VT_EIO);
    error_has("HTTP 500");
    error_has("model crashed");
    assert_int_equal(s.n, 0);
    assert_int_equal(run_model("malformed", &s), VT_EFORMAT);
    error_has("malformed event");
    assert_string_equal(s.text, "Hello");
    assert_int_equal(run_model("error-event", &s), VT_EIO);
    error_has("overloaded");
    assert_int_equal(run_model("drop", &s), VT_EIO);
    error_has("failed mid-answer");
    assert_string_equal(s.text, "Hello there");
    assert_int_equal(run_model("truncated", &s), VT_EFORMAT);
    error_has("no [DONE]");
    assert_string_equal(s.text, "Hello there! How can I help you today?");
    assert_int_equal(run_model("/no-such-model", &s), 0); /* still the fake's normal stream */

    /* a refused connection: a port nobody listens on */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
    close(fd);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v1", ntohs(a.sin_port));
    vt_opt o[] = {{"base_url", url}, {"api_key_env", "VT_TEST_NO_KEY"}};
    void *ctx = NULL;
    char err[256];
    assert_int_equal(vt_brain_llm.create(o, 2, &ctx, err, sizeof err), 0);
    memset(&s, 0, sizeof s);
    double t0 = now_ms();
    assert_int_equal(ask(ctx, &s, NULL), VT_EIO);
    assert_true(now_ms() - t0 < 1000);
    error_has("cannot reach");
    /* the judge falls back to the heuristic, the filler to a random pick */
    int from = -1;
    int v = vt_brain_judge_or_heuristic(&vt_brain_llm, ctx, "I was going to", NULL, &from);
    assert_int_equal(from, 0);
    assert_int_equal(v, vt_judge_heuristic("I was going to"));
    vt_filler_desc f[] = {{"Hmm.", "thinking"}, {"Well.", "neutral"}, {"Okay.", "neutral"}};
    uint32_t rng = 12345;
    int k = vt_brain_filler_or_random(&vt_brain_llm, ctx, "hi", f, 3, NULL, &rng, &from);
    assert_true(k >= 0 && k < 3);
    assert_int_equal(from, 0);
    vt_brain_llm.destroy(ctx);
}

static void test_timeouts(void **state)
{
    (void)state;
    sink s = {{0}, 0, NULL, 0, 0};
    vt_opt first[] = {{"first_token_timeout_ms", "300"}};
    void *ctx = open_llm_opts("delay-first", first, 1);
    double t0 = now_ms();
    assert_int_equal(ask(ctx, &s, NULL), VT_ETIMEDOUT);
    double took = now_ms() - t0;
    assert_true(took >= 290 && took < 1500);
    error_has("no first token");
    assert_int_equal(s.n, 0);
    vt_brain_llm.destroy(ctx);

    memset(&s, 0, sizeof s);
    vt_opt stall[] = {{"stall_timeout_ms", "300"}};
    ctx = open_llm_opts("stall", stall, 1);
    t0 = now_ms();
    assert_int_equal(ask(ctx, &s, NULL), VT_ETIMEDOUT);
    took = now_ms() - t0;
    assert_true(took >= 290 && took < 1500);
    error_has("stalled");
    assert_string_equal(s.text, "Hello there");
    vt_brain_llm.destroy(ctx);
}

/* ---- cancellation --------------------------------------------------------- */
typedef struct aborter {
    volatile int *flag;
    int after_ms;
    double at_ms;
} aborter;

static void *abort_later(void *arg)
{
    aborter *a = arg;
    struct timespec ts = {a->after_ms / 1000, (long)(a->after_ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    a->at_ms = now_ms();
    *a->flag = 1;
    return NULL;
}

static void cancel_case(const char *model, int after_ms, int want_tokens)
{
    volatile int flag = 0;
    sink s;
    memset(&s, 0, sizeof s);
    int closed_before = stat_int("closed_early");
    void *ctx = open_llm(model);
    aborter a = {&flag, after_ms, 0};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, abort_later, &a), 0);
    int rc = ask(ctx, &s, &flag);
    double returned = now_ms();
    pthread_join(t, NULL);
    assert_int_equal(rc, VT_ECANCELED);
    double ms = returned - a.at_ms;
    if (ms > 100) /* milliseconds in practice; generous for sanitizers */
        fail_msg("%s: the transfer took %.1f ms to drop", model, ms);
    assert_int_equal(s.late, 0);
    assert_true(s.n >= want_tokens);
    if (s.n)
        assert_true(s.last_ms <= a.at_ms + 0.5);
    vt_brain_llm.destroy(ctx);
    /* the server sees the connection go (on its next write) */
    if (strcmp(model, "infinite") == 0) {
        int closed = closed_before;
        for (int i = 0; i < 100 && closed == closed_before; i++) {
            usleep(20000);
            closed = stat_int("closed_early");
        }
        assert_true(closed > closed_before);
    }
}

static void test_cancel(void **state)
{
    (void)state;
    cancel_case("infinite", 250, 5);  /* tokens flowing */
    cancel_case("stall", 300, 2);     /* nothing flowing */
    cancel_case("delay-first", 200, 0);
    volatile int flag = 1; /* already set: nothing is sent */
    sink s;
    memset(&s, 0, sizeof s);
    void *ctx = open_llm("normal");
    int before = stat_int("requests");
    assert_int_equal(ask(ctx, &s, &flag), VT_ECANCELED);
    assert_int_equal(stat_int("requests"), before); /* nothing was sent */
    vt_brain_llm.destroy(ctx);
}

/* ---- the key ---------------------------------------------------------------- */
static void test_api_key(void **state)
{
    (void)state;
    vt_opt key[] = {{"api_key_env", "VT_TEST_KEY"}};
    sink s;
    memset(&s, 0, sizeof s);
    void *ctx = open_llm_opts("http401", key, 1);
    assert_int_equal(ask(ctx, &s, NULL), VT_EIO);
    error_has("HTTP 401");
    error_has("VT_TEST_KEY");
    assert_null(strstr(vt_brain_error(), "SECRET"));
    assert_null(strstr(vt_brain_error(), "cdef"));
    cJSON *j = stats();
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(j, "last_auth")),
                        "Bearer " SECRET);
    assert_null(strstr(cJSON_GetStringValue(cJSON_GetObjectItem(j, "last_body")), "SECRET"));
    cJSON_Delete(j);
    vt_brain_llm.destroy(ctx);

    /* the right key is accepted; no key sends no header */
    setenv("VT_TEST_KEY2", "test-key-123", 1);
    vt_opt key2[] = {{"api_key_env", "VT_TEST_KEY2"}};
    ctx = open_llm_opts("auth", key2, 1);
    memset(&s, 0, sizeof s);
    assert_int_equal(ask(ctx, &s, NULL), 0);
    vt_brain_llm.destroy(ctx);
    ctx = open_llm("auth");
    assert_int_equal(ask(ctx, &s, NULL), VT_EIO);
    j = stats();
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "last_auth")));
    cJSON_Delete(j);
    vt_brain_llm.destroy(ctx);
}

/* ---- judge and filler --------------------------------------------------------- */
static void test_judge_and_filler(void **state)
{
    (void)state;
    struct {
        const char *model;
        int want;
    } judges[] = {{"say:true", 1}, {"say:False.", 0}, {"say:maybe", VT_EFORMAT}};
    for (size_t i = 0; i < 3; i++) {
        void *ctx = open_llm(judges[i].model);
        assert_int_equal(vt_brain_llm.judge(ctx, "is this complete", NULL), judges[i].want);
        int from = -1;
        int v = vt_brain_judge_or_heuristic(&vt_brain_llm, ctx, "and then", NULL, &from);
        assert_int_equal(from, judges[i].want >= 0);
        if (judges[i].want >= 0)
            assert_int_equal(v, judges[i].want);
        else
            assert_int_equal(v, vt_judge_heuristic("and then"));
        vt_brain_llm.destroy(ctx);
    }
    cJSON *j = stats();
    const char *body = cJSON_GetStringValue(cJSON_GetObjectItem(j, "last_body"));
    assert_non_null(strstr(body, "\"stream\":false"));
    assert_non_null(strstr(body, "and then"));
    cJSON_Delete(j);

    /* past the deadline: an error in time, then the heuristic */
    vt_opt dl[] = {{"judge_deadline_ms", "200"}, {"filler_deadline_ms", "200"}};
    void *ctx = open_llm_opts("slowsay:true", dl, 2);
    double t0 = now_ms();
    assert_int_equal(vt_brain_llm.judge(ctx, "hello there", NULL), VT_ETIMEDOUT);
    assert_true(now_ms() - t0 < 800);
    vt_filler_desc f[] = {{"Hmm, let me think.", "thinking"},
                          {"Great question!", "praise"},
                          {"Okay.", "neutral"}};
    t0 = now_ms();
    assert_int_equal(vt_brain_llm.choose_filler(ctx, "hello", f, 3, NULL), VT_ETIMEDOUT);
    assert_true(now_ms() - t0 < 800);
    vt_brain_llm.destroy(ctx);

    struct {
        const char *model;
        int want;
    } fills[] = {{"say:2", 2}, {"say:I would pick 1.", 1}, {"say:9", VT_EFORMAT},
                 {"say:none", VT_EFORMAT}};
    for (size_t i = 0; i < 4; i++) {
        ctx = open_llm(fills[i].model);
        assert_int_equal(vt_brain_llm.choose_filler(ctx, "what is gravity", f, 3, NULL),
                         fills[i].want);
        uint32_t rng = 99;
        int from = -1;
        int k = vt_brain_filler_or_random(&vt_brain_llm, ctx, "x", f, 3, NULL, &rng, &from);
        assert_true(k >= 0 && k < 3);
        assert_int_equal(from, fills[i].want >= 0);
        vt_brain_llm.destroy(ctx);
    }
    j = stats();
    body = cJSON_GetStringValue(cJSON_GetObjectItem(j, "last_body"));
    assert_non_null(strstr(body, "Great question!"));
    assert_non_null(strstr(body, "(praise)"));
    cJSON_Delete(j);
}

/* ---- what the model is sent ----------------------------------------------------- */
static void test_history_sent(void **state)
{
    (void)state;
    vt_opt sys[] = {{"system_prompt", "You are Ada, a maths tutor."}, {"lesson", "capitals"}};
    void *ctx = open_llm_opts("normal", sys, 2);
    vt_turn h[] = {
        {VT_ROLE_USER, "tell me about fractions", NULL, 0},
        {VT_ROLE_ASSISTANT, "A fraction is a part of a...", "whole, like a half.", 1},
        {VT_ROLE_NOTE, "the person interrupted", NULL, 0},
        {VT_ROLE_USER, "what about a half", NULL, 0},
    };
    sink s;
    memset(&s, 0, sizeof s);
    assert_int_equal(vt_brain_llm.reply(ctx, h, 4, on_tok, &s, NULL), 0);
    cJSON *j = stats();
    cJSON *body = cJSON_Parse(cJSON_GetStringValue(cJSON_GetObjectItem(j, "last_body")));
    assert_non_null(body);
    cJSON *msgs = cJSON_GetObjectItem(body, "messages");
    assert_int_equal(cJSON_GetArraySize(msgs), 4);
    const char *sysmsg =
        cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(msgs, 0), "content"));
    assert_non_null(strstr(sysmsg, "You are Ada, a maths tutor."));
    assert_non_null(strstr(sysmsg, "What is the capital of France? Answer: Paris"));
    assert_string_equal(
        cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(msgs, 2), "content")),
        "A fraction is a part of a...");
    assert_string_equal(
        cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(msgs, 3), "content")),
        "[the person interrupted] what about a half");
    assert_null(strstr(cJSON_GetStringValue(cJSON_GetObjectItem(j, "last_body")), "whole, like"));
    cJSON_Delete(body);
    cJSON_Delete(j);
    char g[256];
    assert_true(vt_brain_greeting(&vt_brain_llm, ctx, g, sizeof g) > 0);
    assert_non_null(strstr(g, "world capitals"));
    vt_brain_llm.destroy(ctx);
}

static void test_bad_options(void **state)
{
    (void)state;
    char err[256];
    void *ctx = NULL;
    vt_opt o1[] = {{"base_url", "ftp://x"}};
    assert_int_equal(vt_brain_llm.create(o1, 1, &ctx, err, sizeof err), VT_EINVAL);
    assert_non_null(strstr(err, "base_url"));
    vt_opt o2[] = {{"stall_timeout_ms", "soon"}};
    assert_int_equal(vt_brain_llm.create(o2, 1, &ctx, err, sizeof err), VT_EINVAL);
    assert_non_null(strstr(err, "stall_timeout_ms"));
    vt_opt o3[] = {{"lesson", "no-such-lesson"}};
    assert_int_equal(vt_brain_llm.create(o3, 1, &ctx, err, sizeof err), VT_ENOTFOUND);
    setenv("VT_TEST_BADKEY", "sk-with\nnewline", 1);
    vt_opt o4[] = {{"api_key_env", "VT_TEST_BADKEY"}};
    assert_int_equal(vt_brain_llm.create(o4, 1, &ctx, err, sizeof err), VT_EINVAL);
    assert_null(strstr(err, "newline"));
    assert_null(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normal_and_split), cmocka_unit_test(test_failures),
        cmocka_unit_test(test_timeouts),         cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_api_key),          cmocka_unit_test(test_judge_and_filler),
        cmocka_unit_test(test_history_sent),     cmocka_unit_test(test_bad_options),
    };
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, start_server, stop_server);
}
