/*
 * The answer, seed 004's output side: LLM tokens go through the phrase
 * buffer into phrases, one phrase at a time to TTS while less than
 * tts_lookahead_ms is ahead of playback, its chunks into the output queue,
 * and the pacer releases them in slices. A word counts as heard once its
 * audio is released (or reported played); memory keeps only heard words
 * when the answer is cut. The filler covers the silence before the first
 * answer audio; completion hands the floor back. A draft (a preemptive
 * answer) synthesizes but releases nothing; a resumed answer speaks the rest
 * of a cut one with its heard part kept; ducking scales released slices.
 */
#include "core/internal.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOTE_INTERRUPTED "(The learner interrupted the tutor here.)"

/* ---- the answer's state ------------------------------------------------- */

static uint32_t rnd(vt_core *c)
{
    uint64_t x = c->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    c->rng = x;
    return (uint32_t)(x >> 32);
}

static void error_event(vt_core *c, const char *code, const char *msg, int64_t now)
{
    vt_event ev = {.type = VT_EV_ERROR, .text = msg, .text2 = code};
    vt__event(c, &ev, now);
}

void vt__answer_clear(vt_core *c)
{
    for (size_t i = 0; i < c->n_pending; i++)
        free(c->pending[i]);
    c->n_pending = 0;
    c->plan_len = 0;
    if (c->plan)
        c->plan[0] = 0;
    c->answer_len = 0;
    if (c->answer_text)
        c->answer_text[0] = 0;
    vt__phrase_reset(&c->pb);
    c->answer_active = false;
    c->llm_done = false;
    c->tts_busy = false;
    c->q.growing = false;
    c->tts_got_words = false;
    c->filler_wait = false;
    c->filler_held = false;
    c->filler_played = false;
    c->words_released = 0;
    c->plan_word_off = 0;
    c->has_playback = false;
    c->response_started = false;
    c->skip_first_metric = false;
    c->gain = c->gain_target = 1.0; /* the next answer, or the acknowledgement, at full level */
}

static int pending_push(vt_core *c, char *phrase)
{
    if (c->n_pending == c->cap_pending) {
        size_t cap = c->cap_pending ? c->cap_pending * 2 : 8;
        char **p = realloc(c->pending, cap * sizeof *p);
        if (!p) {
            free(phrase);
            return VT_ENOMEM;
        }
        c->pending = p;
        c->cap_pending = cap;
    }
    c->pending[c->n_pending++] = phrase;
    return 0;
}

static void drain_phrases(vt_core *c, bool final)
{
    char *ph;
    while ((ph = vt__phrase_next(&c->pb, final)) != NULL)
        pending_push(c, ph);
}

/* Words heard by the person: released, and played once the client reports. */
static size_t words_heard(const vt_core *c)
{
    if (!c->has_playback)
        return c->words_released;
    size_t k = 0;
    while (k < c->words_released && c->word_end_abs[k] <= c->playback)
        k++;
    return k;
}

static void record_word(vt_core *c, uint64_t end_abs)
{
    if (c->words_released == c->word_end_cap) {
        size_t cap = c->word_end_cap ? c->word_end_cap * 2 : 64;
        uint64_t *w = realloc(c->word_end_abs, cap * sizeof *w);
        if (!w)
            return;
        c->word_end_abs = w;
        c->word_end_cap = cap;
    }
    c->word_end_abs[c->words_released++] = end_abs;
}

/* The rest of the answer that was never heard: planned phrases after the
 * heard words, phrases not yet synthesized, and the phrase buffer. */
static char *unspoken_rest(vt_core *c, size_t heard)
{
    char *buf = NULL;
    size_t len = 0, cap = 0;
    size_t off = vt__text_prefix_words(c->plan ? c->plan : "", heard);
    const char *rest = c->plan ? c->plan + off : "";
    while (*rest == ' ')
        rest++;
    vt__str_append(&buf, &len, &cap, rest);
    for (size_t i = 0; i < c->n_pending; i++) {
        if (len && buf[len - 1] != ' ')
            vt__str_append(&buf, &len, &cap, " ");
        vt__str_append(&buf, &len, &cap, c->pending[i]);
    }
    if (c->pb.len) {
        if (len && buf[len - 1] != ' ')
            vt__str_append(&buf, &len, &cap, " ");
        vt__str_append(&buf, &len, &cap, c->pb.buf);
    }
    while (len && buf[len - 1] == ' ')
        buf[--len] = 0;
    return buf;
}

