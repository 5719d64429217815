/*
 * `voicetutor serve`: the command line of the WebSocket server
 * (src/transport/ws). Reads flags and an optional JSON config file, starts
 * the server, prints the address to open, and stops cleanly on Ctrl-C.
 */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "app/args.h"
#include "app/commands.h"
#include "transport/ws/ws_server.h"
#include "protocol/config_json.h"

static vt_ws_server *g_srv;
static volatile sig_atomic_t g_terms;

/* SIGTERM drains (a second one stops at once); SIGINT (Ctrl-C) stops. */
static void on_signal(int sig)
{
    if (!g_srv)
        return;
    if (sig == SIGTERM && g_terms++ == 0)
        vt_ws_drain(g_srv);
    else
        vt_ws_stop(g_srv);
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: voicetutor serve [--host ADDR] [--port N] [--token TOKEN] [--config FILE]\n"
            "                        [--brain lesson|llm] [-o key=value]... [--voice VOICE]\n"
            "                        [--stt pocketsphinx|openai|none] [--tts openai] [--workers N]\n"
            "                        [--web DIR] [--quiet]\n"
            "                        [--allow-origin ORIGIN]... [--allow-host NAME]...\n"
            "                        [--max-sessions N] [--max-load F] [--drain-ms N]\n"
            "\n"
            "Serves the web client at http://HOST:PORT/ and the WebSocket protocol at\n"
            "ws://HOST:PORT/ws/audio (docs/PROTOCOL.md).\n"
            "  --host ADDR     listen address (default 127.0.0.1). Any other address needs\n"
            "                  an access token: --token TOKEN or VOICETUTOR_TOKEN=TOKEN;\n"
            "                  clients then add ?token=TOKEN to the page and WebSocket URLs\n"
            "  --port N        port (default 8080; 0 picks a free one)\n"
            "  --allow-origin ORIGIN  a web page origin besides the server's own that may\n"
            "                  open the WebSocket, e.g. http://localhost:5173 (repeatable)\n"
            "  --allow-host NAME  a name besides an IP address and localhost by which\n"
            "                  clients reach the server, e.g. tutor.lan (repeatable)\n"
            "  --config FILE   JSON: {\"core\": {settings as in docs/SCENARIOS.md \"config\"},\n"
            "                  \"brain\": \"lesson\", \"brain_options\": {\"lesson\": \"capitals\"},\n"
            "                  \"voice\": \"rms\", \"stt\": \"pocketsphinx\", \"tts\": \"openai\"};\n"
            "                  flags win\n"
            "  --brain NAME    lesson (default) or llm (an OpenAI-compatible server)\n"
            "  -o key=value    a brain option (docs/BRAIN.md), e.g. -o lesson=capitals; keys\n"
            "                  stt_* and tts_* configure the remote speech engines\n"
            "                  (docs/SPEECH.md), e.g. -o stt_url=http://127.0.0.1:8080/v1\n"
            "  --voice VOICE   flite voice (rms, slt, awb, kal16) or espeak:LANG\n"
            "  --stt NAME      pocketsphinx (default), openai (pocketsphinx listens, an\n"
            "                  OpenAI-compatible server gives each final text) or none\n"
            "                  (typed input only)\n"
            "  --tts openai    answers spoken by an OpenAI-compatible server (-o tts_url=...);\n"
            "                  --voice speaks when it fails\n"
            "  --workers N     speech and synthesis threads (default: one per core)\n"
            "  --max-sessions N  learners served at once; more are refused (HTTP 503,\n"
            "                  error server_full). Default: 8 per speech thread, what one\n"
            "                  core was measured to hold in real time\n"
            "  --max-load F    refuse new sessions while the server uses more than this\n"
            "                  share of its speech threads' cores (0.01-1, default 0.9)\n"
            "  --web DIR       the web client's folder (default: the source tree's web/)\n"
            "  --drain-ms N    on SIGTERM, how long answers in progress may finish before\n"
            "                  their sessions are closed (default 10000; docs/DEPLOY.md)\n"
            "  --quiet         no connection log lines\n"
            "GET /healthz says ready (200) or draining (503); GET /metrics is in the\n"
            "Prometheus text format. SIGTERM drains: new sessions are refused, the\n"
            "others close (1001 \"server draining: reconnect\") as their answers end.\n");
}

typedef struct strings {
    char *v[64];
    int n;
} strings;

static const char *keep(strings *s, const char *v)
{
    if (s->n >= 64)
        return NULL;
    return s->v[s->n++] = strdup(v);
}

static int load_config(const char *path, vt_ws_config *c, strings *st, args_kv *kv)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "voicetutor serve: cannot open config %s\n", path);
        return -1;
    }
    char *buf = NULL;
    size_t n = 0, cap = 0;
    int ch;
    while ((ch = fgetc(f)) != EOF) {
        if (n + 2 > cap) {
            cap = cap ? cap * 2 : 4096;
            char *nb = realloc(buf, cap);
            if (!nb)
                break;
            buf = nb;
        }
        buf[n++] = (char)ch;
    }
    fclose(f);
    cJSON *root = buf ? cJSON_ParseWithLength(buf, n) : NULL;
    free(buf);
    if (!cJSON_IsObject(root)) {
        fprintf(stderr, "voicetutor serve: %s: not a JSON object\n", path);
        cJSON_Delete(root);
        return -1;
    }
    int rc = 0;
    char err[256];
    const cJSON *core = cJSON_GetObjectItemCaseSensitive(root, "core");
    if (core && vt_config_apply_json(&c->runtime.core, core, err, sizeof err) != 0) {
        fprintf(stderr, "voicetutor serve: %s: core: %s\n", path, err);
        rc = -1;
    }
    const char *keys[] = {"brain", "voice", "stt", "tts"};
    const char **dst[] = {&c->runtime.brain, &c->runtime.voice, &c->runtime.stt,
                          &c->runtime.tts};
    for (int i = 0; i < 4; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, keys[i]);
        if (v && !cJSON_IsString(v)) {
            fprintf(stderr, "voicetutor serve: %s: \"%s\" must be a string\n", path, keys[i]);
            rc = -1;
        } else if (v) {
            *dst[i] = keep(st, v->valuestring);
        }
    }
    const cJSON *bo = cJSON_GetObjectItemCaseSensitive(root, "brain_options");
    const cJSON *it;
    cJSON_ArrayForEach(it, bo)
    {
        if (!cJSON_IsString(it)) {
            fprintf(stderr, "voicetutor serve: %s: brain_options.%s must be a string\n", path,
                    it->string);
            rc = -1;
        } else {
            args_kv_set(kv, it->string, keep(st, it->valuestring));
        }
    }
    cJSON_Delete(root);
    return rc;
}

