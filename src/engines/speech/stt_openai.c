/*
 * Speech-to-text on any OpenAI-compatible server: POST
 * /v1/audio/transcriptions (whisper.cpp's server, faster-whisper servers,
 * vLLM, LocalAI, OpenAI).
 *
 * DESIGN
 * A remote recogniser hears a recording, not a stream, so its main entry is
 * the optional `transcribe` op (engine.h): the utterance's 16 kHz mono audio
 * (with its pre-roll) goes out as a WAV file in multipart/form-data with
 * `model`, optional `language`, `prompt` (the phrases the tutor expects,
 * then the stt_prompt option) and `response_format` (json, or verbose_json
 * with word timestamps when the server gives them). The runtime keeps
 * pocketsphinx for interim text, segmentation and commands and calls this on
 * an io worker for each utterance's final text (docs/SPEECH.md, "Remote
 * engines"). The streaming ops work too, for one-off users (`transcribe`
 * command): begin/feed buffer the audio, partial has nothing, end posts it.
 *
 * The model holds the resolved configuration and the API key (read-only
 * after load); the ctx its connection (kept between utterances, so no new
 * TCP/TLS set-up each time) and the audio buffer. Errors never carry the
 * key (remote_http.c scrubs it); an answer that is not the expected JSON is
 * an error, so the runtime falls back to the local text.
 */
#include "engines/speech/speech.h"
#include "engines/speech/speech_internal.h"
#include "engines/speech/remote_http.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "util/wav.h"

#define MAX_AUDIO (VT_IN_RATE * 120)   /* two minutes: far beyond one utterance */
#define MAX_RESPONSE (256 * 1024)

typedef struct stt_model {
    char url[1024];
    char model[128];
    char language[16];
    char prompt[512];
    int verbose;                       /* response_format verbose_json */
    int connect_ms, timeout_ms;
    char *key;
} stt_model;

typedef struct stt_ctx {
    const stt_model *m;
    vt__http *http;
    int16_t *pcm;
    size_t n, cap;
    int in_utt;
} stt_ctx;

static int sto_load(const vt_opt *o, size_t n, void **out, char *err, size_t errlen)
{
    *out = NULL;
    int rc = vt__http_global(err, errlen);
    if (rc)
        return rc;
    stt_model *m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(err, errlen, "stt openai: out of memory");
        return VT_ENOMEM;
    }
    const char *base = vt_opt_get(o, n, "stt_url", "http://127.0.0.1:8080/v1");
    if (vt__http_url(base, "audio/transcriptions", m->url, sizeof m->url)) {
        snprintf(err, errlen, "stt openai: stt_url '%.200s' is not a usable URL", base);
        rc = VT_EINVAL;
        goto fail;
    }
    snprintf(m->model, sizeof m->model, "%s", vt_opt_get(o, n, "stt_model", "whisper-1"));
    snprintf(m->language, sizeof m->language, "%s", vt_opt_get(o, n, "stt_language", ""));
    snprintf(m->prompt, sizeof m->prompt, "%s", vt_opt_get(o, n, "stt_prompt", ""));
    const char *fmt = vt_opt_get(o, n, "stt_format", "json");
    if (strcmp(fmt, "json") != 0 && strcmp(fmt, "verbose_json") != 0) {
        snprintf(err, errlen, "stt openai: stt_format=%s: want json or verbose_json", fmt);
        rc = VT_EINVAL;
        goto fail;
    }
    m->verbose = strcmp(fmt, "verbose_json") == 0;
    if ((rc = vt__opt_int(o, n, "stt_connect_timeout_ms", 1000, 10, 60000, &m->connect_ms, err,
                          errlen)) ||
        (rc = vt__opt_int(o, n, "stt_timeout_ms", 3000, 50, 600000, &m->timeout_ms, err,
                          errlen)))
        goto fail;
    m->key = vt__http_key_load(o, n, "stt_api_key_env", "VOICETUTOR_STT_API_KEY",
                               "OPENAI_API_KEY");
    *out = m;
    return 0;
fail:
    free(m);
    return rc;
}

static void sto_unload(void *model)
{
    stt_model *m = model;
    if (!m)
        return;
    vt__http_key_free(m->key);
    free(m);
}

static int sto_create(void *model, const vt_opt *o, size_t n, void **out, char *err,
                      size_t errlen)
{
    (void)o;
    (void)n;
    int rc;
    stt_ctx *c = vt__ctx_new(model, sizeof *c, "stt openai", &rc, err, errlen);
    *out = NULL;
    if (!c)
        return rc;
    c->m = model;
    if (vt__http_new(&c->http)) {
        free(c);
        snprintf(err, errlen, "stt openai: out of memory");
        return VT_ENOMEM;
    }
    *out = c;
    return 0;
}

