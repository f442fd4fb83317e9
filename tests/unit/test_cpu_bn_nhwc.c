/* test_cpu_bn_nhwc.c: the CPU backend's channels-last batch norm
 * (cpu_bn_nhwc.c) against the reference backend's NCHW one.
 *
 * The oracle's NCHW tensors are brought to channels-last by this file's
 * own loop, never by the backend under test.  Checked, on shapes with 16
 * channels a row, odd channel counts, 7x7 maps, pooled (1x1) maps, a
 * single value per channel and row counts that are no multiple of the
 * kernel's chunk:
 *   - bn_fwd_train's out, saved and running statistics and bn_bwd's din,
 *     dgamma and dbeta within test_cpu_parity's bounds, with and without
 *     gamma / beta, running statistics, dgamma / dbeta and din;
 *   - a mean far from zero whose float rounding is large against the
 *     spread (values 49152 and, one in ten, 49152.25, so that every
 *     chunk's float sum is exact and the variance is far above eps): the
 *     statistics are the batch's within the bound only when that rounding
 *     is taken out (din is left out there: the folded fk * dy - fa * x + fc
 *     cancels, as in cpu_bn.c's NCHW kernel, which is as far from the
 *     oracle);
 *   - bn_bwd and bn_act_bwd with din = dout, bit for bit as out of place;
 *   - bn_fwd_saved, with no activation, ReLU and ReLU6 (outputs beyond 6
 *     included), bit for bit bn_fwd_train's output through act_fwd, and
 *     bn_act_bwd bit for bit act_bwd on that output;
 *   - bn_fwd_train with a residual, an activation or both, bit for bit
 *     bn_fwd_train alone followed by add_fwd and act_fwd;
 *   - bn_fwd_train and bn_bwd give the same bits on 1 thread and on 3;
 *   - batch norm across processes (bn_sums, bn_fwd_sums, bn_bwd_sums,
 *     bn_bwd_from_sums) against cpu_bn_sums.c's NCHW kernels, on the first
 *     half of a batch as one process's share with the whole batch's sums
 *     as the global ones: the sums within SUM_BOUND of each channel's sum
 *     of magnitudes and the variance they give within VAR_BOUND (also
 *     with the mean far from zero, where x^2 summed in float without a
 *     shift loses the variance); bn_fwd_sums's saved and running
 *     statistics bit for bit and its out within FWD_BOUND, and bit for bit
 *     what bn_fwd_saved recomputes; bn_bwd_from_sums's din (also in place)
 *     within BWD_BOUND but for one value per channel (the NCHW din is 0
 *     exactly) and the mean far from zero (as above); its dgamma and dbeta
 *     within BWD_BOUND; the sums the same bits on 1 thread and on 3. */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sp/backend.h"
#include "sp/base.h"
#include "sp/rng.h"
#include "backend/cpu/cpu_priv.h"
#include "testlib.h"

/* test_cpu_parity's bounds */
#define FWD_BOUND 1e-5
#define BWD_BOUND 1e-4
/* float sums over chunks of 64 rows against double ones, per channel
 * over the sum of the terms' magnitudes */
#define SUM_BOUND 1e-6
/* the variance those sums give (sum x^2 / cnt - mean^2), against the NCHW
 * sums' (themselves near 1e-4 off where the mean is 49152) */
#define VAR_BOUND 1e-3

static sp_backend *ref, *cpu;
static sp_rng rng;

static float *rnd(size_t n, float lo, float hi)
{
    return t_uniform(&rng, n, lo, hi);
}

static float *copy_of(const float *x, size_t n)
{
    float *y = sp_xmalloc((n ? n : 1) * sizeof *y);
    memcpy(y, x, n * sizeof *y);
    return y;
}

static float *nhwc_of(const float *in, int n, int c, int hw)
{
    float *out = sp_xmalloc((size_t)n * c * hw * sizeof *out);
    for (int i = 0; i < n; i++)
        for (int ch = 0; ch < c; ch++)
            for (int p = 0; p < hw; p++)
                out[((size_t)i * hw + p) * c + ch] = in[((size_t)i * c + ch) * hw + p];
    return out;
}