/* --allow-origin and --allow-host: repeatable */
#define MAX_ALLOWED 16
typedef struct allowed {
    const char *v[MAX_ALLOWED];
    size_t n;
} allowed;

static int allow(void *dst, const char *value, char *err, size_t errlen)
{
    allowed *a = dst;
    if (!value[0] || a->n == MAX_ALLOWED) {
        snprintf(err, errlen, value[0] ? "at most %d of them" : "give a value", MAX_ALLOWED);
        return -1;
    }
    a->v[a->n++] = value;
    return 0;
}

int cmd_serve(int argc, char **argv)
{
    vt_ws_config c;
    strings st = {{0}, 0};
    vt_ws_config_default(&c);
    args_kv kv = {.opts = c.runtime.brain_opts, .n = &c.runtime.n_brain_opts,
                  .cap = VT_RUNTIME_MAX_OPTS};
    int rc = 2;
    /* the file first, so that flags win over it */
    const char *config = args_find(argc, argv, "--config");
    if (config && load_config(config, &c, &st, &kv) != 0)
        goto out;
    c.token = getenv("VOICETUTOR_TOKEN");
    int port = c.port;
    allowed origins = {{0}, 0}, hosts = {{0}, 0};
    const args_spec specs[] = {
        {"--host", NULL, ARGS_STR, &c.host, 0, 0, NULL},
        {"--port", NULL, ARGS_INT, &port, 0, 65535, NULL},
        {"--token", NULL, ARGS_STR, &c.token, 0, 0, NULL},
        {"--config", NULL, ARGS_STR, &config, 0, 0, NULL},
        {"--brain", NULL, ARGS_STR, &c.runtime.brain, 0, 0, NULL},
        {"--voice", NULL, ARGS_STR, &c.runtime.voice, 0, 0, NULL},
        {"--stt", NULL, ARGS_STR, &c.runtime.stt, 0, 0, NULL},
        {"--tts", NULL, ARGS_STR, &c.runtime.tts, 0, 0, NULL},
        {"--web", NULL, ARGS_STR, &c.web_dir, 0, 0, NULL},
        {"--workers", NULL, ARGS_INT, &c.runtime.cpu_workers, 1, 256, NULL},
        {"--max-sessions", NULL, ARGS_INT, &c.max_sessions, 1, 100000, NULL},
        {"--max-load", NULL, ARGS_DOUBLE, &c.max_load, 0.01, 1.0, NULL},
        {"-o", NULL, ARGS_KV, &kv, 0, 0, NULL},
        {"--allow-origin", NULL, ARGS_FN, &origins, 0, 0, allow},
        {"--allow-host", NULL, ARGS_FN, &hosts, 0, 0, allow},
        {"--quiet", NULL, ARGS_FLAG, &c.quiet, 0, 0, NULL},
        {"--drain-ms", NULL, ARGS_INT, &c.drain_ms, 0, 600000, NULL},
        {NULL, NULL, 0, NULL, 0, 0, NULL},
    };
    args_cmd cmd = {.prog = "voicetutor serve", .specs = specs, .usage = usage};
    int ar = args_parse(&cmd, argc, argv);
    if (ar != ARGS_OK) {
        rc = ar == ARGS_HELP ? 0 : 2;
        goto out;
    }
    c.port = port;
    c.allow_origins = origins.v;
    c.n_allow_origins = origins.n;
    c.allow_hosts = hosts.v;
    c.n_allow_hosts = hosts.n;
    if (c.token && !c.token[0])
        c.token = NULL;

    char err[512];
    fprintf(stderr, "voicetutor serve: loading the voice and the speech engines...\n");
    if (vt_ws_create(&c, &g_srv, err, sizeof err) != 0) {
        fprintf(stderr, "voicetutor serve: %s\n", err);
        rc = 1;
        goto out;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    const char *shown = strcmp(c.host, "0.0.0.0") == 0 ? "127.0.0.1" : c.host;
    printf("voicetutor: listening on http://%s:%d/%s%s\n", shown, vt_ws_port(g_srv),
           c.token ? "?token=" : "", c.token ? c.token : "");
    printf("voicetutor: open that address in a browser and talk to the tutor "
           "(WebSocket: ws://%s:%d/ws/audio). Ctrl-C stops.\n",
           shown, vt_ws_port(g_srv));
    fflush(stdout);
    vt_ws_run(g_srv);
    fprintf(stderr, "voicetutor serve: stopping\n");
    vt_ws_destroy(g_srv);
    g_srv = NULL;
    rc = 0;
out:
    for (int i = 0; i < st.n; i++)
        free(st.v[i]);
    return rc;
}
