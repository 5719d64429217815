/* audio_chunk ids, words and totals from the session's output (see chunk_seq.h). */
#include "protocol/chunk_seq.h"

#include <stdlib.h>
#include <string.h>

void vt_chunk_seq_event(vt_chunk_seq *s, const vt_event *ev)
{
    switch (ev->type) {
    case VT_EV_FILLER_STARTED:
    case VT_EV_ACKNOWLEDGEMENT_STARTED:
        s->clip_chunks = 0; /* the clip's slices follow */
        break;
    default:
        break;
    }
}

void vt_chunk_seq_action(vt_chunk_seq *s, const vt_action *a)
{
    if (a->type != VT_ACT_AUDIO)
        return;
    free(s->words);
    s->words = a->text && a->text[0] ? strdup(a->text) : NULL;
}

int vt_chunk_seq_next(vt_chunk_seq *s, const vt_core *core, vt_audio_kind kind,
                      const char **text, int *total)
{
    *total = 0;
    if (kind != VT_AUDIO_ANSWER) {
        *text = ""; /* a clip is not part of the answer's words */
        return ++s->clip_chunks;
    }
    vt_metrics m;
    vt_core_metrics(core, &m);
    *text = s->words ? s->words : "";
    *total = vt_core_total_chunks(core);
    return m.chunks_sent;
}

void vt_chunk_seq_free(vt_chunk_seq *s)
{
    free(s->words);
    s->words = NULL;
    s->clip_chunks = 0;
}
