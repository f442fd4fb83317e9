/* ops_priv.h: the descriptor table of graph operations (common/model/ops.c).
 *
 * What the model knows about an operation lives in its entry: its name,
 * its inputs, its JSON attributes, PyTorch's defaults, the shape rule, the
 * parameters it owns, its cost, how channel groups cross it and how
 * sp-inspect describes it.  graph.c, graph_json.c, flops.c and prune.c read
 * the table and name no operation but the input; torch_map.c names some
 * only for rules of its own (the original VGG names, the shortcut's
 * padding).  Adding an operation is: its sp_op value (graph.h), its entry
 * in ops.c, its ONNX emitter (common/interop/onnx_ops.c), its forward and
 * backward in the executor (common/train/exec_run.c) with any backend
 * functions it needs, and its tests.
 *
 * Private to the library: programs see sp_op_name and sp_node_describe
 * (graph.h). */
#ifndef SP_OPS_PRIV_H
#define SP_OPS_PRIV_H

#include <stddef.h>
#include "sp/base.h"
#include "sp/graph.h"

/* The most parameter tensors one node owns (a batch norm's five). */
#define SP_OP_PARAMS_MAX 5

/* The node fields an operation stores in the checkpoint's JSON, one bit per
 * key (graph_json.c maps keys to fields); a node carries exactly these. */
enum {
    SP_ATTR_CIN = 1 << 0,       /* "cin": input width */
    SP_ATTR_COUT = 1 << 1,      /* "cout": output width */
    SP_ATTR_KERNEL = 1 << 2,    /* "kernel": [kh, kw] */
    SP_ATTR_STRIDE = 1 << 3,    /* "stride": [sh, sw] */
    SP_ATTR_PADDING = 1 << 4,   /* "padding": [ph, pw] */
    SP_ATTR_GROUPS = 1 << 5,    /* "groups" */
    SP_ATTR_BIAS = 1 << 6,      /* "bias": true or false */
    SP_ATTR_CHANNELS = 1 << 7,  /* "channels": the width, kept in cout */
    SP_ATTR_EPS = 1 << 8,       /* "eps" */
    SP_ATTR_MOMENTUM = 1 << 9,  /* "momentum" */
    SP_ATTR_OUTPUT = 1 << 10,   /* "output": [oh, ow] */
    SP_ATTR_P = 1 << 11,        /* "p" */
    SP_ATTR_PAD = 1 << 12,      /* "pad": [pad_lo, pad_hi] */
};

/* How a channel group crosses a node (prune.c).  0: the node mixes or
 * couples channels (a sum, padded channels), so a group reaching it cannot
 * be removed. */
enum {
    SP_CHAN_PASS = 1 << 0,      /* output channel c depends on input channel c alone */
    SP_CHAN_OWNS = 1 << 1,      /* with PASS: owns per-channel tensors the group shrinks */
    SP_CHAN_FLATTEN = 1 << 2,   /* channel c becomes h*w consecutive features */
    SP_CHAN_LAYER = 1 << 3,     /* reads its input channels into channels of its own */
    SP_CHAN_FLAT_OK = 1 << 4,   /* with LAYER: may read flattened channels */
    SP_CHAN_TIED = 1 << 5,      /* with LAYER: groups tie its input channels together */
};

typedef struct sp_op_desc {
    const char *name;           /* JSON, messages, sp-inspect: "conv", "bn", ... */
    int inputs;                 /* producers read: in[0], and in[1] when 2 */
    unsigned attrs;             /* SP_ATTR_* */
    unsigned chan;              /* SP_CHAN_*, unless chan_of says otherwise */
    /* Each may be NULL: nothing to default, the input's shape passed on,
     * no parameters, no cost, chan as above, no attributes to print. */
    void (*defaults)(sp_node *n);   /* PyTorch's values for zero fields */
    /* Check n against its inputs x (and y) and set n->c, h, w, which come
     * in as x's; an error is a sentence naming the node (sp_node_error). */
    int (*infer)(sp_node *n, const sp_node *x, const sp_node *y);
    /* Fill p[] (SP_OP_PARAMS_MAX) in state_dict order; returns the count. */
    int (*params)(const sp_node *n, sp_param_info *p);
    /* One sample's cost (r is zeroed); x is the input, NULL if invalid. */
    void (*count)(const sp_node *n, const sp_node *x, sp_count *r);
    unsigned (*chan_of)(const sp_node *n);
    void (*describe)(const sp_node *n, char *buf, size_t len);
} sp_op_desc;

/* The entry of op; NULL when op is not an operation. */
const sp_op_desc *sp_op_desc_of(sp_op op);
/* The SP_CHAN_* bits of node n. */
unsigned sp_op_chan(const sp_node *n);

/* Shared by the entries: "node 'NAME' (op): ..." as the error. */
int sp_node_error(const sp_node *n, const char *fmt, ...) SP_PRINTF(2, 3);
/* p = tensor NAME.SUFFIX of node n with up to four dimensions (p->node,
 * the node's index, is left to the caller). */
void sp_op_param(sp_param_info *p, const sp_node *n, sp_param_kind kind, const char *suffix,
                 int ndim, int64_t d0, int64_t d1, int64_t d2, int64_t d3);

#endif
