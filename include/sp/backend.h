/* backend.h: the table of operations every device implements.
 *
 * The executor walks the graph and calls these; it never knows which device
 * it runs on.  All pointers are device pointers obtained from alloc (host
 * memory for the reference and CPU backends).  Layout is NCHW float32
 * throughout (but for the optional channels-last passes below); a
 * backend may reorder internally but takes and returns NCHW.
 *
 * Gradient convention (as llm.c): activation gradients (din) are
 * OVERWRITTEN (=); parameter gradients (dw, dbias, dgamma, dbeta, dmask)
 * are ACCUMULATED (+=), so the executor zeroes them once per step.
 *
 * Backends: "ref" (common/backend/ref, plain C, float64 accumulation, the oracle),
 * "cpu" (common/backend/cpu, oneDNN), "cuda" (common/backend/cuda). */
#ifndef SP_BACKEND_H
#define SP_BACKEND_H

#include <stddef.h>
#include <stdint.h>

typedef struct sp_conv_shape {
    int n, c, h, w;        /* input */
    int k, oh, ow;         /* output channels and size */
    int kh, kw, sh, sw, ph, pw, groups;
} sp_conv_shape;

typedef struct sp_pool_shape {
    int n, c, h, w;        /* input */
    int oh, ow;
    int kh, kw, sh, sw, ph, pw;
} sp_pool_shape;

/* Fill oh, ow from the rest (PyTorch's floor formula). */
void sp_conv_shape_out(sp_conv_shape *s);
void sp_pool_shape_out(sp_pool_shape *s);

typedef enum sp_act { SP_ACT_RELU, SP_ACT_RELU6 } sp_act;

typedef struct sp_backend sp_backend;

/* Channels-last inference (optional: all members or none).  Activations
 * stored N,H,W,C between the first convolution and the last pooling, so
 * that a backend whose convolutions run channels-last converts nothing
 * between them.  Element-wise operations (act_fwd, add_fwd, copy) take
 * either order as they are; these are the rest.  Each computes what its
 * NCHW namesake does.
 *   preferred:  whether this convolution runs faster channels-last (the
 *               executor weighs the answers by multiply-adds)
 *   reorder:    NCHW -> NHWC (to_nhwc) or back, n x c x h x w
 *   conv_fwd:   act an sp_act or -1; flags SP_NHWC_IN_NCHW (the input is
 *               NCHW, as the network's images) and SP_NHWC_SUM (out's
 *               previous contents are added before the activation: a
 *               residual connection) */
enum { SP_NHWC_IN_NCHW = 1, SP_NHWC_SUM = 2 };
typedef struct sp_nhwc_ops {
    int (*preferred)(sp_backend *b, const sp_conv_shape *s);
    void (*reorder)(sp_backend *b, float *out, const float *in, int n, int c, int h, int w,
                    int to_nhwc);
    void (*conv_fwd)(sp_backend *b, float *out, const float *in, const float *w,
                     const float *bias, const sp_conv_shape *s, int act, int flags);
    void (*maxpool_fwd)(sp_backend *b, float *out, const float *in, const sp_pool_shape *s);
    void (*avgpool_fwd)(sp_backend *b, float *out, const float *in, const sp_pool_shape *s);
    void (*adaptive_avgpool_fwd)(sp_backend *b, float *out, const float *in,
                                 const sp_pool_shape *s);
    void (*pad_shortcut_fwd)(sp_backend *b, float *out, const float *in, int n, int c, int h,
                             int w, int sh, int sw, int lo, int hi);
    void (*mask_fwd)(sp_backend *b, float *out, const float *in, const float *m, int n, int c,
                     int hw);
} sp_nhwc_ops;

/* Signatures that the NCHW table and the channels-last training table
 * share (sp_backend says what each computes). */
typedef void sp_conv_bwd_data_fn(sp_backend *b, float *din /* = */, const float *dout,
                                 const float *w, const sp_conv_shape *s);
typedef void sp_bn_fwd_train_fn(sp_backend *b, float *out, float *save_mean, float *save_invstd,
                                float *running_mean, float *running_var, const float *in,
                                const float *res, const float *gamma, const float *beta, int n,
                                int c, int hw, float eps, float momentum, int act);
