/* graph.c: building a graph, shape inference, the parameter list.
 *
 * Only the walks over the nodes: what each operation requires, produces
 * and owns is its entry in the table of operations (ops.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sp/base.h"
#include "sp/graph.h"
#include "graph_priv.h"
#include "ops_priv.h"

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

/* Defaults that spare every builder the same boilerplate (PyTorch's). */
static void fill_defaults(sp_node *n)
{
    const sp_op_desc *d = sp_op_desc_of(n->op);
    if (!d || d->inputs < 2)
        n->in[1] = -1;
    if (d && d->defaults)
        d->defaults(n);
}

int sp_graph_append(sp_graph *g, const sp_node *node)
{
    if (node->name[0] == '\0' || memchr(node->name, '\0', SP_NAME_MAX) == NULL)
        return sp_errorf("a node's name must be 1 to %d characters", SP_NAME_MAX - 1);
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

int sp_graph_add(sp_graph *g, const sp_node *node)
{
    if (memchr(node->name, '\0', SP_NAME_MAX) && sp_graph_find(g, node->name) >= 0)
        return sp_errorf("node name '%s' is used twice", node->name);
    return sp_graph_append(g, node);
}

int sp_graph_find(const sp_graph *g, const char *name)
{
    for (int i = 0; i < g->n; i++)
        if (strcmp(g->node[i].name, name) == 0)
            return i;
    return -1;
}

static const char *node_name(const void *nodes, int i)
{
    return ((const sp_node *)nodes)[i].name;
}

void sp_graph_names(const sp_graph *g, sp_names *ix)
{
    sp_names_init(ix, g->node, g->n, node_name);
}

int sp_graph_check_names(const sp_graph *g)
{
    sp_names ix;
    sp_graph_names(g, &ix);
    int d = sp_names_dup(&ix);
    sp_names_free(&ix);
    if (d >= 0)
        return sp_errorf("node %d: node name '%s' is used twice", d, g->node[d].name);
    return 0;
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

static int infer_node(sp_graph *g, int i)
{
    sp_node *n = &g->node[i];
    const sp_op_desc *d = sp_op_desc_of(n->op);
    int need = d ? d->inputs : 1;
    if (need == 0)
        return sp_node_error(n, "only the first node may be the input");
    for (int k = 0; k < need; k++)
        if (n->in[k] < 0 || n->in[k] >= i)
            return sp_node_error(n, "input %d refers to node %d, which does not come before it",
                                 k, n->in[k]);
    const sp_node *x = &g->node[n->in[0]];
    n->c = x->c;
    n->h = x->h;
    n->w = x->w;
    if (!d)
        return sp_node_error(n, "unknown operation %d", (int)n->op);
    return d->infer ? d->infer(n, x, need > 1 ? &g->node[n->in[1]] : NULL) : 0;
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
    /* counts saturate rather than wrap; a network that reaches the
     * limit is beyond anything sp can run */
    sp_count c;
    sp_graph_count(g, &c, NULL);
    if (c.params == INT64_MAX || c.macs == INT64_MAX || c.flops_thop == INT64_MAX)
        return sp_errorf("the network is too large: its operations number more than 2^63");
    return 0;
}

/* ------------------------------------------------------------------ */
/* Parameters                                                          */

int sp_graph_params(const sp_graph *g, sp_param_info **out)
{
    sp_param_info *p = sp_xcalloc((size_t)g->n * SP_OP_PARAMS_MAX + 1, sizeof *p);
    int k = 0;
    for (int i = 0; i < g->n; i++) {
        const sp_op_desc *d = sp_op_desc_of(g->node[i].op);
        int np = d && d->params ? d->params(&g->node[i], &p[k]) : 0;
        for (int j = 0; j < np; j++)
            p[k++].node = i;
    }
    *out = p;
    return k;
}
