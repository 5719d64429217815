/*
 * `voicetutor talk`: talk with the tutor in this terminal — the microphone
 * and the speaker through PortAudio, Space or Enter to interrupt, the echo
 * canceller so the tutor does not interrupt itself. Without a sound card it
 * says so and suggests --input/--output, which run the same code path in
 * real time with WAV files (what the tests use). This file only reads the
 * command line; the transport is src/transport/console/ (console.h).
 *
 * Exit status: 0 done, 1 a failure (message on stderr), 2 bad usage or no
 * sound card, 130 / 143 ended by Ctrl-C / SIGTERM (terminal restored).
 */
#include "app/args.h"
#include "app/commands.h"
#include "transport/console/console.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f,
"usage: voicetutor talk [options]\n"
"Talk with the tutor: it listens on the microphone and answers through the speaker.\n"
"Space or Enter interrupts it (so does saying \"stop\"), q quits, Ctrl-C too.\n"
"\n"
"audio\n"
"  --list-devices          print the sound devices and exit\n"
"  --input-device N|NAME   microphone: an index from --list-devices or part of a name\n"
"  --output-device N|NAME  speaker, likewise (default: the system's defaults)\n"
"  --latency MS            suggested device latency (default: the device's low latency)\n"
"  --input FILE.wav        no sound card: the microphone is this file, in real time\n"
"  --output FILE.wav       ... and the speaker is written here (both are needed)\n"
"  --tail SECONDS          file mode: the clock runs at most this long after the input\n"
"                          ends (default 60); talk leaves earlier once the tutor is quiet\n"
"  --idle SECONDS          file mode: quiet time after the input that ends talk (2.5)\n"
"  --echo D:G[:RT[:N]]     file mode: the microphone also hears the speaker as in a room,\n"
"                          after D ms, at G dB, smeared over RT ms (default 50), with\n"
"                          noise at N dBFS (default -60); e.g. --echo 60:-10\n"
"  --mic-out FILE.wav      write the microphone after echo cancellation (what the tutor heard)\n"
"  --mic-raw FILE.wav      ... and before it\n"
"echo cancellation\n"
"  --no-aec                turn the echo canceller off (a headset needs none)\n"
"  --aec-tail MS           echo length the canceller covers (default 256)\n"
"the tutor\n"
"  --lesson NAME           the lesson (times-tables, capitals, science) or character\n"
"  --character NAME        the same\n"
"  --brain lesson|llm      who answers (default lesson); -o key=value sets its options\n"
"                          (docs/BRAIN.md), e.g. -o base_url=http://127.0.0.1:11434/v1\n"
"  --voice V               rms (default), slt, awb, kal16, espeak[:LANG]\n"
"  --stt NAME              pocketsphinx (default), or openai: each final text from an\n"
"                          OpenAI-compatible server (-o stt_url=..., docs/SPEECH.md)\n"
"  --tts openai            answers spoken by an OpenAI-compatible server (-o tts_url=...)\n"
"  --mode M                what interrupts besides keys: commands, speech or both (default)\n"
"  --threshold X           speech interruption threshold, 0.5..3.0 (default 1.5)\n"
"  --user ID               whose lesson progress (default \"default\")\n"
"  --no-welcome            do not speak the lesson's introduction first\n"
"screen\n"
"  --json                  one JSON event per line even on a terminal (the default\n"
"                          when stdout is not a terminal)\n"
"  --no-keys               do not read keys from standard input\n"
"\n"
"Without a sound card (as on servers), try:\n"
"  voicetutor say \"What is seven times eight?\" -o question.wav\n"
"  voicetutor talk --input question.wav --output answer.wav --no-welcome\n");
}

static int parse_echo(void *dst, const char *v, char *err, size_t errlen)
{
    vt_console_config *c = dst;
    if (vt_room_parse(v, &c->room, err, errlen) != 0)
        return -1;
    c->echo = 1;
    return 0;
}

static int parse_mode(void *dst, const char *v, char *err, size_t errlen)
{
    if (vt_mode_parse(v, dst) == 0)
        return 0;
    snprintf(err, errlen, "commands, speech or both");
    return -1;
}

