/* cpu_conv.c: convolution forward, backward-data and backward-weights on
 * oneDNN, groups and depthwise included.
 *
 * oneDNN picks its own layouts (format "any": blocked nChw8c and friends
 * on AVX2), which are much faster than plain NCHW kernels; the plan
 * reorders NCHW inputs into scratch buffers and the result back.  Weights
 * are reordered on every call: caching them by pointer would go stale
 * after an SGD step, and in inference the reorders take about 1% of a pass.
 *
 *   conv_fwd:        out overwritten (bias added when given).
 *   conv_fwd_act:    the same with ReLU or ReLU6 fused as a post-op.
 *   conv_fwd_own:    either, its input and/or output left in the layout
 *                    oneDNN chose, when conv_chain found that the
 *                    producer's output layout is the consumer's input one.
 *   conv_bwd_data:   din overwritten.
 *   conv_bwd_filter: dw and dbias accumulated (+=): oneDNN writes a scratch
 *                    buffer that is then reordered or added into them.
 *   *_nhwc:          the same on channels-last activations, used as they
 *                    are (sp_nhwc_ops, sp_nhwc_train_ops).
 *
 * A shape oneDNN refuses runs on the reference backend's loops: slow but
 * right.  A channels-last one of at most 8 outputs runs on AVX-512 in
 * cpu_narrow.c, whose vectors have no lanes idle where oneDNN's have half. */
#include <stdlib.h>
#include "sp/base.h"
#include "../ref/ref_priv.h"
#include "cpu_priv.h"

/* CONV_FWD_ACT: inference forward with the activation as a post-op,
 * applied while the output is still in cache.  CONV_FWD_NHWC: the same
 * with channels-last activations (the input may be NCHW) and optionally
 * the output's previous contents added before the activation. */
enum { CONV_FWD = 1, CONV_BWD_DATA, CONV_BWD_FILTER, CONV_FWD_ACT, CONV_FWD_NHWC };

/* What a plan computes beyond its shape: act is an sp_act or -1; sum only
 * for CONV_FWD_NHWC; nhwc: the activations are channels-last (always for
 * CONV_FWD_NHWC), the input NCHW when in_nchw. */
typedef struct conv_req {
    int dir, bias, act, sum, in_nchw, nhwc;
} conv_req;

static int is_fwd(int dir)
{
    return dir == CONV_FWD || dir == CONV_FWD_ACT || dir == CONV_FWD_NHWC;
}

typedef struct conv_arg {
    int id;                 /* DNNL_ARG_* */
    int out, acc;           /* written by the primitive; accumulated (+=) */
    dnnl_memory_t user;     /* NCHW at the interface; NULL when no reorder */
    dnnl_memory_t inner;    /* the layout the primitive chose */
    dnnl_primitive_t re;    /* user <-> inner, NULL when the layouts agree */
    size_t bytes;           /* of inner */
    int slot;               /* the scratch buffer of a reordered inner */
} conv_arg;

typedef struct conv_plan {
    dnnl_primitive_t prim;  /* NULL: oneDNN refused, use the reference */
    conv_arg arg[3];
    dnnl_memory_t bias;     /* bias (forward) or its gradient, or NULL */
    dnnl_memory_t pad;      /* the scratchpad, or NULL */
    size_t pad_bytes;
    int k;
} conv_plan;

static void plan_drop(void *v)
{
    conv_plan *p = v;
    if (p->prim)
        dnnl_primitive_destroy(p->prim);
    for (int i = 0; i < 3; i++) {
        if (p->arg[i].re)
            dnnl_primitive_destroy(p->arg[i].re);
        if (p->arg[i].user)
            dnnl_memory_destroy(p->arg[i].user);
        if (p->arg[i].inner)
            dnnl_memory_destroy(p->arg[i].inner);
    }
    if (p->bias)
        dnnl_memory_destroy(p->bias);
    if (p->pad)
        dnnl_memory_destroy(p->pad);
    free(p);
}