typedef void sp_bn_fwd_infer_fn(sp_backend *b, float *out, const float *in, const float *gamma,
                                const float *beta, const float *mean, const float *var, int n,
                                int c, int hw, float eps);
typedef void sp_bn_fwd_saved_fn(sp_backend *b, float *out, const float *in, const float *gamma,
                                const float *beta, const float *save_mean,
                                const float *save_invstd, int n, int c, int hw, int act);
typedef void sp_bn_act_bwd_fn(sp_backend *b, sp_act act, float *din, const float *dout,
                              const float *in, const float *gamma, const float *beta,
                              const float *save_mean, const float *save_invstd, int n, int c,
                              int hw);
typedef void sp_bn_bwd_fn(sp_backend *b, float *din /* = */, float *dgamma /* += */,
                          float *dbeta /* += */, const float *dout, const float *in,
                          const float *gamma, const float *save_mean, const float *save_invstd,
                          int n, int c, int hw);
typedef void sp_maxpool_fwd_fn(sp_backend *b, float *out, void *ws, const float *in,
                               const sp_pool_shape *s);
typedef void sp_maxpool_bwd_fn(sp_backend *b, float *din /* = */, const float *dout,
                               const void *ws, const float *in, const sp_pool_shape *s);
typedef void sp_pool_bwd_fn(sp_backend *b, float *din /* = */, const float *dout,
                            const sp_pool_shape *s);
typedef void sp_pad_shortcut_bwd_fn(sp_backend *b, float *din /* = */, const float *dout, int n,
                                    int c, int h, int w, int sh, int sw, int lo, int hi);
typedef void sp_mask_bwd_fn(sp_backend *b, float *din /* = */, float *dm /* += or NULL */,
                            const float *dout, const float *in, const float *m, int n, int c,
                            int hw);

/* Batch norm split at its per-channel sums, for training across processes
 * (sp_backend's bn_sums and its siblings say what each computes). */
typedef void sp_bn_sums_fn(sp_backend *b, double *sums, const float *in, int n, int c, int hw);
typedef void sp_bn_fwd_sums_fn(sp_backend *b, float *out, float *save_mean, float *save_invstd,
                               float *running_mean, float *running_var, const float *in,
                               const float *gamma, const float *beta, const double *sums,
                               double count, int n, int c, int hw, float eps, float momentum);
typedef void sp_bn_bwd_sums_fn(sp_backend *b, double *sums, const float *dout, const float *in,
                               const float *save_mean, const float *save_invstd, int n, int c,
                               int hw);
typedef void sp_bn_bwd_from_sums_fn(sp_backend *b, float *din /* = */, float *dgamma /* += */,
                                    float *dbeta /* += */, const float *dout, const float *in,
                                    const float *gamma, const float *save_mean,
                                    const float *save_invstd, const double *local,
                                    const double *global, double count, int n, int c, int hw);

/* Channels-last training (optional: all members or none, the four batch
 * norm sums members aside, and only with the inference members above).
 * A training executor keeps activations and their gradients N,H,W,C from
 * the first convolution to the global pool when the backend prefers that
 * order and every operation of the network has its form here
 * (element-wise ones take either order as they are).  Each computes
 * what its NCHW namesake does, within rounding: sums may run in another
 * order, but never one that depends on the number of threads.
 *   conv_fwd:        sp_nhwc_ops.conv_fwd serves training too
 *   conv_bwd_filter: flags SP_NHWC_IN_NCHW when `in` is NCHW (the
 *                    network's images)
 *   bn_fwd_saved, bn_act_bwd: bit for bit what this table's bn_fwd_train
 *                    and act_fwd give, as their NCHW namesakes
 *   bn_fwd_infer:    a training executor's evaluation pass
 *   maxpool_fwd:     ws of the size maxpool_ws_bytes gives, its contents
 *                    the backend's own
 *   bn_sums, bn_fwd_sums, bn_bwd_sums, bn_bwd_from_sums: batch norm
 *                    across processes, as sp_backend's; optional as a
 *                    group of four (all NULL: training across processes
 *                    keeps NCHW).  bn_fwd_sums's out is bit for bit what
 *                    bn_fwd_saved gives with the statistics it saved.
 * The rest take the arguments of their NCHW namesakes. */
