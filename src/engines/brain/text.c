/*
 * Answer normalisation and number words (see text.h). A recogniser writes
 * "forty two", a lesson file writes "42" and a learner may type "42!", so
 * everything is compared in one normal form: lower case, no punctuation,
 * numbers as digits. The number parser is a small left-to-right state machine
 * over words (unit, teen, tens, hundred, thousand, million) that ends a
 * number as soon as the next word cannot continue it ("one two" -> "1 2").
 */
#include "text.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_WORDS 256
#define MAX_WORD 48

static const char *const small_words[20] = {
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
    "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen",
    "seventeen", "eighteen", "nineteen"};
static const char *const tens_words[10] = {
    "", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"};

typedef enum { K_NONE, K_ZERO, K_UNIT, K_TEEN, K_TENS, K_HUNDRED, K_THOUSAND, K_MILLION } kind;

static kind word_kind(const char *w, long *v)
{
    for (int i = 0; i < 20; i++)
        if (strcmp(w, small_words[i]) == 0) {
            *v = i;
            return i == 0 ? K_ZERO : i < 10 ? K_UNIT : K_TEEN;
        }
    if (strcmp(w, "fourty") == 0) { /* a common spelling slip */
        *v = 40;
        return K_TENS;
    }
    for (int i = 2; i < 10; i++)
        if (strcmp(w, tens_words[i]) == 0) {
            *v = i * 10;
            return K_TENS;
        }
    if (strcmp(w, "hundred") == 0) { *v = 100; return K_HUNDRED; }
    if (strcmp(w, "thousand") == 0) { *v = 1000; return K_THOUSAND; }
    if (strcmp(w, "million") == 0) { *v = 1000000; return K_MILLION; }
    return K_NONE;
}

typedef struct numparse {
    int active;
    kind prev;
    long total;   /* completed millions/thousands */
    long cur;     /* the group being built (below a thousand) */
} numparse;

/* Can a word of kind k continue the number being parsed? */
static int can_follow(const numparse *np, kind k)
{
    kind prev = np->prev;
    int after_value = prev == K_UNIT || prev == K_TEEN || prev == K_TENS || prev == K_HUNDRED;
    switch (k) {
    case K_ZERO: return 0;
    case K_UNIT: return prev == K_TENS || prev == K_HUNDRED || prev == K_THOUSAND ||
                        prev == K_MILLION;
    case K_TEEN:
    case K_TENS: return prev == K_HUNDRED || prev == K_THOUSAND || prev == K_MILLION;
    case K_HUNDRED: return (prev == K_UNIT || prev == K_TEEN) && np->cur < 100;
    case K_THOUSAND: return after_value && np->total % 1000000 == 0;
    case K_MILLION: return after_value && np->total == 0;
    default: return 0;
    }
}

static void out_word(char *out, size_t cap, size_t *len, const char *w)
{
    size_t wl = strlen(w);
    size_t need = wl + (*len ? 1 : 0);
    if (*len + need + 1 > cap)
        return; /* truncated at a word boundary */
    if (*len)
        out[(*len)++] = ' ';
    memcpy(out + *len, w, wl);
    *len += wl;
    out[*len] = '\0';
}

static void flush_number(numparse *np, char *out, size_t cap, size_t *len)
{
    if (!np->active)
        return;
    char buf[32];
    snprintf(buf, sizeof buf, "%ld", np->total + np->cur);
    out_word(out, cap, len, buf);
    memset(np, 0, sizeof *np);
}

static void feed_number(numparse *np, kind k, long v)
{
    np->active = 1;
    switch (k) {
    case K_HUNDRED: np->cur = (np->cur ? np->cur : 1) * 100; break;
    case K_THOUSAND: np->total += (np->cur ? np->cur : 1) * 1000; np->cur = 0; break;
    case K_MILLION:
        np->total = (np->total + (np->cur ? np->cur : 1)) * 1000000;
        np->cur = 0;
        break;
    default: np->cur += v; break;
    }
    np->prev = k;
}

static size_t normalize(const char *in, char *out, size_t cap, int numbers)
{
    if (!out || cap == 0)
        return 0;
    out[0] = '\0';
    if (!in)
        return 0;
    /* split into lower-case words */
    char words[MAX_WORDS][MAX_WORD];
    size_t nw = 0, wl = 0;
    for (const unsigned char *p = (const unsigned char *)in;; p++) {
        int c = *p;
        if (c == '\'' || (c == 0xE2 && p[1] == 0x80 && (p[2] == 0x98 || p[2] == 0x99))) {
            if (c == 0xE2)
                p += 2; /* typographic apostrophe */
            continue;
        }
        if (c && (isalnum(c) || c >= 0x80)) {
            if (nw < MAX_WORDS && wl + 1 < MAX_WORD)
                words[nw][wl++] = (char)(c < 0x80 ? tolower(c) : c);
            continue;
        }
        if (wl && nw < MAX_WORDS) {
            words[nw][wl] = '\0';
            nw++;
        }
        wl = 0;
        if (!c)
            break;
    }
    size_t len = 0;
    numparse np = {0};
    for (size_t i = 0; i < nw; i++) {
        const char *w = words[i];
        long v = 0;
        kind k = numbers ? word_kind(w, &v) : K_NONE;
        if (k == K_NONE) {
            /* "a hundred" / "a thousand" */
            if (numbers && strcmp(w, "a") == 0 && !np.active && i + 1 < nw) {
                long v2;
                kind k2 = word_kind(words[i + 1], &v2);
                if (k2 == K_HUNDRED || k2 == K_THOUSAND) {
                    np.active = 1;
                    np.cur = 1;
                    np.prev = K_UNIT;
                    continue;
                }
            }
            /* "one hundred and five": "and" inside a number */
            if (strcmp(w, "and") == 0 && np.active &&
                (np.prev == K_HUNDRED || np.prev == K_THOUSAND) && i + 1 < nw) {
                long v2;
                kind k2 = word_kind(words[i + 1], &v2);
                if (k2 == K_UNIT || k2 == K_TEEN || k2 == K_TENS)
                    continue;
            }
            flush_number(&np, out, cap, &len);
            out_word(out, cap, &len, w);
            continue;
        }
        if (np.active && !can_follow(&np, k))
            flush_number(&np, out, cap, &len);
        if (!np.active && (k == K_HUNDRED || k == K_THOUSAND || k == K_MILLION)) {
            out_word(out, cap, &len, w); /* a bare scale word is not a number */
            continue;
        }
        feed_number(&np, k, v);
        if (k == K_ZERO)
            flush_number(&np, out, cap, &len);
    }
    flush_number(&np, out, cap, &len);
    return len;
}

size_t vt__text_normalize(const char *in, char *out, size_t cap)
{
    return normalize(in, out, cap, 1);
}

size_t vt__text_normalize_words(const char *in, char *out, size_t cap)
{
    return normalize(in, out, cap, 0);
}

static size_t below_thousand(long v, char *out, size_t cap, size_t len)
{
    char buf[96] = "";
    size_t n = 0;
    if (v >= 100) {
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%s hundred", small_words[v / 100]);
        v %= 100;
        if (v)
            n += (size_t)snprintf(buf + n, sizeof buf - n, " ");
    }
    if (v >= 20) {
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%s", tens_words[v / 10]);
        if (v % 10)
            n += (size_t)snprintf(buf + n, sizeof buf - n, " %s", small_words[v % 10]);
    } else if (v > 0) {
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%s", small_words[v]);
    }
    if (len + (len ? 1 : 0) + n + 1 > cap)
        return (size_t)-1;
    if (len)
        out[len++] = ' ';
    memcpy(out + len, buf, n + 1);
    return len + n;
}

size_t vt__number_words(long v, char *out, size_t cap)
{
    if (!out || cap == 0 || v < 0 || v > 999999)
        return 0;
    out[0] = '\0';
    if (v == 0) {
        if (cap < 5)
            return 0;
        memcpy(out, "zero", 5);
        return 4;
    }
    size_t len = 0;
    if (v >= 1000) {
        len = below_thousand(v / 1000, out, cap, len);
        if (len == (size_t)-1 || len + 10 > cap)
            return 0;
        memcpy(out + len, " thousand", 10);
        len += 9;
        v %= 1000;
    }
    if (v) {
        len = below_thousand(v, out, cap, len);
        if (len == (size_t)-1)
            return 0;
    }
    return len;
}

int vt__text_has_phrase(const char *text, const char *phrase)
{
    size_t pl = strlen(phrase);
    if (!pl)
        return 0;
    for (const char *p = text; (p = strstr(p, phrase)) != NULL; p++) {
        int start_ok = p == text || p[-1] == ' ';
        int end_ok = p[pl] == '\0' || p[pl] == ' ';
        if (start_ok && end_ok)
            return 1;
    }
    return 0;
}

int vt__text_is_prefix(const char *text, const char *phrase)
{
    size_t tl = strlen(text);
    return tl > 0 && tl < strlen(phrase) && strncmp(text, phrase, tl) == 0 && phrase[tl] == ' ';
}

size_t vt__text_words(const char *t)
{
    size_t n = 0;
    for (const char *p = t; *p; p++)
        if (*p != ' ' && (p == t || p[-1] == ' '))
            n++;
    return n;
}

static int all_digits(const char *p, size_t n)
{
    if (n == 0 || n > 12)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)p[i]))
            return 0;
    return 1;
}

long vt__text_last_number(const char *t)
{
    long last = -1;
    const char *p = t;
    while (*p) {
        while (*p == ' ')
            p++;
        const char *s = p;
        while (*p && *p != ' ')
            p++;
        if (all_digits(s, (size_t)(p - s)))
            last = strtol(s, NULL, 10);
    }
    return last;
}

int vt__text_is_number(const char *t)
{
    return all_digits(t, strlen(t));
}
