/* Growing arrays (see grow.h). */
#include "util/grow.h"

#include <stdint.h>
#include <stdlib.h>

#include "voicetutor/core.h"

int vt_grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t c = *cap ? *cap : 16;
    while (c < need)
        c *= 2;
    if (c > SIZE_MAX / elem)
        return VT_ENOMEM;
    void *np = realloc(*p, c * elem);
    if (!np)
        return VT_ENOMEM;
    *p = np;
    *cap = c;
    return 0;
}
