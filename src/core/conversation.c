/*
 * The conversation: seed 000's cycle as one state machine, with seed 003's
 * interruption rules and seed 004's phrase buffer, pacing and memory. This
 * file holds what every part of it shares: the one function that changes
 * state, the action and event helpers, pump() and the next deadline, the
 * lifecycle, control and queries. The decisions live beside it:
 *   turn_taking.c  interruption and end of turn (who has the floor)
 *   answer.c       the answer: tokens -> phrases -> TTS -> paced audio,
 *                  the filler, what was heard, completion
 *   utterance.c    the person's audio: VAD segments as utterances, their
 *                  interim and final text, which turn each belongs to
 *
 *   LISTENING      full_listening, is_audio_playing false: VAD + STT text
 *                  build the person's turn; the turn ends after 0.5 s of
 *                  silence when the judge says the sentence is complete and
 *                  after 2 s when it is not (or has not answered).
 *   THINKING       the turn ended: the LLM answer is requested, a filler is
 *                  chosen (brain, else random after a deadline) and plays
 *                  while the first phrases are synthesized.
 *   RESPONDING     interrupt_only, is_audio_playing true: answer audio is
 *                  paced out; STT text, keyword hits and VAD feed only the
 *                  interruption detector, while the person's audio is still
 *                  kept for their next turn.
 *   ACKNOWLEDGING  after an interruption the acknowledgement clip plays,
 *                  then LISTENING again; speech that started meanwhile is
 *                  already part of the next turn.
 *
 * vt__set_state() is the one function that changes state; each change is
 * one VT_ACT_STATE action (from, to, why) that the caller logs as one line.
 * Every entry point ends with vt__pump(), which runs the timers: the
 * preemptive draft, filler deadline, TTS scheduling, the pacer, completion,
 * the resume after a false interruption, end of turn.
 */
#include "core/internal.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- actions, events, state --------------------------------------------- */

void vt__act(vt_core *c, vt_action *a, int64_t now)
{
    c->sink(c->sink_ud, a, now);
}

static bool kws_wanted(vt_state s)
{
    return s == VT_STATE_THINKING || s == VT_STATE_RESPONDING;
}

/* is_audio_playing as it is (or will be) in state s */
static bool audio_playing_in(const vt_core *c, vt_state s)
{
    if (s == VT_STATE_RESPONDING || s == VT_STATE_ACKNOWLEDGING)
        return true;
    return s == VT_STATE_THINKING && c->filler_played;
}

int vt_core_is_audio_playing(const vt_core *c)
{
    return c && audio_playing_in(c, c->state);
}

/* An event reporting conversation_state `s`: the current state, or the one
 * a transition about to happen leads to (an interruption's events). */
void vt__event_in(vt_core *c, vt_event *ev, vt_state s, int64_t now)
{
    ev->state = s;
    ev->is_audio_playing = audio_playing_in(c, s);
    ev->turn = c->turn_no;
    vt_action a = {.type = VT_ACT_EVENT, .gen = c->gen, .ev = ev};
    vt__act(c, &a, now);
}

void vt__event(vt_core *c, vt_event *ev, int64_t now)
{
    vt__event_in(c, ev, c->state, now);
}

void vt__set_state(vt_core *c, vt_state to, const char *why, int64_t now)
{
    if (c->state == to)
        return;
    vt_state from = c->state;
    bool kws_before = kws_wanted(from);
    c->state = to;
    vt_action a = {.type = VT_ACT_STATE, .gen = c->gen, .from = from, .to = to, .why = why};
    vt__act(c, &a, now);
    vt_event ev = {.type = VT_EV_STATE_CHANGED, .text = why};
    vt__event(c, &ev, now);
    if (kws_wanted(to) != kws_before) {
        vt_action k = {.type = VT_ACT_KWS, .gen = c->gen, .flag = kws_wanted(to)};
        vt__act(c, &k, now);
    }
}

int vt__str_append(char **buf, size_t *len, size_t *cap, const char *s)
{
    size_t l = strlen(s);
    if (*len + l + 1 > *cap) {
        size_t nc = *cap ? *cap : 128;
        while (nc < *len + l + 1)
            nc *= 2;
        char *b = realloc(*buf, nc);
        if (!b)
            return VT_ENOMEM;
        *buf = b;
        *cap = nc;
    }
    memcpy(*buf + *len, s, l + 1);
    *len += l;
    return 0;
}

/* ---- pump: timers ------------------------------------------------------- */

/* Ends every entry point: runs the answer's timers and the end of turn. A
 * late final's stand-in (check_turn_end) runs them again. */
void vt__pump(vt_core *c, int64_t now)
{
    do {
        vt__preempt_pump(c, now);
        vt__answer_pump(c, now);
        vt__resume_pump(c, now);
    } while (vt__check_turn_end(c, now));
}

