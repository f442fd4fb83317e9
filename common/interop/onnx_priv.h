/* onnx_priv.h: between the ONNX writer (export_onnx.c), which frames the
 * model, and the translation of each graph operation (onnx_ops.c). */
#ifndef SP_ONNX_PRIV_H
#define SP_ONNX_PRIV_H

#include "sp/model.h"
#include "protobuf_priv.h"

enum { ONNX_FLOAT = 1, ONNX_INT64 = 7 };   /* TensorProto.DataType */

typedef struct sp_onnx {
    const sp_model *m;
    sp_pb graph;              /* the GraphProto: nodes and initializers, in order */
    char **vname;             /* the ONNX value each graph node produces */
    unsigned char *done;      /* nodes already written (a batch norm folded into its conv) */
    int *vec;                 /* the node's output is a vector (after flatten or linear) */
    int fold;                 /* fold batch norms into their convolutions */
    int err;                  /* set on the first error; the writer stops */
} sp_onnx;

/* onnx_ops.c.  Before the nodes: the constants the graph's operations
 * share.  Then each node: its ONNX nodes and initializers, the last one
 * producing "logits". */
void sp_onnx_prepare(sp_onnx *o);
void sp_onnx_emit(sp_onnx *o, int i);

/* export_onnx.c: the pieces of a GraphProto. */
void sp_onnx_attr_int(sp_pb *node, const char *name, int64_t v);
void sp_onnx_attr_float(sp_pb *node, const char *name, float v);
void sp_onnx_attr_ints(sp_pb *node, const char *name, int n, const int64_t *v);
void sp_onnx_initializer(sp_onnx *o, const char *name, int ndim, const int64_t *dims,
                         const float *data);
/* The model's tensor NODE.SUFFIX as an initializer of that name (in buf);
 * sets o->err if the checkpoint lacks it. */
const char *sp_onnx_param(sp_onnx *o, const sp_node *nd, const char *suffix, char *buf,
                          size_t n);
/* A node with inputs in[0..nin-1] and one output: begin, add attributes,
 * end; simple is a node without attributes. */
void sp_onnx_node_begin(sp_pb *nd, const char *op, const char *name, int nin,
                        const char *const *in, const char *out);
void sp_onnx_node_end(sp_onnx *o, sp_pb *nd);
void sp_onnx_simple(sp_onnx *o, const char *op, const char *name, int nin,
                    const char *const *in, const char *out);

#endif
