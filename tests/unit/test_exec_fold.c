/* test_exec_fold.c: the inference executor's folding of batch norms into
 * convolutions and its fused activations, on the "ref" and "cpu" backends.
 *
 * The oracle is the same backend's unfused inference executor
 * (SP_EXEC_UNFUSED), which runs every node as the graph says.  Batch-norm
 * statistics and affine parameters are randomised first, since the
 * networks' initial values (mean 0, variance 1, gamma 1, beta 0) would
 * make the fold almost the identity.  Checked per backend and network:
 *   - folded and unfolded logits agree within a normalised 1e-5;
 *   - after new statistics are uploaded into the same folded executor,
 *     the fold is recomputed (logits agree with a fresh unfused one);
 *   - sp_exec_download returns the model's own tensors, not folded ones;
 *   - on "cpu", with the activations kept channels-last (SP_EXEC_NHWC,
 *     residual sums inside the convolutions) and kept NCHW (SP_EXEC_NCHW),
 *     the logits agree with the unfused ones too: on the networks and on
 *     a graph whose nodes make the executor convert between the orders (a
 *     batch norm that cannot fold, an add of the two orders, a pooling on
 *     NCHW feeding a convolution, a flatten of a channels-last tensor, a
 *     mask, a residual sum whose ReLU runs in the convolution). */
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

#define TOL 1e-5

static int is_bn_tensor(const sp_model *m, const sp_tensor *t)
{
    const sp_graph *g = m->graph;
    for (int i = 0; i < g->n; i++) {
        size_t len = strlen(g->node[i].name);
        if (g->node[i].op == SP_OP_BN && !strncmp(t->name, g->node[i].name, len) &&
            t->name[len] == '.')
            return 1;
    }
    return 0;
}

static void randomise_bn(sp_model *m, sp_rng *r)
{
    for (int i = 0; i < m->n; i++) {
        sp_tensor *t = &m->t[i];
        if (t->dtype != SP_F32 || !is_bn_tensor(m, t))
            continue;
        int64_t n = sp_tensor_numel(t);
        if (strstr(t->name, ".running_var"))
            sp_rng_fill_uniform(r, t->data, n, 0.5f, 2.0f);
        else if (strstr(t->name, ".weight"))
            sp_rng_fill_uniform(r, t->data, n, 0.5f, 1.5f);
        else
            sp_rng_fill_uniform(r, t->data, n, -0.3f, 0.3f);
    }
}

static void logits(sp_backend *b, const sp_model *m, unsigned flags, const float *x, int n,
                   float *z)
{
    sp_exec *e = sp_exec_new_flags(b, m, n, 0, 0, flags);
    sp_exec_set_input(e, x, NULL, n);
    sp_exec_forward(e, 0);
    sp_exec_logits(e, z);
    sp_exec_free(e);
}

static int same_tensors(const sp_model *a, const sp_model *b)
{
    for (int i = 0; i < a->n; i++) {
        const sp_tensor *t = &a->t[i], *u = sp_model_tensor(b, t->name);
        if (!u || memcmp(t->data, u->data, (size_t)sp_tensor_numel(t) * sp_dtype_size(t->dtype)))
            return 0;
    }
    return 1;
}

/* A graph of the cases channels-last inference converts for; its name
 * is "orders". */
static sp_graph *orders_graph(void)
{
    sp_graph *g = sp_graph_new("", 3, 8, 8);
    g->classes = 10;
    int x = t_conv(g, "c1", 0, 3, 8, 3, 1, 1, 1, 1);
    x = t_chan(g, SP_OP_BN, "b1", x, 8);
    int block_in = t_add(g, SP_OP_RELU, "r1", x, -1);
    x = t_conv(g, "c2", block_in, 8, 8, 3, 1, 1, 1, 0);
    x = t_chan(g, SP_OP_BN, "b2", x, 8);
    x = t_add(g, SP_OP_RELU, "r2", x, -1);
    x = t_chan(g, SP_OP_MASK, "m2", x, 8);
    x = t_conv(g, "c3", x, 8, 8, 3, 1, 1, 1, 0);
    x = t_chan(g, SP_OP_BN, "b3", x, 8);
    x = t_add(g, SP_OP_ADD, "sum1", x, block_in);
    x = t_add(g, SP_OP_RELU, "r3", x, -1);
    int two = t_conv(g, "c4", x, 8, 8, 3, 1, 1, 1, 1);   /* read twice: its BN stays */
    x = t_chan(g, SP_OP_BN, "b4", two, 8);
    x = t_add(g, SP_OP_ADD, "sum2", x, two);
    x = t_add(g, SP_OP_MAXPOOL, "mp", x, -1);
    g->node[x].kh = g->node[x].kw = g->node[x].sh = g->node[x].sw = 2;
    x = t_conv(g, "c5", x, 8, 6, 1, 1, 0, 1, 1);
    x = t_add(g, SP_OP_AVGPOOL, "ap", x, -1);
    g->node[x].kh = g->node[x].kw = 3;
    g->node[x].sh = g->node[x].sw = g->node[x].ph = g->node[x].pw = 1;
    x = t_add(g, SP_OP_FLATTEN, "flat", x, -1);
    t_linear(g, "fc", x, 96, 10, 1);
    if (sp_graph_infer(g) < 0) {
        sp_graph_free(g);
        return NULL;
    }
    return g;
}

