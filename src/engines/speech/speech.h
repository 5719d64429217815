/*
 * voicetutor speech engines — the offline speech stack behind the ops tables
 * of voicetutor/engine.h.
 *
 * DESIGN
 * Real engines: pocketsphinx for streaming speech-to-text and for keyword
 * spotting (the spoken interruption commands), flite (English voices slt,
 * rms, awb, kal16) and espeak-ng (many languages) for text-to-speech. Each
 * kind also has a scripted fake, deterministic and instant, for the core's
 * tests. On top of the engines sit helpers every caller needs: a resampling
 * TTS wrapper (any engine, any output rate, word offsets rescaled), the clip
 * cache (fillers and acknowledgements synthesized once at start-up), and a
 * synchronous transcription helper for `simulate` and `transcribe`.
 *
 * WORD TIMINGS (the contract the core relies on): a TTS engine reports
 * exactly one vt_word per whitespace-separated token of its input, in order,
 * with .text equal to the token; .start/.end are sample offsets within the
 * chunk that contains the word's end (start clamped to 0 when the word began
 * in an earlier chunk). Absolute times never go backwards. STT words carry
 * milliseconds from the utterance start, without fillers (<s>, </s>, <sil>,
 * [NOISE]) or alternate-pronunciation suffixes ("the(2)" -> "the").
 *
 * MODELS AND SESSIONS: every engine has load(opts) -> model, once per
 * process, and create(model, opts) -> ctx, once per session (engine.h). What
 * each model holds: pocketsphinx the resolved, checked model paths, the
 * decoder configuration and a pool of decoders lent to sessions per
 * utterance (ps_pool.h; each decoder loads its own acoustic and language
 * model: see stt_pocketsphinx.c for why the language model is not shared); flite the registered voice; espeak-ng the initialised library and
 * the checked voice; the fakes their script. Models are read-only after
 * load (engine.h's rule).
 *
 * THREAD SAFETY: one ctx is used by one thread at a time. Different ctxs may
 * be used on different threads: pocketsphinx decoders are independent, and
 * a lent one is used by one ctx between take and give (the pool's mutex
 * orders one borrower's last use before the next one's first); flite
 * and espeak-ng keep process-global state, so their synthesis is serialised
 * by one lock per library (synthesis runs at 1/100 of real time or faster, so
 * the lock is held briefly; an abort is honoured at the next chunk).
 *
 * FILES: registry.c holds the tables of engines and the open helpers below;
 * tts_common.c the helpers the engines use (word emitter, resampling,
 * option parsing); stt_pocketsphinx.c, tts_flite.c, tts_espeak.c, fakes.c the
 * engines; clips.c the clip cache and synchronous transcription.
 *
 * ERRORS: 0 or a negative VT_E* code; creation errors name what is missing
 * and the Debian package that provides it.
 */
#ifndef VT_ENGINES_SPEECH_H
#define VT_ENGINES_SPEECH_H

#include <stddef.h>
#include <stdint.h>
#include "voicetutor/engine.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- the engines ------------------------------------------------------ */
/* Speech-to-text on pocketsphinx. Sessions do not own a decoder: the
 * model keeps a pool of warm decoders and lends one per utterance (begin ..
 * end), carrying each session's cepstral mean from one to the next
 * (ps_pool.h), so memory follows the utterances in progress, not the
 * sessions, and a new session is ready at once. Options (vt_opt keys),
 * read by load:
 *   modeldir  folder holding en-us/ (default: pkg-config's modeldir, baked
 *             in at build time)
 *   hmm, lm, dict   acoustic model folder, language model, dictionary
 *   maxhmmpf, maxwpf  the search's pruning (default 3000 and 5, chosen with
 *             bench_hear: 38 % less CPU, heard as well; -1: no limit)
 *   decoders  decoders made at load (default 1; at least one, which checks
 *             the models); more are made when more utterances are in
 *             progress at once, and kept (see idle_ms)
 *   spare     idle decoders kept ready by a thread of the pool (default 0;
 *             `serve` uses 1), so a burst of new speakers rarely waits for
 *             one to be made (510 ms)
 *   idle_ms   a decoder idle this long is freed, beyond the first
 *             max(decoders, spare) (default 0: never; `serve` uses 60000):
 *             memory comes back after a burst of speakers
 *   vad, jsgf (below); read by create:
 *   warmup    "1": the session starts from the cepstral mean a short
 *             synthesized phrase leaves (decoded once per model);
 *             "0" (default: no gain measured on test speech, see
 *             docs/SPEECH.md). A session stays adapted across utterances.
 *   vad       "0" (default): frame times are real time from begin();
 *             "1": pocketsphinx drops silence and tracks speech itself
 *             (see vt_stt_pocketsphinx_in_speech), used by `transcribe`
 *   jsgf      optional JSGF grammar file restricting what can be heard */
