/* test_compress.c: the stages that need no training (select.h).
 *
 * Compression is exact: on every built-in family, with random weights,
 * biases and batch-norm statistics and a random 0/1 channel index in the
 * masks of one block (at least one channel kept per layer, the tied
 * MobileNetV2 masks alike), the unfused logits of the masked network
 * equal those of the compressed one within a normalised 1e-5, and the
 * parameters drop by what the layer formulas written out here say.  The
 * two networks are compared with each other, not with the backend, so the
 * families run on the CPU backend (a wrong compression differs by about
 * 0.1, its rounding by at most 3e-6): the test took 59 s of CPU with the
 * reference backend, 29 with the CPU backend; the small network runs on
 * the reference.  The stage's bookkeeping (metadata, gen/ and soft/ dropped,
 * twin/ kept) and its refusals are checked on the way.
 *
 * The criteria of sp-select are checked against scores worked out by hand
 * on a 1x1 conv and a linear layer, and the stage it writes against the
 * contract (masks hold the hard index, stage.* keys), --widths-from
 * included. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sp/arch.h"
#include "sp/backend.h"
#include "sp/base.h"
#include "sp/exec.h"
#include "sp/graph.h"
#include "sp/model.h"
#include "sp/rng.h"
#include "sp/select.h"
#include "sp/surgery.h"
#include "graphs.h"
#include "testlib.h"

/* ------------------------------------------------------------------ */
/* Helpers                                                             */

/* Random biases and batch-norm statistics: no channel is silent. */
static void randomise(sp_model *m, uint64_t seed)
{
    sp_rng r;
    sp_rng_init(&r, seed, 99);
    sp_param_info *p;
    int np = sp_graph_params(m->graph, &p);
    for (int i = 0; i < np; i++) {
        sp_tensor *t = sp_model_tensor(m, p[i].name);
        int64_t n = sp_tensor_numel(t);
        int bn = m->graph->node[p[i].node].op == SP_OP_BN;
        if (p[i].dtype != SP_F32 || p[i].kind == SP_P_MASK)
            continue;
        if (p[i].kind == SP_P_BIAS)
            sp_rng_fill_normal(&r, t->data, n, 0.0f, bn ? 0.3f : 0.1f);
        else if (bn && p[i].kind == SP_P_WEIGHT)
            sp_rng_fill_uniform(&r, t->data, n, 0.5f, 1.5f);
        else if (p[i].kind == SP_P_RUNNING_MEAN)
            sp_rng_fill_normal(&r, t->data, n, 0.0f, 0.3f);
        else if (p[i].kind == SP_P_RUNNING_VAR)
            sp_rng_fill_uniform(&r, t->data, n, 0.5f, 2.0f);
    }
    free(p);
}

/* Running statistics that fit the activations: one training-mode pass
 * over x with every momentum at 1 takes the batch statistics, which are
 * then perturbed a little.  With the statistics drawn blindly, the public
 * initialisations (built for batch statistics) let the signal fade layer
 * by layer, and a wrong compression would hide below the tolerance. */
static int calibrate_bn(sp_backend *b, sp_model *m, const float *x, int n, uint64_t seed)
{
    sp_graph *g = m->graph;
    for (int i = 0; i < g->n; i++)
        if (g->node[i].op == SP_OP_BN)
            g->node[i].momentum = 1.0f;
    sp_exec *e = sp_exec_new(b, m, n, 1, 0);
    int rc = e && sp_exec_set_input(e, x, NULL, n) == 0 && sp_exec_forward(e, 1) == 0 &&
             sp_exec_download(e, m) == 0 ? 0 : -1;
    sp_exec_free(e);
    for (int i = 0; i < g->n; i++)
        if (g->node[i].op == SP_OP_BN)
            g->node[i].momentum = 0.1f;
    sp_rng r;
    sp_rng_init(&r, seed, 98);
    for (int i = 0; i < m->n && rc == 0; i++) {
        sp_tensor *t = &m->t[i];
        size_t len = strlen(t->name);
        int var = len > 12 && strcmp(t->name + len - 12, ".running_var") == 0;
        int mean = len > 13 && strcmp(t->name + len - 13, ".running_mean") == 0;
        if (!var && !mean)
            continue;
        float *v = t->data;
        for (int64_t k = 0; k < sp_tensor_numel(t); k++)
            v[k] = var ? v[k] * (float)(0.8 + 0.45 * sp_rng_uniform(&r))
                       : v[k] + 0.1f * (float)sp_rng_normal(&r);
    }
    return rc;
}

