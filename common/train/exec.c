/* exec.c: building an executor, its device memory and its parameters.
 *
 * Buffers: node 0 (the input), the logits' gradient, the loss and the
 * labels are fixed.  A ReLU whose input has no other reader runs in place
 * (its backward only needs the sign pattern, which the output carries
 * too), and so does a sum over an operand that only it reads and whose
 * value no backward pass needs (overwritable): in a ResNet block, the
 * last batch norm's output.  Training executors give every other
 * activation its own buffer, except a batch norm's output that is cheaper
 * to recompute than to keep (plan_recompute).
 * Inference activations and all activation gradients come
 * from a pool of equal-sized buffers, returned when no later step reads
 * them, so memory stays at a few activations whatever the depth.
 *
 * Inference executors also fold batch norms into the convolutions they
 * follow and run ReLUs inside them (plan_fusion): a network such as
 * ResNet then makes one pass over memory per convolution instead of
 * three, and one convolution feeding the next directly skips the
 * conversion to NCHW and back between them.  The folded weights live
 * beside the model's own, which stay uploaded so that sp_exec_download
 * still returns the model unchanged. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sp/base.h"
#include "exec_priv.h"

float *sp_exec_pool_get(sp_exec *e)
{
    if (e->npool > 0)
        return e->pool[--e->npool];
    float *buf = e->b->alloc(e->b, (size_t)e->batch * e->maxsize * sizeof(float));
    e->all = sp_xrealloc(e->all, (size_t)(e->nall + 1) * sizeof *e->all);
    e->all[e->nall++] = buf;
    e->pool = sp_xrealloc(e->pool, (size_t)e->nall * sizeof *e->pool);
    return buf;
}

void sp_exec_pool_put(sp_exec *e, float *buf)
{
    e->pool[e->npool++] = buf;
}

/* Whether a sum may write over its operand j: nothing else reads j, and
 * no backward pass reads j's output (a convolution, batch norm or mask
 * reads its input; a ReLU in place would read its own output). */
static int overwritable(const sp_exec *e, int j)
{
    sp_op op = j > 0 ? e->g->node[j].op : SP_OP_INPUT;
    return j > 0 && e->x[j].nconsumers == 1 && !e->x[j].inplace &&
           (op == SP_OP_CONV || op == SP_OP_BN || op == SP_OP_MASK);
}

static void plan_nodes(sp_exec *e)
{
    sp_graph *g = e->g;
    for (int i = 0; i < g->n; i++) {
        xnode *x = &e->x[i];
        for (int k = 0; k <= SP_P_MASK; k++)
            x->p[k] = -1;
        x->size = (size_t)g->node[i].c * g->node[i].h * g->node[i].w;
        if (x->size > e->maxsize)
            e->maxsize = x->size;
        x->last_use = i;
    }
    for (int i = 1; i < g->n; i++)
        for (int k = 0; k < 2; k++) {
            int j = g->node[i].in[k];
            if (j < 0 || (k == 1 && j == g->node[i].in[0]))
                continue;
            e->x[j].nconsumers++;
            e->x[j].last_use = i;
        }
    e->x[g->n - 1].last_use = g->n;   /* the logits stay */
    for (int i = 1; i < g->n; i++) {
        const sp_node *nd = &g->node[i];
        int in = nd->in[0];
        e->x[i].inplace = (nd->op == SP_OP_RELU || nd->op == SP_OP_RELU6) && in > 0 &&
                          e->x[in].nconsumers == 1;
        for (int k = 0; nd->op == SP_OP_ADD && k < 2 && !e->x[i].inplace; k++)
            if (overwritable(e, nd->in[k]) && nd->in[0] != nd->in[1]) {
                e->x[i].inplace = 1;
                e->x[i].alias_in = k;
            }
    }
    for (int k = 0; k < e->np; k++)
        e->x[e->p[k].info.node].p[e->p[k].info.kind] = k;
}

/* Per node j, the node that writes over j's output in place, or 0. */
static int *writers(const sp_exec *e)
{
    const sp_graph *g = e->g;
    int *over = sp_xcalloc((size_t)g->n, sizeof *over);
    for (int k = 1; k < g->n; k++)
        if (e->x[k].inplace)
            over[g->node[k].in[e->x[k].alias_in]] = k;
    return over;
}

