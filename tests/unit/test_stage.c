/* test_stage.c: two whole steps of a pruning stage (sp-method(7) steps
 * 1-5) against the PyTorch oracle of gen_method_fixtures.py
 * (step_resnet20): a narrow resnet20, block 0, the twins' weights and the
 * generators given by the fixture.  The stage runs through its own hooks
 * (stage.h) around the executor exactly as sp_train_run calls them, on
 * every backend that is built; checked per step: the pool's scores, the
 * targets, the P maps, the masks, both losses; after the second step every
 * network parameter and running statistic and the generators. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sp/backend.h"
#include "sp/base.h"
#include "sp/exec.h"
#include "sp/stage.h"
#include "sp/surgery.h"
#include "sp/torch.h"
#include "method/stage_priv.h"
#include "testlib.h"

/* The fixture's tensors with a prefix, under their own names. */
static sp_model *import_prefixed(const t_fixture *f, const char *prefix)
{
    sp_tensor *t = calloc((size_t)f->n, sizeof *t);
    int n = 0;
    size_t lp = strlen(prefix);
    for (int i = 0; i < f->n; i++)
        if (strncmp(f->t[i].name, prefix, lp) == 0) {
            sp_tensor_copy(&t[n], &f->t[i]);
            free(t[n].name);
            t[n++].name = sp_xstrdup(f->t[i].name + lp);
        }
    sp_import_opts o = {t_fixture_meta(f, "arch"), 10, 0, 0};
    sscanf(t_fixture_meta(f, "input_size"), "%*dx%dx%d", &o.in_h, &o.in_w);
    sp_model *m = sp_import_model(t, n, &o, f->path);
    for (int i = 0; i < n; i++)
        sp_tensor_free(&t[i]);
    free(t);
    return m;
}

/* Upload every tensor PREFIX.NAME of the fixture into e's NAME. */
static void upload_prefixed(sp_exec *e, const t_fixture *f, const char *prefix)
{
    size_t lp = strlen(prefix);
    for (int i = 0; i < f->n; i++)
        if (strncmp(f->t[i].name, prefix, lp) == 0 && sp_exec_param(e, f->t[i].name + lp))
            sp_exec_param_upload(e, f->t[i].name + lp, f->t[i].data);
}

static double err_named(const float *got, const t_fixture *f, const char *fmt, const char *a,
                        const char *b, size_t n)
{
    char name[160];
    snprintf(name, sizeof name, fmt, a, b);
    return t_rel_err(got, t_fixture_get(f, name)->data, n);
}