static int64_t params_of(const sp_graph *g)
{
    sp_count c;
    sp_graph_count(g, &c, NULL);
    return c.params;
}

static int meta_is(const sp_model *m, const char *key, const char *want)
{
    const char *v = sp_model_meta(m, key);
    if (!want)
        return v == NULL;
    return v && strcmp(v, want) == 0;
}

static float *mask_data(const sp_model *m, const char *node)
{
    char name[SP_NAME_MAX + 8];
    snprintf(name, sizeof name, "%s.mask", node);
    sp_tensor *t = sp_model_tensor(m, name);
    return t ? t->data : NULL;
}

static void add_extras(sp_model *m, const char *mask_node)
{
    int64_t three = 3;
    char name[SP_NAME_MAX + 16];
    const char *names[3] = {"twin/features.1.weight", "gen/%s.weight", "soft/%s"};
    for (int i = 0; i < 3; i++) {
        snprintf(name, sizeof name, names[i], mask_node);
        float *v = sp_model_add_tensor(m, name, SP_F32, 1, &three)->data;
        for (int k = 0; k < 3; k++)
            v[k] = (float)(i * 3 + k);
    }
}

/* ------------------------------------------------------------------ */
/* Compression of the built-in networks                                */

typedef enum shape {
    VGG_CONV,       /* conv cin -> C -> conv C -> next, 3x3, biases */
    VGG_TO_LINEAR,  /* the last conv, read by a linear over `spatial` columns per channel */
    VGG_FC6, VGG_FC7,
    RESNET_BASIC,   /* conv1 of every basic block of a stage */
    RESNET_BOTTLENECK,
    MBV2_HIDDEN,    /* the expanded channels of every inverted residual of a block */
    MBV2_LAST
} shape;

typedef struct ccase {
    const char *arch;
    sp_arch_opts opts;
    int batch, block;
    shape kind;
    const char *compressed_before;   /* stage.compressed before (NULL: none) */
} ccase;

static const ccase cases[] = {
    {"vgg16-cifar", {10, 0, 0, 0}, 2, 4, VGG_CONV, "0,1"},
    {"vgg16-cifar", {10, 0, 0, 0}, 2, 12, VGG_TO_LINEAR, NULL},
    {"vgg16", {10, 3, 32, 32}, 1, 12, VGG_TO_LINEAR, NULL},
    {"vgg16-cifar-fc", {100, 0, 0, 0}, 2, 13, VGG_FC6, NULL},
    {"vgg16-cifar-fc", {100, 0, 0, 0}, 2, 14, VGG_FC7, "13"},
    {"resnet20", {10, 0, 0, 0}, 2, 1, RESNET_BASIC, NULL},
    {"resnet50-cifar", {10, 0, 0, 0}, 1, 1, RESNET_BOTTLENECK, NULL},
    {"mobilenetv2", {10, 3, 64, 64}, 2, 1, MBV2_HIDDEN, NULL},
    {"mobilenetv2", {10, 3, 64, 64}, 2, 2, MBV2_HIDDEN, NULL},
    {"mobilenetv2", {10, 3, 64, 64}, 2, 3, MBV2_HIDDEN, NULL},
    {"mobilenetv2", {10, 3, 64, 64}, 2, 4, MBV2_HIDDEN, NULL},
    {"mobilenetv2", {10, 3, 64, 64}, 2, 5, MBV2_HIDDEN, NULL},
    {"mobilenetv2", {10, 3, 64, 64}, 2, 6, MBV2_HIDDEN, NULL},
    {"mobilenetv2", {10, 3, 64, 64}, 2, 7, MBV2_LAST, "1,2"},
};

static const int vgg_widths[13] = {64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512};
static const int mbv2_c[7] = {16, 24, 32, 64, 96, 160, 320}, mbv2_n[7] = {1, 2, 3, 4, 3, 3, 1};

/* The parameters the block's compression removes, from the layer
 * formulas: k[i] channels kept of c[i] at the i-th masked activation. */
