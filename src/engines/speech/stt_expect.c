/*
 * Recognition biased to what the lesson expects, in the pocketsphinx
 * decoder a session has borrowed for the utterance (the expect op of
 * vt_stt_pocketsphinx).
 *
 * DESIGN
 * The decoder keeps two named searches: its n-gram language model (the
 * default search, open vocabulary) and "vt_expect", a JSGF grammar built at
 * run time from the expected answers with the usual frames around them
 * ("it's", "i think it's", "is it", a leading "um") and the lesson's
 * commands. Every utterance streams through the language model as before,
 * so interim text and anything off the lesson are heard as they are; its
 * audio is kept (up to max_s). At end() the kept audio is decoded again
 * under the grammar (about a tenth of the language model's cost) and the
 * two hypotheses are compared (vt_stt_pocketsphinx_choose): the grammar's
 * text is taken when the language model's text is short or already holds
 * an answer, and the grammar's path score is not much worse than the
 * language model's (a question asked instead of an answer scores far worse
 * under the grammar, so its language-model text stands).
 *
 * Grammar first (option expect_first=1, serve's -o stt_expect_first=1):
 * a second grammar holds the same answers and, beside them, a run of
 * common words (the loop). While answers are expected that grammar is
 * streamed instead of the language model; an utterance it hears as an
 * answer or a command is given as heard and the language model never runs
 * (bench_hear: as many right answers, no question taken for one, 30 % less
 * recognition CPU); one it hears as the loop's words (a question, a
 * remark) is decoded by the language model from the kept audio after its
 * end, and the rule above applies as always. The loop's words are never
 * interim text.
 *
 * Why this and not the alternatives, measured with bench_hear
 * (docs/BENCHMARKS.md "Hearing the learner"): a grammar alone hears every
 * question as some answer or command; switching searches per utterance
 * must choose before the utterance is heard; an interpolated language
 * model keeps the 27 MB model's cost and still lets common words win over
 * a rare answer. Re-decoding the short utterance costs little and decides
 * with both hypotheses in hand.
 *
 * The grammar's text is rebuilt only when the phrases change (a hash of
 * them) and kept in the session; a decoder remembers the hash of the
 * grammar in its search, so a lent decoder gets the session's grammar only
 * when it holds another (vt__ps_expect_apply). Answers with a word missing
 * from the dictionary are left out. Switching
 * searches happens between utterances only, as pocketsphinx requires.
 */
#include "engines/speech/speech_internal.h"
#include <pocketsphinx.h>
#include <ckd_alloc.h>
#include <fsg_model.h>
#include <jsgf.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define VT__PHONE_SEARCH "vt_phone"
/* Grammar first keeps up to this much of an utterance, for the full model
 * to decode again when the loop wins (a question asked during a lesson). */
#define VT__FIRST_KEEP_S 30

/* What learners put around an answer, as the recogniser spells it. */
static const char *const k_pre[] = {"it's", "it is", "i think it's", "i think it is", "i think",
                                    "is it", "maybe", "the answer is", "that's", "that is",
                                    "is it maybe", NULL};
static const char *const k_hes[] = {"um", "uh", "hmm", NULL};
static const char *const k_post[] = {"please", "is it", "i think", "right", NULL};
/* Competitors for a number answer: a wrong number must be heard as itself,
 * not pulled to the right one (bench_hear: 37 % of wrong answers accepted
 * with the right answers alone). */
static const char *const k_num_words[] = {
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
    "nineteen", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
    "hundred", NULL};
static const char *const k_numbers =
    "<units> = one | two | three | four | five | six | seven | eight | nine;\n"
    "<num> = zero | <units> | ten | eleven | twelve | thirteen | fourteen | fifteen | sixteen | "
    "seventeen | eighteen | nineteen | (twenty | thirty | forty | fifty | sixty | seventy | "
    "eighty | ninety) [<units>] | [one | a] hundred;\n";

/* The out-of-lesson loop (option expect_garbage=W, measuring): common
 * English words of many sounds, so that anything not an answer (a
 * question, a remark) has a path of its own in a second grammar and is not
 * pulled to the nearest answer; each word weighs W against 1 for an
 * answer. Words the answer path uses are left out of it, so a hypothesis
 * holding one of these words took the loop. bench_hear --grammar-first
 * measures a rule built on it (docs/BENCHMARKS.md). */
