/* cpu_bn.c: batch normalisation over (N, C, HW) as PyTorch's BatchNorm2d,
 * one OpenMP thread per group of channels on the NCHW layout.
 *
 *   bn_fwd_train: batch mean and biased variance over one read of the
 *                 input: each (sample, channel) row's sum, then its
 *                 deviations from its own mean while it is in cache, merged
 *                 in double (sp_bn_merge; so a large mean does not cancel
 *                 the variance), then out with res
 *                 added and act applied in the same pass; out, save_mean and
 *                 save_invstd overwritten; running_mean / running_var
 *                 updated as (1 - m) * running + m * batch with the
 *                 unbiased variance.
 *   bn_fwd_infer: normalises with the given statistics (overwrites out).
 *   bn_fwd_saved: normalises with the statistics bn_fwd_train or
 *                 bn_fwd_sums saved, through the same loop
 *                 (sp_cpu_bn_channel): their output again, bit for bit,
 *                 with the activation applied in the same pass.
 *   bn_act_bwd:   the activation's backward pass on that output, each
 *                 value recomputed where it is tested (sp_cpu_bn_value).
 *   bn_bwd:       din overwritten; dgamma, dbeta accumulated (+=).
 *
 * Sums run in float along one HW row (rows of fewer than 4096 values in
 * groups of up to that many) and in double across rows. gamma,
 * beta, the running statistics, dgamma and dbeta may be NULL. */
#include <math.h>
#include "cpu_priv.h"
#include "../bn_stats_priv.h"

void sp_cpu_bn_fwd_train(sp_backend *b, float *out /* N,C,HW */, float *save_mean /* C */,
                         float *save_invstd /* C */, float *running_mean /* C */,
                         float *running_var /* C */, const float *in /* N,C,HW */,
                         const float *res /* N,C,HW */, const float *gamma /* C */,
                         const float *beta /* C */, int n, int c, int hw, float eps,
                         float momentum, int act)
{
    double cnt = (double)n * hw;
    size_t chw = (size_t)c * hw;
    int group = hw < 4096 ? 4096 / hw : 1;   /* rows summed together, in cache */
    (void)b;
    #pragma omp parallel for if (cnt * c >= SP_CPU_PAR_MIN) schedule(static)
    for (int ch = 0; ch < c; ch++) {
        const float *x0 = in + (size_t)ch * hw;
        double mean = 0.0, sq = 0.0;
        for (int i = 0; i < n; i += group) {
            int rows = n - i < group ? n - i : group;
            float part = 0.0f, sd = 0.0f, sd2 = 0.0f;
            for (int r = 0; r < rows; r++) {
                const float *x = x0 + (size_t)(i + r) * chw;
                #pragma omp simd reduction(+ : part)
                for (int p = 0; p < hw; p++)
                    part += x[p];
            }
            float fm = part / (float)(rows * hw);
            for (int r = 0; r < rows; r++) {
                const float *x = x0 + (size_t)(i + r) * chw;
                #pragma omp simd reduction(+ : sd, sd2)
                for (int p = 0; p < hw; p++) {
                    float d = x[p] - fm;
                    sd += d;
                    sd2 += d * d;
                }
            }
            double w[3];
            sp_bn_merge_weights(w, (double)i * hw, (double)rows * hw);
            sp_bn_merge(&mean, &sq, w, fm, sd, sd2);
        }
        sp_bn_save_stats(save_mean, save_invstd, running_mean, running_var, ch, mean, sq, cnt,
                         eps, momentum);
        sp_cpu_bn_channel(out, in, res, gamma, beta, save_mean, save_invstd, ch, n, c, hw, act);
    }
}

/* Channel ch of out from in with the saved statistics, plus res (NULL:
 * none) as add_fwd adds it, then act (-1: none) as act_fwd applies it. */
void sp_cpu_bn_channel(float *out, const float *in, const float *res, const float *gamma,
                       const float *beta, const float *save_mean, const float *save_invstd,
                       int ch, int n, int c, int hw, int act)
{
    size_t chw = (size_t)c * hw;
    float scale = sp_bn_scale(gamma, save_invstd, ch), m = save_mean[ch];
    float bt = beta ? beta[ch] : 0.0f, lo = act < 0 ? -INFINITY : 0.0f;
    float hi = act == SP_ACT_RELU6 ? 6.0f : INFINITY;
    for (int i = 0; i < n; i++) {
        size_t o = (size_t)ch * hw + i * chw;
        const float *x = in + o, *r = res ? res + o : NULL;
        float *y = out + o;
        if (r) {   /* apart: adding 0 would turn -0 into +0 */
            #pragma omp simd
            for (int p = 0; p < hw; p++) {
                float v = sp_cpu_bn_value(x[p], m, scale, bt) + r[p];
                v = v < lo ? lo : v;
                y[p] = v > hi ? hi : v;
            }
            continue;
        }
        #pragma omp simd
        for (int p = 0; p < hw; p++) {
            float v = sp_cpu_bn_value(x[p], m, scale, bt);
            v = v < lo ? lo : v;
            y[p] = v > hi ? hi : v;
        }
    }
}

