/* cuda_pool.cu: max, average and adaptive average pooling, NCHW, with the
 * windows of ../pool_window_priv.h (the reference backend's), one thread
 * per output (forward) or per input (backward of the averages).
 *
 *   maxpool:  the first maximum in scan order wins, a NaN over any number;
 *             ws holds its int32 offset in the plane.  Backward adds each
 *             gradient to its input (atomically: windows may overlap).
 *   avgpool:  the divisor counts padding; adaptive: PyTorch's windows.
 * Forward passes overwrite out; backward passes overwrite din. */
#include <math.h>
#include <stdint.h>
#include "cuda_priv.h"
#include "../pool_window_priv.h"

size_t sp_cuda_maxpool_ws_bytes(sp_backend *b, const sp_pool_shape *s)
{
    (void)b;
    return sp_pool_argmax_bytes(s);
}

static __device__ int32_t window_argmax(const float *plane, const sp_pool_shape s, int oy, int ox)
{
    sp_pool_span r = sp_pool_rows(&s, SP_POOL_MAX, oy), q = sp_pool_cols(&s, SP_POOL_MAX, ox);
    int32_t best = -1;
    float max = -INFINITY;
    for (int y = r.lo; y < r.hi; y++)
        for (int x = q.lo; x < q.hi; x++) {
            float v = plane[y * s.w + x];
            if (best < 0 || v > max || isnan(v)) {
                best = y * s.w + x;
                max = v;
                if (isnan(v))
                    return best;
            }
        }
    return best;
}

static __global__ void k_max_fwd(float *out, int32_t *arg, const float *in, const sp_pool_shape s)
{
    size_t total = (size_t)s.n * s.c * s.oh * s.ow;
    for (size_t o = blockIdx.x * (size_t)blockDim.x + threadIdx.x; o < total;
         o += (size_t)gridDim.x * blockDim.x) {
        size_t plane = o / ((size_t)s.oh * s.ow);
        int rem = (int)(o % ((size_t)s.oh * s.ow)), oy = rem / s.ow, ox = rem % s.ow;
        const float *p = in + plane * s.h * s.w;
        int32_t a = window_argmax(p, s, oy, ox);
        out[o] = a < 0 ? -INFINITY : p[a];
        if (arg)
            arg[o] = a;
    }
}

static __global__ void k_max_bwd(float *din, const float *dout, const int32_t *arg,
                                 const float *in, const sp_pool_shape s)
{
    size_t total = (size_t)s.n * s.c * s.oh * s.ow;
    for (size_t o = blockIdx.x * (size_t)blockDim.x + threadIdx.x; o < total;
         o += (size_t)gridDim.x * blockDim.x) {
        size_t plane = o / ((size_t)s.oh * s.ow);
        int rem = (int)(o % ((size_t)s.oh * s.ow));
        int32_t a = arg ? arg[o] : window_argmax(in + plane * s.h * s.w, s, rem / s.ow, rem % s.ow);
        if (a >= 0)
            atomicAdd(&din[plane * s.h * s.w + a], dout[o]);
    }
}

static __global__ void k_mean_fwd(float *out, const float *in, const sp_pool_shape s,
                                  sp_pool_kind kind)
{
    size_t total = (size_t)s.n * s.c * s.oh * s.ow;
    for (size_t o = blockIdx.x * (size_t)blockDim.x + threadIdx.x; o < total;
         o += (size_t)gridDim.x * blockDim.x) {
        size_t plane = o / ((size_t)s.oh * s.ow);
        int rem = (int)(o % ((size_t)s.oh * s.ow)), oy = rem / s.ow, ox = rem % s.ow;
        const float *p = in + plane * s.h * s.w;
        sp_pool_span r = sp_pool_rows(&s, kind, oy), q = sp_pool_cols(&s, kind, ox);
        double sum = 0.0;
        for (int y = r.lo; y < r.hi; y++)
            for (int x = q.lo; x < q.hi; x++)
                sum += p[y * s.w + x];
        out[o] = (float)(sum / ((double)r.len * q.len));
    }
}

