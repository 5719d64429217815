/*
 * The lending pool of pocketsphinx decoders (ps_pool.h says what and why).
 *
 * A decoder costs 91 MiB and 510 ms to make with the full language model
 * (bench_share), and sits idle between a session's utterances: a person
 * talks to the tutor a fraction of the time. Lending decoders per
 * utterance makes memory follow the utterances in progress, and a decoder
 * already made is ready at once for a new session. The only state a
 * decoder keeps across utterances that changes what it hears is its
 * cepstral mean; noise statistics are reset by ps_start_stream, which
 * every borrower calls.
 */
#include "engines/speech/ps_pool.h"
#include "voicetutor/engine.h"

#include <pocketsphinx.h>
#include <cmn.h>
#include <feat.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/clock.h"

_Static_assert(sizeof(mfcc_t) == sizeof(int32_t), "mfcc_t is fixed32 in Debian's sphinxbase");

static cmn_t *cmn_of(struct ps_decoder_s *ps)
{
    feat_t *f = ps ? ps_get_feat(ps) : NULL;
    cmn_t *c = f ? f->cmn_struct : NULL;
    return c && c->veclen > 0 && c->veclen <= VT__CMN_MAX ? c : NULL;
}

void vt__ps_cmn_save(struct ps_decoder_s *ps, vt__ps_cmn *c)
{
    cmn_t *m = cmn_of(ps);
    memset(c, 0, sizeof *c);
    if (!m)
        return;
    c->veclen = m->veclen;
    c->nframe = m->nframe;
    memcpy(c->mean, m->cmn_mean, (size_t)m->veclen * sizeof(mfcc_t));
    memcpy(c->sum, m->sum, (size_t)m->veclen * sizeof(mfcc_t));
    c->set = 1;
}

void vt__ps_cmn_load(struct ps_decoder_s *ps, const vt__ps_cmn *c)
{
    cmn_t *m = cmn_of(ps);
    if (!m || !c->set || c->veclen != m->veclen)
        return;
    m->nframe = c->nframe;
    memcpy(m->cmn_mean, c->mean, (size_t)m->veclen * sizeof(mfcc_t));
    memcpy(m->sum, c->sum, (size_t)m->veclen * sizeof(mfcc_t));
}

void vt__ps_slot_free(vt__ps_slot *s)
{
    if (!s)
        return;
    if (s->ps)
        ps_free(s->ps);
    if (s->config)
        cmd_ln_free_r(s->config);
    free(s);
}

/* Unlinks the idle decoders to free now (idle too long, beyond keep). */
static vt__ps_slot *expired(vt__ps_pool *p, int64_t now)
{
    vt__ps_slot *out = NULL, **pp = &p->idle;
    size_t key0 = 0;
    for (vt__ps_slot *s = p->idle; s; s = s->next)
        key0 += s->key == 0;
    while (*pp) {
        vt__ps_slot *s = *pp;
        int old = p->idle_us > 0 && now - s->idle_since_us >= p->idle_us;
        int kept = s->key == 0 && key0 <= p->keep;
        if (old && !kept) {
            *pp = s->next;
            s->next = out;
            out = s;
            p->st.total--;
            key0 -= s->key == 0;
        } else {
            pp = &s->next;
        }
    }
    return out;
}

