/* cpu_bn_nhwc.c: batch normalisation on channels-last data, the training
 * operations of sp_nhwc_train_ops: the arguments and results of cpu_bn.c's,
 * with in, out, din and dout N,H,W,C.
 *
 * The data is a (N * HW) x C matrix, each row the C channels of one
 * position.  Per-channel sums run over chunks of CHUNK_ROWS rows: in float
 * within a chunk, four rows a step, vectorised across the channels; then
 * in double across the chunks, in chunk order.  The threads share the
 * chunks (C is small where N * HW is large) and each chunk's partial sums
 * have a slot of their own, so the result does not depend on the number
 * of threads.  The element-wise loops share the rows.
 *
 * The training statistics read the data from memory once: each chunk
 * gives its float mean, then, still in cache, the sums of d and d^2 with
 * d = x less that mean, and the chunks combine in double, in chunk order
 * (sp_bn_merge, Chan, Golub and LeVeque's pairwise update).  Each chunk
 * is centred near its own mean, so a mean far from zero does not cancel
 * the variance (cpu_bn.c does the same per row).  Every normalised value
 * is sp_cpu_bn_value with sp_bn_scale, and bn_fwd_train's output is
 * bn_fwd_saved's loop (normalise_rows, which also adds the residual and
 * applies the activation), so recomputing gives the same bits.
 *
 * Across processes (sp/backend.h, bn_sums) the same chunked sums give
 * each process's (sum x, sum x^2), formed about a shift, and
 * (sum dy, sum dy * xhat); bn_fwd_sums takes cpu_bn_sums.c's statistics
 * from the summed ones (sp_bn_save_sums_stats) and normalises with
 * bn_fwd_saved's loop, so recomputing gives the same bits there too.
 * bn_bwd is bn_bwd_sums followed by bn_bwd_from_sums with the local
 * sums as the global ones. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "cpu_priv.h"
#include "sp/base.h"
#include "../bn_stats_priv.h"

/* Rows per chunk of partial sums: float sums of at most this many terms. */
#define CHUNK_ROWS 64

/* A chunk's partial sums: rows rows of c channels from x (and dy) into
 * part, which starts at zero; centre holds a float per channel.  Four
 * rows a step are added together first and then to part: the partial
 * sums stay in memory, and one step's chain of additions through them
 * covers four rows instead of one. */
typedef void chunk_fn(float *part, const float *x, const float *dy, const float *centre,
                      int rows, int c);

/* part[ch] += x - centre */
static void chunk_sum(float *part, const float *x, const float *dy, const float *centre,
                      int rows, int c)
{
    int r = 0;
    (void)dy;
    for (; r + 4 <= rows; r += 4) {
        const float *x0 = x + (size_t)r * c, *x1 = x0 + c, *x2 = x1 + c, *x3 = x2 + c;
        #pragma omp simd
        for (int ch = 0; ch < c; ch++) {
            float m = centre[ch];
            part[ch] += ((x0[ch] - m) + (x1[ch] - m)) + ((x2[ch] - m) + (x3[ch] - m));
        }
    }
    for (; r < rows; r++) {
        const float *xr = x + (size_t)r * c;
        #pragma omp simd
        for (int ch = 0; ch < c; ch++)
            part[ch] += xr[ch] - centre[ch];
    }
}

/* part[ch] += dy, part[c + ch] += dy * (x - centre) */
static void chunk_grad(float *part, const float *x, const float *dy, const float *centre,
                       int rows, int c)
{
    int r = 0;
    for (; r + 4 <= rows; r += 4) {
        const float *x0 = x + (size_t)r * c, *x1 = x0 + c, *x2 = x1 + c, *x3 = x2 + c;
        const float *y0 = dy + (size_t)r * c, *y1 = y0 + c, *y2 = y1 + c, *y3 = y2 + c;
        #pragma omp simd
        for (int ch = 0; ch < c; ch++) {
            float m = centre[ch];
            part[ch] += (y0[ch] + y1[ch]) + (y2[ch] + y3[ch]);
            part[c + ch] += (y0[ch] * (x0[ch] - m) + y1[ch] * (x1[ch] - m)) +
                            (y2[ch] * (x2[ch] - m) + y3[ch] * (x3[ch] - m));
        }
    }
    for (; r < rows; r++) {
        const float *xr = x + (size_t)r * c, *yr = dy + (size_t)r * c;
        #pragma omp simd
        for (int ch = 0; ch < c; ch++) {
            part[ch] += yr[ch];
            part[c + ch] += yr[ch] * (xr[ch] - centre[ch]);
        }
    }
}