/* The answer stops here (an interruption): memory keeps only the words that
 * were heard, then "...", with the unspoken rest aside and a note; the
 * answer's state is cleared. *said and *rest (either may be NULL when out of
 * memory) are the caller's to free. */
void vt__answer_cut(vt_core *c, char **said_out, char **rest_out, char **heard_out)
{
    size_t heard = words_heard(c);
    size_t off = vt__text_prefix_words(c->plan ? c->plan : "", heard);
    if (heard_out)
        *heard_out = strndup(c->plan ? c->plan : "", off);
    char *said = malloc(off + 4);
    char *rest = unspoken_rest(c, heard);
    *said_out = said;
    *rest_out = rest;
    if (said) {
        memcpy(said, c->plan ? c->plan : "", off);
        size_t l = off;
        while (l && strchr(" .,;:", said[l - 1])) /* "a hint...." reads badly */
            l--;
        memcpy(said + l, "...", 4);
        vt__transcript_add(&c->tr, VT_ROLE_ASSISTANT, said, rest ? rest : "", 1);
        vt__transcript_add(&c->tr, VT_ROLE_NOTE, NOTE_INTERRUPTED, NULL, 0);
    }
    vt__answer_clear(c);
}

/* ---- timers: filler, TTS scheduling, pacer, completion ------------------ */

static void play_filler(vt_core *c, int index, int64_t now)
{
    c->filler_wait = false;
    if (now < c->filler_play_us) { /* chosen early: hold it (filler_delay_ms) */
        c->filler_held = true;
        c->filler_index = index;
        return;
    }
    c->filler_held = false;
    /* the filler covers silence only: if answer audio is ready, skip it */
    if (c->first_answer_audio || c->q.head)
        return;
    if (index < 0 || index >= c->n_fillers)
        index = (int)(rnd(c) % (uint32_t)c->n_fillers);
    if (vt__outq_push_clip(&c->q, VT_AUDIO_FILLER, c->gen, &c->fillers[index]) != 0)
        return;
    c->filler_played = true;
    vt_event ev = {.type = VT_EV_FILLER_STARTED, .index = index, .text = c->fillers[index].text};
    vt__event(c, &ev, now);
}

static void schedule_tts(vt_core *c, int64_t now)
{
    if (!vt__answer_live(c) || c->tts_busy || c->n_pending == 0)
        return;
    if (vt__outq_ahead_us(&c->q, now) >= (int64_t)c->cfg.tts_lookahead_ms * 1000)
        return;
    char *ph = c->pending[0];
    memmove(c->pending, c->pending + 1, (c->n_pending - 1) * sizeof *c->pending);
    c->n_pending--;
    c->plan_len_before = c->plan_len;
    if (c->plan_len)
        vt__str_append(&c->plan, &c->plan_len, &c->plan_cap, " ");
    vt__str_append(&c->plan, &c->plan_len, &c->plan_cap, ph);
    c->tts_busy = true;
    c->tts_got_words = false;
    c->tts_phrase = ++c->next_phrase;
    c->q.growing = true; /* a chunk of this phrase may wait for more of it */
    c->q.grow_gen = c->gen;
    c->q.grow_phrase = c->tts_phrase;
    if (!c->response_started && !c->draft) { /* a draft's starts when the turn ends */
        c->response_started = true;
        vt_event rs = {.type = VT_EV_RESPONSE_START, .text = c->answer_text};
        vt__event(c, &rs, now);
    }
    vt_action a = {.type = VT_ACT_TTS, .gen = c->gen, .id = c->tts_phrase, .text = ph};
    vt__act(c, &a, now);
    free(ph);
}