static int is_act(sp_op op)
{
    return op == SP_OP_RELU || op == SP_OP_RELU6;
}

/* Training.  A batch norm's output, with the ReLU that runs in place on
 * it, is what a convolution's backward pass reads as its input and the
 * ReLU's backward as its sign; it can be recomputed exactly from the
 * batch norm's input (which its own backward keeps anyway) and saved
 * statistics, so it lives in a pooled buffer only while the forward pass
 * reads it and again from the backward pass of its last reader to that
 * of the batch norm (sp_exec_recompute).  Not when something writes over
 * it in place (a residual sum: its value is gone), when it is the
 * logits, or when the batch norm's own input is such an output. */
static void plan_recompute(sp_exec *e)
{
    sp_graph *g = e->g;
    int *over = writers(e);
    for (int i = 1; i < g->n; i++) {
        int f = i, k = over[i], j = g->node[i].in[0];
        if (g->node[i].op != SP_OP_BN || j < 0 || e->x[j].recomputed_by)
            continue;
        if (k && is_act(g->node[k].op)) {
            f = k;
            k = over[f];
        }
        if (k || f == g->n - 1 || e->x[f].nconsumers == 0)
            continue;
        e->x[i].recompute = f;
        e->x[i].recomputed_by = e->x[f].recomputed_by = i;
    }
    free(over);
}

/* Training.  A batch norm also adds the shortcut of the sum that writes
 * over its output in place, and applies the activation run in place on
 * that (or on its own output): bn_fwd_train's res and act, the same bits
 * in one pass over memory instead of three.  The sum's other operand
 * must come first in the graph and be stored in the same order.  In the
 * training forward of one process only (sp_exec_forward): an evaluation
 * pass runs them apart, and so do batch norms summed across processes. */
static void plan_epilogues(sp_exec *e)
{
    sp_graph *g = e->g;
    int *over = writers(e);
    for (int i = 1; i < g->n; i++) {
        int k = over[i];
        if (g->node[i].op != SP_OP_BN || !k)
            continue;
        if (g->node[k].op == SP_OP_ADD) {
            int r = g->node[k].in[1 - e->x[k].alias_in];
            if (r >= i || e->x[r].nhwc_out != e->x[i].nhwc_out)
                continue;
            e->x[i].res = r;
            e->x[k].fused = 1;
            k = over[k];
        }
        if (k && is_act(g->node[k].op)) {
            e->x[i].act = 1 + (g->node[k].op == SP_OP_RELU ? SP_ACT_RELU : SP_ACT_RELU6);
            e->x[k].fused = 1;
        }
    }
    free(over);
}

static void describe_training(sp_exec *e)
{
    int bns = 0, again = 0, nhwc = 0, epilogues = 0;
    for (int i = 1; i < e->g->n; i++) {
        bns += e->g->node[i].op == SP_OP_BN;
        again += e->x[i].recompute > 0;
        nhwc |= e->x[i].nhwc_out;
        epilogues += e->g->node[i].op == SP_OP_BN && (e->x[i].res || e->x[i].act);
    }
    char kept[96], fused[96] = "";
    if (again)
        snprintf(kept, sizeof kept, "%d of %d batch norm outputs recomputed in the backward "
                 "pass", again, bns);
    else
        snprintf(kept, sizeof kept, "every activation kept");
    if (epilogues)
        snprintf(fused, sizeof fused, "; %d of %d batch norms also run the sum or activation "
                 "after them", epilogues, bns);
    snprintf(e->describe, sizeof e->describe, "%s; %s%s",
             nhwc ? "channels-last between convolutions" : "NCHW", kept, fused);
}

/* Inference only.  A BN whose input is a convolution read by nothing else
 * becomes part of that convolution's weights; a ReLU or ReLU6 whose input
 * is such a convolution, directly or through its folded BN, runs inside
 * it.  Either node then does no work and takes its input's buffer. */
