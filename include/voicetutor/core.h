/*
 * voicetutor core — the conversation as a pure state machine.
 *
 * DESIGN
 * The core never reads a clock, a socket or a file. Every entry point takes
 * now_us (microseconds on the caller's clock, monotonic) and reports what
 * should happen through the action sink given at creation. The same event
 * script therefore always gives the same actions, which is what makes the
 * scenario tests and `voicetutor simulate` deterministic.
 *
 *   events in:  user audio frames, STT partial/final, keyword hits, a key
 *               press, completeness verdicts, filler choices, LLM tokens /
 *               done / error, TTS audio chunks with word timings / done /
 *               error, playback position, ticks.
 *   actions out: start/cancel an LLM answer (generation id), judge a text,
 *               choose a filler, synthesize a phrase, begin/end an STT
 *               utterance, output audio frames (paced), protocol events,
 *               state transitions (one per change, with the reason).
 *
 * Generations: every answer has a generation id. An interruption bumps it,
 * flushes the output queue inside the same call and emits VT_ACT_CANCEL for
 * the old id; results that arrive later with a stale id are dropped.
 *
 * THREAD SAFETY: a vt_core is not thread safe; one thread owns it. The sink
 * is called synchronously from inside the entry points and must not call
 * back into the same core. Pointers inside an action are valid only for the
 * duration of the sink call.
 *
 * ERRORS: functions return 0 or a negative VT_E* code. Configuration errors
 * also write a human readable message into the caller's buffer.
 */
#ifndef VOICETUTOR_CORE_H
#define VOICETUTOR_CORE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- error codes ------------------------------------------------------ */
enum {
    VT_OK = 0,
    VT_EINVAL = -1,     /* bad argument or configuration value */
    VT_ENOMEM = -2,     /* allocation failed */
    VT_ESTATE = -3,     /* call not valid in the current state */
    VT_ESTALE = -4,     /* result of an old generation, dropped */
    VT_EIO = -5,        /* file or engine I/O failed */
    VT_EFORMAT = -6,    /* malformed input (file, json, audio) */
    VT_ECANCELED = -7,  /* job was cancelled */
    VT_EFULL = -8,      /* bounded queue is full */
    VT_ENOTFOUND = -9,  /* missing file, model or entry */
    VT_ETIMEDOUT = -10  /* engine took too long */
};
const char *vt_strerror(int err);

/* ---- configuration ---------------------------------------------------- */
#define VT_IN_RATE 16000            /* user audio: 16 kHz mono s16 */
#define VT_MAX_COMMANDS 16
#define VT_MAX_COMMAND_LEN 32
#define VT_OUT_CHUNK_MIN_MS 20      /* smallest cfg.out_chunk_ms other than 0 */

typedef enum {
    VT_MODE_COMMANDS = 0,  /* seed 000: only spoken commands interrupt */
    VT_MODE_SPEECH = 1,    /* seed 003: sustained speech interrupts */
    VT_MODE_BOTH = 2       /* default: either */
} vt_interrupt_mode;

