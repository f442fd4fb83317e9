/* test_ref_grad.c: finite-difference checks of every backward pass of the
 * reference backend, plus its convolution forward against a scatter-form
 * convolution written here.
 *
 * Method: a random projection L = sum(out * R) summed in double; the
 * analytic gradient comes from the backward pass with dout = R, the numeric
 * one from central differences (L(x + h) - L(x - h)) / (actual step).
 * Inputs stay away from kinks (relu near 0 and 6, maxpool near-ties) by
 * construction.  Activation gradients are pre-filled with NaN (they must be
 * overwritten) and parameter gradients with random values that are
 * subtracted afterwards (they must be accumulated). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sp/backend.h"
#include "sp/base.h"
#include "sp/rng.h"
#include "testlib.h"

#define MAX_POINTS 160          /* sampled entries per checked tensor */
#define TOL_LINEAR 1e-4         /* ops linear in the perturbed input */
#define TOL_SMOOTH 1e-3         /* bn, xent: truncation error of the step */

static sp_backend *be;
static sp_rng rng;

/* One operation under test: fwd recomputes out from the current inputs. */
typedef struct gc {
    void (*fwd)(struct gc *g);
    float *out, *r;
    size_t n_out;
    void *op;
} gc;

static float *vec(size_t n)
{
    return sp_xcalloc(n ? n : 1, sizeof(float));
}

static float *uniform(size_t n, float lo, float hi)
{
    float *x = vec(n);
    sp_rng_fill_uniform(&rng, x, (int64_t)n, lo, hi);
    return x;
}

static void fill(float *x, size_t n, float v)
{
    for (size_t i = 0; i < n; i++)
        x[i] = v;
}

static void gc_setup(gc *g, void (*fwd)(gc *), void *op, float *out, size_t n_out)
{
    g->fwd = fwd;
    g->op = op;
    g->out = out;
    g->n_out = n_out;
    g->r = uniform(n_out, -1.0f, 1.0f);
}

static double gc_loss(gc *g)
{
    double l = 0.0;
    g->fwd(g);
    for (size_t i = 0; i < g->n_out; i++)
        l += (double)g->out[i] * g->r[i];
    return l;
}

/* Analytic gradient an (nx entries, minus base if base != NULL) against
 * central differences of step h in x. */
static void gc_check(const char *name, gc *g, float *x, size_t nx, const float *an,
                     const float *base, double h, double tol)
{
    size_t npts = nx < MAX_POINTS ? nx : MAX_POINTS;
    double *num = sp_xmalloc(npts * sizeof(double));
    double *ana = sp_xmalloc(npts * sizeof(double));
    for (size_t k = 0; k < npts; k++) {
        size_t i = nx <= MAX_POINTS ? k : sp_rng_below(&rng, (uint32_t)nx);
        float x0 = x[i];
        float xp = (float)(x0 + h), xm = (float)(x0 - h);
        x[i] = xp;
        double lp = gc_loss(g);
        x[i] = xm;
        double lm = gc_loss(g);
        x[i] = x0;
        num[k] = (lp - lm) / ((double)xp - (double)xm);
        ana[k] = (double)an[i] - (base ? (double)base[i] : 0.0);
    }
    g->fwd(g);
    double err = t_rel_err_d(ana, num, npts);
    CHECKF(err < tol, name, "normalised error %.3g >= %.3g", err, tol);
    free(num);
    free(ana);
}

/* ---- convolution ---- */

typedef struct conv_op { sp_conv_shape s; float *in, *w, *bias; } conv_op;

static size_t conv_in_n(const sp_conv_shape *s) { return (size_t)s->n * s->c * s->h * s->w; }
static size_t conv_w_n(const sp_conv_shape *s) { return (size_t)s->k * (s->c / s->groups) * s->kh * s->kw; }
static size_t conv_out_n(const sp_conv_shape *s) { return (size_t)s->n * s->k * s->oh * s->ow; }

static void conv_fwd(gc *g)
{
    conv_op *o = g->op;
    be->conv_fwd(be, g->out, o->in, o->w, o->bias, &o->s);
}

/* Scatter form: every input pixel adds its products to the outputs it
 * reaches, the opposite loop order from the backend's gather. */
