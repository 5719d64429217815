/*
 * Internals shared by the speech engines: the word-timing emitter that turns
 * an engine's idea of where each word lies into the chunk-relative vt_word
 * reports the core relies on (see the WORD TIMINGS contract in speech.h),
 * and small option helpers. Not part of the library's public API.
 */
#ifndef VT_ENGINES_SPEECH_INTERNAL_H
#define VT_ENGINES_SPEECH_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include "voicetutor/engine.h"
#include "engines/speech/speech.h"

/* One whitespace-separated token of the text being spoken, with its place
 * in the text and, once the engine says so, its absolute sample times. */
typedef struct vt__tok {
    const char *text;        /* NUL-terminated copy inside vt__words.buf */
    size_t byte_off;         /* offset in the original text, bytes */
    size_t char_off;         /* ... and in UTF-8 code points */
    size_t char_len;
    int64_t start, end;      /* absolute samples from the synthesis start */
    int have_start, have_end;
} vt__tok;

/* Delivers chunks with the words that end in them, in order, exactly one
 * report per token, never going backwards in time. */
typedef struct vt__words {
    char *buf;
    vt__tok *tok;
    size_t n;
    size_t next;             /* first token not reported yet */
    int64_t emitted;         /* samples delivered so far */
    int64_t last_end;        /* absolute end of the last reported word */
    vt_word *scratch;        /* n entries, handed to the callback */
} vt__words;

int vt__words_init(vt__words *w, const char *text);
void vt__words_free(vt__words *w);
void vt__words_set_start(vt__words *w, size_t i, int64_t start);
void vt__words_set_end(vt__words *w, size_t i, int64_t end);
/* Token index holding UTF-8 code point position pos (or the next token
 * after it); n when past the end. */
size_t vt__words_at_char(const vt__words *w, size_t pos);
/* Deliver pcm as the next chunk with every word whose end lies in it
 * (last: every word left, clamped to this chunk). Returns 0, or
 * VT_ECANCELED when fn asked to stop. */
int vt__words_chunk(vt__words *w, const int16_t *pcm, size_t n, int last,
                    vt_tts_chunk_fn fn, void *ud);

/* What every synthesis call keeps: the tokens and the caller's callback
 * and abort flag. Engines embed it in their job. */
typedef struct vt__synth_job {
    vt__words words;
    vt_tts_chunk_fn fn;
    void *ud;
    const volatile int *abort;
} vt__synth_job;

/* Set j up for text (the tokens split, the callback kept). 0, VT_EINVAL
 * (no text or callback) or VT_ENOMEM; free with vt__words_free(&j->words). */
int vt__synth_init(vt__synth_job *j, const char *text, vt_tts_chunk_fn fn, void *ud,
                   const volatile int *abort);
/* vt__synth_init plus the checks every engine makes before it starts:
 * 0: go on (free the words when done); 1: nothing to say (no token);
 * < 0: an error, or VT_ECANCELED when abort was raised already. On any
 * non-zero return nothing is left to free. */
int vt__synth_start(vt__synth_job *j, const char *text, vt_tts_chunk_fn fn, void *ud,
                    const volatile int *abort);

/* The start of every create(model, ...): a zeroed ctx of size bytes, or
 * NULL with *rc = VT_EINVAL ("WHO: no model (load it first)") or VT_ENOMEM
 * and the message in err. */
void *vt__ctx_new(const void *model, size_t size, const char *who, int *rc, char *err,
                  size_t errlen);

/* Option helpers: integer / double with range checking. */
int vt__opt_int(const vt_opt *opts, size_t n, const char *key, int def, int lo, int hi,
                int *out, char *err, size_t errlen);
int vt__opt_double(const vt_opt *opts, size_t n, const char *key, double def, double lo,
                   double hi, double *out, char *err, size_t errlen);

/* Default pocketsphinx model folder (pkg-config's modeldir at build time). */
const char *vt__ps_modeldir(void);


/* ---- pocketsphinx: recognition biased to what is expected (stt_expect.c) */
struct ps_decoder_s;
#define VT__EXPECT_MAX 16          /* answers kept in one grammar */
#define VT__EXPECT_SEEN 64         /* earlier answers kept as competitors */
#define VT__EXPECT_SEARCH "vt_expect"
#define VT__LOOP_SEARCH "vt_loop"     /* the grammar with a loop of common words (measuring) */

