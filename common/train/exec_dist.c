/* exec_dist.c: the training executor in one of several processes
 * (sp/dist.h).  Each process holds its share of the global batch; a
 * training forward first learns the global batch size, each batch norm
 * adds its per-channel sums over the processes before it normalises (the
 * statistics are those of the whole batch, as one process would compute
 * them), the loss is the mean over the whole batch, and the backward pass
 * adds the batch norm sums again and, at its end, every parameter gradient
 * (mask gradients included).  The result equals one process's up to the
 * order of float additions.  A batch norm that runs channels-last
 * (exec_layout.c) uses the backend's channels-last sums. */
#include <string.h>
#include "sp/base.h"
#include "sp/dist.h"
#include "exec_priv.h"

void sp_exec_dist_setup(sp_exec *e)
{
    if (sp_dist_size() < 2)
        return;
    e->dist = 1;
    int widest = 1;
    for (int i = 1; i < e->g->n; i++)
        if (e->g->node[i].op == SP_OP_BN && e->g->node[i].c > widest)
            widest = e->g->node[i].c;
    e->bn_local = e->b->alloc(e->b, 2 * (size_t)widest * sizeof(double));
    e->bn_global = e->b->alloc(e->b, 2 * (size_t)widest * sizeof(double));
}

/* A training forward starts: the global batch and this share's place in
 * it (the loader's shares, sp_loader_opts.part, are sp_dist_share's). */
int sp_exec_dist_begin(sp_exec *e)
{
    e->dist_on = 0;
    e->dist_failed = 0;
    if (!e->dist)
        return 0;
    if (!e->b->bn_sums)
        return sp_errorf("the %s backend cannot train across processes", e->b->name);
    double n = e->n;
    if (sp_dist_sum_host(&n, 1) < 0)
        return -1;
    int hi;
    e->n_global = (int)n;
    if (sp_dist_share(e->n_global, &e->n_first, &hi) < 0)
        return -1;
    e->dist_on = 1;
    return 0;
}

static void sum_bn(sp_exec *e, double *sums, int c)
{
    if (sp_dist_sum(e->b, sums, 2 * (size_t)c, 1) < 0)
        e->dist_failed = 1;
}

void sp_exec_dist_bn_fwd(sp_exec *e, int i, float *out, const float *in)
{
    sp_backend *b = e->b;
    const sp_node *nd = &e->g->node[i];
    int hw = nd->h * nd->w;
    SP_EXEC_OP(e, i, bn_sums)(b, e->bn_global, in, e->n, nd->c, hw);
    sum_bn(e, e->bn_global, nd->c);
    SP_EXEC_OP(e, i, bn_fwd_sums)(
        b, out, e->x[i].save_mean, e->x[i].save_invstd, sp_exec_node_w(e, i, SP_P_RUNNING_MEAN),
        sp_exec_node_w(e, i, SP_P_RUNNING_VAR), in, sp_exec_node_w(e, i, SP_P_WEIGHT),
        sp_exec_node_w(e, i, SP_P_BIAS), e->bn_global, (double)e->n_global * hw, e->n, nd->c, hw,
        nd->eps, nd->momentum);
}

void sp_exec_dist_bn_bwd(sp_exec *e, int i, float *din, const float *dout, const float *in)
{
    sp_backend *b = e->b;
    const sp_node *nd = &e->g->node[i];
    int hw = nd->h * nd->w, c = nd->c;
    SP_EXEC_OP(e, i, bn_bwd_sums)(b, e->bn_local, dout, in, e->x[i].save_mean,
                                  e->x[i].save_invstd, e->n, c, hw);
    b->copy(b, e->bn_global, e->bn_local, 2 * (size_t)c * sizeof(double));
    sum_bn(e, e->bn_global, c);
    SP_EXEC_OP(e, i, bn_bwd_from_sums)(
        b, din, sp_exec_node_g(e, i, SP_P_WEIGHT), sp_exec_node_g(e, i, SP_P_BIAS), dout, in,
        sp_exec_node_w(e, i, SP_P_WEIGHT), e->x[i].save_mean, e->x[i].save_invstd, e->bn_local,
        e->bn_global, (double)e->n_global * hw, e->n, c, hw);
}

/* *loss: this share's mean in, the global batch's mean out. */
int sp_exec_dist_loss(sp_exec *e, double *loss)
{
    double s = *loss * e->n;
    if (sp_dist_sum_host(&s, 1) < 0)
        return -1;
    *loss = s / e->n_global;
    return 0;
}

int sp_exec_dist_grads(sp_exec *e)
{
    if (e->dist_failed)
        return sp_error_prefix("summing the batch norm statistics over the processes");
    return e->gbuf ? sp_dist_sum(e->b, e->gbuf, e->gnumel, 0) : 0;
}
