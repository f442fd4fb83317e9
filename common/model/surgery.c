/* surgery.c: mask nodes in and out of a network (surgery.h).
 *
 * Inserting or removing a node shifts the indices of every later node, so
 * both operations rebuild the node list in one pass: each old node gets
 * its new index (remap), and each node that readers should now read
 * through another (the anchor, whose readers read its mask; a removed
 * mask, whose readers read its input again) gets that node's new index
 * (route).  Block anchors keep naming the same anchor nodes.  The model's
 * tensors are then rebuilt: the new graph's parameters in sp_graph_params
 * order, taken over by name (new masks filled with 1), followed by every
 * tensor that was not a parameter of the old graph, in its old order. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sp/base.h"
#include "sp/names.h"
#include "sp/prune.h"
#include "sp/surgery.h"

/* As prune.c says it: a depthwise conv carries the group's channels. */
static int is_depthwise(const sp_node *n)
{
    return n->op == SP_OP_CONV && n->groups == n->cin && n->cin == n->cout;
}

/* The first node after `from` that reads `from` with operation op (or
 * either activation when act is set); -1 if none. */
static int reader(const sp_graph *g, int from, sp_op op, int act)
{
    for (int j = from + 1; j < g->n; j++) {
        const sp_node *n = &g->node[j];
        if (n->in[0] != from)
            continue;
        if (act ? n->op == SP_OP_RELU || n->op == SP_OP_RELU6 : n->op == op)
            return j;
    }
    return -1;
}

static int mask_name(char *dst, const char *node)
{
    if (snprintf(dst, SP_NAME_MAX, "%s.m", node) >= SP_NAME_MAX)
        return sp_errorf("the mask of '%s' would have a name longer than %d characters", node,
                         SP_NAME_MAX - 1);
    return 0;
}

/* The tied second mask of a site whose channel group runs through a
 * depthwise conv: after the activation that follows that conv's batch
 * norm.  Leaves nmask at 1 when the group has no depthwise conv. */
static int tied_mask(const sp_graph *g, const sp_group *grp, sp_mask_site *s)
{
    int dw = -1;
    for (int i = 0; i < grp->n && dw < 0; i++)
        if (grp->slice[i].kind == SP_SLICE_OUT && is_depthwise(&g->node[grp->slice[i].node]))
            dw = grp->slice[i].node;
    if (dw < 0)
        return 0;
    int bn = reader(g, dw, SP_OP_BN, 0);
    int act = bn < 0 ? -1 : reader(g, bn, SP_OP_RELU, 1);
    if (act < 0)
        return sp_errorf("the depthwise conv '%s' in the channel group of '%s' is not followed "
                         "by a batch norm and an activation, where its tied mask belongs",
                         g->node[dw].name, s->anchor);
    if (act == grp->anchor)
        return 0;
    if (mask_name(s->mask[1], g->node[act].name) < 0)
        return -1;
    s->nmask = 2;
    return 0;
}

int sp_mask_sites(const sp_graph *g, int id, sp_mask_site **out)
{
    *out = NULL;
    const sp_block *b = sp_graph_block(g, id);
    if (!b)
        return sp_errorf("the network has no block %d", id);
    if (b->n == 0)
        return 0;
    sp_mask_site *s = sp_xcalloc((size_t)b->n, sizeof *s);
    for (int k = 0; k < b->n; k++) {
        sp_group grp;
        const int a = b->anchor[k];
        if (sp_group_find(g, a, &grp) < 0) {
            free(s);
            return sp_error_prefix("block %d", id);
        }
        snprintf(s[k].anchor, sizeof s[k].anchor, "%s", g->node[a].name);
        snprintf(s[k].producer, sizeof s[k].producer, "%s", g->node[grp.slice[0].node].name);
        s[k].channels = grp.channels;
        s[k].nmask = 1;
        if (mask_name(s[k].mask[0], s[k].anchor) < 0 || tied_mask(g, &grp, &s[k]) < 0) {
            free(s);
            return -1;
        }
    }
    *out = s;
    return b->n;
}

/* ------------------------------------------------------------------ */
/* Rebuilding the graph and the tensor list                            */

