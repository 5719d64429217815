/* Raw keyboard mode that is always restored (see term.h). */
#include "transport/console/term.h"
#include "voicetutor/core.h"

#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

static struct termios saved, raw_mode;
static volatile sig_atomic_t have_saved, is_raw;
static int term_fd = -1, term_out = -1;
static volatile sig_atomic_t *stop_flag;
static int atexit_done;

void vt_term_restore(void)
{
    if (!is_raw)
        return;
    tcsetattr(term_fd, TCSANOW, &saved);
    if (term_out >= 0) {
        static const char show[] = "\033[0m\033[?25h";
        ssize_t w = write(term_out, show, sizeof show - 1);
        (void)w;
    }
    is_raw = 0;
}

static void restore_at_exit(void)
{
    vt_term_restore();
}

int vt_term_raw(int fd, int out_fd)
{
    if (!isatty(fd))
        return VT_EINVAL;
    if (!is_raw) {
        if (tcgetattr(fd, &saved) != 0)
            return VT_EIO;
        have_saved = 1;
    }
    raw_mode = saved;
    raw_mode.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
    raw_mode.c_lflag |= ISIG;
    raw_mode.c_cc[VMIN] = 1;
    raw_mode.c_cc[VTIME] = 0;
    term_fd = fd;
    term_out = out_fd;
    if (!atexit_done) {
        atexit(restore_at_exit);
        atexit_done = 1;
    }
    if (tcsetattr(fd, TCSANOW, &raw_mode) != 0)
        return VT_EIO;
    is_raw = 1;
    return 0;
}

int vt_term_is_raw(void)
{
    return is_raw;
}

static void on_stop_signal(int sig)
{
    vt_term_restore();
    if (stop_flag && *stop_flag) {
        /* the second one: the loop did not come back, leave now */
        signal(sig, SIG_DFL);
        raise(sig);
        _exit(128 + sig);
    }
    if (stop_flag)
        *stop_flag = sig;
}

static void on_tstp(int sig)
{
    int was_raw = is_raw;
    vt_term_restore();
    is_raw = was_raw; /* remembered for SIGCONT */
    signal(SIGTSTP, SIG_DFL);
    raise(SIGTSTP);   /* stops here until SIGCONT */
    (void)sig;
}

static void on_cont(int sig)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_tstp;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTSTP, &sa, NULL);
    if (is_raw && have_saved)
        tcsetattr(term_fd, TCSANOW, &raw_mode);
    (void)sig;
}

void vt_term_catch_signals(volatile sig_atomic_t *flag)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    stop_flag = flag;
    sa.sa_handler = on_stop_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sa.sa_handler = on_tstp;
    sigaction(SIGTSTP, &sa, NULL);
    sa.sa_handler = on_cont;
    sigaction(SIGCONT, &sa, NULL);
}

void vt_term_release_signals(void)
{
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    signal(SIGTSTP, SIG_DFL);
    signal(SIGCONT, SIG_DFL);
    stop_flag = NULL;
}

int vt_term_key(int byte)
{
    switch (byte) {
    case ' ':
    case '\n':
    case '\r':
        return VT_KEY_INTERRUPT;
    case 'q':
    case 'Q':
    case 4: /* Ctrl-D */
        return VT_KEY_QUIT;
    default:
        return VT_KEY_NONE;
    }
}
