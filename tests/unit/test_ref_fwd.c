/* test_ref_fwd.c: the reference backend against cases worked out by hand
 * (small convolutions, batch-norm statistics in closed form, pooling
 * windows, PyTorch's SGD re-derived step by step, the documented dropout
 * rule), plus the output-size formulas and backend selection by name.
 * The gradient checks are in test_ref_grad.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "sp/backend.h"
#include "sp/base.h"
#include "sp/rng.h"
#include "testlib.h"

static sp_backend *be;

/* got (n floats) equals want (n doubles) within a relative tolerance. */
static int near(const float *got, const double *want, size_t n, double tol)
{
    for (size_t i = 0; i < n; i++) {
        double scale = fabs(want[i]) > 1 ? fabs(want[i]) : 1;
        if (!(fabs(got[i] - want[i]) <= tol * scale))
            return 0;
    }
    return 1;
}

#define NEAR(got, want, name) \
    CHECK(near((got), (want), SP_COUNT(want), 1e-6), name)

static void test_shapes(void)
{
    sp_conv_shape c = {.h = 32, .w = 31, .kh = 3, .kw = 3, .sh = 1, .sw = 1, .ph = 1, .pw = 1};
    sp_conv_shape_out(&c);
    CHECK(c.oh == 32 && c.ow == 31, "conv shape 3x3 s1 p1 keeps the size");
    c = (sp_conv_shape){.h = 224, .w = 224, .kh = 7, .kw = 7, .sh = 2, .sw = 2, .ph = 3, .pw = 3};
    sp_conv_shape_out(&c);
    CHECK(c.oh == 112 && c.ow == 112, "conv shape 7x7 s2 p3 on 224 gives 112");
    c = (sp_conv_shape){.h = 7, .w = 8, .kh = 3, .kw = 1, .sh = 2, .sw = 3, .ph = 0, .pw = 0};
    sp_conv_shape_out(&c);
    CHECK(c.oh == 3 && c.ow == 3, "conv shape floors: (7-3)/2+1 = 3, (8-1)/3+1 = 3");
    c = (sp_conv_shape){.h = 2, .w = 2, .kh = 5, .kw = 5, .sh = 2, .sw = 2};
    sp_conv_shape_out(&c);
    CHECK(c.oh <= 0 && c.ow <= 0, "conv shape: a kernel larger than the input gives no output");
    sp_pool_shape p = {.h = 112, .w = 113, .kh = 3, .kw = 3, .sh = 2, .sw = 2, .ph = 1, .pw = 1};
    sp_pool_shape_out(&p);
    CHECK(p.oh == 56 && p.ow == 57, "pool shape 3x3 s2 p1: 112 -> 56, 113 -> 57");
    p = (sp_pool_shape){.h = 5, .w = 4, .kh = 2, .kw = 2, .sh = 2, .sw = 2};
    sp_pool_shape_out(&p);
    CHECK(p.oh == 2 && p.ow == 2, "pool shape 2x2 s2 floors 5 to 2");
}

static void test_create(void)
{
    sp_backend *b = sp_backend_create("ref");
    CHECK(b && strcmp(b->name, "ref") == 0, "create ref");
    sp_backend_destroy(b);
    /* a GPU backend, or one sentence saying why there is none */
    b = sp_backend_create("cuda");
    CHECK(b ? strcmp(b->name, "cuda") == 0 : sp_error()[0] != 0 && !strchr(sp_error(), '\n'),
          "create cuda: a cuda backend or a message");
    sp_backend_destroy(b);
    b = sp_backend_create("cuda:x");
    CHECK(!b && strstr(sp_error(), "unknown device 'cuda:x'"), "create cuda:x fails");
    b = sp_backend_create("auto");
    CHECK(b && (strcmp(b->name, "cuda") == 0 || strcmp(b->name, "cpu") == 0),
          "create auto: cuda or cpu");
    sp_backend_destroy(b);
    sp_errorf("%s", "");
    b = sp_backend_create("cpu");
    CHECK(b ? strcmp(b->name, "cpu") == 0 : sp_error()[0] != 0,
          "create cpu: a cpu backend or a message");
    sp_backend_destroy(b);
    b = sp_backend_create("tpu");
    CHECK(!b && strstr(sp_error(), "'tpu'"), "create unknown backend fails naming it");
    sp_backend_destroy(NULL);
}