static void sto_destroy(void *ctx)
{
    stt_ctx *c = ctx;
    if (!c)
        return;
    vt__http_free(c->http);
    free(c->pcm);
    free(c);
}

static int sto_begin(void *ctx)
{
    stt_ctx *c = ctx;
    c->n = 0;
    c->in_utt = 1;
    return 0;
}

static int sto_feed(void *ctx, const int16_t *pcm, size_t n)
{
    stt_ctx *c = ctx;
    if (!c->in_utt || n == 0)
        return 0;
    if (c->n + n > MAX_AUDIO)
        n = MAX_AUDIO - c->n;
    if (c->n + n > c->cap) {
        size_t cap = c->cap ? c->cap : VT_IN_RATE * 4;
        while (cap < c->n + n)
            cap *= 2;
        int16_t *p = realloc(c->pcm, cap * sizeof *p);
        if (!p)
            return VT_ENOMEM;
        c->pcm = p;
        c->cap = cap;
    }
    memcpy(c->pcm + c->n, pcm, n * sizeof *pcm);
    c->n += n;
    return 0;
}

static int sto_partial(void *ctx, char *buf, size_t cap)
{
    (void)ctx;
    if (cap)
        buf[0] = 0;
    return 0; /* a remote recogniser has no interim text */
}

/* ---- the response --------------------------------------------------------- */

typedef struct body {
    char *p;
    size_t n;
    int too_big;
} body;

static int on_data(void *ud, const char *p, size_t n)
{
    body *b = ud;
    if (b->n + n > MAX_RESPONSE) {
        b->too_big = 1;
        return 1;
    }
    char *q = realloc(b->p, b->n + n + 1);
    if (!q)
        return 1;
    memcpy(q + b->n, p, n);
    b->p = q;
    b->n += n;
    b->p[b->n] = 0;
    return 0;
}

/* Collapse whitespace and trim: whisper answers " Forty two." */
static void clean_text(const char *in, char *out, size_t cap)
{
    size_t o = 0;
    int space = 0;
    for (; *in && o + 1 < cap; in++) {
        if (isspace((unsigned char)*in)) {
            space = o > 0;
            continue;
        }
        if (space && o + 2 < cap)
            out[o++] = ' ';
        space = 0;
        out[o++] = *in;
    }
    out[o] = 0;
}

static void add_word(vt_stt_result *out, const char *w, double start, double end)
{
    char t[sizeof out->words[0].text];
    clean_text(w, t, sizeof t);
    if (!t[0] || out->n_words >= sizeof out->words / sizeof out->words[0])
        return;
    vt_stt_word *d = &out->words[out->n_words++];
    snprintf(d->text, sizeof d->text, "%s", t);
    d->start_ms = start > 0 ? (uint32_t)(start * 1000.0 + 0.5) : 0;
    d->end_ms = end > start ? (uint32_t)(end * 1000.0 + 0.5) : d->start_ms;
}

/* [{word, start, end}] in seconds */
static void add_words(vt_stt_result *out, const cJSON *words)
{
    const cJSON *w;
    cJSON_ArrayForEach(w, words)
    {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(w, "word");
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(w, "start");
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(w, "end");
        if (cJSON_IsString(t) && cJSON_IsNumber(s) && cJSON_IsNumber(e))
            add_word(out, t->valuestring, s->valuedouble, e->valuedouble);
    }
}

/* {"text": ...} (json) or verbose_json's {"text", "words": [{word, start,
 * end}], "segments": [...]}; whisper.cpp's server gives the words in
 * each segment. Anything else is garbage. */
static int parse(const char *p, vt_stt_result *out, char *err, size_t errlen)
{
    cJSON *j = cJSON_Parse(p);
    const cJSON *text = j ? cJSON_GetObjectItemCaseSensitive(j, "text") : NULL;
    if (!cJSON_IsString(text)) {
        const cJSON *e = j ? cJSON_GetObjectItemCaseSensitive(j, "error") : NULL;
        const cJSON *em = cJSON_IsObject(e) ? cJSON_GetObjectItemCaseSensitive(e, "message") : e;
        if (cJSON_IsString(em))
            snprintf(err, errlen, "the server answered an error: %.200s", em->valuestring);
        else
            snprintf(err, errlen, "the answer is not a transcription (%s)",
                     j ? "JSON without a \"text\" string" : "not JSON");
        cJSON_Delete(j);
        return VT_EFORMAT;
    }
    clean_text(text->valuestring, out->text, sizeof out->text);
    add_words(out, cJSON_GetObjectItemCaseSensitive(j, "words"));
    if (out->n_words == 0) {
        /* whisper.cpp's server puts the words inside each segment */
        const cJSON *seg;
        cJSON_ArrayForEach(seg, cJSON_GetObjectItemCaseSensitive(j, "segments"))
            add_words(out, cJSON_GetObjectItemCaseSensitive(seg, "words"));
    }
    cJSON_Delete(j);
    return 0;
}

