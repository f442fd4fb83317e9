/* test_arch.c: the built-in networks and their initial weights.
 *
 * Oracles: the FLOPs and parameter baselines of sp-method(7), COUNTING
 * (the published figures), the parameter counts of the published CIFAR
 * ResNets (and a closed formula for them), their state_dict names and
 * shapes (tests/fixtures/arch/resnetN-keys.txt, written from the real
 * checkpoints by gen_keys.py), the block layouts and hidden widths the
 * method lists, and the initialisation formulas of torch.nn.init. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sp/arch.h"
#include "sp/base.h"
#include "sp/graph.h"
#include "sp/model.h"
#include "testlib.h"

static sp_graph *build(const char *name, int classes, int c, int h, int w)
{
    sp_arch_opts o = {classes, c, h, w};
    return sp_arch_build(name, &o);
}

static void test_every_network(void)
{
    for (const sp_arch_info *a = sp_arch_list(); a->name; a++) {
        sp_graph *g = sp_arch_build(a->name, NULL);
        char name[96];
        snprintf(name, sizeof name, "build %s", a->name);
        if (!g) {
                CHECKF(0, name, "%s", sp_error());
                continue;
            }
        const sp_node *last = &g->node[g->n - 1];
        snprintf(name, sizeof name, "%s infers to %d logits", a->name, a->classes);
        CHECKF(sp_graph_infer(g) == 0 && last->c == a->classes && last->h == 1 && last->w == 1,
               name, "%s; last node %s is %dx%dx%d", sp_error(), last->name, last->c, last->h,
               last->w);
        snprintf(name, sizeof name, "%s survives its JSON form", a->name);
        char *j1 = sp_graph_to_json(g);
        sp_graph *back = j1 ? sp_graph_from_json(j1) : NULL;
        char *j2 = back ? sp_graph_to_json(back) : NULL;
        CHECKF(j1 && j2 && strcmp(j1, j2) == 0 && back->nblock == g->nblock, name, "%s",
               sp_error());
        free(j1);
        free(j2);
        sp_graph_free(back);
        snprintf(name, sizeof name, "%s lookup and defaults", a->name);
        CHECK(sp_arch_lookup(a->name) == a && g->classes == a->classes &&
              g->node[0].c == a->in_c && g->node[0].h == a->in_h && strcmp(g->arch, a->name) == 0,
              name);
        sp_graph_free(g);
    }
    CHECK(sp_arch_lookup("resnet57") == NULL && sp_arch_build("resnet57", NULL) == NULL &&
          strstr(sp_error(), "resnet57") != NULL, "unknown network is refused");
}

/* sp-method(7), COUNTING. */
static void test_published_figures(void)
{
    static const struct { const char *arch; int classes; int64_t flops, params; } fig[] = {
        {"vgg16-cifar", 10, 314031104, 14728266},
        {"vgg16-cifar-fc", 100, 333309952, 34015396},
        {"vgg16", 1000, 15510906880LL, 138365992},
        {"resnet50-cifar", 10, 1304696832, 23520842},
        {"resnet50-cifar", 100, 1304881152, 23705252},
        {"resnet50", 1000, 4111414272LL, 25557032},
        {"mobilenetv2", 1000, 314194496, 3504872},
    };
    for (size_t i = 0; i < SP_COUNT(fig); i++) {
        sp_graph *g = build(fig[i].arch, fig[i].classes, 0, 0, 0);
        char name[96];
        snprintf(name, sizeof name, "%s %d classes: FLOPs and parameters", fig[i].arch,
                 fig[i].classes);
        if (!g) {
                CHECKF(0, name, "%s", sp_error());
                continue;
            }
        sp_count c;
        sp_graph_count(g, &c, NULL);
        CHECKF(c.flops_thop == fig[i].flops && c.params == fig[i].params, name,
               "got %lld / %lld, expected %lld / %lld", (long long)c.flops_thop,
               (long long)c.params, (long long)fig[i].flops, (long long)fig[i].params);
        sp_graph_free(g);
    }
}

