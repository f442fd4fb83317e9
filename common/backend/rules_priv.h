/* rules_priv.h: small pieces of arithmetic that every backend must
 * follow to the bit, so they are written once: the dropout keep mask (the
 * same (seed, counter) gives the same mask on every backend) and the
 * log-sum-exp of a cross-entropy row, and the normal draws of the
 * sensitivity twin's redraws. */
#ifndef SP_BACKEND_RULES_H
#define SP_BACKEND_RULES_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include "sp/rng.h"

/* The draws below are also compiled for the GPU (common/backend/cuda). */
#ifdef __CUDACC__
#define SP_HD __host__ __device__
#else
#define SP_HD
#endif
#if defined(__CUDA_ARCH__)
#define SP_SQRTF(x) sqrtf(x)
#else
#define SP_SQRTF(x) __builtin_sqrtf(x)
#endif

/* keep[i] = 0 with probability p, else 1 / (1 - p): one sp_rng stream from
 * sp_rng_init(seed, counter), one sp_rng_uniform() per element in index
 * order, element i dropped when its draw is below p; keep holds elements
 * [first, first + n) of that stream. */
static inline void sp_dropout_draw(float *keep, size_t n, float p, uint64_t seed,
                                   uint64_t counter, size_t first)
{
    sp_rng r;
    float scale = p < 1.0f ? (float)(1.0 / (1.0 - (double)p)) : 0.0f;
    sp_rng_init(&r, seed, counter);
    for (size_t i = 0; i < first; i++)
        sp_rng_uniform(&r);
    for (size_t i = 0; i < n; i++)
        keep[i] = sp_rng_uniform(&r) < (double)p ? 0.0f : scale;
}

/* Normal draws for fill_normal.  Counter-based: pair j of the draw keyed
 * by (seed, counter) comes from two 32-bit hashes of (key, 2j) and (key,
 * 2j+1) through Box-Muller, with logarithm, sine and cosine computed by
 * the polynomials below rather than libm, so that every backend (and any
 * thread split, and a vectorising compiler) gives the same floats.  Their
 * error, below 1e-6 relative, is far under what a weight draw needs. */
SP_HD static inline uint32_t sp_hash32(uint32_t x)
{
    x ^= x >> 16;
    x *= 0x7feb352du;
    x ^= x >> 15;
    x *= 0x846ca68bu;
    x ^= x >> 16;
    return x;
}

/* log(x) for x in (0, 1]: exponent and mantissa, log(1+f) by the series
 * of 2 atanh(f / (2 + f)). */
SP_HD static inline float sp_poly_logf(float x)
{
    union { float f; uint32_t u; } v = {x};
    int e = (int)((v.u >> 23) & 255u) - 127;
    v.u = (v.u & 0x007fffffu) | 0x3f800000u;
    float big = (float)(int32_t)(v.u > 0x3fb504f3u);   /* mantissa > sqrt(2) */
    float m = v.f * (1.0f - 0.5f * big);
    float f = m - 1.0f, s = f / (2.0f + f), s2 = s * s;
    float p = 1.0f + s2 * (1.0f / 3 + s2 * (1.0f / 5 + s2 * (1.0f / 7 + s2 * (1.0f / 9))));
    return 2.0f * s * p + ((float)e + big) * 0.693147180559945f;
}

/* sin and cos of 2 pi u for u in [0, 1): Taylor series on [0, pi/2),
 * then the quadrant's swap and signs, as arithmetic (no branches). */
SP_HD static inline void sp_poly_sincos2pi(float u, float *sn, float *cs)
{
    float t = u * 4.0f;
    int q = (int)t;
    float a = (t - (float)q) * 1.57079632679489662f, a2 = a * a;
    float s = a * (1 - a2 * (1.0f / 6) * (1 - a2 * (1.0f / 20) * (1 - a2 * (1.0f / 42) *
                                  (1 - a2 * (1.0f / 72) * (1 - a2 * (1.0f / 110))))));
    float c = 1 - a2 * 0.5f * (1 - a2 * (1.0f / 12) * (1 - a2 * (1.0f / 30) *
                               (1 - a2 * (1.0f / 56) * (1 - a2 * (1.0f / 90) *
                                                            (1 - a2 * (1.0f / 132))))));
    float swap = (float)(q & 1);
    float sgn_s = 1.0f - 2.0f * (float)((q >> 1) & 1), sgn_c = 1.0f - 2.0f * (float)(((q + 1) >> 1) & 1);
    *sn = sgn_s * (s + swap * (c - s));
    *cs = sgn_c * (c + swap * (s - c));
}

