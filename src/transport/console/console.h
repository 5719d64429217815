/*
 * `voicetutor talk`: one live session on this machine's microphone and
 * speaker (or on WAV files in real time), with the keyboard, the echo
 * canceller and the terminal screen. This is the console transport's loop;
 * src/app/cmd_talk.c only turns the command line into a vt_console_config.
 *
 * DESIGN
 * One loop thread (the caller's) owns the session and polls two file
 * descriptors: an eventfd that the audio thread (a microphone frame is
 * ready) and the runtime's workers (engine results are ready) write, and
 * stdin (keys). Each turn of the loop: drain the engine results, take
 * every captured frame through the echo canceller into vt_session_audio,
 * report the playback position, handle keys (vt_session_key), and tick the
 * session when its deadline has come. The session's paced output goes into
 * the speaker ring; its interruption_detected event flushes that ring,
 * which the audio thread honours at its next frame.
 *
 * Exit: q or Ctrl-D, Ctrl-C / SIGTERM / SIGHUP (the terminal is restored
 * first), or in file mode once the input has ended and the tutor has been
 * quiet for idle_exit_s (or the file clock's tail ran out).
 */
#ifndef VT_CONSOLE_CONSOLE_H
#define VT_CONSOLE_CONSOLE_H

#include <stdint.h>
#include <stdio.h>

#include "runtime/session.h"
#include "transport/console/aec.h"
#include "transport/console/audio.h"
#include "transport/console/room.h"

typedef struct vt_console_config {
    vt_runtime_config rt;       /* engines, brain, core settings (out_rate is forced to audio.rate) */
    vt_session_options session; /* character (lesson), user id */
    vt_audio_config audio;      /* devices or files; wake_fd is set by vt_console_run */
    vt_room_config room;        /* used when echo is set (file mode) */
    int echo;                   /* simulate the room in file mode */
    int aec;                    /* 1: cancel the tutor's echo (default) */
    vt_aec_config aec_cfg;
    int welcome;                /* the tutor speaks first (the lesson's introduction) */
    const char *mic_out_file;   /* the microphone after echo cancellation (what the session heard) */
    const char *mic_raw_file;   /* ... and before it */
    int tty;                    /* -1: stdout is a terminal?; 1: the live screen; 0: JSON lines */
    int keys;                   /* read keys from stdin */
    double idle_exit_s;         /* file mode: leave this long after input end and tutor quiet */
    FILE *out;                  /* the screen (stdout when NULL) */
} vt_console_config;

void vt_console_config_default(vt_console_config *c);

typedef struct vt_console_result {
    int responses_started, responses_completed;
    int interruptions, by_key, by_command, by_speech, by_text;
    int errors;
    int signal;                 /* the signal that ended the run, 0 none */
    double seconds;             /* audio clock at the end */
    /* echo, over the frames where the speaker played (far end active) */
    double far_active_s;
    double erle_db;             /* 10 log10(microphone energy / energy after cancellation) */
    double mic_dbfs, out_dbfs;  /* their levels over those frames */
    vt_audio_stats audio;
} vt_console_result;

/* Runs the conversation until it ends. 0; VT_ENOTFOUND when there is no
 * sound card or no such device (err says what to do instead); another
 * negative code with a message in err. r (may be NULL) gets the figures. */
int vt_console_run(const vt_console_config *c, vt_console_result *r, char *err, size_t errlen);
#endif
