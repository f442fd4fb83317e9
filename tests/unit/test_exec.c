/* test_exec.c: the executor on the reference backend.
 *
 * A small graph with every node kind (grouped conv, BN, ReLU, ReLU6, mask,
 * option-A shortcut, add, max/avg/adaptive pooling, flatten, linear,
 * dropout) is trained for one step:
 *   - the loss's gradient with respect to parameters and masks agrees with
 *     central differences of the loss (the oracle);
 *   - the unfused inference executor (pooled buffers) gives the same
 *     logits as the training executor's evaluation pass (per-node
 *     buffers), and the default one (batch norms folded, activations
 *     fused) the same within a normalised 1e-5;
 *   - one SGD step equals the update computed here from the gradients.
 * Differences are taken in double from float losses, so the tolerance
 * allows the float rounding of the loss divided by the step. */
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
#include "sp/train.h"
#include "testlib.h"

#define BATCH 4
#define CLASSES 5

static int add(sp_graph *g, sp_op op, const char *name, int in0, int in1)
{
    sp_node n;
    memset(&n, 0, sizeof n);
    n.op = op;
    snprintf(n.name, sizeof n.name, "%s", name);
    n.in[0] = in0;
    n.in[1] = in1;
    n.groups = 1;
    n.eps = 1e-5f;
    n.momentum = 0.1f;
    return sp_graph_add(g, &n);
}

static sp_node *last(sp_graph *g)
{
    return &g->node[g->n - 1];
}

static void conv(sp_node *n, int cin, int cout, int k, int s, int p, int groups, int bias)
{
    n->cin = cin; n->cout = cout; n->kh = n->kw = k; n->sh = n->sw = s;
    n->ph = n->pw = p; n->groups = groups; n->bias = bias;
}

static void pool(sp_node *n, int k, int s, int p)
{
    n->kh = n->kw = k; n->sh = n->sw = s; n->ph = n->pw = p;
}

static sp_graph *every_node_graph(void)
{
    sp_graph *g = sp_graph_new("", 3, 8, 8);
    g->classes = CLASSES;
    add(g, SP_OP_CONV, "c1", 0, -1);               conv(last(g), 3, 8, 3, 1, 1, 1, 1);
    add(g, SP_OP_BN, "b1", 1, -1);                  last(g)->cout = 8;
    add(g, SP_OP_RELU, "r1", 2, -1);
    add(g, SP_OP_MASK, "m1", 3, -1);                last(g)->cout = 8;
    add(g, SP_OP_CONV, "c2", 4, -1);               conv(last(g), 8, 12, 3, 2, 1, 4, 0);
    add(g, SP_OP_BN, "b2", 5, -1);                  last(g)->cout = 12;
    add(g, SP_OP_RELU6, "r2", 6, -1);
    add(g, SP_OP_PAD_SHORTCUT, "sc", 4, -1);
    last(g)->sh = last(g)->sw = 2; last(g)->pad_lo = 2; last(g)->pad_hi = 2;
    add(g, SP_OP_ADD, "sum", 7, 8);
    add(g, SP_OP_RELU, "r3", 9, -1);
    add(g, SP_OP_MAXPOOL, "mp", 10, -1);            pool(last(g), 2, 2, 0);
    add(g, SP_OP_AVGPOOL, "ap", 11, -1);            pool(last(g), 3, 1, 1);
    add(g, SP_OP_ADAPTIVE_AVGPOOL, "gap", 12, -1);  last(g)->oh = last(g)->ow = 1;
    add(g, SP_OP_FLATTEN, "flat", 13, -1);
    add(g, SP_OP_LINEAR, "fc1", 14, -1);            last(g)->cin = 12; last(g)->cout = 10; last(g)->bias = 1;
    add(g, SP_OP_RELU, "r4", 15, -1);
    add(g, SP_OP_DROPOUT, "drop", 16, -1);          last(g)->p = 0.3f;
    add(g, SP_OP_LINEAR, "fc2", 17, -1);            last(g)->cin = 10; last(g)->cout = CLASSES; last(g)->bias = 1;
    if (sp_graph_infer(g) < 0) {
        fprintf(stderr, "test_exec: %s\n", sp_error());
        exit(1);
    }
    return g;
}

