/*
 * voicetutor — the command line: serve | talk | simulate | transcribe | say.
 * Each subcommand lives in its own file; this table dispatches to them.
 */
#include "app/commands.h"
#include <stdio.h>
#include <string.h>

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *help;
} command;

static const command k_commands[] = {
    {"simulate", cmd_simulate, "replay a scenario in virtual time (events.jsonl, out.wav)"},
#ifdef VT_HAVE_SPEECH
    {"transcribe", cmd_transcribe, "print the text of a WAV file, one line per utterance"},
    {"say", cmd_say, "speak a text into a WAV file"},
#endif
#ifdef VT_HAVE_BRAIN
    {"ask", cmd_ask, "stream a brain's reply to a typed question"},
#endif
#ifdef VT_HAVE_SERVE
    {"serve", cmd_serve, "serve the web client and the WebSocket protocol (/ws/audio)"},
#endif
#ifdef VT_HAVE_TALK
    {"talk", cmd_talk, "talk in this terminal: microphone, speaker, Space interrupts"},
#endif
    {NULL, NULL, NULL}};

static void usage(FILE *f)
{
    fprintf(f, "usage: voicetutor COMMAND [options]\n\ncommands:\n");
    for (const command *c = k_commands; c->name; c++)
        fprintf(f, "  %-11s %s\n", c->name, c->help);
    fprintf(f, "\nRun 'voicetutor COMMAND --help' for a command's options.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    for (const command *c = k_commands; c->name; c++)
        if (strcmp(argv[1], c->name) == 0)
            return c->run(argc - 1, argv + 1);
    fprintf(stderr, "voicetutor: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
