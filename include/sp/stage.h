/* stage.h: one Sensitivity Pruner stage (sp-train-mask), the pieces of
 * method.h put to work around the training loop of train.h.
 *
 * The stage network is the current network with mask nodes after every
 * anchor of the block (surgery.h).  Per training step: the sensitivity
 * twin (the original network, conv/linear weights redrawn) gives this
 * batch's scores, targets and P maps; each generator turns its P map into
 * a soft mask, which is uploaded into the mask tensors before the forward
 * pass; after the backward pass the masks' gradients come back and the
 * generators take their own SGD step; every `window` steps the channel
 * index, lambda and beta are updated.  Before each validation the masks
 * hold the hard channel index, so the best epoch's weights carry it.
 *
 * The twin's random redraws are a function of (seed, step): a resumed
 * stage draws what the uninterrupted one would have. */
#ifndef SP_STAGE_H
#define SP_STAGE_H

#include <stdint.h>
#include "sp/backend.h"
#include "sp/method.h"
#include "sp/model.h"
#include "sp/train.h"

/* The twin's random stream (rng.h). */
#define SP_RNG_STREAM_TWIN UINT64_C(0x73702d7477696e)   /* "sp-twin" */
#define SP_RNG_STREAM_GEN UINT64_C(0x73702d67656e)      /* "sp-gen" */

typedef enum sp_ssty_loss { SP_SSTY_LOGIT, SP_SSTY_CE } sp_ssty_loss;

typedef struct sp_stage_opts {
    const sp_recipe *recipe;
    int block;
    double rate;
    int sort_layer;
    int pool_masked;          /* rank only the layers of the network's blocks */
    int window;               /* iterations per vote (20) */
    int beta_range;           /* iterations per beta entry (100) */
    double beta0, beta1;
    sp_ssty_loss ssty_loss;
    double ssty_scale;        /* multiplies every P map (1) */
    double twin_current_scale;/* the block's layers' weight scale in the twin (1) */
    uint64_t seed;
    int epochs, batch;
    int64_t batches;          /* training batches per epoch */
    int round;                /* kept counts rounded up to a multiple (0, 1: not) */
} sp_stage_opts;

/* What a window changed, for progress and --log. */
typedef struct sp_stage_report {
    int64_t step;             /* global steps done */
    int epoch;
    int nsite;
    const char *const *site;  /* mask names */
    const int *channels, *kept;
    const float *beta, *lambda;
    const double *two_side;
} sp_stage_report;

typedef struct sp_stage sp_stage;

/* Set up the stage for m, whose graph already has the block's mask nodes.
 * The original network's biases and BN tensors come from m's twin/
 * tensors, or from m itself at the first stage (m not yet pruned), and
 * are added to m as twin/ tensors then.  NULL with an error. */
sp_stage *sp_stage_new(sp_backend *b, sp_model *m, const sp_stage_opts *o);
void sp_stage_free(sp_stage *s);
/* The hooks to run the stage inside sp_train_run; on_window, when not
 * NULL, is called after every window. */
const sp_train_hooks *sp_stage_hooks(sp_stage *s,
                                     void (*on_window)(void *ctx, const sp_stage_report *r),
                                     void *ctx);
/* At the first stage: record in m, as twin/ tensors carried to the last
 * stage, the original network's tensors that the twin does not redraw
 * (biases, batch norms; MobileNetV2's classifier).  Nothing to do when m
 * has them; an error when m has been pruned without them. */
int sp_stage_record_twin(sp_model *m, const sp_recipe *r);

/* The learning rate's step interval of the recipe (epochs, > epochs: none). */
int sp_stage_lr_step(const sp_stage_opts *o);

#endif
