/* exec_run.c: the forward pass, the loss, the backward pass and the SGD
 * update, each a walk over the graph calling the backend table.
 *
 * Backward: activation gradients are overwritten by the backend, so the
 * first reader of a tensor (in reverse order) writes its gradient buffer
 * directly and any further reader writes to a pooled buffer and
 * accumulates. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sp/base.h"
#include "sp/dist.h"
#include "exec_priv.h"

int sp_exec_set_input(sp_exec *e, const float *images, const int32_t *labels, int n)
{
    if (n < 1 || n > e->batch)
        return sp_errorf("a batch of %d samples does not fit the executor's %d", n, e->batch);
    e->n = n;
    e->b->upload(e->b, e->input, images, (size_t)n * e->x[0].size * sizeof(float));
    e->have_labels = labels != NULL;
    if (labels)
        e->b->upload(e->b, e->labels, labels, (size_t)n * sizeof(int32_t));
    e->have_loss = 0;
    return 0;
}

void sp_exec_set_dropout(sp_exec *e, uint64_t seed, uint64_t counter)
{
    e->drop_seed = seed;
    e->drop_counter = counter;
}

/* Whether node j's output gradient is wanted (sp_exec_keep_grads). */
static int wanted(const sp_exec *e, int j)
{
    return j > 0 && (!e->need || e->need[j]);
}

static sp_conv_shape conv_shape(const sp_exec *e, int i)
{
    const sp_node *nd = &e->g->node[i], *src = &e->g->node[nd->in[0]];
    sp_conv_shape s = {e->n, src->c, src->h, src->w, nd->cout, nd->h, nd->w,
                       nd->kh, nd->kw, nd->sh, nd->sw, nd->ph, nd->pw,
                       nd->groups > 0 ? nd->groups : 1};
    return s;
}

static sp_pool_shape pool_shape(const sp_exec *e, int i)
{
    const sp_node *nd = &e->g->node[i], *src = &e->g->node[nd->in[0]];
    sp_pool_shape s = {e->n, src->c, src->h, src->w, nd->h, nd->w,
                       nd->kh, nd->kw, nd->sh, nd->sw, nd->ph, nd->pw};
    return s;
}

/* Inference executors may run a conv with its batch norm folded in. */
static const float *conv_weight(sp_exec *e, int i)
{
    return e->x[i].fold_bn ? e->x[i].fw : sp_exec_node_w(e, i, SP_P_WEIGHT);
}

static const float *conv_bias(sp_exec *e, int i)
{
    return e->x[i].fold_bn ? e->x[i].fb : sp_exec_node_w(e, i, SP_P_BIAS);
}

