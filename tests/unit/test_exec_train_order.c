/* test_exec_train_order.c: training with channels-last activations
 * (sp/backend.h, sp_nhwc_train_ops) on the CPU backend, against the same
 * executor kept NCHW, whose operations the other tests hold to the
 * reference backend and to PyTorch.
 *
 * From the same weights and batch, in both orders:
 *   - a training step's loss and logits, and the batch norms' running
 *     statistics after it, within a normalised 1e-4;
 *   - every parameter gradient of the step (masks included), taken as
 *     one vector, within 5e-2 of its norm: the orders round differently,
 *     and a batch norm output within rounding of 0 may pass a ReLU in one
 *     and not the other, which moves the gradients of the layers below it
 *     by a few per cent (seen on vgg16-cifar at up to 7e-3 of the norm,
 *     on mobilenetv2 at 3e-3; most inputs give 1e-5); a wrong operation
 *     moves them by their whole size (the operations themselves are held
 *     to the reference in test_cpu_nhwc, test_cpu_bn_nhwc and
 *     test_cpu_nhwc_bwd);
 *   - three steps of SGD (momentum, weight decay, dropout draws) on the
 *     small graph, every tensor within a normalised 1e-4;
 *   - an evaluation pass of the training executor, within 1e-4.
 * The networks: resnet20, vgg16-cifar and mobilenetv2 with their batch
 * norms randomised, and a graph with every operation between
 * convolutions (max, average and adaptive pooling, the option-A
 * shortcut, a mask, a dropout on the flattened features, a flatten of a
 * channels-last tensor).  Each executor must say which order it trains
 * in; a dropout on a feature map (its draw follows the NCHW order) keeps
 * training NCHW while inference stays channels-last.
 *
 * The batch norm epilogues (a batch norm adding the shortcut and applying
 * the ReLU after it in its own pass, exec.c's plan_epilogues) against
 * the same executor with SP_EXEC_UNFUSED, in both orders: the loss,
 * logits, evaluation pass, gradients and the model after the steps bit
 * for bit, and each executor's description says which it does. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sp/arch.h"
#include "sp/backend.h"
#include "sp/base.h"
#include "sp/exec.h"
#include "sp/model.h"
#include "sp/rng.h"
#include "graphs.h"
#include "testlib.h"

#define TOL 1e-4
#define CLASSES 10

/* conv, bn, relu, maxpool, pad shortcut + add, mask, avgpool (padded),
 * adaptive pool, flatten, dropout, linear; spatial_dropout puts the
 * dropout on the feature map instead. */
static sp_graph *every_op_graph(int spatial_dropout)
{
    sp_graph *g = sp_graph_new("", 3, 12, 12);
    g->classes = CLASSES;
    int x = t_conv(g, "c1", 0, 3, 8, 3, 1, 1, 1, 0);
    x = t_chan(g, SP_OP_BN, "b1", x, 8);
    x = t_add(g, SP_OP_RELU, "r1", x, -1);
    x = t_add(g, SP_OP_MAXPOOL, "mp", x, -1);
    g->node[x].kh = g->node[x].kw = 3;
    g->node[x].sh = g->node[x].sw = 2;
    g->node[x].ph = g->node[x].pw = 1;
    int block_in = x;
    x = t_conv(g, "c2", x, 8, 12, 3, 2, 1, 1, 0);
    x = t_chan(g, SP_OP_BN, "b2", x, 12);
    x = t_add(g, SP_OP_RELU6, "r2", x, -1);
    x = t_chan(g, SP_OP_MASK, "m2", x, 12);
    int sc = t_add(g, SP_OP_PAD_SHORTCUT, "sc", block_in, -1);
    g->node[sc].sh = g->node[sc].sw = 2;
    g->node[sc].pad_lo = g->node[sc].pad_hi = 2;
    x = t_add(g, SP_OP_ADD, "sum", x, sc);
    if (spatial_dropout) {
        x = t_add(g, SP_OP_DROPOUT, "drop", x, -1);
        g->node[x].p = 0.25f;
    }
    x = t_add(g, SP_OP_AVGPOOL, "ap", x, -1);
    g->node[x].kh = g->node[x].kw = 3;
    g->node[x].sh = g->node[x].sw = g->node[x].ph = g->node[x].pw = 1;
    x = t_conv(g, "c3", x, 12, 6, 1, 1, 0, 1, 1);
    x = t_add(g, SP_OP_ADAPTIVE_AVGPOOL, "aap", x, -1);
    g->node[x].oh = g->node[x].ow = 2;
    x = t_add(g, SP_OP_FLATTEN, "flat", x, -1);
    if (!spatial_dropout) {
        x = t_add(g, SP_OP_DROPOUT, "drop", x, -1);
        g->node[x].p = 0.25f;
    }
    t_linear(g, "fc", x, 24, CLASSES, 1);
    if (sp_graph_infer(g) < 0) {
        sp_graph_free(g);
        return NULL;
    }
    return g;
}

