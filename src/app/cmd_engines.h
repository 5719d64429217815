/*
 * The subcommands that drive one engine family by hand: `ask` (a brain,
 * cmd_brain.c), `transcribe` and `say` (the speech engines, cmd_speech.c).
 * They are application code, so they are declared here and not in the
 * engine headers: an engine library knows nothing of the command line.
 * argv[0] is the subcommand; each returns the process exit status.
 */
#ifndef VT_APP_CMD_ENGINES_H
#define VT_APP_CMD_ENGINES_H

/* Declared whatever the build holds (a declaration costs nothing); the
 * definitions exist only with their part (VT_HAVE_SPEECH, VT_HAVE_BRAIN). */

/* voicetutor transcribe FILE.wav [--hmm DIR] [--lm FILE] [--dict FILE]
 * voicetutor say "text" -o out.wav [--voice V] [--rate HZ] */
int cmd_transcribe(int argc, char **argv);
int cmd_say(int argc, char **argv);

/* Streams a brain's reply to typed text on stdout; `voicetutor ask --help`. */
int cmd_ask(int argc, char **argv);

#endif
