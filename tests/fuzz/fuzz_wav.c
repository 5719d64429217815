/* Fuzzes reading a sound file (a WAV a user gives `transcribe`, `talk
 * --input` or a scenario), at the file's rate and resampled to 16 kHz. */
#include "fuzz/fuzz.h"
#include "util/wav.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    int16_t *pcm = NULL;
    size_t n = 0;
    int rate = 0;
    if (vt_wav_read_mem(data, size, "fuzz.wav", 16000, &pcm, &n, &rate, err, sizeof err) == 0)
        free(pcm);
    return 0;
}