void sp_cpu_bn_fwd_saved(sp_backend *b, float *out /* N,C,HW */, const float *in /* N,C,HW */,
                         const float *gamma /* C */, const float *beta /* C */,
                         const float *save_mean /* C */, const float *save_invstd /* C */,
                         int n, int c, int hw, int act)
{
    (void)b;
    #pragma omp parallel for if ((double)n * hw * c >= SP_CPU_PAR_MIN) schedule(static)
    for (int ch = 0; ch < c; ch++)
        sp_cpu_bn_channel(out, in, NULL, gamma, beta, save_mean, save_invstd, ch, n, c, hw, act);
}

void sp_cpu_bn_act_bwd(sp_backend *b, sp_act act, float *din /* N,C,HW; = */,
                       const float *dout /* N,C,HW */, const float *in /* N,C,HW */,
                       const float *gamma /* C */, const float *beta /* C */,
                       const float *save_mean /* C */, const float *save_invstd /* C */,
                       int n, int c, int hw)
{
    size_t chw = (size_t)c * hw;
    int six = act == SP_ACT_RELU6;
    (void)b;
    #pragma omp parallel for if ((double)n * hw * c >= SP_CPU_PAR_MIN) schedule(static)
    for (int ch = 0; ch < c; ch++) {
        float scale = sp_bn_scale(gamma, save_invstd, ch), m = save_mean[ch];
        float bt = beta ? beta[ch] : 0.0f;
        for (int i = 0; i < n; i++) {
            size_t o = (size_t)ch * hw + i * chw;
            #pragma omp simd
            for (int p = 0; p < hw; p++) {
                float v = sp_cpu_bn_value(in[o + p], m, scale, bt), d = dout[o + p];
                din[o + p] = v > 0.0f && (!six || v < 6.0f) ? d : 0.0f;
            }
        }
    }
}

void sp_cpu_bn_fwd_infer(sp_backend *b, float *out /* N,C,HW */, const float *in /* N,C,HW */,
                         const float *gamma /* C */, const float *beta /* C */,
                         const float *mean /* C */, const float *var /* C */,
                         int n, int c, int hw, float eps)
{
    size_t planes = (size_t)n * c;
    (void)b;
    #pragma omp parallel for if (planes * hw >= SP_CPU_PAR_MIN) schedule(static)
    for (size_t pl = 0; pl < planes; pl++) {
        float scale, shift;
        sp_bn_infer_affine(&scale, &shift, gamma, beta, mean, var, (int)(pl % c), eps);
        const float *x = in + pl * hw;
        float *y = out + pl * hw;
        #pragma omp simd
        for (int p = 0; p < hw; p++)
            y[p] = x[p] * scale + shift;
    }
}

/* With xhat = (x - mean) * invstd:
 * din = gamma * invstd * (dout - mean(dout) - xhat * mean(dout * xhat)). */
void sp_cpu_bn_bwd(sp_backend *b, float *din /* N,C,HW; = */, float *dgamma /* C; += */,
                   float *dbeta /* C; += */, const float *dout /* N,C,HW */,
                   const float *in /* N,C,HW */, const float *gamma /* C */,
                   const float *save_mean /* C */, const float *save_invstd /* C */,
                   int n, int c, int hw)
{
    double cnt = (double)n * hw;
    size_t chw = (size_t)c * hw;
    (void)b;
    #pragma omp parallel for if (cnt * c >= SP_CPU_PAR_MIN) schedule(static)
    for (int ch = 0; ch < c; ch++) {
        float mean = save_mean[ch], invstd = save_invstd[ch];
        double sum_dy = 0.0, sum_dyx = 0.0;
        size_t off = (size_t)ch * hw;
        for (int i = 0; i < n; i++) {
            const float *x = in + off + i * chw, *dy = dout + off + i * chw;
            float p_dy = 0.0f, p_dyx = 0.0f;
            #pragma omp simd reduction(+ : p_dy, p_dyx)
            for (int p = 0; p < hw; p++) {
                p_dy += dy[p];
                p_dyx += dy[p] * (x[p] - mean);
            }
            sum_dy += p_dy;
            sum_dyx += p_dyx;
        }
        sum_dyx *= invstd;
        double g = gamma ? gamma[ch] : 1.0;
        if (din) {
            float f[3];
            sp_bn_fold(f, g, mean, invstd, sum_dy / cnt, sum_dyx / cnt);
            for (int i = 0; i < n; i++) {
                const float *x = in + off + i * chw, *dy = dout + off + i * chw;
                float *dx = din + off + i * chw;
                #pragma omp simd
                for (int p = 0; p < hw; p++)
                    dx[p] = f[0] * dy[p] - f[1] * x[p] + f[2];
            }
        }
        sp_bn_add_param_grads(dgamma, dbeta, ch, sum_dyx, sum_dy);
    }
}
