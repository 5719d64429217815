/* WAV files in and out over libsndfile (see wav.h). */
#include "util/wav.h"
#include "util/resample.h"
#include "voicetutor/core.h"
#include <sndfile.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/stat.h>

/* The samples of an open sound file, mixed to mono, at rate_out. name is
 * what error messages call it. Closes sf. */
static int read_open(SNDFILE *sf, const SF_INFO *ip, const char *name, int rate_out,
                     int16_t **pcm, size_t *n, int *rate, char *err, size_t errlen);

int vt_wav_read(const char *path, int rate_out, int16_t **pcm, size_t *n, int *rate,
                char *err, size_t errlen)
{
    if (!path || !pcm || !n) {
        snprintf(err, errlen, "wav: missing argument");
        return VT_EINVAL;
    }
    *pcm = NULL;
    *n = 0;
    struct stat st;
    if (stat(path, &st) != 0) {
        snprintf(err, errlen, "%s: cannot open (%s)", path, strerror(errno));
        return VT_ENOTFOUND;
    }
    if (S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s: is a directory, not a sound file", path);
        return VT_EFORMAT;
    }
    if (st.st_size == 0) {
        snprintf(err, errlen, "%s: the file is empty", path);
        return VT_EFORMAT;
    }
    SF_INFO info;
    memset(&info, 0, sizeof info);
    SNDFILE *sf = sf_open(path, SFM_READ, &info);
    if (!sf) {
        snprintf(err, errlen, "%s: not a readable sound file (%s); give a WAV file", path,
                 sf_strerror(NULL));
        return VT_EFORMAT;
    }
    return read_open(sf, &info, path, rate_out, pcm, n, rate, err, errlen);
}

/* libsndfile's virtual I/O over a buffer in memory */
typedef struct membuf {
    const uint8_t *data;
    sf_count_t len, pos;
} membuf;

static sf_count_t mem_len(void *ud)
{
    return ((membuf *)ud)->len;
}

static sf_count_t mem_seek(sf_count_t off, int whence, void *ud)
{
    membuf *m = ud;
    sf_count_t p = whence == SEEK_SET ? off : whence == SEEK_CUR ? m->pos + off : m->len + off;
    if (p < 0 || p > m->len)
        return -1;
    m->pos = p;
    return p;
}

static sf_count_t mem_read(void *dst, sf_count_t count, void *ud)
{
    membuf *m = ud;
    sf_count_t k = m->len - m->pos < count ? m->len - m->pos : count;
    if (k > 0)
        memcpy(dst, m->data + m->pos, (size_t)k);
    m->pos += k > 0 ? k : 0;
    return k > 0 ? k : 0;
}

static sf_count_t mem_write(const void *src, sf_count_t count, void *ud)
{
    return 0;
}

static sf_count_t mem_tell(void *ud)
{
    return ((membuf *)ud)->pos;
}

int vt_wav_read_mem(const void *data, size_t len, const char *name, int rate_out,
                    int16_t **pcm, size_t *n, int *rate, char *err, size_t errlen)
{
    if ((!data && len) || !pcm || !n) {
        snprintf(err, errlen, "wav: missing argument");
        return VT_EINVAL;
    }
    *pcm = NULL;
    *n = 0;
    name = name ? name : "audio";
    if (len == 0) {
        snprintf(err, errlen, "%s: empty, not a sound file", name);
        return VT_EFORMAT;
    }
    membuf m = {data, (sf_count_t)len, 0};
    SF_VIRTUAL_IO io = {mem_len, mem_seek, mem_read, mem_write, mem_tell};
    SF_INFO info;
    memset(&info, 0, sizeof info);
    SNDFILE *sf = sf_open_virtual(&io, SFM_READ, &info, &m);
    if (!sf) {
        snprintf(err, errlen, "%s: not a readable sound file (%s); give a WAV file", name,
                 sf_strerror(NULL));
        return VT_EFORMAT;
    }
    return read_open(sf, &info, name, rate_out, pcm, n, rate, err, errlen);
}