/* One node to insert after node `after` (an old index). */
typedef struct insertion {
    int after, channels;
    char name[SP_NAME_MAX];
} insertion;

/* The graph with node i of g dropped where drop[i] is set (its readers
 * read route of its input instead) and the insertions added, each right
 * after its node, which its readers then read through it.  NULL with an
 * error when the result does not infer. */
static sp_graph *rebuild_graph(const sp_graph *g, const unsigned char *drop,
                               const insertion *ins, int nins)
{
    sp_graph *ng = sp_graph_clone(g);
    int *remap = sp_xmalloc((size_t)g->n * sizeof *remap);
    int *route = sp_xmalloc((size_t)g->n * sizeof *route);
    int *after = sp_xmalloc((size_t)g->n * sizeof *after);
    for (int i = 0; i < g->n; i++)
        after[i] = -1;
    for (int k = 0; k < nins; k++)
        after[ins[k].after] = k;
    ng->cap = g->n + nins;
    ng->node = sp_xrealloc(ng->node, (size_t)ng->cap * sizeof *ng->node);
    int n = 0;
    for (int i = 0; i < g->n; i++) {
        const sp_node *src = &g->node[i];
        if (drop && drop[i]) {
            remap[i] = -1;
            route[i] = src->in[0] >= 0 ? route[src->in[0]] : -1;
            continue;
        }
        sp_node *dst = &ng->node[n];
        *dst = *src;
        for (int k = 0; k < 2; k++)
            if (src->in[k] >= 0)
                dst->in[k] = route[src->in[k]];
        remap[i] = route[i] = n++;
        if (after[i] >= 0) {
            const insertion *x = &ins[after[i]];
            sp_node *m = &ng->node[n];
            memset(m, 0, sizeof *m);
            m->op = SP_OP_MASK;
            snprintf(m->name, sizeof m->name, "%s", x->name);
            m->in[0] = remap[i];
            m->in[1] = -1;
            m->cout = x->channels;
            route[i] = n++;
        }
    }
    ng->n = n;
    for (int b = 0; b < ng->nblock; b++)
        for (int k = 0; k < ng->block[b].n; k++) {
            int a = ng->block[b].anchor[k];
            ng->block[b].anchor[k] = a >= 0 && a < g->n && remap[a] >= 0 ? remap[a] : route[a];
        }
    free(remap);
    free(route);
    free(after);
    if (sp_graph_infer(ng) < 0) {
        sp_graph_free(ng);
        return NULL;
    }
    return ng;
}

static const char *param_name(const void *p, int i)
{
    return ((const sp_param_info *)p)[i].name;
}

static const char *tensor_name(const void *t, int i)
{
    return ((const sp_tensor *)t)[i].name;
}

/* Replace m's graph by ng and rebuild the tensor list: ng's parameters
 * in order, moved over by name (a mask that m lacks is created, filled
 * with 1), then the tensors that were not parameters of m's graph.  The
 * old graph's parameters that ng lacks are freed.  On failure m is
 * unchanged and ng is freed. */
