/*
 * Building what the model is sent and reading what it says (see
 * llm_prompt.h). The history rules follow seed 004: the assistant's turns
 * hold only the words that were heard, cut turns end in "...", the unspoken
 * rest is never sent, and the core's NOTE turn ("the person interrupted")
 * goes to the model in brackets at the start of the next user message —
 * not as a system message in mid-conversation, which several chat templates
 * (llama.cpp, Mistral, Gemma) refuse, and merged so roles alternate.
 */
#include "llm_prompt.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "text.h"

/* a growing string */
typedef struct sbuf {
    char *s;
    size_t len, cap;
    int oom;
} sbuf;

static void sb_add(sbuf *b, const char *t)
{
    size_t tl = strlen(t);
    if (b->oom)
        return;
    if (b->len + tl + 1 > b->cap) {
        size_t nc = b->cap ? b->cap * 2 : 128;
        while (nc < b->len + tl + 1)
            nc *= 2;
        char *ns = realloc(b->s, nc);
        if (!ns) {
            b->oom = 1;
            return;
        }
        b->s = ns;
        b->cap = nc;
    }
    memcpy(b->s + b->len, t, tl + 1);
    b->len += tl;
}

static int ends_with_ellipsis(const char *t)
{
    size_t n = strlen(t);
    while (n && isspace((unsigned char)t[n - 1]))
        n--;
    return (n >= 3 && strncmp(t + n - 3, "...", 3) == 0) ||
           (n >= 3 && strncmp(t + n - 3, "\xE2\x80\xA6", 3) == 0);
}

static int is_blank(const char *t)
{
    for (; t && *t; t++)
        if (!isspace((unsigned char)*t))
            return 0;
    return 1;
}

/* Appends one message, merging it into the previous one of the same role. */
static int add_message(cJSON *msgs, const char *role, const char *content)
{
    int n = cJSON_GetArraySize(msgs);
    cJSON *last = n ? cJSON_GetArrayItem(msgs, n - 1) : NULL;
    const char *last_role = last ? cJSON_GetStringValue(cJSON_GetObjectItem(last, "role")) : NULL;
    if (last_role && strcmp(last_role, role) == 0 && strcmp(role, "system") != 0) {
        cJSON *c = cJSON_GetObjectItem(last, "content");
        const char *old = cJSON_GetStringValue(c);
        size_t ol = old ? strlen(old) : 0, cl = strlen(content);
        char *joined = malloc(ol + cl + 2);
        if (!joined)
            return -1;
        memcpy(joined, old ? old : "", ol);
        joined[ol] = '\n';
        memcpy(joined + ol + 1, content, cl + 1);
        cJSON *nc = cJSON_CreateString(joined);
        free(joined);
        if (!nc)
            return -1;
        cJSON_ReplaceItemInObject(last, "content", nc);
        return 0;
    }
    cJSON *m = cJSON_CreateObject();
    if (!m)
        return -1;
    cJSON_AddItemToArray(msgs, m);
    if (!cJSON_AddStringToObject(m, "role", role) ||
        !cJSON_AddStringToObject(m, "content", content))
        return -1;
    return 0;
}

static cJSON *build_messages(const char *system, const vt_turn *h, size_t n, size_t max_turns)
{
    cJSON *msgs = cJSON_CreateArray();
    if (!msgs)
        return NULL;
    if (system && *system && add_message(msgs, "system", system) != 0)
        goto fail;
    size_t first = max_turns && n > max_turns ? n - max_turns : 0;
    while (first < n && h[first].role != VT_ROLE_USER)
        first++; /* a cut window starts with the person speaking */
    sbuf notes = {0};
    for (size_t i = first; i < n; i++) {
        const vt_turn *t = &h[i];
        const char *text = t->text ? t->text : "";
        if (t->role == VT_ROLE_NOTE) {
            if (is_blank(text))
                continue;
            sb_add(&notes, notes.len ? " [" : "[");
            sb_add(&notes, text);
            sb_add(&notes, "]");
            continue;
        }
        if (t->role == VT_ROLE_ASSISTANT) {
            int cut = t->interrupted && !ends_with_ellipsis(text);
            if (is_blank(text) && !t->interrupted)
                continue;
            sbuf a = {0};
            sb_add(&a, text);
            if (cut)
                sb_add(&a, "...");
            int rc = a.oom ? -1 : add_message(msgs, "assistant", a.s ? a.s : "...");
            free(a.s);
            if (rc)
                goto fail_notes;
            continue;
        }
        /* the person */
        if (is_blank(text) && !notes.len)
            continue;
        if (notes.len) {
            sb_add(&notes, " ");
            sb_add(&notes, text);
            if (notes.oom || add_message(msgs, "user", notes.s) != 0)
                goto fail_notes;
            free(notes.s);
            memset(&notes, 0, sizeof notes);
        } else if (add_message(msgs, "user", text) != 0) {
            goto fail_notes;
        }
    }
    if (notes.len) { /* a note with nothing said after it yet */
        if (notes.oom || add_message(msgs, "user", notes.s) != 0)
            goto fail_notes;
    }
    free(notes.s);
    return msgs;
fail_notes:
    free(notes.s);
fail:
    cJSON_Delete(msgs);
    return NULL;
}

