/* cuda_elementwise.cu: activations, add, channel mask, option-A shortcut
 * and dropout, as the reference backend defines them (ref_elementwise.c).
 * Forward passes overwrite out; backward passes overwrite din and
 * accumulate into dm (summed per channel in double). */
#include <stdlib.h>
#include "cuda_priv.h"

#define GRID_LOOP(i, total)                                                                \
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < (total);            \
         i += (size_t)gridDim.x * blockDim.x)
#define LAUNCH(x, total) sp_cuda_blocks((total), CUDA_THREADS), CUDA_THREADS, 0, (x)->stream

static __global__ void k_act_fwd(float *out, const float *in, size_t n, int relu6)
{
    GRID_LOOP(i, n) {
        float v = in[i];
        float y = v < 0.0f ? 0.0f : v;   /* NaN passes through */
        if (relu6 && y > 6.0f)
            y = 6.0f;
        out[i] = y;
    }
}

static __global__ void k_act_bwd(float *din, const float *dout, const float *in, size_t n,
                                 int relu6)
{
    GRID_LOOP(i, n) {
        int pass = in[i] > 0.0f && (!relu6 || in[i] < 6.0f);
        din[i] = pass ? dout[i] : 0.0f;
    }
}

static __global__ void k_add(float *out, const float *a, const float *b, size_t n)
{
    GRID_LOOP(i, n) out[i] = a[i] + b[i];
}

static __global__ void k_mask_fwd(float *out, const float *in, const float *m, size_t total,
                                  int c, int hw)
{
    GRID_LOOP(i, total) out[i] = in[i] * m[(i / hw) % c];
}

static __global__ void k_mul(float *out, const float *a, const float *b, size_t n)
{
    GRID_LOOP(i, n) out[i] = a[i] * b[i];
}

/* din = dout * m; sums[ch] += sum dout * in over this block's share. */
static __global__ void k_mask_bwd(float *din, double *sums, const float *dout, const float *in,
                                  const float *m, int n, int c, int hw)
{
    __shared__ double part[CUDA_THREADS];
    int ch = blockIdx.x;
    size_t total = (size_t)n * hw;
    double t = 0.0;
    for (size_t j = (size_t)blockIdx.y * blockDim.x + threadIdx.x; j < total;
         j += (size_t)gridDim.y * blockDim.x) {
        size_t o = ((j / hw) * c + ch) * hw + j % hw;
        if (din)
            din[o] = dout[o] * m[ch];
        t += (double)dout[o] * in[o];
    }
    part[threadIdx.x] = t;
    __syncthreads();
    for (int h = blockDim.x / 2; h > 0; h /= 2) {
        if ((int)threadIdx.x < h)
            part[threadIdx.x] += part[threadIdx.x + h];
        __syncthreads();
    }
    if (threadIdx.x == 0)
        atomicAdd(&sums[ch], part[0]);
}

static __global__ void k_add_sums(float *dm, const double *sums, int c)
{
    int ch = blockIdx.x * blockDim.x + threadIdx.x;
    if (ch < c)
        dm[ch] = (float)(dm[ch] + sums[ch]);
}

static __global__ void k_pad_fwd(float *out, const float *in, int n, int c, int h, int w,
                                 int sh, int sw, int lo, int hi)
{
    int oh = (h + sh - 1) / sh, ow = (w + sw - 1) / sw, oc = lo + c + hi;
    size_t total = (size_t)n * oc * oh * ow;
    GRID_LOOP(i, total) {
        int x = (int)(i % ow), y = (int)((i / ow) % oh), k = (int)((i / ((size_t)ow * oh)) % oc);
        size_t s = i / ((size_t)ow * oh * oc);
        int ch = k - lo;
        out[i] = ch < 0 || ch >= c ? 0.0f
                                   : in[((s * c + ch) * h + (size_t)y * sh) * w + (size_t)x * sw];
    }
}

static __global__ void k_pad_bwd(float *din, const float *dout, int n, int c, int h, int w,
                                 int sh, int sw, int lo, int hi)
{
    int oh = (h + sh - 1) / sh, ow = (w + sw - 1) / sw, oc = lo + c + hi;
    size_t total = (size_t)n * c * h * w;
    GRID_LOOP(i, total) {
        int x = (int)(i % w), y = (int)((i / w) % h), ch = (int)((i / ((size_t)w * h)) % c);
        size_t s = i / ((size_t)w * h * c);
        din[i] = y % sh || x % sw ? 0.0f
                                  : dout[((s * oc + lo + ch) * oh + y / sh) * ow + x / sw];
    }
}

void sp_cuda_act_fwd(sp_backend *b, sp_act act, float *out, const float *in, size_t n)
{
    cuda_ctx *x = cuda_of(b);
    if (x->failed[0] || n == 0)
        return;
    k_act_fwd<<<LAUNCH(x, n)>>>(out, in, n, act == SP_ACT_RELU6);
    CUDA_LAUNCHED(x);
}

