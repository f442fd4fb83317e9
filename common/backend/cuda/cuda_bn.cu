/* cuda_bn.cu: batch normalisation over (N, C, HW), as the reference backend
 * (ref_bn.c) defines it, with kernels of this backend rather than cuDNN's:
 * a training pass splits at its per-channel sums (in double, as the
 * reference's) so that data-parallel training can add them up across
 * processes between the two halves (sp/backend.h, bn_sums).
 *
 *   forward:  sums = (sum x, sum x^2) per channel; mean, var = sq/cnt -
 *             mean^2 (double; within one process the sums are of x - k,
 *             k the channel's first value, so that a mean far from zero
 *             does not cancel the variance), save_mean, save_invstd,
 *             running statistics (unbiased variance, momentum);
 *             out = (x - mean) * invstd * gamma + beta (overwrites)
 *   backward: sums = (sum dy, sum dy * xhat); din = gamma * invstd * (dy -
 *             sum dy / cnt - xhat * sum dy xhat / cnt) (overwrites);
 *             dgamma += sum dy xhat, dbeta += sum dy (this process's sums) */
#include <math.h>
#include "cuda_priv.h"

#define SUM_THREADS 256

/* Per-channel pair of sums over the n * hw values of channel blockIdx.x,
 * the values split over gridDim.y blocks; mode 0: (x, x^2), mode 1:
 * (dy, dy * (x - mean) * invstd), mode 2: (x - k, (x - k)^2) with k the
 * channel's first value. */
static __global__ void k_sums(double *sums, const float *a, const float *x, const float *mean,
                              const float *invstd, int n, int c, int hw, int mode)
{
    __shared__ double s0[SUM_THREADS], s1[SUM_THREADS];
    int ch = blockIdx.x;
    size_t total = (size_t)n * hw;
    double m = mode == 1 ? mean[ch] : 0.0, is = mode == 1 ? invstd[ch] : 0.0;
    double k = mode == 2 ? (double)a[(size_t)ch * hw] : 0.0, t0 = 0.0, t1 = 0.0;
    for (size_t j = (size_t)blockIdx.y * blockDim.x + threadIdx.x; j < total;
         j += (size_t)gridDim.y * blockDim.x) {
        size_t i = j / hw, p = j % hw, o = (i * c + ch) * hw + p;
        double v = a[o] - k;
        t0 += v;
        t1 += mode == 1 ? v * ((x[o] - m) * is) : v * v;
    }
    s0[threadIdx.x] = t0;
    s1[threadIdx.x] = t1;
    __syncthreads();
    for (int h = blockDim.x / 2; h > 0; h /= 2) {
        if ((int)threadIdx.x < h) {
            s0[threadIdx.x] += s0[threadIdx.x + h];
            s1[threadIdx.x] += s1[threadIdx.x + h];
        }
        __syncthreads();
    }
    if (threadIdx.x == 0) {
        atomicAdd(&sums[ch], s0[0]);
        atomicAdd(&sums[c + ch], s1[0]);
    }
}

static void launch_sums(cuda_ctx *x, double *sums, const float *a, const float *in,
                        const float *mean, const float *invstd, int n, int c, int hw, int mode)
{
    size_t total = (size_t)n * hw;
    unsigned parts = (unsigned)((total + SUM_THREADS * 16 - 1) / (SUM_THREADS * 16));
    if (parts > 64)
        parts = 64;
    if (parts < 1)
        parts = 1;
    CUDA_OK(x, cudaMemsetAsync(sums, 0, 2 * (size_t)c * sizeof(double), x->stream));
    dim3 grid((unsigned)c, parts);
    k_sums<<<grid, SUM_THREADS, 0, x->stream>>>(sums, a, in, mean, invstd, n, c, hw, mode);
    CUDA_LAUNCHED(x);
}

/* From sums about the shift k (shift: the values whose channel's first
 * is k, or NULL for k = 0). */
