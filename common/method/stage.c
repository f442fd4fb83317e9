/* stage.c: one pruning stage as hooks around the training loop
 * (sp-method(7), steps 1-7; stage.h says what happens when). */
#include <stdlib.h>
#include <string.h>
#include "sp/base.h"
#include "sp/surgery.h"
#include "stage_priv.h"

int sp_stage_lr_step(const sp_stage_opts *o)
{
    if (o->recipe->family == SP_FAMILY_VGG)
        return 2;
    return o->epochs / 2 > 0 ? o->epochs / 2 : o->epochs + 1;
}

/* The twin's ranked layers (the ranking pool, sp-method(7) step 2): the
 * VGG recipes rank every conv and linear layer (VGG CIFAR-100: the convs
 * at conv blocks, the linears at linear blocks); the others, and every
 * recipe with --pool masked, the producers of every block's anchors. */
static char **ranking_pool(const sp_model *m, const sp_stage_opts *o, int *n)
{
    const sp_graph *g = m->original;
    char **names = sp_xcalloc((size_t)g->n, sizeof *names);
    *n = 0;
    if (o->recipe->family == SP_FAMILY_VGG && !o->pool_masked) {
        sp_mask_site *cur;
        int nc = sp_mask_sites(g, o->block, &cur), linear_block = 0;
        if (nc > 0)
            linear_block = g->node[sp_graph_find(g, cur[0].producer)].op == SP_OP_LINEAR;
        free(cur);
        for (int i = 1; i < g->n; i++) {
            sp_op op = g->node[i].op;
            if (op != SP_OP_CONV && op != SP_OP_LINEAR)
                continue;
            if (o->recipe->pool_split && (op == SP_OP_LINEAR) != linear_block)
                continue;
            names[(*n)++] = sp_xasprintf("%s.weight", g->node[i].name);
        }
        return names;
    }
    for (int b = 0; b < g->nblock; b++) {
        sp_mask_site *ms;
        int ns = sp_mask_sites(g, g->block[b].id, &ms);
        for (int k = 0; k < ns && *n < g->n; k++)
            names[(*n)++] = sp_xasprintf("%s.weight", ms[k].producer);
        if (ns > 0)
            free(ms);
    }
    return names;
}

static void site_alloc(site *s, int window)
{
    size_t c = (size_t)s->c;
    s->p = sp_xcalloc(c * s->khw, sizeof *s->p);
    s->m = sp_xcalloc(c, sizeof *s->m);
    s->t = sp_xcalloc(c, sizeof *s->t);
    s->dm = sp_xcalloc(c, sizeof *s->dm);
    s->tmp = sp_xcalloc(c, sizeof *s->tmp);
    s->win = sp_xcalloc(c * window, sizeof *s->win);
    s->index = sp_xcalloc(c, sizeof *s->index);
    s->hard = sp_xcalloc(c, sizeof *s->hard);
    s->soft = sp_xcalloc(c, sizeof *s->soft);
    s->best_index = sp_xcalloc(c, sizeof *s->best_index);
    s->best_soft = sp_xcalloc(c, sizeof *s->best_soft);
}

static void site_free(site *s)
{
    sp_gen_free(&s->gen);
    sp_gen_free(&s->best_gen);
    sp_beta_free(&s->beta);
    free(s->p), free(s->m), free(s->t), free(s->dm), free(s->tmp), free(s->win);
    free(s->index), free(s->hard), free(s->soft), free(s->best_index), free(s->best_soft);
}

