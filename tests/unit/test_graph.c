/* test_graph.c: shape inference, parameter lists, counting and the JSON form
 * of hand-built graphs.  Expected shapes and counts are worked out here from
 * PyTorch's formulas, independently of the code under test. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "sp/base.h"
#include "sp/graph.h"
#include "graphs.h"
#include "testlib.h"

static int pool(sp_graph *g, sp_op op, const char *name, int in, int k, int s, int p)
{
    int i = t_add(g, op, name, in, -1);
    sp_node *n = &g->node[i];
    n->kh = n->kw = k;
    n->sh = n->sw = s;
    n->ph = n->pw = p;
    return i;
}

/* A small network using every operation:
 * 3x32x32 -conv3x3 s1 p1 bias-> 8x32x32 -bn-relu-mask-maxpool2-> 8x16x16
 * -conv3x3 s2 p1-> 16x8x8 -bn-relu6, shortcut pad(4,4) of the pooled 8x16x16
 * -> 16x8x8, add -> dw conv 3x3 p1 -> avgpool 2 -> 16x4x4
 * -adaptive(1)-> 16x1x1 -flatten-> 16 -linear(16,12)-relu-dropout-linear(12,10). */
static sp_graph *small_net(void)
{
    sp_graph *g = sp_graph_new("tiny", 3, 32, 32);
    g->classes = 10;
    int x = t_conv(g, "c1", 0, 3, 8, 3, 1, 1, 1, 1);
    x = t_chan(g, SP_OP_BN, "bn1", x, 8);
    x = t_add(g, SP_OP_RELU, "relu1", x, -1);
    x = t_chan(g, SP_OP_MASK, "m1", x, 8);
    int p = pool(g, SP_OP_MAXPOOL, "pool1", x, 2, 2, 0);
    x = t_conv(g, "c2", p, 8, 16, 3, 2, 1, 1, 0);
    x = t_chan(g, SP_OP_BN, "bn2", x, 16);
    x = t_add(g, SP_OP_RELU6, "relu2", x, -1);
    int s = t_add(g, SP_OP_PAD_SHORTCUT, "short", p, -1);
    g->node[s].sh = g->node[s].sw = 2;
    g->node[s].pad_lo = g->node[s].pad_hi = 4;
    x = t_add(g, SP_OP_ADD, "sum", x, s);
    x = t_conv(g, "dw", x, 16, 16, 3, 1, 1, 16, 0);
    x = pool(g, SP_OP_AVGPOOL, "avg", x, 2, 2, 0);
    x = t_add(g, SP_OP_ADAPTIVE_AVGPOOL, "gap", x, -1);
    g->node[x].oh = g->node[x].ow = 1;
    x = t_add(g, SP_OP_FLATTEN, "flat", x, -1);
    x = t_linear(g, "fc1", x, 16, 12, 1);
    x = t_add(g, SP_OP_RELU, "relu3", x, -1);
    x = t_add(g, SP_OP_DROPOUT, "drop", x, -1);
    g->node[x].p = 0.5f;
    t_linear(g, "fc2", x, 12, 10, 0);
    sp_block *b = sp_graph_add_block(g, 0);
    b->anchor[b->n++] = sp_graph_find(g, "m1");
    b = sp_graph_add_block(g, 1);
    b->anchor[b->n++] = sp_graph_find(g, "drop");
    return g;
}

static int shape_is(const sp_graph *g, const char *name, int c, int h, int w)
{
    int i = sp_graph_find(g, name);
    return i >= 0 && g->node[i].c == c && g->node[i].h == h && g->node[i].w == w;
}

