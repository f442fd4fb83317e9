/* cpu_nhwc_bwd.c: channels-last (N,H,W,C) training, the backward passes
 * of cpu_nhwc.c's operations and the max pooling forward that records
 * where each maximum came from.
 *
 * A training executor keeps activations and their gradients channels-last
 * from the first convolution to the global pool when every operation of
 * the network has its form here (sp/backend.h, sp_nhwc_train_ops).  Each
 * computes what its NCHW twin in cpu_pool.c / cpu_elementwise.c does, with
 * the channel innermost so that the loops run along it:
 *
 *   maxpool:  ws holds, per output and channel (laid out N,OH,OW,C), the
 *             int32 offset y*W + x of the chosen input inside its
 *             sample's H x W plane, -1 for a window of padding only: what
 *             cpu_pool.c keeps, in the other order.  The forward's out is
 *             cpu_nhwc.c's bit for bit (one rule, sp_pool_max_takes).
 *   pooling backward: scatter form, outputs in scan order, so each input's
 *             gradient sums the same floats in the same order as cpu_pool.c
 *             (bit for bit).  One thread per sample, because windows of
 *             neighbouring rows overlap.
 *   shortcut and mask: din exact; the mask's dm sums in float over fixed
 *             chunks of positions and in double across them, in order, so
 *             that it does not depend on the number of threads (it differs
 *             from cpu_elementwise.c's order, within rounding).
 *
 * Backward passes overwrite din; dm is accumulated (+=). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "sp/base.h"
#include "cpu_priv.h"
#include "../pool_window_priv.h"

/* Channels per block of an average window's scaled gradients (on the
 * stack). */
enum { CH_BLOCK = 256 };

/* Positions per partial sum of the mask gradient. */
enum { MASK_CHUNK = 256 };

/* One output position's channels: out as cpu_nhwc.c's max_window, and in
 * arg the offset of the input each maximum came from. */
static void max_window_arg(float *o, int32_t *arg, const float *in, const sp_pool_shape *s,
                           sp_pool_span r, sp_pool_span q)
{
    int c = s->c;
    #pragma omp simd
    for (int ch = 0; ch < c; ch++) {
        o[ch] = -INFINITY;
        arg[ch] = -1;
    }
    int first = 1;
    for (int y = r.lo; y < r.hi; y++)
        for (int x = q.lo; x < q.hi; x++, first = 0) {
            int32_t at = y * s->w + x;
            const float *v = in + (size_t)at * c;
            #pragma omp simd
            for (int ch = 0; ch < c; ch++) {
                int take = first | sp_pool_max_takes(v[ch], o[ch]);
                o[ch] = take ? v[ch] : o[ch];
                arg[ch] = take ? at : arg[ch];
            }
        }
}

void sp_cpu_maxpool_fwd_train_nhwc(sp_backend *b, float *out /* N,OH,OW,C */,
                                   void *ws /* N,OH,OW,C int32 */,
                                   const float *in /* N,H,W,C */, const sp_pool_shape *s)
{
    int32_t *arg = ws;
    size_t rows = (size_t)s->n * s->oh, plane = (size_t)s->h * s->w * s->c;
    (void)b;
    #pragma omp parallel for if (s->n * plane >= SP_CPU_PAR_MIN) schedule(static)
    for (size_t row = 0; row < rows; row++) {
        size_t i = row / (size_t)s->oh;
        sp_pool_span r = sp_pool_rows(s, SP_POOL_MAX, (int)(row % (size_t)s->oh));
        for (int ox = 0; ox < s->ow; ox++) {
            size_t o = (row * s->ow + ox) * s->c;
            max_window_arg(out + o, arg + o, in + i * plane, s, r,
                           sp_pool_cols(s, SP_POOL_MAX, ox));
        }
    }
}

/* Rows [done, to) of one sample's gradient set to 0; returns the rows
 * zeroed so far.  Zeroing just before the first window that reaches a row
 * keeps the rows being summed in cache. */
static int zero_rows(float *d, const sp_pool_shape *s, int done, int to)
{
    if (to <= done)
        return done;
    size_t row = (size_t)s->w * s->c;
    memset(d + done * row, 0, (size_t)(to - done) * row * sizeof *d);
    return to;
}