static void forward_node(sp_exec *e, int i, int train)
{
    sp_backend *b = e->b;
    const sp_node *nd = &e->g->node[i];
    const sp_node *src = &e->g->node[nd->in[0]];
    const float *in = e->act[nd->in[0]];
    float *out = e->act[i];
    size_t n = (size_t)e->n, count = n * e->x[i].size;
    int hw = nd->h * nd->w, nhwc = e->x[i].nhwc_run;

    switch (nd->op) {
    case SP_OP_CONV: {
        sp_conv_shape s = conv_shape(e, i);
        const xnode *x = &e->x[i];
        const float *w = conv_weight(e, i), *bias = conv_bias(e, i);
        int own = x->own_in ? SP_OWN_IN : 0;
        if (x->chain) {
            sp_conv_shape sc = conv_shape(e, x->chain);
            int ok = b->conv_chain(b, &s, bias != NULL, x->act - 1, &sc,
                                   conv_bias(e, x->chain) != NULL, e->x[x->chain].act - 1,
                                   (size_t)e->batch * e->maxsize * sizeof(float));
            e->x[x->chain].own_in = ok;
            own |= ok ? SP_OWN_OUT : 0;
        }
        if (nhwc) {
            int f = (e->x[nd->in[0]].nhwc_out ? 0 : SP_NHWC_IN_NCHW) | (x->sum ? SP_NHWC_SUM : 0);
            b->nhwc.conv_fwd(b, out, in, w, bias, &s, x->act - 1, f);
        } else if (own) {
            b->conv_fwd_own(b, out, in, w, bias, &s, x->act - 1, own);
        } else if (x->act && b->conv_fwd_act) {
            b->conv_fwd_act(b, out, in, w, bias, &s, (sp_act)(x->act - 1));
        } else {
            b->conv_fwd(b, out, in, w, bias, &s);
            if (x->act)
                b->act_fwd(b, (sp_act)(x->act - 1), out, out, count);
        }
        break;
    }
    case SP_OP_BN: {
        const float *gamma = sp_exec_node_w(e, i, SP_P_WEIGHT);
        const float *beta = sp_exec_node_w(e, i, SP_P_BIAS);
        float *mean = sp_exec_node_w(e, i, SP_P_RUNNING_MEAN);
        float *var = sp_exec_node_w(e, i, SP_P_RUNNING_VAR);
        if (train && e->dist_on)
            sp_exec_dist_bn_fwd(e, i, out, in);
        else if (train)
            SP_EXEC_OP(e, i, bn_fwd_train)(
                b, out, e->x[i].save_mean, e->x[i].save_invstd, mean, var, in,
                e->x[i].res ? e->act[e->x[i].res] : NULL, gamma, beta, e->n, nd->c, hw, nd->eps,
                nd->momentum, e->x[i].act - 1);
        else
            SP_EXEC_OP(e, i, bn_fwd_infer)(b, out, in, gamma, beta, mean, var, e->n, nd->c, hw,
                                           nd->eps);
        break;
    }
    case SP_OP_RELU:
    case SP_OP_RELU6:
        b->act_fwd(b, nd->op == SP_OP_RELU ? SP_ACT_RELU : SP_ACT_RELU6, out, in, count);
        break;
    case SP_OP_MAXPOOL: {
        sp_pool_shape s = pool_shape(e, i);
        if (train)
            SP_EXEC_OP(e, i, maxpool_fwd)(b, out, e->x[i].ws, in, &s);
        else if (nhwc)
            b->nhwc.maxpool_fwd(b, out, in, &s);
        else
            b->maxpool_fwd(b, out, NULL, in, &s);
        break;
    }
    case SP_OP_AVGPOOL: {
        sp_pool_shape s = pool_shape(e, i);
        (nhwc ? b->nhwc.avgpool_fwd : b->avgpool_fwd)(b, out, in, &s);
        break;
    }
    case SP_OP_ADAPTIVE_AVGPOOL: {
        sp_pool_shape s = pool_shape(e, i);
        (nhwc ? b->nhwc.adaptive_avgpool_fwd : b->adaptive_avgpool_fwd)(b, out, in, &s);
        break;
    }
    case SP_OP_LINEAR:
        b->linear_fwd(b, out, in, sp_exec_node_w(e, i, SP_P_WEIGHT), sp_exec_node_w(e, i, SP_P_BIAS),
                      e->n, nd->cin, nd->cout);
        break;
    case SP_OP_DROPOUT:
        if (train && nd->p > 0)
            b->dropout_fwd(b, out, e->x[i].keep, in, count, nd->p, e->drop_seed,
                           e->drop_counter * (uint64_t)e->g->n + (uint64_t)i,
                           e->dist_on ? (size_t)e->n_first * e->x[i].size : 0);
        else
            b->copy(b, out, in, count * sizeof(float));
        break;
    case SP_OP_FLATTEN:
        if (nhwc)
            b->nhwc.reorder(b, out, in, e->n, src->c, src->h, src->w, 0);
        else
            b->copy(b, out, in, count * sizeof(float));
        break;
    case SP_OP_ADD:
        b->add_fwd(b, out, in, e->act[nd->in[1]], count);
        break;
    case SP_OP_PAD_SHORTCUT:
        (nhwc ? b->nhwc.pad_shortcut_fwd : b->pad_shortcut_fwd)(b, out, in, e->n, src->c,
                                                                src->h, src->w, nd->sh, nd->sw,
                                                                nd->pad_lo, nd->pad_hi);
        break;
    case SP_OP_MASK:
        (nhwc ? b->nhwc.mask_fwd : b->mask_fwd)(b, out, in, sp_exec_node_w(e, i, SP_P_MASK),
                                                e->n, nd->c, hw);
        break;
    case SP_OP_INPUT:
    case SP_OP_COUNT:
        break;
    }
}

