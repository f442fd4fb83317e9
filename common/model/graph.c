/* graph.c: building a graph, shape inference, the parameter list.
 *
 * Inference follows PyTorch's rules (floor-mode pooling, option-A shortcut
 * taking every sh-th row starting at 0) so that a graph built here has the
 * same shapes as the module it names. */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sp/base.h"
#include "sp/graph.h"

static const char *const op_names[SP_OP_COUNT] = {
    [SP_OP_INPUT] = "input", [SP_OP_CONV] = "conv", [SP_OP_BN] = "bn",
    [SP_OP_RELU] = "relu", [SP_OP_RELU6] = "relu6", [SP_OP_MAXPOOL] = "maxpool",
    [SP_OP_AVGPOOL] = "avgpool", [SP_OP_ADAPTIVE_AVGPOOL] = "adaptive_avgpool",
    [SP_OP_FLATTEN] = "flatten", [SP_OP_LINEAR] = "linear",
    [SP_OP_DROPOUT] = "dropout", [SP_OP_ADD] = "add",
    [SP_OP_PAD_SHORTCUT] = "pad_shortcut", [SP_OP_MASK] = "mask",
};

const char *sp_op_name(sp_op op)
{
    return (unsigned)op < SP_OP_COUNT ? op_names[op] : "?";
}

int sp_op_parse(const char *name, sp_op *op)
{
    for (int i = 0; i < SP_OP_COUNT; i++)
        if (strcmp(name, op_names[i]) == 0) {
            *op = (sp_op)i;
            return 0;
        }
    return sp_errorf("unknown operation '%s'", name);
}

sp_graph *sp_graph_new(const char *arch, int c, int h, int w)
{
    sp_graph *g = sp_xcalloc(1, sizeof *g);
    snprintf(g->arch, sizeof g->arch, "%s", arch ? arch : "");
    g->cap = 16;
    g->node = sp_xcalloc((size_t)g->cap, sizeof *g->node);
    g->n = 1;
    sp_node *in = &g->node[0];
    in->op = SP_OP_INPUT;
    snprintf(in->name, sizeof in->name, "input");
    in->in[0] = in->in[1] = -1;
    in->cout = in->c = c;
    in->h = h;
    in->w = w;
    return g;
}

void sp_graph_free(sp_graph *g)
{
    if (!g)
        return;
    free(g->node);
    free(g->block);
    free(g);
}

sp_graph *sp_graph_clone(const sp_graph *g)
{
    sp_graph *r = sp_xmalloc(sizeof *r);
    *r = *g;
    r->cap = g->n > 0 ? g->n : 1;
    r->node = sp_xmalloc((size_t)r->cap * sizeof *r->node);
    memcpy(r->node, g->node, (size_t)g->n * sizeof *g->node);
    r->block = sp_xmalloc((size_t)(g->nblock > 0 ? g->nblock : 1) * sizeof *r->block);
    if (g->nblock)
        memcpy(r->block, g->block, (size_t)g->nblock * sizeof *g->block);
    return r;
}

static int op_inputs(sp_op op)
{
    if (op == SP_OP_INPUT)
        return 0;
    return op == SP_OP_ADD ? 2 : 1;
}

/* Defaults that spare every builder the same boilerplate (PyTorch's). */
static void fill_defaults(sp_node *n)
{
    if (op_inputs(n->op) < 2)
        n->in[1] = -1;
    if (n->op == SP_OP_CONV) {
        if (n->groups == 0)
            n->groups = 1;
        if (n->sh == 0)
            n->sh = 1;
        if (n->sw == 0)
            n->sw = 1;
    }
    if (n->op == SP_OP_MAXPOOL || n->op == SP_OP_AVGPOOL) {
        if (n->sh == 0)
            n->sh = n->kh;
        if (n->sw == 0)
            n->sw = n->kw;
    }
    if (n->op == SP_OP_PAD_SHORTCUT) {
        if (n->sh == 0)
            n->sh = 1;
        if (n->sw == 0)
            n->sw = 1;
    }
    if (n->op == SP_OP_BN) {
        if (n->eps == 0)
            n->eps = 1e-5f;
        if (n->momentum == 0)
            n->momentum = 0.1f;
    }
}

int sp_graph_add(sp_graph *g, const sp_node *node)
{
    if (node->name[0] == '\0' || memchr(node->name, '\0', SP_NAME_MAX) == NULL)
        return sp_errorf("a node's name must be 1 to %d characters", SP_NAME_MAX - 1);
    if (sp_graph_find(g, node->name) >= 0)
        return sp_errorf("node name '%s' is used twice", node->name);
    if (g->n == g->cap) {
        g->cap = g->cap ? 2 * g->cap : 16;
        g->node = sp_xrealloc(g->node, (size_t)g->cap * sizeof *g->node);
    }
    sp_node *n = &g->node[g->n];
    *n = *node;
    fill_defaults(n);
    n->c = n->h = n->w = 0;
    return g->n++;
}

