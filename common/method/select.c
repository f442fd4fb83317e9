/* select.c: the classic one-shot criteria and the stage they write
 * (sp-select), and the compression of a trained stage (sp-compress);
 * select.h says what each criterion scores.
 *
 * Both ends speak the stage contract of sp-checkpoint(5): mask nodes
 * after the block's anchors (surgery.h) and the stage.* metadata. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sp/base.h"
#include "sp/prune.h"
#include "sp/select.h"
#include "sp/stage.h"
#include "sp/surgery.h"

static const char *const criterion_names[] = {
    [SP_BY_L1] = "l1", [SP_BY_L2] = "l2", [SP_BY_BN] = "bn", [SP_BY_RANDOM] = "random",
};

const char *sp_criterion_name(sp_criterion by)
{
    return (unsigned)by < SP_COUNT(criterion_names) ? criterion_names[by] : "?";
}

int sp_criterion_parse(const char *name, sp_criterion *by)
{
    for (size_t i = 0; i < SP_COUNT(criterion_names); i++)
        if (strcmp(name, criterion_names[i]) == 0) {
            *by = (sp_criterion)i;
            return 0;
        }
    return sp_errorf("unknown criterion '%s' (l1, l2, bn or random)", name);
}

/* ------------------------------------------------------------------ */
/* Scores                                                              */

static int bn_after(const sp_graph *g, int producer)
{
    for (int j = producer + 1; j < g->n; j++)
        if (g->node[j].op == SP_OP_BN && g->node[j].in[0] == producer)
            return j;
    return -1;
}

int sp_select_scores(const sp_model *m, const char *producer, sp_criterion by, sp_rng *r,
                     double *score)
{
    const sp_graph *g = m->graph;
    int p = sp_graph_find(g, producer);
    if (p < 1 || (g->node[p].op != SP_OP_CONV && g->node[p].op != SP_OP_LINEAR))
        return sp_errorf("the network has no conv or linear layer '%s'", producer);
    int c = g->node[p].cout;
    char name[SP_NAME_MAX + 16];
    if (by == SP_BY_RANDOM) {
        for (int i = 0; i < c; i++)
            score[i] = sp_rng_uniform(r);
        return 0;
    }
    if (by == SP_BY_BN) {
        int bn = bn_after(g, p);
        if (bn < 0)
            return sp_errorf("the criterion bn needs a batch norm after '%s', which has none",
                             producer);
        snprintf(name, sizeof name, "%s.weight", g->node[bn].name);
    } else {
        snprintf(name, sizeof name, "%s.weight", producer);
    }
    const sp_tensor *t = sp_model_tensor(m, name);
    if (!t || t->dtype != SP_F32 || t->ndim < 1 || t->shape[0] != c)
        return sp_errorf("tensor '%s' is missing or does not have %d rows", name, c);
    const float *w = t->data;
    if (by == SP_BY_BN) {
        for (int i = 0; i < c; i++)
            score[i] = fabs((double)w[i]);
        return 0;
    }
    int64_t row = sp_tensor_numel(t) / c;
    for (int i = 0; i < c; i++) {
        double s = 0.0;
        for (int64_t e = 0; e < row; e++) {
            double v = w[(int64_t)i * row + e];
            s += by == SP_BY_L1 ? fabs(v) : v * v;
        }
        score[i] = by == SP_BY_L1 ? s : sqrt(s);
    }
    return 0;
}

int sp_select_count(int c, double rate)
{
    long k = (long)((double)c * rate);   /* floor: both are positive */
    return k < 1 ? 1 : k > c ? c : (int)k;
}

typedef struct ranked { double s; int i; } ranked;

static int cmp_ranked(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (x->s != y->s)
        return x->s > y->s ? -1 : 1;
    return x->i - y->i;
}

void sp_select_top(int c, const double *score, int k, unsigned char *keep)
{
    ranked *r = sp_xmalloc((size_t)(c > 0 ? c : 1) * sizeof *r);
    for (int i = 0; i < c; i++) {
        r[i].s = score[i];
        r[i].i = i;
        keep[i] = 0;
    }
    qsort(r, (size_t)c, sizeof *r, cmp_ranked);
    for (int i = 0; i < k && i < c; i++)
        keep[r[i].i] = 1;
    free(r);
}

/* ------------------------------------------------------------------ */
/* Stage metadata                                                      */

