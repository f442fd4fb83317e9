/* stage_priv.h: the state of a pruning stage, shared by twin.c (the
 * sensitivity twin), stage.c (the hooks around each step) and
 * stage_state.c (the stage in the checkpoint and in the resume state). */
#ifndef SP_STAGE_PRIV_H
#define SP_STAGE_PRIV_H

#include "sp/exec.h"
#include "sp/stage.h"

/* A conv or linear layer of the twin that is ranked or redrawn. */
typedef struct twin_layer {
    char name[SP_NAME_MAX + 8];   /* its weight tensor, NAME.weight */
    int cout, cin, khw;           /* weight as K, C/groups, KH*KW */
    float std;                    /* Xavier-normal */
    int redraw, ranked;
    float scale;                  /* --twin-current-scale for the block's layers */
    float *score, *map;           /* host: K, and K x KHW */
} twin_layer;

typedef struct twin {
    sp_model *m;                  /* the original network, for the executor */
    sp_exec *e;
    int nl;
    twin_layer *l;
    float *score_dev, *map_dev;   /* device scratch for conn_sens */
} twin;

/* One masked activation of the block. */
typedef struct site {
    char mask[2][SP_NAME_MAX + 8];/* the mask tensors (2 when tied) */
    int nmask, c, khw;
    int layer;                    /* its producer among the twin's layers */
    sp_generator gen, best_gen;
    sp_beta beta;
    float lambda, beta_used;
    double two_side;
    float *p, *m, *t, *dm, *tmp;  /* P map, soft mask, target, mask gradient */
    float *win;                   /* window x c soft masks */
    float *index, *soft;          /* the last window's index and mean mask */
    float *hard;                  /* index, its count rounded (--round) */
    float *best_index, *best_soft;
    int have_index;
} site;

struct sp_stage {
    sp_stage_opts o;
    sp_backend *b;
    twin tw;
    int ns;
    site *s;
    int wcount;                   /* masks in the window */
    int gate;
    float bump;
    double l1;                    /* the last step's mask loss */
    sp_train_hooks hooks;
    char *key;
    void (*on_window)(void *ctx, const sp_stage_report *r);
    void *ctx;
    int64_t step;
    int epoch;
};

int sp_twin_init(twin *t, sp_backend *b, sp_model *m, const sp_stage_opts *o,
                 const char *const *block_producers, int nbp);
void sp_twin_free(twin *t);
int sp_twin_find(const twin *t, const char *weight_name);
/* Redraw, forward and backward the batch, and fill every ranked layer's
 * score and map. */
int sp_twin_sense(twin *t, const sp_stage_opts *o, const float *images, const int32_t *labels,
                  int n, int64_t step);

int sp_stage_save(void *ctx, sp_model *state);
int sp_stage_load(void *ctx, const sp_model *state);
int sp_stage_finish(void *ctx, sp_model *m);

#endif
