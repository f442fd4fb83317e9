/* exec_priv.h: the executor's state, shared by exec.c (set-up, memory,
 * parameters) and exec_run.c (forward, backward, update). */
#ifndef SP_EXEC_PRIV_H
#define SP_EXEC_PRIV_H

#include "sp/exec.h"
#include "sp/graph.h"

typedef struct xparam {
    sp_param_info info;
    size_t numel;
    float *w;                 /* device value (NULL for the I64 counter) */
    float *g;                 /* gradient, NULL when not trained */
    float *v;                 /* momentum, learnable parameters only */
} xparam;

/* Parameters of one node by kind (index into sp_exec.p, -1 if absent). */
typedef struct xnode {
    int p[SP_P_MASK + 1];
    int nconsumers;
    int last_use;             /* index of the last node reading this output */
    int inplace;              /* training: activation shares its input's buffer */
    size_t size;              /* floats per sample */
    float *save_mean, *save_invstd;  /* bn, training */
    int recompute;            /* training, a BN whose output is dropped after the
                                 forward: the last node sharing its buffer (the
                                 BN itself or the ReLU in place on it), or 0 */
    int recomputed_by;        /* that BN, on itself and that last node, or 0 */
    void *ws;                 /* maxpool, training */
    float *keep;              /* dropout, training */
    /* inference fusion (exec.c, plan_fusion) */
    int alias;                /* no work: the output is the input's buffer */
    int fold_bn;              /* conv: the BN node folded into it, or 0 */
    int act;                  /* conv: 1 + the sp_act run inside it, or 0; a
                                 batch norm in training, the same */
    /* training epilogues (exec.c, plan_epilogues) */
    int res;                  /* bn: the node whose output it adds, or 0 */
    int fused;                /* sum or activation: run by the batch norm before it */
    float *fw, *fb;           /* conv with fold_bn: folded weights and bias */
    int chain;                /* conv: the conv alone reading its output, or 0 */
    int own_in;               /* conv: this pass's input is in the backend's layout */
    int alias_in;             /* alias: the input (0 or 1) whose buffer it takes */
    /* channels-last inference (exec_layout.c) */
    int nhwc_run;             /* runs the backend's channels-last variant */
    int nhwc_out;             /* its output is stored N,H,W,C */
    int sum;                  /* conv: adds into this node's buffer (a shortcut), or 0 */
} xnode;

struct sp_exec {
    sp_backend *b;
    sp_graph *g;
    int batch, train, n;      /* capacity, training executor, current batch */
    int np;
    xparam *p;
    xnode *x;
    float **act;              /* current activation buffer per node */
    float **grad;             /* activation gradient buffer per node */
    size_t maxsize;           /* floats per sample of the largest activation */
    float **pool;             /* free buffers of batch*maxsize floats */
    int npool;
    float **all;              /* every pooled buffer, for freeing */
    int nall;
    float *input;             /* node 0 */
    float *input_nhwc;        /* node 0 channels-last (x[0].nhwc_out), or NULL */
    float *dlogits;
    float *loss_dev;
    int32_t *labels;
    int have_labels, have_loss;
    unsigned char *need;      /* per node: its output's gradient is wanted
                                 (NULL: every node's; sp_exec_keep_grads) */
    uint64_t drop_seed, drop_counter;
    /* gradients: one block, so that processes sum them in one call */
    float *gbuf;
    size_t gnumel;
    /* data-parallel training (sp/dist.h): dist when this training
     * executor runs in one of several processes; dist_on while the last
     * forward was a training one, whose batch over all processes is
     * n_global, this process's share starting at sample n_first */
    int dist, dist_on, dist_failed;
    int n_global, n_first;
    double *bn_local, *bn_global;  /* 2 x widest BN, device */
    int64_t train_forwards;   /* since the last download */
    char describe[256];       /* sp_exec_describe */
};

/* A node's parameter of one kind: its device value or gradient, NULL
 * when the node has none. */
static inline float *sp_exec_node_w(const sp_exec *e, int node, sp_param_kind kind)
{
    int k = e->x[node].p[kind];
    return k < 0 ? NULL : e->p[k].w;
}

static inline float *sp_exec_node_g(const sp_exec *e, int node, sp_param_kind kind)
{
    int k = e->x[node].p[kind];
    return k < 0 ? NULL : e->p[k].g;
}

/* Node i's form of an operation both backend tables have: the
 * channels-last training one where the node runs channels-last
 * (exec_layout.c), else the NCHW one. */
#define SP_EXEC_OP(e, i, op) ((e)->x[i].nhwc_run ? (e)->b->nhwc_train.op : (e)->b->op)

float *sp_exec_pool_get(sp_exec *e);
/* exec_layout.c */
void sp_exec_plan_layout(sp_exec *e, unsigned flags);
/* exec_dist.c */
void sp_exec_dist_setup(sp_exec *e);
int sp_exec_dist_begin(sp_exec *e);
void sp_exec_dist_bn_fwd(sp_exec *e, int i, float *out, const float *in);
void sp_exec_dist_bn_bwd(sp_exec *e, int i, float *din, const float *dout, const float *in);
int sp_exec_dist_loss(sp_exec *e, double *loss);
int sp_exec_dist_grads(sp_exec *e);
void sp_exec_pool_put(sp_exec *e, float *buf);

#endif
