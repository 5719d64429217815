/*
 * The protocol's messages as JSON (see messages.h and docs/PROTOCOL.md):
 * the conversation events the core emits, and the server's replies to
 * requests, side by side so each field name is written once.
 */
#include "protocol/messages.h"

const char *vt_event_name(vt_event_type t)
{
    switch (t) {
    case VT_EV_SPEECH_DETECTED: return "speech_detected";
    case VT_EV_TRANSCRIPTION_PARTIAL: return "transcription_partial";
    case VT_EV_TRANSCRIPTION_COMPLETE: return "transcription_complete";
    case VT_EV_PROCESSING_STARTED: return "processing_started";
    case VT_EV_RESPONSE_START: return "response_start";
    case VT_EV_RESPONSE_TEXT: return "response_text";
    case VT_EV_RESPONSE_COMPLETE: return "response_complete";
    case VT_EV_INTERRUPTION_DETECTED: return "interruption_detected";
    case VT_EV_RESPONSE_INTERRUPTED: return "response_interrupted";
    case VT_EV_FILLER_STARTED: return "filler_started";
    case VT_EV_ACKNOWLEDGEMENT_STARTED: return "acknowledgement_started";
    case VT_EV_STATE_CHANGED: return "state_changed";
    case VT_EV_ERROR: return "error";
    }
    return "unknown";
}

static const char *nz(const char *s)
{
    return s ? s : "";
}

cJSON *vt_event_json(const vt_event *ev, const char *character)
{
    if (!ev)
        return NULL;
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    const char *state = vt_state_name(ev->state);
    character = nz(character);
    cJSON_AddStringToObject(o, "type", vt_event_name(ev->type));
    switch (ev->type) {
    case VT_EV_SPEECH_DETECTED:
        cJSON_AddNumberToObject(o, "confidence", ev->confidence);
        cJSON_AddNumberToObject(o, "energy", ev->energy);
        cJSON_AddStringToObject(o, "conversation_state", state);
        break;
    case VT_EV_TRANSCRIPTION_PARTIAL:
    case VT_EV_TRANSCRIPTION_COMPLETE:
        cJSON_AddStringToObject(o, "text", nz(ev->text));
        cJSON_AddStringToObject(o, "conversation_state", state);
        break;
    case VT_EV_PROCESSING_STARTED:
        cJSON_AddStringToObject(o, "character", character);
        cJSON_AddStringToObject(o, "text", nz(ev->text));
        cJSON_AddStringToObject(o, "conversation_state", state);
        cJSON_AddNumberToObject(o, "conversation_turn", ev->turn);
        break;
    case VT_EV_RESPONSE_START:
        cJSON_AddStringToObject(o, "character", character);
        cJSON_AddNumberToObject(o, "total_chunks", ev->total_chunks);
        cJSON_AddStringToObject(o, "full_text", nz(ev->text));
        break;
    case VT_EV_RESPONSE_TEXT:
        cJSON_AddStringToObject(o, "text", nz(ev->text));
        cJSON_AddStringToObject(o, "spoken_text", nz(ev->text2));
        cJSON_AddNumberToObject(o, "conversation_turn", ev->turn);
        break;
    case VT_EV_RESPONSE_COMPLETE:
        cJSON_AddStringToObject(o, "character", character);
        cJSON_AddNumberToObject(o, "chunks_sent", ev->chunks_sent);
        cJSON_AddNumberToObject(o, "conversation_turn", ev->turn);
        break;
    case VT_EV_INTERRUPTION_DETECTED:
        cJSON_AddNumberToObject(o, "confidence", ev->confidence);
        cJSON_AddNumberToObject(o, "energy", ev->energy);
        cJSON_AddNumberToObject(o, "chunks_interrupted", ev->chunks_sent);
        cJSON_AddNumberToObject(o, "interruption_latency_ms", ev->latency_ms);
        cJSON_AddStringToObject(o, "conversation_state", state);
        cJSON_AddStringToObject(o, "trigger", vt_trigger_name(ev->trigger));
        break;
    case VT_EV_RESPONSE_INTERRUPTED:
        cJSON_AddStringToObject(o, "character", character);
        cJSON_AddNumberToObject(o, "chunks_sent", ev->chunks_sent);
        cJSON_AddNumberToObject(o, "total_chunks", ev->total_chunks);
        cJSON_AddNumberToObject(o, "conversation_turn", ev->turn);
        cJSON_AddStringToObject(o, "spoken_text", nz(ev->text));
        cJSON_AddStringToObject(o, "unspoken_text", nz(ev->text2));
        break;
    case VT_EV_FILLER_STARTED:
    case VT_EV_ACKNOWLEDGEMENT_STARTED:
        cJSON_AddNumberToObject(o, "index", ev->index);
        cJSON_AddStringToObject(o, "text", nz(ev->text));
        cJSON_AddStringToObject(o, "conversation_state", state);
        break;
    case VT_EV_STATE_CHANGED:
        cJSON_AddStringToObject(o, "state", state);
        cJSON_AddBoolToObject(o, "is_audio_playing", ev->is_audio_playing);
        cJSON_AddStringToObject(o, "reason", nz(ev->text));
        break;
    case VT_EV_ERROR:
        cJSON_AddStringToObject(o, "code", ev->text2 ? ev->text2 : "error");
        cJSON_AddStringToObject(o, "message", nz(ev->text));
        break;
    }
    return o;
}

