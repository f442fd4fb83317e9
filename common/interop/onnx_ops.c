/* onnx_ops.c: each graph operation as ONNX nodes (opset 13), one emitter
 * per operation in the table at the end.
 *
 * Conv, BatchNormalization, Relu, MaxPool, AveragePool, GlobalAveragePool,
 * Flatten, Gemm, Add, and Mul for a channel mask that is not all ones;
 * ReLU6 becomes Relu and Sub.  Dropout and an all-ones mask are the
 * identity at inference.  A batch norm whose input is a convolution used by
 * nothing else is folded into it unless asked not to.  The option-A
 * shortcut (every stride-th pixel, zero channels added) is a 1x1 strided
 * convolution with a 0/1 weight, exact and understood by every runtime. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sp/base.h"
#include "onnx_priv.h"

/* An ONNX value name: a node's name, or one with a short suffix. */
#define VALUE_MAX (SP_NAME_MAX + 8)
/* A parameter's name: NODE.running_mean and the like. */
#define PARAM_MAX (SP_NAME_MAX + 24)

static void window_attrs(sp_pb *nd, const sp_node *n)
{
    int64_t k[2] = { n->kh, n->kw }, s[2] = { n->sh, n->sw };
    int64_t p[4] = { n->ph, n->pw, n->ph, n->pw };
    sp_onnx_attr_ints(nd, "kernel_shape", 2, k);
    sp_onnx_attr_ints(nd, "strides", 2, s);
    sp_onnx_attr_ints(nd, "pads", 4, p);
}

static const sp_node *node_at(const sp_onnx *o, int i)
{
    return &o->m->graph->node[i];
}

/* ---- conv (with the batch norm it may absorb) ---- */

/* The single consumer of node i if it is a batch norm, else -1. */
static int bn_to_fold(const sp_graph *g, int i)
{
    int bn = -1, uses = 0;
    for (int j = i + 1; j < g->n; j++)
        for (int k = 0; k < 2; k++)
            if (g->node[j].in[k] == i) {
                uses++;
                if (g->node[j].op == SP_OP_BN)
                    bn = j;
            }
    return uses == 1 ? bn : -1;
}

/* conv n followed by batch norm bn as one conv with a bias:
 * y = gamma (W x + b - mean) / sqrt(var + eps) + beta. */
static int fold_bn(sp_onnx *o, const sp_node *n, const sp_node *bn, const char *wname,
                   const char *bname)
{
    char key[PARAM_MAX];
    snprintf(key, sizeof key, "%s.weight", n->name);
    const sp_tensor *w = sp_model_tensor(o->m, key);
    const sp_tensor *b = NULL, *gm, *bt, *mu, *var;
    snprintf(key, sizeof key, "%s.bias", n->name);
    if (n->bias)
        b = sp_model_tensor(o->m, key);
    snprintf(key, sizeof key, "%s.weight", bn->name);
    gm = sp_model_tensor(o->m, key);
    snprintf(key, sizeof key, "%s.bias", bn->name);
    bt = sp_model_tensor(o->m, key);
    snprintf(key, sizeof key, "%s.running_mean", bn->name);
    mu = sp_model_tensor(o->m, key);
    snprintf(key, sizeof key, "%s.running_var", bn->name);
    var = sp_model_tensor(o->m, key);
    if (!w || (n->bias && !b) || !gm || !bt || !mu || !var)
        return o->err = sp_errorf("the checkpoint lacks a tensor of '%s' or '%s'", n->name,
                                  bn->name);
    int64_t cout = w->shape[0], per = sp_tensor_numel(w) / cout;
    float *fw = sp_xmalloc((size_t)sp_tensor_numel(w) * sizeof(float));
    float *fb = sp_xmalloc((size_t)cout * sizeof(float));
    for (int64_t c = 0; c < cout; c++) {
        double s = ((float *)gm->data)[c] / sqrt((double)((float *)var->data)[c] + bn->eps);
        for (int64_t k = 0; k < per; k++)
            fw[c * per + k] = (float)(((float *)w->data)[c * per + k] * s);
        double b0 = b ? ((float *)b->data)[c] : 0;
        fb[c] = (float)((b0 - ((float *)mu->data)[c]) * s + ((float *)bt->data)[c]);
    }
    sp_onnx_initializer(o, wname, w->ndim, w->shape, fw);
    sp_onnx_initializer(o, bname, 1, &cout, fb);
    free(fw);
    free(fb);
    return 0;
}