static const char *const k_garbage[] = {
    "what", "where", "why", "how", "who", "when", "which", "can", "could", "would", "does",
    "do", "did", "tell", "me", "you", "we", "they", "he", "she", "my", "your", "our", "their",
    "this", "there", "here", "then", "than", "and", "or", "but", "not", "no", "yes", "so",
    "of", "to", "in", "on", "at", "for", "with", "from", "about", "by", "as", "up", "out",
    "down", "over", "after", "before", "again", "more", "much", "many", "some", "any", "all",
    "every", "other", "another", "same", "different", "very", "really", "just", "also",
    "only", "still", "because", "if", "was", "were", "are", "be", "been", "have", "has",
    "had", "get", "got", "go", "going", "come", "make", "take", "give", "know", "think",
    "say", "said", "see", "look", "want", "need", "like", "help", "ask", "mean", "work",
    "learn", "study", "understand", "explain", "show", "try", "use", "find", "keep", "let",
    "put", "call", "change", "start", "turn", "move", "play", "read", "write", "speak",
    "talk", "question", "word", "words", "thing", "things", "time", "day", "night", "year",
    "people", "world", "country", "city", "water", "sun", "moon", "earth", "star", "sky",
    "light", "color", "shape", "way", "part", "place", "home", "school", "class", "teacher",
    "book", "name", "number", "problem", "example", "idea", "reason", "difference", "good",
    "bad", "big", "small", "long", "little", "new", "old", "first", "last", "next", "right",
    "wrong", "easy", "hard", "great", "sorry", "thanks", "okay", "well", "now", "why's",
    "i'm", "don't", "can't", "doesn't", "what's", "how's", "where's", "let's", "would've",
    "something", "anything", "everything", "nothing", "someone", "happen", "happens",
    "happened", "work", "works", "grow", "plants", "animals", "history", "science", "music",
    "language", "english", "french", "spanish", "math", "weather", "summer", "winter",
    "morning", "evening", "today", "tomorrow", "yesterday", NULL};

