/*
 * What the simulator's files share: the scenario (sim_load.c parses it),
 * the scripted engines and the timing wrappers (sim_engines.c) and the run
 * (sim.c: the live driver on the virtual-time executor, a modelled client,
 * the records). Internal to src/sim.
 */
#ifndef VT_SIM_INTERNAL_H
#define VT_SIM_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/driver.h"
#include "sim/sim.h"
#include "voicetutor/engine.h"

#define VT__SIM_FRAME_MS 20
#define VT__SIM_MAX_DURATION_S 3600.0
#define VT__US(sec) ((int64_t)llround((sec) * 1e6))

typedef struct vt__sim_item {
    bool generated;   /* speech-like sound made from the text (not a WAV, not a click) */
    double at, dur;
    int16_t *pcm;     /* 16 kHz */
    size_t n;
    char *text;       /* what the scripted STT hears */
    bool used;
} vt__sim_item;

typedef struct vt__sim_reply {
    char *text;
    double first_token_ms, token_ms;
    char *error;       /* fail after error_after tokens */
    int error_after;
} vt__sim_reply;

typedef struct vt__sim_clipdef {
    char *text, *description;
    int16_t *pcm;
    size_t n;
} vt__sim_clipdef;

/* A first-in first-out list of numbers the observer learns and the scripted
 * engines consume in the same order (utterance starts, spotter starts). */
typedef struct vt__sim_fifo {
    int64_t *v;
    size_t head, n, cap;
} vt__sim_fifo;

/* A command word of the timeline, where the scripted spotter reports it. */
typedef struct vt__sim_hit {
    size_t at;        /* microphone sample */
    const char *word;
} vt__sim_hit;

struct vt_sim {
    char name[256];
    char base_dir[1024];
    vt_config cfg;
    double duration;
    vt__sim_item *items;
    size_t n_items;
    double *keys;
    size_t n_keys;
    vt__sim_item *typed; /* at + text */
    size_t n_typed;
    vt__sim_reply *replies;
    size_t n_replies;
    int *judge; /* scripted verdicts per request; -1 heuristic */
    size_t n_judge;
    double judge_ms;
    int filler_index;
    double filler_ms; /* < 0: the brain never answers */
    double tts_ms_per_char, tts_first_ms, tts_chunk_ms, tts_rtf;
    bool tts_timings;
    int tts_fail_phrase;
    double stt_final_ms, stt_partial_ms, kws_delay_ms;
    double report_ms;
    double noise_rms;
    vt__sim_clipdef *fillers, *acks;
    int n_fillers, n_acks;
    vt_clip *filler_clips, *ack_clips;
    bool real;                  /* "engines": "real" */
    char brain_engine[32];      /* "brain": {"engine": "lesson" | "llm"} */
    vt_opt *brain_opts;
    size_t n_brain_opts;
    char voice[64], user_voice[64];

    /* run state */
    vt_vexec *vx;
    vt_session *session;
    vt_clip *real_fill, *real_ack;
    int n_real_fill, n_real_ack;
    int16_t *mic;
    size_t mic_n;
    size_t fed;                 /* microphone samples given to the session */
    int16_t *out;
    size_t out_n;
    int64_t client_end_us;
    uint64_t client_received;
    vt__sim_fifo utt_starts;    /* microphone sample where each utterance's audio starts */
    vt__sim_fifo kws_starts;    /* microphone sample where each spotting run starts */
    vt__sim_fifo phrases;       /* phrase ids in the order the core asked for them */
    bool kws_on;                /* as the speech lane sees it */
    vt__sim_hit *hits;
    size_t n_hits;
    vt_sim_record *recs;
    size_t nrec, caprec;
    bool ran;
};

/* sim_load.c */
void vt__sim_gen_speech(int16_t *dst, size_t n, int rate, double level, double f0,
                        uint32_t seed);
uint32_t vt__sim_lcg(uint32_t *st);

/* sim_engines.c */
int vt__sim_fifo_push(vt__sim_fifo *f, int64_t v);
int64_t vt__sim_fifo_pop(vt__sim_fifo *f, int64_t def);
void vt__sim_fifo_free(vt__sim_fifo *f);
/* Where the scripted spotter hears the timeline's command words. */
int vt__sim_find_hits(vt_sim *s);
/* The engines of the simulated session (driver.h), scripted or real, each
 * behind the timing the scenario models. */
int vt__sim_open_speech(void *ud, const vt_config *cfg, const vt_stt_ops **stt, void **stt_ctx,
                        const vt_kws_ops **kws, void **kws_ctx, char *err, size_t errlen);
int vt__sim_open_tts(void *ud, const vt_tts_ops **tts, void **tts_ctx, char *err,
                     size_t errlen);
/* The brain: scripted, or a real one (inner) with modelled timing. Takes
 * inner_ctx (destroyed with the result). */
int vt__sim_brain(vt_sim *s, const vt_brain_ops *inner, void *inner_ctx,
                  const vt_brain_ops **ops, void **ctx);

/* sim.c */
void vt__sim_record(vt_sim *s, int64_t now, void *json_object);

#endif