static int64_t expected_drop(const ccase *t, int ns, const int *c, const int *k)
{
    int64_t d = 0, classes = t->opts.classes;
    for (int i = 0; i < ns; i++) {
        int64_t r = c[i] - k[i], L = t->block;
        switch (t->kind) {
        case VGG_CONV:
            d += r * ((L ? vgg_widths[L - 1] : 3) * 9 + 1 + 2 + vgg_widths[L + 1] * 9);
            break;
        case VGG_TO_LINEAR: {
            int64_t cols = strcmp(t->arch, "vgg16") == 0 ? 4096 * 49 : classes;
            d += r * (512 * 9 + 1 + 2 + cols);
            break;
        }
        case VGG_FC6: d += r * (512 + 1 + 4096); break;
        case VGG_FC7: d += r * (4096 + 1 + classes); break;
        case RESNET_BASIC: {
            int64_t p = 16 << L, cin = i == 0 && L > 0 ? p / 2 : p;
            d += r * (cin * 9 + 2 + p * 9);
            break;
        }
        case RESNET_BOTTLENECK: {   /* sites come in pairs: conv1, conv2 */
            if (i % 2)
                break;
            int64_t p = 64 << L, cin = i > 0 ? 4 * p : L == 0 ? 64 : 2 * p;
            int64_t k1 = k[i], k2 = k[i + 1];
            d += (cin * p + 2 * p + p * p * 9 + 2 * p + p * 4 * p) -
                 (cin * k1 + 2 * k1 + k1 * k2 * 9 + 2 * k2 + k2 * 4 * p);
            break;
        }
        case MBV2_HIDDEN: {
            int64_t oup = mbv2_c[L], inp = i == 0 ? mbv2_c[L - 1] : oup;
            d += r * (inp + 2 + 9 + 2 + oup);   /* expand, bn, depthwise, bn, project */
            break;
        }
        case MBV2_LAST: d += r * (320 + 2 + classes); break;
        }
    }
    return d;
}

