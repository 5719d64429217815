/* Fuzzes the LLM brain's stream: the server-sent-events parser fed in
 * pieces whose size comes from the input itself (a stream split at any
 * byte), each event through the chat-completions chunk handler the brain
 * uses (vt__oai_on_event), and an error body through its message reader. */
#include "fuzz/fuzz.h"
#include "engines/brain/llm_prompt.h"
#include "engines/brain/sse.h"

#include <string.h>

static int on_token(void *ud, const char *tok)
{
    (*(long *)ud) += (long)strlen(tok);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    long chars = 0;
    vt_oai_stream st;
    memset(&st, 0, sizeof st);
    st.on_token = on_token;
    st.ud = &chars;
    vt_sse s;
    vt__sse_init(&s, 4096, vt__oai_on_event, &st);
    size_t step = (size_t)data[0] % 17 + 1, off = 1;
    while (off < size) {
        size_t k = size - off < step ? size - off : step;
        if (vt__sse_feed(&s, (const char *)data + off, k) != 0)
            break;
        off += k;
    }
    vt__sse_finish(&s);
    vt__sse_free(&s);
    char msg[128];
    vt__llm_error_message((const char *)data, size, msg, sizeof msg);
    return 0;
}
