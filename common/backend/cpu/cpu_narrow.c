/* cpu_narrow.c: channels-last inference convolution with at most 8
 * output channels, on AVX-512 (conv_fwd_nhwc's first choice there).
 *
 * oneDNN's AVX-512 kernels put 16 output channels in a vector, so a
 * convolution pruned to 8 outputs costs as much as one with 16 (and its
 * AVX2 kernels, 8 wide, are slower still: bench/conv_layouts).  Here a
 * vector holds the 8 outputs for two input channels, lane 2k + j
 * accumulating output k over the input channels of parity j: each FMA
 * takes one 64-bit broadcast of an input pixel's channel pair, the
 * weights for that pair are one contiguous vector, and no lane is idle.
 * The two halves are added at the end, then the bias, the previous
 * contents (a residual sum) and the activation, as oneDNN's post-ops.
 *
 * Each block of output rows reads its input rows through one copy padded
 * with zeros (and to an even channel count), so the inner loops test no
 * bounds.  Every output is computed the same way whatever the threads.
 * Used only when oneDNN itself runs AVX-512 (ONEDNN_MAX_CPU_ISA and the
 * CPU agree), so that the choice depends on the CPU and the shape alone. */
#include <dnnl.h>
#include <immintrin.h>
#include <stdlib.h>
#include <string.h>
#include "sp/base.h"
#include "cpu_priv.h"

#define NARROW_K 8       /* output channels in half a vector */
#define NARROW_P 16      /* output pixels in registers at once */
#define NARROW_ROWS 16   /* output rows sharing one copy of their input */

#define TARGET __attribute__((target("avx512f,avx512vl,avx512dq,avx512bw")))

/* One call's shape, packed weights and post-ops. */
typedef struct narrow_job {
    const sp_conv_shape *s;
    const float *wp;         /* [kh][kw][c/2][16] */
    const float *bias;       /* 8, zero-padded */
    int cp, wpad;            /* channels (even), pixels per padded row */
    int act, sum;
} narrow_job;

/* The two halves of each accumulator added, then the bias, the previous
 * contents (sum) and the activation: K floats a pixel. */
static inline __attribute__((always_inline)) TARGET void
narrow_store(float *out /* P,K */, const __m512 *acc, const narrow_job *j, int P)
{
    const sp_conv_shape *s = j->s;
    const __m512i pick = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15);
    __m256 bias = _mm256_loadu_ps(j->bias), zero = _mm256_setzero_ps();
    __m256 six = _mm256_set1_ps(6.0f);
    __mmask8 m = (__mmask8)((1u << s->k) - 1);
    #pragma GCC unroll 16
    for (int p = 0; p < P; p++) {
        __m512 t = _mm512_permutexvar_ps(pick, acc[p]);
        __m256 y = _mm256_add_ps(_mm512_castps512_ps256(t),
                                 _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(t), 1)));
        float *o = out + (size_t)p * s->k;
        y = _mm256_add_ps(y, bias);
        if (j->sum)
            y = _mm256_add_ps(y, _mm256_maskz_loadu_ps(m, o));
        if (j->act >= 0)
            y = _mm256_max_ps(y, zero);
        if (j->act == SP_ACT_RELU6)
            y = _mm256_min_ps(y, six);
        _mm256_mask_storeu_ps(o, m, y);
    }
}

/* P output pixels starting at out: the padded rows kh0..kh1-1 are in buf. */
static inline __attribute__((always_inline)) TARGET void
narrow_block(float *out /* P,K */, const float *buf, const narrow_job *j, int kh0, int kh1,
             int P)
{
    const sp_conv_shape *s = j->s;
    int np = j->cp / 2;
    size_t pstep = (size_t)s->sw * j->cp, row = (size_t)j->wpad * j->cp;
    __m512 acc[NARROW_P];
    #pragma GCC unroll 16
    for (int p = 0; p < P; p++)
        acc[p] = _mm512_setzero_ps();
    for (int kh = kh0; kh < kh1; kh++)
        for (int kw = 0; kw < s->kw; kw++) {
            const float *x = buf + kh * row + (size_t)kw * j->cp;
            const float *w = j->wp + ((size_t)kh * s->kw + kw) * np * 16;
            for (int c = 0; c < np; c++, x += 2, w += 16) {
                __m512 wv = _mm512_loadu_ps(w);
                #pragma GCC unroll 16
                for (int p = 0; p < P; p++) {
                    double d;
                    memcpy(&d, x + p * pstep, sizeof d);
                    acc[p] = _mm512_fmadd_ps(_mm512_castpd_ps(_mm512_set1_pd(d)), wv, acc[p]);
                }
            }
        }
    narrow_store(out, acc, j, P);
}

