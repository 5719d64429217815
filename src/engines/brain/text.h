/*
 * Text helpers for the brains: the normal form answers are compared in
 * (lower case, no punctuation, numbers spoken as words turned into digits),
 * numbers back into words (what a recogniser hears), and word-level phrase
 * search. Pure functions, no allocation beyond the caller's buffers, so they
 * are cheap to call from the judge and filler paths and easy to test.
 */
#ifndef VT_BRAIN_TEXT_H
#define VT_BRAIN_TEXT_H
#include <stddef.h>

/* Normal form: ASCII lower case, apostrophes dropped ("don't" -> "dont"),
 * every other non-alphanumeric byte a single space, number words turned into
 * digits ("forty-two" -> "42", "a hundred and five" -> "105"), one space
 * between words, no leading/trailing space. Returns the length written
 * (truncated at a word boundary when out is too small). */
size_t vt__text_normalize(const char *in, char *out, size_t cap);

/* The same without turning number words into digits ("Forty-two!" ->
 * "forty two"): what a recogniser's output looks like. */
size_t vt__text_normalize_words(const char *in, char *out, size_t cap);

/* 0..999999 as words ("42" -> "forty two"); returns the length, or 0 when
 * the number is out of range or cap is too small. */
size_t vt__number_words(long v, char *out, size_t cap);

/* Does the normalised text contain the normalised phrase as whole words? */
int vt__text_has_phrase(const char *norm_text, const char *norm_phrase);
/* Is the normalised text a strict word prefix of the normalised phrase? */
int vt__text_is_prefix(const char *norm_text, const char *norm_phrase);
/* Number of words in a normalised text. */
size_t vt__text_words(const char *norm_text);
/* Last whole number (all digits) in a normalised text, or -1. */
long vt__text_last_number(const char *norm_text);
/* Is the whole normalised text one number? */
int vt__text_is_number(const char *norm);

#endif
