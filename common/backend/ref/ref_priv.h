/* ref_priv.h: the reference backend's operations, shared between its files.
 *
 * Each function is the plain-C definition of one member of struct
 * sp_backend (see sp/backend.h for the contract).  Every sum is accumulated
 * in double and rounded to float once, so these are the oracle the fast
 * backends are compared with.  They touch host memory only, so the CPU
 * backend may call them directly for operations it has no faster kernel for.
 *
 * Gradients: activation gradients (din) are overwritten (=); parameter
 * gradients (dw, dbias, dgamma, dbeta, dm) are accumulated (+=). */
#ifndef SP_REF_H
#define SP_REF_H

#include "sp/backend.h"

/* ref_mem.c */
void *sp_ref_alloc(sp_backend *b, size_t bytes);
void sp_ref_free(sp_backend *b, void *p);
void sp_ref_upload(sp_backend *b, void *dst, const void *host, size_t bytes);
void sp_ref_download(sp_backend *b, void *host, const void *src, size_t bytes);
void sp_ref_copy(sp_backend *b, void *dst, const void *src, size_t bytes);
void sp_ref_fill(sp_backend *b, float *dst, float value, size_t n);
void sp_ref_accumulate(sp_backend *b, float *dst, const float *src, size_t n);
void sp_ref_scale(sp_backend *b, float *x, float alpha, size_t n);
void sp_ref_sync(sp_backend *b);
void sp_ref_destroy(sp_backend *b);

/* ref_conv.c */
void sp_ref_conv_fwd(sp_backend *b, float *out, const float *in, const float *w,
                     const float *bias, const sp_conv_shape *s);
void sp_ref_conv_fwd_act(sp_backend *b, float *out, const float *in, const float *w,
                         const float *bias, const sp_conv_shape *s, sp_act act);
void sp_ref_conv_bwd_data(sp_backend *b, float *din, const float *dout,
                          const float *w, const sp_conv_shape *s);
void sp_ref_conv_bwd_filter(sp_backend *b, float *dw, float *dbias,
                            const float *dout, const float *in, const sp_conv_shape *s);

/* ref_bn.c */
sp_bn_fwd_train_fn sp_ref_bn_fwd_train;
void sp_ref_bn_fwd_saved(sp_backend *b, float *out, const float *in, const float *gamma,
                         const float *beta, const float *save_mean, const float *save_invstd,
                         int n, int c, int hw, int act);
void sp_ref_bn_act_bwd(sp_backend *b, sp_act act, float *din, const float *dout,
                       const float *in, const float *gamma, const float *beta,
                       const float *save_mean, const float *save_invstd, int n, int c, int hw);
void sp_ref_bn_fwd_infer(sp_backend *b, float *out, const float *in,
                         const float *gamma, const float *beta,
                         const float *mean, const float *var,
                         int n, int c, int hw, float eps);
void sp_ref_bn_bwd(sp_backend *b, float *din, float *dgamma, float *dbeta,
                   const float *dout, const float *in, const float *gamma,
                   const float *save_mean, const float *save_invstd, int n, int c, int hw);

/* ref_pool.c */
size_t sp_ref_maxpool_ws_bytes(sp_backend *b, const sp_pool_shape *s);
void sp_ref_maxpool_fwd(sp_backend *b, float *out, void *ws, const float *in,
                        const sp_pool_shape *s);
void sp_ref_maxpool_bwd(sp_backend *b, float *din, const float *dout, const void *ws,
                        const float *in, const sp_pool_shape *s);
void sp_ref_avgpool_fwd(sp_backend *b, float *out, const float *in, const sp_pool_shape *s);
void sp_ref_avgpool_bwd(sp_backend *b, float *din, const float *dout, const sp_pool_shape *s);
void sp_ref_adaptive_avgpool_fwd(sp_backend *b, float *out, const float *in,
                                 const sp_pool_shape *s);
void sp_ref_adaptive_avgpool_bwd(sp_backend *b, float *din, const float *dout,
                                 const sp_pool_shape *s);

/* ref_linear.c */
void sp_ref_linear_fwd(sp_backend *b, float *out, const float *in, const float *w,
                       const float *bias, int n, int in_f, int out_f);
void sp_ref_linear_bwd_data(sp_backend *b, float *din, const float *dout, const float *w,
                            int n, int in_f, int out_f);
void sp_ref_linear_bwd_weight(sp_backend *b, float *dw, float *dbias, const float *dout,
                              const float *in, int n, int in_f, int out_f);

/* ref_elementwise.c */
void sp_ref_act_fwd(sp_backend *b, sp_act act, float *out, const float *in, size_t n);
void sp_ref_act_bwd(sp_backend *b, sp_act act, float *din, const float *dout,
                    const float *in, size_t n);
void sp_ref_add_fwd(sp_backend *b, float *out, const float *x, const float *y, size_t n);
void sp_ref_mask_fwd(sp_backend *b, float *out, const float *in, const float *m,
                     int n, int c, int hw);
void sp_ref_mask_bwd(sp_backend *b, float *din, float *dm, const float *dout,
                     const float *in, const float *m, int n, int c, int hw);
void sp_ref_pad_shortcut_fwd(sp_backend *b, float *out, const float *in, int n, int c,
                             int h, int w, int sh, int sw, int lo, int hi);
void sp_ref_pad_shortcut_bwd(sp_backend *b, float *din, const float *dout, int n, int c,
                             int h, int w, int sh, int sw, int lo, int hi);
void sp_ref_dropout_fwd(sp_backend *b, float *out, float *keep, const float *in, size_t n,
                        float p, uint64_t seed, uint64_t counter, size_t first);
void sp_ref_dropout_bwd(sp_backend *b, float *din, const float *dout, const float *keep,
                        size_t n);

/* ref_loss.c */
void sp_ref_xent(sp_backend *b, float *loss, float *dlogits, const float *logits,
                 const int32_t *labels, int n, int classes, float scale);

/* ref_stage.c */
void sp_ref_fill_normal(sp_backend *b, float *x, size_t n, float std, uint64_t seed,
                        uint64_t counter);
void sp_ref_conn_sens(sp_backend *b, float *score, float *map, const float *w, const float *dw,
                      int k, int c, int khw);

/* ref_sgd.c */
void sp_ref_sgd(sp_backend *b, float *w, const float *g, float *v, size_t n,
                float lr, float momentum, float weight_decay, int nesterov);

#endif
