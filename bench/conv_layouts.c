/* conv_layouts.c: the time of one inference convolution (bias and ReLU
 * as post-ops) on oneDNN for each pair of source / destination layouts,
 * and the implementation oneDNN gives it.  It showed that on AVX-512 no
 * layout makes a convolution of 8 outputs cheaper than one of 16 (the
 * AVX2 kernels that blocked nChw8c gets are slower still), which is why
 * common/backend/cpu/cpu_narrow.c exists.
 *
 * Usage: [PAIRS=" nhwc/nhwc nChw8c/nChw8c "] conv_layouts N C H W K KSIZE STRIDE PAD [ITERS]
 * Prints one line per layout pair (all, or those PAIRS lists): "SRC DST
 * MS_PER_CALL IMPL", the best of ITERS calls (default 20) after two
 * untimed ones; with SP_BENCH_CLOCK=cpu the process's CPU time instead of
 * wall time.  A pair oneDNN serves only with its reference loops is named
 * and not timed (they take seconds).  The weights are in the layout
 * oneDNN asks for, as sp's plans reorder them outside the timed call. */
#include <dnnl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "clock.h"

typedef struct layout { const char *name; dnnl_format_tag_t tag; } layout;

static const layout layouts[] = {
    {"nchw", dnnl_nchw}, {"nhwc", dnnl_nhwc}, {"nChw8c", dnnl_nChw8c},
    {"nChw16c", dnnl_nChw16c}, {"any", dnnl_format_tag_any},
};

#define CHECK(x) do { if ((x) != dnnl_success) return -1.0; } while (0)

static dnnl_memory_t mem(dnnl_engine_t eng, const dnnl_memory_desc_t *md)
{
    dnnl_memory_t m = NULL;
    void *p = calloc(1, dnnl_memory_desc_get_size(md) + 64);
    if (dnnl_memory_create(&m, md, eng, p) != dnnl_success)
        return NULL;
    return m;
}

static double run(dnnl_engine_t eng, dnnl_stream_t st, const int *v, dnnl_format_tag_t ts,
                  dnnl_format_tag_t td, int iters, const char **impl)
{
    int n = v[0], c = v[1], h = v[2], w = v[3], k = v[4], ks = v[5], s = v[6], p = v[7];
    int oh = (h + 2 * p - ks) / s + 1, ow = (w + 2 * p - ks) / s + 1;
    dnnl_dims_t sd = {n, c, h, w}, dd = {n, k, oh, ow}, wd = {k, c, ks, ks}, bd = {k};
    dnnl_dims_t str = {s, s}, pl = {p, p};
    dnnl_dims_t pr = {(oh - 1) * s + ks - h - p, (ow - 1) * s + ks - w - p};
    dnnl_memory_desc_t smd, dmd, wmd, bmd;
    dnnl_convolution_desc_t d;
    dnnl_primitive_attr_t attr;
    dnnl_post_ops_t ops;
    dnnl_primitive_desc_t pd;
    dnnl_primitive_t prim;
    dnnl_memory_desc_init_by_tag(&smd, 4, sd, dnnl_f32, ts);
    dnnl_memory_desc_init_by_tag(&dmd, 4, dd, dnnl_f32, td);
    dnnl_memory_desc_init_by_tag(&wmd, 4, wd, dnnl_f32, dnnl_format_tag_any);
    dnnl_memory_desc_init_by_tag(&bmd, 1, bd, dnnl_f32, dnnl_x);
    CHECK(dnnl_convolution_forward_desc_init(&d, dnnl_forward_inference,
                                             dnnl_convolution_direct, &smd, &wmd, &bmd, &dmd,
                                             str, pl, pr));
    CHECK(dnnl_primitive_attr_create(&attr));
    CHECK(dnnl_post_ops_create(&ops));
    CHECK(dnnl_post_ops_append_eltwise(ops, 1.0f, dnnl_eltwise_relu, 0.0f, 0.0f));
    CHECK(dnnl_primitive_attr_set_post_ops(attr, ops));
    CHECK(dnnl_primitive_desc_create(&pd, &d, attr, eng, NULL));
    CHECK(dnnl_primitive_create(&prim, pd));
    dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, impl);
    if (!strncmp(*impl, "ref", 3))      /* far too slow to matter */
        return -2.0;
    dnnl_memory_t ms = mem(eng, dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0));
    dnnl_memory_t mw = mem(eng, dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0));
    dnnl_memory_t mb = mem(eng, &bmd);
    dnnl_memory_t md = mem(eng, dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0));
    dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, ms}, {DNNL_ARG_WEIGHTS, mw},
                               {DNNL_ARG_BIAS, mb}, {DNNL_ARG_DST, md}};
    double best = 1e30;
    for (int i = 0; i < iters + 2; i++) {
        double t = bench_now();
        dnnl_primitive_execute(prim, st, 4, args);
        dnnl_stream_wait(st);
        t = bench_now() - t;
        if (i >= 2 && t < best)
            best = t;
    }
    return best * 1e3;
}

int main(int argc, char **argv)
{
    int v[8];
    if (argc < 9) {
        fprintf(stderr, "usage: conv_layouts N C H W K KSIZE STRIDE PAD [ITERS]\n");
        return 2;
    }
    for (int i = 0; i < 8; i++)
        v[i] = atoi(argv[i + 1]);
    int iters = argc > 9 ? atoi(argv[9]) : 20;
    dnnl_engine_t eng;
    dnnl_stream_t st;
    if (dnnl_engine_create(&eng, dnnl_cpu, 0) != dnnl_success ||
        dnnl_stream_create(&st, eng, dnnl_stream_default_flags) != dnnl_success)
        return 1;
    const char *pairs = getenv("PAIRS");
    int nl = (int)(sizeof layouts / sizeof layouts[0]);
    for (int a = 0; a < nl; a++)
        for (int b = 0; b < nl; b++) {
            char pair[40];
            snprintf(pair, sizeof pair, " %s/%s ", layouts[a].name, layouts[b].name);
            if (pairs && !strstr(pairs, pair))
                continue;
            const char *impl = "?";
            double ms = run(eng, st, v, layouts[a].tag, layouts[b].tag, iters, &impl);
            fflush(stdout);
            if (ms >= 0)
                printf("%-8s %-8s %8.3f %s\n", layouts[a].name, layouts[b].name, ms, impl);
            else if (ms < -1.5)
                printf("%-8s %-8s untimed %s\n", layouts[a].name, layouts[b].name, impl);
            else
                printf("%-8s %-8s refused\n", layouts[a].name, layouts[b].name);
            fflush(stdout);
        }
    return 0;
}