/* Closed form of the CIFAR ResNet's learnable parameters. */
static int64_t cifar_resnet_params(int depth, int classes)
{
    int n = (depth - 2) / 6, in = 16;
    int64_t p = 16 * 3 * 9 + 2 * 16;
    for (int w = 16; w <= 64; w *= 2) {
        for (int i = 0; i < n; i++) {
            p += (int64_t)in * w * 9 + 2 * w + (int64_t)w * w * 9 + 2 * w;
            in = w;
        }
    }
    return p + 64 * classes + classes;
}

/* Names and shapes against the published checkpoints (which predate
 * num_batches_tracked). */
static void test_cifar_resnet_names(int depth, int64_t published)
{
    char name[96], path[128];
    sp_graph *g = build(depth == 20 ? "resnet20" : "resnet56", 0, 0, 0, 0);
    snprintf(name, sizeof name, "resnet%d has %lld parameters", depth, (long long)published);
    if (!g) {
        CHECKF(0, name, "%s", sp_error());
        return;
    }
    sp_count c;
    sp_graph_count(g, &c, NULL);
    CHECKF(c.params == published && c.params == cifar_resnet_params(depth, 10), name,
           "got %lld, formula %lld", (long long)c.params,
           (long long)cifar_resnet_params(depth, 10));

    snprintf(path, sizeof path, "tests/fixtures/arch/resnet%d-keys.txt", depth);
    snprintf(name, sizeof name, "resnet%d tensor names and shapes match the checkpoint", depth);
    FILE *f = fopen(path, "r");
    if (!f) {
        CHECKF(0, name, "cannot open %s", path);
        sp_graph_free(g);
        return;
    }
    sp_param_info *p;
    int np = sp_graph_params(g, &p), k = 0, bad = 0;
    char key[128], shape[64], want[64];
    while (!bad && fscanf(f, "%127s %63s", key, shape) == 2) {
        while (k < np && p[k].kind == SP_P_NUM_BATCHES)
            k++;
        if (k == np) {
            bad = 1;
            break;
        }
        sp_shape_str(want, sizeof want, p[k].ndim, p[k].shape);
        if (strcmp(p[k].name, key) != 0 || strcmp(want, shape) != 0)
            bad = 1;
        else
            k++;
    }
    while (k < np && p[k].kind == SP_P_NUM_BATCHES)
        k++;
    CHECKF(!bad && k == np, name, "at sp tensor %d (%s) vs '%s %s'", k,
           k < np ? p[k].name : "end", key, shape);
    fclose(f);
    free(p);
    sp_graph_free(g);
}

/* Every block's anchors have the channel counts the method lists. */
static void check_blocks(const char *arch, int nblock, int first_id, const int *widths,
                         const int *per_block)
{
    char name[96];
    snprintf(name, sizeof name, "%s blocks and anchor widths", arch);
    sp_graph *g = sp_arch_build(arch, NULL);
    if (!g) {
            CHECKF(0, name, "%s", sp_error());
            return;
        }
    int ok = g->nblock == nblock, k = 0;
    for (int b = 0; ok && b < nblock; b++) {
        const sp_block *blk = sp_graph_block(g, first_id + b);
        if (!blk || blk->n != per_block[b]) {
            ok = 0;
            break;
        }
        for (int i = 0; i < blk->n; i++) {
            const sp_node *a = &g->node[blk->anchor[i]];
            if (a->c != widths[k++] || (a->op != SP_OP_RELU && a->op != SP_OP_RELU6 &&
                                        a->op != SP_OP_DROPOUT))
                ok = 0;
        }
    }
    CHECKF(ok, name, "%d blocks, anchor %d differs", g->nblock, k - 1);
    sp_graph_free(g);
}

