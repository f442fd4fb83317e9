/* cpu_stage.c: the pruning stage's twin operations as OpenMP loops: normal
 * redraws in chunks (rules_priv.h: the same values as the reference
 * backend) and the connection sensitivity per output channel, both
 * compiled for the widest vectors the CPU has. */
#include <math.h>
#include "cpu_priv.h"
#include "../rules_priv.h"

/* One chunk of a draw, compiled for the widest vectors the CPU has.  The
 * arithmetic is the same on every path (no contraction into FMA under
 * -std=c11, IEEE square root and division), so the floats are too. */
__attribute__((target_clones("avx512f", "avx2", "default")))
static void normal_chunk(float *x, size_t lo, size_t hi, float std, sp_normal_key key)
{
    sp_normal_range(x, lo, hi, std, key);
}

void sp_cpu_fill_normal(sp_backend *b, float *x /* n; = */, size_t n, float std, uint64_t seed,
                        uint64_t counter)
{
    (void)b;
    sp_normal_key key = sp_normal_key_of(seed, counter);
    long chunks = (long)((n + SP_NORMAL_CHUNK - 1) / SP_NORMAL_CHUNK);
#pragma omp parallel for schedule(static) if (chunks > 1)
    for (long j = 0; j < chunks; j++) {
        size_t lo = (size_t)j * SP_NORMAL_CHUNK, hi = lo + SP_NORMAL_CHUNK < n ? lo + SP_NORMAL_CHUNK : n;
        normal_chunk(x + lo, lo, hi, std, key);
    }
}

/* One output channel's sums, in float: a channel has at most a few
 * thousand inputs times the kernel area, where float keeps the relative
 * error near 1e-6, and the ranking only compares these sums.  The kernel
 * positions are the vector lanes: each position's sum still adds its
 * terms one at a time in input order, so the floats are those of a plain
 * loop, and a vector add replaces a load, add and store per term.  acc
 * holds khw sums; khw is a constant where the caller names one, which
 * keeps them in registers. */
__attribute__((always_inline)) static inline void sens_sums(float *restrict acc,
                                                             const float *restrict w,
                                                             const float *restrict g, int c,
                                                             int khw)
{
    for (int q = 0; q < khw; q++)
        acc[q] = 0.0f;
    for (int i = 0; i < c; i++, w += khw, g += khw) {
#ifdef _OPENMP
#pragma omp simd
#endif
        for (int q = 0; q < khw; q++)
            acc[q] += fabsf(w[q] * g[q]);
    }
}

#define SENS_MAX_KHW 64

__attribute__((target_clones("avx512f", "avx2", "default")))
static void sens_channel(float *score /* 1; = */, float *map /* KHW; = */,
                         const float *w /* C,KHW */, const float *g /* C,KHW */, int c, int khw)
{
    float acc[SENS_MAX_KHW], *sums = khw <= SENS_MAX_KHW ? acc : map;
    if (khw == 9)
        sens_sums(sums, w, g, c, 9);
    else if (khw == 1)
        sens_sums(sums, w, g, c, 1);
    else
        sens_sums(sums, w, g, c, khw);
    float total = 0.0f;
    for (int q = 0; q < khw; q++) {
        map[q] = sums[q];
        total += sums[q];
    }
    *score = total;
}

void sp_cpu_conn_sens(sp_backend *b, float *score /* K; = */, float *map /* K,KHW; = */,
                      const float *w /* K,C,KHW */, const float *dw /* K,C,KHW */,
                      int k, int c, int khw)
{
    (void)b;
#pragma omp parallel for schedule(static) if ((size_t)k * c * khw > 16384)
    for (int o = 0; o < k; o++)
        sens_channel(score + o, map + (size_t)o * khw, w + (size_t)o * c * khw,
                     dw + (size_t)o * c * khw, c, khw);
}