void vt__duck(vt_core *c, bool low)
{
    if (c->duck_buf)
        c->gain_target = low ? c->gain_low : 1.0;
}

/* One slice at the moving gain, into duck_buf (allocated at creation: the
 * pacer's path never allocates). */
static const int16_t *ducked(vt_core *c, const int16_t *pcm, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (c->gain < c->gain_target)
            c->gain = c->gain + c->gain_step < c->gain_target ? c->gain + c->gain_step
                                                               : c->gain_target;
        else if (c->gain > c->gain_target)
            c->gain = c->gain - c->gain_step > c->gain_target ? c->gain - c->gain_step
                                                               : c->gain_target;
        c->duck_buf[i] = (int16_t)lrint(pcm[i] * c->gain);
    }
    return c->duck_buf;
}

/* Marks the words whose audio the next n samples release (across the
 * segments a chunk spans); returns how many. */
static size_t release_words(vt_core *c, size_t n)
{
    outq *q = &c->q;
    size_t before = c->words_released, base = 0;
    for (seg *s = q->head; s && base < n; s = s->next) {
        size_t old = s->pos, take = s->n - old < n - base ? s->n - old : n - base;
        for (size_t i = 0; i < s->n_words; i++) {
            seg_word *w = &s->words[i];
            if (!w->released && w->end <= old + take) {
                w->released = true;
                record_word(c, q->released + base + ((w->end > old ? w->end : old) - old));
            }
        }
        base += take;
    }
    return c->words_released - before;
}

/* The slice's samples: the head segment's own, or gathered into chunk_buf. */
static const int16_t *slice_pcm(vt_core *c, size_t n)
{
    seg *s = c->q.head;
    if (s->n - s->pos >= n || !c->chunk_buf)
        return s->pcm + s->pos;
    size_t got = 0;
    for (seg *t = s; t && got < n; t = t->next) {
        size_t take = t->n - t->pos < n - got ? t->n - t->pos : n - got;
        memcpy(c->chunk_buf + got, t->pcm + t->pos, take * sizeof *t->pcm);
        got += take;
    }
    return c->chunk_buf;
}

/* The n samples are gone: advance and free the segments they came from. */
static void consume(outq *q, size_t n)
{
    while (n && q->head) {
        seg *s = q->head;
        size_t take = s->n - s->pos < n ? s->n - s->pos : n;
        s->pos += take;
        n -= take;
        if (s->pos == s->n) {
            q->head = s->next;
            if (!q->head)
                q->tail = NULL;
            free(s->own);
            free(s->words);
            free(s);
        }
    }
}

