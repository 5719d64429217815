/*
 * Voice activity detection on frame energy (always on, seed 003).
 *
 * Each 10/20 ms frame gets an RMS energy and a confidence on seed 003's
 * threshold scale: confidence = 2*log10(rms / noise_floor), so 1.0 is 10 dB
 * over the floor, 1.5 (the default interruption threshold) 15 dB and 3.0
 * 30 dB. The floor adapts while nobody speaks: fast down, slowly up. Speech
 * starts after vad_start_ms of frames at or above the start confidence and
 * ends after vad_hangover_ms below the (lower) end confidence: hysteresis.
 */
#include "core/internal.h"
#include <math.h>
#include <string.h>

double vt__vad_confidence(double rms, double floor)
{
    if (rms <= floor || floor <= 0)
        return 0.0;
    return 2.0 * log10(rms / floor);
}

void vt__vad_init(vad *v, const vt_config *cfg)
{
    memset(v, 0, sizeof *v);
    v->frame_samples = VT_IN_RATE * cfg->vad_frame_ms / 1000;
    v->floor = cfg->vad_floor_init;
    v->floor_min = cfg->vad_floor_min;
    if (v->floor < v->floor_min)
        v->floor = v->floor_min;
    v->start_conf = cfg->vad_start_confidence;
    v->end_conf = cfg->vad_end_confidence;
    v->start_frames = (cfg->vad_start_ms + cfg->vad_frame_ms - 1) / cfg->vad_frame_ms;
    v->hang_frames = (cfg->vad_hangover_ms + cfg->vad_frame_ms - 1) / cfg->vad_frame_ms;
    if (v->start_frames < 1)
        v->start_frames = 1;
    if (v->hang_frames < 1)
        v->hang_frames = 1;
}

vad_edge vt__vad_frame(vad *v, const int16_t *frame, int64_t end_us)
{
    double acc = 0;
    for (int i = 0; i < v->frame_samples; i++)
        acc += (double)frame[i] * (double)frame[i];
    double rms = sqrt(acc / v->frame_samples);
    int64_t frame_us = (int64_t)v->frame_samples * 1000000 / VT_IN_RATE;
    v->energy = rms;
    v->conf = vt__vad_confidence(rms, v->floor);

    if (!v->in_speech) {
        if (v->conf >= v->start_conf) {
            if (v->run_speech == 0)
                v->cand_start_us = end_us - frame_us;
            if (++v->run_speech >= v->start_frames) {
                v->in_speech = true;
                v->seg_start_us = v->cand_start_us;
                v->last_voice_us = end_us;
                v->run_silence = 0;
                return VAD_START;
            }
        } else {
            v->run_speech = 0;
            /* adapt the noise floor only on frames that are not speech */
            double k = rms < v->floor ? 0.2 : 0.01;
            v->floor += k * (rms - v->floor);
            if (v->floor < v->floor_min)
                v->floor = v->floor_min;
        }
        return VAD_NONE;
    }
    if (v->conf >= v->end_conf) {
        v->run_silence = 0;
        v->last_voice_us = end_us;
        return VAD_NONE;
    }
    if (++v->run_silence >= v->hang_frames) {
        v->in_speech = false;
        v->run_speech = 0;
        return VAD_END;
    }
    return VAD_NONE;
}