extern const vt_stt_ops vt_stt_pocketsphinx;
/* Keyword spotting on pocketsphinx. Options read by load: modeldir, hmm,
 * dict as above; kws_delay (frames, default 1: detection ~0-100 ms after the
 * word). Read by create, with the keyword list: warmup (default 1, as for
 * STT; thresholds were measured with it); "kws.WORD"=threshold overrides
 * the threshold given in the keyword list; idle_ms as above (load). A
 * keyword threshold <= 0 means
 * "use vt_kws_default_threshold(word)". Its decoders are lent too, one per
 * keyword list, from reset() to pause(). */
extern const vt_kws_ops vt_kws_pocketsphinx;
/* flite. Options: load reads voice = slt | rms | awb | kal16 (default
 * VT_TTS_DEFAULT_VOICE); create reads chunk_ms (default 40) and
 * duration_stretch (speaking rate, 1.0 = normal). */
extern const vt_tts_ops vt_tts_flite;
/* espeak-ng, 22050 Hz. Options: load reads voice = language or voice name
 * (default "en"); create reads wpm (speaking rate, default 160). */
extern const vt_tts_ops vt_tts_espeak;

/* The OpenAI-compatible remote engines (stt_openai.c, tts_openai.c; see
 * docs/SPEECH.md, "Remote engines"). Options, all read by load unless
 * said otherwise:
 * vt_stt_openai: stt_url (a base ending in /v1 or a full endpoint, default
 *   http://127.0.0.1:8080/v1), stt_model (whisper-1), stt_language,
 *   stt_prompt (appended to the expected phrases), stt_format (json |
 *   verbose_json: word times), stt_connect_timeout_ms (1000),
 *   stt_timeout_ms (3000, the whole request), stt_api_key_env (the
 *   variable holding the key; default $VOICETUTOR_STT_API_KEY, else
 *   $OPENAI_API_KEY). Its `transcribe` op takes a whole utterance; the
 *   streaming ops buffer the audio and post it at end(); no interim text.
 * vt_tts_openai: tts_url (default http://127.0.0.1:8880/v1), tts_model
 *   (tts-1), tts_voice (or the spec's "openai:VOICE"; default alloy),
 *   tts_format (pcm | wav), tts_rate (24000: the rate of pcm, and the rate a
 *   WAV must have), tts_speed (1.0), tts_connect_timeout_ms (1000),
 *   tts_first_byte_ms (3000), tts_stall_ms (2000), tts_timeout_ms (60000),
 *   tts_api_key_env (default $VOICETUTOR_TTS_API_KEY, else
 *   $OPENAI_API_KEY); create reads tts_chunk_ms (40). No word timings. */
extern const vt_stt_ops vt_stt_openai;
extern const vt_tts_ops vt_tts_openai;

/* Scripted fakes for the core's tests: deterministic, no models, instant.
 * load reads every option below; create copies the loaded script.
 * vt_stt_fake options: text (final text, default "hello"), partial (interim
 *   text; default the first half of text's words), word_ms (per word, 300),
 *   fail ("load" | "create" | "begin" | "feed" | "end": that call returns
 *   VT_EIO).
 * vt_kws_fake options: after (samples since reset before a hit, default
 *   8000; "0" never), word (default: the first keyword), fail ("create").
 * vt_tts_fake options: rate (default 16000), chunk_ms (default 20),
 *   word_ms (per character, default 40, plus 80 per word), fail ("load" |
 *   "create" | "synth"), fail_after (chunks delivered before synth returns
 *   VT_EIO).
 *   The audio is a 440 Hz tone per word with 40 ms of silence after it. */
