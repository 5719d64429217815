/*
 * The live runtime (session.h): what every live session of a process
 * shares — the engine choice, the two worker pools behind the pool
 * executor, the filler and acknowledgement clips — and the live
 * vt_session_create(), which opens a session's brain and hands everything
 * to the driver (driver.c), the one implementation of a session.
 */
#define _POSIX_C_SOURCE 200809L
#include "runtime/session.h"

#include <pthread.h>
#include <stdio.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engines/brain/brain.h"
#include "engines/speech/speech.h"
#include "protocol/utf8.h"
#include "runtime/driver.h"
#include "runtime/pool.h"

/* ---- the runtime ----------------------------------------------------------- */

struct vt_runtime {
    vt_runtime_config cfg;
    char *opt_store[2 * VT_RUNTIME_MAX_OPTS];
    char voice[64], stt[32], tts[32], brain_name[32];
    vt_pool *cpu, *io;
    vt_exec_pools pools;           /* the pool executor's view of cpu and io */
    const vt_brain_ops *brain;
    int speech;                    /* the speech engines are used */
    vt_clip *fill, *ack;
    int n_fill, n_ack;
    int n_sessions;
    /* the engines' models, loaded once here, read-only while sessions run */
    const vt_stt_ops *stt_ops;
    const vt_kws_ops *kws_ops;
    const vt_tts_ops *tts_ops;
    void *stt_model, *kws_model, *tts_model;
    /* the remote engines (stt/tts "openai"): their options are the stt_ and
     * tts_ keys of brain_opts */
    vt_opt speech_opts[VT_RUNTIME_MAX_OPTS];
    size_t n_speech_opts;
    const vt_stt_ops *final_ops;   /* the final recogniser, or NULL */
    void *final_model;
    const vt_tts_ops *rtts_ops;    /* the remote voice, or NULL */
    void *rtts_model;
    char speech_err[512];          /* why stt/kws did not load ("" if they did) */
    int trim_busy, trim_again;     /* the memory trim job (see released()) */
};

void vt_runtime_config_default(vt_runtime_config *c)
{
    memset(c, 0, sizeof *c);
    vt_config_default(&c->core);
    /* live: a filler only when the answer is not ready 300 ms after the turn */
    c->core.filler_delay_ms = 300;
    /* live: every utterance gets its final from the speech lane, only later
     * on a loaded machine; wait for it rather than fall back early */
    c->core.final_wait_ms = 4000;
    c->stt = "pocketsphinx";
    c->voice = VT_TTS_DEFAULT_VOICE;
    c->brain = "lesson";
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    c->cpu_workers = n > 0 ? (int)n : 2;
    c->io_workers = 8;
}

/* Large blocks from mmap, always: glibc's default threshold (128 KiB)
 * rises to the size of every mapped block that is freed, up to 32 MiB, and
 * a decoder's arrays (search, lattice, feature buffers; made and freed as
 * the pool lends them) then come from the arenas, where what is freed stays
 * behind half-used pages. Fixing the threshold keeps them mapped, so a
 * freed decoder's memory goes back to the system at once (test_memory:
 * 10-28 MB left behind a round of spoken sessions before, 0-2 after). A
 * process setting (the runtime is its server), done once. */
static pthread_once_t malloc_once = PTHREAD_ONCE_INIT;
static void malloc_setup(void)
{
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);
}

static int open_brain_(vt_runtime *rt, const char *user_id, const char *character, void **ctx,
                       char *name, size_t name_len, char *msg, size_t msglen);