dnnl_status_t sp_cpu_reorder_create(dnnl_primitive_t *re, dnnl_engine_t eng,
                                    const dnnl_memory_desc_t *from,
                                    const dnnl_memory_desc_t *to, int sum)
{
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t ops = NULL;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_status_t st = dnnl_primitive_attr_create(&attr);
    if (st == dnnl_success && sum) {
        st = dnnl_post_ops_create(&ops);
        if (st == dnnl_success)
            st = dnnl_post_ops_append_sum(ops, 1.0f);
        if (st == dnnl_success)
            st = dnnl_primitive_attr_set_post_ops(attr, ops);
    }
    if (st == dnnl_success)
        st = dnnl_reorder_primitive_desc_create(&pd, from, eng, to, eng, attr);
    if (st == dnnl_success)
        st = dnnl_primitive_create(re, pd);
    if (pd)
        dnnl_primitive_desc_destroy(pd);
    if (ops)
        dnnl_post_ops_destroy(ops);
    if (attr)
        dnnl_primitive_attr_destroy(attr);
    return st;
}

/* An input is reordered user -> inner before the primitive, an output
 * inner -> user after it; an accumulated output in the user's own layout
 * is added by a loop instead. */
static dnnl_status_t arg_init(conv_arg *a, dnnl_engine_t eng, int id, int out, int acc,
                              const dnnl_memory_desc_t *user, const dnnl_memory_desc_t *inner)
{
    dnnl_status_t st;
    a->id = id;
    a->out = out;
    a->acc = acc;
    a->bytes = dnnl_memory_desc_get_size(inner);
    st = dnnl_memory_create(&a->inner, inner, eng, DNNL_MEMORY_NONE);
    if (st != dnnl_success || dnnl_memory_desc_equal(user, inner))
        return st;
    st = dnnl_memory_create(&a->user, user, eng, DNNL_MEMORY_NONE);
    if (st == dnnl_success)
        st = out ? sp_cpu_reorder_create(&a->re, eng, inner, user, acc)
                 : sp_cpu_reorder_create(&a->re, eng, user, inner, 0);
    return st;
}

/* Stride and padding as oneDNN wants them: the right padding is what
 * makes PyTorch's floored output size come out exactly (it may be
 * negative, down to 1 - stride, when the last window does not fit). */
typedef struct conv_geom { dnnl_dims_t st, pl, pr; } conv_geom;

static conv_geom geom(const sp_conv_shape *s)
{
    conv_geom g = {{s->sh, s->sw}, {s->ph, s->pw},
                   {(s->oh - 1) * s->sh + s->kh - s->h - s->ph,
                    (s->ow - 1) * s->sw + s->kw - s->w - s->pw}};
    return g;
}

/* The user's NCHW / (G)OIHW descriptions (u) and the "any" ones (a) that
 * let oneDNN choose. */
typedef struct conv_mds {
    dnnl_memory_desc_t src_u, wei_u, dst_u, bias, src_a, wei_a, dst_a;
} conv_mds;

static void describe(conv_mds *m, const sp_conv_shape *s, const conv_req *r)
{
    dnnl_dims_t sd = {s->n, s->c, s->h, s->w}, dd = {s->n, s->k, s->oh, s->ow}, bd = {s->k};
    dnnl_dims_t wd = {s->groups, s->k / s->groups, s->c / s->groups, s->kh, s->kw};
    int grouped = s->groups > 1;
    dnnl_memory_desc_init_by_tag(&m->src_u, 4, sd, dnnl_f32, dnnl_nchw);
    dnnl_memory_desc_init_by_tag(&m->dst_u, 4, dd, dnnl_f32, dnnl_nchw);
    dnnl_memory_desc_init_by_tag(&m->bias, 1, bd, dnnl_f32, dnnl_x);
    dnnl_memory_desc_init_by_tag(&m->src_a, 4, sd, dnnl_f32, dnnl_format_tag_any);
    dnnl_memory_desc_init_by_tag(&m->dst_a, 4, dd, dnnl_f32, dnnl_format_tag_any);
    /* without groups the weights are 4-d: drop the leading 1 */
    dnnl_memory_desc_init_by_tag(&m->wei_u, 5 - !grouped, wd + !grouped, dnnl_f32,
                                 grouped ? dnnl_goihw : dnnl_oihw);
    dnnl_memory_desc_init_by_tag(&m->wei_a, 5 - !grouped, wd + !grouped, dnnl_f32,
                                 dnnl_format_tag_any);
    /* channels-last: the caller's layouts, used as they are; but from an
     * NCHW input (the images) oneDNN's own choice and reorders, since it
     * has no fast kernel from NCHW to NHWC (nor, for the weights'
     * gradient, from NCHW and NHWC) */
    if (r->nhwc) {
        dnnl_memory_desc_init_by_tag(&m->src_u, 4, sd, dnnl_f32,
                                     r->in_nchw ? dnnl_nchw : dnnl_nhwc);
        dnnl_memory_desc_init_by_tag(&m->dst_u, 4, dd, dnnl_f32, dnnl_nhwc);
        if (!r->in_nchw || r->sum) {
            m->src_a = m->src_u;
            m->dst_a = m->dst_u;
        }
    }
}

