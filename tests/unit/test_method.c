/* test_method.c: each piece of a pruning stage against the PyTorch oracle
 * of tests/fixtures/method/gen_method_fixtures.py (sp-method(7) steps
 * 2-6): targets from scores, the connection sensitivity of a twin, the
 * mask generator forward and backward, the window's index, two_side and
 * lambda, and the beta schedule over whole epochs.  test_stage.c checks
 * two whole stage steps. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sp/backend.h"
#include "sp/rng.h"
#include "sp/base.h"
#include "sp/exec.h"
#include "sp/method.h"
#include "sp/torch.h"
#include "testlib.h"

static int meta_int(const t_fixture *f, const char *fmt, int k)
{
    char key[64];
    snprintf(key, sizeof key, fmt, k);
    return atoi(t_fixture_meta(f, key));
}

static double meta_num(const t_fixture *f, const char *fmt, int k)
{
    char key[64];
    snprintf(key, sizeof key, fmt, k);
    return atof(t_fixture_meta(f, key));
}

static const char *meta_str(const t_fixture *f, const char *fmt, int k)
{
    char key[64];
    snprintf(key, sizeof key, fmt, k);
    return t_fixture_meta(f, key);
}

static const sp_tensor *tensor(const t_fixture *f, const char *fmt, int k, int l)
{
    char name[128];
    snprintf(name, sizeof name, fmt, k, l);
    return t_fixture_get(f, name);
}

/* ---- ranking ---------------------------------------------------------- */

static void check_rank(void)
{
    t_fixture f;
    if (t_fixture_read(&f, "method/rank.safetensors") < 0)
        return;
    int cases = atoi(t_fixture_meta(&f, "cases"));
    for (int k = 0; k < cases; k++) {
        int nl = meta_int(&f, "case%d.layers", k);
        int *width = calloc((size_t)nl, sizeof *width);
        const float **scores = calloc((size_t)nl, sizeof *scores);
        float **target = calloc((size_t)nl, sizeof *target);
        for (int l = 0; l < nl; l++) {
            const sp_tensor *s = tensor(&f, "case%d.L%d.scores", k, l);
            width[l] = (int)s->shape[0];
            scores[l] = s->data;
        }
        const sp_tensor *masked = tensor(&f, "case%d.masked", k, 0);
        for (int i = 0; i < masked->shape[0]; i++) {
            int l = ((const int32_t *)masked->data)[i];
            target[l] = calloc((size_t)width[l], sizeof **target);
        }
        int layer = strcmp(meta_str(&f, "case%d.sort", k), "layer") == 0;
        sp_fallback fb = strcmp(meta_str(&f, "case%d.fallback", k), "vgg") == 0
                             ? SP_FALLBACK_VGG : SP_FALLBACK_ZERO;
        int rc = sp_rank_targets(nl, width, (const float *const *)scores,
                                 meta_num(&f, "case%d.rate", k), layer, fb, target);
        int same = rc == 0;
        for (int l = 0; l < nl; l++)
            if (target[l]) {
                const sp_tensor *want = tensor(&f, "case%d.L%d.target", k, l);
                same &= memcmp(target[l], want->data, (size_t)width[l] * sizeof(float)) == 0;
                free(target[l]);
            }
        char name[64];
        snprintf(name, sizeof name, "rank case %d (%s, %s fallback)", k,
                 layer ? "layer" : "global", fb == SP_FALLBACK_VGG ? "vgg" : "zero");
        CHECK(same, name);
        free(width), free(scores), free(target);
    }
    t_fixture_free(&f);
}

/* ---- connection sensitivity of a twin ------------------------------------ */

/* The network of the fixture's tensors, at their (possibly narrow) widths. */
static sp_model *import(const t_fixture *f)
{
    sp_tensor *t = calloc((size_t)f->n, sizeof *t);
    int n = 0;
    for (int i = 0; i < f->n; i++) {
        const char *name = f->t[i].name;
        if (strchr(name, '.') && strncmp(name, "logit.", 6) && strncmp(name, "ce.", 3))
            sp_tensor_copy(&t[n++], &f->t[i]);
    }
    sp_import_opts o = {t_fixture_meta(f, "arch"), 10, 0, 0};
    sscanf(t_fixture_meta(f, "input_size"), "%*dx%dx%d", &o.in_h, &o.in_w);
    sp_model *m = sp_import_model(t, n, &o, f->path);
    if (!m)
        printf("# import: %s\n", sp_error());
    for (int i = 0; i < n; i++)
        sp_tensor_free(&t[i]);
    free(t);
    return m;
}

