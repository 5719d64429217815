/*
 * Text helpers of the core: word normalisation, the interruption command
 * matcher (seed 000's interrupt detector), stripping a leading command from
 * the person's next turn, and the embedded completeness judge (seed 000's
 * "is the sentence complete", used when no brain judges or it is late),
 * which also takes the lesson's context: a turn that holds an expected
 * answer is complete, however the recogniser heard the words around it.
 */
#include "core/internal.h"
#include <ctype.h>
#include <string.h>

size_t vt__text_norm_word(const char *in, size_t len, char *out, size_t cap)
{
    size_t o = 0;
    bool space = false;
    if (!cap)
        return 0;
    for (size_t i = 0; i < len && in[i]; i++) {
        unsigned char ch = (unsigned char)in[i];
        if (isalnum(ch) || ch == '\'' || ch >= 0x80) {
            if (space && o > 0 && o + 1 < cap)
                out[o++] = ' ';
            space = false;
            if (o + 1 < cap)
                out[o++] = (char)tolower(ch);
        } else {
            space = true;
        }
    }
    out[o] = 0;
    return o;
}

size_t vt__text_count_words(const char *s)
{
    size_t n = 0;
    bool in = false;
    for (; s && *s; s++) {
        if (isspace((unsigned char)*s))
            in = false;
        else if (!in) {
            in = true;
            n++;
        }
    }
    return n;
}

size_t vt__text_prefix_words(const char *s, size_t k)
{
    size_t i = 0, n = 0;
    if (!s)
        return 0;
    while (s[i] && n < k) {
        while (s[i] && isspace((unsigned char)s[i]))
            i++;
        if (!s[i])
            break;
        while (s[i] && !isspace((unsigned char)s[i]))
            i++;
        n++;
    }
    return i;
}

/* Does the normalized text hold cmd as whole words starting at offset pos? */
static bool match_at(const char *norm, size_t pos, const char *cmd)
{
    size_t l = strlen(cmd);
    if (pos > 0 && norm[pos - 1] != ' ')
        return false;
    if (strncmp(norm + pos, cmd, l) != 0)
        return false;
    return norm[pos + l] == 0 || norm[pos + l] == ' ';
}

int vt_find_command(const vt_config *cfg, const char *text)
{
    if (!cfg || !text)
        return -1;
    char norm[1024];
    size_t n = vt__text_norm_word(text, strlen(text), norm, sizeof norm);
    for (size_t pos = 0; pos < n; pos++) {
        if (pos > 0 && norm[pos - 1] != ' ')
            continue;
        for (int c = 0; c < cfg->n_commands; c++)
            if (cfg->commands[c][0] && match_at(norm, pos, cfg->commands[c]))
                return c;
    }
    return -1;
}

size_t vt_strip_command(const vt_config *cfg, const char *text, char *out, size_t cap)
{
    if (!out || !cap)
        return 0;
    out[0] = 0;
    if (!cfg || !text)
        return 0;
    const char *p = text;
    for (;;) {
        /* normalize the first few words and test each command as a prefix */
        char norm[256];
        size_t skip = vt__text_prefix_words(p, 3);
        vt__text_norm_word(p, skip, norm, sizeof norm);
        int hit = -1;
        for (int c = 0; c < cfg->n_commands && hit < 0; c++)
            if (cfg->commands[c][0] && match_at(norm, 0, cfg->commands[c]))
                hit = c;
        if (hit < 0)
            break;
        size_t words = vt__text_count_words(cfg->commands[hit]);
        p += vt__text_prefix_words(p, words);
        while (*p && (isspace((unsigned char)*p) || ispunct((unsigned char)*p)))
            p++;
    }
    while (*p && isspace((unsigned char)*p))
        p++;
    size_t len = strlen(p);
    if (len >= cap)
        len = cap - 1;
    memcpy(out, p, len);
    out[len] = 0;
    return len;
}