static int add_part(curl_mime *mime, const char *name, const char *value)
{
    curl_mimepart *part = curl_mime_addpart(mime);
    if (!part || curl_mime_name(part, name) != CURLE_OK ||
        curl_mime_data(part, value, CURL_ZERO_TERMINATED) != CURLE_OK)
        return VT_ENOMEM;
    return 0;
}

/* "forty two, paris. " + the stt_prompt option */
static void build_prompt(const stt_model *m, const char *const *expected, size_t n_expected,
                         char *out, size_t cap)
{
    size_t o = 0;
    out[0] = 0;
    for (size_t i = 0; expected && i < n_expected && o + 1 < cap; i++)
        if (expected[i] && expected[i][0])
            o += (size_t)snprintf(out + o, cap - o, "%s%s", o ? ", " : "", expected[i]);
    if (o && o + 2 < cap)
        o += (size_t)snprintf(out + o, cap - o, ".");
    if (m->prompt[0] && o + 2 < cap)
        snprintf(out + o, cap - o, "%s%s", o ? " " : "", m->prompt);
}

static int sto_transcribe(void *ctx, const int16_t *pcm, size_t n, const char *const *expected,
                          size_t n_expected, vt_stt_result *out, const volatile int *abort,
                          char *err, size_t errlen)
{
    stt_ctx *c = ctx;
    const stt_model *m = c ? c->m : NULL;
    if (!c || !out || (!pcm && n)) {
        snprintf(err, errlen, "stt openai: missing argument");
        return VT_EINVAL;
    }
    memset(out, 0, sizeof *out);
    uint8_t *wav = NULL;
    size_t wav_n = 0;
    body b = {0};
    char prompt[2048], e[600] = "";
    int rc = vt_wav_encode(pcm, n, VT_IN_RATE, &wav, &wav_n);
    if (rc) {
        snprintf(err, errlen, "stt openai: cannot encode the audio");
        return rc;
    }
    curl_mime *mime = vt__http_mime(c->http);
    curl_mimepart *file = mime ? curl_mime_addpart(mime) : NULL;
    rc = VT_ENOMEM;
    if (!file || curl_mime_name(file, "file") != CURLE_OK ||
        curl_mime_filename(file, "utterance.wav") != CURLE_OK ||
        curl_mime_type(file, "audio/wav") != CURLE_OK ||
        curl_mime_data(file, (const char *)wav, wav_n) != CURLE_OK ||
        add_part(mime, "model", m->model) ||
        add_part(mime, "response_format", m->verbose ? "verbose_json" : "json"))
        goto nomem;
    if (m->verbose && add_part(mime, "timestamp_granularities[]", "word"))
        goto nomem;
    if (m->language[0] && add_part(mime, "language", m->language))
        goto nomem;
    build_prompt(m, expected, n_expected, prompt, sizeof prompt);
    if (prompt[0] && add_part(mime, "prompt", prompt))
        goto nomem;
    vt__http_req r = {.url = m->url, .key = m->key, .mime = mime,
                      .connect_ms = m->connect_ms, .total_ms = m->timeout_ms,
                      .on_data = on_data, .ud = &b, .abort = abort};
    vt__http_res res;
    rc = vt__http_post(c->http, &r, &res, e, sizeof e);
    if (rc == VT_ECANCELED && b.too_big && !(abort && *abort)) {
        rc = VT_EFORMAT;
        snprintf(e, sizeof e, "the answer from %.400s is larger than %d bytes", m->url,
                 MAX_RESPONSE);
    }
    if (rc == 0)
        rc = parse(b.p ? b.p : "", out, e, sizeof e);
    if (rc) {
        memset(out, 0, sizeof *out);
        vt__http_scrub(e, sizeof e, m->key);
        snprintf(err, errlen, "stt openai: %s", e);
    }
    goto out;
nomem:
    snprintf(err, errlen, "stt openai: out of memory");
out:
    curl_mime_free(mime);
    free(wav);
    free(b.p);
    return rc;
}

static int sto_end(void *ctx, vt_stt_result *out)
{
    stt_ctx *c = ctx;
    char err[256];
    if (!c->in_utt) {
        memset(out, 0, sizeof *out);
        return 0;
    }
    c->in_utt = 0;
    return sto_transcribe(c, c->pcm, c->n, NULL, 0, out, NULL, err, sizeof err);
}

const vt_stt_ops vt_stt_openai = {
    .name = "openai",
    .load = sto_load,
    .unload = sto_unload,
    .create = sto_create,
    .destroy = sto_destroy,
    .begin = sto_begin,
    .feed = sto_feed,
    .partial = sto_partial,
    .end = sto_end,
    .transcribe = sto_transcribe,
};
