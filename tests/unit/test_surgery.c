/* test_surgery.c: mask nodes in and out of a network (surgery.h).
 *
 * On a hand-built graph whose anchor has two readers, and on every
 * built-in family:
 *   - the sites of each block name the anchors, producers, widths and
 *     mask nodes the contract (STAGE.md) says, the tied second mask of
 *     MobileNetV2 after the depthwise conv's ReLU6 included, and are the
 *     same whether or not the masks are present;
 *   - inserting the masks of every block, one block at a time, rewires
 *     every reader of an anchor to its mask, keeps the block anchors and
 *     the tensors (parameters in order, extra tensors last and unchanged),
 *     fills the masks with 1 and leaves the unfused logits bit for bit as
 *     they were (on the CPU backend: the network before and after is the
 *     oracle, not the backend; 25 s of CPU against the reference's 38);
 *   - the masked network survives a checkpoint write and read;
 *   - removing every mask gives back the original graph's JSON and the
 *     original tensors byte for byte. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sp/arch.h"
#include "sp/backend.h"
#include "sp/base.h"
#include "sp/checkpoint.h"
#include "sp/exec.h"
#include "sp/graph.h"
#include "sp/model.h"
#include "sp/rng.h"
#include "sp/surgery.h"
#include "graphs.h"
#include "testlib.h"

/* ------------------------------------------------------------------ */
/* Helpers                                                             */

/* Batch norms with random statistics, so that nothing is an identity. */
static void randomise_bn(sp_model *m, uint64_t seed)
{
    sp_rng r;
    sp_rng_init(&r, seed, 99);
    sp_param_info *p;
    int np = sp_graph_params(m->graph, &p);
    for (int i = 0; i < np; i++) {
        if (m->graph->node[p[i].node].op != SP_OP_BN || p[i].dtype != SP_F32)
            continue;
        sp_tensor *t = sp_model_tensor(m, p[i].name);
        int64_t n = sp_tensor_numel(t);
        switch (p[i].kind) {
        case SP_P_WEIGHT: sp_rng_fill_uniform(&r, t->data, n, 0.5f, 1.5f); break;
        case SP_P_BIAS: sp_rng_fill_normal(&r, t->data, n, 0.0f, 0.3f); break;
        case SP_P_RUNNING_MEAN: sp_rng_fill_normal(&r, t->data, n, 0.0f, 0.3f); break;
        case SP_P_RUNNING_VAR: sp_rng_fill_uniform(&r, t->data, n, 0.5f, 2.0f); break;
        default: break;
        }
    }
    free(p);
}

static int same_json(const sp_graph *a, const sp_graph *b)
{
    char *ja = sp_graph_to_json(a), *jb = sp_graph_to_json(b);
    int same = strcmp(ja, jb) == 0;
    free(ja);
    free(jb);
    return same;
}

/* Write m to memory and read it back. */
static sp_model *round_trip(const sp_model *m)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    int rc = sp_ckpt_write(f, m);
    fclose(f);
    sp_model *r = NULL;
    if (rc == 0) {
        f = fmemopen(buf, len, "rb");
        r = sp_ckpt_read(f, "memory");
        fclose(f);
    }
    free(buf);
    return r;
}

/* Every reader of node `name` in the original now reads `name`.m, and
 * that mask reads `name`. */
static int rewired(const sp_graph *orig, const sp_graph *g, const char *name)
{
    char mname[SP_NAME_MAX + 2];
    snprintf(mname, sizeof mname, "%s.m", name);
    int a = sp_graph_find(orig, name), na = sp_graph_find(g, name), mk = sp_graph_find(g, mname);
    if (a < 0 || na < 0 || mk < 0 || g->node[mk].op != SP_OP_MASK || g->node[mk].in[0] != na ||
        g->node[mk].cout != g->node[na].c)
        return 0;
    for (int j = a + 1; j < orig->n; j++)
        for (int k = 0; k < 2; k++)
            if (orig->node[j].in[k] == a) {
                int nj = sp_graph_find(g, orig->node[j].name);
                if (nj < 0 || g->node[nj].in[k] != mk)
                    return 0;
            }
    return 1;
}

static int same_sites(const sp_mask_site *a, int na, const sp_mask_site *b, int nb)
{
    if (na != nb)
        return 0;
    for (int k = 0; k < na; k++)
        if (strcmp(a[k].anchor, b[k].anchor) || strcmp(a[k].producer, b[k].producer) ||
            strcmp(a[k].mask[0], b[k].mask[0]) || a[k].nmask != b[k].nmask ||
            (a[k].nmask == 2 && strcmp(a[k].mask[1], b[k].mask[1])) ||
            a[k].channels != b[k].channels)
            return 0;
    return 1;
}

/* ------------------------------------------------------------------ */
/* A hand-built graph: the anchor has two readers                      */

