/*
 * Server-sent events, parsed incrementally (see sse.h). The parser keeps the
 * unfinished line and the data of the unfinished event between reads, so a
 * network read may end anywhere — inside "data:", between CR and LF, in the
 * middle of a UTF-8 sequence — and the events come out the same.
 */
#include "sse.h"

#include <stdlib.h>
#include <string.h>

#include "voicetutor/core.h"

void vt__sse_init(vt_sse *s, size_t max_event, vt_sse_event_fn on_event, void *ud)
{
    memset(s, 0, sizeof *s);
    s->max_event = max_event ? max_event : 1 << 20;
    s->on_event = on_event;
    s->ud = ud;
}

void vt__sse_free(vt_sse *s)
{
    free(s->line);
    free(s->data);
    s->line = s->data = NULL;
    s->line_len = s->line_cap = s->data_len = s->data_cap = 0;
}

static int grow(char **buf, size_t *cap, size_t need)
{
    if (need <= *cap)
        return 0;
    size_t nc = *cap ? *cap : 256;
    while (nc < need)
        nc *= 2;
    char *nb = realloc(*buf, nc);
    if (!nb)
        return VT_ENOMEM;
    *buf = nb;
    *cap = nc;
    return 0;
}

static int dispatch(vt_sse *s)
{
    if (!s->have_data)
        return 0;
    s->have_data = 0;
    size_t len = s->data_len;
    if (len && s->data[len - 1] == '\n')
        len--; /* the spec drops the last "\n" added after each data line */
    s->data[len] = '\0';
    s->data_len = 0;
    return s->on_event ? s->on_event(s->ud, s->data, len) : 0;
}

static int process_line(vt_sse *s)
{
    const char *line = s->line ? s->line : "";
    size_t n = s->line_len;
    if (n == 0)
        return dispatch(s);
    if (line[0] == ':')
        return 0; /* comment / keep-alive */
    const char *colon = memchr(line, ':', n);
    size_t flen = colon ? (size_t)(colon - line) : n;
    const char *val = colon ? colon + 1 : line + n;
    size_t vlen = n - (size_t)(val - line);
    if (vlen && *val == ' ') {
        val++;
        vlen--;
    }
    if (flen == 4 && memcmp(line, "data", 4) == 0) {
        if (s->data_len + vlen + 2 > s->max_event)
            return VT_EFORMAT;
        int rc = grow(&s->data, &s->data_cap, s->data_len + vlen + 2);
        if (rc)
            return rc;
        memcpy(s->data + s->data_len, val, vlen);
        s->data_len += vlen;
        s->data[s->data_len++] = '\n';
        s->have_data = 1;
    }
    return 0; /* event, id, retry and unknown fields: ignored */
}

static int end_line(vt_sse *s)
{
    int rc = process_line(s);
    s->line_len = 0;
    return rc;
}

int vt__sse_feed(vt_sse *s, const char *buf, size_t n)
{
    if (s->err)
        return s->err;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        char c = buf[i];
        if (c == '\n' && s->last_cr) {
            s->last_cr = 0; /* the LF of a CRLF split from its CR */
            continue;
        }
        s->last_cr = 0;
        if (c == '\r' || c == '\n') {
            s->last_cr = c == '\r';
            rc = end_line(s);
            continue;
        }
        /* copy the run of ordinary bytes at once */
        size_t j = i;
        while (j < n && buf[j] != '\r' && buf[j] != '\n')
            j++;
        size_t run = j - i;
        if (s->line_len + run + 1 > s->max_event) {
            rc = VT_EFORMAT;
            break;
        }
        rc = grow(&s->line, &s->line_cap, s->line_len + run + 1);
        if (rc)
            break;
        memcpy(s->line + s->line_len, buf + i, run);
        s->line_len += run;
        s->line[s->line_len] = '\0';
        i = j - 1;
    }
    if (rc)
        s->err = rc;
    return rc;
}

int vt__sse_finish(vt_sse *s)
{
    if (s->err)
        return s->err;
    int rc = 0;
    if (s->line_len)
        rc = end_line(s);
    if (!rc)
        rc = dispatch(s);
    if (rc)
        s->err = rc;
    return rc;
}
