/* test_prune.c: channel groups and channel removal.
 *
 * Every tensor element starts as a value that encodes its own position
 * (tensor number, flat index), so after pruning each element can be checked
 * to come from the position the slicing rules say.  The FLOPs drop is
 * worked out here from the layer formulas, not from sp_graph_count. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sp/arch.h"
#include "sp/base.h"
#include "sp/graph.h"
#include "sp/model.h"
#include "sp/prune.h"
#include "graphs.h"
#include "testlib.h"

/* ------------------------------------------------------------------ */
/* Checks shared by the hand-built and the built-in networks           */

/* Distinct, exactly representable values: a wrong slice shows. */
static void pc_fill(sp_model *m)
{
    for (int i = 0; i < m->n; i++) {
        sp_tensor *t = &m->t[i];
        int64_t n = sp_tensor_numel(t);
        if (t->dtype == SP_I64) {
            for (int64_t e = 0; e < n; e++)
                ((int64_t *)t->data)[e] = 1000 + i;
            continue;
        }
        float *d = t->data;
        for (int64_t e = 0; e < n; e++)
            d[e] = (float)((((uint32_t)e * 2654435761u) ^ ((uint32_t)i * 40503u)) >> 8);
    }
}

static void pc_group_str(const sp_graph *g, const sp_group *grp, char *buf, size_t n)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < grp->n && len < n; i++) {
        const sp_slice *s = &grp->slice[i];
        char kind[16];
        if (s->kind == SP_SLICE_IN_FLAT)
            snprintf(kind, sizeof kind, "flat%d", s->spatial);
        else
            snprintf(kind, sizeof kind, "%s", s->kind == SP_SLICE_OUT ? "out" : "in");
        len += (size_t)snprintf(buf + len, n - len, "%s%s:%s", i ? " " : "",
                                g->node[s->node].name, kind);
    }
}

/* 1 when both models have the same graph and the same tensors. */
static int pc_same(const sp_model *a, const sp_model *b)
{
    char *ja = sp_graph_to_json(a->graph), *jb = sp_graph_to_json(b->graph);
    int same = strcmp(ja, jb) == 0 && a->n == b->n;
    free(ja);
    free(jb);
    for (int i = 0; same && i < a->n; i++)
        same = strcmp(a->t[i].name, b->t[i].name) == 0 &&
               sp_tensor_bytes(&a->t[i]) == sp_tensor_bytes(&b->t[i]) &&
               memcmp(a->t[i].data, b->t[i].data, sp_tensor_bytes(&a->t[i])) == 0;
    return same;
}

/* Compare the elements of `after` with the elements of `before` that the
 * slicing rules say they come from: along dimension d, position p of the
 * pruned tensor is channel kept[p / spatial], offset p % spatial.  Tensors
 * of millions of elements are sampled (every 7th, a stride prime to every
 * layer width) to keep the test fast. */
static int64_t pc_mismatches(const sp_tensor *after, const sp_tensor *before, int d,
                             int spatial, const int *kept)
{
    int64_t n = sp_tensor_numel(after), bad = 0, step = n > (1 << 22) ? 7 : 1;
    size_t es = sp_dtype_size(after->dtype);
    for (int64_t e = 0; e < n; e += step) {
        int64_t rest = e, src = 0, stride = 1;
        for (int k = after->ndim - 1; k >= 0; k--) {
            int64_t idx = rest % after->shape[k];
            rest /= after->shape[k];
            if (k == d)
                idx = (int64_t)kept[idx / spatial] * spatial + idx % spatial;
            src += idx * stride;
            stride *= before->shape[k];
        }
        bad += memcmp((char *)after->data + e * es, (char *)before->data + src * es, es) != 0;
    }
    return bad;
}

