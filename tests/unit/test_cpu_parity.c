/* test_cpu_parity.c: every operation of each fast backend that is built
 * ("cpu", then "cuda" where a GPU is present) against the reference
 * backend on fresh random inputs.
 *
 * The layer shapes are those of the built-in networks (batch 2, the
 * ImageNet ones at 64x64 so the reference stays quick), deduplicated, the
 * widest convolutions with fewer channels (see shrink), plus a few
 * hand-picked shapes no network has yet; each
 * result is compared with the normalised error max|fast - ref| / max|ref|
 * against a bound per operation.  One line per operation family and shape
 * class ("conv_fwd 3x3 s1 dense") reports the worst error over its shapes.
 * The fused conv_fwd_act is checked against the reference's conv_fwd then
 * act_fwd on every convolution shape, and conv_chain / conv_fwd_own on a
 * few hand-picked pairs of convolutions.  bn_fwd_train with a residual
 * and an activation is checked bit for bit against bn_fwd_train, add_fwd
 * and act_fwd on each backend, and bn_fwd_train on values whose mean is
 * far from zero against the spread (49152 and 49152.25) against the
 * reference.
 * Accumulated gradients start from the same random values on both sides,
 * and overwritten outputs from different garbage, so both halves of the
 * gradient convention are checked. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sp/arch.h"
#include "sp/base.h"
#include "sp/backend.h"
#include "sp/graph.h"
#include "sp/rng.h"
#include "testlib.h"

#define FWD_BOUND 1e-5
#define BWD_BOUND 1e-4
#define MAX_SHAPES 512

static sp_backend *ref, *fast;
static sp_rng rng;

/* ---- results, aggregated per family and shape class ---- */

typedef struct result { char name[96]; double worst, bound; int shapes; } result;
static result results[256];
static int nresults;

static void record(const char *name, double err, double bound)
{
    result *r = NULL;
    for (int i = 0; i < nresults && !r; i++)
        if (!strcmp(results[i].name, name))
            r = &results[i];
    if (!r) {
        r = &results[nresults++];
        snprintf(r->name, sizeof r->name, "%s", name);
        r->bound = bound;
    }
    if (err > r->worst || err != err)
        r->worst = err;
    r->shapes++;
}

static void recordf(double err, double bound, const char *fmt, const char *cls)
{
    char name[96];
    snprintf(name, sizeof name, fmt, cls);
    record(name, err, bound);
}

/* ---- buffers: one random host array, copied to each side ---- */

static float *rnd(size_t n, float lo, float hi)
{
    float *x = malloc((n ? n : 1) * sizeof *x);
    sp_rng_fill_uniform(&rng, x, (int64_t)n, lo, hi);
    return x;
}

static float *dup(sp_backend *b, const float *x, size_t n)
{
    float *d = b->alloc(b, (n ? n : 1) * sizeof *d);
    b->upload(b, d, x, n * sizeof *d);
    return d;
}

/* A buffer an op must overwrite: NaN on one side, a number on the other. */
static float *garbage(sp_backend *b, size_t n)
{
    float *d = b->alloc(b, (n ? n : 1) * sizeof *d);
    b->fill(b, d, b == ref ? 123.0f : NAN, n);
    return d;
}

/* The fast backend's results are read on the host once its queued work
 * is done (the CUDA backend runs in SP_CUDA_MANAGED mode here: memory the
 * host can read). */
static void settle(void)
{
    fast->sync(fast);
}

static double err(const float *a, const float *r, size_t n)
{
    settle();
    return t_rel_err(a, r, n);
}

/* ---- shapes from the built-in networks ---- */

static sp_conv_shape convs[MAX_SHAPES];
static int conv_bias[MAX_SHAPES];
static sp_pool_shape maxpools[MAX_SHAPES], avgpools[MAX_SHAPES], adapts[MAX_SHAPES];
static int bns[MAX_SHAPES][2], lins[MAX_SHAPES][3], masks[MAX_SHAPES][2], pads[MAX_SHAPES][7];
static int nconv, nmax, navg, nadapt, nbn, nlin, nmask, npad;

static int seen(const void *set, int count, size_t size, const void *x)
{
    for (int i = 0; i < count; i++)
        if (!memcmp((const char *)set + i * size, x, size))
            return 1;
    return 0;
}

#define ADD(set, count, x) \
    do { if ((count) < MAX_SHAPES && !seen(set, count, sizeof(x), &(x))) \
             memcpy(&(set)[(count)++], &(x), sizeof(x)); } while (0)

/* The reference needs seconds for the widest layers, so a convolution of
 * more than MAX_MACS multiply-adds is tested with its channel counts halved
 * (both, or only the output's after a thin stem) until it fits: the
 * spatial size, kernel, stride, padding and kind of grouping stay those of
 * the network, and channels stay multiples of 8, as oneDNN's blocked
 * layouts see them. */
#define MAX_MACS 4e6
static int nshrunk;

static int shrink(sp_conv_shape *c)
{
    int shrunk = 0;
    for (;;) {
        double macs = (double)c->n * c->k * c->oh * c->ow * (c->c / c->groups) * c->kh * c->kw;
        int depthwise = c->groups == c->c && c->groups == c->k;
        if (macs <= MAX_MACS || c->k % 16)
            break;
        if (c->groups == 1 && c->c % 16 == 0)
            c->c /= 2;
        else if (depthwise)
            c->c /= 2, c->groups /= 2;
        else if (c->groups != 1 || c->c > 8)
            break;
        c->k /= 2;
        shrunk = 1;
    }
    return shrunk;
}