static void emit_conv(sp_onnx *o, int i, const char *x, char *out)
{
    const sp_graph *g = o->m->graph;
    const sp_node *n = node_at(o, i);
    int bn = o->fold ? bn_to_fold(g, i) : -1;
    char wname[PARAM_MAX], bname[PARAM_MAX];
    const char *in[3] = { x, wname, bname };
    int nin = n->bias ? 3 : 2;
    if (bn >= 0) {
        /* the batch norm is folded in: the conv produces its value */
        o->done[bn] = 1;
        snprintf(out, VALUE_MAX, "%s", bn == g->n - 1 ? "logits" : g->node[bn].name);
        o->vname[bn] = sp_xstrdup(out);
        snprintf(wname, sizeof wname, "%s.weight", n->name);
        snprintf(bname, sizeof bname, "%s.bias", n->name);
        if (fold_bn(o, n, &g->node[bn], wname, bname) < 0)
            return;
        nin = 3;
    } else {
        sp_onnx_param(o, n, "weight", wname, sizeof wname);
        if (n->bias)
            sp_onnx_param(o, n, "bias", bname, sizeof bname);
    }
    sp_pb nd = { 0 };
    sp_onnx_node_begin(&nd, "Conv", n->name, nin, in, out);
    window_attrs(&nd, n);
    int64_t dil[2] = { 1, 1 };
    sp_onnx_attr_ints(&nd, "dilations", 2, dil);
    sp_onnx_attr_int(&nd, "group", n->groups);
    sp_onnx_node_end(o, &nd);
}

/* ---- bn, relu, relu6 ---- */

static void emit_bn(sp_onnx *o, int i, const char *x, char *out)
{
    const sp_node *n = node_at(o, i);
    char w[PARAM_MAX], b[PARAM_MAX], mean[PARAM_MAX], var[PARAM_MAX];
    const char *in[5] = { x, w, b, mean, var };
    sp_onnx_param(o, n, "weight", w, sizeof w);
    sp_onnx_param(o, n, "bias", b, sizeof b);
    sp_onnx_param(o, n, "running_mean", mean, sizeof mean);
    sp_onnx_param(o, n, "running_var", var, sizeof var);
    sp_pb nd = { 0 };
    sp_onnx_node_begin(&nd, "BatchNormalization", n->name, 5, in, out);
    sp_onnx_attr_float(&nd, "epsilon", n->eps);
    sp_onnx_node_end(o, &nd);
}

static void emit_relu(sp_onnx *o, int i, const char *x, char *out)
{
    sp_onnx_simple(o, "Relu", node_at(o, i)->name, 1, &x, out);
}

static void relu6_constants(sp_onnx *o)
{
    float six = 6;
    sp_onnx_initializer(o, "relu6.six", 0, NULL, &six);
}

/* min(max(x, 0), 6) = relu(x) - relu(x - 6): Clip's opset-11 form (bounds
 * as inputs) is not read by OpenCV 4.6, these ops are. */
static void emit_relu6(sp_onnx *o, int i, const char *x, char *out)
{
    const sp_node *n = node_at(o, i);
    char pos[VALUE_MAX], shift[VALUE_MAX], over[VALUE_MAX];
    snprintf(pos, sizeof pos, "%s.pos", n->name);
    snprintf(shift, sizeof shift, "%s.shift", n->name);
    snprintf(over, sizeof over, "%s.over", n->name);
    const char *sub[2] = { x, "relu6.six" }, *diff[2] = { pos, over };
    const char *shifted = shift;
    sp_onnx_simple(o, "Relu", pos, 1, &x, pos);
    sp_onnx_simple(o, "Sub", shift, 2, sub, shift);
    sp_onnx_simple(o, "Relu", over, 1, &shifted, over);
    sp_onnx_simple(o, "Sub", n->name, 2, diff, out);
}

/* ---- pools ---- */

static void emit_pool(sp_onnx *o, int i, const char *x, char *out)
{
    const sp_node *n = node_at(o, i), *src = node_at(o, n->in[0]);
    int avg = n->op == SP_OP_AVGPOOL;
    if (avg && (n->kh == 0 || (n->kh == src->h && n->kw == src->w && n->ph == 0 &&
                                n->pw == 0))) {
        sp_onnx_simple(o, "GlobalAveragePool", n->name, 1, &x, out);
        return;
    }
    sp_pb nd = { 0 };
    sp_onnx_node_begin(&nd, avg ? "AveragePool" : "MaxPool", n->name, 1, &x, out);
    window_attrs(&nd, n);
    if (avg)
        sp_onnx_attr_int(&nd, "count_include_pad", 1);
    sp_onnx_node_end(o, &nd);
}