static void conv_scatter(double *out, const conv_op *o)
{
    const sp_conv_shape *s = &o->s;
    int cg = s->c / s->groups, kg = s->k / s->groups;
    for (size_t i = 0; i < conv_out_n(s); i++)
        out[i] = o->bias ? o->bias[(i / ((size_t)s->oh * s->ow)) % s->k] : 0.0;
    for (int n = 0; n < s->n; n++)
        for (int c = 0; c < s->c; c++)
            for (int y = 0; y < s->h; y++)
                for (int x = 0; x < s->w; x++) {
                    double v = o->in[(((size_t)n * s->c + c) * s->h + y) * s->w + x];
                    int grp = c / cg;
                    for (int k = grp * kg; k < (grp + 1) * kg; k++)
                        for (int oy = 0; oy < s->oh; oy++)
                            for (int ox = 0; ox < s->ow; ox++) {
                                int i = y - (oy * s->sh - s->ph), j = x - (ox * s->sw - s->pw);
                                if (i < 0 || i >= s->kh || j < 0 || j >= s->kw)
                                    continue;
                                double wv = o->w[(((size_t)k * cg + c % cg) * s->kh + i) * s->kw + j];
                                out[(((size_t)n * s->k + k) * s->oh + oy) * s->ow + ox] += v * wv;
                            }
                }
}

static void check_conv(const char *tag, int n, int c, int h, int w, int k, int ks,
                       int stride, int pad, int groups, int with_bias)
{
    conv_op o = {.s = {.n = n, .c = c, .h = h, .w = w, .k = k, .kh = ks, .kw = ks,
                       .sh = stride, .sw = stride, .ph = pad, .pw = pad, .groups = groups}};
    char name[128];
    gc g;
    sp_conv_shape_out(&o.s);
    size_t ni = conv_in_n(&o.s), nw = conv_w_n(&o.s), no = conv_out_n(&o.s);
    o.in = uniform(ni, -1, 1);
    o.w = uniform(nw, -1, 1);
    o.bias = with_bias ? uniform((size_t)k, -1, 1) : NULL;
    gc_setup(&g, conv_fwd, &o, vec(no), no);

    double *want = sp_xmalloc(no * sizeof(double));
    double *got = sp_xmalloc(no * sizeof(double));
    conv_fwd(&g);
    conv_scatter(want, &o);
    for (size_t i = 0; i < no; i++)
        got[i] = g.out[i];
    snprintf(name, sizeof name, "conv %s fwd = scatter form", tag);
    double err = t_rel_err_d(got, want, no);
    CHECKF(err < 1e-6, name, "normalised error %.3g", err);

    float *din = vec(ni), *dw = uniform(nw, -1, 1), *dw0 = vec(nw);
    float *db = uniform((size_t)k, -1, 1), *db0 = vec((size_t)k);
    memcpy(dw0, dw, nw * sizeof(float));
    memcpy(db0, db, (size_t)k * sizeof(float));
    fill(din, ni, NAN);
    be->conv_bwd_data(be, din, g.r, o.w, &o.s);
    be->conv_bwd_filter(be, dw, with_bias ? db : NULL, g.r, o.in, &o.s);
    snprintf(name, sizeof name, "conv %s din", tag);
    gc_check(name, &g, o.in, ni, din, NULL, 0.25, TOL_LINEAR);
    snprintf(name, sizeof name, "conv %s dw", tag);
    gc_check(name, &g, o.w, nw, dw, dw0, 0.25, TOL_LINEAR);
    if (with_bias) {
        snprintf(name, sizeof name, "conv %s dbias", tag);
        gc_check(name, &g, o.bias, (size_t)k, db, db0, 0.25, TOL_LINEAR);
    } else {
        snprintf(name, sizeof name, "conv %s dbias NULL leaves it alone", tag);
        CHECK(memcmp(db, db0, (size_t)k * sizeof(float)) == 0, name);
    }
    free(want); free(got); free(din); free(dw); free(dw0); free(db); free(db0);
    free(o.in); free(o.w); free(o.bias); free(g.out); free(g.r);
}

/* ---- batch norm ---- */