typedef struct sp_nhwc_train_ops {
    sp_conv_bwd_data_fn *conv_bwd_data;
    void (*conv_bwd_filter)(sp_backend *b, float *dw /* += */, float *dbias /* += or NULL */,
                            const float *dout, const float *in, const sp_conv_shape *s,
                            int flags);
    sp_bn_fwd_train_fn *bn_fwd_train;
    sp_bn_fwd_saved_fn *bn_fwd_saved;
    sp_bn_act_bwd_fn *bn_act_bwd;
    sp_bn_bwd_fn *bn_bwd;
    sp_bn_fwd_infer_fn *bn_fwd_infer;
    sp_maxpool_fwd_fn *maxpool_fwd;
    sp_maxpool_bwd_fn *maxpool_bwd;
    sp_pool_bwd_fn *avgpool_bwd;
    sp_pool_bwd_fn *adaptive_avgpool_bwd;
    sp_pad_shortcut_bwd_fn *pad_shortcut_bwd;
    sp_mask_bwd_fn *mask_bwd;
    sp_bn_sums_fn *bn_sums;
    sp_bn_fwd_sums_fn *bn_fwd_sums;
    sp_bn_bwd_sums_fn *bn_bwd_sums;
    sp_bn_bwd_from_sums_fn *bn_bwd_from_sums;
} sp_nhwc_train_ops;

struct sp_backend {
    const char *name;
    void *ctx;                               /* the backend's own state */

    /* memory */
    void *(*alloc)(sp_backend *b, size_t bytes);           /* never NULL (dies on exhaustion) */
    void (*free)(sp_backend *b, void *p);
    void (*upload)(sp_backend *b, void *dst, const void *host, size_t bytes);
    void (*download)(sp_backend *b, void *host, const void *src, size_t bytes);
    void (*copy)(sp_backend *b, void *dst, const void *src, size_t bytes);
    void (*fill)(sp_backend *b, float *dst, float value, size_t n);
    void (*accumulate)(sp_backend *b, float *dst /* += */, const float *src, size_t n);
    void (*scale)(sp_backend *b, float *x, float alpha, size_t n);
    void (*sync)(sp_backend *b);                            /* wait for queued work */
    /* Optional (NULL: operations never fail): 0, or -1 with the error
     * recorded when an operation failed since the backend was made (a GPU
     * runs them asynchronously; the executor calls it after every pass). */
    int (*check)(sp_backend *b);
    void (*destroy)(sp_backend *b);

    /* convolution: out N,K,OH,OW; in N,C,H,W; w K,C/groups,KH,KW; bias K or NULL */
    void (*conv_fwd)(sp_backend *b, float *out, const float *in, const float *w,
                     const float *bias, const sp_conv_shape *s);
    sp_conv_bwd_data_fn *conv_bwd_data;
    void (*conv_bwd_filter)(sp_backend *b, float *dw /* += */, float *dbias /* += or NULL */,
                            const float *dout, const float *in, const sp_conv_shape *s);

    /* batch norm over (N, C, HW); the running statistics update as PyTorch's
     * (unbiased variance, momentum); save_mean / save_invstd are C floats
     * kept for backward.
     * bn_fwd_train: out = act(bn(in) + res), the statistics in's; res (as
     * out) NULL for none, act an sp_act or -1 for none: the same bits as
     * bn alone followed by add_fwd and act_fwd, in one pass over memory. */
    sp_bn_fwd_train_fn *bn_fwd_train;
    sp_bn_fwd_infer_fn *bn_fwd_infer;
    /* bn_fwd_saved: out again from in and the statistics a training
     * forward (bn_fwd_train or bn_fwd_sums) saved, then act (an sp_act, or
     * -1 for none) applied: equal bit for bit to that forward's out with
     * no res and the same act (or after act_fwd), so that a training executor may drop the output and
     * recompute it for the backward pass.  Optional (NULL: the executor
     * keeps every batch norm's output).
     * bn_act_bwd: act_bwd of act(bn(in)) without that output: din = dout
     * where act passes the value bn_fwd_saved gives, 0 elsewhere (din may
     * be dout).  Optional (NULL: the executor recomputes the output). */
    sp_bn_fwd_saved_fn *bn_fwd_saved;
    sp_bn_act_bwd_fn *bn_act_bwd;
    /* bn_bwd: din may be dout */
    sp_bn_bwd_fn *bn_bwd;

