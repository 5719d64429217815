/* The subcommands of the voicetutor program (argv[0] is the command name;
 * each returns the process exit status). */
#ifndef VT_APP_COMMANDS_H
#define VT_APP_COMMANDS_H
int cmd_simulate(int argc, char **argv);
#ifdef VT_HAVE_SPEECH
#include "engines/speech/speech.h"
#endif
#ifdef VT_HAVE_BRAIN
#include "engines/brain/brain.h"
#endif
#ifdef VT_HAVE_SERVE
int cmd_serve(int argc, char **argv);
#endif
#ifdef VT_HAVE_TALK
int cmd_talk(int argc, char **argv);
#endif
#endif