cJSON *vt_state_json(const vt_action *a)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "type", "transition");
    cJSON_AddStringToObject(o, "from", vt_state_name(a->from));
    cJSON_AddStringToObject(o, "to", vt_state_name(a->to));
    cJSON_AddStringToObject(o, "why", nz(a->why));
    return o;
}

/* ---- replies and server messages ------------------------------------------- */

cJSON *vt_msg_new(const char *type)
{
    cJSON *o = cJSON_CreateObject();
    if (o)
        cJSON_AddStringToObject(o, "type", type);
    return o;
}

cJSON *vt_msg_error(const char *code, const char *message)
{
    cJSON *o = vt_msg_new("error");
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "code", code);
    cJSON_AddStringToObject(o, "message", nz(message));
    return o;
}

cJSON *vt_msg_connected(const char *session_id)
{
    cJSON *o = vt_msg_new("connected");
    if (o)
        cJSON_AddStringToObject(o, "session_id", nz(session_id));
    return o;
}

static const char *state_str(const vt_core *core)
{
    return vt_state_name(vt_core_state(core));
}

/* initialized.interruption: the settings configure_interruption changes */
static cJSON *interruption_settings(const vt_config *cfg)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddBoolToObject(o, "enabled", cfg->interrupt_enabled);
    cJSON_AddNumberToObject(o, "threshold", cfg->interrupt_threshold);
    cJSON_AddNumberToObject(o, "cooldown", cfg->interrupt_cooldown_ms / 1000.0);
    cJSON_AddStringToObject(o, "mode", vt_mode_name(cfg->interrupt_mode));
    return o;
}

cJSON *vt_msg_initialized(const vt_core *core, const char *character, const char *session_id,
                          const char *message, int pcm_out, int events_all)
{
    /* acknowledgement and json_chunk_ms are the session's (set at initialize) */
    const vt_config *cfg = vt_core_config(core);
    cJSON *r = vt_msg_new("initialized");
    if (!r)
        return NULL;
    cJSON_AddStringToObject(r, "character", nz(character));
    cJSON_AddStringToObject(r, "session_id", nz(session_id));
    cJSON_AddStringToObject(r, "message", nz(message));
    cJSON_AddStringToObject(r, "conversation_state", state_str(core));
    cJSON_AddBoolToObject(r, "session_active", 1);
    cJSON_AddNumberToObject(r, "sample_rate", cfg->out_rate);
    cJSON_AddStringToObject(r, "audio_output", pcm_out ? "pcm" : "json");
    cJSON_AddStringToObject(r, "events", events_all ? "all" : "seed");
    cJSON_AddBoolToObject(r, "acknowledgement", cfg->acknowledgement);
    if (!pcm_out)
        cJSON_AddNumberToObject(r, "json_chunk_ms", cfg->out_chunk_ms);
    cJSON_AddItemToObject(r, "interruption", interruption_settings(cfg));
    return r;
}

cJSON *vt_msg_welcome(const vt_core *core, const char *character, const char *text)
{
    cJSON *w = vt_msg_new("welcome_message");
    if (!w)
        return NULL;
    cJSON_AddStringToObject(w, "character", nz(character));
    cJSON_AddStringToObject(w, "text", nz(text));
    cJSON_AddStringToObject(w, "conversation_state", state_str(core));
    return w;
}