static dnnl_status_t op_desc(dnnl_convolution_desc_t *d, const sp_conv_shape *s, int dir,
                             int bias, const conv_mds *m)
{
    conv_geom g = geom(s);
    const dnnl_memory_desc_t *b = bias ? &m->bias : NULL;
    if (dir == CONV_BWD_DATA)
        return dnnl_convolution_backward_data_desc_init(d, dnnl_convolution_direct, &m->src_a,
                                                        &m->wei_a, &m->dst_a, g.st, g.pl, g.pr);
    if (dir == CONV_BWD_FILTER)
        return dnnl_convolution_backward_weights_desc_init(d, dnnl_convolution_direct,
                                                           &m->src_a, &m->wei_a, b, &m->dst_a,
                                                           g.st, g.pl, g.pr);
    return dnnl_convolution_forward_desc_init(d, dir == CONV_FWD ? dnnl_forward_training
                                                                 : dnnl_forward_inference,
                                              dnnl_convolution_direct,
                                              &m->src_a, &m->wei_a, b, &m->dst_a,
                                              g.st, g.pl, g.pr);
}

/* Argument order: forward (src, weights, dst), backward-data (diff_dst,
 * weights, diff_src), backward-weights (diff_dst, src, diff_weights).
 * Scratch slots go by size: ARG0 and ARG2 hold activations, ARG1 the
 * weights, so a training step needs two activation-sized scratch buffers,
 * not three. */
static dnnl_status_t plan_args(conv_plan *p, dnnl_engine_t eng, const_dnnl_primitive_desc_t pd,
                               int dir, const conv_mds *m)
{
    const dnnl_memory_desc_t *qs, *qw, *qd;
    dnnl_status_t rc;
    qs = dnnl_primitive_desc_query_md(pd, dir == CONV_BWD_DATA ? dnnl_query_diff_src_md
                                                               : dnnl_query_src_md, 0);
    qw = dnnl_primitive_desc_query_md(pd, dir == CONV_BWD_FILTER ? dnnl_query_diff_weights_md
                                                                 : dnnl_query_weights_md, 0);
    qd = dnnl_primitive_desc_query_md(pd, is_fwd(dir) ? dnnl_query_dst_md
                                                      : dnnl_query_diff_dst_md, 0);
    for (int i = 0; i < 3; i++)
        p->arg[i].slot = SP_CPU_SCRATCH_ARG0 + i;
    if (is_fwd(dir)) {
        rc = arg_init(&p->arg[0], eng, DNNL_ARG_SRC, 0, 0, &m->src_u, qs);
        if (rc == dnnl_success)
            rc = arg_init(&p->arg[1], eng, DNNL_ARG_WEIGHTS, 0, 0, &m->wei_u, qw);
        if (rc == dnnl_success)
            rc = arg_init(&p->arg[2], eng, DNNL_ARG_DST, 1, 0, &m->dst_u, qd);
        return rc;
    }
    rc = arg_init(&p->arg[0], eng, DNNL_ARG_DIFF_DST, 0, 0, &m->dst_u, qd);
    if (rc == dnnl_success && dir == CONV_BWD_DATA)
        rc = arg_init(&p->arg[1], eng, DNNL_ARG_WEIGHTS, 0, 0, &m->wei_u, qw);
    if (rc == dnnl_success && dir == CONV_BWD_DATA)
        rc = arg_init(&p->arg[2], eng, DNNL_ARG_DIFF_SRC, 1, 0, &m->src_u, qs);
    if (rc == dnnl_success && dir == CONV_BWD_FILTER)
        rc = arg_init(&p->arg[1], eng, DNNL_ARG_SRC, 0, 0, &m->src_u, qs);
    if (rc == dnnl_success && dir == CONV_BWD_FILTER)
        rc = arg_init(&p->arg[2], eng, DNNL_ARG_DIFF_WEIGHTS, 1, 1, &m->wei_u, qw);
    if (dir == CONV_BWD_FILTER) {
        p->arg[1].slot = SP_CPU_SCRATCH_ARG2;
        p->arg[2].slot = SP_CPU_SCRATCH_ARG1;
    }
    return rc;
}

