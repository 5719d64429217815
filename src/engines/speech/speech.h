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
 * THREAD SAFETY: one ctx is used by one thread at a time. Different ctxs may
 * be used on different threads: pocketsphinx decoders are independent; flite
 * and espeak-ng keep process-global state, so their synthesis is serialised
 * by one lock per library (synthesis runs at 1/100 of real time or faster, so
 * the lock is held briefly; an abort is honoured at the next chunk).
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
/* Speech-to-text on pocketsphinx. Options (vt_opt keys):
 *   modeldir  folder holding en-us/ (default: pkg-config's modeldir, baked
 *             in at build time)
 *   hmm, lm, dict   acoustic model folder, language model, dictionary
 *   warmup    "1": decode a short synthesized phrase at create (about
 *             0.5 s) to start cepstral mean normalisation from speech;
 *             "0" (default: no gain measured on test speech, see
 *             docs/SPEECH.md). The decoder stays warm across utterances.
 *   vad       "0" (default): frame times are real time from begin();
 *             "1": pocketsphinx drops silence and tracks speech itself
 *             (see vt_stt_pocketsphinx_in_speech), used by `transcribe`
 *   jsgf      optional JSGF grammar file restricting what can be heard */
extern const vt_stt_ops vt_stt_pocketsphinx;
/* Keyword spotting on pocketsphinx. Options: modeldir, hmm, dict as above;
 * kws_delay (frames, default 1: detection ~0-100 ms after the word);
 * warmup (default 1, as for STT; thresholds were measured with it);
 * "kws.WORD"=threshold overrides the threshold given in the keyword list. A
 * keyword threshold <= 0 means "use vt_kws_default_threshold(word)". */
extern const vt_kws_ops vt_kws_pocketsphinx;
/* flite. Options: voice = slt | rms | awb | kal16 (default VT_TTS_DEFAULT_VOICE),
 * chunk_ms (default 40), duration_stretch (speaking rate, 1.0 = normal). */
extern const vt_tts_ops vt_tts_flite;
/* espeak-ng, 22050 Hz. Options: voice = language or voice name (default
 * "en"), wpm (speaking rate, default 160), chunk_ms (default 40). */
extern const vt_tts_ops vt_tts_espeak;

/* Scripted fakes for the core's tests: deterministic, no models, instant.
 * vt_stt_fake options: text (final text, default "hello"), partial (interim
 *   text; default the first half of text's words), word_ms (per word, 300),
 *   fail ("create" | "begin" | "feed" | "end": that call returns VT_EIO).
 * vt_kws_fake options: after (samples since reset before a hit, default
 *   8000; "0" never), word (default: the first keyword), fail ("create").
 * vt_tts_fake options: rate (default 16000), chunk_ms (default 20),
 *   word_ms (per character, default 40, plus 80 per word), fail ("create" |
 *   "synth"), fail_after (chunks delivered before synth returns VT_EIO).
 *   The audio is a 440 Hz tone per word with 40 ms of silence after it. */
extern const vt_stt_ops vt_stt_fake;
extern const vt_kws_ops vt_kws_fake;
extern const vt_tts_ops vt_tts_fake;

#define VT_TTS_DEFAULT_VOICE "rms"

/* Lookup by name: "pocketsphinx" | "fake" for STT and KWS; "flite" |
 * "espeak" | "fake" for TTS. NULL when unknown. */
const vt_stt_ops *vt_stt_find(const char *name);
const vt_kws_ops *vt_kws_find(const char *name);
const vt_tts_ops *vt_tts_find(const char *name);

/* Open a TTS engine from a voice spec: "slt" | "rms" | "awb" | "kal16" |
 * "flite" | "flite:VOICE" | "espeak" | "espeak:LANG" | "fake". Extra
 * options (may be NULL) are passed on; the spec's voice wins. */
int vt_tts_open(const char *spec, const vt_opt *opts, size_t n_opts,
                const vt_tts_ops **ops, void **ctx, char *err, size_t errlen);

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
 * reported in the chunk holding its end. Returns 0, VT_ECANCELED (abort
 * raised or the callback returned non-zero) or the engine's error. */
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