extern const vt_stt_ops vt_stt_fake;
extern const vt_kws_ops vt_kws_fake;
extern const vt_tts_ops vt_tts_fake;

#define VT_TTS_DEFAULT_VOICE "rms"

/* ---- the registry (registry.c) ----------------------------------------- */
/* Lookup by name: "pocketsphinx" | "openai" | "fake" for STT,
 * "pocketsphinx" | "fake" for KWS; "flite" | "espeak" (also "espeak-ng") |
 * "openai" | "fake" for TTS. NULL when unknown. */
const vt_stt_ops *vt_stt_find(const char *name);
const vt_kws_ops *vt_kws_find(const char *name);
const vt_tts_ops *vt_tts_find(const char *name);
/* Comma separated names of each family, for usage messages. */
const char *vt_stt_names(void);
const char *vt_kws_names(void);
const char *vt_tts_names(void);

/* Load a TTS model from a voice spec: "slt" | "rms" | "awb" | "kal16" |
 * "flite" | "flite:VOICE" | "espeak" | "espeak:LANG" | "fake". Extra
 * options (may be NULL) are passed on; the spec's voice wins. Sessions then
 * call (*ops)->create(model, ...); unload with (*ops)->unload(model). */
int vt_tts_load_voice(const char *spec, const vt_opt *opts, size_t n_opts,
                      const vt_tts_ops **ops, void **model, char *err, size_t errlen);

/* One model and one ctx in one call, for one-off users (the commands, the
 * benchmarks, the simulator): load, then create with the same options. On
 * error nothing is left open (*model and *ctx NULL). Close both with the
 * matching close (NULL-safe). A long-lived server loads once and creates a
 * ctx per session instead. */
int vt_tts_open(const char *spec, const vt_opt *opts, size_t n_opts, const vt_tts_ops **ops,
                void **model, void **ctx, char *err, size_t errlen);
void vt_tts_close(const vt_tts_ops *ops, void *model, void *ctx);
int vt_stt_open(const vt_stt_ops *ops, const vt_opt *opts, size_t n_opts, void **model,
                void **ctx, char *err, size_t errlen);
void vt_stt_close(const vt_stt_ops *ops, void *model, void *ctx);
int vt_kws_open(const vt_kws_ops *ops, const vt_opt *opts, size_t n_opts, const vt_keyword *kw,
                size_t n_kw, void **model, void **ctx, char *err, size_t errlen);
void vt_kws_close(const vt_kws_ops *ops, void *model, void *ctx);

/* What the pocketsphinx recogniser did with the last utterance while it
 * expected answers (vt_stt_ops.expect): both hypotheses and their scores,
 * for the benchmarks and tests. */
typedef struct vt_stt_ps_info {
    int ran;                    /* the grammar pass ran */
    int chose_grammar;          /* ... and its text was given */
    char lm_text[256], grammar_text[256];
    int32_t lm_score, grammar_score;  /* best path scores (log, <= 0) */
    int frames;                 /* 10 ms frames decoded */
    int lm_words;               /* words in lm_text */
    int lm_has_answer;          /* lm_text holds an expected answer */
    double lm_cpu_s, grammar_cpu_s;  /* thread CPU of each pass */
    int phone_ran;              /* the phone-loop pass ran (expect_phone=1: bench_hear) */
    int32_t phone_score;        /* its best path score: the grammar's reference */
    double phone_cpu_s;
    int loop_ran;               /* expect_garbage=W: the pass of the grammar with a loop of
                                   common words beside the answers ran */
    char loop_text[256];        /* its text */
    int loop_garbage;           /* its best path was the loop: not an answer or a command */
    double loop_cpu_s;
    int first_taken;            /* expect_first: the streamed loop grammar's answer was
                                   given, the full model never ran */
} vt_stt_ps_info;
/* Copies the last utterance's info; VT_EINVAL without a ctx. */
int vt_stt_pocketsphinx_info(void *ctx, vt_stt_ps_info *out);
/* The rule end() applies: take the grammar's text when it is not empty and
 * the LM's text is short (at most max_words), already holds an answer, or
 * is at most slack words longer than the grammar's (the same words, a few
 * misheard), and the LM's text does not begin as a question ("what",
 * "where", "can", ... among its first two words, absent from the
 * grammar's). 1: the grammar's text, 0: the LM's. */
