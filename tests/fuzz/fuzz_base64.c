/* Fuzzes base64 decoding (audio_data of the seed protocol) and checks that
 * whatever decodes encodes back to a string that decodes the same. */
#include "fuzz/fuzz.h"
#include "util/base64.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t cap = size / 4 * 3 + 3;
    uint8_t *out = malloc(cap);
    long n = vt_base64_decode((const char *)data, size, out, cap);
    if (n >= 0) {
        size_t elen = vt_base64_len((size_t)n);
        char *enc = malloc(elen + 1);
        uint8_t *back = malloc((size_t)n + 3);
        long e = vt_base64_encode(out, (size_t)n, enc, elen + 1);
        if (e < 0)
            abort();
        long m = vt_base64_decode(enc, (size_t)e, back, (size_t)n + 3);
        if (m != n || memcmp(back, out, (size_t)n) != 0)
            abort();
        free(enc);
        free(back);
    }
    free(out);
    return 0;
}
