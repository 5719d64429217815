/* vt_config from a JSON object (see config_json.h). */
#include "protocol/config_json.h"
#include <stdbool.h>
#include <stddef.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

typedef enum { F_INT, F_DOUBLE, F_STR, F_BOOL } ftype;
typedef struct field {
    const char *name;
    ftype type;
    size_t off, size;
} field;

#define FI(n) {#n, F_INT, offsetof(vt_config, n), sizeof(int)}
#define FB(n) {#n, F_BOOL, offsetof(vt_config, n), sizeof(int)}
#define FD(n) {#n, F_DOUBLE, offsetof(vt_config, n), sizeof(double)}
#define FS(n) {#n, F_STR, offsetof(vt_config, n), sizeof(((vt_config *)0)->n)}

static const field k_fields[] = {
    FI(out_rate), FI(vad_frame_ms), FI(out_frame_ms), FD(vad_start_confidence),
    FD(vad_end_confidence), FI(vad_start_ms), FI(vad_hangover_ms), FD(vad_floor_init),
    FD(vad_floor_min), FI(stt_preroll_ms), FI(complete_silence_ms), FI(incomplete_silence_ms),
    FI(final_wait_ms), FB(interrupt_enabled), FD(interrupt_threshold),
    FI(interrupt_cooldown_ms), FI(min_speech_ms), FB(filler_enabled), FI(filler_deadline_ms), FI(filler_delay_ms),
    FI(phrase_first_min_chars), FI(phrase_min_chars), FI(phrase_max_chars), FI(pacer_lead_ms),
    FI(tts_lookahead_ms), FI(out_chunk_ms), FB(acknowledgement), FI(preempt_ms), FI(interrupt_min_words), FI(resume_ms), FI(think_silence_ms), FD(duck_db),
    FI(duck_ramp_ms), FS(character), FS(apology), FI(seed),
};

int vt_config_apply_json(vt_config *cfg, const cJSON *obj, char *err, size_t errlen)
{
    if (!cfg || !obj)
        return VT_EINVAL;
    if (!cJSON_IsObject(obj)) {
        snprintf(err, errlen, "config: must be a JSON object");
        return VT_EFORMAT;
    }
    const cJSON *it;
    cJSON_ArrayForEach(it, obj)
    {
        const char *k = it->string;
        if (strcmp(k, "interrupt_mode") == 0) {
            vt_interrupt_mode m;
            if (!cJSON_IsString(it) || vt_mode_parse(it->valuestring, &m) != 0) {
                snprintf(err, errlen, "config.interrupt_mode: must be \"commands\", \"speech\" "
                                      "or \"both\"");
                return VT_EINVAL;
            }
            cfg->interrupt_mode = m;
            continue;
        }
        bool backch = strcmp(k, "backchannels") == 0;
        if (strcmp(k, "commands") == 0 || backch) {
            char csv[VT_MAX_COMMANDS * VT_MAX_COMMAND_LEN * 2] = "";
            if (cJSON_IsString(it)) {
                snprintf(csv, sizeof csv, "%s", it->valuestring);
            } else if (cJSON_IsArray(it)) {
                const cJSON *w;
                cJSON_ArrayForEach(w, it)
                {
                    if (!cJSON_IsString(w)) {
                        snprintf(err, errlen, "config.%s: every entry must be a string", k);
                        return VT_EINVAL;
                    }
                    size_t l = strlen(csv);
                    snprintf(csv + l, sizeof csv - l, "%s%s", l ? "," : "", w->valuestring);
                }
            } else {
                snprintf(err, errlen, "config.%s: must be a list of words", k);
                return VT_EINVAL;
            }
            int rc = backch ? vt_config_set_backchannels(cfg, csv, err, errlen)
                            : vt_config_set_commands(cfg, csv, err, errlen);
            if (rc)
                return rc;
            continue;
        }
        const field *f = NULL;
        for (size_t i = 0; i < sizeof k_fields / sizeof *k_fields; i++)
            if (strcmp(k_fields[i].name, k) == 0)
                f = &k_fields[i];
        if (!f) {
            snprintf(err, errlen, "config: unknown key \"%s\"", k);
            return VT_EINVAL;
        }
        char *p = (char *)cfg + f->off;
        switch (f->type) {
        case F_BOOL:
        case F_INT:
            if (f->type == F_BOOL && cJSON_IsBool(it)) {
                *(int *)p = cJSON_IsTrue(it);
                break;
            }
            /* range first: casting a double outside int is undefined */
            double v = cJSON_IsNumber(it) ? it->valuedouble : 0.5;
            if (!(v >= INT_MIN && v <= INT_MAX) || v != floor(v)) {
                snprintf(err, errlen, "config.%s: must be a whole number", k);
                return VT_EINVAL;
            }
            *(int *)p = (int)it->valuedouble;
            break;
        case F_DOUBLE:
            if (!cJSON_IsNumber(it)) {
                snprintf(err, errlen, "config.%s: must be a number", k);
                return VT_EINVAL;
            }
            *(double *)p = it->valuedouble;
            break;
        case F_STR:
            if (!cJSON_IsString(it) || strlen(it->valuestring) >= f->size) {
                snprintf(err, errlen, "config.%s: must be a string of at most %zu characters",
                         k, f->size - 1);
                return VT_EINVAL;
            }
            snprintf(p, f->size, "%s", it->valuestring);
            break;
        }
    }
    return vt_config_validate(cfg, err, errlen);
}
