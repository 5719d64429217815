/*
 * The simulator: replays a conversation in virtual time, faster than real
 * time and deterministically (docs/SCENARIOS.md has the scenario format).
 *
 * User audio (WAV files or generated speech-like sound) is laid on a
 * timeline and fed to the core in 20 ms frames; key presses and typed text
 * come at given times; scripted engines answer the core's actions after
 * modelled delays: STT text per utterance, keyword hits, judge verdicts,
 * filler choices, LLM tokens, TTS audio whose length follows the words.
 * A modelled client plays the paced output and drops what it holds when
 * interruption_detected arrives, so out.wav is what the person hears.
 *
 * THREAD SAFETY: one vt_sim per thread.
 */
#ifndef VT_SIM_H
#define VT_SIM_H
#include "voicetutor/core.h"
#include <stddef.h>
#include <stdint.h>

typedef struct vt_sim vt_sim;

typedef struct vt_sim_record {
    double t;      /* virtual seconds */
    char *type;    /* protocol event name, "transition", or "engine.*" */
    char *json;    /* the whole line */
} vt_sim_record;

int vt_sim_load_file(const char *path, vt_sim **out, char *err, size_t errlen);
/* base_dir resolves relative WAV paths; name is used in messages. */
int vt_sim_load_string(const char *json, const char *base_dir, const char *name, vt_sim **out,
                       char *err, size_t errlen);
int vt_sim_run(vt_sim *s, char *err, size_t errlen);
/* events.jsonl, out.wav (what the person hears), in.wav (the microphone) */
int vt_sim_write(const vt_sim *s, const char *out_dir, char *err, size_t errlen);
void vt_sim_free(vt_sim *s);

size_t vt_sim_records(const vt_sim *s, const vt_sim_record **recs);
const int16_t *vt_sim_output(const vt_sim *s, size_t *n, int *rate);
const vt_core *vt_sim_core(const vt_sim *s);
/* The scenario's length in virtual seconds. */
double vt_sim_duration(const vt_sim *s);

/* ---- questions about a finished run (sim_query.c) ---- */
/* The nth (0-based) record of a type whose line contains has (NULL: any);
 * NULL when there is none. */
const vt_sim_record *vt_sim_find(const vt_sim *s, const char *type, const char *has, int n);
int vt_sim_count(const vt_sim *s, const char *type, const char *has);
/* Its virtual time in seconds, -1 when there is none. */
double vt_sim_time(const vt_sim *s, const char *type, const char *has, int n);
/* A string or number field of the nth record of a type, into buf ("" when
 * the record has no such field); -1 when there is no such record. */
int vt_sim_field(const vt_sim *s, const char *type, int n, const char *key, char *buf,
                 size_t cap);
/* Time of the nth transition into a state ("RESPONDING"), -1 if none. */
double vt_sim_entered(const vt_sim *s, const char *state, int n);
/* Mean absolute sample of out.wav between a and b seconds. */
double vt_sim_energy(const vt_sim *s, double a, double b);
#endif
