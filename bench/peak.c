/* peak.c: this machine's float32 peak, measured: every OpenMP thread runs
 * independent chains of multiply-adds in registers, with no memory
 * traffic, on each vector width the CPU has (AVX-512, AVX with FMA, SSE);
 * the best is the peak.  bench/speed.sh divides the networks' achieved
 * GFLOP/s by it.
 *
 * Usage: peak [SECONDS]      (default 0.3 per trial, best of 5 trials)
 * Prints: "peak GFLOPS ISA" (a multiply-add counts as 2 FLOPs). */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define INNER 4096    /* multiply-add rounds per call */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* NAME(seed): INNER rounds of a = a * m + c on CHAINS independent vectors
 * of BYTES, more chains than FMA latency x FMA ports on current cores and
 * few enough to stay in the ISA's registers (32 zmm, 16 ymm or xmm).
 * Returns a value that depends on every chain, so none is optimised away. */
#define CHAINS(NAME, TARGET, BYTES, CHAINS)                                          \
    typedef float NAME##_v __attribute__((vector_size(BYTES)));                     \
    __attribute__((target(TARGET), noinline)) static float NAME(float seed)          \
    {                                                                                \
        NAME##_v a[CHAINS], m = (NAME##_v){0} + 0.999f, c = (NAME##_v){0} + 0.001f; \
        for (int j = 0; j < CHAINS; j++)                                             \
            a[j] = (NAME##_v){0} + seed + (float)j;                                  \
        for (int i = 0; i < INNER; i++) {                                            \
            _Pragma("GCC unroll 16")                                                 \
            for (int j = 0; j < CHAINS; j++)                                         \
                a[j] = a[j] * m + c;                                                 \
        }                                                                            \
        float s = 0;                                                                 \
        for (int j = 0; j < CHAINS; j++)                                             \
            s += a[j][0];                                                            \
        return s;                                                                    \
    }

CHAINS(chains512, "avx512f", 64, 16)
CHAINS(chains256, "avx,fma", 32, 12)
CHAINS(chains128, "sse2", 16, 12)

typedef struct isa {
    const char *name;
    float (*fn)(float);
    int floats, chains;
} isa;

static const isa isas[] = {
    {"avx512f", chains512, 16, 16},
    {"avx/fma", chains256, 8, 12},
    {"sse", chains128, 4, 12},
};

/* GFLOP/s of all threads running fn for secs; best of 5 trials. */
static double measure(const isa *k, double secs, volatile float *sink)
{
    double best = 0;
    for (int trial = 0; trial < 5; trial++) {
        long calls = 0;
        double t0 = now();
#pragma omp parallel reduction(+ : calls)
        {
            float s = 0;
            /* every thread stops on the same clock, so none idles */
            while (now() - t0 < secs) {
                s += k->fn((float)omp_get_thread_num());
                calls++;
            }
#pragma omp atomic
            *sink += s;
        }
        double flops = 2.0 * k->floats * k->chains * INNER * (double)calls;
        if (flops / (now() - t0) > best)
            best = flops / (now() - t0);
    }
    return best * 1e-9;
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 0.3, best = 0;
    const char *which = "";
    volatile float sink = 0;
    __builtin_cpu_init();
    int has[] = {__builtin_cpu_supports("avx512f"), __builtin_cpu_supports("fma"), 1};
    for (size_t i = 0; i < sizeof isas / sizeof *isas; i++) {
        if (!has[i])
            continue;
        double g = measure(&isas[i], secs, &sink);
        if (g > best) {
            best = g;
            which = isas[i].name;
        }
    }
    printf("peak %.1f %s\n", best, which);
    return sink != sink;   /* never NaN; keeps the work observable */
}
