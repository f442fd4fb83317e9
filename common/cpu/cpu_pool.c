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
 * Forward passes overwrite out; backward passes overwrite din. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include "sp/base.h"
#include "cpu.h"

static int imin(int a, int b) { return a < b ? a : b; }
static int imax(int a, int b) { return a > b ? a : b; }

size_t sp_cpu_maxpool_ws_bytes(sp_backend *b, const sp_pool_shape *s)
{
    (void)b;
    return (size_t)s->n * s->c * s->oh * s->ow * sizeof(int32_t);
}

/* Offset of the window's maximum in its plane, -1 for a window of padding
 * only.  Branch-free: on random data "is this one larger" is a coin toss
 * that a branch predictor loses half the time.  A NaN is taken when the
 * maximum so far is a number and then never replaced, so the first NaN
 * wins, as in PyTorch. */
static int32_t window_argmax(const float *plane, const sp_pool_shape *s, int oy, int ox)
{
    int y0 = oy * s->sh - s->ph, x0 = ox * s->sw - s->pw;
    int ya = imax(y0, 0), yb = imin(y0 + s->kh, s->h);
    int xa = imax(x0, 0), xb = imin(x0 + s->kw, s->w);
    if (ya >= yb || xa >= xb)
        return -1;
    int32_t best = ya * s->w + xa;
    float max = plane[best];
    for (int y = ya; y < yb; y++)
        for (int x = xa; x < xb; x++) {
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

void sp_cpu_avgpool_fwd(sp_backend *b, float *out /* N,C,OH,OW */, const float *in /* N,C,H,W */,
                        const sp_pool_shape *s)
{
    size_t planes = (size_t)s->n * s->c, hw = (size_t)s->h * s->w, ohw = (size_t)s->oh * s->ow;
    (void)b;
    #pragma omp parallel for if (planes * hw >= SP_CPU_PAR_MIN) schedule(static)
    for (size_t pl = 0; pl < planes; pl++) {
        const float *plane = in + pl * hw;
        size_t o = pl * ohw;
        for (int oy = 0; oy < s->oh; oy++)
            for (int ox = 0; ox < s->ow; ox++, o++) {
                int y0 = oy * s->sh - s->ph, x0 = ox * s->sw - s->pw;
                int y1 = imin(y0 + s->kh, s->h + s->ph), x1 = imin(x0 + s->kw, s->w + s->pw);
                float sum = 0.0f;
                for (int y = imax(y0, 0); y < imin(y1, s->h); y++)
                    for (int x = imax(x0, 0); x < imin(x1, s->w); x++)
                        sum += plane[y * s->w + x];
                out[o] = sum / (float)((y1 - y0) * (x1 - x0));
            }
    }
}

/* Scatter form: each output spreads dout / divisor over its window. */
void sp_cpu_avgpool_bwd(sp_backend *b, float *din /* N,C,H,W; = */,
                        const float *dout /* N,C,OH,OW */, const sp_pool_shape *s)
{
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
                int y0 = oy * s->sh - s->ph, x0 = ox * s->sw - s->pw;
                int y1 = imin(y0 + s->kh, s->h + s->ph), x1 = imin(x0 + s->kw, s->w + s->pw);
                float g = dout[o] / (float)((y1 - y0) * (x1 - x0));
                for (int y = imax(y0, 0); y < imin(y1, s->h); y++)
                    for (int x = imax(x0, 0); x < imin(x1, s->w); x++)
                        dplane[y * s->w + x] += g;
            }
    }
}

static int adaptive_start(int i, int in, int out) { return (int)((int64_t)i * in / out); }
static int adaptive_end(int i, int in, int out)
{
    return (int)(((int64_t)(i + 1) * in + out - 1) / out);
}

void sp_cpu_adaptive_avgpool_fwd(sp_backend *b, float *out /* N,C,OH,OW */,
                                 const float *in /* N,C,H,W */, const sp_pool_shape *s)
{
    size_t planes = (size_t)s->n * s->c, hw = (size_t)s->h * s->w, ohw = (size_t)s->oh * s->ow;
    (void)b;
    #pragma omp parallel for if (planes * hw >= SP_CPU_PAR_MIN) schedule(static)
    for (size_t pl = 0; pl < planes; pl++) {
        const float *plane = in + pl * hw;
        size_t o = pl * ohw;
        for (int oy = 0; oy < s->oh; oy++)
            for (int ox = 0; ox < s->ow; ox++, o++) {
                int y0 = adaptive_start(oy, s->h, s->oh), y1 = adaptive_end(oy, s->h, s->oh);
                int x0 = adaptive_start(ox, s->w, s->ow), x1 = adaptive_end(ox, s->w, s->ow);
                float sum = 0.0f;
                for (int y = y0; y < y1; y++)
                    for (int x = x0; x < x1; x++)
                        sum += plane[y * s->w + x];
                out[o] = sum / (float)((y1 - y0) * (x1 - x0));
            }
    }
}

void sp_cpu_adaptive_avgpool_bwd(sp_backend *b, float *din /* N,C,H,W; = */,
                                 const float *dout /* N,C,OH,OW */, const sp_pool_shape *s)
{
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
                int y0 = adaptive_start(oy, s->h, s->oh), y1 = adaptive_end(oy, s->h, s->oh);
                int x0 = adaptive_start(ox, s->w, s->ow), x1 = adaptive_end(ox, s->w, s->ow);
                float g = dout[o] / (float)((y1 - y0) * (x1 - x0));
                for (int y = y0; y < y1; y++)
                    for (int x = x0; x < x1; x++)
                        dplane[y * s->w + x] += g;
            }
    }
}