/* A plan whose prim stays NULL (oneDNN refused the shape) is cached too,
 * so the refusal is not retried on every call. */
/* The output's previous contents added (sum), then the activation: ReLU
 * is eltwise_relu with slope 0, ReLU6 a clip to [0, 6]. */
static dnnl_status_t attr_post_ops(dnnl_primitive_attr_t attr, int sum, int act)
{
    dnnl_post_ops_t ops = NULL;
    dnnl_status_t st = dnnl_post_ops_create(&ops);
    if (st == dnnl_success && sum)
        st = dnnl_post_ops_append_sum(ops, 1.0f);
    if (st == dnnl_success && act >= 0)
        st = act == SP_ACT_RELU6
                 ? dnnl_post_ops_append_eltwise(ops, 1.0f, dnnl_eltwise_clip, 0.0f, 6.0f)
                 : dnnl_post_ops_append_eltwise(ops, 1.0f, dnnl_eltwise_relu, 0.0f, 0.0f);
    if (st == dnnl_success)
        st = dnnl_primitive_attr_set_post_ops(attr, ops);
    if (ops)
        dnnl_post_ops_destroy(ops);
    return st;
}

static conv_plan *plan_build(sp_cpu_ctx *x, const sp_conv_shape *s, const conv_req *r)
{
    int dir = r->dir, bias = r->bias;
    conv_plan *p = sp_xcalloc(1, sizeof *p);
    conv_mds m;
    dnnl_convolution_desc_t fd, d;
    dnnl_primitive_desc_t hint = NULL, pd = NULL;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_status_t rc;
    p->k = s->k;
    describe(&m, s, r);
    rc = dnnl_primitive_attr_create(&attr);
    if (rc == dnnl_success)
        rc = dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user);
    if (rc == dnnl_success && (dir == CONV_FWD_ACT || dir == CONV_FWD_NHWC))
        rc = attr_post_ops(attr, r->sum, r->act);
    /* backward needs the forward as a hint */
    if (rc == dnnl_success && (dir == CONV_BWD_DATA || dir == CONV_BWD_FILTER)) {
        rc = op_desc(&fd, s, CONV_FWD, bias, &m);
        if (rc == dnnl_success)
            rc = dnnl_primitive_desc_create(&hint, &fd, NULL, x->engine, NULL);
    }
    if (rc == dnnl_success)
        rc = op_desc(&d, s, dir, bias, &m);
    if (rc == dnnl_success)
        rc = dnnl_primitive_desc_create(&pd, &d, attr, x->engine, hint);
    if (rc == dnnl_success)
        rc = plan_args(p, x->engine, pd, dir, &m);
    if (rc == dnnl_success && bias)
        rc = dnnl_memory_create(&p->bias, &m.bias, x->engine, DNNL_MEMORY_NONE);
    if (rc == dnnl_success) {
        const dnnl_memory_desc_t *q = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
        p->pad_bytes = q ? dnnl_memory_desc_get_size(q) : 0;
        if (p->pad_bytes)
            rc = dnnl_memory_create(&p->pad, q, x->engine, DNNL_MEMORY_NONE);
    }
    if (rc == dnnl_success)
        rc = dnnl_primitive_create(&p->prim, pd);
    if (rc != dnnl_success && p->prim) {
        dnnl_primitive_destroy(p->prim);
        p->prim = NULL;
    }
    if (pd)
        dnnl_primitive_desc_destroy(pd);
    if (hint)
        dnnl_primitive_desc_destroy(hint);
    if (attr)
        dnnl_primitive_attr_destroy(attr);
    return p;
}

/* The key's last int packs the request beyond dir (act is -1 where the
 * direction has none). */
