/* flops.c: the cost of one sample through a graph.
 *
 * Two conventions (SP-ALGORITHM.md section 7).  MACs count the
 * multiply-accumulates of convolutions and linear layers only.  The "thop"
 * convention reproduces the published baselines the method compares with:
 * it adds one per output element for a conv bias, two per element for a
 * batch norm, one per output element for an average pool (adaptive: the
 * window's area plus one), and ignores a linear layer's bias. */
#include <string.h>
#include "sp/graph.h"

static void count_node(const sp_graph *g, const sp_node *n, sp_count *r)
{
    int64_t out = (int64_t)n->c * n->h * n->w;
    memset(r, 0, sizeof *r);
    switch (n->op) {
    case SP_OP_CONV: {
        int groups = n->groups > 0 ? n->groups : 1;
        int64_t per = (int64_t)(n->cin / groups) * n->kh * n->kw;
        r->macs = out * per;
        r->flops_thop = out * (per + (n->bias ? 1 : 0));
        r->params = (int64_t)n->cout * per + (n->bias ? n->cout : 0);
        break;
    }
    case SP_OP_BN:
        r->flops_thop = 2 * out;
        r->params = 2 * (int64_t)n->cout;
        break;
    case SP_OP_LINEAR:
        r->macs = r->flops_thop = (int64_t)n->cin * n->cout;
        r->params = (int64_t)n->cin * n->cout + (n->bias ? n->cout : 0);
        break;
    case SP_OP_AVGPOOL:
        r->flops_thop = out;
        break;
    case SP_OP_ADAPTIVE_AVGPOOL: {
        if (n->in[0] < 0 || n->in[0] >= g->n || n->oh < 1 || n->ow < 1)
            break;   /* not a valid node: sp_graph_infer rejects it */
        const sp_node *x = &g->node[n->in[0]];
        int64_t area = (int64_t)(x->h / n->oh) * (x->w / n->ow);
        r->flops_thop = out * (area + 1);
        break;
    }
    default:
        break;
    }
}

void sp_graph_count(const sp_graph *g, sp_count *total, sp_count *per_node)
{
    sp_count sum = {0, 0, 0};
    for (int i = 0; i < g->n; i++) {
        sp_count r;
        count_node(g, &g->node[i], &r);
        sum.params += r.params;
        sum.macs += r.macs;
        sum.flops_thop += r.flops_thop;
        if (per_node)
            per_node[i] = r;
    }
    if (total)
        *total = sum;
}
