/* The talk screen: scrolling finished lines above a two-line live region
 * redrawn with ANSI, or JSON lines when stdout is not a terminal (ui.h). */
#include "transport/console/ui.h"
#include "protocol/messages.h"

#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define LIVE_CAP 2048
#define YOU_FADE_MS 3000 /* interim text with nothing after it fades */

enum { LIVE_NONE = 0, LIVE_YOU, LIVE_TUTOR };

struct vt_ui {
    vt_ui_config cfg;
    char character[64];
    char note[96];
    vt_state state;
    int live_kind;
    char live[LIVE_CAP];
    double level_db;
    int drawn, dirty;
    int64_t last_draw_ms, last_you_ms;
    vt_trigger last_trigger;
    double last_latency_ms;
};

static const char *C(const vt_ui *ui, const char *code)
{
    return ui->cfg.color ? code : "";
}
#define RESET "\033[0m"
#define DIM "\033[2m"
#define BOLD "\033[1m"
#define RED "\033[31m"
#define GREEN "\033[32m"
#define YELLOW "\033[33m"
#define CYAN "\033[36m"
#define MAGENTA "\033[35m"

vt_ui *vt_ui_create(const vt_ui_config *c)
{
    vt_ui *ui = calloc(1, sizeof *ui);
    if (!ui)
        return NULL;
    ui->cfg = *c;
    if (!ui->cfg.out)
        ui->cfg.out = stdout;
    snprintf(ui->character, sizeof ui->character, "%s", c->character ? c->character : "tutor");
    snprintf(ui->note, sizeof ui->note, "%s", c->status_note ? c->status_note : "");
    ui->cfg.character = ui->character;
    ui->cfg.status_note = ui->note;
    ui->level_db = -90;
    ui->state = VT_STATE_LISTENING;
    return ui;
}

void vt_ui_destroy(vt_ui *ui)
{
    free(ui);
}