    /* Batch norm across processes (data-parallel training, sp/dist.h): the
     * training passes split at their per-channel sums, which are added up
     * over the processes in between.  sums are 2 x C doubles of device
     * memory, overwritten; count is the values per channel over all
     * processes.  Either all four members or none.
     *   bn_sums:          sums = (sum x, sum x^2) of this process's values
     *   bn_fwd_sums:      bn_fwd_train with the mean and biased variance of
     *                     the summed statistics
     *   bn_bwd_sums:      sums = (sum dout, sum dout * xhat)
     *   bn_bwd_from_sums: bn_bwd with the summed `global` sums for din (which
     *                     may be dout), and
     *                     dgamma += local[C + c], dbeta += local[c] (this
     *                     process's share, so that summing the parameter
     *                     gradients over the processes counts each once) */
    sp_bn_sums_fn *bn_sums;
    sp_bn_fwd_sums_fn *bn_fwd_sums;
    sp_bn_bwd_sums_fn *bn_bwd_sums;
    sp_bn_bwd_from_sums_fn *bn_bwd_from_sums;

    /* max pooling; ws is the backend's opaque workspace of maxpool_ws_bytes
     * (NULL in inference) */
    size_t (*maxpool_ws_bytes)(sp_backend *b, const sp_pool_shape *s);
    sp_maxpool_fwd_fn *maxpool_fwd;
    sp_maxpool_bwd_fn *maxpool_bwd;
    /* average pooling, padding counted in the divisor (PyTorch's default) */
    void (*avgpool_fwd)(sp_backend *b, float *out, const float *in, const sp_pool_shape *s);
    sp_pool_bwd_fn *avgpool_bwd;
    /* adaptive average pooling to oh x ow (kh.. ignored) */
    void (*adaptive_avgpool_fwd)(sp_backend *b, float *out, const float *in, const sp_pool_shape *s);
    sp_pool_bwd_fn *adaptive_avgpool_bwd;

    /* linear: out N,O = in N,I . w(O,I)^T + bias */
    void (*linear_fwd)(sp_backend *b, float *out, const float *in, const float *w,
                       const float *bias, int n, int in_f, int out_f);
    void (*linear_bwd_data)(sp_backend *b, float *din /* = */, const float *dout, const float *w,
                            int n, int in_f, int out_f);
    void (*linear_bwd_weight)(sp_backend *b, float *dw /* += */, float *dbias /* += or NULL */,
                              const float *dout, const float *in, int n, int in_f, int out_f);

    /* elementwise */
    void (*act_fwd)(sp_backend *b, sp_act act, float *out, const float *in, size_t n);
    /* din may be dout (the executor passes a gradient buffer on) */
    void (*act_bwd)(sp_backend *b, sp_act act, float *din /* = */, const float *dout,
                    const float *in, size_t n);
    void (*add_fwd)(sp_backend *b, float *out, const float *x, const float *y, size_t n);

    /* channel mask: out[n,c,i] = in[n,c,i] * m[c] */
    void (*mask_fwd)(sp_backend *b, float *out, const float *in, const float *m, int n, int c, int hw);
    sp_mask_bwd_fn *mask_bwd;

    /* option-A shortcut: out N,(lo+C+hi),OH,OW from in[:, :, ::sh, ::sw] */
    void (*pad_shortcut_fwd)(sp_backend *b, float *out, const float *in, int n, int c, int h, int w,
                             int sh, int sw, int lo, int hi);
    sp_pad_shortcut_bwd_fn *pad_shortcut_bwd;

