/*
 * The conversation: seed 000's cycle as one state machine, with seed 003's
 * interruption rules and seed 004's phrase buffer, pacing and memory.
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
 * set_state() is the one function that changes state; each change is one
 * VT_ACT_STATE action (from, to, why) that the caller logs as one line.
 * Every entry point ends with pump(), which runs the timers: filler
 * deadline, TTS scheduling, the pacer, completion, end of turn.
 */
#include "core/internal.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOTE_INTERRUPTED "(The learner interrupted the tutor here.)"

/* ---- small helpers ----------------------------------------------------- */

static void act(vt_core *c, vt_action *a, int64_t now)
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
static void event_in(vt_core *c, vt_event *ev, vt_state s, int64_t now)
{
    ev->state = s;
    ev->is_audio_playing = audio_playing_in(c, s);
    ev->turn = c->turn_no;
    vt_action a = {.type = VT_ACT_EVENT, .gen = c->gen, .ev = ev};
    act(c, &a, now);
}

static void event(vt_core *c, vt_event *ev, int64_t now)
{
    event_in(c, ev, c->state, now);
}

static void error_event(vt_core *c, const char *code, const char *msg, int64_t now)
{
    vt_event ev = {.type = VT_EV_ERROR, .text = msg, .text2 = code};
    event(c, &ev, now);
}

static void set_state(vt_core *c, vt_state to, const char *why, int64_t now)
{
    if (c->state == to)
        return;
    vt_state from = c->state;
    bool kws_before = kws_wanted(from);
    c->state = to;
    vt_action a = {.type = VT_ACT_STATE, .gen = c->gen, .from = from, .to = to, .why = why};
    act(c, &a, now);
    vt_event ev = {.type = VT_EV_STATE_CHANGED, .text = why};
    event(c, &ev, now);
    if (kws_wanted(to) != kws_before) {
        vt_action k = {.type = VT_ACT_KWS, .gen = c->gen, .flag = kws_wanted(to)};
        act(c, &k, now);
    }
}

static uint32_t rnd(vt_core *c)
{
    uint64_t x = c->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    c->rng = x;
    return (uint32_t)(x >> 32);
}

static int str_append(char **buf, size_t *len, size_t *cap, const char *s)
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

/* ---- utterances ---------------------------------------------------------- */

static utt *utt_find(vt_core *c, uint32_t id)
{
    for (int i = 0; i < c->n_utts; i++)
        if (c->utts[i].id == id)
            return &c->utts[i];
    return NULL;
}

static void utt_remove(vt_core *c, int i)
{
    free(c->utts[i].text);
    free(c->utts[i].partial);
    memmove(&c->utts[i], &c->utts[i + 1], (size_t)(c->n_utts - i - 1) * sizeof(utt));
    c->n_utts--;
}

static utt *utt_new(vt_core *c)
{
    if (c->n_utts == MAX_UTTS) {
        /* drop the oldest closed utterance; the array is ordered by age */
        int victim = 0;
        for (int i = 0; i < c->n_utts; i++)
            if (!c->utts[i].open) {
                victim = i;
                break;
            }
        utt_remove(c, victim);
    }
    utt *u = &c->utts[c->n_utts++];
    memset(u, 0, sizeof *u);
    u->id = ++c->next_utt;
    return u;
}

static utt *utt_latest(vt_core *c)
{
    return c->n_utts ? &c->utts[c->n_utts - 1] : NULL;
}

/* ---- the answer ---------------------------------------------------------- */

static void answer_clear(vt_core *c)
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
    c->tts_got_words = false;
    c->filler_wait = false;
    c->filler_held = false;
    c->filler_played = false;
    c->words_released = 0;
    c->plan_word_off = 0;
    c->has_playback = false;
    c->response_started = false;
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
    str_append(&buf, &len, &cap, rest);
    for (size_t i = 0; i < c->n_pending; i++) {
        if (len && buf[len - 1] != ' ')
            str_append(&buf, &len, &cap, " ");
        str_append(&buf, &len, &cap, c->pending[i]);
    }
    if (c->pb.len) {
        if (len && buf[len - 1] != ' ')
            str_append(&buf, &len, &cap, " ");
        str_append(&buf, &len, &cap, c->pb.buf);
    }
    while (len && buf[len - 1] == ' ')
        buf[--len] = 0;
    return buf;
}