static void collect(const sp_graph *g, int batch)
{
    for (int i = 1; i < g->n; i++) {
        const sp_node *d = &g->node[i], *s = &g->node[d->in[0] >= 0 ? d->in[0] : 0];
        if (d->op == SP_OP_CONV) {
            sp_conv_shape c = {batch, s->c, s->h, s->w, d->cout, d->h, d->w,
                               d->kh, d->kw, d->sh, d->sw, d->ph, d->pw, d->groups};
            int shrunk = shrink(&c);
            if (!seen(convs, nconv, sizeof c, &c) && nconv < MAX_SHAPES) {
                conv_bias[nconv] = d->bias || nconv % 2;
                nshrunk += shrunk;
            }
            ADD(convs, nconv, c);
        } else if (d->op == SP_OP_BN) {
            int b[2] = {d->c, d->h * d->w};
            ADD(bns, nbn, b);
        } else if (d->op == SP_OP_MAXPOOL || d->op == SP_OP_AVGPOOL
                   || d->op == SP_OP_ADAPTIVE_AVGPOOL) {
            sp_pool_shape p = {batch, s->c, s->h, s->w, d->h, d->w,
                               d->kh, d->kw, d->sh, d->sw, d->ph, d->pw};
            if (d->op == SP_OP_MAXPOOL)
                ADD(maxpools, nmax, p);
            else if (d->op == SP_OP_AVGPOOL)
                ADD(avgpools, navg, p);
            else
                ADD(adapts, nadapt, p);
        } else if (d->op == SP_OP_LINEAR) {
            int l[3] = {batch, s->c * s->h * s->w, d->cout};
            ADD(lins, nlin, l);
        } else if (d->op == SP_OP_MASK) {
            int m[2] = {d->c, d->h * d->w};
            ADD(masks, nmask, m);
        } else if (d->op == SP_OP_PAD_SHORTCUT) {
            int p[7] = {batch, s->c, s->h, s->w, d->sh, d->sw, d->pad_lo * 1000 + d->pad_hi};
            ADD(pads, npad, p);
        }
    }
}

static int collect_all(void)
{
    static const struct { const char *name; int hw; } nets[] = {
        {"vgg16-cifar", 0}, {"vgg16-cifar-fc", 0}, {"resnet20", 0}, {"resnet56", 0},
        {"resnet50-cifar", 0}, {"mobilenetv2", 64}, {"resnet50", 64},
    };
    int built = 0;
    for (size_t i = 0; i < sizeof nets / sizeof nets[0]; i++) {
        sp_arch_opts o = {0, 0, nets[i].hw, nets[i].hw};
        sp_graph *g = sp_arch_build(nets[i].name, &o);
        char name[64];
        snprintf(name, sizeof name, "shapes of %s", nets[i].name);
        if (CHECKF(g != NULL, name, "sp_arch_build: %s", sp_error()))
            collect(g, 2), built++;
        sp_graph_free(g);
    }
    return built;
}

/* ---- per-family checks ---- */

static const char *conv_class(const sp_conv_shape *s)
{
    static char c[64];
    const char *kind = s->groups == 1 ? "dense"
                       : s->groups == s->c && s->groups == s->k ? "depthwise" : "grouped";
    snprintf(c, sizeof c, "%dx%d s%d %s%s", s->kh, s->kw, s->sh, kind, s->c <= 3 ? " stem" : "");
    return c;
}

/* The fused forward against the reference's conv_fwd (its output in
 * ref_out) then act_fwd; in, w, bias are host copies. */
static void check_conv_act(const float *in, const float *w, const float *bias,
                           const sp_conv_shape *s, const float *ref_out, const char *cls)
{
    size_t nin = (size_t)s->n * s->c * s->h * s->w, nout = (size_t)s->n * s->k * s->oh * s->ow;
    size_t nw = (size_t)s->k * (s->c / s->groups) * s->kh * s->kw;
    float *bin = dup(fast, in, nin), *bw = dup(fast, w, nw), *bb = bias ? dup(fast, bias, s->k) : NULL;
    const sp_act acts[2] = {SP_ACT_RELU, SP_ACT_RELU6};
    const char *names[2] = {"conv_fwd_act relu %s", "conv_fwd_act relu6 %s"};
    float *want = ref->alloc(ref, nout * sizeof(float));
    for (int a = 0; a < 2; a++) {
        float *got = garbage(fast, nout);
        fast->conv_fwd_act(fast, got, bin, bw, bb, s, acts[a]);
        ref->act_fwd(ref, acts[a], want, ref_out, nout);
        recordf(err(got, want, nout), FWD_BOUND, names[a], cls);
        fast->free(fast, got);
    }
    ref->free(ref, want);
    fast->free(fast, bin), fast->free(fast, bw);
    if (bb)
        fast->free(fast, bb);
}

