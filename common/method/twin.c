/* twin.c: the sensitivity twin (sp-method(7), step 1).  The original,
 * unpruned network with every conv and linear weight redrawn from
 * Xavier-normal for each batch (MobileNetV2: every conv), its biases and
 * batch norms those of the original network, batch statistics and dropout
 * on.  Forward and backward of the loss give S = |W * dL/dW|, summed per
 * output channel (the score) and over the inputs (the P map) by the
 * backend, so only those small sums leave the device. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "sp/base.h"
#include "stage_priv.h"

static int is_redrawn(const sp_node *n, sp_family f)
{
    return n->op == SP_OP_CONV || (n->op == SP_OP_LINEAR && f != SP_FAMILY_MOBILENET);
}

static int has_twin(const sp_model *m)
{
    for (int k = 0; k < m->n; k++)
        if (strncmp(m->t[k].name, "twin/", 5) == 0)
            return 1;
    return 0;
}

/* Whether the twin keeps the original's value of parameter p. */
static int is_fixed(const sp_graph *g, const sp_param_info *p, sp_family f)
{
    if (p->kind == SP_P_NUM_BATCHES || p->kind == SP_P_MASK)
        return 0;
    return !(p->kind == SP_P_WEIGHT && is_redrawn(&g->node[p->node], f));
}

int sp_stage_record_twin(sp_model *m, const sp_recipe *r)
{
    if (has_twin(m))
        return 0;
    sp_param_info *info;
    int np = sp_graph_params(m->original, &info), rc = 0;
    for (int k = 0; k < np && rc == 0; k++) {
        const sp_param_info *p = &info[k];
        if (!is_fixed(m->original, p, r->family))
            continue;
        const sp_tensor *src = sp_model_tensor(m, p->name);
        if (!src || src->dtype != SP_F32 || !sp_shape_equal(src->ndim, src->shape, p->ndim, p->shape)) {
            rc = sp_errorf("the network has been pruned but does not carry the original's "
                           "biases and batch norms (twin/%s): prune it from its first stage "
                           "with sp-train-mask or sp-select", p->name);
            break;
        }
        char *tn = sp_xasprintf("twin/%s", p->name);
        sp_tensor *c = sp_model_add_tensor(m, tn, SP_F32, p->ndim, p->shape);
        memcpy(c->data, sp_model_tensor(m, p->name)->data, sp_tensor_bytes(c));
        free(tn);
    }
    free(info);
    return rc;
}

/* The twin's fixed parameters from m's twin/ tensors, recorded at the
 * first stage. */
static int fill_fixed(twin *t, sp_model *m, const sp_param_info *info, int np, sp_family f)
{
    for (int k = 0; k < np; k++) {
        const sp_param_info *p = &info[k];
        if (!is_fixed(t->m->graph, p, f))
            continue;
        char *tn = sp_xasprintf("twin/%s", p->name);
        const sp_tensor *src = sp_model_tensor(m, tn);
        sp_tensor *dst = sp_model_tensor(t->m, p->name);
        free(tn);
        if (!src || src->dtype != SP_F32 || sp_tensor_bytes(src) != sp_tensor_bytes(dst))
            return sp_errorf("the checkpoint's tensor twin/%s is missing or has the wrong size",
                             p->name);
        memcpy(dst->data, src->data, sp_tensor_bytes(src));
    }
    return 0;
}