/* ---- interruption -------------------------------------------------------- */

/* arrived_us: when the input that triggered it arrived (now, or earlier for
 * a keyword found in audio decoded since); the latency runs from there. */
static void do_interrupt(vt_core *c, vt_trigger trig, double conf, double energy, bool ack,
                         int64_t arrived_us, int64_t now)
{
    uint32_t old_gen = c->gen;
    int chunks = c->chunks_sent, total = c->total_chunks + (int)((c->q.queued +
                 (size_t)c->q.frame_samples - 1) / (size_t)c->q.frame_samples);
    /* 1. stop the output: bump the generation, free the queue, cancel jobs */
    c->gen++;
    vt__outq_flush(&c->q);
    c->q.play_end_us = now; /* the client drops what it holds */
    vt_action cancel = {.type = VT_ACT_CANCEL, .gen = old_gen};
    act(c, &cancel, now);
    int64_t flushed_us = c->clock_us ? c->clock_us(c->clock_ud) : now;
    double latency_ms = (double)(flushed_us - arrived_us) / 1000.0;
    if (latency_ms < 0)
        latency_ms = 0;
    vt__metrics_add_latency(&c->m, latency_ms);
    c->last_interrupt_us = now;
    c->have_interrupted = true;

    /* 2. memory: only what was heard, then "...", and a note */
    size_t heard = words_heard(c);
    size_t off = vt__text_prefix_words(c->plan ? c->plan : "", heard);
    char *said = malloc(off + 4);
    char *rest = unspoken_rest(c, heard);
    if (said) {
        memcpy(said, c->plan ? c->plan : "", off);
        size_t l = off;
        while (l && strchr(" .,;:", said[l - 1])) /* "a hint...." reads badly */
            l--;
        memcpy(said + l, "...", 4);
        vt__transcript_add(&c->tr, VT_ROLE_ASSISTANT, said, rest ? rest : "", 1);
        vt__transcript_add(&c->tr, VT_ROLE_NOTE, NOTE_INTERRUPTED, NULL, 0);
    }
    answer_clear(c);

    /* 3. the person's ongoing speech belongs to their next turn */
    for (int i = 0; i < c->n_utts; i++)
        if (c->utts[i].open)
            c->utts[i].belongs = true;
    if (trig == VT_TRIGGER_COMMAND || trig == VT_TRIGGER_SPEECH) {
        utt *u = utt_latest(c);
        if (u) {
            u->belongs = true;
            u->triggered = true;
        }
    }
    c->verdict = -1;

    /* 4. events, acknowledgement, state */
    vt_state next = (ack && c->n_acks > 0) ? VT_STATE_ACKNOWLEDGING : VT_STATE_LISTENING;
    int ack_index = -1;
    if (next == VT_STATE_ACKNOWLEDGING) {
        ack_index = c->ack_next;
        c->ack_next = (c->ack_next + 1) % c->n_acks;
        if (vt__outq_push_clip(&c->q, VT_AUDIO_ACK, c->gen, &c->acks[ack_index]) != 0) {
            next = VT_STATE_LISTENING;
            ack_index = -1;
        }
    }
    /* conversation_state in these two events is the state after */
    vt_event ev = {.type = VT_EV_INTERRUPTION_DETECTED, .confidence = conf, .energy = energy,
                   .chunks_sent = chunks, .latency_ms = latency_ms, .trigger = trig};
    event_in(c, &ev, next, now);
    vt_event ri = {.type = VT_EV_RESPONSE_INTERRUPTED, .chunks_sent = chunks,
                   .total_chunks = total > chunks ? total : chunks, .trigger = trig,
                   .text = said ? said : "", .text2 = rest ? rest : ""};
    event_in(c, &ri, next, now);
    free(said);
    free(rest);
    set_state(c, next, trig == VT_TRIGGER_KEY       ? "interrupted by key"
                       : trig == VT_TRIGGER_COMMAND ? "interrupted by spoken command"
                       : trig == VT_TRIGGER_SPEECH  ? "interrupted by speech"
                                                    : "interrupted by typed message",
              now);
    if (ack_index >= 0) {
        vt_event as = {.type = VT_EV_ACKNOWLEDGEMENT_STARTED, .index = ack_index,
                       .text = c->acks[ack_index].text};
        event(c, &as, now);
    }
}