static void check_conv(const sp_conv_shape *s, int with_bias)
{
    size_t nin = (size_t)s->n * s->c * s->h * s->w, nout = (size_t)s->n * s->k * s->oh * s->ow;
    size_t nw = (size_t)s->k * (s->c / s->groups) * s->kh * s->kw;
    float *in = rnd(nin, -1, 1), *w = rnd(nw, -1, 1), *bias = rnd(s->k, -1, 1);
    float *dout = rnd(nout, -1, 1), *dw0 = rnd(nw, -1, 1);
    const char *cls = conv_class(s);
    sp_backend *be[2] = {fast, ref};
    float *out[2], *din[2], *dw[2], *db[2];
    for (int i = 0; i < 2; i++) {
        sp_backend *b = be[i];
        float *bin = dup(b, in, nin), *bw = dup(b, w, nw), *bb = dup(b, bias, s->k);
        float *bdout = dup(b, dout, nout);
        out[i] = garbage(b, nout);
        din[i] = garbage(b, nin);
        dw[i] = dup(b, dw0, nw);
        db[i] = dup(b, bias, s->k);
        b->conv_fwd(b, out[i], bin, bw, with_bias ? bb : NULL, s);
        b->conv_bwd_data(b, din[i], bdout, bw, s);
        b->conv_bwd_filter(b, dw[i], with_bias ? db[i] : NULL, bdout, bin, s);
        if (b == fast) {   /* the cached plan must give the same bits again */
            float *again = garbage(b, nout);
            b->conv_fwd(b, again, bin, bw, with_bias ? bb : NULL, s);
            settle();
            record("conv_fwd plan reuse", memcmp(again, out[i], nout * sizeof(float)) ? 1 : 0, 0);
            b->free(b, again);
        }
        b->free(b, bin), b->free(b, bw), b->free(b, bb), b->free(b, bdout);
    }
    recordf(err(out[0], out[1], nout), FWD_BOUND, "conv_fwd %s", cls);
    check_conv_act(in, w, with_bias ? bias : NULL, s, out[1], cls);
    recordf(err(din[0], din[1], nin), BWD_BOUND, "conv_bwd_data %s", cls);
    recordf(err(dw[0], dw[1], nw), BWD_BOUND, "conv_bwd_filter %s", cls);
    if (with_bias)
        recordf(err(db[0], db[1], s->k), BWD_BOUND, "conv_bwd_bias %s", cls);
    for (int i = 0; i < 2; i++)
        be[i]->free(be[i], out[i]), be[i]->free(be[i], din[i]),
        be[i]->free(be[i], dw[i]), be[i]->free(be[i], db[i]);
    free(in), free(w), free(bias), free(dout), free(dw0);
}

static int same_on_host(sp_backend *b, const float *x, const float *y, size_t n)
{
    float *hx = sp_xmalloc(n * sizeof *hx), *hy = sp_xmalloc(n * sizeof *hy);
    b->download(b, hx, x, n * sizeof *hx);
    b->download(b, hy, y, n * sizeof *hy);
    int same = memcmp(hx, hy, n * sizeof *hx) == 0;
    free(hx);
    free(hy);
    return same;
}

/* bn_fwd_saved from the saved statistics gives the training forward's
 * out again, bit for bit, and with an activation what act_fwd makes of
 * it; bn_act_bwd is act_bwd on that output, also bit for bit. */
static int recomputes_forward(sp_backend *b, const float *out, const float *in,
                              const float *dout, const float *gamma, const float *beta,
                              const float *mean, const float *invstd, int n, int c, int hw)
{
    size_t nx = (size_t)n * c * hw;
    float *again = garbage(b, nx), *act = garbage(b, nx), *d0 = garbage(b, nx);
    float *d1 = garbage(b, nx);
    b->bn_fwd_saved(b, again, in, gamma, beta, mean, invstd, n, c, hw, -1);
    int same = same_on_host(b, again, out, nx);
    for (int a = SP_ACT_RELU; a <= SP_ACT_RELU6; a++) {
        b->act_fwd(b, (sp_act)a, act, out, nx);
        b->bn_fwd_saved(b, again, in, gamma, beta, mean, invstd, n, c, hw, a);
        same &= same_on_host(b, again, act, nx);
        b->act_bwd(b, (sp_act)a, d0, dout, act, nx);
        b->bn_act_bwd(b, (sp_act)a, d1, dout, in, gamma, beta, mean, invstd, n, c, hw);
        same &= same_on_host(b, d0, d1, nx);
    }
    b->free(b, again), b->free(b, act), b->free(b, d0), b->free(b, d1);
    return same;
}

/* bn_fwd_train with a residual and an activation, each or both: the
 * bits of bn_fwd_train alone followed by add_fwd and act_fwd. */
static int runs_epilogues(sp_backend *b, const float *in, const float *res, const float *gamma,
                          const float *beta, int n, int c, int hw)
{
    size_t nx = (size_t)n * c * hw;
    float *plain = garbage(b, nx), *want = garbage(b, nx), *got = garbage(b, nx);
    float *sm = garbage(b, c), *si = garbage(b, c);
    int same = 1;
    b->bn_fwd_train(b, plain, sm, si, NULL, NULL, in, NULL, gamma, beta, n, c, hw, 1e-5f, 0.1f,
                    -1);
    for (int r = 0; r < 2; r++)
        for (int a = -1; a <= SP_ACT_RELU6; a++) {
            if (r)
                b->add_fwd(b, want, plain, res, nx);
            else
                b->copy(b, want, plain, nx * sizeof(float));
            if (a >= 0)
                b->act_fwd(b, (sp_act)a, want, want, nx);
            b->bn_fwd_train(b, got, sm, si, NULL, NULL, in, r ? res : NULL, gamma, beta, n, c,
                            hw, 1e-5f, 0.1f, a);
            same &= same_on_host(b, got, want, nx);
        }
    b->free(b, plain), b->free(b, want), b->free(b, got), b->free(b, sm), b->free(b, si);
    return same;
}