static int build_sites(sp_stage *st, const sp_model *m)
{
    const sp_stage_opts *o = &st->o;
    sp_mask_site *ms;
    int n = sp_mask_sites(m->graph, o->block, &ms);
    if (n < 0)
        return -1;
    if (n == 0)
        return sp_errorf("block %d has no masked activations", o->block);
    st->ns = n;
    st->s = sp_xcalloc((size_t)n, sizeof *st->s);
    int nbeta = sp_beta_length(o->epochs, o->batches, o->beta_range);
    sp_rng r;
    sp_rng_init(&r, o->seed, SP_RNG_STREAM_GEN);
    int rc = 0;
    for (int k = 0; k < n && rc == 0; k++) {
        site *s = &st->s[k];
        char w[SP_NAME_MAX + 8];
        snprintf(w, sizeof w, "%s.weight", ms[k].producer);
        s->layer = sp_twin_find(&st->tw, w);
        if (s->layer < 0 || !st->tw.l[s->layer].ranked || ms[k].nmask < 1) {
            rc = sp_errorf("the producer '%s' of block %d is not among the ranked layers",
                           ms[k].producer, o->block);
            break;
        }
        const twin_layer *l = &st->tw.l[s->layer];
        s->nmask = ms[k].nmask;
        for (int j = 0; j < s->nmask; j++)
            snprintf(s->mask[j], sizeof s->mask[j], "%s.mask", ms[k].mask[j]);
        s->c = l->cout;
        s->khw = l->khw;
        site_alloc(s, o->window);
        sp_gen_alloc(&s->gen, s->c, s->khw);
        sp_gen_alloc(&s->best_gen, s->c, s->khw);
        int linear = l->khw == 1 && st->tw.m->graph->node[sp_graph_find(st->tw.m->graph,
                                                           ms[k].producer)].op == SP_OP_LINEAR;
        sp_gen_init_params(&s->gen, o->recipe->family == SP_FAMILY_MOBILENET
                                        ? SP_GEN_INIT_MOBILENET
                                        : linear ? SP_GEN_INIT_LINEAR : SP_GEN_INIT_CONV, &r);
        sp_beta_init(&s->beta, o->beta0, o->beta1, nbeta);
        s->lambda = 0.1f;
        if (o->twin_current_scale != 1.0)
            st->tw.l[s->layer].scale = (float)o->twin_current_scale;
    }
    free(ms);
    if (rc < 0)
        return -1;
    if (o->recipe->family == SP_FAMILY_VGG) {
        st->gate = 20;
        st->bump = 0.2f;
    } else {
        st->gate = o->recipe->gate_mult * (nbeta / (o->epochs > 0 ? o->epochs : 1));
        st->bump = 1.0f;
    }
    return 0;
}

/* ---- the hooks -------------------------------------------------------- */

static int upload_masks(sp_exec *e, const site *s, const float *v)
{
    for (int j = 0; j < s->nmask; j++)
        if (sp_exec_param_upload(e, s->mask[j], v) < 0)
            return -1;
    return 0;
}

static int epoch_begin(void *ctx, sp_exec *e, int epoch, int64_t batch)
{
    sp_stage *st = ctx;
    (void)e;
    st->epoch = epoch;
    if (batch == 0)
        st->wcount = 0;     /* the window restarts with every epoch */
    return 0;
}

