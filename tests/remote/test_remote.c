/*
 * The OpenAI-compatible remote speech engines (stt_openai.c, tts_openai.c,
 * remote_http.c) against tests/remote/fake_audio.py on 127.0.0.1, which
 * parses the real multipart request and answers in the real formats
 * (json, verbose_json; a chunked pcm or wav stream). Final text, word
 * times and the prompt; slow, failed and garbage answers; a stream aborted
 * in the middle; the API key never in a message or on stderr. Also the URL
 * joining and key scrubbing helpers.
 */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "engines/speech/remote_http.h"
#include "engines/speech/speech.h"
#include "support/fake_llm.h"
#include "support/fake_stats.h"
#include "util/clock.h"

#define SECRET "sk-remote-SECRET-0123456789abcdef"

static vt_fake_llm server;
static char base_url[64];

static int start_server(void **state)
{
    (void)state;
    char script[1024];
    snprintf(script, sizeof script, "%s/tests/remote/fake_audio.py",
             getenv("VT_SOURCE_DIR") ? getenv("VT_SOURCE_DIR") : ".");
    if (vt_fake_llm_start(&server, script, 170) != 0)
        return -1;
    snprintf(base_url, sizeof base_url, "http://127.0.0.1:%d/v1", server.port);
    setenv("VT_TEST_REMOTE_KEY", SECRET, 1);
    return 0;
}

static int stop_server(void **state)
{
    (void)state;
    vt_fake_llm_stop(&server);
    return 0;
}

/* GET /stats of the fake (tests/support/fake_stats.c); the caller deletes it. */
static cJSON *stats(void)
{
    cJSON *j = vt_fake_stats(server.port);
    assert_non_null(j);
    return j;
}