static void check_bn(int n, int c, int hw)
{
    size_t nx = (size_t)n * c * hw;
    float *in = rnd(nx, -2, 3), *dout = rnd(nx, -1, 1), *gamma = rnd(c, 0.5f, 1.5f);
    float *beta = rnd(c, -1, 1), *rm = rnd(c, -1, 1), *rv = rnd(c, 0.5f, 2);
    float *dg0 = rnd(c, -1, 1), *mean = NULL, *invstd = NULL, *res = rnd(nx, -3, 2);
    const char *cls = hw == 1 ? "vector" : "spatial";
    float *o[2], *sm[2], *si[2], *m[2], *v[2], *inf[2], *din[2], *dg[2], *dbt[2];
    int again_same[2], epilogue_same[2];
    sp_backend *be[2] = {ref, fast};
    for (int i = 0; i < 2; i++) {
        sp_backend *b = be[i];
        float *bin = dup(b, in, nx), *bg = dup(b, gamma, c), *bb = dup(b, beta, c);
        float *bdout = dup(b, dout, nx);
        o[i] = garbage(b, nx), sm[i] = garbage(b, c), si[i] = garbage(b, c);
        inf[i] = garbage(b, nx), din[i] = garbage(b, nx);
        m[i] = dup(b, rm, c), v[i] = dup(b, rv, c), dg[i] = dup(b, dg0, c), dbt[i] = dup(b, dg0, c);
        b->bn_fwd_train(b, o[i], sm[i], si[i], m[i], v[i], bin, NULL, bg, bb, n, c, hw, 1e-5f,
                        0.1f, -1);
        again_same[i] = recomputes_forward(b, o[i], bin, bdout, bg, bb, sm[i], si[i], n, c, hw);
        float *bres = dup(b, res, nx);
        epilogue_same[i] = runs_epilogues(b, bin, bres, bg, bb, n, c, hw);
        b->free(b, bres);
        {   /* and with outputs beyond ReLU6's 6 */
            float *wide = sp_xmalloc((size_t)c * sizeof *wide);
            for (int k = 0; k < c; k++)
                wide[k] = 8.0f * gamma[k];
            float *bw = dup(b, wide, c), *ow = garbage(b, nx), *mw = garbage(b, c);
            float *iw = garbage(b, c);
            b->bn_fwd_train(b, ow, mw, iw, NULL, NULL, bin, NULL, bw, bb, n, c, hw, 1e-5f, 0.1f,
                            -1);
            again_same[i] &= recomputes_forward(b, ow, bin, bdout, bw, bb, mw, iw, n, c, hw);
            b->free(b, bw), b->free(b, ow), b->free(b, mw), b->free(b, iw), free(wide);
        }
        float *brm = dup(b, rm, c), *brv = dup(b, rv, c);
        b->bn_fwd_infer(b, inf[i], bin, bg, bb, brm, brv, n, c, hw, 1e-5f);
        if (!mean)   /* both backwards from the same saved statistics */
            mean = dup(ref, sm[0], c), invstd = dup(ref, si[0], c);
        float *bmean = dup(b, mean, c), *binvstd = dup(b, invstd, c);
        b->bn_bwd(b, din[i], dg[i], dbt[i], bdout, bin, bg, bmean, binvstd, n, c, hw);
        b->free(b, bin), b->free(b, bg), b->free(b, bb), b->free(b, bdout);
        b->free(b, brm), b->free(b, brv), b->free(b, bmean), b->free(b, binvstd);
    }
    recordf(err(o[1], o[0], nx), FWD_BOUND, "bn_fwd_train %s", cls);
    recordf(fmax(err(sm[1], sm[0], c), err(si[1], si[0], c)), FWD_BOUND,
            "bn_fwd_train saved statistics %s", cls);
    recordf(fmax(err(m[1], m[0], c), err(v[1], v[0], c)), FWD_BOUND,
            "bn_fwd_train running statistics %s", cls);
    recordf(err(inf[1], inf[0], nx), FWD_BOUND, "bn_fwd_infer %s", cls);
    /* 0 when both backends recompute their own forward bit for bit */
    recordf(!again_same[0] + 2.0 * !again_same[1], 0.5, "bn_fwd_saved and bn_act_bwd %s", cls);
    /* 0 when both backends' epilogues give the separate operations' bits */
    recordf(!epilogue_same[0] + 2.0 * !epilogue_same[1], 0.5,
            "bn_fwd_train with residual and activation %s", cls);
    recordf(err(din[1], din[0], nx), BWD_BOUND, "bn_bwd din %s", cls);
    recordf(fmax(err(dg[1], dg[0], c), err(dbt[1], dbt[0], c)), BWD_BOUND,
            "bn_bwd dgamma dbeta %s", cls);
    for (int i = 0; i < 2; i++) {
        float *all[] = {o[i], sm[i], si[i], m[i], v[i], inf[i], din[i], dg[i], dbt[i]};
        for (size_t k = 0; k < sizeof all / sizeof all[0]; k++)
            be[i]->free(be[i], all[k]);
    }
    ref->free(ref, mean), ref->free(ref, invstd);
    free(in), free(dout), free(gamma), free(beta), free(rm), free(rv), free(dg0), free(res);
}

/* bn_fwd_train on values 49152 and, one in ten, 49152.25: a mean whose
 * float rounding is large against the spread (variance about 0.0056,
 * every float sum exact), so the statistics come out right only when the
 * backend takes that rounding out. */
