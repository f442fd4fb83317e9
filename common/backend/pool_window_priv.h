/* pool_window_priv.h: which inputs each pooled output reads, and what it divides
 * by, for max, average (count_include_pad, floor mode) and adaptive average
 * pooling.  The reference and CPU backends both take their windows from
 * here, so they cannot disagree on a bound or a divisor.
 *
 * A window is a span of rows times a span of columns.  A span reads the
 * inputs [lo, hi), always inside the plane; len is its extent counting
 * padding, the factor of the average's divisor (unused for max pooling). */
#ifndef SP_POOL_WINDOW_H
#define SP_POOL_WINDOW_H

#include <stddef.h>
#include <stdint.h>
#include "sp/backend.h"

/* Also compiled for the GPU (common/backend/cuda). */
#ifdef __CUDACC__
#define SP_PW_HD __host__ __device__
#else
#define SP_PW_HD
#endif

typedef enum sp_pool_kind { SP_POOL_MAX, SP_POOL_AVG, SP_POOL_ADAPTIVE } sp_pool_kind;

typedef struct sp_pool_span {
    int lo, hi;  /* inputs read: [lo, hi) */
    int len;     /* divisor factor, padding included */
} sp_pool_span;

SP_PW_HD static inline int sp_pool_imin(int a, int b) { return a < b ? a : b; }
SP_PW_HD static inline int sp_pool_imax(int a, int b) { return a > b ? a : b; }

/* The span of output o along an axis of in inputs and out outputs.
 * Adaptive: [floor(o*in/out), ceil((o+1)*in/out)).  Average: the kernel
 * may hang over the padding but not beyond it, and the padding counts.
 * Max: padding is never read. */
SP_PW_HD static inline sp_pool_span sp_pool_span_at(sp_pool_kind kind, int o, int in, int out, int k,
                                           int stride, int pad)
{
    if (kind == SP_POOL_ADAPTIVE) {
        int lo = (int)((int64_t)o * in / out);
        int hi = (int)(((int64_t)(o + 1) * in + out - 1) / out);
        sp_pool_span a = {lo, hi, hi - lo};
        return a;
    }
    int lo = o * stride - pad;
    int hi = kind == SP_POOL_MAX ? lo + k : sp_pool_imin(lo + k, in + pad);
    sp_pool_span s = {sp_pool_imax(lo, 0), sp_pool_imin(hi, in), hi - lo};
    return s;
}

SP_PW_HD static inline sp_pool_span sp_pool_rows(const sp_pool_shape *s, sp_pool_kind kind, int oy)
{
    return sp_pool_span_at(kind, oy, s->h, s->oh, s->kh, s->sh, s->ph);
}

SP_PW_HD static inline sp_pool_span sp_pool_cols(const sp_pool_shape *s, sp_pool_kind kind, int ox)
{
    return sp_pool_span_at(kind, ox, s->w, s->ow, s->kw, s->sw, s->pw);
}

/* Max pooling's rule for the next value v of a window against the maximum
 * m so far: taken when larger, or when a NaN meets a number, so that the
 * first maximum in scan order wins and the first NaN is kept. */
SP_PW_HD static inline int sp_pool_max_takes(float v, float m)
{
    return (v > m) | ((v != v) & (m == m));
}

/* Max pooling's workspace: one int32 plane offset per output. */
static inline size_t sp_pool_argmax_bytes(const sp_pool_shape *s)
{
    return (size_t)s->n * s->c * s->oh * s->ow * sizeof(int32_t);
}

#endif