int vt_runtime_create(const vt_runtime_config *c, vt_runtime **out, char *err, size_t errlen)
{
    pthread_once(&malloc_once, malloc_setup);
    char e[512] = "";
    int rc = VT_ENOMEM;
    *out = NULL;
    vt_runtime *rt = calloc(1, sizeof *rt);
    if (!rt)
        goto fail;
    rt->cfg = *c;
    snprintf(rt->voice, sizeof rt->voice, "%s", c->voice ? c->voice : VT_TTS_DEFAULT_VOICE);
    snprintf(rt->stt, sizeof rt->stt, "%s", c->stt ? c->stt : "pocketsphinx");
    snprintf(rt->brain_name, sizeof rt->brain_name, "%s", c->brain ? c->brain : "lesson");
    snprintf(rt->tts, sizeof rt->tts, "%s", c->tts ? c->tts : "");
    rt->cfg.voice = rt->voice;
    rt->cfg.stt = rt->stt;
    rt->cfg.tts = rt->tts;
    rt->cfg.brain = rt->brain_name;
    for (size_t i = 0; i < c->n_brain_opts && i < VT_RUNTIME_MAX_OPTS; i++) {
        rt->opt_store[2 * i] = strdup(c->brain_opts[i].key ? c->brain_opts[i].key : "");
        rt->opt_store[2 * i + 1] = strdup(c->brain_opts[i].value ? c->brain_opts[i].value : "");
        if (!rt->opt_store[2 * i] || !rt->opt_store[2 * i + 1])
            goto fail;
        rt->cfg.brain_opts[i] = (vt_opt){rt->opt_store[2 * i], rt->opt_store[2 * i + 1]};
        if (strncmp(rt->opt_store[2 * i], "stt_", 4) == 0 ||
            strncmp(rt->opt_store[2 * i], "tts_", 4) == 0)
            rt->speech_opts[rt->n_speech_opts++] = rt->cfg.brain_opts[i];
    }
    if (strcmp(rt->stt, "openai") == 0) {
        /* hybrid: pocketsphinx listens, the remote recogniser gives finals */
        rt->final_ops = vt_stt_find("openai");
        if ((rc = rt->final_ops->load(rt->speech_opts, rt->n_speech_opts, &rt->final_model, e,
                                      sizeof e)) != 0)
            goto fail;
        snprintf(rt->stt, sizeof rt->stt, "pocketsphinx");
    }
    if (strcmp(rt->stt, "none") != 0 && vt_stt_find(rt->stt) && vt_kws_find(rt->stt)) {
        rt->speech = 1;
    } else if (strcmp(rt->stt, "none") != 0) {
        rc = VT_EINVAL;
        snprintf(e, sizeof e, "unknown speech recogniser '%s' (pocketsphinx, openai or none)",
                 rt->stt);
        goto fail;
    }
    if (rt->tts[0]) {
        if (!(rt->rtts_ops = vt_tts_find(rt->tts))) {
            rc = VT_EINVAL;
            snprintf(e, sizeof e, "unknown synthesizer '%s' (%s)", rt->tts, vt_tts_names());
            goto fail;
        }
        if ((rc = rt->rtts_ops->load(rt->speech_opts, rt->n_speech_opts, &rt->rtts_model, e,
                                     sizeof e)) != 0)
            goto fail;
    }
    if (!(rt->brain = vt_brain_find(rt->brain_name))) {
        rc = VT_EINVAL;
        snprintf(e, sizeof e, "unknown brain '%s' (%s)", rt->brain_name, vt_brain_names());
        goto fail;
    }
    if ((rc = vt_config_validate(&rt->cfg.core, e, sizeof e)) != 0)
        goto fail;
    {
        /* the brain as configured, opened once now: a lesson that does not
         * exist or a progress database that cannot be reached is the
         * operator's mistake, said at start rather than in every session's
         * initialize */
        void *bctx = NULL;
        char bname[64], bmsg[sizeof e];
        if ((rc = open_brain_(rt, "default", NULL, &bctx, bname, sizeof bname, bmsg,
                              sizeof bmsg)) != 0) {
            snprintf(e, sizeof e, "%s", bmsg);
            goto fail;
        }
        rt->brain->destroy(bctx);
    }
    if (rt->speech) {
        /* a recogniser that does not load is reported by each session, which
         * goes on with typed messages */
        rt->stt_ops = vt_stt_find(rt->stt);
        rt->kws_ops = vt_kws_find(rt->stt);
        /* the pool of decoders lent per utterance (stt_pocketsphinx.c): one
         * spare always made, those idle a minute beyond it freed; options
         * stt_decoders, stt_spare, stt_idle_ms; stt_expect_first=1 decodes
         * a lesson's answers with its grammar first (docs/SPEECH.md) */
        vt_opt po[4] = {{"decoders", "1"}, {"spare", "1"}, {"idle_ms", "60000"},
                        {"expect_first", "0"}};
        for (size_t i = 0; i < rt->n_speech_opts; i++)
            for (size_t k = 0; k < 4; k++)
                if (strncmp(rt->speech_opts[i].key, "stt_", 4) == 0 &&
                    strcmp(rt->speech_opts[i].key + 4, po[k].key) == 0)
                    po[k].value = rt->speech_opts[i].value;
        if (rt->stt_ops->load(po, 4, &rt->stt_model, rt->speech_err, sizeof rt->speech_err) ||
            rt->kws_ops->load(po + 2, 1, &rt->kws_model, rt->speech_err,
                              sizeof rt->speech_err)) {
            if (!rt->speech_err[0])
                snprintf(rt->speech_err, sizeof rt->speech_err, "the models did not load");
        } else if (rt->cfg.core.n_commands > 0) {
            /* one spotter for the usual command words made now (and its
             * warm-up decoded): a new session's is then lent at once */
            vt_keyword kw[VT_MAX_COMMANDS];
            void *kctx = NULL;
            char ke[256];
            for (int i = 0; i < rt->cfg.core.n_commands; i++)
                kw[i] = (vt_keyword){rt->cfg.core.commands[i], 0};
            if (rt->kws_ops->create(rt->kws_model, NULL, 0, kw, (size_t)rt->cfg.core.n_commands,
                                    &kctx, ke, sizeof ke) == 0)
                rt->kws_ops->destroy(kctx);
        }
    }

    /* the clips every session shares, in the session voice */
    const vt_tts_ops *tts = NULL;
    void *tts_ctx = NULL;
    if ((rc = vt_tts_load_voice(rt->voice, NULL, 0, &rt->tts_ops, &rt->tts_model, e,
                                sizeof e)) != 0)
        goto fail;
    tts = rt->tts_ops;
    if ((rc = tts->create(rt->tts_model, NULL, 0, &tts_ctx, e, sizeof e)) != 0)
        goto fail;
    rc = vt_clips_build(tts, tts_ctx, rt->cfg.core.out_rate, vt_default_filler_texts,
                        vt_default_filler_descriptions, vt_default_n_fillers, &rt->fill, e,
                        sizeof e);
    if (rc == 0) {
        rt->n_fill = vt_default_n_fillers;
        rc = vt_clips_build(tts, tts_ctx, rt->cfg.core.out_rate, vt_default_ack_texts, NULL,
                            vt_default_n_acks, &rt->ack, e, sizeof e);
    }
    tts->destroy(tts_ctx);
    if (rc)
        goto fail;
    rt->n_ack = vt_default_n_acks;

    vt_pool_config pc;
    vt_pool_config_default(&pc);
    pc.max_jobs = 8192;
    pc.max_progress = 65536;
    pc.wake = c->wake;
    pc.wake_ud = c->wake_ud;
    pc.workers = c->cpu_workers > 0 ? c->cpu_workers : 2;
    if ((rc = vt_pool_create(&pc, &rt->cpu)) != 0)
        goto fail;
    pc.workers = c->io_workers > 0 ? c->io_workers : 8;
    if ((rc = vt_pool_create(&pc, &rt->io)) != 0)
        goto fail;
    rt->pools.pool[VT_EXEC_CPU] = rt->cpu;
    rt->pools.pool[VT_EXEC_IO] = rt->io;
    *out = rt;
    return 0;
fail:
    snprintf(err, errlen, "%s", e[0] ? e : vt_strerror(rc));
    vt_runtime_destroy(rt);
    return rc ? rc : VT_ENOMEM;
}

