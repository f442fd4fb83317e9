/* prune.c: channel groups and the removal of channels.
 *
 * The group of an anchor is found in two walks.  Backwards, through nodes
 * that keep channel c as channel c, to the conv or linear layer that
 * produces the channels.  Forwards from that producer, through every
 * consumer, until each path ends at a layer that reads the channels as
 * input channels.  The forward walk starts at the producer, not at the
 * anchor, so that a second reader of, say, the batch norm's output is not
 * missed.  How each node treats channels is its operation's SP_CHAN_* bits
 * (ops_priv.h). */
#include <stdlib.h>
#include <string.h>
#include "sp/base.h"
#include "sp/prune.h"
#include "ops_priv.h"

static int add_slice(sp_group *grp, const sp_graph *g, int node, sp_slice_kind kind, int spatial)
{
    if (grp->n == (int)SP_COUNT(grp->slice))
        return sp_errorf("the channel group of '%s' has more than %d tensors",
                         g->node[grp->anchor].name, (int)SP_COUNT(grp->slice));
    grp->slice[grp->n].node = node;
    grp->slice[grp->n].kind = kind;
    grp->slice[grp->n].spatial = spatial;
    grp->n++;
    return 0;
}

static int cmp_slice(const void *a, const void *b)
{
    return ((const sp_slice *)a)->node - ((const sp_slice *)b)->node;
}

static int find_producer(const sp_graph *g, int anchor)
{
    int i = anchor;
    while (i > 0 && (sp_op_chan(&g->node[i]) & SP_CHAN_PASS))
        i = g->node[i].in[0];
    const sp_node *p = &g->node[i];
    if (i > 0 && (sp_op_chan(p) & SP_CHAN_LAYER))
        return i;
    return sp_errorf("node '%s' (%s): its channels do not come from a conv or linear "
                     "layer through channel-preserving nodes (they meet '%s', %s)",
                     g->node[anchor].name, sp_op_name(g->node[anchor].op), p->name,
                     sp_op_name(p->op));
}

/* Forward walk from the producer.  spatial[i] > 0 marks node i as carrying
 * the group's channels, each as `spatial` consecutive features. */
static int walk_forward(const sp_graph *g, int producer, sp_group *grp)
{
    int *spatial = sp_xcalloc((size_t)g->n, sizeof *spatial);
    int r = 0;
    spatial[producer] = 1;
    if (producer == g->n - 1)
        grp->prunable = 0;
    for (int j = producer + 1; j < g->n && r == 0; j++) {
        const sp_node *n = &g->node[j];
        int k = 0;
        while (k < 2 && !(n->in[k] >= 0 && spatial[n->in[k]]))
            k++;
        if (k == 2)
            continue;
        int s = spatial[n->in[k]];
        unsigned chan = sp_op_chan(n);
        if (chan & SP_CHAN_FLATTEN) {
            const sp_node *x = &g->node[n->in[0]];
            spatial[j] = s * x->h * x->w;
        } else if (chan & SP_CHAN_FLAT_OK) {
            r = add_slice(grp, g, j, s > 1 ? SP_SLICE_IN_FLAT : SP_SLICE_IN, s);
        } else if (chan & SP_CHAN_LAYER) {
            if ((chan & SP_CHAN_TIED) || s != 1)
                grp->prunable = 0;   /* a grouped conv ties channels to its groups */
            r = add_slice(grp, g, j, SP_SLICE_IN, 1);
        } else if (chan & SP_CHAN_PASS) {
            if (chan & SP_CHAN_OWNS) {
                if (s != 1)
                    grp->prunable = 0;
                r = add_slice(grp, g, j, SP_SLICE_OUT, 1);
            }
            spatial[j] = s;
        } else {
            grp->prunable = 0;   /* a sum or a shortcut couples the channels */
        }
        if (spatial[j] && j == g->n - 1)
            grp->prunable = 0;   /* the network's output keeps its width */
    }
    free(spatial);
    return r;
}

