/*
 * `voicetutor transcribe` and `voicetutor say`: the speech engines from the
 * command line, for trying them out and for scripts.
 *
 *   transcribe FILE.wav [--hmm DIR] [--lm FILE] [--dict FILE] [--warmup]
 *              [--stt pocketsphinx|openai] [-o key=value]...
 *       reads any WAV (any rate, any channel count; resampled to 16 kHz
 *       mono), segments it with pocketsphinx's voice activity detector and
 *       prints the final text of each utterance on its own line. With
 *       --stt openai each utterance (with 0.5 s before it) goes to the
 *       remote recogniser (-o stt_url=... and the other stt_ options of
 *       docs/SPEECH.md); when that fails the local text is printed and one
 *       line on stderr says why.
 *   say "text" -o out.wav [--voice V] [--rate HZ] [--tts openai] [-O key=value]...
 *       speaks text with V = slt | rms | awb | kal16 | espeak[:LANG] |
 *       openai[:VOICE] (flite rms by default) into a 16-bit mono WAV at HZ
 *       (the voice's own rate by default); --tts openai is --voice openai,
 *       configured by -O tts_url=... and the other tts_ options (say's -o is
 *       the output file).
 *
 * Bad input (unreadable, empty, non-WAV or too long files, missing models)
 * gives one line naming what is wrong and how to fix it, and exit code 1;
 * bad usage gives exit code 2.
 */
#include "app/cmd_engines.h"
#include "app/args.h"
#include "engines/speech/speech.h"
#include "util/wav.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PIECE 320  /* 20 ms at 16 kHz */

static void usage_transcribe(FILE *f)
{
    fprintf(f, "usage: voicetutor transcribe FILE.wav [--hmm DIR] [--lm FILE] [--dict FILE] "
               "[--warmup]\n"
               "                            [--stt pocketsphinx|openai] [-o stt_url=URL] "
               "[-o stt_model=NAME]...\n");
}

static void usage_say(FILE *f)
{
    fprintf(f, "usage: voicetutor say \"text\" -o out.wav [--voice slt|rms|awb|kal16|"
               "espeak[:LANG]|openai[:VOICE]] [--rate HZ]\n"
               "                     [--tts openai] [-O tts_url=URL] [-O tts_voice=NAME]...\n");
}

#define REMOTE_PREROLL (VT_IN_RATE / 2)

/* The remote recogniser of --stt openai and the utterance's audio. */
typedef struct remote {
    const vt_stt_ops *ops;
    void *model, *ctx;
    const int16_t *pcm;
    size_t from, to;           /* the utterance in pcm */
} remote;

static int print_utterance(const vt_stt_ops *ops, void *ctx, int *printed, remote *rm)
{
    vt_stt_result *r = malloc(sizeof *r);
    if (!r)
        return VT_ENOMEM;
    int rc = ops->end(ctx, r);
    if (!rc && rm && rm->ctx && rm->to > rm->from) {
        vt_stt_result *x = malloc(sizeof *x);
        char err[512] = "";
        int xr = x ? rm->ops->transcribe(rm->ctx, rm->pcm + rm->from, rm->to - rm->from, NULL,
                                          0, x, NULL, err, sizeof err)
                   : VT_ENOMEM;
        if (xr == 0)
            memcpy(r, x, sizeof *r);
        else
            fprintf(stderr, "transcribe: %s (printed the local text)\n",
                    err[0] ? err : vt_strerror(xr));
        free(x);
    }
    if (!rc && r->text[0]) {
        printf("%s\n", r->text);
        fflush(stdout);
        (*printed)++;
    }
    free(r);
    return rc;
}

/* The one non-option argument: transcribe's file (ud: const char **). */
static int take_file(void *ud, const char *arg, char *err, size_t errlen)
{
    const char **path = ud;
    if (*path) {
        snprintf(err, errlen, "one file at a time (got %s and %s)", *path, arg);
        return -1;
    }
    *path = arg;
    return 0;
}

/* ... and say's text */
static int take_text(void *ud, const char *arg, char *err, size_t errlen)
{
    const char **text = ud;
    if (*text) {
        snprintf(err, errlen, "give the text as one argument (quote it)");
        return -1;
    }
    *text = arg;
    return 0;
}

