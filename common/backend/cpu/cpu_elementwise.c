/* cpu_elementwise.c: activations, add, channel mask, the option-A shortcut
 * and dropout as OpenMP loops over NCHW float32.
 *
 * relu lets NaN through and its gradient passes where 0 < x (relu6: where
 * 0 < x < 6), as PyTorch.  Dropout draws its keep mask exactly as the
 * reference backend: one sp_rng stream from sp_rng_init(seed, counter), one
 * sp_rng_uniform() per element in index order, dropped when below p; so the
 * same (seed, counter) gives the same mask on every backend.
 *
 * Forward passes overwrite out; activation gradients (din) are overwritten;
 * the mask gradient dm is accumulated (+=), summed per channel in double so
 * that a batch of a million values loses nothing. */
#include <stddef.h>
#include "cpu_priv.h"
#include "../rules_priv.h"

void sp_cpu_act_fwd(sp_backend *b, sp_act act, float *out /* n */, const float *in /* n */,
                    size_t n)
{
    (void)b;
    if (act == SP_ACT_RELU6) {
        #pragma omp parallel for simd if (n >= SP_CPU_PAR_MIN) schedule(static)
        for (size_t i = 0; i < n; i++) {
            float v = in[i] < 0.0f ? 0.0f : in[i];
            out[i] = v > 6.0f ? 6.0f : v;
        }
    } else {
        #pragma omp parallel for simd if (n >= SP_CPU_PAR_MIN) schedule(static)
        for (size_t i = 0; i < n; i++)
            out[i] = in[i] < 0.0f ? 0.0f : in[i];
    }
}

void sp_cpu_act_bwd(sp_backend *b, sp_act act, float *din /* n; = */, const float *dout /* n */,
                    const float *in /* n */, size_t n)
{
    (void)b;
    if (act == SP_ACT_RELU6) {
        #pragma omp parallel for simd if (n >= SP_CPU_PAR_MIN) schedule(static)
        for (size_t i = 0; i < n; i++) {
            float x = in[i], d = dout[i];   /* both loaded: a blend, not a branch */
            din[i] = x > 0.0f && x < 6.0f ? d : 0.0f;
        }
    } else {
        #pragma omp parallel for simd if (n >= SP_CPU_PAR_MIN) schedule(static)
        for (size_t i = 0; i < n; i++) {
            float x = in[i], d = dout[i];
            din[i] = x > 0.0f ? d : 0.0f;
        }
    }
}

void sp_cpu_add_fwd(sp_backend *b, float *out /* n */, const float *x /* n */,
                    const float *y /* n */, size_t n)
{
    (void)b;
    #pragma omp parallel for simd if (n >= SP_CPU_PAR_MIN) schedule(static)
    for (size_t i = 0; i < n; i++)
        out[i] = x[i] + y[i];
}

void sp_cpu_mask_fwd(sp_backend *b, float *out /* N,C,HW */, const float *in /* N,C,HW */,
                     const float *m /* C */, int n, int c, int hw)
{
    (void)b;
    size_t planes = (size_t)n * c;
    #pragma omp parallel for if (planes * hw >= SP_CPU_PAR_MIN) schedule(static)
    for (size_t pl = 0; pl < planes; pl++) {
        float mv = m[pl % c];
        const float *x = in + pl * hw;
        float *y = out + pl * hw;
        #pragma omp simd
        for (int i = 0; i < hw; i++)
            y[i] = x[i] * mv;
    }
}

