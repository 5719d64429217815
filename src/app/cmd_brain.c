/*
 * `voicetutor ask`: talk to a brain by typing, to try the LLM and lesson
 * brains by hand without audio. Each line is one turn; the reply streams to
 * stdout token by token as the speech pipeline would receive it, and the
 * history is kept the way the core keeps it (Ctrl-C during a reply cuts it:
 * the turn then ends in "..." and a note says the person interrupted).
 */
#ifdef VT_HAVE_BRAIN
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app/cmd_engines.h"
#include "app/args.h"
#include "engines/brain/brain.h"
#include "voicetutor/core.h"

#define MAX_OPTS 32
#define MAX_TURNS 256

static volatile sig_atomic_t in_reply;
static volatile int abort_flag;

static void on_sigint(int sig)
{
    (void)sig;
    if (in_reply)
        abort_flag = 1;
    else
        _exit(130);
}

typedef struct spoken {
    char *text;
    size_t len, cap;
} spoken;

static int print_token(void *ud, const char *tok)
{
    spoken *s = ud;
    size_t tl = strlen(tok);
    if (s->len + tl + 1 > s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 256;
        while (nc < s->len + tl + 1)
            nc *= 2;
        char *n = realloc(s->text, nc);
        if (!n)
            return 1;
        s->text = n;
        s->cap = nc;
    }
    memcpy(s->text + s->len, tok, tl + 1);
    s->len += tl;
    fputs(tok, stdout);
    fflush(stdout);
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: voicetutor ask [--brain lesson|llm] [-o key=value]... [--judge] [--filler]\n"
            "                      [TEXT...]\n"
            "Streams the brain's reply to TEXT, or, without TEXT, talks turn by turn with\n"
            "lines read from standard input (Ctrl-C cuts a reply, Ctrl-D ends).\n"
            "  --brain NAME   %s (default lesson)\n"
            "  -o key=value   a brain option (docs/BRAIN.md), e.g. -o lesson=capitals,\n"
            "                 -o base_url=http://127.0.0.1:11434/v1 -o model=llama3.2\n"
            "  --judge        also print whether each line is a complete sentence\n"
            "  --filler       also print the filler clip the brain picks\n",
            vt_brain_names());
}

static void add_turn(vt_turn *h, size_t *n, vt_role role, const char *text, int interrupted)
{
    if (*n == MAX_TURNS) { /* keep the most recent turns */
        free(h[0].text);
        memmove(h, h + 1, (MAX_TURNS - 1) * sizeof *h);
        (*n)--;
    }
    h[*n].role = role;
    h[*n].text = strdup(text ? text : "");
    h[*n].unspoken = NULL;
    h[*n].interrupted = interrupted;
    (*n)++;
}

/* TEXT...: the words of one turn (ud: a buffer of TEXT_CAP) */
#define TEXT_CAP 4096
static int add_word(void *ud, const char *arg, char *err, size_t errlen)
{
    char *text = ud;
    size_t l = strlen(text);
    snprintf(text + l, TEXT_CAP - l, "%s%s", l ? " " : "", arg);
    return 0;
}