static void test_case(sp_backend *be, const ccase *t)
{
    char test[96], name[160];
    snprintf(test, sizeof test, "compress_%s_block%d", t->arch, t->block);
    sp_graph *g = sp_arch_build(t->arch, &t->opts);
    sp_model *m = g ? sp_model_new(g) : NULL;
    sp_mask_site *s = NULL;
    int ns = m ? sp_mask_sites(m->graph, t->block, &s) : -1;
    if (!m || ns < 1 || sp_mask_insert(m, t->block) < 0) {
        CHECKF(0, test, "%s", sp_error());
        free(s);
        sp_model_free(m);
        return;
    }
    if (t->kind == MBV2_HIDDEN)
    {
        snprintf(name, sizeof name, "%s_sites", test);
        CHECKF(ns == mbv2_n[t->block] && s[0].nmask == 2, name, "%d sites", ns);
    }
    sp_arch_init_weights(m, 5);
    randomise(m, (uint64_t)t->block + 1);
    add_extras(m, s[0].mask[0]);
    sp_model_set_meta(m, "stage.state", "trained");
    char buf[32];
    snprintf(buf, sizeof buf, "%d", t->block);
    sp_model_set_meta(m, "stage.block", buf);
    sp_model_set_meta(m, "stage.by", "sp");
    sp_model_set_meta(m, "other", "kept");
    if (t->compressed_before)
        sp_model_set_meta(m, "stage.compressed", t->compressed_before);

    const sp_node *in = &m->graph->node[0];
    size_t nx = (size_t)t->batch * in->c * in->h * in->w;
    float *x = sp_xmalloc(nx * sizeof *x);
    sp_rng r;
    sp_rng_init(&r, 77, 1);
    sp_rng_fill_uniform(&r, x, (int64_t)nx, -1.0f, 1.0f);
    snprintf(name, sizeof name, "%s_calibrate", test);
    if (calibrate_bn(be, m, x, t->batch, (uint64_t)t->block) < 0)
        CHECKF(0, name, "%s", sp_error());

    /* A random 0/1 index per site, at least one channel kept and one removed. */
    int *c = sp_xcalloc((size_t)ns, sizeof *c), *k = sp_xcalloc((size_t)ns, sizeof *k);
    sp_rng_init(&r, 1000 + (uint64_t)t->block, 5);
    for (int i = 0; i < ns; i++) {
        c[i] = s[i].channels;
        float *v = mask_data(m, s[i].mask[0]);
        for (int ch = 0; ch < c[i]; ch++)
            v[ch] = (float)sp_rng_below(&r, 2);
        v[sp_rng_below(&r, (uint32_t)c[i])] = 1.0f;
        int zero = (int)sp_rng_below(&r, (uint32_t)c[i]);
        if (v[zero] == 1.0f && c[i] > 1)
            v[zero] = 0.0f;
        for (int ch = 0; ch < c[i]; ch++)
            k[i] += v[ch] != 0.0f;
        if (s[i].nmask == 2)
            memcpy(mask_data(m, s[i].mask[1]), v, (size_t)c[i] * sizeof *v);
    }
    /* the masked network's logits and graph; a copy of its tensors only
     * for the control below (VGG-16's are 540 MB) */
    int control = t->kind == MBV2_HIDDEN && t->block == 1;
    sp_model *masked = control ? sp_model_clone(m) : NULL;
    sp_graph *before = sp_graph_clone(m->graph);
    int classes = 0, classes2 = 0;
    float *want = t_logits_of(be, m, x, t->batch, &classes);

    int rc = sp_stage_compress(m);
    CHECKF(rc == 0, test, "%s", sp_error());
    if (rc == 0) {
        float *got = t_logits_of(be, m, x, t->batch, &classes2);
        double err = want && got && classes == classes2
                         ? t_rel_err(got, want, (size_t)t->batch * classes) : -1;
        printf("# %s: relative difference %.3g, parameters %lld -> %lld\n", test, err,
               (long long)params_of(before), (long long)params_of(m->graph));
        snprintf(name, sizeof name, "%s_logits", test);
        CHECKF(err >= 0 && err <= 1e-5, name, "relative difference %.3g", err);
        if (control) {
            /* the control: without the tied mask the masked network differs */
            for (int i = 0; i < ns; i++)
                for (int ch = 0; ch < c[i]; ch++)
                    mask_data(masked, s[i].mask[1])[ch] = 1.0f;
            float *untied = t_logits_of(be, masked, x, t->batch, &classes2);
            double e2 = untied && got ? t_rel_err(untied, got, (size_t)t->batch * classes) : -1;
            printf("# %s: without the tied mask: relative difference %.3g\n", test, e2);
            snprintf(name, sizeof name, "%s_tied_mask_matters", test);
            CHECKF(e2 > 1e-3, name, "relative difference %.3g", e2);
            free(untied);
        }
        free(got);

        int64_t drop = params_of(before) - params_of(m->graph);
        int64_t expect = expected_drop(t, ns, c, k);
        snprintf(name, sizeof name, "%s_params_drop", test);
        CHECKF(drop == expect, name, "dropped %lld, expected %lld", (long long)drop,
               (long long)expect);

        int nmask = 0;
        for (int i = 1; i < m->graph->n; i++)
            nmask += m->graph->node[i].op == SP_OP_MASK;
        char want_list[64];
        snprintf(want_list, sizeof want_list, "%s%s%d", t->compressed_before ?
                 t->compressed_before : "", t->compressed_before ? "," : "", t->block);
        const sp_tensor *twin = sp_model_tensor(m, "twin/features.1.weight");
        snprintf(name, sizeof name, "%s_bookkeeping", test);
        CHECKF(nmask == 0 && sp_model_check(m) == 0 && meta_is(m, "stage.state", "compressed") &&
               meta_is(m, "stage.compressed", want_list) && meta_is(m, "other", "kept") &&
               meta_is(m, "stage.by", "sp") && twin && ((float *)twin->data)[2] == 2.0f &&
               strcmp(m->t[m->n - 1].name, "twin/features.1.weight") == 0, name,
               "%d masks, stage.compressed %s: %s", nmask,
               sp_model_meta(m, "stage.compressed"), sp_error());
        int stage_tensors = 0;
        for (int i = 0; i < m->n; i++)
            stage_tensors += strncmp(m->t[i].name, "gen/", 4) == 0 ||
                             strncmp(m->t[i].name, "soft/", 5) == 0;
        snprintf(name, sizeof name, "%s_drops_gen_soft", test);
        CHECK(stage_tensors == 0, name);
        snprintf(name, sizeof name, "%s_twice_refused", test);
        CHECK(sp_stage_compress(m) < 0 && strstr(sp_error(), "no trained stage"), name);
    }
    free(want);
    free(x);
    free(c);
    free(k);
    free(s);
    sp_graph_free(before);
    sp_model_free(masked);
    sp_model_free(m);
}

/* ------------------------------------------------------------------ */
/* A small network for the refusals, scales and criteria               */

/* 3x6x6 -c1 (1x1, 4, bias)-bn1-relu1 -c2 (3x3, 5)-bn2-relu2 -pool-flatten-fc(3).
 * Block 0 masks relu1 and relu2; block 1 has no anchors. */