int sp_twin_init(twin *t, sp_backend *b, sp_model *m, const sp_stage_opts *o,
                 const char *const *ranked, int nranked)
{
    memset(t, 0, sizeof *t);
    if (sp_stage_record_twin(m, o->recipe) < 0)
        return -1;
    t->m = sp_model_new(sp_graph_clone(m->original));
    const sp_graph *g = t->m->graph;
    sp_param_info *info;
    int np = sp_graph_params(g, &info);
    int rc = fill_fixed(t, m, info, np, o->recipe->family);
    free(info);
    if (rc < 0)
        return -1;
    t->l = sp_xcalloc((size_t)g->n, sizeof *t->l);
    size_t max_k = 1, max_map = 1;
    for (int i = 1; i < g->n; i++) {
        const sp_node *n = &g->node[i];
        if (n->op != SP_OP_CONV && n->op != SP_OP_LINEAR)
            continue;
        twin_layer *l = &t->l[t->nl++];
        snprintf(l->name, sizeof l->name, "%s.weight", n->name);
        int conv = n->op == SP_OP_CONV, groups = conv && n->groups > 0 ? n->groups : 1;
        l->cout = n->cout;
        l->cin = n->cin / groups;
        l->khw = conv ? n->kh * n->kw : 1;
        double fan_in = (double)l->cin * l->khw, fan_out = (double)l->cout * l->khw;
        l->std = (float)sqrt(2.0 / (fan_in + fan_out));
        l->redraw = is_redrawn(n, o->recipe->family);
        l->scale = 1.0f;
        for (int r = 0; r < nranked; r++)
            l->ranked |= strcmp(ranked[r], l->name) == 0;
        if (l->ranked) {
            l->score = sp_xcalloc((size_t)l->cout, sizeof *l->score);
            l->map = sp_xcalloc((size_t)l->cout * l->khw, sizeof *l->map);
        }
        if ((size_t)l->cout > max_k)
            max_k = (size_t)l->cout;
        if ((size_t)l->cout * l->khw > max_map)
            max_map = (size_t)l->cout * l->khw;
    }
    t->e = sp_exec_new(b, t->m, o->batch, 1, 0);
    /* S needs the ranked layers' weight gradients only */
    if (!t->e || sp_exec_keep_grads(t->e, ranked, nranked) < 0)
        return -1;
    t->score_dev = b->alloc(b, max_k * sizeof(float));
    t->map_dev = b->alloc(b, max_map * sizeof(float));
    return 0;
}

void sp_twin_free(twin *t)
{
    if (t->e) {
        sp_backend *b = sp_exec_backend(t->e);
        b->free(b, t->score_dev);
        b->free(b, t->map_dev);
        sp_exec_free(t->e);
    }
    for (int i = 0; i < t->nl; i++) {
        free(t->l[i].score);
        free(t->l[i].map);
    }
    free(t->l);
    if (t->m)
        sp_model_free(t->m);
    memset(t, 0, sizeof *t);
}

int sp_twin_find(const twin *t, const char *weight_name)
{
    for (int i = 0; i < t->nl; i++)
        if (strcmp(t->l[i].name, weight_name) == 0)
            return i;
    return -1;
}

int sp_twin_sense(twin *t, const sp_stage_opts *o, const float *images, const int32_t *labels,
                  int n, int64_t step)
{
    sp_backend *b = sp_exec_backend(t->e);
    uint64_t seed = o->seed ^ SP_RNG_STREAM_TWIN;
    for (int i = 0; i < t->nl; i++) {
        twin_layer *l = &t->l[i];
        if (!l->redraw)
            continue;
        size_t numel = (size_t)l->cout * l->cin * l->khw;
        b->fill_normal(b, sp_exec_param(t->e, l->name), numel, l->std * l->scale, seed,
                       (uint64_t)step * 4096u + (uint64_t)i);
    }
    if (sp_exec_set_input(t->e, images, labels, n) < 0)
        return -1;
    sp_exec_set_dropout(t->e, seed, (uint64_t)step);
    if (sp_exec_forward(t->e, 1) < 0)
        return -1;
    float loss = o->ssty_loss == SP_SSTY_CE ? sp_exec_loss(t->e) : sp_exec_loss_logit(t->e);
    if (!isfinite(loss))
        return sp_errorf("the sensitivity twin's loss became %s at step %lld",
                         isnan(loss) ? "NaN" : "infinite", (long long)step + 1);
    if (sp_exec_backward(t->e) < 0)
        return -1;
    for (int i = 0; i < t->nl; i++) {
        twin_layer *l = &t->l[i];
        if (!l->ranked)
            continue;
        const float *w = sp_exec_param(t->e, l->name), *dw = sp_exec_grad(t->e, l->name);
        b->conn_sens(b, t->score_dev, t->map_dev, w, dw, l->cout, l->cin, l->khw);
        b->download(b, l->score, t->score_dev, (size_t)l->cout * sizeof(float));
        b->download(b, l->map, t->map_dev, (size_t)l->cout * l->khw * sizeof(float));
        if (l->scale != 1.0f) {
            /* S = |W * dL/dW_eff| with W_eff = scale * W as drawn */
            for (int k = 0; k < l->cout; k++)
                l->score[k] /= l->scale;
            for (int k = 0; k < l->cout * l->khw; k++)
                l->map[k] /= l->scale;
        }
    }
    return 0;
}
