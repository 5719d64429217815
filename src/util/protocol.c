/* Protocol events as JSON objects (see protocol.h and docs/PROTOCOL.md). */
#include "util/protocol.h"

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