static int same_bits(const float *a, const float *b, size_t n)
{
    return !memcmp(a, b, n * sizeof *a);
}

/* Which optional arguments a case leaves NULL. */
enum { NO_AFFINE = 1, NO_RUNNING = 2, NO_PARAM_GRADS = 4, NO_DIN = 8 };

/* One batch norm's inputs, NCHW for the oracle and NHWC for the kernels. */
typedef struct bn_case {
    int n, c, hw;
    size_t nx;
    float *in, *dout, *in_l, *dout_l;
    float *gamma, *beta, *rm, *rv, *dg0;
} bn_case;

/* big_mean: values 49152 or, one in ten, 49152.25 (see the header). */
static void case_init(bn_case *t, int n, int c, int hw, int big_mean)
{
    t->n = n, t->c = c, t->hw = hw, t->nx = (size_t)n * c * hw;
    t->in = rnd(t->nx, -2, 3);
    if (big_mean)
        for (size_t i = 0; i < t->nx; i++)
            t->in[i] = t->in[i] > 2.5f ? 49152.25f : 49152.0f;
    t->dout = rnd(t->nx, -1, 1);
    t->gamma = rnd(c, 0.5f, 1.5f), t->beta = rnd(c, -1, 1);
    t->rm = rnd(c, -1, 1), t->rv = rnd(c, 0.5f, 2), t->dg0 = rnd(c, -1, 1);
    t->in_l = nhwc_of(t->in, n, c, hw), t->dout_l = nhwc_of(t->dout, n, c, hw);
}

static void case_free(bn_case *t)
{
    float *all[] = {t->in, t->dout, t->in_l, t->dout_l, t->gamma, t->beta, t->rm, t->rv, t->dg0};
    for (size_t k = 0; k < sizeof all / sizeof all[0]; k++)
        free(all[k]);
}

/* What one backend's forward and backward produce for a case. */
typedef struct bn_result {
    float *out, *sm, *si, *rm, *rv, *din, *dg, *db;
} bn_result;

static void result_init(bn_result *r, const bn_case *t, int nulls)
{
    r->out = rnd(t->nx, -9, 9), r->sm = rnd(t->c, -9, 9), r->si = rnd(t->c, -9, 9);
    r->rm = nulls & NO_RUNNING ? NULL : copy_of(t->rm, t->c);
    r->rv = nulls & NO_RUNNING ? NULL : copy_of(t->rv, t->c);
    r->din = nulls & NO_DIN ? NULL : rnd(t->nx, -9, 9);
    r->dg = nulls & NO_PARAM_GRADS ? NULL : copy_of(t->dg0, t->c);
    r->db = nulls & NO_PARAM_GRADS ? NULL : copy_of(t->dg0, t->c);
}

static void result_free(bn_result *r)
{
    float *all[] = {r->out, r->sm, r->si, r->rm, r->rv, r->din, r->dg, r->db};
    for (size_t k = 0; k < sizeof all / sizeof all[0]; k++)
        free(all[k]);
}

/* The NHWC forward, then the backward from the saved statistics `sm`,
 * `si` (the oracle's, so that both backwards start alike). */
static void run_nhwc(bn_result *r, const bn_case *t, int nulls, const float *sm, const float *si)
{
    const float *g = nulls & NO_AFFINE ? NULL : t->gamma, *bt = nulls & NO_AFFINE ? NULL : t->beta;
    sp_cpu_bn_fwd_train_nhwc(cpu, r->out, r->sm, r->si, r->rm, r->rv, t->in_l, NULL, g, bt, t->n,
                             t->c, t->hw, 1e-5f, 0.1f, -1);
    sp_cpu_bn_bwd_nhwc(cpu, r->din, r->dg, r->db, t->dout_l, t->in_l, g, sm ? sm : r->sm,
                       si ? si : r->si, t->n, t->c, t->hw);
}