static void plan_fusion(sp_exec *e)
{
    sp_graph *g = e->g;
    for (int i = 1; i < g->n; i++) {
        const sp_node *nd = &g->node[i];
        int j = nd->in[0];
        if (j <= 0 || e->x[j].nconsumers != 1)
            continue;
        if (nd->op == SP_OP_BN && g->node[j].op == SP_OP_CONV &&
            e->x[i].p[SP_P_RUNNING_MEAN] >= 0 && e->x[i].p[SP_P_RUNNING_VAR] >= 0) {
            e->x[j].fold_bn = i;
            e->x[i].alias = 1;
        } else if (nd->op == SP_OP_RELU || nd->op == SP_OP_RELU6) {
            int c = g->node[j].op == SP_OP_BN && e->x[j].alias ? g->node[j].in[0] : j;
            if (g->node[c].op == SP_OP_CONV && !e->x[c].act) {
                e->x[c].act = 1 + (nd->op == SP_OP_RELU ? SP_ACT_RELU : SP_ACT_RELU6);
                e->x[i].alias = 1;
            }
        }
    }
    /* a conv read (through aliases) only by another conv may pass its
     * output on in the backend's own layout */
    for (int i = 1; i < g->n && e->b->conv_chain && e->b->conv_fwd_own; i++) {
        int j = g->node[i].in[0];
        if (g->node[i].op != SP_OP_CONV || j <= 0 || e->x[j].nconsumers != 1)
            continue;
        while (j > 0 && e->x[j].alias)
            j = g->node[j].in[0];
        if (j > 0 && g->node[j].op == SP_OP_CONV && e->x[j].nconsumers == 1)
            e->x[j].chain = i;
    }
    for (int i = 1; i < g->n; i++) {
        xnode *x = &e->x[i];
        if (!x->fold_bn)
            continue;
        x->fw = e->b->alloc(e->b, e->p[x->p[SP_P_WEIGHT]].numel * sizeof(float));
        x->fb = e->b->alloc(e->b, (size_t)g->node[i].cout * sizeof(float));
    }
}

static const float *host_param(const sp_exec *e, const sp_model *m, int node, sp_param_kind kind)
{
    int k = e->x[node].p[kind];
    return k < 0 ? NULL : sp_model_tensor(m, e->p[k].info.name)->data;
}

/* w' = w * s and b' = (b - mean) * s + beta per output channel, with
 * s = gamma / sqrt(var + eps), in double so that the folded convolution
 * rounds no worse than the two separate steps. */
static void fold_upload(sp_exec *e, const sp_model *m)
{
    for (int i = 1; i < e->g->n; i++) {
        xnode *x = &e->x[i];
        if (!x->fold_bn)
            continue;
        int bn = x->fold_bn, k = e->g->node[i].cout;
        size_t numel = e->p[x->p[SP_P_WEIGHT]].numel, per = numel / (size_t)k;
        const float *w = host_param(e, m, i, SP_P_WEIGHT), *bias = host_param(e, m, i, SP_P_BIAS);
        const float *gamma = host_param(e, m, bn, SP_P_WEIGHT);
        const float *beta = host_param(e, m, bn, SP_P_BIAS);
        const float *mean = host_param(e, m, bn, SP_P_RUNNING_MEAN);
        const float *var = host_param(e, m, bn, SP_P_RUNNING_VAR);
        float *fw = sp_xmalloc(numel * sizeof *fw), *fb = sp_xmalloc((size_t)k * sizeof *fb);
        for (int c = 0; c < k; c++) {
            double sc = (gamma ? (double)gamma[c] : 1.0) /
                        sqrt((double)var[c] + (double)e->g->node[bn].eps);
            for (size_t q = 0; q < per; q++)
                fw[(size_t)c * per + q] = (float)((double)w[(size_t)c * per + q] * sc);
            fb[c] = (float)(((bias ? (double)bias[c] : 0.0) - (double)mean[c]) * sc +
                            (beta ? (double)beta[c] : 0.0));
        }
        e->b->upload(e->b, x->fw, fw, numel * sizeof *fw);
        e->b->upload(e->b, x->fb, fb, (size_t)k * sizeof *fb);
        free(fw);
        free(fb);
    }
}

static int has_grad(const xparam *p, int mask_grads)
{
    if (!p->w || !(p->info.learnable || p->info.kind == SP_P_MASK))
        return 0;
    return p->info.kind != SP_P_MASK || mask_grads;
}

/* The gradients of the parameters flagged in `with`: one block, each
 * 64-byte aligned in it, so that the processes of a data-parallel run sum
 * them in one call (a block held before is freed). */