static sp_model *small_net(void)
{
    sp_graph *g = sp_graph_new("t", 3, 6, 6);
    int x = t_conv(g, "c1", 0, 3, 4, 1, 1, 0, 1, 1);
    x = t_chan(g, SP_OP_BN, "bn1", x, 4);
    int a1 = t_add(g, SP_OP_RELU, "relu1", x, -1);
    x = t_conv(g, "c2", a1, 4, 5, 3, 1, 1, 1, 0);
    x = t_chan(g, SP_OP_BN, "bn2", x, 5);
    int a2 = t_add(g, SP_OP_RELU, "relu2", x, -1);
    x = t_add(g, SP_OP_MAXPOOL, "pool", a2, -1);
    g->node[x].kh = g->node[x].kw = g->node[x].sh = g->node[x].sw = 2;
    x = t_add(g, SP_OP_FLATTEN, "flat", x, -1);
    t_linear(g, "fc", x, 45, 3, 1);
    sp_block *b = sp_graph_add_block(g, 0);
    b->anchor[b->n++] = a1;
    b->anchor[b->n++] = a2;
    sp_graph_add_block(g, 1);
    if (sp_graph_infer(g) < 0) {
        printf("# %s\n", sp_error());
        sp_graph_free(g);
        return NULL;
    }
    sp_model *m = sp_model_new(g);
    sp_rng r;
    sp_rng_init(&r, 3, 3);
    for (int i = 0; i < m->n; i++)
        if (m->t[i].dtype == SP_F32 && !strstr(m->t[i].name, "running_var"))
            sp_rng_fill_normal(&r, m->t[i].data, sp_tensor_numel(&m->t[i]), 0.0f, 0.5f);
    /* hand-made c1 (4 x 3 x 1 x 1) and bn1 gamma for the criteria */
    static const float w1[12] = {1, -2, 2, 0, 3, -4, -1, 1, 1, 2, 2, -1};
    static const float gamma[4] = {-0.5f, 0.25f, 2.0f, -0.25f};
    memcpy(sp_model_tensor(m, "c1.weight")->data, w1, sizeof w1);
    memcpy(sp_model_tensor(m, "bn1.weight")->data, gamma, sizeof gamma);
    return m;
}

static int keep_is(const unsigned char *keep, const char *want)
{
    for (size_t i = 0; i < strlen(want); i++)
        if (keep[i] != (want[i] == '1'))
            return 0;
    return 1;
}

static int mask_is(const sp_model *m, const char *node, const char *want)
{
    const float *v = mask_data(m, node);
    for (size_t i = 0; v && i < strlen(want); i++)
        if (v[i] != (want[i] == '1' ? 1.0f : 0.0f))
            return 0;
    return v != NULL;
}

/* Scores per channel of c1 by hand: weights {1,-2,2} {0,3,-4} {-1,1,1} {2,2,-1}:
 * l1 5 7 3 5, l2 3 5 sqrt(3) 3, bn |gamma| 0.5 0.25 2 0.25. */
static void test_criteria(void)
{
    sp_model *m = small_net();
    if (!m)
        return;
    double sc[5];
    unsigned char keep[5];
    sp_rng r;
    CHECK(sp_select_scores(m, "c1", SP_BY_L1, NULL, sc) == 0 && sc[0] == 5 && sc[1] == 7 &&
          sc[2] == 3 && sc[3] == 5, "criterion_l1");
    sp_select_top(4, sc, 2, keep);
    CHECK(keep_is(keep, "1100"), "criterion_l1_top2_tie_to_lower_index");
    CHECK(sp_select_scores(m, "c1", SP_BY_L2, NULL, sc) == 0 && sc[0] == 3 && sc[1] == 5 &&
          sc[2] > 1.7320508 && sc[2] < 1.7320509 && sc[3] == 3, "criterion_l2");
    sp_select_top(4, sc, 1, keep);
    int ok = keep_is(keep, "0100");
    sp_select_top(4, sc, 3, keep);
    CHECK(ok && keep_is(keep, "1101"), "criterion_l2_top");
    CHECK(sp_select_scores(m, "c1", SP_BY_BN, NULL, sc) == 0 && sc[0] == 0.5 && sc[1] == 0.25 &&
          sc[2] == 2 && sc[3] == 0.25, "criterion_bn");
    sp_select_top(4, sc, 3, keep);
    CHECK(keep_is(keep, "1110"), "criterion_bn_top3_tie_to_lower_index");
    sp_rng_init(&r, 42, SP_RNG_STREAM_SELECT);
    double want[4];
    for (int i = 0; i < 4; i++)
        want[i] = sp_rng_uniform(&r);
    sp_rng_init(&r, 42, SP_RNG_STREAM_SELECT);
    CHECK(sp_select_scores(m, "c1", SP_BY_RANDOM, &r, sc) == 0 &&
          memcmp(sc, want, sizeof want) == 0, "criterion_random_seeded_stream");
    CHECK(sp_select_scores(m, "fc", SP_BY_BN, NULL, sc) < 0 && strstr(sp_error(), "batch norm"),
          "criterion_bn_needs_batch_norm");
    CHECK(sp_select_scores(m, "bn1", SP_BY_L1, NULL, sc) < 0, "criterion_needs_conv_or_linear");
    /* a linear layer's rows: fc is 3 x 45 */
    const float *w = sp_model_tensor(m, "fc.weight")->data;
    double l1 = 0;
    for (int e = 0; e < 45; e++)
        l1 += w[45 + e] < 0 ? -(double)w[45 + e] : w[45 + e];
    CHECK(sp_select_scores(m, "fc", SP_BY_L1, NULL, sc) == 0 && sc[1] > l1 - 1e-9 &&
          sc[1] < l1 + 1e-9, "criterion_l1_linear");
    CHECK(sp_select_count(10, 0.3) == 3 && sp_select_count(3, 0.1) == 1 &&
          sp_select_count(64, 1.0) == 64 && sp_select_count(7, 0.5) == 3 &&
          sp_select_count(512, 0.25) == 128, "select_count");
    sp_criterion by;
    CHECK(sp_criterion_parse("bn", &by) == 0 && by == SP_BY_BN &&
          strcmp(sp_criterion_name(SP_BY_RANDOM), "random") == 0 &&
          sp_criterion_parse("l3", &by) < 0, "criterion_names");
    sp_model_free(m);
}

