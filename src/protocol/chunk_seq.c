/* audio_chunk ids and text from the session's events (see chunk_seq.h). */
#include "protocol/chunk_seq.h"

#include <stdlib.h>
#include <string.h>

static void set_spoken(vt_chunk_seq *s, const char *text)
{
    free(s->spoken);
    s->spoken = text && text[0] ? strdup(text) : NULL;
}

void vt_chunk_seq_event(vt_chunk_seq *s, const vt_event *ev)
{
    switch (ev->type) {
    case VT_EV_FILLER_STARTED:
    case VT_EV_ACKNOWLEDGEMENT_STARTED:
        s->clip_chunks = 0; /* the clip's slices follow */
        break;
    case VT_EV_RESPONSE_START:
        set_spoken(s, NULL); /* a new answer: nothing of it heard yet */
        break;
    case VT_EV_RESPONSE_TEXT:
        set_spoken(s, ev->text2);
        break;
    default:
        break;
    }
}

int vt_chunk_seq_next(vt_chunk_seq *s, const vt_core *core, vt_audio_kind kind,
                      const char **text)
{
    if (kind != VT_AUDIO_ANSWER) {
        *text = ""; /* a clip is not part of the answer's words */
        return ++s->clip_chunks;
    }
    vt_metrics m;
    vt_core_metrics(core, &m);
    *text = s->spoken ? s->spoken : "";
    return m.chunks_sent;
}

void vt_chunk_seq_free(vt_chunk_seq *s)
{
    free(s->spoken);
    s->spoken = NULL;
    s->clip_chunks = 0;
}