static void check_sens(sp_backend *b, const char *file, double tol)
{
    t_fixture f;
    if (t_fixture_read(&f, file) < 0)
        return;
    sp_model *m = import(&f);
    CHECKF(m != NULL, file, "cannot build the network: %s", sp_error());
    if (!m) {
        t_fixture_free(&f);
        return;
    }
    const sp_tensor *x = t_fixture_get(&f, "x"), *y = t_fixture_get(&f, "y");
    int n = (int)x->shape[0];
    sp_exec *e = sp_exec_new(b, m, n, 1, 0);
    const char *losses[] = {"logit", "ce"};
    for (int li = 0; li < 2; li++) {
        sp_exec_set_input(e, x->data, y->data, n);
        sp_exec_forward(e, 1);
        float loss = li == 0 ? sp_exec_loss_logit(e) : sp_exec_loss(e);
        sp_exec_backward(e);
        char name[160];
        snprintf(name, sizeof name, "%s.loss", losses[li]);
        const float *want_loss = t_fixture_get(&f, name)->data;
        double worst = fabs(loss - want_loss[0]) / (fabs(want_loss[0]) + 1e-6);
        /* every conv and linear layer's scores and P map */
        for (int i = 1; i < m->graph->n; i++) {
            const sp_node *nd = &m->graph->node[i];
            if (nd->op != SP_OP_CONV && nd->op != SP_OP_LINEAR)
                continue;
            int groups = nd->op == SP_OP_CONV && nd->groups > 0 ? nd->groups : 1;
            int khw = nd->op == SP_OP_CONV ? nd->kh * nd->kw : 1, k = nd->cout;
            char w[SP_NAME_MAX + 8];
            snprintf(w, sizeof w, "%s.weight", nd->name);
            float *sd = b->alloc(b, (size_t)k * sizeof *sd), *md = b->alloc(b, (size_t)k * khw * 4);
            b->conn_sens(b, sd, md, sp_exec_param(e, w), sp_exec_grad(e, w), k, nd->cin / groups, khw);
            float *s = malloc((size_t)k * sizeof *s), *mp = malloc((size_t)k * khw * sizeof *mp);
            b->download(b, s, sd, (size_t)k * sizeof *s);
            b->download(b, mp, md, (size_t)k * khw * sizeof *mp);
            snprintf(name, sizeof name, "%s.%s.score", losses[li], nd->name);
            worst = fmax(worst, t_rel_err(s, t_fixture_get(&f, name)->data, (size_t)k));
            snprintf(name, sizeof name, "%s.%s.pmap", losses[li], nd->name);
            worst = fmax(worst, t_rel_err(mp, t_fixture_get(&f, name)->data, (size_t)k * khw));
            b->free(b, sd), b->free(b, md);
            free(s), free(mp);
        }
        snprintf(name, sizeof name, "%s %s sensitivity (%s loss)", b->name,
                 t_fixture_meta(&f, "arch"), losses[li]);
        CHECKF(worst < tol, name, "worst relative error %.3g", worst);
        sp_exec_upload(e, m);   /* the next loss starts from the stored tensors */
    }
    sp_exec_free(e);
    sp_model_free(m);
    t_fixture_free(&f);
}

/* ---- generators ----------------------------------------------------------- */

static void check_gen(void)
{
    t_fixture f;
    if (t_fixture_read(&f, "method/gen.safetensors") < 0)
        return;
    int cases = atoi(t_fixture_meta(&f, "cases"));
    for (int k = 0; k < cases; k++) {
        int c = meta_int(&f, "case%d.C", k);
        int linear = strcmp(meta_str(&f, "case%d.kind", k), "linear") == 0;
        int kk = linear ? 1 : meta_int(&f, "case%d.k", k);
        float beta = (float)meta_num(&f, "case%d.beta", k);
        float lambda = (float)meta_num(&f, "case%d.lambda", k);
        sp_generator g;
        sp_gen_alloc(&g, c, kk * kk);
        memcpy(g.w, tensor(&f, "case%d.W", k, 0)->data, (size_t)c * c * kk * kk * sizeof(float));
        memcpy(g.b, tensor(&f, "case%d.b", k, 0)->data, (size_t)c * sizeof(float));
        const float *p = tensor(&f, "case%d.P", k, 0)->data, *t = tensor(&f, "case%d.t", k, 0)->data;
        float *m = calloc((size_t)c, sizeof *m);
        sp_gen_forward(&g, p, beta, m);
        double l1 = sp_gen_l1(c, m, t, lambda);
        sp_gen_backward(&g, p, beta, m, t, lambda, tensor(&f, "case%d.dm", k, 0)->data);
        double em = t_rel_err(m, tensor(&f, "case%d.m", k, 0)->data, (size_t)c);
        float want_l1 = *(const float *)tensor(&f, "case%d.l1", k, 0)->data;
        double el = fabs(l1 - want_l1) / want_l1;
        double ew = t_rel_err(g.gw, tensor(&f, "case%d.dW", k, 0)->data, (size_t)c * c * kk * kk);
        double eb = t_rel_err(g.gb, tensor(&f, "case%d.db", k, 0)->data, (size_t)c);
        char name[64];
        snprintf(name, sizeof name, "generator case %d (%s C=%d k=%d)", k,
                 linear ? "linear" : "conv", c, kk);
        CHECKF(em < 1e-5 && el < 1e-5 && ew < 1e-4 && eb < 1e-4, name,
               "m %.3g l1 %.3g dW %.3g db %.3g", em, el, ew, eb);
        sp_gen_free(&g);
        free(m);
    }
    t_fixture_free(&f);
}