static void test_select_stage(void)
{
    sp_model *m = small_net();
    if (!m)
        return;
    sp_model_set_meta(m, "stage.recipe", "old");
    sp_model_set_meta(m, "stage.compressed", "7");
    char crc[16];
    snprintf(crc, sizeof crc, "%08x", (unsigned)sp_model_crc32(m));
    sp_model *orig = sp_model_clone(m);
    sp_select_opts o = {.block = 0, .by = SP_BY_L1, .rate = 0.5, .seed = 9};
    int rc = sp_select_stage(m, &o);
    CHECKF(rc == 0, "select_stage", "%s", sp_error());
    /* relu1: l1 5 7 3 5 keeps 2 -> 1100; relu2: 2 of 5 by c2's l1 */
    double sc[5];
    unsigned char keep[5];
    sp_select_scores(orig, "c2", SP_BY_L1, NULL, sc);
    sp_select_top(5, sc, 2, keep);
    char k2[6] = "";
    for (int i = 0; i < 5; i++)
        k2[i] = keep[i] ? '1' : '0';
    CHECK(rc == 0 && mask_is(m, "relu1.m", "1100") && mask_is(m, "relu2.m", k2),
          "select_stage_masks");
    CHECKF(meta_is(m, "stage.block", "0") && meta_is(m, "stage.state", "trained") &&
           meta_is(m, "stage.by", "l1") && meta_is(m, "stage.rate", "0.5") &&
           meta_is(m, "stage.seed", "9") && meta_is(m, "stage.input", crc) &&
           meta_is(m, "stage.kept", "2,2") && meta_is(m, "stage.recipe", NULL) &&
           meta_is(m, "stage.compressed", "7"), "select_stage_metadata", "input %s kept %s",
           sp_model_meta(m, "stage.input"), sp_model_meta(m, "stage.kept"));

    /* Refusals leave the model as it was. */
    sp_model *again = sp_model_clone(m);
    CHECK(sp_select_stage(again, &o) < 0 && strstr(sp_error(), "trained stage") &&
          t_same_tensors(again, m), "select_refuses_trained");
    sp_model_free(again);
    sp_model *x = sp_model_clone(orig);
    o.block = 3;
    CHECK(sp_select_stage(x, &o) < 0 && strstr(sp_error(), "no block 3 (its blocks: 0-1)"),
          "select_refuses_unknown_block");
    o.block = 1;
    CHECK(sp_select_stage(x, &o) < 0 && strstr(sp_error(), "no masked activations"),
          "select_refuses_empty_block");
    o.block = 0;
    sp_model_set_meta(x, "stage.compressed", "3,0");
    CHECK(sp_select_stage(x, &o) < 0 && strstr(sp_error(), "compressed already") &&
          t_same_tensors(x, orig), "select_refuses_compressed_block");
    sp_model_set_meta(x, "stage.compressed", NULL);
    o.rate = 0;
    CHECK(sp_select_stage(x, &o) < 0 && strstr(sp_error(), "rate"), "select_refuses_rate");
    o.rate = 0.5;
    sp_model_free(x);

    /* --widths-from: a trained stage's stage.kept, a compressed one's widths. */
    int *kept = NULL;
    x = sp_model_clone(orig);
    int n = sp_select_widths(x, m, "'ref'", 0, &kept);
    CHECKF(n == 2 && kept[0] == 2 && kept[1] == 2, "widths_from_trained", "%d: %s", n,
           sp_error());
    free(kept);
    sp_model *cm = sp_model_clone(m);
    float *v = mask_data(cm, "relu2.m");
    v[0] = v[1] = v[2] = 1.0f;   /* keep 3 or more of relu2 */
    int want2 = 0;
    for (int i = 0; i < 5; i++)
        want2 += v[i] != 0.0f;
    int rc2 = sp_stage_compress(cm);
    n = rc2 == 0 ? sp_select_widths(x, cm, "'ref'", 0, &kept) : -1;
    CHECKF(n == 2 && kept[0] == 2 && kept[1] == want2, "widths_from_compressed", "%d: %s", n,
           sp_error());
    if (n == 2) {
        char rate[32];
        snprintf(rate, sizeof rate, "%.17g", (2.0 + want2) / 9.0);
        o.kept = kept;
        o.by = SP_BY_BN;
        CHECKF(sp_select_stage(x, &o) == 0 && mask_is(x, "relu1.m", "1010") &&
               meta_is(x, "stage.by", "bn") && meta_is(x, "stage.rate", rate) &&
               meta_is(x, "stage.kept", want2 == 3 ? "2,3" : want2 == 4 ? "2,4" : "2,5"),
               "select_with_widths", "%s rate %s", sp_error(), sp_model_meta(x, "stage.rate"));
        o.kept = NULL;
    }
    free(kept);
    CHECK(sp_select_widths(x, orig, "'ref'", 0, &kept) < 0 &&
          strstr(sp_error(), "'ref' has neither trained nor compressed block 0"),
          "widths_from_untouched_refused");
    sp_model *other = sp_model_new(sp_graph_clone(cm->graph));   /* another original */
    CHECK(sp_select_widths(x, other, "'ref'", 0, &kept) < 0 &&
          strstr(sp_error(), "another network"), "widths_from_other_network_refused");
    sp_model_free(other);
    sp_model_free(cm);
    sp_model_free(x);
    sp_model_free(orig);
    sp_model_free(m);
}