static void check_bn_far_mean(int n, int c, int hw)
{
    size_t nx = (size_t)n * c * hw;
    float *in = rnd(nx, 0, 1), *gamma = rnd(c, 0.5f, 1.5f), *beta = rnd(c, -1, 1);
    float *o[2], *sm[2], *si[2];
    sp_backend *be[2] = {ref, fast};
    for (size_t i = 0; i < nx; i++)
        in[i] = in[i] > 0.9f ? 49152.25f : 49152.0f;
    for (int i = 0; i < 2; i++) {
        sp_backend *b = be[i];
        float *bin = dup(b, in, nx), *bg = dup(b, gamma, c), *bb = dup(b, beta, c);
        o[i] = garbage(b, nx), sm[i] = garbage(b, c), si[i] = garbage(b, c);
        b->bn_fwd_train(b, o[i], sm[i], si[i], NULL, NULL, bin, NULL, bg, bb, n, c, hw, 1e-5f,
                        0.1f, -1);
        b->free(b, bin), b->free(b, bg), b->free(b, bb);
    }
    const char *cls = hw < 64 ? "rows under 64" : "rows of 64 or more";
    recordf(err(o[1], o[0], nx), FWD_BOUND, "bn_fwd_train mean 49152, %s", cls);
    recordf(fmax(err(sm[1], sm[0], c), err(si[1], si[0], c)), FWD_BOUND,
            "bn_fwd_train saved statistics mean 49152, %s", cls);
    for (int i = 0; i < 2; i++)
        be[i]->free(be[i], o[i]), be[i]->free(be[i], sm[i]), be[i]->free(be[i], si[i]);
    free(in), free(gamma), free(beta);
}

/* kind: 0 max, 1 average, 2 adaptive */
static void check_pool(const sp_pool_shape *s, int kind)
{
    static const char *names[] = {"maxpool", "avgpool", "adaptive_avgpool"};
    size_t nin = (size_t)s->n * s->c * s->h * s->w, nout = (size_t)s->n * s->c * s->oh * s->ow;
    float *in = rnd(nin, -1, 1), *dout = rnd(nout, -1, 1), *out[2], *din[2];
    char cls[64];
    sp_backend *be[2] = {ref, fast};
    if (kind == 2)
        snprintf(cls, sizeof cls, "%s to %dx%d", names[kind], s->oh, s->ow);
    else
        snprintf(cls, sizeof cls, "%s %dx%d s%d p%d", names[kind], s->kh, s->kw, s->sh, s->ph);
    for (int i = 0; i < 2; i++) {
        sp_backend *b = be[i];
        float *bin = dup(b, in, nin), *bdout = dup(b, dout, nout);
        out[i] = garbage(b, nout), din[i] = garbage(b, nin);
        if (kind == 0) {
            void *ws = b->alloc(b, b->maxpool_ws_bytes(b, s));
            b->maxpool_fwd(b, out[i], ws, bin, s);
            b->maxpool_bwd(b, din[i], bdout, ws, bin, s);
            b->free(b, ws);
        } else if (kind == 1) {
            b->avgpool_fwd(b, out[i], bin, s);
            b->avgpool_bwd(b, din[i], bdout, s);
        } else {
            b->adaptive_avgpool_fwd(b, out[i], bin, s);
            b->adaptive_avgpool_bwd(b, din[i], bdout, s);
        }
        b->free(b, bin), b->free(b, bdout);
    }
    recordf(err(out[1], out[0], nout), FWD_BOUND, "%s forward", cls);
    recordf(err(din[1], din[0], nin), BWD_BOUND, "%s backward", cls);
    for (int i = 0; i < 2; i++)
        be[i]->free(be[i], out[i]), be[i]->free(be[i], din[i]);
    free(in), free(dout);
}

static void check_linear(int n, int in_f, int out_f)
{
    size_t ni = (size_t)n * in_f, no = (size_t)n * out_f, nw = (size_t)in_f * out_f;
    float *in = rnd(ni, -1, 1), *w = rnd(nw, -1, 1), *bias = rnd(out_f, -1, 1);
    float *dout = rnd(no, -1, 1), *dw0 = rnd(nw, -1, 1), *out[2], *din[2], *dw[2], *db[2];
    sp_backend *be[2] = {ref, fast};
    for (int i = 0; i < 2; i++) {
        sp_backend *b = be[i];
        float *bin = dup(b, in, ni), *bw = dup(b, w, nw), *bb = dup(b, bias, out_f);
        float *bdout = dup(b, dout, no);
        out[i] = garbage(b, no), din[i] = garbage(b, ni);
        dw[i] = dup(b, dw0, nw), db[i] = dup(b, bias, out_f);
        b->linear_fwd(b, out[i], bin, bw, bb, n, in_f, out_f);
        b->linear_bwd_data(b, din[i], bdout, bw, n, in_f, out_f);
        b->linear_bwd_weight(b, dw[i], db[i], bdout, bin, n, in_f, out_f);
        b->free(b, bin), b->free(b, bw), b->free(b, bb), b->free(b, bdout);
    }
    record("linear_fwd", err(out[1], out[0], no), FWD_BOUND);
    record("linear_bwd_data", err(din[1], din[0], ni), BWD_BOUND);
    record("linear_bwd_weight", fmax(err(dw[1], dw[0], nw), err(db[1], db[0], out_f)), BWD_BOUND);
    for (int i = 0; i < 2; i++)
        be[i]->free(be[i], out[i]), be[i]->free(be[i], din[i]),
        be[i]->free(be[i], dw[i]), be[i]->free(be[i], db[i]);
    free(in), free(w), free(bias), free(dout), free(dw0);
}

