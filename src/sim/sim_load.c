/*
 * Scenario files (docs/SCENARIOS.md): parsing a scenario into a vt_sim, with
 * an error naming the file, the key and its allowed range; the generated
 * sounds of the timeline and the scripted clips. No engine and no time
 * here: sim.c runs what this file loads.
 */
#include "sim/sim_internal.h"
#include "protocol/config_json.h"
#include "util/wav.h"
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DURATION_S VT__SIM_MAX_DURATION_S
typedef vt__sim_item item;
typedef vt__sim_reply reply;
typedef vt__sim_clipdef clipdef;

/* ---- generated audio -------------------------------------------------------- */

uint32_t vt__sim_lcg(uint32_t *st)
{
    *st = *st * 1664525u + 1013904223u;
    return *st >> 8;
}

/* Speech-like sound: a voiced tone with harmonics and a syllable envelope
 * that never falls silent long enough to end a VAD segment. */
void vt__sim_gen_speech(int16_t *dst, size_t n, int rate, double level, double f0, uint32_t seed)
{
    uint32_t st = seed;
    for (size_t i = 0; i < n; i++) {
        double t = (double)i / rate;
        double env = 0.55 + 0.45 * sin(2 * M_PI * 4.0 * t);
        double fade = fmin(1.0, fmin(t, (double)(n - i) / rate) / 0.02);
        double v = 0;
        for (int h = 1; h <= 5; h++)
            v += sin(2 * M_PI * f0 * h * t + h) / h;
        v += ((double)(vt__sim_lcg(&st) & 0xffff) / 65535.0 - 0.5) * 0.1;
        double x = level * 32767.0 * 0.55 * env * fade * v;
        if (x > 32767)
            x = 32767;
        if (x < -32768)
            x = -32768;
        dst[i] = (int16_t)x;
    }
}

static void gen_click(int16_t *dst, size_t n, double level, uint32_t seed)
{
    uint32_t st = seed;
    for (size_t i = 0; i < n; i++)
        dst[i] = (int16_t)(((double)(vt__sim_lcg(&st) & 0xffff) / 65535.0 - 0.5) * 2 * level * 32000);
}

/* ---- loading ---------------------------------------------------------------- */

static int num(const cJSON *o, const char *key, double def, double lo, double hi, double *out,
               const char *ctx, char *err, size_t errlen)
{
    const cJSON *v = cJSON_GetObjectItem(o, key);
    if (!v) {
        *out = def;
        return 0;
    }
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= lo && v->valuedouble <= hi)) {
        snprintf(err, errlen, "%s.%s: must be a number from %g to %g", ctx, key, lo, hi);
        return VT_EINVAL;
    }
    *out = v->valuedouble;
    return 0;
}

static int str(const cJSON *o, const char *key, const char *def, char **out, const char *ctx,
               char *err, size_t errlen)
{
    const cJSON *v = cJSON_GetObjectItem(o, key);
    if (!v) {
        *out = def ? strdup(def) : NULL;
        return (def && !*out) ? VT_ENOMEM : 0;
    }
    if (!cJSON_IsString(v)) {
        snprintf(err, errlen, "%s.%s: must be a string", ctx, key);
        return VT_EINVAL;
    }
    *out = strdup(v->valuestring);
    return *out ? 0 : VT_ENOMEM;
}

#define TRY(x)            \
    do {                  \
        rc = (x);         \
        if (rc)           \
            goto out;     \
    } while (0)