/* ---- window ----------------------------------------------------------------- */

static void check_window(void)
{
    t_fixture f;
    if (t_fixture_read(&f, "method/window.safetensors") < 0)
        return;
    int cases = atoi(t_fixture_meta(&f, "cases"));
    for (int k = 0; k < cases; k++) {
        const sp_tensor *masks = tensor(&f, "case%d.masks", k, 0);
        int n = (int)masks->shape[0], c = (int)masks->shape[1];
        sp_vote vote = strcmp(meta_str(&f, "case%d.mode", k), "mean") == 0 ? SP_VOTE_MEAN
                                                                             : SP_VOTE_MAJORITY;
        float *index = calloc((size_t)c, sizeof *index);
        sp_window_index(n, c, masks->data, vote, index, NULL);
        double two = sp_two_side(c, (const float *)masks->data + (size_t)(n - 1) * c);
        double rho = meta_num(&f, "case%d.target_ratio", k);
        float lambda = sp_lambda_update(c, index, rho);
        int same = memcmp(index, tensor(&f, "case%d.index", k, 0)->data, (size_t)c * 4) == 0;
        float want_two = *(const float *)tensor(&f, "case%d.two_side", k, 0)->data;
        float want_l = *(const float *)tensor(&f, "case%d.lambda_out", k, 0)->data;
        char name[64];
        snprintf(name, sizeof name, "window case %d (%s)", k,
                 vote == SP_VOTE_MEAN ? "mean" : "vote");
        CHECKF(same && fabs(two - want_two) < 1e-6 && fabs(lambda - want_l) < 1e-5, name,
               "index %s, two_side %g vs %g, lambda %g vs %g", same ? "same" : "differs", two,
               (double)want_two, (double)lambda, (double)want_l);
        free(index);
    }
    t_fixture_free(&f);
}

/* ---- the beta schedule over whole epochs ------------------------------------ */

static void check_beta(void)
{
    t_fixture f;
    if (t_fixture_read(&f, "method/beta.safetensors") < 0)
        return;
    int cases = atoi(t_fixture_meta(&f, "cases"));
    for (int k = 0; k < cases; k++) {
        int epochs = meta_int(&f, "case%d.E", k), nb = meta_int(&f, "case%d.nb", k);
        int masks = meta_int(&f, "case%d.masks", k), gate = meta_int(&f, "case%d.gate", k);
        float bump = (float)meta_num(&f, "case%d.bump", k);
        int n = sp_beta_length(epochs, nb, 100);
        const float *two = tensor(&f, "case%d.two_side", k, 0)->data;
        const float *want = tensor(&f, "case%d.beta_used", k, 0)->data;
        const float *list = tensor(&f, "case%d.list_final", k, 0)->data;
        int p_final = *(const int32_t *)tensor(&f, "case%d.p_final", k, 0)->data;
        sp_beta *s = calloc((size_t)masks, sizeof *s);
        for (int j = 0; j < masks; j++)
            sp_beta_init(&s[j], meta_num(&f, "case%d.beta0", k), meta_num(&f, "case%d.beta1", k), n);
        double worst = 0;
        int windows = nb / 20;
        for (int e = 0; e < epochs; e++)
            for (int i = 0; i < nb; i++)
                for (int j = 0; j < masks; j++) {
                    if (i % 100 == 0)
                        sp_beta_advance(&s[j]);
                    size_t at = ((size_t)e * nb + i) * masks + j;
                    worst = fmax(worst, fabs(s[j].beta - want[at]) / want[at]);
                    if ((i + 1) % 20 == 0) {
                        int w = (i + 1) / 20 - 1;
                        sp_beta_bump(&s[j], two[((size_t)e * windows + w) * masks + j], gate, bump);
                    }
                }
        int p_same = 1;
        for (int j = 0; j < masks; j++) {
            worst = fmax(worst, t_rel_err(s[j].list, list + (size_t)j * n, (size_t)n));
            p_same &= s[j].p == p_final;
            sp_beta_free(&s[j]);
        }
        char name[64];
        snprintf(name, sizeof name, "beta schedule case %d (%s)", k, meta_str(&f, "case%d.recipe", k));
        CHECKF(worst < 1e-6 && p_same && n == meta_int(&f, "case%d.N", k), name,
               "worst relative error %.3g, p %s, N %d", worst, p_same ? "same" : "differs", n);
        free(s);
    }
    t_fixture_free(&f);
}