static void *keeper_main(void *arg)
{
    vt__ps_pool *p = arg;
    pthread_mutex_lock(&p->mu);
    while (!p->stop) {
        size_t idle = 0;
        for (vt__ps_slot *s = p->idle; s; s = s->next)
            idle += s->key == 0;
        if (idle < p->spare) {
            pthread_mutex_unlock(&p->mu);
            char err[256];
            int rc = 0;
            vt__ps_slot *s = p->make(p->ud, 0, NULL, &rc, err, sizeof err);
            pthread_mutex_lock(&p->mu);
            if (!s) {
                p->spare = 0; /* the models loaded before: this is memory; lend on demand */
                continue;
            }
            s->idle_since_us = vt_now_us();
            s->next = p->idle;
            p->idle = s;
            p->st.total++;
            p->st.made++;
            continue;
        }
        vt__ps_slot *gone = expired(p, vt_now_us());
        if (gone) {
            pthread_mutex_unlock(&p->mu);
            while (gone) {
                vt__ps_slot *s = gone;
                gone = s->next;
                vt__ps_slot_free(s);
            }
            malloc_trim(0); /* the decoders' pages back to the system */
            pthread_mutex_lock(&p->mu);
            continue;
        }
        if (p->idle_us > 0) {
            /* look again in a fraction of the idle time (at most 1 s) */
            int64_t step = p->idle_us / 2 < 1000000 ? p->idle_us / 2 : 1000000;
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            int64_t ns = (int64_t)ts.tv_nsec + (step % 1000000) * 1000;
            ts.tv_sec += (time_t)(step / 1000000 + ns / 1000000000);
            ts.tv_nsec = (long)(ns % 1000000000);
            pthread_cond_timedwait(&p->cv, &p->mu, &ts);
        } else {
            pthread_cond_wait(&p->cv, &p->mu);
        }
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

void vt__ps_pool_init(vt__ps_pool *p, vt__ps_make_fn make, void *ud)
{
    memset(p, 0, sizeof *p);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->make = make;
    p->ud = ud;
}

int vt__ps_pool_start(vt__ps_pool *p, size_t n, size_t spare, int idle_ms, char *err,
                      size_t errlen)
{
    for (size_t i = 0; i < n; i++) {
        int rc = VT_ENOTFOUND;
        vt__ps_slot *s = p->make(p->ud, 0, NULL, &rc, err, errlen);
        if (!s)
            return rc;
        pthread_mutex_lock(&p->mu);
        s->idle_since_us = vt_now_us();
        s->next = p->idle;
        p->idle = s;
        p->st.total++;
        p->st.made++;
        pthread_mutex_unlock(&p->mu);
    }
    p->spare = spare;
    p->keep = n > spare ? n : spare;
    p->idle_us = (int64_t)idle_ms * 1000;
    if ((spare || idle_ms > 0) && !p->has_thread) {
        if (pthread_create(&p->thread, NULL, keeper_main, p) != 0) {
            snprintf(err, errlen, "pocketsphinx: cannot start the decoder pool's thread");
            return VT_ENOMEM;
        }
        p->has_thread = 1;
    }
    return 0;
}

vt__ps_slot *vt__ps_pool_take(vt__ps_pool *p, unsigned long key, const void *arg, int *rc,
                              char *err, size_t errlen)
{
    pthread_mutex_lock(&p->mu);
    vt__ps_slot **pp = &p->idle;
    while (*pp && (*pp)->key != key)
        pp = &(*pp)->next;
    vt__ps_slot *s = *pp;
    if (s) {
        *pp = s->next;
        s->next = NULL;
    }
    p->st.lends++;
    p->st.lent++;
    if (p->st.lent > p->st.peak)
        p->st.peak = p->st.lent;
    if (!s)
        p->st.waited++;
    if (p->has_thread)
        pthread_cond_signal(&p->cv); /* one fewer idle: the spare thread may make one */
    pthread_mutex_unlock(&p->mu);
    if (s)
        return s;
    s = p->make(p->ud, key, arg, rc, err, errlen);
    pthread_mutex_lock(&p->mu);
    if (s) {
        p->st.total++;
        p->st.made++;
    } else {
        p->st.lent--;
    }
    pthread_mutex_unlock(&p->mu);
    return s;
}

void vt__ps_pool_give(vt__ps_pool *p, vt__ps_slot *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&p->mu);
    s->idle_since_us = vt_now_us();
    s->next = p->idle;
    p->idle = s;
    p->st.lent--;
    pthread_mutex_unlock(&p->mu);
}

vt__ps_slot *vt__ps_pool_borrow(vt__ps_pool *p, unsigned long key, const void *arg,
                                const vt__ps_cmn *cmn, int *rc, char *err, size_t errlen)
{
    vt__ps_slot *s = vt__ps_pool_take(p, key, arg, rc, err, errlen);
    if (s)
        vt__ps_cmn_load(s->ps, cmn->set ? cmn : &s->fresh);
    return s;
}

void vt__ps_pool_return(vt__ps_pool *p, vt__ps_slot **slot, int *in_utt, vt__ps_cmn *cmn)
{
    vt__ps_slot *s = *slot;
    if (!s)
        return;
    if (*in_utt)
        ps_end_utt(s->ps);
    *in_utt = 0;
    vt__ps_cmn_save(s->ps, cmn);
    vt__ps_pool_give(p, s);
    *slot = NULL;
}

void vt__ps_pool_stats_get(vt__ps_pool *p, vt__ps_pool_stats *out)
{
    pthread_mutex_lock(&p->mu);
    *out = p->st;
    pthread_mutex_unlock(&p->mu);
}

void vt__ps_pool_destroy(vt__ps_pool *p)
{
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    if (p->has_thread)
        pthread_join(p->thread, NULL);
    while (p->idle) {
        vt__ps_slot *s = p->idle;
        p->idle = s->next;
        vt__ps_slot_free(s);
    }
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
}