static void randomise(sp_model *m, sp_rng *r)
{
    for (int i = 0; i < m->n; i++) {
        sp_tensor *t = &m->t[i];
        if (t->dtype != SP_F32)
            continue;
        int64_t n = sp_tensor_numel(t);
        if (strstr(t->name, "running_var") || strstr(t->name, ".mask") ||
            (strstr(t->name, "b") == t->name && strstr(t->name, ".weight")))
            sp_rng_fill_uniform(r, t->data, n, 0.5f, 1.5f);
        else
            sp_rng_fill_uniform(r, t->data, n, -0.5f, 0.5f);
    }
}

static double loss_of(sp_exec *e, const sp_model *m, const float *x, const int32_t *y)
{
    sp_exec_upload(e, m);
    sp_exec_set_input(e, x, y, BATCH);
    sp_exec_set_dropout(e, 7, 3);
    sp_exec_forward(e, 1);
    return sp_exec_loss(e);
}

/* Central differences at the entries of largest gradient and a few others. */
static void check_grads(sp_backend *b, sp_model *m, const float *x, const int32_t *y)
{
    sp_exec *e = sp_exec_new(b, m, BATCH, 1, 1);
    loss_of(e, m, x, y);
    sp_exec_backward(e);
    double worst = 0;
    const char *worst_name = "";
    for (int i = 0; i < m->n; i++) {
        sp_tensor *t = &m->t[i];
        const float *gd = sp_exec_grad(e, t->name);
        if (!gd)
            continue;
        size_t n = (size_t)sp_tensor_numel(t);
        float *g = sp_xmalloc(n * sizeof *g);
        b->download(b, g, gd, n * sizeof *g);
        size_t pick[4] = {0, n / 3, n / 2, n - 1};
        for (size_t k = 0; k < n; k++)
            if (fabsf(g[k]) > fabsf(g[pick[0]]))
                pick[0] = k;
        for (int s = 0; s < 4; s++) {
            float *w = (float *)t->data + pick[s], keep = *w;
            float h = 1e-3f;
            *w = keep + h;
            double lp = loss_of(e, m, x, y);
            *w = keep - h;
            double lm = loss_of(e, m, x, y);
            *w = keep;
            double fd = (lp - lm) / (2.0 * h), an = g[pick[s]];
            double err = fabs(fd - an) / (5e-3 + fabs(an));
            if (err > worst) {
                worst = err;
                worst_name = t->name;
            }
        }
        free(g);
    }
    CHECKF(worst < 3e-2, "exec_grad_finite_differences", "worst relative error %.3g at %s",
           worst, worst_name);
    sp_exec_free(e);
}

/* sp_exec_keep_grads: the kept gradients are those of the full backward
 * pass, the others are gone, an unknown name is refused. */