static size_t chunk_count(size_t rows)
{
    return (rows + CHUNK_ROWS - 1) / CHUNK_ROWS;
}

static size_t chunk_rows(size_t rows, size_t k)
{
    size_t r0 = k * CHUNK_ROWS;
    return rows - r0 < CHUNK_ROWS ? rows - r0 : CHUNK_ROWS;
}

/* fn's partial sums of every chunk, width * c floats each, zero before
 * fn adds to them; the threads share the chunks. */
static float *chunk_parts(chunk_fn *fn, const float *x, const float *dy, const float *centre,
                          size_t rows, int c, int width)
{
    size_t chunks = chunk_count(rows), stride = (size_t)width * c;
    float *part = sp_xmalloc((chunks ? chunks : 1) * stride * sizeof *part);
    #pragma omp parallel for if ((double)rows * c >= SP_CPU_PAR_MIN) schedule(static)
    for (size_t k = 0; k < chunks; k++) {
        size_t r0 = k * CHUNK_ROWS;
        float *pk = part + k * stride;
        memset(pk, 0, stride * sizeof *pk);
        fn(pk, x + r0 * c, dy ? dy + r0 * c : NULL, centre, (int)chunk_rows(rows, k), c);
    }
    return part;
}

/* sums (width * c, overwritten): fn's partial sums, width per channel,
 * added in double chunk after chunk. */
static void sum_chunks(double *sums, chunk_fn *fn, const float *x, const float *dy,
                       const float *centre, size_t rows, int c, int width)
{
    size_t chunks = chunk_count(rows), stride = (size_t)width * c;
    float *part = chunk_parts(fn, x, dy, centre, rows, c, width);
    for (size_t j = 0; j < stride; j++)
        sums[j] = 0.0;
    for (size_t k = 0; k < chunks; k++) {
        const float *pk = part + k * stride;
        #pragma omp simd
        for (size_t j = 0; j < stride; j++)
            sums[j] += pk[j];
    }
    free(part);
}

/* part[ch] += d, part[c + ch] += d^2 with d = x - centre */
static void chunk_sum_sq(float *part, const float *x, const float *dy, const float *centre,
                         int rows, int c)
{
    int r = 0;
    float *sq = part + c;
    (void)dy;
    for (; r + 4 <= rows; r += 4) {
        const float *x0 = x + (size_t)r * c, *x1 = x0 + c, *x2 = x1 + c, *x3 = x2 + c;
        #pragma omp simd
        for (int ch = 0; ch < c; ch++) {
            float d0 = x0[ch] - centre[ch], d1 = x1[ch] - centre[ch];
            float d2 = x2[ch] - centre[ch], d3 = x3[ch] - centre[ch];
            part[ch] += (d0 + d1) + (d2 + d3);
            sq[ch] += (d0 * d0 + d1 * d1) + (d2 * d2 + d3 * d3);
        }
    }
    for (; r < rows; r++) {
        const float *xr = x + (size_t)r * c;
        #pragma omp simd
        for (int ch = 0; ch < c; ch++) {
            float d = xr[ch] - centre[ch];
            part[ch] += d;
            sq[ch] += d * d;
        }
    }
}

/* A chunk's float mean (part[2c, 3c)), then chunk_sum_sq about it into
 * part[0, 2c); centre is zero.  The second pass reads the chunk from
 * cache. */
static void chunk_moments(float *part, const float *x, const float *dy, const float *centre,
                          int rows, int c)
{
    float *mean = part + 2 * (size_t)c;
    chunk_sum(part, x, dy, centre, rows, c);
    for (int ch = 0; ch < c; ch++) {
        mean[ch] = part[ch] / (float)rows;
        part[ch] = 0.0f;
    }
    chunk_sum_sq(part, x, dy, mean, rows, c);
}