typedef struct bn_op { int n, c, hw; float *in, *gamma, *beta, *mean, *invstd, *rm, *rv; } bn_op;

static void bn_fwd(gc *g)
{
    bn_op *o = g->op;
    be->bn_fwd_train(be, g->out, o->mean, o->invstd, o->rm, o->rv, o->in, NULL, o->gamma,
                     o->beta, o->n, o->c, o->hw, 1e-5f, 0.1f, -1);
}

static void check_bn(void)
{
    bn_op o = {.n = 3, .c = 4, .hw = 5};
    size_t nx = (size_t)o.n * o.c * o.hw, c = (size_t)o.c;
    gc g;
    o.in = uniform(nx, -1, 1);
    for (size_t i = 0; i < nx; i++)   /* a different mean and spread per channel */
        o.in[i] = o.in[i] * (float)(1 + (i / o.hw) % c) + (float)((i / o.hw) % c) - 1.5f;
    o.gamma = uniform(c, 0.5f, 1.5f);
    o.beta = uniform(c, -1, 1);
    o.mean = vec(c); o.invstd = vec(c); o.rm = vec(c); o.rv = vec(c);
    gc_setup(&g, bn_fwd, &o, vec(nx), nx);
    bn_fwd(&g);

    float *din = vec(nx), *dg = uniform(c, -1, 1), *dg0 = vec(c), *dbt = uniform(c, -1, 1), *dbt0 = vec(c);
    memcpy(dg0, dg, c * sizeof(float));
    memcpy(dbt0, dbt, c * sizeof(float));
    fill(din, nx, NAN);
    be->bn_bwd(be, din, dg, dbt, g.r, o.in, o.gamma, o.mean, o.invstd, o.n, o.c, o.hw);
    gc_check("bn train din", &g, o.in, nx, din, NULL, 3e-3, TOL_SMOOTH);
    gc_check("bn train dgamma", &g, o.gamma, c, dg, dg0, 3e-3, TOL_SMOOTH);
    gc_check("bn train dbeta", &g, o.beta, c, dbt, dbt0, 3e-3, TOL_SMOOTH);
    free(din); free(dg); free(dg0); free(dbt); free(dbt0);
    free(o.in); free(o.gamma); free(o.beta); free(o.mean); free(o.invstd); free(o.rm); free(o.rv);
    free(g.out); free(g.r);
}

/* ---- pooling ---- */

typedef struct pool_op { sp_pool_shape s; float *in; int kind; } pool_op;
enum { POOL_MAX, POOL_AVG, POOL_ADAPTIVE };

static void pool_fwd(gc *g)
{
    pool_op *o = g->op;
    if (o->kind == POOL_MAX)
        be->maxpool_fwd(be, g->out, NULL, o->in, &o->s);
    else if (o->kind == POOL_AVG)
        be->avgpool_fwd(be, g->out, o->in, &o->s);
    else
        be->adaptive_avgpool_fwd(be, g->out, o->in, &o->s);
}

/* Distinct values 0.05 apart in random order: no near-ties within 2 steps. */
static void distinct_values(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = 0.05f * (float)i - 0.025f * (float)n;
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = sp_rng_below(&rng, (uint32_t)(i + 1));
        float t = x[i]; x[i] = x[j]; x[j] = t;
    }
}

