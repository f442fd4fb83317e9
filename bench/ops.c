/* ops.c: times the CPU backend's convolution and batch-norm operations on
 * the layer shapes of resnet56 and vgg16-cifar at batch 128, 32x32.
 *
 * Usage: bench-ops [REPS [LAYER]] (LAYER: index into layers[], default all).
 * Reads nothing; writes one line per operation and shape to stdout:
 * "KEY MILLISECONDS", where KEY names the op and the shape the same way
 * bench/ops.py does for PyTorch, so that script can put them side by side.
 * bench/ops.py builds it (into BUILD/bench-ops, from BUILD/libsp.a) and
 * runs it next to PyTorch. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "sp/backend.h"
#include "sp/base.h"
#include "sp/rng.h"

typedef struct layer { int c, h, k, ksz, stride; } layer;

/* resnet56: three stages of 16, 32, 64 channels; vgg16-cifar's 13 convs */
static const layer layers[] = {
    {3, 32, 16, 3, 1}, {16, 32, 16, 3, 1}, {16, 32, 32, 3, 2}, {32, 16, 32, 3, 1},
    {32, 16, 64, 3, 2}, {64, 8, 64, 3, 1},
    {3, 32, 64, 3, 1}, {64, 32, 64, 3, 1}, {64, 16, 128, 3, 1}, {128, 16, 128, 3, 1},
    {128, 8, 256, 3, 1}, {256, 8, 256, 3, 1}, {256, 4, 512, 3, 1}, {512, 4, 512, 3, 1},
    {512, 2, 512, 3, 1},
};

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

static float *buffer(sp_backend *b, sp_rng *r, size_t n)
{
    float *host = malloc(n * sizeof *host), *d = b->alloc(b, n * sizeof *d);
    sp_rng_fill_uniform(r, host, (int64_t)n, -1, 1);
    b->upload(b, d, host, n * sizeof *d);
    free(host);
    return d;
}

/* The fastest of reps timed calls after one warm-up: on a shared machine
 * the minimum is the figure least disturbed by other processes. */
#define TIME(key, reps, call) do { \
        double t[64]; call; \
        for (int i_ = 0; i_ < (reps); i_++) { double t0_ = now(); call; t[i_] = now() - t0_; } \
        for (int i_ = 1; i_ < (reps); i_++) \
            for (int j_ = i_; j_ > 0 && t[j_] < t[j_ - 1]; j_--) { \
                double x_ = t[j_]; t[j_] = t[j_ - 1]; t[j_ - 1] = x_; } \
        printf("%s %.3f\n", key, 1e3 * t[0]); fflush(stdout); \
    } while (0)

int main(int argc, char **argv)
{
    int n = 128, reps = argc > 1 ? atoi(argv[1]) : 5, only = argc > 2 ? atoi(argv[2]) : -1;
    sp_backend *b = sp_backend_create("cpu");
    sp_rng r;
    if (!b) {
        fprintf(stderr, "ops: %s\n", sp_error());
        return 1;
    }
    if (reps < 1 || reps > 64)
        reps = 5;
    sp_rng_init(&r, 1, 1);
    for (size_t i = 0; i < sizeof layers / sizeof layers[0]; i++) {
        const layer *l = &layers[i];
        if (only >= 0 && (size_t)only != i)
            continue;
        sp_conv_shape s = {n, l->c, l->h, l->h, l->k, 0, 0, l->ksz, l->ksz, l->stride,
                           l->stride, l->ksz / 2, l->ksz / 2, 1};
        sp_conv_shape_out(&s);
        size_t nin = (size_t)n * s.c * s.h * s.w, nout = (size_t)n * s.k * s.oh * s.ow;
        size_t nw = (size_t)s.k * s.c * s.kh * s.kw;
        float *in = buffer(b, &r, nin), *w = buffer(b, &r, nw), *out = buffer(b, &r, nout);
        float *din = buffer(b, &r, nin), *dw = buffer(b, &r, nw), *y = buffer(b, &r, nout);
        float *g = buffer(b, &r, s.k), *bt = buffer(b, &r, s.k), *m = buffer(b, &r, s.k);
        float *v = buffer(b, &r, s.k), *sm = buffer(b, &r, s.k), *si = buffer(b, &r, s.k);
        char key[128];
        b->fill(b, v, 1.0f, s.k);
        snprintf(key, sizeof key, "conv_fwd n%d c%d h%d k%d s%d", n, s.c, s.h, s.k, s.sh);
        TIME(key, reps, b->conv_fwd(b, out, in, w, NULL, &s));
        snprintf(key, sizeof key, "conv_bwd_data n%d c%d h%d k%d s%d", n, s.c, s.h, s.k, s.sh);
        if (s.c > 3)
            TIME(key, reps, b->conv_bwd_data(b, din, out, w, &s));
        snprintf(key, sizeof key, "conv_bwd_filter n%d c%d h%d k%d s%d", n, s.c, s.h, s.k, s.sh);
        TIME(key, reps, b->conv_bwd_filter(b, dw, NULL, out, in, &s));
        int hw = s.oh * s.ow;
        snprintf(key, sizeof key, "bn_fwd_train n%d c%d hw%d", n, s.k, hw);
        TIME(key, reps, b->bn_fwd_train(b, y, sm, si, m, v, out, NULL, g, bt, n, s.k, hw, 1e-5f, 0.1f, -1));
        snprintf(key, sizeof key, "bn_bwd n%d c%d hw%d", n, s.k, hw);
        TIME(key, reps, b->bn_bwd(b, y, g, bt, out, out, g, sm, si, n, s.k, hw));
        snprintf(key, sizeof key, "relu_fwd_bwd n%d c%d hw%d", n, s.k, hw);
        TIME(key, reps, (b->act_fwd(b, SP_ACT_RELU, y, out, nout),
                         b->act_bwd(b, SP_ACT_RELU, y, out, out, nout)));
        float *all[] = {in, w, out, din, dw, y, g, bt, m, v, sm, si};
        for (size_t k = 0; k < sizeof all / sizeof all[0]; k++)
            b->free(b, all[k]);
    }
    sp_backend_destroy(b);
    return 0;
}