static __global__ void k_mean_bwd(float *din, const float *dout, const sp_pool_shape s,
                                  sp_pool_kind kind)
{
    size_t total = (size_t)s.n * s.c * s.h * s.w;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total;
         i += (size_t)gridDim.x * blockDim.x) {
        size_t plane = i / ((size_t)s.h * s.w);
        int rem = (int)(i % ((size_t)s.h * s.w)), y = rem / s.w, x = rem % s.w;
        const float *g = dout + plane * s.oh * s.ow;
        double sum = 0.0;
        for (int oy = 0; oy < s.oh; oy++) {
            sp_pool_span r = sp_pool_rows(&s, kind, oy);
            if (y < r.lo || y >= r.hi)
                continue;
            for (int ox = 0; ox < s.ow; ox++) {
                sp_pool_span q = sp_pool_cols(&s, kind, ox);
                if (x < q.lo || x >= q.hi)
                    continue;
                sum += g[oy * s.ow + ox] / ((double)r.len * q.len);
            }
        }
        din[i] = (float)sum;
    }
}

static size_t outputs(const sp_pool_shape *s)
{
    return (size_t)s->n * s->c * s->oh * s->ow;
}

static size_t inputs(const sp_pool_shape *s)
{
    return (size_t)s->n * s->c * s->h * s->w;
}

void sp_cuda_maxpool_fwd(sp_backend *b, float *out, void *ws, const float *in,
                         const sp_pool_shape *s)
{
    cuda_ctx *x = cuda_of(b);
    if (x->failed[0])
        return;
    k_max_fwd<<<sp_cuda_blocks(outputs(s), CUDA_THREADS), CUDA_THREADS, 0, x->stream>>>(
        out, (int32_t *)ws, in, *s);
    CUDA_LAUNCHED(x);
}

void sp_cuda_maxpool_bwd(sp_backend *b, float *din, const float *dout, const void *ws,
                         const float *in, const sp_pool_shape *s)
{
    cuda_ctx *x = cuda_of(b);
    if (x->failed[0])
        return;
    CUDA_OK(x, cudaMemsetAsync(din, 0, inputs(s) * sizeof(float), x->stream));
    k_max_bwd<<<sp_cuda_blocks(outputs(s), CUDA_THREADS), CUDA_THREADS, 0, x->stream>>>(
        din, dout, (const int32_t *)ws, in, *s);
    CUDA_LAUNCHED(x);
}

static void mean_fwd(sp_backend *b, float *out, const float *in, const sp_pool_shape *s,
                     sp_pool_kind kind)
{
    cuda_ctx *x = cuda_of(b);
    if (x->failed[0])
        return;
    k_mean_fwd<<<sp_cuda_blocks(outputs(s), CUDA_THREADS), CUDA_THREADS, 0, x->stream>>>(
        out, in, *s, kind);
    CUDA_LAUNCHED(x);
}

static void mean_bwd(sp_backend *b, float *din, const float *dout, const sp_pool_shape *s,
                     sp_pool_kind kind)
{
    cuda_ctx *x = cuda_of(b);
    if (x->failed[0])
        return;
    k_mean_bwd<<<sp_cuda_blocks(inputs(s), CUDA_THREADS), CUDA_THREADS, 0, x->stream>>>(
        din, dout, *s, kind);
    CUDA_LAUNCHED(x);
}

void sp_cuda_avgpool_fwd(sp_backend *b, float *out, const float *in, const sp_pool_shape *s)
{
    mean_fwd(b, out, in, s, SP_POOL_AVG);
}

void sp_cuda_avgpool_bwd(sp_backend *b, float *din, const float *dout, const sp_pool_shape *s)
{
    mean_bwd(b, din, dout, s, SP_POOL_AVG);
}

void sp_cuda_adaptive_avgpool_fwd(sp_backend *b, float *out, const float *in,
                                  const sp_pool_shape *s)
{
    mean_fwd(b, out, in, s, SP_POOL_ADAPTIVE);
}

void sp_cuda_adaptive_avgpool_bwd(sp_backend *b, float *din, const float *dout,
                                  const sp_pool_shape *s)
{
    mean_bwd(b, din, dout, s, SP_POOL_ADAPTIVE);
}
