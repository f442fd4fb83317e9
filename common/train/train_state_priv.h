/* train_state_priv.h: saving and restoring a training run (train_state.c). */
#ifndef SP_TRAIN_STATE_H
#define SP_TRAIN_STATE_H

#include "sp/checkpoint.h"
#include "sp/train.h"

typedef struct sp_train_pos {
    int epoch;                /* the epoch in progress (0-based) */
    int64_t step;             /* global steps done */
    int best_epoch;           /* -1 before the first validation */
    double best_top1;
} sp_train_pos;

int sp_train_state_save(const char *path, const sp_model *cur, const sp_model *best,
                        sp_exec *e, const sp_train_opts *o, const sp_dataset *train,
                        const sp_train_pos *pos);
/* Fill cur, best, e's momentum and pos from path; fails if the options
 * or the network differ from the ones given. */
int sp_train_state_load(const char *path, sp_model *cur, sp_model *best, sp_exec *e,
                        const sp_train_opts *o, const sp_dataset *train, sp_train_pos *pos);

#endif