static char *finish_body(cJSON *body)
{
    char *s = body ? cJSON_PrintUnformatted(body) : NULL;
    cJSON_Delete(body);
    return s;
}

char *vt__llm_reply_body(const char *model, const char *system, const vt_turn *h, size_t n,
                         size_t max_turns, int max_tokens, double temperature)
{
    cJSON *body = cJSON_CreateObject();
    cJSON *msgs = build_messages(system, h, n, max_turns);
    if (!body || !msgs) {
        cJSON_Delete(msgs);
        cJSON_Delete(body);
        return NULL;
    }
    cJSON_AddStringToObject(body, "model", model);
    cJSON_AddItemToObject(body, "messages", msgs);
    cJSON_AddBoolToObject(body, "stream", 1);
    if (max_tokens > 0)
        cJSON_AddNumberToObject(body, "max_tokens", max_tokens);
    if (temperature >= 0)
        cJSON_AddNumberToObject(body, "temperature", temperature);
    return finish_body(body);
}

static char *small_body(const char *model, const char *system, const char *user,
                        int max_tokens)
{
    cJSON *body = cJSON_CreateObject();
    cJSON *msgs = cJSON_CreateArray();
    if (!body || !msgs) {
        cJSON_Delete(msgs);
        cJSON_Delete(body);
        return NULL;
    }
    cJSON_AddStringToObject(body, "model", model);
    cJSON_AddItemToObject(body, "messages", msgs);
    if (add_message(msgs, "system", system) != 0 || add_message(msgs, "user", user) != 0) {
        cJSON_Delete(body);
        return NULL;
    }
    cJSON_AddBoolToObject(body, "stream", 0);
    cJSON_AddNumberToObject(body, "max_tokens", max_tokens);
    cJSON_AddNumberToObject(body, "temperature", 0);
    return finish_body(body);
}

#define JUDGE_SYSTEM                                                                       \
    "You decide whether a person talking to a tutor has finished their sentence or "     \
    "stopped in the middle of it. The text comes from speech recognition, without "      \
    "punctuation. Reply with one word: true if the sentence is complete, false if it is " \
    "unfinished."

char *vt__llm_judge_body(const char *model, const char *text)
{
    return small_body(model, JUDGE_SYSTEM, text ? text : "", 3);
}

char *vt__llm_filler_body(const char *model, const char *text, const vt_filler_desc *f,
                          size_t n)
{
    sbuf u = {0};
    char line[64];
    sb_add(&u, "The person said: \"");
    sb_add(&u, text ? text : "");
    sb_add(&u, "\"\nFillers:\n");
    for (size_t i = 0; i < n; i++) {
        snprintf(line, sizeof line, "%zu: \"", i);
        sb_add(&u, line);
        sb_add(&u, f[i].text ? f[i].text : "");
        sb_add(&u, "\"");
        if (f[i].description && *f[i].description) {
            sb_add(&u, " (");
            sb_add(&u, f[i].description);
            sb_add(&u, ")");
        }
        sb_add(&u, "\n");
    }
    char *body = NULL;
    if (!u.oom)
        body = small_body(model,
                          "A tutor says a short filler phrase while it thinks about its "
                          "reply. Pick the filler that fits what the person said best. "
                          "Reply with only its number.",
                          u.s, 4);
    free(u.s);
    return body;
}

int vt__llm_parse_judge(const char *content)
{
    static const struct {
        const char *w;
        int v;
    } words[] = {{"true", 1},       {"false", 0},     {"yes", 1},      {"no", 0},
                 {"complete", 1},   {"incomplete", 0}, {"finished", 1}, {"unfinished", 0},
                 {"1", 1},          {"0", 0}};
    char norm[256];
    vt__text_normalize(content, norm, sizeof norm);
    /* the first verdict word wins ("false. it is not true" is false) */
    for (const char *p = norm; *p;) {
        const char *s = p;
        while (*p && *p != ' ')
            p++;
        size_t wl = (size_t)(p - s);
        for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
            if (strlen(words[i].w) == wl && strncmp(s, words[i].w, wl) == 0)
                return words[i].v;
        while (*p == ' ')
            p++;
    }
    return VT_EFORMAT;
}