static conv_plan *plan_req(sp_backend *b, const sp_conv_shape *s, const conv_req *r)
{
    sp_cpu_ctx *x = b->ctx;
    int tail = r->bias | (1 + r->act) << 1 | r->sum << 3 | r->in_nchw << 4 | r->nhwc << 5;
    int key[SP_CPU_KEY_LEN] = {r->dir, s->n, s->c, s->h, s->w, s->k, s->oh, s->ow,
                               s->kh, s->kw, s->sh, s->sw, s->ph, s->pw, s->groups, tail};
    conv_plan *p = sp_cpu_cache_get(x, key);
    if (!p) {
        p = plan_build(x, s, r);
        sp_cpu_cache_put(x, key, p, plan_drop);
    }
    return p->prim ? p : NULL;
}

static conv_plan *plan_get(sp_backend *b, const sp_conv_shape *s, int dir, int bias, int act)
{
    conv_req r = {dir, bias, dir == CONV_FWD_ACT ? act : -1, 0, 0, 0};
    return plan_req(b, s, &r);
}

/* ptr[i] is the interface (NCHW) buffer of arg[i]; bias that of the bias
 * or its gradient. */
static int skip_reorder(int i, int own)
{
    return (i == 0 && (own & SP_OWN_IN)) || (i == 2 && (own & SP_OWN_OUT));
}

/* own (forward only): SP_OWN_IN / SP_OWN_OUT, the source / destination
 * is already in the primitive's layout, so it is used without reorder. */
static void plan_run(sp_backend *b, conv_plan *p, void *ptr[3], float *bias, int bias_acc,
                     int own)
{
    sp_cpu_ctx *x = b->ctx;
    dnnl_exec_arg_t args[5];
    int na = 0;
    for (int i = 0; i < 3; i++) {
        conv_arg *a = &p->arg[i];
        void *buf = ptr[i];
        if (skip_reorder(i, own)) {
            /* used as it is */
        } else if (a->re || a->acc) {
            buf = sp_cpu_scratch(x, a->slot, a->bytes);
            if (a->user)
                dnnl_memory_set_data_handle(a->user, ptr[i]);
        }
        dnnl_memory_set_data_handle(a->inner, buf);
        if (a->re && !a->out && !skip_reorder(i, own)) {
            dnnl_exec_arg_t ra[2] = {{DNNL_ARG_FROM, a->user}, {DNNL_ARG_TO, a->inner}};
            dnnl_primitive_execute(a->re, x->stream, 2, ra);
        }
        args[na++] = (dnnl_exec_arg_t){a->id, a->inner};
    }
    float *btmp = NULL;
    if (p->bias) {
        btmp = bias_acc ? sp_cpu_scratch(x, SP_CPU_SCRATCH_BIAS, (size_t)p->k * sizeof(float))
                        : bias;
        dnnl_memory_set_data_handle(p->bias, btmp);
        args[na++] = (dnnl_exec_arg_t){bias_acc ? DNNL_ARG_DIFF_BIAS : DNNL_ARG_BIAS, p->bias};
    }
    if (p->pad) {
        dnnl_memory_set_data_handle(p->pad, sp_cpu_scratch(x, SP_CPU_SCRATCH_PAD, p->pad_bytes));
        args[na++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, p->pad};
    }
    dnnl_primitive_execute(p->prim, x->stream, na, args);
    for (int i = 0; i < 3; i++) {
        conv_arg *a = &p->arg[i];
        if (!a->out || skip_reorder(i, own))
            continue;
        if (a->re) {
            dnnl_exec_arg_t ra[2] = {{DNNL_ARG_FROM, a->inner}, {DNNL_ARG_TO, a->user}};
            dnnl_primitive_execute(a->re, x->stream, 2, ra);
        } else if (a->acc) {
            dnnl_stream_wait(x->stream);
            sp_cpu_accumulate(b, ptr[i], x->scratch[a->slot],
                              a->bytes / sizeof(float));
        }
    }
    dnnl_stream_wait(x->stream);
    if (bias_acc && p->bias)
        for (int k = 0; k < p->k; k++)
            bias[k] += btmp[k];
}

void sp_cpu_conv_fwd(sp_backend *b, float *out /* N,K,OH,OW */, const float *in /* N,C,H,W */,
                     const float *w /* K,C/G,KH,KW */, const float *bias /* K or NULL */,
                     const sp_conv_shape *s)
{
    conv_plan *p = plan_get(b, s, CONV_FWD, bias != NULL, -1);
    if (!p) {
        sp_ref_conv_fwd(b, out, in, w, bias, s);
        return;
    }
    void *ptr[3] = {(void *)in, (void *)w, out};
    plan_run(b, p, ptr, (float *)bias, 0, 0);
}

