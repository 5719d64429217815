/*
 * A pronunciation dictionary read once per process (ps_dict.c), from which
 * decoders that need only a few words get a small dictionary file.
 * Internal to src/engines/speech.
 *
 * THREAD SAFETY: load/free on one thread; has/subset concurrently.
 */
#ifndef VT_ENGINES_SPEECH_PS_DICT_H
#define VT_ENGINES_SPEECH_PS_DICT_H
#include <stddef.h>

typedef struct vt__ps_dict vt__ps_dict;

int vt__ps_dict_load(const char *path, vt__ps_dict **out, char *err, size_t errlen);
void vt__ps_dict_free(vt__ps_dict *d);
/* 1 when word (lower case, one word) has a pronunciation */
int vt__ps_dict_has(const vt__ps_dict *d, const char *word);
/* Writes the lines of every word of words (each may hold several,
 * space-separated) to a new temp file named in path (the caller unlinks
 * it). VT_ENOTFOUND names the missing word in bad; VT_EIO. */
int vt__ps_dict_subset(const vt__ps_dict *d, const char *const *words, size_t n_words,
                       char *path, size_t cap, char *bad, size_t bad_cap);

#endif
