/*
 * Protocol events as JSON (the message shapes of docs/PROTOCOL.md, seed 003's
 * field names). Shared by the simulator's events.jsonl and the server.
 */
#ifndef VT_UTIL_PROTOCOL_H
#define VT_UTIL_PROTOCOL_H
#include "voicetutor/core.h"
#include <cjson/cJSON.h>

/* The protocol name of an event type ("interruption_detected", ...). */
const char *vt_event_name(vt_event_type t);
/* A new JSON object with "type" and the event's fields (no timestamp). */
cJSON *vt_event_json(const vt_event *ev, const char *character);
/* A state transition action as JSON: type "state_changed" plus from/to/why. */
cJSON *vt_state_json(const vt_action *a);
#endif
