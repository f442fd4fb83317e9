/* progress.h: the progress bar of every long-running program (common/cli).
 *
 * One line on stderr, redrawn in place:
 *
 *   sp-finetune: epoch 3/200 [=========>           ] 120/391 12.5 batch/s ETA 0:21 loss 0.43
 *
 * the program name, a label, the bar with done/total (a count alone while
 * the total is unknown), the rate and the time left at that rate, and a
 * free-text tail.  It is drawn only when stderr is a terminal, so callers
 * need no check of their own and pipes and log files never see it; at most
 * ten times a second, whatever the update rate; cut to the terminal's width,
 * since a wrapped line can no longer be redrawn in place.  sp_die,
 * sp_warning and sp_info erase it before they print; the next update draws
 * it again.
 *
 * Use:
 *
 *     sp_progress *bar = sp_progress_new("img");
 *     for (each phase, e.g. an epoch) {
 *         sp_progress_start(bar, "epoch %d/%d", e + 1, epochs);
 *         for (each item)
 *             sp_progress_update(bar, done, total, "loss %.4f", loss);
 *     }
 *     sp_progress_free(bar);             erases the line
 *
 * Every function accepts NULL for the bar and does nothing. */
#ifndef SP_PROGRESS_H
#define SP_PROGRESS_H

#include <stdint.h>
#include "sp/base.h"

typedef struct sp_progress sp_progress;

/* A bar counting `unit`s ("img", "batch"), shown in the rate: "12.5 img/s". */
sp_progress *sp_progress_new(const char *unit);

/* 1 when the bar is drawn (stderr is a terminal): for output meant only to
 * accompany it, such as a summary line at the end of each epoch. */
int sp_progress_active(const sp_progress *p);

/* Begin a phase: the label (printf format; NULL for none) is set and the
 * clock of the rate and the time left starts again at the next update, so
 * a phase resumed half-way does not count the items it skipped. */
void sp_progress_start(sp_progress *p, const char *label_fmt, ...) SP_PRINTF(2, 3);

/* done of total units of the phase (total < 0: unknown), and the tail
 * (printf format; NULL for none), formatted only when the line is redrawn,
 * so calling this for every item costs little.  The line is always drawn
 * when done reaches total. */
void sp_progress_update(sp_progress *p, int64_t done, int64_t total, const char *tail_fmt, ...)
    SP_PRINTF(4, 5);

/* Erase the line now (before writing to stderr other than through cli.h);
 * the next update draws it again. */
void sp_progress_clear(sp_progress *p);

/* Erase the line and free the bar. */
void sp_progress_free(sp_progress *p);

/* The function of an evaluation's sp_eval_progress (evaluate.h) with the
 * bar as its ctx: a phase labelled "evaluate" on the first batch, then
 * done of total batches. */
void sp_progress_eval(void *bar, int64_t done, int64_t total);

#endif