static void test_infer(void)
{
    sp_graph *g = small_net();
    CHECKF(sp_graph_infer(g) == 0, "infer_small", "%s", sp_error());
    CHECK(shape_is(g, "c1", 8, 32, 32) && shape_is(g, "pool1", 8, 16, 16) &&
          shape_is(g, "c2", 16, 8, 8) && shape_is(g, "short", 16, 8, 8) &&
          shape_is(g, "sum", 16, 8, 8) && shape_is(g, "avg", 16, 4, 4) &&
          shape_is(g, "gap", 16, 1, 1) && shape_is(g, "flat", 16, 1, 1) &&
          shape_is(g, "fc2", 10, 1, 1), "infer_shapes");
    CHECK(g->node[sp_graph_find(g, "c1")].groups == 1, "default_groups");
    CHECK(g->node[sp_graph_find(g, "bn1")].eps == 1e-5f &&
          g->node[sp_graph_find(g, "bn1")].momentum == 0.1f, "default_bn");
    CHECK(sp_graph_find(g, "nope") == -1, "find_absent");
    CHECK(sp_graph_block(g, 1) && sp_graph_block(g, 1)->anchor[0] == sp_graph_find(g, "drop") &&
          !sp_graph_block(g, 7), "blocks");
    sp_graph_free(g);

    /* ImageNet stem: 224 -7x7 s2 p3-> 112 -max 3 s2 p1-> 56; odd sizes floor. */
    g = sp_graph_new(NULL, 3, 224, 223);
    int x = t_conv(g, "stem", 0, 3, 64, 7, 2, 3, 1, 0);
    x = pool(g, SP_OP_MAXPOOL, "mp", x, 3, 2, 1);
    int s = t_add(g, SP_OP_PAD_SHORTCUT, "sc", x, -1);
    g->node[s].sh = g->node[s].sw = 2;
    g->node[s].pad_lo = 1;
    CHECKF(sp_graph_infer(g) == 0, "infer_stem", "%s", sp_error());
    /* (224+6-7)/2+1 = 112, (223+6-7)/2+1 = 112; (112+2-3)/2+1 = 56; ceil(56/2) = 28 */
    CHECK(shape_is(g, "stem", 64, 112, 112) && shape_is(g, "mp", 64, 56, 56) &&
          shape_is(g, "sc", 65, 28, 28), "infer_floor_ceil");
    sp_graph_free(g);

    g = sp_graph_new(NULL, 16, 7, 7);
    s = t_add(g, SP_OP_PAD_SHORTCUT, "sc", 0, -1);
    g->node[s].sh = g->node[s].sw = 2;
    CHECK(sp_graph_infer(g) == 0 && shape_is(g, "sc", 16, 4, 4), "pad_shortcut_odd");
    sp_graph_free(g);
}

/* Build a graph with one defect and check that inference names the node. */
static void expect_infer_error(const char *test, sp_graph *g, const char *node, const char *word)
{
    int r = sp_graph_infer(g);
    CHECKF(r < 0 && strstr(sp_error(), node) && strstr(sp_error(), word), test,
           "r=%d error '%s'", r, sp_error());
    sp_graph_free(g);
}

