/* test_cpu_nhwc.c: the CPU backend's channels-last inference operations
 * (sp/backend.h, sp_nhwc_ops) against the reference backend's NCHW ones.
 *
 * The oracle's NCHW result is brought to channels-last by this file's own
 * loop, never by the backend under test.  Checked:
 *   - reorder, both ways, bit for bit;
 *   - conv_fwd on the convolution shapes of resnet20 and mobilenetv2 (at
 *     16x16) and hand-picked ones (grouped, strided, rectangular, odd
 *     channel counts, 1 channel): every combination of input order,
 *     activation and residual sum on the hand-picked ones, two rotating
 *     combinations on the others; the sum adds the output's previous
 *     contents before the activation;
 *   - among them, convolutions of at most 8 outputs, which on AVX-512
 *     run cpu_narrow.c's kernel (a note says so): several
 *     pixel blocks a row and a short last one, more rows than one copy
 *     holds, odd input channels, 5x3 kernels, strides, 1x1;
 *   - the fallback through NCHW that a shape oneDNN refuses takes, on
 *     the same combinations;
 *   - max (NaN included), average and adaptive pooling, the option-A
 *     shortcut and the mask, which must give exactly the NCHW floats
 *     (pooling within the reference's double-accumulation distance). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sp/arch.h"
#include "sp/backend.h"
#include "sp/base.h"
#include "sp/graph.h"
#include "sp/rng.h"
#include "backend/cpu/cpu_priv.h"
#include "testlib.h"

#define BOUND 1e-5

static sp_backend *ref, *cpu;
static sp_rng rng;

static float *rnd(size_t n, float lo, float hi)
{
    return t_uniform(&rng, n, lo, hi);
}

static void to_nhwc(float *out, const float *in, int n, int c, int hw)
{
    for (int i = 0; i < n; i++)
        for (int ch = 0; ch < c; ch++)
            for (int p = 0; p < hw; p++)
                out[((size_t)i * hw + p) * c + ch] = in[((size_t)i * c + ch) * hw + p];
}

static float *nhwc_of(const float *in, int n, int c, int hw)
{
    float *out = sp_xmalloc((size_t)n * c * hw * sizeof *out);
    to_nhwc(out, in, n, c, hw);
    return out;
}

static void check_reorder(int n, int c, int h, int w)
{
    size_t count = (size_t)n * c * h * w;
    float *x = rnd(count, -1, 1), *want = nhwc_of(x, n, c, h * w);
    float *got = sp_xmalloc(count * sizeof *got), *back = sp_xmalloc(count * sizeof *back);
    cpu->nhwc.reorder(cpu, got, x, n, c, h, w, 1);
    cpu->nhwc.reorder(cpu, back, got, n, c, h, w, 0);
    char name[64];
    snprintf(name, sizeof name, "nhwc_reorder %dx%dx%dx%d", n, c, h, w);
    CHECK(!memcmp(got, want, count * sizeof *got) && !memcmp(back, x, count * sizeof *x), name);
    free(x), free(want), free(got), free(back);
}

typedef void conv_nhwc_fn(sp_backend *b, float *out, const float *in, const float *w,
                          const float *bias, const sp_conv_shape *s, int act, int flags);

/* One combination: flags, act (-1 none); the oracle is the reference's
 * conv_fwd, plus `prev` when summing, then act_fwd, in NHWC. */
static double conv_case(conv_nhwc_fn *fn, const sp_conv_shape *s, int flags, int act,
                        const float *in, const float *w, const float *bias)
{
    int ohw = s->oh * s->ow;
    size_t nout = (size_t)s->n * s->k * ohw;
    float *want = sp_xmalloc(nout * sizeof *want), *prev = rnd(nout, -1, 1);
    float *got = sp_xmalloc(nout * sizeof *got);
    ref->conv_fwd(ref, want, in, w, bias, s);
    if (flags & SP_NHWC_SUM)
        ref->accumulate(ref, want, prev, nout);
    if (act >= 0)
        ref->act_fwd(ref, (sp_act)act, want, want, nout);
    float *want_l = nhwc_of(want, s->n, s->k, ohw), *prev_l = nhwc_of(prev, s->n, s->k, ohw);
    float *in_l = flags & SP_NHWC_IN_NCHW ? NULL : nhwc_of(in, s->n, s->c, s->h * s->w);
    memcpy(got, prev_l, nout * sizeof *got);
    fn(cpu, got, in_l ? in_l : in, w, bias, s, act, flags);
    double e = t_rel_err(got, want_l, nout);
    free(want), free(prev), free(got), free(want_l), free(prev_l), free(in_l);
    return e;
}

/* combos: 12 = all of (input order) x (none, relu, relu6) x (sum or not);
 * otherwise the two starting at `from`. */