/* A check named "prefix what [act]" (act -1: none named). */
static void check_named(int ok, const char *prefix, const char *what, int act, const char *why)
{
    char name[192];
    snprintf(name, sizeof name, "%s %s%s", prefix, what,
             act < 0 ? "" : act == SP_ACT_RELU ? " relu" : " relu6");
    t_check(ok, name, "%s", why);
}

static void check_same(int same, const char *prefix, const char *what, int act)
{
    check_named(same, prefix, what, act, "not bit for bit");
}

static void check_within(double e, double bound, const char *prefix, const char *what)
{
    char why[64];
    snprintf(why, sizeof why, "normalised error %.3g", e);
    check_named(e < bound, prefix, what, -1, why);
}

/* max of the normalised errors of two C-vectors, either NULL */
static double err_pair(const float *a, const float *a_want, const float *b, const float *b_want,
                       int c)
{
    double e = a ? t_rel_err(a, a_want, c) : 0.0;
    return b ? fmax(e, t_rel_err(b, b_want, c)) : e;
}

/* The NHWC forward and backward against the oracle's on one case; nulls
 * (NO_*) leaves arguments NULL, big_mean takes the header's data. */
static void check_against_ref(int n, int c, int hw, int nulls, int big_mean)
{
    bn_case t;
    bn_result want, got;
    case_init(&t, n, c, hw, big_mean);
    result_init(&want, &t, nulls & ~NO_DIN);   /* the oracle's din is never NULL */
    result_init(&got, &t, nulls);
    const float *g = nulls & NO_AFFINE ? NULL : t.gamma, *bt = nulls & NO_AFFINE ? NULL : t.beta;
    ref->bn_fwd_train(ref, want.out, want.sm, want.si, want.rm, want.rv, t.in, NULL, g, bt, n, c,
                      hw, 1e-5f, 0.1f, -1);
    ref->bn_bwd(ref, want.din, want.dg, want.db, t.dout, t.in, g, want.sm, want.si, n, c, hw);
    run_nhwc(&got, &t, nulls, want.sm, want.si);
    float *out_l = nhwc_of(want.out, n, c, hw), *din_l = nhwc_of(want.din, n, c, hw);
    char name[128];
    snprintf(name, sizeof name, "bn_nhwc n%d c%d hw%d%s%s%s%s%s", n, c, hw,
             nulls & NO_AFFINE ? " no-affine" : "", nulls & NO_RUNNING ? " no-running" : "",
             nulls & NO_PARAM_GRADS ? " no-dparams" : "", nulls & NO_DIN ? " no-din" : "",
             big_mean ? " mean 49152" : "");
    check_within(t_rel_err(got.out, out_l, t.nx), FWD_BOUND, name, "fwd_train out");
    check_within(err_pair(got.sm, want.sm, got.si, want.si, c), FWD_BOUND, name,
                 "saved statistics");
    if (!(nulls & NO_RUNNING))
        check_within(err_pair(got.rm, want.rm, got.rv, want.rv, c), FWD_BOUND, name,
                     "running statistics");
    if (got.din && !big_mean)
        check_within(t_rel_err(got.din, din_l, t.nx), BWD_BOUND, name, "bwd din");
    if (!(nulls & NO_PARAM_GRADS))
        check_within(err_pair(got.dg, want.dg, got.db, want.db, c), BWD_BOUND, name,
                     "bwd dgamma dbeta");
    free(out_l), free(din_l);
    result_free(&want), result_free(&got), case_free(&t);
}

