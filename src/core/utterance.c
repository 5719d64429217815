/*
 * The person's utterances: the core's VAD segments the microphone into
 * utterances (VT_ACT_STT_BEGIN with the pre-roll, VT_ACT_STT_END), and each
 * one's interim and final text is routed by who it belongs to: the person's
 * turn (it began while listening, or carried or outlived an interruption;
 * then a leading command word is stripped), or, while the tutor speaks, only
 * the interruption detector, and a note in memory when it ends without
 * interrupting. Nothing the person says is dropped. With backchannels or
 * interrupt_min_words set, sustained speech interrupts only once its text
 * may (not only "uh huh", enough words); its first loud frame ducks the
 * output (duck_db).
 */
#include "core/internal.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- bookkeeping -------------------------------------------------------- */

static utt *utt_find(vt_core *c, uint32_t id)
{
    for (int i = 0; i < c->n_utts; i++)
        if (c->utts[i].id == id)
            return &c->utts[i];
    return NULL;
}

void vt__utt_remove(vt_core *c, int i)
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
        vt__utt_remove(c, victim);
    }
    utt *u = &c->utts[c->n_utts++];
    memset(u, 0, sizeof *u);
    u->id = ++c->next_utt;
    return u;
}

/* ---- speech interruptions that need words --------------------------------- */

/* Sustained speech over the tutor interrupts once its words may (not only
 * backchannels, at least interrupt_min_words); the key and commands never wait. */
static void speech_words_check(vt_core *c, utt *u, const char *text, int64_t now)
{
    if (!u->sustained || u->belongs || !c->answer_active || !text ||
        !vt__text_may_interrupt(&c->cfg, text))
        return;
    if (vt__try_interrupt(c, VT_TRIGGER_SPEECH, u->sus_conf, u->sus_energy, now, now)) {
        u->belongs = true;
        u->triggered = true;
    }
}

static utt *utt_open_latest(vt_core *c)
{
    for (int i = c->n_utts - 1; i >= 0; i--)
        if (c->utts[i].open)
            return &c->utts[i];
    return NULL;
}

/* ---- audio: VAD segments ------------------------------------------------ */

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
        vt__act(c, &a, now);
        vt_event ev = {.type = VT_EV_SPEECH_DETECTED, .confidence = v->conf,
                       .energy = v->energy};
        vt__event(c, &ev, now);
    }
    /* ducking: the first frame of likely speech over the tutor lowers it,
     * until an interruption or the end of what was only a start or a segment */
    if (c->answer_active) {
        if (v->conf >= c->cfg.interrupt_threshold && v->conf >= c->cfg.vad_start_confidence &&
            (v->in_speech || v->run_speech > 0))
            vt__duck(c, true);
        else if (!v->in_speech && v->run_speech == 0)
            vt__duck(c, false);
    }
    /* seed 004's spurious-start filter: speech over the threshold must last
     * min_speech_ms before it may interrupt */
    if (v->in_speech || v->run_speech > 0) {
        if (v->conf >= c->cfg.interrupt_threshold)
            c->above_ms += frame_ms;
        if (c->above_ms >= c->cfg.min_speech_ms && v->conf >= c->cfg.interrupt_threshold &&
            c->answer_active) {
            utt *u = vt__speech_needs_words(&c->cfg) ? utt_open_latest(c) : NULL;
            if (!vt__speech_needs_words(&c->cfg)) {
                vt__try_interrupt(c, VT_TRIGGER_SPEECH, v->conf, v->energy, now, now);
            } else if (u && !u->sustained && !u->belongs) {
                u->sustained = true;
                u->sus_conf = v->conf;
                u->sus_energy = v->energy;
                speech_words_check(c, u, u->partial, now);
            }
        }
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
                vt__act(c, &a, now);
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
    vt__pump(c, now);
    return 0;
}

/* ---- text --------------------------------------------------------------- */

static void command_check(vt_core *c, const char *text, int64_t now)
{
    if (c->answer_active && vt_find_command(&c->cfg, text) >= 0)
        vt__try_interrupt(c, VT_TRIGGER_COMMAND, c->vad.conf, c->vad.energy, now, now);
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
        if (!u->belongs)
            speech_words_check(c, u, text, now);
    } else if (u->belongs && *text) {
        char clean[1024];
        if (u->during_answer)
            vt_strip_command(&c->cfg, text, clean, sizeof clean);
        else
            snprintf(clean, sizeof clean, "%s", text);
        size_t l = strlen(clean);
        while (l && clean[l - 1] == ' ')
            clean[--l] = 0;
        if (l && vt__text_only_noise(clean, u->during_answer && c->cfg.think_silence_ms == 0))
            l = 0; /* no words (yet): nothing to show, not a real interruption */
        if (l)
            vt__resume_clear(c); /* words: it was a real interruption */
        char *all = l ? joined_turn(c, clean) : NULL;
        if (all) {
            vt_event ev = {.type = VT_EV_TRANSCRIPTION_PARTIAL, .text = all};
            vt__event(c, &ev, now);
            free(all);
        }
    }
    vt__pump(c, now);
    return 0;
}

/* An utterance's final text (or the interim text standing in for it).
 * 0 or VT_ESTALE; the caller runs the timers (pump). */
int vt__take_final(vt_core *c, uint32_t id, const char *text, int64_t now)
{
    utt *u = utt_find(c, id);
    if (!u || u->has_final)
        return VT_ESTALE; /* gone, or its interim text already stood in */
    if (u->during_answer && !u->belongs) {
        command_check(c, text, now); /* may make u belong (interruption) */
        if ((u = utt_find(c, id)) != NULL && !u->belongs)
            speech_words_check(c, u, text, now);
    }
    u = utt_find(c, id);
    if (!u)
        return 0;
    char clean[1024];
    if (u->during_answer)
        vt_strip_command(&c->cfg, text, clean, sizeof clean);
    else
        snprintf(clean, sizeof clean, "%s", text);
    /* a tone, a cough, a door: no words, never a turn. A recogniser hears
     * "ah" in a loud noise over the tutor; a hesitation said in the
     * listening state stays a turn (with think time it waits for more) */
    if (vt__text_only_noise(clean, u->during_answer && c->cfg.think_silence_ms == 0))
        clean[0] = 0;
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
                vt__utt_remove(c, i);
                break;
            }
        return 0;
    }
    if (clean[0]) {
        vt__resume_clear(c);
        if (c->turn_len)
            vt__str_append(&c->turn_text, &c->turn_len, &c->turn_cap, " ");
        vt__str_append(&c->turn_text, &c->turn_len, &c->turn_cap, clean);
        vt_event ev = {.type = VT_EV_TRANSCRIPTION_COMPLETE, .text = clean};
        vt__event(c, &ev, now);
        c->verdict = -1;
        c->judge_req++;
        vt_action j = {.type = VT_ACT_JUDGE, .gen = c->gen, .id = c->judge_req,
                       .text = c->turn_text};
        vt__act(c, &j, now);
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
    int rc = vt__take_final(c, id, text, now);
    if (rc)
        return rc;
    vt__pump(c, now);
    return 0;
}
