/* test_ref_torch.c: the reference backend against PyTorch.  Reads
 * tests/fixtures/ref/ops.bin (written by tests/fixtures/ref/gen_ops.py:
 * inputs, outputs and gradients of grouped and 7x7 convolutions, batch norm
 * in training mode with its running statistics, max / average / adaptive
 * pooling, linear, relu6, cross-entropy and three SGD steps), runs the same
 * operations and compares with a normalised error.  PyTorch computes in
 * float32 and sp's reference in double, so the threshold is a few float
 * roundings, not zero. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sp/backend.h"
#include "sp/base.h"
#include "testlib.h"

#define FIXTURE "tests/fixtures/ref/ops.bin"
#define TOL 1e-5

typedef struct record { char name[32]; uint32_t n; float *v; } record;

static record *recs;
static size_t n_recs;
static sp_backend *be;

static int load(void)
{
    FILE *f = fopen(FIXTURE, "rb");
    unsigned char head[36];
    if (!f)
        return -1;
    while (fread(head, 1, sizeof head, f) == sizeof head) {
        record r;
        memcpy(r.name, head, 32);
        r.name[31] = 0;
        r.n = (uint32_t)head[32] | (uint32_t)head[33] << 8 | (uint32_t)head[34] << 16 |
              (uint32_t)head[35] << 24;
        r.v = sp_xmalloc((size_t)r.n * sizeof(float));
        /* the fixture is little-endian float32, as every machine sp targets */
        if (fread(r.v, sizeof(float), r.n, f) != r.n) {
            free(r.v);
            fclose(f);
            return -1;
        }
        recs = sp_xrealloc(recs, (n_recs + 1) * sizeof(*recs));
        recs[n_recs++] = r;
    }
    fclose(f);
    return 0;
}

/* The record called name, which must hold n values; exits the test if not
 * (a broken fixture is a failure, not a skip). */
static float *get(const char *name, size_t n)
{
    for (size_t i = 0; i < n_recs; i++)
        if (strcmp(recs[i].name, name) == 0) {
            if (recs[i].n != n) {
                t_check(0, name, "fixture holds %u values, expected %zu", recs[i].n, n);
                exit(t_done());
            }
            return recs[i].v;
        }
    t_check(0, name, "missing from " FIXTURE);
    exit(t_done());
}

static float *scratch(size_t n, float v)
{
    float *x = sp_xmalloc((n ? n : 1) * sizeof(float));
    for (size_t i = 0; i < n; i++)
        x[i] = v;
    return x;
}

static void same(const char *name, const float *got, const char *want, size_t n)
{
    double err = t_rel_err(got, get(want, n), n);
    CHECKF(err < TOL, name, "normalised error %.3g vs PyTorch's %s", err, want);
}

static void check_conv(const char *tag, int n, int c, int h, int w, int k, int ks, int stride,
                       int pad, int groups, int bias)
{
    sp_conv_shape s = {.n = n, .c = c, .h = h, .w = w, .k = k, .kh = ks, .kw = ks,
                       .sh = stride, .sw = stride, .ph = pad, .pw = pad, .groups = groups};
    char key[64], name[96];
    sp_conv_shape_out(&s);
    size_t ni = (size_t)n * c * h * w, nw = (size_t)k * (c / groups) * ks * ks;
    size_t no = (size_t)n * k * s.oh * s.ow;
#define KEY(suffix) (snprintf(key, sizeof key, "%s.%s", tag, suffix), key)
#define NAME(what) (snprintf(name, sizeof name, "torch %s %s", tag, what), name)
    const float *in = get(KEY("in"), ni), *wt = get(KEY("w"), nw);
    const float *b = bias ? get(KEY("bias"), (size_t)k) : NULL;
    const float *dout = get(KEY("dout"), no);
    float *out = scratch(no, 0), *din = scratch(ni, 0), *dw = scratch(nw, 0);
    float *db = scratch((size_t)k, 0);
    be->conv_fwd(be, out, in, wt, b, &s);
    be->conv_bwd_data(be, din, dout, wt, &s);
    be->conv_bwd_filter(be, dw, bias ? db : NULL, dout, in, &s);
    same(NAME("out"), out, KEY("out"), no);
    same(NAME("din"), din, KEY("din"), ni);
    same(NAME("dw"), dw, KEY("dw"), nw);
    if (bias)
        same(NAME("dbias"), db, KEY("dbias"), (size_t)k);
#undef KEY
#undef NAME
    free(out); free(din); free(dw); free(db);
}

static void check_bn(void)
{
    enum { N = 3, C = 4, HW = 6, NX = N * C * HW };
    float *rm = scratch(C, 0), *rv = scratch(C, 0), mean[C], invstd[C];
    float *out = scratch(NX, 0), *din = scratch(NX, 0), *dg = scratch(C, 0), *dbt = scratch(C, 0);
    const float *in = get("bn.in", NX), *gamma = get("bn.gamma", C), *beta = get("bn.beta", C);
    memcpy(rm, get("bn.rm0", C), C * sizeof(float));
    memcpy(rv, get("bn.rv0", C), C * sizeof(float));
    be->bn_fwd_train(be, out, mean, invstd, rm, rv, in, NULL, gamma, beta, N, C, HW, 1e-5f, 0.1f,
                     -1);
    be->bn_bwd(be, din, dg, dbt, get("bn.dout", NX), in, gamma, mean, invstd, N, C, HW);
    same("torch bn train out", out, "bn.out", NX);
    same("torch bn running_mean", rm, "bn.rm", C);
    same("torch bn running_var", rv, "bn.rv", C);
    same("torch bn din", din, "bn.din", NX);
    same("torch bn dgamma", dg, "bn.dgamma", C);
    same("torch bn dbeta", dbt, "bn.dbeta", C);
    free(rm); free(rv); free(out); free(din); free(dg); free(dbt);
}