static void randomise_masks(sp_model *m, sp_rng *r)
{
    for (int i = 0; i < m->n; i++)
        if (strstr(m->t[i].name, ".mask"))
            sp_rng_fill_uniform(r, m->t[i].data, sp_tensor_numel(&m->t[i]), 0.0f, 1.0f);
}

/* The logits with the activations in each order against the unfused ones
 * in want. */
static void check_orders(sp_backend *b, const sp_model *m, const char *arch, const float *x,
                         int n, const float *want, float *got)
{
    static const unsigned flags[2] = {SP_EXEC_NHWC, SP_EXEC_NCHW};
    static const char *names[2] = {"nhwc", "nchw"};
    for (int k = 0; k < 2; k++) {
        char name[128];
        logits(b, m, flags[k], x, n, got);
        double e = t_rel_err(got, want, (size_t)n * 10);
        snprintf(name, sizeof name, "exec_fold_logits_%s_%s_%s", arch, b->name, names[k]);
        printf("# %s: normalised error %.3g\n", name, e);
        CHECKF(e < TOL, name, "normalised error %.3g", e);
    }
}

static void check_arch(sp_backend *b, const char *arch, int size, int n)
{
    sp_arch_opts ao = {10, 3, size, size};
    sp_graph *g = strcmp(arch, "orders") ? sp_arch_build(arch, &ao) : orders_graph();
    if (!CHECKF(g != NULL, "exec_fold_build", "cannot build %s: %s", arch, sp_error()))
        return;
    sp_model *m = sp_model_new(g);
    sp_arch_init_weights(m, 3);
    sp_rng r;
    sp_rng_init(&r, 11, 5);
    randomise_bn(m, &r);
    randomise_masks(m, &r);
    size_t per = (size_t)3 * size * size;
    float *x = sp_xmalloc((size_t)n * per * sizeof *x);
    sp_rng_fill_normal(&r, x, (int64_t)(n * per), 0.0f, 1.0f);
    float *want = sp_xmalloc((size_t)n * 10 * sizeof *want);
    float *got = sp_xmalloc((size_t)n * 10 * sizeof *got);
    char name[128];

    logits(b, m, SP_EXEC_UNFUSED, x, n, want);
    logits(b, m, 0, x, n, got);
    double e1 = t_rel_err(got, want, (size_t)n * 10);
    snprintf(name, sizeof name, "exec_fold_logits_%s_%s", arch, b->name);
    printf("# %s: normalised error %.3g\n", name, e1);
    CHECKF(e1 < TOL, name, "normalised error %.3g", e1);
    if (b->nhwc.conv_fwd)
        check_orders(b, m, arch, x, n, want, got);

    /* a folded executor re-folds on upload, and downloads the model as is */
    sp_exec *e = sp_exec_new(b, m, n, 0, 0);
    randomise_bn(m, &r);
    sp_exec_upload(e, m);
    sp_exec_set_input(e, x, NULL, n);
    sp_exec_forward(e, 0);
    sp_exec_logits(e, got);
    logits(b, m, SP_EXEC_UNFUSED, x, n, want);
    double e2 = t_rel_err(got, want, (size_t)n * 10);
    snprintf(name, sizeof name, "exec_fold_reupload_%s_%s", arch, b->name);
    CHECKF(e2 < TOL, name, "normalised error %.3g", e2);
    sp_model *back = sp_model_clone(m);
    randomise_bn(back, &r);
    sp_exec_download(e, back);
    snprintf(name, sizeof name, "exec_fold_download_%s_%s", arch, b->name);
    CHECK(same_tensors(m, back), name);
    sp_model_free(back);
    sp_exec_free(e);

    free(x);
    free(want);
    free(got);
    sp_model_free(m);
}

/* Arguments: the backends to check (default ref and cpu). */
int main(int argc, char **argv)
{
    const char *both[2] = {"ref", "cpu"};
    const char *const *names = argc > 1 ? (const char *const *)argv + 1 : both;
    int count = argc > 1 ? argc - 1 : 2;
    for (int k = 0; k < count; k++) {
        sp_backend *b = sp_backend_create(names[k]);
        if (!CHECKF(b != NULL, "exec_fold_backend", "cannot create %s: %s", names[k], sp_error()))
            continue;
        check_arch(b, "resnet20", 32, 2);
        check_arch(b, "vgg16-cifar", 32, 1);
        check_arch(b, "mobilenetv2", 32, 2);
        check_arch(b, "orders", 8, 3);
        sp_backend_destroy(b);
    }
    return t_done();
}
