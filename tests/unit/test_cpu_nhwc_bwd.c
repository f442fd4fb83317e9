/* test_cpu_nhwc_bwd.c: the CPU backend's channels-last training
 * operations of cpu_nhwc_bwd.c (sp/backend.h, sp_nhwc_train_ops: pooling,
 * the option-A shortcut and the mask) against the reference backend's
 * NCHW ones.
 *
 * The oracle's NCHW results are brought to channels-last by this file's
 * own loop, never by the backend under test.  Gradients are written over
 * a NaN-filled buffer, so that an input left unwritten shows.  Checked:
 *   - max pooling (2x2 s2, 3x3 s2 p1, rectangular, windows of padding
 *     only, inputs no window reads) on inputs with ties and NaNs: the
 *     forward's out equals the reference's and cpu_nhwc.c's inference bit
 *     for bit, its workspace names the reference's argmax; the backward
 *     with and without the workspace;
 *   - average pooling with padding, adaptive pooling to 1x1, to a size
 *     that does not divide the input (7 -> 3) and over more channels than
 *     one block of cpu_nhwc_bwd.c;
 *   - the shortcut with strides 2 and 1 and padded channels;
 *   - the mask with din and dm, dm NULL, din NULL, din == dout, and dm
 *     equal bit for bit on 1 and 3 threads.
 *
 * Exact where the arithmetic is the same: outputs, workspaces, copies and
 * the mask's din, and every pooling gradient whose inputs each receive at
 * most one term.  Where windows overlap the reference sums in double and
 * rounds once while the backend sums in float (as cpu_pool.c, whose NCHW
 * gradients it must then equal bit for bit), so within SUM_BOUND; the
 * mask's dm sums 256 positions in float per chunk, so within MASK_BOUND. */
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sp/backend.h"
#include "sp/base.h"
#include "sp/rng.h"
#include "backend/cpu/cpu_priv.h"
#include "testlib.h"

/* A few float roundings of sums of at most four terms, against the
 * largest gradient (seen: 1.0e-7). */
#define SUM_BOUND 1e-6
/* Float sums of 256 products per chunk, against the largest dm (seen:
 * 2.3e-7). */
#define MASK_BOUND 2e-6

static sp_backend *ref, *cpu;
static sp_rng rng;

/* A gradient buffer before the operation overwrites it. */
static float *poisoned(size_t n)
{
    float *x = sp_xmalloc((n ? n : 1) * sizeof *x);
    for (size_t i = 0; i < n; i++)
        x[i] = NAN;
    return x;
}

static float *copy_of(const float *x, size_t n)
{
    float *y = sp_xmalloc((n ? n : 1) * sizeof *y);
    memcpy(y, x, n * sizeof *y);
    return y;
}

/* NCHW -> NHWC of elements of `size` bytes (floats, or int32 workspaces). */
static void *nhwc_of(const void *in, size_t size, int n, int c, int hw)
{
    size_t count = (size_t)n * c * hw;
    char *out = sp_xmalloc((count ? count : 1) * size);
    const char *from = in;
    for (int i = 0; i < n; i++)
        for (int ch = 0; ch < c; ch++)
            for (int p = 0; p < hw; p++)
                memcpy(out + (((size_t)i * hw + p) * c + ch) * size,
                       from + (((size_t)i * c + ch) * hw + p) * size, size);
    return out;
}

static int same(const void *a, const void *b, size_t bytes)
{
    return !memcmp(a, b, bytes);
}

/* Whether some input may receive the gradient of two outputs. */
static int windows_overlap(const sp_pool_shape *s, int adaptive)
{
    if (adaptive)
        return s->h % s->oh || s->w % s->ow;
    return s->kh > s->sh || s->kw > s->sw;
}

/* din (NHWC) against the reference's and cpu_pool.c's NCHW gradients. */
static void check_din(const char *name, const float *din, const float *want, const float *twin,
                      const sp_pool_shape *s, int exact)
{
    int hw = s->h * s->w;
    size_t nin = (size_t)s->n * s->c * hw;
    float *want_l = nhwc_of(want, sizeof *want, s->n, s->c, hw);
    float *twin_l = nhwc_of(twin, sizeof *twin, s->n, s->c, hw);
    double e = t_rel_err(din, want_l, nin);
    char full[160];
    snprintf(full, sizeof full, "%s bwd", name);
    CHECKF(exact ? e == 0.0 : e < SUM_BOUND, full, "normalised error %.3g", e);
    snprintf(full, sizeof full, "%s bwd = cpu NCHW", name);
    CHECK(same(din, twin_l, nin * sizeof *din), full);
    free(want_l), free(twin_l);
}

