/* ref_bn.c: batch normalisation over (N, C, HW), as PyTorch's BatchNorm2d.
 *
 *   bn_fwd_train: normalises with the batch mean and biased variance, adds
 *                 res and applies act (as add_fwd and act_fwd), writes
 *                 out, save_mean, save_invstd = 1/sqrt(var + eps) (overwrites)
 *                 and updates running_mean / running_var in place with
 *                 running = (1 - momentum) * running + momentum * batch, the
 *                 variance term unbiased (times cnt / (cnt - 1)).
 *   bn_fwd_infer: normalises with the given mean / var (overwrites out).
 *   bn_fwd_saved: normalises with the saved statistics, as bn_fwd_train
 *                 did (the same loop, ref_bn_channel), then the activation.
 *   bn_act_bwd:   the activation's backward pass on that output, each
 *                 value recomputed (ref_bn_value).
 *   bn_bwd:       din = (overwrites); dgamma, dbeta += (accumulate).
 *
 * gamma / beta may be NULL (affine off: 1 and 0); so may dgamma / dbeta. */
#include <math.h>
#include "ref_priv.h"
#include "../bn_stats_priv.h"

/* The n * hw values of channel c of sample i start at x + at(i, c). */
static size_t at(int i, int ch, int c, int hw)
{
    return ((size_t)i * c + ch) * hw;
}

/* Value o of channel ch, in double from the saved (float) statistics. */
static float ref_bn_value(const float *in, const float *gamma, const float *beta,
                          const float *save_mean, const float *save_invstd, int ch, size_t o)
{
    double g = gamma ? gamma[ch] : 1.0, bt = beta ? beta[ch] : 0.0;
    return (float)((in[o] - (double)save_mean[ch]) * save_invstd[ch] * g + bt);
}

/* Channel ch of out, plus res (NULL: none) as add_fwd adds it, then act
 * (-1: none) as act_fwd applies it. */
static void ref_bn_channel(float *out, const float *in, const float *res, const float *gamma,
                           const float *beta, const float *save_mean, const float *save_invstd,
                           int ch, int n, int c, int hw, int act)
{
    for (int i = 0; i < n; i++)
        for (int p = 0; p < hw; p++) {
            size_t o = at(i, ch, c, hw) + p;
            float v = ref_bn_value(in, gamma, beta, save_mean, save_invstd, ch, o);
            if (res)
                v = v + res[o];
            if (act >= 0 && v < 0.0f)
                v = 0.0f;
            if (act == SP_ACT_RELU6 && v > 6.0f)
                v = 6.0f;
            out[o] = v;
        }
}

void sp_ref_bn_fwd_train(sp_backend *b, float *out /* N,C,HW */, float *save_mean /* C */,
                         float *save_invstd /* C */, float *running_mean /* C */,
                         float *running_var /* C */, const float *in /* N,C,HW */,
                         const float *res /* N,C,HW */, const float *gamma /* C */,
                         const float *beta /* C */, int n, int c, int hw, float eps,
                         float momentum, int act)
{
    double cnt = (double)n * hw;
    (void)b;
    for (int ch = 0; ch < c; ch++) {
        double sum = 0.0, sq = 0.0;
        for (int i = 0; i < n; i++)
            for (int p = 0; p < hw; p++)
                sum += in[at(i, ch, c, hw) + p];
        double mean = sum / cnt;
        for (int i = 0; i < n; i++)
            for (int p = 0; p < hw; p++) {
                double d = in[at(i, ch, c, hw) + p] - mean;
                sq += d * d;
            }
        sp_bn_save_stats(save_mean, save_invstd, running_mean, running_var, ch, mean, sq, cnt,
                         eps, momentum);
        ref_bn_channel(out, in, res, gamma, beta, save_mean, save_invstd, ch, n, c, hw, act);
    }
}

void sp_ref_bn_fwd_saved(sp_backend *b, float *out /* N,C,HW */, const float *in /* N,C,HW */,
                         const float *gamma /* C */, const float *beta /* C */,
                         const float *save_mean /* C */, const float *save_invstd /* C */,
                         int n, int c, int hw, int act)
{
    (void)b;
    for (int ch = 0; ch < c; ch++)
        ref_bn_channel(out, in, NULL, gamma, beta, save_mean, save_invstd, ch, n, c, hw, act);
}

void sp_ref_bn_act_bwd(sp_backend *b, sp_act act, float *din /* N,C,HW; = */,
                       const float *dout /* N,C,HW */, const float *in /* N,C,HW */,
                       const float *gamma /* C */, const float *beta /* C */,
                       const float *save_mean /* C */, const float *save_invstd /* C */,
                       int n, int c, int hw)
{
    (void)b;
    for (int ch = 0; ch < c; ch++)
        for (int i = 0; i < n; i++)
            for (int p = 0; p < hw; p++) {
                size_t o = at(i, ch, c, hw) + p;
                float v = ref_bn_value(in, gamma, beta, save_mean, save_invstd, ch, o);
                int pass = v > 0.0f && (act != SP_ACT_RELU6 || v < 6.0f);
                din[o] = pass ? dout[o] : 0.0f;
            }
}

void sp_ref_bn_fwd_infer(sp_backend *b, float *out /* N,C,HW */, const float *in /* N,C,HW */,
                         const float *gamma /* C */, const float *beta /* C */,
                         const float *mean /* C */, const float *var /* C */,
                         int n, int c, int hw, float eps)
{
    (void)b;
    for (int ch = 0; ch < c; ch++) {
        double invstd = sp_bn_invstd(var[ch], eps);
        double g = gamma ? gamma[ch] : 1.0, bt = beta ? beta[ch] : 0.0;
        for (int i = 0; i < n; i++)
            for (int p = 0; p < hw; p++) {
                size_t o = at(i, ch, c, hw) + p;
                out[o] = (float)((in[o] - (double)mean[ch]) * invstd * g + bt);
            }
    }
}

/* With xhat = (x - mean) * invstd and dxhat = dout * gamma:
 * din = invstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)). */
void sp_ref_bn_bwd(sp_backend *b, float *din /* N,C,HW; = */, float *dgamma /* C; += */,
                   float *dbeta /* C; += */, const float *dout /* N,C,HW */,
                   const float *in /* N,C,HW */, const float *gamma /* C */,
                   const float *save_mean /* C */, const float *save_invstd /* C */,
                   int n, int c, int hw)
{
    double cnt = (double)n * hw;
    (void)b;
    for (int ch = 0; ch < c; ch++) {
        double mean = save_mean[ch], invstd = save_invstd[ch];
        double g = gamma ? gamma[ch] : 1.0;
        double sum_dy = 0.0, sum_dy_xhat = 0.0;
        for (int i = 0; i < n; i++)
            for (int p = 0; p < hw; p++) {
                size_t o = at(i, ch, c, hw) + p;
                sum_dy += dout[o];
                sum_dy_xhat += dout[o] * ((in[o] - mean) * invstd);
            }
        for (int i = 0; i < n; i++)
            for (int p = 0; p < hw; p++) {
                size_t o = at(i, ch, c, hw) + p;
                double xhat = (in[o] - mean) * invstd;
                din[o] = (float)(g * invstd *
                                 (dout[o] - sum_dy / cnt - xhat * sum_dy_xhat / cnt));
            }
        sp_bn_add_param_grads(dgamma, dbeta, ch, sum_dy_xhat, sum_dy);
    }
}