static __global__ void k_stats(float *save_mean, float *save_invstd, float *rmean, float *rvar,
                               const double *sums, const float *shift, double cnt, int c,
                               int hw, float eps, float momentum)
{
    int ch = blockIdx.x * blockDim.x + threadIdx.x;
    if (ch >= c)
        return;
    double md = sums[ch] / cnt, var = sums[c + ch] / cnt - md * md;
    double mean = md + (shift ? (double)shift[(size_t)ch * hw] : 0.0);
    if (var < 0.0)
        var = 0.0;
    save_mean[ch] = (float)mean;
    save_invstd[ch] = (float)(1.0 / sqrt(var + eps));
    double unbiased = cnt > 1 ? var * cnt / (cnt - 1) : var;
    if (rmean)
        rmean[ch] = (float)((1.0 - momentum) * rmean[ch] + momentum * mean);
    if (rvar)
        rvar[ch] = (float)((1.0 - momentum) * rvar[ch] + momentum * unbiased);
}

/* out = (x - mean) * invstd * gamma + beta; infer: invstd from var. */
static __global__ void k_apply(float *out, const float *in, const float *gamma,
                               const float *beta, const float *mean, const float *scale,
                               int is_var, float eps, size_t total, int c, int hw)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total;
         i += (size_t)gridDim.x * blockDim.x) {
        int ch = (int)((i / hw) % c);
        float is = is_var ? 1.0f / sqrtf(scale[ch] + eps) : scale[ch];
        float g = gamma ? gamma[ch] : 1.0f, bt = beta ? beta[ch] : 0.0f;
        out[i] = (in[i] - mean[ch]) * is * g + bt;
    }
}

static __global__ void k_bwd(float *din, const float *dout, const float *in, const float *gamma,
                             const float *mean, const float *invstd, const double *sums,
                             double cnt, size_t total, int c, int hw)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total;
         i += (size_t)gridDim.x * blockDim.x) {
        int ch = (int)((i / hw) % c);
        float is = invstd[ch], g = gamma ? gamma[ch] : 1.0f;
        float xhat = (in[i] - mean[ch]) * is;
        float mdy = (float)(sums[ch] / cnt), mdyx = (float)(sums[c + ch] / cnt);
        din[i] = g * is * (dout[i] - mdy - xhat * mdyx);
    }
}

static __global__ void k_param_grads(float *dgamma, float *dbeta, const double *sums, int c)
{
    int ch = blockIdx.x * blockDim.x + threadIdx.x;
    if (ch >= c)
        return;
    if (dgamma)
        dgamma[ch] = (float)(dgamma[ch] + sums[c + ch]);
    if (dbeta)
        dbeta[ch] = (float)(dbeta[ch] + sums[ch]);
}

void sp_cuda_bn_sums(sp_backend *b, double *sums, const float *in, int n, int c, int hw)
{
    cuda_ctx *x = cuda_of(b);
    if (!x->failed[0])
        launch_sums(x, sums, in, in, NULL, NULL, n, c, hw, 0);
}

/* The statistics from sums about shift (k_stats), then out. */
static void stats_apply(cuda_ctx *x, float *out, float *save_mean, float *save_invstd,
                        float *running_mean, float *running_var, const float *in,
                        const float *gamma, const float *beta, const double *sums,
                        const float *shift, double count, int n, int c, int hw, float eps,
                        float momentum)
{
    if (x->failed[0])
        return;
    size_t total = (size_t)n * c * hw;
    k_stats<<<(c + 127) / 128, 128, 0, x->stream>>>(save_mean, save_invstd, running_mean,
                                                    running_var, sums, shift, count, c, hw,
                                                    eps, momentum);
    k_apply<<<sp_cuda_blocks(total, CUDA_THREADS), CUDA_THREADS, 0, x->stream>>>(
        out, in, gamma, beta, save_mean, save_invstd, 0, eps, total, c, hw);
    CUDA_LAUNCHED(x);
}

void sp_cuda_bn_fwd_sums(sp_backend *b, float *out, float *save_mean, float *save_invstd,
                         float *running_mean, float *running_var, const float *in,
                         const float *gamma, const float *beta, const double *sums,
                         double count, int n, int c, int hw, float eps, float momentum)
{
    stats_apply(cuda_of(b), out, save_mean, save_invstd, running_mean, running_var, in, gamma,
                beta, sums, NULL, count, n, c, hw, eps, momentum);
}

/* Sums about each channel's first value; the residual and the activation
 * by the element-wise kernels, after the batch norm's own: the same bits
 * as the executor running them apart. */