static void check_mask(int n, int c, int hw)
{
    size_t nx = (size_t)n * c * hw;
    float *in = rnd(nx, -1, 1), *dout = rnd(nx, -1, 1), *m = rnd(c, 0, 1), *dm0 = rnd(c, -1, 1);
    float *out[2], *din[2], *dm[2];
    sp_backend *be[2] = {ref, fast};
    m[0] = 0.0f;   /* a pruned channel */
    for (int i = 0; i < 2; i++) {
        sp_backend *b = be[i];
        float *bin = dup(b, in, nx), *bd = dup(b, dout, nx), *bm = dup(b, m, c);
        out[i] = garbage(b, nx), din[i] = garbage(b, nx), dm[i] = dup(b, dm0, c);
        b->mask_fwd(b, out[i], bin, bm, n, c, hw);
        b->mask_bwd(b, din[i], dm[i], bd, bin, bm, n, c, hw);
        b->free(b, bin), b->free(b, bd), b->free(b, bm);
    }
    record("mask_fwd", err(out[1], out[0], nx), FWD_BOUND);
    record("mask_bwd", fmax(err(din[1], din[0], nx), err(dm[1], dm[0], c)), BWD_BOUND);
    for (int i = 0; i < 2; i++)
        be[i]->free(be[i], out[i]), be[i]->free(be[i], din[i]), be[i]->free(be[i], dm[i]);
    free(in), free(dout), free(m), free(dm0);
}

static void check_pad(const int p[7])
{
    int n = p[0], c = p[1], h = p[2], w = p[3], sh = p[4], sw = p[5];
    int lo = p[6] / 1000, hi = p[6] % 1000, oc = lo + c + hi;
    size_t nin = (size_t)n * c * h * w;
    size_t nout = (size_t)n * oc * ((h + sh - 1) / sh) * ((w + sw - 1) / sw);
    float *in = rnd(nin, -1, 1), *dout = rnd(nout, -1, 1), *out[2], *din[2];
    sp_backend *be[2] = {ref, fast};
    for (int i = 0; i < 2; i++) {
        sp_backend *b = be[i];
        float *bin = dup(b, in, nin), *bd = dup(b, dout, nout);
        out[i] = garbage(b, nout), din[i] = garbage(b, nin);
        b->pad_shortcut_fwd(b, out[i], bin, n, c, h, w, sh, sw, lo, hi);
        b->pad_shortcut_bwd(b, din[i], bd, n, c, h, w, sh, sw, lo, hi);
        b->free(b, bin), b->free(b, bd);
    }
    record("pad_shortcut_fwd", err(out[1], out[0], nout), 0);
    record("pad_shortcut_bwd", err(din[1], din[0], nin), 0);
    for (int i = 0; i < 2; i++)
        be[i]->free(be[i], out[i]), be[i]->free(be[i], din[i]);
    free(in), free(dout);
}


/* Elementwise, loss, optimiser and memory operations on sizes large enough
 * for the threaded paths, odd so no vector loop divides them evenly. */
static void check_small_ops(void)
{
    size_t n = 2 * 64 * 32 * 32 + 5;
    float *x = rnd(n, -8, 8), *y = rnd(n, -1, 1), *g = rnd(n, -1, 1);
    sp_backend *be[2] = {ref, fast};
    float *r[2][9];
    for (int a = 0; a < 2; a++) {
        const char *act = a ? "relu6" : "relu";
        for (int i = 0; i < 2; i++) {
            sp_backend *b = be[i];
            float *bx = dup(b, x, n), *bg = dup(b, g, n);
            r[i][0] = garbage(b, n), r[i][1] = garbage(b, n);
            b->act_fwd(b, a ? SP_ACT_RELU6 : SP_ACT_RELU, r[i][0], bx, n);
            b->act_bwd(b, a ? SP_ACT_RELU6 : SP_ACT_RELU, r[i][1], bg, bx, n);
            b->free(b, bx), b->free(b, bg);
        }
        recordf(err(r[1][0], r[0][0], n), 0, "%s forward", act);
        recordf(err(r[1][1], r[0][1], n), 0, "%s backward", act);
        for (int i = 0; i < 2; i++)
            be[i]->free(be[i], r[i][0]), be[i]->free(be[i], r[i][1]);
    }

    /* add, dropout (the keep mask bit for bit), memory operations */
    for (int i = 0; i < 2; i++) {
        sp_backend *b = be[i];
        float *bx = dup(b, x, n), *by = dup(b, y, n);
        for (int k = 0; k < 9; k++)
            r[i][k] = garbage(b, n);
        b->add_fwd(b, r[i][0], bx, by, n);
        b->dropout_fwd(b, r[i][1], r[i][2], bx, n, 0.3f, 1234, 56, 0);
        b->dropout_fwd(b, r[i][7], r[i][8], bx, n - 1000, 0.3f, 1234, 56, 1000);
        b->dropout_bwd(b, r[i][3], by, r[i][2], n);
        b->fill(b, r[i][4], 0.25f, n);
        b->accumulate(b, r[i][4], bx, n);
        b->scale(b, r[i][4], -1.5f, n);
        b->copy(b, r[i][5], r[i][4], n * sizeof(float));
        b->download(b, r[i][6], r[i][5], n * sizeof(float));
        b->free(b, bx), b->free(b, by);
    }
    record("add_fwd", err(r[1][0], r[0][0], n), 0);
    record("dropout_fwd", err(r[1][1], r[0][1], n), 0);
    settle();
    record("dropout keep mask identical", memcmp(r[1][2], r[0][2], n * sizeof(float)) ? 1 : 0, 0);
    /* a process's share (sp/dist.h): the tail of the whole draw */
    record("dropout share", memcmp(r[1][8], r[1][2] + 1000, (n - 1000) * sizeof(float)) ? 1 : 0, 0);
    record("dropout_bwd", err(r[1][3], r[0][3], n), 0);
    record("fill accumulate scale copy download", err(r[1][6], r[0][6], n), 0);
    for (int i = 0; i < 2; i++)
        for (int k = 0; k < 9; k++)
            be[i]->free(be[i], r[i][k]);

    /* softmax cross-entropy */
    static const int classes[] = {10, 100, 1000};
    for (size_t c = 0; c < sizeof classes / sizeof classes[0]; c++) {
        int bn = 128, k = classes[c];
        float *z = rnd((size_t)bn * k, -10, 10), loss[2];
        int32_t *lab = malloc(bn * sizeof *lab);
        for (int i = 0; i < bn; i++)
            lab[i] = (int32_t)sp_rng_below(&rng, (uint32_t)k);
        for (int i = 0; i < 2; i++) {
            sp_backend *b = be[i];
            float *bz = dup(b, z, (size_t)bn * k), *bl = b->alloc(b, sizeof(float));
            int32_t *blab = b->alloc(b, bn * sizeof *blab);
            b->upload(b, blab, lab, bn * sizeof *blab);
            r[i][0] = garbage(b, (size_t)bn * k);
            b->xent(b, bl, r[i][0], bz, blab, bn, k, 0.5f);
            b->download(b, &loss[i], bl, sizeof(float));
            b->free(b, bz), b->free(b, bl), b->free(b, blab);
        }
        record("xent loss", err(&loss[1], &loss[0], 1), FWD_BOUND);
        record("xent dlogits", err(r[1][0], r[0][0], (size_t)bn * k), FWD_BOUND);
        for (int i = 0; i < 2; i++)
            be[i]->free(be[i], r[i][0]);
        free(z), free(lab);
    }

    /* SGD: three steps of each variant */
    static const float mom[] = {0.9f, 0.9f, 0.0f}, wd[] = {5e-4f, 1e-4f, 0.0f};
    for (int v = 0; v < 3; v++) {
        for (int i = 0; i < 2; i++) {
            sp_backend *b = be[i];
            float *bg = dup(b, g, n);
            r[i][0] = dup(b, x, n);
            r[i][1] = dup(b, y, n);
            for (int step = 0; step < 3; step++)
                b->sgd(b, r[i][0], bg, r[i][1], n, 0.1f, mom[v], wd[v], v == 1);
            b->free(b, bg);
        }
        record("sgd weights and momentum",
               fmax(err(r[1][0], r[0][0], n), err(r[1][1], r[0][1], n)), FWD_BOUND);
        for (int i = 0; i < 2; i++)
            be[i]->free(be[i], r[i][0]), be[i]->free(be[i], r[i][1]);
    }
    free(x), free(y), free(g);
}