/* The mean and the sum of squared deviations of every channel of a
 * (rows x c) matrix, over one read of it from memory (chunk_moments),
 * combined in double chunk after chunk. */
static void moments(double *mean /* c; = */, double *dev /* c; = */, const float *x,
                    size_t rows, int c)
{
    size_t chunks = chunk_count(rows), stride = (size_t)3 * c;
    float *zero = sp_xcalloc((size_t)c, sizeof *zero);
    float *part = chunk_parts(chunk_moments, x, NULL, zero, rows, c, 3);
    for (int ch = 0; ch < c; ch++)
        mean[ch] = dev[ch] = 0.0;
    for (size_t k = 0; k < chunks; k++) {
        const float *pk = part + k * stride;
        double w[3];
        sp_bn_merge_weights(w, (double)(k * CHUNK_ROWS), (double)chunk_rows(rows, k));
        #pragma omp simd
        for (int ch = 0; ch < c; ch++)
            sp_bn_merge(&mean[ch], &dev[ch], w, pk[2 * c + ch], pk[ch], pk[c + ch]);
    }
    free(part), free(zero);
}

/* Room for an element-wise loop's per-channel terms: three rows of c. */
static float *terms_alloc(int c)
{
    return sp_xmalloc((size_t)3 * c * sizeof(float));
}

/* The normalising terms of every channel: mean, scale, beta. */
static void bn_terms(float *terms, const float *gamma, const float *beta,
                     const float *save_mean, const float *save_invstd, int c)
{
    for (int ch = 0; ch < c; ch++) {
        terms[ch] = save_mean[ch];
        terms[c + ch] = sp_bn_scale(gamma, save_invstd, ch);
        terms[2 * c + ch] = beta ? beta[ch] : 0.0f;
    }
}

/* out from in, plus res (NULL: none), then act (-1: none), as
 * sp_cpu_bn_channel does. */
static void normalise_rows(float *out, const float *in, const float *res, const float *terms,
                           size_t rows, int c, int act)
{
    const float *m = terms, *scale = terms + c, *bt = terms + 2 * c;
    float lo = act < 0 ? -INFINITY : 0.0f, hi = act == SP_ACT_RELU6 ? 6.0f : INFINITY;
    #pragma omp parallel for if ((double)rows * c >= SP_CPU_PAR_MIN) schedule(static)
    for (size_t r = 0; r < rows; r++) {
        const float *x = in + r * c, *s = res ? res + r * c : NULL;
        float *y = out + r * c;
        if (s) {   /* apart: adding 0 would turn -0 into +0 */
            #pragma omp simd
            for (int ch = 0; ch < c; ch++) {
                float v = sp_cpu_bn_value(x[ch], m[ch], scale[ch], bt[ch]) + s[ch];
                v = v < lo ? lo : v;
                y[ch] = v > hi ? hi : v;
            }
            continue;
        }
        #pragma omp simd
        for (int ch = 0; ch < c; ch++) {
            float v = sp_cpu_bn_value(x[ch], m[ch], scale[ch], bt[ch]);
            v = v < lo ? lo : v;
            y[ch] = v > hi ? hi : v;
        }
    }
}

static void normalise(float *out, const float *in, const float *res, const float *gamma,
                      const float *beta, const float *save_mean, const float *save_invstd,
                      size_t rows, int c, int act)
{
    float *terms = terms_alloc(c);
    bn_terms(terms, gamma, beta, save_mean, save_invstd, c);
    normalise_rows(out, in, res, terms, rows, c, act);
    free(terms);
}

void sp_cpu_bn_fwd_train_nhwc(sp_backend *b, float *out /* N,HW,C */, float *save_mean /* C */,
                              float *save_invstd /* C */, float *running_mean /* C */,
                              float *running_var /* C */, const float *in /* N,HW,C */,
                              const float *res /* N,HW,C */, const float *gamma /* C */,
                              const float *beta /* C */, int n, int c, int hw, float eps,
                              float momentum, int act)
{
    size_t rows = (size_t)n * hw;
    double *mean = sp_xmalloc((size_t)2 * c * sizeof *mean), *dev = mean + c;
    (void)b;
    moments(mean, dev, in, rows, c);
    for (int ch = 0; ch < c; ch++)
        sp_bn_save_stats(save_mean, save_invstd, running_mean, running_var, ch, mean[ch],
                         dev[ch], (double)rows, eps, momentum);
    free(mean);
    normalise(out, in, res, gamma, beta, save_mean, save_invstd, rows, c, act);
}

