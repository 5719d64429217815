/*
 * The terminal of `voicetutor talk`: keys without Enter and without echo
 * (raw mode), and a terminal that is always given back as it was — on a
 * normal exit (atexit), on Ctrl-C, SIGTERM and SIGHUP (the handler restores
 * at once with tcsetattr, which is async-signal-safe, and sets a flag the
 * loop checks), and around Ctrl-Z (restored while stopped, raw again on
 * SIGCONT). Ctrl-C keeps working because ISIG stays on; a second one exits
 * at once, for a loop that does not come back.
 *
 * THREAD SAFETY: call from the main thread. vt_term_restore is also called
 * from signal handlers.
 */
#ifndef VT_CONSOLE_TERM_H
#define VT_CONSOLE_TERM_H

#include <signal.h>

/* Raw mode on fd (no line buffering, no echo, signals kept). Saves the
 * settings; out_fd (or -1) also gets the cursor shown and colours reset on
 * restore. 0; VT_EINVAL when fd is not a terminal; VT_EIO when it fails. */
int vt_term_raw(int fd, int out_fd);
/* Give the terminal back as it was (idempotent; async-signal-safe). */
void vt_term_restore(void);
int vt_term_is_raw(void);

/* Handlers for SIGINT, SIGTERM, SIGHUP (restore, then *flag = signal
 * number; a second signal exits with 128 + its number), SIGTSTP and
 * SIGCONT (restore while stopped, raw again after). */
void vt_term_catch_signals(volatile sig_atomic_t *flag);
/* Back to the default handlers. */
void vt_term_release_signals(void);

enum { VT_KEY_NONE = 0, VT_KEY_INTERRUPT, VT_KEY_QUIT };
/* What a byte typed means: Space or Enter interrupt, q or Ctrl-D quits. */
int vt_term_key(int byte);
#endif