/* NaN propagates through max pooling as in PyTorch (the first NaN of a
 * window wins), on both backends alike. */
static void check_maxpool_nan(void)
{
    sp_pool_shape s = {2, 3, 9, 9, 0, 0, 3, 3, 2, 2, 1, 1};
    sp_pool_shape_out(&s);
    size_t nin = (size_t)s.n * s.c * s.h * s.w, nout = (size_t)s.n * s.c * s.oh * s.ow;
    float *in = rnd(nin, -1, 1), *out[2];
    sp_backend *be[2] = {ref, fast};
    int32_t *ws[2];
    for (size_t i = 0; i < nin; i += 7)
        in[i] = NAN;
    for (int i = 0; i < 2; i++) {
        float *bin = dup(be[i], in, nin);
        out[i] = garbage(be[i], nout);
        ws[i] = be[i]->alloc(be[i], be[i]->maxpool_ws_bytes(be[i], &s));
        be[i]->maxpool_fwd(be[i], out[i], ws[i], bin, &s);
        be[i]->free(be[i], bin);
    }
    settle();
    int same = 1;
    for (size_t o = 0; o < nout; o++)
        same &= isnan(out[0][o]) ? isnan(out[1][o]) : out[0][o] == out[1][o];
    record("maxpool NaN propagation", !same, 0);
    for (int i = 0; i < 2; i++)
        be[i]->free(be[i], out[i]), be[i]->free(be[i], ws[i]);
    free(in);
}

/* Shapes no built-in network has today but the backend must handle:
 * grouped, rectangular, asymmetric stride and padding, odd sizes, padded
 * pooling windows. */
/* Two convolutions, the first's output handed to the second in the fast
 * backend's own layout (conv_chain, conv_fwd_own), against the reference
 * computing conv, ReLU, conv in NCHW.  Channel counts that are not a
 * multiple of the blocking check that the padded channels read as zero.
 * Reports whether any pair was actually chained. */
static int check_conv_chain(int n, int c, int hw, int mid, int k, int stride, int depthwise)
{
    sp_conv_shape a = {n, c, hw, hw, mid, 0, 0, 3, 3, 1, 1, 1, 1, 1};
    sp_conv_shape b2 = {n, mid, hw, hw, depthwise ? mid : k, 0, 0, 3, 3, stride, stride, 1, 1,
                        depthwise ? mid : 1};
    sp_conv_shape_out(&a);
    a.oh = a.h, a.ow = a.w;
    sp_conv_shape_out(&b2);
    size_t nin = (size_t)n * c * hw * hw, nmid = (size_t)n * mid * a.oh * a.ow;
    size_t nout = (size_t)n * b2.k * b2.oh * b2.ow;
    size_t nwa = (size_t)mid * c * 9, nwb = (size_t)b2.k * (mid / b2.groups) * 9;
    float *in = rnd(nin, -1, 1), *wa = rnd(nwa, -1, 1), *wb = rnd(nwb, -1, 1);
    float *ba = rnd(mid, -1, 1);
    float *mr = garbage(ref, nmid), *outr = garbage(ref, nout);
    ref->conv_fwd_act(ref, mr, in, wa, ba, &a, SP_ACT_RELU);
    ref->conv_fwd(ref, outr, mr, wb, NULL, &b2);
    size_t bytes = 4 * (nmid + 64 * (size_t)n * a.oh * a.ow);
    int chained = fast->conv_chain(fast, &a, 1, SP_ACT_RELU, &b2, 0, -1, bytes);
    float *cin = dup(fast, in, nin), *cwa = dup(fast, wa, nwa), *cwb = dup(fast, wb, nwb);
    float *cba = dup(fast, ba, mid), *mc = garbage(fast, bytes / 4), *outc = garbage(fast, nout);
    fast->conv_fwd_own(fast, mc, cin, cwa, cba, &a, SP_ACT_RELU, chained ? SP_OWN_OUT : 0);
    fast->conv_fwd_own(fast, outc, mc, cwb, NULL, &b2, -1, chained ? SP_OWN_IN : 0);
    record("conv_chain", err(outc, outr, nout), FWD_BOUND);
    ref->free(ref, mr), ref->free(ref, outr);
    fast->free(fast, cin), fast->free(fast, cwa), fast->free(fast, cwb), fast->free(fast, cba);
    fast->free(fast, mc), fast->free(fast, outc);
    free(in), free(wa), free(wb), free(ba);
    return chained;
}