/* The kernel only where there is one (not for adaptive pooling). */
static void pool_name(char *name, size_t size, const char *kind, const sp_pool_shape *s)
{
    int at = snprintf(name, size, "nhwc_%s n%d c%d %dx%d to %dx%d", kind, s->n, s->c, s->h,
                      s->w, s->oh, s->ow);
    if (s->kh && at > 0 && (size_t)at < size)
        snprintf(name + at, size - at, " k%dx%d s%dx%d p%dx%d", s->kh, s->kw, s->sh, s->sw,
                 s->ph, s->pw);
}

/* Values on a grid of eighths, so that windows hold ties; with_nan: every
 * seventh a NaN. */
static float *tied(size_t n, int with_nan)
{
    float *x = t_uniform(&rng, n, -1, 1);
    for (size_t i = 0; i < n; i++)
        x[i] = with_nan && i % 7 == 3 ? NAN : floorf(x[i] * 4.0f) / 4.0f;
    return x;
}

static void check_maxpool(const sp_pool_shape *s, int with_nan)
{
    int hw = s->h * s->w, ohw = s->oh * s->ow;
    size_t nin = (size_t)s->n * s->c * hw, nout = (size_t)s->n * s->c * ohw;
    size_t wsb = sp_cpu_maxpool_ws_bytes(cpu, s);
    float *in = tied(nin, with_nan), *dout = t_uniform(&rng, nout, -1, 1);
    float *out_ref = sp_xmalloc(nout * sizeof *out_ref), *din_ref = poisoned(nin);
    float *out_twin = sp_xmalloc(nout * sizeof *out_twin), *din_twin = poisoned(nin);
    int32_t *ws_ref = sp_xmalloc(wsb), *ws_twin = sp_xmalloc(wsb), *ws = sp_xmalloc(wsb);
    ref->maxpool_fwd(ref, out_ref, ws_ref, in, s);
    ref->maxpool_bwd(ref, din_ref, dout, ws_ref, in, s);
    cpu->maxpool_fwd(cpu, out_twin, ws_twin, in, s);
    cpu->maxpool_bwd(cpu, din_twin, dout, ws_twin, in, s);

    float *in_l = nhwc_of(in, sizeof *in, s->n, s->c, hw);
    float *dout_l = nhwc_of(dout, sizeof *dout, s->n, s->c, ohw);
    float *out_ref_l = nhwc_of(out_ref, sizeof *out_ref, s->n, s->c, ohw);
    int32_t *ws_ref_l = nhwc_of(ws_ref, sizeof *ws_ref, s->n, s->c, ohw);
    float *out = poisoned(nout), *out_infer = poisoned(nout);
    float *din = poisoned(nin), *din_nows = poisoned(nin);
    sp_cpu_maxpool_fwd_train_nhwc(cpu, out, ws, in_l, s);
    sp_cpu_maxpool_fwd_nhwc(cpu, out_infer, in_l, s);
    sp_cpu_maxpool_bwd_nhwc(cpu, din, dout_l, ws, in_l, s);
    sp_cpu_maxpool_bwd_nhwc(cpu, din_nows, dout_l, NULL, in_l, s);

    char name[128], full[160];
    pool_name(name, sizeof name, with_nan ? "maxpool NaN" : "maxpool", s);
    snprintf(full, sizeof full, "%s fwd = ref, = inference", name);
    CHECK(same(out, out_ref_l, nout * sizeof *out) && same(out, out_infer, nout * sizeof *out),
          full);
    snprintf(full, sizeof full, "%s ws = ref argmax", name);
    CHECK(same(ws, ws_ref_l, wsb), full);
    check_din(name, din, din_ref, din_twin, s, !windows_overlap(s, 0));
    snprintf(full, sizeof full, "%s bwd without ws", name);
    CHECK(same(din_nows, din, nin * sizeof *din), full);
    free(in), free(dout), free(out_ref), free(din_ref), free(out_twin), free(din_twin);
    free(ws_ref), free(ws_twin), free(ws), free(in_l), free(dout_l), free(out_ref_l);
    free(ws_ref_l), free(out), free(out_infer), free(din), free(din_nows);
}

typedef void pool_bwd_fn(sp_backend *b, float *din, const float *dout, const sp_pool_shape *s);

