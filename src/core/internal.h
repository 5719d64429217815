/*
 * Internal structures of the core, shared by its modules (vad, text, phrase,
 * outq, transcript, metrics, and the conversation's four files). Nothing
 * here does I/O.
 * Internal non-static names use the vt__ prefix (public ones are vt_*).
 */
#ifndef VT_CORE_INTERNAL_H
#define VT_CORE_INTERNAL_H

#include "voicetutor/core.h"
#include <stdbool.h>

/* ---- vad.c: energy VAD with adaptive noise floor ---------------------- */
#define VAD_MAX_FRAME 480 /* 30 ms at 16 kHz */
typedef enum { VAD_NONE = 0, VAD_START, VAD_END } vad_edge;

typedef struct vad {
    int frame_samples;
    int16_t buf[VAD_MAX_FRAME];
    int nbuf;
    double floor, floor_min;
    double start_conf, end_conf;
    int start_frames, hang_frames;
    bool in_speech;
    int run_speech, run_silence;
    double conf, energy;         /* of the last frame */
    int64_t cand_start_us;       /* start of the current run of speech frames */
    int64_t seg_start_us;        /* start of the current segment */
    int64_t last_voice_us;       /* end of the last frame >= end_conf */
} vad;

void vt__vad_init(vad *v, const vt_config *cfg);
/* Process one full frame ending at end_us. */
vad_edge vt__vad_frame(vad *v, const int16_t *frame, int64_t end_us);
double vt__vad_confidence(double rms, double floor);

/* ---- text.c: words, commands, the heuristic judge --------------------- */
/* Lower-case word tokens without punctuation: "Stop, what?" -> stop what */
size_t vt__text_norm_word(const char *in, size_t len, char *out, size_t cap);
size_t vt__text_count_words(const char *s);
/* Byte offset just past the first k whitespace tokens of s. */
size_t vt__text_prefix_words(const char *s, size_t k);
/* Speech interruptions that need words (cfg.n_backchannels or
 * cfg.interrupt_min_words): may this recognised text interrupt? It needs at
 * least interrupt_min_words words (at least one) and a word that is not a
 * backchannel ("uh huh", "mhm", ...). */
static inline bool vt__speech_needs_words(const vt_config *cfg)
{
    return cfg->n_backchannels > 0 || cfg->interrupt_min_words > 0;
}
bool vt__text_may_interrupt(const vt_config *cfg, const char *text);
/* Think time: only hesitations ("um", "uh"); ends in a number that may go on
 * ("fifty", "two hundred", "3 point"); ends in a question ('?' is its last
 * sentence end). */
/* Only noise: nothing but non-speech marks ("[NOISE]", "(coughs)") and
 * punctuation, or with `hesitations` also only "um", "uh", "ah", "hmm". */
bool vt__text_only_noise(const char *text, bool hesitations);
bool vt__text_only_fillers(const char *text);
bool vt__text_ends_open_number(const char *text);
bool vt__text_is_question(const char *text);
/* Does text hold one of the normalised phrases as whole words? */
bool vt__text_holds_any(const char *text, const char (*phrases)[VT_CORE_EXPECT_LEN], size_t n);

/* ---- phrase.c: LLM tokens -> TTS phrases (seed 004) -------------------- */
typedef struct phrase_buf {
    char *buf;
    size_t len, cap;
    bool first_done;
    int first_min, min, max;
} phrase_buf;

void vt__phrase_init(phrase_buf *p, const vt_config *cfg);
void vt__phrase_free(phrase_buf *p);
void vt__phrase_reset(phrase_buf *p);
int vt__phrase_push(phrase_buf *p, const char *tok);
/* Next ready phrase into out (malloc'd) or NULL. final: flush the rest. */
char *vt__phrase_next(phrase_buf *p, bool final);

/* ---- outq.c: the output queue and the pacer (seed 004) ---------------- */
typedef struct seg_word {
    uint32_t end;        /* sample offset in the segment */
    bool released;
} seg_word;

typedef struct seg {
    struct seg *next;
    vt_audio_kind kind;
    uint32_t gen, phrase;
    const int16_t *pcm;  /* owned when own != NULL */
    int16_t *own;
    size_t n, pos;
    seg_word *words;
    size_t n_words;
} seg;

typedef struct outq {
    seg *head, *tail;
    size_t queued;       /* samples not yet released */
    int rate, frame_samples;
    int chunk_samples;   /* cfg.out_chunk_ms (0: slices of frame_samples) */
    bool growing;        /* phrase grow_phrase of grow_gen is being synthesized */
    uint32_t grow_gen, grow_phrase;
    int64_t lead_us;
    int64_t play_end_us; /* when the client finishes what was released */
    uint64_t released;   /* samples released since the session began */
} outq;

