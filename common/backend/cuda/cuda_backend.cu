/* cuda_backend.cu: the "cuda" backend table, its context (stream, cuDNN and
 * cuBLAS handles, scratch) and the plug-in's exported entry points. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cuda_priv.h"

int sp_cuda_fail(cuda_ctx *x, const char *what, const char *msg, const char *file, int line)
{
    if (!x->failed[0]) {
        const char *base = strrchr(file, '/');
        snprintf(x->failed, sizeof x->failed, "the GPU failed: %s (%s, %s:%d)", msg, what,
                 base ? base + 1 : file, line);
    }
    return 0;
}

int sp_cuda_ok_rt(cuda_ctx *x, cudaError_t e, const char *what, const char *file, int line)
{
    return e == cudaSuccess ? 1 : sp_cuda_fail(x, what, cudaGetErrorString(e), file, line);
}

int sp_cuda_ok_dnn(cuda_ctx *x, cudnnStatus_t e, const char *what, const char *file, int line)
{
    return e == CUDNN_STATUS_SUCCESS ? 1 : sp_cuda_fail(x, what, cudnnGetErrorString(e), file, line);
}

int sp_cuda_ok_blas(cuda_ctx *x, cublasStatus_t e, const char *what, const char *file, int line)
{
    return e == CUBLAS_STATUS_SUCCESS ? 1 : sp_cuda_fail(x, what, cublasGetStatusString(e), file, line);
}

/* Grow-only device scratch: the old buffer may still be read by queued
 * work, so the stream is drained before it goes. */
static void *grow(cuda_ctx *x, void **buf, size_t *have, size_t bytes)
{
    if (bytes <= *have && *buf)
        return *buf;
    if (*buf) {
        CUDA_OK(x, cudaStreamSynchronize(x->stream));
        CUDA_OK(x, cudaFree(*buf));
    }
    *buf = NULL;
    *have = 0;
    if (cudaMalloc(buf, bytes ? bytes : 1) != cudaSuccess)
        x->host->oom(bytes);
    *have = bytes;
    return *buf;
}

void *sp_cuda_workspace(cuda_ctx *x, size_t bytes)
{
    return grow(x, &x->ws, &x->ws_bytes, bytes);
}

double *sp_cuda_sums(cuda_ctx *x, size_t n)
{
    size_t have = x->sums_n * sizeof(double);
    void *p = x->sums;
    x->sums = (double *)grow(x, &p, &have, n * sizeof(double));
    x->sums_n = have / sizeof(double);
    return x->sums;
}

const float *sp_cuda_ones(cuda_ctx *x, size_t n)
{
    if (n <= x->ones_n && x->ones)
        return x->ones;
    size_t have = x->ones_n * sizeof(float);
    void *p = x->ones;
    x->ones = (float *)grow(x, &p, &have, n * sizeof(float));
    x->ones_n = n;
    sp_backend tmp;
    tmp.ctx = x;
    sp_cuda_fill(&tmp, x->ones, 1.0f, n);
    return x->ones;
}

static void cuda_destroy(sp_backend *b)
{
    if (!b)
        return;
    cuda_ctx *x = cuda_of(b);
    if (x) {
        if (x->stream)
            cudaStreamSynchronize(x->stream);
        sp_cuda_conv_plans_free(x);
        sp_cuda_arena_release(x);
        cudaFree(x->ws);
        cudaFree(x->sums);
        cudaFree(x->ones);
        for (int i = 0; i < CUDA_STAGES; i++) {
            if (x->stage[i])
                cudaFreeHost(x->stage[i]);
            if (x->stage_done[i])
                cudaEventDestroy(x->stage_done[i]);
        }
        if (x->blas)
            cublasDestroy(x->blas);
        if (x->dnn)
            cudnnDestroy(x->dnn);
        if (x->stream)
            cudaStreamDestroy(x->stream);
        free(x);
    }
    free(b);
}

