/* ref_mem.c: the reference backend's memory operations.  Device memory is
 * host memory, so transfers are plain copies and sync has nothing to wait
 * for.  accumulate adds into dst (+=); everything else overwrites. */
#include <stdlib.h>
#include <string.h>
#include "sp/base.h"
#include "ref_priv.h"

void *sp_ref_alloc(sp_backend *b, size_t bytes)
{
    (void)b;
    return sp_xmalloc(bytes);
}

void sp_ref_free(sp_backend *b, void *p)
{
    (void)b;
    free(p);
}

void sp_ref_upload(sp_backend *b, void *dst, const void *host, size_t bytes)
{
    (void)b;
    if (bytes)
        memmove(dst, host, bytes);
}

void sp_ref_download(sp_backend *b, void *host, const void *src, size_t bytes)
{
    (void)b;
    if (bytes)
        memmove(host, src, bytes);
}

void sp_ref_copy(sp_backend *b, void *dst, const void *src, size_t bytes)
{
    (void)b;
    if (bytes)
        memmove(dst, src, bytes);
}

void sp_ref_fill(sp_backend *b, float *dst /* n */, float value, size_t n)
{
    (void)b;
    for (size_t i = 0; i < n; i++)
        dst[i] = value;
}

void sp_ref_accumulate(sp_backend *b, float *dst /* n, += */, const float *src /* n */, size_t n)
{
    (void)b;
    for (size_t i = 0; i < n; i++)
        dst[i] += src[i];
}

void sp_ref_scale(sp_backend *b, float *x /* n */, float alpha, size_t n)
{
    (void)b;
    for (size_t i = 0; i < n; i++)
        x[i] *= alpha;
}

void sp_ref_sync(sp_backend *b)
{
    (void)b;
}

void sp_ref_destroy(sp_backend *b)
{
    free(b);
}
