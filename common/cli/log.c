/* log.c: --log FILE, metrics as JSON lines (see log.h).
 *
 * Numbers are printed with fixed precision rather than through a JSON
 * library: the lines of a run must not change with the library's version,
 * and a resumed run appends to a log an earlier build may have begun. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "sp/cli.h"
#include "sp/log.h"
#include "sp/train.h"

#define FLUSH_STEPS 20

struct sp_log {
    FILE *f;
    char *path;
    struct timespec t0;       /* when the log was opened */
};

/* The fields every record begins with: the wall-clock time (UTC, ISO 8601)
 * and the seconds since this run opened the log. */
static void stamp(sp_log *l)
{
    struct timespec now, mono;
    struct tm tm;
    char when[32];
    clock_gettime(CLOCK_REALTIME, &now);
    clock_gettime(CLOCK_MONOTONIC, &mono);
    gmtime_r(&now.tv_sec, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    double elapsed = (double)(mono.tv_sec - l->t0.tv_sec) + 1e-9 * (double)(mono.tv_nsec - l->t0.tv_nsec);
    fprintf(l->f, "{\"time\": \"%s\", \"elapsed_s\": %.1f, ", when, elapsed);
}

sp_log *sp_log_open(const char *path, int append)
{
    if (!path)
        return NULL;
    sp_out_check(path);     /* a log is appended to in place: never over an input */
    FILE *f = fopen(path, append ? "a" : "w");
    if (!f)
        sp_die("cannot open '%s': %s", path, strerror(errno));
    sp_log *l = sp_xcalloc(1, sizeof *l);
    l->f = f;
    l->path = sp_xstrdup(path);
    clock_gettime(CLOCK_MONOTONIC, &l->t0);
    return l;
}

void sp_log_train_step(sp_log *l, const sp_train_progress *p)
{
    if (!l)
        return;
    stamp(l);
    fprintf(l->f, "\"step\": %lld, \"epoch\": %d, \"loss\": %.6f, \"accuracy\": %.4f, "
            "\"lr\": %.6g, \"images_per_s\": %.1f}\n", (long long)p->step, p->epoch + 1,
            p->loss, p->accuracy, p->lr, p->images_per_s);
    if (p->step % FLUSH_STEPS == 0)
        fflush(l->f);
}

void sp_log_train_epoch(sp_log *l, const sp_train_progress *p)
{
    if (!l)
        return;
    stamp(l);
    fprintf(l->f, "\"epoch\": %d, \"step\": %lld, \"train_loss\": %.6f", p->epoch + 1,
            (long long)p->step, p->train_loss);
    if (p->validated)
        fprintf(l->f, ", \"val_loss\": %.6f, \"val_top1\": %.4f, \"val_top5\": %.4f, "
                "\"best_epoch\": %d, \"best_top1\": %.4f", sp_metrics_loss(&p->val),
                sp_metrics_top1(&p->val), sp_metrics_top5(&p->val), p->best_epoch + 1,
                p->best_top1);
    fputs("}\n", l->f);
    fflush(l->f);
}

void sp_log_printf(sp_log *l, const char *fmt, ...)
{
    if (!l)
        return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(l->f, fmt, ap);
    va_end(ap);
}

void sp_log_begin(sp_log *l)
{
    if (l)
        stamp(l);
}

void sp_log_flush(sp_log *l)
{
    if (l)
        fflush(l->f);
}

void sp_log_close(sp_log *l)
{
    if (!l)
        return;
    if (fclose(l->f) != 0)
        sp_die("cannot write '%s': %s", l->path, strerror(errno));
    free(l->path);
    free(l);
}
