/* augment.c: one training or evaluation sample, from a dataset record to
 * normalised float CHW, with its randomness drawn from (seed, epoch, index).
 *
 * The pixel work happens on u8 HWC images (decode, crop, resize), the
 * float conversion last, where the flip and the normalisation are folded
 * into one pass. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sp/base.h"
#include "sp/rng.h"
#include "augment_priv.h"

static const char *const names[] = {"none", "cifar", "imagenet"};

int sp_augment_parse(const char *s, sp_augment *a)
{
    for (int i = 0; i < (int)SP_COUNT(names); i++)
        if (strcmp(s, names[i]) == 0) {
            *a = (sp_augment)i;
            return 0;
        }
    return -1;
}

const char *sp_augment_name(sp_augment a)
{
    return (int)a >= 0 && (int)a < (int)SP_COUNT(names) ? names[a] : "?";
}

void sp_augment_state_free(sp_augment_state *s)
{
    sp_image_free(&s->img);
    free(s->crop);
    free(s->tmp);
    memset(s, 0, sizeof *s);
}

static uint8_t *grow(uint8_t **p, size_t *cap, size_t n)
{
    if (*cap < n) {
        *p = sp_xrealloc(*p, n);
        *cap = n;
    }
    return *p;
}

/* torchvision's RandomResizedCrop window: ten tries at a random area and
 * aspect ratio, then the whole image clamped to the ratio range. */
static void rrc_window(sp_rng *r, int H, int W, int *y, int *x, int *h, int *w)
{
    double area = (double)H * W, lo = log(3.0 / 4.0), hi = log(4.0 / 3.0);
    for (int t = 0; t < 10; t++) {
        double target = area * (0.08 + 0.92 * sp_rng_uniform(r));
        double aspect = exp(lo + (hi - lo) * sp_rng_uniform(r));
        int cw = (int)lround(sqrt(target * aspect)), ch = (int)lround(sqrt(target / aspect));
        if (cw > 0 && cw <= W && ch > 0 && ch <= H) {
            *y = (int)sp_rng_below(r, (uint32_t)(H - ch + 1));
            *x = (int)sp_rng_below(r, (uint32_t)(W - cw + 1));
            *h = ch;
            *w = cw;
            return;
        }
    }
    double ratio = (double)W / H;
    if (ratio < 3.0 / 4.0) {
        *w = W;
        *h = (int)lround(W / (3.0 / 4.0));
    } else if (ratio > 4.0 / 3.0) {
        *h = H;
        *w = (int)lround(H * (4.0 / 3.0));
    } else {
        *w = W;
        *h = H;
    }
    if (*h > H) *h = H;
    if (*w > W) *w = W;
    *y = (H - *h) / 2;
    *x = (W - *w) / 2;
}

/* The crop (h x w x c) without randomness: the record itself when it has
 * the input size, else the evaluation resize and centre crop. */
static const uint8_t *centre(sp_augment_state *s, const sp_image *im, const sp_loader_opts *o,
                             int jpeg)
{
    int c = o->c, h = o->h, w = o->w;
    if (im->h == h && im->w == w)
        return im->data;
    uint8_t *out = grow(&s->crop, &s->crop_cap, (size_t)h * w * c);
    if (!jpeg) {
        sp_image_fit(im->data, im->h, im->w, c, out, h, w, SP_RESIZE_SHORTER, &s->tmp, &s->tmp_cap);
        return out;
    }
    /* shorter side to size*256/224, then the centre: two nested centre crops */
    int rh = (h * 256 + 112) / 224, rw = (w * 256 + 112) / 224;
    size_t mid = (size_t)rh * rw * c;
    uint8_t *big = sp_xmalloc(mid);
    sp_image_fit(im->data, im->h, im->w, c, big, rh, rw, SP_RESIZE_SHORTER, &s->tmp, &s->tmp_cap);
    int y0 = (rh - h) / 2, x0 = (rw - w) / 2;
    for (int y = 0; y < h; y++)
        memcpy(out + (size_t)y * w * c, big + ((size_t)(y + y0) * rw + x0) * c, (size_t)w * c);
    free(big);
    return out;
}

