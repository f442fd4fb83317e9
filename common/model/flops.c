/* flops.c: the cost of one sample through a graph.
 *
 * Two conventions (sp-method(7), COUNTING): MACs, and the "thop" count
 * of the published baselines the method compares with.  Each operation's
 * share is its own (ops.c); this file only sums them. */
#include <string.h>
#include "sp/graph.h"
#include "ops_priv.h"

static void count_node(const sp_graph *g, const sp_node *n, sp_count *r)
{
    const sp_op_desc *d = sp_op_desc_of(n->op);
    memset(r, 0, sizeof *r);
    if (d && d->count)
        d->count(n, n->in[0] >= 0 && n->in[0] < g->n ? &g->node[n->in[0]] : NULL, r);
}

void sp_graph_count(const sp_graph *g, sp_count *total, sp_count *per_node)
{
    sp_count sum = {0, 0, 0};
    for (int i = 0; i < g->n; i++) {
        sp_count r;
        count_node(g, &g->node[i], &r);
        sum.params = sp_sat_add(sum.params, r.params);
        sum.macs = sp_sat_add(sum.macs, r.macs);
        sum.flops_thop = sp_sat_add(sum.flops_thop, r.flops_thop);
        if (per_node)
            per_node[i] = r;
    }
    if (total)
        *total = sum;
}