/* The same for stride 1 and 3 columns: each input pixel's broadcast
 * serves the (up to) three outputs that read it, with the three columns'
 * weights in registers, a third of the loads of narrow_block. */
static inline __attribute__((always_inline)) TARGET void
narrow_block3(float *out /* P,K */, const float *buf, const narrow_job *j, int kh0, int kh1,
              int P)
{
    int np = j->cp / 2;
    size_t row = (size_t)j->wpad * j->cp;
    __m512 acc[NARROW_P];
    #pragma GCC unroll 16
    for (int p = 0; p < P; p++)
        acc[p] = _mm512_setzero_ps();
    for (int kh = kh0; kh < kh1; kh++) {
        const float *x = buf + kh * row;
        const float *w = j->wp + (size_t)kh * 3 * np * 16;
        for (int c = 0; c < np; c++, x += 2, w += 16) {
            __m512 w0 = _mm512_loadu_ps(w), w1 = _mm512_loadu_ps(w + (size_t)np * 16);
            __m512 w2 = _mm512_loadu_ps(w + (size_t)2 * np * 16);
            #pragma GCC unroll 18
            for (int q = 0; q < P + 2; q++) {
                double d;
                memcpy(&d, x + (size_t)q * j->cp, sizeof d);
                __m512 v = _mm512_castpd_ps(_mm512_set1_pd(d));
                if (q < P)
                    acc[q] = _mm512_fmadd_ps(v, w0, acc[q]);
                if (q >= 1 && q - 1 < P)
                    acc[q - 1] = _mm512_fmadd_ps(v, w1, acc[q - 1]);
                if (q >= 2)
                    acc[q - 2] = _mm512_fmadd_ps(v, w2, acc[q - 2]);
            }
        }
    }
    narrow_store(out, acc, j, P);
}

/* A block of constant width, so that the accumulators stay in registers. */
#define BLOCK(P)                                        \
    case P:                                             \
        if (j->s->sw == 1 && j->s->kw == 3)             \
            narrow_block3(out, buf, j, kh0, kh1, P);    \
        else                                            \
            narrow_block(out, buf, j, kh0, kh1, P);     \
        break

static TARGET void narrow_pixels(float *out, const float *buf, const narrow_job *j, int kh0,
                                 int kh1, int P)
{
    switch (P) {
    BLOCK(1); BLOCK(2); BLOCK(3); BLOCK(4); BLOCK(5); BLOCK(6); BLOCK(7); BLOCK(8);
    BLOCK(9); BLOCK(10); BLOCK(11); BLOCK(12); BLOCK(13); BLOCK(14); BLOCK(15); BLOCK(16);
    default: break;
    }
}

/* The input rows that output rows oy0..oy1-1 of image n read, copied
 * into buf with the padding: row r of buf is input row oy0 * sh - ph + r. */
static void narrow_copy(float *buf, const float *in, const narrow_job *j, int n, int oy0,
                        int oy1)
{
    const sp_conv_shape *s = j->s;
    int rows = (oy1 - oy0 - 1) * s->sh + s->kh;
    size_t row = (size_t)j->wpad * j->cp;
    for (int r = 0; r < rows; r++) {
        int y = oy0 * s->sh - s->ph + r;
        float *dst = buf + r * row;
        if (y < 0 || y >= s->h) {
            memset(dst, 0, row * sizeof *dst);
            continue;
        }
        const float *src = in + (((size_t)n * s->h + y) * s->w) * s->c;
        int x0 = s->pw < j->wpad ? s->pw : j->wpad;
        int x1 = s->pw + s->w < j->wpad ? s->pw + s->w : j->wpad;
        memset(dst, 0, (size_t)x0 * j->cp * sizeof *dst);
        if (j->cp == s->c) {
            memcpy(dst + (size_t)x0 * j->cp, src, (size_t)(x1 - x0) * s->c * sizeof *dst);
        } else {
            for (int x = x0; x < x1; x++) {
                memcpy(dst + (size_t)x * j->cp, src + (size_t)(x - s->pw) * s->c,
                       (size_t)s->c * sizeof *dst);
                dst[(size_t)x * j->cp + s->c] = 0.0f;
            }
        }
        memset(dst + (size_t)x1 * j->cp, 0, (size_t)(j->wpad - x1) * j->cp * sizeof *dst);
    }
}