static const uint8_t *pad_crop(sp_augment_state *s, const uint8_t *src, int H, int W,
                               const sp_loader_opts *o, sp_rng *r)
{
    const int pad = 4;
    int c = o->c, h = o->h, w = o->w;
    int oy = (int)sp_rng_below(r, (uint32_t)(H + 2 * pad - h + 1)) - pad;
    int ox = (int)sp_rng_below(r, (uint32_t)(W + 2 * pad - w + 1)) - pad;
    /* src may be s->crop itself: build the crop in tmp, then swap */
    uint8_t *out = grow(&s->tmp, &s->tmp_cap, (size_t)h * w * c);
    memset(out, 0, (size_t)h * w * c);
    for (int y = 0; y < h; y++) {
        int sy = y + oy;
        if (sy < 0 || sy >= H)
            continue;
        int x0 = ox < 0 ? -ox : 0, x1 = W - ox < w ? W - ox : w;
        if (x1 > x0)
            memcpy(out + ((size_t)y * w + x0) * c, src + ((size_t)sy * W + ox + x0) * c,
                   (size_t)(x1 - x0) * c);
    }
    uint8_t *t = s->crop;
    size_t tc = s->crop_cap;
    s->crop = s->tmp;
    s->crop_cap = s->tmp_cap;
    s->tmp = t;
    s->tmp_cap = tc;
    return s->crop;
}

int sp_augment_into(sp_augment_state *s, const sp_dataset *d, int64_t index,
                    const sp_loader_opts *o, int epoch, float *out)
{
    int c = o->c, h = o->h, w = o->w;
    int jpeg = sp_data_encoding(d) == SP_DATA_JPEG;
    int train = o->augment != SP_AUG_NONE;
    int min_side = 0;
    if (!train && jpeg)
        min_side = (h < w ? h : w) * 256 / 224;
    if (sp_data_decode(d, index, min_side, &s->img) < 0)
        return -1;
    if (s->img.c != c)
        return sp_errorf("record %lld of '%s' has %d channel%s, the network takes %d",
                         (long long)index, sp_data_path(d), s->img.c, SP_PLURAL(s->img.c), c);
    sp_rng r;
    sp_rng_init(&r, o->seed, 0xA5000000000000ull ^ ((uint64_t)(epoch + 1) << 36) ^ (uint64_t)index);
    const uint8_t *px;
    int flip = 0;
    if (o->augment == SP_AUG_IMAGENET) {
        int y, x, ch, cw;
        rrc_window(&r, s->img.h, s->img.w, &y, &x, &ch, &cw);
        px = grow(&s->crop, &s->crop_cap, (size_t)h * w * c);
        sp_image_resize(s->img.data + ((size_t)y * s->img.w + x) * c, ch, cw,
                        (size_t)s->img.w * c, c, s->crop, h, w);
        flip = sp_rng_uniform(&r) < 0.5;
    } else if (o->augment == SP_AUG_CIFAR) {
        const uint8_t *src = s->img.data;
        int H = s->img.h, W = s->img.w;
        if (H < h || W < w) {
            src = centre(s, &s->img, o, jpeg);
            H = h;
            W = w;
        }
        px = pad_crop(s, src, H, W, o, &r);
        flip = sp_rng_uniform(&r) < 0.5;
    } else {
        px = centre(s, &s->img, o, jpeg);
    }
    for (int ch = 0; ch < c; ch++) {
        float scale = 1.0f / (255.0f * o->std[ch]), shift = o->mean[ch] / o->std[ch];
        float *dst = out + (size_t)ch * h * w;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                int sx = flip ? w - 1 - x : x;
                dst[y * w + x] = px[((size_t)y * w + sx) * c + ch] * scale - shift;
            }
    }
    return 0;
}

int sp_augment_sample(const sp_dataset *d, int64_t index, const sp_loader_opts *o,
                      int epoch, float *out)
{
    sp_augment_state s;
    memset(&s, 0, sizeof s);
    int rc = sp_augment_into(&s, d, index, o, epoch, out);
    sp_augment_state_free(&s);
    return rc;
}
