/*
 * Text-to-speech on any OpenAI-compatible server: POST /v1/audio/speech
 * (Kokoro or Piper servers, LocalAI, vLLM, OpenAI).
 *
 * DESIGN
 * The request is JSON {model, voice, input, response_format, speed}; the
 * body is audio, read as libcurl receives it (a chunked or streamed
 * answer), cut into chunk_ms pieces and handed on at once: first audio
 * comes with the server's first bytes, not after the whole phrase. "pcm" is
 * raw s16le at tts_rate (24 kHz, OpenAI's rate); "wav" is parsed as it
 * streams (RIFF header, chunks up to "data"; the size fields of a streamed
 * WAV are often 0 or 0xFFFFFFFF and are ignored). The rate must be known
 * before synthesis (sample_rate() is asked first, vt_tts_synth_at resamples
 * from it), so a WAV whose header names another rate is an error.
 *
 * No word timings come from the API: chunks carry no words, and the core
 * spreads the phrase's words over its audio (engines without timings).
 *
 * Abort: the abort flag is looked at before every chunk and every 5 ms while
 * waiting for bytes (remote_http.c), and a chunk callback that returns
 * non-zero stops the transfer; nothing after that is handed on.
 *
 * A status other than 2xx, a JSON or text body where audio was asked for,
 * or a broken WAV is an error: the runtime then speaks the rest of the
 * answer with the embedded voice. The key never appears in a message.
 */
#include "engines/speech/speech.h"
#include "engines/speech/speech_internal.h"
#include "engines/speech/remote_http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

typedef struct tts_model {
    char url[1024];
    char model[128];
    char voice[128];
    int wav;                       /* response_format wav, else pcm */
    int rate;
    double speed;
    int connect_ms, first_ms, stall_ms, total_ms;
    char *key;
} tts_model;

typedef struct tts_ctx {
    const tts_model *m;
    vt__http *http;
    int chunk_ms;
} tts_ctx;

static int tso_load(const vt_opt *o, size_t n, void **out, char *err, size_t errlen)
{
    *out = NULL;
    int rc = vt__http_global(err, errlen);
    if (rc)
        return rc;
    tts_model *m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(err, errlen, "tts openai: out of memory");
        return VT_ENOMEM;
    }
    const char *base = vt_opt_get(o, n, "tts_url", "http://127.0.0.1:8880/v1");
    if (vt__http_url(base, "audio/speech", m->url, sizeof m->url)) {
        snprintf(err, errlen, "tts openai: tts_url '%.200s' is not a usable URL", base);
        rc = VT_EINVAL;
        goto fail;
    }
    snprintf(m->model, sizeof m->model, "%s", vt_opt_get(o, n, "tts_model", "tts-1"));
    /* a voice spec "openai:NAME" (vt_tts_load_voice) arrives as "voice" */
    snprintf(m->voice, sizeof m->voice, "%s",
             vt_opt_get(o, n, "tts_voice", vt_opt_get(o, n, "voice", "alloy")));
    const char *fmt = vt_opt_get(o, n, "tts_format", "pcm");
    if (strcmp(fmt, "pcm") != 0 && strcmp(fmt, "wav") != 0) {
        snprintf(err, errlen, "tts openai: tts_format=%s: want pcm or wav", fmt);
        rc = VT_EINVAL;
        goto fail;
    }
    m->wav = strcmp(fmt, "wav") == 0;
    if ((rc = vt__opt_int(o, n, "tts_rate", 24000, 8000, 48000, &m->rate, err, errlen)) ||
        (rc = vt__opt_double(o, n, "tts_speed", 1.0, 0.25, 4.0, &m->speed, err, errlen)) ||
        (rc = vt__opt_int(o, n, "tts_connect_timeout_ms", 1000, 10, 60000, &m->connect_ms, err,
                          errlen)) ||
        (rc = vt__opt_int(o, n, "tts_first_byte_ms", 3000, 50, 600000, &m->first_ms, err,
                          errlen)) ||
        (rc = vt__opt_int(o, n, "tts_stall_ms", 2000, 50, 600000, &m->stall_ms, err, errlen)) ||
        (rc = vt__opt_int(o, n, "tts_timeout_ms", 60000, 100, 600000, &m->total_ms, err,
                          errlen)))
        goto fail;
    m->key = vt__http_key_load(o, n, "tts_api_key_env", "VOICETUTOR_TTS_API_KEY",
                               "OPENAI_API_KEY");
    *out = m;
    return 0;
fail:
    free(m);
    return rc;
}

static void tso_unload(void *model)
{
    tts_model *m = model;
    if (!m)
        return;
    vt__http_key_free(m->key);
    free(m);
}