static void test_infer_errors(void)
{
    sp_graph *g = sp_graph_new(NULL, 3, 8, 8);
    t_conv(g, "bad.conv", 0, 4, 8, 3, 1, 1, 1, 0);
    expect_infer_error("err_conv_cin", g, "bad.conv", "cin 4");

    g = sp_graph_new(NULL, 3, 2, 2);
    t_conv(g, "big", 0, 3, 8, 5, 1, 1, 1, 0);
    expect_infer_error("err_too_small", g, "big", "too small");

    g = sp_graph_new(NULL, 3, 5, 5);
    int x = pool(g, SP_OP_MAXPOOL, "p1", 0, 2, 2, 0);
    x = pool(g, SP_OP_MAXPOOL, "p2", x, 2, 2, 0);
    pool(g, SP_OP_MAXPOOL, "p3", x, 2, 2, 0);
    expect_infer_error("err_pool_too_small", g, "p3", "too small");

    g = sp_graph_new(NULL, 3, 4, 4);
    x = t_add(g, SP_OP_FLATTEN, "flat", 0, -1);
    t_linear(g, "fc", x, 47, 10, 1);
    expect_infer_error("err_linear_cin", g, "fc", "48");

    g = sp_graph_new(NULL, 3, 4, 4);
    t_linear(g, "fc", 0, 3, 10, 1);
    expect_infer_error("err_linear_not_vector", g, "fc", "flatten");

    g = sp_graph_new(NULL, 3, 4, 4);
    x = t_conv(g, "c", 0, 3, 4, 1, 1, 0, 1, 0);
    t_add(g, SP_OP_ADD, "sum", x, 0);
    expect_infer_error("err_add_shape", g, "sum", "shape");

    g = sp_graph_new(NULL, 3, 4, 4);
    t_chan(g, SP_OP_MASK, "m", 0, 4);
    expect_infer_error("err_mask_channels", g, "m", "4 channels");

    g = sp_graph_new(NULL, 3, 4, 4);
    t_chan(g, SP_OP_BN, "bn", 0, 2);
    expect_infer_error("err_bn_channels", g, "bn", "2 channels");

    g = sp_graph_new(NULL, 3, 4, 4);
    t_add(g, SP_OP_RELU, "r", 0, -1);
    g->node[1].in[0] = 1;
    expect_infer_error("err_self_reference", g, "r", "before");

    g = sp_graph_new(NULL, 6, 4, 4);
    t_conv(g, "gc", 0, 6, 8, 1, 1, 0, 4, 0);
    expect_infer_error("err_groups", g, "gc", "groups 4");

    g = sp_graph_new(NULL, 3, 4, 4);
    t_add(g, SP_OP_RELU, "r", 0, -1);
    CHECK(t_add(g, SP_OP_RELU, "r", 1, -1) < 0 && strstr(sp_error(), "'r'"), "err_duplicate_name");
    sp_graph_free(g);
}

static void test_params(void)
{
    sp_graph *g = small_net();
    sp_param_info *p;
    int n = sp_graph_params(g, &p);
    static const char *const want[] = {
        "c1.weight", "c1.bias", "bn1.weight", "bn1.bias", "bn1.running_mean",
        "bn1.running_var", "bn1.num_batches_tracked", "m1.mask", "c2.weight",
        "bn2.weight", "bn2.bias", "bn2.running_mean", "bn2.running_var",
        "bn2.num_batches_tracked", "dw.weight", "fc1.weight", "fc1.bias", "fc2.weight",
    };
    int ok = n == (int)SP_COUNT(want);
    for (int i = 0; ok && i < n; i++)
        ok = strcmp(p[i].name, want[i]) == 0;
    CHECKF(ok, "params_order", "n=%d", n);
    if (ok) {
        CHECK(p[0].ndim == 4 && p[0].shape[0] == 8 && p[0].shape[1] == 3 &&
              p[0].shape[2] == 3 && p[0].shape[3] == 3 && p[0].learnable, "params_conv");
        CHECK(p[6].dtype == SP_I64 && p[6].ndim == 0 && !p[6].learnable &&
              p[4].dtype == SP_F32 && !p[4].learnable && p[2].learnable, "params_bn");
        CHECK(p[7].ndim == 1 && p[7].shape[0] == 8 && !p[7].learnable &&
              p[7].kind == SP_P_MASK, "params_mask");
        CHECK(p[14].shape[0] == 16 && p[14].shape[1] == 1, "params_depthwise");
        CHECK(p[15].ndim == 2 && p[15].shape[0] == 12 && p[15].shape[1] == 16, "params_linear");
    }
    free(p);
    sp_graph_free(g);
}