static void check_pool(const char *tag, int kind, int h, int w, int k, int stride, int pad,
                       int oh, int ow)
{
    pool_op o = {.s = {.n = 2, .c = 3, .h = h, .w = w, .kh = k, .kw = k, .sh = stride,
                       .sw = stride, .ph = pad, .pw = pad}, .kind = kind};
    char name[128];
    gc g;
    if (kind == POOL_ADAPTIVE) {
        o.s.oh = oh;
        o.s.ow = ow;
    } else {
        sp_pool_shape_out(&o.s);
    }
    size_t ni = (size_t)o.s.n * o.s.c * h * w, no = (size_t)o.s.n * o.s.c * o.s.oh * o.s.ow;
    o.in = vec(ni);
    distinct_values(o.in, ni);
    gc_setup(&g, pool_fwd, &o, vec(no), no);
    float *din = vec(ni);
    fill(din, ni, NAN);
    if (kind == POOL_MAX) {
        void *ws = sp_xmalloc(be->maxpool_ws_bytes(be, &o.s));
        float *din2 = vec(ni);
        be->maxpool_fwd(be, g.out, ws, o.in, &o.s);
        be->maxpool_bwd(be, din, g.r, ws, o.in, &o.s);
        fill(din2, ni, NAN);
        be->maxpool_bwd(be, din2, g.r, NULL, o.in, &o.s);
        snprintf(name, sizeof name, "%s bwd without workspace agrees", tag);
        CHECK(memcmp(din, din2, ni * sizeof(float)) == 0, name);
        free(ws);
        free(din2);
    } else if (kind == POOL_AVG) {
        be->avgpool_bwd(be, din, g.r, &o.s);
    } else {
        be->adaptive_avgpool_bwd(be, din, g.r, &o.s);
    }
    snprintf(name, sizeof name, "%s din", tag);
    /* max pooling needs a step below half the spacing of the values */
    gc_check(name, &g, o.in, ni, din, NULL, kind == POOL_MAX ? 0.01 : 0.25, TOL_LINEAR);
    free(din); free(o.in); free(g.out); free(g.r);
}

/* ---- linear ---- */

typedef struct linear_op { int n, in_f, out_f; float *in, *w, *bias; } linear_op;

static void linear_fwd(gc *g)
{
    linear_op *o = g->op;
    be->linear_fwd(be, g->out, o->in, o->w, o->bias, o->n, o->in_f, o->out_f);
}

static void check_linear(int with_bias)
{
    linear_op o = {.n = 3, .in_f = 7, .out_f = 5};
    size_t ni = 21, nw = 35, no = 15;
    const char *tag = with_bias ? "linear" : "linear no bias";
    char name[128];
    gc g;
    o.in = uniform(ni, -1, 1);
    o.w = uniform(nw, -1, 1);
    o.bias = with_bias ? uniform(5, -1, 1) : NULL;
    gc_setup(&g, linear_fwd, &o, vec(no), no);
    float *din = vec(ni), *dw = uniform(nw, -1, 1), *dw0 = vec(nw), *db = uniform(5, -1, 1), *db0 = vec(5);
    memcpy(dw0, dw, nw * sizeof(float));
    memcpy(db0, db, 5 * sizeof(float));
    fill(din, ni, NAN);
    be->linear_bwd_data(be, din, g.r, o.w, o.n, o.in_f, o.out_f);
    be->linear_bwd_weight(be, dw, with_bias ? db : NULL, g.r, o.in, o.n, o.in_f, o.out_f);
    snprintf(name, sizeof name, "%s din", tag);
    gc_check(name, &g, o.in, ni, din, NULL, 0.25, TOL_LINEAR);
    snprintf(name, sizeof name, "%s dw", tag);
    gc_check(name, &g, o.w, nw, dw, dw0, 0.25, TOL_LINEAR);
    if (with_bias)
        gc_check("linear dbias", &g, o.bias, 5, db, db0, 0.25, TOL_LINEAR);
    else
        CHECK(memcmp(db, db0, 5 * sizeof(float)) == 0, "linear dbias NULL leaves it alone");
    free(din); free(dw); free(dw0); free(db); free(db0);
    free(o.in); free(o.w); free(o.bias); free(g.out); free(g.r);
}

/* ---- elementwise ---- */

typedef struct ew_op {
    size_t n;
    int c, hw, h, w, s, lo, hi;
    sp_act act;
    float *x, *y, *m, *keep, p;
} ew_op;

static void act_fwd(gc *g) { ew_op *o = g->op; be->act_fwd(be, o->act, g->out, o->x, o->n); }
static void add_fwd(gc *g) { ew_op *o = g->op; be->add_fwd(be, g->out, o->x, o->y, o->n); }

static void mask_fwd(gc *g)
{
    ew_op *o = g->op;
    be->mask_fwd(be, g->out, o->x, o->m, (int)o->n, o->c, o->hw);
}

static void shortcut_fwd(gc *g)
{
    ew_op *o = g->op;
    be->pad_shortcut_fwd(be, g->out, o->x, (int)o->n, o->c, o->h, o->w, o->s, o->s, o->lo, o->hi);
}

