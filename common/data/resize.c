/* pack_resize.c: separable image resampling in plain C.
 *
 * The kernel is the triangle (bilinear) filter stretched by the shrink
 * factor, so that shrinking averages every source pixel under an output
 * pixel instead of sampling a few (no aliasing); enlarging is ordinary
 * bilinear interpolation.  Weights are fixed point (22 fractional bits),
 * rows are filtered horizontally first, then columns, with the
 * intermediate rounded to u8 as most image libraries do. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "sp/base.h"
#include "sp/image.h"

#define PREC 22

struct kernel {
    int *first, *n;     /* per output pixel: first source pixel, tap count */
    int32_t *w;         /* taps, `taps` per output pixel */
    int taps;
};

static double triangle(double x)
{
    x = fabs(x);
    return x < 1.0 ? 1.0 - x : 0.0;
}

static void kernel_make(struct kernel *k, int in, int out)
{
    double scale = (double)in / out, fs = scale > 1.0 ? scale : 1.0;
    k->taps = (int)ceil(fs) * 2 + 1;
    k->first = sp_xmalloc(sizeof(int) * (size_t)out);
    k->n = sp_xmalloc(sizeof(int) * (size_t)out);
    k->w = sp_xcalloc((size_t)out * (size_t)k->taps, sizeof(int32_t));
    double *tmp = sp_xmalloc(sizeof(double) * (size_t)k->taps);
    for (int i = 0; i < out; i++) {
        double centre = (i + 0.5) * scale;
        int lo = (int)floor(centre - fs + 0.5), hi = (int)floor(centre + fs + 0.5);
        if (lo < 0)
            lo = 0;
        if (hi > in)
            hi = in;
        if (hi - lo > k->taps)
            hi = lo + k->taps;
        double sum = 0;
        for (int x = lo; x < hi; x++)
            sum += tmp[x - lo] = triangle((x + 0.5 - centre) / fs);
        if (sum <= 0) {           /* enlarging exactly onto a pixel edge */
            tmp[0] = sum = 1;
            hi = lo + 1;
        }
        k->first[i] = lo;
        k->n[i] = hi - lo;
        for (int x = 0; x < hi - lo; x++)
            k->w[(size_t)i * k->taps + x] = (int32_t)lrint(tmp[x] / sum * (1 << PREC));
    }
    free(tmp);
}

static void kernel_free(struct kernel *k)
{
    free(k->first);
    free(k->n);
    free(k->w);
}

