/*
 * Turn taking: who has the floor. Interruption (seed 003's criteria: enabled,
 * mode, cooldown, an active answer; the key and typed messages always count)
 * stops the output in one call: a new generation, the queue freed, the old
 * generation's jobs cancelled, the memory cut at what was heard, and the
 * acknowledgement. End of turn (seed 000): the person's utterances close,
 * and after a short silence when the judge says the sentence is complete, a
 * long one when it is not, the turn goes to the tutor; a recogniser that is
 * late with a final has its interim text stand in for it.
 * Past the seeds (issue 15, each off by default): a preemptive answer begun
 * on the text so far after preempt_ms of silence and kept unreleased until
 * the turn ends with the same words (else cancelled by generation); resume
 * after a false interruption (speech stopped the tutor, no words within
 * resume_ms); think time (think_silence_ms while the tutor's question is
 * open, and a hesitation alone never ends a turn).
 */
#include "core/internal.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- interruption ------------------------------------------------------- */

static utt *utt_latest(vt_core *c)
{
    return c->n_utts ? &c->utts[c->n_utts - 1] : NULL;
}

/* arrived_us: when the input that triggered it arrived (now, or earlier for
 * a keyword found in audio decoded since); the latency runs from there. */
static void do_interrupt(vt_core *c, vt_trigger trig, double conf, double energy, bool ack,
                         int64_t arrived_us, int64_t now)
{
    uint32_t old_gen = c->gen;
    int chunks = c->chunks_sent, total = chunks + vt__outq_chunks_left(&c->q);
    /* 1. stop the output: bump the generation, free the queue, cancel jobs */
    c->gen++;
    vt__outq_flush(&c->q);
    c->q.play_end_us = now; /* the client drops what it holds */
    vt_action cancel = {.type = VT_ACT_CANCEL, .gen = old_gen};
    vt__act(c, &cancel, now);
    int64_t flushed_us = c->clock_us ? c->clock_us(c->clock_ud) : now;
    double latency_ms = (double)(flushed_us - arrived_us) / 1000.0;
    if (latency_ms < 0)
        latency_ms = 0;
    vt__metrics_add_latency(&c->m, latency_ms);
    c->last_interrupt_us = now;
    c->have_interrupted = true;

    /* 2. memory: only what was heard, then "...", and a note */
    char *said = NULL, *rest = NULL, *heard = NULL;
    vt__answer_cut(c, &said, &rest, &heard);
    vt__resume_clear(c);
    if (trig == VT_TRIGGER_SPEECH && c->cfg.resume_ms > 0 && said && rest && rest[0] && heard) {
        /* perhaps a cough or a door: resume if no words come (resume_pump) */
        c->resume_pending = true;
        c->resume_at_us = now + (int64_t)c->cfg.resume_ms * 1000;
        c->resume_heard = heard;
        c->resume_rest = strdup(rest);
        c->resume_cut = strdup(said);
        heard = NULL;
        if (!c->resume_rest || !c->resume_cut)
            vt__resume_clear(c);
    }
    free(heard);

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
    bool acknowledge = ack && c->n_acks > 0 && c->cfg.acknowledgement;
    vt_state next = acknowledge ? VT_STATE_ACKNOWLEDGING : VT_STATE_LISTENING;
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
    vt__event_in(c, &ev, next, now);
    vt_event ri = {.type = VT_EV_RESPONSE_INTERRUPTED, .chunks_sent = chunks,
                   .total_chunks = total > chunks ? total : chunks, .trigger = trig,
                   .text = said ? said : "", .text2 = rest ? rest : ""};
    vt__event_in(c, &ri, next, now);
    free(said);
    free(rest);
    vt__set_state(c, next, trig == VT_TRIGGER_KEY       ? "interrupted by key"
                           : trig == VT_TRIGGER_COMMAND ? "interrupted by spoken command"
                           : trig == VT_TRIGGER_SPEECH  ? "interrupted by speech"
                                                        : "interrupted by typed message",
                  now);
    if (ack_index >= 0) {
        vt_event as = {.type = VT_EV_ACKNOWLEDGEMENT_STARTED, .index = ack_index,
                       .text = c->acks[ack_index].text};
        vt__event(c, &as, now);
    }
}

/* Seed 003's criteria (enabled, mode, cooldown, an active answer). */
bool vt__try_interrupt(vt_core *c, vt_trigger trig, double conf, double energy,
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
    vt__try_interrupt(c, VT_TRIGGER_COMMAND, c->vad.conf, c->vad.energy, heard_us, now);
    vt__pump(c, now);
    return 0;
}