static void test_blocks(void)
{
    static const int vgg[] = {64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512,
                              4096, 4096};
    static const int ones[15] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    check_blocks("vgg16-cifar", 13, 0, vgg, ones);
    check_blocks("vgg16-cifar-fc", 15, 0, vgg, ones);
    check_blocks("vgg16", 15, 0, vgg, ones);

    int r56[27], nine[3] = {9, 9, 9};
    for (int i = 0; i < 27; i++)
        r56[i] = 16 << (i / 9);
    check_blocks("resnet56", 3, 0, r56, nine);

    int r50[32], k = 0, per50[4] = {6, 8, 12, 6};
    static const int nb[4] = {3, 4, 6, 3};
    for (int gi = 0; gi < 4; gi++)
        for (int i = 0; i < 2 * nb[gi]; i++)
            r50[k++] = 64 << gi;
    check_blocks("resnet50", 4, 0, r50, per50);
    check_blocks("resnet50-cifar", 4, 0, r50, per50);

    static const int mb[] = {96, 144, 144, 192, 192, 192, 384, 384, 384, 384, 576, 576,
                             576, 960, 960, 960, 1280};
    static const int permb[] = {2, 3, 4, 3, 3, 1, 1};
    check_blocks("mobilenetv2", 7, 1, mb, permb);
}

static const sp_param_info *find_param(const sp_param_info *p, int np, const char *name)
{
    for (int i = 0; i < np; i++)
        if (strcmp(p[i].name, name) == 0)
            return &p[i];
    return NULL;
}

/* A few torchvision state_dict names and shapes. */
static void test_torchvision_names(void)
{
    static const struct { const char *arch, *tensor, *shape; } want[] = {
        {"vgg16", "features.40.weight", "512x512x3x3"},
        {"vgg16", "features.41.running_var", "512"},
        {"vgg16", "classifier.0.weight", "4096x25088"},
        {"vgg16", "classifier.6.bias", "1000"},
        {"vgg16-cifar", "classifier.0.weight", "10x512"},
        {"resnet50", "layer1.0.downsample.0.weight", "256x64x1x1"},
        {"resnet50", "layer4.2.bn3.num_batches_tracked", "scalar"},
        {"resnet50", "layer3.0.conv2.weight", "256x256x3x3"},
        {"resnet50", "fc.weight", "1000x2048"},
        {"resnet50-cifar", "conv1.weight", "64x3x3x3"},
        {"mobilenetv2", "features.0.0.weight", "32x3x3x3"},
        {"mobilenetv2", "features.1.conv.0.0.weight", "32x1x3x3"},
        {"mobilenetv2", "features.1.conv.1.weight", "16x32x1x1"},
        {"mobilenetv2", "features.1.conv.2.running_mean", "16"},
        {"mobilenetv2", "features.2.conv.1.0.weight", "96x1x3x3"},
        {"mobilenetv2", "features.17.conv.3.weight", "320"},
        {"mobilenetv2", "features.18.1.bias", "1280"},
        {"mobilenetv2", "classifier.1.weight", "1000x1280"},
    };
    for (size_t i = 0; i < SP_COUNT(want); i++) {
        sp_graph *g = sp_arch_build(want[i].arch, NULL);
        char name[128], got[64] = "absent";
        snprintf(name, sizeof name, "%s has %s [%s]", want[i].arch, want[i].tensor,
                 want[i].shape);
        if (!g) {
                CHECKF(0, name, "%s", sp_error());
                continue;
            }
        sp_param_info *p;
        int np = sp_graph_params(g, &p);
        const sp_param_info *q = find_param(p, np, want[i].tensor);
        if (q)
            sp_shape_str(got, sizeof got, q->ndim, q->shape);
        CHECKF(q && strcmp(got, want[i].shape) == 0, name, "got [%s]", got);
        free(p);
        sp_graph_free(g);
    }
}