typedef struct vt_config {
    /* audio */
    int out_rate;                 /* output sample rate, 8000..48000 */
    int vad_frame_ms;             /* 10 or 20 */
    int out_frame_ms;             /* paced output slice, 10..100 */
    /* VAD (confidence = 2*log10(rms/noise_floor): 1.0 is 10 dB over floor) */
    double vad_start_confidence;  /* frame counts as speech at or above */
    double vad_end_confidence;    /* and as silence below (hysteresis) */
    int vad_start_ms;             /* speech frames needed to start a segment */
    int vad_hangover_ms;          /* silence needed to end a segment */
    double vad_floor_init;        /* initial noise floor (rms) */
    double vad_floor_min;         /* floor never drops below (rms) */
    int stt_preroll_ms;           /* audio before the detected start given to STT */
    /* end of turn (seed 000) */
    int complete_silence_ms;      /* 500: silence after a complete sentence */
    int incomplete_silence_ms;    /* 2000: silence after an incomplete one */
    int final_wait_ms;            /* longest wait for the STT final text */
    /* interruption (seed 003) */
    int interrupt_enabled;
    double interrupt_threshold;   /* 0.5..3.0, default 1.5 */
    int interrupt_cooldown_ms;    /* 100..5000, default 1000 */
    int min_speech_ms;            /* speech must last this long to interrupt */
    vt_interrupt_mode interrupt_mode;
    char commands[VT_MAX_COMMANDS][VT_MAX_COMMAND_LEN]; /* "stop", "wait"... */
    int n_commands;
    /* filler (seed 000) */
    int filler_enabled;
    int filler_deadline_ms;       /* brain's choice later than this: random */
    int filler_delay_ms;          /* hold the filler this long after the turn ends; skip it
                                     when the answer's audio is ready first (0: at once) */
    /* phrase buffer (seed 004) */
    int phrase_first_min_chars;   /* first phrase may end at a clause boundary after this */
    int phrase_min_chars;         /* later phrases end at sentence ends after this */
    int phrase_max_chars;         /* hard cap: split at the last space */
    /* pacer (seed 004) */
    int pacer_lead_ms;            /* audio sent ahead of playback, default 100 */
    int tts_lookahead_ms;         /* synthesize ahead of playback at most this */
    int out_chunk_ms;             /* 0: out_frame_ms slices, each sent while the client would
                                     then hold at most pacer_lead_ms (binary PCM); else chunks
                                     of up to this much of ONE phrase, each sent while the
                                     client would hold at most one chunk plus pacer_lead_ms
                                     (serve's JSON audio, json_chunk_ms; 20..2000) */
    int acknowledgement;          /* 1 (default): the acknowledgement clip after an
                                     interruption (seed 000); serve clears it for seed 003
                                     clients that did not ask for it */
    /* turn taking past the seeds (issue 15); every one off by default */
    int preempt_ms;               /* 0 off; else start the answer after this much silence,
                                     before the end-of-turn rule decides (50..2000) */
    char backchannels[VT_MAX_COMMANDS][VT_MAX_COMMAND_LEN]; /* "uh huh", "mhm"... (none: off):
                                     speech that says only these never interrupts */
    int n_backchannels;
    int interrupt_min_words;      /* 0: sustained speech alone interrupts (seed 003); else it
                                     also needs this many recognised words (1..20) */
    int resume_ms;                /* 0 off; else when speech stopped the tutor and no words
                                     come within this, the answer resumes from the word it
                                     was cut in (300..10000) */
    int think_silence_ms;         /* 0 off; else while the tutor's last question is open an
                                     incomplete answer ("um", "fifty...") may pause this long,
                                     and a filler word alone never ends a turn (0..20000,
                                     at least incomplete_silence_ms) */
    double duck_db;               /* 0 off; else the tutor's output is lowered by this much
                                     (-40..0 dB) from the first frame of likely speech over it
                                     until an interruption, or back up when there is none */
    int duck_ramp_ms;             /* how fast the gain moves (1..200, default 10) */
    /* identity */
    char character[64];           /* persona or lesson name in events */
    char apology[160];            /* spoken when the brain fails */
    uint32_t seed;                /* random filler / acknowledgement choice */
} vt_config;

void vt_config_default(vt_config *cfg);
/* 0 when valid; else VT_EINVAL and a message "field: what is wrong (range)". */
int vt_config_validate(const vt_config *cfg, char *err, size_t errlen);
/* Replace the command list from a comma separated string ("stop,wait"). */
int vt_config_set_commands(vt_config *cfg, const char *csv, char *err, size_t errlen);
/* The same for cfg.backchannels ("" turns the filter off). A suggested list:
 * VT_BACKCHANNELS_SUGGESTED. */
int vt_config_set_backchannels(vt_config *cfg, const char *csv, char *err, size_t errlen);
#define VT_BACKCHANNELS_SUGGESTED \
    "uh huh,mhm,mm hmm,hmm,yeah,yes,yep,okay,ok,right,i see,sure,got it,alright"

/* The settable numeric ranges of vt_config, by field name ("interrupt_threshold",
 * "interrupt_cooldown_ms", ... every field config.c range-checks); ends with {NULL}.
 * Bounds are inclusive and in the field's own unit (ms fields in ms). One table
 * for vt_config_validate, vt_core_configure_interruption and the server. */
