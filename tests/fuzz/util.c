/* Helpers the harnesses share (fuzz.h). */
#include "fuzz/fuzz.h"

#include <stdlib.h>
#include <string.h>

char *vt_fuzz_text(const uint8_t *data, size_t size)
{
    char *t = malloc(size + 1);
    if (!t)
        abort();
    memcpy(t, data, size);
    t[size] = 0;
    return t;
}