static void test_count(void)
{
    sp_graph *g = small_net();
    sp_graph_infer(g);
    sp_count t, *per = calloc((size_t)g->n, sizeof *per);
    sp_graph_count(g, &t, per);
    /* Worked out from the shapes above. */
    int64_t c1 = 8 * 32 * 32 * (27 + 1), bn1 = 2 * 8 * 32 * 32, c2 = 16 * 8 * 8 * 72;
    int64_t bn2 = 2 * 16 * 8 * 8, dw = 16 * 8 * 8 * 9, avg = 16 * 4 * 4, gap = 16 * (16 + 1);
    int64_t fc = 16 * 12 + 12 * 10;
    CHECKF(t.flops_thop == c1 + bn1 + c2 + bn2 + dw + avg + gap + fc, "count_thop",
           "%lld", (long long)t.flops_thop);
    CHECKF(t.macs == 8 * 32 * 32 * 27 + c2 + dw + fc, "count_macs", "%lld", (long long)t.macs);
    int64_t params = (8 * 27 + 8) + 16 + 16 * 72 + 32 + 16 * 9 + (16 * 12 + 12) + 12 * 10;
    CHECKF(t.params == params, "count_params", "%lld", (long long)t.params);
    CHECK(per[sp_graph_find(g, "gap")].flops_thop == gap &&
          per[sp_graph_find(g, "m1")].params == 0 &&
          per[sp_graph_find(g, "relu1")].flops_thop == 0, "count_per_node");
    free(per);
    sp_graph_free(g);
}

static int graphs_equal(const sp_graph *a, const sp_graph *b)
{
    if (a->n != b->n || a->nblock != b->nblock || strcmp(a->arch, b->arch) || a->classes != b->classes)
        return 0;
    for (int i = 0; i < a->n; i++)
        if (memcmp(&a->node[i], &b->node[i], sizeof a->node[i]))
            return 0;
    for (int i = 0; i < a->nblock; i++)
        if (memcmp(&a->block[i], &b->block[i], sizeof a->block[i]))
            return 0;
    return 1;
}

static void test_json(void)
{
    sp_graph *g = small_net();
    sp_graph_infer(g);
    char *s = sp_graph_to_json(g);
    sp_graph *r = sp_graph_from_json(s);
    CHECKF(r != NULL, "json_read", "%s", sp_error());
    if (r) {
        CHECK(graphs_equal(g, r), "json_roundtrip");
        char *s2 = sp_graph_to_json(r);
        CHECK(strcmp(s, s2) == 0, "json_stable");
        free(s2);
        CHECK(strstr(s, "\"eps\":1e-05") != NULL, "json_float_short");
        CHECK(strstr(s, "{\"op\":\"relu\",\"name\":\"relu1\",\"inputs\":[2]}") != NULL,
              "json_only_relevant");
    }
    sp_graph *c = sp_graph_clone(g);
    CHECK(graphs_equal(g, c), "clone_equal");
    c->node[1].cout = 99;
    c->block[0].anchor[0] = 2;
    CHECK(g->node[1].cout == 8 && g->block[0].anchor[0] == sp_graph_find(g, "m1"), "clone_deep");
    sp_graph_free(c);
    sp_graph_free(r);
    free(s);
    sp_graph_free(g);
}

static const char *head = "{\"arch\":\"x\",\"classes\":2,\"input\":[3,8,8],\"nodes\":["
                          "{\"op\":\"input\",\"name\":\"input\",\"inputs\":[]},";

static void expect_json_error(const char *test, const char *nodes, const char *tail,
                              const char *word)
{
    char *s = sp_xasprintf("%s%s]%s}", head, nodes, tail);
    sp_graph *g = sp_graph_from_json(s);
    CHECKF(!g && strstr(sp_error(), word), test, "error '%s'", g ? "(accepted)" : sp_error());
    sp_graph_free(g);
    free(s);
}