static void randomise(sp_model *m, sp_rng *r)
{
    for (int i = 0; i < m->n; i++) {
        sp_tensor *t = &m->t[i];
        int64_t n = sp_tensor_numel(t);
        if (strstr(t->name, ".mask"))
            sp_rng_fill_uniform(r, t->data, n, 0.0f, 1.0f);
        else if (strstr(t->name, ".running_var"))
            sp_rng_fill_uniform(r, t->data, n, 0.5f, 2.0f);
        else if (strstr(t->name, ".running_mean"))
            sp_rng_fill_uniform(r, t->data, n, -0.3f, 0.3f);
    }
}

typedef struct run {
    float loss;               /* of the first step */
    float *logits, *eval;     /* the first step's; an evaluation pass's before it */
    float *grads;             /* the first step's, every parameter's in one vector */
    size_t ngrads;
    sp_model *after;          /* after the last step */
    char said[160];
} run;

static void run_free(run *u)
{
    free(u->logits);
    free(u->eval);
    free(u->grads);
    sp_model_free(u->after);
}

static float *all_grads(sp_exec *e, const sp_model *m, size_t *count)
{
    size_t n = 0;
    for (int i = 0; i < m->n; i++)
        if (sp_exec_grad(e, m->t[i].name))
            n += (size_t)sp_tensor_numel(&m->t[i]);
    float *g = sp_xmalloc((n + 1) * sizeof *g);
    *count = n;
    n = 0;
    for (int i = 0; i < m->n; i++)
        if (sp_exec_grad(e, m->t[i].name)) {
            sp_exec_grad_download(e, m->t[i].name, g + n);
            n += (size_t)sp_tensor_numel(&m->t[i]);
        }
    return g;
}

static float *logits_of(sp_exec *e, int n)
{
    float *z = sp_xmalloc((size_t)n * CLASSES * sizeof *z);
    sp_exec_logits(e, z);
    return z;
}

static run trained(sp_backend *b, const sp_model *m, unsigned flags, const float *x,
                   const int32_t *y, int n, int steps)
{
    run u = {0};
    sp_exec *e = sp_exec_new_flags(b, m, n, 1, 1, flags);
    sp_exec_set_input(e, x, NULL, n);
    sp_exec_forward(e, 0);
    u.eval = logits_of(e, n);
    sp_sgd_opts o = {0.05f, 0.9f, 5e-4f, 0};
    for (int step = 0; step < steps; step++) {
        sp_exec_set_input(e, x, y, n);
        sp_exec_set_dropout(e, 7, (uint64_t)step);
        sp_exec_forward(e, 1);
        float loss = sp_exec_loss(e);
        sp_exec_backward(e);
        if (step == 0) {
            u.loss = loss;
            u.logits = logits_of(e, n);
            u.grads = all_grads(e, m, &u.ngrads);
        }
        sp_exec_sgd(e, &o);
    }
    u.after = sp_model_clone(m);
    sp_exec_download(e, u.after);
    snprintf(u.said, sizeof u.said, "%s", sp_exec_describe(e));
    sp_exec_free(e);
    return u;
}

/* A tensor's largest difference over its largest value, or over FLOOR
 * where all its values are smaller (a convolution's bias before a batch
 * norm has a gradient of rounding noise only, and so values of noise). */
#define FLOOR 1e-3
static double tensor_err(const sp_tensor *a, const sp_tensor *b)
{
    const float *x = a->data, *y = b->data;
    double diff = 0.0, top = FLOOR;
    for (int64_t k = 0; k < sp_tensor_numel(a); k++) {
        double d = fabs((double)x[k] - y[k]);
        diff = d > diff || d != d ? d : diff;
        top = fabs(y[k]) > top ? fabs(y[k]) : top;
    }
    return diff / top;
}