/* Seed 003's criteria (enabled, mode, cooldown, an active answer). */
static bool try_interrupt(vt_core *c, vt_trigger trig, double conf, double energy,
                          int64_t arrived_us, int64_t now)
{
    if (!c->answer_active)
        return false;
    if (trig == VT_TRIGGER_SPEECH || trig == VT_TRIGGER_COMMAND) {
        if (!c->cfg.interrupt_enabled)
            return false;
        if (trig == VT_TRIGGER_SPEECH && c->cfg.interrupt_mode == VT_MODE_COMMANDS)
            return false;
        if (trig == VT_TRIGGER_COMMAND && c->cfg.interrupt_mode == VT_MODE_SPEECH)
            return false;
        if (c->have_interrupted &&
            now - c->last_interrupt_us < (int64_t)c->cfg.interrupt_cooldown_ms * 1000)
            return false;
        if (trig == VT_TRIGGER_SPEECH && conf < c->cfg.interrupt_threshold)
            return false;
    }
    do_interrupt(c, trig, conf, energy, true, arrived_us, now);
    return true;
}

/* ---- turns ---------------------------------------------------------------- */

static void end_turn(vt_core *c, const char *text, const char *why, int64_t speech_end,
                     int64_t now)
{
    c->turn_no++;
    c->m.turns++;
    vt__transcript_add(&c->tr, VT_ROLE_USER, text, NULL, 0);
    answer_clear(c);
    c->gen++;
    c->answer_active = true;
    c->speech_end_us = speech_end;
    c->first_audio = c->first_answer_audio = false;
    c->chunks_sent = c->total_chunks = 0;
    set_state(c, VT_STATE_THINKING, why, now);
    vt_event ps = {.type = VT_EV_PROCESSING_STARTED, .text = text};
    event(c, &ps, now);
    vt_action llm = {.type = VT_ACT_LLM_START, .gen = c->gen, .text = text};
    act(c, &llm, now);
    if (c->cfg.filler_enabled && c->n_fillers > 0) {
        c->filler_wait = true;
        c->filler_deadline_us = now + (int64_t)c->cfg.filler_deadline_ms * 1000;
        c->filler_play_us = now + (int64_t)c->cfg.filler_delay_ms * 1000;
        vt_action f = {.type = VT_ACT_CHOOSE_FILLER, .gen = c->gen, .text = text};
        act(c, &f, now);
    }
    /* the utterances of this turn are consumed */
    for (int i = c->n_utts - 1; i >= 0; i--)
        if (c->utts[i].belongs && !c->utts[i].open)
            utt_remove(c, i);
    c->turn_len = 0;
    if (c->turn_text)
        c->turn_text[0] = 0;
    c->verdict = -1;
}

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
    event(c, &ev, now);
}

/* The end-of-turn deadline for the current turn, or INT64_MAX. */
static int64_t turn_deadline(const vt_core *c, const char **why)
{
    if (c->state != VT_STATE_LISTENING || c->vad.in_speech)
        return INT64_MAX;
    bool any = false, pending_final = false;
    int64_t last_voice = INT64_MIN;
    for (int i = 0; i < c->n_utts; i++) {
        const utt *u = &c->utts[i];
        if (!u->belongs)
            continue;
        if (u->open)
            return INT64_MAX;
        any = true;
        if (!u->has_final)
            pending_final = true;
        if (u->end_us > last_voice)
            last_voice = u->end_us;
    }
    if (!any)
        return INT64_MAX;
    if (pending_final) {
        *why = "final text late";
        return last_voice + (int64_t)c->cfg.final_wait_ms * 1000;
    }
    if (c->turn_len == 0)
        return INT64_MIN; /* nothing was said: drop the noise now */
    if (c->verdict == 1) {
        *why = "sentence complete, short silence";
        return last_voice + (int64_t)c->cfg.complete_silence_ms * 1000;
    }
    *why = c->verdict == 0 ? "sentence incomplete, long silence" : "no verdict, long silence";
    return last_voice + (int64_t)c->cfg.incomplete_silence_ms * 1000;
}