static void check_keep_grads(sp_backend *b, sp_model *m, const float *x, const int32_t *y)
{
    const char *keep[2] = {NULL, NULL};
    for (int i = 0; i < m->n; i++) {
        const char *dot = strrchr(m->t[i].name, '.');
        if (dot && strcmp(dot, ".weight") == 0 && m->t[i].ndim == 4 && !keep[0] && i > 2)
            keep[0] = m->t[i].name;
        else if (dot && strcmp(dot, ".weight") == 0)
            keep[1] = m->t[i].name;
    }
    sp_exec *full = sp_exec_new(b, m, BATCH, 1, 0), *part = sp_exec_new(b, m, BATCH, 1, 0);
    CHECK(keep[0] && keep[1] && sp_exec_keep_grads(part, keep, 2) == 0, "keep_grads_named");
    const char *bad = "no.such.weight";
    CHECK(sp_exec_keep_grads(part, &bad, 1) < 0, "keep_grads_unknown_refused");
    loss_of(full, m, x, y);
    sp_exec_backward(full);
    loss_of(part, m, x, y);
    sp_exec_backward(part);
    int same = 1, others = 0;
    for (int i = 0; i < m->n; i++) {
        const float *gf = sp_exec_grad(full, m->t[i].name), *gp = sp_exec_grad(part, m->t[i].name);
        int kept = strcmp(m->t[i].name, keep[0]) == 0 || strcmp(m->t[i].name, keep[1]) == 0;
        if (!kept) {
            others += gp != NULL;
            continue;
        }
        size_t n = (size_t)sp_tensor_numel(&m->t[i]);
        float *a = sp_xmalloc(n * sizeof *a), *c = sp_xmalloc(n * sizeof *c);
        b->download(b, a, gf, n * sizeof *a);
        b->download(b, c, gp, n * sizeof *c);
        same &= memcmp(a, c, n * sizeof *a) == 0;
        free(a);
        free(c);
    }
    CHECKF(same && others == 0, "keep_grads_same_as_full", "%s, %d other gradients kept",
           same ? "same" : "different", others);
    sp_exec_free(full);
    sp_exec_free(part);
}

/* Three SGD steps; the parameters after them in host memory. */
static sp_model *trained(sp_backend *b, const sp_model *m, unsigned flags, const float *x,
                         const int32_t *y, int batch, char *describe, size_t len)
{
    sp_model *out = sp_model_clone(m);
    sp_exec *e = sp_exec_new_flags(b, m, batch, 1, 1, flags);
    sp_sgd_opts o = {0.05f, 0.9f, 5e-4f, 0};
    for (int step = 0; step < 3; step++) {
        sp_exec_set_input(e, x, y, batch);
        sp_exec_set_dropout(e, 7, (uint64_t)step);
        sp_exec_forward(e, 1);
        sp_exec_loss(e);
        sp_exec_backward(e);
        sp_exec_sgd(e, &o);
    }
    snprintf(describe, len, "%s", sp_exec_describe(e));
    sp_exec_download(e, out);
    sp_exec_free(e);
    return out;
}

/* Recomputing batch norm outputs in the backward pass changes nothing:
 * the parameters after three steps equal, bit for bit, those of an
 * executor that keeps every activation; and it does recompute. */
static void check_recompute(sp_backend *b, const char *what, const sp_model *m, const float *x,
                     const int32_t *y, int batch, const char *expect)
{
    char said[2][160];
    sp_model *a = trained(b, m, 0, x, y, batch, said[0], sizeof said[0]);
    sp_model *k = trained(b, m, SP_EXEC_STORE_ALL, x, y, batch, said[1], sizeof said[1]);
    int differ = 0;
    for (int i = 0; i < a->n; i++)
        differ += memcmp(a->t[i].data, k->t[i].data, sp_tensor_bytes(&a->t[i])) != 0;
    CHECKF(differ == 0, "exec_recompute_same_steps", "%s: %d tensors differ", what, differ);
    CHECKF(strstr(said[0], expect) && strstr(said[1], "every activation kept"),
           "exec_recompute_described", "%s: '%s' and '%s'", what, said[0], said[1]);
    sp_model_free(a);
    sp_model_free(k);
}

/* The same on the CPU backend for built-in networks: a ResNet (whose
 * residual sums write over the last batch norm of each block, which is
 * then kept), VGG and MobileNetV2 (batch norms without a ReLU). */