void sp_cpu_conv_bwd_data(sp_backend *b, float *din /* N,C,H,W; = */,
                          const float *dout /* N,K,OH,OW */, const float *w /* K,C/G,KH,KW */,
                          const sp_conv_shape *s)
{
    conv_plan *p = plan_get(b, s, CONV_BWD_DATA, 0, -1);
    if (!p) {
        sp_ref_conv_bwd_data(b, din, dout, w, s);
        return;
    }
    void *ptr[3] = {(void *)dout, (void *)w, din};
    plan_run(b, p, ptr, NULL, 0, 0);
}

void sp_cpu_conv_bwd_filter(sp_backend *b, float *dw /* K,C/G,KH,KW; += */,
                            float *dbias /* K or NULL; += */, const float *dout /* N,K,OH,OW */,
                            const float *in /* N,C,H,W */, const sp_conv_shape *s)
{
    conv_plan *p = plan_get(b, s, CONV_BWD_FILTER, dbias != NULL, -1);
    if (!p) {
        sp_ref_conv_bwd_filter(b, dw, dbias, dout, in, s);
        return;
    }
    void *ptr[3] = {(void *)dout, (void *)in, dw};
    plan_run(b, p, ptr, dbias, 1, 0);
}

void sp_cpu_conv_fwd_act(sp_backend *b, float *out /* N,K,OH,OW */, const float *in /* N,C,H,W */,
                         const float *w /* K,C/G,KH,KW */, const float *bias /* K or NULL */,
                         const sp_conv_shape *s, sp_act act)
{
    conv_plan *p = plan_get(b, s, CONV_FWD_ACT, bias != NULL, act);
    if (!p) {
        sp_cpu_conv_fwd(b, out, in, w, bias, s);
        sp_cpu_act_fwd(b, act, out, out, (size_t)s->n * s->k * s->oh * s->ow);
        return;
    }
    void *ptr[3] = {(void *)in, (void *)w, out};
    plan_run(b, p, ptr, (float *)bias, 0, 0);
}

static conv_plan *fwd_plan(sp_backend *b, const sp_conv_shape *s, int bias, int act)
{
    return plan_get(b, s, act < 0 ? CONV_FWD : CONV_FWD_ACT, bias, act);
}

/* The layouts must be the same descriptor (blocking and channel padding
 * included); oneDNN keeps the padded channels of an output zero, which
 * is what the consumer reads there. */
int sp_cpu_conv_chain(sp_backend *b, const sp_conv_shape *a, int a_bias, int a_act,
                      const sp_conv_shape *c, int c_bias, int c_act, size_t bytes)
{
    conv_plan *pa = fwd_plan(b, a, a_bias, a_act), *pc = fwd_plan(b, c, c_bias, c_act);
    const dnnl_memory_desc_t *da, *dc;
    if (!pa || !pc || pa->arg[2].bytes > bytes ||
        dnnl_memory_get_memory_desc(pa->arg[2].inner, &da) != dnnl_success ||
        dnnl_memory_get_memory_desc(pc->arg[0].inner, &dc) != dnnl_success)
        return 0;
    return dnnl_memory_desc_equal(da, dc) != 0;
}

void sp_cpu_conv_fwd_own(sp_backend *b, float *out, const float *in, const float *w,
                         const float *bias, const sp_conv_shape *s, int act, int own)
{
    conv_plan *p = fwd_plan(b, s, bias != NULL, act);
    if (!p) {   /* conv_chain never pairs a refused shape: own is 0 here */
        if (act < 0)
            sp_cpu_conv_fwd(b, out, in, w, bias, s);
        else
            sp_cpu_conv_fwd_act(b, out, in, w, bias, s, (sp_act)act);
        return;
    }
    void *ptr[3] = {(void *)in, (void *)w, out};
    plan_run(b, p, ptr, (float *)bias, 0, own);
}