cJSON *vt_msg_interruption_configured(const vt_core *core)
{
    const vt_config *cfg = vt_core_config(core);
    cJSON *r = vt_msg_new("interruption_configured");
    if (!r)
        return NULL;
    cJSON_AddNumberToObject(r, "threshold", cfg->interrupt_threshold);
    cJSON_AddNumberToObject(r, "cooldown", cfg->interrupt_cooldown_ms / 1000.0);
    cJSON_AddStringToObject(r, "mode", vt_mode_name(cfg->interrupt_mode));
    return r;
}

cJSON *vt_msg_interruption_toggled(int enabled)
{
    cJSON *r = vt_msg_new("interruption_toggled");
    if (r)
        cJSON_AddBoolToObject(r, "interruption_enabled", enabled);
    return r;
}

cJSON *vt_msg_interruption_stats(const vt_core *core)
{
    const vt_config *cfg = vt_core_config(core);
    vt_metrics m;
    vt_core_metrics(core, &m);
    cJSON *r = vt_msg_new("interruption_stats");
    if (!r)
        return NULL;
    cJSON_AddBoolToObject(r, "interruption_enabled", cfg->interrupt_enabled);
    cJSON_AddNumberToObject(r, "interruption_threshold", cfg->interrupt_threshold);
    cJSON_AddNumberToObject(r, "total_interruptions", m.total_interruptions);
    cJSON_AddNumberToObject(r, "avg_interruption_latency_ms", m.avg_latency_ms);
    cJSON_AddBoolToObject(r, "has_active_tts", vt_core_is_audio_playing(core));
    return r;
}

cJSON *vt_msg_performance_summary(const vt_core *core)
{
    const vt_config *cfg = vt_core_config(core);
    vt_metrics m;
    vt_core_metrics(core, &m);
    cJSON *r = vt_msg_new("performance_summary");
    if (!r)
        return NULL;
    cJSON *ip = cJSON_AddObjectToObject(r, "interruption_performance");
    cJSON_AddNumberToObject(ip, "total_interruptions", m.total_interruptions);
    cJSON_AddNumberToObject(ip, "avg_latency_ms", m.avg_latency_ms);
    cJSON_AddNumberToObject(ip, "max_latency_ms", m.max_latency_ms);
    cJSON_AddNumberToObject(ip, "min_latency_ms", m.min_latency_ms);
    cJSON_AddBoolToObject(ip, "target_met", m.target_met);
    cJSON_AddBoolToObject(ip, "enabled", cfg->interrupt_enabled);
    cJSON_AddNumberToObject(ip, "threshold", cfg->interrupt_threshold);
    cJSON_AddNumberToObject(ip, "cooldown", cfg->interrupt_cooldown_ms / 1000.0);
    cJSON *rp = cJSON_AddObjectToObject(r, "response_performance");
    cJSON_AddNumberToObject(rp, "turns", m.turns);
    cJSON_AddNumberToObject(rp, "last_first_audio_ms", m.last_first_audio_ms);
    cJSON_AddNumberToObject(rp, "last_first_answer_ms", m.last_first_answer_ms);
    return r;
}

cJSON *vt_msg_interrupt_ignored(const vt_core *core)
{
    cJSON *r = vt_msg_new("interrupt_ignored");
    if (!r)
        return NULL;
    cJSON_AddStringToObject(r, "reason", "the tutor is not speaking");
    cJSON_AddStringToObject(r, "conversation_state", state_str(core));
    return r;
}

static const char *kind_name(vt_audio_kind kind)
{
    return kind == VT_AUDIO_ANSWER   ? "answer"
           : kind == VT_AUDIO_FILLER ? "filler"
                                     : "acknowledgement";
}

cJSON *vt_msg_audio_chunk(int chunk_id, int total_chunks, const char *text,
                          const char *audio_b64, const char *character, vt_audio_kind kind,
                          int sample_rate)
{
    cJSON *o = vt_msg_new("audio_chunk");
    if (!o)
        return NULL;
    cJSON_AddNumberToObject(o, "chunk_id", chunk_id);
    cJSON_AddNumberToObject(o, "total_chunks", total_chunks);
    cJSON_AddBoolToObject(o, "is_final", 0);
    cJSON_AddStringToObject(o, "text", nz(text));
    cJSON_AddStringToObject(o, "audio", nz(audio_b64));
    cJSON_AddStringToObject(o, "character", nz(character));
    cJSON_AddStringToObject(o, "kind", kind_name(kind));
    cJSON_AddNumberToObject(o, "sample_rate", sample_rate);
    return o;
}