void sp_cpu_bn_fwd_saved_nhwc(sp_backend *b, float *out /* N,HW,C */, const float *in /* N,HW,C */,
                              const float *gamma /* C */, const float *beta /* C */,
                              const float *save_mean /* C */, const float *save_invstd /* C */,
                              int n, int c, int hw, int act)
{
    (void)b;
    normalise(out, in, NULL, gamma, beta, save_mean, save_invstd, (size_t)n * hw, c, act);
}

void sp_cpu_bn_act_bwd_nhwc(sp_backend *b, sp_act act, float *din /* N,HW,C; = */,
                            const float *dout /* N,HW,C */, const float *in /* N,HW,C */,
                            const float *gamma /* C */, const float *beta /* C */,
                            const float *save_mean /* C */, const float *save_invstd /* C */,
                            int n, int c, int hw)
{
    size_t rows = (size_t)n * hw;
    int six = act == SP_ACT_RELU6;
    float *terms = terms_alloc(c);
    const float *m = terms, *scale = terms + c, *bt = terms + 2 * c;
    (void)b;
    bn_terms(terms, gamma, beta, save_mean, save_invstd, c);
    #pragma omp parallel for if ((double)rows * c >= SP_CPU_PAR_MIN) schedule(static)
    for (size_t r = 0; r < rows; r++) {
        size_t o = r * c;
        #pragma omp simd
        for (int ch = 0; ch < c; ch++) {
            float v = sp_cpu_bn_value(in[o + ch], m[ch], scale[ch], bt[ch]), d = dout[o + ch];
            din[o + ch] = v > 0.0f && (!six || v < 6.0f) ? d : 0.0f;
        }
    }
    free(terms);
}

/* din = fk * dy - fa * x + fc with the per-channel terms (fk, fa, fc),
 * four rows a step so that the terms are loaded once for the four: din
 * may be dout, each value read in the statement that writes it. */
static void fold_rows(float *din, const float *dout, const float *in, const float *terms,
                      size_t rows, int c)
{
    const float *fk = terms, *fa = terms + c, *fc = terms + 2 * c;
    size_t quads = rows / 4;
    #pragma omp parallel for if ((double)rows * c >= SP_CPU_PAR_MIN) schedule(static)
    for (size_t k = 0; k < quads; k++) {
        size_t o = 4 * k * c;
        const float *x = in + o, *dy = dout + o;
        float *dx = din + o;
        #pragma omp simd
        for (int ch = 0; ch < c; ch++) {
            float a = fk[ch], b = fa[ch], d = fc[ch];
            dx[ch] = a * dy[ch] - b * x[ch] + d;
            dx[c + ch] = a * dy[c + ch] - b * x[c + ch] + d;
            dx[2 * c + ch] = a * dy[2 * c + ch] - b * x[2 * c + ch] + d;
            dx[3 * c + ch] = a * dy[3 * c + ch] - b * x[3 * c + ch] + d;
        }
    }
    for (size_t r = quads * 4; r < rows; r++) {
        const float *x = in + r * c, *dy = dout + r * c;
        float *dx = din + r * c;
        #pragma omp simd
        for (int ch = 0; ch < c; ch++)
            dx[ch] = fk[ch] * dy[ch] - fa[ch] * x[ch] + fc[ch];
    }
}

/* sums = (sum x, sum x^2), from the float sums of d = x - k and d^2 about
 * the first row's values k (so that a mean far from zero costs the float
 * sums no precision): sum x = sum d + rows k and
 * sum x^2 = sum d^2 + 2 k sum d + rows k^2, in double. */
void sp_cpu_bn_sums_nhwc(sp_backend *b, double *sums /* 2,C; = */, const float *in /* N,HW,C */,
                         int n, int c, int hw)
{
    size_t rows = (size_t)n * hw;
    float *k = sp_xcalloc((size_t)c, sizeof *k);
    (void)b;
    if (rows)
        memcpy(k, in, (size_t)c * sizeof *k);
    sum_chunks(sums, chunk_sum_sq, in, NULL, k, rows, c, 2);
    for (int ch = 0; ch < c; ch++) {
        double d = sums[ch], kc = k[ch];
        sums[ch] = d + (double)rows * kc;
        sums[c + ch] += 2.0 * kc * d + (double)rows * kc * kc;
    }
    free(k);
}