/* Is every word of the normalised phrase a number word? */
static int is_number_phrase(const char *p)
{
    char tmp[VT_EXPECTED_PHRASE_MAX];
    snprintf(tmp, sizeof tmp, "%s", p);
    int n = 0;
    for (char *save = NULL, *w = strtok_r(tmp, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
        int found = 0;
        for (int i = 0; k_num_words[i] && !found; i++)
            found = strcmp(w, k_num_words[i]) == 0;
        if (!found)
            return 0;
        n++;
    }
    return n > 0;
}

double vt__thread_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Lower case, letters, digits and apostrophes; single spaces. */
static void norm(const char *in, char *out, size_t cap)
{
    size_t o = 0;
    int space = 0;
    for (; in && *in && o + 1 < cap; in++) {
        unsigned char c = (unsigned char)*in;
        if (isalnum(c) || c == '\'') {
            if (space && o && o + 1 < cap)
                out[o++] = ' ';
            space = 0;
            if (o + 1 < cap)
                out[o++] = (char)tolower(c);
        } else {
            space = 1;
        }
    }
    out[o] = 0;
}

/* Is every word of the (normalised) phrase in the decoder's dictionary? */
static int in_dict(ps_decoder_t *ps, const char *phrase)
{
    char tmp[VT_EXPECTED_PHRASE_MAX];
    snprintf(tmp, sizeof tmp, "%s", phrase);
    int words = 0;
    for (char *save = NULL, *w = strtok_r(tmp, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
        if (isdigit((unsigned char)w[0]))
            return 0;
        char *ph = ps_lookup_word(ps, w);
        if (!ph)
            return 0;
        ckd_free(ph);
        words++;
    }
    return words > 0;
}

static unsigned long hash_str(unsigned long h, const char *s)
{
    for (; *s; s++)
        h = h * 33u + (unsigned char)*s;
    return h * 33u + 1u;
}

/* Append " | a | b ..." of the in-dictionary phrases, each with weight w
 * when w > 0; returns how many. */
static int add_alts_w(ps_decoder_t *ps, char *buf, size_t cap, size_t *len,
                      const char *const *list, size_t n, double w)
{
    int k = 0;
    for (size_t i = 0; list && i < n && list[i]; i++) {
        char p[VT_EXPECTED_PHRASE_MAX];
        norm(list[i], p, sizeof p);
        if (!p[0] || !in_dict(ps, p))
            continue;
        char wt[32] = "";
        if (w > 0)
            snprintf(wt, sizeof wt, "/%g/ ", w);
        int l = snprintf(buf + *len, cap - *len, "%s%s%s", k ? " | " : "", wt, p);
        if (l < 0 || (size_t)l >= cap - *len)
            return k;
        *len += (size_t)l;
        k++;
    }
    return k;
}

static int add_alts(ps_decoder_t *ps, char *buf, size_t cap, size_t *len,
                    const char *const *list, size_t n)
{
    return add_alts_w(ps, buf, cap, len, list, n, 0);
}

static size_t list_len(const char *const *l)
{
    size_t n = 0;
    while (l[n])
        n++;
    return n;
}

int vt__ps_expect_init(vt__ps_expect *e, ps_decoder_t *ps, int slack, int max_words,
                       double max_s)
{
    memset(e, 0, sizeof *e);
    /* the decoder's own search, made by ps_init from -lm: pocketsphinx names
     * it "_default" (ps_get_search() would say so, but in Debian's version
     * it leaks the hash iterator it searches with) */
    (void)ps;
    snprintf(e->lm_search, sizeof e->lm_search, "%s", "_default");
    e->slack = slack;
    e->max_words = max_words;
    e->cap = (size_t)(max_s * VT_IN_RATE);
    e->keep = e->cap;
    return 0;
}

void vt__ps_expect_free(vt__ps_expect *e)
{
    free(e->pcm);
    e->pcm = NULL;
    free(e->grammar);
    e->grammar = NULL;
    free(e->garbage_words);
    e->garbage_words = NULL;
    free(e->loop_grammar);
    e->loop_grammar = NULL;
}

/* ps_set_jsgf_string() as Debian's pocketsphinx does it, but freeing the
 * parsed grammar (that version leaks it: some 30 KB every time the
 * expected answers change, found under LeakSanitizer). */
static int set_grammar(ps_decoder_t *ps, const char *name, const char *text)
{
    jsgf_t *jsgf = jsgf_parse_string(text, NULL);
    if (!jsgf)
        return -1;
    jsgf_rule_t *rule = jsgf_get_public_rule(jsgf);
    int rc = -1;
    if (rule) {
        fsg_model_t *fsg = jsgf_build_fsg(jsgf, rule, ps_get_logmath(ps),
                                          cmd_ln_float32_r(ps_get_config(ps), "-lw"));
        if (fsg) {
            rc = ps_set_fsg(ps, name, fsg);
            fsg_model_free(fsg); /* the search holds its own reference */
        }
    }
    jsgf_grammar_free(jsgf);
    return rc;
}

/* Is word w among the words of the grammar text built so far (the answer
 * path's rules)? A cheap whole-word scan of the JSGF text. */
static int in_text(const char *text, const char *w)
{
    size_t l = strlen(w);
    for (const char *p = text; (p = strstr(p, w)) != NULL; p++) {
        char a = p == text ? ' ' : p[-1], b = p[l];
        if (!isalnum((unsigned char)a) && a != '\'' && !isalnum((unsigned char)b) && b != '\'')
            return 1;
    }
    return 0;
}

/* Appends "<gb> = w | w ...;" of the common words the answer path (the
 * grammar text g so far) does not use and the dictionary spells, and keeps
 * them in e->garbage_words; returns how many. */
static int add_garbage(vt__ps_expect *e, ps_decoder_t *ps, char **g, size_t *cap, size_t *len)
{
    size_t need = *len + 16384;
    if (need > *cap) {
        char *ng = realloc(*g, need);
        if (!ng)
            return 0;
        *g = ng;
        *cap = need;
    }
    free(e->garbage_words);
    e->garbage_words = calloc(1, 8192);
    if (!e->garbage_words)
        return 0;
    size_t wl = 0;
    int k = 0;
    size_t start = *len;
    /* the weight as a decimal (the JSGF parser reads no exponent) */
    int digits = 1;
    for (double x = e->garbage; x < 1 && digits < 60; x *= 10)
        digits++;
    digits += 2;
    *len += (size_t)snprintf(*g + *len, *cap - *len, "<gb> = ");
    for (int i = 0; k_garbage[i]; i++) {
        const char *w = k_garbage[i];
        char pad[72];
        snprintf(pad, sizeof pad, " %s ", w);
        if (in_text(*g, w) || strstr(e->garbage_words, pad) ||
            is_number_phrase(w) || !in_dict(ps, w))
            continue;
        int l = snprintf(*g + *len, *cap - *len, "%s/%.*f/ %s", k ? " | " : "", digits,
                         e->garbage, w);
        if (l < 0 || (size_t)l >= *cap - *len - 4)
            break;
        *len += (size_t)l;
        wl += (size_t)snprintf(e->garbage_words + wl, 8192 - wl, " %s ", w);
        k++;
    }
    if (!k) {
        *len = start;
        (*g)[start] = 0;
        return 0;
    }
    *len += (size_t)snprintf(*g + *len, *cap - *len, ";\n");
    return k;
}

/* Did the grammar's (normalised) text go through the loop? */
static int took_garbage(const vt__ps_expect *e, const char *text)
{
    if (!e->garbage_words)
        return 0;
    char tmp[256];
    snprintf(tmp, sizeof tmp, "%s", text);
    for (char *save = NULL, *w = strtok_r(tmp, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
        char pad[72];
        snprintf(pad, sizeof pad, " %s ", w);
        if (strstr(e->garbage_words, pad))
            return 1;
    }
    return 0;
}

int vt__ps_expect_set(vt__ps_expect *e, ps_decoder_t *ps, const char *const *answers,
                      size_t n_answers, const char *const *commands, size_t n_commands)
{
    unsigned long h = 5381;
    for (size_t i = 0; i < n_answers; i++)
        h = hash_str(h, answers[i] ? answers[i] : "");
    h = hash_str(h, "|");
    for (size_t i = 0; i < n_commands; i++)
        h = hash_str(h, commands[i] ? commands[i] : "");
    if (n_answers == 0) {
        e->set = 0;
        e->hash = 0;
        return 0;
    }
    if (e->set && e->hash == (h | 1))
        return 0;
    e->set = 0;
    if (e->first && e->keep < (size_t)VT__FIRST_KEEP_S * VT_IN_RATE)
        e->keep = (size_t)VT__FIRST_KEEP_S * VT_IN_RATE;
    if (!e->pcm && !(e->pcm = malloc(e->keep * sizeof *e->pcm)))
        return VT_ENOMEM;
    size_t cap = 16384, len = 0;
    char *g = malloc(cap);
    if (!g)
        return VT_ENOMEM;
    len = (size_t)snprintf(g, cap, "#JSGF V1.0;\ngrammar vt;\n<ans> = ");
    int weighted = e->weight > 1;
    int n_ans = add_alts_w(ps, g, cap, &len, answers, n_answers, weighted ? e->weight : 0);
    e->n_answers = 0;
    for (size_t i = 0; i < n_answers && e->n_answers < VT__EXPECT_MAX; i++) {
        char p[VT_EXPECTED_PHRASE_MAX];
        norm(answers[i], p, sizeof p);
        if (p[0] && in_dict(ps, p))
            snprintf(e->answers[e->n_answers++], VT_EXPECTED_PHRASE_MAX, "%s", p);
    }
    if (n_ans == 0) {
        free(g);
        return 0; /* nothing the recogniser can spell: no bias */
    }
    /* competitors: every number when an answer is one, and the answers
     * this session expected before (the lesson's other answers, which
     * learners give as wrong answers) */
    int numeric = 0;
    for (size_t i = 0; i < e->n_answers; i++)
        numeric |= is_number_phrase(e->answers[i]);
    if (numeric)
        len += (size_t)snprintf(g + len, cap - len, " | %s<num>", weighted ? "/1/ " : "");
    for (size_t i = 0; i < e->n_seen; i++) {
        int same = is_number_phrase(e->seen[i]) && numeric;
        for (size_t k = 0; k < e->n_answers && !same; k++)
            same = strcmp(e->seen[i], e->answers[k]) == 0;
        if (!same)
            len += (size_t)snprintf(g + len, cap - len, " | %s%s", weighted ? "/1/ " : "",
                                    e->seen[i]);
    }
    for (size_t k = 0; k < e->n_answers; k++) {
        size_t i = 0;
        while (i < e->n_seen && strcmp(e->seen[i], e->answers[k]) != 0)
            i++;
        if (i == e->n_seen) {
            if (e->n_seen == VT__EXPECT_SEEN)
                memmove(e->seen[0], e->seen[1], sizeof e->seen[0] * --e->n_seen);
            snprintf(e->seen[e->n_seen++], VT_EXPECTED_PHRASE_MAX, "%s", e->answers[k]);
        }
    }
    if (numeric)
        len += (size_t)snprintf(g + len, cap - len, ";\n%s", k_numbers);
    else
        len += (size_t)snprintf(g + len, cap - len, ";\n");
    len += (size_t)snprintf(g + len, cap - len, "<hes> = ");
    add_alts(ps, g, cap, &len, k_hes, list_len(k_hes));
    len += (size_t)snprintf(g + len, cap - len, ";\n<pre> = ");
    add_alts(ps, g, cap, &len, k_pre, list_len(k_pre));
    len += (size_t)snprintf(g + len, cap - len, ";\n<post> = ");
    add_alts(ps, g, cap, &len, k_post, list_len(k_post));
    len += (size_t)snprintf(g + len, cap - len, ";\n");
    int n_cmd = 0;
    if (n_commands) {
        len += (size_t)snprintf(g + len, cap - len, "<cmd> = ");
        n_cmd = add_alts(ps, g, cap, &len, commands, n_commands);
        len += (size_t)snprintf(g + len, cap - len, n_cmd ? ";\n" : "<NULL>;\n");
    }
    size_t rules = len;
    snprintf(g + len, cap - len, "public <utt> = [<hes>] [<pre>] <ans> [<post>]%s;\n",
             n_cmd ? " | [<hes>] <cmd>" : "");
    free(e->loop_grammar);
    e->loop_grammar = NULL;
    if (e->garbage > 0) {
        /* the same rules, and beside them a run of up to 10 common words
         * (written out, not as a recursion: Debian's JSGF compiler links a
         * rule's recursion back into the rule that uses it) */
        size_t lcap = rules + 16384, llen = rules;
        char *lg = malloc(lcap);
        if (lg) {
            memcpy(lg, g, rules);
            lg[rules] = 0;
            if (add_garbage(e, ps, &lg, &lcap, &llen)) {
                llen += (size_t)snprintf(lg + llen, lcap - llen, "<gbl> = <gb>");
                for (int k = 1; k < 10; k++)
                    llen += (size_t)snprintf(lg + llen, lcap - llen, " [<gb>");
                for (int k = 1; k < 10; k++)
                    llen += (size_t)snprintf(lg + llen, lcap - llen, "]");
                snprintf(lg + llen, lcap - llen,
                         ";\npublic <utt> = [<hes>] [<pre>] <ans> [<post>]%s | <gbl>;\n",
                         n_cmd ? " | [<hes>] <cmd>" : "");
                e->loop_grammar = lg;
            } else {
                free(lg);
            }
        }
    }
    free(e->grammar);
    e->grammar = g;
    e->set = 1;
    e->hash = h | 1; /* never 0: a decoder's "no grammar" */
    return 0;
}

int vt__ps_expect_apply(vt__ps_expect *e, ps_decoder_t *ps, unsigned long *decoder_grammar)
{
    if (!e->set || *decoder_grammar == e->hash)
        return 0;
    *decoder_grammar = 0;
    if (set_grammar(ps, VT__EXPECT_SEARCH, e->grammar) < 0)
        return VT_EINVAL; /* no grammar pass for this utterance: the LM's text stands */
    if (e->loop_grammar && set_grammar(ps, VT__LOOP_SEARCH, e->loop_grammar) < 0)
        return VT_EINVAL;
    *decoder_grammar = e->hash;
    return 0;
}

void vt__ps_expect_begin(vt__ps_expect *e)
{
    e->n = 0;
    e->overflow = 0;
    memset(&e->last, 0, sizeof e->last);
}

void vt__ps_expect_feed(vt__ps_expect *e, const int16_t *pcm, size_t n)
{
    if (!e->set || e->overflow)
        return;
    if (e->n + n > e->keep) {
        e->overflow = 1;
        return;
    }
    memcpy(e->pcm + e->n, pcm, n * sizeof *pcm);
    e->n += n;
}

static int count_words(const char *s)
{
    int n = 0, in = 0;
    for (; *s; s++) {
        if (*s == ' ')
            in = 0;
        else if (!in)
            in = 1, n++;
    }
    return n;
}

/* Does the normalised text hold phrase as whole words? */
static int holds(const char *text, const char *phrase)
{
    size_t l = strlen(phrase);
    for (const char *p = text; l && (p = strstr(p, phrase)) != NULL; p++)
        if ((p == text || p[-1] == ' ') && (p[l] == 0 || p[l] == ' '))
            return 1;
    return 0;
}

/* Learners' questions begin so ("what time is it", "where do ..."); an
 * answer frame never does. */
static const char *const k_asks[] = {"what", "where", "why",  "how",   "who",  "when", "which",
                                     "can",  "could", "would", "does", "tell", NULL};

/* Does the LM's text ask something (a question word among its first two
 * words) that the grammar's text does not hold? Then it is a question. */
static int asks_otherwise(const char *lm, const char *grammar)
{
    char tmp[256];
    snprintf(tmp, sizeof tmp, "%s", lm);
    int k = 0;
    for (char *save = NULL, *w = strtok_r(tmp, " ", &save); w && k < 2;
         w = strtok_r(NULL, " ", &save), k++)
        for (int a = 0; k_asks[a]; a++)
            if (strcmp(w, k_asks[a]) == 0 && !holds(grammar, w))
                return 1;
    return 0;
}

int vt_stt_pocketsphinx_choose(const vt_stt_ps_info *i, int slack, int max_words)
{
    if (!i || !i->ran || !i->grammar_text[0])
        return 0;
    if (asks_otherwise(i->lm_text, i->grammar_text))
        return 0;
    return i->lm_words <= max_words || i->lm_has_answer ||
           i->lm_words <= count_words(i->grammar_text) + slack;
}

/* The grammar's hesitations only absorb an "um": they are not words the
 * learner meant ("uh stop" must stay the command "stop"). */
static void drop_hesitations(vt_stt_result *r)
{
    size_t k = 0, len = 0;
    for (size_t w = 0; w < r->n_words; w++) {
        int hes = 0;
        for (int h = 0; k_hes[h] && !hes; h++)
            hes = strcmp(r->words[w].text, k_hes[h]) == 0;
        if (!hes)
            r->words[k++] = r->words[w];
    }
    r->n_words = k;
    r->text[0] = 0;
    for (size_t w = 0; w < k; w++) {
        int l = snprintf(r->text + len, sizeof r->text - len, "%s%s", w ? " " : "",
                         r->words[w].text);
        if (l < 0 || (size_t)l >= sizeof r->text - len)
            break;
        len += (size_t)l;
    }
}

/* The kept audio once more through the decoder's current search; its best
 * path's score into *score. 0, or -1 when pocketsphinx refused. */
static int redecode(ps_decoder_t *ps, const vt__ps_expect *e, int32_t *score)
{
    int ok = ps_start_stream(ps) >= 0 && ps_start_utt(ps) >= 0;
    for (size_t off = 0; ok && off < e->n; off += 320)
        ok = ps_process_raw(ps, e->pcm + off, e->n - off < 320 ? e->n - off : 320, FALSE,
                            FALSE) >= 0;
    if (ps_end_utt(ps) < 0)
        ok = 0;
    if (!ok)
        return -1;
    *score = 0;
    ps_get_hyp(ps, score);
    return 0;
}

int vt__ps_expect_end(vt__ps_expect *e, ps_decoder_t *ps, vt_stt_result *out, double lm_cpu_s)
{
    vt_stt_ps_info *i = &e->last;
    memset(i, 0, sizeof *i);
    i->lm_cpu_s = lm_cpu_s;
    if (!e->set)
        return 0;
    int32_t score = 0;
    ps_get_hyp(ps, &score);
    i->lm_score = score;
    i->frames = ps_get_n_frames(ps);
    norm(out->text, i->lm_text, sizeof i->lm_text);
    i->lm_words = count_words(i->lm_text);
    for (size_t k = 0; k < e->n_answers && !i->lm_has_answer; k++)
        i->lm_has_answer = holds(i->lm_text, e->answers[k]);
    if (e->overflow || e->n == 0 || e->n > e->cap)
        return 0;
    double t0 = vt__thread_cpu_s();
    vt_stt_result *g = calloc(1, sizeof *g);
    int ok = g && ps_set_search(ps, VT__EXPECT_SEARCH) >= 0;
    if (ok) {
        ok = redecode(ps, e, &i->grammar_score) == 0;
        if (ok) {
            vt__ps_result(ps, g);
            drop_hesitations(g);
            norm(g->text, i->grammar_text, sizeof i->grammar_text);
        }
        ps_set_search(ps, e->lm_search);
    }
    i->ran = ok;
    i->grammar_cpu_s = vt__thread_cpu_s() - t0;
    if (ok && e->loop_grammar && !e->first && !e->in_end_first) {
        /* the grammar with its loop of common words (bench_hear's
         * grammar-first rule): an answer, or the loop's words */
        double t1 = vt__thread_cpu_s();
        vt_stt_result *lr = calloc(1, sizeof *lr);
        int32_t sc = 0;
        i->loop_ran = lr && ps_set_search(ps, VT__LOOP_SEARCH) >= 0 && redecode(ps, e, &sc) == 0;
        if (i->loop_ran) {
            vt__ps_result(ps, lr);
            drop_hesitations(lr);
            norm(lr->text, i->loop_text, sizeof i->loop_text);
            i->loop_garbage = took_garbage(e, i->loop_text);
        }
        free(lr);
        ps_set_search(ps, e->lm_search);
        i->loop_cpu_s = vt__thread_cpu_s() - t1;
    }
    if (ok && e->phone) {
        /* the same audio through a loop of phones: the best score any
         * sequence of sounds reaches, against which the grammar's says how
         * well the answers fit (bench_hear's grammar-first rule) */
        double t1 = vt__thread_cpu_s();
        int pok = ps_set_search(ps, VT__PHONE_SEARCH) >= 0 ||
                  (ps_set_allphone(ps, VT__PHONE_SEARCH, NULL) >= 0 &&
                   ps_set_search(ps, VT__PHONE_SEARCH) >= 0);
        i->phone_ran = pok && redecode(ps, e, &i->phone_score) == 0;
        ps_set_search(ps, e->lm_search);
        i->phone_cpu_s = vt__thread_cpu_s() - t1;
    }
    i->chose_grammar = ok && vt_stt_pocketsphinx_choose(i, e->slack, e->max_words);
    if (i->chose_grammar)
        *out = *g;
    free(g);
    return i->chose_grammar;
}

int vt__ps_expect_stream_loop(vt__ps_expect *e, ps_decoder_t *ps, unsigned long decoder_grammar)
{
    return e->first && e->set && e->loop_grammar && decoder_grammar == e->hash &&
           ps_set_search(ps, VT__LOOP_SEARCH) >= 0;
}

int vt__ps_expect_is_loop(const vt__ps_expect *e, const char *text)
{
    char t[256];
    norm(text, t, sizeof t);
    return took_garbage(e, t);
}

int vt__ps_expect_end_first(vt__ps_expect *e, ps_decoder_t *ps, vt_stt_result *out,
                            double loop_cpu_s)
{
    vt_stt_result *lr = calloc(1, sizeof *lr);
    if (!lr) {
        ps_set_search(ps, e->lm_search);
        return VT_ENOMEM;
    }
    vt__ps_result(ps, lr);
    drop_hesitations(lr);
    vt_stt_ps_info loop = {0};
    norm(lr->text, loop.loop_text, sizeof loop.loop_text);
    loop.loop_ran = 1;
    loop.loop_cpu_s = loop_cpu_s;
    loop.frames = ps_get_n_frames(ps);
    loop.loop_garbage = took_garbage(e, loop.loop_text);
    ps_set_search(ps, e->lm_search);
    if (loop.loop_text[0] && !loop.loop_garbage && !e->overflow && e->n <= e->cap) {
        /* an answer or a command: given as the grammar heard it */
        *out = *lr;
        free(lr);
        loop.ran = 1;
        loop.chose_grammar = 1;
        loop.first_taken = 1;
        snprintf(loop.grammar_text, sizeof loop.grammar_text, "%s", loop.loop_text);
        e->last = loop;
        return 0;
    }
    free(lr);
    /* the loop won (or nothing was heard): the full model over the kept
     * audio, then the biased rule as for a streamed utterance */
    double t0 = vt__thread_cpu_s();
    int32_t score = 0;
    int rc = 0;
    if (e->n == 0) {
        memset(out, 0, sizeof *out);
    } else if (redecode(ps, e, &score) == 0) {
        vt__ps_result(ps, out);
    } else {
        memset(out, 0, sizeof *out);
        rc = VT_EIO;
    }
    if (!rc) {
        e->in_end_first = 1;
        vt__ps_expect_end(e, ps, out, vt__thread_cpu_s() - t0);
        e->in_end_first = 0;
    }
    e->last.loop_ran = 1;
    e->last.loop_cpu_s = loop_cpu_s;
    e->last.loop_garbage = loop.loop_garbage;
    snprintf(e->last.loop_text, sizeof e->last.loop_text, "%s", loop.loop_text);
    return rc;
}
