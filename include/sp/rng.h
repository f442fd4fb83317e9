/* rng.h: the one seeded random stream of sp.
 *
 * Every random choice (initialisation, shuffling, augmentation, dropout,
 * the sensitivity twin's redraws) comes from an sp_rng seeded from --seed,
 * so the same seed gives the same output.  Streams are split by purpose with
 * sp_rng_init(&r, seed, STREAM) so that, say, adding an augmentation does
 * not change the initial weights.  The state is two 64-bit words and is
 * saved in checkpoints to resume exactly. */
#ifndef SP_RNG_H
#define SP_RNG_H

#include <stdint.h>

typedef struct sp_rng { uint64_t s[2]; } sp_rng;

void sp_rng_init(sp_rng *r, uint64_t seed, uint64_t stream);
uint64_t sp_rng_u64(sp_rng *r);
uint32_t sp_rng_below(sp_rng *r, uint32_t n);          /* uniform in [0, n) */
double sp_rng_uniform(sp_rng *r);                      /* [0, 1) */
double sp_rng_normal(sp_rng *r);                       /* N(0, 1) */
void sp_rng_fill_uniform(sp_rng *r, float *x, int64_t n, float lo, float hi);
void sp_rng_fill_normal(sp_rng *r, float *x, int64_t n, float mean, float std);

#endif