static void pc_check_pruned(const char *test, const sp_model *before, const sp_model *after,
                            const char *anchor, const unsigned char *keep, int64_t drop)
{
    char name[128];
    sp_group grp;
    int a = sp_graph_find(before->graph, anchor);
    if (sp_group_find(before->graph, a, &grp) < 0) {
        CHECKF(0, test, "%s", sp_error());
        return;
    }
    int *kept = malloc((size_t)grp.channels * sizeof *kept), nk = 0;
    for (int c = 0; c < grp.channels; c++)
        if (keep[c])
            kept[nk++] = c;
    sp_graph *g = sp_graph_clone(after->graph);
    snprintf(name, sizeof name, "%s_infers", test);
    CHECKF(sp_graph_infer(g) == 0, name, "%s", sp_error());
    sp_graph_free(g);
    snprintf(name, sizeof name, "%s_model_check", test);
    CHECKF(sp_model_check(after) == 0, name, "%s", sp_error());

    sp_param_info *p;
    int np = sp_graph_params(after->graph, &p), shapes_ok = np == after->n, values_ok = 1;
    for (int i = 0; i < np && shapes_ok; i++) {
        const sp_tensor *ta = sp_model_tensor(after, p[i].name);
        const sp_tensor *tb = sp_model_tensor(before, p[i].name);
        if (!ta || !tb || ta->ndim != tb->ndim) {
            shapes_ok = 0;
            break;
        }
        int d = -1, spatial = 1;
        for (int k = 0; k < grp.n; k++) {
            const sp_slice *s = &grp.slice[k];
            if (s->node != p[i].node || p[i].kind == SP_P_NUM_BATCHES)
                continue;
            if (s->kind == SP_SLICE_OUT)
                d = 0;
            else if (p[i].kind == SP_P_WEIGHT)
                d = 1, spatial = s->kind == SP_SLICE_IN_FLAT ? s->spatial : 1;
        }
        int64_t want[SP_MAX_DIMS];
        for (int k = 0; k < tb->ndim; k++)
            want[k] = k == d ? (int64_t)nk * spatial : tb->shape[k];
        if (!sp_shape_equal(ta->ndim, ta->shape, tb->ndim, want) ||
            !sp_shape_equal(ta->ndim, ta->shape, p[i].ndim, p[i].shape)) {
            printf("# %s: tensor %s has the wrong shape\n", test, p[i].name);
            shapes_ok = 0;
        } else if (pc_mismatches(ta, tb, d, spatial, kept)) {
            printf("# %s: tensor %s has wrong values\n", test, p[i].name);
            values_ok = 0;
        }
    }
    snprintf(name, sizeof name, "%s_shapes", test);
    CHECK(shapes_ok, name);
    snprintf(name, sizeof name, "%s_values", test);
    CHECK(shapes_ok && values_ok, name);
    sp_count cb, ca;
    sp_graph_count(before->graph, &cb, NULL);
    sp_graph_count(after->graph, &ca, NULL);
    snprintf(name, sizeof name, "%s_flops_drop", test);
    CHECKF(cb.flops_thop - ca.flops_thop == drop, name, "dropped %lld, expected %lld",
           (long long)(cb.flops_thop - ca.flops_thop), (long long)drop);
    free(p);
    free(kept);
}

/* A convolution that keeps the size: stride 1, padding k / 2. */
static int conv(sp_graph *g, const char *name, int in, int cin, int cout, int k, int groups,
                int bias)
{
    return t_conv(g, name, in, cin, cout, k, 1, k / 2, groups, bias);
}

/* 3x8x8 -c1(6)-bn1-relu1-m1-pool-> 6x4x4 -c2(5)-bn2-relu2-flatten-> 80 -fc(4). */
static sp_graph *vgg_like(void)
{
    sp_graph *g = sp_graph_new("t", 3, 8, 8);
    int x = conv(g, "c1", 0, 3, 6, 3, 1, 1);
    x = t_chan(g, SP_OP_BN, "bn1", x, 6);
    x = t_add(g, SP_OP_RELU, "relu1", x, -1);
    x = t_chan(g, SP_OP_MASK, "m1", x, 6);
    x = t_add(g, SP_OP_MAXPOOL, "pool", x, -1);
    g->node[x].kh = g->node[x].kw = g->node[x].sh = g->node[x].sw = 2;
    x = conv(g, "c2", x, 6, 5, 3, 1, 1);
    x = t_chan(g, SP_OP_BN, "bn2", x, 5);
    x = t_add(g, SP_OP_RELU, "relu2", x, -1);
    x = t_add(g, SP_OP_FLATTEN, "flat", x, -1);
    x = t_add(g, SP_OP_LINEAR, "fc", x, -1);
    g->node[x].cin = 80;
    g->node[x].cout = 4;
    g->node[x].bias = 1;
    return g;
}

