/*
 * Interruption metrics (seed 003's get_performance_summary): the count, the
 * last 50 latencies in a ring (avg, min, max, target_met = every one under
 * 50 ms), and end of speech to first audio.
 */
#include "core/internal.h"
#include <string.h>

void vt__metrics_add_latency(metrics *m, double ms)
{
    m->total_interruptions++;
    m->lat[m->lat_next] = ms;
    m->lat_next = (m->lat_next + 1) % VT_LATENCY_WINDOW;
    if (m->n_lat < VT_LATENCY_WINDOW)
        m->n_lat++;
}

void vt__metrics_get(const metrics *m, vt_metrics *out)
{
    memset(out, 0, sizeof *out);
    out->total_interruptions = m->total_interruptions;
    out->n_latencies = m->n_lat;
    out->turns = m->turns;
    out->last_first_audio_ms = m->last_first_audio_ms;
    out->last_first_answer_ms = m->last_first_answer_ms;
    out->target_met = 1;
    if (m->n_lat == 0)
        return;
    double sum = 0, mn = m->lat[0], mx = m->lat[0];
    for (int i = 0; i < m->n_lat; i++) {
        double v = m->lat[i];
        sum += v;
        if (v < mn)
            mn = v;
        if (v > mx)
            mx = v;
        if (v >= 50.0)
            out->target_met = 0;
    }
    out->avg_latency_ms = sum / m->n_lat;
    out->min_latency_ms = mn;
    out->max_latency_ms = mx;
}