/* One output's gradients g to the inputs its maxima came from (arg): each
 * position of the window adds g where arg names it and 0 elsewhere, which
 * runs along the channels without a scatter.  Adding 0 changes no sum, as
 * a gradient that starts at +0 never holds -0. */
static void max_window_bwd(float *d, const float *g, const int32_t *arg,
                           const sp_pool_shape *s, sp_pool_span r, sp_pool_span q)
{
    int c = s->c;
    for (int y = r.lo; y < r.hi; y++)
        for (int x = q.lo; x < q.hi; x++) {
            int32_t at = y * s->w + x;
            float *v = d + (size_t)at * c;
            #pragma omp simd
            for (int ch = 0; ch < c; ch++) {
                float gc = g[ch];   /* loaded always: a blend, not a branch */
                v[ch] += arg[ch] == at ? gc : 0.0f;
            }
        }
}

/* One output's gradients g spread over its window, each divided by the
 * window's size first, as cpu_pool.c does. */
static void mean_window_bwd(float *d, const float *g, const sp_pool_shape *s, sp_pool_span r,
                            sp_pool_span q)
{
    float div = (float)(r.len * q.len), share[CH_BLOCK];
    for (int c0 = 0; c0 < s->c; c0 += CH_BLOCK) {
        int cn = sp_pool_imin(CH_BLOCK, s->c - c0);
        #pragma omp simd
        for (int ch = 0; ch < cn; ch++)
            share[ch] = g[c0 + ch] / div;
        for (int y = r.lo; y < r.hi; y++)
            for (int x = q.lo; x < q.hi; x++) {
                float *v = d + ((size_t)y * s->w + x) * s->c + c0;
                #pragma omp simd
                for (int ch = 0; ch < cn; ch++)
                    v[ch] += share[ch];
            }
    }
}

/* din = 0, then every output's gradient added over its window in scan
 * order (arg: max pooling's, else NULL). */
static void pool_bwd(float *din, const float *dout, const int32_t *arg, const sp_pool_shape *s,
                     sp_pool_kind kind)
{
    size_t plane = (size_t)s->h * s->w * s->c, oplane = (size_t)s->oh * s->ow * s->c;
    #pragma omp parallel for if (s->n * plane >= SP_CPU_PAR_MIN) schedule(static)
    for (int i = 0; i < s->n; i++) {
        float *d = din + i * plane;
        int zeroed = 0;
        for (int oy = 0; oy < s->oh; oy++) {
            sp_pool_span r = sp_pool_rows(s, kind, oy);
            zeroed = zero_rows(d, s, zeroed, r.hi);
            for (int ox = 0; ox < s->ow; ox++) {
                sp_pool_span q = sp_pool_cols(s, kind, ox);
                size_t o = i * oplane + ((size_t)oy * s->ow + ox) * s->c;
                if (kind == SP_POOL_MAX)
                    max_window_bwd(d, dout + o, arg + o, s, r, q);
                else
                    mean_window_bwd(d, dout + o, s, r, q);
            }
        }
        zero_rows(d, s, zeroed, s->h);
    }
}

/* Without a workspace (the NCHW twin allows one) the forward finds the
 * argmax again. */
void sp_cpu_maxpool_bwd_nhwc(sp_backend *b, float *din /* N,H,W,C; = */,
                             const float *dout /* N,OH,OW,C */, const void *ws /* or NULL */,
                             const float *in /* N,H,W,C */, const sp_pool_shape *s)
{
    int32_t *own = NULL;
    float *out = NULL;
    if (!ws) {
        size_t nout = (size_t)s->n * s->oh * s->ow * s->c;
        own = sp_xmalloc(nout * sizeof *own);
        out = sp_xmalloc(nout * sizeof *out);
        sp_cpu_maxpool_fwd_train_nhwc(b, out, own, in, s);
        ws = own;
    }
    pool_bwd(din, dout, ws, s, SP_POOL_MAX);
    free(own);
    free(out);
}

void sp_cpu_avgpool_bwd_nhwc(sp_backend *b, float *din /* N,H,W,C; = */,
                             const float *dout /* N,OH,OW,C */, const sp_pool_shape *s)
{
    (void)b;
    pool_bwd(din, dout, NULL, s, SP_POOL_AVG);
}

void sp_cpu_adaptive_avgpool_bwd_nhwc(sp_backend *b, float *din /* N,H,W,C; = */,
                                      const float *dout /* N,OH,OW,C */, const sp_pool_shape *s)
{
    (void)b;
    pool_bwd(din, dout, NULL, s, SP_POOL_ADAPTIVE);
}