/* Whether the comma-separated list s (may be NULL or "") holds id. */
static int list_has(const char *s, int id)
{
    while (s && *s) {
        char *end;
        long v = strtol(s, &end, 10);
        if (end != s && v == id && (*end == ',' || *end == '\0'))
            return 1;
        s = strchr(s, ',');
        if (s)
            s++;
    }
    return 0;
}

/* "0-12", "1-7", "0, 2-3": the graph's block ids for messages. */
static void block_ids(const sp_graph *g, char *buf, size_t n)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int b = 0; b < g->nblock && len < n; b++) {
        int lo = g->block[b].id, hi = lo;
        while (b + 1 < g->nblock && g->block[b + 1].id == hi + 1)
            hi = g->block[++b].id;
        if (hi == lo)
            len += (size_t)snprintf(buf + len, n - len, "%s%d", len ? ", " : "", lo);
        else
            len += (size_t)snprintf(buf + len, n - len, "%s%d-%d", len ? ", " : "", lo, hi);
    }
}

static int has_twin(const sp_model *m)
{
    for (int i = 0; i < m->n; i++)
        if (strncmp(m->t[i].name, "twin/", 5) == 0)
            return 1;
    return 0;
}

static void remove_twin(sp_model *m)
{
    for (int i = m->n - 1; i >= 0; i--)
        if (strncmp(m->t[i].name, "twin/", 5) == 0)
            sp_model_remove_tensor(m, m->t[i].name);
}

static int has_masks(const sp_graph *g)
{
    for (int i = 1; i < g->n; i++)
        if (g->node[i].op == SP_OP_MASK)
            return 1;
    return 0;
}

/* The block m's stage worked on, from stage.block. */
static int stage_block(const sp_model *m, int *block)
{
    const char *s = sp_model_meta(m, "stage.block");
    char *end;
    long v = s ? strtol(s, &end, 10) : 0;
    if (!s || end == s || *end || v < 0 || v > 1000000)
        return sp_errorf("its stage.block %s%s%s is not a block number", s ? "'" : "(none)",
                         s ? s : "", s ? "'" : "");
    *block = (int)v;
    return 0;
}

/* The block must exist and not be compressed yet; its sites. */
static int block_sites(const sp_model *m, int block, sp_mask_site **sites)
{
    char ids[256];
    *sites = NULL;
    if (!sp_graph_block(m->graph, block)) {
        block_ids(m->graph, ids, sizeof ids);
        return sp_errorf("the network has no block %d (its blocks: %s)", block,
                         m->graph->nblock ? ids : "none");
    }
    if (list_has(sp_model_meta(m, "stage.compressed"), block))
        return sp_errorf("block %d has been compressed already (stage.compressed is '%s')",
                         block, sp_model_meta(m, "stage.compressed"));
    int n = sp_mask_sites(m->graph, block, sites);
    if (n == 0)
        return sp_errorf("block %d has no masked activations", block);
    return n;
}

/* The mask tensor of mask node `node`. */
static sp_tensor *mask_tensor(const sp_model *m, const char *node)
{
    char name[SP_NAME_MAX + 8];
    snprintf(name, sizeof name, "%s.mask", node);
    return sp_model_tensor(m, name);
}

/* ------------------------------------------------------------------ */
/* sp-select                                                           */