void vt__outq_init(outq *q, const vt_config *cfg);
void vt__outq_flush(outq *q);
int vt__outq_push_clip(outq *q, vt_audio_kind kind, uint32_t gen, const vt_clip *clip);
int vt__outq_push_chunk(outq *q, uint32_t gen, uint32_t phrase, const int16_t *pcm, size_t n,
                    const vt_word *words, size_t n_words);
int64_t vt__outq_us(const outq *q, size_t samples);
/* Microseconds of audio ahead of playback (queued + held by the client). */
int64_t vt__outq_ahead_us(const outq *q, int64_t now);
bool vt__outq_playing(const outq *q, int64_t now);
int64_t vt__outq_next_release(const outq *q);
/* Samples of the next slice (its head segment's, or for chunks the run of
 * answer segments of the same phrase), at most `max`; 0 when a chunk must
 * wait for more of a phrase still being synthesized. */
size_t vt__outq_slice_len(const outq *q, size_t max);
/* Answer slices still queued, as the pacer would cut them. */
int vt__outq_chunks_left(const outq *q);
size_t vt__outq_memory(const outq *q);

/* ---- transcript.c: history of what was actually said ----------------- */
typedef struct transcript {
    vt_turn *turns;
    size_t n, cap;
    size_t max_turns;
} transcript;

void vt__transcript_init(transcript *t);
void vt__transcript_free(transcript *t);
int vt__transcript_add(transcript *t, vt_role role, const char *text, const char *unspoken,
                   int interrupted);
int vt__transcript_pop(transcript *t, vt_role role, const char *text);
size_t vt__transcript_memory(const transcript *t);

/* ---- metrics.c ---------------------------------------------------------- */
typedef struct metrics {
    int total_interruptions;
    double lat[VT_LATENCY_WINDOW];
    int n_lat, lat_next;
    int turns;
    double last_first_audio_ms, last_first_answer_ms;
} metrics;

void vt__metrics_add_latency(metrics *m, double ms);
void vt__metrics_get(const metrics *m, vt_metrics *out);

/* ---- the conversation: conversation.c, turn_taking.c, answer.c, utterance.c */
/* How long a turn waits for the final text of an utterance of which the
 * recogniser has not given even an interim text (final_wait_ms applies when
 * an interim text can stand in for it; turn_taking.c). */
#define VT__FINAL_WAIT_UNHEARD_MS 20000
#define MAX_UTTS 8
typedef struct utt {
    uint32_t id;
    bool open;            /* VAD segment still in progress */
    bool has_final;
    bool belongs;         /* part of the person's next / current turn */
    bool during_answer;   /* began while the tutor was answering */
    bool triggered;       /* this utterance interrupted the tutor */
    bool sustained;       /* loud and long enough to interrupt, waiting for words */
    double sus_conf, sus_energy;
    int64_t start_us, end_us;
    char *text;           /* final (stripped) */
    char *partial;
} utt;

struct vt_core {
    vt_config cfg;
    vt_sink_fn sink;
    void *sink_ud;
    int64_t (*clock_us)(void *);
    void *clock_ud;

    vt_state state;
    uint32_t gen;
    int turn_no;

    vad vad;
    double above_ms;           /* time over the interrupt threshold in this segment */
    int64_t last_interrupt_us;
    bool have_interrupted;

    utt utts[MAX_UTTS];
    int n_utts;
    uint32_t next_utt;

    /* the person's turn being assembled */
    char *turn_text;
    size_t turn_len, turn_cap;
    int64_t turn_last_voice_us;
    uint32_t judge_req;
    int verdict;               /* -1 none, 0 incomplete, 1 complete */
    bool judge_pending;

    /* the answer */
    bool answer_active;        /* from end of turn until complete/interrupted */
    bool llm_done;
    bool tts_busy;
    uint32_t tts_phrase;       /* id of the phrase being synthesized */
    uint32_t next_phrase;
    bool tts_got_words;        /* the phrase in synthesis came with word timings */
    bool response_started;     /* response_start was sent */
    char *plan;                /* phrases sent to TTS, in order, space separated */
    size_t plan_len, plan_cap, plan_len_before;
    size_t plan_word_off;      /* byte offset in plan after the released words */
    char *answer_text;         /* every token of the answer */
    size_t answer_len, answer_cap;
    char **pending;            /* phrases not yet sent to TTS */
    size_t n_pending, cap_pending;
    phrase_buf pb;
    int64_t speech_end_us;     /* end of the person's speech for this turn */
    bool first_audio, first_answer_audio;
    int chunks_sent, total_chunks;
    bool releasing;            /* inside the audio action of an answer slice */
    size_t words_released;     /* answer words whose audio was released */
    uint64_t *word_end_abs;    /* absolute output sample at each word's end */
    size_t word_end_cap;
    bool has_playback;         /* the client reports its playback position */
    uint64_t playback;

