/*
 * What driver.c (the session, its sink and brain jobs) and lanes.c (the
 * speech and synthesis lanes) share: the session's structure and the few
 * functions each calls in the other. Internal to src/runtime.
 */
#ifndef VT_RUNTIME_DRIVER_INTERNAL_H
#define VT_RUNTIME_DRIVER_INTERNAL_H

#include "runtime/driver.h"

#define VT__PREROLL_RING (VT_IN_RATE * 2)      /* audio kept for an utterance's pre-roll */
#define VT__MAX_QUEUED_AUDIO (VT_IN_RATE * 30) /* the speech lane may fall 30 s behind */
#define VT__KEYWORD_VOICE_US 1000000           /* a keyword counts this long after a voice */

/* An input of the speech lane, in order. */
typedef enum { SOP_OPEN, SOP_AUDIO, SOP_BEGIN, SOP_END, SOP_KWS } vt__sop_kind;
typedef struct vt__sop {
    struct vt__sop *next;
    vt__sop_kind kind;
    uint32_t utt;
    int flag;          /* KWS on/off; BEGIN: pre-roll in ms */
    int64_t t;         /* arrival time */
    char (*expect)[VT_EXPECTED_PHRASE_MAX]; /* BEGIN: what the brain expects (malloc'd) */
    int n_expect;      /* BEGIN: how many */
    size_t n;
    int16_t pcm[];     /* AUDIO */
} vt__sop;

/* An utterance waiting for the final recogniser (lane_final.c). */
typedef struct vt__final_op {
    struct vt__final_op *next;
    uint32_t utt;
    vt_stt_result *local;      /* the speech lane's final: the fallback */
    int16_t *pcm;              /* the utterance with its pre-roll, 16 kHz */
    size_t n;
    char (*expected)[VT_EXPECTED_PHRASE_MAX];
    size_t n_expected;
} vt__final_op;

/* A phrase waiting for the synthesis lane. */
typedef struct vt__tts_op {
    struct vt__tts_op *next;
    uint32_t gen, id;
    char text[];
} vt__tts_op;

struct vt_session {
    vt_exec x;
    vt_core *core;
    vt_config cfg;             /* the session's configuration; read-only after create */
    vt_session_output out;
    void *ud;
    vt_session_engines eng;
    void (*released)(void *ud);
    void *released_ud;
    int closed;
    int jobs;                  /* jobs in flight */
    char character[64];
    vt_filler_desc *fill_desc;
    int64_t last_deadline;
    size_t partial_every;      /* samples of audio between interim texts */

    /* speech lane: loop-thread side */
    int speech;
    int in_voice;              /* the core's VAD has an utterance open */
    int64_t voice_end_us;      /* ... and the last one ended then */
    vt__sop *ops, *ops_tail;
    size_t queued_samples;
    int lane_busy;
    int overload_reported;
    int open_queued;           /* the decoders' open is queued (at the first audio) */
    /* speech lane: job side (one job at a time) */
    const vt_stt_ops *stt;
    const vt_kws_ops *kws;
    void *stt_ctx, *kws_ctx;
    int speech_opened;
    int kws_on, in_utt;
    uint32_t utt;
    int16_t ring[VT__PREROLL_RING];
    size_t ring_pos, ring_fill;
    size_t since_partial;
    char last_partial[512];

    /* the final recogniser (lane_final.c): the speech lane's job side
     * keeps the open utterance's audio; the queue is the loop thread's */
    int final_on;              /* the setup has one (read-only after create) */
    int16_t *utt_pcm;
    size_t utt_n, utt_cap;
    vt__final_op *final_q, *final_tail;
    int final_busy;
    const vt_stt_ops *final_stt;  /* final job side, one job at a time */
    void *final_ctx;
    int final_opened;
    char final_open_err[256];

    /* synthesis lane */
    vt__tts_op *tts_q, *tts_tail;
    int tts_busy;
    const vt_tts_ops *tts;
    void *tts_ctx;
    const vt_tts_ops *tts_fb;  /* the fallback voice (job side) */
    void *tts_fb_ctx;
    uint32_t tts_fb_gen;       /* the answer it speaks the rest of */
    int tts_fb_on;
};

/* driver.c */
int vt__drv_submit(vt_session *s, vt_exec_kind kind, uint32_t gen, vt_exec_run_fn run,
                   vt_job_complete_fn complete, vt_job_progress_fn progress,
                   vt_job_drop_fn drop, void *arg);
void vt__drv_job_done(vt_session *s);
void vt__drv_reschedule(vt_session *s);
void vt__drv_report(vt_session *s, const char *code, const char *msg);
int64_t vt__drv_now(const vt_session *s);

/* lanes.c: the speech lane */
vt__sop *vt__speech_add(vt_session *s, vt__sop_kind kind, size_t n);
void vt__speech_kick(vt_session *s);
void vt__speech_clear(vt_session *s);
/* lanes.c: the synthesis lane */
int vt__tts_add(vt_session *s, uint32_t gen, uint32_t id, const char *text);
void vt__tts_drop_gen(vt_session *s, uint32_t gen);
void vt__tts_clear(vt_session *s);
/* lanes.c: hand an utterance's final text (res may be NULL) to the core */
void vt__speech_final(vt_session *s, uint32_t utt, const char *text, const vt_stt_result *res);
/* lane_final.c: the final recogniser. add takes local and pcm (freed on
 * every path); free_all releases the queue and the recogniser (session end). */
void vt__final_add(vt_session *s, uint32_t utt, vt_stt_result *local, int16_t *pcm, size_t n);
void vt__final_clear(vt_session *s);
void vt__final_free(vt_session *s);

#endif
