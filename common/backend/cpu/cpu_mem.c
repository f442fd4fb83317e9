/* cpu_mem.c: the CPU backend's memory operations.  Device memory is host
 * memory aligned to a cache line (oneDNN and the vector loops like it), so
 * free, transfers and sync are the reference backend's (cpu_backend.c); the
 * loops here are split across OpenMP threads only when large enough to pay
 * for the fork. */
#include <stdio.h>
#include <stdlib.h>
#include "sp/base.h"
#include "cpu_priv.h"

#define SP_CPU_ALIGN 64

void *sp_cpu_alloc(sp_backend *b, size_t bytes)
{
    (void)b;
    size_t n = (bytes + SP_CPU_ALIGN - 1) / SP_CPU_ALIGN * SP_CPU_ALIGN;
    void *p = aligned_alloc(SP_CPU_ALIGN, n ? n : SP_CPU_ALIGN);
    if (!p)
        sp_oom(bytes);
    return p;
}

void sp_cpu_fill(sp_backend *b, float *dst, float value, size_t n)
{
    (void)b;
    #pragma omp parallel for simd if (n >= SP_CPU_PAR_MIN) schedule(static)
    for (size_t i = 0; i < n; i++)
        dst[i] = value;
}

void sp_cpu_accumulate(sp_backend *b, float *dst, const float *src, size_t n)
{
    (void)b;
    #pragma omp parallel for simd if (n >= SP_CPU_PAR_MIN) schedule(static)
    for (size_t i = 0; i < n; i++)
        dst[i] += src[i];
}

void sp_cpu_scale(sp_backend *b, float *x, float alpha, size_t n)
{
    (void)b;
    #pragma omp parallel for simd if (n >= SP_CPU_PAR_MIN) schedule(static)
    for (size_t i = 0; i < n; i++)
        x[i] *= alpha;
}