static int tso_create(void *model, const vt_opt *o, size_t n, void **out, char *err,
                      size_t errlen)
{
    int rc;
    tts_ctx *c = vt__ctx_new(model, sizeof *c, "tts openai", &rc, err, errlen);
    *out = NULL;
    if (!c)
        return rc;
    c->m = model;
    if ((rc = vt__opt_int(o, n, "tts_chunk_ms", 40, 5, 1000, &c->chunk_ms, err, errlen))) {
        free(c);
        return rc;
    }
    if (vt__http_new(&c->http)) {
        free(c);
        snprintf(err, errlen, "tts openai: out of memory");
        return VT_ENOMEM;
    }
    *out = c;
    return 0;
}

static void tso_destroy(void *ctx)
{
    tts_ctx *c = ctx;
    if (!c)
        return;
    vt__http_free(c->http);
    free(c);
}

static int tso_rate(void *ctx)
{
    const tts_ctx *c = ctx;
    return c ? c->m->rate : VT_EINVAL;
}

/* ---- the streamed body ------------------------------------------------ */

typedef struct stream {
    const tts_ctx *c;
    vt_tts_chunk_fn fn;
    void *ud;
    const volatile int *abort;
    /* WAV header parsing: bytes kept until the "data" chunk starts */
    int in_data;                   /* pcm: from the first byte */
    unsigned char hdr[4096];
    size_t hdr_n;
    unsigned char odd;             /* a sample split across two reads */
    int have_odd;
    int16_t *buf;                  /* samples waiting for a full chunk */
    size_t buf_n, chunk;
    int stopped;                   /* the callback asked to stop */
    int failed;                    /* VT_EFORMAT / VT_ENOMEM */
    char err[200];
    size_t delivered;
} stream;

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int flush(stream *s, int all)
{
    while (s->buf_n >= s->chunk || (all && s->buf_n)) {
        size_t k = s->buf_n < s->chunk ? s->buf_n : s->chunk;
        if ((s->abort && *s->abort) || s->fn(s->ud, s->buf, k, NULL, 0)) {
            s->stopped = 1;
            return 1;
        }
        s->delivered += k;
        memmove(s->buf, s->buf + k, (s->buf_n - k) * sizeof *s->buf);
        s->buf_n -= k;
    }
    return 0;
}

static int pcm_bytes(stream *s, const unsigned char *p, size_t n)
{
    while (n) {
        if (s->have_odd) {
            s->buf[s->buf_n++] = (int16_t)(s->odd | (unsigned)p[0] << 8);
            s->have_odd = 0;
            p++, n--;
        } else if (n == 1) {
            s->odd = p[0];
            s->have_odd = 1;
            n = 0;
        } else {
            size_t room = s->chunk - s->buf_n;
            size_t k = n / 2 < room ? n / 2 : room;
            for (size_t i = 0; i < k; i++)
                s->buf[s->buf_n + i] = (int16_t)(p[2 * i] | (unsigned)p[2 * i + 1] << 8);
            s->buf_n += k;
            p += 2 * k;
            n -= 2 * k;
        }
        if (s->buf_n >= s->chunk && flush(s, 0))
            return 1;
    }
    return 0;
}

static int fail(stream *s, const char *msg)
{
    s->failed = VT_EFORMAT;
    snprintf(s->err, sizeof s->err, "%s", msg);
    return 1;
}

/* RIFF/WAVE header, fmt (mono s16 at the model's rate), then data. The
 * header bytes are kept until the "data" chunk starts and parsed again from
 * the start on each read (a header is a few dozen bytes). */
static int wav_bytes(stream *s, const unsigned char *p, size_t n)
{
    size_t k = n < sizeof s->hdr - s->hdr_n ? n : sizeof s->hdr - s->hdr_n;
    memcpy(s->hdr + s->hdr_n, p, k);
    s->hdr_n += k;
    p += k;
    n -= k;
    const unsigned char *h = s->hdr;
    size_t hn = s->hdr_n, off = 12;
    int have_fmt = 0;
    if (hn < 12)
        return 0;
    if (memcmp(h, "RIFF", 4) != 0 || memcmp(h + 8, "WAVE", 4) != 0)
        return fail(s, "the answer is not a WAV file");
    while (off + 8 <= hn) {
        uint32_t size = le32(h + off + 4);
        if (memcmp(h + off, "data", 4) == 0) {
            if (!have_fmt)
                return fail(s, "the WAV answer has data before its fmt chunk");
            s->in_data = 1;
            if (pcm_bytes(s, h + off + 8, hn - off - 8))
                return 1;
            return n ? pcm_bytes(s, p, n) : 0;
        }
        if (memcmp(h + off, "fmt ", 4) == 0) {
            if (size < 16)
                return fail(s, "the WAV answer has a broken fmt chunk");
            if (off + 8 + 16 > hn)
                break; /* the rest of fmt comes with the next read */
            const unsigned char *f = h + off + 8;
            unsigned fmt = f[0] | f[1] << 8, ch = f[2] | f[3] << 8, bits = f[14] | f[15] << 8;
            uint32_t rate = le32(f + 4);
            if (fmt != 1 || ch != 1 || bits != 16)
                return fail(s, "the WAV answer is not 16-bit mono PCM");
            if ((int)rate != s->c->m->rate) {
                snprintf(s->err, sizeof s->err, "the WAV answer is at %u Hz, not tts_rate=%d",
                         rate, s->c->m->rate);
                s->failed = VT_EFORMAT;
                return 1;
            }
            have_fmt = 1;
        }
        off += 8 + (size_t)size + (size & 1);
    }
    if (s->hdr_n == sizeof s->hdr)
        return fail(s, "the WAV answer's header is too long");
    return 0;
}