const char *vt_runtime_speech_error(const vt_runtime *rt)
{
    return rt && rt->speech_err[0] ? rt->speech_err : NULL;
}

void vt_runtime_destroy(vt_runtime *rt)
{
    if (!rt)
        return;
    if (rt->cpu)
        vt_pool_destroy(rt->cpu);
    if (rt->io)
        vt_pool_destroy(rt->io);
    if (rt->stt_model)
        rt->stt_ops->unload(rt->stt_model);
    if (rt->kws_model)
        rt->kws_ops->unload(rt->kws_model);
    if (rt->tts_model)
        rt->tts_ops->unload(rt->tts_model);
    if (rt->final_model)
        rt->final_ops->unload(rt->final_model);
    if (rt->rtts_model)
        rt->rtts_ops->unload(rt->rtts_model);
    vt_clips_free(rt->fill, rt->n_fill);
    vt_clips_free(rt->ack, rt->n_ack);
    for (size_t i = 0; i < 2 * VT_RUNTIME_MAX_OPTS; i++)
        free(rt->opt_store[i]);
    free(rt);
}

int vt_runtime_drain(vt_runtime *rt)
{
    return vt_pool_drain(rt->cpu, 0) + vt_pool_drain(rt->io, 0);
}

int vt_runtime_sessions(const vt_runtime *rt)
{
    return rt->n_sessions;
}

void vt_runtime_queue_depths(vt_runtime *rt, int *cpu, int *io)
{
    if (cpu)
        *cpu = rt->cpu ? vt_pool_pending(rt->cpu) : 0;
    if (io)
        *io = rt->io ? vt_pool_pending(rt->io) : 0;
}