static uint8_t clip8(int32_t v)
{
    v >>= PREC;
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

/* Output columns x0 .. x0+dw-1 of the horizontal pass, for the source rows
 * y0 .. y0+h-1.  Accumulators fit in 32 bits: the weights of one pixel sum
 * to 1 << PREC and are not negative. */
static void pass_rows(const uint8_t *src, int y0, int h, size_t stride, int c, uint8_t *dst,
                      int x0, int dw, const struct kernel *k)
{
    for (int y = 0; y < h; y++) {
        const uint8_t *s = src + (size_t)(y0 + y) * stride;
        uint8_t *d = dst + (size_t)y * dw * c;
        for (int x = 0; x < dw; x++) {
            const int32_t *w = k->w + (size_t)(x0 + x) * k->taps;
            const uint8_t *p = s + (size_t)k->first[x0 + x] * c;
            int n = k->n[x0 + x];
            if (c == 3) {
                int32_t a0 = 1 << (PREC - 1), a1 = a0, a2 = a0;
                for (int t = 0; t < n; t++, p += 3) {
                    a0 += w[t] * p[0];
                    a1 += w[t] * p[1];
                    a2 += w[t] * p[2];
                }
                d[3 * x] = clip8(a0);
                d[3 * x + 1] = clip8(a1);
                d[3 * x + 2] = clip8(a2);
            } else {
                for (int ch = 0; ch < c; ch++) {
                    int32_t a = 1 << (PREC - 1);
                    for (int t = 0; t < n; t++)
                        a += w[t] * p[t * c + ch];
                    d[x * c + ch] = clip8(a);
                }
            }
        }
    }
}

/* Output rows y0 .. y0+dh-1 of the vertical pass, `row` bytes wide; src
 * row 0 (rows `stride` bytes apart) is source row `base`. */
static void pass_cols(const uint8_t *src, int base, size_t stride, size_t row, uint8_t *dst,
                      int y0, int dh, const struct kernel *k)
{
    int32_t *acc = sp_xmalloc(sizeof(int32_t) * row);
    for (int y = 0; y < dh; y++) {
        const int32_t *wt = k->w + (size_t)(y0 + y) * k->taps;
        const uint8_t *s = src + (size_t)(k->first[y0 + y] - base) * stride;
        for (size_t x = 0; x < row; x++)
            acc[x] = 1 << (PREC - 1);
        for (int t = 0; t < k->n[y0 + y]; t++) {
            const uint8_t *sr = s + (size_t)t * stride;
            int32_t w = wt[t];
            for (size_t x = 0; x < row; x++)
                acc[x] += w * sr[x];
        }
        uint8_t *d = dst + (size_t)y * row;
        for (size_t x = 0; x < row; x++)
            d[x] = clip8(acc[x]);
    }
    free(acc);
}

/* The window (top, left, dh, dw) of src resampled to rh x rw: only the
 * pixels kept are computed, so a centre crop costs nothing extra. */
static void resize_window(const uint8_t *src, int sh, int sw, size_t stride, int c, uint8_t *dst,
                          int rh, int rw, int top, int left, int dh, int dw)
{
    struct kernel kx, ky;
    kernel_make(&kx, sw, rw);
    kernel_make(&ky, sh, rh);
    int y_lo = ky.first[top], y_hi = ky.first[top + dh - 1] + ky.n[top + dh - 1];
    size_t row = (size_t)dw * c;
    if (sw == rw) {               /* no horizontal pass needed */
        pass_cols(src + (size_t)left * c, 0, stride, row, dst, top, dh, &ky);
    } else {
        uint8_t *mid = sp_xmalloc((size_t)(y_hi - y_lo) * row);
        pass_rows(src, y_lo, y_hi - y_lo, stride, c, mid, left, dw, &kx);
        if (sh == rh)             /* no vertical pass needed */
            memcpy(dst, mid + (size_t)(top - y_lo) * row, (size_t)dh * row);
        else
            pass_cols(mid, y_lo, row, row, dst, top, dh, &ky);
        free(mid);
    }
    kernel_free(&kx);
    kernel_free(&ky);
}

void sp_image_resize(const uint8_t *src, int sh, int sw, size_t src_stride, int c,
                     uint8_t *dst, int dh, int dw)
{
    if (sh == dh && sw == dw) {
        for (int y = 0; y < dh; y++)
            memcpy(dst + (size_t)y * dw * c, src + (size_t)y * src_stride, (size_t)dw * c);
        return;
    }
    resize_window(src, sh, sw, src_stride, c, dst, dh, dw, 0, 0, dh, dw);
}

void sp_image_fit(const uint8_t *src, int sh, int sw, int c, uint8_t *dst, int dh, int dw,
                  int mode, uint8_t **tmp, size_t *tmp_cap)
{
    (void)tmp;
    (void)tmp_cap;
    if (mode == SP_RESIZE_EXACT) {
        sp_image_resize(src, sh, sw, (size_t)sw * c, c, dst, dh, dw);
        return;
    }
    double s = fmax((double)dh / sh, (double)dw / sw);
    int rh = (int)lrint(sh * s), rw = (int)lrint(sw * s);
    if (rh < dh)
        rh = dh;
    if (rw < dw)
        rw = dw;
    if (rh == sh && rw == sw) {
        sp_image_resize(src + ((size_t)((rh - dh) / 2) * sw + (size_t)(rw - dw) / 2) * c, dh, dw,
                        (size_t)sw * c, c, dst, dh, dw);
        return;
    }
    resize_window(src, sh, sw, (size_t)sw * c, c, dst, rh, rw, (rh - dh) / 2, (rw - dw) / 2, dh, dw);
}
