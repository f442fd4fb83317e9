/* cpu_priv.h: the CPU backend's private state and operations, shared between
 * its files.
 *
 * The backend keeps NCHW float32 at its interface (sp/backend.h).
 * Convolution runs through oneDNN's C API, linear layers through
 * dnnl_sgemm; everything else is an OpenMP loop.  oneDNN primitives are
 * created once per shape and kept in a small hash table owned by the
 * context (a "plan"), so a training step creates nothing after the first.
 * Plans and the scratch buffers assume one caller at a time, as the
 * executor does. */
#ifndef SP_CPU_H
#define SP_CPU_H

#include <dnnl.h>
#include "sp/backend.h"

/* Loops shorter than this run on one thread: the fork costs more. */
#define SP_CPU_PAR_MIN 32768

/* A plan's key: the op and its shape, zero-padded. */
#define SP_CPU_KEY_LEN 16

/* Scratch buffers: one per tensor argument a plan may reorder, one for
 * oneDNN's scratchpad, one for a bias gradient. */
enum { SP_CPU_SCRATCH_ARG0, SP_CPU_SCRATCH_ARG1, SP_CPU_SCRATCH_ARG2,
       SP_CPU_SCRATCH_PAD, SP_CPU_SCRATCH_BIAS, SP_CPU_SCRATCH_N };

typedef struct sp_cpu_entry sp_cpu_entry;

typedef struct sp_cpu_ctx {
    dnnl_engine_t engine;
    dnnl_stream_t stream;
    sp_cpu_entry *buckets[256];
    void *scratch[SP_CPU_SCRATCH_N];
    size_t scratch_cap[SP_CPU_SCRATCH_N];
} sp_cpu_ctx;

/* cpu_cache.c: plans by key; put takes ownership and calls drop(val) when
 * the context is destroyed. */
void *sp_cpu_cache_get(sp_cpu_ctx *x, const int key[SP_CPU_KEY_LEN]);
void sp_cpu_cache_put(sp_cpu_ctx *x, const int key[SP_CPU_KEY_LEN], void *val,
                      void (*drop)(void *));
void sp_cpu_cache_clear(sp_cpu_ctx *x);
/* A scratch buffer of at least bytes (contents not kept when it grows). */
void *sp_cpu_scratch(sp_cpu_ctx *x, int slot, size_t bytes);

/* cpu_mem.c (free, upload, download, copy and sync are the reference
 * backend's: both keep device memory in host memory) */
void *sp_cpu_alloc(sp_backend *b, size_t bytes);
void sp_cpu_fill(sp_backend *b, float *dst, float value, size_t n);
void sp_cpu_accumulate(sp_backend *b, float *dst, const float *src, size_t n);
void sp_cpu_scale(sp_backend *b, float *x, float alpha, size_t n);

/* cpu_conv.c; a reorder adds into its destination when sum is set */
dnnl_status_t sp_cpu_reorder_create(dnnl_primitive_t *re, dnnl_engine_t eng,
                                    const dnnl_memory_desc_t *from,
                                    const dnnl_memory_desc_t *to, int sum);
void sp_cpu_conv_fwd(sp_backend *b, float *out, const float *in, const float *w,
                     const float *bias, const sp_conv_shape *s);
void sp_cpu_conv_fwd_act(sp_backend *b, float *out, const float *in, const float *w,
                         const float *bias, const sp_conv_shape *s, sp_act act);
int sp_cpu_conv_chain(sp_backend *b, const sp_conv_shape *a, int a_bias, int a_act,
                      const sp_conv_shape *c, int c_bias, int c_act, size_t bytes);
void sp_cpu_conv_fwd_own(sp_backend *b, float *out, const float *in, const float *w,
                         const float *bias, const sp_conv_shape *s, int act, int own);
void sp_cpu_conv_bwd_data(sp_backend *b, float *din, const float *dout,
                          const float *w, const sp_conv_shape *s);
void sp_cpu_conv_bwd_filter(sp_backend *b, float *dw, float *dbias,
                            const float *dout, const float *in, const sp_conv_shape *s);

void sp_cpu_conv_fwd_nhwc(sp_backend *b, float *out, const float *in, const float *w,
                          const float *bias, const sp_conv_shape *s, int act, int flags);
int sp_cpu_conv_nhwc_preferred(sp_backend *b, const sp_conv_shape *s);

/* cpu_narrow.c: conv_fwd_nhwc with at most 8 outputs on AVX-512 */
int sp_cpu_conv_narrow_fits(const sp_conv_shape *s, int flags);
void sp_cpu_conv_narrow(sp_backend *b, float *out, const float *in, const float *w,
                        const float *bias, const sp_conv_shape *s, int act, int flags);
/* cpu_nhwc.c */
void sp_cpu_nhwc_reorder(sp_backend *b, float *out, const float *in, int n, int c, int h,
                         int w, int to_nhwc);
