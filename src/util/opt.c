/* Engine option lists (key=value pairs, see voicetutor/engine.h). */
#include "voicetutor/engine.h"
#include <string.h>

const char *vt_opt_get(const vt_opt *opts, size_t n, const char *key, const char *def)
{
    if (!key)
        return def;
    for (size_t i = n; i-- > 0;) /* later entries override earlier ones */
        if (opts && opts[i].key && strcmp(opts[i].key, key) == 0)
            return opts[i].value;
    return def;
}
