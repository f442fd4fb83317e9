/* stage_state.c: the stage in files.  The resume state holds everything
 * the hooks carry from step to step (generators and their momentum, beta
 * schedules and positions, lambdas, the window, the last and the best
 * index); the stage's output holds the best epoch's generators, mean soft
 * masks and the stage.* metadata of sp-checkpoint(5). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sp/base.h"
#include "stage_priv.h"

typedef struct part {
    const char *prefix;
    float *(*data)(site *s);
    int64_t (*count)(const sp_stage *st, const site *s);
} part;

static int64_t n_c(const sp_stage *st, const site *s) { (void)st; return s->c; }
static int64_t n_w(const sp_stage *st, const site *s) { (void)st; return (int64_t)s->c * s->c * s->khw; }
static int64_t n_beta(const sp_stage *st, const site *s) { (void)st; return s->beta.n; }
static int64_t n_win(const sp_stage *st, const site *s) { return (int64_t)st->o.window * s->c; }
static float *d_w(site *s) { return s->gen.w; }
static float *d_b(site *s) { return s->gen.b; }
static float *d_vw(site *s) { return s->gen.vw; }
static float *d_vb(site *s) { return s->gen.vb; }
static float *d_bw(site *s) { return s->best_gen.w; }
static float *d_bb(site *s) { return s->best_gen.b; }
static float *d_beta(site *s) { return s->beta.list; }
static float *d_win(site *s) { return s->win; }
static float *d_index(site *s) { return s->index; }
static float *d_soft(site *s) { return s->soft; }
static float *d_bindex(site *s) { return s->best_index; }
static float *d_bsoft(site *s) { return s->best_soft; }

static const part parts[] = {
    {"stage/gen/", d_w, n_w}, {"stage/genbias/", d_b, n_c},
    {"stage/genmom/", d_vw, n_w}, {"stage/genbiasmom/", d_vb, n_c},
    {"stage/bestgen/", d_bw, n_w}, {"stage/bestgenbias/", d_bb, n_c},
    {"stage/beta/", d_beta, n_beta}, {"stage/window/", d_win, n_win},
    {"stage/index/", d_index, n_c}, {"stage/soft/", d_soft, n_c},
    {"stage/bestindex/", d_bindex, n_c}, {"stage/bestsoft/", d_bsoft, n_c},
};

int sp_stage_save(void *ctx, sp_model *state)
{
    sp_stage *st = ctx;
    size_t cap = 64 + (size_t)st->ns * 96, len = 0;
    char *pos = sp_xmalloc(cap);
    len += (size_t)snprintf(pos, cap, "%d", st->wcount);
    for (int k = 0; k < st->ns; k++) {
        site *s = &st->s[k];
        for (size_t i = 0; i < SP_COUNT(parts); i++) {
            char *name = sp_xasprintf("%s%s", parts[i].prefix, s->mask[0]);
            int64_t n = parts[i].count(st, s);
            sp_tensor *t = sp_model_add_tensor(state, name, SP_F32, 1, &n);
            memcpy(t->data, parts[i].data(s), (size_t)n * sizeof(float));
            free(name);
        }
        len += (size_t)snprintf(pos + len, cap - len, " %d %.9g %.9g %.9g %d", s->beta.p,
                                (double)s->lambda, (double)s->beta.beta, s->two_side,
                                s->have_index);
    }
    sp_model_set_meta(state, "stage.resume", pos);
    free(pos);
    return 0;
}

int sp_stage_load(void *ctx, const sp_model *state)
{
    sp_stage *st = ctx;
    const char *pos = sp_model_meta(state, "stage.resume");
    int used = 0;
    if (!pos || sscanf(pos, "%d%n", &st->wcount, &used) != 1 || st->wcount < 0 ||
        st->wcount >= st->o.window)
        return sp_errorf("the resume state is not one of a pruning stage");
    pos += used;
    for (int k = 0; k < st->ns; k++) {
        site *s = &st->s[k];
        for (size_t i = 0; i < SP_COUNT(parts); i++) {
            char *name = sp_xasprintf("%s%s", parts[i].prefix, s->mask[0]);
            const sp_tensor *t = sp_model_tensor(state, name);
            int64_t n = parts[i].count(st, s);
            int ok = t && t->dtype == SP_F32 && sp_tensor_numel(t) == n;
            if (ok)
                memcpy(parts[i].data(s), t->data, (size_t)n * sizeof(float));
            free(name);
            if (!ok)
                return sp_errorf("the resume state lacks the stage's tensors of '%s'",
                                 s->mask[0]);
        }
        float lambda, beta;
        if (sscanf(pos, "%d %g %g %lg %d%n", &s->beta.p, &lambda, &beta, &s->two_side,
                   &s->have_index, &used) != 5 || s->beta.p < 0 || s->beta.p >= s->beta.n)
            return sp_errorf("the resume state's stage position is damaged");
        s->lambda = lambda;
        s->beta.beta = beta;
        pos += used;
    }
    return 0;
}

/* The name without its last component: "features.2.m.mask" ->
 * "features.2.m". */
