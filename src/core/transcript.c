/*
 * The conversation's memory (seed 004): the turns as they really happened.
 * An assistant turn holds only the words whose audio was released (or played,
 * once the client reports it), then "..." when cut; the unspoken rest is kept
 * aside and a note records that the person interrupted. Bounded: the oldest
 * turns are dropped past max_turns.
 */
#include "core/internal.h"
#include <stdlib.h>
#include <string.h>

void vt__transcript_init(transcript *t)
{
    memset(t, 0, sizeof *t);
    t->max_turns = 200;
}

static void turn_free(vt_turn *x)
{
    free(x->text);
    free(x->unspoken);
}

void vt__transcript_free(transcript *t)
{
    for (size_t i = 0; i < t->n; i++)
        turn_free(&t->turns[i]);
    free(t->turns);
    memset(t, 0, sizeof *t);
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

int vt__transcript_add(transcript *t, vt_role role, const char *text, const char *unspoken,
                   int interrupted)
{
    if (t->n == t->max_turns && t->n > 0) {
        turn_free(&t->turns[0]);
        memmove(t->turns, t->turns + 1, (t->n - 1) * sizeof *t->turns);
        t->n--;
    }
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 8;
        vt_turn *nt = realloc(t->turns, cap * sizeof *nt);
        if (!nt)
            return VT_ENOMEM;
        t->turns = nt;
        t->cap = cap;
    }
    vt_turn *x = &t->turns[t->n];
    memset(x, 0, sizeof *x);
    x->role = role;
    x->text = dup_or_null(text ? text : "");
    x->unspoken = dup_or_null(unspoken);
    x->interrupted = interrupted;
    if (!x->text || (unspoken && !x->unspoken)) {
        turn_free(x);
        return VT_ENOMEM;
    }
    t->n++;
    return 0;
}

/* Take back the last turn when it is `role` with exactly `text` (an answer
 * begun early and dropped, an interruption undone): 1 when it was removed. */
int vt__transcript_pop(transcript *t, vt_role role, const char *text)
{
    if (t->n == 0 || t->turns[t->n - 1].role != role || !text ||
        strcmp(t->turns[t->n - 1].text, text) != 0)
        return 0;
    turn_free(&t->turns[--t->n]);
    return 1;
}

size_t vt__transcript_memory(const transcript *t)
{
    size_t b = t->cap * sizeof *t->turns;
    for (size_t i = 0; i < t->n; i++) {
        b += strlen(t->turns[i].text) + 1;
        if (t->turns[i].unspoken)
            b += strlen(t->turns[i].unspoken) + 1;
    }
    return b;
}