static void check_recompute_nets(sp_rng *r)
{
    static const struct { const char *arch, *expect; int batch; } nets[] = {
        {"resnet20", "10 of 19 batch norm outputs recomputed", 4},
        {"vgg16-cifar", "13 of 13 batch norm outputs recomputed", 4},
        {"mobilenetv2", "42 of 52 batch norm outputs recomputed", 2},
    };
    sp_backend *b = sp_backend_create("cpu");
    if (!b) {
        printf("not ok exec_cpu_backend - %s\n", sp_error());
        return;
    }
    for (size_t k = 0; k < SP_COUNT(nets); k++) {
        sp_graph *g = sp_arch_build(nets[k].arch, NULL);
        sp_model *m = sp_model_new(g);
        sp_arch_init_weights(m, 3);
        const sp_node *in = &g->node[0];
        size_t nx = (size_t)nets[k].batch * in->c * in->h * in->w;
        float *x = sp_xmalloc(nx * sizeof *x);
        int32_t y[4];
        sp_rng_fill_uniform(r, x, (int64_t)nx, -1.0f, 1.0f);
        for (int i = 0; i < nets[k].batch; i++)
            y[i] = (int32_t)sp_rng_below(r, (uint64_t)g->classes);
        check_recompute(b, nets[k].arch, m, x, y, nets[k].batch, nets[k].expect);
        free(x);
        sp_model_free(m);
    }
    sp_backend_destroy(b);
}

static void check_inference(sp_backend *b, sp_model *m, const float *x)
{
    sp_exec *tr = sp_exec_new(b, m, BATCH, 1, 0);
    sp_exec *in = sp_exec_new_flags(b, m, BATCH, 0, 0, SP_EXEC_UNFUSED);
    sp_exec *fu = sp_exec_new(b, m, BATCH, 0, 0);
    float a[BATCH * CLASSES], c[BATCH * CLASSES];
    sp_exec_set_input(tr, x, NULL, BATCH);
    sp_exec_forward(tr, 0);
    sp_exec_logits(tr, a);
    /* twice, so that the pool has to hand buffers round */
    for (int k = 0; k < 2; k++) {
        sp_exec_set_input(in, x, NULL, BATCH);
        sp_exec_forward(in, 0);
    }
    sp_exec_logits(in, c);
    CHECKF(t_rel_err(c, a, SP_COUNT(a)) == 0, "exec_inference_pool_same_logits",
           "relative difference %.3g", t_rel_err(c, a, SP_COUNT(a)));
    CHECK(sp_exec_forward(in, 1) < 0, "exec_inference_refuses_training");
    for (int k = 0; k < 2; k++) {
        sp_exec_set_input(fu, x, NULL, BATCH);
        sp_exec_forward(fu, 0);
    }
    sp_exec_logits(fu, c);
    CHECKF(t_rel_err(c, a, SP_COUNT(a)) < 1e-5, "exec_inference_fused_logits",
           "relative difference %.3g", t_rel_err(c, a, SP_COUNT(a)));
    sp_exec_free(fu);
    sp_exec_free(tr);
    sp_exec_free(in);
}

static void check_sgd(sp_backend *b, sp_model *m, const float *x, const int32_t *y)
{
    const sp_sgd_opts o = {0.05f, 0.9f, 1e-3f, 0};
    sp_exec *e = sp_exec_new(b, m, BATCH, 1, 0);
    loss_of(e, m, x, y);
    sp_exec_backward(e);
    const char *name = "c2.weight";
    sp_tensor *t = sp_model_tensor(m, name);
    size_t n = (size_t)sp_tensor_numel(t);
    float *g = sp_xmalloc(n * sizeof *g), *want = sp_xmalloc(n * sizeof *want);
    b->download(b, g, sp_exec_grad(e, name), n * sizeof *g);
    for (size_t k = 0; k < n; k++) {
        float w = ((float *)t->data)[k];
        want[k] = w - o.lr * (g[k] + o.weight_decay * w);
    }
    sp_exec_sgd(e, &o);
    sp_model *after = sp_model_clone(m);
    sp_exec_download(e, after);
    float *got = sp_model_tensor(after, name)->data;
    CHECKF(t_rel_err(got, want, n) < 1e-6, "exec_sgd_first_step", "relative error %.3g",
           t_rel_err(got, want, n));
    int64_t tracked = *(int64_t *)sp_model_tensor(after, "b1.num_batches_tracked")->data;
    CHECKF(tracked == *(int64_t *)sp_model_tensor(m, "b1.num_batches_tracked")->data + 1,
           "exec_num_batches_tracked", "%lld", (long long)tracked);
    float *mom = sp_xmalloc(n * sizeof *mom);
    int found = 0;
    for (int i = 0; i < sp_exec_nlearnable(e); i++)
        if (strcmp(sp_exec_learnable_name(e, i), name) == 0) {
            sp_exec_get_momentum(e, i, mom);
            found = 1;
        }
    for (size_t k = 0; found && k < n; k++)
        want[k] = g[k] + o.weight_decay * ((float *)t->data)[k];
    CHECK(found && t_rel_err(mom, want, n) < 1e-6, "exec_momentum_buffer");
    free(mom);
    free(g);
    free(want);
    sp_model_free(after);
    sp_exec_free(e);
}