/* A first stage records the twin/ tensors a later sp-train-mask needs:
 * ResNet-20's 19 batch norms (4 tensors each) and the linear bias; a
 * later stage keeps them; a network pruned without them is refused. */
static void test_select_twin(void)
{
    sp_arch_opts ao = {0};
    sp_graph *g = sp_arch_build("resnet20", &ao);
    sp_model *m = g ? sp_model_new(g) : NULL;
    if (!m) {
        CHECKF(0, "select_records_twin", "%s", sp_error());
        return;
    }
    sp_arch_init_weights(m, 1);
    float bn = ((float *)sp_model_tensor(m, "layer2.1.bn1.running_var")->data)[3];
    sp_select_opts o = {.block = 0, .by = SP_BY_L1, .rate = 0.5};
    int rc = sp_select_stage(m, &o), ntwin = 0;
    for (int i = 0; i < m->n; i++)
        ntwin += strncmp(m->t[i].name, "twin/", 5) == 0;
    const sp_tensor *t = sp_model_tensor(m, "twin/layer2.1.bn1.running_var");
    CHECKF(rc == 0 && ntwin == 19 * 4 + 1 && t && ((float *)t->data)[3] == bn &&
           sp_model_tensor(m, "twin/linear.bias") && !sp_model_tensor(m, "twin/conv1.weight"),
           "select_records_twin", "%d twin tensors: %s", ntwin, sp_error());
    rc = sp_stage_compress(m);
    o.block = 1;
    rc = rc == 0 ? sp_select_stage(m, &o) : rc;
    int again = 0;
    for (int i = 0; i < m->n; i++)
        again += strncmp(m->t[i].name, "twin/", 5) == 0;
    CHECKF(rc == 0 && again == ntwin, "select_keeps_twin", "%d twin tensors: %s", again,
           sp_error());
    rc = sp_stage_compress(m);
    for (int i = m->n - 1; i >= 0; i--)
        if (strncmp(m->t[i].name, "twin/", 5) == 0)
            sp_model_remove_tensor(m, m->t[i].name);
    sp_model *before = sp_model_clone(m);
    o.block = 2;
    CHECK(rc == 0 && sp_select_stage(m, &o) < 0 && strstr(sp_error(), "twin/") &&
          t_same_tensors(m, before) && meta_is(m, "stage.state", "compressed"),
          "select_refuses_pruned_without_twin");
    sp_model_free(before);
    sp_model_free(m);
}

