/* The fake LLM server launcher (see fake_llm.h). */
#include "support/fake_llm.h"
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

const char *vt_test_wait_output(int fd, char *buf, size_t cap, int timeout_ms, const char *want)
{
    size_t got = 0;
    buf[0] = '\0';
    double until = now_ms() + timeout_ms;
    while (now_ms() < until && got < cap - 1) {
        struct pollfd pf = {fd, POLLIN, 0};
        if (poll(&pf, 1, 200) <= 0)
            continue;
        ssize_t r = read(fd, buf + got, cap - 1 - got);
        if (r <= 0)
            break;
        got += (size_t)r;
        buf[got] = '\0';
        const char *k = strstr(buf, want);
        if (k && strchr(k, '\n'))
            return k + strlen(want);
    }
    return NULL;
}

const char *vt_fake_llm_script(const char *source_dir, char *buf, size_t cap)
{
    const char *src = getenv("VT_SOURCE_DIR");
    snprintf(buf, cap, "%s/tests/brain/fake_openai.py", src && *src ? src : source_dir);
    return buf;
}

int vt_fake_llm_start(vt_fake_llm *f, const char *script, int lifetime_s)
{
    memset(f, 0, sizeof *f);
    f->pid = -1;
    f->in_fd = -1;
    if (access(script, R_OK) != 0) {
        fprintf(stderr, "fake LLM server: %s not found\n", script);
        return -1;
    }
    int in[2], out[2];
    if (pipe(in) != 0)
        return -1;
    if (pipe(out) != 0) {
        close(in[0]);
        close(in[1]);
        return -1;
    }
    char life[16];
    snprintf(life, sizeof life, "%d", lifetime_s);
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        close(in[0]);
        close(in[1]);
        close(out[0]);
        close(out[1]);
        return -1;
    }
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        close(in[0]);
        close(in[1]);
        close(out[0]);
        close(out[1]);
        execlp("python3", "python3", script, "--lifetime", life, (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    f->pid = pid;
    f->in_fd = in[1];
    char buf[64];
    if (vt_test_wait_output(out[0], buf, sizeof buf, 10000, ""))
        f->port = atoi(buf);
    close(out[0]);
    if (f->port > 0)
        return 0;
    fprintf(stderr, "fake LLM server did not start (python3 %s)\n", script);
    vt_fake_llm_stop(f);
    return -1;
}

void vt_fake_llm_stop(vt_fake_llm *f)
{
    if (f->in_fd >= 0)
        close(f->in_fd);
    f->in_fd = -1;
    if (f->pid <= 0)
        return;
    double until = now_ms() + 3000;
    while (waitpid(f->pid, NULL, WNOHANG) == 0) {
        if (now_ms() > until) {
            kill(f->pid, SIGKILL);
            waitpid(f->pid, NULL, 0);
            break;
        }
        struct timespec ts = {0, 20 * 1000000L};
        nanosleep(&ts, NULL);
    }
    f->pid = -1;
}