static int take_final(vt_core *c, uint32_t id, const char *text, int64_t now);

/* Ends the person's turn when its deadline has passed. Returns true when it
 * let an utterance's interim text stand in for a late final: the caller
 * runs the timers again (a late final is then stale). */
static bool check_turn_end(vt_core *c, int64_t now)
{
    const char *why = "";
    int64_t dl = turn_deadline(c, &why);
    if (dl == INT64_MAX || now < dl)
        return false;
    if (dl != INT64_MIN && strcmp(why, "final text late") == 0) {
        /* the recogniser is behind (a loaded machine): what it heard so far
         * stands in for the final text, so the person's words are not lost */
        for (int i = 0; i < c->n_utts; i++) {
            utt *u = &c->utts[i];
            if (u->belongs && !u->open && !u->has_final) {
                char *p = strdup(u->partial ? u->partial : "");
                take_final(c, u->id, p ? p : "", now);
                free(p);
                return true;
            }
        }
    }
    if (dl == INT64_MIN || c->turn_len == 0) {
        /* noise or empty finals: forget these utterances */
        for (int i = c->n_utts - 1; i >= 0; i--)
            if (c->utts[i].belongs && !c->utts[i].open)
                utt_remove(c, i);
        return false;
    }
    int64_t last_voice = INT64_MIN;
    for (int i = 0; i < c->n_utts; i++)
        if (c->utts[i].belongs && c->utts[i].end_us > last_voice)
            last_voice = c->utts[i].end_us;
    char *text = strdup(c->turn_text);
    if (!text)
        return false;
    end_turn(c, text, why, last_voice, now);
    free(text);
    return false;
}

/* ---- pump: timers, TTS scheduling, pacer, completion --------------------- */

static void schedule_tts(vt_core *c, int64_t now)
{
    if (!c->answer_active || c->tts_busy || c->n_pending == 0)
        return;
    if (vt__outq_ahead_us(&c->q, now) >= (int64_t)c->cfg.tts_lookahead_ms * 1000)
        return;
    char *ph = c->pending[0];
    memmove(c->pending, c->pending + 1, (c->n_pending - 1) * sizeof *c->pending);
    c->n_pending--;
    c->plan_len_before = c->plan_len;
    if (c->plan_len)
        str_append(&c->plan, &c->plan_len, &c->plan_cap, " ");
    str_append(&c->plan, &c->plan_len, &c->plan_cap, ph);
    c->tts_busy = true;
    c->tts_got_words = false;
    c->tts_phrase = ++c->next_phrase;
    if (!c->response_started) {
        c->response_started = true;
        vt_event rs = {.type = VT_EV_RESPONSE_START, .text = c->answer_text};
        event(c, &rs, now);
    }
    vt_action a = {.type = VT_ACT_TTS, .gen = c->gen, .id = c->tts_phrase, .text = ph};
    act(c, &a, now);
    free(ph);
}