static const char *stat_str(cJSON *j, const char *obj, const char *key)
{
    const cJSON *o = obj ? cJSON_GetObjectItem(j, obj) : j;
    const cJSON *v = cJSON_GetObjectItem(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double stat_num(cJSON *j, const char *obj, const char *key)
{
    const cJSON *o = obj ? cJSON_GetObjectItem(j, obj) : j;
    const cJSON *v = cJSON_GetObjectItem(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

/* ---- speech-to-text --------------------------------------------------- */

typedef struct stt {
    void *model, *ctx;
} stt;

static stt stt_open(const char *model, const vt_opt *extra, size_t n_extra)
{
    vt_opt o[16] = {{"stt_url", base_url}, {"stt_model", model},
                    {"stt_api_key_env", "VT_TEST_REMOTE_KEY"}};
    size_t n = 3;
    for (size_t i = 0; i < n_extra; i++)
        o[n++] = extra[i];
    stt s = {0};
    char err[512];
    int rc = vt_stt_open(&vt_stt_openai, o, n, &s.model, &s.ctx, err, sizeof err);
    if (rc)
        fprintf(stderr, "stt open: %s\n", err);
    assert_int_equal(rc, 0);
    return s;
}

static void stt_close(stt s)
{
    vt_stt_close(&vt_stt_openai, s.model, s.ctx);
}

/* 1.2 s of a quiet tone, 16 kHz */
static int16_t g_pcm[VT_IN_RATE * 6 / 5];

static int run_transcribe(stt s, const char *const *ex, size_t n_ex, vt_stt_result *r, char *err,
                          size_t errlen)
{
    for (size_t i = 0; i < sizeof g_pcm / sizeof g_pcm[0]; i++)
        g_pcm[i] = (int16_t)((i % 40) * 50 - 1000);
    return vt_stt_openai.transcribe(s.ctx, g_pcm, sizeof g_pcm / sizeof g_pcm[0], ex, n_ex, r,
                                    NULL, err, errlen);
}

static void test_stt_json(void **state)
{
    (void)state;
    vt_opt ex[] = {{"stt_language", "en"}};
    stt s = stt_open("say:Forty  two.", ex, 1);
    vt_stt_result *r = calloc(1, sizeof *r);
    char err[512] = "";
    assert_int_equal(run_transcribe(s, NULL, 0, r, err, sizeof err), 0);
    assert_string_equal(r->text, "Forty two.");
    assert_int_equal(r->n_words, 0);
    cJSON *j = stats();
    assert_string_equal(stat_str(j, "last_stt", "model"), "say:Forty  two.");
    assert_string_equal(stat_str(j, "last_stt", "response_format"), "json");
    assert_string_equal(stat_str(j, "last_stt", "language"), "en");
    assert_string_equal(stat_str(j, "last_stt", "filename"), "utterance.wav");
    assert_true(stat_num(j, "last_stt", "rate") == 16000);
    assert_true(stat_num(j, "last_stt", "duration") > 1.19 &&
                stat_num(j, "last_stt", "duration") < 1.21);
    assert_null(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "last_stt"), "prompt"));
    /* the key went in the header, nowhere else */
    assert_string_equal(stat_str(j, NULL, "last_auth"), "Bearer " SECRET);
    cJSON_Delete(j);
    /* the cost of the round trip itself (WAV, multipart, HTTP on 127.0.0.1,
     * the fake's parsing): printed for docs/BENCHMARKS.md */
    double ms[10];
    for (int i = 0; i < 10; i++) {
        int64_t t0 = vt_now_us();
        assert_int_equal(run_transcribe(s, NULL, 0, r, err, sizeof err), 0);
        ms[i] = (double)(vt_now_us() - t0) / 1000.0;
    }
    for (int i = 1; i < 10; i++)
        for (int k = i; k > 0 && ms[k] < ms[k - 1]; k--) {
            double x = ms[k];
            ms[k] = ms[k - 1];
            ms[k - 1] = x;
        }
    fprintf(stderr, "  1.2 s utterance round trip to the fake: median %.1f ms, max %.1f ms\n",
            ms[5], ms[9]);
    /* the streaming ops (the transcribe command's one-off use) post at end() */
    assert_int_equal(vt_speech_transcribe_pcm(&vt_stt_openai, s.ctx, g_pcm, 8000, r), 0);
    assert_string_equal(r->text, "Forty two.");
    char part[16] = "x";
    assert_int_equal(vt_stt_openai.partial(s.ctx, part, sizeof part), 0);
    assert_string_equal(part, "");
    free(r);
    stt_close(s);
}

static void test_stt_verbose_words(void **state)
{
    (void)state;
    vt_opt ex[] = {{"stt_format", "verbose_json"}};
    stt s = stt_open("say:the capital is paris", ex, 1);
    vt_stt_result *r = calloc(1, sizeof *r);
    char err[512] = "";
    assert_int_equal(run_transcribe(s, NULL, 0, r, err, sizeof err), 0);
    assert_string_equal(r->text, "the capital is paris");
    assert_int_equal(r->n_words, 4);
    assert_string_equal(r->words[3].text, "paris");
    assert_int_equal(r->words[0].start_ms, 0);
    assert_true(r->words[3].end_ms >= 1190 && r->words[3].end_ms <= 1210);
    for (size_t i = 1; i < r->n_words; i++)
        assert_true(r->words[i].start_ms >= r->words[i - 1].end_ms - 1);
    cJSON *j = stats();
    assert_string_equal(stat_str(j, "last_stt", "response_format"), "verbose_json");
    assert_string_equal(stat_str(j, "last_stt", "timestamp_granularities[]"), "word");
    cJSON_Delete(j);
    stt_close(s);
    /* whisper.cpp's server: the words inside the segments, with a space */
    s = stt_open("wcpp:seven times eight", ex, 1);
    assert_int_equal(run_transcribe(s, NULL, 0, r, err, sizeof err), 0);
    assert_string_equal(r->text, "seven times eight");
    assert_int_equal(r->n_words, 3);
    assert_string_equal(r->words[0].text, "seven");
    assert_true(r->words[2].end_ms >= 1190);
    free(r);
    stt_close(s);
}

static void test_stt_prompt_carries_expected(void **state)
{
    (void)state;
    vt_opt ex[] = {{"stt_prompt", "A geography lesson."}};
    stt s = stt_open("say:paris", ex, 1);
    vt_stt_result *r = calloc(1, sizeof *r);
    char err[512] = "";
    const char *expected[] = {"paris", "the city of light"};
    assert_int_equal(run_transcribe(s, expected, 2, r, err, sizeof err), 0);
    cJSON *j = stats();
    assert_string_equal(stat_str(j, "last_stt", "prompt"),
                        "paris, the city of light. A geography lesson.");
    cJSON_Delete(j);
    free(r);
    stt_close(s);
}

static void expect_failure(const char *model, const vt_opt *extra, size_t n_extra, int want_rc,
                           const char *want_msg, double max_ms)
{
    stt s = stt_open(model, extra, n_extra);
    vt_stt_result *r = calloc(1, sizeof *r);
    char err[512] = "";
    int64_t t0 = vt_now_us();
    int rc = run_transcribe(s, NULL, 0, r, err, sizeof err);
    double ms = (double)(vt_now_us() - t0) / 1000.0;
    if (want_rc)
        assert_int_equal(rc, want_rc);
    else
        assert_true(rc < 0);
    assert_string_equal(r->text, "");
    if (!strstr(err, want_msg))
        fprintf(stderr, "%s: got '%s'\n", model, err);
    assert_non_null(strstr(err, want_msg));
    assert_null(strstr(err, "SECRET"));
    assert_true(ms < max_ms);
    free(r);
    stt_close(s);
}

static void test_stt_failures(void **state)
{
    (void)state;
    vt_opt fast[] = {{"stt_timeout_ms", "300"}};
    expect_failure("slow:2000:late words", fast, 1, VT_ETIMEDOUT, "within 300 ms", 800);
    expect_failure("http500", NULL, 0, VT_EIO, "HTTP 500: internal error", 2000);
    expect_failure("garbage", NULL, 0, VT_EFORMAT, "not JSON", 2000);
    expect_failure("notext", NULL, 0, VT_EFORMAT, "without a \"text\"", 2000);
    expect_failure("drop", NULL, 0, 0, "stt openai:", 2000);
    /* nobody listening: a connection error, at once */
    vt_opt closed[] = {{"stt_url", "http://127.0.0.1:9/v1"}};
    expect_failure("say:x", closed, 1, 0, "127.0.0.1:9", 2000);
    /* the server echoes the key it was given: scrubbed from the message */
    expect_failure("http401", NULL, 0, VT_EIO, "HTTP 401", 2000);
}

static void test_stt_bad_options(void **state)
{
    (void)state;
    void *m = NULL;
    char err[256];
    vt_opt o[] = {{"stt_format", "srt"}};
    assert_int_equal(vt_stt_openai.load(o, 1, &m, err, sizeof err), VT_EINVAL);
    assert_non_null(strstr(err, "json or verbose_json"));
    vt_opt t[] = {{"stt_timeout_ms", "abc"}};
    assert_int_equal(vt_stt_openai.load(t, 1, &m, err, sizeof err), VT_EINVAL);
    assert_null(m);
}

/* ---- text-to-speech --------------------------------------------------- */

typedef struct tts {
    const vt_tts_ops *ops;
    void *model, *ctx;
} tts;

static tts tts_open(const char *model, const vt_opt *extra, size_t n_extra)
{
    vt_opt o[16] = {{"tts_url", base_url}, {"tts_model", model},
                    {"tts_api_key_env", "VT_TEST_REMOTE_KEY"}};
    size_t n = 3;
    for (size_t i = 0; i < n_extra; i++)
        o[n++] = extra[i];
    tts t = {0};
    char err[512];
    int rc = vt_tts_open("openai:nova", o, n, &t.ops, &t.model, &t.ctx, err, sizeof err);
    if (rc)
        fprintf(stderr, "tts open: %s\n", err);
    assert_int_equal(rc, 0);
    return t;
}

typedef struct sink {
    size_t n, chunks, words, after_abort;
    int64_t t_first;
    int64_t sum;
    int abort_after;           /* raise the flag after this many chunks (0: never) */
    volatile int abort;
    int64_t t_abort;
} sink;

static int on_chunk(void *ud, const int16_t *pcm, size_t n, const vt_word *w, size_t nw)
{
    sink *s = ud;
    (void)w;
    if (s->abort)
        s->after_abort++;
    if (!s->t_first)
        s->t_first = vt_now_us();
    s->n += n;
    s->chunks++;
    s->words += nw;
    for (size_t i = 0; i < n; i++)
        s->sum += pcm[i] < 0 ? -pcm[i] : pcm[i];
    if (s->abort_after && (int)s->chunks == s->abort_after) {
        s->abort = 1;
        s->t_abort = vt_now_us();
    }
    return 0;
}

static int stderr_to(const char *path)
{
    fflush(stderr);
    int saved = dup(2);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fd, 2);
    close(fd);
    return saved;
}

static void stderr_back(int saved)
{
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
}

static void test_tts_stream_pcm(void **state)
{
    (void)state;
    tts t = tts_open("realtime", NULL, 0);
    assert_int_equal(t.ops->sample_rate(t.ctx), 24000);
    sink s = {0};
    int64_t t0 = vt_now_us();
    /* 10 words: 2 s of audio, sent in real time */
    assert_int_equal(vt_tts_synth_at(t.ops, t.ctx, 16000, "one two three four five six seven "
                                     "eight nine ten", on_chunk, &s, NULL), 0);
    int64_t t1 = vt_now_us();
    assert_true(s.n > 31900 && s.n < 32100); /* 2 s at 16 kHz */
    assert_int_equal(s.words, 0);            /* no timings: the core spreads the words */
    assert_true(s.chunks > 20);
    /* streamed: the first audio long before the last */
    assert_true(s.t_first - t0 < (t1 - t0) / 4);
    cJSON *j = stats();
    assert_string_equal(stat_str(j, "last_tts", "voice"), "nova");
    assert_string_equal(stat_str(j, "last_tts", "response_format"), "pcm");
    assert_string_equal(stat_str(j, "last_tts", "input"),
                        "one two three four five six seven eight nine ten");
    assert_true(stat_num(j, "last_tts", "speed") == 1.0);
    cJSON_Delete(j);
    vt_tts_close(t.ops, t.model, t.ctx);
}

static void test_tts_wav_and_split_samples(void **state)
{
    (void)state;
    vt_opt wav[] = {{"tts_format", "wav"}};
    sink a = {0}, b = {0}, c = {0};
    tts t = tts_open("tone", NULL, 0);
    assert_int_equal(t.ops->synth(t.ctx, "hello there", on_chunk, &a, NULL), 0);
    vt_tts_close(t.ops, t.model, t.ctx);
    t = tts_open("tone", wav, 1);
    assert_int_equal(t.ops->synth(t.ctx, "hello there", on_chunk, &b, NULL), 0);
    vt_tts_close(t.ops, t.model, t.ctx);
    t = tts_open("odd", NULL, 0);
    assert_int_equal(t.ops->synth(t.ctx, "hello there", on_chunk, &c, NULL), 0);
    vt_tts_close(t.ops, t.model, t.ctx);
    /* the same samples whatever the container or the pieces */
    assert_int_equal(a.n, 9600);
    assert_int_equal(b.n, a.n);
    assert_int_equal(c.n, a.n);
    assert_true(a.sum > 0);
    assert_true(b.sum == a.sum);
    assert_true(c.sum == a.sum);
    vt_opt sp[] = {{"tts_speed", "2"}};
    sink d = {0};
    t = tts_open("tone", sp, 1);
    assert_int_equal(t.ops->synth(t.ctx, "hello there", on_chunk, &d, NULL), 0);
    assert_int_equal(d.n, 4800);
    vt_tts_close(t.ops, t.model, t.ctx);
}

static void test_tts_abort_mid_stream(void **state)
{
    (void)state;
    tts t = tts_open("realtime", NULL, 0);
    sink s = {.abort_after = 5};
    const char *text = "this is a long answer that goes on and on for many words so that it "
                       "lasts several seconds at least";
    int rc = vt_tts_synth_at(t.ops, t.ctx, 16000, text, on_chunk, &s, &s.abort);
    int64_t stopped = vt_now_us();
    assert_int_equal(rc, VT_ECANCELED);
    assert_true(s.after_abort <= 1);   /* within one chunk */
    assert_true(stopped - s.t_abort < 100000);
    /* the session goes on: the same ctx speaks the next phrase */
    sink n = {0};
    assert_int_equal(vt_tts_synth_at(t.ops, t.ctx, 16000, "next", on_chunk, &n, NULL), 0);
    assert_true(n.n > 3000);
    vt_tts_close(t.ops, t.model, t.ctx);
    /* the server saw the connection go */
    usleep(300000);
    cJSON *j = stats();
    assert_true(stat_num(j, NULL, "tts_closed_early") >= 1);
    cJSON_Delete(j);
}

typedef struct raiser {
    volatile int *flag;
    int ms;
} raiser;

static void *raise_later(void *ud)
{
    raiser *r = ud;
    usleep((useconds_t)r->ms * 1000);
    *r->flag = 1;
    return NULL;
}

static void test_tts_abort_while_stalled(void **state)
{
    (void)state;
    vt_opt o[] = {{"tts_stall_ms", "5000"}};
    tts t = tts_open("stall", o, 1);
    sink s = {0};
    raiser r = {&s.abort, 300};
    pthread_t th;
    pthread_create(&th, NULL, raise_later, &r);
    int64_t t0 = vt_now_us();
    int rc = t.ops->synth(t.ctx, "one two three", on_chunk, &s, &s.abort);
    double ms = (double)(vt_now_us() - t0) / 1000.0;
    pthread_join(th, NULL);
    assert_int_equal(rc, VT_ECANCELED);
    assert_true(ms < 400); /* the flag is looked at every 5 ms, not per byte */
    vt_tts_close(t.ops, t.model, t.ctx);
}

static void test_tts_failures(void **state)
{
    (void)state;
    char log[1024];
    snprintf(log, sizeof log, "/tmp/vt_test_remote_%d.log", (int)getpid());
    int saved = stderr_to(log);
    struct {
        const char *model;
        int rc;
        vt_opt o;
    } cases[] = {
        {"http500", VT_EIO, {"tts_format", "pcm"}},
        {"garbage", VT_EFORMAT, {"tts_format", "pcm"}},
        {"wav8k", VT_EFORMAT, {"tts_format", "wav"}},
        {"stall", VT_ETIMEDOUT, {"tts_stall_ms", "300"}},
        {"drop", 0, {"tts_format", "pcm"}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tts t = tts_open(cases[i].model, &cases[i].o, 1);
        sink s = {0};
        int64_t t0 = vt_now_us();
        int rc = t.ops->synth(t.ctx, "one two three", on_chunk, &s, NULL);
        if (cases[i].rc)
            assert_int_equal(rc, cases[i].rc);
        else
            assert_true(rc < 0 && rc != VT_ECANCELED);
        assert_true(vt_now_us() - t0 < 2000000);
        vt_tts_close(t.ops, t.model, t.ctx);
    }
    stderr_back(saved);
    FILE *f = fopen(log, "r");
    assert_non_null(f);
    char buf[8192];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    unlink(log);
    assert_non_null(strstr(buf, "tts openai:"));
    assert_non_null(strstr(buf, "HTTP 500"));
    assert_non_null(strstr(buf, "8000 Hz"));
    assert_null(strstr(buf, "SECRET"));
}

/* ---- helpers ---------------------------------------------------------- */

static void test_url_and_scrub(void **state)
{
    (void)state;
    char u[256];
    assert_int_equal(vt__http_url("http://h:8080/v1", "audio/speech", u, sizeof u), 0);
    assert_string_equal(u, "http://h:8080/v1/audio/speech");
    assert_int_equal(vt__http_url("http://h:8080/v1/", "audio/speech", u, sizeof u), 0);
    assert_string_equal(u, "http://h:8080/v1/audio/speech");
    assert_int_equal(vt__http_url("http://h:8080", "audio/speech", u, sizeof u), 0);
    assert_string_equal(u, "http://h:8080/v1/audio/speech");
    assert_int_equal(vt__http_url("https://api.openai.com/v1/audio/transcriptions",
                                  "audio/transcriptions", u, sizeof u), 0);
    assert_string_equal(u, "https://api.openai.com/v1/audio/transcriptions");
    assert_int_equal(vt__http_url("http://h:8080/inference", "audio/transcriptions", u,
                                  sizeof u), 0);
    assert_string_equal(u, "http://h:8080/inference");
    assert_int_equal(vt__http_url("", "audio/speech", u, sizeof u), VT_EINVAL);

    char m[256] = "Incorrect API key provided: sk-remote-SECR****cdef and Bearer "
                  "sk-remote-SECRET-0123456789abcdef.";
    vt__http_scrub(m, sizeof m, SECRET);
    assert_null(strstr(m, "SECR"));
    assert_null(strstr(m, "0123456789"));
    assert_non_null(strstr(m, "Incorrect API key provided: ***"));
    char k[64] = "key abc here";
    vt__http_scrub(k, sizeof k, "abc");
    assert_string_equal(k, "key *** here");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url_and_scrub),
        cmocka_unit_test(test_stt_bad_options),
        cmocka_unit_test(test_stt_json),
        cmocka_unit_test(test_stt_verbose_words),
        cmocka_unit_test(test_stt_prompt_carries_expected),
        cmocka_unit_test(test_stt_failures),
        cmocka_unit_test(test_tts_stream_pcm),
        cmocka_unit_test(test_tts_wav_and_split_samples),
        cmocka_unit_test(test_tts_abort_mid_stream),
        cmocka_unit_test(test_tts_abort_while_stalled),
        cmocka_unit_test(test_tts_failures),
    };
    return cmocka_run_group_tests(tests, start_server, stop_server);
}