/* 4x6x6 -c1-bn1-relu1 (anchor of block 0) -> c2 -> add(c2, relu1) -flat-fc(3). */
static sp_graph *two_readers(void)
{
    sp_graph *g = sp_graph_new("t", 4, 6, 6);
    int x = t_conv(g, "c1", 0, 4, 4, 3, 1, 1, 1, 1);
    x = t_chan(g, SP_OP_BN, "bn1", x, 4);
    int a = t_add(g, SP_OP_RELU, "relu1", x, -1);
    x = t_conv(g, "c2", a, 4, 4, 3, 1, 1, 1, 0);
    x = t_add(g, SP_OP_ADD, "sum", x, a);
    x = t_add(g, SP_OP_FLATTEN, "flat", x, -1);
    t_linear(g, "fc", x, 144, 3, 1);
    sp_block *b = sp_graph_add_block(g, 0);
    b->anchor[b->n++] = a;
    sp_graph_add_block(g, 5);   /* a block without anchors */
    return g;
}

static void test_hand_built(void)
{
    sp_graph *g = two_readers();
    if (sp_graph_infer(g) < 0) {
        CHECKF(0, "hand_infer", "%s", sp_error());
        sp_graph_free(g);
        return;
    }
    sp_model *m = sp_model_new(g);
    int64_t three = 3;
    sp_model_add_tensor(m, "gen/extra", SP_F32, 1, &three);
    sp_model *orig = sp_model_clone(m);
    sp_mask_site *s;
    int n = sp_mask_sites(m->graph, 0, &s);
    CHECKF(n == 1 && strcmp(s[0].anchor, "relu1") == 0 && strcmp(s[0].producer, "c1") == 0 &&
           strcmp(s[0].mask[0], "relu1.m") == 0 && s[0].nmask == 1 && s[0].channels == 4,
           "hand_sites", "%d sites: %s", n, n > 0 ? s[0].producer : sp_error());
    free(s);
    CHECK(sp_mask_sites(m->graph, 5, &s) == 0 && s == NULL, "hand_sites_empty_block");
    CHECK(sp_mask_sites(m->graph, 3, &s) < 0 && strstr(sp_error(), "no block 3") && s == NULL,
          "hand_sites_unknown_block");
    CHECK(sp_mask_remove_all(m) == 0 && t_same_tensors(m, orig), "hand_remove_nothing");

    int r = sp_mask_insert(m, 0);
    CHECKF(r == 0, "hand_insert", "%s", sp_error());
    const sp_graph *ng = m->graph;
    int mk = sp_graph_find(ng, "relu1.m"), sum = sp_graph_find(ng, "sum");
    CHECK(r == 0 && mk == 4 && ng->n == orig->graph->n + 1 &&
          ng->node[sp_graph_find(ng, "c2")].in[0] == mk && ng->node[sum].in[1] == mk &&
          ng->node[sum].in[0] == sp_graph_find(ng, "c2") &&
          ng->node[sp_graph_find(ng, "flat")].in[0] == sum &&
          ng->block[0].anchor[0] == sp_graph_find(ng, "relu1"), "hand_insert_rewires");
    CHECK(sp_model_check(m) == 0 && m->n == orig->n + 1 &&
          strcmp(m->t[m->n - 1].name, "gen/extra") == 0 &&
          strcmp(m->t[m->n - 2].name, "fc.bias") == 0, "hand_insert_tensors");
    r = sp_mask_insert(m, 0);
    CHECK(r < 0 && strstr(sp_error(), "already"), "hand_insert_twice_refused");
    CHECK(sp_mask_remove_all(m) == 0 && same_json(m->graph, orig->graph) &&
          t_same_tensors(m, orig), "hand_remove_all");
    sp_model_free(orig);
    sp_model_free(m);
}

/* ------------------------------------------------------------------ */
/* The built-in networks                                               */

typedef struct family {
    const char *arch;
    sp_arch_opts opts;
    int batch;
    /* one site to check by name: block, index, anchor, producer, channels, tied mask */
    int block, site;
    const char *anchor, *producer;
    int channels;
    const char *tied;
    int full;         /* also insert, run, write and remove the masks */
} family;

static const family families[] = {
    {"vgg16-cifar", {10, 0, 0, 0}, 2, 0, 0, "features.2", "features.0", 64, NULL, 1},
    {"vgg16-cifar-fc", {100, 0, 0, 0}, 2, 13, 0, "classifier.2", "classifier.0", 4096, NULL, 1},
    {"vgg16", {10, 3, 32, 32}, 1, 12, 0, "features.42", "features.40", 512, NULL, 1},
    {"resnet20", {10, 0, 0, 0}, 2, 2, 0, "layer3.0.relu1", "layer3.0.conv1", 64, NULL, 1},
    {"resnet50-cifar", {10, 0, 0, 0}, 1, 3, 1, "layer4.0.relu2", "layer4.0.conv2", 512, NULL, 1},
    {"mobilenetv2", {10, 3, 64, 64}, 2, 1, 0, "features.2.conv.0.2", "features.2.conv.0.0", 96,
     "features.2.conv.1.2.m", 1},
    {"mobilenetv2", {10, 3, 64, 64}, 2, 7, 0, "features.18.2", "features.18.0", 1280, NULL, 0},
};

