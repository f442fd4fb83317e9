/* graph.h: a network as an ordered list of nodes.
 *
 * Node 0 is the input.  Every other node reads the outputs of earlier nodes
 * (in[0], in[1]; -1 when unused) and produces one activation of shape
 * c x h x w per sample (a vector after flatten/linear: h = w = 1).  Nodes
 * that own parameters are named with the PyTorch module path of the public
 * model ("features.0", "layer1.0.conv1"), so tensor names are
 * NAME.weight, NAME.bias, NAME.running_mean, ...  exactly as in a
 * state_dict: import and export are renames, not guesses.
 *
 * The graph knows every shape (sp_graph_infer), its parameter list
 * (sp_graph_params) and its cost (sp_graph_count); it serialises to JSON
 * for the checkpoint's metadata. */
#ifndef SP_GRAPH_H
#define SP_GRAPH_H

#include <stdint.h>
#include "sp/names.h"
#include "sp/tensor.h"

#define SP_NAME_MAX 64
#define SP_BLOCK_MAX 64

typedef enum sp_op {
    SP_OP_INPUT,
    SP_OP_CONV,          /* cin, cout, kh, kw, sh, sw, ph, pw, groups, bias */
    SP_OP_BN,            /* cout = channels, eps, momentum */
    SP_OP_RELU,
    SP_OP_RELU6,
    SP_OP_MAXPOOL,       /* kh, kw, sh, sw, ph, pw (floor mode) */
    SP_OP_AVGPOOL,       /* kh, kw, sh, sw, ph, pw (count_include_pad, floor mode) */
    SP_OP_ADAPTIVE_AVGPOOL, /* oh, ow (PyTorch's adaptive windows) */
    SP_OP_FLATTEN,       /* c*h*w -> vector, channel-major */
    SP_OP_LINEAR,        /* cin, cout, bias */
    SP_OP_DROPOUT,       /* p */
    SP_OP_ADD,           /* in[0] + in[1], same shape */
    SP_OP_PAD_SHORTCUT,  /* option-A shortcut: x[:, :, ::sh, ::sw], then pad_lo and pad_hi zero channels */
    SP_OP_MASK,          /* y[n,c,..] = x[n,c,..] * NAME.mask[c] */
    SP_OP_COUNT
} sp_op;

typedef struct sp_node {
    sp_op op;
    char name[SP_NAME_MAX];   /* unique; module path for parameter owners */
    int in[2];                /* producer node indices (< own index), -1 unused */
    int cin, cout;            /* conv, linear; bn and mask: cout = channels */
    int kh, kw, sh, sw, ph, pw;
    int groups;               /* conv; cin == cout == groups is depthwise */
    int bias;                 /* conv, linear: has a bias */
    int oh, ow;               /* adaptive avgpool output */
    int pad_lo, pad_hi;       /* pad shortcut */
    float eps, momentum;      /* bn (PyTorch defaults 1e-5, 0.1) */
    float p;                  /* dropout */
    /* filled by sp_graph_infer: output shape per sample */
    int c, h, w;
} sp_node;

/* A pruning block: the unit of one sp-train-mask stage.  Each anchor is a
 * node whose output channels are masked (the ReLU after a conv+BN, a linear
 * layer's ReLU/Dropout); the channel group of the anchor (prune.h) says
 * which tensors shrink with it. */
typedef struct sp_block {
    int id;                   /* as the original method numbers it */
    int n;
    int anchor[SP_BLOCK_MAX];
} sp_block;

typedef struct sp_graph {
    char arch[32];            /* built-in name, "" if none */
    int classes;
    int n, cap;
    sp_node *node;            /* node[0] is the input: c, h, w = input shape */
    int nblock;
    sp_block *block;
} sp_graph;

/* Parameter tensors in state_dict order. */
typedef enum sp_param_kind {
    SP_P_WEIGHT, SP_P_BIAS, SP_P_RUNNING_MEAN, SP_P_RUNNING_VAR,
    SP_P_NUM_BATCHES, SP_P_MASK
} sp_param_kind;

typedef struct sp_param_info {
    char name[SP_NAME_MAX + 24];
    int node;
    sp_param_kind kind;
    sp_dtype dtype;           /* F32; I64 scalar for num_batches_tracked */
    int ndim;
    int64_t shape[SP_MAX_DIMS];
    int learnable;            /* counted as a parameter and trained */
} sp_param_info;

typedef struct sp_count {
    int64_t params;           /* learnable elements */
    int64_t macs;             /* conv + linear multiply-accumulates */
    int64_t flops_thop;       /* the original method's convention (sp-method(7), COUNTING) */
} sp_count;

sp_graph *sp_graph_new(const char *arch, int c, int h, int w);
void sp_graph_free(sp_graph *g);
sp_graph *sp_graph_clone(const sp_graph *g);
/* Append a node (copied); returns its index, or -1 with an error when its
 * name is empty, too long or already used.  Zero fields get PyTorch's
 * defaults: conv groups and strides 1, pool strides = kernel, pad-shortcut
 * strides 1, bn eps 1e-5 and momentum 0.1; in[1] is set to -1 for every
 * operation but add.  Shapes are filled later by sp_graph_infer. */
int sp_graph_add(sp_graph *g, const sp_node *node);
int sp_graph_find(const sp_graph *g, const char *name);   /* -1 if absent */
/* Fails with a sentence naming the first node whose name an earlier node
 * has (n log n: a reader checks all names at once with it). */
int sp_graph_check_names(const sp_graph *g);
/* Index the nodes by name, for many lookups: sp_names_find gives the
 * node's index (sp_names_free when done). */
void sp_graph_names(const sp_graph *g, sp_names *ix);
/* The block with this id, appended (empty) if the graph has none yet. */
sp_block *sp_graph_add_block(sp_graph *g, int id);
const sp_block *sp_graph_block(const sp_graph *g, int id); /* NULL if absent */

/* Check every node against its inputs and fill c, h, w.  Fails with a
 * sentence naming the node (for example a conv whose cin differs from its
 * input's channels). */
int sp_graph_infer(sp_graph *g);

/* The parameter tensors the graph implies.  Returns the count; *out is
 * malloc'd. */
int sp_graph_params(const sp_graph *g, sp_param_info **out);

/* Cost of one sample: the total and, if per_node is not NULL, each node's
 * share (per_node has g->n entries). */
void sp_graph_count(const sp_graph *g, sp_count *total, sp_count *per_node);

const char *sp_op_name(sp_op op);          /* "conv", "bn", ... */
int sp_op_parse(const char *name, sp_op *op);
/* Node n's attributes as sp-inspect shows them ("64->128 k3x3 s1x1 p1x1"),
 * "" for an operation that has none worth showing. */
void sp_node_describe(const sp_node *n, char *buf, size_t len);

/* JSON form (stored in the checkpoint), described in graph_json.c:
 * {"arch", "classes", "input": [c,h,w], "nodes": [{"op", "name", "inputs":
 * [indices], the op's attributes}, ...] (node 0 is the input),
 * "blocks": [{"id", "anchors": [node names]}]}.  to_json's string is
 * malloc'd (free it); from_json validates everything and infers. */
char *sp_graph_to_json(const sp_graph *g);
sp_graph *sp_graph_from_json(const char *json);

#endif
