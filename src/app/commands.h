/* The subcommands of the voicetutor program (argv[0] is the command name;
 * each returns the process exit status). */
#ifndef VT_APP_COMMANDS_H
#define VT_APP_COMMANDS_H
int cmd_simulate(int argc, char **argv);
#include "app/cmd_engines.h"   /* ask, transcribe, say */
#ifdef VT_HAVE_SERVE
int cmd_serve(int argc, char **argv);
#endif
#ifdef VT_HAVE_TALK
int cmd_talk(int argc, char **argv);
#endif
#endif
