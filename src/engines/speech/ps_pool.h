/*
 * A process's warm pocketsphinx decoders, lent to sessions (ps_pool.c).
 * Internal to src/engines/speech.
 *
 * A session does not own a decoder: the recogniser borrows one for an
 * utterance (begin .. end), the keyword spotter for a stretch of listening
 * (reset .. pause), and gives it back. What a decoder carries from one
 * utterance to the next is its cepstral mean (CMN, adapted to the voice
 * and the microphone); that is saved into the session when the decoder is
 * given back and put into whichever decoder the session borrows next, so a
 * session hears exactly as it would with a decoder of its own (test_pool
 * checks hypotheses and scores are identical). The decoders of a pool are
 * therefore as many as utterances in progress at once, not sessions.
 *
 * THREAD SAFETY: take/give/stats from any thread (one mutex); a slot is
 * used by the one thread that took it. The keeper thread (optional) makes
 * decoders in the background so that one is always ready, and frees those
 * left idle.
 */
#ifndef VT_ENGINES_SPEECH_PS_POOL_H
#define VT_ENGINES_SPEECH_PS_POOL_H
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

struct ps_decoder_s;
struct cmd_ln_s;

#define VT__CMN_MAX 64

/* A decoder's cepstral mean state (sphinxbase cmn_t: mean, sum, frames). */
typedef struct vt__ps_cmn {
    int set;
    int veclen;
    int32_t nframe;
    int32_t mean[VT__CMN_MAX], sum[VT__CMN_MAX]; /* mfcc_t: fixed32 in Debian's build */
} vt__ps_cmn;

void vt__ps_cmn_save(struct ps_decoder_s *ps, vt__ps_cmn *c);
/* No-op when c is not set. */
void vt__ps_cmn_load(struct ps_decoder_s *ps, const vt__ps_cmn *c);

typedef struct vt__ps_slot {
    struct ps_decoder_s *ps;
    struct cmd_ln_s *config;
    unsigned long key;          /* what it was made for (a keyword list), 0: any */
    unsigned long grammar;      /* hash of the grammar in its expect search, 0: none */
    vt__ps_cmn fresh;           /* its CMN as made: a new session starts from it */
    int64_t idle_since_us;      /* given back at */
    struct vt__ps_slot *next;
} vt__ps_slot;

/* Makes a decoder for key from arg (what take was given; NULL from the
 * spare thread, which makes key 0); NULL with *rc (a VT_E* code) and err
 * on failure. */
typedef vt__ps_slot *(*vt__ps_make_fn)(void *ud, unsigned long key, const void *arg, int *rc,
                                       char *err, size_t errlen);

typedef struct vt__ps_pool_stats {
    size_t total;               /* decoders alive */
    size_t lent;                /* in use by a session now */
    size_t peak;                /* most lent at once */
    uint64_t made, lends;       /* decoders made; times lent */
    uint64_t waited;            /* lends that had to make a decoder first */
} vt__ps_pool_stats;

typedef struct vt__ps_pool {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    vt__ps_slot *idle;
    vt__ps_pool_stats st;
    vt__ps_make_fn make;
    void *ud;
    size_t spare;               /* idle decoders the keeper thread keeps ready */
    size_t keep;                /* decoders of key 0 never freed for being idle */
    int64_t idle_us;            /* an idle decoder beyond keep is freed after this (0: never) */
    int stop, has_thread;
    pthread_t thread;
} vt__ps_pool;

void vt__ps_pool_init(vt__ps_pool *p, vt__ps_make_fn make, void *ud);
/* Make n decoders now (key 0). With spare or idle_ms, a keeper thread of
 * the pool keeps `spare` idle decoders of key 0 ready, and frees a decoder
 * idle for idle_ms unless it is one of the first max(n, spare) of key 0
 * (memory comes back after a burst of speakers; a steady load keeps its
 * decoders). */
int vt__ps_pool_start(vt__ps_pool *p, size_t n, size_t spare, int idle_ms, char *err,
                      size_t errlen);
/* An idle decoder made for key, else a new one made from arg on this
 * thread. */
vt__ps_slot *vt__ps_pool_take(vt__ps_pool *p, unsigned long key, const void *arg, int *rc,
                              char *err, size_t errlen);
void vt__ps_pool_give(vt__ps_pool *p, vt__ps_slot *s);
/* What a session does: borrow a decoder for key with its cepstral mean
 * put in (cmn, or the decoder's own as made when cmn is not set yet); and
 * return it, ending the utterance in progress (*in_utt) and saving the
 * mean into cmn. NULL-safe on *slot. */
vt__ps_slot *vt__ps_pool_borrow(vt__ps_pool *p, unsigned long key, const void *arg,
                                const vt__ps_cmn *cmn, int *rc, char *err, size_t errlen);
void vt__ps_pool_return(vt__ps_pool *p, vt__ps_slot **slot, int *in_utt, vt__ps_cmn *cmn);
void vt__ps_pool_stats_get(vt__ps_pool *p, vt__ps_pool_stats *out);
/* Stops the spare thread and frees every idle decoder (none may be lent). */
void vt__ps_pool_destroy(vt__ps_pool *p);
void vt__ps_slot_free(vt__ps_slot *s);

#endif