static int term_width(const vt_ui *ui)
{
    struct winsize ws;
    if (ioctl(fileno(ui->cfg.out), TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20)
        return ws.ws_col;
    return 80;
}

/* Characters (UTF-8 code points) in s. */
static size_t cols(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

/* The last max columns of s, starting on a code point. */
static const char *tail_cols(const char *s, size_t max)
{
    size_t n = cols(s);
    while (n > max && *s) {
        s++;
        while (((unsigned char)*s & 0xC0) == 0x80)
            s++;
        n--;
    }
    return s;
}

/* Print s cut to max columns. */
static void put_cols(FILE *f, const char *s, size_t max)
{
    size_t n = 0;
    for (; *s; s++) {
        int lead = ((unsigned char)*s & 0xC0) != 0x80;
        if (lead && n++ == max)
            break;
        if (*s == '\n' || *s == '\r' || *s == '\t')
            fputc(' ', f);
        else
            fputc(*s, f);
    }
}

static void erase(vt_ui *ui)
{
    if (!ui->drawn)
        return;
    fputs("\r\033[1A\033[J", ui->cfg.out);
    ui->drawn = 0;
}

static const char *state_color(vt_state s)
{
    switch (s) {
    case VT_STATE_LISTENING: return GREEN;
    case VT_STATE_THINKING: return YELLOW;
    case VT_STATE_RESPONDING: return CYAN;
    case VT_STATE_ACKNOWLEDGING: return MAGENTA;
    }
    return "";
}

static void draw(vt_ui *ui)
{
    FILE *f = ui->cfg.out;
    size_t w = (size_t)term_width(ui) - 1;
    /* line 1: what is being said now */
    if (ui->live_kind == LIVE_TUTOR) {
        const char *p = "tutor > ";
        fprintf(f, "%s%s%s", C(ui, BOLD), p, C(ui, RESET));
        size_t room = w - strlen(p);
        if (cols(ui->live) > room) {
            fputs("...", f);
            put_cols(f, tail_cols(ui->live, room - 3), room - 3);
        } else {
            put_cols(f, ui->live, room);
        }
    } else if (ui->live_kind == LIVE_YOU) {
        const char *p = "you   > ";
        fprintf(f, "%s%s", C(ui, DIM), p);
        size_t room = w - strlen(p);
        put_cols(f, tail_cols(ui->live, room), room);
        fputs(C(ui, RESET), f);
    }
    fputs("\033[K\n", f);
    /* line 2: the status */
    char meter[11];
    int bars = (int)((ui->level_db + 70) / 6); /* -70 dBFS .. -10 dBFS */
    for (int i = 0; i < 10; i++)
        meter[i] = i < bars ? '#' : '.';
    meter[10] = '\0';
    char status[256];
    snprintf(status, sizeof status, "[%s] mic %s %s%sSpace/Enter: interrupt  q: quit",
             vt_state_name(ui->state), meter, ui->note, ui->note[0] ? "  " : "");
    fprintf(f, "%s", C(ui, state_color(ui->state)));
    put_cols(f, status, w);
    fprintf(f, "%s\033[K", C(ui, RESET));
    fflush(f);
    ui->drawn = 1;
    ui->dirty = 0;
}

/* A finished line above the live region. */
static void line(vt_ui *ui, const char *color, const char *who, const char *text,
                 const char *suffix)
{
    FILE *f = ui->cfg.out;
    erase(ui);
    fprintf(f, "%s%s%s", C(ui, color), who, text);
    if (suffix && *suffix)
        fprintf(f, "  %s", suffix);
    fprintf(f, "%s\n", C(ui, RESET));
    draw(ui);
}

static void json_line(vt_ui *ui, cJSON *o, int64_t t_ms)
{
    if (!o)
        return;
    cJSON_AddNumberToObject(o, "t_ms", (double)t_ms);
    char *s = cJSON_PrintUnformatted(o);
    if (s) {
        fprintf(ui->cfg.out, "%s\n", s);
        fflush(ui->cfg.out);
        free(s);
    }
    cJSON_Delete(o);
}

void vt_ui_event(vt_ui *ui, const vt_event *ev, int64_t t_ms)
{
    if (!ui || !ev)
        return;
    ui->state = ev->state;
    if (!ui->cfg.tty) {
        json_line(ui, vt_event_json(ev, ui->character), t_ms);
        return;
    }
    const char *text = ev->text ? ev->text : "";
    char suffix[128] = "";
    switch (ev->type) {
    case VT_EV_SPEECH_DETECTED:
        ui->last_you_ms = t_ms;
        if (ui->live_kind != LIVE_TUTOR) {
            ui->live_kind = LIVE_YOU;
            snprintf(ui->live, sizeof ui->live, "...");
        }
        break;
    case VT_EV_TRANSCRIPTION_PARTIAL:
        ui->last_you_ms = t_ms;
        if (ui->live_kind != LIVE_TUTOR) {
            ui->live_kind = LIVE_YOU;
            snprintf(ui->live, sizeof ui->live, "%s", text);
        }
        break;
    case VT_EV_TRANSCRIPTION_COMPLETE:
        if (ui->live_kind == LIVE_YOU)
            ui->live_kind = LIVE_NONE;
        if (*text)
            line(ui, BOLD, "you:   ", text, NULL);
        break;
    case VT_EV_RESPONSE_START:
        ui->live_kind = LIVE_TUTOR;
        ui->live[0] = '\0';
        break;
    case VT_EV_RESPONSE_TEXT:
        ui->live_kind = LIVE_TUTOR;
        snprintf(ui->live, sizeof ui->live, "%s", ev->text2 ? ev->text2 : text);
        break;
    case VT_EV_RESPONSE_COMPLETE:
        if (ui->live_kind == LIVE_TUTOR) {
            ui->live_kind = LIVE_NONE;
            line(ui, "", "tutor: ", ui->live, NULL);
        }
        break;
    case VT_EV_INTERRUPTION_DETECTED:
        ui->last_trigger = ev->trigger;
        ui->last_latency_ms = ev->latency_ms;
        break;
    case VT_EV_RESPONSE_INTERRUPTED:
        snprintf(suffix, sizeof suffix, "%s[interrupted: %s, %.2f ms]%s", C(ui, YELLOW),
                 vt_trigger_name(ui->last_trigger), ui->last_latency_ms, C(ui, RESET));
        ui->live_kind = LIVE_NONE;
        line(ui, "", "tutor: ", text, suffix);
        break;
    case VT_EV_FILLER_STARTED:
    case VT_EV_ACKNOWLEDGEMENT_STARTED:
        line(ui, DIM, "tutor: ", text, NULL);
        break;
    case VT_EV_ERROR:
        line(ui, RED, "error: ", text, NULL);
        break;
    case VT_EV_PROCESSING_STARTED:
        if (ui->live_kind == LIVE_YOU)
            ui->live_kind = LIVE_NONE;
        break;
    case VT_EV_STATE_CHANGED:
        break;
    }
    ui->dirty = 1;
    if (ev->type != VT_EV_TRANSCRIPTION_PARTIAL && ev->type != VT_EV_RESPONSE_TEXT) {
        erase(ui);
        draw(ui);
    }
}

void vt_ui_note(vt_ui *ui, int64_t t_ms, const char *type, const char *message, cJSON *extra)
{
    if (!ui) {
        cJSON_Delete(extra);
        return;
    }
    if (!ui->cfg.tty) {
        cJSON *o = cJSON_CreateObject();
        if (o) {
            cJSON_AddStringToObject(o, "type", type);
            if (message)
                cJSON_AddStringToObject(o, "message", message);
            for (cJSON *it = extra ? extra->child : NULL; it;) {
                cJSON *next = it->next;
                cJSON_AddItemToObject(o, it->string, cJSON_DetachItemViaPointer(extra, it));
                it = next;
            }
        }
        cJSON_Delete(extra);
        json_line(ui, o, t_ms);
        return;
    }
    cJSON_Delete(extra);
    if (message && *message)
        line(ui, DIM, "", message, NULL);
}

void vt_ui_level(vt_ui *ui, double dbfs)
{
    if (!ui)
        return;
    int before = (int)((ui->level_db + 70) / 6), after = (int)((dbfs + 70) / 6);
    ui->level_db = dbfs;
    if (before != after)
        ui->dirty = 1;
}

void vt_ui_tick(vt_ui *ui, int64_t t_ms)
{
    if (!ui || !ui->cfg.tty)
        return;
    /* interim text that never became a turn (a command word the core
     * stripped, noise): let it fade */
    if (ui->live_kind == LIVE_YOU && t_ms - ui->last_you_ms > YOU_FADE_MS) {
        ui->live_kind = LIVE_NONE;
        ui->dirty = 1;
    }
    if (!ui->dirty || t_ms - ui->last_draw_ms < 80)
        return;
    ui->last_draw_ms = t_ms;
    erase(ui);
    draw(ui);
}

void vt_ui_finish(vt_ui *ui)
{
    if (!ui || !ui->cfg.tty)
        return;
    erase(ui);
    fflush(ui->cfg.out);
}

const char *vt_ui_live_text(const vt_ui *ui)
{
    return ui->live;
}

vt_state vt_ui_state(const vt_ui *ui)
{
    return ui->state;
}
