/* Word error rate and the shared test sentences (see wer.h). */
#include "support/wer.h"
#include <ctype.h>
#include <stddef.h>
#include <string.h>

#define MAX_WORDS 128

const char *const vt_test_sentences[VT_TEST_N_SENTENCES] = {
    "What is the capital of France?",
    "Can you explain how photosynthesis works?",
    "I think the answer is twelve.",
    "Please tell me a story about a dragon.",
    "How many days are there in a year?",
    "Could you repeat the last question please?",
    "My favourite subject at school was history.",
    "Why does the moon change its shape every night?",
    "I do not understand the second step of the proof.",
    "Let us practise some French verbs together.",
};

/* Lower-case words of letters, digits and apostrophes. */
static int split(const char *s, char words[][32], int max)
{
    int n = 0;
    size_t len = 0;
    for (;; s++) {
        int c = (unsigned char)*s;
        if (c && (isalnum(c) || c == '\'')) {
            if (len < 31 && n < max)
                words[n][len++] = (char)tolower(c);
        } else if (len) {
            if (n < max)
                words[n][len] = '\0';
            n++;
            len = 0;
        }
        if (!c)
            break;
    }
    return n < max ? n : max;
}

int vt_test_word_errors(const char *ref, const char *hyp, int *ref_words)
{
    static char r[MAX_WORDS][32], h[MAX_WORDS][32];
    static int d[MAX_WORDS + 1][MAX_WORDS + 1];
    int nr = split(ref, r, MAX_WORDS), nh = split(hyp, h, MAX_WORDS);
    for (int i = 0; i <= nr; i++)
        d[i][0] = i;
    for (int j = 0; j <= nh; j++)
        d[0][j] = j;
    for (int i = 1; i <= nr; i++)
        for (int j = 1; j <= nh; j++) {
            int sub = d[i - 1][j - 1] + (strcmp(r[i - 1], h[j - 1]) != 0);
            int del = d[i - 1][j] + 1, ins = d[i][j - 1] + 1;
            d[i][j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
    if (ref_words)
        *ref_words = nr;
    return d[nr][nh];
}
