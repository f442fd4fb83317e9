/* log.h: --log FILE, metrics as JSON lines for plotting (common/cli).
 *
 * One JSON object per line.  The training programs write the same records,
 * so one plot script reads the logs of sp-finetune and sp-train-mask alike
 * (epochs 1-based, steps global):
 *
 *   after a step:   {"time": W, "elapsed_s": T, "step": S, "epoch": E, "loss": L,
 *                    "accuracy": A, "lr": R, "images_per_s": I}
 *   after an epoch: {"time": W, "elapsed_s": T, "epoch": E, "step": S,
 *                    "train_loss": M, "val_loss": L, "val_top1": T1,
 *                    "val_top5": T5, "best_epoch": B, "best_top1": BT}
 *
 * W is the wall-clock time, UTC, as 2026-12-01T10:59:00Z; T the seconds
 * since the program opened the log; M the mean training loss of the
 * epoch's batches.  An epoch without validation (sp-finetune without
 * --val) has no val_ or best_ fields.  sp-train-mask's own records
 * begin with time and elapsed_s too.
 *
 * A program's own records (sp-train-mask's windows) go through
 * sp_log_printf.  Step records are flushed every 20 steps and epoch records
 * at once, so a plot of a running job lags at most 20 steps.  A NULL log
 * (no --log given) takes every call and writes nothing. */
#ifndef SP_LOG_H
#define SP_LOG_H

#include "sp/base.h"

struct sp_train_progress;
typedef struct sp_log sp_log;

/* Open PATH for the log, appending when a resumed run continues it; die
 * with one sentence when it cannot be opened.  A NULL path gives NULL. */
sp_log *sp_log_open(const char *path, int append);

void sp_log_train_step(sp_log *l, const struct sp_train_progress *p);
void sp_log_train_epoch(sp_log *l, const struct sp_train_progress *p);

/* Any other record, printf-style; the caller writes whole lines ("\n"
 * included) and calls sp_log_flush when one is complete. */
void sp_log_printf(sp_log *l, const char *fmt, ...) SP_PRINTF(2, 3);
/* Begin a record: '{' and the time fields, ready for the caller's own. */
void sp_log_begin(sp_log *l);
void sp_log_flush(sp_log *l);

/* Close the log; die naming the file if the writes did not all reach it. */
void sp_log_close(sp_log *l);

#endif