typedef struct sp_normal_key { uint32_t k0, k1; } sp_normal_key;

SP_HD static inline sp_normal_key sp_normal_key_of(uint64_t seed, uint64_t counter)
{
    uint64_t z = seed + counter * 0x9e3779b97f4a7c15ull + 0x632be59bd9b4e019ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    sp_normal_key k;
    k.k0 = (uint32_t)z;
    k.k1 = (uint32_t)(z >> 32);
    return k;
}

/* Pair j of a draw: (x[2j], x[2j+1]). */
SP_HD __attribute__((always_inline)) static inline void sp_normal_pair(uint32_t j, float std, sp_normal_key k, float *a, float *b)
{
    uint32_t h1 = sp_hash32(sp_hash32((2 * j) ^ k.k0) + k.k1);
    uint32_t h2 = sp_hash32(sp_hash32((2 * j + 1) ^ k.k0) + k.k1);
    float u1 = (float)(int32_t)((h1 >> 8) + 1) * 0x1.0p-24f;   /* (0, 1] */
    float u2 = (float)(int32_t)(h2 >> 8) * 0x1.0p-24f;         /* [0, 1) */
    float rad = std * SP_SQRTF(-2.0f * sp_poly_logf(u1)), s, c;
    sp_poly_sincos2pi(u2, &s, &c);
    *a = rad * c;
    *b = rad * s;
}

/* Elements [lo, hi) of a draw (lo even), at x[0 .. hi-lo).  The files
 * that call it are built with -fno-math-errno (the Makefile; the square
 * root's argument is never negative), which lets the loop be vectorised. */
#define SP_NORMAL_CHUNK 65536
__attribute__((always_inline)) static inline void sp_normal_range(float *x, size_t lo, size_t hi, float std, sp_normal_key k)
{
    size_t pairs = (hi - lo) / 2;
    uint32_t first = (uint32_t)(lo / 2);
#ifdef _OPENMP
#pragma omp simd
#endif
    for (size_t j = 0; j < pairs; j++)
        sp_normal_pair(first + (uint32_t)j, std, k, &x[2 * j], &x[2 * j + 1]);
    if ((hi - lo) % 2) {
        float last, unused;
        sp_normal_pair(first + pairs, std, k, &last, &unused);
        x[2 * pairs] = last;
    }
}

/* log(sum_k exp(z[k])), shifted by the row's maximum so it cannot
 * overflow; in double. */
SP_HD static inline double sp_xent_logsumexp(const float *z, int classes)
{
    double max = -INFINITY, sum = 0.0;
    for (int k = 0; k < classes; k++)
        if (z[k] > max)
            max = z[k];
    for (int k = 0; k < classes; k++)
        sum += exp(z[k] - max);
    return max + log(sum);
}

/* The gradient of one cross-entropy row: d[k] = (softmax(z)[k] - [k == y])
 * * scale / n (overwrites), lse its log-sum-exp. */
SP_HD static inline void sp_xent_grad_row(float *d, const float *z, int y, int classes, double lse,
                                          double scale, int n)
{
    for (int k = 0; k < classes; k++) {
        double g = exp(z[k] - lse) - (k == y ? 1.0 : 0.0);
        d[k] = (float)(g * scale / n);
    }
}

/* One element of torch.optim.SGD (dampening 0) in float32, one rounding
 * per operation; v is read and written only when momentum != 0. */
SP_HD static inline float sp_sgd_element(float w, float g, float *v, float lr, float momentum,
                                         float weight_decay, int nesterov)
{
    float d = g;
    if (weight_decay != 0.0f)
        d = d + weight_decay * w;
    if (momentum != 0.0f) {
        *v = momentum * *v + d;
        d = nesterov ? d + momentum * *v : *v;
    }
    return w - lr * d;
}

#endif