int cmd_talk(int argc, char **argv)
{
    vt_console_config c;
    vt_console_config_default(&c);
    c.audio.max_tail_s = 60;
    int list = 0;
    char err[1024] = "";
    args_kv kv = {.opts = c.rt.brain_opts, .n = &c.rt.n_brain_opts, .cap = VT_RUNTIME_MAX_OPTS};
    const args_spec specs[] = {
        {"--list-devices", NULL, ARGS_FLAG, &list, 0, 0, NULL},
        {"--input-device", NULL, ARGS_STR, &c.audio.input_device, 0, 0, NULL},
        {"--output-device", NULL, ARGS_STR, &c.audio.output_device, 0, 0, NULL},
        {"--latency", NULL, ARGS_DOUBLE, &c.audio.latency_ms, 0, 0, NULL},
        {"--input", NULL, ARGS_STR, &c.audio.input_file, 0, 0, NULL},
        {"--output", NULL, ARGS_STR, &c.audio.output_file, 0, 0, NULL},
        {"--tail", NULL, ARGS_DOUBLE, &c.audio.max_tail_s, 0, 3600, NULL},
        {"--idle", NULL, ARGS_DOUBLE, &c.idle_exit_s, 0, 0, NULL},
        {"--echo", NULL, ARGS_FN, &c, 0, 0, parse_echo},
        {"--mic-out", NULL, ARGS_STR, &c.mic_out_file, 0, 0, NULL},
        {"--mic-raw", NULL, ARGS_STR, &c.mic_raw_file, 0, 0, NULL},
        {"--no-aec", NULL, ARGS_UNFLAG, &c.aec, 0, 0, NULL},
        {"--aec-tail", NULL, ARGS_INT, &c.aec_cfg.filter_ms, 10, 1000, NULL},
        {"--lesson", "--character", ARGS_STR, &c.session.character, 0, 0, NULL},
        {"--brain", NULL, ARGS_STR, &c.rt.brain, 0, 0, NULL},
        {"-o", NULL, ARGS_KV, &kv, 0, 0, NULL},
        {"--voice", NULL, ARGS_STR, &c.rt.voice, 0, 0, NULL},
        {"--stt", NULL, ARGS_STR, &c.rt.stt, 0, 0, NULL},
        {"--tts", NULL, ARGS_STR, &c.rt.tts, 0, 0, NULL},
        {"--mode", NULL, ARGS_FN, &c.rt.core.interrupt_mode, 0, 0, parse_mode},
        {"--threshold", NULL, ARGS_DOUBLE, &c.rt.core.interrupt_threshold, 0, 0, NULL},
        {"--user", NULL, ARGS_STR, &c.session.user_id, 0, 0, NULL},
        {"--no-welcome", NULL, ARGS_UNFLAG, &c.welcome, 0, 0, NULL},
        {"--json", NULL, ARGS_UNFLAG, &c.tty, 0, 0, NULL},
        {"--no-keys", NULL, ARGS_UNFLAG, &c.keys, 0, 0, NULL},
        {NULL, NULL, 0, NULL, 0, 0, NULL},
    };
    args_cmd cmd = {.prog = "voicetutor talk", .specs = specs, .usage = usage};
    int ar = args_parse(&cmd, argc, argv);
    if (ar != ARGS_OK)
        return ar == ARGS_HELP ? 0 : 2;
    if (list) {
        if (vt_audio_list_devices(stdout, err, sizeof err) != 0) {
            fprintf(stderr, "voicetutor talk: %s\n", err);
            return 1;
        }
        return 0;
    }
    if (!c.audio.input_file != !c.audio.output_file) {
        fprintf(stderr, "voicetutor talk: file mode needs both --input FILE.wav and "
                        "--output FILE.wav\n");
        return 2;
    }
    if (c.echo && !c.audio.input_file) {
        fprintf(stderr, "voicetutor talk: --echo simulates a room between files: it needs "
                        "--input and --output (a real room has its own echo)\n");
        return 2;
    }
    if ((c.mic_out_file || c.mic_raw_file) && !c.audio.input_file) {
        /* allowed with devices too: a recording of what the tutor heard */
    }
    vt_console_result r;
    int rc = vt_console_run(&c, &r, err, sizeof err);
    if (rc == VT_ENOTFOUND) {
        fprintf(stderr, "voicetutor talk: %s\n", err);
        return 2;
    }
    if (rc) {
        fprintf(stderr, "voicetutor talk: %s\n", err[0] ? err : vt_strerror(rc));
        return rc == VT_EINVAL ? 2 : 1;
    }
    if (r.signal)
        return 128 + r.signal;
    return 0;
}
