/* export_onnx.c: the inference graph of a model as ONNX (opset 13).
 *
 * Reads: a model (graph and tensors).  Writes: an ONNX ModelProto encoded
 * with protobuf.c: one node per graph node (Conv, BatchNormalization,
 * Relu, MaxPool, AveragePool, GlobalAveragePool, Flatten, Gemm, Add, Mul
 * for a channel mask; ReLU6 as Relu and Sub), the parameters as initializers, the
 * input "input" (batch x C x H x W, batch symbolic) and the output
 * "logits".  Dropout is the identity at inference.  A batch norm whose
 * input is a convolution used by nothing else is folded into it unless
 * asked not to.  The option-A shortcut (every stride-th pixel, zero
 * channels added) is a 1x1 strided convolution with a 0/1 weight, exact
 * and understood by every runtime.  The preprocessing the network expects
 * (input size, mean, std) goes into metadata_props. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "sp/export.h"
#include "protobuf_priv.h"
#include "sp/torch.h"

enum { ONNX_FLOAT = 1, ONNX_INT64 = 7 };
enum { ATTR_FLOAT = 1, ATTR_INT = 2, ATTR_INTS = 7 };

typedef struct onnx {
    const sp_model *m;
    sp_pb graph;
    char **vname;             /* the value each graph node produces */
    int err;
} onnx;

static void attr_int(sp_pb *node, const char *name, int64_t v)
{
    sp_pb a = { 0 };
    sp_pb_str(&a, 1, name);
    sp_pb_int(&a, 3, v);
    sp_pb_int(&a, 20, ATTR_INT);
    sp_pb_msg(node, 5, &a);
    sp_pb_free(&a);
}

static void attr_float(sp_pb *node, const char *name, float v)
{
    sp_pb a = { 0 };
    sp_pb_str(&a, 1, name);
    sp_pb_float(&a, 2, v);
    sp_pb_int(&a, 20, ATTR_FLOAT);
    sp_pb_msg(node, 5, &a);
    sp_pb_free(&a);
}

static void attr_ints(sp_pb *node, const char *name, int n, const int64_t *v)
{
    sp_pb a = { 0 };
    sp_pb_str(&a, 1, name);
    for (int i = 0; i < n; i++)
        sp_pb_int(&a, 8, v[i]);
    sp_pb_int(&a, 20, ATTR_INTS);
    sp_pb_msg(node, 5, &a);
    sp_pb_free(&a);
}

static void initializer(onnx *o, const char *name, int ndim, const int64_t *dims,
                        const float *data)
{
    sp_pb t = { 0 };
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) {
        sp_pb_int(&t, 1, dims[i]);
        n *= dims[i];
    }
    sp_pb_int(&t, 2, ONNX_FLOAT);
    sp_pb_str(&t, 8, name);
    sp_pb_blob(&t, 9, data, (size_t)n * sizeof(float));   /* little-endian hosts only */
    sp_pb_msg(&o->graph, 5, &t);
    sp_pb_free(&t);
}

/* The model's tensor NODE.SUFFIX as an initializer of the same name. */
static const char *param(onnx *o, const sp_node *nd, const char *suffix, char *buf, size_t n)
{
    snprintf(buf, n, "%s.%s", nd->name, suffix);
    const sp_tensor *t = sp_model_tensor(o->m, buf);
    if (!t) {
        o->err = sp_errorf("the checkpoint has no tensor '%s'", buf);
        return buf;
    }
    initializer(o, buf, t->ndim, t->shape, t->data);
    return buf;
}

/* A node with up to 5 inputs and one output; attributes are added by the
 * caller before sp_pb_msg. */
static void node_begin(sp_pb *nd, const char *op, const char *name, int nin,
                       const char *const *in, const char *out)
{
    for (int i = 0; i < nin; i++)
        sp_pb_str(nd, 1, in[i]);
    sp_pb_str(nd, 2, out);
    sp_pb_str(nd, 3, name);
    sp_pb_str(nd, 4, op);
}

static void node_end(onnx *o, sp_pb *nd)
{
    sp_pb_msg(&o->graph, 1, nd);
    sp_pb_free(nd);
}

static void simple(onnx *o, const char *op, const char *name, int nin, const char *const *in,
                   const char *out)
{
    sp_pb nd = { 0 };
    node_begin(&nd, op, name, nin, in, out);
    node_end(o, &nd);
}

static void window_attrs(sp_pb *nd, const sp_node *n)
{
    int64_t k[2] = { n->kh, n->kw }, s[2] = { n->sh, n->sw };
    int64_t p[4] = { n->ph, n->pw, n->ph, n->pw };
    attr_ints(nd, "kernel_shape", 2, k);
    attr_ints(nd, "strides", 2, s);
    attr_ints(nd, "pads", 4, p);
}

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