int vt_core_key(vt_core *c, int64_t now)
{
    if (!c)
        return VT_EINVAL;
    int rc = vt__try_interrupt(c, VT_TRIGGER_KEY, 0, 0, now, now) ? 0 : VT_ESTATE;
    vt__pump(c, now);
    return rc;
}

/* ---- preemptive answers (cfg.preempt_ms) -------------------------------- */

/* Same words, ignoring case and punctuation ("Eight?" is "eight"). */
static bool same_words(const char *a, const char *b)
{
    char na[1024], nb[1024];
    vt__text_norm_word(a, strlen(a), na, sizeof na);
    vt__text_norm_word(b, strlen(b), nb, sizeof nb);
    return strcmp(na, nb) == 0;
}

/* The person's turn so far: the finals, then the interim text of the
 * utterances whose final has not come (malloc'd; NULL when there is none). */
static char *turn_so_far(const vt_core *c)
{
    char *buf = NULL;
    size_t len = 0, cap = 0;
    bool any = false;
    if (c->turn_len)
        vt__str_append(&buf, &len, &cap, c->turn_text);
    for (int i = 0; i < c->n_utts; i++) {
        const utt *u = &c->utts[i];
        if (!u->belongs)
            continue;
        any = true;
        if (u->has_final || !u->partial || !u->partial[0])
            continue;
        char clean[1024];
        if (u->during_answer)
            vt_strip_command(&c->cfg, u->partial, clean, sizeof clean);
        else
            snprintf(clean, sizeof clean, "%s", u->partial);
        if (!clean[0])
            continue;
        if (len)
            vt__str_append(&buf, &len, &cap, " ");
        vt__str_append(&buf, &len, &cap, clean);
    }
    if (!any || !len) {
        free(buf);
        return NULL;
    }
    return buf;
}

void vt__draft_cancel(vt_core *c, int64_t now)
{
    if (!c->draft)
        return;
    vt_action cancel = {.type = VT_ACT_CANCEL, .gen = c->gen};
    vt__act(c, &cancel, now);
    c->gen++;
    vt__outq_flush(&c->q); /* nothing of a draft was released */
    vt__answer_clear(c);
    vt__transcript_pop(&c->tr, VT_ROLE_USER, c->draft_text);
    free(c->draft_text);
    c->draft_text = NULL;
    c->draft = false;
}

static void draft_start(vt_core *c, char *text, int64_t now)
{
    vt__answer_clear(c);
    c->gen++;
    c->draft = true;
    c->draft_text = text;
    c->draft_voice_us = c->vad.last_voice_us;
    c->first_audio = c->first_answer_audio = false;
    c->chunks_sent = c->total_chunks = 0;
    /* the brain reads the memory: the turn is in it while the draft lives */
    vt__transcript_add(&c->tr, VT_ROLE_USER, text, NULL, 0);
    vt_action llm = {.type = VT_ACT_LLM_START, .gen = c->gen, .text = text};
    vt__act(c, &llm, now);
}

static bool preempt_possible(const vt_core *c)
{
    /* in a segment's hangover, or between segments with no new speech starting */
    return c->cfg.preempt_ms > 0 && c->state == VT_STATE_LISTENING && !c->answer_active &&
           (c->vad.in_speech || c->vad.run_speech == 0);
}

int64_t vt__preempt_deadline(const vt_core *c)
{
    if (!preempt_possible(c) || c->draft)
        return INT64_MAX;
    for (int i = 0; i < c->n_utts; i++)
        if (c->utts[i].belongs)
            return c->vad.last_voice_us + (int64_t)c->cfg.preempt_ms * 1000;
    return INT64_MAX;
}

/* The person went on (voice since the draft began, or other words): drop
 * the draft; after preempt_ms of silence, begin one on the text so far. */
void vt__preempt_pump(vt_core *c, int64_t now)
{
    if (c->draft && (c->vad.last_voice_us > c->draft_voice_us || c->answer_active ||
                     c->state != VT_STATE_LISTENING))
        vt__draft_cancel(c, now);
    if (!preempt_possible(c))
        return;
    if (now - c->vad.last_voice_us < (int64_t)c->cfg.preempt_ms * 1000)
        return;
    char *text = turn_so_far(c);
    if (text && c->cfg.think_silence_ms > 0 && vt__text_only_fillers(text)) {
        free(text); /* "um" alone is not a turn (think time): nothing to answer */
        text = NULL;
    }
    if (!text) {
        vt__draft_cancel(c, now);
        return;
    }
    if (c->draft && same_words(text, c->draft_text)) {
        free(text);
        return;
    }
    vt__draft_cancel(c, now);
    draft_start(c, text, now);
}