/* din = dout, for bn_bwd and bn_act_bwd: the out-of-place bits. */
static void check_in_place(int n, int c, int hw)
{
    bn_case t;
    bn_result r;
    case_init(&t, n, c, hw, 0);
    result_init(&r, &t, 0);
    run_nhwc(&r, &t, 0, NULL, NULL);
    float *inplace = copy_of(t.dout_l, t.nx), *dg = copy_of(t.dg0, c), *db = copy_of(t.dg0, c);
    sp_cpu_bn_bwd_nhwc(cpu, inplace, dg, db, inplace, t.in_l, t.gamma, r.sm, r.si, n, c, hw);
    char name[96];
    snprintf(name, sizeof name, "bn_nhwc n%d c%d hw%d", n, c, hw);
    check_same(same_bits(inplace, r.din, t.nx) && same_bits(dg, r.dg, c) &&
                   same_bits(db, r.db, c),
               name, "bwd in place", -1);
    for (int a = SP_ACT_RELU; a <= SP_ACT_RELU6; a++) {
        memcpy(inplace, t.dout_l, t.nx * sizeof *inplace);
        sp_cpu_bn_act_bwd_nhwc(cpu, (sp_act)a, r.din, t.dout_l, t.in_l, t.gamma, t.beta, r.sm,
                               r.si, n, c, hw);
        sp_cpu_bn_act_bwd_nhwc(cpu, (sp_act)a, inplace, inplace, t.in_l, t.gamma, t.beta, r.sm,
                               r.si, n, c, hw);
        check_same(same_bits(inplace, r.din, t.nx), name, "act_bwd in place", a);
    }
    free(inplace), free(dg), free(db);
    result_free(&r), case_free(&t);
}

/* bn_fwd_saved and bn_act_bwd against bn_fwd_train, act_fwd and act_bwd,
 * bit for bit; gamma times `widen` (8: outputs beyond ReLU6's 6). */
static void check_recompute(int n, int c, int hw, float widen, int no_affine)
{
    bn_case t;
    case_init(&t, n, c, hw, 0);
    for (int ch = 0; ch < c; ch++)
        t.gamma[ch] *= widen;
    const float *g = no_affine ? NULL : t.gamma, *bt = no_affine ? NULL : t.beta;
    float *out = rnd(t.nx, -9, 9), *again = rnd(t.nx, -9, 9), *act = rnd(t.nx, -9, 9);
    float *d0 = rnd(t.nx, -9, 9), *d1 = rnd(t.nx, -9, 9), *sm = rnd(c, -9, 9);
    float *si = rnd(c, -9, 9);
    sp_cpu_bn_fwd_train_nhwc(cpu, out, sm, si, NULL, NULL, t.in_l, NULL, g, bt, n, c, hw, 1e-5f,
                             0.1f, -1);
    size_t above6 = 0;
    for (size_t i = 0; i < t.nx; i++)
        above6 += out[i] > 6.0f;
    char name[128];
    snprintf(name, sizeof name, "bn_nhwc n%d c%d hw%d gamma x%g%s", n, c, hw, (double)widen,
             no_affine ? " no-affine" : "");
    sp_cpu_bn_fwd_saved_nhwc(cpu, again, t.in_l, g, bt, sm, si, n, c, hw, -1);
    check_same(same_bits(again, out, t.nx), name, "fwd_saved", -1);
    for (int a = SP_ACT_RELU; a <= SP_ACT_RELU6; a++) {
        sp_cpu_act_fwd(cpu, (sp_act)a, act, out, t.nx);
        sp_cpu_bn_fwd_saved_nhwc(cpu, again, t.in_l, g, bt, sm, si, n, c, hw, a);
        check_same(same_bits(again, act, t.nx), name, "fwd_saved", a);
        sp_cpu_act_bwd(cpu, (sp_act)a, d0, t.dout_l, act, t.nx);
        sp_cpu_bn_act_bwd_nhwc(cpu, (sp_act)a, d1, t.dout_l, t.in_l, g, bt, sm, si, n, c, hw);
        check_same(same_bits(d0, d1, t.nx), name, "act_bwd", a);
    }
    /* the epilogues: a residual (dout's values) and an activation */
    for (int a = -1; a <= SP_ACT_RELU6; a++)
        for (int r = 0; r < 2; r++) {
            const float *res = r ? t.dout_l : NULL;
            if (res)
                sp_cpu_add_fwd(cpu, act, out, res, t.nx);
            else
                memcpy(act, out, t.nx * sizeof *act);
            if (a >= 0)
                sp_cpu_act_fwd(cpu, (sp_act)a, act, act, t.nx);
            sp_cpu_bn_fwd_train_nhwc(cpu, again, sm, si, NULL, NULL, t.in_l, res, g, bt, n, c,
                                     hw, 1e-5f, 0.1f, a);
            check_same(same_bits(again, act, t.nx), name,
                       r ? "fwd_train with residual" : "fwd_train", a);
        }
    if (widen > 1.0f && !no_affine && t.nx > (size_t)c)   /* one row: all beta */
        check_named(above6 > 0, name, "reaches beyond 6", -1, "ReLU6's clamp untried");
    free(out), free(again), free(act), free(d0), free(d1), free(sm), free(si);
    case_free(&t);
}