int sp_group_find(const sp_graph *g, int anchor, sp_group *out)
{
    memset(out, 0, sizeof *out);
    if (anchor < 1 || anchor >= g->n)
        return sp_errorf("node %d does not exist in the graph", anchor);
    int p = find_producer(g, anchor);
    if (p < 0)
        return -1;
    out->anchor = anchor;
    out->channels = g->node[p].cout;
    out->prunable = 1;
    if (add_slice(out, g, p, SP_SLICE_OUT, 1) < 0 || walk_forward(g, p, out) < 0)
        return -1;
    qsort(out->slice, (size_t)out->n, sizeof out->slice[0], cmp_slice);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Slicing                                                             */

/* Copy src into dst keeping, along dimension d, the blocks of `spatial`
 * entries whose channel has keep[c] != 0. */
static void slice_dim(sp_tensor *dst, const sp_tensor *src, int d, int spatial,
                      const unsigned char *keep)
{
    size_t esize = sp_dtype_size(src->dtype);
    int64_t outer = 1, inner = 1;
    for (int i = 0; i < d; i++)
        outer *= src->shape[i];
    for (int i = d + 1; i < src->ndim; i++)
        inner *= src->shape[i];
    int64_t channels = src->shape[d] / spatial;
    size_t block = (size_t)(spatial * inner) * esize;
    const char *s = src->data;
    char *o = dst->data;
    for (int64_t a = 0; a < outer; a++)
        for (int64_t c = 0; c < channels; c++, s += block)
            if (keep[c]) {
                memcpy(o, s, block);
                o += block;
            }
}

static const sp_slice *slice_of(const sp_group *grp, int node)
{
    for (int i = 0; i < grp->n; i++)
        if (grp->slice[i].node == node)
            return &grp->slice[i];
    return NULL;
}

/* A node that passes channels through has as many input channels as
 * output channels, and, if it has groups (a depthwise conv), one each. */
static void resize_node(sp_node *n, const sp_slice *s, int kept)
{
    if (s->kind == SP_SLICE_OUT) {
        unsigned attrs = sp_op_desc_of(n->op)->attrs;
        if (sp_op_chan(n) & SP_CHAN_PASS) {
            if (attrs & SP_ATTR_CIN)
                n->cin = kept;
            if (attrs & SP_ATTR_GROUPS)
                n->groups = kept;
        }
        n->cout = kept;
    } else {
        n->cin = kept * s->spatial;
    }
}

/* The new tensor for parameter p of the pruned graph, from the old one. */
static void prune_tensor(sp_tensor *dst, const sp_tensor *src, const sp_param_info *p,
                         const sp_slice *s, const unsigned char *keep)
{
    sp_tensor_init(dst, src->name, src->dtype, p->ndim, p->shape);
    if (s && s->kind == SP_SLICE_OUT && p->kind != SP_P_NUM_BATCHES)
        slice_dim(dst, src, 0, 1, keep);
    else if (s && s->kind != SP_SLICE_OUT && p->kind == SP_P_WEIGHT)
        slice_dim(dst, src, 1, s->spatial, keep);
    else   /* a consumer's bias, a batch counter, an untouched layer */
        memcpy(dst->data, src->data, sp_tensor_bytes(dst));
}

int sp_prune_channels(sp_model *m, int anchor, const unsigned char *keep)
{
    sp_group grp;
    const sp_graph *g = m->graph;
    if (sp_group_find(g, anchor, &grp) < 0)
        return -1;
    const char *aname = g->node[anchor].name;
    if (!grp.prunable)
        return sp_errorf("the channels of '%s' cannot be removed: they reach a residual "
                         "sum, a grouped layer or the network's output", aname);
    int kept = 0;
    for (int c = 0; c < grp.channels; c++)
        kept += keep[c] != 0;
    if (kept == 0)
        return sp_errorf("pruning '%s' would remove all its %d channel%s", aname, grp.channels,
                         SP_PLURAL(grp.channels));

    sp_graph *ng = sp_graph_clone(g);
    for (int i = 0; i < grp.n; i++)
        resize_node(&ng->node[grp.slice[i].node], &grp.slice[i], kept);
    if (sp_graph_infer(ng) < 0) {
        sp_graph_free(ng);
        return sp_error_prefix("pruning '%s'", aname);
    }
    sp_param_info *op, *np;
    int n_old = sp_graph_params(g, &op), n_new = sp_graph_params(ng, &np);
    sp_tensor *nt = sp_xcalloc((size_t)n_new, sizeof *nt);
    int *slot = sp_xcalloc((size_t)n_new, sizeof *slot);
    int r = n_old == n_new ? 0 : sp_errorf("pruning '%s' changed the parameter list", aname);
    int done = 0;
    for (; r == 0 && done < n_new; done++) {
        const sp_tensor *src = sp_model_tensor(m, op[done].name);
        if (!src || src->dtype != op[done].dtype ||
            !sp_shape_equal(src->ndim, src->shape, op[done].ndim, op[done].shape)) {
            r = sp_errorf("tensor '%s' is missing or does not have the shape its graph says",
                          op[done].name);
            break;
        }
        slot[done] = (int)(src - m->t);
        prune_tensor(&nt[done], src, &np[done], slice_of(&grp, np[done].node), keep);
    }
    if (r == 0) {
        for (int i = 0; i < n_new; i++) {
            sp_tensor_free(&m->t[slot[i]]);
            m->t[slot[i]] = nt[i];
        }
        sp_graph_free(m->graph);
        m->graph = ng;
    } else {
        for (int i = 0; i < done; i++)
            sp_tensor_free(&nt[i]);
        sp_graph_free(ng);
    }
    free(nt);
    free(slot);
    free(op);
    free(np);
    return r;
}