/* ---- resume after a false interruption (cfg.resume_ms) ------------------ */

void vt__resume_clear(vt_core *c)
{
    c->resume_pending = false;
    free(c->resume_heard);
    free(c->resume_rest);
    free(c->resume_cut);
    c->resume_heard = c->resume_rest = c->resume_cut = NULL;
}

/* Nothing of the person's is in progress: no voice, no turn, no text to come. */
static bool resume_ready(const vt_core *c)
{
    if (!c->resume_pending || c->state != VT_STATE_LISTENING || c->answer_active ||
        c->draft || c->vad.in_speech || c->turn_len)
        return false;
    for (int i = 0; i < c->n_utts; i++)
        if (c->utts[i].belongs && (c->utts[i].open || !c->utts[i].has_final))
            return false;
    return true;
}

int64_t vt__resume_deadline(const vt_core *c)
{
    return resume_ready(c) ? c->resume_at_us : INT64_MAX;
}

void vt__resume_pump(vt_core *c, int64_t now)
{
    if (!resume_ready(c) || now < c->resume_at_us)
        return;
    char *heard = c->resume_heard, *rest = c->resume_rest, *cut = c->resume_cut;
    c->resume_heard = c->resume_rest = c->resume_cut = NULL;
    c->resume_pending = false;
    vt__answer_resume(c, heard, rest, cut, now);
    free(heard);
    free(rest);
    free(cut);
}

/* ---- end of turn -------------------------------------------------------- */

static void end_turn(vt_core *c, const char *text, const char *why, int64_t speech_end,
                     int64_t now)
{
    /* a preemptive answer to these very words is already on its way */
    bool commit = c->draft && same_words(text, c->draft_text);
    vt__resume_clear(c); /* the person took the floor */
    if (c->draft && !commit)
        vt__draft_cancel(c, now);
    c->turn_no++;
    c->m.turns++;
    if (commit) {
        free(c->draft_text);
        c->draft_text = NULL;
        c->draft = false;
    } else {
        vt__transcript_add(&c->tr, VT_ROLE_USER, text, NULL, 0);
        vt__answer_clear(c);
        c->gen++;
        c->first_audio = c->first_answer_audio = false;
        c->chunks_sent = c->total_chunks = 0;
    }
    c->answer_active = true;
    c->speech_end_us = speech_end;
    vt__set_state(c, VT_STATE_THINKING, why, now);
    vt_event ps = {.type = VT_EV_PROCESSING_STARTED, .text = text};
    vt__event(c, &ps, now);
    if (!commit) {
        vt_action llm = {.type = VT_ACT_LLM_START, .gen = c->gen, .text = text};
        vt__act(c, &llm, now);
    } else if (c->plan_len && !c->response_started) {
        c->response_started = true;
        vt_event rs = {.type = VT_EV_RESPONSE_START, .text = c->answer_text};
        vt__event(c, &rs, now);
    }
    if (c->cfg.filler_enabled && c->n_fillers > 0) {
        c->filler_wait = true;
        c->filler_deadline_us = now + (int64_t)c->cfg.filler_deadline_ms * 1000;
        c->filler_play_us = now + (int64_t)c->cfg.filler_delay_ms * 1000;
        vt_action f = {.type = VT_ACT_CHOOSE_FILLER, .gen = c->gen, .text = text};
        vt__act(c, &f, now);
    }
    /* the utterances of this turn are consumed */
    for (int i = c->n_utts - 1; i >= 0; i--)
        if (c->utts[i].belongs && !c->utts[i].open)
            vt__utt_remove(c, i);
    c->turn_len = 0;
    if (c->turn_text)
        c->turn_text[0] = 0;
    c->verdict = -1;
    c->question_open = false; /* answered (or another turn taken) */
    if (commit)
        vt__answer_pump(c, now); /* its first audio leaves now */
}

