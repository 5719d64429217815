/*
 * What `voicetutor talk` shows. On a terminal: finished lines scroll up
 * ("you: ...", "tutor: ..."), and a live region of two lines at the bottom
 * is redrawn in place with plain ANSI — the tutor's words as they are
 * spoken (or the person's interim text, dim) and a status line (state, the
 * microphone level after echo cancellation, the keys). When stdout is not a
 * terminal (a pipe, a file, the tests) it prints one JSON object per line
 * instead: every protocol event of docs/PROTOCOL.md with "t_ms" (time since
 * start), plus the console's own ("talk_started", "speaker_flushed",
 * "talk_ended", ...).
 *
 * THREAD SAFETY: the loop thread only.
 */
#ifndef VT_CONSOLE_UI_H
#define VT_CONSOLE_UI_H

#include <stdint.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "voicetutor/core.h"

typedef struct vt_ui vt_ui;

typedef struct vt_ui_config {
    FILE *out;
    int tty;                  /* 1: the live screen; 0: JSON lines */
    int color;                /* ANSI colours (tty only) */
    const char *character;    /* the tutor's name in events */
    const char *status_note;  /* shown on the status line ("echo canceller on") */
} vt_ui_config;

vt_ui *vt_ui_create(const vt_ui_config *c);
void vt_ui_destroy(vt_ui *ui);

/* A protocol event from the session, at t_ms since start. */
void vt_ui_event(vt_ui *ui, const vt_event *ev, int64_t t_ms);
/* A line of the console's own: tty prints message; JSON mode prints
 * {"type": type, "t_ms", "message"} plus the fields of extra (taken over,
 * may be NULL). */
void vt_ui_note(vt_ui *ui, int64_t t_ms, const char *type, const char *message, cJSON *extra);
/* The microphone level after echo cancellation, dBFS (status meter). */
void vt_ui_level(vt_ui *ui, double dbfs);
/* Redraw the live region when something changed and at least 80 ms
 * passed since the last redraw (tty only); t_ms since start. */
void vt_ui_tick(vt_ui *ui, int64_t t_ms);
/* Remove the live region (before exit or before printing elsewhere). */
void vt_ui_finish(vt_ui *ui);

/* The live region's text, for tests: the last line-1 text and status. */
const char *vt_ui_live_text(const vt_ui *ui);
vt_state vt_ui_state(const vt_ui *ui);
#endif