int sp_select_stage(sp_model *m, const sp_select_opts *o)
{
    const char *state = sp_model_meta(m, "stage.state");
    if ((state && strcmp(state, "trained") == 0) || has_masks(m->graph))
        return sp_errorf("the network carries a trained stage already (stage.block %s): "
                         "compress it with sp-compress first",
                         sp_model_meta(m, "stage.block") ? sp_model_meta(m, "stage.block") : "?");
    if (!o->kept && !(o->rate > 0 && o->rate <= 1))
        return sp_errorf("the rate %g is not in (0, 1]", o->rate);
    sp_mask_site *s;
    int ns = block_sites(m, o->block, &s);
    if (ns < 0)
        return -1;
    unsigned char **keep = sp_xcalloc((size_t)ns, sizeof *keep);
    int64_t total = 0, kept_total = 0;
    size_t cap = 16 + (size_t)ns * 12, len = 0;
    char *kept = sp_xmalloc(cap);
    kept[0] = '\0';
    sp_rng r;
    sp_rng_init(&r, o->seed, SP_RNG_STREAM_SELECT);
    int rc = 0;
    for (int k = 0; k < ns && rc == 0; k++) {
        int c = s[k].channels;
        int want = sp_round_up(o->kept ? o->kept[k] : sp_select_count(c, o->rate), c, o->round);
        if (want < 1 || want > c) {
            rc = sp_errorf("cannot keep %d of the %d channels of '%s'", want, c, s[k].producer);
            break;
        }
        double *score = sp_xmalloc((size_t)c * sizeof *score);
        keep[k] = sp_xmalloc((size_t)c);
        rc = sp_select_scores(m, s[k].producer, o->by, &r, score);
        if (rc == 0)
            sp_select_top(c, score, want, keep[k]);
        free(score);
        total += c;
        kept_total += want;
        len += (size_t)snprintf(kept + len, cap - len, "%s%d", k ? "," : "", want);
    }
    char crc[16];
    snprintf(crc, sizeof crc, "%08x", (unsigned)sp_model_crc32(m));
    /* A first stage records the original's twin/ tensors, which a later
     * sp-train-mask stage needs (stage.h); a network without a recipe
     * can have no such stage. */
    const sp_recipe *recipe = rc == 0 ? sp_recipe_for(m->original) : NULL;
    int had_twin = has_twin(m);
    if (recipe)
        rc = sp_stage_record_twin(m, recipe);
    if (rc == 0)
        rc = sp_mask_insert(m, o->block);
    if (rc < 0 && !had_twin)
        remove_twin(m);
    for (int k = 0; k < ns && rc == 0; k++)
        for (int j = 0; j < s[k].nmask; j++) {
            float *v = mask_tensor(m, s[k].mask[j])->data;
            for (int c = 0; c < s[k].channels; c++)
                v[c] = keep[k][c] ? 1.0f : 0.0f;
        }
    if (rc == 0) {
        char buf[64];
        for (int i = m->nmeta - 1; i >= 0; i--)
            if (strncmp(m->meta[i].key, "stage.", 6) == 0 &&
                strcmp(m->meta[i].key, "stage.compressed") != 0)
                sp_model_set_meta(m, m->meta[i].key, NULL);
        snprintf(buf, sizeof buf, "%d", o->block);
        sp_model_set_meta(m, "stage.block", buf);
        sp_model_set_meta(m, "stage.state", "trained");
        sp_model_set_meta(m, "stage.by", sp_criterion_name(o->by));
        snprintf(buf, sizeof buf, "%.17g", o->kept ? (double)kept_total / (double)total : o->rate);
        sp_model_set_meta(m, "stage.rate", buf);
        snprintf(buf, sizeof buf, "%llu", (unsigned long long)o->seed);
        sp_model_set_meta(m, "stage.seed", buf);
        sp_model_set_meta(m, "stage.input", crc);
        sp_model_set_meta(m, "stage.kept", kept);
        snprintf(buf, sizeof buf, "%d", o->round);
        sp_model_set_meta(m, "stage.round", o->round > 1 ? buf : NULL);
    }
    for (int k = 0; k < ns; k++)
        free(keep[k]);
    free(keep);
    free(kept);
    free(s);
    return rc;
}

/* Parse "a,b,c" into n positive counts. */
static int parse_kept(const char *s, int n, int *out)
{
    for (int k = 0; k < n; k++) {
        char *end;
        long v = strtol(s, &end, 10);
        if (end == s || v < 1 || v > 1 << 24 || *end != (k + 1 < n ? ',' : '\0'))
            return -1;
        out[k] = (int)v;
        s = end + 1;
    }
    return 0;
}

int sp_select_widths(const sp_model *m, const sp_model *ref, const char *what, int block,
                     int **kept)
{
    *kept = NULL;
    char *a = sp_graph_to_json(m->original), *b = sp_graph_to_json(ref->original);
    int same = strcmp(a, b) == 0;
    free(a);
    free(b);
    if (!same)
        return sp_errorf("%s was pruned from another network: its original graph differs "
                         "from the input's", what);
    sp_mask_site *s;
    int ns = sp_mask_sites(m->graph, block, &s);
    if (ns <= 0)
        return ns < 0 ? -1 : sp_errorf("block %d has no masked activations", block);
    int *k = sp_xcalloc((size_t)ns, sizeof *k);
    const char *state = sp_model_meta(ref, "stage.state");
    int rb, rc = 0;
    if (state && strcmp(state, "trained") == 0 && stage_block(ref, &rb) == 0 && rb == block) {
        const char *list = sp_model_meta(ref, "stage.kept");
        if (!list || parse_kept(list, ns, k) < 0)
            rc = sp_errorf("%s has a stage.kept of %s, not %d channel counts", what,
                           list ? list : "(none)", ns);
    } else if (list_has(sp_model_meta(ref, "stage.compressed"), block)) {
        for (int i = 0; i < ns && rc == 0; i++) {
            int p = sp_graph_find(ref->graph, s[i].producer);
            if (p < 0)
                rc = sp_errorf("%s has no layer '%s'", what, s[i].producer);
            else
                k[i] = ref->graph->node[p].cout;
        }
    } else {
        rc = sp_errorf("%s has neither trained nor compressed block %d", what, block);
    }
    for (int i = 0; i < ns && rc == 0; i++)
        if (k[i] > s[i].channels)
            rc = sp_errorf("%s keeps %d channels of '%s', which has only %d", what, k[i],
                           s[i].producer, s[i].channels);
    free(s);
    if (rc < 0) {
        free(k);
        return -1;
    }
    *kept = k;
    return ns;
}