static double norm_err(const float *a, const float *b, size_t n)
{
    double diff = 0.0, norm = 0.0;
    for (size_t k = 0; k < n; k++) {
        diff += ((double)a[k] - b[k]) * ((double)a[k] - b[k]);
        norm += (double)b[k] * b[k];
    }
    return norm > 0.0 ? sqrt(diff / norm) : sqrt(diff);
}

/* Every tensor after the steps, or (all = 0) the running statistics. */
static void check_after(const char *what, const run *a, const run *c, int all)
{
    char name[160];
    double worst = 0.0;
    const char *where = "none";
    for (int i = 0; i < a->after->n; i++) {
        const sp_tensor *t = &a->after->t[i], *u = &c->after->t[i];
        if (t->dtype != SP_F32 || (!all && !strstr(t->name, ".running_")))
            continue;
        double err = tensor_err(t, u);
        if (err >= worst || err != err) {
            worst = err;
            where = t->name;
        }
    }
    snprintf(name, sizeof name, "train_order_%s_%s", all ? "after_steps" : "running_stats",
             what);
    printf("# %s: worst normalised error %.3g (%s)\n", name, worst, where);
    CHECKF(worst < TOL, name, "normalised error %.3g at %s", worst, where);
}

static void check_same(const char *what, const run *a, const run *c, int n, int steps)
{
    char name[160];
    double el = fabs((double)a->loss - c->loss) / fabs((double)c->loss);
    snprintf(name, sizeof name, "train_order_loss_%s", what);
    CHECKF(el < TOL, name, "%.9g and %.9g", a->loss, c->loss);
    double ez = t_rel_err(a->logits, c->logits, (size_t)n * CLASSES);
    snprintf(name, sizeof name, "train_order_logits_%s", what);
    CHECKF(ez < TOL, name, "normalised error %.3g", ez);
    double ee = t_rel_err(a->eval, c->eval, (size_t)n * CLASSES);
    snprintf(name, sizeof name, "train_order_eval_logits_%s", what);
    CHECKF(ee < TOL, name, "normalised error %.3g", ee);
    double eg = norm_err(a->grads, c->grads, c->ngrads);
    snprintf(name, sizeof name, "train_order_grads_%s", what);
    printf("# %s: %zu values, error %.3g of their norm\n", name, c->ngrads, eg);
    CHECKF(a->ngrads == c->ngrads && c->ngrads > 0 && eg < 5e-2, name,
           "%zu and %zu values, error %.3g of their norm", a->ngrads, c->ngrads, eg);
    check_after(what, a, c, steps > 1);
}

/* A network with its batch norms randomised and a batch of n (at most
 * 4) random images and labels, drawn from seed. */
typedef struct problem {
    sp_model *m;
    float *x;
    int32_t y[4];
} problem;

static void problem_init(problem *p, sp_graph *g, int n, uint64_t seed)
{
    p->m = sp_model_new(g);
    sp_arch_init_weights(p->m, 5);
    sp_rng r;
    sp_rng_init(&r, seed, 2);
    randomise(p->m, &r);
    const sp_node *in = &g->node[0];
    size_t nx = (size_t)n * in->c * in->h * in->w;
    p->x = sp_xmalloc(nx * sizeof *p->x);
    sp_rng_fill_normal(&r, p->x, (int64_t)nx, 0.0f, 1.0f);
    for (int i = 0; i < n; i++)
        p->y[i] = (int32_t)sp_rng_below(&r, CLASSES);
}

static void problem_free(problem *p)
{
    free(p->x);
    sp_model_free(p->m);
}

static void check_net(sp_backend *b, const char *what, sp_graph *g, int n, int steps)
{
    if (!CHECKF(g != NULL, "train_order_build", "%s: %s", what, sp_error()))
        return;
    problem p;
    problem_init(&p, g, n, 13);
    run last = trained(b, p.m, SP_EXEC_NHWC, p.x, p.y, n, steps);
    run flat = trained(b, p.m, SP_EXEC_NCHW, p.x, p.y, n, steps);
    char name[160];
    snprintf(name, sizeof name, "train_order_said_%s", what);
    CHECKF(!strncmp(last.said, "channels-last between convolutions;", 35) &&
           !strncmp(flat.said, "NCHW;", 5), name, "'%s' and '%s'", last.said, flat.said);
    check_same(what, &last, &flat, n, steps);
    run_free(&last);
    run_free(&flat);
    problem_free(&p);
}