static int load_items(vt_sim *s, const cJSON *arr, char *err, size_t errlen)
{
    int rc = 0;
    if (!arr)
        return 0;
    if (!cJSON_IsArray(arr)) {
        snprintf(err, errlen, "user: must be a list");
        return VT_EINVAL;
    }
    size_t n = (size_t)cJSON_GetArraySize(arr);
    s->items = calloc(n ? n : 1, sizeof *s->items);
    if (!s->items)
        return VT_ENOMEM;
    const cJSON *it;
    cJSON_ArrayForEach(it, arr)
    {
        char ctx[48];
        snprintf(ctx, sizeof ctx, "user[%zu]", s->n_items);
        item *u = &s->items[s->n_items++];
        if (!cJSON_IsObject(it)) {
            snprintf(err, errlen, "%s: must be an object", ctx);
            return VT_EINVAL;
        }
        double level, ms, click, gain, f0;
        TRY(num(it, "at", -1, 0, MAX_DURATION_S, &u->at, ctx, err, errlen));
        if (u->at < 0) {
            snprintf(err, errlen, "%s.at: missing (seconds from the start)", ctx);
            return VT_EINVAL;
        }
        TRY(str(it, "text", "", &u->text, ctx, err, errlen));
        TRY(num(it, "level", 0.25, 0, 1, &level, ctx, err, errlen));
        TRY(num(it, "gain", 1.0, 0, 16, &gain, ctx, err, errlen));
        TRY(num(it, "f0", 130, 50, 400, &f0, ctx, err, errlen));
        TRY(num(it, "click_ms", 0, 0, 10000, &click, ctx, err, errlen));
        double def_ms = 250.0 + 300.0 * (double)(strlen(u->text) + 4) / 5.0;
        TRY(num(it, "ms", def_ms, 10, MAX_DURATION_S * 1000, &ms, ctx, err, errlen));
        const cJSON *wav = cJSON_GetObjectItem(it, "wav");
        if (wav) {
            if (!cJSON_IsString(wav)) {
                snprintf(err, errlen, "%s.wav: must be a file name", ctx);
                return VT_EINVAL;
            }
            char path[2048];
            if (wav->valuestring[0] == '/')
                snprintf(path, sizeof path, "%s", wav->valuestring);
            else
                snprintf(path, sizeof path, "%s/%s", s->base_dir, wav->valuestring);
            char werr[512];
            rc = vt_wav_read(path, VT_IN_RATE, &u->pcm, &u->n, NULL, werr, sizeof werr);
            if (rc) {
                snprintf(err, errlen, "%s.wav: %s", ctx, werr);
                return rc;
            }
            for (size_t i = 0; i < u->n; i++) {
                double x = u->pcm[i] * gain;
                u->pcm[i] = (int16_t)(x > 32767 ? 32767 : x < -32768 ? -32768 : x);
            }
        } else {
            double len_ms = click > 0 ? click : ms;
            u->n = (size_t)(len_ms * VT_IN_RATE / 1000.0);
            u->pcm = calloc(u->n ? u->n : 1, sizeof *u->pcm);
            if (!u->pcm)
                return VT_ENOMEM;
            if (click > 0)
                gen_click(u->pcm, u->n, level, 77u + (uint32_t)s->n_items);
            else
                vt__sim_gen_speech(u->pcm, u->n, VT_IN_RATE, level, f0, 11u + (uint32_t)s->n_items);
            u->generated = click <= 0;
        }
        u->dur = (double)u->n / VT_IN_RATE;
    }
out:
    return rc;
}

static int make_tone_clip(clipdef *c, int rate, double ms, double f0, uint32_t seed)
{
    c->n = (size_t)(ms * rate / 1000.0);
    c->pcm = calloc(c->n ? c->n : 1, sizeof *c->pcm);
    if (!c->pcm)
        return VT_ENOMEM;
    vt__sim_gen_speech(c->pcm, c->n, rate, 0.2, f0, seed);
    return 0;
}

static int load_clips(vt_sim *s, const cJSON *arr, bool ack, char *err, size_t errlen)
{
    static const char *const def_fill[][2] = {
        {"Hmm, let me think.", "thinking: a question that needs a moment"},
        {"Good question.", "praise: the learner asked something interesting"},
        {"Let's see.", "working: calculating or checking an answer"}};
    static const char *const def_ack[] = {"Okay, I'm listening.", "Sure, go ahead."};
    int rc = 0;
    int n = arr ? cJSON_GetArraySize(arr) : (ack ? 2 : 3);
    if (arr && !cJSON_IsArray(arr)) {
        snprintf(err, errlen, "%s: must be a list", ack ? "acks" : "fillers");
        return VT_EINVAL;
    }
    clipdef *cd = calloc((size_t)(n ? n : 1), sizeof *cd);
    vt_clip *cl = calloc((size_t)(n ? n : 1), sizeof *cl);
    if (!cd || !cl) {
        free(cd);
        free(cl);
        return VT_ENOMEM;
    }
    if (ack) {
        s->acks = cd;
        s->ack_clips = cl;
        s->n_acks = n;
    } else {
        s->fillers = cd;
        s->filler_clips = cl;
        s->n_fillers = n;
    }
    for (int i = 0; i < n; i++) {
        char ctx[48];
        snprintf(ctx, sizeof ctx, "%s[%d]", ack ? "acks" : "fillers", i);
        double ms = 600;
        if (arr) {
            const cJSON *it = cJSON_GetArrayItem(arr, i);
            TRY(str(it, "text", "", &cd[i].text, ctx, err, errlen));
            TRY(str(it, "description", "", &cd[i].description, ctx, err, errlen));
            TRY(num(it, "ms", 600, 20, 10000, &ms, ctx, err, errlen));
        } else {
            cd[i].text = strdup(ack ? def_ack[i] : def_fill[i][0]);
            cd[i].description = strdup(ack ? "" : def_fill[i][1]);
            ms = ack ? 700 : 500 + 100 * i;
            if (!cd[i].text || !cd[i].description)
                return VT_ENOMEM;
        }
        TRY(make_tone_clip(&cd[i], s->cfg.out_rate, ms, ack ? 240 + 20 * i : 200 + 15 * i,
                           (ack ? 500u : 600u) + (uint32_t)i));
        cl[i] = (vt_clip){.pcm = cd[i].pcm, .n = cd[i].n, .text = cd[i].text,
                          .description = cd[i].description};
    }
out:
    return rc;
}

