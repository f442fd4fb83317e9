/* rules_priv.h: small pieces of arithmetic that every backend must
 * follow to the bit, so they are written once: the dropout keep mask (the
 * same (seed, counter) gives the same mask on every backend) and the
 * log-sum-exp of a cross-entropy row. */
#ifndef SP_BACKEND_RULES_H
#define SP_BACKEND_RULES_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include "sp/rng.h"

/* keep[i] = 0 with probability p, else 1 / (1 - p): one sp_rng stream from
 * sp_rng_init(seed, counter), one sp_rng_uniform() per element in index
 * order, element i dropped when its draw is below p. */
static inline void sp_dropout_draw(float *keep, size_t n, float p, uint64_t seed,
                                   uint64_t counter)
{
    sp_rng r;
    float scale = p < 1.0f ? (float)(1.0 / (1.0 - (double)p)) : 0.0f;
    sp_rng_init(&r, seed, counter);
    for (size_t i = 0; i < n; i++)
        keep[i] = sp_rng_uniform(&r) < (double)p ? 0.0f : scale;
}

/* log(sum_k exp(z[k])), shifted by the row's maximum so it cannot
 * overflow; in double. */
static inline double sp_xent_logsumexp(const float *z, int classes)
{
    double max = -INFINITY, sum = 0.0;
    for (int k = 0; k < classes; k++)
        if (z[k] > max)
            max = z[k];
    for (int k = 0; k < classes; k++)
        sum += exp(z[k] - max);
    return max + log(sum);
}

#endif