static void test_memory(void)
{
    float host[4] = {1, 2, 3, 4}, back[4];
    float *d = be->alloc(be, sizeof host), *e = be->alloc(be, sizeof host);
    be->upload(be, d, host, sizeof host);
    be->copy(be, e, d, sizeof host);
    be->accumulate(be, e, d, 4);           /* 2 4 6 8 */
    be->scale(be, e, 0.5f, 4);             /* 1 2 3 4 */
    be->accumulate(be, e, d, 4);           /* 2 4 6 8 */
    be->sync(be);
    be->download(be, back, e, sizeof back);
    CHECK(back[0] == 2 && back[1] == 4 && back[2] == 6 && back[3] == 8,
          "upload, copy, accumulate, scale, download");
    be->fill(be, d, -1.5f, 3);
    be->download(be, back, d, sizeof back);
    CHECK(back[0] == -1.5f && back[2] == -1.5f && back[3] == 4, "fill touches n entries only");
    be->free(be, d);
    be->free(be, e);
}

/* 3x3 input 1..9, 2x2 kernel [[1,2],[3,4]], bias 0.5. */
static void test_conv(void)
{
    float in[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, w[4] = {1, 2, 3, 4}, bias[1] = {0.5f}, out[4];
    sp_conv_shape s = {.n = 1, .c = 1, .h = 3, .w = 3, .k = 1, .kh = 2, .kw = 2,
                       .sh = 1, .sw = 1, .groups = 1};
    sp_conv_shape_out(&s);
    be->conv_fwd(be, out, in, w, bias, &s);
    const double want1[] = {37.5, 47.5, 67.5, 77.5};
    NEAR(out, want1, "conv 1 channel 2x2 s1 by hand");

    s.sh = s.sw = 2;
    s.ph = s.pw = 1;
    sp_conv_shape_out(&s);
    be->conv_fwd(be, out, in, w, NULL, &s);
    const double want2[] = {4, 18, 36, 77};
    CHECK(s.oh == 2 && s.ow == 2, "conv 2x2 s2 p1 on 3x3 gives 2x2");
    NEAR(out, want2, "conv 1 channel 2x2 s2 p1 by hand");

    /* backward of the s1 p0 case with dout = 1 */
    float ones[4] = {1, 1, 1, 1}, din[9], dw[4] = {1, 1, 1, 1}, db[1] = {1};
    s.sh = s.sw = 1;
    s.ph = s.pw = 0;
    sp_conv_shape_out(&s);
    be->conv_bwd_data(be, din, ones, w, &s);
    const double want_din[] = {1, 3, 2, 4, 10, 6, 3, 7, 4};
    NEAR(din, want_din, "conv bwd data by hand");
    be->conv_bwd_filter(be, dw, db, ones, in, &s);
    const double want_dw[] = {13, 17, 25, 29}, want_db[] = {5};
    NEAR(dw, want_dw, "conv bwd filter accumulates window sums");
    NEAR(db, want_db, "conv bwd bias accumulates");

    /* groups: channel c only sees group c / (C/G); output k belongs to
     * group k / (K/G) */
    float gin[4] = {1, 2, 3, 4}, gw[4] = {1, 2, 3, 4}, gout[8];
    sp_conv_shape gs = {.n = 1, .c = 2, .h = 1, .w = 2, .k = 4, .kh = 1, .kw = 1,
                        .sh = 1, .sw = 1, .groups = 2};
    sp_conv_shape_out(&gs);
    be->conv_fwd(be, gout, gin, gw, NULL, &gs);
    const double want_g[] = {1, 2, 2, 4, 9, 12, 12, 16};
    NEAR(gout, want_g, "conv depthwise with multiplier 2 by hand");
}

static void test_bn(void)
{
    /* N=2, C=2, HW=2: channel 0 holds 1,2,3,4; channel 1 holds 10,10,10,14 */
    float in[8] = {1, 2, 10, 10, 3, 4, 10, 14}, out[8], mean[2], invstd[2];
    float gamma[2] = {2, 1}, beta[2] = {0.5f, -1};
    float rm[2] = {0, 1}, rv[2] = {1, 2};
    double v0 = 1.25, v1 = 3;             /* biased variances */
    double i0 = 1 / sqrt(v0 + 1e-5), i1 = 1 / sqrt(v1 + 1e-5);
    be->bn_fwd_train(be, out, mean, invstd, rm, rv, in, NULL, gamma, beta, 2, 2, 2, 1e-5f, 0.1f,
                     -1);
    const double want_stats[] = {2.5, 11, i0, i1};
    float stats[4] = {mean[0], mean[1], invstd[0], invstd[1]};
    NEAR(stats, want_stats, "bn train save_mean and save_invstd = 1/sqrt(biased var + eps)");
    const double want_out[] = {
        (1 - 2.5) * i0 * 2 + 0.5, (2 - 2.5) * i0 * 2 + 0.5, (10 - 11) * i1 - 1, (10 - 11) * i1 - 1,
        (3 - 2.5) * i0 * 2 + 0.5, (4 - 2.5) * i0 * 2 + 0.5, (10 - 11) * i1 - 1, (14 - 11) * i1 - 1};
    NEAR(out, want_out, "bn train output");
    /* with a residual added and ReLU6 applied, in the same pass */
    float res[8] = {1, -1, 2, 0.25f, -3, 4, 0, 1}, rm0[2] = {0, 0}, rv0[2] = {1, 1};
    be->bn_fwd_train(be, out, mean, invstd, rm0, rv0, in, res, gamma, beta, 2, 2, 2, 1e-5f, 0.1f,
                     SP_ACT_RELU6);
    double want_epi[8];
    for (int k = 0; k < 8; k++)
        want_epi[k] = fmin(fmax(want_out[k] + res[k], 0.0), 6.0);
    NEAR(out, want_epi, "bn train output with residual and relu6");
    /* running = 0.9 running + 0.1 batch, variance unbiased (5/3 and 4) */
    const double want_rm[] = {0.25, 2.0}, want_rv[] = {0.9 + 0.1 * 5.0 / 3, 1.8 + 0.4};
    NEAR(rm, want_rm, "bn running_mean momentum update");
    NEAR(rv, want_rv, "bn running_var uses the unbiased variance");
    be->bn_fwd_train(be, out, mean, invstd, rm, rv, in, NULL, gamma, beta, 2, 2, 2, 1e-5f, 0.1f,
                     -1);
    const double want_rm2[] = {0.9 * 0.25 + 0.25, 0.9 * 2.0 + 1.1};
    NEAR(rm, want_rm2, "bn running_mean second step");

    float imean[2] = {1, -1}, ivar[2] = {4, 0.25f};
    be->bn_fwd_infer(be, out, in, gamma, beta, imean, ivar, 2, 2, 2, 1e-5f);
    double j0 = 1 / sqrt(4 + 1e-5), j1 = 1 / sqrt(0.25 + 1e-5);
    const double want_inf[] = {(1 - 1) * j0 * 2 + 0.5, (2 - 1) * j0 * 2 + 0.5, 11 * j1 - 1,
                               11 * j1 - 1, (3 - 1) * j0 * 2 + 0.5, (4 - 1) * j0 * 2 + 0.5,
                               11 * j1 - 1, 15 * j1 - 1};
    NEAR(out, want_inf, "bn inference uses the given statistics");

    /* dout = 3 + 2 xhat lies in the span the normalisation removes: din = 0
     * up to eps, dgamma += 2 cnt var/(var+eps), dbeta += 3 cnt */
    be->bn_fwd_train(be, out, mean, invstd, rm, rv, in, NULL, NULL, NULL, 2, 2, 2, 1e-5f, 0.1f,
                     -1);
    float dout[8], din[8], dg[2] = {1, 1}, dbt[2] = {1, 1};
    for (int k = 0; k < 8; k++)
        dout[k] = 3 + 2 * out[k];
    be->bn_bwd(be, din, dg, dbt, dout, in, gamma, mean, invstd, 2, 2, 2);
    const double zero[8] = {0};
    CHECK(near(din, zero, 8, 1e-4), "bn bwd: din vanishes for dout = a + b xhat");
    const double want_dg[] = {1 + 8 * v0 / (v0 + 1e-5), 1 + 8 * v1 / (v1 + 1e-5)};
    const double want_dbt[] = {13, 13};
    NEAR(dg, want_dg, "bn bwd dgamma accumulates sum dout xhat");
    NEAR(dbt, want_dbt, "bn bwd dbeta accumulates sum dout");

    /* dout = one-hot at element j of channel 0 (m = 4 values):
     * din_i = gamma invstd (delta_ij - 1/m - xhat_i xhat_j / m) */
    memset(dout, 0, sizeof dout);
    dout[1] = 1;                                   /* sample 0, channel 0, value 2 */
    be->bn_bwd(be, din, NULL, NULL, dout, in, gamma, mean, invstd, 2, 2, 2);
    const int ch0[4] = {0, 1, 4, 5};
    double want_hot[8] = {0}, xj = (2 - 2.5) * i0;
    for (int k = 0; k < 4; k++) {
        double xi = (in[ch0[k]] - 2.5) * i0;
        want_hot[ch0[k]] = 2 * i0 * ((ch0[k] == 1) - 0.25 - xi * xj / 4);
    }
    CHECK(near(din, want_hot, 8, 1e-5), "bn bwd for a one-hot dout in closed form");
}

static void test_pool(void)
{
    float in[16] = {1, 5, 2, 0, 3, 4, 8, 7, 6, 0, 1, 2, 9, 3, 4, 5}, out[4], din[16];
    sp_pool_shape s = {.n = 1, .c = 1, .h = 4, .w = 4, .kh = 2, .kw = 2, .sh = 2, .sw = 2};
    sp_pool_shape_out(&s);
    be->maxpool_fwd(be, out, NULL, in, &s);
    const double want1[] = {5, 8, 9, 5};
    NEAR(out, want1, "maxpool 2x2 s2 by hand");

    s = (sp_pool_shape){.n = 1, .c = 1, .h = 4, .w = 4, .kh = 3, .kw = 3, .sh = 2, .sw = 2,
                        .ph = 1, .pw = 1};
    sp_pool_shape_out(&s);
    int32_t ws[4];
    float dout[4] = {1, 2, 3, 4};
    be->maxpool_fwd(be, out, ws, in, &s);
    const double want2[] = {5, 8, 9, 8};
    NEAR(out, want2, "maxpool 3x3 s2 p1 by hand");
    be->maxpool_bwd(be, din, dout, ws, in, &s);
    const double want_din[] = {0, 1, 0, 0, 0, 0, 6, 0, 0, 0, 0, 0, 3, 0, 0, 0};
    NEAR(din, want_din, "maxpool bwd routes overlapping windows to the maximum");

    float neg[16];
    for (int i = 0; i < 16; i++)
        neg[i] = -1 - i;
    be->maxpool_fwd(be, out, NULL, neg, &s);
    const double want_neg[] = {-1, -2, -5, -6};
    NEAR(out, want_neg, "maxpool padding is -inf, not 0");

    float tie[4] = {2, 2, 2, 2}, one[1] = {1}, dtie[4];
    s = (sp_pool_shape){.n = 1, .c = 1, .h = 2, .w = 2, .kh = 2, .kw = 2, .sh = 2, .sw = 2};
    sp_pool_shape_out(&s);
    be->maxpool_bwd(be, dtie, one, NULL, tie, &s);
    const double want_tie[] = {1, 0, 0, 0};
    NEAR(dtie, want_tie, "maxpool tie: the first maximum takes the gradient");

    float ones[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1}, aout[9], adin[9];
    s = (sp_pool_shape){.n = 1, .c = 1, .h = 3, .w = 3, .kh = 3, .kw = 3, .sh = 1, .sw = 1,
                        .ph = 1, .pw = 1};
    sp_pool_shape_out(&s);
    be->avgpool_fwd(be, aout, ones, &s);
    const double want_avg[] = {4 / 9., 6 / 9., 4 / 9., 6 / 9., 1, 6 / 9., 4 / 9., 6 / 9., 4 / 9.};
    NEAR(aout, want_avg, "avgpool counts padding in the divisor");
    be->avgpool_bwd(be, adin, ones, &s);
    NEAR(adin, want_avg, "avgpool bwd: each window passes 1/9");

    float col[5] = {1, 2, 3, 4, 5}, aa[3], acol[5], a1[3] = {1, 1, 1};
    s = (sp_pool_shape){.n = 1, .c = 1, .h = 5, .w = 1, .oh = 3, .ow = 1};
    be->adaptive_avgpool_fwd(be, aa, col, &s);
    const double want_ad[] = {1.5, 3, 4.5};
    NEAR(aa, want_ad, "adaptive 5 to 3: windows [0,2) [1,4) [3,5)");
    be->adaptive_avgpool_bwd(be, acol, a1, &s);
    const double want_adin[] = {0.5, 0.5 + 1 / 3., 1 / 3., 1 / 3. + 0.5, 0.5};
    NEAR(acol, want_adin, "adaptive 5 to 3 bwd");

    float sq[6] = {1, 2, 3, 4, 5, 6}, g1[2];
    s = (sp_pool_shape){.n = 2, .c = 1, .h = 1, .w = 3, .oh = 1, .ow = 1};
    be->adaptive_avgpool_fwd(be, g1, sq, &s);
    const double want_g1[] = {2, 5};
    NEAR(g1, want_g1, "adaptive to 1x1 is the global mean");
}

static void test_linear(void)
{
    float in[3] = {1, 2, 3}, w[6] = {1, 0, -1, 2, 1, 0}, bias[2] = {0.5f, -1}, out[2];
    float dout[2] = {1, 2}, din[3], dw[6] = {0}, db[2] = {1, 1};
    be->linear_fwd(be, out, in, w, bias, 1, 3, 2);
    const double want[] = {-1.5, 3};
    NEAR(out, want, "linear by hand");
    be->linear_bwd_data(be, din, dout, w, 1, 3, 2);
    const double want_din[] = {5, 2, -1};
    NEAR(din, want_din, "linear bwd data by hand");
    be->linear_bwd_weight(be, dw, db, dout, in, 1, 3, 2);
    be->linear_bwd_weight(be, dw, db, dout, in, 1, 3, 2);
    const double want_dw[] = {2, 4, 6, 4, 8, 12}, want_db[] = {3, 5};
    NEAR(dw, want_dw, "linear bwd weight accumulates over calls");
    NEAR(db, want_db, "linear bwd bias accumulates over calls");
}

static void test_elementwise(void)
{
    float x[5] = {-1, 0, 3, 7, 6}, out[5], d[5], ones[5] = {1, 1, 1, 1, 1};
    be->act_fwd(be, SP_ACT_RELU, out, x, 5);
    const double want_relu[] = {0, 0, 3, 7, 6};
    NEAR(out, want_relu, "relu by hand");
    be->act_fwd(be, SP_ACT_RELU6, out, x, 5);
    const double want_relu6[] = {0, 0, 3, 6, 6};
    NEAR(out, want_relu6, "relu6 clips at 6");
    be->act_bwd(be, SP_ACT_RELU, d, ones, x, 5);
    const double want_drelu[] = {0, 0, 1, 1, 1};
    NEAR(d, want_drelu, "relu bwd is 0 at 0");
    be->act_bwd(be, SP_ACT_RELU6, d, ones, x, 5);
    const double want_drelu6[] = {0, 0, 1, 0, 0};
    NEAR(d, want_drelu6, "relu6 bwd is 0 at and above 6");
    float nan_in[1] = {NAN}, nan_out[1];
    be->act_fwd(be, SP_ACT_RELU, nan_out, nan_in, 1);
    CHECK(isnan(nan_out[0]), "relu keeps NaN");

    float y[5] = {1, 1, 1, 1, 0.5f};
    be->add_fwd(be, out, x, y, 5);
    const double want_add[] = {0, 1, 4, 8, 6.5};
    NEAR(out, want_add, "add");

    /* N=1, C=2, HW=2 */
    float mx[4] = {1, 2, 3, 4}, m[2] = {0.5f, -2}, mo[4], mdin[4], dm[2] = {1, 0};
    float mdout[4] = {1, 1, 2, 0};
    be->mask_fwd(be, mo, mx, m, 1, 2, 2);
    const double want_mask[] = {0.5, 1, -6, -8};
    NEAR(mo, want_mask, "mask scales each channel");
    be->mask_bwd(be, mdin, dm, mdout, mx, m, 1, 2, 2);
    const double want_mdin[] = {0.5, 0.5, -4, 0}, want_dm[] = {1 + 3, 0 + 6};
    NEAR(mdin, want_mdin, "mask bwd din");
    NEAR(dm, want_dm, "mask bwd dm accumulates sum dout * in");

    /* 3x3 picked at stride 2 -> 2x2, one zero channel on each side */
    float sin[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, sout[12], sd[9];
    be->pad_shortcut_fwd(be, sout, sin, 1, 1, 3, 3, 2, 2, 1, 1);
    const double want_sc[] = {0, 0, 0, 0, 1, 3, 7, 9, 0, 0, 0, 0};
    NEAR(sout, want_sc, "pad shortcut picks ::2 and pads channels");
    float sdout[12] = {9, 9, 9, 9, 1, 2, 3, 4, 9, 9, 9, 9};
    be->pad_shortcut_bwd(be, sd, sdout, 1, 1, 3, 3, 2, 2, 1, 1);
    const double want_sd[] = {1, 0, 2, 0, 0, 0, 3, 0, 4};
    NEAR(sd, want_sd, "pad shortcut bwd");
}

static void test_dropout(void)
{
    enum { N = 10000 };
    float *in = malloc(N * sizeof(float)), *out = malloc(N * sizeof(float));
    float *keep = malloc(N * sizeof(float)), *keep2 = malloc(N * sizeof(float));
    sp_rng r;
    int zeros = 0, rule = 1, values = 1, product = 1;
    sp_rng_init(&r, 5, 5);
    sp_rng_fill_uniform(&r, in, N, -1, 1);
    be->dropout_fwd(be, out, keep, in, N, 0.5f, 99, 3, 0);
    sp_rng_init(&r, 99, 3);
    for (int i = 0; i < N; i++) {
        int dropped = sp_rng_uniform(&r) < 0.5;
        zeros += keep[i] == 0;
        rule &= dropped == (keep[i] == 0);
        values &= keep[i] == 0 || keep[i] == 2.0f;
        product &= out[i] == in[i] * keep[i];
    }
    CHECK(rule, "dropout follows the documented (seed, counter) rule");
    CHECK(values && product, "dropout keep is 0 or 1/(1-p) and out = in * keep");
    CHECKF(zeros > 4700 && zeros < 5300, "dropout p=0.5 drops about half", "%d zeros", zeros);
    be->dropout_fwd(be, out, keep2, in, N, 0.5f, 99, 4, 0);
    CHECK(memcmp(keep, keep2, N * sizeof(float)) != 0, "dropout: another counter, another mask");
    be->dropout_fwd(be, out, keep2, in, N, 0.5f, 99, 3, 0);
    CHECK(memcmp(keep, keep2, N * sizeof(float)) == 0, "dropout: same seed and counter, same mask");
    be->dropout_fwd(be, out, keep, in, N, 0.0f, 99, 3, 0);
    CHECK(memcmp(out, in, N * sizeof(float)) == 0, "dropout p=0 is the identity");
    free(in); free(out); free(keep); free(keep2);
}

static void test_xent(void)
{
    float z[6] = {0, 0, 0, 1, 2, 3}, loss, dz[6];
    int32_t y[2] = {1, 2};
    double e = exp(1), se = e + e * e + e * e * e;
    be->xent(be, &loss, dz, z, y, 2, 3, 2.0f);
    const double want_loss[] = {(log(3) + log(se) - 3) / 2};
    float lossv[1] = {loss};
    NEAR(lossv, want_loss, "xent loss in closed form");
    /* (softmax - onehot) / n * scale, scale 2 and n 2 cancel */
    const double want_dz[] = {1 / 3., -2 / 3., 1 / 3., e / se, e * e / se, e * e * e / se - 1};
    NEAR(dz, want_dz, "xent dlogits in closed form");
    float big[2] = {1000, 0};
    int32_t y0[1] = {1};
    be->xent(be, &loss, NULL, big, y0, 1, 2, 1.0f);
    CHECKF(fabs(loss - 1000) < 1e-3, "xent is stable for large logits", "loss %g", loss);
    y0[0] = 2;
    be->xent(be, &loss, NULL, big, y0, 1, 2, 1.0f);
    CHECK(isnan(loss), "xent label out of range gives a NaN loss");
}

/* One element, lr 0.1, gradient 0.5 throughout, worked by hand. */
static void test_sgd_by_hand(void)
{
    float w = 1, g = 0.5f, v = 0, ws[3];
    for (int t = 0; t < 3; t++) {
        be->sgd(be, &w, &g, &v, 1, 0.1f, 0.9f, 0.0f, 0);
        ws[t] = w;
    }
    const double want[] = {0.95, 0.855, 0.7195};
    CHECK(near(ws, want, 3, 1e-6), "sgd momentum three steps by hand");
    w = 1, v = 0;
    for (int t = 0; t < 3; t++) {
        be->sgd(be, &w, &g, &v, 1, 0.1f, 0.9f, 0.0f, 1);
        ws[t] = w;
    }
    const double want_n[] = {0.905, 0.7695, 0.59755};
    CHECK(near(ws, want_n, 3, 1e-6), "sgd nesterov three steps by hand");
}

/* torch.optim.SGD's documented update, re-derived in double with a changing
 * gradient, for three steps. */
static void test_sgd_rederived(float mu, float wd, int nesterov, const char *name)
{
    enum { N = 8 };
    float w[N], v[N] = {0}, g[N];
    double wd_[N], buf[N];
    sp_rng r;
    sp_rng_init(&r, 11, 0);
    sp_rng_fill_uniform(&r, w, N, -1, 1);
    for (int i = 0; i < N; i++)
        wd_[i] = w[i];
    for (int t = 0; t < 3; t++) {
        sp_rng_fill_uniform(&r, g, N, -1, 1);
        be->sgd(be, w, g, mu != 0 ? v : NULL, N, 0.05f, mu, wd, nesterov);
        for (int i = 0; i < N; i++) {
            double grad = g[i] + (double)wd * wd_[i];
            if (mu != 0) {
                buf[i] = t == 0 ? grad : mu * buf[i] + grad;
                grad = nesterov ? grad + mu * buf[i] : buf[i];
            }
            wd_[i] -= 0.05 * grad;
        }
    }
    CHECK(near(w, wd_, N, 1e-5), name);
}

int main(void)
{
    be = sp_ref_backend_create();
    test_shapes();
    test_create();
    test_memory();
    test_conv();
    test_bn();
    test_pool();
    test_linear();
    test_elementwise();
    test_dropout();
    test_xent();
    test_sgd_by_hand();
    test_sgd_rederived(0.9f, 5e-4f, 0, "sgd momentum + weight decay vs re-derivation");
    test_sgd_rederived(0.9f, 1e-4f, 1, "sgd nesterov + weight decay vs re-derivation");
    test_sgd_rederived(0.0f, 1e-2f, 0, "sgd without momentum (v NULL) vs re-derivation");
    sp_backend_destroy(be);
    return t_done();
}