/* Each site of every block: mask names, producer and width, tied masks. */
static int sites_ok(const sp_graph *g, const char *arch, char *why, size_t nwhy)
{
    for (int b = 0; b < g->nblock; b++) {
        sp_mask_site *s;
        int id = g->block[b].id, n = sp_mask_sites(g, id, &s);
        if (n != g->block[b].n) {
            snprintf(why, nwhy, "block %d: %d sites (%s)", id, n, sp_error());
            free(s);
            return 0;
        }
        for (int k = 0; k < n; k++) {
            char want[SP_NAME_MAX + 2];
            int p = sp_graph_find(g, s[k].producer);
            int tied = strcmp(arch, "mobilenetv2") == 0 && id < 7;
            snprintf(want, sizeof want, "%s.m", g->node[g->block[b].anchor[k]].name);
            int ok = strcmp(s[k].mask[0], want) == 0 && p > 0 &&
                     (g->node[p].op == SP_OP_CONV || g->node[p].op == SP_OP_LINEAR) &&
                     g->node[p].cout == s[k].channels && s[k].nmask == 1 + tied;
            if (ok && tied) {   /* features.F.conv.0.2 -> features.F.conv.1.2.m */
                snprintf(want, sizeof want, "%s", s[k].anchor);
                char *at = strstr(want, ".conv.0.2");
                ok = at && at[strlen(".conv.0.2")] == '\0';
                if (ok) {
                    at[6] = '1';
                    strcat(want, ".m");
                    ok = strcmp(s[k].mask[1], want) == 0;
                }
            }
            if (!ok) {
                snprintf(why, nwhy, "block %d site %d: %s %s %s %d", id, k, s[k].anchor,
                         s[k].producer, s[k].mask[s[k].nmask - 1], s[k].channels);
                free(s);
                return 0;
            }
        }
        free(s);
    }
    return 1;
}