static sp_act act_of(sp_op op)
{
    return op == SP_OP_RELU ? SP_ACT_RELU : SP_ACT_RELU6;
}

/* Whether node j is the last to share a recomputed batch norm's buffer
 * (exec.c, plan_recompute). */
static int recompute_last(const sp_exec *e, int j)
{
    return j > 0 && e->x[j].recomputed_by && e->x[e->x[j].recomputed_by].recompute == j;
}

/* Training forward: a recomputed output goes back to the pool after its
 * last reader. */
static void drop_recomputed(sp_exec *e, int i)
{
    const sp_node *nd = &e->g->node[i];
    for (int k = 0; k < 2; k++) {
        int j = nd->in[k];
        if (!recompute_last(e, j) || e->x[j].last_use != i || (k == 1 && j == nd->in[0]))
            continue;
        sp_exec_pool_put(e, e->act[j]);
        e->act[j] = e->act[e->x[j].recomputed_by] = NULL;
    }
}

/* forward_node, converting first any channels-last input of a node that
 * only runs on NCHW (channels-last inference, exec_layout.c). */
static void forward_converting(sp_exec *e, int i, int train)
{
    const sp_node *nd = &e->g->node[i];
    float *held[2] = {NULL, NULL}, *tmp[2] = {NULL, NULL};
    for (int k = 0; k < 2 && !e->x[i].nhwc_run; k++) {
        int j = nd->in[k];
        if (j < 0 || !e->x[j].nhwc_out || (k == 1 && j == nd->in[0]))
            continue;
        const sp_node *src = &e->g->node[j];
        tmp[k] = sp_exec_pool_get(e);
        e->b->nhwc.reorder(e->b, tmp[k], e->act[j], e->n, src->c, src->h, src->w, 0);
        held[k] = e->act[j];
        e->act[j] = tmp[k];
    }
    forward_node(e, i, train);
    for (int k = 0; k < 2; k++)
        if (tmp[k]) {
            e->act[nd->in[k]] = held[k];
            sp_exec_pool_put(e, tmp[k]);
        }
}

int sp_exec_forward(sp_exec *e, int train)
{
    if (e->n < 1)
        return sp_errorf("the executor has no input batch");
    if (train && !e->train)
        return sp_errorf("this executor was built for inference only");
    if (!train)
        e->dist_on = 0;
    else if (sp_exec_dist_begin(e) < 0)
        return -1;
    sp_graph *g = e->g;
    /* a training forward in one process runs the epilogues inside the
     * batch norms (exec.c, plan_epilogues) */
    int epilogues = train && !e->dist_on;
    e->act[0] = e->input;
    if (e->x[0].nhwc_out) {
        const sp_node *in = &g->node[0];
        e->b->nhwc.reorder(e->b, e->input_nhwc, e->input, e->n, in->c, in->h, in->w, 1);
        e->act[0] = e->input_nhwc;
    }
    for (int i = 1; i < g->n; i++) {
        const sp_node *nd = &g->node[i];
        const xnode *x = &e->x[i];
        int shared = x->inplace || x->alias, from = nd->in[x->alias_in];
        if (shared) {
            e->act[i] = e->act[from];
        } else if (x->sum) {                /* the shortcut's buffer becomes i's */
            e->act[i] = e->act[x->sum];
            e->act[x->sum] = NULL;
        } else if (!e->train || x->recompute) {
            e->act[i] = sp_exec_pool_get(e);
        }
        if (!x->alias && !(x->fused && epilogues))
            forward_converting(e, i, train);
        if (e->train)
            drop_recomputed(e, i);
        if (shared && !e->train)
            e->act[from] = NULL;            /* the buffer now belongs to i */
        if (!e->train && e->x[i].nconsumers == 0 && i != g->n - 1) {
            sp_exec_pool_put(e, e->act[i]);
            e->act[i] = NULL;
        }
        if (!e->train)
            for (int k = 0; k < 2; k++) {
                int j = nd->in[k];
                if (j > 0 && e->act[j] && e->x[j].last_use == i && (k == 0 || j != nd->in[0])) {
                    sp_exec_pool_put(e, e->act[j]);
                    e->act[j] = NULL;
                }
            }
    }
    if (!e->train) {
        /* the logits' buffer goes back at the next forward */
        sp_exec_pool_put(e, e->act[g->n - 1]);
    }
    if (train)
        e->train_forwards++;
    e->have_loss = 0;
    if (e->dist_failed)
        return sp_error_prefix("summing the batch norm statistics over the processes");
    return e->b->check ? e->b->check(e->b) : 0;
}