int64_t vt_core_next_deadline(const vt_core *c)
{
    if (!c)
        return INT64_MAX;
    int64_t d = INT64_MAX;
    if (c->filler_wait && c->filler_deadline_us < d)
        d = c->filler_deadline_us;
    if (c->filler_held && c->filler_play_us < d)
        d = c->filler_play_us;
    if (c->q.head) {
        int64_t r = vt__outq_next_release(&c->q);
        if (r < d)
            d = r;
    } else if ((c->answer_active || c->state == VT_STATE_ACKNOWLEDGING) &&
               c->q.play_end_us != INT64_MIN && c->q.play_end_us < d) {
        d = c->q.play_end_us;
    }
    const char *why = "";
    int64_t t = vt__turn_deadline(c, &why);
    if (t < d)
        d = t;
    t = vt__preempt_deadline(c);
    if (t < d)
        d = t;
    t = vt__resume_deadline(c);
    if (t < d)
        d = t;
    return d;
}

int vt_core_tick(vt_core *c, int64_t now)
{
    if (!c)
        return VT_EINVAL;
    vt__pump(c, now);
    return 0;
}

/* ---- lifecycle ---------------------------------------------------------- */

int vt_core_create(const vt_config *cfg, vt_sink_fn sink, void *sink_ud, vt_core **out,
                   char *err, size_t errlen)
{
    char dummy[8];
    if (!err) {
        err = dummy;
        errlen = sizeof dummy;
    }
    if (!out || !sink) {
        snprintf(err, errlen, "core: missing %s", out ? "sink" : "output pointer");
        return VT_EINVAL;
    }
    *out = NULL;
    int rc = vt_config_validate(cfg, err, errlen);
    if (rc)
        return rc;
    vt_core *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "core: out of memory");
        return VT_ENOMEM;
    }
    c->cfg = *cfg;
    c->sink = sink;
    c->sink_ud = sink_ud;
    c->state = VT_STATE_LISTENING;
    c->verdict = -1;
    c->rng = 0x9E3779B97F4A7C15ull ^ ((uint64_t)cfg->seed << 1 | 1);
    vt__vad_init(&c->vad, cfg);
    vt__phrase_init(&c->pb, cfg);
    vt__outq_init(&c->q, cfg);
    vt__transcript_init(&c->tr);
    c->gain = c->gain_target = 1.0;
    if (cfg->duck_db < 0) {
        c->duck_buf = calloc((size_t)c->q.frame_samples, sizeof *c->duck_buf);
        if (!c->duck_buf) {
            vt_core_destroy(c);
            snprintf(err, errlen, "core: out of memory");
            return VT_ENOMEM;
        }
        c->gain_low = pow(10.0, cfg->duck_db / 20.0);
        c->gain_step = (1.0 - c->gain_low) / ((double)cfg->duck_ramp_ms * cfg->out_rate / 1000.0);
    }
    if (cfg->out_chunk_ms > 0 && vt_core_set_out_chunk(c, cfg->out_chunk_ms) != 0) {
        vt_core_destroy(c);
        snprintf(err, errlen, "core: out of memory");
        return VT_ENOMEM;
    }
    *out = c;
    return 0;
}

void vt_core_destroy(vt_core *c)
{
    if (!c)
        return;
    vt__outq_flush(&c->q);
    vt__transcript_free(&c->tr);
    vt__phrase_free(&c->pb);
    while (c->n_utts)
        vt__utt_remove(c, c->n_utts - 1);
    for (size_t i = 0; i < c->n_pending; i++)
        free(c->pending[i]);
    free(c->pending);
    free(c->plan);
    free(c->answer_text);
    free(c->turn_text);
    free(c->word_end_abs);
    free(c->draft_text);
    free(c->duck_buf);
    free(c->chunk_buf);
    vt__resume_clear(c);
    free(c);
}

int vt_core_set_clips(vt_core *c, const vt_clip *fillers, int n_fillers, const vt_clip *acks,
                      int n_acks)
{
    if (!c || n_fillers < 0 || n_acks < 0 || (n_fillers && !fillers) || (n_acks && !acks))
        return VT_EINVAL;
    for (int i = 0; i < n_fillers; i++)
        if (!fillers[i].pcm || !fillers[i].n)
            return VT_EINVAL;
    for (int i = 0; i < n_acks; i++)
        if (!acks[i].pcm || !acks[i].n)
            return VT_EINVAL;
    c->fillers = fillers;
    c->n_fillers = n_fillers;
    c->acks = acks;
    c->n_acks = n_acks;
    c->ack_next = 0;
    return 0;
}

void vt_core_set_clock(vt_core *c, int64_t (*clock_us)(void *ud), void *ud)
{
    if (!c)
        return;
    c->clock_us = clock_us;
    c->clock_ud = ud;
}

/* ---- control and queries ------------------------------------------------ */