static void release_audio(vt_core *c, int64_t now)
{
    outq *q = &c->q;
    if (c->draft)
        return; /* a preemptive answer waits for the end of the turn */
    while (q->head) {
        seg *s = q->head;
        size_t max = (size_t)(q->chunk_samples ? q->chunk_samples : q->frame_samples);
        size_t n = vt__outq_slice_len(q, max);
        if (n == 0)
            break; /* a chunk waits for more of its phrase */
        int64_t d = vt__outq_us(q, n);
        if (q->play_end_us < now)
            q->play_end_us = now;
        /* a slice: the client then holds at most the lead (or one slice);
         * a chunk: at most one chunk plus the lead */
        int64_t allowed = q->chunk_samples ? d + q->lead_us : (q->lead_us > d ? q->lead_us : d);
        if (q->play_end_us + d - now > allowed)
            break;
        if (s->kind != VT_AUDIO_ACK && c->answer_active && !c->first_audio) {
            c->first_audio = true;
            if (!c->skip_first_metric)
                c->m.last_first_audio_ms = (double)(now - c->speech_end_us) / 1000.0;
        }
        vt_audio_kind kind = s->kind;
        uint32_t gen = s->gen, phrase = s->phrase;
        if (kind == VT_AUDIO_ANSWER) {
            c->chunks_sent++;
            if (!c->first_answer_audio) {
                c->first_answer_audio = true;
                if (!c->skip_first_metric)
                    c->m.last_first_answer_ms = (double)(now - c->speech_end_us) / 1000.0;
                vt__set_state(c, VT_STATE_RESPONDING, "answer audio started", now);
            }
        }
        /* the words whose audio is in this slice go with it (the action's
         * text: an audio_chunk's words) and then as response_text; both
         * texts end at `to`: terminate the plan there instead of copying */
        const int16_t *pcm = slice_pcm(c, n);
        size_t new_words = release_words(c, n);
        size_t from = c->plan_word_off, to = from;
        char saved = 0;
        const char *words = NULL;
        if (new_words && c->plan) {
            to = from + vt__text_prefix_words(c->plan + from, new_words);
            c->plan_word_off = to;
            saved = c->plan[to];
            c->plan[to] = 0;
            words = c->plan + from;
            while (*words == ' ')
                words++;
        }
        vt_action a = {.type = VT_ACT_AUDIO, .gen = gen, .id = phrase, .pcm = pcm, .n = n,
                       .kind = kind, .text = words ? words : ""};
        if (c->duck_buf && (c->gain != 1.0 || c->gain_target != 1.0))
            a.pcm = ducked(c, pcm, n);
        c->releasing = kind == VT_AUDIO_ANSWER; /* counted, and still queued */
        vt__act(c, &a, now);
        c->releasing = false;
        consume(q, n);
        q->play_end_us += d;
        q->released += n;
        q->queued -= n;
        if (words) {
            vt_event ev = {.type = VT_EV_RESPONSE_TEXT, .text = words, .text2 = c->plan};
            vt__event(c, &ev, now);
            c->plan[to] = saved;
        }
    }
}

int vt_core_total_chunks(const vt_core *c)
{
    if (!c || !c->answer_active || c->draft || !c->llm_done || c->tts_busy ||
        c->n_pending || c->pb.len)
        return 0;
    return c->chunks_sent + vt__outq_chunks_left(&c->q) - (c->releasing ? 1 : 0);
}

static void check_completion(vt_core *c, int64_t now)
{
    if (c->answer_active && c->llm_done && !c->tts_busy && c->n_pending == 0 &&
        c->pb.len == 0 && !c->filler_wait && !c->filler_held && !vt__outq_playing(&c->q, now)) {
        int chunks = c->chunks_sent;
        char *plan = strdup(c->plan ? c->plan : "");
        if (plan)
            vt__transcript_add(&c->tr, VT_ROLE_ASSISTANT, plan, NULL, 0);
        c->question_open = vt__text_is_question(plan);
        free(plan);
        vt__answer_clear(c);
        /* the person who is still speaking is starting their next turn */
        for (int i = 0; i < c->n_utts; i++)
            if (c->utts[i].open)
                c->utts[i].belongs = true;
        c->total_chunks = chunks;
        vt_event ev = {.type = VT_EV_RESPONSE_COMPLETE, .chunks_sent = chunks,
                       .total_chunks = chunks};
        vt__set_state(c, VT_STATE_LISTENING, "answer finished", now);
        vt__event(c, &ev, now);
    }
    if (c->state == VT_STATE_ACKNOWLEDGING && !vt__outq_playing(&c->q, now))
        vt__set_state(c, VT_STATE_LISTENING, "acknowledgement finished", now);
}

/* The answer's timers, in order: the filler deadline and the held filler,
 * TTS scheduling, the pacer, TTS scheduling again (the pacer made room),
 * completion. */
void vt__answer_pump(vt_core *c, int64_t now)
{
    if (c->filler_wait && now >= c->filler_deadline_us)
        play_filler(c, -1, now);
    if (c->filler_held && now >= c->filler_play_us)
        play_filler(c, c->filler_index, now);
    schedule_tts(c, now);
    release_audio(c, now);
    schedule_tts(c, now);
    check_completion(c, now);
}

/* ---- events in ---------------------------------------------------------- */