void sp_cpu_conv_nhwc_fallback(sp_backend *b, float *out, const float *in, const float *w,
                               const float *bias, const sp_conv_shape *s, int act, int flags);
void sp_cpu_maxpool_fwd_nhwc(sp_backend *b, float *out, const float *in, const sp_pool_shape *s);
void sp_cpu_avgpool_fwd_nhwc(sp_backend *b, float *out, const float *in, const sp_pool_shape *s);
void sp_cpu_adaptive_avgpool_fwd_nhwc(sp_backend *b, float *out, const float *in,
                                      const sp_pool_shape *s);
void sp_cpu_pad_shortcut_fwd_nhwc(sp_backend *b, float *out, const float *in, int n, int c,
                                  int h, int w, int sh, int sw, int lo, int hi);
void sp_cpu_mask_fwd_nhwc(sp_backend *b, float *out, const float *in, const float *m, int n,
                          int c, int hw);
void sp_cpu_bn_fwd_infer_nhwc(sp_backend *b, float *out, const float *in, const float *gamma,
                              const float *beta, const float *mean, const float *var, int n,
                              int c, int hw, float eps);

/* cpu_conv.c: channels-last training */
void sp_cpu_conv_bwd_data_nhwc(sp_backend *b, float *din, const float *dout, const float *w,
                               const sp_conv_shape *s);
void sp_cpu_conv_bwd_filter_nhwc(sp_backend *b, float *dw, float *dbias, const float *dout,
                                 const float *in, const sp_conv_shape *s, int flags);

/* cpu_bn_nhwc.c: batch norm on channels-last data */
sp_bn_fwd_train_fn sp_cpu_bn_fwd_train_nhwc;
void sp_cpu_bn_fwd_saved_nhwc(sp_backend *b, float *out, const float *in, const float *gamma,
                              const float *beta, const float *save_mean,
                              const float *save_invstd, int n, int c, int hw, int act);
void sp_cpu_bn_act_bwd_nhwc(sp_backend *b, sp_act act, float *din, const float *dout,
                            const float *in, const float *gamma, const float *beta,
                            const float *save_mean, const float *save_invstd, int n, int c,
                            int hw);
void sp_cpu_bn_bwd_nhwc(sp_backend *b, float *din, float *dgamma, float *dbeta,
                        const float *dout, const float *in, const float *gamma,
                        const float *save_mean, const float *save_invstd, int n, int c, int hw);
sp_bn_sums_fn sp_cpu_bn_sums_nhwc;
sp_bn_fwd_sums_fn sp_cpu_bn_fwd_sums_nhwc;
sp_bn_bwd_sums_fn sp_cpu_bn_bwd_sums_nhwc;
sp_bn_bwd_from_sums_fn sp_cpu_bn_bwd_from_sums_nhwc;

/* cpu_nhwc_bwd.c: the backward passes of cpu_nhwc.c's operations */
void sp_cpu_maxpool_fwd_train_nhwc(sp_backend *b, float *out, void *ws, const float *in,
                                   const sp_pool_shape *s);
void sp_cpu_maxpool_bwd_nhwc(sp_backend *b, float *din, const float *dout, const void *ws,
                             const float *in, const sp_pool_shape *s);
void sp_cpu_avgpool_bwd_nhwc(sp_backend *b, float *din, const float *dout,
                             const sp_pool_shape *s);
void sp_cpu_adaptive_avgpool_bwd_nhwc(sp_backend *b, float *din, const float *dout,
                                      const sp_pool_shape *s);
void sp_cpu_pad_shortcut_bwd_nhwc(sp_backend *b, float *din, const float *dout, int n, int c,
                                  int h, int w, int sh, int sw, int lo, int hi);
void sp_cpu_mask_bwd_nhwc(sp_backend *b, float *din, float *dm, const float *dout,
                          const float *in, const float *m, int n, int c, int hw);

/* cpu_bn.c */
sp_bn_fwd_train_fn sp_cpu_bn_fwd_train;
/* A batch norm's value from the saved statistics, centred first so that
 * a large mean does not cancel; every loop that forms it calls this. */
static inline float sp_cpu_bn_value(float x, float mean, float scale, float beta)
{
    return (x - mean) * scale + beta;
}
void sp_cpu_bn_channel(float *out, const float *in, const float *res, const float *gamma,
                       const float *beta, const float *save_mean, const float *save_invstd,
                       int ch, int n, int c, int hw, int act);
void sp_cpu_bn_fwd_saved(sp_backend *b, float *out, const float *in, const float *gamma,
                         const float *beta, const float *save_mean, const float *save_invstd,
                         int n, int c, int hw, int act);
void sp_cpu_bn_act_bwd(sp_backend *b, sp_act act, float *din, const float *dout,
                       const float *in, const float *gamma, const float *beta,
                       const float *save_mean, const float *save_invstd, int n, int c, int hw);