void sp_exec_logits(sp_exec *e, float *host)
{
    size_t count = (size_t)e->n * (size_t)sp_exec_classes(e);
    e->b->download(e->b, host, e->act[e->g->n - 1], count * sizeof(float));
}

float sp_exec_loss(sp_exec *e)
{
    float loss = 0.0f;
    if (!e->have_labels)
        return loss;
    /* across processes: the gradient of the whole batch's mean */
    float scale = e->dist_on ? (float)e->n / (float)e->n_global : 1.0f;
    e->b->xent(e->b, e->loss_dev, e->dlogits, e->act[e->g->n - 1], e->labels,
               e->n, sp_exec_classes(e), scale);
    e->b->download(e->b, &loss, e->loss_dev, sizeof loss);
    e->have_loss = 1;
    double global = loss;
    if (e->dist_on && sp_exec_dist_loss(e, &global) < 0)
        global = NAN;
    return (float)global;
}

float sp_exec_loss_logit(sp_exec *e)
{
    if (!e->have_labels)
        return 0.0f;
    int classes = sp_exec_classes(e), n = e->n, total = e->dist_on ? e->n_global : n;
    size_t count = (size_t)n * classes;
    float *z = sp_xmalloc(count * sizeof *z), *dz = sp_xcalloc(count, sizeof *dz);
    int32_t *y = sp_xmalloc((size_t)n * sizeof *y);
    e->b->download(e->b, z, e->act[e->g->n - 1], count * sizeof *z);
    e->b->download(e->b, y, e->labels, (size_t)n * sizeof *y);
    double sum = 0.0;
    for (int i = 0; i < n; i++) {
        if (y[i] < 0 || y[i] >= classes) {
            sum = NAN;
            continue;
        }
        sum += z[(size_t)i * classes + y[i]];
        dz[(size_t)i * classes + y[i]] = -1.0f / (float)total;
    }
    e->b->upload(e->b, e->dlogits, dz, count * sizeof *dz);
    free(z);
    free(dz);
    free(y);
    e->have_loss = 1;
    if (e->dist_on && sp_dist_sum_host(&sum, 1) < 0)
        sum = NAN;
    return (float)(-sum / total);
}

/* Whether node i's backward may write its input's gradient over its own
 * output gradient (an elementwise backward, the input's first reader, and
 * not the logits' gradient), which saves a buffer and a pass. */
static int passes_on(const sp_exec *e, int i, int j)
{
    sp_op op = e->g->node[i].op;
    return (op == SP_OP_RELU || op == SP_OP_RELU6 || op == SP_OP_BN) && !e->grad[j] &&
           i != e->g->n - 1;
}

/* Where the gradient for input slot k of node i goes: its own buffer when
 * this is the first reader (node i's own when it passes_on), else a
 * pooled buffer that grad_finish adds to it and gives back (then *acc is
 * set). */