static void grad_block(sp_exec *e, const unsigned char *with)
{
    sp_backend *b = e->b;
    if (e->gbuf)
        b->free(b, e->gbuf);
    e->gbuf = NULL;
    e->gnumel = 0;
    for (int k = 0; k < e->np; k++) {
        e->p[k].g = NULL;
        if (with[k])
            e->gnumel += (e->p[k].numel + 15) / 16 * 16;
    }
    if (e->gnumel == 0)
        return;
    e->gbuf = b->alloc(b, e->gnumel * sizeof(float));
    b->fill(b, e->gbuf, 0.0f, e->gnumel);
    size_t at = 0;
    for (int k = 0; k < e->np; k++)
        if (with[k]) {
            e->p[k].g = e->gbuf + at;
            at += (e->p[k].numel + 15) / 16 * 16;
        }
}

static void alloc_training(sp_exec *e, int mask_grads)
{
    sp_backend *b = e->b;
    size_t nb = (size_t)e->batch;
    for (int i = 1; i < e->g->n; i++) {
        const sp_node *nd = &e->g->node[i];
        xnode *x = &e->x[i];
        int in = nd->in[0];
        if (!x->inplace && !x->recompute)
            e->act[i] = b->alloc(b, nb * x->size * sizeof(float));
        if (nd->op == SP_OP_BN) {
            x->save_mean = b->alloc(b, (size_t)nd->cout * sizeof(float));
            x->save_invstd = b->alloc(b, (size_t)nd->cout * sizeof(float));
        } else if (nd->op == SP_OP_MAXPOOL) {
            const sp_node *src = &e->g->node[in];
            sp_pool_shape s = {e->batch, src->c, src->h, src->w, nd->h, nd->w,
                               nd->kh, nd->kw, nd->sh, nd->sw, nd->ph, nd->pw};
            size_t bytes = b->maxpool_ws_bytes(b, &s);
            x->ws = b->alloc(b, bytes > 0 ? bytes : 1);
        } else if (nd->op == SP_OP_DROPOUT) {
            x->keep = b->alloc(b, nb * x->size * sizeof(float));
        }
    }
    unsigned char *with = sp_xmalloc((size_t)e->np + 1);
    for (int k = 0; k < e->np; k++)
        with[k] = (unsigned char)has_grad(&e->p[k], mask_grads);
    grad_block(e, with);
    free(with);
    for (int k = 0; k < e->np; k++) {
        xparam *p = &e->p[k];
        if (p->g && p->info.learnable) {
            p->v = b->alloc(b, p->numel * sizeof(float));
            b->fill(b, p->v, 0.0f, p->numel);
        }
    }
    sp_exec_dist_setup(e);
}

sp_exec *sp_exec_new(sp_backend *b, const sp_model *m, int batch, int train, int mask_grads)
{
    return sp_exec_new_flags(b, m, batch, train, mask_grads, 0);
}

sp_exec *sp_exec_new_flags(sp_backend *b, const sp_model *m, int batch, int train,
                           int mask_grads, unsigned flags)
{
    if (batch < 1) {
        sp_errorf("the batch size %d is not positive", batch);
        return NULL;
    }
    sp_exec *e = sp_xcalloc(1, sizeof *e);
    e->b = b;
    e->g = sp_graph_clone(m->graph);
    e->batch = batch;
    e->train = train;
    sp_param_info *info;
    e->np = sp_graph_params(e->g, &info);
    e->p = sp_xcalloc((size_t)e->np + 1, sizeof *e->p);
    for (int k = 0; k < e->np; k++) {
        xparam *p = &e->p[k];
        p->info = info[k];
        p->numel = 1;
        for (int d = 0; d < p->info.ndim; d++)
            p->numel *= (size_t)p->info.shape[d];
        if (p->info.dtype == SP_F32)
            p->w = b->alloc(b, p->numel * sizeof(float));
    }
    free(info);
    e->x = sp_xcalloc((size_t)e->g->n, sizeof *e->x);
    e->act = sp_xcalloc((size_t)e->g->n, sizeof *e->act);
    e->grad = sp_xcalloc((size_t)e->g->n, sizeof *e->grad);
    plan_nodes(e);
    int classes = e->g->node[e->g->n - 1].c;
    e->input = b->alloc(b, (size_t)batch * e->x[0].size * sizeof(float));
    e->labels = b->alloc(b, (size_t)batch * sizeof(int32_t));
    e->loss_dev = b->alloc(b, sizeof(float));
    e->dlogits = b->alloc(b, (size_t)batch * classes * sizeof(float));
    if (train && b->bn_fwd_saved && !(flags & SP_EXEC_STORE_ALL))
        plan_recompute(e);
    if (train) {
        sp_exec_plan_layout(e, flags);
        if (!(flags & SP_EXEC_UNFUSED))
            plan_epilogues(e);
        describe_training(e);
        alloc_training(e, mask_grads);
    }
    else if (!(flags & SP_EXEC_UNFUSED)) {
        plan_fusion(e);
        sp_exec_plan_layout(e, flags);
    }
    if (sp_exec_upload(e, m) < 0) {
        sp_exec_free(e);
        return NULL;
    }
    return e;
}