/* Insert the masks of every block, run, write and read, remove them. */
static void test_masks(sp_backend *be, sp_model *m, const sp_model *orig, const family *f)
{
    char name[192], why[256] = "";
    sp_mask_site *s;
    snprintf(name, sizeof name, "%s_all_sites", f->arch);
    CHECKF(sites_ok(m->graph, f->arch, why, sizeof why), name, "%s", why);

    const sp_node *in = &m->graph->node[0];
    size_t nx = (size_t)f->batch * in->c * in->h * in->w;
    float *x = sp_xmalloc(nx * sizeof *x);
    sp_rng r;
    sp_rng_init(&r, 11, 1);
    sp_rng_fill_uniform(&r, x, (int64_t)nx, -1.0f, 1.0f);
    int classes = 0, classes2 = 0;
    float *before = t_logits_of(be, m, x, f->batch, &classes);

    /* Masks of every block, one block at a time. */
    int nmask = 0, inserted = 1;
    for (int b = 0; b < orig->graph->nblock && inserted; b++) {
        int id = orig->graph->block[b].id;
        inserted = sp_mask_insert(m, id) == 0;
        if (!inserted)
            snprintf(why, sizeof why, "block %d: %s", id, sp_error());
    }
    snprintf(name, sizeof name, "%s_insert", f->arch);
    CHECKF(inserted, name, "%s", why);
    if (!inserted) {
        free(before);
        free(x);
        return;
    }
    int rewire_ok = 1, ones = 1, sites_same = 1;
    for (int b = 0; b < orig->graph->nblock; b++) {
        const sp_block *ob = &orig->graph->block[b], *nb = &m->graph->block[b];
        sp_mask_site *so, *sn;
        int no = sp_mask_sites(orig->graph, ob->id, &so), nn = sp_mask_sites(m->graph, ob->id, &sn);
        sites_same &= same_sites(so, no, sn, nn);
        for (int k = 0; k < no; k++)
            for (int j = 0; j < so[k].nmask; j++) {
                char node[SP_NAME_MAX], tensor[SP_NAME_MAX + 8];
                snprintf(node, sizeof node, "%.*s", (int)strlen(so[k].mask[j]) - 2,
                         so[k].mask[j]);
                rewire_ok &= rewired(orig->graph, m->graph, node);
                snprintf(tensor, sizeof tensor, "%s.mask", so[k].mask[j]);
                const sp_tensor *t = sp_model_tensor(m, tensor);
                ones &= t && sp_tensor_numel(t) == so[k].channels;
                for (int64_t c = 0; t && c < sp_tensor_numel(t); c++)
                    ones &= ((const float *)t->data)[c] == 1.0f;
                nmask++;
            }
        rewire_ok &= nb->n == ob->n;
        for (int k = 0; k < ob->n && k < nb->n; k++)
            rewire_ok &= strcmp(orig->graph->node[ob->anchor[k]].name,
                                m->graph->node[nb->anchor[k]].name) == 0;
        free(so);
        free(sn);
    }
    snprintf(name, sizeof name, "%s_insert_rewires", f->arch);
    CHECK(rewire_ok && m->graph->n == orig->graph->n + nmask, name);
    snprintf(name, sizeof name, "%s_sites_same_with_masks", f->arch);
    CHECK(sites_same, name);
    snprintf(name, sizeof name, "%s_insert_tensors", f->arch);
    CHECKF(ones && sp_model_check(m) == 0 && m->n == orig->n + nmask &&
           strcmp(m->t[m->n - 1].name, "twin/extra") == 0 &&
           memcmp(m->t[m->n - 1].data, orig->t[orig->n - 1].data, 4 * sizeof(float)) == 0,
           name, "%d masks, %d tensors: %s", nmask, m->n, sp_error());
    snprintf(name, sizeof name, "%s_insert_twice_refused", f->arch);
    CHECK(sp_mask_insert(m, orig->graph->block[0].id) < 0 && strstr(sp_error(), "already"),
          name);

    float *after = t_logits_of(be, m, x, f->batch, &classes2);
    snprintf(name, sizeof name, "%s_logits_unchanged", f->arch);
    double err = before && after && classes == classes2
                     ? t_rel_err(after, before, (size_t)f->batch * classes) : -1;
    CHECKF(err == 0.0, name, "relative difference %.3g (%s)", err, sp_error());
    free(after);
    free(before);
    free(x);

    sp_model *back = round_trip(m);
    int ok = back && same_json(back->graph, m->graph) && t_same_tensors(back, m);
    if (ok && sp_mask_sites(back->graph, orig->graph->block[0].id, &s) > 0) {
        int mk = sp_graph_find(back->graph, s[0].mask[s[0].nmask - 1]);
        ok = mk > 0 && back->graph->node[mk].op == SP_OP_MASK;
        free(s);
    }
    snprintf(name, sizeof name, "%s_checkpoint_round_trip", f->arch);
    CHECKF(ok, name, "%s", sp_error());
    sp_model_free(back);

    int rm = sp_mask_remove_all(m);
    snprintf(name, sizeof name, "%s_remove_all", f->arch);
    CHECKF(rm == 0 && same_json(m->graph, orig->graph) && t_same_tensors(m, orig) &&
           sp_model_check(m) == 0, name, "%s", sp_error());
}

static void test_family(sp_backend *be, const family *f)
{
    char test[128];
    snprintf(test, sizeof test, "%s_block%d_site%d", f->arch, f->block, f->site);
    sp_graph *g = sp_arch_build(f->arch, &f->opts);
    if (!g) {
        CHECKF(0, test, "%s", sp_error());
        return;
    }
    sp_model *m = sp_model_new(g);
    sp_arch_init_weights(m, 7);
    randomise_bn(m, 7);
    int64_t four = 4;
    float *extra = sp_model_add_tensor(m, "twin/extra", SP_F32, 1, &four)->data;
    for (int i = 0; i < 4; i++)
        extra[i] = (float)i + 0.5f;
    sp_model *orig = sp_model_clone(m);

    sp_mask_site *s;
    int n = sp_mask_sites(m->graph, f->block, &s);
    const sp_mask_site *x = n > f->site ? &s[f->site] : NULL;
    int ok = x && strcmp(x->anchor, f->anchor) == 0 && strcmp(x->producer, f->producer) == 0 &&
             x->channels == f->channels &&
             (f->tied ? x->nmask == 2 && strcmp(x->mask[1], f->tied) == 0 : x->nmask == 1);
    CHECKF(ok, test, "%d sites; %s", n, x ? x->mask[x->nmask - 1] : sp_error());
    free(s);
    if (f->full)
        test_masks(be, m, orig, f);
    sp_model_free(orig);
    sp_model_free(m);
}

int main(void)
{
    test_hand_built();
    sp_backend *be = sp_backend_create("cpu");
    if (!be) {
        CHECKF(0, "cpu_backend", "%s", sp_error());
        return t_done();
    }
    for (size_t i = 0; i < SP_COUNT(families); i++)
        test_family(be, &families[i]);
    sp_backend_destroy(be);
    return t_done();
}