static void emit_conv(onnx *o, int i, int fold, const char *out)
{
    const sp_graph *g = o->m->graph;
    const sp_node *n = &g->node[i];
    char wname[SP_NAME_MAX + 24], bname[SP_NAME_MAX + 24];
    const char *in[3] = { o->vname[n->in[0]], wname, bname };
    int nin = n->bias ? 3 : 2;
    if (fold >= 0) {
        /* y = gamma (W x + b - mean) / sqrt(var + eps) + beta */
        const sp_node *bn = &g->node[fold];
        char key[SP_NAME_MAX + 24];
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
        if (!w || (n->bias && !b) || !gm || !bt || !mu || !var) {
            o->err = sp_errorf("the checkpoint lacks a tensor of '%s' or '%s'", n->name, bn->name);
            return;
        }
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
        snprintf(wname, sizeof wname, "%s.weight", n->name);
        snprintf(bname, sizeof bname, "%s.bias", n->name);
        initializer(o, wname, w->ndim, w->shape, fw);
        initializer(o, bname, 1, &cout, fb);
        free(fw);
        free(fb);
        nin = 3;
    } else {
        param(o, n, "weight", wname, sizeof wname);
        if (n->bias)
            param(o, n, "bias", bname, sizeof bname);
    }
    sp_pb nd = { 0 };
    node_begin(&nd, "Conv", n->name, nin, in, out);
    window_attrs(&nd, n);
    int64_t dil[2] = { 1, 1 };
    attr_ints(&nd, "dilations", 2, dil);
    attr_int(&nd, "group", n->groups);
    node_end(o, &nd);
}

/* x[:, :, ::sh, ::sw] with pad_lo and pad_hi zero channels: a 1x1 conv. */
static void emit_shortcut(onnx *o, const sp_node *n, int cin, const char *out)
{
    int64_t cout = cin + n->pad_lo + n->pad_hi, dims[4] = { cout, cin, 1, 1 };
    float *w = sp_xcalloc((size_t)(cout * cin), sizeof(float));
    for (int c = 0; c < cin; c++)
        w[(int64_t)(n->pad_lo + c) * cin + c] = 1;
    char wname[SP_NAME_MAX + 24];
    snprintf(wname, sizeof wname, "%s.select", n->name);
    initializer(o, wname, 4, dims, w);
    free(w);
    const char *in[2] = { o->vname[n->in[0]], wname };
    sp_pb nd = { 0 };
    node_begin(&nd, "Conv", n->name, 2, in, out);
    int64_t k[2] = { 1, 1 }, s[2] = { n->sh, n->sw }, p[4] = { 0, 0, 0, 0 };
    attr_ints(&nd, "kernel_shape", 2, k);
    attr_ints(&nd, "strides", 2, s);
    attr_ints(&nd, "pads", 4, p);
    node_end(o, &nd);
}

static int mask_is_ones(const onnx *o, const sp_node *n)
{
    char key[SP_NAME_MAX + 24];
    snprintf(key, sizeof key, "%s.mask", n->name);
    const sp_tensor *t = sp_model_tensor(o->m, key);
    if (!t)
        return 1;
    for (int64_t i = 0; i < sp_tensor_numel(t); i++)
        if (((float *)t->data)[i] != 1.0f)
            return 0;
    return 1;
}

