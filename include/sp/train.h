/* train.h: evaluation, learning-rate schedules and the training loop.
 *
 * The loop (sp_train_run) trains with SGD, validates after every epoch and
 * keeps the weights of the epoch with the best top-1.  It never prints:
 * progress and metrics go to the caller's callbacks (sp-finetune draws its
 * bar and writes its JSON log from them).
 *
 * Resume state: with opts.state set, the loop writes a checkpoint there
 * (atomically: temporary name, then rename) every save_every steps and at
 * the end of every epoch.  It holds the current weights, the momentum
 * buffers (extra tensors "momentum/NAME"), the best epoch's weights
 * ("best/NAME") and, in its metadata, the epoch, the step, the best top-1
 * and the options that must not change.  The data order, augmentation and
 * dropout of a step are functions of (seed, epoch, step), so nothing else
 * needs saving: a resumed run repeats exactly what the uninterrupted one
 * would have done. */
#ifndef SP_TRAIN_H
#define SP_TRAIN_H

#include <stdint.h>
#include <stdio.h>
#include "sp/backend.h"
#include "sp/data.h"
#include "sp/exec.h"
#include "sp/loader.h"
#include "sp/model.h"

/* ---- preprocessing --------------------------------------------------- */

typedef struct sp_preproc {
    int c, h, w;              /* the network's input */
    float mean[3], std[3];
    sp_augment augment;       /* what the network was trained with */
} sp_preproc;

/* The network's preprocessing: input size from its graph, mean and std
 * from its metadata ("mean", "std": comma-separated per channel), else the
 * dataset's statistics (d may be NULL: then 0.5 and 0.5).  Fails for more
 * than 3 channels or malformed values. */
int sp_preproc_get(const sp_model *m, const sp_dataset *d, sp_preproc *p);
void sp_preproc_set(sp_model *m, const sp_preproc *p);
/* Replace the mean and/or std (NULL: keep) with "v,v,v" strings given on
 * the command line; -1 with a sentence naming the option when malformed. */
int sp_preproc_override(sp_preproc *p, const char *mean, const char *std);
/* Parse "v,v,v" (n values); -1 on anything else. */
int sp_floats_parse(const char *s, float *v, int n);

/* ---- evaluation ------------------------------------------------------ */

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

/* Run the whole loader's epoch through e in inference mode.  logits, if
 * not NULL, receives count x classes floats in dataset order (the loader
 * must not shuffle). */
int sp_evaluate(sp_exec *e, sp_loader *l, sp_metrics *out, float *logits);

/* ---- schedules ------------------------------------------------------- */

typedef enum sp_schedule { SP_SCHED_STEP, SP_SCHED_COSINE } sp_schedule;

int sp_schedule_parse(const char *s, sp_schedule *k);
const char *sp_schedule_name(sp_schedule k);
/* The learning rate of global step `step` (0-based): step decay x0.1 at
 * every multiple of step_every epochs (0: floor(epochs/3), no decay if
 * that is 0), or cosine annealing per iteration to 0 over every step. */
double sp_schedule_lr(sp_schedule k, double lr, int64_t step, int64_t steps_per_epoch,
                      int epochs, int step_every);

/* ---- training -------------------------------------------------------- */

typedef struct sp_train_progress {
    int epoch, epochs;        /* epoch is 0-based */
    int64_t step, steps;      /* global, done so far / in total */
    int64_t batch, batches;   /* within the epoch */
    double loss, accuracy;    /* the last batch's mean loss, top-1 percent */
    double lr, images_per_s;
    int validated;            /* 1 on the call after validation */
    sp_metrics val;
    int best_epoch;           /* 0-based, -1 before the first validation */
    double best_top1;
} sp_train_progress;

typedef struct sp_train_opts {
    int epochs, batch;
    sp_sgd_opts sgd;
    sp_schedule schedule;
    int step_every;
    uint64_t seed;
    int loader_threads;
    sp_preproc pre;           /* input, normalisation, training augmentation */
    const char *state;        /* resume state path, NULL: none */
    int resume;               /* continue from state */
    int64_t save_every;       /* steps between state saves (0: epochs only) */
    void (*on_step)(void *ctx, const sp_train_progress *p);  /* after every step */
    void (*on_epoch)(void *ctx, const sp_train_progress *p); /* after validation */
    void *ctx;
} sp_train_opts;

/* Train m (updated to the best epoch's weights, with the training state and
 * preprocessing in its metadata) on train, validating on val.  -1 with one
 * sentence on failure (a NaN or infinite loss among them): the resume
 * state then still holds the last good step. */
int sp_train_run(sp_backend *b, sp_model *m, const sp_dataset *train, const sp_dataset *val,
                 const sp_train_opts *o);

#endif