/* ------------------------------------------------------------------ */
/* sp-compress                                                         */

/* keep[c] = mask != 0, after checking the site's masks. */
static int site_keep(const sp_model *m, const sp_mask_site *s, unsigned char *keep)
{
    const sp_tensor *t[2];
    for (int j = 0; j < s->nmask; j++) {
        t[j] = mask_tensor(m, s->mask[j]);
        if (!t[j] || sp_graph_find(m->graph, s->mask[j]) < 0)
            return sp_errorf("the stage's mask node '%s' is missing", s->mask[j]);
        if (t[j]->dtype != SP_F32 || sp_tensor_numel(t[j]) != s->channels)
            return sp_errorf("the mask '%s' does not have %d values", s->mask[j], s->channels);
    }
    const float *v = t[0]->data;
    int kept = 0;
    for (int c = 0; c < s->channels; c++) {
        keep[c] = v[c] != 0.0f;
        kept += keep[c];
        if (s->nmask == 2 && (((const float *)t[1]->data)[c] != 0.0f) != keep[c])
            return sp_errorf("the tied masks '%s' and '%s' disagree on channel %d", s->mask[0],
                             s->mask[1], c);
    }
    if (kept == 0)
        return sp_errorf("the mask '%s' is all zeros: compressing it would remove every "
                         "channel of '%s'", s->mask[0], s->producer);
    sp_group grp;
    if (sp_group_find(m->graph, sp_graph_find(m->graph, s->anchor), &grp) < 0)
        return -1;
    if (!grp.prunable)
        return sp_errorf("the channels of '%s' cannot be removed: they reach a residual sum, "
                         "a grouped layer or the network's output", s->anchor);
    return 0;
}

int sp_stage_compress(sp_model *m)
{
    const char *state = sp_model_meta(m, "stage.state");
    if (!state || strcmp(state, "trained") != 0)
        return sp_errorf("the checkpoint carries no trained stage to compress (%s%s%s)",
                         state ? "its stage.state is '" : "it has no stage.state",
                         state ? state : "", state ? "'" : "");
    int block;
    if (stage_block(m, &block) < 0)
        return sp_error_prefix("the checkpoint's stage is damaged");
    sp_mask_site *s;
    int ns = block_sites(m, block, &s);
    if (ns < 0)
        return -1;
    unsigned char **keep = sp_xcalloc((size_t)ns, sizeof *keep);
    int rc = 0;
    for (int k = 0; k < ns && rc == 0; k++) {
        keep[k] = sp_xmalloc((size_t)s[k].channels);
        rc = site_keep(m, &s[k], keep[k]);
    }
    for (int k = 0; k < ns && rc == 0; k++)
        rc = sp_prune_channels(m, sp_graph_find(m->graph, s[k].anchor), keep[k]);
    if (rc == 0)
        rc = sp_mask_remove_all(m);
    for (int k = 0; k < ns; k++)
        free(keep[k]);
    free(keep);
    free(s);
    if (rc < 0)
        return -1;
    for (int i = m->n - 1; i >= 0; i--)
        if (strncmp(m->t[i].name, "gen/", 4) == 0 || strncmp(m->t[i].name, "soft/", 5) == 0)
            sp_model_remove_tensor(m, m->t[i].name);
    const char *done = sp_model_meta(m, "stage.compressed");
    char *list = done && *done ? sp_xasprintf("%s,%d", done, block) : sp_xasprintf("%d", block);
    sp_model_set_meta(m, "stage.compressed", list);
    sp_model_set_meta(m, "stage.state", "compressed");
    free(list);
    return 0;
}