const vt_runtime_config *vt_runtime_get_config(const vt_runtime *rt)
{
    return &rt->cfg;
}

/* ---- live sessions ----------------------------------------------------- */

static int open_brain_(vt_runtime *rt, const char *user_id, const char *character, void **ctx,
                       char *name, size_t name_len, char *msg, size_t msglen)
{
    vt_opt opts[VT_RUNTIME_MAX_OPTS + 2];
    size_t n = 0;
    const char *def = vt_opt_get(rt->cfg.brain_opts, rt->cfg.n_brain_opts, "lesson",
                                 rt->brain->default_character);
    for (size_t i = 0; i < rt->cfg.n_brain_opts; i++)
        if (strcmp(rt->cfg.brain_opts[i].key, "lesson") != 0 &&
            strcmp(rt->cfg.brain_opts[i].key, "user_id") != 0 &&
            strncmp(rt->cfg.brain_opts[i].key, "stt_", 4) != 0 &&
            strncmp(rt->cfg.brain_opts[i].key, "tts_", 4) != 0)
            opts[n++] = rt->cfg.brain_opts[i];
    opts[n++] = (vt_opt){"user_id", user_id};
    char e[512] = "";
    int rc = VT_ENOTFOUND;
    if (character && character[0]) {
        opts[n] = (vt_opt){"lesson", character};
        rc = rt->brain->create(opts, n + 1, ctx, e, sizeof e);
        if (rc == 0) {
            snprintf(name, name_len, "%s", character);
            snprintf(msg, msglen, "Session started with %s.", character);
            return 0;
        }
    }
    if (def)
        opts[n++] = (vt_opt){"lesson", def};
    rc = rt->brain->create(opts, n, ctx, e, sizeof e);
    if (rc) {
        snprintf(msg, msglen, "the %s brain did not start: %s", rt->brain_name,
                 e[0] ? e : vt_strerror(rc));
        return rc;
    }
    snprintf(name, name_len, "%s", def ? def : "tutor");
    if (character && character[0])
        snprintf(msg, msglen,
                 "Unknown character '%s': started the default tutor (%s) instead. "
                 "Known lessons are in the lessons/ folder.",
                 character, name);
    else
        snprintf(msg, msglen, "Session started with %s.", name);
    return 0;
}

/* Texts cut at a byte limit end on a whole character: the server sends
 * them to browsers, which refuse invalid UTF-8. */
static void whole_chars(char *s)
{
    s[vt_utf8_cut(s, strlen(s))] = 0;
}

static int open_brain(vt_runtime *rt, const char *user_id, const char *character, void **ctx,
                      char *name, size_t name_len, char *msg, size_t msglen)
{
    int rc = open_brain_(rt, user_id, character, ctx, name, name_len, msg, msglen);
    whole_chars(name);
    whole_chars(msg);
    return rc;
}

/* The speech engines of a live session: its state of the runtime's
 * recogniser and keyword spotter models, for the session's command words. */
static int open_speech(void *ud, const vt_config *cfg, const vt_stt_ops **stt, void **stt_ctx,
                       const vt_kws_ops **kws, void **kws_ctx, char *err, size_t errlen)
{
    const vt_runtime *rt = ud;
    if (!rt->stt_model || !rt->kws_model) {
        snprintf(err, errlen, "%s", rt->speech_err);
        return VT_ENOTFOUND;
    }
    int rc = rt->stt_ops->create(rt->stt_model, NULL, 0, stt_ctx, err, errlen);
    if (rc)
        return rc;
    *stt = rt->stt_ops;
    vt_keyword kw[VT_MAX_COMMANDS];
    for (int i = 0; i < cfg->n_commands; i++)
        kw[i] = (vt_keyword){cfg->commands[i], 0};
    rc = rt->kws_ops->create(rt->kws_model, NULL, 0, kw, (size_t)cfg->n_commands, kws_ctx, err,
                             errlen);
    if (rc == 0)
        *kws = rt->kws_ops;
    return rc;
}

/* The session's voice: the remote one when configured, else the embedded
 * voice (which is also the remote one's fallback). */
static int open_embedded(void *ud, const vt_tts_ops **tts, void **tts_ctx, char *err,
                         size_t errlen)
{
    const vt_runtime *rt = ud;
    int rc = rt->tts_ops->create(rt->tts_model, NULL, 0, tts_ctx, err, errlen);
    if (rc == 0)
        *tts = rt->tts_ops;
    return rc;
}

