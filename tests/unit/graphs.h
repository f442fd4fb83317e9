/* graphs.h: building small graphs by hand, node by node, in unit tests.
 * Each helper adds a node after in (a node index) and returns its index;
 * the fields it sets are set after sp_graph_add, so a 0 passed here stays
 * 0 (for the tests of what inference refuses). */
#ifndef SP_TEST_GRAPHS_H
#define SP_TEST_GRAPHS_H

#include <stdio.h>
#include <string.h>
#include "sp/graph.h"

static inline int t_add(sp_graph *g, sp_op op, const char *name, int in0, int in1)
{
    sp_node n;
    memset(&n, 0, sizeof n);
    n.op = op;
    snprintf(n.name, sizeof n.name, "%s", name);
    n.in[0] = in0;
    n.in[1] = in1;
    return sp_graph_add(g, &n);
}

static inline int t_conv(sp_graph *g, const char *name, int in, int cin, int cout, int k, int s,
                         int p, int groups, int bias)
{
    int i = t_add(g, SP_OP_CONV, name, in, -1);
    sp_node *n = &g->node[i];
    n->cin = cin;
    n->cout = cout;
    n->kh = n->kw = k;
    n->sh = n->sw = s;
    n->ph = n->pw = p;
    n->groups = groups;
    n->bias = bias;
    return i;
}

/* A node with c channels and no other parameter (bn, mask). */
static inline int t_chan(sp_graph *g, sp_op op, const char *name, int in, int c)
{
    int i = t_add(g, op, name, in, -1);
    g->node[i].cout = c;
    return i;
}

static inline int t_linear(sp_graph *g, const char *name, int in, int cin, int cout, int bias)
{
    int i = t_add(g, SP_OP_LINEAR, name, in, -1);
    g->node[i].cin = cin;
    g->node[i].cout = cout;
    g->node[i].bias = bias;
    return i;
}

#endif
