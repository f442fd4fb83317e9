/* exec_layout.c: channels-last activations (sp/backend.h, sp_nhwc_ops
 * and sp_nhwc_train_ops).
 *
 * When the backend runs most of a network's convolutions faster on
 * channels-last data (weighed by multiply-adds), an inference executor
 * keeps activations N,H,W,C from the first convolution on: every
 * convolution writes channels-last, and the operations between them run
 * their channels-last variants.  An operation without one (an unfolded
 * batch norm, say) gets its input converted back to NCHW.  A tensor of
 * one pixel per channel is the same in both orders, so the global pool's
 * output reaches the classifier as it is.
 *
 * In that order a residual block's last convolution also adds the
 * shortcut and applies the ReLU after it in its own pass over memory: it
 * writes into the shortcut's buffer with the sum as a post-op, when
 * nothing later reads the shortcut.
 *
 * A training executor keeps activations and their gradients channels-last
 * in the same cases, batch norms included, when the backend has the
 * channels-last training operations and every operation of the network
 * that reads such a tensor has its channels-last form: the backward pass
 * has no conversions.  A network where one lacks it (a dropout on a
 * feature map, whose draw follows the NCHW order) trains NCHW, and so
 * does one trained across processes on a backend without the
 * channels-last batch norm sums (sp_nhwc_train_ops.bn_sums). */
#include <stdio.h>
#include "sp/base.h"
#include "sp/dist.h"
#include "exec_priv.h"

/* The backend's preference, weighed by each convolution's multiply-adds. */
static int nhwc_wanted(sp_exec *e)
{
    double yes = 0.0, no = 0.0;
    for (int i = 1; i < e->g->n; i++) {
        const sp_node *nd = &e->g->node[i], *src = &e->g->node[nd->in[0]];
        if (nd->op != SP_OP_CONV)
            continue;
        sp_conv_shape s = {e->batch, src->c, src->h, src->w, nd->cout, nd->h, nd->w,
                           nd->kh, nd->kw, nd->sh, nd->sw, nd->ph, nd->pw,
                           nd->groups > 0 ? nd->groups : 1};
        double macs = (double)s.k * s.oh * s.ow * (s.c / s.groups) * s.kh * s.kw;
        if (e->b->nhwc.preferred(e->b, &s))
            yes += macs;
        else
            no += macs;
    }
    return yes > no;
}

static int reads_nhwc(const sp_exec *e, int i, int all)
{
    const sp_node *nd = &e->g->node[i];
    int any = 0, every = 1;
    for (int k = 0; k < 2; k++) {
        int j = nd->in[k];
        if (j < 0)
            continue;
        any |= e->x[j].nhwc_out;
        every &= e->x[j].nhwc_out;
    }
    return all ? every : any;
}

/* Whether node i runs its channels-last variant. */
static int runs_nhwc(const sp_exec *e, int i)
{
    const sp_node *nd = &e->g->node[i];
    switch (nd->op) {
    case SP_OP_CONV:
        return 1;
    case SP_OP_FLATTEN:            /* converts to NCHW as it copies */
        return reads_nhwc(e, i, 0);
    case SP_OP_BN:                 /* inference folds it or converts */
        return e->train && reads_nhwc(e, i, 1);
    case SP_OP_DROPOUT:
        return (!e->train || nd->h * nd->w == 1) && reads_nhwc(e, i, 1);
    case SP_OP_RELU:
    case SP_OP_RELU6:
    case SP_OP_ADD:
    case SP_OP_MAXPOOL:
    case SP_OP_AVGPOOL:
    case SP_OP_ADAPTIVE_AVGPOOL:
    case SP_OP_PAD_SHORTCUT:
    case SP_OP_MASK:
        return reads_nhwc(e, i, 1);
    default:
        return 0;
    }
}

/* The convolution whose output reaches node j through folded batch
 * norms, each read only by the next; 0 when there is none. */
static int conv_behind(const sp_exec *e, int j)
{
    while (j > 0 && e->x[j].nconsumers == 1) {
        if (e->g->node[j].op == SP_OP_CONV)
            return j;
        if (!e->x[j].alias || e->g->node[j].op != SP_OP_BN)
            return 0;
        j = e->g->node[j].in[0];
    }
    return 0;
}

/* Whether a node after a and before b reads j. */
static int read_between(const sp_exec *e, int j, int a, int b)
{
    for (int i = a + 1; i < b; i++)
        if (e->g->node[i].in[0] == j || e->g->node[i].in[1] == j)
            return 1;
    return 0;
}

/* The ReLU that alone reads node a, or 0. */
static int sole_relu(const sp_exec *e, int a)
{
    if (e->x[a].nconsumers != 1)
        return 0;
    for (int i = a + 1; i < e->g->n; i++) {
        const sp_node *nd = &e->g->node[i];
        if (nd->in[0] == a || nd->in[1] == a)
            return (nd->op == SP_OP_RELU || nd->op == SP_OP_RELU6) && nd->in[0] == a ? i : 0;
    }
    return 0;
}