/* One decoder's expectation: the grammar search beside its n-gram search,
 * the utterance's audio kept for the grammar pass, and the last decision. */
typedef struct vt__ps_expect {
    char lm_search[64];          /* the n-gram search to come back to */
    int set;                     /* a grammar of answers is built */
    unsigned long hash;          /* of the phrases it was built from (never 0) */
    char *grammar;               /* its JSGF text, put into a decoder by apply */
    char answers[VT__EXPECT_MAX][VT_EXPECTED_PHRASE_MAX]; /* in the grammar */
    size_t n_answers;
    int16_t *pcm;                /* this utterance's audio, up to keep */
    size_t n, cap, keep;         /* cap: the longest a grammar pass decodes; keep: the
                                    longest kept (longer with first: the full model may
                                    have to decode it all again) */
    int overflow;                /* longer than keep: no grammar pass */
    int slack;                   /* LM words past the grammar's it may replace */
    double weight;               /* the expected answers' weight over competitors */
    char seen[VT__EXPECT_SEEN][VT_EXPECTED_PHRASE_MAX]; /* answers expected before */
    size_t n_seen;
    int max_words;               /* longest LM text the grammar may replace */
    int phone;                   /* also decode the audio with a phone loop (measuring) */
    double garbage;              /* > 0: also decode with a loop of common words beside
                                    the answers, each word at this weight (measuring) */
    char *garbage_words;         /* " w1 w2 ... " of that loop */
    char *loop_grammar;          /* the grammar with the loop, for VT__LOOP_SEARCH */
    int first;                   /* grammar first: the loop grammar is streamed while
                                    answers are expected; the full model decodes the
                                    kept audio only when the loop wins */
    int in_end_first;            /* inside end_first: no second loop pass */
    vt_stt_ps_info last;
} vt__ps_expect;

int vt__ps_expect_init(vt__ps_expect *e, struct ps_decoder_s *ps, int slack, int max_words,
                       double max_s);
void vt__ps_expect_free(vt__ps_expect *e);
int vt__ps_expect_set(vt__ps_expect *e, struct ps_decoder_s *ps, const char *const *answers,
                      size_t n_answers, const char *const *commands, size_t n_commands);
/* Puts the grammar into the decoder (its expect search) unless the
 * decoder's grammar hash says it holds it already; sets that hash. */
int vt__ps_expect_apply(vt__ps_expect *e, struct ps_decoder_s *ps,
                        unsigned long *decoder_grammar);
void vt__ps_expect_begin(vt__ps_expect *e);
/* Grammar first: does this utterance stream the loop grammar (the decoder
 * holds the session's grammars)? Switches the decoder's search to it. */
int vt__ps_expect_stream_loop(vt__ps_expect *e, struct ps_decoder_s *ps,
                              unsigned long decoder_grammar);
/* Is the (normalised or raw) text the loop's words, not an answer? */
int vt__ps_expect_is_loop(const vt__ps_expect *e, const char *text);
/* After a loop-streamed utterance ended: its answer into out, or (the loop
 * won) the full model over the kept audio and the biased rule as always.
 * The decoder is back on its n-gram search either way. 0, or VT_EIO. */
int vt__ps_expect_end_first(vt__ps_expect *e, struct ps_decoder_s *ps, vt_stt_result *out,
                            double loop_cpu_s);
void vt__ps_expect_feed(vt__ps_expect *e, const int16_t *pcm, size_t n);
/* After the n-gram pass ended (its result in out, its CPU time lm_cpu_s):
 * decode the kept audio under the grammar and replace out with its result
 * when vt_stt_pocketsphinx_choose says so. Returns 1 when replaced. */
int vt__ps_expect_end(vt__ps_expect *e, struct ps_decoder_s *ps, vt_stt_result *out,
                      double lm_cpu_s);
/* The words of the decoder's best hypothesis (stt_pocketsphinx.c). */
void vt__ps_result(struct ps_decoder_s *ps, vt_stt_result *out);
double vt__thread_cpu_s(void);

#endif
