/* train_bench.c: images per second of one training step (forward, loss,
 * backward, SGD update) and of inference, for a built-in network on
 * synthetic data (32x32 and 10 classes unless given).  Built and run by bench/train.sh, which puts the
 * same measurement in PyTorch (bench/train_torch.py) beside it.
 *
 * Usage: train_bench ARCH BATCH ITERS [DEVICE [SIZE [CLASSES]]]
 * Prints: "sp ARCH train IMAGES_PER_S infer IMAGES_PER_S". */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "sp/arch.h"
#include "sp/backend.h"
#include "sp/base.h"
#include "sp/exec.h"
#include "sp/rng.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: train_bench ARCH BATCH ITERS [DEVICE [SIZE [CLASSES]]]\n");
        return 2;
    }
    const char *arch = argv[1];
    int batch = atoi(argv[2]), iters = atoi(argv[3]);
    sp_backend *b = sp_backend_create(argc > 4 ? argv[4] : "cpu");
    int size = argc > 5 ? atoi(argv[5]) : 32, classes = argc > 6 ? atoi(argv[6]) : 10;
    sp_arch_opts ao = {classes, 3, size, size};
    sp_graph *g = b ? sp_arch_build(arch, &ao) : NULL;
    if (!g || batch < 1 || iters < 1) {
        fprintf(stderr, "train_bench: %s\n", sp_error());
        return 1;
    }
    sp_model *m = sp_model_new(g);
    sp_arch_init_weights(m, 1);
    size_t per = (size_t)3 * size * size;
    float *x = sp_xmalloc((size_t)batch * per * sizeof *x);
    int32_t *y = sp_xmalloc((size_t)batch * sizeof *y);
    sp_rng r;
    sp_rng_init(&r, 1, 2);
    sp_rng_fill_normal(&r, x, (int64_t)(batch * per), 0.0f, 1.0f);
    for (int i = 0; i < batch; i++)
        y[i] = (int32_t)sp_rng_below(&r, (uint32_t)classes);

    sp_exec *e = sp_exec_new(b, m, batch, 1, 0);
    sp_sgd_opts o = {0.01f, 0.9f, 5e-4f, 0};
    double t0 = 0;
    for (int it = 0; it < iters + 1; it++) {
        if (it == 1)
            t0 = now();   /* the first step plans the primitives: not timed */
        sp_exec_set_input(e, x, y, batch);
        sp_exec_forward(e, 1);
        sp_exec_loss(e);
        sp_exec_backward(e);
        sp_exec_sgd(e, &o);
    }
    b->sync(b);
    double train = (double)batch * iters / (now() - t0);
    sp_exec_download(e, m);
    sp_exec_free(e);

    e = sp_exec_new(b, m, batch, 0, 0);
    float *z = sp_xmalloc((size_t)batch * classes * sizeof *z);
    for (int it = 0; it < iters + 1; it++) {
        if (it == 1)
            t0 = now();
        sp_exec_set_input(e, x, NULL, batch);
        sp_exec_forward(e, 0);
        sp_exec_logits(e, z);
    }
    double infer = (double)batch * iters / (now() - t0);
    printf("sp %s train %.1f infer %.1f\n", arch, train, infer);
    free(z);
    free(x);
    free(y);
    sp_exec_free(e);
    sp_model_free(m);
    sp_backend_destroy(b);
    return 0;
}
