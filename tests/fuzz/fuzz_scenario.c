/* Fuzzes scenario files (docs/SCENARIOS.md): load, and when the
 * conversation is short, run it — the live driver on the virtual-time
 * executor with the scripted engines. WAV references resolve in an empty
 * folder, so no file outside the input is read. */
#include "fuzz/fuzz.h"
#include "sim/sim.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = vt_fuzz_text(data, size);
    char err[512];
    vt_sim *s = NULL;
    if (vt_sim_load_string(text, "/nonexistent", "fuzz.json", &s, err, sizeof err) == 0) {
        /* a short run: real engines and brains are out of scope here */
        if (!strstr(text, "\"real\"") && !strstr(text, "\"llm\"") &&
            !strstr(text, "\"lesson\"") && vt_sim_duration(s) <= 4.0)
            vt_sim_run(s, err, sizeof err);
        vt_sim_free(s);
    }
    free(text);
    return 0;
}