int sp_graph_find(const sp_graph *g, const char *name)
{
    for (int i = 0; i < g->n; i++)
        if (strcmp(g->node[i].name, name) == 0)
            return i;
    return -1;
}

sp_block *sp_graph_add_block(sp_graph *g, int id)
{
    for (int i = 0; i < g->nblock; i++)
        if (g->block[i].id == id)
            return &g->block[i];
    g->block = sp_xrealloc(g->block, (size_t)(g->nblock + 1) * sizeof *g->block);
    sp_block *b = &g->block[g->nblock++];
    memset(b, 0, sizeof *b);
    b->id = id;
    return b;
}

const sp_block *sp_graph_block(const sp_graph *g, int id)
{
    for (int i = 0; i < g->nblock; i++)
        if (g->block[i].id == id)
            return &g->block[i];
    return NULL;
}

/* ------------------------------------------------------------------ */
/* Shape inference                                                     */


static int node_err(const sp_node *n, const char *fmt, ...) SP_PRINTF(2, 3);
static int node_err(const sp_node *n, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return sp_errorf("node '%s' (%s): %s", n->name, sp_op_name(n->op), msg);
}

/* Output size of a window sliding over `in` (floor mode); 0 if it does not fit. */
static int window_out(int in, int k, int s, int p)
{
    long span = (long)in + 2L * p - k;
    return span < 0 ? 0 : (int)(span / s + 1);
}

static int infer_window(sp_node *n, const sp_node *x, int pool)
{
    if (n->kh < 1 || n->kw < 1 || n->sh < 1 || n->sw < 1 || n->ph < 0 || n->pw < 0)
        return node_err(n, "kernel %dx%d, stride %dx%d and padding %dx%d must be positive "
                        "(padding non-negative)", n->kh, n->kw, n->sh, n->sw, n->ph, n->pw);
    if (pool && (2 * n->ph > n->kh || 2 * n->pw > n->kw))
        return node_err(n, "padding %dx%d is more than half the kernel %dx%d",
                        n->ph, n->pw, n->kh, n->kw);
    n->h = window_out(x->h, n->kh, n->sh, n->ph);
    n->w = window_out(x->w, n->kw, n->sw, n->pw);
    if (n->h < 1 || n->w < 1)
        return node_err(n, "the input is too small: %dx%d with kernel %dx%d and padding %dx%d "
                        "gives no output", x->h, x->w, n->kh, n->kw, n->ph, n->pw);
    return 0;
}

static int infer_node(sp_graph *g, int i)
{
    sp_node *n = &g->node[i];
    int need = op_inputs(n->op);
    if (n->op == SP_OP_INPUT)
        return node_err(n, "only the first node may be the input");
    for (int k = 0; k < need; k++)
        if (n->in[k] < 0 || n->in[k] >= i)
            return node_err(n, "input %d refers to node %d, which does not come before it",
                            k, n->in[k]);
    const sp_node *x = &g->node[n->in[0]];
    n->c = x->c;
    n->h = x->h;
    n->w = x->w;
    switch (n->op) {
    case SP_OP_CONV:
        if (n->cin < 1 || n->cout < 1 || n->groups < 1)
            return node_err(n, "cin %d, cout %d and groups %d must be positive",
                            n->cin, n->cout, n->groups);
        if (n->cin != x->c)
            return node_err(n, "cin %d differs from the %d channels of its input '%s'",
                            n->cin, x->c, x->name);
        if (n->cin % n->groups || n->cout % n->groups)
            return node_err(n, "cin %d and cout %d are not multiples of groups %d",
                            n->cin, n->cout, n->groups);
        n->c = n->cout;
        return infer_window(n, x, 0);
    case SP_OP_MAXPOOL:
    case SP_OP_AVGPOOL:
        return infer_window(n, x, 1);
    case SP_OP_BN:
    case SP_OP_MASK:
        if (n->cout != x->c)
            return node_err(n, "it has %d channels but its input '%s' has %d",
                            n->cout, x->name, x->c);
        if (n->op == SP_OP_BN && !(n->eps > 0))
            return node_err(n, "eps must be positive");
        return 0;
    case SP_OP_RELU:
    case SP_OP_RELU6:
        return 0;
    case SP_OP_DROPOUT:
        if (!(n->p >= 0 && n->p < 1))
            return node_err(n, "probability %g is not in [0, 1)", (double)n->p);
        return 0;
    case SP_OP_ADAPTIVE_AVGPOOL:
        if (n->oh < 1 || n->ow < 1)
            return node_err(n, "output size %dx%d must be positive", n->oh, n->ow);
        n->h = n->oh;
        n->w = n->ow;
        return 0;
    case SP_OP_FLATTEN: {
        long long f = (long long)x->c * x->h * x->w;
        if (f > INT_MAX)
            return node_err(n, "%lld features are too many", f);
        n->c = (int)f;
        n->h = n->w = 1;
        return 0;
    }
    case SP_OP_LINEAR:
        if (n->cin < 1 || n->cout < 1)
            return node_err(n, "cin %d and cout %d must be positive", n->cin, n->cout);
        if (x->h != 1 || x->w != 1)
            return node_err(n, "its input '%s' is %dx%dx%d, not a vector (flatten it first)",
                            x->name, x->c, x->h, x->w);
        if (n->cin != x->c)
            return node_err(n, "cin %d differs from the %d features of its input '%s'",
                            n->cin, x->c, x->name);
        n->c = n->cout;
        return 0;
    case SP_OP_ADD: {
        const sp_node *y = &g->node[n->in[1]];
        if (x->c != y->c || x->h != y->h || x->w != y->w)
            return node_err(n, "its inputs '%s' (%dx%dx%d) and '%s' (%dx%dx%d) differ in shape",
                            x->name, x->c, x->h, x->w, y->name, y->c, y->h, y->w);
        return 0;
    }
    case SP_OP_PAD_SHORTCUT: {
        if (n->sh < 1 || n->sw < 1 || n->pad_lo < 0 || n->pad_hi < 0)
            return node_err(n, "stride %dx%d must be positive and padding %d+%d non-negative",
                            n->sh, n->sw, n->pad_lo, n->pad_hi);
        long long c = (long long)n->pad_lo + x->c + n->pad_hi;
        if (c > INT_MAX)
            return node_err(n, "%lld channels are too many", c);
        n->c = (int)c;
        n->h = (x->h + n->sh - 1) / n->sh;
        n->w = (x->w + n->sw - 1) / n->sw;
        return 0;
    }
    default:
        return node_err(n, "unknown operation %d", (int)n->op);
    }
}

