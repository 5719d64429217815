/*
 * The LLM brain's pure half: request bodies built from the core's memory
 * (what the tutor actually said, "..." where it was cut, a note that the
 * person interrupted), the streamed chunks interpreted into tokens, and the
 * judge's and filler's answers parsed. No I/O here, so every rule is a unit
 * test (tests/brain/test_llm_prompt.c).
 */
#ifndef VT_BRAIN_LLM_PROMPT_H
#define VT_BRAIN_LLM_PROMPT_H
#include <stddef.h>

#include "voicetutor/engine.h"

/* Request bodies (malloc'd JSON strings; NULL when out of memory). */
char *vt__llm_reply_body(const char *model, const char *system, const vt_turn *h, size_t n,
                         size_t max_turns, int max_tokens, double temperature);
char *vt__llm_judge_body(const char *model, const char *text);
char *vt__llm_filler_body(const char *model, const char *text, const vt_filler_desc *f,
                          size_t n);

/* The judge's answer: 1 complete, 0 incomplete, VT_EFORMAT when it says
 * neither (the caller falls back to the heuristic). */
int vt__llm_parse_judge(const char *content);
/* The filler's answer: an index < n, or VT_EFORMAT. */
int vt__llm_parse_filler(const char *content, size_t n);

/* The text of a non-streamed chat completion (choices[0].message.content).
 * 0, or VT_EFORMAT with a reason in err. */
int vt__llm_message_content(const char *json, size_t len, char *out, size_t cap,
                            char *err, size_t errlen);
/* The message of an error body ({"error":{"message":...}}) or the start of
 * the body, for HTTP errors. */
void vt__llm_error_message(const char *body, size_t len, char *out, size_t cap);

/* One streamed chat completion: the SSE event handler (sse.h) turning
 * chunks into tokens. */
typedef struct vt_oai_stream {
    vt_token_fn on_token;
    void *ud;
    const volatile int *abort;
    int done;          /* "data: [DONE]" seen */
    int finished;      /* a finish_reason seen */
    long n_tokens;
    char err[256];     /* why the stream was refused */
} vt_oai_stream;
/* 0, VT_EFORMAT (malformed chunk), VT_EIO (an error object in the stream),
 * VT_ECANCELED (aborted or on_token asked to stop). */
int vt__oai_on_event(void *ud, const char *data, size_t len);

#endif