static void fill_table(sp_backend *b)
{
    b->alloc = sp_cuda_alloc;
    b->free = sp_cuda_free;
    b->upload = sp_cuda_upload;
    b->download = sp_cuda_download;
    b->copy = sp_cuda_copy;
    b->fill = sp_cuda_fill;
    b->accumulate = sp_cuda_accumulate;
    b->scale = sp_cuda_scale;
    b->sync = sp_cuda_sync;
    b->destroy = cuda_destroy;
    b->check = sp_cuda_check;
    b->conv_fwd = sp_cuda_conv_fwd;
    b->conv_fwd_act = sp_cuda_conv_fwd_act;
    b->conv_bwd_data = sp_cuda_conv_bwd_data;
    b->conv_bwd_filter = sp_cuda_conv_bwd_filter;
    b->bn_fwd_train = sp_cuda_bn_fwd_train;
    b->bn_fwd_infer = sp_cuda_bn_fwd_infer;
    b->bn_fwd_saved = sp_cuda_bn_fwd_saved;
    b->bn_bwd = sp_cuda_bn_bwd;
    b->bn_sums = sp_cuda_bn_sums;
    b->bn_fwd_sums = sp_cuda_bn_fwd_sums;
    b->bn_bwd_sums = sp_cuda_bn_bwd_sums;
    b->bn_bwd_from_sums = sp_cuda_bn_bwd_from_sums;
    b->maxpool_ws_bytes = sp_cuda_maxpool_ws_bytes;
    b->maxpool_fwd = sp_cuda_maxpool_fwd;
    b->maxpool_bwd = sp_cuda_maxpool_bwd;
    b->avgpool_fwd = sp_cuda_avgpool_fwd;
    b->avgpool_bwd = sp_cuda_avgpool_bwd;
    b->adaptive_avgpool_fwd = sp_cuda_adaptive_avgpool_fwd;
    b->adaptive_avgpool_bwd = sp_cuda_adaptive_avgpool_bwd;
    b->linear_fwd = sp_cuda_linear_fwd;
    b->linear_bwd_data = sp_cuda_linear_bwd_data;
    b->linear_bwd_weight = sp_cuda_linear_bwd_weight;
    b->act_fwd = sp_cuda_act_fwd;
    b->act_bwd = sp_cuda_act_bwd;
    b->add_fwd = sp_cuda_add_fwd;
    b->mask_fwd = sp_cuda_mask_fwd;
    b->mask_bwd = sp_cuda_mask_bwd;
    b->pad_shortcut_fwd = sp_cuda_pad_shortcut_fwd;
    b->pad_shortcut_bwd = sp_cuda_pad_shortcut_bwd;
    b->dropout_fwd = sp_cuda_dropout_fwd;
    b->dropout_bwd = sp_cuda_dropout_bwd;
    b->xent = sp_cuda_xent;
    b->sgd = sp_cuda_sgd;
    b->fill_normal = sp_cuda_fill_normal;
    b->conn_sens = sp_cuda_conn_sens;
}

static int plugin_count(const sp_cuda_host *h)
{
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e == cudaErrorInsufficientDriver || e == cudaErrorNoDevice || (e == cudaSuccess && n < 1)) {
        int rt = 0;
        cudaRuntimeGetVersion(&rt);
        h->errorf("no GPU can be used here (no NVIDIA GPU, or no driver for CUDA %d.%d)",
                  rt / 1000, rt % 1000 / 10);
        return 0;
    }
    if (e != cudaSuccess) {
        h->errorf("no GPU can be used here (%s)", cudaGetErrorString(e));
        return 0;
    }
    return n;
}

static int init_ctx(cuda_ctx *x)
{
    if (!CUDA_OK(x, cudaSetDevice(x->device)) ||
        !CUDA_OK(x, cudaStreamCreateWithFlags(&x->stream, cudaStreamNonBlocking)) ||
        !CUDNN_OK(x, cudnnCreate(&x->dnn)) || !CUDNN_OK(x, cudnnSetStream(x->dnn, x->stream)) ||
        !CUBLAS_OK(x, cublasCreate(&x->blas)) ||
        !CUBLAS_OK(x, cublasSetStream(x->blas, x->stream)) ||
        !CUBLAS_OK(x, cublasSetMathMode(x->blas, CUBLAS_PEDANTIC_MATH)))
        return -1;
    for (int i = 0; i < CUDA_STAGES; i++)
        if (!CUDA_OK(x, cudaEventCreateWithFlags(&x->stage_done[i], cudaEventDisableTiming)))
            return -1;
    return 0;
}

static sp_backend *plugin_create(const sp_cuda_host *h, int device)
{
    int n = plugin_count(h);
    if (n < 1)
        return NULL;
    if (device < 0 || device >= n) {
        h->errorf("there is no GPU %d (this machine has %d, numbered from 0)", device, n);
        return NULL;
    }
    cuda_ctx *x = (cuda_ctx *)calloc(1, sizeof *x);
    sp_backend *b = (sp_backend *)calloc(1, sizeof *b);
    if (!x || !b)
        h->oom(sizeof *x + sizeof *b);
    x->host = h;
    x->device = device;
    x->managed = getenv("SP_CUDA_MANAGED") != NULL;
    b->name = "cuda";
    b->ctx = x;
    fill_table(b);
    if (init_ctx(x) < 0) {
        h->errorf("cannot use GPU %d: %s", device, x->failed);
        cuda_destroy(b);
        return NULL;
    }
    return b;
}

int sp_cuda_check(sp_backend *b)
{
    cuda_ctx *x = cuda_of(b);
    if (!x->failed[0])
        CUDA_OK(x, cudaPeekAtLastError());
    return x->failed[0] ? x->host->errorf("%s", x->failed) : 0;
}

#ifdef SP_HAVE_NCCL
void *sp_cuda_nccl_open(sp_backend *b, const void *id, int rank, int size);
int sp_cuda_nccl_id(void *id, size_t bytes);
int sp_cuda_nccl_allreduce(void *comm, sp_backend *b, void *x, size_t n, int is_double);
void sp_cuda_nccl_close(void *comm);
#define NCCL_ENTRIES sp_cuda_nccl_open, sp_cuda_nccl_id, sp_cuda_nccl_allreduce, sp_cuda_nccl_close
#else
#define NCCL_ENTRIES NULL, NULL, NULL, NULL
#endif

extern "C" {
__attribute__((visibility("default"))) extern const sp_cuda_plugin sp_cuda_plugin_table;
const sp_cuda_plugin sp_cuda_plugin_table = {SP_CUDA_PLUGIN_VERSION, plugin_count, plugin_create,
                                             NCCL_ENTRIES};
}
