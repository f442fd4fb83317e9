/* cuda_train.cu: softmax cross-entropy, the SGD step and the pruning
 * stage's two twin operations (normal redraws, connection sensitivity).
 *
 * This file is compiled without fused multiply-add (the Makefile), so the
 * normal draws round as the host's do and give the same floats as the
 * reference and CPU backends (rules_priv.h), and the SGD step rounds once
 * per operation as PyTorch's and the reference's. */
#include <math.h>
#include "cuda_priv.h"
#include "../rules_priv.h"

#define XENT_THREADS 256

/* One block: each thread takes rows, the block sums the row losses. */
static __global__ void k_xent(float *loss, float *dlogits, const float *logits,
                              const int32_t *labels, int n, int classes, float scale)
{
    __shared__ double part[XENT_THREADS];
    double total = 0.0;
    for (int i = threadIdx.x; i < n; i += blockDim.x) {
        const float *z = logits + (size_t)i * classes;
        int y = labels[i];
        double lse = sp_xent_logsumexp(z, classes);
        total += y >= 0 && y < classes ? lse - z[y] : NAN;
        if (dlogits)
            sp_xent_grad_row(dlogits + (size_t)i * classes, z, y, classes, lse, scale, n);
    }
    part[threadIdx.x] = total;
    __syncthreads();
    for (int h = blockDim.x / 2; h > 0; h /= 2) {
        if ((int)threadIdx.x < h)
            part[threadIdx.x] += part[threadIdx.x + h];
        __syncthreads();
    }
    if (threadIdx.x == 0 && loss)
        *loss = (float)(part[0] / n);
}

void sp_cuda_xent(sp_backend *b, float *loss, float *dlogits, const float *logits,
                  const int32_t *labels, int n, int classes, float scale)
{
    cuda_ctx *x = cuda_of(b);
    if (x->failed[0] || n < 1)
        return;
    k_xent<<<1, XENT_THREADS, 0, x->stream>>>(loss, dlogits, logits, labels, n, classes, scale);
    CUDA_LAUNCHED(x);
}

static __global__ void k_sgd(float *w, const float *g, float *v, size_t n, float lr,
                             float momentum, float wd, int nesterov)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x) {
        w[i] = sp_sgd_element(w[i], g[i], v ? &v[i] : NULL, lr, momentum, wd, nesterov);
    }
}

void sp_cuda_sgd(sp_backend *b, float *w, const float *g, float *v, size_t n, float lr,
                 float momentum, float weight_decay, int nesterov)
{
    cuda_ctx *x = cuda_of(b);
    if (x->failed[0] || n == 0)
        return;
    k_sgd<<<sp_cuda_blocks(n, CUDA_THREADS), CUDA_THREADS, 0, x->stream>>>(
        w, g, v, n, lr, momentum, weight_decay, nesterov);
    CUDA_LAUNCHED(x);
}

static __global__ void k_normal(float *x, size_t n, float std, sp_normal_key key)
{
    size_t pairs = (n + 1) / 2;
    for (size_t j = blockIdx.x * (size_t)blockDim.x + threadIdx.x; j < pairs;
         j += (size_t)gridDim.x * blockDim.x) {
        float a, c;
        sp_normal_pair((uint32_t)j, std, key, &a, &c);
        x[2 * j] = a;
        if (2 * j + 1 < n)
            x[2 * j + 1] = c;
    }
}

void sp_cuda_fill_normal(sp_backend *b, float *p, size_t n, float std, uint64_t seed,
                         uint64_t counter)
{
    cuda_ctx *x = cuda_of(b);
    if (x->failed[0] || n == 0)
        return;
    k_normal<<<sp_cuda_blocks((n + 1) / 2, CUDA_THREADS), CUDA_THREADS, 0, x->stream>>>(
        p, n, std, sp_normal_key_of(seed, counter));
    CUDA_LAUNCHED(x);
}

/* One thread per (output channel, kernel position): map = sum over the
 * inputs in double; then one per channel: score = sum of its map. */
static __global__ void k_conn_map(float *map, const float *w, const float *dw, int k, int c,
                                  int khw)
{
    size_t total = (size_t)k * khw;
    for (size_t t = blockIdx.x * (size_t)blockDim.x + threadIdx.x; t < total;
         t += (size_t)gridDim.x * blockDim.x) {
        size_t o = t / khw, q = t % khw;
        double s = 0.0;
        for (int i = 0; i < c; i++) {
            size_t at = (o * c + i) * khw + q;
            s += fabs((double)w[at] * (double)dw[at]);
        }
        map[t] = (float)s;
    }
}

static __global__ void k_conn_score(float *score, const float *map, int k, int khw)
{
    int o = blockIdx.x * blockDim.x + threadIdx.x;
    if (o >= k)
        return;
    double s = 0.0;
    for (int q = 0; q < khw; q++)
        s += map[(size_t)o * khw + q];
    score[o] = (float)s;
}

void sp_cuda_conn_sens(sp_backend *b, float *score, float *map, const float *w,
                       const float *dw, int k, int c, int khw)
{
    cuda_ctx *x = cuda_of(b);
    if (x->failed[0] || k < 1)
        return;
    size_t total = (size_t)k * khw;
    k_conn_map<<<sp_cuda_blocks(total, CUDA_THREADS), CUDA_THREADS, 0, x->stream>>>(
        map, w, dw, k, c, khw);
    k_conn_score<<<(k + 127) / 128, 128, 0, x->stream>>>(score, map, k, khw);
    CUDA_LAUNCHED(x);
}