static void check_steps(sp_backend *b, const t_fixture *f, double tol)
{
    sp_model *m = import_prefixed(f, "net.");
    if (!m) {
        CHECKF(0, "stage fixture network", "%s", sp_error());
        return;
    }
    if (sp_mask_insert(m, 0) < 0) {
        CHECKF(0, "stage fixture masks", "%s", sp_error());
        return;
    }
    sp_stage_opts o;
    memset(&o, 0, sizeof o);
    o.recipe = sp_recipe_lookup("resnet-cifar10");
    o.block = 0;
    o.rate = atof(t_fixture_meta(f, "rate"));
    o.window = 20;
    o.beta_range = 100;
    o.beta0 = o.beta1 = atof(t_fixture_meta(f, "beta"));
    o.ssty_loss = SP_SSTY_LOGIT;
    o.ssty_scale = o.twin_current_scale = 1.0;
    o.epochs = 1;
    o.batch = atoi(t_fixture_meta(f, "batch"));
    o.batches = 10;
    sp_stage *st = sp_stage_new(b, m, &o);
    sp_exec *e = st ? sp_exec_new(b, m, o.batch, 1, 1) : NULL;
    if (!e) {
        CHECKF(0, "stage fixture set-up", "%s", sp_error());
        return;
    }
    /* the fixture's twins and generators instead of seeded draws */
    for (int i = 0; i < st->tw.nl; i++)
        st->tw.l[i].redraw = 0;
    upload_prefixed(st->tw.e, f, "twin.");
    for (int k = 0; k < st->ns; k++) {
        site *s = &st->s[k];
        char name[160], node[SP_NAME_MAX];
        snprintf(node, sizeof node, "%.*s", (int)(strlen(s->mask[0]) - strlen(".m.mask")), s->mask[0]);
        snprintf(name, sizeof name, "gen.%s.weight", node);
        memcpy(s->gen.w, t_fixture_get(f, name)->data, (size_t)s->c * s->c * s->khw * 4);
        snprintf(name, sizeof name, "gen.%s.bias", node);
        memcpy(s->gen.b, t_fixture_get(f, name)->data, (size_t)s->c * 4);
    }
    const sp_train_hooks *h = sp_stage_hooks(st, NULL, NULL);
    sp_sgd_opts sgd = {(float)atof(t_fixture_meta(f, "lr")), (float)atof(t_fixture_meta(f, "momentum")),
                       (float)atof(t_fixture_meta(f, "weight_decay")), 0};
    const char *xs[2] = {"x", "x2"}, *ys[2] = {"y", "y2"};
    for (int step = 0; step < 2; step++) {
        if (step == 1)
            upload_prefixed(st->tw.e, f, "twin2.");
        const sp_tensor *x = t_fixture_get(f, xs[step]), *y = t_fixture_get(f, ys[step]);
        sp_exec_set_input(e, x->data, y->data, o.batch);
        h->before_forward(h->ctx, e, x->data, y->data, o.batch, step, step);
        sp_exec_forward(e, 1);
        float ce = sp_exec_loss(e);
        double total = ce + h->loss(h->ctx, e);
        sp_exec_backward(e);
        sp_exec_sgd(e, &sgd);
        h->after_step(h->ctx, e, &sgd);
        char tag[16], name[160];
        snprintf(tag, sizeof tag, "step%d", step + 1);
        double es = 0, et = 0, ep = 0, em = 0;
        for (int i = 0; i < st->tw.nl; i++) {
            const twin_layer *l = &st->tw.l[i];
            if (!l->ranked)
                continue;
            char layer[SP_NAME_MAX];
            snprintf(layer, sizeof layer, "%.*s", (int)(strlen(l->name) - 7), l->name);
            es = fmax(es, err_named(l->score, f, "%s.score.%s", tag, layer, (size_t)l->cout));
        }
        for (int k = 0; k < st->ns; k++) {
            site *s = &st->s[k];
            char node[SP_NAME_MAX];
            snprintf(node, sizeof node, "%.*s", (int)(strlen(s->mask[0]) - 7), s->mask[0]);
            et = fmax(et, err_named(s->t, f, "%s.target.%s", tag, node, (size_t)s->c));
            ep = fmax(ep, err_named(s->p, f, "%s.P.%s", tag, node, (size_t)s->c * s->khw));
            em = fmax(em, err_named(s->m, f, "%s.mask.%s", tag, node, (size_t)s->c));
        }
        snprintf(name, sizeof name, "%s.loss_ce", tag);
        double ece = fabs(ce - *(float *)t_fixture_get(f, name)->data);
        snprintf(name, sizeof name, "%s.loss", tag);
        double el = fabs(total - *(float *)t_fixture_get(f, name)->data);
        snprintf(name, sizeof name, "%s stage %s: scores, targets, P, masks, losses", b->name, tag);
        CHECKF(es < tol && et == 0 && ep < tol && em < tol && ece < tol && el < tol, name,
               "scores %.3g targets %.3g P %.3g masks %.3g ce %.3g loss %.3g", es, et, ep, em,
               ece, el);
    }
    /* after step 2: the network and the generators */
    sp_exec_download(e, m);
    double en = 0, eg = 0;
    for (int i = 0; i < f->n; i++) {
        const char *name = f->t[i].name;
        if (strncmp(name, "after.net.", 10) == 0) {
            const sp_tensor *t = sp_model_tensor(m, name + 10);
            en = t ? fmax(en, t_rel_err(t->data, f->t[i].data, (size_t)sp_tensor_numel(t))) : 1;
        }
    }
    for (int k = 0; k < st->ns; k++) {
        site *s = &st->s[k];
        char node[SP_NAME_MAX];
        snprintf(node, sizeof node, "%.*s", (int)(strlen(s->mask[0]) - 7), s->mask[0]);
        eg = fmax(eg, err_named(s->gen.w, f, "%s.gen.%s.weight", "after", node,
                                (size_t)s->c * s->c * s->khw));
        eg = fmax(eg, err_named(s->gen.b, f, "%s.gen.%s.bias", "after", node, (size_t)s->c));
    }
    char name[96];
    snprintf(name, sizeof name, "%s stage after 2 steps: network and generators", b->name);
    CHECKF(en < tol && eg < tol, name, "network %.3g generators %.3g", en, eg);
    sp_exec_free(e);
    sp_stage_free(st);
    sp_model_free(m);
}

int main(void)
{
    t_fixture f;
    if (t_fixture_read(&f, "method/step_resnet20.safetensors") < 0)
        return t_done();
    const char *names[] = {"ref", "cpu", "cuda"};
    for (size_t i = 0; i < SP_COUNT(names); i++) {
        sp_backend *b = sp_backend_create(names[i]);
        if (!b) {
            printf("# skip %s: %s\n", names[i], sp_error());
            continue;
        }
        check_steps(b, &f, 1e-4);
        sp_backend_destroy(b);
    }
    t_fixture_free(&f);
    return t_done();
}
