/* cpu_nhwc.c: channels-last (N,H,W,C) inference, apart from the
 * convolution itself (cpu_conv.c: conv_fwd_nhwc).
 *
 * Where oneDNN runs a network's convolutions on channels-last data, the
 * executor keeps the activations so from the first convolution to the
 * global pool, instead of converting every convolution's input and output
 * (sp/backend.h, "channels-last inference").  These are the operations
 * between the convolutions in that order.  Each computes the same floats
 * in the same order as its NCHW twin in cpu_pool.c / cpu_elementwise.c,
 * only with the channel innermost, so that the loops run along it. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "sp/base.h"
#include "cpu_priv.h"
#include "../bn_stats_priv.h"
#include "../pool_window_priv.h"

enum { REORDER_KEY = 100 };

typedef struct reorder_plan {
    dnnl_primitive_t re;
    dnnl_memory_t from, to;
} reorder_plan;

static void reorder_drop(void *v)
{
    reorder_plan *p = v;
    if (p->re)
        dnnl_primitive_destroy(p->re);
    if (p->from)
        dnnl_memory_destroy(p->from);
    if (p->to)
        dnnl_memory_destroy(p->to);
    free(p);
}

/* A plain loop where oneDNN gives no reorder (never seen, but kept). */
static void reorder_loop(float *out, const float *in, int n, int c, int hw, int to_nhwc)
{
    size_t chw = (size_t)c * hw;
    #pragma omp parallel for if ((size_t)n * chw >= SP_CPU_PAR_MIN) schedule(static)
    for (int i = 0; i < n; i++)
        for (int ch = 0; ch < c; ch++)
            for (int p = 0; p < hw; p++) {
                size_t nchw = i * chw + (size_t)ch * hw + p, nhwc = i * chw + (size_t)p * c + ch;
                if (to_nhwc)
                    out[nhwc] = in[nchw];
                else
                    out[nchw] = in[nhwc];
            }
}

void sp_cpu_nhwc_reorder(sp_backend *b, float *out, const float *in, int n, int c, int h,
                         int w, int to_nhwc)
{
    sp_cpu_ctx *x = b->ctx;
    int key[SP_CPU_KEY_LEN] = {REORDER_KEY, n, c, h, w, to_nhwc};
    reorder_plan *p = sp_cpu_cache_get(x, key);
    if (!p) {
        dnnl_memory_desc_t nchw, nhwc;
        dnnl_dims_t d = {n, c, h, w};
        p = sp_xcalloc(1, sizeof *p);
        dnnl_memory_desc_init_by_tag(&nchw, 4, d, dnnl_f32, dnnl_nchw);
        dnnl_memory_desc_init_by_tag(&nhwc, 4, d, dnnl_f32, dnnl_nhwc);
        const dnnl_memory_desc_t *from = to_nhwc ? &nchw : &nhwc, *to = to_nhwc ? &nhwc : &nchw;
        if (sp_cpu_reorder_create(&p->re, x->engine, from, to, 0) != dnnl_success ||
            dnnl_memory_create(&p->from, from, x->engine, DNNL_MEMORY_NONE) != dnnl_success ||
            dnnl_memory_create(&p->to, to, x->engine, DNNL_MEMORY_NONE) != dnnl_success) {
            reorder_drop(p);
            p = sp_xcalloc(1, sizeof *p);
        }
        sp_cpu_cache_put(x, key, p, reorder_drop);
    }
    if (!p->re) {
        reorder_loop(out, in, n, c, h * w, to_nhwc);
        return;
    }
    dnnl_memory_set_data_handle(p->from, (void *)in);
    dnnl_memory_set_data_handle(p->to, out);
    dnnl_exec_arg_t ra[2] = {{DNNL_ARG_FROM, p->from}, {DNNL_ARG_TO, p->to}};
    dnnl_primitive_execute(p->re, x->stream, 2, ra);
    dnnl_stream_wait(x->stream);
}

/* A shape oneDNN refuses channels-last: through NCHW (slow but right). */
void sp_cpu_conv_nhwc_fallback(sp_backend *b, float *out, const float *in, const float *w,
                               const float *bias, const sp_conv_shape *s, int act, int flags)
{
    size_t nin = (size_t)s->n * s->c * s->h * s->w, nout = (size_t)s->n * s->k * s->oh * s->ow;
    float *a = NULL, *y = sp_xmalloc(nout * sizeof *y), *z = sp_xmalloc(nout * sizeof *z);
    if (!(flags & SP_NHWC_IN_NCHW)) {
        a = sp_xmalloc(nin * sizeof *a);
        sp_cpu_nhwc_reorder(b, a, in, s->n, s->c, s->h, s->w, 0);
    }
    sp_cpu_conv_fwd(b, y, a ? a : in, w, bias, s);
    sp_cpu_nhwc_reorder(b, z, y, s->n, s->k, s->oh, s->ow, 1);
    if (flags & SP_NHWC_SUM)
        sp_cpu_accumulate(b, out, z, nout);
    else
        b->copy(b, out, z, nout * sizeof *z);
    if (act >= 0)
        sp_cpu_act_fwd(b, (sp_act)act, out, out, nout);
    free(a);
    free(y);
    free(z);
}

/* One output position's channels: max over the window in scan order, a
 * NaN taken over a number and then kept (cpu_pool.c's rule per channel);
 * a window of padding only gives -inf. */
