/* exec.c: building an executor, its device memory and its parameters.
 *
 * Buffers: node 0 (the input), the logits' gradient, the loss and the
 * labels are fixed.  A ReLU whose input has no other reader runs in place
 * (its backward only needs the sign pattern, which the output carries
 * too).  Training executors give every other activation its own buffer.
 * Inference activations and all activation gradients come
 * from a pool of equal-sized buffers, returned when no later step reads
 * them, so memory stays at a few activations whatever the depth. */
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
    }
    for (int k = 0; k < e->np; k++)
        e->x[e->p[k].info.node].p[e->p[k].info.kind] = k;
}

static void alloc_training(sp_exec *e, int mask_grads)
{
    sp_backend *b = e->b;
    size_t nb = (size_t)e->batch;
    for (int i = 1; i < e->g->n; i++) {
        const sp_node *nd = &e->g->node[i];
        xnode *x = &e->x[i];
        int in = nd->in[0];
        if (!x->inplace)
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
    for (int k = 0; k < e->np; k++) {
        xparam *p = &e->p[k];
        if (!p->w || !(p->info.learnable || p->info.kind == SP_P_MASK))
            continue;
        if (p->info.kind == SP_P_MASK && !mask_grads)
            continue;
        p->g = b->alloc(b, p->numel * sizeof(float));
        b->fill(b, p->g, 0.0f, p->numel);
        if (p->info.learnable) {
            p->v = b->alloc(b, p->numel * sizeof(float));
            b->fill(b, p->v, 0.0f, p->numel);
        }
    }
    e->scratch = b->alloc(b, nb * e->maxsize * sizeof(float));
}

sp_exec *sp_exec_new(sp_backend *b, const sp_model *m, int batch, int train, int mask_grads)
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
    if (train)
        alloc_training(e, mask_grads);
    if (sp_exec_upload(e, m) < 0) {
        sp_exec_free(e);
        return NULL;
    }
    return e;
}

void sp_exec_free(sp_exec *e)
{
    if (!e)
        return;
    sp_backend *b = e->b;
    b->sync(b);
    for (int k = 0; k < e->np; k++) {
        if (e->p[k].w) b->free(b, e->p[k].w);
        if (e->p[k].g) b->free(b, e->p[k].g);
        if (e->p[k].v) b->free(b, e->p[k].v);
    }
    for (int i = 1; i < e->g->n; i++) {
        xnode *x = &e->x[i];
        if (e->train && !x->inplace && e->act[i]) b->free(b, e->act[i]);
        if (x->save_mean) b->free(b, x->save_mean);
        if (x->save_invstd) b->free(b, x->save_invstd);
        if (x->ws) b->free(b, x->ws);
        if (x->keep) b->free(b, x->keep);
    }
    for (int i = 0; i < e->nall; i++)
        b->free(b, e->all[i]);
    if (e->scratch) b->free(b, e->scratch);
    b->free(b, e->input);
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
    return 0;
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

int sp_exec_classes(const sp_exec *e)
{
    return e->g->node[e->g->n - 1].c;
}