static float *grad_target(sp_exec *e, int i, int j, int *acc)
{
    *acc = 0;
    if (passes_on(e, i, j)) {
        e->grad[j] = e->grad[i];
        e->grad[i] = NULL;
        return e->grad[j];
    }
    if (!e->grad[j]) {
        e->grad[j] = sp_exec_pool_get(e);
        return e->grad[j];
    }
    *acc = 1;
    return sp_exec_pool_get(e);
}

static void grad_finish(sp_exec *e, int j, float *dst, int acc)
{
    if (!acc)
        return;
    e->b->accumulate(e->b, e->grad[j], dst, (size_t)e->n * e->x[j].size);
    sp_exec_pool_put(e, dst);
}

/* A recomputed batch norm's output (and its ReLU's) in a pooled buffer
 * for one backward step that reads it: the training forward's values,
 * bit for bit (bn_fwd_saved).  Given back right after that step, so that
 * it never sits beside both a gradient and the gradient it makes; a
 * second reader recomputes it again, which costs a pass over memory
 * where holding it would cost a buffer. */
static void recompute(sp_exec *e, int t)
{
    if (t <= 0 || !e->x[t].recomputed_by || e->act[t])
        return;
    int i = e->x[t].recomputed_by, f = e->x[i].recompute;
    const sp_node *nd = &e->g->node[i];
    float *buf = sp_exec_pool_get(e);
    sp_backend *b = e->b;
    SP_EXEC_OP(e, i, bn_fwd_saved)(
        b, buf, e->act[nd->in[0]], sp_exec_node_w(e, i, SP_P_WEIGHT),
        sp_exec_node_w(e, i, SP_P_BIAS), e->x[i].save_mean, e->x[i].save_invstd, e->n, nd->c,
        nd->h * nd->w, f == i ? -1 : (int)act_of(e->g->node[f].op));
    e->act[i] = e->act[f] = buf;
}

static void release(sp_exec *e, int t)
{
    if (t <= 0 || !e->x[t].recomputed_by || !e->act[t])
        return;
    int i = e->x[t].recomputed_by;
    sp_exec_pool_put(e, e->act[t]);
    e->act[i] = e->act[e->x[i].recompute] = NULL;
}

/* A ReLU in place on a recomputed batch norm, whose backward pass the
 * backend runs from the batch norm's input (bn_act_bwd): its own output
 * is never recomputed. */
static int act_on_bn(const sp_exec *e, int i)
{
    return e->x[i].inplace && e->x[i].recomputed_by && SP_EXEC_OP(e, i, bn_act_bwd);
}

/* The tensor whose values node i's backward pass reads besides its
 * output gradient (0: none; the weight gradient's input aside, see
 * weight_grads).  Max pooling reads its workspace instead of its input. */
static int reads(const sp_exec *e, int i)
{
    const sp_node *nd = &e->g->node[i];
    switch (nd->op) {
    case SP_OP_RELU:
    case SP_OP_RELU6:
        return act_on_bn(e, i) ? 0 : e->x[i].inplace ? i : nd->in[0];
    case SP_OP_BN:
    case SP_OP_MASK:
        return nd->in[0];
    default:
        return 0;
    }
}

/* A convolution's or linear layer's weight gradient, before its input
 * gradient takes a buffer. */
static void weight_grads(sp_exec *e, int i)
{
    const sp_node *nd = &e->g->node[i];
    float *dw = sp_exec_node_g(e, i, SP_P_WEIGHT), *db = sp_exec_node_g(e, i, SP_P_BIAS);
    int j = nd->in[0];
    if (!dw || (nd->op != SP_OP_CONV && nd->op != SP_OP_LINEAR))
        return;
    recompute(e, j);
    if (nd->op == SP_OP_CONV) {
        sp_conv_shape s = conv_shape(e, i);
        if (e->x[i].nhwc_run)
            e->b->nhwc_train.conv_bwd_filter(e->b, dw, db, e->grad[i], e->act[j], &s,
                                             e->x[j].nhwc_out ? 0 : SP_NHWC_IN_NCHW);
        else
            e->b->conv_bwd_filter(e->b, dw, db, e->grad[i], e->act[j], &s);
    } else {
        e->b->linear_bwd_weight(e->b, dw, db, e->grad[i], e->act[j], e->n, nd->cin, nd->cout);
    }
    release(e, j);
}

