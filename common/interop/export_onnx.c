/* export_onnx.c: the inference graph of a model as ONNX (opset 13).
 *
 * Reads: a model (graph and tensors).  Writes: an ONNX ModelProto encoded
 * with protobuf.c: the graph's nodes with the parameters as initializers,
 * the input "input" (batch x C x H x W, batch symbolic) and the output
 * "logits".  The preprocessing the network expects (input size, mean, std)
 * goes into metadata_props.  Here are the ONNX messages (attributes,
 * tensors, nodes, the model); what each graph operation becomes is in
 * onnx_ops.c. */
#include <stdlib.h>
#include <string.h>
#include "sp/base.h"
#include "sp/export.h"
#include "onnx_priv.h"

enum { ATTR_FLOAT = 1, ATTR_INT = 2, ATTR_INTS = 7 };   /* AttributeProto.AttributeType */

void sp_onnx_attr_int(sp_pb *node, const char *name, int64_t v)
{
    sp_pb a = { 0 };
    sp_pb_str(&a, 1, name);
    sp_pb_int(&a, 3, v);
    sp_pb_int(&a, 20, ATTR_INT);
    sp_pb_msg(node, 5, &a);
    sp_pb_free(&a);
}

void sp_onnx_attr_float(sp_pb *node, const char *name, float v)
{
    sp_pb a = { 0 };
    sp_pb_str(&a, 1, name);
    sp_pb_float(&a, 2, v);
    sp_pb_int(&a, 20, ATTR_FLOAT);
    sp_pb_msg(node, 5, &a);
    sp_pb_free(&a);
}

void sp_onnx_attr_ints(sp_pb *node, const char *name, int n, const int64_t *v)
{
    sp_pb a = { 0 };
    sp_pb_str(&a, 1, name);
    for (int i = 0; i < n; i++)
        sp_pb_int(&a, 8, v[i]);
    sp_pb_int(&a, 20, ATTR_INTS);
    sp_pb_msg(node, 5, &a);
    sp_pb_free(&a);
}

void sp_onnx_initializer(sp_onnx *o, const char *name, int ndim, const int64_t *dims,
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
const char *sp_onnx_param(sp_onnx *o, const sp_node *nd, const char *suffix, char *buf, size_t n)
{
    snprintf(buf, n, "%s.%s", nd->name, suffix);
    const sp_tensor *t = sp_model_tensor(o->m, buf);
    if (!t) {
        o->err = sp_errorf("the checkpoint has no tensor '%s'", buf);
        return buf;
    }
    sp_onnx_initializer(o, buf, t->ndim, t->shape, t->data);
    return buf;
}

/* A node with up to 5 inputs and one output; attributes are added by the
 * caller before node_end. */
void sp_onnx_node_begin(sp_pb *nd, const char *op, const char *name, int nin,
                       const char *const *in, const char *out)
{
    for (int i = 0; i < nin; i++)
        sp_pb_str(nd, 1, in[i]);
    sp_pb_str(nd, 2, out);
    sp_pb_str(nd, 3, name);
    sp_pb_str(nd, 4, op);
}

void sp_onnx_node_end(sp_onnx *o, sp_pb *nd)
{
    sp_pb_msg(&o->graph, 1, nd);
    sp_pb_free(nd);
}

void sp_onnx_simple(sp_onnx *o, const char *op, const char *name, int nin,
                   const char *const *in, const char *out)
{
    sp_pb nd = { 0 };
    sp_onnx_node_begin(&nd, op, name, nin, in, out);
    sp_onnx_node_end(o, &nd);
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
    sp_onnx o = { .m = m, .fold = fold };
    o.vname = sp_xcalloc((size_t)g->n, sizeof(char *));
    o.done = sp_xcalloc((size_t)g->n, 1);
    o.vec = sp_xcalloc((size_t)g->n, sizeof(int));
    o.vname[0] = sp_xstrdup("input");
    sp_onnx_prepare(&o);
    for (int i = 1; i < g->n && !o.err; i++)
        if (!o.done[i])
            sp_onnx_emit(&o, i);
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
    free(o.done);
    free(o.vec);
    sp_pb_free(&o.graph);
    sp_pb_free(&model);
    sp_pb_free(&opset);
    return rc;
}