static void check_mean_pool(const sp_pool_shape *s, int adaptive)
{
    int hw = s->h * s->w, ohw = s->oh * s->ow;
    size_t nin = (size_t)s->n * s->c * hw, nout = (size_t)s->n * s->c * ohw;
    pool_bwd_fn *oracle = adaptive ? ref->adaptive_avgpool_bwd : ref->avgpool_bwd;
    pool_bwd_fn *twin = adaptive ? cpu->adaptive_avgpool_bwd : cpu->avgpool_bwd;
    pool_bwd_fn *test = adaptive ? sp_cpu_adaptive_avgpool_bwd_nhwc : sp_cpu_avgpool_bwd_nhwc;
    float *dout = t_uniform(&rng, nout, -1, 1), *want = poisoned(nin), *din_twin = poisoned(nin);
    float *din = poisoned(nin), *dout_l = nhwc_of(dout, sizeof *dout, s->n, s->c, ohw);
    oracle(ref, want, dout, s);
    twin(cpu, din_twin, dout, s);
    test(cpu, din, dout_l, s);
    char name[128];
    pool_name(name, sizeof name, adaptive ? "adaptive_avgpool" : "avgpool", s);
    check_din(name, din, want, din_twin, s, !windows_overlap(s, adaptive));
    free(dout), free(want), free(din_twin), free(din), free(dout_l);
}

static void check_pad_bwd(int n, int c, int h, int w, int sh, int sw, int lo, int hi)
{
    int oh = (h + sh - 1) / sh, ow = (w + sw - 1) / sw, k = lo + c + hi;
    size_t nin = (size_t)n * c * h * w, nout = (size_t)n * k * oh * ow;
    float *dout = t_uniform(&rng, nout, -1, 1), *want = poisoned(nin), *din = poisoned(nin);
    ref->pad_shortcut_bwd(ref, want, dout, n, c, h, w, sh, sw, lo, hi);
    float *dout_l = nhwc_of(dout, sizeof *dout, n, k, oh * ow);
    float *want_l = nhwc_of(want, sizeof *want, n, c, h * w);
    sp_cpu_pad_shortcut_bwd_nhwc(cpu, din, dout_l, n, c, h, w, sh, sw, lo, hi);
    char name[96];
    snprintf(name, sizeof name, "nhwc_pad_shortcut_bwd c%d %dx%d s%dx%d +%d+%d", c, h, w, sh, sw,
             lo, hi);
    CHECK(same(din, want_l, nin * sizeof *din), name);
    free(dout), free(want), free(din), free(dout_l), free(want_l);
}

/* The mask's backward on `threads` threads (0: as they are): din
 * (overwritten, NULL for none) and dm (a copy of dm0, += ; NULL for none). */
static void mask_bwd_on(int threads, float *din, float *dm, const float *dm0, const float *dout,
                        const float *in, const float *m, int n, int c, int hw)
{
    int was = omp_get_max_threads();
    if (dm)
        memcpy(dm, dm0, (size_t)c * sizeof *dm);
    if (threads)
        omp_set_num_threads(threads);
    sp_cpu_mask_bwd_nhwc(cpu, din, dm, dout, in, m, n, c, hw);
    omp_set_num_threads(was);
}

static void check_mask_bwd(int n, int c, int hw)
{
    size_t count = (size_t)n * c * hw, cb = (size_t)c * sizeof(float);
    float *in = t_uniform(&rng, count, -1, 1), *dout = t_uniform(&rng, count, -1, 1);
    float *m = t_uniform(&rng, c, 0, 1), *dm0 = t_uniform(&rng, c, -1, 1);
    float *want = poisoned(count), *want_dm = copy_of(dm0, c);
    m[0] = 0.0f;
    ref->mask_bwd(ref, want, want_dm, dout, in, m, n, c, hw);
    float *in_l = nhwc_of(in, sizeof *in, n, c, hw);
    float *dout_l = nhwc_of(dout, sizeof *dout, n, c, hw);
    float *want_l = nhwc_of(want, sizeof *want, n, c, hw);
    float *din = poisoned(count), *din_only = poisoned(count), *inplace = copy_of(dout_l, count);
    float *dm = poisoned(c), *dm_only = poisoned(c), *dm_inplace = poisoned(c);
    float *dm_1 = poisoned(c), *dm_3 = poisoned(c);
    mask_bwd_on(0, din, dm, dm0, dout_l, in_l, m, n, c, hw);
    mask_bwd_on(0, din_only, NULL, dm0, dout_l, in_l, m, n, c, hw);
    mask_bwd_on(0, NULL, dm_only, dm0, dout_l, in_l, m, n, c, hw);
    mask_bwd_on(0, inplace, dm_inplace, dm0, inplace, in_l, m, n, c, hw);
    mask_bwd_on(1, din_only, dm_1, dm0, dout_l, in_l, m, n, c, hw);
    mask_bwd_on(3, din_only, dm_3, dm0, dout_l, in_l, m, n, c, hw);

    char name[96], full[128];
    snprintf(name, sizeof name, "nhwc_mask_bwd n%d c%d hw%d", n, c, hw);
    double e = t_rel_err(dm, want_dm, c);
    snprintf(full, sizeof full, "%s din", name);
    CHECK(same(din, want_l, count * sizeof *din), full);
    snprintf(full, sizeof full, "%s dm", name);
    CHECKF(e < MASK_BOUND, full, "normalised error %.3g", e);
    snprintf(full, sizeof full, "%s dm NULL, din NULL", name);
    CHECK(same(din_only, din, count * sizeof *din) && same(dm_only, dm, cb), full);
    snprintf(full, sizeof full, "%s din == dout", name);
    CHECK(same(inplace, din, count * sizeof *din) && same(dm_inplace, dm, cb), full);
    snprintf(full, sizeof full, "%s dm on 1 and 3 threads", name);
    CHECK(same(dm_1, dm, cb) && same(dm_3, dm, cb), full);
    free(in), free(dout), free(m), free(dm0), free(want), free(want_dm), free(in_l);
    free(dout_l), free(want_l), free(din), free(din_only), free(inplace), free(dm);
    free(dm_only), free(dm_inplace), free(dm_1), free(dm_3);
}

