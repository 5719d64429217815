/*
 * Lesson files (docs/LESSONS.md): loading, checking and answer matching.
 * A lesson is read once into memory and never changes afterwards, so one
 * vt_lesson can be shared by readers on several threads.
 */
#ifndef VT_BRAIN_LESSON_H
#define VT_BRAIN_LESSON_H
#include <stddef.h>

typedef struct vt_lesson_q {
    char *text;              /* the question, as spoken */
    char **answers;          /* accepted answers as written; [0] is the one told */
    char **norm;             /* the same in normal form (text.h), articles dropped */
    size_t n_answers;
    char **hints;            /* given in turn */
    size_t n_hints;
    char *explain;           /* may be NULL */
    int numeric;             /* every accepted answer is a number */
    int line;                /* where it starts in the file */
} vt_lesson_q;

typedef struct vt_lesson {
    char *id;                /* "id:" or the file name without .lesson */
    char *title, *intro, *outro;
    char **praise, **encourage, **steer;   /* rotated through */
    size_t n_praise, n_encourage, n_steer;
    int tries;               /* wrong answers before the answer is told (1..5) */
    vt_lesson_q *q;
    size_t n_q;
} vt_lesson;

/* Parses a lesson; name is used in messages ("file:line: what is wrong").
 * 0, VT_EFORMAT, VT_ENOMEM, or VT_ENOTFOUND/VT_EIO for load(). */
int vt__lesson_parse(const char *text, size_t len, const char *name, vt_lesson **out,
                     char *err, size_t errlen);
int vt__lesson_load(const char *path, vt_lesson **out, char *err, size_t errlen);
void vt__lesson_free(vt_lesson *l);

/* The lesson as context for an LLM's system prompt (malloc'd). */
char *vt__lesson_context(const vt_lesson *l);

typedef enum {
    VT_MATCH_OTHER = -1,     /* not an attempt at the answer (off topic) */
    VT_MATCH_WRONG = 0,
    VT_MATCH_RIGHT = 1
} vt_match;
/* Compares what the learner said (normal form) with the accepted answers.
 * Numeric questions take the last number said ("six times seven is forty
 * two" -> 42); others look for an accepted answer as whole words. A short
 * utterance that is neither counts as a wrong attempt; a longer one, or one
 * that asks something, is off topic. */
vt_match vt__lesson_match(const vt_lesson_q *q, const char *norm_text);

#endif
