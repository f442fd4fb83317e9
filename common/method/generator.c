/* generator.c: the mask generators (sp-method(7), steps 4 and 5).  Each is
 * small (C x C*k*k), runs once per step rather than per sample, and sees
 * one P map, so it lives on the host beside the window that reads its
 * masks; only the mask values travel to the device. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "sp/base.h"
#include "sp/method.h"

void sp_gen_alloc(sp_generator *g, int c, int khw)
{
    size_t nw = (size_t)c * c * khw;
    g->c = c;
    g->khw = khw;
    g->w = sp_xcalloc(nw, sizeof *g->w);
    g->vw = sp_xcalloc(nw, sizeof *g->vw);
    g->gw = sp_xcalloc(nw, sizeof *g->gw);
    g->b = sp_xcalloc((size_t)c, sizeof *g->b);
    g->vb = sp_xcalloc((size_t)c, sizeof *g->vb);
    g->gb = sp_xcalloc((size_t)c, sizeof *g->gb);
}

void sp_gen_free(sp_generator *g)
{
    free(g->w), free(g->vw), free(g->gw);
    free(g->b), free(g->vb), free(g->gb);
    memset(g, 0, sizeof *g);
}

void sp_gen_init_params(sp_generator *g, sp_gen_init how, sp_rng *r)
{
    int64_t nw = (int64_t)g->c * g->c * g->khw;
    double c = g->c;
    switch (how) {
    case SP_GEN_INIT_CONV: {
        /* the original computes the std with 9C even for 1x1 kernels */
        double bound = 1.0 / sqrt(c * g->khw);
        sp_rng_fill_normal(r, g->w, nw, 0.0f, (float)(10.0 * sqrt(2.0 / (9.0 * c))));
        sp_rng_fill_uniform(r, g->b, g->c, (float)-bound, (float)bound);
        break;
    }
    case SP_GEN_INIT_MOBILENET:
        sp_rng_fill_normal(r, g->w, nw, 0.0f, (float)sqrt(2.0 / c));
        memset(g->b, 0, (size_t)g->c * sizeof *g->b);
        break;
    case SP_GEN_INIT_LINEAR: {
        double bound = 1.0 / sqrt(c);
        sp_rng_fill_normal(r, g->w, nw, 0.0f, 0.01f);
        sp_rng_fill_uniform(r, g->b, g->c, (float)-bound, (float)bound);
        break;
    }
    }
}

/* Rows of W in a block are summed side by side: each row's sum still adds
 * its terms one at a time in input order (the same doubles as a row at a
 * time), but GEN_ROWS independent sums no longer wait on one another's
 * additions. */
#define GEN_ROWS 8

void sp_gen_forward(const sp_generator *g, const float *p, float beta, float *m)
{
    int n = g->c * g->khw, blocks = (g->c + GEN_ROWS - 1) / GEN_ROWS;
#pragma omp parallel for schedule(static) if ((int64_t)g->c * n > 65536)
    for (int blk = 0; blk < blocks; blk++) {
        int o0 = blk * GEN_ROWS, rows = g->c - o0 < GEN_ROWS ? g->c - o0 : GEN_ROWS;
        const float *w = g->w + (size_t)o0 * n;
        double z[GEN_ROWS];
        for (int r = 0; r < rows; r++)
            z[r] = g->b[o0 + r];
        if (rows == GEN_ROWS) {
            for (int i = 0; i < n; i++)
                for (int r = 0; r < GEN_ROWS; r++)
                    z[r] += (double)w[(size_t)r * n + i] * p[i];
        } else {
            for (int r = 0; r < rows; r++)
                for (int i = 0; i < n; i++)
                    z[r] += (double)w[(size_t)r * n + i] * p[i];
        }
        for (int r = 0; r < rows; r++)
            m[o0 + r] = (float)(1.0 / (1.0 + exp(-(double)beta * z[r])));
    }
}

static float sign(float x) { return (float)((x > 0) - (x < 0)); }

double sp_gen_l1(int c, const float *m, const float *t, float lambda)
{
    double s = 0.0;
    for (int i = 0; i < c; i++)
        s += fabs((double)m[i] - t[i]);
    return lambda * s / c;
}

void sp_gen_backward(sp_generator *g, const float *p, float beta, const float *m,
                     const float *t, float lambda, const float *dm)
{
    int n = g->c * g->khw;
    float l1 = lambda / (float)g->c;
#pragma omp parallel for schedule(static) if ((int64_t)g->c * n > 65536)
    for (int o = 0; o < g->c; o++) {
        float dmo = dm[o] + l1 * sign(m[o] - t[o]);
        float dz = dmo * beta * m[o] * (1.0f - m[o]);
        float *gw = g->gw + (size_t)o * n;
        for (int i = 0; i < n; i++)
            gw[i] = dz * p[i];
        g->gb[o] = dz;
    }
}

/* As the backends' sgd (and torch.optim.SGD): d = g + wd w; v = mu v + d;
 * w -= lr v. */
static void sgd(float *w, const float *gr, float *v, size_t n, float lr, float mu, float wd)
{
#pragma omp parallel for schedule(static) if (n > 65536)
    for (size_t i = 0; i < n; i++) {
        float d = gr[i] + wd * w[i];
        v[i] = mu * v[i] + d;
        w[i] = w[i] - lr * v[i];
    }
}

void sp_gen_sgd(sp_generator *g, float lr, float momentum, float weight_decay)
{
    sgd(g->w, g->gw, g->vw, (size_t)g->c * g->c * g->khw, lr, momentum, weight_decay);
    sgd(g->b, g->gb, g->vb, (size_t)g->c, lr, momentum, weight_decay);
}
