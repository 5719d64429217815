/* Rounds of live sessions on one runtime (see rounds.h). */
#define _POSIX_C_SOURCE 200809L
#include "support/rounds.h"

#include <malloc.h>

#include "engines/speech/speech.h"

#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "support/rss.h"

typedef struct sess {
    vt_session *s;
    int64_t deadline;
    int answer_audio, heard;
    int64_t first_audio_us, first_answer_us;
} sess;

struct vt_rounds {
    vt_runtime *rt;
    int pipe[2];
    const int16_t *q;
    size_t qn;
    sess *S;
    int n;
    int wait_answers;
};

static void wake(void *ud)
{
    vt_rounds *r = ud;
    char b = 1;
    if (write(r->pipe[1], &b, 1) < 0) {
        /* full: a wake-up is pending anyway */
    }
}

static void on_event(void *ud, const vt_event *ev, int64_t now)
{
    if (ev->type == VT_EV_TRANSCRIPTION_COMPLETE)
        ((sess *)ud)->heard = 1;
}

static void on_audio(void *ud, const int16_t *pcm, size_t n, vt_audio_kind kind, int64_t now)
{
    sess *x = ud;
    if (!x->first_audio_us)
        x->first_audio_us = now;
    if (kind == VT_AUDIO_ANSWER && !x->answer_audio) {
        x->answer_audio = 1;
        x->first_answer_us = now;
    }
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    if (n <= 0)
        return -1;
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void on_schedule(void *ud, int64_t at)
{
    ((sess *)ud)->deadline = at;
}

static void loop_once(vt_rounds *r, int ms)
{
    struct pollfd p = {r->pipe[0], POLLIN, 0};
    if (poll(&p, 1, ms) > 0) {
        char buf[64];
        while (read(r->pipe[0], buf, sizeof buf) > 0) {
        }
    }
    vt_runtime_drain(r->rt);
    int64_t now = vt_now_us();
    for (int i = 0; i < r->n; i++)
        if (r->S[i].s && now >= r->S[i].deadline) {
            r->S[i].deadline = INT64_MAX;
            vt_session_tick(r->S[i].s, now);
        }
}

static int done(const vt_rounds *r, int spoken)
{
    int n = 0;
    for (int i = 0; i < r->n; i++)
        n += spoken && !r->wait_answers ? r->S[i].heard : r->S[i].answer_audio;
    return n;
}

int vt_rounds_create(const int16_t *question, size_t n, vt_rounds **out, char *err,
                     size_t errlen)
{
    vt_runtime_config rc;
    vt_runtime_config_default(&rc);
    rc.brain_opts[0] = (vt_opt){"db", "none"};
    rc.n_brain_opts = 1;
    return vt_rounds_create_with(&rc, question, n, out, err, errlen);
}

void vt_rounds_wait_answers(vt_rounds *r, int answers)
{
    r->wait_answers = answers;
}

int vt_rounds_create_with(const vt_runtime_config *base, const int16_t *question, size_t n,
                          vt_rounds **out, char *err, size_t errlen)
{
    vt_rounds *r = calloc(1, sizeof *r);
    if (!r || pipe(r->pipe) != 0) {
        free(r);
        return VT_ENOMEM;
    }
    fcntl(r->pipe[0], F_SETFL, O_NONBLOCK);
    fcntl(r->pipe[1], F_SETFL, O_NONBLOCK);
    r->q = question;
    r->qn = n;
    vt_runtime_config rc = *base;
    rc.wake = wake;
    rc.wake_ud = r;
    int rv = vt_runtime_create(&rc, &r->rt, err, errlen);
    if (rv) {
        vt_rounds_destroy(r);
        return rv;
    }
    *out = r;
    return 0;
}

void vt_rounds_destroy(vt_rounds *r)
{
    if (!r)
        return;
    if (r->rt)
        vt_runtime_destroy(r->rt);
    close(r->pipe[0]);
    close(r->pipe[1]);
    free(r->S);
    free(r);
}

int vt_rounds_run(vt_rounds *r, int n, int spoken, double timeout_s, vt_round_result *res)
{
    memset(res, 0, sizeof *res);
    free(r->S);
    r->S = calloc((size_t)n, sizeof *r->S);
    if (!r->S)
        return VT_ENOMEM;
    r->n = n;
    /* typed sessions listen too, as a browser's do: they just never speak */
    vt_session_options o = {.character = "times-tables", .user_id = "rounds", .speech = 1};
    vt_session_output out = {.event = on_event, .audio = on_audio, .schedule = on_schedule};
    for (int i = 0; i < n; i++) {
        r->S[i].deadline = INT64_MAX;
        int rc = vt_session_create(r->rt, &o, &out, &r->S[i], &r->S[i].s, NULL, 0);
        if (rc)
            return rc;
    }
    int64_t t0 = vt_now_us(), t_eos = 0;
    if (spoken) {
        /* half a second of a quiet room, the question in real time (20 ms
         * frames), a second of the room again */
        size_t frames = r->qn / 320 + 25 + 50;
        uint32_t seed = 12345;
        for (size_t f = 0; f < frames; f++) {
            int64_t at = t0 + (int64_t)f * 20000;
            while (vt_now_us() < at)
                loop_once(r, (int)((at - vt_now_us()) / 1000) + 1);
            int16_t pcm[320];
            for (size_t k = 0; k < 320; k++) {
                size_t at_q = f * 320 + k;
                seed = seed * 1103515245u + 12345u;
                int v = (int)(seed >> 16) % 61 - 30 +
                        (f >= 25 && at_q - 25 * 320 < r->qn ? r->q[at_q - 25 * 320] : 0);
                pcm[k] = (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : v);
            }
            int64_t sent = vt_now_us();
            for (int i = 0; i < n; i++)
                vt_session_audio(r->S[i].s, pcm, 320, sent);
            if ((f + 1) * 320 >= 25 * 320 + r->qn && !t_eos)
                t_eos = sent; /* the question's last frame */
        }
    } else {
        for (int i = 0; i < n; i++)
            vt_session_text(r->S[i].s, "what is seven times eight", vt_now_us());
    }
    while (done(r, spoken) < n && vt_now_us() - t0 < (int64_t)(timeout_s * 1e6))
        loop_once(r, 10);
    res->done = done(r, spoken);
    double fa[256], fan[256];
    int nfa = 0, nfan = 0;
    for (int i = 0; i < n && i < 256; i++) {
        if (t_eos && r->S[i].first_audio_us > t_eos)
            fa[nfa++] = (double)(r->S[i].first_audio_us - t_eos) / 1000.0;
        if (t_eos && r->S[i].first_answer_us > t_eos)
            fan[nfan++] = (double)(r->S[i].first_answer_us - t_eos) / 1000.0;
    }
    res->first_audio_ms = median(fa, nfa);
    res->first_answer_ms = median(fan, nfan);
    res->turn_s = (double)(vt_now_us() - t0) / 1e6;
    res->open_mb = vt_test_rss_mb();
    for (int i = 0; i < n; i++) {
        vt_session_destroy(r->S[i].s);
        r->S[i].s = NULL;
    }
    int64_t t1 = vt_now_us();
    while (vt_runtime_sessions(r->rt) > 0 && vt_now_us() - t1 < 20000000)
        loop_once(r, 10);
    if (vt_runtime_sessions(r->rt) > 0)
        return VT_ETIMEDOUT;
    /* the runtime hands freed memory back in a job of its own: let it run
     * (trimming a few GB takes a while on a busy machine) */
    int64_t t2 = vt_now_us();
    while (vt_now_us() - t2 < (int64_t)(n > 8 ? 3000000 : 400000))
        loop_once(r, 10);
    /* the decoders the round's utterances borrowed go back to their pools,
     * which free those left idle (stt_idle_ms; the recogniser's pool keeps
     * one, the spotters' none): wait for that, up to 5 s more, as a busy
     * machine may be slow to */
    vt_ps_pool_info si, ki;
    while (vt_runtime_decoders(r->rt, &si, &ki) == 0 && (si.decoders > 1 || ki.decoders > 0) &&
           vt_now_us() - t2 < 5400000)
        loop_once(r, 20);
    if (vt_runtime_decoders(r->rt, &si, &ki) == 0) {
        res->decoders_after = (int)si.decoders;
        res->spotters_after = (int)ki.decoders;
    }
    malloc_trim(0);
    res->closed_mb = vt_test_rss_mb();
    return 0;
}