static char *node_of(const char *mask_tensor)
{
    char *n = sp_xstrdup(mask_tensor);
    char *dot = strrchr(n, '.');
    if (dot)
        *dot = '\0';
    return n;
}

int sp_stage_finish(void *ctx, sp_model *m)
{
    sp_stage *st = ctx;
    size_t cap = 16 + (size_t)st->ns * 12, len = 0;
    char *kept = sp_xmalloc(cap);
    kept[0] = '\0';
    for (int k = 0; k < st->ns; k++) {
        site *s = &st->s[k];
        char *node = node_of(s->mask[0]);
        const sp_graph *g = st->tw.m->graph;
        char *prod = node_of(st->tw.l[s->layer].name);   /* "NAME.weight" -> "NAME" */
        const sp_node *pn = &g->node[sp_graph_find(g, prod)];
        free(prod);
        int conv = pn->op == SP_OP_CONV, ndim = conv ? 4 : 2;
        int64_t wshape[4] = {s->c, s->c, conv ? pn->kh : 1, conv ? pn->kw : 1};
        int64_t c = s->c;
        char *name = sp_xasprintf("gen/%s.weight", node);
        memcpy(sp_model_add_tensor(m, name, SP_F32, ndim, wshape)->data, s->best_gen.w,
               (size_t)s->c * s->c * s->khw * sizeof(float));
        free(name);
        name = sp_xasprintf("gen/%s.bias", node);
        memcpy(sp_model_add_tensor(m, name, SP_F32, 1, &c)->data, s->best_gen.b,
               (size_t)s->c * sizeof(float));
        free(name);
        name = sp_xasprintf("soft/%s", node);
        memcpy(sp_model_add_tensor(m, name, SP_F32, 1, &c)->data, s->best_soft,
               (size_t)s->c * sizeof(float));
        free(name);
        free(node);
        int n = 0;
        for (int ch = 0; ch < s->c; ch++)
            n += s->best_index[ch] != 0.0f;
        len += (size_t)snprintf(kept + len, cap - len, "%s%d", k ? "," : "", n);
    }
    char buf[64];
    snprintf(buf, sizeof buf, "%d", st->o.block);
    sp_model_set_meta(m, "stage.block", buf);
    sp_model_set_meta(m, "stage.state", "trained");
    sp_model_set_meta(m, "stage.by", "sp");
    snprintf(buf, sizeof buf, "%.17g", st->o.rate);
    sp_model_set_meta(m, "stage.rate", buf);
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)st->o.seed);
    sp_model_set_meta(m, "stage.seed", buf);
    sp_model_set_meta(m, "stage.recipe", st->o.recipe->name);
    snprintf(buf, sizeof buf, "%d", st->o.round);
    sp_model_set_meta(m, "stage.round", st->o.round > 1 ? buf : NULL);
    sp_model_set_meta(m, "stage.kept", kept);
    free(kept);
    return 0;
}