static int same_floats(const float *a, const float *b, size_t n)
{
    return memcmp(a, b, n * sizeof *a) == 0;
}

static int same_models(const sp_model *a, const sp_model *b)
{
    for (int i = 0; i < a->n; i++)
        if (memcmp(a->t[i].data, b->t[i].data, sp_tensor_bytes(&a->t[i])) != 0)
            return 0;
    return a->n == b->n;
}

/* Epilogues run inside the batch norms against every node run apart, in
 * the order `flags` picks: the same bits. */
static void check_epilogues(sp_backend *b, const char *what, sp_graph *g, unsigned flags, int n,
                            int steps)
{
    if (!CHECKF(g != NULL, "train_order_build", "%s: %s", what, sp_error()))
        return;
    problem p;
    problem_init(&p, g, n, 17);
    run fused = trained(b, p.m, flags, p.x, p.y, n, steps);
    run apart = trained(b, p.m, flags | SP_EXEC_UNFUSED, p.x, p.y, n, steps);
    const char *order = flags & SP_EXEC_NHWC ? "channels-last" : "NCHW";
    char name[160];
    snprintf(name, sizeof name, "train_epilogue_said_%s_%s", what, order);
    CHECKF(strstr(fused.said, "batch norms also run the sum or activation after them") &&
           !strstr(apart.said, "also run"), name, "'%s' and '%s'", fused.said, apart.said);
    snprintf(name, sizeof name, "train_epilogue_same_bits_%s_%s", what, order);
    CHECKF(fused.loss == apart.loss && same_floats(fused.logits, apart.logits, (size_t)n * CLASSES) &&
           same_floats(fused.eval, apart.eval, (size_t)n * CLASSES) &&
           fused.ngrads == apart.ngrads && same_floats(fused.grads, apart.grads, apart.ngrads) &&
           same_models(fused.after, apart.after), name,
           "loss %.9g and %.9g, logits or gradients or the model after %d steps differ",
           fused.loss, apart.loss, steps);
    run_free(&fused);
    run_free(&apart);
    problem_free(&p);
}

/* A dropout on a feature map: training stays NCHW, inference does not. */
static void check_refused(sp_backend *b)
{
    sp_graph *g = every_op_graph(1);
    if (!CHECKF(g != NULL, "train_order_build", "spatial dropout: %s", sp_error()))
        return;
    sp_model *m = sp_model_new(g);
    sp_arch_init_weights(m, 5);
    sp_exec *tr = sp_exec_new_flags(b, m, 2, 1, 0, SP_EXEC_NHWC);
    sp_exec *in = sp_exec_new_flags(b, m, 2, 0, 0, SP_EXEC_NHWC);
    CHECKF(!strncmp(sp_exec_describe(tr), "NCHW;", 5) &&
           !strncmp(sp_exec_describe(in), "channels-last", 13), "train_order_spatial_dropout",
           "'%s' and '%s'", sp_exec_describe(tr), sp_exec_describe(in));
    sp_exec_free(tr);
    sp_exec_free(in);
    sp_model_free(m);
}

int main(void)
{
    sp_backend *b = sp_backend_create("cpu");
    if (!CHECKF(b != NULL, "train_order_backend", "%s", sp_error()))
        return t_done();
    /* batch and size such that every batch norm normalises over 16
     * values or more: over fewer, its gradient amplifies rounding */
    sp_arch_opts cifar = {CLASSES, 3, 32, 32}, larger = {CLASSES, 3, 64, 64};
    check_net(b, "every-op graph", every_op_graph(0), 3, 3);
    check_net(b, "resnet20", sp_arch_build("resnet20", &cifar), 4, 1);
    check_net(b, "vgg16-cifar", sp_arch_build("vgg16-cifar", &cifar), 4, 1);
    check_net(b, "mobilenetv2", sp_arch_build("mobilenetv2", &larger), 4, 1);
    check_refused(b);
    for (int k = 0; k < 2; k++) {
        unsigned order = k ? SP_EXEC_NHWC : SP_EXEC_NCHW;
        check_epilogues(b, "every-op graph", every_op_graph(0), order, 3, 3);
        check_epilogues(b, "resnet20", sp_arch_build("resnet20", &cifar), order, 4, 2);
        check_epilogues(b, "mobilenetv2", sp_arch_build("mobilenetv2", &larger), order, 4, 2);
    }
    sp_backend_destroy(b);
    return t_done();
}
