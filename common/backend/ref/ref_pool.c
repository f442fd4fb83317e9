/* ref_pool.c: max, average and adaptive average pooling, NCHW, as
 * PyTorch's MaxPool2d / AvgPool2d / AdaptiveAvgPool2d in floor mode.
 *
 *   maxpool:  padding is -inf; the first maximum in scan order wins (a NaN
 *             wins over any number).  ws holds, per output, the int32 offset
 *             of the chosen input inside its (H, W) plane.
 *   avgpool:  the divisor counts padding (count_include_pad), so a window
 *             hanging over the border divides by its padded size.
 *   adaptive: output (i, j) averages rows [floor(i*H/OH), ceil((i+1)*H/OH))
 *             and the same for columns; kh, kw, sh, sw, ph, pw are ignored.
 *
 * The windows come from ../pool_window.h.  Forward passes overwrite out;
 * backward passes overwrite din. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include "sp/base.h"
#include "ref_priv.h"
#include "../pool_window_priv.h"

static size_t plane_in(const sp_pool_shape *s, int n, int c)
{
    return ((size_t)n * s->c + c) * s->h * s->w;
}

static size_t plane_out(const sp_pool_shape *s, int n, int c)
{
    return ((size_t)n * s->c + c) * s->oh * s->ow;
}

size_t sp_ref_maxpool_ws_bytes(sp_backend *b, const sp_pool_shape *s)
{
    (void)b;
    return sp_pool_argmax_bytes(s);
}

/* Offset of the maximum of window (oy, ox) inside a plane, or -1 if the
 * window holds padding only (impossible when pad <= kernel / 2). */
static int32_t window_argmax(const float *plane, const sp_pool_shape *s, int oy, int ox)
{
    sp_pool_span r = sp_pool_rows(s, SP_POOL_MAX, oy), q = sp_pool_cols(s, SP_POOL_MAX, ox);
    int32_t best = -1;
    float max = -INFINITY;
    for (int y = r.lo; y < r.hi; y++)
        for (int x = q.lo; x < q.hi; x++) {
            float v = plane[y * s->w + x];
            if (best < 0 || v > max || isnan(v)) {
                best = y * s->w + x;
                max = v;
                if (isnan(v))
                    return best;
            }
        }
    return best;
}

void sp_ref_maxpool_fwd(sp_backend *b, float *out /* N,C,OH,OW */, void *ws /* or NULL */,
                        const float *in /* N,C,H,W */, const sp_pool_shape *s)
{
    int32_t *arg = ws;
    (void)b;
    for (int n = 0; n < s->n; n++)
        for (int c = 0; c < s->c; c++) {
            const float *plane = in + plane_in(s, n, c);
            size_t o = plane_out(s, n, c);
            for (int oy = 0; oy < s->oh; oy++)
                for (int ox = 0; ox < s->ow; ox++, o++) {
                    int32_t a = window_argmax(plane, s, oy, ox);
                    out[o] = a < 0 ? -INFINITY : plane[a];
                    if (arg)
                        arg[o] = a;
                }
        }
}

/* Without a workspace the argmax is found again from in.  Overlapping
 * windows may route several gradients to one input: they are summed in a
 * double plane and rounded once. */
void sp_ref_maxpool_bwd(sp_backend *b, float *din /* N,C,H,W; = */,
                        const float *dout /* N,C,OH,OW */, const void *ws /* or NULL */,
                        const float *in /* N,C,H,W */, const sp_pool_shape *s)
{
    const int32_t *arg = ws;
    size_t hw = (size_t)s->h * s->w;
    double *acc = sp_xmalloc(hw * sizeof(double));
    (void)b;
    for (int n = 0; n < s->n; n++)
        for (int c = 0; c < s->c; c++) {
            size_t o = plane_out(s, n, c);
            for (size_t i = 0; i < hw; i++)
                acc[i] = 0.0;
            for (int oy = 0; oy < s->oh; oy++)
                for (int ox = 0; ox < s->ow; ox++, o++) {
                    int32_t a = arg ? arg[o] : window_argmax(in + plane_in(s, n, c), s, oy, ox);
                    if (a >= 0)
                        acc[a] += dout[o];
                }
            float *dplane = din + plane_in(s, n, c);
            for (size_t i = 0; i < hw; i++)
                dplane[i] = (float)acc[i];
        }
    free(acc);
}

/* Average and adaptive average pooling differ only in their windows. */
static void mean_pool_fwd(float *out, const float *in, const sp_pool_shape *s, sp_pool_kind kind)
{
    for (int n = 0; n < s->n; n++)
        for (int c = 0; c < s->c; c++) {
            const float *plane = in + plane_in(s, n, c);
            size_t o = plane_out(s, n, c);
            for (int oy = 0; oy < s->oh; oy++) {
                sp_pool_span r = sp_pool_rows(s, kind, oy);
                for (int ox = 0; ox < s->ow; ox++, o++) {
                    sp_pool_span q = sp_pool_cols(s, kind, ox);
                    double sum = 0.0;
                    for (int y = r.lo; y < r.hi; y++)
                        for (int x = q.lo; x < q.hi; x++)
                            sum += plane[y * s->w + x];
                    out[o] = (float)(sum / ((double)r.len * q.len));
                }
            }
        }
}

/* Gather form: input (y, x) collects dout / divisor from every window
 * covering it. */
static void mean_pool_bwd(float *din, const float *dout, const sp_pool_shape *s,
                          sp_pool_kind kind)
{
    for (int n = 0; n < s->n; n++)
        for (int c = 0; c < s->c; c++) {
            float *dplane = din + plane_in(s, n, c);
            const float *gplane = dout + plane_out(s, n, c);
            for (int y = 0; y < s->h; y++)
                for (int x = 0; x < s->w; x++) {
                    double sum = 0.0;
                    for (int oy = 0; oy < s->oh; oy++) {
                        sp_pool_span r = sp_pool_rows(s, kind, oy);
                        if (y < r.lo || y >= r.hi)
                            continue;
                        for (int ox = 0; ox < s->ow; ox++) {
                            sp_pool_span q = sp_pool_cols(s, kind, ox);
                            if (x < q.lo || x >= q.hi)
                                continue;
                            sum += gplane[oy * s->ow + ox] / ((double)r.len * q.len);
                        }
                    }
                    dplane[y * s->w + x] = (float)sum;
                }
        }
}

void sp_ref_avgpool_fwd(sp_backend *b, float *out /* N,C,OH,OW */, const float *in /* N,C,H,W */,
                        const sp_pool_shape *s)
{
    (void)b;
    mean_pool_fwd(out, in, s, SP_POOL_AVG);
}

void sp_ref_avgpool_bwd(sp_backend *b, float *din /* N,C,H,W; = */,
                        const float *dout /* N,C,OH,OW */, const sp_pool_shape *s)
{
    (void)b;
    mean_pool_bwd(din, dout, s, SP_POOL_AVG);
}

void sp_ref_adaptive_avgpool_fwd(sp_backend *b, float *out /* N,C,OH,OW */,
                                 const float *in /* N,C,H,W */, const sp_pool_shape *s)
{
    (void)b;
    mean_pool_fwd(out, in, s, SP_POOL_ADAPTIVE);
}

void sp_ref_adaptive_avgpool_bwd(sp_backend *b, float *din /* N,C,H,W; = */,
                                 const float *dout /* N,C,OH,OW */, const sp_pool_shape *s)
{
    (void)b;
    mean_pool_bwd(din, dout, s, SP_POOL_ADAPTIVE);
}