/* bn_fwd_train and bn_bwd on 1 thread and on 3: the same bits (the
 * shapes are above SP_CPU_PAR_MIN, so the loops do fork). */
static void check_threads(int n, int c, int hw)
{
    bn_case t;
    bn_result r[2];
    case_init(&t, n, c, hw, 0);
    int threads[2] = {1, 3}, before = omp_get_max_threads();
    for (int k = 0; k < 2; k++) {
        result_init(&r[k], &t, 0);
        omp_set_num_threads(threads[k]);
        run_nhwc(&r[k], &t, 0, NULL, NULL);
    }
    omp_set_num_threads(before);
    char name[96];
    snprintf(name, sizeof name, "bn_nhwc n%d c%d hw%d", n, c, hw);
    check_same(same_bits(r[0].out, r[1].out, t.nx) && same_bits(r[0].sm, r[1].sm, c) &&
                   same_bits(r[0].si, r[1].si, c) && same_bits(r[0].rm, r[1].rm, c) &&
                   same_bits(r[0].rv, r[1].rv, c) && same_bits(r[0].din, r[1].din, t.nx) &&
                   same_bits(r[0].dg, r[1].dg, c) && same_bits(r[0].db, r[1].db, c),
               name, "1 and 3 threads", -1);
    result_free(&r[0]), result_free(&r[1]), case_free(&t);
}

/* Per channel over c channels, the largest |got - want| / scale. */
static double sums_err(const double *got, const double *want, const double *scale, int c)
{
    double e = 0.0;
    for (int ch = 0; ch < c; ch++)
        e = fmax(e, fabs(got[ch] - want[ch]) / fmax(scale[ch], 1e-30));
    return e;
}

/* scale (2 x c) for bn_sums's (sum x, sum x^2) of NCHW x (dy NULL), or
 * bn_bwd_sums's (sum dy, sum dy * xhat): the sums of the magnitudes. */
static void magnitudes(double *scale, const float *x, const float *dy, const float *sm,
                       const float *si, int n, int c, int hw)
{
    for (int ch = 0; ch < c; ch++) {
        double a = 0.0, q = 0.0;
        for (int i = 0; i < n; i++)
            for (int p = 0; p < hw; p++) {
                size_t o = ((size_t)i * c + ch) * hw + p;
                double v = dy ? dy[o] : x[o];
                a += fabs(v);
                q += dy ? fabs(v * (x[o] - sm[ch]) * si[ch]) : v * v;
            }
        scale[ch] = a, scale[c + ch] = q;
    }
}

/* Batch norm across processes (see the header): this process has the
 * first `part` images, the global sums are the whole batch's. */