static void check_pool(const char *tag, sp_pool_shape s)
{
    char key[64], name[96];
    size_t ni = (size_t)s.n * s.c * s.h * s.w, no = (size_t)s.n * s.c * s.oh * s.ow;
    float *out = scratch(no, 0), *din = scratch(ni, 0);
    snprintf(key, sizeof key, "%s.in", tag);
    const float *in = get(key, ni);
    snprintf(key, sizeof key, "%s.dout", tag);
    const float *dout = get(key, no);
    if (strcmp(tag, "maxpool") == 0) {
        void *ws = sp_xmalloc(be->maxpool_ws_bytes(be, &s));
        be->maxpool_fwd(be, out, ws, in, &s);
        be->maxpool_bwd(be, din, dout, ws, in, &s);
        free(ws);
    } else if (strcmp(tag, "avgpool") == 0) {
        be->avgpool_fwd(be, out, in, &s);
        be->avgpool_bwd(be, din, dout, &s);
    } else {
        be->adaptive_avgpool_fwd(be, out, in, &s);
        be->adaptive_avgpool_bwd(be, din, dout, &s);
    }
    snprintf(key, sizeof key, "%s.out", tag);
    snprintf(name, sizeof name, "torch %s out", tag);
    same(name, out, key, no);
    snprintf(key, sizeof key, "%s.din", tag);
    snprintf(name, sizeof name, "torch %s din", tag);
    same(name, din, key, ni);
    free(out); free(din);
}

static void check_linear_act_xent(void)
{
    float out[15], din[21], dw[35] = {0}, db[5] = {0};
    const float *in = get("linear.in", 21), *wt = get("linear.w", 35);
    const float *dout = get("linear.dout", 15);
    be->linear_fwd(be, out, in, wt, get("linear.bias", 5), 3, 7, 5);
    be->linear_bwd_data(be, din, dout, wt, 3, 7, 5);
    be->linear_bwd_weight(be, dw, db, dout, in, 3, 7, 5);
    same("torch linear out", out, "linear.out", 15);
    same("torch linear din", din, "linear.din", 21);
    same("torch linear dw", dw, "linear.dw", 35);
    same("torch linear dbias", db, "linear.dbias", 5);

    float a[40], da[40];
    be->act_fwd(be, SP_ACT_RELU6, a, get("relu6.in", 40), 40);
    be->act_bwd(be, SP_ACT_RELU6, da, get("relu6.dout", 40), get("relu6.in", 40), 40);
    same("torch relu6 out", a, "relu6.out", 40);
    same("torch relu6 din", da, "relu6.din", 40);

    const float *fl = get("xent.labels", 4);
    int32_t labels[4];
    float loss, dz[24];
    for (int i = 0; i < 4; i++)
        labels[i] = (int32_t)fl[i];
    be->xent(be, &loss, dz, get("xent.logits", 24), labels, 4, 6, 1.0f);
    same("torch xent loss", &loss, "xent.loss", 1);
    same("torch xent dlogits", dz, "xent.dlogits", 24);
}

static void check_sgd(const char *tag, int nesterov)
{
    char key[64], name[96];
    float w[16], v[16] = {0};
    snprintf(key, sizeof key, "%s.w0", tag);
    memcpy(w, get(key, 16), sizeof w);
    for (int t = 0; t < 3; t++) {
        snprintf(key, sizeof key, "%s.g%d", tag, t);
        be->sgd(be, w, get(key, 16), v, 16, 0.05f, 0.9f, 5e-4f, nesterov);
    }
    snprintf(key, sizeof key, "%s.w3", tag);
    snprintf(name, sizeof name, "torch %s weights after 3 steps", tag);
    same(name, w, key, 16);
    snprintf(key, sizeof key, "%s.v3", tag);
    snprintf(name, sizeof name, "torch %s momentum buffer after 3 steps", tag);
    same(name, v, key, 16);
}

int main(void)
{
    if (load() < 0 || n_recs == 0) {
        t_check(0, "torch fixture", "cannot read " FIXTURE);
        return t_done();
    }
    be = sp_ref_backend_create();
    check_conv("conv_g2", 2, 4, 7, 6, 6, 3, 2, 1, 2, 1);
    check_conv("conv_dw", 2, 4, 6, 6, 4, 3, 1, 1, 4, 0);
    check_conv("conv_7x7", 1, 3, 11, 10, 4, 7, 2, 3, 1, 1);
    check_bn();
    sp_pool_shape s = {.n = 2, .c = 3, .h = 7, .w = 8, .kh = 3, .kw = 3, .sh = 2, .sw = 2,
                       .ph = 1, .pw = 1};
    sp_pool_shape_out(&s);
    check_pool("maxpool", s);
    check_pool("avgpool", s);
    check_pool("adaptive", (sp_pool_shape){.n = 2, .c = 3, .h = 7, .w = 5, .oh = 3, .ow = 2});
    check_linear_act_xent();
    check_sgd("sgd", 0);
    check_sgd("sgd_nesterov", 1);
    sp_backend_destroy(be);
    for (size_t i = 0; i < n_recs; i++)
        free(recs[i].v);
    free(recs);
    return t_done();
}
