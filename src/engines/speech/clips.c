/*
 * The clip cache: filler and acknowledgement clips synthesized once at
 * start-up, so the tutor can cover a wait or acknowledge an interruption at
 * once, with no synthesis on the critical path. Silence at both ends is
 * trimmed to 20 ms so a clip is heard the moment it is played. Also the
 * synchronous transcription helper used by `simulate` and `transcribe`.
 */
#include "engines/speech/speech.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const vt_default_filler_texts[] = {
    "Hmm, let me think.",
    "Good question.",
    "Let me check that.",
    "Right, okay.",
    "Let's see.",
};
const char *const vt_default_filler_descriptions[] = {
    "thinking: the question needs some reasoning or calculation",
    "praise: the person asked something interesting or insightful",
    "checking: the question is about a fact, a date, a name or a definition",
    "acknowledging: the person stated something or gave an answer",
    "neutral: anything else, a request or an instruction",
};
const int vt_default_n_fillers = 5;

const char *const vt_default_ack_texts[] = {
    "Okay, I'm listening.",
    "Sure, go ahead.",
    "Yes?",
};
const int vt_default_n_acks = 3;

#define TRIM_LEVEL 300   /* |sample| below this counts as silence */

static void trim(const int16_t *pcm, size_t n, int rate, size_t *from, size_t *to)
{
    size_t margin = (size_t)rate / 50, a = 0, b = n;
    while (a < n && abs(pcm[a]) < TRIM_LEVEL)
        a++;
    while (b > a && abs(pcm[b - 1]) < TRIM_LEVEL)
        b--;
    if (a == b) { /* all silence: keep it as it is */
        *from = 0;
        *to = n;
        return;
    }
    *from = a > margin ? a - margin : 0;
    *to = b + margin < n ? b + margin : n;
}

static char *dup_str(const char *s)
{
    size_t l = strlen(s ? s : "");
    char *d = malloc(l + 1);
    if (d)
        memcpy(d, s ? s : "", l + 1);
    return d;
}

void vt_clips_free(vt_clip *clips, int n)
{
    if (!clips)
        return;
    for (int i = 0; i < n; i++) {
        free((void *)clips[i].pcm);
        free((void *)clips[i].text);
        free((void *)clips[i].description);
    }
    free(clips);
}

int vt_clips_build(const vt_tts_ops *ops, void *tts_ctx, int out_rate,
                   const char *const *texts, const char *const *descriptions, int n,
                   vt_clip **out, char *err, size_t errlen)
{
    if (!out || !ops || (n > 0 && !texts) || n < 0) {
        snprintf(err, errlen, "clips: missing argument");
        return VT_EINVAL;
    }
    *out = NULL;
    vt_clip *clips = calloc((size_t)(n > 0 ? n : 1), sizeof *clips);
    if (!clips) {
        snprintf(err, errlen, "clips: out of memory");
        return VT_ENOMEM;
    }
    int rc = 0;
    for (int i = 0; i < n; i++) {
        if (!texts[i] || !*texts[i]) {
            snprintf(err, errlen, "clips: text %d is empty", i);
            rc = VT_EINVAL;
            goto out;
        }
        int16_t *pcm = NULL;
        size_t len = 0;
        rc = vt_tts_synth_buffer(ops, tts_ctx, out_rate, texts[i], &pcm, &len, NULL);
        if (rc) {
            snprintf(err, errlen, "clips: synthesizing \"%s\" with %s failed (%d)", texts[i],
                     ops->name, rc);
            goto out;
        }
        size_t a = 0, b = len;
        trim(pcm, len, out_rate, &a, &b);
        if (a > 0)
            memmove(pcm, pcm + a, (b - a) * sizeof *pcm);
        clips[i].pcm = pcm;
        clips[i].n = b - a;
        clips[i].text = dup_str(texts[i]);
        clips[i].description = dup_str(descriptions ? descriptions[i] : "");
        if (!clips[i].text || !clips[i].description) {
            snprintf(err, errlen, "clips: out of memory");
            rc = VT_ENOMEM;
            goto out;
        }
    }
out:
    if (rc) {
        vt_clips_free(clips, n);
        return rc;
    }
    *out = clips;
    return 0;
}

int vt_speech_transcribe_pcm(const vt_stt_ops *ops, void *stt_ctx, const int16_t *pcm16k,
                             size_t n, vt_stt_result *out)
{
    if (!ops || !out || (!pcm16k && n))
        return VT_EINVAL;
    int rc = ops->begin(stt_ctx);
    if (rc)
        return rc;
    for (size_t off = 0; off < n; off += 320) {
        size_t m = n - off < 320 ? n - off : 320;
        rc = ops->feed(stt_ctx, pcm16k + off, m);
        if (rc) {
            ops->end(stt_ctx, out); /* close the utterance; keep the feed error */
            memset(out, 0, sizeof *out);
            return rc;
        }
    }
    return ops->end(stt_ctx, out);
}