int sp_graph_infer(sp_graph *g)
{
    if (g->n < 1 || g->node[0].op != SP_OP_INPUT)
        return sp_errorf("the graph does not start with an input node");
    sp_node *in = &g->node[0];
    if (in->cout == 0)
        in->cout = in->c;   /* the input's channels live in cout, as a bn's */
    in->c = in->cout;
    if (in->c < 1 || in->h < 1 || in->w < 1)
        return sp_errorf("the input shape %dx%dx%d is not positive", in->c, in->h, in->w);
    for (int i = 1; i < g->n; i++)
        if (infer_node(g, i) < 0)
            return -1;
    for (int b = 0; b < g->nblock; b++)
        for (int k = 0; k < g->block[b].n; k++) {
            int a = g->block[b].anchor[k];
            if (a < 1 || a >= g->n)
                return sp_errorf("block %d names node %d, which does not exist",
                                 g->block[b].id, a);
        }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Parameters                                                          */

static void param(sp_param_info *p, const sp_node *n, int node, sp_param_kind kind,
                  const char *suffix, int ndim, int64_t d0, int64_t d1, int64_t d2, int64_t d3)
{
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s.%s", n->name, suffix);
    p->node = node;
    p->kind = kind;
    p->dtype = kind == SP_P_NUM_BATCHES ? SP_I64 : SP_F32;
    p->ndim = ndim;
    int64_t d[4] = {d0, d1, d2, d3};
    for (int i = 0; i < ndim; i++)
        p->shape[i] = d[i];
    p->learnable = kind == SP_P_WEIGHT || kind == SP_P_BIAS;
}

int sp_graph_params(const sp_graph *g, sp_param_info **out)
{
    sp_param_info *p = sp_xcalloc((size_t)g->n * 5 + 1, sizeof *p);
    int k = 0;
    for (int i = 0; i < g->n; i++) {
        const sp_node *n = &g->node[i];
        int groups = n->groups > 0 ? n->groups : 1;
        switch (n->op) {
        case SP_OP_CONV:
            param(&p[k++], n, i, SP_P_WEIGHT, "weight", 4, n->cout, n->cin / groups, n->kh, n->kw);
            if (n->bias)
                param(&p[k++], n, i, SP_P_BIAS, "bias", 1, n->cout, 0, 0, 0);
            break;
        case SP_OP_BN:
            param(&p[k++], n, i, SP_P_WEIGHT, "weight", 1, n->cout, 0, 0, 0);
            param(&p[k++], n, i, SP_P_BIAS, "bias", 1, n->cout, 0, 0, 0);
            param(&p[k++], n, i, SP_P_RUNNING_MEAN, "running_mean", 1, n->cout, 0, 0, 0);
            param(&p[k++], n, i, SP_P_RUNNING_VAR, "running_var", 1, n->cout, 0, 0, 0);
            param(&p[k++], n, i, SP_P_NUM_BATCHES, "num_batches_tracked", 0, 0, 0, 0, 0);
            break;
        case SP_OP_LINEAR:
            param(&p[k++], n, i, SP_P_WEIGHT, "weight", 2, n->cout, n->cin, 0, 0);
            if (n->bias)
                param(&p[k++], n, i, SP_P_BIAS, "bias", 1, n->cout, 0, 0, 0);
            break;
        case SP_OP_MASK:
            param(&p[k++], n, i, SP_P_MASK, "mask", 1, n->cout, 0, 0, 0);
            break;
        default:
            break;
        }
    }
    *out = p;
    return k;
}