static void emit_adaptive(sp_onnx *o, int i, const char *x, char *out)
{
    const sp_node *n = node_at(o, i), *src = node_at(o, n->in[0]);
    if (n->oh == 1 && n->ow == 1) {
        sp_onnx_simple(o, "GlobalAveragePool", n->name, 1, &x, out);
    } else if (src->h % n->oh == 0 && src->w % n->ow == 0) {
        sp_node pool = *n;
        pool.kh = pool.sh = src->h / n->oh;
        pool.kw = pool.sw = src->w / n->ow;
        pool.ph = pool.pw = 0;
        sp_pb nd = { 0 };
        sp_onnx_node_begin(&nd, "AveragePool", n->name, 1, &x, out);
        window_attrs(&nd, &pool);
        sp_onnx_node_end(o, &nd);
    } else {
        o->err = sp_errorf("'%s': an adaptive pool from %dx%d to %dx%d has no ONNX equivalent",
                           n->name, src->h, src->w, n->oh, n->ow);
    }
}

/* ---- flatten, linear ---- */

static void emit_flatten(sp_onnx *o, int i, const char *x, char *out)
{
    sp_pb nd = { 0 };
    sp_onnx_node_begin(&nd, "Flatten", node_at(o, i)->name, 1, &x, out);
    sp_onnx_attr_int(&nd, "axis", 1);
    sp_onnx_node_end(o, &nd);
    o->vec[i] = 1;
}

static void emit_linear(sp_onnx *o, int i, const char *x, char *out)
{
    const sp_node *n = node_at(o, i);
    char w[PARAM_MAX], b[PARAM_MAX];
    const char *in[3] = { x, w, b };
    sp_onnx_param(o, n, "weight", w, sizeof w);
    if (n->bias) {
        sp_onnx_param(o, n, "bias", b, sizeof b);
    } else {
        int64_t cout = n->cout;
        float *z = sp_xcalloc((size_t)cout, sizeof(float));
        snprintf(b, sizeof b, "%s.bias", n->name);
        sp_onnx_initializer(o, b, 1, &cout, z);
        free(z);
    }
    sp_pb nd = { 0 };
    sp_onnx_node_begin(&nd, "Gemm", n->name, 3, in, out);
    sp_onnx_attr_int(&nd, "transB", 1);
    sp_onnx_node_end(o, &nd);
    o->vec[i] = 1;
}

/* ---- dropout, add, pad_shortcut, mask ---- */

/* The identity at inference: the node's value is its input's, unless it is
 * the graph's output, which must be produced under its own name. */
static void emit_identity(sp_onnx *o, int i, const char *x, char *out)
{
    if (i < o->m->graph->n - 1)
        o->vname[i] = sp_xstrdup(x);
    else
        sp_onnx_simple(o, "Identity", node_at(o, i)->name, 1, &x, out);
}

static void emit_add(sp_onnx *o, int i, const char *x, char *out)
{
    const sp_node *n = node_at(o, i);
    const char *in[2] = { x, o->vname[n->in[1]] };
    sp_onnx_simple(o, "Add", n->name, 2, in, out);
}

/* x[:, :, ::sh, ::sw] with pad_lo and pad_hi zero channels: a 1x1 conv. */
static void emit_shortcut(sp_onnx *o, int i, const char *x, char *out)
{
    const sp_node *n = node_at(o, i);
    int cin = node_at(o, n->in[0])->c;
    int64_t cout = cin + n->pad_lo + n->pad_hi, dims[4] = { cout, cin, 1, 1 };
    float *w = sp_xcalloc((size_t)(cout * cin), sizeof(float));
    for (int c = 0; c < cin; c++)
        w[(int64_t)(n->pad_lo + c) * cin + c] = 1;
    char wname[PARAM_MAX];
    snprintf(wname, sizeof wname, "%s.select", n->name);
    sp_onnx_initializer(o, wname, 4, dims, w);
    free(w);
    const char *in[2] = { x, wname };
    sp_pb nd = { 0 };
    sp_onnx_node_begin(&nd, "Conv", n->name, 2, in, out);
    int64_t k[2] = { 1, 1 }, s[2] = { n->sh, n->sw }, p[4] = { 0, 0, 0, 0 };
    sp_onnx_attr_ints(&nd, "kernel_shape", 2, k);
    sp_onnx_attr_ints(&nd, "strides", 2, s);
    sp_onnx_attr_ints(&nd, "pads", 4, p);
    sp_onnx_node_end(o, &nd);
}

