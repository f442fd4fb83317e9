/* method.h: the pieces of one Sensitivity Pruner stage, each a plain
 * function of host arrays so that it can be checked against the PyTorch
 * oracle (tests/fixtures/method).  Sections refer to sp-method(7), the
 * method in sp's words, step by step.
 *
 *   recipe     the settings that follow from the network (sp-method(7), RECIPES)
 *   ranking    sensitivity scores -> this batch's 0/1 target per layer (step 2)
 *   generator  P map -> soft mask m = sigmoid(beta * g(P)), and its gradient (steps 4, 5)
 *   window     every `window` iterations: channel index, two_side, lambda, beta (step 6)
 *
 * The stage that drives them (twin, executor, training loop) is stage.h. */
#ifndef SP_METHOD_H
#define SP_METHOD_H

#include <stdint.h>
#include "sp/graph.h"
#include "sp/rng.h"

/* ---- recipes --------------------------------------------------------- */

typedef enum sp_family { SP_FAMILY_VGG, SP_FAMILY_RESNET, SP_FAMILY_MOBILENET } sp_family;

typedef struct sp_recipe {
    const char *name;         /* "vgg-cifar10", ... (sp_recipe_list) */
    sp_family family;
    int epochs, batch;
    double rate;
    int sort_layer;           /* rank within each layer instead of the whole pool */
    double beta0, beta1;      /* the schedule's linspace */
    int gate_mult;            /* ResNet/MobileNetV2 bump gate: gate_mult * floor(N/E) */
    int pool_split;           /* VGG CIFAR-100: convs at conv blocks, linears at linear blocks */
} sp_recipe;

/* The recipes, NULL-terminated. */
const sp_recipe *sp_recipe_list(void);
const sp_recipe *sp_recipe_lookup(const char *name);
/* The recipe a network's graph implies (its arch and class count); NULL
 * with an error for a network sp cannot prune. */
const sp_recipe *sp_recipe_for(const sp_graph *g);

/* ---- ranking (step 2) ------------------------------------------------- */

typedef enum sp_fallback {
    SP_FALLBACK_VGG,          /* keeps fewer than max(1, C*r*0.2) (not rounded) */
    SP_FALLBACK_ZERO          /* keeps none */
} sp_fallback;

/* Targets of this batch.  The pool has nl layers of width[l] channels with
 * scores[l][c]; target[l] is filled (0 or 1) for the layers whose
 * target[l] is not NULL.  Global: tau is the max(1, floor(N*r))-th largest
 * score of the whole pool; per layer (sort_layer): each layer's own
 * max(1, floor(C*r))-th largest; t = s >= tau.  Then the fallback: a layer
 * that keeps too few takes t = s >= its own max(1, floor(C*r*0.2))-th
 * largest.  Returns 0, or -1 with an error for an empty pool. */
int sp_rank_targets(int nl, const int *width, const float *const *scores, double rate,
                    int sort_layer, sp_fallback fb, float *const *target);

/* ---- mask generators (steps 4, 5) ------------------------------------ */

/* A convolution C -> C with a k x k kernel applied (valid) to a C x k x k
 * map, or a linear layer C -> C (khw = 1): W is C x (C*khw), b is C. */
typedef struct sp_generator {
    int c, khw;
    float *w, *b;             /* parameters */
    float *vw, *vb;           /* SGD momentum */
    float *gw, *gb;           /* gradient of the last backward */
} sp_generator;

typedef enum sp_gen_init {
    SP_GEN_INIT_CONV,         /* N(0, (10*sqrt(2/(9C)))^2), bias U(+-1/sqrt(C*khw)) */
    SP_GEN_INIT_MOBILENET,    /* N(0, 2/C), bias 0 */
    SP_GEN_INIT_LINEAR        /* N(0, 0.01^2), bias U(+-1/sqrt(C)) */
} sp_gen_init;

void sp_gen_alloc(sp_generator *g, int c, int khw);
void sp_gen_free(sp_generator *g);
void sp_gen_init_params(sp_generator *g, sp_gen_init how, sp_rng *r);
/* m[c] = sigmoid(beta * (W p + b)[c]); p has c*khw values. */
void sp_gen_forward(const sp_generator *g, const float *p, float beta, float *m);
/* lambda * mean_c |m - t|: the mask's share of the loss. */
double sp_gen_l1(int c, const float *m, const float *t, float lambda);
/* Gradient (overwrites gw, gb) of sum_c dm[c]*m[c] + lambda*mean|m - t|,
 * where dm is the network's gradient with respect to the mask. */
void sp_gen_backward(sp_generator *g, const float *p, float beta, const float *m,
                     const float *t, float lambda, const float *dm);
/* torch.optim.SGD (dampening 0) on W and b with the gradient of the last
 * backward. */
void sp_gen_sgd(sp_generator *g, float lr, float momentum, float weight_decay);

/* ---- window (step 6) -------------------------------------------------- */

typedef enum sp_vote { SP_VOTE_MAJORITY, SP_VOTE_MEAN } sp_vote;

/* The channel index of a full window of n masks (masks[i*c + ch]).
 * Majority: each mask binarised at 0.5 (exactly 0.5 counts a half), index
 * 1 when the share is >= 0.5 (a tie keeps the channel); mean: index 1 when
 * the mean soft mask is >= 0.5.  A layer whose index would be all zeros
 * keeps its best channel (highest share or mean, lowest index among
 * equals).  mean_out (may be NULL) receives the mean soft mask. */
void sp_window_index(int n, int c, const float *masks, sp_vote vote, float *index,
                     float *mean_out);
/* Share of m's entries strictly above 0.8 or strictly below 0.2. */
double sp_two_side(int c, const float *m);

/* Widths that suit the hardware (--round N): k kept of c channels rounded
 * up to a multiple of n, at most c (n <= 1: k). */
int sp_round_up(int k, int c, int n);
/* Round the kept count of index (c values, 1 kept, 0 removed) up to a
 * multiple of n by keeping also the removed channels whose score is
 * highest (the lowest channel first among equals). */
void sp_index_round(int c, const float *score, float *index, int n);
/* lambda after a window: 0 if 1 - x < rho, else 5 |x - 1 + rho|, with x
 * the share of zeros in the index and rho the share of ones in the
 * batch's target (sp_share_ones). */
float sp_lambda_update(int c, const float *index, double rho);
double sp_share_ones(int c, const float *v);

/* The beta schedule of one mask: linspace(beta0, beta1, n) (n >= 1), the
 * position p of the next entry, and the bump rule. */
typedef struct sp_beta {
    int n, p;
    float *list;
    float beta;               /* the current value */
} sp_beta;

void sp_beta_init(sp_beta *s, double beta0, double beta1, int n);
void sp_beta_free(sp_beta *s);
/* At in-epoch iterations i = 0 (mod range): beta <- list[p]; p advances,
 * clamped at the last entry. */
void sp_beta_advance(sp_beta *s);
/* After a window: when two_side < 0.9 and p >= gate, add `amount` to every
 * entry of the schedule and to the current beta (bumps accumulate).
 * Returns 1 when it bumped. */
int sp_beta_bump(sp_beta *s, double two_side, int gate, float amount);
/* The schedule's length, floor(epochs * batches / range), at least 1. */
int sp_beta_length(int epochs, int64_t batches, int range);

#endif
