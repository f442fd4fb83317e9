/* speed_bench.c: images per second of training steps (forward, loss,
 * backward, SGD update) or of inference, for one network on synthetic
 * data, and the peak memory of the process that ran them.  Built and run
 * by bench/speed.sh, which puts PyTorch (bench/speed_torch.py) beside it,
 * and by bench/pruned.sh.
 *
 * Usage: speed_bench NET train|infer BATCH ITERS [DEVICE]
 *   NET: a built-in network (its own input size and class count) or a
 *   checkpoint file.
 * Prints: "sp NET MODE IMAGES_PER_S MAX_RSS_KB MACS_PER_IMAGE PARAMS BASE_RSS_KB",
 * BASE_RSS_KB: the peak before the network was built (program, libraries). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include "clock.h"
#include "sp/arch.h"
#include "sp/backend.h"
#include "sp/base.h"
#include "sp/checkpoint.h"
#include "sp/exec.h"
#include "sp/rng.h"

static long max_rss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static sp_model *network(const char *net)
{
    if (sp_arch_lookup(net)) {
        sp_graph *g = sp_arch_build(net, NULL);
        sp_model *m = g ? sp_model_new(g) : NULL;
        if (m)
            sp_arch_init_weights(m, 1);
        return m;
    }
    FILE *f = fopen(net, "rb");
    if (!f) {
        sp_errorf("%s is neither a built-in network nor a readable checkpoint", net);
        return NULL;
    }
    sp_model *m = sp_ckpt_read(f, net);
    fclose(f);
    return m;
}

/* Untimed steps: the first plans the primitives, and the second is still
 * well slower than the later ones. */
#define WARMUP 2

/* Seconds of `iters` steps after the WARMUP ones. */
static double run(sp_exec *e, int train, const float *x, const int32_t *y, float *z,
                  int batch, int iters)
{
    sp_sgd_opts o = {0.01f, 0.9f, 5e-4f, 0};
    double t0 = 0;
    for (int it = 0; it < WARMUP + iters; it++) {
        if (it == WARMUP)
            t0 = bench_now();
        sp_exec_set_input(e, x, train ? y : NULL, batch);
        sp_exec_forward(e, train);
        if (train) {
            sp_exec_loss(e);
            sp_exec_backward(e);
            sp_exec_sgd(e, &o);
        } else {
            sp_exec_logits(e, z);
        }
    }
    sp_backend *b = sp_exec_backend(e);
    b->sync(b);
    return bench_now() - t0;
}

int main(int argc, char **argv)
{
    if (argc < 5 || (strcmp(argv[2], "train") && strcmp(argv[2], "infer"))) {
        fprintf(stderr, "usage: speed_bench NET train|infer BATCH ITERS [DEVICE]\n");
        return 2;
    }
    int train = strcmp(argv[2], "train") == 0;
    int batch = atoi(argv[3]), iters = atoi(argv[4]);
    sp_backend *b = sp_backend_create(argc > 5 ? argv[5] : "cpu");
    long base = max_rss_kb();
    sp_model *m = b ? network(argv[1]) : NULL;
    if (!m || batch < 1 || iters < 1) {
        fprintf(stderr, "speed_bench: %s\n", m ? "BATCH and ITERS must be positive" : sp_error());
        return 1;
    }
    const sp_graph *g = m->graph;
    size_t per = (size_t)g->node[0].c * g->node[0].h * g->node[0].w;
    float *x = sp_xmalloc((size_t)batch * per * sizeof *x);
    int32_t *y = sp_xmalloc((size_t)batch * sizeof *y);
    float *z = sp_xmalloc((size_t)batch * g->classes * sizeof *z);
    sp_rng r;
    sp_rng_init(&r, 1, 2);
    sp_rng_fill_normal(&r, x, (int64_t)batch * (int64_t)per, 0.0f, 1.0f);
    for (int i = 0; i < batch; i++)
        y[i] = (int32_t)sp_rng_below(&r, (uint32_t)g->classes);

    /* an inference executor folds batch norms, as sp-eval's does;
     * SP_BENCH_ORDER=nchw|nhwc overrides the executor's choice of
     * activation order, in training as in inference;
     * SP_BENCH_STORE=all makes a training executor keep every batch norm
     * output instead of recomputing it (the cost of recomputation);
     * SP_BENCH_FUSE=none runs every node apart (no folding in inference,
     * no batch norm epilogues in training); SP_BENCH_SAY prints the
     * executor's description (sp_exec_describe) on stderr */
    const char *order = getenv("SP_BENCH_ORDER"), *store = getenv("SP_BENCH_STORE");
    const char *fuse = getenv("SP_BENCH_FUSE");
    unsigned flags = !order ? 0 : !strcmp(order, "nhwc") ? SP_EXEC_NHWC : SP_EXEC_NCHW;
    if (store && !strcmp(store, "all"))
        flags |= SP_EXEC_STORE_ALL;
    if (fuse && !strcmp(fuse, "none"))
        flags |= SP_EXEC_UNFUSED;
    sp_exec *e = sp_exec_new_flags(b, m, batch, train, 0, flags);
    if (!e) {
        fprintf(stderr, "speed_bench: %s\n", sp_error());
        return 1;
    }
    if (getenv("SP_BENCH_SAY"))
        fprintf(stderr, "speed_bench: %s\n", sp_exec_describe(e));
    double secs = run(e, train, x, y, z, batch, iters);
    sp_count c;
    sp_graph_count(g, &c, NULL);
    printf("sp %s %s %.2f %ld %lld %lld %ld\n", argv[1], argv[2], (double)batch * iters / secs,
           max_rss_kb(), (long long)c.macs, (long long)c.params, base);
    sp_exec_free(e);
    free(z);
    free(x);
    free(y);
    sp_model_free(m);
    sp_backend_destroy(b);
    return 0;
}