/* Compression refusals, and masks that are not 0/1: the kept channels
 * continue at scale 1, so the compressed network equals the masked one
 * with its masks binarised. */
static void test_compress_small(sp_backend *be)
{
    sp_model *m = small_net();
    if (!m)
        return;
    CHECK(sp_stage_compress(m) < 0 && strstr(sp_error(), "it has no stage.state"),
          "compress_refuses_no_stage");
    sp_select_opts o = {.block = 0, .by = SP_BY_L2, .rate = 0.75};
    sp_select_stage(m, &o);
    float *v1 = mask_data(m, "relu1.m"), *v2 = mask_data(m, "relu2.m");
    static const float soft1[4] = {0.5f, 0.0f, 2.0f, 1.0f};
    static const float soft2[5] = {0.0f, 0.25f, 0.0f, 1.0f, -1.0f};
    memcpy(v1, soft1, sizeof soft1);
    memcpy(v2, soft2, sizeof soft2);
    sp_model *zero = sp_model_clone(m);
    memset(mask_data(zero, "relu2.m"), 0, 5 * sizeof(float));
    sp_model *kept = sp_model_clone(zero);
    CHECK(sp_stage_compress(zero) < 0 && strstr(sp_error(), "'relu2.m' is all zeros") &&
          t_same_tensors(zero, kept) && meta_is(zero, "stage.state", "trained"),
          "compress_refuses_all_zero_mask");
    sp_model_free(kept);
    sp_model_free(zero);

    sp_model *bin = sp_model_clone(m);
    for (int i = 0; i < 4; i++)
        mask_data(bin, "relu1.m")[i] = soft1[i] != 0.0f;
    for (int i = 0; i < 5; i++)
        mask_data(bin, "relu2.m")[i] = soft2[i] != 0.0f;
    float x[2 * 3 * 36];
    sp_rng r;
    sp_rng_init(&r, 5, 5);
    sp_rng_fill_uniform(&r, x, 2 * 3 * 36, -1.0f, 1.0f);
    int classes, classes2;
    float *want = t_logits_of(be, bin, x, 2, &classes);
    int rc = sp_stage_compress(m);
    float *got = rc == 0 ? t_logits_of(be, m, x, 2, &classes2) : NULL;
    double err = want && got ? t_rel_err(got, want, (size_t)2 * classes) : -1;
    CHECKF(rc == 0 && err >= 0 && err <= 1e-6 &&
           m->graph->node[sp_graph_find(m->graph, "c1")].cout == 3 &&
           m->graph->node[sp_graph_find(m->graph, "c2")].cout == 3 &&
           m->graph->node[sp_graph_find(m->graph, "fc")].cin == 27,
           "compress_soft_masks_scale_1", "%s; relative difference %.3g", sp_error(), err);
    free(want);
    free(got);
    sp_model_free(bin);
    sp_model_free(m);
}

/* Tied MobileNetV2 masks must agree on the channels they remove. */
static void test_tied_disagree(void)
{
    sp_arch_opts ao = {10, 3, 32, 32};
    sp_graph *g = sp_arch_build("mobilenetv2", &ao);
    sp_model *m = g ? sp_model_new(g) : NULL;
    sp_select_opts o = {.block = 6, .by = SP_BY_L1, .rate = 0.5};
    if (!m || sp_select_stage(m, &o) < 0) {
        CHECKF(0, "compress_tied_disagree_refused", "%s", sp_error());
        sp_model_free(m);
        return;
    }
    float *a = mask_data(m, "features.17.conv.0.2.m"), *b = mask_data(m, "features.17.conv.1.2.m");
    int tied = a && b && memcmp(a, b, 960 * sizeof *a) == 0;
    for (int i = 0; b && i < 960; i++)
        b[i] = b[i] != 0.0f ? 0.0f : 1.0f;
    CHECK(tied && sp_stage_compress(m) < 0 && strstr(sp_error(), "disagree"),
          "compress_tied_disagree_refused");
    sp_model_free(m);
}

int main(void)
{
    test_criteria();
    test_select_stage();
    test_select_twin();
    sp_backend *be = sp_backend_create("ref"), *fast = sp_backend_create("cpu");
    CHECKF(be && fast, "backends", "%s", sp_error());
    if (be)
        test_compress_small(be);
    test_tied_disagree();
    for (size_t i = 0; fast && i < SP_COUNT(cases); i++)
        test_case(fast, &cases[i]);
    sp_backend_destroy(fast);
    sp_backend_destroy(be);
    return t_done();
}
