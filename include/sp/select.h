/* select.h: the stages that need no training.
 *
 * sp-select ranks the output channels of each masked activation's producer
 * by a classic one-shot criterion and writes the same trained stage as
 * sp-train-mask: the block's mask nodes (surgery.h) holding the hard
 * channel index, and the stage.* metadata of sp-checkpoint(5).
 * sp-compress turns any trained stage into the smaller network.
 *
 * Scores are per output channel c of the producer (a conv or linear):
 *   l1      sum of |w| over the channel's weights (all inputs, all taps)
 *   l2      sqrt of the sum of w^2 over the same weights
 *   bn      |gamma_c| of the batch norm that reads the producer
 *   random  uniform in [0, 1) from the stream SP_RNG_STREAM_SELECT
 * A layer keeps its k highest-scoring channels, ties going to the lower
 * index. */
#ifndef SP_SELECT_H
#define SP_SELECT_H

#include <stdint.h>
#include "sp/model.h"
#include "sp/rng.h"

/* The random criterion's stream (rng.h). */
#define SP_RNG_STREAM_SELECT UINT64_C(0x73702d73656c)   /* "sp-sel" */

typedef enum sp_criterion { SP_BY_L1, SP_BY_L2, SP_BY_BN, SP_BY_RANDOM } sp_criterion;

/* "l1", "l2", "bn", "random" and back; parse fails with an error. */
const char *sp_criterion_name(sp_criterion by);
int sp_criterion_parse(const char *name, sp_criterion *by);

/* The score of each output channel of the conv or linear node `producer`
 * of m's graph (score has its cout entries); random draws them from r.
 * -1 with an error for an unknown producer, or bn without a batch norm. */
int sp_select_scores(const sp_model *m, const char *producer, sp_criterion by, sp_rng *r,
                     double *score);
/* Channels a layer of c keeps at a rate: max(1, floor(c * rate)). */
int sp_select_count(int c, double rate);
/* keep[i] = 1 for the k highest of c scores, ties to the lower index;
 * every other keep[i] = 0. */
void sp_select_top(int c, const double *score, int k, unsigned char *keep);

typedef struct sp_select_opts {
    int block;
    sp_criterion by;
    double rate;        /* 0 < rate <= 1; ignored when kept is given */
    uint64_t seed;      /* random's stream; recorded whatever the criterion */
    const int *kept;    /* NULL, or the channels to keep at each masked
                           activation of the block, in anchor order */
    int round;          /* kept counts rounded up to a multiple (0, 1: not) */
} sp_select_opts;

/* Select block o->block of m: refuses a network that carries a trained
 * stage (or mask nodes), a block that m does not have or has compressed
 * already (stage.compressed); then inserts the masks with the hard index
 * and sets stage.block, state (trained), by, rate (with kept: the share
 * of the block's channels kept), seed, input (m's crc32 before) and kept.
 * Other stage.* keys describe an earlier stage and are removed, but for
 * stage.compressed.  At the first stage of a network that has a recipe
 * (method.h) it also records the original's twin/ tensors, as
 * sp-train-mask does (stage.h), so that sp-train-mask can run a later
 * stage.  On failure (-1) m is unchanged. */
int sp_select_stage(sp_model *m, const sp_select_opts *o);

/* The channels kept at each masked activation of block `block` by ref, a
 * checkpoint of the same original network as m (else an error): its
 * stage.kept when it trained that block, else its widths where it has
 * compressed it.  `what` names ref in messages.  *kept is malloc'd; the
 * count of masked activations, or -1. */
int sp_select_widths(const sp_model *m, const sp_model *ref, const char *what, int block,
                     int **kept);

/* Compress m's trained stage (sp-compress): for each masked activation of
 * stage.block keep the channels whose mask is not 0 (at scale 1), remove
 * every mask node, drop the gen/ and soft/ tensors, set stage.state to
 * compressed and append the block to stage.compressed.  Refuses a
 * checkpoint without a trained stage, and a mask that is all zeros (or
 * tied masks that disagree on which channels are 0).  Every check comes
 * before the first change; -1 with an error. */
int sp_stage_compress(sp_model *m);

#endif