static void emit_node(onnx *o, int i, int fold, int last, unsigned char *done, int *vec)
{
    const sp_graph *g = o->m->graph;
    const sp_node *n = &g->node[i];
    const char *x = n->in[0] >= 0 ? o->vname[n->in[0]] : NULL;
    char out[SP_NAME_MAX + 8], a[SP_NAME_MAX + 24], b[SP_NAME_MAX + 24], c[SP_NAME_MAX + 24],
        d[SP_NAME_MAX + 24];
    snprintf(out, sizeof out, "%s", last ? "logits" : n->name);
    vec[i] = n->in[0] >= 0 ? vec[n->in[0]] : 0;
    switch (n->op) {
    case SP_OP_CONV: {
        int bn = fold ? bn_to_fold(g, i) : -1;
        if (bn >= 0) {
            done[bn] = 1;
            snprintf(out, sizeof out, "%s", bn == g->n - 1 ? "logits" : g->node[bn].name);
            o->vname[bn] = sp_xstrdup(out);
        }
        emit_conv(o, i, bn, out);
        break;
    }
    case SP_OP_BN: {
        const char *in[5] = { x, param(o, n, "weight", a, sizeof a), param(o, n, "bias", b, sizeof b),
                              param(o, n, "running_mean", c, sizeof c),
                              param(o, n, "running_var", d, sizeof d) };
        sp_pb nd = { 0 };
        node_begin(&nd, "BatchNormalization", n->name, 5, in, out);
        attr_float(&nd, "epsilon", n->eps);
        node_end(o, &nd);
        break;
    }
    case SP_OP_RELU:
        simple(o, "Relu", n->name, 1, &x, out);
        break;
    case SP_OP_RELU6: {
        /* min(max(x, 0), 6) = relu(x) - relu(x - 6): Clip's opset-11 form
         * (bounds as inputs) is not read by OpenCV 4.6, these ops are */
        char pos[SP_NAME_MAX + 8], shift[SP_NAME_MAX + 8], over[SP_NAME_MAX + 8];
        snprintf(pos, sizeof pos, "%s.pos", n->name);
        snprintf(shift, sizeof shift, "%s.shift", n->name);
        snprintf(over, sizeof over, "%s.over", n->name);
        const char *sub[2] = { x, "relu6.six" }, *diff[2] = { pos, over };
        const char *shifted = shift;
        simple(o, "Relu", pos, 1, &x, pos);
        simple(o, "Sub", shift, 2, sub, shift);
        simple(o, "Relu", over, 1, &shifted, over);
        simple(o, "Sub", n->name, 2, diff, out);
        break;
    }
    case SP_OP_MAXPOOL: case SP_OP_AVGPOOL: {
        const sp_node *src = &g->node[n->in[0]];
        if (n->op == SP_OP_AVGPOOL && (n->kh == 0 || (n->kh == src->h && n->kw == src->w &&
                                                      n->ph == 0 && n->pw == 0))) {
            simple(o, "GlobalAveragePool", n->name, 1, &x, out);
            break;
        }
        sp_pb nd = { 0 };
        node_begin(&nd, n->op == SP_OP_MAXPOOL ? "MaxPool" : "AveragePool", n->name, 1, &x, out);
        window_attrs(&nd, n);
        if (n->op == SP_OP_AVGPOOL)
            attr_int(&nd, "count_include_pad", 1);
        node_end(o, &nd);
        break;
    }
    case SP_OP_ADAPTIVE_AVGPOOL: {
        const sp_node *src = &g->node[n->in[0]];
        if (n->oh == 1 && n->ow == 1) {
            simple(o, "GlobalAveragePool", n->name, 1, &x, out);
        } else if (src->h % n->oh == 0 && src->w % n->ow == 0) {
            sp_node pool = *n;
            pool.kh = pool.sh = src->h / n->oh;
            pool.kw = pool.sw = src->w / n->ow;
            pool.ph = pool.pw = 0;
            sp_pb nd = { 0 };
            node_begin(&nd, "AveragePool", n->name, 1, &x, out);
            window_attrs(&nd, &pool);
            node_end(o, &nd);
        } else {
            o->err = sp_errorf("'%s': an adaptive pool from %dx%d to %dx%d has no ONNX equivalent",
                               n->name, src->h, src->w, n->oh, n->ow);
        }
        break;
    }
    case SP_OP_FLATTEN: {
        sp_pb nd = { 0 };
        node_begin(&nd, "Flatten", n->name, 1, &x, out);
        attr_int(&nd, "axis", 1);
        node_end(o, &nd);
        vec[i] = 1;
        break;
    }
    case SP_OP_LINEAR: {
        const char *in[3] = { x, param(o, n, "weight", a, sizeof a), b };
        if (n->bias) {
            param(o, n, "bias", b, sizeof b);
        } else {
            int64_t cout = n->cout;
            float *z = sp_xcalloc((size_t)cout, sizeof(float));
            snprintf(b, sizeof b, "%s.bias", n->name);
            initializer(o, b, 1, &cout, z);
            free(z);
        }
        sp_pb nd = { 0 };
        node_begin(&nd, "Gemm", n->name, 3, in, out);
        attr_int(&nd, "transB", 1);
        node_end(o, &nd);
        vec[i] = 1;
        break;
    }
    case SP_OP_ADD: {
        const char *in[2] = { x, o->vname[n->in[1]] };
        simple(o, "Add", n->name, 2, in, out);
        break;
    }
    case SP_OP_PAD_SHORTCUT:
        emit_shortcut(o, n, g->node[n->in[0]].c, out);
        break;
    case SP_OP_MASK: case SP_OP_DROPOUT:
        if (n->op == SP_OP_MASK && !mask_is_ones(o, n)) {
            snprintf(a, sizeof a, "%s.mask", n->name);
            const sp_tensor *t = sp_model_tensor(o->m, a);
            int64_t dims[3] = { t->shape[0], 1, 1 };
            initializer(o, a, vec[i] ? 1 : 3, dims, t->data);
            const char *in[2] = { x, a };
            simple(o, "Mul", n->name, 2, in, out);
        } else if (!last) {
            o->vname[i] = sp_xstrdup(x);   /* the identity at inference */
            return;
        } else {
            simple(o, "Identity", n->name, 1, &x, out);
        }
        break;
    default:
        o->err = sp_errorf("node '%s' (%s) has no ONNX export", n->name, sp_op_name(n->op));
    }
    if (!o->vname[i])
        o->vname[i] = sp_xstrdup(out);
}