int main(void)
{
    /* n, c, h, w, (oh, ow), kh, kw, sh, sw, ph, pw */
    static const sp_pool_shape maxpools[] = {
        {3, 17, 8, 8, 0, 0, 2, 2, 2, 2, 0, 0},      /* 2x2 s2: windows apart */
        {2, 20, 9, 9, 0, 0, 3, 3, 2, 2, 1, 1},      /* 3x3 s2 p1 (ImageNet stem), odd */
        {4, 64, 16, 16, 0, 0, 3, 3, 2, 2, 1, 1},    /* the same, even, on several threads */
        {2, 4, 8, 7, 0, 0, 2, 3, 2, 1, 1, 1},       /* rectangular */
        {2, 3, 4, 5, 0, 0, 1, 1, 1, 1, 1, 1},       /* border windows of padding only */
        {2, 6, 9, 9, 0, 0, 2, 2, 2, 2, 0, 0},       /* the last row and column read by none */
    };
    static const sp_pool_shape avgpools[] = {
        {2, 5, 9, 9, 0, 0, 3, 3, 2, 2, 1, 1},
        {2, 4, 8, 7, 0, 0, 2, 3, 2, 1, 1, 1},
        {4, 64, 16, 16, 0, 0, 2, 2, 2, 2, 0, 0},
        {2, 7, 8, 8, 0, 0, 3, 3, 2, 2, 0, 0},       /* the last row and column read by none */
    };
    /* adaptive: n, c, h, w, oh, ow */
    static const sp_pool_shape adaptive[] = {
        {3, 16, 8, 8, 1, 1, 0, 0, 0, 0, 0, 0},      /* global, as resnet56 */
        {2, 300, 7, 7, 1, 1, 0, 0, 0, 0, 0, 0},     /* more than one channel block */
        {2, 6, 7, 7, 3, 3, 0, 0, 0, 0, 0, 0},       /* 7 -> 3: windows overlap */
        {2, 5, 8, 7, 3, 2, 0, 0, 0, 0, 0, 0},
        {2, 9, 8, 8, 4, 2, 0, 0, 0, 0, 0, 0},       /* divisors: windows apart */
    };
    ref = sp_ref_backend_create();
    cpu = sp_cpu_backend_create();
    if (!CHECKF(ref && cpu, "nhwc_bwd_backends", "cannot create: %s", sp_error()))
        return t_done();
    sp_rng_init(&rng, 7, 3);
    for (size_t i = 0; i < sizeof maxpools / sizeof maxpools[0]; i++) {
        sp_pool_shape s = maxpools[i];
        sp_pool_shape_out(&s);
        check_maxpool(&s, 0);
        check_maxpool(&s, 1);
    }
    for (size_t i = 0; i < sizeof avgpools / sizeof avgpools[0]; i++) {
        sp_pool_shape s = avgpools[i];
        sp_pool_shape_out(&s);
        check_mean_pool(&s, 0);
    }
    for (size_t i = 0; i < sizeof adaptive / sizeof adaptive[0]; i++)
        check_mean_pool(&adaptive[i], 1);
    check_pad_bwd(2, 16, 8, 8, 2, 2, 4, 4);
    check_pad_bwd(3, 5, 7, 6, 2, 2, 3, 4);      /* odd sides */
    check_pad_bwd(2, 6, 5, 5, 1, 1, 4, 4);      /* channels only */
    check_pad_bwd(2, 3, 6, 5, 1, 2, 0, 2);
    check_mask_bwd(3, 19, 10);
    check_mask_bwd(4, 24, 1000);                /* 16 chunks, several threads */
    check_mask_bwd(2, 300, 49);
    sp_backend_destroy(cpu);
    sp_backend_destroy(ref);
    return t_done();
}
