/*
 * Phrase buffer (seed 004's buffer_tts_text_step): LLM tokens become phrases
 * for TTS. The first phrase is cut as early as a clause boundary allows (a
 * comma after a few words, or any sentence end) so the first audio comes
 * quickly; later phrases end at sentence ends so speech sounds natural; no
 * phrase exceeds phrase_max_chars (cut at the last space). A boundary counts
 * only when whitespace follows it, so "3.5" is never split.
 */
#include "core/internal.h"
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

void vt__phrase_init(phrase_buf *p, const vt_config *cfg)
{
    memset(p, 0, sizeof *p);
    p->first_min = cfg->phrase_first_min_chars;
    p->min = cfg->phrase_min_chars;
    p->max = cfg->phrase_max_chars;
}

void vt__phrase_free(phrase_buf *p)
{
    free(p->buf);
    p->buf = NULL;
    p->len = p->cap = 0;
}

void vt__phrase_reset(phrase_buf *p)
{
    p->len = 0;
    p->first_done = false;
    if (p->buf)
        p->buf[0] = 0;
}

int vt__phrase_push(phrase_buf *p, const char *tok)
{
    if (!tok)
        return VT_EINVAL;
    size_t l = strlen(tok);
    if (p->len + l + 1 > p->cap) {
        size_t cap = p->cap ? p->cap : 256;
        while (cap < p->len + l + 1)
            cap *= 2;
        char *b = realloc(p->buf, cap);
        if (!b)
            return VT_ENOMEM;
        p->buf = b;
        p->cap = cap;
    }
    memcpy(p->buf + p->len, tok, l);
    p->len += l;
    p->buf[p->len] = 0;
    return 0;
}

static bool is_sentence_end(char c)
{
    return c == '.' || c == '!' || c == '?' || c == '\n';
}

static bool is_clause_end(char c)
{
    return c == ',' || c == ';' || c == ':';
}

char *vt__phrase_next(phrase_buf *p, bool final)
{
    size_t start = 0;
    while (start < p->len && isspace((unsigned char)p->buf[start]))
        start++;
    if (start == p->len) {
        p->len = 0;
        return NULL;
    }
    const char *b = p->buf + start;
    size_t len = p->len - start, cut = 0;
    for (size_t i = 0; i < len && !cut; i++) {
        bool followed = (i + 1 < len && isspace((unsigned char)b[i + 1])) ||
                        (final && i + 1 == len) || b[i] == '\n';
        if (!followed)
            continue;
        size_t l = i + 1;
        if (l > (size_t)p->max)
            break;
        if (!p->first_done) {
            if (is_sentence_end(b[i]) || (is_clause_end(b[i]) && l >= (size_t)p->first_min))
                cut = l;
        } else if (is_sentence_end(b[i]) && l >= (size_t)p->min) {
            cut = l;
        }
    }
    if (!cut && len > (size_t)p->max) {
        size_t i = (size_t)p->max;
        while (i > 0 && !isspace((unsigned char)b[i]))
            i--;
        cut = i > 0 ? i : (size_t)p->max;
    }
    if (!cut && final)
        cut = len;
    if (!cut)
        return NULL;
    size_t end = cut;
    while (end > 0 && isspace((unsigned char)b[end - 1]))
        end--;
    char *out = malloc(end + 1);
    if (!out)
        return NULL;
    memcpy(out, b, end);
    out[end] = 0;
    size_t rest = len - cut;
    memmove(p->buf, b + cut, rest);
    p->len = rest;
    p->buf[rest] = 0;
    p->first_done = true;
    if (end == 0) {
        free(out);
        return vt__phrase_next(p, final);
    }
    return out;
}