static void value_info(sp_pb *parent, int field, const char *name, int ndim, const int64_t *dims)
{
    sp_pb shape = { 0 }, tensor = { 0 }, type = { 0 }, vi = { 0 };
    for (int i = 0; i < ndim; i++) {
        sp_pb dim = { 0 };
        if (dims[i] < 0)
            sp_pb_str(&dim, 2, "batch");
        else
            sp_pb_int(&dim, 1, dims[i]);
        sp_pb_msg(&shape, 1, &dim);
        sp_pb_free(&dim);
    }
    sp_pb_int(&tensor, 1, ONNX_FLOAT);
    sp_pb_msg(&tensor, 2, &shape);
    sp_pb_msg(&type, 1, &tensor);
    sp_pb_str(&vi, 1, name);
    sp_pb_msg(&vi, 2, &type);
    sp_pb_msg(parent, field, &vi);
    sp_pb_free(&shape);
    sp_pb_free(&tensor);
    sp_pb_free(&type);
    sp_pb_free(&vi);
}

static void metadata(sp_pb *model, const char *key, const char *value)
{
    sp_pb e = { 0 };
    sp_pb_str(&e, 1, key);
    sp_pb_str(&e, 2, value);
    sp_pb_msg(model, 14, &e);
    sp_pb_free(&e);
}

int sp_onnx_write(FILE *f, const sp_model *m, int fold)
{
    const sp_graph *g = m->graph;
    onnx o = { m, { 0 }, sp_xcalloc((size_t)g->n, sizeof(char *)), 0 };
    unsigned char *done = sp_xcalloc((size_t)g->n, 1);
    int *vec = sp_xcalloc((size_t)g->n, sizeof(int));
    o.vname[0] = sp_xstrdup("input");
    float six = 6;
    for (int i = 1; i < g->n; i++)
        if (g->node[i].op == SP_OP_RELU6) {
            initializer(&o, "relu6.six", 0, NULL, &six);
            break;
        }
    for (int i = 1; i < g->n && !o.err; i++)
        if (!done[i])
            emit_node(&o, i, fold, i == g->n - 1, done, vec);
    const sp_node *in = &g->node[0], *last = &g->node[g->n - 1];
    int64_t idims[4] = { -1, in->c, in->h, in->w }, odims[2] = { -1, last->c };
    sp_pb_str(&o.graph, 2, g->arch[0] ? g->arch : "sp");
    value_info(&o.graph, 11, "input", 4, idims);
    value_info(&o.graph, 12, "logits", 2, odims);

    sp_pb model = { 0 }, opset = { 0 };
    sp_pb_int(&model, 1, 7);                  /* IR version of opset 13 */
    sp_pb_str(&model, 2, "sp");
    sp_pb_str(&model, 3, SP_VERSION);
    sp_pb_msg(&model, 7, &o.graph);
    sp_pb_str(&opset, 1, "");
    sp_pb_int(&opset, 2, 13);
    sp_pb_msg(&model, 8, &opset);
    char size[64];
    snprintf(size, sizeof size, "%dx%dx%d", in->c, in->h, in->w);
    metadata(&model, "input_name", "input");
    metadata(&model, "input_size", size);
    metadata(&model, "output_name", "logits");
    static const char *const keys[] = { "arch", "mean", "std" };
    for (size_t k = 0; k < SP_COUNT(keys); k++)
        if (sp_model_meta(m, keys[k]))
            metadata(&model, keys[k], sp_model_meta(m, keys[k]));
    int rc = o.err ? -1 : 0;
    if (rc == 0 && fwrite(model.p, 1, model.n, f) != model.n)
        rc = sp_errorf("write error");
    for (int i = 0; i < g->n; i++)
        free(o.vname[i]);
    free(o.vname);
    free(done);
    free(vec);
    sp_pb_free(&o.graph);
    sp_pb_free(&model);
    sp_pb_free(&opset);
    return rc;
}