/* 4x6x6 -e(8) 1x1-bne-relu_e-dw(8)-bnd-relu_d-p(4) 1x1-bnp-add(input)-gap-flatten-fc(3). */
static sp_graph *mobile_like(void)
{
    sp_graph *g = sp_graph_new("t", 4, 6, 6);
    int x = conv(g, "e", 0, 4, 8, 1, 1, 0);
    x = t_chan(g, SP_OP_BN, "bne", x, 8);
    x = t_add(g, SP_OP_RELU6, "relu_e", x, -1);
    x = conv(g, "dw", x, 8, 8, 3, 8, 0);
    x = t_chan(g, SP_OP_BN, "bnd", x, 8);
    x = t_add(g, SP_OP_RELU6, "relu_d", x, -1);
    x = conv(g, "p", x, 8, 4, 1, 1, 0);
    x = t_chan(g, SP_OP_BN, "bnp", x, 4);
    x = t_add(g, SP_OP_ADD, "sum", x, 0);
    x = t_add(g, SP_OP_ADAPTIVE_AVGPOOL, "gap", x, -1);
    g->node[x].oh = g->node[x].ow = 1;
    x = t_add(g, SP_OP_FLATTEN, "flat", x, -1);
    x = t_add(g, SP_OP_LINEAR, "fc", x, -1);
    g->node[x].cin = 4;
    g->node[x].cout = 3;
    return g;
}

static sp_model *model_of(sp_graph *g)
{
    if (sp_graph_infer(g) < 0) {
        printf("# %s\n", sp_error());
        sp_graph_free(g);
        return NULL;
    }
    sp_model *m = sp_model_new(g);
    pc_fill(m);
    return m;
}

static int group_is(const sp_graph *g, const char *anchor, int prunable, const char *want)
{
    sp_group grp;
    char got[512] = "";
    if (sp_group_find(g, sp_graph_find(g, anchor), &grp) < 0) {
        printf("# %s\n", sp_error());
        return 0;
    }
    pc_group_str(g, &grp, got, sizeof got);
    if (grp.prunable != prunable || strcmp(got, want)) {
        printf("# group of %s: prunable %d, %s\n", anchor, grp.prunable, got);
        return 0;
    }
    return 1;
}

static void test_groups(void)
{
    sp_graph *g = vgg_like();
    sp_graph_infer(g);
    CHECK(group_is(g, "relu1", 1, "c1:out bn1:out m1:out c2:in"), "group_conv_conv");
    CHECK(group_is(g, "m1", 1, "c1:out bn1:out m1:out c2:in"), "group_from_mask");
    CHECK(group_is(g, "c1", 1, "c1:out bn1:out m1:out c2:in"), "group_from_conv");
    CHECK(group_is(g, "relu2", 1, "c2:out bn2:out fc:flat16"), "group_flatten");
    CHECK(group_is(g, "fc", 0, "fc:out"), "group_output");
    sp_group grp;
    CHECK(sp_group_find(g, sp_graph_find(g, "flat"), &grp) < 0 && strstr(sp_error(), "flat"),
          "group_untraceable");
    sp_graph_free(g);

    g = mobile_like();
    sp_graph_infer(g);
    CHECK(group_is(g, "relu_e", 1, "e:out bne:out dw:out bnd:out p:in"), "group_depthwise");
    CHECK(group_is(g, "relu_d", 1, "e:out bne:out dw:out bnd:out p:in"), "group_after_dw");
    CHECK(group_is(g, "bnp", 0, "p:out bnp:out"), "group_residual");
    sp_graph_free(g);
}