/* Words after which an English sentence cannot be over. */
static const char *const k_open_words[] = {
    /* conjunctions */
    "and", "but", "or", "so", "because", "if", "when", "while", "although", "though",
    "unless", "until", "then", "than", "that", "which", "who", "whose", "where", "whether",
    "nor", "since", "as",
    /* prepositions */
    "of", "to", "in", "on", "at", "for", "with", "about", "from", "by", "into", "onto",
    "through", "after", "before", "between", "under", "over", "without", "towards",
    "toward", "across", "against", "during", "upon", "within",
    /* articles and determiners */
    "a", "an", "the", "my", "your", "his", "her", "their", "our", "its", "this", "these",
    "those", "some", "any", "every", "each", "another",
    /* auxiliaries that need a continuation */
    "is", "are", "was", "were", "am", "be", "been", "do", "does", "did", "can", "could",
    "would", "should", "will", "shall", "may", "might", "must", "have", "has", "had",
    /* fillers and hesitations */
    "um", "umm", "uh", "uhh", "er", "erm", "ah", "hmm", "mm", "like", "well", "actually",
    "basically", "so", "i", "i'm", "what's", "let's",
    NULL};

int vt_judge_heuristic(const char *text)
{
    if (!text)
        return 0;
    size_t len = strlen(text);
    while (len > 0 && isspace((unsigned char)text[len - 1]))
        len--;
    if (len == 0)
        return 0;
    if (len >= 3 && strncmp(text + len - 3, "...", 3) == 0)
        return 0;
    if (text[len - 1] == ',' || text[len - 1] == '-')
        return 0;
    /* the last word */
    size_t s = len;
    while (s > 0 && !isspace((unsigned char)text[s - 1]))
        s--;
    char last[64];
    vt__text_norm_word(text + s, len - s, last, sizeof last);
    if (!last[0])
        return 1;
    for (int i = 0; k_open_words[i]; i++)
        if (strcmp(last, k_open_words[i]) == 0)
            return 0;
    return 1;
}

/* Is the normalized text nothing but backchannel phrases ("uh huh yeah")?
 * Phrases match as whole words, the longest first at each position. */
static bool only_backchannels(const vt_config *cfg, const char *norm)
{
    size_t pos = 0, n = strlen(norm);
    if (cfg->n_backchannels == 0 || n == 0)
        return false;
    while (pos < n) {
        size_t best = 0;
        for (int b = 0; b < cfg->n_backchannels; b++) {
            size_t l = strlen(cfg->backchannels[b]);
            if (l > best && cfg->backchannels[b][0] && match_at(norm, pos, cfg->backchannels[b]))
                best = l;
        }
        if (!best) {
            /* the rest may be how a backchannel begins ("uh" of "uh huh", "i" of "i see"):
             * interim text, so not yet a reason to interrupt */
            size_t rest = n - pos;
            for (int b = 0; b < cfg->n_backchannels; b++)
                if (strlen(cfg->backchannels[b]) > rest &&
                    strncmp(cfg->backchannels[b], norm + pos, rest) == 0 &&
                    cfg->backchannels[b][rest] == ' ')
                    return true;
            return false;
        }
        pos += best;
        while (pos < n && norm[pos] == ' ')
            pos++;
    }
    return true;
}

bool vt__text_may_interrupt(const vt_config *cfg, const char *text)
{
    char norm[1024];
    vt__text_norm_word(text ? text : "", text ? strlen(text) : 0, norm, sizeof norm);
    size_t words = vt__text_count_words(norm);
    size_t need = cfg->interrupt_min_words > 0 ? (size_t)cfg->interrupt_min_words : 1;
    return words >= need && !only_backchannels(cfg, norm);
}

static const char *const k_fillers[] = {"um", "umm", "uhm", "uh", "uhh", "er", "erm", "ah",
                                        "hmm", "hm", "mm", "mmm", NULL};