static void backward_node(sp_exec *e, int i)
{
    sp_backend *b = e->b;
    const sp_node *nd = &e->g->node[i];
    int j = nd->in[0], t = reads(e, i);
    const sp_node *src = &e->g->node[j];
    const float *dout = e->grad[i];
    size_t count = (size_t)e->n * e->x[i].size;
    int hw = nd->h * nd->w, acc = 0;
    weight_grads(e, i);
    recompute(e, t);
    const float *in = e->act[j];
    /* the image needs no gradient: ops that can skip din do; a batch
     * norm or mask writes it to a spare buffer */
    float *din = NULL, *spare = NULL;
    if (wanted(e, j))
        din = grad_target(e, i, j, &acc);
    else if (nd->op == SP_OP_BN || nd->op == SP_OP_MASK)
        spare = sp_exec_pool_get(e);

    switch (nd->op) {
    case SP_OP_CONV:
        if (din) {
            sp_conv_shape s = conv_shape(e, i);
            SP_EXEC_OP(e, i, conv_bwd_data)(b, din, dout, sp_exec_node_w(e, i, SP_P_WEIGHT), &s);
        }
        break;
    case SP_OP_BN:
        if (e->dist_on) {
            sp_exec_dist_bn_bwd(e, i, din ? din : spare, dout, in);
            break;
        }
        SP_EXEC_OP(e, i, bn_bwd)(b, din ? din : spare, sp_exec_node_g(e, i, SP_P_WEIGHT),
                                 sp_exec_node_g(e, i, SP_P_BIAS), dout, in,
                                 sp_exec_node_w(e, i, SP_P_WEIGHT), e->x[i].save_mean,
                                 e->x[i].save_invstd, e->n, nd->c, hw);
        break;
    case SP_OP_RELU:
    case SP_OP_RELU6:
        if (din && act_on_bn(e, i)) {
            const sp_node *bn = &e->g->node[j];
            SP_EXEC_OP(e, i, bn_act_bwd)(b, act_of(nd->op), din, dout, e->act[bn->in[0]],
                                         sp_exec_node_w(e, j, SP_P_WEIGHT),
                                         sp_exec_node_w(e, j, SP_P_BIAS), e->x[j].save_mean,
                                         e->x[j].save_invstd, e->n, bn->c, bn->h * bn->w);
        } else if (din) {
            b->act_bwd(b, act_of(nd->op), din, dout, e->x[i].inplace ? e->act[i] : in, count);
        }
        break;
    case SP_OP_MAXPOOL:
        if (din) {
            sp_pool_shape s = pool_shape(e, i);
            SP_EXEC_OP(e, i, maxpool_bwd)(b, din, dout, e->x[i].ws, in, &s);
        }
        break;
    case SP_OP_AVGPOOL:
        if (din) {
            sp_pool_shape s = pool_shape(e, i);
            SP_EXEC_OP(e, i, avgpool_bwd)(b, din, dout, &s);
        }
        break;
    case SP_OP_ADAPTIVE_AVGPOOL:
        if (din) {
            sp_pool_shape s = pool_shape(e, i);
            SP_EXEC_OP(e, i, adaptive_avgpool_bwd)(b, din, dout, &s);
        }
        break;
    case SP_OP_LINEAR:
        if (din)
            b->linear_bwd_data(b, din, dout, sp_exec_node_w(e, i, SP_P_WEIGHT), e->n, nd->cin, nd->cout);
        break;
    case SP_OP_DROPOUT:
        if (din) {
            if (nd->p > 0)
                b->dropout_bwd(b, din, dout, e->x[i].keep, count);
            else
                b->copy(b, din, dout, count * sizeof(float));
        }
        break;
    case SP_OP_FLATTEN:
        if (din && e->x[i].nhwc_run)
            b->nhwc.reorder(b, din, dout, e->n, src->c, src->h, src->w, 1);
        else if (din)
            b->copy(b, din, dout, count * sizeof(float));
        break;
    case SP_OP_PAD_SHORTCUT:
        if (din)
            SP_EXEC_OP(e, i, pad_shortcut_bwd)(b, din, dout, e->n, src->c, src->h, src->w,
                                               nd->sh, nd->sw, nd->pad_lo, nd->pad_hi);
        break;
    case SP_OP_MASK: {
        float *dm = sp_exec_node_g(e, i, SP_P_MASK);
        if (din || dm)
            SP_EXEC_OP(e, i, mask_bwd)(b, din ? din : spare, dm, dout, in,
                                       sp_exec_node_w(e, i, SP_P_MASK), e->n, nd->c, hw);
        break;
    }
    case SP_OP_ADD:           /* backward_add */
    case SP_OP_INPUT:
    case SP_OP_COUNT:
        break;
    }
    if (din)
        grad_finish(e, j, din, acc);
    if (spare)
        sp_exec_pool_put(e, spare);
    release(e, t);
}

