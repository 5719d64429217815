/*
 * An incremental parser for server-sent events (the WHATWG text/event-stream
 * format that OpenAI-compatible servers stream chat completions in). Bytes
 * are fed as they arrive, in pieces of any size: a line or an event split
 * across reads is kept until it is complete. Handles LF, CRLF and lone CR
 * line ends (also when the CR and LF arrive in different reads), comment
 * lines (":"), fields without a space after the colon, and several "data:"
 * lines in one event (joined with "\n"). Other fields (event, id, retry) are
 * ignored: chat streams do not use them.
 *
 * OWNERSHIP: the parser owns its buffers; the data handed to on_event is
 * valid only during the call. Not thread safe (one stream, one thread).
 */
#ifndef VT_BRAIN_SSE_H
#define VT_BRAIN_SSE_H
#include <stddef.h>

/* Called once per complete event that carried data. Return 0 to go on, or a
 * negative VT_E* code to stop: vt__sse_feed then returns that code. */
typedef int (*vt_sse_event_fn)(void *ud, const char *data, size_t len);

typedef struct vt_sse {
    char *line;
    size_t line_len, line_cap;
    char *data;
    size_t data_len, data_cap;
    int have_data;        /* a data field was seen in this event */
    int last_cr;          /* the previous byte ended a line with CR */
    size_t max_event;     /* longest line / event accepted (bytes) */
    int err;              /* sticky: once an error stopped the stream */
    vt_sse_event_fn on_event;
    void *ud;
} vt_sse;

void vt__sse_init(vt_sse *s, size_t max_event, vt_sse_event_fn on_event, void *ud);
void vt__sse_free(vt_sse *s);
/* 0, VT_EFORMAT (a line longer than max_event), VT_ENOMEM, or the callback's
 * code. After an error every later call returns the same error. */
int vt__sse_feed(vt_sse *s, const char *buf, size_t n);
/* The stream ended: a last line without its line end is taken as complete
 * and a pending event is dispatched (lenient with servers that omit the last
 * blank line). */
int vt__sse_finish(vt_sse *s);

#endif
