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
 * Forward passes overwrite out; backward passes overwrite din. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include "sp/base.h"
#include "ref.h"

static size_t plane_in(const sp_pool_shape *s, int n, int c)
{
    return ((size_t)n * s->c + c) * s->h * s->w;
}

static size_t plane_out(const sp_pool_shape *s, int n, int c)
{
    return ((size_t)n * s->c + c) * s->oh * s->ow;
}

static int imin(int a, int b) { return a < b ? a : b; }
static int imax(int a, int b) { return a > b ? a : b; }

size_t sp_ref_maxpool_ws_bytes(sp_backend *b, const sp_pool_shape *s)
{
    (void)b;
    return (size_t)s->n * s->c * s->oh * s->ow * sizeof(int32_t);
}

/* Offset of the maximum of window (oy, ox) inside a plane, or -1 if the
 * window holds padding only (impossible when pad <= kernel / 2). */
static int32_t window_argmax(const float *plane, const sp_pool_shape *s, int oy, int ox)
{
    int y0 = oy * s->sh - s->ph, x0 = ox * s->sw - s->pw;
    int32_t best = -1;
    float max = -INFINITY;
    for (int y = imax(y0, 0); y < imin(y0 + s->kh, s->h); y++)
        for (int x = imax(x0, 0); x < imin(x0 + s->kw, s->w); x++) {
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

void sp_ref_avgpool_fwd(sp_backend *b, float *out /* N,C,OH,OW */, const float *in /* N,C,H,W */,
                        const sp_pool_shape *s)
{
    (void)b;
    for (int n = 0; n < s->n; n++)
        for (int c = 0; c < s->c; c++) {
            const float *plane = in + plane_in(s, n, c);
            size_t o = plane_out(s, n, c);
            for (int oy = 0; oy < s->oh; oy++)
                for (int ox = 0; ox < s->ow; ox++, o++) {
                    int y0 = oy * s->sh - s->ph, x0 = ox * s->sw - s->pw;
                    int y1 = imin(y0 + s->kh, s->h + s->ph), x1 = imin(x0 + s->kw, s->w + s->pw);
                    double div = (double)(y1 - y0) * (x1 - x0), sum = 0.0;
                    for (int y = imax(y0, 0); y < imin(y1, s->h); y++)
                        for (int x = imax(x0, 0); x < imin(x1, s->w); x++)
                            sum += plane[y * s->w + x];
                    out[o] = (float)(sum / div);
                }
        }
}

/* Gather form: input (y, x) collects dout / divisor from every window
 * covering it. */
void sp_ref_avgpool_bwd(sp_backend *b, float *din /* N,C,H,W; = */,
                        const float *dout /* N,C,OH,OW */, const sp_pool_shape *s)
{
    (void)b;
    for (int n = 0; n < s->n; n++)
        for (int c = 0; c < s->c; c++) {
            float *dplane = din + plane_in(s, n, c);
            const float *gplane = dout + plane_out(s, n, c);
            for (int y = 0; y < s->h; y++)
                for (int x = 0; x < s->w; x++) {
                    double sum = 0.0;
                    for (int oy = 0; oy < s->oh; oy++) {
                        int y0 = oy * s->sh - s->ph, y1 = imin(y0 + s->kh, s->h + s->ph);
                        if (y < y0 || y >= y1)
                            continue;
                        for (int ox = 0; ox < s->ow; ox++) {
                            int x0 = ox * s->sw - s->pw, x1 = imin(x0 + s->kw, s->w + s->pw);
                            if (x < x0 || x >= x1)
                                continue;
                            sum += gplane[oy * s->ow + ox] / ((double)(y1 - y0) * (x1 - x0));
                        }
                    }
                    dplane[y * s->w + x] = (float)sum;
                }
        }
}

static int adaptive_start(int i, int in, int out) { return (int)((int64_t)i * in / out); }
static int adaptive_end(int i, int in, int out)
{
    return (int)(((int64_t)(i + 1) * in + out - 1) / out);
}

void sp_ref_adaptive_avgpool_fwd(sp_backend *b, float *out /* N,C,OH,OW */,
                                 const float *in /* N,C,H,W */, const sp_pool_shape *s)
{
    (void)b;
    for (int n = 0; n < s->n; n++)
        for (int c = 0; c < s->c; c++) {
            const float *plane = in + plane_in(s, n, c);
            size_t o = plane_out(s, n, c);
            for (int oy = 0; oy < s->oh; oy++)
                for (int ox = 0; ox < s->ow; ox++, o++) {
                    int y0 = adaptive_start(oy, s->h, s->oh), y1 = adaptive_end(oy, s->h, s->oh);
                    int x0 = adaptive_start(ox, s->w, s->ow), x1 = adaptive_end(ox, s->w, s->ow);
                    double sum = 0.0;
                    for (int y = y0; y < y1; y++)
                        for (int x = x0; x < x1; x++)
                            sum += plane[y * s->w + x];
                    out[o] = (float)(sum / ((double)(y1 - y0) * (x1 - x0)));
                }
        }
}

void sp_ref_adaptive_avgpool_bwd(sp_backend *b, float *din /* N,C,H,W; = */,
                                 const float *dout /* N,C,OH,OW */, const sp_pool_shape *s)
{
    (void)b;
    for (int n = 0; n < s->n; n++)
        for (int c = 0; c < s->c; c++) {
            float *dplane = din + plane_in(s, n, c);
            const float *gplane = dout + plane_out(s, n, c);
            for (int y = 0; y < s->h; y++)
                for (int x = 0; x < s->w; x++) {
                    double sum = 0.0;
                    for (int oy = 0; oy < s->oh; oy++) {
                        int y0 = adaptive_start(oy, s->h, s->oh), y1 = adaptive_end(oy, s->h, s->oh);
                        if (y < y0 || y >= y1)
                            continue;
                        for (int ox = 0; ox < s->ow; ox++) {
                            int x0 = adaptive_start(ox, s->w, s->ow);
                            int x1 = adaptive_end(ox, s->w, s->ow);
                            if (x < x0 || x >= x1)
                                continue;
                            sum += gplane[oy * s->ow + ox] / ((double)(y1 - y0) * (x1 - x0));
                        }
                    }
                    dplane[y * s->w + x] = (float)sum;
                }
        }
}