/* Output rows oy0..oy1-1 of image n: their input rows copied into buf,
 * then each row in blocks of at most NARROW_P pixels, as even as the
 * width allows. */
static TARGET void narrow_rows(float *out, const float *in, float *buf, const narrow_job *j,
                               int n, int oy0, int oy1)
{
    const sp_conv_shape *s = j->s;
    size_t row = (size_t)j->wpad * j->cp;
    int nb = (s->ow + NARROW_P - 1) / NARROW_P;
    narrow_copy(buf, in, j, n, oy0, oy1);
    for (int oy = oy0; oy < oy1; oy++) {
        int kh0 = 0, kh1 = s->kh;
        while (kh0 < kh1 && oy * s->sh + kh0 - s->ph < 0)
            kh0++;
        while (kh1 > kh0 && oy * s->sh + kh1 - 1 - s->ph >= s->h)
            kh1--;
        const float *rows = buf + (size_t)(oy - oy0) * s->sh * row;
        float *o = out + (((size_t)n * s->oh + oy) * s->ow) * s->k;
        for (int b = 0, ox = 0; b < nb; b++) {
            int P = (s->ow - ox + (nb - b) - 1) / (nb - b);
            narrow_pixels(o + (size_t)ox * s->k, rows + (size_t)ox * s->sw * j->cp, j, kh0,
                          kh1, P);
            ox += P;
        }
    }
}

int sp_cpu_conv_narrow_fits(const sp_conv_shape *s, int flags)
{
    static int avx512 = -1;
    if (avx512 < 0) {
        unsigned want = dnnl_cpu_isa_avx512_core;
        avx512 = ((unsigned)dnnl_get_effective_cpu_isa() & want) == want &&
                 __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
                 __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw");
    }
    return avx512 && s->k <= NARROW_K && s->groups == 1 && !(flags & SP_NHWC_IN_NCHW);
}

void sp_cpu_conv_narrow(sp_backend *b, float *out /* N,OH,OW,K */,
                        const float *in /* N,H,W,C */, const float *w /* K,C,KH,KW */,
                        const float *bias /* K or NULL */, const sp_conv_shape *s, int act,
                        int flags)
{
    narrow_job j = {s, NULL, NULL, (s->c + 1) & ~1, (s->ow - 1) * s->sw + s->kw, act,
                    !!(flags & SP_NHWC_SUM)};
    int np = j.cp / 2, taps = s->kh * s->kw;
    float *wp = sp_xcalloc((size_t)taps * np * 16 + NARROW_K, sizeof *wp);
    float *bp = wp + (size_t)taps * np * 16;
    for (int k = 0; k < s->k; k++) {
        bp[k] = bias ? bias[k] : 0.0f;
        for (int c = 0; c < s->c; c++)
            for (int t = 0; t < taps; t++)
                wp[((size_t)t * np + c / 2) * 16 + 2 * k + (c & 1)] =
                    w[((size_t)k * s->c + c) * taps + t];
    }
    j.wp = wp;
    j.bias = bp;
    /* blocks of NARROW_ROWS output rows: their input rows are copied
     * once, not once per kernel row */
    int per = (s->oh + NARROW_ROWS - 1) / NARROW_ROWS;
    size_t blocks = (size_t)s->n * per;
    size_t bufn = (size_t)((NARROW_ROWS - 1) * s->sh + s->kh) * j.wpad * j.cp;
    (void)b;
    #pragma omp parallel if (blocks * NARROW_ROWS * s->ow * s->c * taps * 8 >= SP_CPU_PAR_MIN)
    {
        float *buf = sp_xmalloc(bufn * sizeof *buf);
        #pragma omp for schedule(static)
        for (size_t r = 0; r < blocks; r++) {
            int oy0 = (int)(r % (size_t)per) * NARROW_ROWS;
            int oy1 = oy0 + NARROW_ROWS < s->oh ? oy0 + NARROW_ROWS : s->oh;
            narrow_rows(out, in, buf, &j, (int)(r / (size_t)per), oy0, oy1);
        }
        free(buf);
    }
    free(wp);
}