static int named(const char *name, const char *const *names, int n)
{
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0)
            return 1;
    return 0;
}

int sp_exec_keep_grads(sp_exec *e, const char *const *names, int n)
{
    if (!e->train)
        return sp_errorf("this executor was built for inference only");
    for (int i = 0; i < n; i++) {
        int k = 0;
        while (k < e->np && strcmp(e->p[k].info.name, names[i]) != 0)
            k++;
        if (k == e->np || !e->p[k].g)
            return sp_errorf("the network has no trained parameter '%s'", names[i]);
    }
    unsigned char *with = sp_xcalloc((size_t)e->np + 1, 1);
    for (int k = 0; k < e->np; k++)
        with[k] = e->p[k].g && named(e->p[k].info.name, names, n);
    for (int i = 1; i < e->g->n; i++) {       /* a bias goes with its weight */
        int w = e->x[i].p[SP_P_WEIGHT], bias = e->x[i].p[SP_P_BIAS];
        if (bias >= 0 && (w < 0 || !with[w]))
            with[bias] = 0;
    }
    for (int k = 0; k < e->np; k++)
        if (!with[k] && e->p[k].v) {
            e->b->free(e->b, e->p[k].v);
            e->p[k].v = NULL;
        }
    grad_block(e, with);
    free(with);
    free(e->need);
    e->need = sp_xcalloc((size_t)e->g->n, 1);
    for (int i = 1; i < e->g->n; i++) {       /* the graph is in topological order */
        const xnode *x = &e->x[i];
        for (int kind = 0; kind <= SP_P_MASK; kind++)
            if (x->p[kind] >= 0 && e->p[x->p[kind]].g)
                e->need[i] = 1;
        const sp_node *nd = &e->g->node[i];
        for (int s = 0; s < 2; s++)
            if (nd->in[s] > 0 && e->need[nd->in[s]])
                e->need[i] = 1;
    }
    return 0;
}

void sp_exec_free(sp_exec *e)
{
    if (!e)
        return;
    sp_backend *b = e->b;
    b->sync(b);
    for (int k = 0; k < e->np; k++) {
        if (e->p[k].w) b->free(b, e->p[k].w);
        if (e->p[k].v) b->free(b, e->p[k].v);
    }
    for (int i = 1; i < e->g->n; i++) {
        xnode *x = &e->x[i];
        if (e->train && !x->inplace && !x->recompute && e->act[i]) b->free(b, e->act[i]);
        if (x->save_mean) b->free(b, x->save_mean);
        if (x->save_invstd) b->free(b, x->save_invstd);
        if (x->ws) b->free(b, x->ws);
        if (x->keep) b->free(b, x->keep);
        if (x->fw) b->free(b, x->fw);
        if (x->fb) b->free(b, x->fb);
    }
    free(e->need);
    for (int i = 0; i < e->nall; i++)
        b->free(b, e->all[i]);
    if (e->gbuf) b->free(b, e->gbuf);
    if (e->bn_local) b->free(b, e->bn_local);
    if (e->bn_global) b->free(b, e->bn_global);
    b->free(b, e->input);
    if (e->input_nhwc)
        b->free(b, e->input_nhwc);
    b->free(b, e->labels);
    b->free(b, e->loss_dev);
    b->free(b, e->dlogits);
    free(e->all);
    free(e->pool);
    free(e->act);
    free(e->grad);
    free(e->x);
    free(e->p);
    sp_graph_free(e->g);
    free(e);
}