/* Step decay at floor(E/3)-epoch multiples and per-step cosine, against
 * the closed forms; top-k with ties counted against the true class. */
static void check_schedule_metrics(void)
{
    const int64_t spe = 10;
    double worst = 0;
    for (int64_t s = 0; s < 9 * spe; s++) {
        double want = 0.1 * pow(0.1, (double)(s / spe / 3));
        worst = fmax(worst, fabs(sp_schedule_lr(SP_SCHED_STEP, 0.1, s, spe, 9, 0) - want) / want);
    }
    worst = fmax(worst, fabs(sp_schedule_lr(SP_SCHED_STEP, 0.1, 25, spe, 9, 2) - 1e-2) / 1e-2);
    worst = fmax(worst, fabs(sp_schedule_lr(SP_SCHED_STEP, 0.1, 25, spe, 2, 0) - 0.1) / 0.1);
    worst = fmax(worst, fabs(sp_schedule_lr(SP_SCHED_COSINE, 0.1, 0, spe, 4, 0) - 0.1) / 0.1);
    worst = fmax(worst, fabs(sp_schedule_lr(SP_SCHED_COSINE, 0.1, 20, spe, 4, 0) - 0.05) / 0.05);
    worst = fmax(worst, fabs(sp_schedule_lr(SP_SCHED_COSINE, 0.1, 10, spe, 4, 0) -
                             0.05 * (1 + cos(M_PI / 4))) / 0.1);
    CHECKF(worst < 1e-12, "schedule_step_and_cosine", "relative error %.3g", worst);

    const float z[3 * 6] = {0, 1, 2, 3, 4, 5,     /* label 5: top-1 */
                            5, 4, 3, 2, 1, 0,     /* label 5: rank 6, not top-5 */
                            1, 1, 1, 1, 1, 1};    /* label 2: tie, rank 3 */
    const int32_t y[3] = {5, 5, 2};
    sp_metrics m;
    memset(&m, 0, sizeof m);
    sp_metrics_add(&m, z, y, 3, 6, 0.5);
    CHECKF(m.top1 == 1 && m.top5 == 2 && m.n == 3 && fabs(sp_metrics_loss(&m) - 0.5) < 1e-12,
           "metrics_top1_top5_ties", "top1 %lld top5 %lld", (long long)m.top1, (long long)m.top5);
}

int main(void)
{
    check_schedule_metrics();
    sp_backend *b = sp_backend_create("ref");
    if (!b) {
        printf("not ok exec_ref_backend - %s\n", sp_error());
        return 1;
    }
    sp_model *m = sp_model_new(every_node_graph());
    sp_rng r;
    sp_rng_init(&r, 11, 0);
    randomise(m, &r);
    float x[BATCH * 3 * 8 * 8];
    int32_t y[BATCH];
    sp_rng_fill_uniform(&r, x, (int64_t)SP_COUNT(x), -1.0f, 1.0f);
    for (int i = 0; i < BATCH; i++)
        y[i] = (int32_t)sp_rng_below(&r, CLASSES);
    check_grads(b, m, x, y);
    check_keep_grads(b, m, x, y);
    check_inference(b, m, x);
    check_sgd(b, m, x, y);
    check_recompute(b, "every-node graph", m, x, y, BATCH,
                    "2 of 2 batch norm outputs recomputed");
    sp_model_free(m);
    sp_backend_destroy(b);
    check_recompute_nets(&r);
    return t_done();
}