static void test_prune_vgg_like(void)
{
    sp_model *m = model_of(vgg_like());
    if (!m)
        return;
    sp_model *before = sp_model_clone(m);
    unsigned char k1[6] = {1, 0, 1, 1, 0, 1};
    int r = sp_prune_channels(m, sp_graph_find(m->graph, "relu1"), k1);
    CHECKF(r == 0, "prune_conv", "%s", sp_error());
    /* c1: 6 -> 4 outputs of 8x8x27+bias; bn1 on 8x8; c2 reads 4 instead of 6. */
    int64_t drop = 2 * 8 * 8 * (27 + 1) + 2 * 2 * 8 * 8 + 5 * 4 * 4 * (2 * 9);
    pc_check_pruned("prune_conv", before, m, "relu1", k1, drop);
    sp_model_free(before);

    before = sp_model_clone(m);
    unsigned char k2[5] = {0, 1, 0, 0, 1};
    r = sp_prune_channels(m, sp_graph_find(m->graph, "relu2"), k2);
    CHECKF(r == 0, "prune_flatten", "%s", sp_error());
    drop = 3 * 4 * 4 * (4 * 9 + 1) + 2 * 3 * 4 * 4 + 4 * 3 * 16;
    pc_check_pruned("prune_flatten", before, m, "relu2", k2, drop);
    CHECK(m->graph->node[sp_graph_find(m->graph, "fc")].cin == 32, "prune_flatten_cin");

    sp_model_free(before);
    before = sp_model_clone(m);
    unsigned char none[2] = {0, 0};
    r = sp_prune_channels(m, sp_graph_find(m->graph, "relu2"), none);
    CHECK(r < 0 && strstr(sp_error(), "all its 2 channels") && pc_same(before, m),
          "prune_keeps_one");
    unsigned char all[4] = {1, 1, 1, 1};
    r = sp_prune_channels(m, sp_graph_find(m->graph, "fc"), all);
    CHECK(r < 0 && strstr(sp_error(), "'fc'"), "prune_output_refused");
    sp_model_free(before);
    sp_model_free(m);
}

static void test_prune_mobile_like(void)
{
    sp_model *m = model_of(mobile_like());
    if (!m)
        return;
    sp_model *before = sp_model_clone(m);
    unsigned char k[8] = {1, 1, 0, 1, 0, 0, 1, 0};
    int r = sp_prune_channels(m, sp_graph_find(m->graph, "relu_d"), k);
    CHECKF(r == 0, "prune_depthwise", "%s", sp_error());
    /* 4 of 8 hidden channels go: e (6x6, 4 inputs), bne, dw (3x3), bnd, p's inputs. */
    int64_t drop = 4 * 36 * 4 + 2 * 4 * 36 + 4 * 36 * 9 + 2 * 4 * 36 + 4 * 36 * 4;
    pc_check_pruned("prune_depthwise", before, m, "relu_d", k, drop);
    const sp_node *dw = &m->graph->node[sp_graph_find(m->graph, "dw")];
    CHECK(dw->cin == 4 && dw->cout == 4 && dw->groups == 4, "prune_depthwise_groups");
    unsigned char k4[4] = {1, 0, 1, 1};
    r = sp_prune_channels(m, sp_graph_find(m->graph, "bnp"), k4);
    CHECK(r < 0 && strstr(sp_error(), "residual"), "prune_residual_refused");
    sp_model_free(before);
    sp_model_free(m);
}

/* ------------------------------------------------------------------ */
/* The built-in networks: one anchor of each kind of block             */

typedef struct arch_case {
    const char *arch;
    int classes, block, anchor;   /* the anchor-th anchor of the block */
    const char *producer;          /* the conv or linear whose outputs go */
    int64_t per_channel;           /* thop FLOPs of one channel, by hand */
} arch_case;

/* Per channel: producer out_h*out_w*(fan_in + bias) + 2*h*w for its batch
 * norm + the consumer's cout*out_h*out_w*kh*kw (+ depthwise conv, its batch
 * norm, pools in between, flatten columns). */
