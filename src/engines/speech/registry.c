/*
 * The tables of speech engines, one per family (stt, kws, tts), looked up by
 * name, and opening engines from them: a TTS voice spec ("rms",
 * "espeak:de"), and one model plus one session state in one call for
 * one-off users (commands, benchmarks, the simulator).
 *
 * Why a file of its own: the tables name every engine and every engine uses
 * the shared helpers of tts_common.c; with the tables in tts_common.c the
 * two depended on each other. Here the dependencies run one way (registry ->
 * engines -> helpers). A new engine is one row in its family's table.
 */
#include "engines/speech/speech.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct entry {
    const char *name;        /* what users and configs say */
    const void *ops;         /* the family's ops table */
    int alias;               /* another name for the row above: not listed */
} entry;

static const entry k_stt[] = {
    {"pocketsphinx", &vt_stt_pocketsphinx, 0},
    {"openai", &vt_stt_openai, 0},
    {"fake", &vt_stt_fake, 0},
};
static const entry k_kws[] = {
    {"pocketsphinx", &vt_kws_pocketsphinx, 0},
    {"fake", &vt_kws_fake, 0},
};
static const entry k_tts[] = {
    {"flite", &vt_tts_flite, 0},
    {"espeak", &vt_tts_espeak, 0},
    {"espeak-ng", &vt_tts_espeak, 1},
    {"openai", &vt_tts_openai, 0},
    {"fake", &vt_tts_fake, 0},
};
#define N(t) (sizeof t / sizeof t[0])

static const void *find(const entry *t, size_t n, const char *name)
{
    for (size_t i = 0; name && i < n; i++)
        if (strcmp(t[i].name, name) == 0)
            return t[i].ops;
    return NULL;
}

const vt_stt_ops *vt_stt_find(const char *name)
{
    return find(k_stt, N(k_stt), name);
}

const vt_kws_ops *vt_kws_find(const char *name)
{
    return find(k_kws, N(k_kws), name);
}

const vt_tts_ops *vt_tts_find(const char *name)
{
    return find(k_tts, N(k_tts), name);
}

/* ---- names for usage messages (built once) ----------------------------- */

static char stt_names[128], kws_names[128], tts_names[128];
static pthread_once_t names_once = PTHREAD_ONCE_INIT;

static void list(const entry *t, size_t n, char *out, size_t cap)
{
    size_t len = 0;
    for (size_t i = 0; i < n; i++)
        if (!t[i].alias && len < cap)
            len += (size_t)snprintf(out + len, cap - len, "%s%s", len ? ", " : "", t[i].name);
}

static void names_build(void)
{
    list(k_stt, N(k_stt), stt_names, sizeof stt_names);
    list(k_kws, N(k_kws), kws_names, sizeof kws_names);
    list(k_tts, N(k_tts), tts_names, sizeof tts_names);
}

const char *vt_stt_names(void)
{
    pthread_once(&names_once, names_build);
    return stt_names;
}

const char *vt_kws_names(void)
{
    pthread_once(&names_once, names_build);
    return kws_names;
}

const char *vt_tts_names(void)
{
    pthread_once(&names_once, names_build);
    return tts_names;
}

/* ---- opening ------------------------------------------------------------ */