static void check_hand_picked(void)
{
    static const sp_conv_shape c[] = {
        {3, 8, 9, 7, 12, 0, 0, 3, 1, 2, 1, 1, 0, 2},
        {2, 6, 11, 11, 6, 0, 0, 5, 5, 2, 2, 2, 2, 6},
        {2, 5, 8, 8, 7, 0, 0, 1, 1, 2, 2, 0, 0, 1},
    };
    static const sp_pool_shape p[] = {
        {2, 3, 9, 9, 0, 0, 3, 3, 2, 2, 1, 1},
        {2, 4, 8, 7, 0, 0, 2, 3, 2, 1, 1, 1},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        sp_conv_shape s = c[i];
        sp_conv_shape_out(&s);
        check_conv(&s, (int)(i % 2));
    }
    for (size_t i = 0; i < sizeof p / sizeof p[0]; i++) {
        sp_pool_shape s = p[i];
        sp_pool_shape_out(&s);
        check_pool(&s, 0);
        check_pool(&s, 1);
        s.oh = 3, s.ow = 2;
        check_pool(&s, 2);
    }
    if (fast->conv_chain) {
        int chained = check_conv_chain(2, 16, 8, 32, 24, 1, 0);
        chained += check_conv_chain(2, 5, 9, 13, 11, 2, 0);
        chained += check_conv_chain(2, 8, 8, 20, 0, 2, 1);
        chained += check_conv_chain(2, 3, 10, 16, 16, 1, 0);
        /* Whether oneDNN picks a layout that can be handed over depends on
         * the CPU (blocked on some, NHWC on others): only the results are
         * checked. */
        printf("# conv_chain: %d of 4 pairs handed over in the backend's layout\n", chained);
    }
    check_maxpool_nan();
    check_bn(3, 5, 7);
    check_bn(5, 3, 1024);   /* rows that cpu_bn.c sums in two groups */
    check_bn_far_mean(7, 5, 49);
    check_bn_far_mean(50, 4, 100);
    check_linear(3, 17, 5);
    check_mask(3, 5, 7);
}

/* Every check on the backend `fast`; the names carry its name. */
static void check_backend(void)
{
    nresults = 0;
    for (int i = 0; i < nconv; i++)
        check_conv(&convs[i], conv_bias[i]);
    for (int i = 0; i < nbn; i++)
        check_bn(2, bns[i][0], bns[i][1]);
    for (int i = 0; i < nmax; i++)
        check_pool(&maxpools[i], 0);
    for (int i = 0; i < navg; i++)
        check_pool(&avgpools[i], 1);
    for (int i = 0; i < nadapt; i++)
        check_pool(&adapts[i], 2);
    for (int i = 0; i < nlin; i++)
        check_linear(lins[i][0], lins[i][1], lins[i][2]);
    for (int i = 0; i < nmask; i++)
        check_mask(2, masks[i][0], masks[i][1]);
    for (int i = 0; i < npad; i++)
        check_pad(pads[i]);
    check_small_ops();
    check_hand_picked();
    for (int i = 0; i < nresults; i++)
        printf("# %s %-40s worst %.2e bound %.0e (%d shapes)\n", fast->name, results[i].name,
               results[i].worst, results[i].bound, results[i].shapes);
    for (int i = 0; i < nresults; i++) {
        char name[160];
        snprintf(name, sizeof name, "%.8s %.100s", fast->name, results[i].name);
        CHECKF(results[i].worst <= results[i].bound, name,
               "error %.3g over %d shapes, bound %.0e", results[i].worst, results[i].shapes,
               results[i].bound);
    }
}

int main(void)
{
    static const char *const names[] = {"cpu", "cuda"};
    /* the CUDA backend in memory the host reads too (cuda_mem.cu) */
    setenv("SP_CUDA_MANAGED", "1", 1);
    ref = sp_ref_backend_create();
    if (!CHECKF(ref != NULL, "backends", "cannot create: %s", sp_error()))
        return t_done();
    if (collect_all() == 0)
        return t_done();
    printf("# %d conv, %d bn, %d maxpool, %d avgpool, %d adaptive, %d linear, %d mask, "
           "%d shortcut shapes\n", nconv, nbn, nmax, navg, nadapt, nlin, nmask, npad);
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        fast = sp_backend_create(names[k]);
        if (!fast) {
            printf("# skip %s: %s\n", names[k], sp_error());
            continue;
        }
        sp_rng_init(&rng, 42, 7);
        check_backend();
        sp_backend_destroy(fast);
    }
    sp_backend_destroy(ref);
    return t_done();
}
