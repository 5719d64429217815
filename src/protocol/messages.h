/*
 * The protocol's messages as JSON: every object the server sends and the
 * simulator writes to events.jsonl (docs/PROTOCOL.md, seed 003's field
 * names), built in one place so a field is spelled once.
 *
 * Why a layer of its own (src/protocol/, between the core and the
 * simulator, the runtime and the transports): the messages are made of the
 * core's types and queries (events, states, settings, metrics), so they
 * cannot live in util/ (which only knows the core's types), and both the
 * simulator and the server need them, so they cannot live in either.
 *
 * Every function returns a new object (the caller owns it and frees it with
 * cJSON_Delete, or hands it on), or NULL when out of memory. None adds the
 * `timestamp`: the transport stamps a message when it sends it. Pure
 * functions of their arguments; safe on any thread for distinct arguments.
 */
#ifndef VT_PROTOCOL_MESSAGES_H
#define VT_PROTOCOL_MESSAGES_H
#include "voicetutor/core.h"
#include <cjson/cJSON.h>

/* ---- conversation events (the core's vt_event) ---------------------------- */

/* The protocol name of an event type ("interruption_detected", ...). */
const char *vt_event_name(vt_event_type t);
/* A new JSON object with "type" and the event's fields (no timestamp). */
cJSON *vt_event_json(const vt_event *ev, const char *character);
/* A state transition action as JSON: type "transition" plus from/to/why. */
cJSON *vt_state_json(const vt_action *a);

/* ---- replies and server messages ------------------------------------------- */

/* {"type": type} */
cJSON *vt_msg_new(const char *type);
/* error: a stable code and a message saying what is wrong and what to do. */
cJSON *vt_msg_error(const char *code, const char *message);
cJSON *vt_msg_connected(const char *session_id);
/* The answer to initialize: the session as it started. */
cJSON *vt_msg_initialized(const vt_core *core, const char *character, const char *session_id,
                          const char *message, int pcm_out, int events_all);
cJSON *vt_msg_welcome(const vt_core *core, const char *character, const char *text);
cJSON *vt_msg_interruption_configured(const vt_core *core);
cJSON *vt_msg_interruption_toggled(int enabled);
cJSON *vt_msg_interruption_stats(const vt_core *core);
cJSON *vt_msg_performance_summary(const vt_core *core);
/* The answer to an interrupt that found nothing to interrupt. */
cJSON *vt_msg_interrupt_ignored(const vt_core *core);
/* One paced chunk of audio in JSON mode: audio_b64 is base64 WAV, text the
 * words in it, total_chunks the answer's count (0 while unknown). */
cJSON *vt_msg_audio_chunk(int chunk_id, int total_chunks, const char *text,
                          const char *audio_b64, const char *character, vt_audio_kind kind,
                          int sample_rate);

#endif