static void dropout_fwd(gc *g)
{
    ew_op *o = g->op;
    be->dropout_fwd(be, g->out, o->keep, o->x, o->n, o->p, 42, 7, 0);
}

static void check_act(sp_act act)
{
    ew_op o = {.n = 300, .act = act};
    const char *name = act == SP_ACT_RELU ? "relu din" : "relu6 din";
    gc g;
    o.x = uniform(o.n, -3, 9);
    for (size_t i = 0; i < o.n; i++)   /* keep 0.1 away from the kinks at 0 and 6 */
        if (fabsf(o.x[i]) < 0.1f || fabsf(o.x[i] - 6) < 0.1f)
            o.x[i] += 0.25f;
    gc_setup(&g, act_fwd, &o, vec(o.n), o.n);
    float *din = vec(o.n);
    fill(din, o.n, NAN);
    be->act_bwd(be, act, din, g.r, o.x, o.n);
    gc_check(name, &g, o.x, o.n, din, NULL, 0.02, TOL_LINEAR);
    free(din); free(o.x); free(g.out); free(g.r);
}

/* add has no backward of its own: both inputs receive dout unchanged. */
static void check_add(void)
{
    ew_op o = {.n = 50};
    gc g;
    o.x = uniform(o.n, -1, 1);
    o.y = uniform(o.n, -1, 1);
    gc_setup(&g, add_fwd, &o, vec(o.n), o.n);
    gc_check("add dx = dout", &g, o.x, o.n, g.r, NULL, 0.25, TOL_LINEAR);
    gc_check("add dy = dout", &g, o.y, o.n, g.r, NULL, 0.25, TOL_LINEAR);
    free(o.x); free(o.y); free(g.out); free(g.r);
}

static void check_mask(void)
{
    ew_op o = {.n = 3, .c = 4, .hw = 6};
    size_t nx = 72;
    gc g;
    o.x = uniform(nx, -1, 1);
    o.m = uniform(4, -1, 1);
    gc_setup(&g, mask_fwd, &o, vec(nx), nx);
    float *din = vec(nx), *dm = uniform(4, -1, 1), *dm0 = vec(4);
    memcpy(dm0, dm, 4 * sizeof(float));
    fill(din, nx, NAN);
    be->mask_bwd(be, din, dm, g.r, o.x, o.m, 3, 4, 6);
    gc_check("mask din", &g, o.x, nx, din, NULL, 0.25, TOL_LINEAR);
    gc_check("mask dm", &g, o.m, 4, dm, dm0, 0.25, TOL_LINEAR);
    free(din); free(dm); free(dm0); free(o.x); free(o.m); free(g.out); free(g.r);
}

static void check_shortcut(const char *name, int h, int w, int s, int lo, int hi)
{
    ew_op o = {.n = 2, .c = 3, .h = h, .w = w, .s = s, .lo = lo, .hi = hi};
    size_t nx = (size_t)2 * 3 * h * w;
    size_t no = (size_t)2 * (lo + 3 + hi) * ((h + s - 1) / s) * ((w + s - 1) / s);
    gc g;
    o.x = uniform(nx, -1, 1);
    gc_setup(&g, shortcut_fwd, &o, vec(no), no);
    float *din = vec(nx);
    fill(din, nx, NAN);
    be->pad_shortcut_bwd(be, din, g.r, 2, 3, h, w, s, s, lo, hi);
    gc_check(name, &g, o.x, nx, din, NULL, 0.25, TOL_LINEAR);
    free(din); free(o.x); free(g.out); free(g.r);
}

static void check_dropout(void)
{
    ew_op o = {.n = 200, .p = 0.3f};
    gc g;
    o.x = uniform(o.n, -1, 1);
    o.keep = vec(o.n);
    gc_setup(&g, dropout_fwd, &o, vec(o.n), o.n);
    dropout_fwd(&g);
    float *din = vec(o.n);
    fill(din, o.n, NAN);
    be->dropout_bwd(be, din, g.r, o.keep, o.n);
    gc_check("dropout din", &g, o.x, o.n, din, NULL, 0.25, TOL_LINEAR);
    free(din); free(o.x); free(o.keep); free(g.out); free(g.r);
}

