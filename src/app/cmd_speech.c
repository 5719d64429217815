/*
 * `voicetutor transcribe` and `voicetutor say`: the speech engines from the
 * command line, for trying them out and for scripts.
 *
 *   transcribe FILE.wav [--hmm DIR] [--lm FILE] [--dict FILE] [--warmup]
 *       reads any WAV (any rate, any channel count; resampled to 16 kHz
 *       mono), segments it with pocketsphinx's voice activity detector and
 *       prints the final text of each utterance on its own line.
 *   say "text" -o out.wav [--voice V] [--rate HZ]
 *       speaks text with V = slt | rms | awb | kal16 | espeak[:LANG] (flite
 *       rms by default) into a 16-bit mono WAV at HZ (the voice's own rate
 *       by default).
 *
 * Bad input (unreadable, empty, non-WAV or too long files, missing models)
 * gives one line naming what is wrong and how to fix it, and exit code 1;
 * bad usage gives exit code 2.
 */
#include "app/cmd_engines.h"
#include "engines/speech/speech.h"
#include "util/wav.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PIECE 320  /* 20 ms at 16 kHz */

static void usage_transcribe(FILE *f)
{
    fprintf(f, "usage: voicetutor transcribe FILE.wav [--hmm DIR] [--lm FILE] [--dict FILE] "
               "[--no-warmup]\n");
}

static void usage_say(FILE *f)
{
    fprintf(f, "usage: voicetutor say \"text\" -o out.wav [--voice slt|rms|awb|kal16|"
               "espeak[:LANG]] [--rate HZ]\n");
}

static int print_utterance(const vt_stt_ops *ops, void *ctx, int *printed)
{
    vt_stt_result *r = malloc(sizeof *r);
    if (!r)
        return VT_ENOMEM;
    int rc = ops->end(ctx, r);
    if (!rc && r->text[0]) {
        printf("%s\n", r->text);
        fflush(stdout);
        (*printed)++;
    }
    free(r);
    return rc;
}

int cmd_transcribe(int argc, char **argv)
{
    const char *path = NULL;
    vt_opt opts[8];
    size_t n_opts = 0;
    opts[n_opts++] = (vt_opt){ "vad", "1" };
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *key = strcmp(a, "--hmm") == 0    ? "hmm"
                          : strcmp(a, "--lm") == 0   ? "lm"
                          : strcmp(a, "--dict") == 0 ? "dict"
                                                     : NULL;
        if (key) {
            if (i + 1 >= argc) {
                fprintf(stderr, "transcribe: %s needs a value\n", a);
                usage_transcribe(stderr);
                return 2;
            }
            opts[n_opts++] = (vt_opt){ key, argv[++i] };
        } else if (strcmp(a, "--warmup") == 0) {
            opts[n_opts++] = (vt_opt){ "warmup", "1" };
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage_transcribe(stdout);
            return 0;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "transcribe: unknown option %s\n", a);
            usage_transcribe(stderr);
            return 2;
        } else if (path) {
            fprintf(stderr, "transcribe: one file at a time (got %s and %s)\n", path, a);
            return 2;
        } else {
            path = a;
        }
    }
    if (!path) {
        usage_transcribe(stderr);
        return 2;
    }

    char err[512] = "";
    int16_t *pcm = NULL;
    size_t n = 0;
    void *model = NULL, *ctx = NULL;
    const vt_stt_ops *ops = vt_stt_find("pocketsphinx"); /* segments with its own VAD */
    int status = 1, printed = 0, started = 0;
    int rc = vt_wav_read(path, VT_IN_RATE, &pcm, &n, NULL, err, sizeof err);
    if (rc) {
        fprintf(stderr, "transcribe: %s\n", err);
        goto out;
    }
    rc = vt_stt_open(ops, opts, n_opts, &model, &ctx, err, sizeof err);
    if (rc) {
        fprintf(stderr, "transcribe: %s\n", err);
        goto out;
    }
    rc = ops->begin(ctx);
    for (size_t off = 0; !rc && off < n; off += PIECE) {
        size_t m = n - off < PIECE ? n - off : PIECE;
        rc = ops->feed(ctx, pcm + off, m);
        int speech = rc ? 0 : vt_stt_pocketsphinx_in_speech(ctx);
        if (speech > 0)
            started = 1;
        else if (speech == 0 && started) {
            rc = print_utterance(ops, ctx, &printed);
            if (!rc)
                rc = ops->begin(ctx);
            started = 0;
        }
    }
    if (!rc) {
        /* the file may end mid-utterance; a little silence lets it close */
        static const int16_t silence[PIECE];
        for (int i = 0; !rc && i < 25; i++)
            rc = ops->feed(ctx, silence, PIECE);
        if (!rc)
            rc = print_utterance(ops, ctx, &printed);
    }
    if (rc) {
        fprintf(stderr, "transcribe: %s: the recognizer failed (%d)\n", path, rc);
        goto out;
    }
    if (!printed)
        fprintf(stderr, "transcribe: %s: no speech recognised\n", path);
    status = 0;