/* The answer's next tokens, and its end (the caller checked the generation). */
static void answer_token(vt_core *c, const char *tok, int64_t now)
{
    vt__str_append(&c->answer_text, &c->answer_len, &c->answer_cap, tok);
    vt__phrase_push(&c->pb, tok);
    drain_phrases(c, false);
    vt__pump(c, now);
}

static void answer_done(vt_core *c, int64_t now)
{
    c->llm_done = true;
    drain_phrases(c, true);
    vt__pump(c, now);
}

void vt__answer_resume(vt_core *c, const char *heard, const char *rest, const char *cut,
                       int64_t now)
{
    /* the interruption is undone in memory: the cut entry and its note go,
     * and the whole answer is written once when it completes or is cut again */
    vt__transcript_pop(&c->tr, VT_ROLE_NOTE, NOTE_INTERRUPTED);
    vt__transcript_pop(&c->tr, VT_ROLE_ASSISTANT, cut);
    vt__answer_clear(c);
    c->gen++;
    c->answer_active = true;
    c->speech_end_us = now;
    c->skip_first_metric = true;
    c->first_audio = c->first_answer_audio = false;
    c->chunks_sent = c->total_chunks = 0;
    if (heard && heard[0]) {
        vt__str_append(&c->plan, &c->plan_len, &c->plan_cap, heard);
        for (size_t k = vt__text_count_words(heard); k > 0; k--)
            record_word(c, 0); /* heard already */
        c->plan_word_off = c->plan_len;
    }
    vt__set_state(c, VT_STATE_THINKING, "resuming after a false interruption", now);
    vt__str_append(&c->answer_text, &c->answer_len, &c->answer_cap, rest);
    vt__phrase_push(&c->pb, rest);
    drain_phrases(c, true);
    c->llm_done = true;
    vt__answer_pump(c, now);
}

int vt_core_say(vt_core *c, const char *text, int64_t now)
{
    if (!c || !text || !text[0])
        return VT_EINVAL;
    if (c->answer_active || c->state != VT_STATE_LISTENING)
        return VT_ESTATE;
    if (c->draft)
        vt__draft_cancel(c, now);
    vt__resume_clear(c);
    vt__answer_clear(c);
    c->gen++;
    c->answer_active = true;
    c->speech_end_us = now;
    c->first_audio = c->first_answer_audio = false;
    c->chunks_sent = c->total_chunks = 0;
    vt__set_state(c, VT_STATE_THINKING, "the tutor speaks first", now);
    /* the text is the whole answer: one token, then its end */
    answer_token(c, text, now);
    answer_done(c, now);
    return 0;
}

int vt_core_filler_choice(vt_core *c, uint32_t gen, int index, int64_t now)
{
    if (!c)
        return VT_EINVAL;
    if (gen != c->gen || !c->filler_wait)
        return VT_ESTALE;
    play_filler(c, index, now);
    vt__pump(c, now);
    return 0;
}

int vt_core_llm_token(vt_core *c, uint32_t gen, const char *tok, int64_t now)
{
    if (!c || !tok)
        return VT_EINVAL;
    if (gen != c->gen || !vt__answer_live(c) || c->llm_done)
        return VT_ESTALE;
    answer_token(c, tok, now);
    return 0;
}

int vt_core_llm_done(vt_core *c, uint32_t gen, int64_t now)
{
    if (!c)
        return VT_EINVAL;
    if (gen != c->gen || !vt__answer_live(c) || c->llm_done)
        return VT_ESTALE;
    answer_done(c, now);
    return 0;
}

int vt_core_llm_error(vt_core *c, uint32_t gen, const char *msg, int64_t now)
{
    if (!c)
        return VT_EINVAL;
    if (gen != c->gen || !vt__answer_live(c) || c->llm_done)
        return VT_ESTALE;
    error_event(c, "llm_error", msg ? msg : "the brain failed", now);
    drain_phrases(c, true);
    char *ap = strdup(c->cfg.apology);
    if (ap && *ap) {
        /* the apology is part of what the tutor says: response_start's
         * full_text carries it too */
        if (c->answer_len && c->answer_text[c->answer_len - 1] != ' ')
            vt__str_append(&c->answer_text, &c->answer_len, &c->answer_cap, " ");
        vt__str_append(&c->answer_text, &c->answer_len, &c->answer_cap, ap);
        pending_push(c, ap);
    } else {
        free(ap);
    }
    c->llm_done = true;
    vt__pump(c, now);
    return 0;
}