/* ---- softmax cross-entropy ---- */

typedef struct xent_op { int n, classes; float *logits, scale; int32_t *labels; } xent_op;

static void xent_fwd(gc *g)
{
    xent_op *o = g->op;
    be->xent(be, g->out, NULL, o->logits, o->labels, o->n, o->classes, 1.0f);
}

/* L = loss * R, so dlogits computed with scale = R is dL/dlogits. */
static void check_xent(void)
{
    xent_op o = {.n = 4, .classes = 5};
    int32_t labels[4] = {0, 3, 4, 3};
    size_t nz = 20;
    gc g;
    o.logits = uniform(nz, -2, 2);
    o.labels = labels;
    gc_setup(&g, xent_fwd, &o, vec(1), 1);
    g.r[0] = 0.7f;
    float *dz = vec(nz);
    fill(dz, nz, NAN);
    be->xent(be, g.out, dz, o.logits, labels, o.n, o.classes, g.r[0]);
    gc_check("xent dlogits", &g, o.logits, nz, dz, NULL, 1e-2, TOL_SMOOTH);
    free(dz); free(o.logits); free(g.out); free(g.r);
}

int main(void)
{
    be = sp_ref_backend_create();
    sp_rng_init(&rng, 2024, 1);

    check_conv("3x3 s1 p1", 2, 3, 7, 6, 4, 3, 1, 1, 1, 1);
    check_conv("3x3 s2 p1 groups2 nobias", 2, 4, 8, 8, 6, 3, 2, 1, 2, 0);
    check_conv("3x3 s2 p0 depthwise", 1, 4, 9, 9, 4, 3, 2, 0, 4, 1);
    check_conv("3x3 s1 p1 depthwise x2", 2, 4, 6, 5, 8, 3, 1, 1, 4, 1);
    check_conv("7x7 s2 p3", 2, 3, 11, 10, 4, 7, 2, 3, 1, 1);
    check_conv("7x7 s1 p3 depthwise nobias", 1, 2, 8, 9, 2, 7, 1, 3, 2, 0);
    check_conv("1x1 s1 p0 groups3", 2, 6, 5, 5, 9, 1, 1, 0, 3, 1);
    check_conv("1x1 s2 p0 nobias", 1, 4, 6, 7, 8, 1, 2, 0, 1, 0);
    check_conv("3x3 s2 p1 groups2", 2, 6, 7, 7, 4, 3, 2, 1, 2, 1);

    check_bn();

    check_pool("maxpool 2x2 s2", POOL_MAX, 6, 6, 2, 2, 0, 0, 0);
    check_pool("maxpool 3x3 s2 p1", POOL_MAX, 7, 8, 3, 2, 1, 0, 0);
    check_pool("maxpool 3x3 s1 p1", POOL_MAX, 5, 5, 3, 1, 1, 0, 0);
    check_pool("avgpool 2x2 s2", POOL_AVG, 6, 6, 2, 2, 0, 0, 0);
    check_pool("avgpool 3x3 s2 p1", POOL_AVG, 7, 8, 3, 2, 1, 0, 0);
    check_pool("avgpool 3x3 s1 p1", POOL_AVG, 5, 5, 3, 1, 1, 0, 0);
    check_pool("adaptive 6x6 to 3x3", POOL_ADAPTIVE, 6, 6, 0, 0, 0, 3, 3);
    check_pool("adaptive 7x5 to 3x2", POOL_ADAPTIVE, 7, 5, 0, 0, 0, 3, 2);
    check_pool("adaptive 5x5 to 1x1", POOL_ADAPTIVE, 5, 5, 0, 0, 0, 1, 1);
    check_pool("adaptive 3x4 to 5x6", POOL_ADAPTIVE, 3, 4, 0, 0, 0, 5, 6);

    check_linear(1);
    check_linear(0);

    check_act(SP_ACT_RELU);
    check_act(SP_ACT_RELU6);
    check_add();
    check_mask();
    check_shortcut("pad shortcut s2 din", 5, 6, 2, 2, 1);
    check_shortcut("pad shortcut s1 din", 4, 4, 1, 0, 3);
    check_dropout();
    check_xent();

    sp_backend_destroy(be);
    return t_done();
}
