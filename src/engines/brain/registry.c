/*
 * The table of brains: every brain this build has, looked up by name.
 *
 * Why a file of its own: the table names every brain, and every brain uses
 * the shared helpers of brain.c. With the table in brain.c the two depended
 * on each other; here the dependencies run one way (registry -> brains ->
 * brain.c). A new brain is one row below.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "brain.h"

typedef struct brain_entry {
    const char *name;            /* what users type (--brain, "brain": ...) */
    const vt_brain_ops *ops;
    int alias;                   /* another name for the row above: not listed */
} brain_entry;

static const brain_entry k_brains[] = {
    {"lesson", &vt_brain_lesson, 0},
    {"llm", &vt_brain_llm, 0},
    {"openai", &vt_brain_llm, 1},
};
#define N_BRAINS (sizeof k_brains / sizeof k_brains[0])

const vt_brain_ops *vt_brain_find(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; i < N_BRAINS; i++)
        if (strcmp(k_brains[i].name, name) == 0)
            return k_brains[i].ops;
    return NULL;
}

static char names[128];
static pthread_once_t names_once = PTHREAD_ONCE_INIT;
static void names_build(void)
{
    size_t len = 0;
    for (size_t i = 0; i < N_BRAINS; i++)
        if (!k_brains[i].alias && len < sizeof names)
            len += (size_t)snprintf(names + len, sizeof names - len, "%s%s", len ? ", " : "",
                                    k_brains[i].name);
}

const char *vt_brain_names(void)
{
    pthread_once(&names_once, names_build);
    return names;
}