int vt_stt_pocketsphinx_choose(const vt_stt_ps_info *i, int slack, int max_words);

/* A pocketsphinx model's pool of decoders (for /metrics and the benches). */
typedef struct vt_ps_pool_info {
    size_t decoders;            /* alive */
    size_t lent;                /* in use now */
    size_t peak;                /* most in use at once */
    uint64_t made, lends;
    uint64_t made_on_demand;    /* lends that waited for a decoder to be made */
} vt_ps_pool_info;
int vt_stt_pocketsphinx_pool(void *model, vt_ps_pool_info *out);
int vt_kws_pocketsphinx_pool(void *model, vt_ps_pool_info *out);

/* 1 while pocketsphinx's voice activity detector hears speech (only with
 * option vad=1), 0 otherwise, < 0 on error. */
int vt_stt_pocketsphinx_in_speech(void *ctx);

/* The default threshold for a command word, chosen by measurement
 * (docs/BENCHMARKS.md): "stop" 1e-10, "wait" 1e-2, "pause" 1e-15,
 * "hold on" 1e-30; any other word 1e-10. */
double vt_kws_default_threshold(const char *word);

/* ---- resampling TTS ---------------------------------------------------- */
/* Synthesize text with any engine and deliver chunks at out_rate (same
 * rate: passed through). Word offsets are rescaled and each word is still
 * reported in the chunk holding its end; an engine that reports no word
 * at all (the remote voices) gets none reported, and the core spreads the
 * words over the audio. Returns 0, VT_ECANCELED (abort raised or the
 * callback returned non-zero) or the engine's error. */
int vt_tts_synth_at(const vt_tts_ops *ops, void *ctx, int out_rate, const char *text,
                    vt_tts_chunk_fn on_chunk, void *ud, const volatile int *abort);

/* Synthesize a whole text into one malloc'd buffer at out_rate (trailing
 * and leading silence kept). *pcm is the caller's to free. */
int vt_tts_synth_buffer(const vt_tts_ops *ops, void *ctx, int out_rate, const char *text,
                        int16_t **pcm, size_t *n, const volatile int *abort);

/* ---- clips: fillers and acknowledgements ------------------------------ */
extern const char *const vt_default_filler_texts[];
extern const char *const vt_default_filler_descriptions[];
extern const int vt_default_n_fillers;
extern const char *const vt_default_ack_texts[];
extern const int vt_default_n_acks;

/* Synthesize n texts at out_rate into *out (an array of n clips), trimming
 * silence at both ends to 20 ms. descriptions may be NULL (clips then have
 * an empty description). Each clip owns copies of its text, description and
 * audio; free everything with vt_clips_free(). On error *out is NULL. */
int vt_clips_build(const vt_tts_ops *ops, void *tts_ctx, int out_rate,
                   const char *const *texts, const char *const *descriptions, int n,
                   vt_clip **out, char *err, size_t errlen);
void vt_clips_free(vt_clip *clips, int n);

/* ---- synchronous transcription ---------------------------------------- */
/* begin, feed pcm (16 kHz mono) in 20 ms pieces, end. */
int vt_speech_transcribe_pcm(const vt_stt_ops *ops, void *stt_ctx, const int16_t *pcm16k,
                             size_t n, vt_stt_result *out);

#ifdef __cplusplus
}
#endif
#endif