/* --round: counts rounded up to a multiple, the added channels the best
 * scored of those removed, the learned ones all kept. */
static void check_round(void)
{
    CHECK(sp_round_up(9, 32, 8) == 16 && sp_round_up(16, 32, 8) == 16 &&
              sp_round_up(30, 32, 16) == 32 && sp_round_up(13, 13, 8) == 13 &&
              sp_round_up(5, 32, 1) == 5 && sp_round_up(5, 32, 0) == 5,
          "round up to a multiple, at most all channels");
    /* 10 channels, 3 kept (0, 4, 9); rounded to 7: the four best scored of
     * the others (3 before 6 on a tie: the lower channel first) */
    float score[10] = {0.9f, 0.1f, 0.8f, 0.5f, 0.2f, 0.7f, 0.5f, 0.6f, 0.05f, 0.3f};
    float index[10] = {1, 0, 0, 0, 1, 0, 0, 0, 0, 1};
    float want[10] = {1, 0, 1, 1, 1, 1, 0, 1, 0, 1};
    sp_index_round(10, score, index, 7);
    int same = 1;
    for (int i = 0; i < 10; i++)
        same &= index[i] == want[i];
    CHECK(same, "round adds the best scored removed channels");
    float all[10] = {1, 0, 0, 0, 1, 0, 0, 0, 0, 1};
    sp_index_round(10, score, all, 16);
    int ones = 0;
    for (int i = 0; i < 10; i++)
        ones += all[i] == 1.0f;
    CHECK(ones == 10, "round to more than the layer has keeps it whole");
}

/* The generator's forward sums each row of W in double, term by term in
 * input order, whatever it does to go faster: the masks are those of a
 * row at a time, to the bit (20 rows: blocks of rows and a remainder).
 * The terms 1, 1e17, -1e17 sum to 0 in that order and to 1 in others. */
static void check_gen_order(void)
{
    int c = 20, khw = 9, n = c * khw, same = 1;
    sp_generator g;
    sp_gen_alloc(&g, c, khw);
    sp_rng r;
    sp_rng_init(&r, 7, 1);
    sp_gen_init_params(&g, SP_GEN_INIT_CONV, &r);
    float *p = malloc((size_t)n * sizeof *p), *m = malloc((size_t)c * sizeof *m);
    sp_rng_fill_normal(&r, p, n, 0.0f, 1e-3f);
    p[0] = 1.0f, p[1] = 1e17f, p[2] = -1e17f;
    for (int o = 0; o < c; o++)
        g.w[(size_t)o * n] = g.w[(size_t)o * n + 1] = g.w[(size_t)o * n + 2] = 1.0f;
    sp_gen_forward(&g, p, 3.0f, m);
    for (int o = 0; o < c; o++) {
        double z = g.b[o];
        for (int i = 0; i < n; i++)
            z += (double)g.w[(size_t)o * n + i] * p[i];
        float want = (float)(1.0 / (1.0 + exp(-3.0 * z)));
        same &= memcmp(&want, &m[o], sizeof want) == 0;
    }
    CHECK(same, "generator forward sums in input order");
    free(p), free(m);
    sp_gen_free(&g);
}

int main(void)
{
    check_round();
    check_gen_order();
    check_rank();
    check_gen();
    check_window();
    check_beta();
    const char *names[] = {"ref", "cpu", "cuda"};
    for (size_t i = 0; i < SP_COUNT(names); i++) {
        sp_backend *b = sp_backend_create(names[i]);
        if (!b) {
            printf("# skip %s: %s\n", names[i], sp_error());
            continue;
        }
        check_sens(b, "method/sens_resnet20.safetensors", 1e-4);
        check_sens(b, "method/sens_vgg16.safetensors", 1e-4);
        sp_backend_destroy(b);
    }
    return t_done();
}
