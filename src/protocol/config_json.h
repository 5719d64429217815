/*
 * vt_config from JSON: every field of vt_config by its own name, so a
 * scenario's "config" object and the server's --config file use one format.
 * Unknown keys and wrong types are errors that name the key.
 *
 * In src/protocol/ rather than util/ because it calls the core (the
 * command list, the mode names, vt_config_validate's ranges).
 */
#ifndef VT_PROTOCOL_CONFIG_JSON_H
#define VT_PROTOCOL_CONFIG_JSON_H
#include "voicetutor/core.h"
#include <cjson/cJSON.h>
int vt_config_apply_json(vt_config *cfg, const cJSON *obj, char *err, size_t errlen);
#endif