/* Scores -> targets -> P maps -> soft masks (steps 1 to 4). */
static int before_forward(void *ctx, sp_exec *e, const float *images, const int32_t *labels,
                          int n, int64_t step, int64_t batch)
{
    sp_stage *st = ctx;
    const sp_stage_opts *o = &st->o;
    twin *tw = &st->tw;
    st->step = step;
    if (batch % o->beta_range == 0)
        for (int k = 0; k < st->ns; k++)
            sp_beta_advance(&st->s[k].beta);
    if (sp_twin_sense(tw, o, images, labels, n, step) < 0)
        return -1;
    int nl = 0, *width = sp_xmalloc((size_t)tw->nl * sizeof *width);
    const float **scores = sp_xmalloc((size_t)tw->nl * sizeof *scores);
    float **target = sp_xcalloc((size_t)tw->nl, sizeof *target);
    int *slot = sp_xmalloc((size_t)tw->nl * sizeof *slot);
    double pool_total = 0.0;
    for (int i = 0; i < tw->nl; i++) {
        slot[i] = -1;
        if (!tw->l[i].ranked)
            continue;
        slot[i] = nl;
        width[nl] = tw->l[i].cout;
        scores[nl] = tw->l[i].score;
        for (int c = 0; c < tw->l[i].cout; c++)
            pool_total += tw->l[i].score[c];
        nl++;
    }
    for (int k = 0; k < st->ns; k++)
        target[slot[st->s[k].layer]] = st->s[k].t;
    sp_fallback fb = o->recipe->family == SP_FAMILY_VGG ? SP_FALLBACK_VGG : SP_FALLBACK_ZERO;
    int rc = sp_rank_targets(nl, width, scores, o->rate, o->sort_layer, fb, target);
    for (int k = 0; k < st->ns && rc == 0; k++) {
        site *s = &st->s[k];
        const twin_layer *l = &tw->l[s->layer];
        double z = 0.0;
        if (o->recipe->family == SP_FAMILY_VGG)
            for (int c = 0; c < s->c; c++)
                z += l->score[c];
        else
            z = pool_total;
        double f = o->ssty_scale / (z > 0 ? z : 1.0);
        for (int q = 0; q < s->c * s->khw; q++)
            s->p[q] = (float)(l->map[q] * f);
        s->beta_used = s->beta.beta;
        sp_gen_forward(&s->gen, s->p, s->beta_used, s->m);
        rc = upload_masks(e, s, s->m);
    }
    free(width), free(scores), free(target), free(slot);
    return rc;
}

static double loss(void *ctx, sp_exec *e)
{
    sp_stage *st = ctx;
    (void)e;
    st->l1 = 0.0;
    for (int k = 0; k < st->ns; k++)
        st->l1 += sp_gen_l1(st->s[k].c, st->s[k].m, st->s[k].t, st->s[k].lambda);
    return st->l1;
}

static void window_update(sp_stage *st)
{
    int n = st->ns;
    const char **names = sp_xmalloc((size_t)n * sizeof *names);
    int *ch = sp_xmalloc((size_t)n * sizeof *ch), *kept = sp_xmalloc((size_t)n * sizeof *kept);
    float *beta = sp_xmalloc((size_t)n * sizeof *beta), *lam = sp_xmalloc((size_t)n * sizeof *lam);
    double *two = sp_xmalloc((size_t)n * sizeof *two);
    sp_vote vote = st->o.recipe->family == SP_FAMILY_MOBILENET ? SP_VOTE_MEAN : SP_VOTE_MAJORITY;
    for (int k = 0; k < n; k++) {
        site *s = &st->s[k];
        const float *last = s->win + (size_t)(st->wcount - 1) * s->c;
        sp_window_index(st->wcount, s->c, s->win, vote, s->index, s->soft);
        s->have_index = 1;
        s->two_side = sp_two_side(s->c, last);
        s->lambda = sp_lambda_update(s->c, s->index, sp_share_ones(s->c, s->t));
        sp_beta_bump(&s->beta, s->two_side, st->gate, st->bump);
        names[k] = s->mask[0];
        ch[k] = s->c;
        kept[k] = 0;
        for (int c = 0; c < s->c; c++)
            kept[k] += s->index[c] != 0.0f;
        beta[k] = s->beta.beta;
        lam[k] = s->lambda;
        two[k] = s->two_side;
    }
    st->wcount = 0;
    if (st->on_window) {
        sp_stage_report r = {st->step + 1, st->epoch, n, names, ch, kept, beta, lam, two};
        st->on_window(st->ctx, &r);
    }
    free(names), free(ch), free(kept), free(beta), free(lam), free(two);
}

/* The masks' gradients reach the generators; their SGD step; the window
 * (steps 5, 6). */