typedef struct vt_range { const char *name; double min, max; } vt_range;
extern const vt_range vt_ranges[];
const vt_range *vt_range_find(const char *name);   /* NULL when unknown */
const char *vt_mode_name(vt_interrupt_mode m);
int vt_mode_parse(const char *s, vt_interrupt_mode *out);

/* ---- clips (fillers and acknowledgements) ----------------------------- */
/* Audio is borrowed: it must outlive the core. Rate is cfg.out_rate. */
typedef struct vt_clip {
    const int16_t *pcm;
    size_t n;
    const char *text;         /* what the clip says */
    const char *description;  /* for the brain's filler choice */
} vt_clip;

/* ---- words with timings ----------------------------------------------- */
/* start and end are always sample offsets into the audio the word lies in,
 * at that audio's rate: for TTS (vt_core_tts_audio) from the start of the
 * chunk at cfg.out_rate; for STT (vt_core_stt_final) from the start of the
 * utterance at VT_IN_RATE. Engines that count in ms convert at the boundary
 * (VT_MS_TO_IN_SAMPLES). */
typedef struct vt_word {
    const char *text;
    uint32_t start;   /* first sample of the word */
    uint32_t end;     /* one past its last sample */
} vt_word;
#define VT_MS_TO_IN_SAMPLES(ms) ((uint32_t)(ms) * (VT_IN_RATE / 1000))

/* ---- states ----------------------------------------------------------- */
typedef enum {
    VT_STATE_LISTENING = 0,     /* full_listening: text feeds the turn */
    VT_STATE_THINKING,          /* turn ended; answer generating, filler covers */
    VT_STATE_RESPONDING,        /* interrupt_only: answer audio is playing */
    VT_STATE_ACKNOWLEDGING      /* acknowledgement clip after an interruption */
} vt_state;
const char *vt_state_name(vt_state s);

/* ---- actions out ------------------------------------------------------ */
typedef enum {
    VT_ACT_STATE = 1,       /* state transition: from, to, why */
    VT_ACT_STT_BEGIN,       /* utt: an utterance starts (preroll_ms before now) */
    VT_ACT_STT_END,         /* utt: the utterance ended, produce its final */
    VT_ACT_KWS,             /* flag: keyword spotting on (1) or off (0) */
    VT_ACT_JUDGE,           /* req, text: is this sentence complete? */
    VT_ACT_CHOOSE_FILLER,   /* gen, text: which filler fits? */
    VT_ACT_LLM_START,       /* gen, text: start the answer to the turn */
    VT_ACT_TTS,             /* gen, id, text: synthesize this phrase */
    VT_ACT_CANCEL,          /* gen: abort every job of this generation */
    VT_ACT_AUDIO,           /* gen, pcm, n, kind: one paced output slice */
    VT_ACT_EVENT            /* ev: a protocol event for the client */
} vt_action_type;

typedef enum {
    VT_AUDIO_FILLER = 0, VT_AUDIO_ANSWER, VT_AUDIO_ACK
} vt_audio_kind;

typedef enum {
    VT_EV_SPEECH_DETECTED = 1,
    VT_EV_TRANSCRIPTION_PARTIAL,
    VT_EV_TRANSCRIPTION_COMPLETE,
    VT_EV_PROCESSING_STARTED,
    VT_EV_RESPONSE_START,
    VT_EV_RESPONSE_TEXT,          /* words as they are spoken */
    VT_EV_RESPONSE_COMPLETE,
    VT_EV_INTERRUPTION_DETECTED,
    VT_EV_RESPONSE_INTERRUPTED,
    VT_EV_FILLER_STARTED,
    VT_EV_ACKNOWLEDGEMENT_STARTED,
    VT_EV_STATE_CHANGED,
    VT_EV_ERROR
} vt_event_type;

typedef enum {
    VT_TRIGGER_NONE = 0, VT_TRIGGER_KEY, VT_TRIGGER_COMMAND, VT_TRIGGER_SPEECH,
    VT_TRIGGER_TEXT       /* a typed message replaced the answer */
} vt_trigger;
const char *vt_trigger_name(vt_trigger t);

typedef struct vt_event {
    vt_event_type type;
    vt_state state;               /* conversation_state after the event */
    int is_audio_playing;
    const char *text;             /* transcript, full_text, message, ... */
    const char *text2;            /* spoken-so-far / unspoken rest / code */
    double confidence, energy;
    double latency_ms;            /* interruption_latency_ms */
    vt_trigger trigger;
    int chunks_sent, total_chunks, turn, index;
} vt_event;

