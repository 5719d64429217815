/*
 * The command line of every voicetutor subcommand: one table of options
 * per command, one parser for all of them.
 *
 * Why: serve, talk, ask, transcribe and say each had their own loop for
 * `--name VALUE`, flags, numbers with a range and `-o key=value`, with
 * the same checks written five times and messages that differed by
 * accident. A command now lists its options (args_spec) and calls
 * args_parse(); the messages ("PROG: --x needs a value", "PROG: unknown
 * option --y", "PROG: -o wants key=value") are the same everywhere.
 *
 * Values are borrowed from argv (never modified); -o keys are copied into
 * the args_kv. Single-threaded, like main().
 */
#ifndef VT_APP_ARGS_H
#define VT_APP_ARGS_H
#include <stddef.h>
#include <stdio.h>

#include "voicetutor/engine.h"

typedef enum {
    ARGS_FLAG,   /* no value: *(int *)dst = 1 */
    ARGS_UNFLAG, /* no value: *(int *)dst = 0 (--no-...) */
    ARGS_STR,    /* *(const char **)dst = value */
    ARGS_INT,    /* *(int *)dst = a whole number, in [min, max] when max > min */
    ARGS_DOUBLE, /* *(double *)dst = a finite number, in [min, max] when max > min */
    ARGS_KV,     /* -o key=value into the args_kv at dst; a later key replaces */
    ARGS_FN,     /* fn(dst, value, err, errlen): 0 or a message in err */
} args_kind;

typedef struct args_spec {
    const char *name;   /* "--port" */
    const char *alias;  /* "-p", or NULL */
    args_kind kind;
    void *dst;
    double min, max;
    int (*fn)(void *dst, const char *value, char *err, size_t errlen);
} args_spec;

#define ARGS_MAX_KV 32
#define ARGS_MAX_KEY 64

/* Where -o pairs go: the caller's vt_opt array (opts, *n of cap used). */
typedef struct args_kv {
    vt_opt *opts;
    size_t *n, cap;
    char keys[ARGS_MAX_KV][ARGS_MAX_KEY];
    size_t n_keys;
} args_kv;

typedef struct args_cmd {
    const char *prog;                 /* message prefix: "voicetutor serve" */
    const args_spec *specs;           /* ends with {NULL} */
    void (*usage)(FILE *f);
    /* a non-option argument; NULL: none are allowed */
    int (*positional)(void *ud, const char *arg, char *err, size_t errlen);
    void *ud;
} args_cmd;

enum { ARGS_OK = 0, ARGS_HELP = 1, ARGS_BAD = -1 };

/* Parses argv[1..argc-1]. ARGS_HELP: -h/--help, usage printed to stdout.
 * ARGS_BAD: a message (and, for an unknown option, the usage) went to
 * stderr. */
int args_parse(const args_cmd *cmd, int argc, char **argv);
/* The value after the last `name` in argv, or NULL (for options that must
 * be read before the others, such as serve's --config). */
const char *args_find(int argc, char **argv, const char *name);
/* Sets key=value in kv (key copied, value borrowed); a key already there
 * gets the new value. -1 when full or the key is too long. */
int args_kv_set(args_kv *kv, const char *key, const char *value);
#endif
