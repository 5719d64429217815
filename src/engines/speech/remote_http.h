/*
 * What the two remote speech engines (stt_openai.c, tts_openai.c) share:
 * one HTTP POST driven on a curl multi handle with the abort flag checked
 * every few milliseconds, the timeouts, the API key from the environment
 * and its scrubbing from every message, and URL joining. Internal to
 * src/engines/speech.
 *
 * THREAD SAFETY: a vt__http is one connection cache used by one thread at
 * a time (it lives in an engine ctx). vt__http_key_load and the helpers
 * are reentrant.
 */
#ifndef VT_ENGINES_SPEECH_REMOTE_HTTP_H
#define VT_ENGINES_SPEECH_REMOTE_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "voicetutor/engine.h"

typedef struct vt__http vt__http;

/* Bytes of the response body as they arrive; non-zero stops the transfer
 * (the request then fails with VT_ECANCELED unless the callback set its
 * own error through its ud). */
typedef int (*vt__http_data_fn)(void *ud, const char *p, size_t n);

typedef struct vt__http_req {
    const char *url;
    const char *key;           /* API key or NULL: no Authorization header */
    const char *content_type;  /* body's type; NULL with mime */
    const char *body;          /* JSON body, or NULL with mime */
    size_t body_len;
    const void *mime;          /* a curl_mime (multipart) or NULL */
    long connect_ms;           /* TCP (+TLS) set-up */
    long first_byte_ms;        /* request sent to the first body byte (0: none) */
    long stall_ms;             /* no byte for this long inside the body (0: none) */
    long total_ms;             /* the whole request (0: none) */
    vt__http_data_fn on_data;  /* called only for a 2xx status */
    void *ud;
    const volatile int *abort;
} vt__http_req;

typedef struct vt__http_res {
    long status;               /* HTTP status, 0 when none came */
    char content_type[128];
    char body[512];            /* the start of a non-2xx body, scrubbed */
} vt__http_res;

/* One process-wide curl_global_init (thread-safe, once). */
int vt__http_global(char *err, size_t errlen);
int vt__http_new(vt__http **h);
void vt__http_free(vt__http *h);
/* curl's mime builder on h's easy handle (multipart/form-data). */
void *vt__http_mime(vt__http *h);
/* Runs the request. 0: a 2xx status; VT_ECANCELED on abort; VT_ETIMEDOUT;
 * VT_EIO for a connection failure or a non-2xx status (res->status and
 * res->body say which). err names the URL and what happened, with the key
 * scrubbed. */
int vt__http_post(vt__http *h, const vt__http_req *r, vt__http_res *res, char *err,
                  size_t errlen);

/* The API key: the variable named by option key_opt when given, else the
 * first of env1, env2 that is set and non-empty. Returns a malloc'd copy or
 * NULL (no key: no header). Wipe with vt__http_key_free. */
char *vt__http_key_load(const vt_opt *opts, size_t n, const char *key_opt, const char *env1,
                        const char *env2);
void vt__http_key_free(char *key);
/* Replaces in msg every run of 6 or more characters of key (and the whole
 * key when it is shorter) with "***". */
void vt__http_scrub(char *msg, size_t cap, const char *key);
/* base + "/" + tail unless base already ends with tail (a full endpoint);
 * a base ending in "/v1" or "/v1/" gets "/audio/..." added. */
int vt__http_url(const char *base, const char *tail, char *out, size_t cap);

#endif