/* The end-of-turn deadline for the current turn, or INT64_MAX. */
int64_t vt__turn_deadline(const vt_core *c, const char **why)
{
    if (c->state != VT_STATE_LISTENING || c->vad.in_speech)
        return INT64_MAX;
    bool any = false, pending_final = false, interim = false;
    int64_t last_voice = INT64_MIN;
    for (int i = 0; i < c->n_utts; i++) {
        const utt *u = &c->utts[i];
        if (!u->belongs)
            continue;
        if (u->open)
            return INT64_MAX;
        any = true;
        if (!u->has_final) {
            pending_final = true;
            interim |= u->partial && u->partial[0];
        }
        if (u->end_us > last_voice)
            last_voice = u->end_us;
    }
    if (!any)
        return INT64_MAX;
    if (pending_final) {
        *why = "final text late";
        /* with nothing heard yet to stand in (a recogniser still loading
         * its models, a machine far behind), waiting longer beats losing
         * what the person said */
        int wait_ms = interim || c->cfg.final_wait_ms > VT__FINAL_WAIT_UNHEARD_MS
                          ? c->cfg.final_wait_ms
                          : VT__FINAL_WAIT_UNHEARD_MS;
        return last_voice + (int64_t)wait_ms * 1000;
    }
    if (c->turn_len == 0)
        return INT64_MIN; /* nothing was said: drop the noise now */
    bool think = c->cfg.think_silence_ms > 0;
    if (think && vt__text_only_fillers(c->turn_text))
        return INT64_MAX; /* "um" alone never ends a turn: more is coming */
    /* while the tutor's question is open, "fifty..." may go on ("six") */
    bool thinking = think && c->question_open;
    /* the lesson's context: a turn holding an expected answer is complete */
    if (c->n_expect && vt__text_holds_any(c->turn_text, c->expect, (size_t)c->n_expect)) {
        *why = "holds an expected answer, short silence";
        return last_voice + (int64_t)c->cfg.complete_silence_ms * 1000;
    }
    if (c->verdict == 1 && !(thinking && vt__text_ends_open_number(c->turn_text))) {
        *why = "sentence complete, short silence";
        return last_voice + (int64_t)c->cfg.complete_silence_ms * 1000;
    }
    if (thinking) {
        *why = "answer to a question not finished, thinking time";
        return last_voice + (int64_t)c->cfg.think_silence_ms * 1000;
    }
    *why = c->verdict == 0 ? "sentence incomplete, long silence" : "no verdict, long silence";
    return last_voice + (int64_t)c->cfg.incomplete_silence_ms * 1000;
}

/* Ends the person's turn when its deadline has passed. Returns true when it
 * let an utterance's interim text stand in for a late final: the caller
 * runs the timers again (a late final is then stale). */
bool vt__check_turn_end(vt_core *c, int64_t now)
{
    const char *why = "";
    int64_t dl = vt__turn_deadline(c, &why);
    if (dl == INT64_MAX || now < dl)
        return false;
    if (dl != INT64_MIN && strcmp(why, "final text late") == 0) {
        /* the recogniser is behind (a loaded machine): what it heard so far
         * stands in for the final text, so the person's words are not lost */
        for (int i = 0; i < c->n_utts; i++) {
            utt *u = &c->utts[i];
            if (u->belongs && !u->open && !u->has_final) {
                char *p = strdup(u->partial ? u->partial : "");
                vt__take_final(c, u->id, p ? p : "", now);
                free(p);
                return true;
            }
        }
    }
    if (dl == INT64_MIN || c->turn_len == 0) {
        /* noise or empty finals: forget these utterances */
        for (int i = c->n_utts - 1; i >= 0; i--)
            if (c->utts[i].belongs && !c->utts[i].open)
                vt__utt_remove(c, i);
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

int vt_core_verdict(vt_core *c, uint32_t req, int complete, int64_t now)
{
    if (!c)
        return VT_EINVAL;
    if (req != c->judge_req)
        return VT_ESTALE;
    c->verdict = complete ? 1 : 0;
    vt__pump(c, now);
    return 0;
}

int vt_core_expect(vt_core *c, const char *const *answers, size_t n)
{
    if (!c || (n && !answers))
        return VT_EINVAL;
    c->n_expect = 0;
    for (size_t i = 0; i < n && c->n_expect < VT_CORE_EXPECT_MAX; i++)
        if (answers[i] && vt__text_norm_word(answers[i], strlen(answers[i]),
                                             c->expect[c->n_expect], VT_CORE_EXPECT_LEN))
            c->n_expect++;
    return 0;
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
        vt__set_state(c, VT_STATE_LISTENING, "typed message", now);
    }
    end_turn(c, text, "typed message", now, now);
    vt__pump(c, now);
    return 0;
}
