/*
 * What an audio_chunk says besides its audio (docs/PROTOCOL.md, "Audio
 * chunks in JSON mode"): its chunk_id, counted from 1 within the answer,
 * the filler or the acknowledgement; its text, the words whose audio is in
 * that chunk; and total_chunks, the answer's count once it is known.
 *
 * Why this exists: a transport that sends JSON audio must number the
 * chunks, but the answer's state belongs to the core. So nothing here is
 * guessed: an answer chunk's id is the core's own count of answer slices
 * (vt_metrics.chunks_sent, counted before the slice is handed out), a
 * clip's chunks count from the filler_started / acknowledgement_started
 * event that precedes them, the text is the text of the core's VT_ACT_AUDIO
 * action (the words whose end lies in the slice), and the total is
 * vt_core_total_chunks(). Feed it every event, and every audio action
 * before its slice, in the order the session gives them.
 *
 * One per connection, on the thread that runs the session. Owns `words`.
 */
#ifndef VT_PROTOCOL_CHUNK_SEQ_H
#define VT_PROTOCOL_CHUNK_SEQ_H
#include "voicetutor/core.h"

typedef struct vt_chunk_seq {
    int clip_chunks;   /* slices sent of the current filler or acknowledgement */
    char *words;       /* the words of the slice about to be sent (heap, NULL: none) */
} vt_chunk_seq;

/* A session event (any type; those that matter update the sequence). */
void vt_chunk_seq_event(vt_chunk_seq *s, const vt_event *ev);
/* The core's VT_ACT_AUDIO action, before its slice reaches the transport. */
void vt_chunk_seq_action(vt_chunk_seq *s, const vt_action *a);
/* The id of the slice of `kind` being sent now; *text is its words (valid
 * until the next call), *total the answer's total_chunks (0: not known). */
int vt_chunk_seq_next(vt_chunk_seq *s, const vt_core *core, vt_audio_kind kind,
                      const char **text, int *total);
void vt_chunk_seq_free(vt_chunk_seq *s);
#endif
