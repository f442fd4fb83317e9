/* bn_stats_priv.h: the per-channel arithmetic of BatchNorm2d that the reference
 * and CPU backends share exactly, all in double: the inverse standard
 * deviation, the running-statistics update of a training step and the
 * parameter-gradient accumulation.  How the sums are formed differs
 * between the backends and stays in each. */
#ifndef SP_BN_STATS_H
#define SP_BN_STATS_H

#include <math.h>

static inline double sp_bn_invstd(double var, float eps)
{
    return 1.0 / sqrt(var + eps);
}

/* Evaluation mode's y = x * scale + shift for channel ch, in double and
 * rounded once: the CPU backend's loops in either order share it, so they
 * give the same floats. */
static inline void sp_bn_infer_affine(float *scale, float *shift, const float *gamma,
                                      const float *beta, const float *mean, const float *var,
                                      int ch, float eps)
{
    double invstd = sp_bn_invstd(var[ch], eps);
    double g = gamma ? gamma[ch] : 1.0, bt = beta ? beta[ch] : 0.0;
    *scale = (float)(g * invstd);
    *shift = (float)(bt - mean[ch] * g * invstd);
}

/* One group of len values joining the statistics of the `seen` values
 * before it (Chan, Golub and LeVeque's pairwise update) takes these
 * weights, the same for every channel: 1 / len, len / (seen + len) and
 * seen * len / (seen + len). */
static inline void sp_bn_merge_weights(double w[3], double seen, double len)
{
    w[0] = 1.0 / len;
    w[1] = len / (seen + len);
    w[2] = seen * w[1];
}

/* The group joins: mean and dev, the mean and the sum of squared
 * deviations so far, take in the group's sums of d = x - shift and of
 * d^2.  A shift near the group's mean (its float mean, say) keeps both
 * sums small, so a mean far from zero costs them no precision. */
static inline void sp_bn_merge(double *mean, double *dev, const double w[3], float shift,
                               double sum_d, double sum_d2)
{
    double mk = shift + sum_d * w[0], d = mk - *mean, dk = sum_d2 - sum_d * sum_d * w[0];
    *mean += d * w[1];
    *dev += (dk > 0.0 ? dk : 0.0) + d * d * w[2];
}

/* After a training step over cnt values with mean and sum of squared
 * deviations sq: save_mean, save_invstd (overwritten) and running =
 * (1 - momentum) * running + momentum * batch, the variance unbiased
 * (times cnt / (cnt - 1)).  The running statistics may be NULL. */
static inline void sp_bn_save_stats(float *save_mean, float *save_invstd, float *running_mean,
                                    float *running_var, int ch, double mean, double sq,
                                    double cnt, float eps, float momentum)
{
    double var = sq / cnt;
    save_mean[ch] = (float)mean;
    save_invstd[ch] = (float)sp_bn_invstd(var, eps);
    /* PyTorch refuses a single value per channel; keep the update finite */
    double unbiased = cnt > 1 ? sq / (cnt - 1) : var;
    if (running_mean)
        running_mean[ch] = (float)((1.0 - momentum) * running_mean[ch] + momentum * mean);
    if (running_var)
        running_var[ch] = (float)((1.0 - momentum) * running_var[ch] + momentum * unbiased);
}

/* sp_bn_save_stats from sums = (sum x, sum x^2) of count values, 2 x c
 * (batch norm across processes): the variance sum x^2 / count - mean^2. */
static inline void sp_bn_save_sums_stats(float *save_mean, float *save_invstd,
                                         float *running_mean, float *running_var, int ch,
                                         const double *sums, int c, double count, float eps,
                                         float momentum)
{
    double mean = sums[ch] / count, var = sums[c + ch] / count - mean * mean;
    if (var < 0.0)
        var = 0.0;
    sp_bn_save_stats(save_mean, save_invstd, running_mean, running_var, ch, mean, var * count,
                     count, eps, momentum);
}

/* The scale that normalises channel ch from the statistics a training
 * forward saved: gamma * invstd, in double and rounded once.  Forward and
 * recomputation (bn_fwd_saved) both start from the saved floats, so they
 * give the same output bit for bit. */
static inline float sp_bn_scale(const float *gamma, const float *save_invstd, int ch)
{
    return (float)((gamma ? (double)gamma[ch] : 1.0) * (double)save_invstd[ch]);
}

/* A channel's backward pass folded into din = f[0] * dout - f[1] * x +
 * f[2], from the means of dout and of dout * xhat: with
 * xhat = (x - mean) * invstd,
 * din = gamma * invstd * (dout - mean(dout) - xhat * mean(dout * xhat)). */
static inline void sp_bn_fold(float f[3], double gamma, float mean, float invstd, double mdy,
                              double mdyx)
{
    double k = gamma * invstd;
    f[0] = (float)k;
    f[1] = (float)(k * mdyx * invstd);
    f[2] = (float)(k * (mdyx * invstd * mean - mdy));
}

/* dgamma += sum(dout * xhat), dbeta += sum(dout); either may be NULL. */
static inline void sp_bn_add_param_grads(float *dgamma, float *dbeta, int ch,
                                         double sum_dy_xhat, double sum_dy)
{
    if (dgamma)
        dgamma[ch] = (float)(dgamma[ch] + sum_dy_xhat);
    if (dbeta)
        dbeta[ch] = (float)(dbeta[ch] + sum_dy);
}

#endif
