/*
 * The pronunciation dictionary read once per process, for decoders that
 * need only a few of its words (issue 13, part 1).
 *
 * DESIGN: pocketsphinx loads the whole dictionary given to ps_init (the
 * en-us cmudict: 134k words, about 21 MiB resident per decoder, and 90 ms of
 * ps_init). A keyword spotter needs the pronunciations of its command words
 * only. vt__ps_dict_load reads the file once and indexes its lines by word
 * (sorted, so a lookup is a binary search); after that the index is
 * read-only and shared by every session's create. vt__ps_dict_subset writes
 * the lines of the words asked for (with their variants "word(2)") to a
 * small file that a decoder's -dict then reads in well under a
 * millisecond. bench_share: a keyword decoder with the full dictionary adds
 * 27.1 MiB and takes 99 ms to open, with a subset 5.5 MiB and 9 ms; the
 * spotter's hits are the same (the dictionary only supplies the keyphrases'
 * phones).
 *
 * THREAD SAFETY: load and free on one thread; subset from any number of
 * threads at once (it only reads the index).
 */
#define _POSIX_C_SOURCE 200809L
#include "engines/speech/ps_dict.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "voicetutor/core.h"

struct vt__ps_dict {
    char *text;                  /* the file, NUL-terminated lines */
    const char **line;           /* sorted by word */
    size_t n;
};

/* length of the word of a line: up to whitespace or "(" of a variant */
static size_t word_len(const char *l)
{
    size_t i = 0;
    while (l[i] && l[i] != ' ' && l[i] != '\t' && l[i] != '(')
        i++;
    return i;
}

static int cmp_word(const char *a, size_t la, const char *b, size_t lb)
{
    int c = strncmp(a, b, la < lb ? la : lb);
    return c ? c : (la > lb) - (la < lb);
}

static int cmp_line(const void *x, const void *y)
{
    const char *a = *(const char *const *)x, *b = *(const char *const *)y;
    int c = cmp_word(a, word_len(a), b, word_len(b));
    return c ? c : strcmp(a, b); /* word before word(2) */
}

int vt__ps_dict_load(const char *path, vt__ps_dict **out, char *err, size_t errlen)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot read the dictionary %s: %s", path, strerror(errno));
        return VT_ENOTFOUND;
    }
    vt__ps_dict *d = calloc(1, sizeof *d);
    long size = -1;
    if (d && fseek(f, 0, SEEK_END) == 0)
        size = ftell(f);
    if (!d || size < 0 || fseek(f, 0, SEEK_SET) != 0 || !(d->text = malloc((size_t)size + 1)) ||
        fread(d->text, 1, (size_t)size, f) != (size_t)size) {
        fclose(f);
        vt__ps_dict_free(d);
        snprintf(err, errlen, "cannot read the dictionary %s", path);
        return VT_EIO;
    }
    fclose(f);
    d->text[size] = 0;
    size_t cap = 1;
    for (long i = 0; i < size; i++)
        cap += d->text[i] == '\n';
    if (!(d->line = malloc(cap * sizeof *d->line))) {
        vt__ps_dict_free(d);
        snprintf(err, errlen, "dictionary: out of memory");
        return VT_ENOMEM;
    }
    for (char *p = d->text, *nl; *p; p = nl + 1) {
        nl = strchr(p, '\n');
        if (nl)
            *nl = 0;
        if (*p && !isspace((unsigned char)*p))
            d->line[d->n++] = p;
        if (!nl)
            break;
    }
    qsort(d->line, d->n, sizeof *d->line, cmp_line);
    *out = d;
    return 0;
}

void vt__ps_dict_free(vt__ps_dict *d)
{
    if (!d)
        return;
    free(d->line);
    free(d->text);
    free(d);
}

/* the first line of word w (length lw), or n */
static size_t find(const vt__ps_dict *d, const char *w, size_t lw)
{
    size_t lo = 0, hi = d->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cmp_word(d->line[mid], word_len(d->line[mid]), w, lw) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < d->n && cmp_word(d->line[lo], word_len(d->line[lo]), w, lw) == 0 ? lo : d->n;
}

int vt__ps_dict_has(const vt__ps_dict *d, const char *word)
{
    return find(d, word, strlen(word)) < d->n;
}

int vt__ps_dict_subset(const vt__ps_dict *d, const char *const *words, size_t n_words,
                       char *path, size_t cap, char *bad, size_t bad_cap)
{
    if (snprintf(path, cap, "/tmp/voicetutor-dict-XXXXXX") >= (int)cap)
        return VT_EINVAL;
    int fd = mkstemp(path);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        if (fd >= 0) {
            close(fd);
            unlink(path);
        }
        return VT_EIO;
    }
    int rc = 0;
    for (size_t i = 0; i < n_words && !rc; i++) {
        /* a keyphrase: each of its words */
        const char *w = words[i];
        while (*w && !rc) {
            while (*w == ' ' || *w == '\t')
                w++;
            size_t l = 0;
            while (w[l] && w[l] != ' ' && w[l] != '\t')
                l++;
            if (!l)
                break;
            size_t at = find(d, w, l);
            if (at == d->n) {
                snprintf(bad, bad_cap, "%.*s", (int)l, w);
                rc = VT_ENOTFOUND;
                break;
            }
            for (; at < d->n && cmp_word(d->line[at], word_len(d->line[at]), w, l) == 0; at++)
                fprintf(f, "%s\n", d->line[at]);
            w += l;
        }
    }
    if (fclose(f) != 0 && !rc)
        rc = VT_EIO;
    if (rc)
        unlink(path);
    return rc;
}