static void max_window(float *o, const float *in, const sp_pool_shape *s, sp_pool_span r,
                       sp_pool_span q)
{
    int c = s->c;
    for (int ch = 0; ch < c; ch++)
        o[ch] = -INFINITY;
    int first = 1;
    for (int y = r.lo; y < r.hi; y++)
        for (int x = q.lo; x < q.hi; x++, first = 0) {
            const float *v = in + ((size_t)y * s->w + x) * c;
            #pragma omp simd
            for (int ch = 0; ch < c; ch++) {
                float m = o[ch];
                int take = first | sp_pool_max_takes(v[ch], m);
                o[ch] = take ? v[ch] : m;
            }
        }
}

/* Average windows: the sum in the same order as cpu_pool.c, then one
 * division, so the floats are the NCHW ones. */
static void mean_window(float *o, const float *in, const sp_pool_shape *s, sp_pool_span r,
                        sp_pool_span q)
{
    int c = s->c;
    for (int ch = 0; ch < c; ch++)
        o[ch] = 0.0f;
    for (int y = r.lo; y < r.hi; y++)
        for (int x = q.lo; x < q.hi; x++) {
            const float *v = in + ((size_t)y * s->w + x) * c;
            #pragma omp simd
            for (int ch = 0; ch < c; ch++)
                o[ch] += v[ch];
        }
    float d = (float)(r.len * q.len);
    for (int ch = 0; ch < c; ch++)
        o[ch] /= d;
}

static void pool_nhwc(float *out, const float *in, const sp_pool_shape *s, sp_pool_kind kind)
{
    size_t rows = (size_t)s->n * s->oh, plane = (size_t)s->h * s->w * s->c;
    #pragma omp parallel for if (rows * s->ow * s->c * 4 >= SP_CPU_PAR_MIN) schedule(static)
    for (size_t row = 0; row < rows; row++) {
        size_t n = row / (size_t)s->oh;
        int oy = (int)(row % (size_t)s->oh);
        sp_pool_span r = sp_pool_rows(s, kind, oy);
        for (int ox = 0; ox < s->ow; ox++) {
            sp_pool_span q = sp_pool_cols(s, kind, ox);
            float *o = out + (row * s->ow + ox) * s->c;
            if (kind == SP_POOL_MAX)
                max_window(o, in + n * plane, s, r, q);
            else
                mean_window(o, in + n * plane, s, r, q);
        }
    }
}

void sp_cpu_maxpool_fwd_nhwc(sp_backend *b, float *out, const float *in, const sp_pool_shape *s)
{
    (void)b;
    pool_nhwc(out, in, s, SP_POOL_MAX);
}

void sp_cpu_avgpool_fwd_nhwc(sp_backend *b, float *out, const float *in, const sp_pool_shape *s)
{
    (void)b;
    pool_nhwc(out, in, s, SP_POOL_AVG);
}

void sp_cpu_adaptive_avgpool_fwd_nhwc(sp_backend *b, float *out, const float *in,
                                      const sp_pool_shape *s)
{
    (void)b;
    pool_nhwc(out, in, s, SP_POOL_ADAPTIVE);
}

/* out[n, y, x, lo + ch] = in[n, y*sh, x*sw, ch]; the other channels 0. */
void sp_cpu_pad_shortcut_fwd_nhwc(sp_backend *b, float *out, const float *in, int n, int c,
                                  int h, int w, int sh, int sw, int lo, int hi)
{
    int oh = (h + sh - 1) / sh, ow = (w + sw - 1) / sw, k = lo + c + hi;
    size_t rows = (size_t)n * oh;
    (void)b;
    #pragma omp parallel for if (rows * ow * k >= SP_CPU_PAR_MIN) schedule(static)
    for (size_t row = 0; row < rows; row++) {
        size_t i = row / (size_t)oh;
        int y = (int)(row % (size_t)oh);
        for (int x = 0; x < ow; x++) {
            float *o = out + (row * ow + x) * k;
            const float *v = in + (((i * h) + (size_t)y * sh) * w + (size_t)x * sw) * c;
            memset(o, 0, (size_t)lo * sizeof *o);
            memcpy(o + lo, v, (size_t)c * sizeof *o);
            memset(o + lo + c, 0, (size_t)hi * sizeof *o);
        }
    }
}

/* out[p, ch] = in[p, ch] * m[ch] for every position p of every sample. */
void sp_cpu_mask_fwd_nhwc(sp_backend *b, float *out, const float *in, const float *m, int n,
                          int c, int hw)
{
    size_t pos = (size_t)n * hw;
    (void)b;
    #pragma omp parallel for if (pos * c >= SP_CPU_PAR_MIN) schedule(static)
    for (size_t p = 0; p < pos; p++)
        for (int ch = 0; ch < c; ch++)
            out[p * c + ch] = in[p * c + ch] * m[ch];
}

/* Evaluation mode's batch norm (a training executor's evaluation pass):
 * the per-channel scale and shift of cpu_bn.c, applied along the rows. */
void sp_cpu_bn_fwd_infer_nhwc(sp_backend *b, float *out, const float *in, const float *gamma,
                              const float *beta, const float *mean, const float *var, int n,
                              int c, int hw, float eps)
{
    float *scale = sp_xmalloc(2 * (size_t)c * sizeof *scale), *shift = scale + c;
    size_t pos = (size_t)n * hw;
    (void)b;
    for (int ch = 0; ch < c; ch++)
        sp_bn_infer_affine(&scale[ch], &shift[ch], gamma, beta, mean, var, ch, eps);
    #pragma omp parallel for if (pos * c >= SP_CPU_PAR_MIN) schedule(static)
    for (size_t p = 0; p < pos; p++) {
        #pragma omp simd
        for (int ch = 0; ch < c; ch++)
            out[p * c + ch] = in[p * c + ch] * scale[ch] + shift[ch];
    }
    free(scale);
}