int sp_exec_upload(sp_exec *e, const sp_model *m)
{
    for (int k = 0; k < e->np; k++) {
        xparam *p = &e->p[k];
        if (!p->w)
            continue;
        const sp_tensor *t = sp_model_tensor(m, p->info.name);
        if (!t || t->dtype != SP_F32 || (size_t)sp_tensor_numel(t) != p->numel)
            return sp_errorf("the model has no F32 tensor '%s' of %zu elements",
                             p->info.name, p->numel);
        e->b->upload(e->b, p->w, t->data, p->numel * sizeof(float));
    }
    fold_upload(e, m);
    e->train_forwards = 0;
    return 0;
}

int sp_exec_download(sp_exec *e, sp_model *m)
{
    e->b->sync(e->b);
    for (int k = 0; k < e->np; k++) {
        xparam *p = &e->p[k];
        sp_tensor *t = sp_model_tensor(m, p->info.name);
        if (!t || (size_t)sp_tensor_numel(t) != p->numel)
            return sp_errorf("the model has no tensor '%s' of %zu elements",
                             p->info.name, p->numel);
        if (p->w)
            e->b->download(e->b, t->data, p->w, p->numel * sizeof(float));
        else if (t->dtype == SP_I64)
            *(int64_t *)t->data += e->train_forwards;
    }
    e->train_forwards = 0;
    return e->b->check ? e->b->check(e->b) : 0;
}

static int learnable_index(const sp_exec *e, int i)
{
    for (int k = 0; k < e->np; k++)
        if (e->p[k].v && i-- == 0)
            return k;
    return -1;
}

int sp_exec_nlearnable(const sp_exec *e)
{
    int n = 0;
    for (int k = 0; k < e->np; k++)
        n += e->p[k].v != NULL;
    return n;
}

const char *sp_exec_learnable_name(const sp_exec *e, int i)
{
    return e->p[learnable_index(e, i)].info.name;
}

size_t sp_exec_learnable_numel(const sp_exec *e, int i)
{
    return e->p[learnable_index(e, i)].numel;
}

void sp_exec_get_momentum(sp_exec *e, int i, float *host)
{
    xparam *p = &e->p[learnable_index(e, i)];
    e->b->download(e->b, host, p->v, p->numel * sizeof(float));
}

void sp_exec_set_momentum(sp_exec *e, int i, const float *host)
{
    xparam *p = &e->p[learnable_index(e, i)];
    e->b->upload(e->b, p->v, host, p->numel * sizeof(float));
}

const float *sp_exec_grad(const sp_exec *e, const char *name)
{
    for (int k = 0; k < e->np; k++)
        if (strcmp(e->p[k].info.name, name) == 0)
            return e->p[k].g;
    return NULL;
}

sp_backend *sp_exec_backend(const sp_exec *e)
{
    return e->b;
}

static xparam *find_param(const sp_exec *e, const char *name)
{
    for (int k = 0; k < e->np; k++)
        if (strcmp(e->p[k].info.name, name) == 0)
            return &e->p[k];
    return NULL;
}

float *sp_exec_param(const sp_exec *e, const char *name)
{
    xparam *p = find_param(e, name);
    return p ? p->w : NULL;
}

static xparam *checked_param(const sp_exec *e, const char *name, int grad)
{
    xparam *p = find_param(e, name);
    if (!p || !p->w)
        sp_errorf("the network has no F32 parameter '%s'", name);
    else if (grad && !p->g)
        sp_errorf("the parameter '%s' has no gradient in this executor", name);
    else
        return p;
    return NULL;
}

int sp_exec_param_upload(sp_exec *e, const char *name, const float *host)
{
    xparam *p = checked_param(e, name, 0);
    if (!p)
        return -1;
    e->b->upload(e->b, p->w, host, p->numel * sizeof(float));
    return 0;
}

int sp_exec_param_download(sp_exec *e, const char *name, float *host)
{
    xparam *p = checked_param(e, name, 0);
    if (!p)
        return -1;
    e->b->download(e->b, host, p->w, p->numel * sizeof(float));
    return 0;
}

int sp_exec_grad_download(sp_exec *e, const char *name, float *host)
{
    xparam *p = checked_param(e, name, 1);
    if (!p)
        return -1;
    e->b->download(e->b, host, p->g, p->numel * sizeof(float));
    return 0;
}

int sp_exec_classes(const sp_exec *e)
{
    return e->g->node[e->g->n - 1].c;
}
