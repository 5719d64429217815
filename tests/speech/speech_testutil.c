/* Test speech made with the flite command line (see speech_testutil.h). */
#include "speech/speech_testutil.h"
#include "util/wav.h"
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <dirent.h>

extern char **environ;
static char dir[256];

static void remove_dir(void)
{
    if (!dir[0] || getenv("VT_KEEP_TEST_AUDIO"))
        return;
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        char p[600];
        while ((e = readdir(d)) != NULL) {
            if (e->d_name[0] == '.')
                continue;
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            if (unlink(p) != 0)
                rmdir(p); /* an (empty) folder a test made */
        }
        closedir(d);
    }
    rmdir(dir);
}

const char *vt_test_dir(void)
{
    if (!dir[0]) {
        const char *t = getenv("TMPDIR");
        snprintf(dir, sizeof dir, "%s/vt-speech-test-XXXXXX", t && *t ? t : "/tmp");
        if (!mkdtemp(dir)) {
            perror("mkdtemp");
            exit(1);
        }
        atexit(remove_dir);
    }
    return dir;
}

const char *vt_test_path(const char *name, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/%s", vt_test_dir(), name);
    return buf;
}

int vt_test_flite(const char *voice, const char *text, const char *path)
{
    char *argv[] = { "flite", "-voice", (char *)voice, "-t", (char *)text, "-o", (char *)path,
                     NULL };
    pid_t pid;
    if (posix_spawnp(&pid, "flite", NULL, NULL, argv, environ) != 0)
        return -1;
    int st = 0;
    if (waitpid(pid, &st, 0) < 0)
        return -1;
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

int vt_test_speech(const char *voice, const char *text, int16_t **pcm, size_t *n)
{
    static int counter;
    char name[64], path[600], err[256];
    snprintf(name, sizeof name, "say-%d-%s.wav", counter++, voice);
    vt_test_path(name, path, sizeof path);
    if (vt_test_flite(voice, text, path) != 0)
        return -1;
    return vt_wav_read(path, 16000, pcm, n, NULL, err, sizeof err);
}

static void slurp(int fd, char *buf, size_t cap)
{
    lseek(fd, 0, SEEK_SET);
    ssize_t got = read(fd, buf, cap - 1);
    buf[got > 0 ? got : 0] = '\0';
}

int vt_test_capture(int (*fn)(int, char **), int argc, char **argv, char *out, size_t out_cap,
                    char *err, size_t err_cap)
{
    char po[600], pe[600];
    vt_test_path("capture.out", po, sizeof po);
    vt_test_path("capture.err", pe, sizeof pe);
    int fo = open(po, O_RDWR | O_CREAT | O_TRUNC, 0600);
    int fe = open(pe, O_RDWR | O_CREAT | O_TRUNC, 0600);
    fflush(stdout);
    fflush(stderr);
    int so = dup(1), se = dup(2);
    dup2(fo, 1);
    dup2(fe, 2);
    int rc = fn(argc, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(so, 1);
    dup2(se, 2);
    close(so);
    close(se);
    slurp(fo, out, out_cap);
    slurp(fe, err, err_cap);
    close(fo);
    close(fe);
    return rc;
}