static const arch_case arch_cases[] = {
    {"vgg16-cifar", 10, 0, 0, "features.0", 1024 * 28 + 2 * 1024 + 64 * 1024 * 9},
    {"vgg16-cifar", 10, 12, 0, "features.40", 4 * (512 * 9 + 1) + 2 * 4 + 10},
    {"vgg16-cifar-fc", 100, 13, 0, "classifier.0", 512 + 4096},
    {"vgg16-cifar-fc", 100, 14, 0, "classifier.3", 4096 + 100},
    {"vgg16", 1000, 12, 0, "features.40", 196 * (512 * 9 + 1) + 2 * 196 + 4096 * 49},
    {"resnet56", 10, 0, 0, "layer1.0.conv1", 1024 * 16 * 9 + 2 * 1024 + 16 * 1024 * 9},
    {"resnet56", 10, 2, 0, "layer3.0.conv1", 64 * 32 * 9 + 2 * 64 + 64 * 64 * 9},
    {"resnet50", 1000, 0, 0, "layer1.0.conv1", 3136 * 64 + 2 * 3136 + 64 * 3136 * 9},
    {"resnet50", 1000, 0, 1, "layer1.0.conv2", 3136 * 64 * 9 + 2 * 3136 + 256 * 3136},
    {"resnet50", 1000, 1, 0, "layer2.0.conv1", 3136 * 256 + 2 * 3136 + 128 * 784 * 9},
    {"resnet50-cifar", 10, 3, 1, "layer4.0.conv2", 16 * 512 * 9 + 2 * 16 + 2048 * 16},
    {"mobilenetv2", 1000, 1, 0, "features.2.conv.0.0",
     12544 * 16 + 2 * 12544 + 3136 * 9 + 2 * 3136 + 24 * 3136},
    {"mobilenetv2", 1000, 7, 0, "features.18.0", 49 * 320 + 2 * 49 + 50 + 1000},
};

static void test_arch_case(const arch_case *c)
{
    char test[96];
    snprintf(test, sizeof test, "arch_%s_block%d_%d", c->arch, c->block, c->anchor);
    sp_arch_opts opts = {.classes = c->classes};
    sp_graph *g = sp_arch_build(c->arch, &opts);
    if (!g) {
        CHECKF(0, test, "%s", sp_error());
        return;
    }
    sp_model *m = sp_model_new(g);
    pc_fill(m);
    const sp_block *b = sp_graph_block(m->graph, c->block);
    sp_group grp;
    if (!b || b->n <= c->anchor || sp_group_find(m->graph, b->anchor[c->anchor], &grp) < 0 ||
        strcmp(m->graph->node[grp.slice[0].node].name, c->producer) != 0) {
        CHECKF(0, test, "no anchor %d in block %d with producer %s (%s)", c->anchor, c->block,
               c->producer, sp_error());
        sp_model_free(m);
        return;
    }
    char anchor[SP_NAME_MAX];
    snprintf(anchor, sizeof anchor, "%s", m->graph->node[b->anchor[c->anchor]].name);
    unsigned char *keep = malloc((size_t)grp.channels);
    int removed = 0;
    for (int k = 0; k < grp.channels; k++) {
        keep[k] = k % 3 != 1;
        removed += !keep[k];
    }
    sp_model *before = sp_model_clone(m);
    int r = sp_prune_channels(m, sp_graph_find(m->graph, anchor), keep);
    CHECKF(r == 0 && grp.prunable, test, "%s", r ? sp_error() : "not prunable");
    if (r == 0)
        pc_check_pruned(test, before, m, anchor, keep, removed * c->per_channel);
    free(keep);
    sp_model_free(before);
    sp_model_free(m);
}

/* Anchors that sit on a residual path or at the output must be refused. */
static void test_arch_refused(void)
{
    sp_arch_opts opts = {.classes = 10};
    sp_graph *g = sp_arch_build("resnet56", &opts);
    sp_group grp;
    if (!g) {
        CHECKF(0, "arch_refused", "%s", sp_error());
        return;
    }
    sp_graph_infer(g);
    int ok = sp_group_find(g, sp_graph_find(g, "layer1.0.bn2"), &grp) == 0 && !grp.prunable &&
             sp_group_find(g, sp_graph_find(g, "relu"), &grp) == 0 && !grp.prunable &&
             sp_group_find(g, sp_graph_find(g, "linear"), &grp) == 0 && !grp.prunable;
    CHECKF(ok, "arch_refused", "%s", sp_error());
    for (int b = 0; b < g->nblock; b++)
        for (int k = 0; k < g->block[b].n; k++)
            ok &= sp_group_find(g, g->block[b].anchor[k], &grp) == 0 && grp.prunable;
    CHECK(ok, "arch_resnet56_all_anchors_prunable");
    sp_graph_free(g);
}

int main(void)
{
    test_groups();
    test_prune_vgg_like();
    test_prune_mobile_like();
    for (size_t i = 0; i < SP_COUNT(arch_cases); i++)
        test_arch_case(&arch_cases[i]);
    test_arch_refused();
    return t_done();
}
