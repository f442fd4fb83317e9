/* cuda_conv.cu: convolution through cuDNN.
 *
 * A plan per shape holds the tensor, filter and convolution descriptors
 * and the algorithm of each direction, chosen once by cuDNN's heuristics
 * (the first that fits the workspace limit and is not FFT-based, whose
 * error is far above float rounding; in full float32: the convolution's
 * math type forbids TF32) and kept in a list owned by the context.  The workspace is the context's, grown to the largest need.
 *
 *   conv_fwd:        out = conv(in, w) (+ bias)       overwrites
 *   conv_bwd_data:   din = conv^T(dout, w)            overwrites
 *   conv_bwd_filter: dw += ..., dbias += sum(dout)     accumulate (beta 1) */
#include <stdlib.h>
#include <string.h>
#include "cuda_priv.h"

#define WS_LIMIT ((size_t)1 << 30)

struct cuda_conv_plan {
    sp_conv_shape s;
    cudnnTensorDescriptor_t x, y, bias;
    cudnnFilterDescriptor_t w;
    cudnnConvolutionDescriptor_t conv;
    int have_fwd, have_bwd_data, have_bwd_filter;
    cudnnConvolutionFwdAlgo_t fwd;
    cudnnConvolutionBwdDataAlgo_t bwd_data;
    cudnnConvolutionBwdFilterAlgo_t bwd_filter;
    size_t ws_fwd, ws_bwd_data, ws_bwd_filter;
    cuda_conv_plan *next;
};

static int same_shape(const sp_conv_shape *a, const sp_conv_shape *b)
{
    return a->n == b->n && a->c == b->c && a->h == b->h && a->w == b->w && a->k == b->k &&
           a->oh == b->oh && a->ow == b->ow && a->kh == b->kh && a->kw == b->kw &&
           a->sh == b->sh && a->sw == b->sw && a->ph == b->ph && a->pw == b->pw &&
           a->groups == b->groups;
}

static void plan_free(cuda_conv_plan *p)
{
    if (p->x)
        cudnnDestroyTensorDescriptor(p->x);
    if (p->y)
        cudnnDestroyTensorDescriptor(p->y);
    if (p->bias)
        cudnnDestroyTensorDescriptor(p->bias);
    if (p->w)
        cudnnDestroyFilterDescriptor(p->w);
    if (p->conv)
        cudnnDestroyConvolutionDescriptor(p->conv);
    free(p);
}

void sp_cuda_conv_plans_free(cuda_ctx *x)
{
    while (x->plans) {
        cuda_conv_plan *p = x->plans;
        x->plans = p->next;
        plan_free(p);
    }
}

static int describe(cuda_ctx *x, cuda_conv_plan *p)
{
    const sp_conv_shape *s = &p->s;
    return CUDNN_OK(x, cudnnCreateTensorDescriptor(&p->x)) &&
           CUDNN_OK(x, cudnnCreateTensorDescriptor(&p->y)) &&
           CUDNN_OK(x, cudnnCreateTensorDescriptor(&p->bias)) &&
           CUDNN_OK(x, cudnnCreateFilterDescriptor(&p->w)) &&
           CUDNN_OK(x, cudnnCreateConvolutionDescriptor(&p->conv)) &&
           CUDNN_OK(x, cudnnSetTensor4dDescriptor(p->x, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT,
                                                  s->n, s->c, s->h, s->w)) &&
           CUDNN_OK(x, cudnnSetTensor4dDescriptor(p->y, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT,
                                                  s->n, s->k, s->oh, s->ow)) &&
           CUDNN_OK(x, cudnnSetTensor4dDescriptor(p->bias, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT,
                                                  1, s->k, 1, 1)) &&
           CUDNN_OK(x, cudnnSetFilter4dDescriptor(p->w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW,
                                                  s->k, s->c / s->groups, s->kh, s->kw)) &&
           CUDNN_OK(x, cudnnSetConvolution2dDescriptor(p->conv, s->ph, s->pw, s->sh, s->sw,
                                                       1, 1, CUDNN_CROSS_CORRELATION,
                                                       CUDNN_DATA_FLOAT)) &&
           CUDNN_OK(x, cudnnSetConvolutionGroupCount(p->conv, s->groups)) &&
           CUDNN_OK(x, cudnnSetConvolutionMathType(p->conv, CUDNN_FMA_MATH));
}

static cuda_conv_plan *plan_for(cuda_ctx *x, const sp_conv_shape *s)
{
    for (cuda_conv_plan *p = x->plans; p; p = p->next)
        if (same_shape(&p->s, s))
            return p;
    cuda_conv_plan *p = (cuda_conv_plan *)calloc(1, sizeof *p);
    if (!p)
        x->host->oom(sizeof *p);
    p->s = *s;
    if (!describe(x, p)) {
        plan_free(p);
        return NULL;
    }
    p->next = x->plans;
    x->plans = p;
    return p;
}

/* The heuristics' first algorithm that succeeds within the limit and is
 * neither of the two FFT ones (fft, fft_tiling). */
#define PICK(perf, count, chosen, bytes, fft, fft_tiling)                                  \
    do {                                                                                   \
        for (int i_ = 0; i_ < (count); i_++)                                               \
            if ((perf)[i_].status == CUDNN_STATUS_SUCCESS && (perf)[i_].memory <= WS_LIMIT && \
                (perf)[i_].algo != (fft) && (perf)[i_].algo != (fft_tiling)) {             \
                (chosen) = (perf)[i_].algo;                                                \
                (bytes) = (perf)[i_].memory;                                               \
                found = 1;                                                                 \
                break;                                                                     \
            }                                                                              \
    } while (0)