static int mask_is_ones(const sp_onnx *o, const sp_node *n)
{
    char key[PARAM_MAX];
    snprintf(key, sizeof key, "%s.mask", n->name);
    const sp_tensor *t = sp_model_tensor(o->m, key);
    if (!t)
        return 1;
    for (int64_t i = 0; i < sp_tensor_numel(t); i++)
        if (((float *)t->data)[i] != 1.0f)
            return 0;
    return 1;
}

static void emit_mask(sp_onnx *o, int i, const char *x, char *out)
{
    const sp_node *n = node_at(o, i);
    if (mask_is_ones(o, n)) {
        emit_identity(o, i, x, out);
        return;
    }
    char key[PARAM_MAX];
    snprintf(key, sizeof key, "%s.mask", n->name);
    const sp_tensor *t = sp_model_tensor(o->m, key);
    /* a vector's mask is 1-D; a map's broadcasts as C x 1 x 1 */
    int64_t dims[3] = { t->shape[0], 1, 1 };
    sp_onnx_initializer(o, key, o->vec[i] ? 1 : 3, dims, t->data);
    const char *in[2] = { x, key };
    sp_onnx_simple(o, "Mul", n->name, 2, in, out);
}

/* ------------------------------------------------------------------ */

typedef struct onnx_op {
    /* Node i, reading value x, writing value out (VALUE_MAX bytes, which
     * it may rename) unless it sets o->vname[i] itself. */
    void (*emit)(sp_onnx *o, int i, const char *x, char *out);
    /* Once before any node, if the graph has the operation. */
    void (*prepare)(sp_onnx *o);
} onnx_op;

static const onnx_op onnx_ops[SP_OP_COUNT] = {
    [SP_OP_CONV] = {emit_conv, NULL},
    [SP_OP_BN] = {emit_bn, NULL},
    [SP_OP_RELU] = {emit_relu, NULL},
    [SP_OP_RELU6] = {emit_relu6, relu6_constants},
    [SP_OP_MAXPOOL] = {emit_pool, NULL},
    [SP_OP_AVGPOOL] = {emit_pool, NULL},
    [SP_OP_ADAPTIVE_AVGPOOL] = {emit_adaptive, NULL},
    [SP_OP_FLATTEN] = {emit_flatten, NULL},
    [SP_OP_LINEAR] = {emit_linear, NULL},
    [SP_OP_DROPOUT] = {emit_identity, NULL},
    [SP_OP_ADD] = {emit_add, NULL},
    [SP_OP_PAD_SHORTCUT] = {emit_shortcut, NULL},
    [SP_OP_MASK] = {emit_mask, NULL},
};

void sp_onnx_prepare(sp_onnx *o)
{
    const sp_graph *g = o->m->graph;
    for (int op = 0; op < SP_OP_COUNT; op++) {
        if (!onnx_ops[op].prepare)
            continue;
        int i = 1;
        while (i < g->n && g->node[i].op != (sp_op)op)
            i++;
        if (i < g->n)
            onnx_ops[op].prepare(o);
    }
}

void sp_onnx_emit(sp_onnx *o, int i)
{
    const sp_node *n = node_at(o, i);
    const char *x = n->in[0] >= 0 ? o->vname[n->in[0]] : NULL;
    char out[VALUE_MAX];
    snprintf(out, sizeof out, "%s", i == o->m->graph->n - 1 ? "logits" : n->name);
    o->vec[i] = n->in[0] >= 0 ? o->vec[n->in[0]] : 0;
    if ((unsigned)n->op < SP_OP_COUNT && onnx_ops[n->op].emit)
        onnx_ops[n->op].emit(o, i, x, out);
    else
        o->err = sp_errorf("node '%s' (%s) has no ONNX export", n->name, sp_op_name(n->op));
    if (!o->vname[i])
        o->vname[i] = sp_xstrdup(out);
}