static void test_json_errors(void)
{
    const char *conv = "{\"op\":\"conv\",\"name\":\"c\",\"inputs\":[0],\"cin\":3,\"cout\":4,"
                       "\"kernel\":[3,3],\"stride\":[1,1],\"padding\":[1,1],\"groups\":1,"
                       "\"bias\":false}";
    char *ok = sp_xasprintf("%s%s]}", head, conv);
    sp_graph *g = sp_graph_from_json(ok);
    CHECKF(g && g->n == 2 && g->node[1].c == 4 && g->node[1].h == 8, "json_minimal", "%s",
           sp_error());
    sp_graph_free(g);
    free(ok);

    expect_json_error("json_unknown_op", "{\"op\":\"gelu\",\"name\":\"g\",\"inputs\":[0]}",
                      "", "unknown operation 'gelu'");
    expect_json_error("json_forward_ref", "{\"op\":\"relu\",\"name\":\"r\",\"inputs\":[1]}",
                      "", "earlier node");
    expect_json_error("json_bad_index", "{\"op\":\"relu\",\"name\":\"r\",\"inputs\":[-3]}",
                      "", "earlier node");
    expect_json_error("json_input_count", "{\"op\":\"add\",\"name\":\"a\",\"inputs\":[0]}",
                      "", "2 inputs");
    expect_json_error("json_missing_attr",
                      "{\"op\":\"bn\",\"name\":\"b\",\"inputs\":[0],\"channels\":3,\"eps\":1e-5}",
                      "", "'momentum' is missing");
    expect_json_error("json_extra_attr",
                      "{\"op\":\"relu\",\"name\":\"r\",\"inputs\":[0],\"cin\":3}",
                      "", "'cin' does not belong");
    expect_json_error("json_absurd",
                      "{\"op\":\"mask\",\"name\":\"m\",\"inputs\":[0],\"channels\":1e12}",
                      "", "outside");
    expect_json_error("json_not_integer",
                      "{\"op\":\"mask\",\"name\":\"m\",\"inputs\":[0],\"channels\":2.5}",
                      "", "not an integer");
    expect_json_error("json_bad_name", "{\"op\":\"relu\",\"name\":\"a b\",\"inputs\":[0]}",
                      "", "no valid name");
    expect_json_error("json_dup_name", "{\"op\":\"relu\",\"name\":\"input\",\"inputs\":[0]}",
                      "", "used twice");
    expect_json_error("json_infer",
                      "{\"op\":\"mask\",\"name\":\"m\",\"inputs\":[0],\"channels\":5}",
                      "", "'m' (mask)");
    expect_json_error("json_bad_anchor", "{\"op\":\"relu\",\"name\":\"r\",\"inputs\":[0]}",
                      ",\"blocks\":[{\"id\":0,\"anchors\":[\"q\"]}]", "anchor q");
    expect_json_error("json_two_inputs_nodes", "{\"op\":\"input\",\"name\":\"i2\",\"inputs\":[]}",
                      "", "must be the input");
    g = sp_graph_from_json("{\"arch\":");
    CHECK(!g && strstr(sp_error(), "not valid JSON"), "json_syntax");
    g = sp_graph_from_json("{\"arch\":\"x\",\"classes\":2,\"input\":[3,0,8],\"nodes\":[]}");
    CHECK(!g && strstr(sp_error(), "input"), "json_bad_input");
}

/* The JSON of the largest graph the reader takes: a chain of 65,535 ReLUs
 * with names alike for their first 24 characters, 4,096 blocks of 8
 * anchors; dup > 0 names the last node as node dup. */
static char *chain_json(int n, int dup)
{
    size_t cap = (size_t)n * 96 + 4096 * 128 + 256, len = 0;
    char *s = sp_xmalloc(cap);
    len += (size_t)snprintf(s + len, cap - len, "%s", head);
    for (int i = 1; i < n; i++)
        len += (size_t)snprintf(s + len, cap - len,
                                "%s{\"op\":\"relu\",\"name\":\"features.stage.block.relu.%d\","
                                "\"inputs\":[%d]}", i > 1 ? "," : "",
                                dup > 0 && i == n - 1 ? dup : i, i - 1);
    len += (size_t)snprintf(s + len, cap - len, "],\"blocks\":[");
    for (int b = 0; b < 4096; b++) {
        len += (size_t)snprintf(s + len, cap - len, "%s{\"id\":%d,\"anchors\":[", b ? "," : "",
                                b);
        for (int k = 0; k < 8; k++)
            len += (size_t)snprintf(s + len, cap - len, "%s\"features.stage.block.relu.%d\"",
                                    k ? "," : "", 1 + (b * 8 + k) * 7 % (n - 2));
        len += (size_t)snprintf(s + len, cap - len, "]}");
    }
    snprintf(s + len, cap - len, "]}");
    return s;
}