void sp_cpu_bn_fwd_infer(sp_backend *b, float *out, const float *in,
                         const float *gamma, const float *beta,
                         const float *mean, const float *var,
                         int n, int c, int hw, float eps);
void sp_cpu_bn_bwd(sp_backend *b, float *din, float *dgamma, float *dbeta,
                   const float *dout, const float *in, const float *gamma,
                   const float *save_mean, const float *save_invstd, int n, int c, int hw);

/* cpu_bn_sums.c */
void sp_cpu_bn_sums(sp_backend *b, double *sums, const float *in, int n, int c, int hw);
void sp_cpu_bn_fwd_sums(sp_backend *b, float *out, float *save_mean, float *save_invstd,
                        float *running_mean, float *running_var, const float *in,
                        const float *gamma, const float *beta, const double *sums,
                        double count, int n, int c, int hw, float eps, float momentum);
void sp_cpu_bn_bwd_sums(sp_backend *b, double *sums, const float *dout, const float *in,
                        const float *save_mean, const float *save_invstd, int n, int c, int hw);
void sp_cpu_bn_bwd_from_sums(sp_backend *b, float *din, float *dgamma, float *dbeta,
                             const float *dout, const float *in, const float *gamma,
                             const float *save_mean, const float *save_invstd,
                             const double *local, const double *global, double count,
                             int n, int c, int hw);

/* cpu_pool.c */
size_t sp_cpu_maxpool_ws_bytes(sp_backend *b, const sp_pool_shape *s);
void sp_cpu_maxpool_fwd(sp_backend *b, float *out, void *ws, const float *in,
                        const sp_pool_shape *s);
void sp_cpu_maxpool_bwd(sp_backend *b, float *din, const float *dout, const void *ws,
                        const float *in, const sp_pool_shape *s);
void sp_cpu_avgpool_fwd(sp_backend *b, float *out, const float *in, const sp_pool_shape *s);
void sp_cpu_avgpool_bwd(sp_backend *b, float *din, const float *dout, const sp_pool_shape *s);
void sp_cpu_adaptive_avgpool_fwd(sp_backend *b, float *out, const float *in,
                                 const sp_pool_shape *s);
void sp_cpu_adaptive_avgpool_bwd(sp_backend *b, float *din, const float *dout,
                                 const sp_pool_shape *s);

/* cpu_linear.c */
void sp_cpu_linear_fwd(sp_backend *b, float *out, const float *in, const float *w,
                       const float *bias, int n, int in_f, int out_f);
void sp_cpu_linear_bwd_data(sp_backend *b, float *din, const float *dout, const float *w,
                            int n, int in_f, int out_f);
void sp_cpu_linear_bwd_weight(sp_backend *b, float *dw, float *dbias, const float *dout,
                              const float *in, int n, int in_f, int out_f);

/* cpu_elementwise.c */
void sp_cpu_act_fwd(sp_backend *b, sp_act act, float *out, const float *in, size_t n);
void sp_cpu_act_bwd(sp_backend *b, sp_act act, float *din, const float *dout,
                    const float *in, size_t n);
void sp_cpu_add_fwd(sp_backend *b, float *out, const float *x, const float *y, size_t n);
void sp_cpu_mask_fwd(sp_backend *b, float *out, const float *in, const float *m,
                     int n, int c, int hw);
void sp_cpu_mask_bwd(sp_backend *b, float *din, float *dm, const float *dout,
                     const float *in, const float *m, int n, int c, int hw);
void sp_cpu_pad_shortcut_fwd(sp_backend *b, float *out, const float *in, int n, int c,
                             int h, int w, int sh, int sw, int lo, int hi);
void sp_cpu_pad_shortcut_bwd(sp_backend *b, float *din, const float *dout, int n, int c,
                             int h, int w, int sh, int sw, int lo, int hi);
void sp_cpu_dropout_fwd(sp_backend *b, float *out, float *keep, const float *in, size_t n,
                        float p, uint64_t seed, uint64_t counter, size_t first);
void sp_cpu_dropout_bwd(sp_backend *b, float *din, const float *dout, const float *keep,
                        size_t n);

/* cpu_stage.c */
void sp_cpu_fill_normal(sp_backend *b, float *x, size_t n, float std, uint64_t seed,
                        uint64_t counter);
void sp_cpu_conn_sens(sp_backend *b, float *score, float *map, const float *w, const float *dw,
                      int k, int c, int khw);

/* cpu_loss.c */
void sp_cpu_xent(sp_backend *b, float *loss, float *dlogits, const float *logits,
                 const int32_t *labels, int n, int classes, float scale);
void sp_cpu_sgd(sp_backend *b, float *w, const float *g, float *v, size_t n,
                float lr, float momentum, float weight_decay, int nesterov);

#endif