int vt_tts_load_voice(const char *spec, const vt_opt *opts, size_t n_opts,
                      const vt_tts_ops **ops, void **model, char *err, size_t errlen)
{
    if (!spec || !*spec)
        spec = VT_TTS_DEFAULT_VOICE;
    if (!ops || !model) {
        snprintf(err, errlen, "tts: missing argument");
        return VT_EINVAL;
    }
    *ops = NULL;
    *model = NULL;
    char engine[32], voice[64];
    const char *colon = strchr(spec, ':');
    if (colon) {
        snprintf(engine, sizeof engine, "%.*s", (int)(colon - spec), spec);
        snprintf(voice, sizeof voice, "%s", colon + 1);
    } else if (vt_tts_find(spec)) {
        snprintf(engine, sizeof engine, "%s", spec);
        voice[0] = '\0';
    } else {
        snprintf(engine, sizeof engine, "flite");   /* a bare voice name */
        snprintf(voice, sizeof voice, "%s", spec);
    }
    const vt_tts_ops *o = vt_tts_find(engine);
    if (!o) {
        snprintf(err, errlen,
                 "unknown voice '%s': use slt, rms, awb, kal16, espeak, espeak:LANG, openai[:VOICE] or fake",
                 spec);
        return VT_EINVAL;
    }
    vt_opt *all = calloc(n_opts + 1, sizeof *all);
    if (!all) {
        snprintf(err, errlen, "tts: out of memory");
        return VT_ENOMEM;
    }
    if (n_opts)
        memcpy(all, opts, n_opts * sizeof *all);
    size_t n_all = n_opts;
    if (voice[0])
        all[n_all++] = (vt_opt){ "voice", voice };
    int rc = o->load(all, n_all, model, err, errlen);
    free(all);
    if (rc == 0)
        *ops = o;
    return rc;
}

/* The steps every one-off open shares: check the arguments and load the
 * model; then, once the caller made the ctx, unload the model again if that
 * failed (nothing is left open on error). */
typedef int (*load_fn)(const vt_opt *opts, size_t n_opts, void **model, char *err, size_t errlen);

static int open_model(load_fn load, const vt_opt *opts, size_t n_opts, void **model, void **ctx,
                      char *err, size_t errlen)
{
    if (!load || !model || !ctx) {
        snprintf(err, errlen, "engine: missing argument");
        return VT_EINVAL;
    }
    *model = *ctx = NULL;
    return load(opts, n_opts, model, err, errlen);
}

static int opened(int rc, void (*unload)(void *), void **model)
{
    if (rc && *model) {
        unload(*model);
        *model = NULL;
    }
    return rc;
}

static void close_pair(void (*destroy)(void *), void (*unload)(void *), void *model, void *ctx)
{
    if (ctx)
        destroy(ctx);
    if (model)
        unload(model);
}

int vt_tts_open(const char *spec, const vt_opt *opts, size_t n_opts, const vt_tts_ops **ops,
                void **model, void **ctx, char *err, size_t errlen)
{
    if (!ctx) {
        snprintf(err, errlen, "tts: missing argument");
        return VT_EINVAL;
    }
    *ctx = NULL;
    int rc = vt_tts_load_voice(spec, opts, n_opts, ops, model, err, errlen);
    if (rc)
        return rc;
    rc = opened((*ops)->create(*model, opts, n_opts, ctx, err, errlen), (*ops)->unload, model);
    if (rc)
        *ops = NULL;
    return rc;
}

void vt_tts_close(const vt_tts_ops *ops, void *model, void *ctx)
{
    if (ops)
        close_pair(ops->destroy, ops->unload, model, ctx);
}

int vt_stt_open(const vt_stt_ops *ops, const vt_opt *opts, size_t n_opts, void **model,
                void **ctx, char *err, size_t errlen)
{
    int rc = open_model(ops ? ops->load : NULL, opts, n_opts, model, ctx, err, errlen);
    if (rc)
        return rc;
    return opened(ops->create(*model, opts, n_opts, ctx, err, errlen), ops->unload, model);
}

void vt_stt_close(const vt_stt_ops *ops, void *model, void *ctx)
{
    if (ops)
        close_pair(ops->destroy, ops->unload, model, ctx);
}

int vt_kws_open(const vt_kws_ops *ops, const vt_opt *opts, size_t n_opts, const vt_keyword *kw,
                size_t n_kw, void **model, void **ctx, char *err, size_t errlen)
{
    int rc = open_model(ops ? ops->load : NULL, opts, n_opts, model, ctx, err, errlen);
    if (rc)
        return rc;
    return opened(ops->create(*model, opts, n_opts, kw, n_kw, ctx, err, errlen), ops->unload,
                  model);
}

void vt_kws_close(const vt_kws_ops *ops, void *model, void *ctx)
{
    if (ops)
        close_pair(ops->destroy, ops->unload, model, ctx);
}