static int load(vt_sim *s, const cJSON *root, char *err, size_t errlen)
{
    int rc = 0;
    if (!cJSON_IsObject(root)) {
        snprintf(err, errlen, "the scenario must be a JSON object");
        return VT_EFORMAT;
    }
    vt_config_default(&s->cfg);
    const cJSON *cfg = cJSON_GetObjectItem(root, "config");
    if (cfg)
        TRY(vt_config_apply_json(&s->cfg, cfg, err, errlen));
    TRY(load_items(s, cJSON_GetObjectItem(root, "user"), err, errlen));

    const cJSON *keys = cJSON_GetObjectItem(root, "keys");
    if (keys) {
        if (!cJSON_IsArray(keys)) {
            snprintf(err, errlen, "keys: must be a list of times in seconds");
            return VT_EINVAL;
        }
        s->keys = calloc((size_t)cJSON_GetArraySize(keys) + 1, sizeof *s->keys);
        if (!s->keys)
            return VT_ENOMEM;
        const cJSON *k;
        cJSON_ArrayForEach(k, keys)
        {
            if (!cJSON_IsNumber(k) || k->valuedouble < 0) {
                snprintf(err, errlen, "keys[%zu]: must be a time in seconds", s->n_keys);
                return VT_EINVAL;
            }
            s->keys[s->n_keys++] = k->valuedouble;
        }
    }
    const cJSON *typed = cJSON_GetObjectItem(root, "typed");
    if (typed) {
        if (!cJSON_IsArray(typed)) {
            snprintf(err, errlen, "typed: must be a list of {\"at\", \"text\"}");
            return VT_EINVAL;
        }
        s->typed = calloc((size_t)cJSON_GetArraySize(typed) + 1, sizeof *s->typed);
        if (!s->typed)
            return VT_ENOMEM;
        const cJSON *t;
        cJSON_ArrayForEach(t, typed)
        {
            char ctx[48];
            snprintf(ctx, sizeof ctx, "typed[%zu]", s->n_typed);
            item *u = &s->typed[s->n_typed++];
            TRY(num(t, "at", 0, 0, MAX_DURATION_S, &u->at, ctx, err, errlen));
            TRY(str(t, "text", "", &u->text, ctx, err, errlen));
        }
    }

    const cJSON *brain = cJSON_GetObjectItem(root, "brain");
    const cJSON *replies = brain ? cJSON_GetObjectItem(brain, "replies") : NULL;
    if (replies && !cJSON_IsArray(replies)) {
        snprintf(err, errlen, "brain.replies: must be a list");
        return VT_EINVAL;
    }
    size_t nr = replies ? (size_t)cJSON_GetArraySize(replies) : 0;
    s->replies = calloc(nr ? nr : 1, sizeof *s->replies);
    if (!s->replies)
        return VT_ENOMEM;
    for (size_t i = 0; i < nr; i++) {
        char ctx[48];
        snprintf(ctx, sizeof ctx, "brain.replies[%zu]", i);
        const cJSON *r = cJSON_GetArrayItem(replies, (int)i);
        /* counted before its fields are read, so a bad field later in the
         * reply still frees the text already copied (the fuzzer found it) */
        reply *rp = &s->replies[s->n_replies++];
        double ea;
        TRY(str(r, "text", "", &rp->text, ctx, err, errlen));
        TRY(num(r, "first_token_ms", 300, 0, 60000, &rp->first_token_ms, ctx, err, errlen));
        TRY(num(r, "token_ms", 40, 0, 10000, &rp->token_ms, ctx, err, errlen));
        TRY(str(r, "error", NULL, &rp->error, ctx, err, errlen));
        TRY(num(r, "error_after", 0, 0, 100000, &ea, ctx, err, errlen));
        rp->error_after = (int)ea;
    }
    if (s->n_replies == 0) {
        s->replies[0].text = strdup("That is a good question. Let me explain it step by step, "
                                    "starting with the basics.");
        s->replies[0].first_token_ms = 300;
        s->replies[0].token_ms = 40;
        if (!s->replies[0].text)
            return VT_ENOMEM;
        s->n_replies = 1;
    }
    const cJSON *be = brain ? cJSON_GetObjectItem(brain, "engine") : NULL;
    if (be) {
        if (!cJSON_IsString(be) || strlen(be->valuestring) >= sizeof s->brain_engine) {
            snprintf(err, errlen, "brain.engine: must be \"scripted\", \"lesson\" or \"llm\"");
            return VT_EINVAL;
        }
        if (strcmp(be->valuestring, "scripted") != 0)
            snprintf(s->brain_engine, sizeof s->brain_engine, "%s", be->valuestring);
#ifndef VT_HAVE_BRAIN
        if (s->brain_engine[0]) {
            snprintf(err, errlen, "brain.engine: this build has no brains");
            return VT_EINVAL;
        }
#endif
    }
    const cJSON *bo = brain ? cJSON_GetObjectItem(brain, "options") : NULL;
    if (bo) {
        if (!cJSON_IsObject(bo)) {
            snprintf(err, errlen, "brain.options: must be an object of strings");
            return VT_EINVAL;
        }
        s->brain_opts = calloc((size_t)cJSON_GetArraySize(bo) + 1, sizeof *s->brain_opts);
        if (!s->brain_opts)
            return VT_ENOMEM;
        const cJSON *o;
        cJSON_ArrayForEach(o, bo)
        {
            if (!cJSON_IsString(o)) {
                snprintf(err, errlen, "brain.options.%s: must be a string", o->string);
                return VT_EINVAL;
            }
            vt_opt *x = &s->brain_opts[s->n_brain_opts++];
            x->key = strdup(o->string);
            x->value = strdup(o->valuestring);
            if (!x->key || !x->value)
                return VT_ENOMEM;
        }
    }
    const cJSON *judge = brain ? cJSON_GetObjectItem(brain, "judge") : NULL;
    if (judge) {
        if (!cJSON_IsArray(judge)) {
            snprintf(err, errlen, "brain.judge: must be a list of true/false verdicts");
            return VT_EINVAL;
        }
        s->judge = calloc((size_t)cJSON_GetArraySize(judge) + 1, sizeof *s->judge);
        if (!s->judge)
            return VT_ENOMEM;
        const cJSON *j;
        cJSON_ArrayForEach(j, judge) s->judge[s->n_judge++] =
            cJSON_IsBool(j) ? cJSON_IsTrue(j) : -1;
    }
    double fi;
    const cJSON *b = brain ? brain : root; /* defaults when no brain object */
    TRY(num(b, "judge_ms", 30, 0, 60000, &s->judge_ms, "brain", err, errlen));
    TRY(num(b, "filler", -1, -1, 1000, &fi, "brain", err, errlen));
    s->filler_index = (int)fi;
    TRY(num(b, "filler_ms", 60, -1, 60000, &s->filler_ms, "brain", err, errlen));

    const cJSON *tts = cJSON_GetObjectItem(root, "tts");
    const cJSON *t = tts ? tts : root;
    double fail;
    TRY(num(t, "ms_per_char", 65, 1, 1000, &s->tts_ms_per_char, "tts", err, errlen));
    TRY(num(t, "first_chunk_ms", 20, 0, 60000, &s->tts_first_ms, "tts", err, errlen));
    TRY(num(t, "chunk_ms", 250, 10, 10000, &s->tts_chunk_ms, "tts", err, errlen));
    TRY(num(t, "rtf", 0.05, 0, 10, &s->tts_rtf, "tts", err, errlen));
    TRY(num(t, "fail_phrase", 0, 0, 100000, &fail, "tts", err, errlen));
    s->tts_fail_phrase = (int)fail;
    const cJSON *tim = tts ? cJSON_GetObjectItem(tts, "timings") : NULL;
    s->tts_timings = tim ? cJSON_IsTrue(tim) : true;

    const cJSON *stt = cJSON_GetObjectItem(root, "stt");
    const cJSON *st = stt ? stt : root;
    TRY(num(st, "final_ms", 40, 0, 60000, &s->stt_final_ms, "stt", err, errlen));
    TRY(num(st, "partial_ms", 200, 20, 60000, &s->stt_partial_ms, "stt", err, errlen));
    TRY(num(st, "kws_delay_ms", 150, 0, 60000, &s->kws_delay_ms, "stt", err, errlen));
    const cJSON *client = cJSON_GetObjectItem(root, "client");
    TRY(num(client ? client : root, "report_ms", 0, 0, 60000, &s->report_ms, "client", err,
            errlen));
    TRY(num(root, "noise_rms", 30, 0, 10000, &s->noise_rms, "scenario", err, errlen));

    const cJSON *eng = cJSON_GetObjectItem(root, "engines");
    if (eng) {
        if (!cJSON_IsString(eng) ||
            (strcmp(eng->valuestring, "real") && strcmp(eng->valuestring, "scripted"))) {
            snprintf(err, errlen, "engines: must be \"scripted\" or \"real\"");
            return VT_EINVAL;
        }
        s->real = strcmp(eng->valuestring, "real") == 0;
#ifndef VT_HAVE_SPEECH
        if (s->real) {
            snprintf(err, errlen, "engines: \"real\" needs the speech engines, which this "
                                  "build does not have");
            return VT_EINVAL;
        }
#endif
    }
    char *v = NULL;
    TRY(str(root, "voice", "rms", &v, "scenario", err, errlen));
    snprintf(s->voice, sizeof s->voice, "%s", v);
    free(v);
    v = NULL;
    TRY(str(root, "user_voice", "awb", &v, "scenario", err, errlen));
    snprintf(s->user_voice, sizeof s->user_voice, "%s", v);
    free(v);
    TRY(load_clips(s, cJSON_GetObjectItem(root, "fillers"), false, err, errlen));
    TRY(load_clips(s, cJSON_GetObjectItem(root, "acks"), true, err, errlen));

    double end = 0;
    for (size_t i = 0; i < s->n_items; i++)
        end = fmax(end, s->items[i].at + s->items[i].dur);
    for (size_t i = 0; i < s->n_keys; i++)
        end = fmax(end, s->keys[i]);
    for (size_t i = 0; i < s->n_typed; i++)
        end = fmax(end, s->typed[i].at);
    TRY(num(root, "duration", end + 10.0, 0.1, MAX_DURATION_S, &s->duration, "scenario", err,
            errlen));
out:
    return rc;
}

