/*
 * Configuration of the core: defaults (seed 000 and 003 values), validation
 * with messages that say which field is wrong and its allowed range, and the
 * names of states, modes and errors.
 */
#include "core/internal.h"
#include <ctype.h>
#include <stdio.h>
#include <string.h>

static void copy_str(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

void vt_config_default(vt_config *cfg)
{
    if (!cfg)
        return;
    memset(cfg, 0, sizeof *cfg);
    cfg->out_rate = 16000;
    cfg->vad_frame_ms = 20;
    cfg->out_frame_ms = 20;
    cfg->vad_start_confidence = 1.0;
    cfg->vad_end_confidence = 0.6;
    cfg->vad_start_ms = 60;
    cfg->vad_hangover_ms = 240;
    cfg->vad_floor_init = 100.0;
    cfg->vad_floor_min = 40.0;
    cfg->stt_preroll_ms = 300;
    cfg->complete_silence_ms = 500;
    cfg->incomplete_silence_ms = 2000;
    cfg->final_wait_ms = 1500;
    cfg->interrupt_enabled = 1;
    cfg->interrupt_threshold = 1.5;
    cfg->interrupt_cooldown_ms = 1000;
    cfg->min_speech_ms = 250;
    cfg->interrupt_mode = VT_MODE_BOTH;
    vt_config_set_commands(cfg, "stop,wait,pause,hold on,be quiet", NULL, 0);
    cfg->filler_enabled = 1;
    cfg->filler_deadline_ms = 250;
    cfg->filler_delay_ms = 0;
    cfg->phrase_first_min_chars = 12;
    cfg->phrase_min_chars = 40;
    cfg->phrase_max_chars = 200;
    cfg->pacer_lead_ms = 100;
    cfg->tts_lookahead_ms = 3000;
    cfg->out_chunk_ms = 0;
    cfg->acknowledgement = 1;
    cfg->preempt_ms = 0;
    cfg->n_backchannels = 0;
    cfg->interrupt_min_words = 0;
    cfg->resume_ms = 0;
    cfg->think_silence_ms = 0;
    cfg->duck_db = 0;
    cfg->duck_ramp_ms = 10;
    copy_str(cfg->character, sizeof cfg->character, "tutor");
    copy_str(cfg->apology, sizeof cfg->apology,
             "Sorry, I could not come up with an answer just now. Please try again.");
    cfg->seed = 1;
}

/* The settable numeric ranges, in the order vt_config declares them. One
 * table for config parsing, the core's configure_interruption and the
 * server's request checks (vt_range_find). vad_frame_ms is a choice (10 or
 * 20), not a range, and is checked on its own. */
#define VT_RANGE_TABLE(X)                     \
    X(out_rate, 8000, 48000)                  \
    X(out_frame_ms, 10, 100)                  \
    X(vad_start_confidence, 0.1, 5.0)         \
    X(vad_end_confidence, 0.05, 5.0)          \
    X(vad_start_ms, 10, 1000)                 \
    X(vad_hangover_ms, 20, 2000)              \
    X(vad_floor_init, 1.0, 20000.0)           \
    X(vad_floor_min, 1.0, 20000.0)            \
    X(stt_preroll_ms, 0, 2000)                \
    X(complete_silence_ms, 100, 10000)        \
    X(incomplete_silence_ms, 100, 20000)      \
    X(final_wait_ms, 0, 20000)                \
    X(interrupt_threshold, 0.5, 3.0)          \
    X(interrupt_cooldown_ms, 100, 5000)       \
    X(min_speech_ms, 0, 3000)                 \
    X(n_commands, 0, VT_MAX_COMMANDS)         \
    X(filler_deadline_ms, 0, 10000)           \
    X(filler_delay_ms, 0, 10000)              \
    X(phrase_first_min_chars, 1, 1000)        \
    X(phrase_min_chars, 1, 1000)              \
    X(phrase_max_chars, 20, 2000)             \
    X(pacer_lead_ms, 0, 2000)                 \
    X(tts_lookahead_ms, 200, 60000)           \
    X(out_chunk_ms, 0, 2000)                  \
    X(preempt_ms, 0, 2000)                    \
    X(n_backchannels, 0, VT_MAX_COMMANDS)     \
    X(interrupt_min_words, 0, 20)             \
    X(resume_ms, 0, 10000)                    \
    X(think_silence_ms, 0, 20000)             \
    X(duck_db, -40.0, 0.0)                    \
    X(duck_ramp_ms, 1, 200)

#define RANGE_INDEX(field, lo, hi) RANGE_##field,
enum { VT_RANGE_TABLE(RANGE_INDEX) N_RANGES };
#define RANGE_ENTRY(field, lo, hi) {#field, (lo), (hi)},
const vt_range vt_ranges[] = {VT_RANGE_TABLE(RANGE_ENTRY){NULL, 0, 0}};

const vt_range *vt_range_find(const char *name)
{
    if (!name)
        return NULL;
    for (const vt_range *r = vt_ranges; r->name; r++)
        if (strcmp(r->name, name) == 0)
            return r;
    return NULL;
}

#define CHECK_RANGE(field)                                                           \
    do {                                                                             \
        const vt_range *r_ = &vt_ranges[RANGE_##field];                              \
        if (!(cfg->field >= r_->min && cfg->field <= r_->max)) {                     \
            snprintf(err, errlen, "%s: %g is out of range (%g to %g)", r_->name,     \
                     (double)cfg->field, r_->min, r_->max);                          \
            return VT_EINVAL;                                                        \
        }                                                                            \
    } while (0)

int vt_config_validate(const vt_config *cfg, char *err, size_t errlen)
{
    char dummy[8];
    if (!err) {
        err = dummy;
        errlen = sizeof dummy;
    }
    if (!cfg) {
        snprintf(err, errlen, "config: missing");
        return VT_EINVAL;
    }
    CHECK_RANGE(out_rate);
    if (cfg->vad_frame_ms != 10 && cfg->vad_frame_ms != 20) {
        snprintf(err, errlen, "vad_frame_ms: %d is not allowed (10 or 20)", cfg->vad_frame_ms);
        return VT_EINVAL;
    }
    CHECK_RANGE(out_frame_ms);
    CHECK_RANGE(vad_start_confidence);
    CHECK_RANGE(vad_end_confidence);
    if (cfg->vad_end_confidence > cfg->vad_start_confidence) {
        snprintf(err, errlen, "vad_end_confidence: %g must not exceed vad_start_confidence %g",
                 cfg->vad_end_confidence, cfg->vad_start_confidence);
        return VT_EINVAL;
    }
    CHECK_RANGE(vad_start_ms);
    CHECK_RANGE(vad_hangover_ms);
    CHECK_RANGE(vad_floor_init);
    CHECK_RANGE(vad_floor_min);
    CHECK_RANGE(stt_preroll_ms);
    CHECK_RANGE(complete_silence_ms);
    CHECK_RANGE(incomplete_silence_ms);
    if (cfg->incomplete_silence_ms < cfg->complete_silence_ms) {
        snprintf(err, errlen,
                 "incomplete_silence_ms: %d must be at least complete_silence_ms %d",
                 cfg->incomplete_silence_ms, cfg->complete_silence_ms);
        return VT_EINVAL;
    }
    CHECK_RANGE(final_wait_ms);
    CHECK_RANGE(interrupt_threshold);
    CHECK_RANGE(interrupt_cooldown_ms);
    CHECK_RANGE(min_speech_ms);
    if (cfg->interrupt_mode < VT_MODE_COMMANDS || cfg->interrupt_mode > VT_MODE_BOTH) {
        snprintf(err, errlen, "interrupt_mode: %d is not a mode (commands, speech, both)",
                 (int)cfg->interrupt_mode);
        return VT_EINVAL;
    }
    CHECK_RANGE(n_commands);
    CHECK_RANGE(filler_deadline_ms);
    CHECK_RANGE(filler_delay_ms);
    CHECK_RANGE(phrase_first_min_chars);
    CHECK_RANGE(phrase_min_chars);
    CHECK_RANGE(phrase_max_chars);
    if (cfg->phrase_max_chars < cfg->phrase_min_chars ||
        cfg->phrase_max_chars < cfg->phrase_first_min_chars) {
        snprintf(err, errlen, "phrase_max_chars: %d must be at least the minimum lengths",
                 cfg->phrase_max_chars);
        return VT_EINVAL;
    }
    CHECK_RANGE(pacer_lead_ms);
    CHECK_RANGE(tts_lookahead_ms);
    CHECK_RANGE(out_chunk_ms);
    if (cfg->out_chunk_ms > 0 && cfg->out_chunk_ms < VT_OUT_CHUNK_MIN_MS) {
        snprintf(err, errlen, "out_chunk_ms: %d is out of range (0, or %d to %g)",
                 cfg->out_chunk_ms, VT_OUT_CHUNK_MIN_MS, vt_ranges[RANGE_out_chunk_ms].max);
        return VT_EINVAL;
    }
    CHECK_RANGE(preempt_ms);
    CHECK_RANGE(n_backchannels);
    CHECK_RANGE(interrupt_min_words);
    CHECK_RANGE(resume_ms);
    CHECK_RANGE(think_silence_ms);
    CHECK_RANGE(duck_db);
    CHECK_RANGE(duck_ramp_ms);
    if (cfg->think_silence_ms > 0 && cfg->think_silence_ms < cfg->incomplete_silence_ms) {
        snprintf(err, errlen,
                 "think_silence_ms: %d must be 0 (off) or at least incomplete_silence_ms %d",
                 cfg->think_silence_ms, cfg->incomplete_silence_ms);
        return VT_EINVAL;
    }
    if (cfg->resume_ms > 0 && cfg->resume_ms < 300) {
        snprintf(err, errlen, "resume_ms: %d is too short (0 for off, or 300 to 10000)",
                 cfg->resume_ms);
        return VT_EINVAL;
    }
    if (cfg->preempt_ms > 0 && cfg->preempt_ms < 50) {
        snprintf(err, errlen, "preempt_ms: %d is too short (0 for off, or 50 to 2000)",
                 cfg->preempt_ms);
        return VT_EINVAL;
    }
    return 0;
}

/* A comma separated list of words or phrases into list/n (name in messages). */
static int set_word_list(const char *name, const char *csv, char list[][VT_MAX_COMMAND_LEN],
                         int *n_out, char *err, size_t errlen)
{
    char dummy[8];
    if (!err) {
        err = dummy;
        errlen = sizeof dummy;
    }
    if (!csv) {
        snprintf(err, errlen, "%s: missing", name);
        return VT_EINVAL;
    }
    char tmp[VT_MAX_COMMANDS][VT_MAX_COMMAND_LEN];
    int n = 0;
    const char *p = csv;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        char word[256];
        size_t wl = vt__text_norm_word(p, len, word, sizeof word);
        if (wl > 0) {
            if (wl >= VT_MAX_COMMAND_LEN) {
                snprintf(err, errlen, "%s: \"%s\" is too long (at most %d characters)",
                         name, word, VT_MAX_COMMAND_LEN - 1);
                return VT_EINVAL;
            }
            if (n == VT_MAX_COMMANDS) {
                snprintf(err, errlen, "%s: too many (at most %d)", name, VT_MAX_COMMANDS);
                return VT_EINVAL;
            }
            memcpy(tmp[n++], word, wl + 1);
        }
        if (!e)
            break;
        p = e + 1;
    }
    memcpy(list, tmp, sizeof tmp);
    *n_out = n;
    return 0;
}

int vt_config_set_commands(vt_config *cfg, const char *csv, char *err, size_t errlen)
{
    char dummy[8];
    if (!err) {
        err = dummy;
        errlen = sizeof dummy;
    }
    if (!cfg) {
        snprintf(err, errlen, "commands: missing");
        return VT_EINVAL;
    }
    return set_word_list("commands", csv, cfg->commands, &cfg->n_commands, err, errlen);
}

int vt_config_set_backchannels(vt_config *cfg, const char *csv, char *err, size_t errlen)
{
    char dummy[8];
    if (!err) {
        err = dummy;
        errlen = sizeof dummy;
    }
    if (!cfg) {
        snprintf(err, errlen, "backchannels: missing");
        return VT_EINVAL;
    }
    return set_word_list("backchannels", csv, cfg->backchannels, &cfg->n_backchannels, err,
                         errlen);
}

const char *vt_mode_name(vt_interrupt_mode m)
{
    switch (m) {
    case VT_MODE_COMMANDS: return "commands";
    case VT_MODE_SPEECH: return "speech";
    case VT_MODE_BOTH: return "both";
    }
    return "?";
}

int vt_mode_parse(const char *s, vt_interrupt_mode *out)
{
    if (!s || !out)
        return VT_EINVAL;
    for (int m = VT_MODE_COMMANDS; m <= VT_MODE_BOTH; m++)
        if (strcmp(s, vt_mode_name((vt_interrupt_mode)m)) == 0) {
            *out = (vt_interrupt_mode)m;
            return 0;
        }
    return VT_EINVAL;
}

const char *vt_state_name(vt_state s)
{
    switch (s) {
    case VT_STATE_LISTENING: return "LISTENING";
    case VT_STATE_THINKING: return "THINKING";
    case VT_STATE_RESPONDING: return "RESPONDING";
    case VT_STATE_ACKNOWLEDGING: return "ACKNOWLEDGING";
    }
    return "?";
}

const char *vt_trigger_name(vt_trigger t)
{
    switch (t) {
    case VT_TRIGGER_NONE: return "none";
    case VT_TRIGGER_KEY: return "key";
    case VT_TRIGGER_COMMAND: return "command";
    case VT_TRIGGER_SPEECH: return "speech";
    case VT_TRIGGER_TEXT: return "text";
    }
    return "?";
}

const char *vt_strerror(int err)
{
    switch (err) {
    case VT_OK: return "ok";
    case VT_EINVAL: return "invalid argument";
    case VT_ENOMEM: return "out of memory";
    case VT_ESTATE: return "not valid in this state";
    case VT_ESTALE: return "stale generation";
    case VT_EIO: return "input/output error";
    case VT_EFORMAT: return "malformed input";
    case VT_ECANCELED: return "cancelled";
    case VT_EFULL: return "queue full";
    case VT_ENOTFOUND: return "not found";
    case VT_ETIMEDOUT: return "timed out";
    }
    return "unknown error";
}