int vt__llm_parse_filler(const char *content, size_t n)
{
    char norm[256];
    vt__text_normalize(content, norm, sizeof norm);
    for (const char *p = norm; *p;) {
        const char *s = p;
        while (*p && *p != ' ')
            p++;
        if (vt__text_is_number(s) || (isdigit((unsigned char)*s) && (p - s) < 6)) {
            char *end;
            long v = strtol(s, &end, 10);
            if (end == p)
                return v >= 0 && (size_t)v < n ? (int)v : VT_EFORMAT;
        }
        while (*p == ' ')
            p++;
    }
    return VT_EFORMAT;
}

int vt__llm_message_content(const char *json, size_t len, char *out, size_t cap, char *err,
                            size_t errlen)
{
    int rc = VT_EFORMAT;
    cJSON *root = cJSON_ParseWithLength(json, len);
    if (!root) {
        snprintf(err, errlen, "the server's answer is not JSON");
        goto out;
    }
    cJSON *choices = cJSON_GetObjectItem(root, "choices");
    cJSON *c0 = cJSON_IsArray(choices) ? cJSON_GetArrayItem(choices, 0) : NULL;
    cJSON *msg = c0 ? cJSON_GetObjectItem(c0, "message") : NULL;
    const char *content = msg ? cJSON_GetStringValue(cJSON_GetObjectItem(msg, "content")) : NULL;
    if (!content && c0)
        content = cJSON_GetStringValue(cJSON_GetObjectItem(c0, "text"));
    if (!content) {
        snprintf(err, errlen, "the server's answer has no choices[0].message.content");
        goto out;
    }
    snprintf(out, cap, "%s", content);
    rc = 0;
out:
    cJSON_Delete(root);
    return rc;
}

void vt__llm_error_message(const char *body, size_t len, char *out, size_t cap)
{
    out[0] = '\0';
    cJSON *root = body && len ? cJSON_ParseWithLength(body, len) : NULL;
    cJSON *e = root ? cJSON_GetObjectItem(root, "error") : NULL;
    const char *m = cJSON_IsString(e) ? cJSON_GetStringValue(e)
                    : e ? cJSON_GetStringValue(cJSON_GetObjectItem(e, "message"))
                        : NULL;
    if (m) {
        snprintf(out, cap, "%s", m);
    } else if (body && len) {
        size_t n = len < cap - 1 ? len : cap - 1;
        size_t k = 0;
        for (size_t i = 0; i < n; i++) /* one printable line */
            out[k++] = isprint((unsigned char)body[i]) ? body[i] : ' ';
        out[k] = '\0';
    }
    cJSON_Delete(root);
}

int vt__oai_on_event(void *ud, const char *data, size_t len)
{
    vt_oai_stream *st = ud;
    if (len == 6 && memcmp(data, "[DONE]", 6) == 0) {
        st->done = 1;
        return 0;
    }
    if (st->done)
        return 0; /* nothing counts after [DONE] */
    int rc = 0;
    cJSON *root = cJSON_ParseWithLength(data, len);
    if (!root || !cJSON_IsObject(root)) {
        snprintf(st->err, sizeof st->err, "malformed event in the stream: %.60s", data);
        rc = VT_EFORMAT;
        goto out;
    }
    cJSON *e = cJSON_GetObjectItem(root, "error");
    if (e) {
        char msg[200];
        char *js = cJSON_PrintUnformatted(root);
        vt__llm_error_message(js ? js : "", js ? strlen(js) : 0, msg, sizeof msg);
        free(js);
        snprintf(st->err, sizeof st->err, "the server reported an error: %s", msg);
        rc = VT_EIO;
        goto out;
    }
    cJSON *choices = cJSON_GetObjectItem(root, "choices");
    cJSON *c0 = cJSON_IsArray(choices) ? cJSON_GetArrayItem(choices, 0) : NULL;
    if (!c0)
        goto out; /* usage-only or keep-alive chunks carry no choices */
    cJSON *delta = cJSON_GetObjectItem(c0, "delta");
    const char *tok = delta ? cJSON_GetStringValue(cJSON_GetObjectItem(delta, "content")) : NULL;
    if (!tok)
        tok = cJSON_GetStringValue(cJSON_GetObjectItem(c0, "text"));
    if (tok && *tok) {
        if (st->abort && *st->abort) {
            rc = VT_ECANCELED;
            goto out;
        }
        st->n_tokens++;
        if (st->on_token && st->on_token(st->ud, tok) != 0) {
            rc = VT_ECANCELED;
            goto out;
        }
    }
    if (cJSON_IsString(cJSON_GetObjectItem(c0, "finish_reason")))
        st->finished = 1;
out:
    cJSON_Delete(root);
    return rc;
}
