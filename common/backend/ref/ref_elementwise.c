/* ref_elementwise.c: activations, add, channel mask, option-A shortcut and
 * dropout.  Forward passes overwrite out; backward passes overwrite din and
 * accumulate into dm.
 *
 *   act:      relu = max(x, 0); relu6 = min(max(x, 0), 6).  The gradient
 *             passes where 0 < x (relu) or 0 < x < 6 (relu6), as PyTorch's
 *             threshold / hardtanh backward, so it is 0 at the kinks.
 *   shortcut: out[:, lo:lo+C] = in[:, :, ::sh, ::sw], OH = ceil(H / sh),
 *             the lo leading and hi trailing channels zero.
 *   dropout:  keep[i] = 0 with probability p, else 1 / (1 - p).  The draws
 *             come from one sp_rng stream seeded by sp_rng_init(seed,
 *             counter), one sp_rng_uniform() per element in index order,
 *             element i dropped when the draw is < p; so (seed, counter)
 *             fixes the mask on every backend that follows this rule. */
#include "ref_priv.h"
#include "../rules_priv.h"

void sp_ref_act_fwd(sp_backend *b, sp_act act, float *out /* n */, const float *in /* n */,
                    size_t n)
{
    (void)b;
    for (size_t i = 0; i < n; i++) {
        float x = in[i];
        float y = x < 0.0f ? 0.0f : x;   /* NaN passes through, as in PyTorch */
        if (act == SP_ACT_RELU6 && y > 6.0f)
            y = 6.0f;
        out[i] = y;
    }
}

void sp_ref_act_bwd(sp_backend *b, sp_act act, float *din /* n; = */, const float *dout /* n */,
                    const float *in /* n */, size_t n)
{
    (void)b;
    for (size_t i = 0; i < n; i++) {
        int pass = in[i] > 0.0f && (act != SP_ACT_RELU6 || in[i] < 6.0f);
        din[i] = pass ? dout[i] : 0.0f;
    }
}

void sp_ref_add_fwd(sp_backend *b, float *out /* n */, const float *x /* n */,
                    const float *y /* n */, size_t n)
{
    (void)b;
    for (size_t i = 0; i < n; i++)
        out[i] = x[i] + y[i];
}

void sp_ref_mask_fwd(sp_backend *b, float *out /* N,C,HW */, const float *in /* N,C,HW */,
                     const float *m /* C */, int n, int c, int hw)
{
    (void)b;
    for (int i = 0; i < n; i++)
        for (int ch = 0; ch < c; ch++) {
            size_t o = ((size_t)i * c + ch) * hw;
            for (int p = 0; p < hw; p++)
                out[o + p] = in[o + p] * m[ch];
        }
}

void sp_ref_mask_bwd(sp_backend *b, float *din /* N,C,HW; = */, float *dm /* C or NULL; += */,
                     const float *dout /* N,C,HW */, const float *in /* N,C,HW */,
                     const float *m /* C */, int n, int c, int hw)
{
    (void)b;
    for (int ch = 0; ch < c; ch++) {
        double sum = 0.0;
        for (int i = 0; i < n; i++) {
            size_t o = ((size_t)i * c + ch) * hw;
            for (int p = 0; p < hw; p++) {
                din[o + p] = dout[o + p] * m[ch];
                sum += (double)dout[o + p] * in[o + p];
            }
        }
        if (dm)
            dm[ch] = (float)(dm[ch] + sum);
    }
}

void sp_ref_pad_shortcut_fwd(sp_backend *b, float *out /* N,LO+C+HI,OH,OW */,
                             const float *in /* N,C,H,W */, int n, int c, int h, int w,
                             int sh, int sw, int lo, int hi)
{
    int oh = (h + sh - 1) / sh, ow = (w + sw - 1) / sw, oc = lo + c + hi;
    (void)b;
    for (int i = 0; i < n; i++)
        for (int k = 0; k < oc; k++) {
            float *plane = out + ((size_t)i * oc + k) * oh * ow;
            int ch = k - lo;
            for (int y = 0; y < oh; y++)
                for (int x = 0; x < ow; x++)
                    plane[y * ow + x] = ch < 0 || ch >= c ? 0.0f :
                        in[(((size_t)i * c + ch) * h + (size_t)y * sh) * w + (size_t)x * sw];
        }
}

void sp_ref_pad_shortcut_bwd(sp_backend *b, float *din /* N,C,H,W; = */,
                             const float *dout /* N,LO+C+HI,OH,OW */, int n, int c, int h, int w,
                             int sh, int sw, int lo, int hi)
{
    int oh = (h + sh - 1) / sh, ow = (w + sw - 1) / sw, oc = lo + c + hi;
    (void)b;
    for (int i = 0; i < n; i++)
        for (int ch = 0; ch < c; ch++) {
            float *plane = din + ((size_t)i * c + ch) * h * w;
            const float *g = dout + ((size_t)i * oc + lo + ch) * oh * ow;
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                    plane[y * w + x] = y % sh || x % sw ? 0.0f : g[(y / sh) * ow + x / sw];
        }
}

void sp_ref_dropout_fwd(sp_backend *b, float *out /* n */, float *keep /* n */,
                        const float *in /* n */, size_t n, float p, uint64_t seed,
                        uint64_t counter, size_t first)
{
    (void)b;
    sp_dropout_draw(keep, n, p, seed, counter, first);
    for (size_t i = 0; i < n; i++)
        out[i] = in[i] * keep[i];
}

void sp_ref_dropout_bwd(sp_backend *b, float *din /* n; = */, const float *dout /* n */,
                        const float *keep /* n */, size_t n)
{
    (void)b;
    for (size_t i = 0; i < n; i++)
        din[i] = dout[i] * keep[i];
}