    /* a preemptive answer (cfg.preempt_ms): begun on the text so far while
     * the end-of-turn rule still decides; nothing of it is released until
     * the turn ends with the same text, else it is cancelled by generation */
    bool draft;
    char *draft_text;          /* the user turn it answers (also in memory) */
    int64_t draft_voice_us;    /* the person's last voice when it began */

    /* resume after a false interruption (cfg.resume_ms) */
    bool resume_pending;
    int64_t resume_at_us;
    char *resume_heard;        /* the heard part of the cut answer, as planned */
    char *resume_rest;         /* from the word it was cut in */
    char *resume_cut;          /* its entry in memory ("...heard..."), taken back */
    bool skip_first_metric;    /* a resumed answer is not end of speech to first audio */

    bool question_open;        /* the tutor's last answer asked a question (think time) */
    char expect[VT_CORE_EXPECT_MAX][VT_CORE_EXPECT_LEN]; /* vt_core_expect, normalised */
    int n_expect;

    /* ducking (cfg.duck_db): the gain of released output moves toward its
     * target by gain_step per sample; duck_buf holds one scaled slice */
    int16_t *duck_buf;         /* one slice: out_frame_ms or out_chunk_ms */
    int16_t *chunk_buf;        /* a chunk gathered from several segments of a phrase */
    double gain, gain_target, gain_low, gain_step;

    /* filler */
    bool filler_wait;
    bool filler_held;             /* chosen, waiting for filler_play_us */
    int filler_index;
    int64_t filler_play_us;
    int64_t filler_deadline_us;
    bool filler_played;

    outq q;
    transcript tr;
    metrics m;

    const vt_clip *fillers, *acks;
    int n_fillers, n_acks;
    int ack_next;
    uint64_t rng;
};

/* conversation.c: what every part of the state machine shares */
void vt__act(vt_core *c, vt_action *a, int64_t now);
/* An event with the current conversation_state; vt__event_in names the
 * state explicitly (an interruption's events carry the state it leads to). */
void vt__event(vt_core *c, vt_event *ev, int64_t now);
void vt__event_in(vt_core *c, vt_event *ev, vt_state s, int64_t now);
/* The one function that changes state: one VT_ACT_STATE per change. */
void vt__set_state(vt_core *c, vt_state to, const char *why, int64_t now);
int vt__str_append(char **buf, size_t *len, size_t *cap, const char *s);
/* Ends every entry point: the answer's timers, then the end of turn. */
void vt__pump(vt_core *c, int64_t now);

/* turn_taking.c: interruption and end of turn */
/* Seed 003's criteria; arrived_us is when the triggering input arrived
 * (interruption_latency_ms runs from it). True when it interrupted. */
bool vt__try_interrupt(vt_core *c, vt_trigger trig, double conf, double energy,
                       int64_t arrived_us, int64_t now);
/* When the current turn ends (INT64_MAX: not yet known; INT64_MIN: now). */
int64_t vt__turn_deadline(const vt_core *c, const char **why);
/* True when a late final's stand-in was taken: run the timers again. */
bool vt__check_turn_end(vt_core *c, int64_t now);

/* Preemptive answers: start, restart or drop the draft answer (before the
 * end of turn in every pump); commit it when the turn ends with its text. */
void vt__preempt_pump(vt_core *c, int64_t now);
int64_t vt__preempt_deadline(const vt_core *c);
void vt__draft_cancel(vt_core *c, int64_t now);

/* answer.c: the output side */
/* The answer takes tokens and synthesizes: active, or a draft. */
static inline bool vt__answer_live(const vt_core *c)
{
    return c->answer_active || c->draft;
}
void vt__answer_clear(vt_core *c);
/* Cut the answer at what was heard (memory, then clear); *said and *rest
 * are malloc'd (or NULL) for the caller to free. */
void vt__answer_cut(vt_core *c, char **said, char **rest, char **heard);
/* Speak the rest of a cut answer as an answer of its own, the heard part
 * kept as heard, so memory holds the whole answer once. */
void vt__answer_resume(vt_core *c, const char *heard, const char *rest, const char *cut,
                       int64_t now);
/* Resume after a false interruption: forget it, or resume when it is due. */
void vt__resume_clear(vt_core *c);
void vt__resume_pump(vt_core *c, int64_t now);
int64_t vt__resume_deadline(const vt_core *c);
void vt__answer_pump(vt_core *c, int64_t now);
/* Ducking: lower the output (likely speech over the tutor) or restore it. */
void vt__duck(vt_core *c, bool low);

/* utterance.c: the person's utterances */
void vt__utt_remove(vt_core *c, int i);
/* An utterance's final text: 0 or VT_ESTALE; the caller pumps. */
int vt__take_final(vt_core *c, uint32_t id, const char *text, int64_t now);

#endif
