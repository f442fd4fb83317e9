/* cuda_priv.h: the CUDA backend's state and operations, shared between its
 * files (one per family of operations, as the CPU backend's).
 *
 * One stream carries every operation in order, so the executor's calls
 * need no synchronisation of their own; a download waits for the stream.
 * cuDNN runs convolutions (algorithm chosen once per shape and cached with
 * its descriptors), cuBLAS the linear layers; everything else is a kernel
 * of this folder.  Floating-point: cuDNN and cuBLAS run in full float32
 * (no TF32) so the results stay within the parity bounds of the reference
 * backend; reductions the reference does in double (batch norm, mask
 * gradients) are done in double here too.
 *
 * Errors: an operation cannot return one (sp/backend.h), so the first
 * CUDA, cuDNN or cuBLAS failure is kept in the context and reported by the
 * backend's check member, which the executor calls after every pass;
 * later operations then do nothing.  Running out of device memory ends
 * the program as running out of host memory does (sp_oom). */
#ifndef SP_CUDA_PRIV_H
#define SP_CUDA_PRIV_H

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>
#include "sp/backend.h"
#include "cuda_plugin_priv.h"

typedef struct cuda_block { void *p; size_t bytes; int used; } cuda_block;
typedef struct cuda_conv_plan cuda_conv_plan;

#define CUDA_STAGES 2

typedef struct cuda_ctx {
    const sp_cuda_host *host;
    int device;
    cudaStream_t stream;
    cudnnHandle_t dnn;
    cublasHandle_t blas;
    char failed[256];               /* the first failure, "" while none */
    /* the arena: every block ever allocated, reused by size; managed
     * (SP_CUDA_MANAGED set): memory the host may read too, for tests */
    int managed;
    cuda_block *blocks;
    int nblocks, capblocks;
    /* pinned staging, double-buffered for uploads */
    void *stage[CUDA_STAGES];
    cudaEvent_t stage_done[CUDA_STAGES];
    size_t stage_bytes;
    int next_stage;
    /* scratch: cuDNN's workspace, per-channel double sums, ones */
    void *ws;
    size_t ws_bytes;
    double *sums;
    size_t sums_n;
    float *ones;
    size_t ones_n;
    cuda_conv_plan *plans;
} cuda_ctx;

static inline cuda_ctx *cuda_of(sp_backend *b) { return (cuda_ctx *)b->ctx; }