/* din[n, y, x, ch] = dout[n, y/sh, x/sw, lo + ch] where sh divides y and
 * sw divides x, else 0. */
void sp_cpu_pad_shortcut_bwd_nhwc(sp_backend *b, float *din /* N,H,W,C; = */,
                                  const float *dout /* N,OH,OW,lo+C+hi */, int n, int c, int h,
                                  int w, int sh, int sw, int lo, int hi)
{
    int oh = (h + sh - 1) / sh, ow = (w + sw - 1) / sw, k = lo + c + hi;
    size_t rows = (size_t)n * h, row_len = (size_t)w * c;
    (void)b;
    #pragma omp parallel for if (rows * row_len >= SP_CPU_PAR_MIN) schedule(static)
    for (size_t row = 0; row < rows; row++) {
        size_t i = row / (size_t)h;
        int y = (int)(row % (size_t)h);
        float *d = din + row * row_len;
        if (y % sh) {
            memset(d, 0, row_len * sizeof *d);
            continue;
        }
        const float *g = dout + ((i * oh + (size_t)(y / sh)) * ow) * k + lo;
        for (int x = 0; x < w; x++) {
            if (x % sw)
                memset(d + (size_t)x * c, 0, (size_t)c * sizeof *d);
            else
                memcpy(d + (size_t)x * c, g + (size_t)(x / sw) * k, (size_t)c * sizeof *d);
        }
    }
}

/* Positions [p0, p1): din = dout * m (din may be NULL), and part (NULL
 * when dm is not wanted) = the float sum of dout * in per channel.  Each
 * position's dout is read for the sum before din overwrites it, so din may
 * be dout. */
static void mask_chunk(float *din, float *part, const float *dout, const float *in,
                       const float *m, size_t p0, size_t p1, int c)
{
    if (part) {
        #pragma omp simd
        for (int ch = 0; ch < c; ch++)
            part[ch] = 0.0f;
    }
    for (size_t p = p0; p < p1; p++) {
        const float *g = dout + p * c, *x = in + p * c;
        if (part) {
            #pragma omp simd
            for (int ch = 0; ch < c; ch++)
                part[ch] += g[ch] * x[ch];
        }
        if (din) {
            float *d = din + p * c;
            #pragma omp simd
            for (int ch = 0; ch < c; ch++)
                d[ch] = g[ch] * m[ch];
        }
    }
}

/* dm += the chunks' partial sums, added in double in chunk order. */
static void add_chunk_sums(float *dm, const float *part, size_t chunks, int c)
{
    double *sum = sp_xcalloc((size_t)c, sizeof *sum);
    for (size_t k = 0; k < chunks; k++) {
        const float *pk = part + k * c;
        #pragma omp simd
        for (int ch = 0; ch < c; ch++)
            sum[ch] += pk[ch];
    }
    for (int ch = 0; ch < c; ch++)
        dm[ch] = (float)(dm[ch] + sum[ch]);
    free(sum);
}

/* din = dout * m[ch] (din may be NULL, or dout: unlike in the NCHW twins,
 * whose dm would then read din); dm[ch] += the sum over samples and
 * positions of dout * in (dm may be NULL). */
void sp_cpu_mask_bwd_nhwc(sp_backend *b, float *din /* N,HW,C; = or NULL */,
                          float *dm /* C; += or NULL */, const float *dout /* N,HW,C */,
                          const float *in /* N,HW,C */, const float *m /* C */, int n, int c,
                          int hw)
{
    size_t pos = (size_t)n * hw, chunks = (pos + MASK_CHUNK - 1) / MASK_CHUNK;
    float *part = dm ? sp_xmalloc((chunks ? chunks : 1) * c * sizeof *part) : NULL;
    (void)b;
    #pragma omp parallel for if (pos * c >= SP_CPU_PAR_MIN) schedule(static)
    for (size_t k = 0; k < chunks; k++) {
        size_t p0 = k * MASK_CHUNK, p1 = p0 + MASK_CHUNK < pos ? p0 + MASK_CHUNK : pos;
        mask_chunk(din, part ? part + k * c : NULL, dout, in, m, p0, p1, c);
    }
    if (dm)
        add_chunk_sums(dm, part, chunks, c);
    free(part);
}
