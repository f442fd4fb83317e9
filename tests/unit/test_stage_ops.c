/* test_stage_ops.c: the backend operations of the pruning stage on every
 * backend that is built: fill_normal (the twin's redraws) gives the same
 * values everywhere, whatever the thread count, with the moments of a
 * normal distribution; conn_sens matches a direct double-precision sum
 * (and on the CPU backend, to the bit, the float sums in input order);
 * the executor's raw-logit loss (the twin's) matches its definition and
 * its gradient, by finite differences through a small network. */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sp/arch.h"
#include "sp/base.h"
#include "sp/backend.h"
#include "sp/exec.h"
#include "sp/rng.h"
#include "testlib.h"

static const char *const backends[] = {"ref", "cpu", "cuda"};

static void check_fill_normal(sp_backend *ref, sp_backend *b)
{
    size_t n = 3 * 4096 + 77;
    float *a = b->alloc(b, n * sizeof *a), *r = ref->alloc(ref, n * sizeof *r);
    float *ha = malloc(n * sizeof *ha);
    b->fill_normal(b, a, n, 0.5f, 42, 7);
    ref->fill_normal(ref, r, n, 0.5f, 42, 7);
    b->download(b, ha, a, n * sizeof *ha);
    char name[64];
    snprintf(name, sizeof name, "%s fill_normal equals ref", b->name);
    CHECK(memcmp(ha, r, n * sizeof *ha) == 0, name);
    double s = 0, s2 = 0, s4 = 0;
    for (size_t i = 0; i < n; i++) {
        s += ha[i];
        s2 += (double)ha[i] * ha[i];
        s4 += pow(ha[i], 4);
    }
    double mean = s / n, var = s2 / n - mean * mean, kurt = s4 / n / (var * var);
    snprintf(name, sizeof name, "%s fill_normal moments", b->name);
    CHECKF(fabs(mean) < 0.02 && fabs(var - 0.25) < 0.01 && fabs(kurt - 3.0) < 0.15, name,
           "mean %.4f var %.4f kurtosis %.3f", mean, var, kurt);
    /* another counter or seed: other values; one thread: the same values */
    b->fill_normal(b, a, n, 0.5f, 42, 8);
    b->download(b, ha, a, n * sizeof *ha);
    snprintf(name, sizeof name, "%s fill_normal differs by counter", b->name);
    CHECK(memcmp(ha, r, n * sizeof *ha) != 0, name);
    int threads = omp_get_max_threads();
    omp_set_num_threads(1);
    b->fill_normal(b, a, n, 0.5f, 42, 7);
    omp_set_num_threads(threads);
    b->download(b, ha, a, n * sizeof *ha);
    snprintf(name, sizeof name, "%s fill_normal independent of threads", b->name);
    CHECK(memcmp(ha, r, n * sizeof *ha) == 0, name);
    b->free(b, a);
    ref->free(ref, r);
    free(ha);
}

static void check_conn_sens(sp_backend *b, int k, int c, int khw)
{
    sp_rng rng;
    sp_rng_init(&rng, 5, (uint64_t)(k * 1000 + c * 10 + khw));
    size_t n = (size_t)k * c * khw;
    float *w = malloc(n * sizeof *w), *dw = malloc(n * sizeof *dw);
    sp_rng_fill_normal(&rng, w, (int64_t)n, 0, 1);
    sp_rng_fill_normal(&rng, dw, (int64_t)n, 0, 1e-3f);
    float *dw_dev = b->alloc(b, n * sizeof *w), *w_dev = b->alloc(b, n * sizeof *w);
    float *score_dev = b->alloc(b, (size_t)k * sizeof(float));
    float *map_dev = b->alloc(b, (size_t)k * khw * sizeof(float));
    b->upload(b, w_dev, w, n * sizeof *w);
    b->upload(b, dw_dev, dw, n * sizeof *w);
    b->conn_sens(b, score_dev, map_dev, w_dev, dw_dev, k, c, khw);
    float *score = malloc((size_t)k * sizeof *score), *map = malloc((size_t)k * khw * sizeof *map);
    b->download(b, score, score_dev, (size_t)k * sizeof *score);
    b->download(b, map, map_dev, (size_t)k * khw * sizeof *map);
    double worst = 0;
    int same = 1;                 /* the CPU's float sums, input by input */
    for (int o = 0; o < k; o++) {
        float ftot = 0.0f;
        for (int q = 0; q < khw; q++) {
            float f = 0.0f;
            for (int i = 0; i < c; i++) {
                size_t at = ((size_t)o * c + i) * khw + q;
                f += fabsf(w[at] * dw[at]);
            }
            same &= memcmp(&f, &map[(size_t)o * khw + q], sizeof f) == 0;
            ftot += f;
        }
        same &= memcmp(&ftot, &score[o], sizeof ftot) == 0;
    }
    for (int o = 0; o < k; o++) {
        double tot = 0;
        for (int q = 0; q < khw; q++) {
            double s = 0;
            for (int i = 0; i < c; i++) {
                size_t at = ((size_t)o * c + i) * khw + q;
                s += fabs((double)w[at] * dw[at]);
            }
            tot += s;
            worst = fmax(worst, fabs(map[(size_t)o * khw + q] - s) / s);
        }
        worst = fmax(worst, fabs(score[o] - tot) / tot);
    }
    char name[80];
    snprintf(name, sizeof name, "%s conn_sens %dx%dx%d", b->name, k, c, khw);
    CHECKF(worst < 1e-5, name, "relative error %.3g", worst);
    if (strcmp(b->name, "cpu") == 0) {
        snprintf(name, sizeof name, "%s conn_sens %dx%dx%d float order", b->name, k, c, khw);
        CHECKF(same, name, "the float sums differ from those taken in input order");
    }
    b->free(b, w_dev), b->free(b, dw_dev), b->free(b, score_dev), b->free(b, map_dev);
    free(w), free(dw), free(score), free(map);
}