int vt_sim_load_string(const char *json, const char *base_dir, const char *name, vt_sim **out,
                       char *err, size_t errlen)
{
    char dummy[8];
    if (!err) {
        err = dummy;
        errlen = sizeof dummy;
    }
    if (!json || !out)
        return VT_EINVAL;
    *out = NULL;
    name = name ? name : "scenario";
    cJSON *root = cJSON_Parse(json);
    if (!root) {
        const char *at = cJSON_GetErrorPtr();
        size_t line = 1;
        for (const char *p = json; at && p < at && *p; p++)
            line += *p == '\n';
        snprintf(err, errlen, "%s: not valid JSON (near line %zu)", name, line);
        return VT_EFORMAT;
    }
    vt_sim *s = calloc(1, sizeof *s);
    if (!s) {
        cJSON_Delete(root);
        return VT_ENOMEM;
    }
    snprintf(s->name, sizeof s->name, "%s", name);
    snprintf(s->base_dir, sizeof s->base_dir, "%s", base_dir ? base_dir : ".");
    char e2[768] = "";
    int rc = load(s, root, e2, sizeof e2);
    cJSON_Delete(root);
    if (rc) {
        snprintf(err, errlen, "%s: %s", name, e2[0] ? e2 : vt_strerror(rc));
        vt_sim_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

int vt_sim_load_file(const char *path, vt_sim **out, char *err, size_t errlen)
{
    char dummy[8];
    if (!err) {
        err = dummy;
        errlen = sizeof dummy;
    }
    if (!path || !out)
        return VT_EINVAL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open (%s)", path, strerror(errno));
        return VT_ENOTFOUND;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 8192;
            if (cap > 16u << 20) {
                free(buf);
                fclose(f);
                snprintf(err, errlen, "%s: too large for a scenario (over 16 MiB)", path);
                return VT_EFORMAT;
            }
            char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                return VT_ENOMEM;
            }
            buf = nb;
        }
        size_t r = fread(buf + len, 1, 4096, f);
        len += r;
        if (r < 4096)
            break;
    }
    fclose(f);
    if (!buf || len == 0) {
        free(buf);
        snprintf(err, errlen, "%s: the file is empty", path);
        return VT_EFORMAT;
    }
    buf[len] = 0;
    char dir[1024];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = 0;
    else
        snprintf(dir, sizeof dir, ".");
    int rc = vt_sim_load_string(buf, dir, path, out, err, errlen);
    free(buf);
    return rc;
}