void sp_cpu_bn_fwd_sums_nhwc(sp_backend *b, float *out /* N,HW,C */, float *save_mean /* C */,
                             float *save_invstd /* C */, float *running_mean,
                             float *running_var, const float *in /* N,HW,C */,
                             const float *gamma, const float *beta, const double *sums /* 2,C */,
                             double count, int n, int c, int hw, float eps, float momentum)
{
    for (int ch = 0; ch < c; ch++)
        sp_bn_save_sums_stats(save_mean, save_invstd, running_mean, running_var, ch, sums, c,
                              count, eps, momentum);
    sp_cpu_bn_fwd_saved_nhwc(b, out, in, gamma, beta, save_mean, save_invstd, n, c, hw, -1);
}

/* sums = (sum dy, sum dy * xhat): dy * (x - mean) summed, times invstd. */
void sp_cpu_bn_bwd_sums_nhwc(sp_backend *b, double *sums /* 2,C; = */,
                             const float *dout /* N,HW,C */, const float *in /* N,HW,C */,
                             const float *save_mean /* C */, const float *save_invstd /* C */,
                             int n, int c, int hw)
{
    (void)b;
    sum_chunks(sums, chunk_grad, in, dout, save_mean, (size_t)n * hw, c, 2);
    for (int ch = 0; ch < c; ch++)
        sums[c + ch] *= save_invstd[ch];
}

/* As cpu_bn.c's sp_cpu_bn_bwd with the sums given: with
 * xhat = (x - mean) * invstd,
 * din = gamma * invstd * (dout - mean(dout) - xhat * mean(dout * xhat)),
 * the means from `global`, folded per channel (sp_bn_fold) into
 * din = fk * dy - fa * x + fc.  din may be dout, or NULL for none. */
void sp_cpu_bn_bwd_from_sums_nhwc(sp_backend *b, float *din /* N,HW,C; = */,
                                  float *dgamma /* C; += */, float *dbeta /* C; += */,
                                  const float *dout /* N,HW,C */, const float *in /* N,HW,C */,
                                  const float *gamma /* C */, const float *save_mean /* C */,
                                  const float *save_invstd /* C */, const double *local /* 2,C */,
                                  const double *global /* 2,C */, double count, int n, int c,
                                  int hw)
{
    float *terms = terms_alloc(c);
    (void)b;
    for (int ch = 0; ch < c; ch++) {
        float f[3];
        sp_bn_fold(f, gamma ? gamma[ch] : 1.0, save_mean[ch], save_invstd[ch],
                   global[ch] / count, global[c + ch] / count);
        terms[ch] = f[0];
        terms[c + ch] = f[1];
        terms[2 * c + ch] = f[2];
        sp_bn_add_param_grads(dgamma, dbeta, ch, local[c + ch], local[ch]);
    }
    if (din)
        fold_rows(din, dout, in, terms, (size_t)n * hw, c);
    free(terms);
}

/* bn_bwd within one process: its own sums are the global ones.  Every sum
 * is formed before din is written, so din may be dout. */
void sp_cpu_bn_bwd_nhwc(sp_backend *b, float *din /* N,HW,C; = */, float *dgamma /* C; += */,
                        float *dbeta /* C; += */, const float *dout /* N,HW,C */,
                        const float *in /* N,HW,C */, const float *gamma /* C */,
                        const float *save_mean /* C */, const float *save_invstd /* C */,
                        int n, int c, int hw)
{
    double *sums = sp_xmalloc((size_t)2 * c * sizeof *sums);
    sp_cpu_bn_bwd_sums_nhwc(b, sums, dout, in, save_mean, save_invstd, n, c, hw);
    sp_cpu_bn_bwd_from_sums_nhwc(b, din, dgamma, dbeta, dout, in, gamma, save_mean, save_invstd,
                                 sums, sums, (double)n * hw, n, c, hw);
    free(sums);
}