static void test_input_sizes(void)
{
    sp_graph *g = build("resnet20", 10, 1, 28, 28);
    CHECKF(g && g->node[1].cin == 1 && g->node[g->n - 1].c == 10, "resnet20 on 1x28x28",
           "%s", g ? "wrong shapes" : sp_error());
    sp_graph_free(g);
    g = build("vgg16-cifar", 0, 1, 8, 8);
    CHECKF(!g && strstr(sp_error(), "features.33") && strstr(sp_error(), "1x8x8"),
           "vgg16-cifar on 1x8x8 names the first empty layer", "%s", sp_error());
    sp_graph_free(g);
    g = build("vgg16-cifar", 0, 3, 64, 64);
    CHECKF(!g && strstr(sp_error(), "classifier.0"), "vgg16-cifar on 64x64 does not fit",
           "%s", sp_error());
    sp_graph_free(g);
    g = build("vgg16", 10, 3, 64, 64);
    CHECKF(g && sp_graph_find(g, "avgpool") >= 0 && g->node[sp_graph_find(g, "avgpool")].h == 7,
           "vgg16 on 64x64 keeps its 7x7 adaptive pool", "%s", g ? "no pool" : sp_error());
    sp_graph_free(g);
    g = build("resnet50-cifar", 0, 3, 16, 16);
    CHECKF(!g && strstr(sp_error(), "avgpool"), "resnet50-cifar on 16x16: the 4x4 pool fails",
           "%s", sp_error());
    sp_graph_free(g);
    g = build("mobilenetv2", 5, 3, 96, 128);
    CHECKF(g && g->node[g->n - 1].c == 5, "mobilenetv2 on 96x128", "%s", sp_error());
    sp_graph_free(g);
}

static void stats(const sp_tensor *t, double *mean, double *sd, double *absmax)
{
    const float *d = t->data;
    int64_t n = sp_tensor_numel(t);
    double s = 0, ss = 0, m = 0;
    for (int64_t i = 0; i < n; i++) {
        s += d[i];
        ss += (double)d[i] * d[i];
        if (fabs(d[i]) > m)
            m = fabs(d[i]);
    }
    *mean = s / n;
    *sd = sqrt(ss / n - *mean * *mean);
    *absmax = m;
}

/* The statistics of a tensor of m; 0, after failing check name, when m has
 * no such tensor. */
static int tensor_stats(const sp_model *m, const char *tensor, const char *name, double *mean,
                        double *sd, double *absmax)
{
    const sp_tensor *t = sp_model_tensor(m, tensor);
    if (!t) {
        CHECKF(0, name, "absent");
        return 0;
    }
    stats(t, mean, sd, absmax);
    return 1;
}

/* Normal(0, want): std within tol (relative), mean near 0. */
static void check_normal(const sp_model *m, const char *tensor, double want, double tol)
{
    char name[128];
    snprintf(name, sizeof name, "%s: %s ~ N(0, %.4g^2)", m->graph->arch, tensor, want);
    double mean, sd, mx;
    if (!tensor_stats(m, tensor, name, &mean, &sd, &mx))
        return;
    CHECKF(fabs(sd / want - 1) < tol && fabs(mean) < 0.05 * want, name,
           "std %.5g mean %.3g", sd, mean);
}

/* Uniform(-b, b): inside the bounds, std b/sqrt(3) within tol. */
static void check_uniform(const sp_model *m, const char *tensor, double b, double tol)
{
    char name[128];
    snprintf(name, sizeof name, "%s: %s ~ U(-%.4g, %.4g)", m->graph->arch, tensor, b, b);
    double mean, sd, mx;
    if (!tensor_stats(m, tensor, name, &mean, &sd, &mx))
        return;
    CHECKF(mx <= b && fabs(sd / (b / sqrt(3)) - 1) < tol, name, "std %.5g max %.5g", sd, mx);
}

