/*
 * What an audio_chunk says besides its audio (docs/PROTOCOL.md, "Audio
 * chunks in JSON mode"): its chunk_id, counted from 1 within the answer,
 * the filler or the acknowledgement, and its text, the answer's words
 * spoken so far.
 *
 * Why this exists: a transport that sends JSON audio must number the
 * slices, but the answer's state belongs to the core. So nothing here is
 * guessed: an answer slice's id is the core's own count of answer slices
 * (vt_metrics.chunks_sent, counted before the slice is handed out), a
 * clip's slices count from the filler_started / acknowledgement_started
 * event that precedes them, and the text is the spoken_text of the last
 * response_text event of the answer. Feed it every event and every slice
 * in the order the session gives them.
 *
 * One per connection, on the thread that runs the session. Owns `spoken`.
 */
#ifndef VT_PROTOCOL_CHUNK_SEQ_H
#define VT_PROTOCOL_CHUNK_SEQ_H
#include "voicetutor/core.h"

typedef struct vt_chunk_seq {
    int clip_chunks;   /* slices sent of the current filler or acknowledgement */
    char *spoken;      /* the answer's words spoken so far (heap, NULL: none) */
} vt_chunk_seq;

/* A session event (any type; those that matter update the sequence). */
void vt_chunk_seq_event(vt_chunk_seq *s, const vt_event *ev);
/* The id of the slice of `kind` being sent now; *text is its text, valid
 * until the next call. */
int vt_chunk_seq_next(vt_chunk_seq *s, const vt_core *core, vt_audio_kind kind,
                      const char **text);
void vt_chunk_seq_free(vt_chunk_seq *s);
#endif
