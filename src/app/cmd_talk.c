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

#define MAX_OPTS VT_RUNTIME_MAX_OPTS

int cmd_talk(int argc, char **argv)
{
    vt_console_config c;
    vt_console_config_default(&c);
    c.audio.max_tail_s = 60;
    int list = 0;
    char err[1024] = "";

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define NEED_VALUE()                                                            \
    do {                                                                        \
        if (!v) {                                                               \
            fprintf(stderr, "voicetutor talk: %s needs a value\n", a);          \
            return 2;                                                           \
        }                                                                       \
        i++;                                                                    \
    } while (0)
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--list-devices") == 0) {
            list = 1;
        } else if (strcmp(a, "--input-device") == 0) {
            NEED_VALUE();
            c.audio.input_device = v;
        } else if (strcmp(a, "--output-device") == 0) {
            NEED_VALUE();
            c.audio.output_device = v;
        } else if (strcmp(a, "--latency") == 0) {
            NEED_VALUE();
            c.audio.latency_ms = atof(v);
        } else if (strcmp(a, "--input") == 0) {
            NEED_VALUE();
            c.audio.input_file = v;
        } else if (strcmp(a, "--output") == 0) {
            NEED_VALUE();
            c.audio.output_file = v;
        } else if (strcmp(a, "--tail") == 0) {
            NEED_VALUE();
            c.audio.max_tail_s = atof(v);
            if (c.audio.max_tail_s < 0 || c.audio.max_tail_s > 3600) {
                fprintf(stderr, "voicetutor talk: --tail %s: 0..3600 seconds\n", v);
                return 2;
            }
        } else if (strcmp(a, "--idle") == 0) {
            NEED_VALUE();
            c.idle_exit_s = atof(v);
        } else if (strcmp(a, "--echo") == 0) {
            NEED_VALUE();
            if (vt_room_parse(v, &c.room, err, sizeof err) != 0) {
                fprintf(stderr, "voicetutor talk: %s\n", err);
                return 2;
            }
            c.echo = 1;
        } else if (strcmp(a, "--mic-out") == 0) {
            NEED_VALUE();
            c.mic_out_file = v;
        } else if (strcmp(a, "--mic-raw") == 0) {
            NEED_VALUE();
            c.mic_raw_file = v;
        } else if (strcmp(a, "--no-aec") == 0) {
            c.aec = 0;
        } else if (strcmp(a, "--aec-tail") == 0) {
            NEED_VALUE();
            c.aec_cfg.filter_ms = atoi(v);
            if (c.aec_cfg.filter_ms < 10 || c.aec_cfg.filter_ms > 1000) {
                fprintf(stderr, "voicetutor talk: --aec-tail %s: 10..1000 ms\n", v);
                return 2;
            }
        } else if (strcmp(a, "--lesson") == 0 || strcmp(a, "--character") == 0) {
            NEED_VALUE();
            c.session.character = v;
        } else if (strcmp(a, "--brain") == 0) {
            NEED_VALUE();
            c.rt.brain = v;
        } else if (strcmp(a, "-o") == 0) {
            NEED_VALUE();
            char *eq = strchr(argv[i], '=');
            if (!eq || eq == argv[i] || c.rt.n_brain_opts == MAX_OPTS) {
                fprintf(stderr, "voicetutor talk: -o wants key=value (got '%s')\n", argv[i]);
                return 2;
            }
            *eq = '\0';
            c.rt.brain_opts[c.rt.n_brain_opts++] = (vt_opt){argv[i], eq + 1};
        } else if (strcmp(a, "--voice") == 0) {
            NEED_VALUE();
            c.rt.voice = v;
        } else if (strcmp(a, "--mode") == 0) {
            NEED_VALUE();
            if (vt_mode_parse(v, &c.rt.core.interrupt_mode) != 0) {
                fprintf(stderr, "voicetutor talk: --mode %s: commands, speech or both\n", v);
                return 2;
            }
        } else if (strcmp(a, "--threshold") == 0) {
            NEED_VALUE();
            c.rt.core.interrupt_threshold = atof(v);
        } else if (strcmp(a, "--user") == 0) {
            NEED_VALUE();
            c.session.user_id = v;
        } else if (strcmp(a, "--no-welcome") == 0) {
            c.welcome = 0;
        } else if (strcmp(a, "--json") == 0) {
            c.tty = 0;
        } else if (strcmp(a, "--no-keys") == 0) {
            c.keys = 0;
        } else {
            fprintf(stderr, "voicetutor talk: unknown option '%s'\n\n", a);
            usage(stderr);
            return 2;
        }
#undef NEED_VALUE
    }
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