void sp_cuda_act_bwd(sp_backend *b, sp_act act, float *din, const float *dout,
                     const float *in, size_t n)
{
    cuda_ctx *x = cuda_of(b);
    if (x->failed[0] || n == 0)
        return;
    k_act_bwd<<<LAUNCH(x, n)>>>(din, dout, in, n, act == SP_ACT_RELU6);
    CUDA_LAUNCHED(x);
}

void sp_cuda_add_fwd(sp_backend *b, float *out, const float *p, const float *q, size_t n)
{
    cuda_ctx *x = cuda_of(b);
    if (x->failed[0] || n == 0)
        return;
    k_add<<<LAUNCH(x, n)>>>(out, p, q, n);
    CUDA_LAUNCHED(x);
}

void sp_cuda_mask_fwd(sp_backend *b, float *out, const float *in, const float *m,
                      int n, int c, int hw)
{
    cuda_ctx *x = cuda_of(b);
    size_t total = (size_t)n * c * hw;
    if (x->failed[0] || total == 0)
        return;
    k_mask_fwd<<<LAUNCH(x, total)>>>(out, in, m, total, c, hw);
    CUDA_LAUNCHED(x);
}

void sp_cuda_mask_bwd(sp_backend *b, float *din, float *dm, const float *dout,
                      const float *in, const float *m, int n, int c, int hw)
{
    cuda_ctx *x = cuda_of(b);
    size_t total = (size_t)n * c * hw;
    if (x->failed[0] || total == 0)
        return;
    if (!dm) {
        k_mask_fwd<<<LAUNCH(x, total)>>>(din, dout, m, total, c, hw);
        CUDA_LAUNCHED(x);
        return;
    }
    double *sums = sp_cuda_sums(x, (size_t)c);
    CUDA_OK(x, cudaMemsetAsync(sums, 0, (size_t)c * sizeof(double), x->stream));
    size_t per = (size_t)n * hw;
    unsigned parts = (unsigned)((per + CUDA_THREADS * 16 - 1) / (CUDA_THREADS * 16));
    dim3 grid((unsigned)c, parts < 1 ? 1 : parts > 64 ? 64 : parts);
    k_mask_bwd<<<grid, CUDA_THREADS, 0, x->stream>>>(din, sums, dout, in, m, n, c, hw);
    k_add_sums<<<(c + 127) / 128, 128, 0, x->stream>>>(dm, sums, c);
    CUDA_LAUNCHED(x);
}

void sp_cuda_pad_shortcut_fwd(sp_backend *b, float *out, const float *in, int n, int c,
                              int h, int w, int sh, int sw, int lo, int hi)
{
    cuda_ctx *x = cuda_of(b);
    size_t total = (size_t)n * (lo + c + hi) * ((h + sh - 1) / sh) * ((w + sw - 1) / sw);
    if (x->failed[0] || total == 0)
        return;
    k_pad_fwd<<<LAUNCH(x, total)>>>(out, in, n, c, h, w, sh, sw, lo, hi);
    CUDA_LAUNCHED(x);
}

void sp_cuda_pad_shortcut_bwd(sp_backend *b, float *din, const float *dout, int n, int c,
                              int h, int w, int sh, int sw, int lo, int hi)
{
    cuda_ctx *x = cuda_of(b);
    size_t total = (size_t)n * c * h * w;
    if (x->failed[0] || total == 0)
        return;
    k_pad_bwd<<<LAUNCH(x, total)>>>(din, dout, n, c, h, w, sh, sw, lo, hi);
    CUDA_LAUNCHED(x);
}

/* The keep mask follows one sequential stream (rules_priv.h), so it is
 * drawn on the host and uploaded: it is the size of a classifier's
 * activations, small beside the convolutions. */
void sp_cuda_dropout_fwd(sp_backend *b, float *out, float *keep, const float *in, size_t n,
                         float p, uint64_t seed, uint64_t counter, size_t first)
{
    cuda_ctx *x = cuda_of(b);
    if (x->failed[0] || n == 0)
        return;
    float *host = (float *)malloc(n * sizeof *host);
    if (!host)
        x->host->oom(n * sizeof *host);
    x->host->dropout_draw(host, n, p, seed, counter, first);
    sp_cuda_upload(b, keep, host, n * sizeof *host);
    free(host);
    k_mul<<<LAUNCH(x, n)>>>(out, in, keep, n);
    CUDA_LAUNCHED(x);
}

void sp_cuda_dropout_bwd(sp_backend *b, float *din, const float *dout, const float *keep,
                         size_t n)
{
    cuda_ctx *x = cuda_of(b);
    if (x->failed[0] || n == 0)
        return;
    k_mul<<<LAUNCH(x, n)>>>(din, dout, keep, n);
    CUDA_LAUNCHED(x);
}
