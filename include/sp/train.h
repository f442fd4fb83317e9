/* train.h: the training loop.
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
#include "sp/evaluate.h"
#include "sp/preproc.h"
#include "sp/schedule.h"

/* ---- training -------------------------------------------------------- */

typedef struct sp_train_progress {
    int epoch, epochs;        /* epoch is 0-based */
    int64_t step, steps;      /* global, done so far / in total */
    int64_t batch, batches;   /* within the epoch */
    double loss, accuracy;    /* the last batch's mean loss, top-1 percent */
    double train_loss;        /* mean loss of the epoch's batches (those run
                                 by this process, when it resumed mid-epoch) */
    double lr, images_per_s;
    int validated;            /* 1 on the call after validation; 0 after an
                                 epoch without a validation set */
    sp_metrics val;
    int best_epoch;           /* 0-based, -1 before the first validation */
    double best_top1;
} sp_train_progress;

/* What a caller adds to the loop (the pruning stage: mask generators, the
 * sensitivity twin, the window).  Every member may be NULL; a hook that
 * returns -1 ends the run with the error it recorded.  Order of one step:
 * before_forward, forward, cross-entropy, loss, backward, the network's
 * SGD step, after_step.  Order of an epoch's end: before_validate,
 * validation, best (when the epoch is the best so far), the resume save. */
typedef struct sp_train_hooks {
    void *ctx;
    /* An epoch starts (or resumes at batch `batch` of it). */
    int (*epoch_begin)(void *ctx, sp_exec *e, int epoch, int64_t batch);
    /* The batch is in e; images and labels are its host copies. */
    int (*before_forward)(void *ctx, sp_exec *e, const float *images, const int32_t *labels,
                          int n, int64_t step, int64_t batch);
    /* After the cross-entropy: a term the hook adds to the loss (its
     * gradient is the hook's own business in after_step). */
    double (*loss)(void *ctx, sp_exec *e);
    /* After the network's SGD step, with that step's settings. */
    int (*after_step)(void *ctx, sp_exec *e, const sp_sgd_opts *sgd);
    int (*before_validate)(void *ctx, sp_exec *e);
    void (*best)(void *ctx);
    /* The run ends: put the hook's result into m (the best epoch's). */
    int (*finish)(void *ctx, sp_model *m);
    /* The resume state: add the hook's own tensors and metadata to it, and
     * take them back on --resume. */
    int (*save)(void *ctx, sp_model *state);
    int (*load)(void *ctx, const sp_model *state);
    /* Settings that must not change across a resume (compared). */
    const char *key;
} sp_train_hooks;

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
    void (*on_start)(void *ctx, const sp_exec *e);           /* the executor built */
    void (*on_step)(void *ctx, const sp_train_progress *p);  /* after every step */
    void (*on_epoch)(void *ctx, const sp_train_progress *p); /* after validation */
    void *ctx;
    sp_eval_progress validating;   /* during validation (fn NULL: not told) */
    const sp_train_hooks *hooks;   /* NULL: plain training */
    int mask_grads;           /* the masks need gradients (the pruning stage) */
} sp_train_opts;

/* Train m (updated to the best epoch's weights, with the training state and
 * preprocessing in its metadata) on train, validating on val; without val
 * (NULL), the last epoch's weights are the result.  -1 with one
 * sentence on failure (a NaN or infinite loss among them): the resume
 * state then still holds the last good step. */
int sp_train_run(sp_backend *b, sp_model *m, const sp_dataset *train, const sp_dataset *val,
                 const sp_train_opts *o);

#endif