typedef struct vt_action {
    vt_action_type type;
    uint32_t gen;         /* generation the action belongs to */
    uint32_t id;          /* utterance / phrase / judge request id */
    const char *text;
    const int16_t *pcm;   /* VT_ACT_AUDIO */
    size_t n;
    vt_audio_kind kind;
    int flag;
    int preroll_ms;
    vt_state from, to;    /* VT_ACT_STATE */
    const char *why;
    const vt_event *ev;   /* VT_ACT_EVENT */
} vt_action;

typedef void (*vt_sink_fn)(void *ud, const vt_action *a, int64_t now_us);

/* ---- the core --------------------------------------------------------- */
typedef struct vt_core vt_core;

/* Copies cfg (validated). fillers/acks are borrowed. */
int vt_core_create(const vt_config *cfg, vt_sink_fn sink, void *sink_ud,
                   vt_core **out, char *err, size_t errlen);
void vt_core_destroy(vt_core *c);
int vt_core_set_clips(vt_core *c, const vt_clip *fillers, int n_fillers,
                      const vt_clip *acks, int n_acks);
/* Optional measuring clock, used only for interruption_latency_ms: the
 * time from the arrival of the triggering input (now_us of the call, or
 * heard_us for a keyword) to the flush, read on this clock just after the
 * flush. It must run on the same time base as now_us. Without it the flush
 * time is taken as now_us (0 ms for every input that arrives with the call). */
void vt_core_set_clock(vt_core *c, int64_t (*clock_us)(void *ud), void *ud);

/* events in */
int vt_core_audio(vt_core *c, const int16_t *pcm, size_t n, int64_t now_us);
int vt_core_stt_partial(vt_core *c, uint32_t utt, const char *text, int64_t now_us);
/* words (may be NULL): offsets in samples at VT_IN_RATE from the start of
 * the utterance (see vt_word). */
int vt_core_stt_final(vt_core *c, uint32_t utt, const char *text,
                      const vt_word *words, size_t n_words, int64_t now_us);
/* A keyword spotter's hit. heard_us: when the audio that held the word
 * arrived (<= now_us; a spotter decodes behind the microphone), so that
 * interruption_latency_ms covers the decoding too. VT_EINVAL when word is
 * not one of cfg.commands. */
int vt_core_keyword(vt_core *c, const char *word, int64_t heard_us, int64_t now_us);
/* Keyboard / button: an explicit interruption (ignores mode, enabled and
 * the cooldown). 0 when this key interrupted the answer (the output is
 * flushed and interruption_detected was emitted in this call); VT_ESTATE
 * when there was no answer to interrupt (nothing changed). */
int vt_core_key(vt_core *c, int64_t now_us);
int vt_core_text(vt_core *c, const char *text, int64_t now_us); /* typed turn */
/* The tutor speaks first (a welcome, a lesson's introduction): text is
 * spoken as an answer of its own, with no user turn before it; it can be
 * interrupted like any answer. VT_ESTATE unless listening and idle. */
int vt_core_say(vt_core *c, const char *text, int64_t now_us);
int vt_core_verdict(vt_core *c, uint32_t req, int complete, int64_t now_us);
/* What the person is expected to say now: the waiting question's accepted
 * answers as a recogniser spells them ("fifty six"), from the brain's
 * expected op when an utterance begins; n == 0 clears them. While set, a
 * turn whose text holds one of them as whole words is complete (the short
 * silence) whatever the judge said, so a misheard word around a right
 * answer ("fifty six a") does not make the learner wait. At most
 * VT_CORE_EXPECT_MAX phrases of VT_CORE_EXPECT_LEN - 1 bytes are kept. */