static void check_sums(int n, int c, int hw, int big_mean)
{
    bn_case t;
    bn_result want, got;
    case_init(&t, n, c, hw, big_mean);
    result_init(&want, &t, 0);
    result_init(&got, &t, 0);
    int part = n > 1 ? n / 2 : 1;
    size_t np = (size_t)part * c * hw;
    double cnt = (double)n * hw;
    double *gs = sp_xmalloc((size_t)12 * c * sizeof *gs), *s_got = gs + 2 * c;
    double *scale = gs + 4 * c, *gb = gs + 6 * c, *lb = gs + 8 * c, *lb_got = gs + 10 * c;
    char name[96];
    snprintf(name, sizeof name, "bn_nhwc_sums n%d c%d hw%d%s", n, c, hw,
             big_mean ? " mean 49152" : "");

    sp_cpu_bn_sums(cpu, gs, t.in, n, c, hw);
    sp_cpu_bn_sums_nhwc(cpu, s_got, t.in_l, n, c, hw);
    magnitudes(scale, t.in, NULL, NULL, NULL, n, c, hw);
    check_within(fmax(sums_err(s_got, gs, scale, c), sums_err(s_got + c, gs + c, scale + c, c)),
                 SUM_BOUND, name, "bn_sums");
    double ve = 0.0;
    for (int ch = 0; ch < c; ch++) {
        double m0 = gs[ch] / cnt, m1 = s_got[ch] / cnt;
        double v0 = gs[c + ch] / cnt - m0 * m0, v1 = s_got[c + ch] / cnt - m1 * m1;
        ve = fmax(ve, fabs(v1 - v0) / fmax(v0, 1e-30));
    }
    check_within(ve, VAR_BOUND, name, "bn_sums variance");

    sp_cpu_bn_fwd_sums(cpu, want.out, want.sm, want.si, want.rm, want.rv, t.in, t.gamma, t.beta,
                       gs, cnt, part, c, hw, 1e-5f, 0.1f);
    sp_cpu_bn_fwd_sums_nhwc(cpu, got.out, got.sm, got.si, got.rm, got.rv, t.in_l, t.gamma,
                            t.beta, gs, cnt, part, c, hw, 1e-5f, 0.1f);
    float *out_l = nhwc_of(want.out, part, c, hw), *again = rnd(np, -9, 9);
    check_within(t_rel_err(got.out, out_l, np), FWD_BOUND, name, "fwd_sums out");
    check_same(same_bits(got.sm, want.sm, c) && same_bits(got.si, want.si, c) &&
                   same_bits(got.rm, want.rm, c) && same_bits(got.rv, want.rv, c),
               name, "fwd_sums statistics", -1);
    sp_cpu_bn_fwd_saved_nhwc(cpu, again, t.in_l, t.gamma, t.beta, got.sm, got.si, part, c, hw,
                             -1);
    check_same(same_bits(again, got.out, np), name, "fwd_sums then fwd_saved", -1);

    /* this share's backward sums, and the whole batch's as the global */
    sp_cpu_bn_bwd_sums(cpu, lb, t.dout, t.in, want.sm, want.si, part, c, hw);
    sp_cpu_bn_bwd_sums_nhwc(cpu, lb_got, t.dout_l, t.in_l, want.sm, want.si, part, c, hw);
    magnitudes(scale, t.in, t.dout, want.sm, want.si, part, c, hw);
    check_within(fmax(sums_err(lb_got, lb, scale, c), sums_err(lb_got + c, lb + c, scale + c, c)),
                 SUM_BOUND, name, "bwd_sums");
    sp_cpu_bn_bwd_sums(cpu, gb, t.dout, t.in, want.sm, want.si, n, c, hw);
    sp_cpu_bn_bwd_from_sums(cpu, want.din, want.dg, want.db, t.dout, t.in, t.gamma, want.sm,
                            want.si, lb, gb, cnt, part, c, hw);
    sp_cpu_bn_bwd_from_sums_nhwc(cpu, got.din, got.dg, got.db, t.dout_l, t.in_l, t.gamma,
                                 want.sm, want.si, lb, gb, cnt, part, c, hw);
    float *din_l = nhwc_of(want.din, part, c, hw), *inplace = copy_of(t.dout_l, np);
    if (part * hw > 1 && !big_mean)   /* see the header */
        check_within(t_rel_err(got.din, din_l, np), BWD_BOUND, name, "bwd_from_sums din");
    check_within(err_pair(got.dg, want.dg, got.db, want.db, c), BWD_BOUND, name,
                 "bwd_from_sums dgamma dbeta");
    sp_cpu_bn_bwd_from_sums_nhwc(cpu, inplace, NULL, NULL, inplace, t.in_l, t.gamma, want.sm,
                                 want.si, lb, gb, cnt, part, c, hw);
    check_same(same_bits(inplace, got.din, np), name, "bwd_from_sums in place", -1);
    free(out_l), free(again), free(din_l), free(inplace), free(gs);
    result_free(&want), result_free(&got), case_free(&t);
}