int cmd_ask(int argc, char **argv)
{
    static const vt_filler_desc fillers[] = {
        {"Hmm, let me think.", "thinking, neutral"},
        {"Great!", "praise, after a correct answer"},
        {"Okay, let's see.", "encouraging, after a wrong answer"},
        {"Good question.", "a question from the person"},
    };
    vt_opt opts[MAX_OPTS];
    size_t n_opts = 0;
    const char *brain_name = "lesson";
    int judge = 0, filler = 0, rc = 1;
    char text[TEXT_CAP] = "";
    void *ctx = NULL;
    vt_turn *h = calloc(MAX_TURNS, sizeof *h);
    size_t n_turns = 0;
    char err[512] = "";
    uint32_t rng = 0x9e3779b9u;
    const vt_brain_ops *ops = NULL;

    if (!h)
        return 1;
    args_kv kv = {.opts = opts, .n = &n_opts, .cap = MAX_OPTS};
    const args_spec specs[] = {
        {"--brain", NULL, ARGS_STR, &brain_name, 0, 0, NULL},
        {"-o", NULL, ARGS_KV, &kv, 0, 0, NULL},
        {"--judge", NULL, ARGS_FLAG, &judge, 0, 0, NULL},
        {"--filler", NULL, ARGS_FLAG, &filler, 0, 0, NULL},
        {NULL, NULL, 0, NULL, 0, 0, NULL},
    };
    args_cmd cmd = {.prog = "voicetutor ask", .specs = specs, .usage = usage,
                    .positional = add_word, .ud = text};
    int ar = args_parse(&cmd, argc, argv);
    if (ar != ARGS_OK) {
        rc = ar == ARGS_HELP ? 0 : 1;
        goto out;
    }
    ops = vt_brain_find(brain_name);
    if (!ops) {
        fprintf(stderr, "voicetutor ask: unknown brain '%s' (%s)\n", brain_name,
                vt_brain_names());
        goto out;
    }
    if (ops->create(opts, n_opts, &ctx, err, sizeof err) != 0) {
        fprintf(stderr, "voicetutor ask: %s\n", err);
        goto out;
    }
    signal(SIGINT, on_sigint);
    int interactive = text[0] == '\0';
    char greet[1024];
    if (interactive && vt_brain_greeting(ops, ctx, greet, sizeof greet) > 0) {
        printf("tutor> %s\n", greet);
        add_turn(h, &n_turns, VT_ROLE_ASSISTANT, greet, 0);
    }
    rc = 0;
    for (;;) {
        if (interactive) {
            printf("you> ");
            fflush(stdout);
            if (!fgets(text, sizeof text, stdin))
                break;
            text[strcspn(text, "\r\n")] = '\0';
            if (!text[0])
                continue;
        }
        if (judge) {
            int from = 0;
            int v = vt_brain_judge_or_heuristic(ops, ctx, text, NULL, &from);
            printf("[judge: %s, from the %s]\n", v ? "complete" : "incomplete",
                   from ? "brain" : "heuristic");
        }
        if (filler) {
            int from = 0;
            int k = vt_brain_filler_or_random(ops, ctx, text, fillers, 4, NULL, &rng, &from);
            printf("[filler %d: \"%s\", %s]\n", k, fillers[k].text, from ? "chosen" : "random");
        }
        add_turn(h, &n_turns, VT_ROLE_USER, text, 0);
        spoken s = {0};
        abort_flag = 0;
        in_reply = 1;
        printf("tutor> ");
        fflush(stdout);
        char rerr[512] = "";
        int r = ops->reply(ctx, h, n_turns, print_token, &s, &abort_flag, rerr, sizeof rerr);
        in_reply = 0;
        printf("\n");
        if (r == VT_ECANCELED) {
            size_t l = s.len;
            char *cut = malloc(l + 4);
            if (cut) {
                memcpy(cut, s.text ? s.text : "", l);
                memcpy(cut + l, "...", 4);
                add_turn(h, &n_turns, VT_ROLE_ASSISTANT, cut, 1);
                add_turn(h, &n_turns, VT_ROLE_NOTE, "the person interrupted", 0);
                free(cut);
            }
            printf("[interrupted]\n");
        } else if (r < 0) {
            fprintf(stderr, "[error: %s: %s]\n", vt_strerror(r), rerr);
            printf("tutor> Sorry, I had a problem there. Could you say that again?\n");
            rc = 1;
        } else {
            add_turn(h, &n_turns, VT_ROLE_ASSISTANT, s.text ? s.text : "", 0);
            rc = 0;
        }
        free(s.text);
        if (!interactive)
            break;
    }
out:
    if (ctx)
        ops->destroy(ctx);
    for (size_t i = 0; i < n_turns; i++)
        free(h[i].text);
    free(h);
    return rc;
}
#else
/* Built without the brains: nothing here. */
typedef int vt_cmd_brain_unused;
#endif