/* Channels-last inference: the caller's buffers are used as they are. */
void sp_cpu_conv_fwd_nhwc(sp_backend *b, float *out /* N,OH,OW,K */,
                          const float *in /* N,H,W,C or N,C,H,W */, const float *w,
                          const float *bias, const sp_conv_shape *s, int act, int flags)
{
    if (sp_cpu_conv_narrow_fits(s, flags)) {
        sp_cpu_conv_narrow(b, out, in, w, bias, s, act, flags);
        return;
    }
    conv_req r = {CONV_FWD_NHWC, bias != NULL, act, !!(flags & SP_NHWC_SUM),
                  !!(flags & SP_NHWC_IN_NCHW), 1};
    conv_plan *p = plan_req(b, s, &r);
    if (!p) {
        sp_cpu_conv_nhwc_fallback(b, out, in, w, bias, s, act, flags);
        return;
    }
    void *ptr[3] = {(void *)in, (void *)w, out};
    plan_run(b, p, ptr, (float *)bias, 0, 0);
}

/* Channels-last training: the caller's buffers as they are, the images
 * (flags SP_NHWC_IN_NCHW) reordered.  A shape oneDNN refuses goes through
 * the NCHW versions (and so the reference loops). */
static void bwd_nhwc_fallback(sp_backend *b, float *dgrad, float *dw, float *dbias,
                              const float *dout, const float *in, const float *w,
                              const sp_conv_shape *s, int flags)
{
    size_t nin = (size_t)s->n * s->c * s->h * s->w, nout = (size_t)s->n * s->k * s->oh * s->ow;
    float *y = sp_xmalloc(nout * sizeof *y), *a = sp_xmalloc(nin * sizeof *a);
    sp_cpu_nhwc_reorder(b, y, dout, s->n, s->k, s->oh, s->ow, 0);
    if (dgrad) {
        sp_cpu_conv_bwd_data(b, a, y, w, s);
        sp_cpu_nhwc_reorder(b, dgrad, a, s->n, s->c, s->h, s->w, 1);
    } else {
        if (!(flags & SP_NHWC_IN_NCHW))
            sp_cpu_nhwc_reorder(b, a, in, s->n, s->c, s->h, s->w, 0);
        sp_cpu_conv_bwd_filter(b, dw, dbias, y, flags & SP_NHWC_IN_NCHW ? in : a, s);
    }
    free(y);
    free(a);
}

void sp_cpu_conv_bwd_data_nhwc(sp_backend *b, float *din /* N,H,W,C; = */,
                               const float *dout /* N,OH,OW,K */, const float *w,
                               const sp_conv_shape *s)
{
    conv_req r = {CONV_BWD_DATA, 0, -1, 0, 0, 1};
    conv_plan *p = plan_req(b, s, &r);
    if (!p) {
        bwd_nhwc_fallback(b, din, NULL, NULL, dout, NULL, w, s, 0);
        return;
    }
    void *ptr[3] = {(void *)dout, (void *)w, din};
    plan_run(b, p, ptr, NULL, 0, 0);
}

void sp_cpu_conv_bwd_filter_nhwc(sp_backend *b, float *dw /* += */, float *dbias /* += */,
                                 const float *dout /* N,OH,OW,K */,
                                 const float *in /* N,H,W,C or N,C,H,W */,
                                 const sp_conv_shape *s, int flags)
{
    conv_req r = {CONV_BWD_FILTER, dbias != NULL, -1, 0, !!(flags & SP_NHWC_IN_NCHW), 1};
    conv_plan *p = plan_req(b, s, &r);
    if (!p) {
        bwd_nhwc_fallback(b, NULL, dw, dbias, dout, in, NULL, s, flags);
        return;
    }
    void *ptr[3] = {(void *)dout, (void *)in, dw};
    plan_run(b, p, ptr, dbias, 1, 0);
}

/* Whether oneDNN, left to choose, reads this convolution's input
 * channels-last; yes for the narrow ones cpu_narrow.c runs. */
int sp_cpu_conv_nhwc_preferred(sp_backend *b, const sp_conv_shape *s)
{
    if (sp_cpu_conv_narrow_fits(s, 0))
        return 1;
    conv_plan *p = plan_get(b, s, CONV_FWD_ACT, 1, SP_ACT_RELU);
    const dnnl_memory_desc_t *got;
    dnnl_memory_desc_t want;
    dnnl_dims_t sd = {s->n, s->c, s->h, s->w};
    if (!p || dnnl_memory_get_memory_desc(p->arg[0].inner, &got) != dnnl_success)
        return 0;
    dnnl_memory_desc_init_by_tag(&want, 4, sd, dnnl_f32, dnnl_nhwc);
    return dnnl_memory_desc_equal(got, &want) != 0;
}