static int read_open(SNDFILE *sf, const SF_INFO *ip, const char *path, int rate_out,
                     int16_t **pcm, size_t *n, int *rate, char *err, size_t errlen)
{
    SF_INFO info = *ip;
    int rc = 0;
    float *fbuf = NULL;
    int16_t *mono = NULL;
    if (info.channels < 1 || info.channels > 64 || info.samplerate < 1000 ||
        info.samplerate > 384000) {
        snprintf(err, errlen, "%s: unsupported format (%d channels at %d Hz)", path,
                 info.channels, info.samplerate);
        rc = VT_EFORMAT;
        goto out;
    }
    if (info.frames <= 0) {
        snprintf(err, errlen, "%s: contains no audio", path);
        rc = VT_EFORMAT;
        goto out;
    }
    if (info.frames > (sf_count_t)info.samplerate * VT_WAV_MAX_SECONDS ||
        info.frames * info.channels > VT_WAV_MAX_SAMPLES) {
        snprintf(err, errlen, "%s: too long (%.0f s; at most %d s)", path,
                 (double)info.frames / info.samplerate, VT_WAV_MAX_SECONDS);
        rc = VT_EFORMAT;
        goto out;
    }
    size_t frames = (size_t)info.frames;
    fbuf = malloc(frames * (size_t)info.channels * sizeof *fbuf);
    mono = malloc(frames * sizeof *mono);
    if (!fbuf || !mono) {
        snprintf(err, errlen, "%s: out of memory", path);
        rc = VT_ENOMEM;
        goto out;
    }
    sf_count_t got = sf_readf_float(sf, fbuf, info.frames);
    if (got <= 0) {
        snprintf(err, errlen, "%s: truncated or corrupt audio data", path);
        rc = VT_EFORMAT;
        goto out;
    }
    frames = (size_t)got;
    for (size_t i = 0; i < frames; i++) {
        float s = 0;
        for (int c = 0; c < info.channels; c++)
            s += fbuf[i * (size_t)info.channels + (size_t)c];
        s /= (float)info.channels;
        if (s > 1.0f)
            s = 1.0f;
        if (s < -1.0f)
            s = -1.0f;
        long v = lrintf(s * 32768.0f); /* sndfile scales shorts by 1/32768 */
        mono[i] = (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : v);
    }
    if (rate_out > 0 && rate_out != info.samplerate) {
        int16_t *res = NULL;
        size_t rn = 0;
        rc = vt_resample_buffer(mono, frames, info.samplerate, rate_out, &res, &rn);
        if (rc) {
            snprintf(err, errlen, "%s: resampling from %d Hz to %d Hz failed", path,
                     info.samplerate, rate_out);
            goto out;
        }
        free(mono);
        mono = res;
        frames = rn;
    }
    *pcm = mono;
    mono = NULL;
    *n = frames;
    if (rate)
        *rate = rate_out > 0 ? rate_out : info.samplerate;
out:
    free(fbuf);
    free(mono);
    sf_close(sf);
    return rc;
}

int vt_wav_write(const char *path, const int16_t *pcm, size_t n, int rate,
                 char *err, size_t errlen)
{
    if (!path || (!pcm && n) || rate < 1000) {
        snprintf(err, errlen, "wav: bad arguments for %s", path ? path : "(null)");
        return VT_EINVAL;
    }
    SF_INFO info;
    memset(&info, 0, sizeof info);
    info.samplerate = rate;
    info.channels = 1;
    info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
    SNDFILE *sf = sf_open(path, SFM_WRITE, &info);
    if (!sf) {
        snprintf(err, errlen, "%s: cannot write (%s)", path, sf_strerror(NULL));
        return VT_EIO;
    }
    sf_count_t w = n ? sf_write_short(sf, pcm, (sf_count_t)n) : 0;
    sf_close(sf);
    if (w != (sf_count_t)n) {
        snprintf(err, errlen, "%s: short write", path);
        return VT_EIO;
    }
    return 0;
}

static void put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static void put_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

int vt_wav_encode(const int16_t *pcm, size_t n, int rate, uint8_t **out, size_t *out_n)
{
    if ((!pcm && n) || !out || !out_n || rate < 1000 || n > 0x3fffffff)
        return VT_EINVAL;
    size_t data = n * 2;
    uint8_t *b = malloc(44 + data);
    if (!b)
        return VT_ENOMEM;
    memcpy(b, "RIFF", 4);
    put_le32(b + 4, (uint32_t)(36 + data));
    memcpy(b + 8, "WAVEfmt ", 8);
    put_le32(b + 16, 16);
    put_le16(b + 20, 1);
    put_le16(b + 22, 1);
    put_le32(b + 24, (uint32_t)rate);
    put_le32(b + 28, (uint32_t)rate * 2);
    put_le16(b + 32, 2);
    put_le16(b + 34, 16);
    memcpy(b + 36, "data", 4);
    put_le32(b + 40, (uint32_t)data);
    for (size_t i = 0; i < n; i++)
        put_le16(b + 44 + 2 * i, (uint16_t)pcm[i]);
    *out = b;
    *out_n = 44 + data;
    return 0;
}
