/* Fuzzes configuration JSON (the scenario's "config", serve's --config):
 * parse, apply over the defaults, validate. */
#include "fuzz/fuzz.h"
#include "protocol/config_json.h"
#include "voicetutor/core.h"

#include <cjson/cJSON.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cJSON *o = cJSON_ParseWithLength((const char *)data, size);
    if (!o)
        return 0;
    vt_config cfg;
    vt_config_default(&cfg);
    char err[512];
    if (vt_config_apply_json(&cfg, o, err, sizeof err) == 0)
        vt_config_validate(&cfg, err, sizeof err);
    cJSON_Delete(o);
    return 0;
}