void sp_cpu_mask_bwd(sp_backend *b, float *din /* N,C,HW; = or NULL */,
                     float *dm /* C; += or NULL */,
                     const float *dout /* N,C,HW */, const float *in /* N,C,HW */,
                     const float *m /* C */, int n, int c, int hw)
{
    (void)b;
    size_t chw = (size_t)c * hw;
    #pragma omp parallel for if ((size_t)n * chw >= SP_CPU_PAR_MIN) schedule(static)
    for (int ch = 0; ch < c; ch++) {
        float mv = m[ch];
        double acc = 0.0;
        for (int i = 0; i < n; i++) {
            size_t o = i * chw + (size_t)ch * hw;
            float part = 0.0f;
            if (din) {
                #pragma omp simd
                for (int p = 0; p < hw; p++)
                    din[o + p] = dout[o + p] * mv;
            }
            #pragma omp simd reduction(+ : part)
            for (int p = 0; p < hw; p++)
                part += dout[o + p] * in[o + p];
            acc += part;
        }
        if (dm)
            dm[ch] = (float)(dm[ch] + acc);
    }
}

void sp_cpu_pad_shortcut_fwd(sp_backend *b, float *out /* N,lo+C+hi,OH,OW */,
                             const float *in /* N,C,H,W */, int n, int c, int h, int w,
                             int sh, int sw, int lo, int hi)
{
    (void)b;
    int oh = (h + sh - 1) / sh, ow = (w + sw - 1) / sw, oc = lo + c + hi;
    size_t planes = (size_t)n * oc, ohw = (size_t)oh * ow;
    #pragma omp parallel for if (planes * ohw >= SP_CPU_PAR_MIN) schedule(static)
    for (size_t pl = 0; pl < planes; pl++) {
        int i = (int)(pl / oc), k = (int)(pl % oc) - lo;
        float *y = out + pl * ohw;
        if (k < 0 || k >= c) {
            for (size_t p = 0; p < ohw; p++)
                y[p] = 0.0f;
            continue;
        }
        const float *x = in + ((size_t)i * c + k) * h * w;
        for (int oy = 0; oy < oh; oy++)
            for (int ox = 0; ox < ow; ox++)
                y[oy * ow + ox] = x[(size_t)oy * sh * w + (size_t)ox * sw];
    }
}

void sp_cpu_pad_shortcut_bwd(sp_backend *b, float *din /* N,C,H,W; = */,
                             const float *dout /* N,lo+C+hi,OH,OW */, int n, int c, int h, int w,
                             int sh, int sw, int lo, int hi)
{
    (void)b;
    int oh = (h + sh - 1) / sh, ow = (w + sw - 1) / sw, oc = lo + c + hi;
    size_t planes = (size_t)n * c, hw = (size_t)h * w;
    #pragma omp parallel for if (planes * hw >= SP_CPU_PAR_MIN) schedule(static)
    for (size_t pl = 0; pl < planes; pl++) {
        int i = (int)(pl / c), k = (int)(pl % c);
        float *x = din + pl * hw;
        const float *y = dout + ((size_t)i * oc + lo + k) * oh * ow;
        for (size_t p = 0; p < hw; p++)
            x[p] = 0.0f;
        for (int oy = 0; oy < oh; oy++)
            for (int ox = 0; ox < ow; ox++)
                x[(size_t)oy * sh * w + (size_t)ox * sw] = y[oy * ow + ox];
    }
}

void sp_cpu_dropout_fwd(sp_backend *b, float *out /* n */, float *keep /* n */,
                        const float *in /* n */, size_t n, float p, uint64_t seed,
                        uint64_t counter, size_t first)
{
    (void)b;
    sp_dropout_draw(keep, n, p, seed, counter, first);
    #pragma omp parallel for simd if (n >= SP_CPU_PAR_MIN) schedule(static)
    for (size_t i = 0; i < n; i++)
        out[i] = in[i] * keep[i];
}

void sp_cpu_dropout_bwd(sp_backend *b, float *din /* n; = */, const float *dout /* n */,
                        const float *keep /* n */, size_t n)
{
    (void)b;
    #pragma omp parallel for simd if (n >= SP_CPU_PAR_MIN) schedule(static)
    for (size_t i = 0; i < n; i++)
        din[i] = dout[i] * keep[i];
}
