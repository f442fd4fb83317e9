/* cuda_linear.cu: the fully connected layer through cuBLAS (full float32).
 * Row-major N x I activations are column-major I x N matrices to cuBLAS,
 * and the O x I weight a column-major I x O one, so:
 *
 *   linear_fwd:        out^T (O x N) = W^T' . in^T, bias added first (=)
 *   linear_bwd_data:   din^T (I x N) = W . dout^T                 (=)
 *   linear_bwd_weight: dW^T (I x O) += in^T . dout; dbias += dout^T . 1 */
#include "cuda_priv.h"

static __global__ void k_rows(float *out, const float *bias, int n, int o)
{
    size_t total = (size_t)n * o;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total;
         i += (size_t)gridDim.x * blockDim.x)
        out[i] = bias[i % o];
}

void sp_cuda_linear_fwd(sp_backend *b, float *out, const float *in, const float *w,
                        const float *bias, int n, int in_f, int out_f)
{
    cuda_ctx *x = cuda_of(b);
    if (x->failed[0])
        return;
    const float one = 1.0f, zero = 0.0f;
    if (bias) {
        size_t total = (size_t)n * out_f;
        k_rows<<<sp_cuda_blocks(total, CUDA_THREADS), CUDA_THREADS, 0, x->stream>>>(
            out, bias, n, out_f);
        CUDA_LAUNCHED(x);
    }
    CUBLAS_OK(x, cublasSgemm(x->blas, CUBLAS_OP_T, CUBLAS_OP_N, out_f, n, in_f, &one, w, in_f,
                             in, in_f, bias ? &one : &zero, out, out_f));
}

void sp_cuda_linear_bwd_data(sp_backend *b, float *din, const float *dout, const float *w,
                             int n, int in_f, int out_f)
{
    cuda_ctx *x = cuda_of(b);
    if (x->failed[0])
        return;
    const float one = 1.0f, zero = 0.0f;
    CUBLAS_OK(x, cublasSgemm(x->blas, CUBLAS_OP_N, CUBLAS_OP_N, in_f, n, out_f, &one, w, in_f,
                             dout, out_f, &zero, din, in_f));
}

void sp_cuda_linear_bwd_weight(sp_backend *b, float *dw, float *dbias, const float *dout,
                               const float *in, int n, int in_f, int out_f)
{
    cuda_ctx *x = cuda_of(b);
    if (x->failed[0])
        return;
    const float one = 1.0f;
    if (dw)
        CUBLAS_OK(x, cublasSgemm(x->blas, CUBLAS_OP_N, CUBLAS_OP_T, in_f, out_f, n, &one, in,
                                 in_f, dout, out_f, &one, dw, in_f));
    if (dbias)
        CUBLAS_OK(x, cublasSgemv(x->blas, CUBLAS_OP_N, out_f, n, &one, dout, out_f,
                                 sp_cuda_ones(x, (size_t)n), 1, &one, dbias, 1));
}
