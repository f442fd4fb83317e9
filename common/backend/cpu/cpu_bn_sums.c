/* cpu_bn_sums.c: batch norm split at its per-channel sums, for training
 * across processes (sp/backend.h, bn_sums; sp/dist.h).  Sums are formed in
 * double; the variance is sum x^2 / cnt - mean^2, one pass, so that one
 * addition across the processes gives both statistics.  One OpenMP thread
 * per group of channels, as cpu_bn.c. */
#include <math.h>
#include "cpu_priv.h"
#include "../bn_stats_priv.h"

void sp_cpu_bn_sums(sp_backend *b, double *sums /* 2,C; = */, const float *in /* N,C,HW */,
                    int n, int c, int hw)
{
    size_t chw = (size_t)c * hw;
    (void)b;
    #pragma omp parallel for if ((double)n * hw * c >= SP_CPU_PAR_MIN) schedule(static)
    for (int ch = 0; ch < c; ch++) {
        double s = 0.0, sq = 0.0;
        for (int i = 0; i < n; i++) {
            const float *x = in + i * chw + (size_t)ch * hw;
            #pragma omp simd reduction(+ : s, sq)
            for (int p = 0; p < hw; p++) {
                s += x[p];
                sq += (double)x[p] * x[p];
            }
        }
        sums[ch] = s;
        sums[c + ch] = sq;
    }
}

void sp_cpu_bn_fwd_sums(sp_backend *b, float *out /* N,C,HW */, float *save_mean /* C */,
                        float *save_invstd /* C */, float *running_mean, float *running_var,
                        const float *in /* N,C,HW */, const float *gamma, const float *beta,
                        const double *sums /* 2,C */, double count, int n, int c, int hw,
                        float eps, float momentum)
{
    (void)b;
    #pragma omp parallel for if ((double)n * hw * c >= SP_CPU_PAR_MIN) schedule(static)
    for (int ch = 0; ch < c; ch++) {
        sp_bn_save_sums_stats(save_mean, save_invstd, running_mean, running_var, ch, sums, c,
                              count, eps, momentum);
        sp_cpu_bn_channel(out, in, NULL, gamma, beta, save_mean, save_invstd, ch, n, c, hw, -1);
    }
}

void sp_cpu_bn_bwd_sums(sp_backend *b, double *sums /* 2,C; = */, const float *dout,
                        const float *in, const float *save_mean, const float *save_invstd,
                        int n, int c, int hw)
{
    size_t chw = (size_t)c * hw;
    (void)b;
    #pragma omp parallel for if ((double)n * hw * c >= SP_CPU_PAR_MIN) schedule(static)
    for (int ch = 0; ch < c; ch++) {
        double s = 0.0, sx = 0.0, mean = save_mean[ch], invstd = save_invstd[ch];
        for (int i = 0; i < n; i++) {
            const float *x = in + i * chw + (size_t)ch * hw, *dy = dout + i * chw + (size_t)ch * hw;
            #pragma omp simd reduction(+ : s, sx)
            for (int p = 0; p < hw; p++) {
                s += dy[p];
                sx += dy[p] * ((x[p] - mean) * invstd);
            }
        }
        sums[ch] = s;
        sums[c + ch] = sx;
    }
}

void sp_cpu_bn_bwd_from_sums(sp_backend *b, float *din /* N,C,HW; = */, float *dgamma /* += */,
                             float *dbeta /* += */, const float *dout, const float *in,
                             const float *gamma, const float *save_mean,
                             const float *save_invstd, const double *local,
                             const double *global, double count, int n, int c, int hw)
{
    size_t chw = (size_t)c * hw;
    (void)b;
    #pragma omp parallel for if ((double)n * hw * c >= SP_CPU_PAR_MIN) schedule(static)
    for (int ch = 0; ch < c; ch++) {
        double mean = save_mean[ch], invstd = save_invstd[ch], g = gamma ? gamma[ch] : 1.0;
        double mdy = global[ch] / count, mdyx = global[c + ch] / count;
        for (int i = 0; i < n; i++) {
            const float *x = in + i * chw + (size_t)ch * hw, *dy = dout + i * chw + (size_t)ch * hw;
            float *dx = din + i * chw + (size_t)ch * hw;
            for (int p = 0; p < hw; p++) {
                double xhat = (x[p] - mean) * invstd;
                dx[p] = (float)(g * invstd * (dy[p] - mdy - xhat * mdyx));
            }
        }
        sp_bn_add_param_grads(dgamma, dbeta, ch, local[c + ch], local[ch]);
    }
}