int cmd_transcribe(int argc, char **argv)
{
    const char *hmm = NULL, *lm = NULL, *dict = NULL, *stt = "pocketsphinx";
    int warmup = 0;
    const char *path = NULL;
    vt_opt ropts[ARGS_MAX_KV];
    size_t n_ropts = 0;
    args_kv kv = {.opts = ropts, .n = &n_ropts, .cap = ARGS_MAX_KV};
    const args_spec specs[] = {
        {"--hmm", NULL, ARGS_STR, &hmm, 0, 0, NULL},
        {"--lm", NULL, ARGS_STR, &lm, 0, 0, NULL},
        {"--dict", NULL, ARGS_STR, &dict, 0, 0, NULL},
        {"--warmup", NULL, ARGS_FLAG, &warmup, 0, 0, NULL},
        {"--stt", NULL, ARGS_STR, &stt, 0, 0, NULL},
        {"-o", NULL, ARGS_KV, &kv, 0, 0, NULL},
        {NULL, NULL, 0, NULL, 0, 0, NULL},
    };
    args_cmd cmd = {.prog = "transcribe", .specs = specs, .usage = usage_transcribe,
                    .positional = take_file, .ud = &path};
    int ar = args_parse(&cmd, argc, argv);
    if (ar != ARGS_OK)
        return ar == ARGS_HELP ? 0 : 2;
    if (!path) {
        usage_transcribe(stderr);
        return 2;
    }
    if (strcmp(stt, "pocketsphinx") != 0 && strcmp(stt, "openai") != 0) {
        fprintf(stderr, "transcribe: --stt %s: pocketsphinx or openai\n", stt);
        return 2;
    }
    vt_opt opts[8];
    size_t n_opts = 0;
    opts[n_opts++] = (vt_opt){ "vad", "1" };
    if (hmm)
        opts[n_opts++] = (vt_opt){ "hmm", hmm };
    if (lm)
        opts[n_opts++] = (vt_opt){ "lm", lm };
    if (dict)
        opts[n_opts++] = (vt_opt){ "dict", dict };
    if (warmup)
        opts[n_opts++] = (vt_opt){ "warmup", "1" };

    char err[512] = "";
    int16_t *pcm = NULL;
    size_t n = 0;
    void *model = NULL, *ctx = NULL;
    const vt_stt_ops *ops = vt_stt_find("pocketsphinx"); /* segments with its own VAD */
    remote rm = {0};
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
    if (strcmp(stt, "openai") == 0) {
        rm.ops = vt_stt_find("openai");
        rm.pcm = pcm;
        rc = vt_stt_open(rm.ops, ropts, n_ropts, &rm.model, &rm.ctx, err, sizeof err);
        if (rc) {
            fprintf(stderr, "transcribe: %s\n", err);
            goto out;
        }
    }
    rc = ops->begin(ctx);
    for (size_t off = 0; !rc && off < n; off += PIECE) {
        size_t m = n - off < PIECE ? n - off : PIECE;
        rc = ops->feed(ctx, pcm + off, m);
        int speech = rc ? 0 : vt_stt_pocketsphinx_in_speech(ctx);
        if (speech > 0) {
            if (!started)
                rm.from = off > REMOTE_PREROLL ? off - REMOTE_PREROLL : 0;
            started = 1;
        } else if (speech == 0 && started) {
            rm.to = off + m;
            rc = print_utterance(ops, ctx, &printed, &rm);
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
        rm.to = started ? n : rm.from;
        if (!rc)
            rc = print_utterance(ops, ctx, &printed, &rm);
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
    vt_stt_close(rm.ops, rm.model, rm.ctx);
    free(pcm);
    return status;
}

int cmd_say(int argc, char **argv)
{
    const char *out_path = NULL, *voice = VT_TTS_DEFAULT_VOICE, *tts = NULL;
    int rate = 0;
    const char *text = NULL;
    vt_opt topts[ARGS_MAX_KV];
    size_t n_topts = 0;
    args_kv kv = {.opts = topts, .n = &n_topts, .cap = ARGS_MAX_KV};
    const args_spec specs[] = {
        {"-o", "--out", ARGS_STR, &out_path, 0, 0, NULL},
        {"--voice", NULL, ARGS_STR, &voice, 0, 0, NULL},
        {"--tts", NULL, ARGS_STR, &tts, 0, 0, NULL},
        {"-O", "--engine-option", ARGS_KV, &kv, 0, 0, NULL},
        {"--rate", NULL, ARGS_INT, &rate, 8000, 48000, NULL},
        {NULL, NULL, 0, NULL, 0, 0, NULL},
    };
    args_cmd cmd = {.prog = "say", .specs = specs, .usage = usage_say, .positional = take_text,
                    .ud = &text};
    int ar = args_parse(&cmd, argc, argv);
    if (ar != ARGS_OK)
        return ar == ARGS_HELP ? 0 : 2;
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
    if (tts && strcmp(tts, "openai") != 0) {
        fprintf(stderr, "say: --tts %s: only openai (embedded voices are chosen with --voice)\n",
                tts);
        return 2;
    }
    if (tts && strncmp(voice, "openai", 6) != 0)
        voice = "openai";
    int rc = vt_tts_open(voice, topts, n_topts, &ops, &model, &ctx, err, sizeof err);
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