static int adopt_graph(sp_model *m, sp_graph *ng)
{
    sp_param_info *op, *np;
    int n_old = sp_graph_params(m->graph, &op), n_new = sp_graph_params(ng, &np);
    int *from = sp_xmalloc((size_t)(n_new > 0 ? n_new : 1) * sizeof *from);
    int rc = 0;
    sp_names old_ix, t_ix;     /* by name: n log n for the largest graphs */
    sp_names_init(&old_ix, op, n_old, param_name);
    sp_names_init(&t_ix, m->t, m->n, tensor_name);
    for (int i = 0; i < n_new && rc == 0; i++) {
        from[i] = sp_names_find(&t_ix, np[i].name);
        const sp_tensor *t = from[i] >= 0 ? &m->t[from[i]] : NULL;
        if (t && sp_names_find(&old_ix, np[i].name) < 0)
            rc = sp_errorf("the model has a tensor '%s' that is not a parameter of its network",
                           np[i].name);
        else if (!t && np[i].kind != SP_P_MASK)
            rc = sp_errorf("tensor '%s' is missing", np[i].name);
        else if (t && (t->dtype != np[i].dtype ||
                       !sp_shape_equal(t->ndim, t->shape, np[i].ndim, np[i].shape)))
            rc = sp_errorf("tensor '%s' does not have the shape its graph says", np[i].name);
    }
    sp_names_free(&t_ix);
    if (rc < 0) {
        sp_names_free(&old_ix);
        free(from);
        free(op);
        free(np);
        sp_graph_free(ng);
        return -1;
    }
    unsigned char *used = sp_xcalloc((size_t)(m->n > 0 ? m->n : 1), 1);
    int cap = n_new + m->n > 0 ? n_new + m->n : 1, n = 0;
    sp_tensor *t = sp_xcalloc((size_t)cap, sizeof *t);
    for (int i = 0; i < n_new; i++) {
        if (from[i] >= 0) {
            t[n++] = m->t[from[i]];
            used[from[i]] = 1;
            continue;
        }
        sp_tensor_init(&t[n], np[i].name, np[i].dtype, np[i].ndim, np[i].shape);
        float *v = t[n++].data;
        for (int64_t e = 0; e < np[i].shape[0]; e++)
            v[e] = 1.0f;
    }
    for (int i = 0; i < m->n; i++) {
        if (used[i])
            continue;
        if (sp_names_find(&old_ix, m->t[i].name) >= 0)
            sp_tensor_free(&m->t[i]);   /* a parameter the new graph no longer has */
        else
            t[n++] = m->t[i];
    }
    free(m->t);
    m->t = t;
    m->n = n;
    m->cap = cap;
    sp_graph_free(m->graph);
    m->graph = ng;
    free(used);
    sp_names_free(&old_ix);
    free(from);
    free(op);
    free(np);
    return 0;
}

int sp_mask_insert(sp_model *m, int id)
{
    sp_mask_site *s;
    const sp_graph *g = m->graph;
    int ns = sp_mask_sites(g, id, &s);
    if (ns <= 0)
        return ns;
    insertion *ins = sp_xcalloc((size_t)ns * 2, sizeof *ins);
    int nins = 0, rc = 0;
    for (int k = 0; k < ns && rc == 0; k++)
        for (int j = 0; j < s[k].nmask && rc == 0; j++) {
            insertion *x = &ins[nins];
            char at[SP_NAME_MAX], tensor[SP_NAME_MAX + 8];
            snprintf(x->name, sizeof x->name, "%s", s[k].mask[j]);
            snprintf(tensor, sizeof tensor, "%s.mask", x->name);
            /* A mask follows the node its name extends by ".m". */
            snprintf(at, sizeof at, "%.*s", (int)strlen(x->name) - 2, x->name);
            x->after = sp_graph_find(g, at);
            x->channels = s[k].channels;
            if (sp_graph_find(g, x->name) >= 0)
                rc = sp_errorf("block %d has its mask nodes already ('%s')", id, x->name);
            else if (sp_model_tensor(m, tensor))
                rc = sp_errorf("the model has a tensor '%s' already", tensor);
            else if (x->after < 0)
                rc = sp_errorf("node '%s' is missing", at);
            for (int i = 0; i < nins && rc == 0; i++)
                if (ins[i].after == x->after)
                    rc = sp_errorf("two masks of block %d would follow '%s'", id, at);
            nins++;
        }
    free(s);
    sp_graph *ng = rc == 0 ? rebuild_graph(g, NULL, ins, nins) : NULL;
    free(ins);
    if (!ng)
        return -1;
    return adopt_graph(m, ng);
}

int sp_mask_remove_all(sp_model *m)
{
    const sp_graph *g = m->graph;
    unsigned char *drop = sp_xcalloc((size_t)g->n, 1);
    int any = 0;
    for (int i = 1; i < g->n; i++)
        if (g->node[i].op == SP_OP_MASK)
            drop[i] = 1, any = 1;
    sp_graph *ng = any ? rebuild_graph(g, drop, NULL, 0) : NULL;
    free(drop);
    if (!any)
        return 0;
    if (!ng)
        return -1;
    return adopt_graph(m, ng);
}