static void check_const(const sp_model *m, const char *tensor, double v)
{
    char name[128];
    snprintf(name, sizeof name, "%s: %s is all %g", m->graph->arch, tensor, v);
    const sp_tensor *t = sp_model_tensor(m, tensor);
    int ok = t != NULL;
    for (int64_t i = 0; ok && i < sp_tensor_numel(t); i++)
        ok = t->dtype == SP_I64 ? ((int64_t *)t->data)[i] == (int64_t)v
                                : ((float *)t->data)[i] == (float)v;
    CHECK(ok, name);
}

static sp_model *fresh(const char *arch, uint64_t seed)
{
    sp_graph *g = sp_arch_build(arch, NULL);
    if (!g)
        return NULL;
    sp_model *m = sp_model_new(g);
    sp_arch_init_weights(m, seed);
    return m;
}

static void test_init(void)
{
    sp_model *m = fresh("vgg16-cifar", 1);
    /* features.7 is 128x64x3x3: fan_out 1152, fan_in 576 tell the modes apart. */
    check_normal(m, "features.7.weight", sqrt(2.0 / (128 * 9)), 0.02);
    check_const(m, "features.7.bias", 0);
    check_normal(m, "classifier.0.weight", 0.01, 0.04);
    check_const(m, "classifier.0.bias", 0);
    check_const(m, "features.8.weight", 1);
    check_const(m, "features.8.bias", 0);
    check_const(m, "features.8.running_mean", 0);
    check_const(m, "features.8.running_var", 1);
    check_const(m, "features.8.num_batches_tracked", 0);
    sp_model_free(m);

    m = fresh("resnet56", 1);
    /* layer3.0.conv1 is 64x32x3x3: fan_in 288. */
    check_normal(m, "layer3.0.conv1.weight", sqrt(2.0 / 288), 0.03);
    check_uniform(m, "linear.bias", 1 / 8.0, 0.8);
    check_const(m, "layer3.0.bn1.weight", 1);
    sp_model_free(m);

    m = fresh("resnet50", 1);
    /* layer4.0.conv1 is 512x1024x1x1: fan_out 512. */
    check_normal(m, "layer4.0.conv1.weight", sqrt(2.0 / 512), 0.01);
    check_uniform(m, "fc.weight", 1 / sqrt(2048.0), 0.01);
    check_uniform(m, "fc.bias", 1 / sqrt(2048.0), 0.1);
    check_const(m, "layer4.0.downsample.1.running_var", 1);
    sp_model_free(m);

    m = fresh("mobilenetv2", 1);
    /* features.18.0 is 1280x320x1x1: fan_out 1280; depthwise fan_out = 960*9. */
    check_normal(m, "features.18.0.weight", sqrt(2.0 / 1280), 0.01);
    check_normal(m, "features.17.conv.1.0.weight", sqrt(2.0 / (960 * 9)), 0.03);
    check_normal(m, "classifier.1.weight", 0.01, 0.01);
    check_const(m, "classifier.1.bias", 0);
    sp_model_free(m);
}

static void test_seed(void)
{
    sp_model *a = fresh("resnet20", 7), *b = fresh("resnet20", 7), *c = fresh("resnet20", 8);
    if (!a || !b || !c) {
        CHECKF(0, "seeded models build", "%s", sp_error());
        return;
    }
    int same = a->n == b->n, differ = 0;
    for (int i = 0; same && i < a->n; i++)
        same = memcmp(a->t[i].data, b->t[i].data, sp_tensor_bytes(&a->t[i])) == 0;
    for (int i = 0; i < a->n && i < c->n; i++)
        differ |= memcmp(a->t[i].data, c->t[i].data, sp_tensor_bytes(&a->t[i])) != 0;
    CHECK(same, "same seed gives identical weights");
    CHECK(differ, "another seed gives other weights");
    sp_model_free(a);
    sp_model_free(b);
    sp_model_free(c);
}

int main(void)
{
    test_every_network();
    test_published_figures();
    test_cifar_resnet_names(20, 269722);
    test_cifar_resnet_names(56, 853018);
    test_blocks();
    test_torchvision_names();
    test_input_sizes();
    test_init();
    test_seed();
    return t_done();
}