static void release_audio(vt_core *c, int64_t now)
{
    outq *q = &c->q;
    while (q->head) {
        seg *s = q->head;
        size_t left = s->n - s->pos;
        size_t n = left < (size_t)q->frame_samples ? left : (size_t)q->frame_samples;
        int64_t d = vt__outq_us(q, n);
        if (q->play_end_us < now)
            q->play_end_us = now;
        int64_t lead = q->lead_us > d ? q->lead_us : d;
        if (q->play_end_us + d - now > lead)
            break;
        if (s->kind != VT_AUDIO_ACK && c->answer_active && !c->first_audio) {
            c->first_audio = true;
            c->m.last_first_audio_ms = (double)(now - c->speech_end_us) / 1000.0;
        }
        if (s->kind == VT_AUDIO_ANSWER) {
            c->chunks_sent++;
            if (!c->first_answer_audio) {
                c->first_answer_audio = true;
                c->m.last_first_answer_ms = (double)(now - c->speech_end_us) / 1000.0;
                set_state(c, VT_STATE_RESPONDING, "answer audio started", now);
            }
        }
        vt_action a = {.type = VT_ACT_AUDIO, .gen = s->gen, .id = s->phrase,
                       .pcm = s->pcm + s->pos, .n = n, .kind = s->kind};
        act(c, &a, now);
        size_t old = s->pos;
        s->pos += n;
        q->play_end_us += d;
        q->released += n;
        q->queued -= n;
        /* words whose audio is now fully released */
        size_t before = c->words_released;
        for (size_t i = 0; i < s->n_words; i++) {
            seg_word *w = &s->words[i];
            if (!w->released && w->end <= s->pos) {
                w->released = true;
                uint64_t end_abs = q->released - (s->pos - (w->end > old ? w->end : old));
                record_word(c, end_abs);
            }
        }
        if (c->words_released > before && c->plan) {
            size_t from = c->plan_word_off;
            size_t to = from + vt__text_prefix_words(c->plan + from, c->words_released - before);
            c->plan_word_off = to;
            /* both texts end at `to`: terminate the plan there for the event
             * instead of copying it on every release */
            char saved = c->plan[to];
            c->plan[to] = 0;
            const char *t = c->plan + from;
            while (*t == ' ')
                t++;
            vt_event ev = {.type = VT_EV_RESPONSE_TEXT, .text = t, .text2 = c->plan};
            event(c, &ev, now);
            c->plan[to] = saved;
        }
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

static void check_completion(vt_core *c, int64_t now)
{
    if (c->answer_active && c->llm_done && !c->tts_busy && c->n_pending == 0 &&
        c->pb.len == 0 && !c->filler_wait && !c->filler_held && !vt__outq_playing(&c->q, now)) {
        int chunks = c->chunks_sent;
        char *plan = strdup(c->plan ? c->plan : "");
        if (plan)
            vt__transcript_add(&c->tr, VT_ROLE_ASSISTANT, plan, NULL, 0);
        free(plan);
        answer_clear(c);
        /* the person who is still speaking is starting their next turn */
        for (int i = 0; i < c->n_utts; i++)
            if (c->utts[i].open)
                c->utts[i].belongs = true;
        c->total_chunks = chunks;
        vt_event ev = {.type = VT_EV_RESPONSE_COMPLETE, .chunks_sent = chunks,
                       .total_chunks = chunks};
        set_state(c, VT_STATE_LISTENING, "answer finished", now);
        event(c, &ev, now);
    }
    if (c->state == VT_STATE_ACKNOWLEDGING && !vt__outq_playing(&c->q, now))
        set_state(c, VT_STATE_LISTENING, "acknowledgement finished", now);
}

static void pump(vt_core *c, int64_t now)
{
    do {
        if (c->filler_wait && now >= c->filler_deadline_us)
            play_filler(c, -1, now);
        if (c->filler_held && now >= c->filler_play_us)
            play_filler(c, c->filler_index, now);
        schedule_tts(c, now);
        release_audio(c, now);
        schedule_tts(c, now);
        check_completion(c, now);
    } while (check_turn_end(c, now));
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
    int64_t t = turn_deadline(c, &why);
    if (t < d)
        d = t;
    return d;
}

/* ---- lifecycle ------------------------------------------------------------ */

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
        utt_remove(c, c->n_utts - 1);
    for (size_t i = 0; i < c->n_pending; i++)
        free(c->pending[i]);
    free(c->pending);
    free(c->plan);
    free(c->answer_text);
    free(c->turn_text);
    free(c->word_end_abs);
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

/* ---- events in ------------------------------------------------------------ */

static void on_vad_frame(vt_core *c, vad_edge edge, int64_t end_us, int64_t now)
{
    vad *v = &c->vad;
    int frame_ms = c->cfg.vad_frame_ms;
    if (edge == VAD_START) {
        utt *u = utt_new(c);
        u->open = true;
        u->start_us = v->seg_start_us;
        u->during_answer = c->answer_active;
        u->belongs = !c->answer_active;
        int preroll = (int)((now - v->seg_start_us) / 1000) + c->cfg.stt_preroll_ms;
        vt_action a = {.type = VT_ACT_STT_BEGIN, .gen = c->gen, .id = u->id,
                       .preroll_ms = preroll};
        act(c, &a, now);
        vt_event ev = {.type = VT_EV_SPEECH_DETECTED, .confidence = v->conf,
                       .energy = v->energy};
        event(c, &ev, now);
    }
    /* seed 004's spurious-start filter: speech over the threshold must last
     * min_speech_ms before it may interrupt */
    if (v->in_speech || v->run_speech > 0) {
        if (v->conf >= c->cfg.interrupt_threshold)
            c->above_ms += frame_ms;
        if (c->above_ms >= c->cfg.min_speech_ms && v->conf >= c->cfg.interrupt_threshold &&
            c->answer_active)
            try_interrupt(c, VT_TRIGGER_SPEECH, v->conf, v->energy, now, now);
    } else {
        c->above_ms = 0;
    }
    if (edge == VAD_END) {
        c->above_ms = 0;
        for (int i = c->n_utts - 1; i >= 0; i--)
            if (c->utts[i].open) {
                utt *u = &c->utts[i];
                u->open = false;
                u->end_us = v->last_voice_us;
                vt_action a = {.type = VT_ACT_STT_END, .gen = c->gen, .id = u->id};
                act(c, &a, now);
                break;
            }
    }
    (void)end_us;
}

int vt_core_audio(vt_core *c, const int16_t *pcm, size_t n, int64_t now)
{
    if (!c || (!pcm && n))
        return VT_EINVAL;
    vad *v = &c->vad;
    for (size_t i = 0; i < n; i++) {
        v->buf[v->nbuf++] = pcm[i];
        if (v->nbuf == v->frame_samples) {
            v->nbuf = 0;
            int64_t end_us = now - (int64_t)(n - 1 - i) * 1000000 / VT_IN_RATE;
            vad_edge e = vt__vad_frame(v, v->buf, end_us);
            on_vad_frame(c, e, end_us, now);
        }
    }
    pump(c, now);
    return 0;
}

static void command_check(vt_core *c, const char *text, int64_t now)
{
    if (c->answer_active && vt_find_command(&c->cfg, text) >= 0)
        try_interrupt(c, VT_TRIGGER_COMMAND, c->vad.conf, c->vad.energy, now, now);
}

static char *joined_turn(vt_core *c, const char *tail)
{
    size_t l = c->turn_len + (tail ? strlen(tail) : 0) + 2;
    char *s = malloc(l);
    if (!s)
        return NULL;
    snprintf(s, l, "%s%s%s", c->turn_text ? c->turn_text : "",
             c->turn_len && tail && *tail ? " " : "", tail ? tail : "");
    return s;
}

int vt_core_stt_partial(vt_core *c, uint32_t id, const char *text, int64_t now)
{
    if (!c || !text)
        return VT_EINVAL;
    utt *u = utt_find(c, id);
    if (!u)
        return VT_ESTALE;
    char *p = strdup(text);
    if (!p)
        return VT_ENOMEM;
    free(u->partial);
    u->partial = p;
    if (u->during_answer && !u->belongs) {
        /* interrupt_only: this text feeds only the interruption detector */
        command_check(c, text, now);
    } else if (u->belongs && *text) {
        char clean[1024];
        if (u->during_answer)
            vt_strip_command(&c->cfg, text, clean, sizeof clean);
        else
            snprintf(clean, sizeof clean, "%s", text);
        size_t l = strlen(clean);
        while (l && clean[l - 1] == ' ')
            clean[--l] = 0;
        char *all = l ? joined_turn(c, clean) : NULL;
        if (all) {
            vt_event ev = {.type = VT_EV_TRANSCRIPTION_PARTIAL, .text = all};
            event(c, &ev, now);
            free(all);
        }
    }
    pump(c, now);
    return 0;
}

/* An utterance's final text (or the interim text standing in for it).
 * 0 or VT_ESTALE; the caller runs the timers (pump). */
static int take_final(vt_core *c, uint32_t id, const char *text, int64_t now)
{
    utt *u = utt_find(c, id);
    if (!u || u->has_final)
        return VT_ESTALE; /* gone, or its interim text already stood in */
    if (u->during_answer && !u->belongs)
        command_check(c, text, now); /* may make u belong (interruption) */
    u = utt_find(c, id);
    if (!u)
        return 0;
    char clean[1024];
    if (u->during_answer)
        vt_strip_command(&c->cfg, text, clean, sizeof clean);
    else
        snprintf(clean, sizeof clean, "%s", text);
    u->has_final = true;
    free(u->text);
    u->text = strdup(clean);
    if (!u->belongs) {
        /* said while the tutor spoke, without interrupting: keep it in memory
         * as a note, it does not start a turn */
        if (clean[0]) {
            char note[1100];
            snprintf(note, sizeof note, "(While the tutor spoke, the learner said: %s)", clean);
            vt__transcript_add(&c->tr, VT_ROLE_NOTE, note, NULL, 0);
        }
        for (int i = 0; i < c->n_utts; i++)
            if (c->utts[i].id == id && !c->utts[i].open) {
                utt_remove(c, i);
                break;
            }
        return 0;
    }
    if (clean[0]) {
        if (c->turn_len)
            str_append(&c->turn_text, &c->turn_len, &c->turn_cap, " ");
        str_append(&c->turn_text, &c->turn_len, &c->turn_cap, clean);
        vt_event ev = {.type = VT_EV_TRANSCRIPTION_COMPLETE, .text = clean};
        event(c, &ev, now);
        c->verdict = -1;
        c->judge_req++;
        vt_action j = {.type = VT_ACT_JUDGE, .gen = c->gen, .id = c->judge_req,
                       .text = c->turn_text};
        act(c, &j, now);
    }
    return 0;
}

int vt_core_stt_final(vt_core *c, uint32_t id, const char *text, const vt_word *words,
                      size_t n_words, int64_t now)
{
    (void)words; /* the turn is built from text; word times are not used yet */
    (void)n_words;
    if (!c || !text)
        return VT_EINVAL;
    int rc = take_final(c, id, text, now);
    if (rc)
        return rc;
    pump(c, now);
    return 0;
}

int vt_core_keyword(vt_core *c, const char *word, int64_t heard_us, int64_t now)
{
    if (!c || !word)
        return VT_EINVAL;
    char norm[VT_MAX_COMMAND_LEN * 2];
    vt__text_norm_word(word, strlen(word), norm, sizeof norm);
    int known = 0;
    for (int i = 0; i < c->cfg.n_commands; i++)
        if (strcmp(norm, c->cfg.commands[i]) == 0)
            known = 1;
    if (!known)
        return VT_EINVAL;
    try_interrupt(c, VT_TRIGGER_COMMAND, c->vad.conf, c->vad.energy, heard_us, now);
    pump(c, now);
    return 0;
}

int vt_core_key(vt_core *c, int64_t now)
{
    if (!c)
        return VT_EINVAL;
    int rc = try_interrupt(c, VT_TRIGGER_KEY, 0, 0, now, now) ? 0 : VT_ESTATE;
    pump(c, now);
    return rc;
}

int vt_core_text(vt_core *c, const char *text, int64_t now)
{
    if (!c || !text)
        return VT_EINVAL;
    char clean[4096];
    size_t l = vt__text_norm_word(text, strlen(text), clean, sizeof clean);
    if (l == 0)
        return VT_EINVAL;
    if (c->answer_active)
        do_interrupt(c, VT_TRIGGER_TEXT, 0, 0, false, now, now);
    if (c->state == VT_STATE_ACKNOWLEDGING) {
        vt__outq_flush(&c->q);
        set_state(c, VT_STATE_LISTENING, "typed message", now);
    }
    end_turn(c, text, "typed message", now, now);
    pump(c, now);
    return 0;
}

/* The answer's next tokens, and its end (the caller checked the generation). */
static void answer_token(vt_core *c, const char *tok, int64_t now)
{
    str_append(&c->answer_text, &c->answer_len, &c->answer_cap, tok);
    vt__phrase_push(&c->pb, tok);
    drain_phrases(c, false);
    pump(c, now);
}

static void answer_done(vt_core *c, int64_t now)
{
    c->llm_done = true;
    drain_phrases(c, true);
    pump(c, now);
}

int vt_core_say(vt_core *c, const char *text, int64_t now)
{
    if (!c || !text || !text[0])
        return VT_EINVAL;
    if (c->answer_active || c->state != VT_STATE_LISTENING)
        return VT_ESTATE;
    answer_clear(c);
    c->gen++;
    c->answer_active = true;
    c->speech_end_us = now;
    c->first_audio = c->first_answer_audio = false;
    c->chunks_sent = c->total_chunks = 0;
    set_state(c, VT_STATE_THINKING, "the tutor speaks first", now);
    /* the text is the whole answer: one token, then its end */
    answer_token(c, text, now);
    answer_done(c, now);
    return 0;
}

int vt_core_verdict(vt_core *c, uint32_t req, int complete, int64_t now)
{
    if (!c)
        return VT_EINVAL;
    if (req != c->judge_req)
        return VT_ESTALE;
    c->verdict = complete ? 1 : 0;
    pump(c, now);
    return 0;
}

int vt_core_filler_choice(vt_core *c, uint32_t gen, int index, int64_t now)
{
    if (!c)
        return VT_EINVAL;
    if (gen != c->gen || !c->filler_wait)
        return VT_ESTALE;
    play_filler(c, index, now);
    pump(c, now);
    return 0;
}

int vt_core_llm_token(vt_core *c, uint32_t gen, const char *tok, int64_t now)
{
    if (!c || !tok)
        return VT_EINVAL;
    if (gen != c->gen || !c->answer_active || c->llm_done)
        return VT_ESTALE;
    answer_token(c, tok, now);
    return 0;
}

int vt_core_llm_done(vt_core *c, uint32_t gen, int64_t now)
{
    if (!c)
        return VT_EINVAL;
    if (gen != c->gen || !c->answer_active || c->llm_done)
        return VT_ESTALE;
    answer_done(c, now);
    return 0;
}

int vt_core_llm_error(vt_core *c, uint32_t gen, const char *msg, int64_t now)
{
    if (!c)
        return VT_EINVAL;
    if (gen != c->gen || !c->answer_active || c->llm_done)
        return VT_ESTALE;
    error_event(c, "llm_error", msg ? msg : "the brain failed", now);
    drain_phrases(c, true);
    char *ap = strdup(c->cfg.apology);
    if (ap && *ap)
        pending_push(c, ap);
    else
        free(ap);
    c->llm_done = true;
    pump(c, now);
    return 0;
}

int vt_core_tts_audio(vt_core *c, uint32_t gen, uint32_t phrase, const int16_t *pcm, size_t n,
                      const vt_word *words, size_t n_words, int64_t now)
{
    if (!c || (!pcm && n) || (!words && n_words))
        return VT_EINVAL;
    if (gen != c->gen || !c->answer_active || !c->tts_busy || phrase != c->tts_phrase)
        return VT_ESTALE;
    if (n == 0)
        return 0;
    int rc = vt__outq_push_chunk(&c->q, gen, phrase, pcm, n, words, n_words);
    if (rc)
        return rc;
    if (n_words)
        c->tts_got_words = true;
    pump(c, now);
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
    if (gen != c->gen || !c->answer_active || !c->tts_busy || phrase != c->tts_phrase)
        return VT_ESTALE;
    if (!c->tts_got_words)
        spread_words(c, phrase);
    c->tts_busy = false;
    pump(c, now);
    return 0;
}

int vt_core_tts_error(vt_core *c, uint32_t gen, uint32_t phrase, const char *msg, int64_t now)
{
    if (!c)
        return VT_EINVAL;
    if (gen != c->gen || !c->answer_active || !c->tts_busy || phrase != c->tts_phrase)
        return VT_ESTALE;
    /* the phrase will not be spoken: take it out of the plan */
    c->plan_len = c->plan_len_before;
    if (c->plan)
        c->plan[c->plan_len] = 0;
    c->tts_busy = false;
    error_event(c, "tts_error", msg ? msg : "speech synthesis failed", now);
    pump(c, now);
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
    pump(c, now);
    return 0;
}

int vt_core_tick(vt_core *c, int64_t now)
{
    if (!c)
        return VT_EINVAL;
    pump(c, now);
    return 0;
}

/* ---- control and queries --------------------------------------------------- */

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
               c->word_end_cap * sizeof(uint64_t);
    for (size_t i = 0; i < c->n_pending; i++)
        b += strlen(c->pending[i]) + 1;
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
