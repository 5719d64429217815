/*
 * Starting and stopping tests/brain/fake_openai.py, the local
 * OpenAI-compatible server the LLM brain's tests and bench_serve talk to.
 * One copy of the launcher, so both start it, learn its port and stop it
 * the same way. POSIX only; 127.0.0.1 only.
 */
#ifndef VT_TESTS_SUPPORT_FAKE_LLM_H
#define VT_TESTS_SUPPORT_FAKE_LLM_H
#include <stddef.h>
#include <sys/types.h>

typedef struct vt_fake_llm {
    pid_t pid;
    int in_fd;                /* its stdin: the server exits when it closes */
    int port;
} vt_fake_llm;

/* The script's path: $VT_SOURCE_DIR/tests/brain/fake_openai.py when the
 * variable is set, else source_dir/tests/brain/fake_openai.py. */
const char *vt_fake_llm_script(const char *source_dir, char *buf, size_t cap);

/* Runs `python3 SCRIPT --lifetime SECONDS` and reads the port it prints
 * (waiting up to 10 s). 0, or -1 with a line on stderr saying why. */
int vt_fake_llm_start(vt_fake_llm *f, const char *script, int lifetime_s);

/* Closes its stdin, gives it 3 s to exit, then kills it. */
void vt_fake_llm_stop(vt_fake_llm *f);

/* Reads a child's output from fd into buf (NUL-terminated) until it holds
 * `want` (may be "") followed later by a newline, or timeout_ms passed.
 * Returns a pointer just past `want` inside buf, or NULL. The launcher of
 * the fake server and bench_serve's server start both wait this way. */
const char *vt_test_wait_output(int fd, char *buf, size_t cap, int timeout_ms, const char *want);
#endif