#define VT_CORE_EXPECT_MAX 8
#define VT_CORE_EXPECT_LEN 64
int vt_core_expect(vt_core *c, const char *const *answers, size_t n);
int vt_core_filler_choice(vt_core *c, uint32_t gen, int index, int64_t now_us);
int vt_core_llm_token(vt_core *c, uint32_t gen, const char *tok, int64_t now_us);
int vt_core_llm_done(vt_core *c, uint32_t gen, int64_t now_us);
int vt_core_llm_error(vt_core *c, uint32_t gen, const char *msg, int64_t now_us);
/* TTS audio at cfg.out_rate; word offsets are samples within this chunk. */
int vt_core_tts_audio(vt_core *c, uint32_t gen, uint32_t phrase,
                      const int16_t *pcm, size_t n,
                      const vt_word *words, size_t n_words, int64_t now_us);
int vt_core_tts_done(vt_core *c, uint32_t gen, uint32_t phrase, int64_t now_us);
int vt_core_tts_error(vt_core *c, uint32_t gen, uint32_t phrase,
                      const char *msg, int64_t now_us);
/* The client has played `samples` of output since the session began. */
int vt_core_playback(vt_core *c, uint64_t samples, int64_t now_us);
int vt_core_tick(vt_core *c, int64_t now_us);
/* When the core next needs a tick (INT64_MAX: only on events). */
int64_t vt_core_next_deadline(const vt_core *c);

/* interruption control (seed 003) */
int vt_core_configure_interruption(vt_core *c, double threshold, double cooldown_s,
                                   char *err, size_t errlen);
int vt_core_enable_interruption(vt_core *c, int enabled);
int vt_core_set_mode(vt_core *c, vt_interrupt_mode m);
/* Per-session output settings, before the first audio (a transport's choice
 * at its initialize): cfg.out_chunk_ms (0, or 20..2000; allocates the chunk
 * buffer here, not on the pacer's path) and cfg.acknowledgement. */
int vt_core_set_out_chunk(vt_core *c, int out_chunk_ms);
int vt_core_set_acknowledgement(vt_core *c, int on);
/* The number of audio chunks of the current answer once its whole text is
 * known and synthesized (sent + still queued); 0 while unknown. */
int vt_core_total_chunks(const vt_core *c);

/* queries */
vt_state vt_core_state(const vt_core *c);
int vt_core_is_audio_playing(const vt_core *c);
int vt_core_has_active_response(const vt_core *c);
uint32_t vt_core_generation(const vt_core *c);
const vt_config *vt_core_config(const vt_core *c);

/* transcript and memory (seed 004): what was actually said */
typedef enum { VT_ROLE_USER = 0, VT_ROLE_ASSISTANT, VT_ROLE_NOTE } vt_role;
typedef struct vt_turn {
    vt_role role;
    char *text;        /* user: what they said; assistant: only heard words (+ "...") */
    char *unspoken;    /* assistant, when cut: the rest it planned to say */
    int interrupted;
} vt_turn;
size_t vt_core_history(const vt_core *c, const vt_turn **turns);

/* metrics */
#define VT_LATENCY_WINDOW 50
typedef struct vt_metrics {
    int total_interruptions;
    int n_latencies;              /* in the window, at most 50 */
    double avg_latency_ms, min_latency_ms, max_latency_ms;
    int target_met;               /* every latency in the window < 50 ms */
    int turns;
    double last_first_audio_ms;   /* end of speech to first audio (filler or answer) */
    double last_first_answer_ms;  /* end of speech to first answer audio */
    int chunks_sent;              /* of the current / last answer */
} vt_metrics;
void vt_core_metrics(const vt_core *c, vt_metrics *m);

/* The embedded completeness judge: 1 complete, 0 incomplete (a trailing
 * conjunction, preposition, article or filler such as "um"). */
int vt_judge_heuristic(const char *text);
/* The same judge with the lesson's context: 1 when text holds one of the
 * expected answers as whole words (case and punctuation ignored), else
 * vt_judge_heuristic(text). */
int vt_judge_heuristic_expected(const char *text, const char *const *answers, size_t n);

/* Strip a leading command word ("stop, what is..." -> "what is...").
 * Writes into out; returns its length. */
size_t vt_strip_command(const vt_config *cfg, const char *text, char *out, size_t cap);
/* Does text contain one of the commands as a whole word (or phrase)? */
int vt_find_command(const vt_config *cfg, const char *text);

/* Bytes the core holds for a session now (struct + buffers). */
size_t vt_core_memory(const vt_core *c);
size_t vt_core_interrupt_memory(void);

#ifdef __cplusplus
}
#endif
#endif
