/* stage_bench.c: milliseconds of one plain training step and of one
 * pruning-stage step (sensitivity twin, generators, masks, window) of
 * sp-train-mask, for a built-in network on synthetic 32x32 data.  Built
 * and run by bench/stage.sh, which runs the original code's step beside it.
 *
 * Usage: stage_bench ARCH BATCH BLOCK ITERS [DEVICE]
 * Prints: "sp ARCH bs=B block=K: plain step P ms, stage step S ms, ratio R". */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "sp/arch.h"
#include "sp/backend.h"
#include "sp/base.h"
#include "sp/exec.h"
#include "sp/rng.h"
#include "sp/stage.h"
#include "sp/surgery.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static sp_model *network(const char *arch)
{
    sp_arch_opts ao = {10, 3, 32, 32};
    sp_graph *g = sp_arch_build(arch, &ao);
    if (!g)
        return NULL;
    sp_model *m = sp_model_new(g);
    sp_arch_init_weights(m, 1);
    return m;
}

/* ms per step: the plain step, or (st != NULL) the stage's step */
static double time_steps(sp_exec *e, const sp_train_hooks *h, const float *x, const int32_t *y,
                         int batch, int iters)
{
    sp_sgd_opts o = {1e-3f, 0.9f, 5e-4f, 0};
    double t0 = 0;
    for (int it = 0; it < iters + 2; it++) {
        if (it == 2)
            t0 = now();   /* the first steps plan the primitives: not timed */
        sp_exec_set_input(e, x, y, batch);
        if (h && h->before_forward(h->ctx, e, x, y, batch, it, it) < 0)
            return -1;
        sp_exec_forward(e, 1);
        sp_exec_loss(e);
        if (h)
            h->loss(h->ctx, e);
        sp_exec_backward(e);
        sp_exec_sgd(e, &o);
        if (h && h->after_step(h->ctx, e, &o) < 0)
            return -1;
    }
    sp_backend *b = sp_exec_backend(e);
    b->sync(b);
    return (now() - t0) / iters * 1e3;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: stage_bench ARCH BATCH BLOCK ITERS [DEVICE]\n");
        return 2;
    }
    const char *arch = argv[1];
    int batch = atoi(argv[2]), block = atoi(argv[3]), iters = atoi(argv[4]);
    sp_backend *b = sp_backend_create(argc > 5 ? argv[5] : "cpu");
    sp_model *m = b ? network(arch) : NULL;
    if (!m || batch < 1 || iters < 1) {
        fprintf(stderr, "stage_bench: %s\n", sp_error());
        return 1;
    }
    size_t per = 3 * 32 * 32;
    float *x = sp_xmalloc((size_t)batch * per * sizeof *x);
    int32_t *y = sp_xmalloc((size_t)batch * sizeof *y);
    sp_rng r;
    sp_rng_init(&r, 1, 2);
    sp_rng_fill_normal(&r, x, (int64_t)(batch * per), 0.0f, 1.0f);
    for (int i = 0; i < batch; i++)
        y[i] = (int32_t)sp_rng_below(&r, 10);

    sp_exec *e = sp_exec_new(b, m, batch, 1, 0);
    double plain = time_steps(e, NULL, x, y, batch, iters);
    sp_exec_free(e);

    if (sp_mask_insert(m, block) < 0) {
        fprintf(stderr, "stage_bench: %s\n", sp_error());
        return 1;
    }
    const sp_recipe *rc = sp_recipe_for(m->graph);
    sp_stage_opts so = {rc, block, rc->rate, rc->sort_layer, 0, 20, 100, rc->beta0, rc->beta1,
                        SP_SSTY_LOGIT, 1.0, 1.0, 1, rc->epochs, batch, 1000};
    sp_stage *st = sp_stage_new(b, m, &so);
    e = st ? sp_exec_new(b, m, batch, 1, 1) : NULL;
    if (!e) {
        fprintf(stderr, "stage_bench: %s\n", sp_error());
        return 1;
    }
    double stage = time_steps(e, sp_stage_hooks(st, NULL, NULL), x, y, batch, iters);
    printf("sp %s bs=%d block=%d: plain step %.1f ms, stage step %.1f ms, ratio %.2f\n", arch,
           batch, block, plain, stage, stage / plain);
    sp_exec_free(e);
    sp_stage_free(st);
    sp_model_free(m);
    sp_backend_destroy(b);
    free(x);
    free(y);
    return 0;
}