static int open_tts(void *ud, const vt_tts_ops **tts, void **tts_ctx, char *err, size_t errlen)
{
    const vt_runtime *rt = ud;
    if (!rt->rtts_ops)
        return open_embedded(ud, tts, tts_ctx, err, errlen);
    int rc = rt->rtts_ops->create(rt->rtts_model, rt->speech_opts, rt->n_speech_opts, tts_ctx,
                                  err, errlen);
    if (rc == 0)
        *tts = rt->rtts_ops;
    return rc;
}

static int open_final(void *ud, const vt_stt_ops **stt, void **ctx, char *err, size_t errlen)
{
    const vt_runtime *rt = ud;
    int rc = rt->final_ops->create(rt->final_model, rt->speech_opts, rt->n_speech_opts, ctx, err,
                                   errlen);
    if (rc == 0)
        *stt = rt->final_ops;
    return rc;
}

/* Memory that returns: a closed session's decoders were allocated on the
 * worker threads, in glibc arenas that keep freed memory for reuse and never
 * give it back on their own (a server that had served a few hundred learners
 * ran out of memory). After sessions are released, malloc_trim() hands the
 * free pages back to the system. It takes 5-20 ms with a few hundred MB
 * freed, so it runs as a job on the io pool, never on the loop thread; one
 * at a time, again once more if sessions were released meanwhile. */
static int trim_run(vt_job *job, void *arg, const volatile int *abort)
{
    malloc_trim(0);
    return 0;
}

static void trim_kick(vt_runtime *rt);

static void trim_complete(void *arg, int status)
{
    vt_runtime *rt = arg;
    rt->trim_busy = 0;
    if (rt->trim_again)
        trim_kick(rt);
}

static void trim_kick(vt_runtime *rt)
{
    if (rt->trim_busy) {
        rt->trim_again = 1;
        return;
    }
    vt_job_desc d = {.owner = rt, .run = trim_run, .complete = trim_complete, .arg = rt};
    rt->trim_again = 0;
    if (vt_pool_submit(rt->io, &d, NULL) == 0)
        rt->trim_busy = 1;
}

static void released(void *ud)
{
    vt_runtime *rt = ud;
    rt->n_sessions--;
    trim_kick(rt);
}

int vt_session_create(vt_runtime *rt, const vt_session_options *o, const vt_session_output *out,
                      void *ud, vt_session **sp, char *message, size_t message_len)
{
    char scratch[512];
    if (!message) {
        message = scratch;
        message_len = sizeof scratch;
    }
    message[0] = 0;
    *sp = NULL;
    vt_session_setup st;
    memset(&st, 0, sizeof st);
    char user_id[64];
    snprintf(user_id, sizeof user_id, "%s", o && o->user_id && o->user_id[0] ? o->user_id
                                                                            : "default");
    int rc = open_brain(rt, user_id, o ? o->character : NULL, &st.eng.brain_ctx, st.character,
                        sizeof st.character, message, message_len);
    if (rc)
        return rc;
    st.core = o && o->core ? *o->core : rt->cfg.core;
    snprintf(st.core.character, sizeof st.core.character, "%s", st.character);
    st.core.seed = (uint32_t)vt_now_us();
    st.exec = vt_exec_pool(&rt->pools);
    st.speech = rt->speech && (!o || o->speech);
    st.eng.open_speech = open_speech;
    st.eng.open_tts = open_tts;
    st.eng.open_final = rt->final_ops ? open_final : NULL;
    st.eng.open_tts_fallback = rt->rtts_ops ? open_embedded : NULL;
    st.eng.ud = rt;
    st.eng.brain = rt->brain;
    st.eng.fill = rt->fill;
    st.eng.n_fill = rt->n_fill;
    st.eng.ack = rt->ack;
    st.eng.n_ack = rt->n_ack;
    st.released = released;
    st.released_ud = rt;
    char e[256];
    if ((rc = vt_session_start(&st, out, ud, sp, e, sizeof e)) != 0) {
        snprintf(message, message_len, "%s", e);
        whole_chars(message);
        return rc;
    }
    rt->n_sessions++;
    return 0;
}

int vt_runtime_decoders(vt_runtime *rt, struct vt_ps_pool_info *stt, struct vt_ps_pool_info *kws)
{
    if (!rt || !rt->stt_model || !rt->kws_model || rt->stt_ops != &vt_stt_pocketsphinx ||
        rt->kws_ops != &vt_kws_pocketsphinx)
        return VT_ENOTFOUND;
    vt_stt_pocketsphinx_pool(rt->stt_model, stt);
    vt_kws_pocketsphinx_pool(rt->kws_model, kws);
    return 0;
}