int vt_core_configure_interruption(vt_core *c, double threshold, double cooldown_s, char *err,
                                   size_t errlen)
{
    char dummy[8];
    if (!err) {
        err = dummy;
        errlen = sizeof dummy;
    }
    if (!c) {
        snprintf(err, errlen, "core: missing");
        return VT_EINVAL;
    }
    const vt_range *thr = vt_range_find("interrupt_threshold");
    const vt_range *cd = vt_range_find("interrupt_cooldown_ms");
    if (!(threshold >= thr->min && threshold <= thr->max)) {
        snprintf(err, errlen, "threshold must be between %.1f and %.1f (got %g)", thr->min,
                 thr->max, threshold);
        return VT_EINVAL;
    }
    /* the request is in seconds, the range in ms */
    if (!(cooldown_s >= cd->min / 1000.0 && cooldown_s <= cd->max / 1000.0)) {
        snprintf(err, errlen, "cooldown must be between %.1f and %.1f seconds (got %g)",
                 cd->min / 1000.0, cd->max / 1000.0, cooldown_s);
        return VT_EINVAL;
    }
    c->cfg.interrupt_threshold = threshold;
    c->cfg.interrupt_cooldown_ms = (int)(cooldown_s * 1000.0 + 0.5);
    return 0;
}

int vt_core_enable_interruption(vt_core *c, int enabled)
{
    if (!c)
        return VT_EINVAL;
    c->cfg.interrupt_enabled = enabled ? 1 : 0;
    return 0;
}

int vt_core_set_out_chunk(vt_core *c, int out_chunk_ms)
{
    if (!c || out_chunk_ms < 0 || (out_chunk_ms > 0 && out_chunk_ms < VT_OUT_CHUNK_MIN_MS) ||
        out_chunk_ms > vt_range_find("out_chunk_ms")->max)
        return VT_EINVAL;
    size_t n = (size_t)c->cfg.out_rate * (size_t)out_chunk_ms / 1000;
    size_t slice = n > (size_t)c->q.frame_samples ? n : (size_t)c->q.frame_samples;
    int16_t *buf = NULL;
    if (n && !(buf = calloc(n, sizeof *buf)))
        return VT_ENOMEM;
    if (c->duck_buf) { /* ducking scales one whole slice */
        int16_t *d = calloc(slice, sizeof *d);
        if (!d) {
            free(buf);
            return VT_ENOMEM;
        }
        free(c->duck_buf);
        c->duck_buf = d;
    }
    free(c->chunk_buf);
    c->chunk_buf = buf;
    c->cfg.out_chunk_ms = out_chunk_ms;
    c->q.chunk_samples = (int)n;
    return 0;
}

int vt_core_set_acknowledgement(vt_core *c, int on)
{
    if (!c)
        return VT_EINVAL;
    c->cfg.acknowledgement = on ? 1 : 0;
    return 0;
}

int vt_core_set_mode(vt_core *c, vt_interrupt_mode m)
{
    if (!c || m < VT_MODE_COMMANDS || m > VT_MODE_BOTH)
        return VT_EINVAL;
    c->cfg.interrupt_mode = m;
    return 0;
}

vt_state vt_core_state(const vt_core *c)
{
    return c ? c->state : VT_STATE_LISTENING;
}

int vt_core_has_active_response(const vt_core *c)
{
    return c && c->answer_active;
}

uint32_t vt_core_generation(const vt_core *c)
{
    return c ? c->gen : 0;
}

const vt_config *vt_core_config(const vt_core *c)
{
    return c ? &c->cfg : NULL;
}

size_t vt_core_history(const vt_core *c, const vt_turn **turns)
{
    if (!c || !turns)
        return 0;
    *turns = c->tr.turns;
    return c->tr.n;
}

void vt_core_metrics(const vt_core *c, vt_metrics *m)
{
    if (!c || !m)
        return;
    vt__metrics_get(&c->m, m);
    m->chunks_sent = c->chunks_sent;
}

size_t vt_core_memory(const vt_core *c)
{
    if (!c)
        return 0;
    size_t b = sizeof *c + vt__outq_memory(&c->q) + vt__transcript_memory(&c->tr) + c->pb.cap +
               c->plan_cap + c->answer_cap + c->turn_cap + c->cap_pending * sizeof(char *) +
               c->word_end_cap * sizeof(uint64_t) +
               (c->duck_buf ? (size_t)(c->q.chunk_samples > c->q.frame_samples
                                           ? c->q.chunk_samples : c->q.frame_samples) *
                                  sizeof *c->duck_buf : 0) +
               (c->chunk_buf ? (size_t)c->q.chunk_samples * sizeof *c->chunk_buf : 0);
    for (size_t i = 0; i < c->n_pending; i++)
        b += strlen(c->pending[i]) + 1;
    const char *held[] = {c->draft_text, c->resume_heard, c->resume_rest, c->resume_cut};
    for (size_t i = 0; i < sizeof held / sizeof *held; i++)
        b += held[i] ? strlen(held[i]) + 1 : 0;
    for (int i = 0; i < c->n_utts; i++) {
        if (c->utts[i].text)
            b += strlen(c->utts[i].text) + 1;
        if (c->utts[i].partial)
            b += strlen(c->utts[i].partial) + 1;
    }
    return b;
}

size_t vt_core_interrupt_memory(void)
{
    /* what interruption tracking adds to a session: the metrics (50 latencies
     * and counters), the cooldown clock, the speech-duration counter and the
     * settings (enabled, threshold, cooldown, min_speech_ms, mode) */
    return sizeof(metrics) + sizeof(int64_t) + sizeof(bool) + sizeof(double) +
           sizeof(int) * 3 + sizeof(double) + sizeof(vt_interrupt_mode);
}