static void pass_grad(sp_exec *e, int j, const float *dout, size_t count)
{
    if (!e->grad[j]) {
        e->grad[j] = sp_exec_pool_get(e);
        e->b->copy(e->b, e->grad[j], dout, count * sizeof(float));
    } else {
        e->b->accumulate(e->b, e->grad[j], dout, count);
    }
}

/* Both operands of a sum receive its gradient.  The first takes the
 * buffer over when it has no gradient yet, which saves a copy; so the
 * second is served first, while the buffer still holds only dout. */
static void backward_add(sp_exec *e, int i)
{
    const sp_node *nd = &e->g->node[i];
    size_t count = (size_t)e->n * e->x[i].size;
    int j0 = nd->in[0], j1 = nd->in[1];
    if (wanted(e, j1))
        pass_grad(e, j1, e->grad[i], count);
    if (wanted(e, j0)) {
        if (!e->grad[j0] && i != e->g->n - 1) {
            e->grad[j0] = e->grad[i];
            e->grad[i] = NULL;
        } else {
            pass_grad(e, j0, e->grad[i], count);
        }
    }
}

int sp_exec_backward(sp_exec *e)
{
    if (!e->train)
        return sp_errorf("this executor was built for inference only");
    if (!e->have_loss)
        return sp_errorf("the backward pass needs the loss of a forward pass first");
    sp_backend *b = e->b;
    if (e->gbuf)
        b->fill(b, e->gbuf, 0.0f, e->gnumel);
    int last = e->g->n - 1;
    memset(e->grad, 0, (size_t)e->g->n * sizeof *e->grad);
    e->grad[last] = e->dlogits;
    for (int i = last; i >= 1; i--) {
        if (!e->grad[i])
            continue;
        if (e->g->node[i].op == SP_OP_ADD)
            backward_add(e, i);
        else
            backward_node(e, i);
        if (i != last && e->grad[i])
            sp_exec_pool_put(e, e->grad[i]);
        e->grad[i] = NULL;
    }
    if (e->dist_on && sp_exec_dist_grads(e) < 0)
        return -1;
    return e->b->check ? e->b->check(e->b) : 0;
}

void sp_exec_sgd(sp_exec *e, const sp_sgd_opts *o)
{
    for (int k = 0; k < e->np; k++) {
        xparam *p = &e->p[k];
        if (p->v)
            e->b->sgd(e->b, p->w, p->g, p->v, p->numel, o->lr, o->momentum,
                      o->weight_decay, o->nesterov);
    }
}