static bool in_list(const char *w, const char *const *list)
{
    for (int i = 0; list[i]; i++)
        if (strcmp(w, list[i]) == 0)
            return true;
    return false;
}

bool vt__text_only_fillers(const char *text)
{
    char norm[1024];
    vt__text_norm_word(text ? text : "", text ? strlen(text) : 0, norm, sizeof norm);
    if (!norm[0])
        return false;
    for (char *w = strtok(norm, " "); w; w = strtok(NULL, " "))
        if (!in_list(w, k_fillers))
            return false;
    return true;
}

bool vt__text_only_noise(const char *text, bool hesitations)
{
    /* recognisers mark what is not speech in brackets: "[NOISE]", "<sil>",
     * "(coughs)", "*door slams*", "++BREATH++"; take those spans out */
    char rest[1024];
    size_t o = 0;
    char close = 0;
    for (const char *p = text ? text : ""; *p && o + 1 < sizeof rest; p++) {
        if (close) {
            if (*p == close && !(close == '+' && p[1] != '+'))
                close = 0, p += (*p == '+');
            continue;
        }
        if (*p == '[' || *p == '<' || *p == '(' || *p == '*' || (*p == '+' && p[1] == '+')) {
            close = *p == '[' ? ']' : *p == '<' ? '>' : *p == '(' ? ')' : *p;
            p += (*p == '+');
            continue;
        }
        rest[o++] = *p;
    }
    rest[o] = 0;
    if (close)
        return false; /* "(maybe" never closed: not a mark */
    char norm[1024];
    if (vt__text_norm_word(rest, o, norm, sizeof norm) == 0)
        return true;
    return hesitations && vt__text_only_fillers(norm);
}

/* Number words after which more of the number often follows. */
static const char *const k_open_numbers[] = {
    "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
    "hundred", "thousand", "million", "billion", "point", "minus", NULL};

bool vt__text_ends_open_number(const char *text)
{
    char norm[1024];
    size_t n = vt__text_norm_word(text ? text : "", text ? strlen(text) : 0, norm, sizeof norm);
    const char *last = norm;
    for (size_t i = 0; i < n; i++)
        if (norm[i] == ' ')
            last = norm + i + 1;
    if (in_list(last, k_open_numbers))
        return true;
    /* "20", "300": a number in digits that ends in zero */
    size_t l = strlen(last);
    if (l < 2 || last[l - 1] != '0')
        return false;
    for (size_t i = 0; i < l; i++)
        if (!isdigit((unsigned char)last[i]))
            return false;
    return true;
}

bool vt__text_holds_any(const char *text, const char (*phrases)[VT_CORE_EXPECT_LEN], size_t n)
{
    char norm[1024];
    vt__text_norm_word(text ? text : "", text ? strlen(text) : 0, norm, sizeof norm);
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(phrases[i]);
        for (const char *p = norm; l && (p = strstr(p, phrases[i])) != NULL; p++)
            if ((p == norm || p[-1] == ' ') && (p[l] == 0 || p[l] == ' '))
                return true;
    }
    return false;
}

int vt_judge_heuristic_expected(const char *text, const char *const *answers, size_t n)
{
    char ph[VT_CORE_EXPECT_MAX][VT_CORE_EXPECT_LEN];
    size_t k = 0;
    for (size_t i = 0; answers && i < n && k < VT_CORE_EXPECT_MAX; i++)
        if (answers[i] && vt__text_norm_word(answers[i], strlen(answers[i]), ph[k], sizeof ph[k]))
            k++;
    if (vt__text_holds_any(text, ph, k))
        return 1;
    return vt_judge_heuristic(text);
}

bool vt__text_is_question(const char *text)
{
    for (size_t i = text ? strlen(text) : 0; i > 0; i--)
        if (strchr(".!?", text[i - 1]))
            return text[i - 1] == '?';
    return false;
}
