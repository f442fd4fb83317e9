/* cpu_pool.c: max, average and adaptive average pooling on NCHW, as
 * PyTorch's MaxPool2d / AvgPool2d / AdaptiveAvgPool2d in floor mode, one
 * OpenMP task per (sample, channel) plane so no two threads write the same
 * input gradient.
 *
 *   maxpool:  padding is -inf, the first maximum in scan order wins and a
 *             NaN wins over any number; ws holds, per output, the int32
 *             offset of the chosen input inside its plane.
 *   avgpool:  padding counts in the divisor (count_include_pad).
 *   adaptive: output (i, j) averages rows [floor(i*H/OH), ceil((i+1)*H/OH))
 *             and the same for columns.
 *
 * The windows come from ../pool_window.h.  Forward passes overwrite out;
 * backward passes overwrite din. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include "sp/base.h"
#include "cpu_priv.h"
#include "../pool_window_priv.h"

size_t sp_cpu_maxpool_ws_bytes(sp_backend *b, const sp_pool_shape *s)
{
    (void)b;
    return sp_pool_argmax_bytes(s);
}

/* Offset of the window's maximum in its plane, -1 for a window of padding
 * only.  Branch-free: on random data "is this one larger" is a coin toss
 * that a branch predictor loses half the time.  A NaN is taken when the
 * maximum so far is a number and then never replaced, so the first NaN
 * wins, as in PyTorch. */
static int32_t window_argmax(const float *plane, const sp_pool_shape *s, int oy, int ox)
{
    sp_pool_span r = sp_pool_rows(s, SP_POOL_MAX, oy), q = sp_pool_cols(s, SP_POOL_MAX, ox);
    if (r.lo >= r.hi || q.lo >= q.hi)
        return -1;
    int32_t best = r.lo * s->w + q.lo;
    float max = plane[best];
    for (int y = r.lo; y < r.hi; y++)
        for (int x = q.lo; x < q.hi; x++) {
            int32_t at = y * s->w + x;
            float v = plane[at];
            int take = (v > max) | ((v != v) & (max == max));
            best = take ? at : best;
            max = take ? v : max;
        }
    return best;
}

void sp_cpu_maxpool_fwd(sp_backend *b, float *out /* N,C,OH,OW */, void *ws /* or NULL */,
                        const float *in /* N,C,H,W */, const sp_pool_shape *s)
{
    int32_t *arg = ws;
    size_t planes = (size_t)s->n * s->c, hw = (size_t)s->h * s->w, ohw = (size_t)s->oh * s->ow;
    (void)b;
    #pragma omp parallel for if (planes * hw >= SP_CPU_PAR_MIN) schedule(static)
    for (size_t pl = 0; pl < planes; pl++) {
        const float *plane = in + pl * hw;
        size_t o = pl * ohw;
        for (int oy = 0; oy < s->oh; oy++)
            for (int ox = 0; ox < s->ow; ox++, o++) {
                int32_t a = window_argmax(plane, s, oy, ox);
                out[o] = a < 0 ? -INFINITY : plane[a];
                if (arg)
                    arg[o] = a;
            }
    }
}

void sp_cpu_maxpool_bwd(sp_backend *b, float *din /* N,C,H,W; = */,
                        const float *dout /* N,C,OH,OW */, const void *ws /* or NULL */,
                        const float *in /* N,C,H,W */, const sp_pool_shape *s)
{
    const int32_t *arg = ws;
    size_t planes = (size_t)s->n * s->c, hw = (size_t)s->h * s->w, ohw = (size_t)s->oh * s->ow;
    (void)b;
    #pragma omp parallel for if (planes * hw >= SP_CPU_PAR_MIN) schedule(static)
    for (size_t pl = 0; pl < planes; pl++) {
        float *dplane = din + pl * hw;
        for (size_t i = 0; i < hw; i++)
            dplane[i] = 0.0f;
        size_t o = pl * ohw;
        for (int oy = 0; oy < s->oh; oy++)
            for (int ox = 0; ox < s->ow; ox++, o++) {
                int32_t a = arg ? arg[o] : window_argmax(in + pl * hw, s, oy, ox);
                if (a >= 0)
                    dplane[a] += dout[o];
            }
    }
}

/* Average and adaptive average pooling differ only in their windows. */
static void mean_pool_fwd(float *out, const float *in, const sp_pool_shape *s, sp_pool_kind kind)
{
    size_t planes = (size_t)s->n * s->c, hw = (size_t)s->h * s->w, ohw = (size_t)s->oh * s->ow;
    #pragma omp parallel for if (planes * hw >= SP_CPU_PAR_MIN) schedule(static)
    for (size_t pl = 0; pl < planes; pl++) {
        const float *plane = in + pl * hw;
        size_t o = pl * ohw;
        for (int oy = 0; oy < s->oh; oy++) {
            sp_pool_span r = sp_pool_rows(s, kind, oy);
            for (int ox = 0; ox < s->ow; ox++, o++) {
                sp_pool_span q = sp_pool_cols(s, kind, ox);
                float sum = 0.0f;
                for (int y = r.lo; y < r.hi; y++)
                    for (int x = q.lo; x < q.hi; x++)
                        sum += plane[y * s->w + x];
                out[o] = sum / (float)(r.len * q.len);
            }
        }
    }
}

/* Scatter form: each output spreads dout / divisor over its window. */
static void mean_pool_bwd(float *din, const float *dout, const sp_pool_shape *s,
                          sp_pool_kind kind)
{
    size_t planes = (size_t)s->n * s->c, hw = (size_t)s->h * s->w, ohw = (size_t)s->oh * s->ow;
    #pragma omp parallel for if (planes * hw >= SP_CPU_PAR_MIN) schedule(static)
    for (size_t pl = 0; pl < planes; pl++) {
        float *dplane = din + pl * hw;
        for (size_t i = 0; i < hw; i++)
            dplane[i] = 0.0f;
        size_t o = pl * ohw;
        for (int oy = 0; oy < s->oh; oy++) {
            sp_pool_span r = sp_pool_rows(s, kind, oy);
            for (int ox = 0; ox < s->ow; ox++, o++) {
                sp_pool_span q = sp_pool_cols(s, kind, ox);
                float g = dout[o] / (float)(r.len * q.len);
                for (int y = r.lo; y < r.hi; y++)
                    for (int x = q.lo; x < q.hi; x++)
                        dplane[y * s->w + x] += g;
            }
        }
    }
}

void sp_cpu_avgpool_fwd(sp_backend *b, float *out /* N,C,OH,OW */, const float *in /* N,C,H,W */,
                        const sp_pool_shape *s)
{
    (void)b;
    mean_pool_fwd(out, in, s, SP_POOL_AVG);
}

void sp_cpu_avgpool_bwd(sp_backend *b, float *din /* N,C,H,W; = */,
                        const float *dout /* N,C,OH,OW */, const sp_pool_shape *s)
{
    (void)b;
    mean_pool_bwd(din, dout, s, SP_POOL_AVG);
}

void sp_cpu_adaptive_avgpool_fwd(sp_backend *b, float *out /* N,C,OH,OW */,
                                 const float *in /* N,C,H,W */, const sp_pool_shape *s)
{
    (void)b;
    mean_pool_fwd(out, in, s, SP_POOL_ADAPTIVE);
}

void sp_cpu_adaptive_avgpool_bwd(sp_backend *b, float *din /* N,C,H,W; = */,
                                 const float *dout /* N,C,OH,OW */, const sp_pool_shape *s)
{
    (void)b;
    mean_pool_bwd(din, dout, s, SP_POOL_ADAPTIVE);
}
