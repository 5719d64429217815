/* One command-line parser for every subcommand (see args.h). */
#include "app/args.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int args_kv_set(args_kv *kv, const char *key, const char *value)
{
    size_t kl = strlen(key);
    if (kl == 0 || kl >= ARGS_MAX_KEY)
        return -1;
    for (size_t i = 0; i < *kv->n; i++)
        if (strcmp(kv->opts[i].key, key) == 0) {
            kv->opts[i].value = value;
            return 0;
        }
    if (*kv->n >= kv->cap || kv->n_keys >= ARGS_MAX_KV)
        return -1;
    char *k = kv->keys[kv->n_keys++];
    memcpy(k, key, kl + 1);
    kv->opts[*kv->n].key = k;
    kv->opts[*kv->n].value = value;
    (*kv->n)++;
    return 0;
}

const char *args_find(int argc, char **argv, const char *name)
{
    const char *v = NULL;
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0)
            v = argv[++i];
    return v;
}

static const args_spec *find(const args_spec *s, const char *a)
{
    for (; s->name; s++)
        if (strcmp(s->name, a) == 0 || (s->alias && strcmp(s->alias, a) == 0))
            return s;
    return NULL;
}

static int bad_number(const args_cmd *cmd, const args_spec *s, const char *a, const char *v)
{
    if (s->max > s->min)
        fprintf(stderr, "%s: %s %s: want %s from %g to %g\n", cmd->prog, a, v,
                s->kind == ARGS_INT ? "a whole number" : "a number", s->min, s->max);
    else
        fprintf(stderr, "%s: %s %s: want %s\n", cmd->prog, a, v,
                s->kind == ARGS_INT ? "a whole number" : "a number");
    return ARGS_BAD;
}

/* Applies one option with its value (NULL for a flag). */
static int apply(const args_cmd *cmd, const args_spec *s, const char *a, const char *v)
{
    char err[512] = "";
    char *end = NULL;
    switch (s->kind) {
    case ARGS_FLAG:
    case ARGS_UNFLAG:
        *(int *)s->dst = s->kind == ARGS_FLAG;
        return ARGS_OK;
    case ARGS_STR:
        *(const char **)s->dst = v;
        return ARGS_OK;
    case ARGS_INT: {
        long n = strtol(v, &end, 10);
        if (!*v || *end || (s->max > s->min && (n < s->min || n > s->max)))
            return bad_number(cmd, s, a, v);
        *(int *)s->dst = (int)n;
        return ARGS_OK;
    }
    case ARGS_DOUBLE: {
        double d = strtod(v, &end);
        if (!*v || *end || !isfinite(d) || (s->max > s->min && (d < s->min || d > s->max)))
            return bad_number(cmd, s, a, v);
        *(double *)s->dst = d;
        return ARGS_OK;
    }
    case ARGS_KV: {
        const char *eq = strchr(v, '=');
        char key[ARGS_MAX_KEY];
        if (!eq || eq == v || (size_t)(eq - v) >= sizeof key) {
            fprintf(stderr, "%s: %s wants key=value (got '%s')\n", cmd->prog, a, v);
            return ARGS_BAD;
        }
        memcpy(key, v, (size_t)(eq - v));
        key[eq - v] = '\0';
        if (args_kv_set(s->dst, key, eq + 1) != 0) {
            fprintf(stderr, "%s: too many %s options\n", cmd->prog, a);
            return ARGS_BAD;
        }
        return ARGS_OK;
    }
    case ARGS_FN:
        if (s->fn(s->dst, v, err, sizeof err) != 0) {
            fprintf(stderr, "%s: %s %s: %s\n", cmd->prog, a, v, err);
            return ARGS_BAD;
        }
        return ARGS_OK;
    }
    return ARGS_BAD;
}

int args_parse(const args_cmd *cmd, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            cmd->usage(stdout);
            return ARGS_HELP;
        }
        const args_spec *s = find(cmd->specs, a);
        if (!s && a[0] == '-' && a[1]) {
            fprintf(stderr, "%s: unknown option %s\n\n", cmd->prog, a);
            cmd->usage(stderr);
            return ARGS_BAD;
        }
        if (!s) {
            char err[512] = "";
            if (!cmd->positional) {
                fprintf(stderr, "%s: unexpected argument '%s'\n\n", cmd->prog, a);
                cmd->usage(stderr);
                return ARGS_BAD;
            }
            if (cmd->positional(cmd->ud, a, err, sizeof err) != 0) {
                fprintf(stderr, "%s: %s\n", cmd->prog, err);
                return ARGS_BAD;
            }
            continue;
        }
        const char *v = NULL;
        if (s->kind != ARGS_FLAG && s->kind != ARGS_UNFLAG) {
            if (i + 1 >= argc) {
                fprintf(stderr, "%s: %s needs a value\n", cmd->prog, a);
                cmd->usage(stderr);
                return ARGS_BAD;
            }
            v = argv[++i];
        }
        if (apply(cmd, s, a, v) != ARGS_OK)
            return ARGS_BAD;
    }
    return ARGS_OK;
}
