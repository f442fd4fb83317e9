/* progress.c: the progress bar of long-running programs (see progress.h).
 *
 * The line is built whole and written with one call, so a terminal never
 * shows half of it; stderr is unbuffered and would show every piece. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
#include "sp/cli.h"
#include "sp/progress.h"
#include "cli_priv.h"

#define BAR_WIDTH 30
#define MIN_BAR 8             /* narrower, a bar says too little to keep */
#define REDRAW_S 0.1          /* ten lines a second is as fast as anyone reads */

struct sp_progress {
    int active;               /* stderr is a terminal */
    char unit[16], label[128];
    int begun;                /* an update of this phase was seen: t0, d0 hold */
    double t0, drawn_at;      /* drawn_at < 0: draw at the next update */
    int64_t d0;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

sp_progress *sp_progress_new(const char *unit)
{
    sp_progress *p = sp_xcalloc(1, sizeof *p);
    p->active = isatty(STDERR_FILENO);
    snprintf(p->unit, sizeof p->unit, "%s", unit ? unit : "");
    p->drawn_at = -1;
    return p;
}

int sp_progress_active(const sp_progress *p) { return p && p->active; }

void sp_progress_start(sp_progress *p, const char *label_fmt, ...)
{
    if (!p || !p->active)
        return;
    p->label[0] = 0;
    if (label_fmt) {
        va_list ap;
        va_start(ap, label_fmt);
        vsnprintf(p->label, sizeof p->label, label_fmt, ap);
        va_end(ap);
    }
    p->begun = 0;
    p->drawn_at = -1;
}

/* Appends to a line buffer; a full buffer only cuts the line short. */
static void add(char *line, size_t cap, size_t *n, const char *fmt, ...) SP_PRINTF(4, 5);
static void add(char *line, size_t cap, size_t *n, const char *fmt, ...)
{
    if (*n >= cap - 1)
        return;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(line + *n, cap - *n, fmt, ap);
    va_end(ap);
    if (k > 0)
        *n += (size_t)k < cap - *n ? (size_t)k : cap - 1 - *n;
}

static void add_time(char *line, size_t cap, size_t *n, double s)
{
    long t = s < 359999 ? (long)(s + 0.5) : 359999;
    if (t >= 3600)
        add(line, cap, n, " ETA %ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else
        add(line, cap, n, " ETA %ld:%02ld", t / 60, t % 60);
}

/* The terminal's width, or 0 when it is not known. */
static size_t columns(void)
{
    struct winsize ws;
    return ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 ? ws.ws_col : 0;
}

/* On a narrow terminal the bar shrinks, then goes, before the numbers are
 * cut: they are what the line is for. */
static void draw(sp_progress *p, int64_t done, int64_t total, double t, const char *tail)
{
    char head[192], rest[448], bar[BAR_WIDTH + 1];
    size_t nh = 0, nr = 0;
    add(head, sizeof head, &nh, "%s: ", sp_progname());
    if (p->label[0])
        add(head, sizeof head, &nh, "%s ", p->label);
    if (total > 0)
        add(rest, sizeof rest, &nr, "%lld/%lld", (long long)done, (long long)total);
    else
        add(rest, sizeof rest, &nr, "%lld %s", (long long)done, p->unit);
    double rate = t > p->t0 && done > p->d0 ? (double)(done - p->d0) / (t - p->t0) : 0;
    if (rate > 0) {
        add(rest, sizeof rest, &nr, " %.*f %s/s", rate < 100 ? 1 : 0, rate, p->unit);
        if (total > 0 && done < total)
            add_time(rest, sizeof rest, &nr, (double)(total - done) / rate);
    }
    if (tail && *tail)
        add(rest, sizeof rest, &nr, " %s", tail);
    size_t cols = columns(), width = total > 0 ? BAR_WIDTH : 0;
    if (cols && width && nh + width + 3 + nr > cols - 1)
        width = cols - 1 > nh + nr + 3 + MIN_BAR ? cols - 1 - nh - nr - 3 : 0;
    size_t fill = 0;
    if (width) {
        fill = done >= total ? width : done > 0 ? (size_t)((double)width * done / total) : 0;
        memset(bar, '=', fill);
        memset(bar + fill, ' ', width - fill);
        if (fill > 0 && fill < width)
            bar[fill - 1] = '>';
    }
    bar[width] = 0;
    char line[sizeof head + sizeof bar + sizeof rest + 4];
    int n = snprintf(line, sizeof line, "%s%s%s%s%s", head, width ? "[" : "", bar,
                     width ? "] " : "", rest);
    if (cols > 1 && n > 0 && (size_t)n > cols - 1)
        line[cols - 1] = 0;
    fprintf(stderr, "\r%s\033[K", line);
    sp_cli_status_drawn();
}

void sp_progress_update(sp_progress *p, int64_t done, int64_t total, const char *tail_fmt, ...)
{
    if (!p || !p->active)
        return;
    double t = now_s();
    if (!p->begun) {
        p->begun = 1;
        p->t0 = t;
        p->d0 = done;
    }
    int due = p->drawn_at < 0 || t - p->drawn_at >= REDRAW_S || (total > 0 && done >= total);
    if (!due)
        return;
    char tail[256] = "";
    if (tail_fmt) {
        va_list ap;
        va_start(ap, tail_fmt);
        vsnprintf(tail, sizeof tail, tail_fmt, ap);
        va_end(ap);
    }
    draw(p, done, total, t, tail);
    p->drawn_at = t;
}

void sp_progress_clear(sp_progress *p)
{
    if (!p || !p->active)
        return;
    sp_cli_status_erase();
    p->drawn_at = -1;
}

void sp_progress_free(sp_progress *p)
{
    sp_progress_clear(p);
    free(p);
}

void sp_progress_eval(void *bar, int64_t done, int64_t total)
{
    if (done == 1)
        sp_progress_start(bar, "evaluate");
    sp_progress_update(bar, done, total, NULL);
}
