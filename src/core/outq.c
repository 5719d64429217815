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
 *
 * Chunks (cfg.out_chunk_ms, serve's JSON audio): a slice is then up to a
 * chunk of one phrase, gathered across the TTS segments of that phrase but
 * never across two phrases, and it leaves while the client would hold at
 * most one chunk plus pacer_lead_ms: a client that reads one message per
 * chunk gets few, whole pieces, and is still never far ahead.
 */
#include "core/internal.h"
#include <stdlib.h>
#include <string.h>

void vt__outq_init(outq *q, const vt_config *cfg)
{
    memset(q, 0, sizeof *q);
    q->rate = cfg->out_rate;
    q->frame_samples = cfg->out_rate * cfg->out_frame_ms / 1000;
    q->chunk_samples = cfg->out_rate * cfg->out_chunk_ms / 1000;
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
    q->growing = false;
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

static bool same_run(const seg *a, const seg *b)
{
    return b->kind == VT_AUDIO_ANSWER && a->kind == VT_AUDIO_ANSWER && a->gen == b->gen &&
           a->phrase == b->phrase;
}

size_t vt__outq_slice_len(const outq *q, size_t max)
{
    const seg *s = q->head;
    if (!s)
        return 0;
    size_t n = s->n - s->pos;
    if (n >= max || !q->chunk_samples)
        return n < max ? n : max;
    const seg *last = s;
    for (const seg *t = s->next; t && same_run(s, t); t = t->next) {
        if (n + t->n >= max)
            return max;
        n += t->n;
        last = t;
    }
    /* less than a chunk, and the phrase is still coming: wait for it, so a
     * phrase is always cut the same way, whatever the synthesizer's pace */
    if (q->growing && last->kind == VT_AUDIO_ANSWER && last->gen == q->grow_gen &&
        last->phrase == q->grow_phrase)
        return 0;
    return n;
}

int vt__outq_chunks_left(const outq *q)
{
    size_t max = (size_t)(q->chunk_samples ? q->chunk_samples : q->frame_samples);
    int k = 0;
    for (const seg *s = q->head; s;) {
        size_t n = s->n - s->pos;
        const seg *t = s->next;
        if (q->chunk_samples)
            for (; t && same_run(s, t); t = t->next)
                n += t->n;
        if (s->kind == VT_AUDIO_ANSWER)
            k += (int)((n + max - 1) / max);
        s = t;
    }
    return k;
}

/* When the head slice may leave; INT64_MAX when nothing is queued. */
int64_t vt__outq_next_release(const outq *q)
{
    if (!q->head)
        return INT64_MAX;
    if (q->chunk_samples && vt__outq_slice_len(q, (size_t)q->chunk_samples) == 0)
        return INT64_MAX; /* a chunk waits: the synthesizer's next audio pumps the core */
    if (q->play_end_us == INT64_MIN)
        return INT64_MIN;
    if (q->chunk_samples) /* held + chunk <= chunk + lead */
        return q->play_end_us - q->lead_us;
    size_t n = vt__outq_slice_len(q, (size_t)q->frame_samples);
    int64_t d = vt__outq_us(q, n);
    int64_t lead = q->lead_us > d ? q->lead_us : d;
    return q->play_end_us + d - lead;
}

size_t vt__outq_memory(const outq *q)
{
    size_t b = 0;
    for (const seg *s = q->head; s; s = s->next)
        b += sizeof *s + (s->own ? s->n * sizeof *s->own : 0) + s->n_words * sizeof *s->words;
    return b;
}