/* bn_sums and bn_bwd_sums on 1 thread and on 3: the same bits. */
static void check_sums_threads(int n, int c, int hw)
{
    bn_case t;
    case_init(&t, n, c, hw, 0);
    float *sm = rnd(c, -1, 1), *si = rnd(c, 0.5f, 2);
    double *s = sp_xmalloc((size_t)8 * c * sizeof *s);
    int threads[2] = {1, 3}, before = omp_get_max_threads();
    for (int k = 0; k < 2; k++) {
        omp_set_num_threads(threads[k]);
        sp_cpu_bn_sums_nhwc(cpu, s + 4 * k * c, t.in_l, n, c, hw);
        sp_cpu_bn_bwd_sums_nhwc(cpu, s + (4 * k + 2) * c, t.dout_l, t.in_l, sm, si, n, c, hw);
    }
    omp_set_num_threads(before);
    char name[96];
    snprintf(name, sizeof name, "bn_nhwc_sums n%d c%d hw%d", n, c, hw);
    check_same(!memcmp(s, s + 4 * c, 4 * (size_t)c * sizeof *s), name, "1 and 3 threads", -1);
    free(sm), free(si), free(s);
    case_free(&t);
}

int main(void)
{
    static const int shapes[][3] = {
        {4, 16, 1024},  /* resnet56's first stage: a row one AVX-512 vector */
        {3, 3, 37},     /* odd channels, 111 rows: a short last chunk */
        {5, 35, 49},    /* 7x7 maps, 245 rows */
        {40, 35, 49},   /* 1960 rows, threaded */
        {128, 64, 1},   /* pooled */
        {1, 8, 1},      /* one value per channel */
        {2, 24, 50},    /* 100 rows */
    };
    ref = sp_ref_backend_create();
    cpu = sp_cpu_backend_create();
    if (!CHECKF(ref && cpu, "bn_nhwc_backends", "cannot create: %s", sp_error()))
        return t_done();
    sp_rng_init(&rng, 11, 3);
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        const int *s = shapes[i];
        check_against_ref(s[0], s[1], s[2], 0, 0);
        check_recompute(s[0], s[1], s[2], 1.0f, 0);
        check_recompute(s[0], s[1], s[2], 8.0f, 0);
        check_in_place(s[0], s[1], s[2]);
        check_sums(s[0], s[1], s[2], 0);
    }
    check_against_ref(3, 16, 64, 0, 1);
    check_against_ref(5, 35, 49, 0, 1);
    check_sums(3, 16, 64, 1);
    check_sums(5, 35, 49, 1);
    check_against_ref(3, 3, 37, NO_AFFINE | NO_RUNNING, 0);
    check_against_ref(2, 24, 50, NO_PARAM_GRADS, 0);
    check_against_ref(2, 24, 50, NO_DIN, 0);
    check_against_ref(128, 64, 1, NO_AFFINE | NO_PARAM_GRADS | NO_RUNNING, 0);
    check_recompute(2, 24, 50, 8.0f, 1);
    check_threads(4, 16, 1024);
    check_threads(40, 35, 49);
    check_sums_threads(4, 16, 1024);
    check_sums_threads(40, 35, 49);
    sp_backend_destroy(cpu);
    sp_backend_destroy(ref);
    return t_done();
}