/* add = conv branch + shortcut q  ->  the conv adds into q's buffer. */
static void fuse_residual(sp_exec *e, int a)
{
    const sp_node *nd = &e->g->node[a];
    if (nd->in[0] == nd->in[1])
        return;
    for (int k = 0; k < 2; k++) {
        int c = conv_behind(e, nd->in[k]), q = nd->in[1 - k];
        if (!c || q <= 0 || q > c || e->x[c].act || e->x[c].sum || !e->x[c].nhwc_out ||
            !e->x[q].nhwc_out || e->x[q].last_use != a || read_between(e, q, c - 1, a))
            continue;
        e->x[c].sum = q;
        e->x[a].alias = 1;
        e->x[a].alias_in = k;
        int r = sole_relu(e, a);
        if (r) {
            e->x[c].act = 1 + (e->g->node[r].op == SP_OP_RELU ? SP_ACT_RELU : SP_ACT_RELU6);
            e->x[r].alias = 1;
        }
        return;
    }
}

static int count_nodes(const sp_exec *e, sp_op op, int fused)
{
    int n = 0;
    for (int i = 1; i < e->g->n; i++)
        n += e->g->node[i].op == op && (!fused || e->x[i].alias);
    return n;
}

static void describe(sp_exec *e, int nhwc)
{
    int folded = count_nodes(e, SP_OP_BN, 1), sums = count_nodes(e, SP_OP_ADD, 1);
    int adds = count_nodes(e, SP_OP_ADD, 0);
    if (nhwc && adds)
        snprintf(e->describe, sizeof e->describe,
                 "channels-last between convolutions; %d batch norm%s folded, %d of %d "
                 "residual sums inside convolutions", folded, SP_PLURAL(folded), sums, adds);
    else if (nhwc)
        snprintf(e->describe, sizeof e->describe,
                 "channels-last between convolutions; %d batch norm%s folded", folded,
                 SP_PLURAL(folded));
    else
        snprintf(e->describe, sizeof e->describe, "NCHW; %d batch norm%s folded", folded,
                 SP_PLURAL(folded));
}

/* Training converts nothing: every reader of a channels-last tensor runs
 * channels-last, and a convolution reading NCHW reads the images or a
 * tensor of one pixel per channel (the same in both orders). */
static int converts_nothing(const sp_exec *e)
{
    for (int i = 1; i < e->g->n; i++) {
        const sp_node *nd = &e->g->node[i], *src = &e->g->node[nd->in[0]];
        int images = nd->in[0] == 0 || src->h * src->w == 1;
        if (e->x[i].nhwc_run ? nd->op == SP_OP_CONV && !images && !reads_nhwc(e, i, 0)
                             : reads_nhwc(e, i, 0))
            return 0;
    }
    return 1;
}

/* Whether only convolutions read the images. */
static int images_read_by_convs(const sp_exec *e)
{
    for (int i = 1; i < e->g->n; i++) {
        const sp_node *nd = &e->g->node[i];
        if ((nd->in[0] == 0 || nd->in[1] == 0) && nd->op != SP_OP_CONV)
            return 0;
    }
    return 1;
}

/* Training reorders the images once (a few channels) so that the first
 * convolution runs channels-last in all three passes, which saves two
 * buffers of its output's size that the NCHW input would need for
 * oneDNN's own layouts in the forward and weight-gradient passes. */
static void nhwc_images(sp_exec *e)
{
    e->x[0].nhwc_out = 1;
    e->input_nhwc = e->b->alloc(e->b, (size_t)e->batch * e->x[0].size * sizeof(float));
}

static int backend_has_it(const sp_exec *e)
{
    const sp_nhwc_train_ops *t = &e->b->nhwc_train;
    if (!e->b->nhwc.conv_fwd)
        return 0;
    return !e->train || (t->conv_bwd_data && (sp_dist_size() < 2 || t->bn_sums));
}

void sp_exec_plan_layout(sp_exec *e, unsigned flags)
{
    sp_graph *g = e->g;
    if (!backend_has_it(e) || (flags & SP_EXEC_NCHW) ||
        (!(flags & SP_EXEC_NHWC) && !nhwc_wanted(e))) {
        if (!e->train)
            describe(e, 0);
        return;
    }
    for (int i = 1; i < g->n; i++) {
        xnode *x = &e->x[i];
        x->chain = 0;   /* the NCHW hand-over has nothing left to do */
        if (x->alias) {
            x->nhwc_out = e->x[g->node[i].in[0]].nhwc_out;
            continue;
        }
        x->nhwc_run = runs_nhwc(e, i);
        x->nhwc_out = x->nhwc_run && g->node[i].op != SP_OP_FLATTEN &&
                      g->node[i].h * g->node[i].w > 1;
    }
    if (e->train) {
        if (!converts_nothing(e))
            for (int i = 1; i < g->n; i++)
                e->x[i].nhwc_run = e->x[i].nhwc_out = 0;
        else if (images_read_by_convs(e))
            nhwc_images(e);
        return;
    }
    for (int i = 1; i < g->n; i++)
        if (g->node[i].op == SP_OP_ADD && e->x[i].nhwc_run)
            fuse_residual(e, i);
    describe(e, 1);
}

const char *sp_exec_describe(const sp_exec *e)
{
    return e->describe[0] ? e->describe : "NCHW, every layer as the graph says";
}
