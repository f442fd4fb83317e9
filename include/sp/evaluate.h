/* evaluate.h: accuracy and loss of a network over a dataset. */
#ifndef SP_EVALUATE_H
#define SP_EVALUATE_H

#include <stdint.h>
#include "sp/exec.h"
#include "sp/loader.h"

typedef struct sp_metrics {
    int64_t n;
    double loss_sum;          /* sum of per-sample losses */
    int64_t top1, top5;       /* correct counts */
} sp_metrics;

/* Add a batch's logits (n x classes, host) and labels; loss is the batch
 * mean the executor returned. */
void sp_metrics_add(sp_metrics *s, const float *logits, const int32_t *labels, int n,
                    int classes, double loss);
double sp_metrics_top1(const sp_metrics *s);   /* percent */
double sp_metrics_top5(const sp_metrics *s);
double sp_metrics_loss(const sp_metrics *s);

/* Told after every batch of an evaluation: done of total batches. */
typedef struct sp_eval_progress {
    void (*fn)(void *ctx, int64_t done, int64_t total);
    void *ctx;
} sp_eval_progress;

/* Run the whole loader's epoch through e in inference mode.  logits, if
 * not NULL, receives count x classes floats in dataset order (the loader
 * must not shuffle).  progress may be NULL. */
int sp_evaluate(sp_exec *e, sp_loader *l, sp_metrics *out, float *logits,
                const sp_eval_progress *progress);

#endif
