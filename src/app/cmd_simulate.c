/*
 * `voicetutor simulate SCENARIO.json [--out DIR]`: replay a conversation in
 * virtual time (src/sim) and write events.jsonl, out.wav and in.wav. Prints
 * a readable timeline of the protocol events and state transitions.
 */
#include "app/commands.h"
#include "sim/sim.h"
#include <stdio.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: voicetutor simulate SCENARIO.json [--out DIR] [--quiet]\n"
               "  Replays the scenario in virtual time with scripted engines and writes\n"
               "  DIR/events.jsonl (every event and transition with its time), DIR/out.wav\n"
               "  (what the person hears) and DIR/in.wav (the microphone). DIR defaults to\n"
               "  out/sim. The scenario format is described in docs/SCENARIOS.md.\n");
}

int cmd_simulate(int argc, char **argv)
{
    const char *scenario = NULL, *out = "out/sim";
    int quiet = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--out") == 0 || strcmp(argv[i], "-o") == 0) {
            if (++i >= argc) {
                fprintf(stderr, "simulate: --out needs a folder\n");
                return 2;
            }
            out = argv[i];
        } else if (strcmp(argv[i], "--quiet") == 0 || strcmp(argv[i], "-q") == 0) {
            quiet = 1;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "simulate: unknown option '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        } else if (!scenario) {
            scenario = argv[i];
        } else {
            fprintf(stderr, "simulate: only one scenario at a time ('%s')\n", argv[i]);
            return 2;
        }
    }
    if (!scenario) {
        usage(stderr);
        return 2;
    }
    char err[1024] = "";
    vt_sim *s = NULL;
    if (vt_sim_load_file(scenario, &s, err, sizeof err) != 0) {
        fprintf(stderr, "simulate: %s\n", err);
        return 1;
    }
    int rc = vt_sim_run(s, err, sizeof err);
    if (rc == 0)
        rc = vt_sim_write(s, out, err, sizeof err);
    if (rc) {
        fprintf(stderr, "simulate: %s\n", err);
        vt_sim_free(s);
        return 1;
    }
    if (!quiet) {
        const vt_sim_record *r;
        size_t n = vt_sim_records(s, &r);
        for (size_t i = 0; i < n; i++)
            if (strncmp(r[i].type, "engine.", 7) != 0 && strcmp(r[i].type, "state_changed") != 0)
                printf("%8.3f  %s\n", r[i].t, r[i].json);
    }
    vt_metrics m;
    vt_core_metrics(vt_sim_core(s), &m);
    printf("simulate: %d turns, %d interruptions, last end-of-speech to first audio %.0f ms; "
           "wrote %s/events.jsonl, %s/out.wav\n",
           m.turns, m.total_interruptions, m.last_first_audio_ms, out, out);
    vt_sim_free(s);
    return 0;
}