static int choose_fwd(cuda_ctx *x, cuda_conv_plan *p)
{
    if (p->have_fwd)
        return 1;
    cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    int count = 0, found = 0;
    if (!CUDNN_OK(x, cudnnGetConvolutionForwardAlgorithm_v7(
                         x->dnn, p->x, p->w, p->conv, p->y, CUDNN_CONVOLUTION_FWD_ALGO_COUNT,
                         &count, perf)))
        return 0;
    PICK(perf, count, p->fwd, p->ws_fwd, CUDNN_CONVOLUTION_FWD_ALGO_FFT,
         CUDNN_CONVOLUTION_FWD_ALGO_FFT_TILING);
    if (!found)
        return sp_cuda_fail(x, "cudnnGetConvolutionForwardAlgorithm_v7",
                            "no forward algorithm fits", __FILE__, __LINE__);
    p->have_fwd = 1;
    return 1;
}

static int choose_bwd_data(cuda_ctx *x, cuda_conv_plan *p)
{
    if (p->have_bwd_data)
        return 1;
    cudnnConvolutionBwdDataAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
    int count = 0, found = 0;
    if (!CUDNN_OK(x, cudnnGetConvolutionBackwardDataAlgorithm_v7(
                         x->dnn, p->w, p->y, p->conv, p->x,
                         CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &count, perf)))
        return 0;
    PICK(perf, count, p->bwd_data, p->ws_bwd_data, CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT,
         CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT_TILING);
    if (!found)
        return sp_cuda_fail(x, "cudnnGetConvolutionBackwardDataAlgorithm_v7",
                            "no backward-data algorithm fits", __FILE__, __LINE__);
    p->have_bwd_data = 1;
    return 1;
}

static int choose_bwd_filter(cuda_ctx *x, cuda_conv_plan *p)
{
    if (p->have_bwd_filter)
        return 1;
    cudnnConvolutionBwdFilterAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
    int count = 0, found = 0;
    if (!CUDNN_OK(x, cudnnGetConvolutionBackwardFilterAlgorithm_v7(
                         x->dnn, p->x, p->y, p->conv, p->w,
                         CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &count, perf)))
        return 0;
    PICK(perf, count, p->bwd_filter, p->ws_bwd_filter, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT,
         CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT_TILING);
    if (!found)
        return sp_cuda_fail(x, "cudnnGetConvolutionBackwardFilterAlgorithm_v7",
                            "no backward-filter algorithm fits", __FILE__, __LINE__);
    p->have_bwd_filter = 1;
    return 1;
}

void sp_cuda_conv_fwd(sp_backend *b, float *out, const float *in, const float *w,
                      const float *bias, const sp_conv_shape *s)
{
    cuda_ctx *x = cuda_of(b);
    if (x->failed[0])
        return;
    cuda_conv_plan *p = plan_for(x, s);
    if (!p || !choose_fwd(x, p))
        return;
    const float one = 1.0f, zero = 0.0f;
    void *ws = sp_cuda_workspace(x, p->ws_fwd);
    CUDNN_OK(x, cudnnConvolutionForward(x->dnn, &one, p->x, in, p->w, w, p->conv, p->fwd, ws,
                                        p->ws_fwd, &zero, p->y, out));
    if (bias)
        CUDNN_OK(x, cudnnAddTensor(x->dnn, &one, p->bias, bias, &one, p->y, out));
}

void sp_cuda_conv_fwd_act(sp_backend *b, float *out, const float *in, const float *w,
                          const float *bias, const sp_conv_shape *s, sp_act act)
{
    sp_cuda_conv_fwd(b, out, in, w, bias, s);
    sp_cuda_act_fwd(b, act, out, out, (size_t)s->n * s->k * s->oh * s->ow);
}

void sp_cuda_conv_bwd_data(sp_backend *b, float *din, const float *dout, const float *w,
                           const sp_conv_shape *s)
{
    cuda_ctx *x = cuda_of(b);
    if (x->failed[0])
        return;
    cuda_conv_plan *p = plan_for(x, s);
    if (!p || !choose_bwd_data(x, p))
        return;
    const float one = 1.0f, zero = 0.0f;
    void *ws = sp_cuda_workspace(x, p->ws_bwd_data);
    CUDNN_OK(x, cudnnConvolutionBackwardData(x->dnn, &one, p->w, w, p->y, dout, p->conv,
                                             p->bwd_data, ws, p->ws_bwd_data, &zero, p->x, din));
}

void sp_cuda_conv_bwd_filter(sp_backend *b, float *dw, float *dbias, const float *dout,
                             const float *in, const sp_conv_shape *s)
{
    cuda_ctx *x = cuda_of(b);
    if (x->failed[0])
        return;
    cuda_conv_plan *p = plan_for(x, s);
    if (!p || !choose_bwd_filter(x, p))
        return;
    const float one = 1.0f;
    void *ws = sp_cuda_workspace(x, p->ws_bwd_filter);
    if (dw)
        CUDNN_OK(x, cudnnConvolutionBackwardFilter(x->dnn, &one, p->x, in, p->y, dout, p->conv,
                                                   p->bwd_filter, ws, p->ws_bwd_filter, &one,
                                                   p->w, dw));
    if (dbias)
        CUDNN_OK(x, cudnnConvolutionBackwardBias(x->dnn, &one, p->y, dout, &one, p->bias, dbias));
}
