/*
 * The output queue and pacer (seed 004's tts_rate_limit_step).
 *
 * Audio segments (filler and acknowledgement clips, borrowed; answer chunks
 * from TTS, copied) wait here and leave in slices of out_frame_ms at playback
 * speed: a slice may go out only while the client would then hold at most
 * pacer_lead_ms of audio. So the client never has much buffered, and an
 * interruption, which simply frees this queue, silences the speaker within
 * about one lead. play_end_us is when the client finishes everything
 * released so far; it is the pacer's only clock-derived state.
 */
#include "core/internal.h"
#include <stdlib.h>
#include <string.h>

void vt__outq_init(outq *q, const vt_config *cfg)
{
    memset(q, 0, sizeof *q);
    q->rate = cfg->out_rate;
    q->frame_samples = cfg->out_rate * cfg->out_frame_ms / 1000;
    q->lead_us = (int64_t)cfg->pacer_lead_ms * 1000;
    q->play_end_us = INT64_MIN;
}

static void seg_free(seg *s)
{
    free(s->own);
    free(s->words);
    free(s);
}

void vt__outq_flush(outq *q)
{
    seg *s = q->head;
    while (s) {
        seg *nx = s->next;
        seg_free(s);
        s = nx;
    }
    q->head = q->tail = NULL;
    q->queued = 0;
}

static void append(outq *q, seg *s)
{
    if (q->tail)
        q->tail->next = s;
    else
        q->head = s;
    q->tail = s;
    q->queued += s->n;
}

int vt__outq_push_clip(outq *q, vt_audio_kind kind, uint32_t gen, const vt_clip *clip)
{
    if (!clip || !clip->pcm || clip->n == 0)
        return VT_EINVAL;
    seg *s = calloc(1, sizeof *s);
    if (!s)
        return VT_ENOMEM;
    s->kind = kind;
    s->gen = gen;
    s->pcm = clip->pcm;
    s->n = clip->n;
    append(q, s);
    return 0;
}

int vt__outq_push_chunk(outq *q, uint32_t gen, uint32_t phrase, const int16_t *pcm, size_t n,
                    const vt_word *words, size_t n_words)
{
    if (!pcm || n == 0)
        return VT_EINVAL;
    seg *s = calloc(1, sizeof *s);
    if (!s)
        return VT_ENOMEM;
    s->own = malloc(n * sizeof *pcm);
    if (n_words)
        s->words = calloc(n_words, sizeof *s->words);
    if (!s->own || (n_words && !s->words)) {
        seg_free(s);
        return VT_ENOMEM;
    }
    memcpy(s->own, pcm, n * sizeof *pcm);
    s->pcm = s->own;
    s->n = n;
    s->kind = VT_AUDIO_ANSWER;
    s->gen = gen;
    s->phrase = phrase;
    for (size_t i = 0; i < n_words; i++) {
        uint32_t e = words[i].end;
        s->words[i].end = e > n ? (uint32_t)n : e;
    }
    s->n_words = n_words;
    append(q, s);
    return 0;
}

int64_t vt__outq_us(const outq *q, size_t samples)
{
    return (int64_t)samples * 1000000 / q->rate;
}

int64_t vt__outq_ahead_us(const outq *q, int64_t now)
{
    int64_t held = q->play_end_us > now ? q->play_end_us - now : 0;
    return held + vt__outq_us(q, q->queued);
}

bool vt__outq_playing(const outq *q, int64_t now)
{
    return q->head != NULL || q->play_end_us > now;
}

/* When the head slice may leave; INT64_MAX when nothing is queued. */
int64_t vt__outq_next_release(const outq *q)
{
    if (!q->head)
        return INT64_MAX;
    size_t left = q->head->n - q->head->pos;
    size_t n = left < (size_t)q->frame_samples ? left : (size_t)q->frame_samples;
    int64_t d = vt__outq_us(q, n);
    int64_t lead = q->lead_us > d ? q->lead_us : d;
    if (q->play_end_us == INT64_MIN)
        return INT64_MIN;
    return q->play_end_us + d - lead;
}

size_t vt__outq_memory(const outq *q)
{
    size_t b = 0;
    for (const seg *s = q->head; s; s = s->next)
        b += sizeof *s + (s->own ? s->n * sizeof *s->own : 0) + s->n_words * sizeof *s->words;
    return b;
}