int vt_core_tts_audio(vt_core *c, uint32_t gen, uint32_t phrase, const int16_t *pcm, size_t n,
                      const vt_word *words, size_t n_words, int64_t now)
{
    if (!c || (!pcm && n) || (!words && n_words))
        return VT_EINVAL;
    if (gen != c->gen || !vt__answer_live(c) || !c->tts_busy || phrase != c->tts_phrase)
        return VT_ESTALE;
    if (n == 0)
        return 0;
    int rc = vt__outq_push_chunk(&c->q, gen, phrase, pcm, n, words, n_words);
    if (rc)
        return rc;
    if (n_words)
        c->tts_got_words = true;
    vt__pump(c, now);
    return 0;
}

/* A TTS engine without word timings: spread the phrase's words evenly over
 * its audio still in the queue (released audio counts its words now). */
static void spread_words(vt_core *c, uint32_t phrase)
{
    const char *ph = c->plan + c->plan_len_before;
    while (*ph == ' ')
        ph++;
    size_t nw = vt__text_count_words(ph);
    size_t total = 0;
    for (seg *s = c->q.head; s; s = s->next)
        if (s->phrase == phrase && s->kind == VT_AUDIO_ANSWER && s->gen == c->gen)
            total += s->n;
    if (nw == 0)
        return;
    if (total == 0) {
        for (size_t k = 0; k < nw; k++)
            record_word(c, c->q.released);
        c->plan_word_off = c->plan_len;
        return;
    }
    size_t k = 0, base = 0;
    for (seg *s = c->q.head; s && k < nw; s = s->next) {
        if (s->phrase != phrase || s->kind != VT_AUDIO_ANSWER || s->gen != c->gen)
            continue;
        size_t cnt = 0;
        while (k + cnt < nw && (total * (k + cnt + 1)) / nw <= base + s->n)
            cnt++;
        seg_word *w = calloc(cnt ? cnt : 1, sizeof *w);
        if (!w)
            return;
        for (size_t i = 0; i < cnt; i++)
            w[i].end = (uint32_t)((total * (k + i + 1)) / nw - base);
        free(s->words);
        s->words = w;
        s->n_words = cnt;
        k += cnt;
        base += s->n;
    }
}

int vt_core_tts_done(vt_core *c, uint32_t gen, uint32_t phrase, int64_t now)
{
    if (!c)
        return VT_EINVAL;
    if (gen != c->gen || !vt__answer_live(c) || !c->tts_busy || phrase != c->tts_phrase)
        return VT_ESTALE;
    if (!c->tts_got_words)
        spread_words(c, phrase);
    c->tts_busy = false;
    c->q.growing = false;
    vt__pump(c, now);
    return 0;
}

int vt_core_tts_error(vt_core *c, uint32_t gen, uint32_t phrase, const char *msg, int64_t now)
{
    if (!c)
        return VT_EINVAL;
    if (gen != c->gen || !vt__answer_live(c) || !c->tts_busy || phrase != c->tts_phrase)
        return VT_ESTALE;
    /* the phrase will not be spoken: take it out of the plan */
    c->plan_len = c->plan_len_before;
    if (c->plan)
        c->plan[c->plan_len] = 0;
    c->tts_busy = false;
    c->q.growing = false;
    error_event(c, "tts_error", msg ? msg : "speech synthesis failed", now);
    vt__pump(c, now);
    return 0;
}

int vt_core_playback(vt_core *c, uint64_t samples, int64_t now)
{
    if (!c)
        return VT_EINVAL;
    if (samples > c->q.released)
        samples = c->q.released;
    c->has_playback = true;
    c->playback = samples;
    vt__pump(c, now);
    return 0;
}