static void check_conv(const sp_conv_shape *s, int combos, int from)
{
    size_t nin = (size_t)s->n * s->c * s->h * s->w;
    size_t nw = (size_t)s->k * (s->c / s->groups) * s->kh * s->kw;
    float *in = rnd(nin, -1, 1), *w = rnd(nw, -1, 1), *bias = rnd(s->k, -1, 1);
    double worst = 0.0, worst_fb = 0.0;
    for (int t = 0; t < combos; t++) {
        int c = (from + t) % 12, flags = (c & 1 ? SP_NHWC_IN_NCHW : 0) | (c & 2 ? SP_NHWC_SUM : 0);
        int act = c / 4 - 1;
        const float *b = c % 5 == 4 ? NULL : bias;
        worst = fmax(worst, conv_case(cpu->nhwc.conv_fwd, s, flags, act, in, w, b));
        worst_fb = fmax(worst_fb, conv_case(sp_cpu_conv_nhwc_fallback, s, flags, act, in, w, b));
    }
    char name[128];
    snprintf(name, sizeof name, "nhwc_conv_fwd n%d c%d %dx%d k%d %dx%d s%d g%d", s->n, s->c, s->h,
             s->w, s->k, s->kh, s->kw, s->sh, s->groups);
    CHECKF(worst < BOUND, name, "normalised error %.3g", worst);
    strncat(name, " fallback", sizeof name - strlen(name) - 1);
    CHECKF(worst_fb < BOUND, name, "normalised error %.3g", worst_fb);
    free(in), free(w), free(bias);
}

static void check_net_convs(const char *arch, int *from)
{
    sp_arch_opts ao = {10, 3, 16, 16};
    sp_graph *g = sp_arch_build(arch, &ao);
    if (!CHECKF(g != NULL, "nhwc_build", "cannot build %s: %s", arch, sp_error()))
        return;
    for (int i = 1; i < g->n; i++) {
        const sp_node *nd = &g->node[i], *src = &g->node[nd->in[0]];
        if (nd->op != SP_OP_CONV)
            continue;
        sp_conv_shape s = {2, src->c, src->h, src->w, nd->cout, nd->h, nd->w, nd->kh, nd->kw,
                           nd->sh, nd->sw, nd->ph, nd->pw, nd->groups > 0 ? nd->groups : 1};
        check_conv(&s, 2, (*from)++);
    }
    sp_graph_free(g);
}

/* kind: 0 max, 1 average, 2 adaptive */
static void check_pool(const sp_pool_shape *s, int kind, int with_nan)
{
    static const char *names[] = {"max", "avg", "adaptive"};
    size_t nin = (size_t)s->n * s->c * s->h * s->w, nout = (size_t)s->n * s->c * s->oh * s->ow;
    float *in = rnd(nin, -1, 1), *want = sp_xmalloc(nout * sizeof *want);
    float *got = sp_xmalloc(nout * sizeof *got);
    for (size_t i = 0; with_nan && i < nin; i += 7)
        in[i] = NAN;
    if (kind == 0)
        ref->maxpool_fwd(ref, want, NULL, in, s);
    else if (kind == 1)
        ref->avgpool_fwd(ref, want, in, s);
    else
        ref->adaptive_avgpool_fwd(ref, want, in, s);
    float *in_l = nhwc_of(in, s->n, s->c, s->h * s->w);
    float *want_l = nhwc_of(want, s->n, s->c, s->oh * s->ow);
    (kind == 0   ? cpu->nhwc.maxpool_fwd
     : kind == 1 ? cpu->nhwc.avgpool_fwd
                 : cpu->nhwc.adaptive_avgpool_fwd)(cpu, got, in_l, s);
    char name[96];
    snprintf(name, sizeof name, "nhwc_%spool %dx%d to %dx%d k%d s%d p%d%s", names[kind], s->h,
             s->w, s->oh, s->ow, s->kh, s->sh, s->ph, with_nan ? " NaN" : "");
    if (with_nan) {
        int same = 1;
        for (size_t o = 0; o < nout; o++)
            same &= isnan(want_l[o]) ? isnan(got[o]) : got[o] == want_l[o];
        CHECK(same, name);
    } else {
        double e = t_rel_err(got, want_l, nout);
        CHECKF(kind == 0 ? e == 0.0 : e < BOUND, name, "normalised error %.3g", e);
    }
    free(in), free(want), free(got), free(in_l), free(want_l);
}

static void check_pad(int n, int c, int h, int w, int sh, int sw, int lo, int hi)
{
    int oh = (h + sh - 1) / sh, ow = (w + sw - 1) / sw, k = lo + c + hi;
    size_t nin = (size_t)n * c * h * w, nout = (size_t)n * k * oh * ow;
    float *in = rnd(nin, -1, 1), *want = sp_xmalloc(nout * sizeof *want);
    float *got = rnd(nout, -1, 1);
    ref->pad_shortcut_fwd(ref, want, in, n, c, h, w, sh, sw, lo, hi);
    float *in_l = nhwc_of(in, n, c, h * w), *want_l = nhwc_of(want, n, k, oh * ow);
    cpu->nhwc.pad_shortcut_fwd(cpu, got, in_l, n, c, h, w, sh, sw, lo, hi);
    char name[64];
    snprintf(name, sizeof name, "nhwc_pad_shortcut c%d %dx%d s%d +%d+%d", c, h, w, sh, lo, hi);
    CHECK(!memcmp(got, want_l, nout * sizeof *got), name);
    free(in), free(want), free(got), free(in_l), free(want_l);
}