/* Names are checked for duplicates and anchors found in n log n: a pairwise
 * check of this graph costs about 2^31 comparisons (9 s of CPU at -O2),
 * n log n about 0.3 s. */
static void test_json_large(void)
{
    int n = 1 << 16;
    char *s = chain_json(n, 0);
    clock_t t0 = clock();
    sp_graph *g = sp_graph_from_json(s);
    double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
    CHECKF(g && g->n == n && g->nblock == 4096 &&
           g->block[4095].anchor[7] == 1 + (4095 * 8 + 7) * 7 % (n - 2), "json_large",
           "%s", g ? "wrong nodes or anchors" : sp_error());
    CHECKF(secs < 4, "json_large_fast", "%.1f s of CPU for %d nodes", secs, n);
    CHECKF(g && sp_graph_check_names(g) == 0, "check_names_large", "%s", sp_error());
    if (g) {
        snprintf(g->node[n / 2].name, SP_NAME_MAX, "%s", g->node[n / 3].name);
        CHECKF(sp_graph_check_names(g) < 0 && strstr(sp_error(), "used twice") &&
               strstr(sp_error(), g->node[n / 3].name), "check_names_large_dup", "%s",
               sp_error());
    }
    sp_graph_free(g);
    free(s);
    s = chain_json(n, 12345);
    g = sp_graph_from_json(s);
    CHECKF(!g && strstr(sp_error(), "node 65535") && strstr(sp_error(), "relu.12345' is used twice"),
           "json_large_dup", "%s", g ? "(accepted)" : sp_error());
    sp_graph_free(g);
    free(s);
}

static void test_op_names(void)
{
    int ok = 1;
    for (int i = 0; i < SP_OP_COUNT; i++) {
        sp_op op;
        ok &= sp_op_parse(sp_op_name((sp_op)i), &op) == 0 && op == (sp_op)i;
    }
    sp_op op;
    CHECK(ok && strcmp(sp_op_name(SP_OP_CONV), "conv") == 0 && sp_op_parse("Conv", &op) < 0,
          "op_names");
}

/* Counts that would pass 2^63 make the graph invalid instead of wrapping
 * to negative numbers; one just inside stays exact. */
static void test_count_overflow(void)
{
    sp_graph *g = sp_graph_new("huge", 1 << 20, 65536, 65536);
    t_conv(g, "c", 0, 1 << 20, 1 << 20, 1, 1, 0, 1, 0);
    CHECKF(sp_graph_infer(g) < 0 && strstr(sp_error(), "too large"), "count-overflow-refused",
           "%s", sp_error());
    sp_graph_free(g);
    g = sp_graph_new("big", 1, 65536, 65536);
    t_conv(g, "c", 0, 1, 4096, 1, 1, 0, 1, 0);
    sp_count c;
    int rc = sp_graph_infer(g);
    sp_graph_count(g, &c, NULL);
    CHECKF(rc == 0 && c.macs == ((int64_t)1 << 44) && c.params == 4096, "count-large-exact",
           "rc %d macs %lld params %lld", rc, (long long)c.macs, (long long)c.params);
    sp_graph_free(g);
}

int main(void)
{
    test_count_overflow();
    test_infer();
    test_infer_errors();
    test_params();
    test_count();
    test_json();
    test_json_errors();
    test_json_large();
    test_op_names();
    return t_done();
}