/* Record a failure (the first only) naming the call and where it was. */
int sp_cuda_fail(cuda_ctx *x, const char *what, const char *msg, const char *file, int line);
#define CUDA_OK(x, call)                                                                   \
    sp_cuda_ok_rt((x), (call), #call, __FILE__, __LINE__)
#define CUDNN_OK(x, call)                                                                  \
    sp_cuda_ok_dnn((x), (call), #call, __FILE__, __LINE__)
#define CUBLAS_OK(x, call)                                                                 \
    sp_cuda_ok_blas((x), (call), #call, __FILE__, __LINE__)
int sp_cuda_ok_rt(cuda_ctx *x, cudaError_t e, const char *what, const char *file, int line);
int sp_cuda_ok_dnn(cuda_ctx *x, cudnnStatus_t e, const char *what, const char *file, int line);
int sp_cuda_ok_blas(cuda_ctx *x, cublasStatus_t e, const char *what, const char *file, int line);
/* After a kernel launch. */
#define CUDA_LAUNCHED(x) sp_cuda_ok_rt((x), cudaGetLastError(), "kernel launch", __FILE__, __LINE__)

/* Blocks for a grid-stride loop over n elements. */
static inline unsigned sp_cuda_blocks(size_t n, unsigned threads)
{
    size_t b = (n + threads - 1) / threads;
    return (unsigned)(b < 1 ? 1 : b > 65535u * 8 ? 65535u * 8 : b);
}
#define CUDA_THREADS 256

/* Scratch that grows (contents not kept): cuDNN workspace, doubles, ones. */
void *sp_cuda_workspace(cuda_ctx *x, size_t bytes);
double *sp_cuda_sums(cuda_ctx *x, size_t n);
const float *sp_cuda_ones(cuda_ctx *x, size_t n);

/* cuda_mem.cu */
void *sp_cuda_alloc(sp_backend *b, size_t bytes);
void sp_cuda_free(sp_backend *b, void *p);
void sp_cuda_upload(sp_backend *b, void *dst, const void *host, size_t bytes);
void sp_cuda_download(sp_backend *b, void *host, const void *src, size_t bytes);
void sp_cuda_copy(sp_backend *b, void *dst, const void *src, size_t bytes);
void sp_cuda_fill(sp_backend *b, float *dst, float value, size_t n);
void sp_cuda_accumulate(sp_backend *b, float *dst, const float *src, size_t n);
void sp_cuda_scale(sp_backend *b, float *x, float alpha, size_t n);
void sp_cuda_sync(sp_backend *b);
int sp_cuda_check(sp_backend *b);
void sp_cuda_arena_release(cuda_ctx *x);

/* cuda_conv.cu */
void sp_cuda_conv_fwd(sp_backend *b, float *out, const float *in, const float *w,
                      const float *bias, const sp_conv_shape *s);
void sp_cuda_conv_fwd_act(sp_backend *b, float *out, const float *in, const float *w,
                          const float *bias, const sp_conv_shape *s, sp_act act);
void sp_cuda_conv_bwd_data(sp_backend *b, float *din, const float *dout, const float *w,
                           const sp_conv_shape *s);
void sp_cuda_conv_bwd_filter(sp_backend *b, float *dw, float *dbias, const float *dout,
                             const float *in, const sp_conv_shape *s);
void sp_cuda_conv_plans_free(cuda_ctx *x);

/* cuda_bn.cu */
sp_bn_fwd_train_fn sp_cuda_bn_fwd_train;
void sp_cuda_bn_fwd_saved(sp_backend *b, float *out, const float *in, const float *gamma,
                          const float *beta, const float *save_mean, const float *save_invstd,
                          int n, int c, int hw, int act);
void sp_cuda_bn_fwd_infer(sp_backend *b, float *out, const float *in, const float *gamma,
                          const float *beta, const float *mean, const float *var,
                          int n, int c, int hw, float eps);
void sp_cuda_bn_bwd(sp_backend *b, float *din, float *dgamma, float *dbeta, const float *dout,
                    const float *in, const float *gamma, const float *save_mean,
                    const float *save_invstd, int n, int c, int hw);
void sp_cuda_bn_sums(sp_backend *b, double *sums, const float *in, int n, int c, int hw);
void sp_cuda_bn_fwd_sums(sp_backend *b, float *out, float *save_mean, float *save_invstd,
                         float *running_mean, float *running_var, const float *in,
                         const float *gamma, const float *beta, const double *sums,
                         double count, int n, int c, int hw, float eps, float momentum);
void sp_cuda_bn_bwd_sums(sp_backend *b, double *sums, const float *dout, const float *in,
                         const float *save_mean, const float *save_invstd, int n, int c, int hw);
void sp_cuda_bn_bwd_from_sums(sp_backend *b, float *din, float *dgamma, float *dbeta,
                              const float *dout, const float *in, const float *gamma,
                              const float *save_mean, const float *save_invstd,
                              const double *local, const double *global, double count,
                              int n, int c, int hw);

/* cuda_pool.cu */
size_t sp_cuda_maxpool_ws_bytes(sp_backend *b, const sp_pool_shape *s);
void sp_cuda_maxpool_fwd(sp_backend *b, float *out, void *ws, const float *in,
                         const sp_pool_shape *s);
void sp_cuda_maxpool_bwd(sp_backend *b, float *din, const float *dout, const void *ws,
                         const float *in, const sp_pool_shape *s);
void sp_cuda_avgpool_fwd(sp_backend *b, float *out, const float *in, const sp_pool_shape *s);
void sp_cuda_avgpool_bwd(sp_backend *b, float *din, const float *dout, const sp_pool_shape *s);
void sp_cuda_adaptive_avgpool_fwd(sp_backend *b, float *out, const float *in,
                                  const sp_pool_shape *s);
void sp_cuda_adaptive_avgpool_bwd(sp_backend *b, float *din, const float *dout,
                                  const sp_pool_shape *s);

/* cuda_linear.cu */
void sp_cuda_linear_fwd(sp_backend *b, float *out, const float *in, const float *w,
                        const float *bias, int n, int in_f, int out_f);
void sp_cuda_linear_bwd_data(sp_backend *b, float *din, const float *dout, const float *w,
                             int n, int in_f, int out_f);
void sp_cuda_linear_bwd_weight(sp_backend *b, float *dw, float *dbias, const float *dout,
                               const float *in, int n, int in_f, int out_f);

/* cuda_elementwise.cu */
void sp_cuda_act_fwd(sp_backend *b, sp_act act, float *out, const float *in, size_t n);
void sp_cuda_act_bwd(sp_backend *b, sp_act act, float *din, const float *dout,
                     const float *in, size_t n);
void sp_cuda_add_fwd(sp_backend *b, float *out, const float *x, const float *y, size_t n);
void sp_cuda_mask_fwd(sp_backend *b, float *out, const float *in, const float *m,
                      int n, int c, int hw);
void sp_cuda_mask_bwd(sp_backend *b, float *din, float *dm, const float *dout,
                      const float *in, const float *m, int n, int c, int hw);
void sp_cuda_pad_shortcut_fwd(sp_backend *b, float *out, const float *in, int n, int c,
                              int h, int w, int sh, int sw, int lo, int hi);
void sp_cuda_pad_shortcut_bwd(sp_backend *b, float *din, const float *dout, int n, int c,
                              int h, int w, int sh, int sw, int lo, int hi);
void sp_cuda_dropout_fwd(sp_backend *b, float *out, float *keep, const float *in, size_t n,
                         float p, uint64_t seed, uint64_t counter, size_t first);
void sp_cuda_dropout_bwd(sp_backend *b, float *din, const float *dout, const float *keep,
                         size_t n);

/* cuda_train.cu: loss, SGD and the pruning stage's twin operations */
void sp_cuda_xent(sp_backend *b, float *loss, float *dlogits, const float *logits,
                  const int32_t *labels, int n, int classes, float scale);
void sp_cuda_sgd(sp_backend *b, float *w, const float *g, float *v, size_t n, float lr,
                 float momentum, float weight_decay, int nesterov);
void sp_cuda_fill_normal(sp_backend *b, float *x, size_t n, float std, uint64_t seed,
                         uint64_t counter);
void sp_cuda_conn_sens(sp_backend *b, float *score, float *map, const float *w,
                       const float *dw, int k, int c, int khw);

#endif