static int on_data(void *ud, const char *p, size_t n)
{
    stream *s = ud;
    if (s->delivered == 0 && s->buf_n == 0 && !s->have_odd && !s->hdr_n && n) {
        /* garbage where audio was asked for: a JSON error, an HTML page */
        if (p[0] == '{' || p[0] == '<')
            return fail(s, "the answer is text, not audio");
    }
    if (s->c->m->wav && !s->in_data)
        return wav_bytes(s, (const unsigned char *)p, n);
    return pcm_bytes(s, (const unsigned char *)p, n);
}

static int tso_synth(void *ctx, const char *text, vt_tts_chunk_fn fn, void *ud,
                     const volatile int *abort)
{
    tts_ctx *c = ctx;
    if (!c || !text || !fn)
        return VT_EINVAL;
    const tts_model *m = c->m;
    if (abort && *abort)
        return VT_ECANCELED;
    int rc = VT_ENOMEM;
    stream s = {.c = c, .fn = fn, .ud = ud, .abort = abort, .in_data = !m->wav};
    s.chunk = (size_t)m->rate * (size_t)c->chunk_ms / 1000;
    char *body = NULL;
    cJSON *j = cJSON_CreateObject();
    if (!j || !cJSON_AddStringToObject(j, "model", m->model) ||
        !cJSON_AddStringToObject(j, "voice", m->voice) ||
        !cJSON_AddStringToObject(j, "input", text) ||
        !cJSON_AddStringToObject(j, "response_format", m->wav ? "wav" : "pcm") ||
        !cJSON_AddNumberToObject(j, "speed", m->speed) ||
        !(body = cJSON_PrintUnformatted(j)) || !(s.buf = malloc(s.chunk * sizeof *s.buf)))
        goto out;
    char e[600] = "";
    vt__http_req r = {.url = m->url, .key = m->key, .content_type = "application/json",
                      .body = body, .body_len = strlen(body), .connect_ms = m->connect_ms,
                      .first_byte_ms = m->first_ms, .stall_ms = m->stall_ms,
                      .total_ms = m->total_ms, .on_data = on_data, .ud = &s, .abort = abort};
    vt__http_res res;
    rc = vt__http_post(c->http, &r, &res, e, sizeof e);
    if (rc == 0 && (strncmp(res.content_type, "application/json", 16) == 0 ||
                    strncmp(res.content_type, "text/", 5) == 0)) {
        rc = VT_EFORMAT;
        snprintf(s.err, sizeof s.err, "the answer is %s, not audio", res.content_type);
    }
    if (rc == 0 && m->wav && !s.in_data) {
        rc = VT_EFORMAT;
        snprintf(s.err, sizeof s.err, "the WAV answer has no data chunk");
    }
    if (rc == 0 && !flush(&s, 1) && s.delivered == 0) {
        rc = VT_EFORMAT;
        snprintf(s.err, sizeof s.err, "the answer has no audio");
    }
    if (s.failed)
        rc = s.failed;
    else if (s.stopped || (abort && *abort))
        rc = VT_ECANCELED;
    if (rc && rc != VT_ECANCELED) {
        /* the engine's own message when it has one, else the transfer's;
         * the caller gets it through the lane (vt_core_tts_error) */
        if (s.err[0])
            snprintf(e, sizeof e, "%.380s: %s", m->url, s.err);
        vt__http_scrub(e, sizeof e, m->key);
        fprintf(stderr, "voicetutor: tts openai: %s\n", e);
    }
out:
    cJSON_Delete(j);
    free(body);
    free(s.buf);
    return rc;
}

const vt_tts_ops vt_tts_openai = {
    .name = "openai",
    .load = tso_load,
    .unload = tso_unload,
    .create = tso_create,
    .destroy = tso_destroy,
    .sample_rate = tso_rate,
    .synth = tso_synth,
};