void sp_cuda_bn_fwd_train(sp_backend *b, float *out, float *save_mean, float *save_invstd,
                          float *running_mean, float *running_var, const float *in,
                          const float *res, const float *gamma, const float *beta, int n, int c,
                          int hw, float eps, float momentum, int act)
{
    cuda_ctx *x = cuda_of(b);
    double *sums = sp_cuda_sums(x, 2 * (size_t)c);
    size_t total = (size_t)n * c * hw;
    if (!x->failed[0])
        launch_sums(x, sums, in, in, NULL, NULL, n, c, hw, 2);
    stats_apply(x, out, save_mean, save_invstd, running_mean, running_var, in, gamma, beta, sums,
                in, (double)n * hw, n, c, hw, eps, momentum);
    if (res)
        sp_cuda_add_fwd(b, out, out, res, total);
    if (act >= 0)
        sp_cuda_act_fwd(b, (sp_act)act, out, out, total);
}

/* k_apply alone: scale is the variance (is_var) or the inverse std. */
static void apply(sp_backend *b, float *out, const float *in, const float *gamma,
                  const float *beta, const float *mean, const float *scale, int is_var,
                  float eps, int n, int c, int hw)
{
    cuda_ctx *x = cuda_of(b);
    if (x->failed[0])
        return;
    size_t total = (size_t)n * c * hw;
    k_apply<<<sp_cuda_blocks(total, CUDA_THREADS), CUDA_THREADS, 0, x->stream>>>(
        out, in, gamma, beta, mean, scale, is_var, eps, total, c, hw);
    CUDA_LAUNCHED(x);
}

void sp_cuda_bn_fwd_infer(sp_backend *b, float *out, const float *in, const float *gamma,
                          const float *beta, const float *mean, const float *var,
                          int n, int c, int hw, float eps)
{
    apply(b, out, in, gamma, beta, mean, var, 1, eps, n, c, hw);
}

/* The forward's own kernel on the same statistics, then the activation's:
 * the forward's output bit for bit. */
void sp_cuda_bn_fwd_saved(sp_backend *b, float *out, const float *in, const float *gamma,
                          const float *beta, const float *save_mean, const float *save_invstd,
                          int n, int c, int hw, int act)
{
    apply(b, out, in, gamma, beta, save_mean, save_invstd, 0, 0.0f, n, c, hw);
    if (act >= 0)
        sp_cuda_act_fwd(b, (sp_act)act, out, out, (size_t)n * c * hw);
}

void sp_cuda_bn_bwd_sums(sp_backend *b, double *sums, const float *dout, const float *in,
                         const float *save_mean, const float *save_invstd, int n, int c, int hw)
{
    cuda_ctx *x = cuda_of(b);
    if (!x->failed[0])
        launch_sums(x, sums, dout, in, save_mean, save_invstd, n, c, hw, 1);
}

void sp_cuda_bn_bwd_from_sums(sp_backend *b, float *din, float *dgamma, float *dbeta,
                              const float *dout, const float *in, const float *gamma,
                              const float *save_mean, const float *save_invstd,
                              const double *local, const double *global, double count,
                              int n, int c, int hw)
{
    cuda_ctx *x = cuda_of(b);
    if (x->failed[0])
        return;
    size_t total = (size_t)n * c * hw;
    k_bwd<<<sp_cuda_blocks(total, CUDA_THREADS), CUDA_THREADS, 0, x->stream>>>(
        din, dout, in, gamma, save_mean, save_invstd, global, count, total, c, hw);
    if (dgamma || dbeta)
        k_param_grads<<<(c + 127) / 128, 128, 0, x->stream>>>(dgamma, dbeta, local, c);
    CUDA_LAUNCHED(x);
}

void sp_cuda_bn_bwd(sp_backend *b, float *din, float *dgamma, float *dbeta, const float *dout,
                    const float *in, const float *gamma, const float *save_mean,
                    const float *save_invstd, int n, int c, int hw)
{
    double *sums = sp_cuda_sums(cuda_of(b), 2 * (size_t)c);
    sp_cuda_bn_bwd_sums(b, sums, dout, in, save_mean, save_invstd, n, c, hw);
    sp_cuda_bn_bwd_from_sums(b, din, dgamma, dbeta, dout, in, gamma, save_mean, save_invstd,
                             sums, sums, (double)n * hw, n, c, hw);
}