out:
    vt_stt_close(ops, model, ctx);
    free(pcm);
    return status;
}

int cmd_say(int argc, char **argv)
{
    const char *text = NULL, *out_path = NULL, *voice = VT_TTS_DEFAULT_VOICE;
    int rate = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has_value = i + 1 < argc;
        if (strcmp(a, "-o") == 0 || strcmp(a, "--out") == 0 || strcmp(a, "--voice") == 0 ||
            strcmp(a, "--rate") == 0) {
            if (!has_value) {
                fprintf(stderr, "say: %s needs a value\n", a);
                usage_say(stderr);
                return 2;
            }
            const char *v = argv[++i];
            if (a[1] == 'o' || strcmp(a, "--out") == 0) {
                out_path = v;
            } else if (strcmp(a, "--voice") == 0) {
                voice = v;
            } else {
                char *end = NULL;
                long r = strtol(v, &end, 10);
                if (!*v || *end || r < 8000 || r > 48000) {
                    fprintf(stderr, "say: --rate %s: want a sample rate from 8000 to 48000 Hz\n",
                            v);
                    return 2;
                }
                rate = (int)r;
            }
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage_say(stdout);
            return 0;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "say: unknown option %s\n", a);
            usage_say(stderr);
            return 2;
        } else if (text) {
            fprintf(stderr, "say: give the text as one argument (quote it)\n");
            return 2;
        } else {
            text = a;
        }
    }
    if (!text || !out_path) {
        fprintf(stderr, "say: %s\n", !text ? "no text given" : "no output file given (-o out.wav)");
        usage_say(stderr);
        return 2;
    }
    if (strspn(text, " \t\r\n") == strlen(text)) {
        fprintf(stderr, "say: the text is empty\n");
        return 2;
    }
    char err[512] = "";
    const vt_tts_ops *ops = NULL;
    void *model = NULL, *ctx = NULL;
    int16_t *pcm = NULL;
    size_t n = 0;
    int status = 1;
    int rc = vt_tts_open(voice, NULL, 0, &ops, &model, &ctx, err, sizeof err);
    if (rc) {
        fprintf(stderr, "say: %s\n", err);
        goto out;
    }
    if (!rate)
        rate = ops->sample_rate(ctx);
    rc = vt_tts_synth_buffer(ops, ctx, rate, text, &pcm, &n, NULL);
    if (rc) {
        fprintf(stderr, "say: synthesis with voice %s failed (%d)\n", voice, rc);
        goto out;
    }
    rc = vt_wav_write(out_path, pcm, n, rate, err, sizeof err);
    if (rc) {
        fprintf(stderr, "say: %s\n", err);
        goto out;
    }
    status = 0;
out:
    vt_tts_close(ops, model, ctx);
    free(pcm);
    return status;
}