static int after_step(void *ctx, sp_exec *e, const sp_sgd_opts *sgd)
{
    sp_stage *st = ctx;
    for (int k = 0; k < st->ns; k++) {
        site *s = &st->s[k];
        memset(s->dm, 0, (size_t)s->c * sizeof *s->dm);
        for (int j = 0; j < s->nmask; j++) {   /* a tied mask: gradients summed */
            if (sp_exec_grad_download(e, s->mask[j], s->tmp) < 0)
                return -1;
            for (int c = 0; c < s->c; c++)
                s->dm[c] += s->tmp[c];
        }
        sp_gen_backward(&s->gen, s->p, s->beta_used, s->m, s->t, s->lambda, s->dm);
        sp_gen_sgd(&s->gen, sgd->lr, sgd->momentum, sgd->weight_decay);
        memcpy(s->win + (size_t)st->wcount * s->c, s->m, (size_t)s->c * sizeof *s->m);
    }
    if (++st->wcount == st->o.window)
        window_update(st);
    return 0;
}

static int before_validate(void *ctx, sp_exec *e)
{
    sp_stage *st = ctx;
    for (int k = 0; k < st->ns; k++) {
        site *s = &st->s[k];
        if (!s->have_index)
            return sp_errorf("an epoch ended before its first full window of %d steps; "
                             "use more training images, a smaller --batch or a smaller "
                             "--window", st->o.window);
        memcpy(s->hard, s->index, (size_t)s->c * sizeof *s->hard);
        sp_index_round(s->c, s->soft, s->hard, st->o.round);
        if (upload_masks(e, s, s->hard) < 0)
            return -1;
    }
    return 0;
}

static void copy_gen(sp_generator *dst, const sp_generator *src)
{
    memcpy(dst->w, src->w, (size_t)src->c * src->c * src->khw * sizeof *dst->w);
    memcpy(dst->b, src->b, (size_t)src->c * sizeof *dst->b);
}

static void best(void *ctx)
{
    sp_stage *st = ctx;
    for (int k = 0; k < st->ns; k++) {
        site *s = &st->s[k];
        copy_gen(&s->best_gen, &s->gen);
        memcpy(s->best_index, s->hard, (size_t)s->c * sizeof *s->hard);
        memcpy(s->best_soft, s->soft, (size_t)s->c * sizeof *s->soft);
    }
}

sp_stage *sp_stage_new(sp_backend *b, sp_model *m, const sp_stage_opts *o)
{
    sp_stage *st = sp_xcalloc(1, sizeof *st);
    st->o = *o;
    st->b = b;
    int nr;
    char **ranked = ranking_pool(m, o, &nr);
    int rc = sp_twin_init(&st->tw, b, m, o, (const char *const *)ranked, nr);
    for (int i = 0; i < nr; i++)
        free(ranked[i]);
    free(ranked);
    if (rc < 0 || build_sites(st, m) < 0) {
        sp_stage_free(st);
        return NULL;
    }
    st->key = sp_xasprintf("stage: block=%d rate=%.9g sort=%d pool=%d window=%d range=%d "
                           "beta=%.9g,%.9g ssty=%d,%.9g,%.9g", o->block, o->rate, o->sort_layer,
                           o->pool_masked, o->window, o->beta_range, o->beta0, o->beta1,
                           (int)o->ssty_loss, o->ssty_scale, o->twin_current_scale);
    if (o->round > 1) {       /* the keys of earlier runs stay as they were */
        char *k = sp_xasprintf("%s round=%d", st->key, o->round);
        free(st->key);
        st->key = k;
    }
    return st;
}

void sp_stage_free(sp_stage *st)
{
    if (!st)
        return;
    sp_twin_free(&st->tw);
    for (int k = 0; k < st->ns; k++)
        site_free(&st->s[k]);
    free(st->s);
    free(st->key);
    free(st);
}

const sp_train_hooks *sp_stage_hooks(sp_stage *st,
                                     void (*on_window)(void *ctx, const sp_stage_report *r),
                                     void *ctx)
{
    sp_train_hooks h = {st, epoch_begin, before_forward, loss, after_step, before_validate,
                        best, sp_stage_finish, sp_stage_save, sp_stage_load, st->key};
    st->hooks = h;
    st->on_window = on_window;
    st->ctx = ctx;
    return &st->hooks;
}