    /* dropout: keep is a float buffer of n entries the forward fills with
     * 0 or 1/(1-p): entries [first, first + n) of the draw keyed by (seed,
     * counter) (first > 0: a process's share of a batch, sp/dist.h);
     * backward multiplies by it */
    void (*dropout_fwd)(sp_backend *b, float *out, float *keep, const float *in, size_t n,
                        float p, uint64_t seed, uint64_t counter, size_t first);
    void (*dropout_bwd)(sp_backend *b, float *din /* = */, const float *dout, const float *keep, size_t n);

    /* softmax cross-entropy, mean over the batch.  labels are int32 on the
     * device; loss (one float on the device) = mean NLL; dlogits = its
     * gradient times `scale` (overwritten). */
    void (*xent)(sp_backend *b, float *loss, float *dlogits, const float *logits,
                 const int32_t *labels, int n, int classes, float scale);

    /* SGD as torch.optim.SGD (dampening 0): d = g + wd*w; v = mu*v + d;
     * d = nesterov ? d + mu*v : v; w -= lr*d */
    void (*sgd)(sp_backend *b, float *w, const float *g, float *v, size_t n,
                float lr, float momentum, float weight_decay, int nesterov);

    /* The pruning stage (sp-method(7), STEPS). */
    /* x[i] = std * N(0,1), counter-based (rules_priv.h: sp_normal_range):
     * the same (seed, counter) gives the same values on every backend and
     * for any thread count (overwrites). */
    void (*fill_normal)(sp_backend *b, float *x, size_t n, float std, uint64_t seed,
                        uint64_t counter);
    /* Connection sensitivity of a layer, S = |w * dw| with w and dw laid out
     * K,C,KHW (a linear layer: KHW = 1): map[k,q] = sum_c S[k,c,q] and
     * score[k] = sum_q map[k,q] (both overwritten). */
    void (*conn_sens)(sp_backend *b, float *score /* K */, float *map /* K,KHW */,
                      const float *w, const float *dw, int k, int c, int khw);

    /* Optional (NULL when the backend lacks it; the executor then calls
     * conv_fwd and act_fwd): convolution forward with the activation
     * applied to its output, as conv_fwd followed by act_fwd in place. */
    void (*conv_fwd_act)(sp_backend *b, float *out, const float *in, const float *w,
                         const float *bias, const sp_conv_shape *s, sp_act act);

    /* Optional, both or neither (inference only): a convolution whose
     * output only another convolution reads may hand it over in the
     * backend's own layout, which saves converting it to NCHW and back.
     * conv_chain says whether producer a's own output layout is consumer
     * c's own input layout and fits in `bytes` (act: an sp_act or -1 for
     * none; bias: whether a bias is given).  conv_fwd_own is conv_fwd_act
     * (conv_fwd when act < 0) with its input (own & SP_OWN_IN) and/or its
     * output (own & SP_OWN_OUT) in that layout. */
    int (*conv_chain)(sp_backend *b, const sp_conv_shape *a, int a_bias, int a_act,
                      const sp_conv_shape *c, int c_bias, int c_act, size_t bytes);
    void (*conv_fwd_own)(sp_backend *b, float *out, const float *in, const float *w,
                         const float *bias, const sp_conv_shape *s, int act, int own);

    sp_nhwc_ops nhwc;   /* optional: all NULL when the backend has none */
    sp_nhwc_train_ops nhwc_train;   /* optional, likewise */
};

enum { SP_OWN_IN = 1, SP_OWN_OUT = 2 };

/* Backends by name: "ref", "cpu", "cuda" (GPU 0), "cuda:N" or "auto" (a
 * GPU when one can be used, else cpu); NULL with an error when the name is
 * unknown or the device is not available.  The CUDA backend is a plug-in
 * (backend_load.c) opened on first use. */
sp_backend *sp_backend_create(const char *name);
/* Whether "auto" would choose a GPU. */
int sp_backend_have_gpu(void);
/* The device sp_backend_create(name) runs on, "ref", "cpu" or "cuda:N",
 * written to buf (n bytes); NULL for a name it does not know. */
const char *sp_backend_device(const char *name, char *buf, size_t n);
void sp_backend_destroy(sp_backend *b);

sp_backend *sp_ref_backend_create(void);
sp_backend *sp_cpu_backend_create(void);   /* oneDNN */

#endif