static void check_mask(int n, int c, int hw)
{
    size_t count = (size_t)n * c * hw;
    float *in = rnd(count, -1, 1), *m = rnd(c, 0, 1), *want = sp_xmalloc(count * sizeof *want);
    float *got = sp_xmalloc(count * sizeof *got);
    m[0] = 0.0f;
    ref->mask_fwd(ref, want, in, m, n, c, hw);
    float *in_l = nhwc_of(in, n, c, hw), *want_l = nhwc_of(want, n, c, hw);
    cpu->nhwc.mask_fwd(cpu, got, in_l, m, n, c, hw);
    CHECK(!memcmp(got, want_l, count * sizeof *got), "nhwc_mask_fwd");
    free(in), free(m), free(want), free(got), free(in_l), free(want_l);
}

int main(void)
{
    static const sp_conv_shape convs[] = {
        {2, 3, 9, 9, 16, 0, 0, 3, 3, 1, 1, 1, 1, 1},     /* a stem */
        {2, 5, 8, 8, 7, 0, 0, 3, 3, 2, 2, 1, 1, 1},      /* odd widths, stride 2 */
        {3, 8, 9, 7, 12, 0, 0, 3, 1, 2, 1, 1, 0, 2},     /* grouped, rectangular */
        {2, 6, 11, 11, 6, 0, 0, 5, 5, 2, 2, 2, 2, 6},    /* depthwise 5x5 */
        {2, 1, 7, 7, 1, 0, 0, 3, 3, 1, 1, 1, 1, 1},      /* one channel in and out */
        {2, 13, 6, 6, 24, 0, 0, 1, 1, 1, 1, 0, 0, 1},    /* 1x1 */
        /* at most 8 outputs: cpu_narrow.c on AVX-512 */
        {2, 16, 20, 37, 8, 0, 0, 3, 3, 1, 1, 1, 1, 1},   /* blocks 13+12+12, 16+4 rows */
        {2, 9, 19, 18, 5, 0, 0, 5, 3, 2, 1, 2, 1, 1},    /* odd channels, 5x3, stride 2x1 */
        {3, 24, 6, 7, 8, 0, 0, 1, 1, 1, 1, 0, 0, 1},     /* 1x1 */
        {2, 4, 33, 34, 3, 0, 0, 3, 3, 2, 2, 1, 1, 1},    /* stride 2, odd output sides */
    };
    static const sp_pool_shape pools[] = {
        {2, 5, 9, 9, 0, 0, 3, 3, 2, 2, 1, 1},
        {2, 4, 8, 7, 0, 0, 2, 3, 2, 1, 1, 1},
        {3, 17, 8, 8, 0, 0, 2, 2, 2, 2, 0, 0},
    };
    ref = sp_ref_backend_create();
    cpu = sp_cpu_backend_create();
    if (!CHECKF(ref && cpu, "nhwc_backends", "cannot create: %s", sp_error()))
        return t_done();
    CHECK(cpu->nhwc.preferred && cpu->nhwc.reorder && cpu->nhwc.conv_fwd &&
              cpu->nhwc.maxpool_fwd && cpu->nhwc.avgpool_fwd &&
              cpu->nhwc.adaptive_avgpool_fwd && cpu->nhwc.pad_shortcut_fwd &&
              cpu->nhwc.mask_fwd,
          "nhwc_ops_complete");
    sp_conv_shape narrow = convs[6];
    sp_conv_shape_out(&narrow);
    if (sp_cpu_conv_narrow_fits(&narrow, 0))
        printf("# AVX-512: convolutions of at most 8 outputs run cpu_narrow.c's kernel\n");
    sp_rng_init(&rng, 5, 9);
    check_reorder(2, 3, 5, 7);
    check_reorder(3, 64, 8, 8);
    for (size_t i = 0; i < sizeof convs / sizeof convs[0]; i++) {
        sp_conv_shape s = convs[i];
        sp_conv_shape_out(&s);
        check_conv(&s, 12, 0);
    }
    int from = 0;
    check_net_convs("resnet20", &from);
    check_net_convs("mobilenetv2", &from);
    for (size_t i = 0; i < sizeof pools / sizeof pools[0]; i++) {
        sp_pool_shape s = pools[i];
        sp_pool_shape_out(&s);
        check_pool(&s, 0, 0);
        check_pool(&s, 0, 1);
        check_pool(&s, 1, 0);
        s.oh = 3, s.ow = 2;
        check_pool(&s, 2, 0);
        s.oh = s.ow = 1;
        check_pool(&s, 2, 0);
    }
    check_pad(2, 16, 8, 8, 2, 2, 8, 8);
    check_pad(3, 5, 7, 6, 2, 2, 3, 4);
    check_mask(3, 19, 10);
    sp_backend_destroy(cpu);
    sp_backend_destroy(ref);
    return t_done();
}