/* L = -(1/n) sum_i z[i, y_i] through resnet20: the loss by its
 * definition and a weight's gradient by central differences. */
static void check_logit_loss(sp_backend *b)
{
    sp_arch_opts ao = {10, 3, 8, 8};
    sp_model *m = sp_model_new(sp_arch_build("resnet20", &ao));
    sp_arch_init_weights(m, 3);
    int n = 3;
    size_t in = (size_t)n * 3 * 8 * 8;
    float *x = malloc(in * sizeof *x), logits[30];
    int32_t y[3] = {1, 7, 4};
    sp_rng rng;
    sp_rng_init(&rng, 9, 9);
    sp_rng_fill_normal(&rng, x, (int64_t)in, 0, 1);
    sp_exec *e = sp_exec_new(b, m, n, 1, 0);
    sp_exec_set_input(e, x, y, n);
    sp_exec_forward(e, 0);
    float loss = sp_exec_loss_logit(e);
    sp_exec_logits(e, logits);
    double want = -(logits[1] + logits[10 + 7] + logits[20 + 4]) / 3.0;
    char name[64];
    snprintf(name, sizeof name, "%s logit loss value", b->name);
    CHECKF(fabs(loss - want) < 1e-5 * (1 + fabs(want)), name, "%g vs %g", loss, want);
    sp_exec_backward(e);
    const char *wn = "linear.weight";
    sp_tensor *t = sp_model_tensor(m, wn);
    float g[640];   /* 10 x 64 */
    sp_exec_grad_download(e, wn, g);
    double worst = 0;
    for (int j = 0; j < 64; j += 9) {
        float *w = t->data, keep = w[j], h = 1e-2f;
        double f[2];
        for (int s = 0; s < 2; s++) {
            w[j] = keep + (s ? -h : h);
            sp_exec_upload(e, m);
            sp_exec_set_input(e, x, y, n);
            sp_exec_forward(e, 0);
            f[s] = sp_exec_loss_logit(e);
        }
        w[j] = keep;
        worst = fmax(worst, fabs((f[0] - f[1]) / (2 * h) - g[j]));
    }
    snprintf(name, sizeof name, "%s logit loss gradient", b->name);
    CHECKF(worst < 2e-3, name, "worst difference %.3g", worst);
    sp_exec_free(e);
    sp_model_free(m);
    free(x);
}

int main(void)
{
    sp_backend *ref = sp_backend_create("ref");
    for (size_t i = 0; i < SP_COUNT(backends); i++) {
        sp_backend *b = sp_backend_create(backends[i]);
        if (!b) {
            printf("# skip %s: %s\n", backends[i], sp_error());
            continue;
        }
        check_fill_normal(ref, b);
        check_conn_sens(b, 16, 8, 9);
        check_conn_sens(b, 10, 512, 1);
        check_conn_sens(b, 64, 1, 9);
        check_conn_sens(b, 12, 40, 25);
        check_conn_sens(b, 4, 6, 81);
        check_logit_loss(b);
        sp_backend_destroy(b);
    }
    sp_backend_destroy(ref);
    return t_done();
}
