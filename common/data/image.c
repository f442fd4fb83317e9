/* pack_image.c: JPEG (libjpeg-turbo's TurboJPEG API, with DCT-domain
 * downscaling) and PNG (libpng's simplified API) decoding, JPEG encoding.
 * Each sp_image carries its own TurboJPEG handles, so threads that each own
 * an sp_image never share decoder state. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <png.h>
#include <turbojpeg.h>
#include "sp/base.h"
#include "sp/image.h"

struct codec {
    tjhandle dec, enc;
};

static struct codec *codec_of(sp_image *img)
{
    if (!img->codec)
        img->codec = sp_xcalloc(1, sizeof(struct codec));
    return img->codec;
}

void sp_image_free(sp_image *img)
{
    struct codec *k = img->codec;
    if (k) {
        if (k->dec)
            tjDestroy(k->dec);
        if (k->enc)
            tjDestroy(k->enc);
        free(k);
    }
    free(img->data);
    memset(img, 0, sizeof *img);
}

static void reserve(sp_image *img, size_t n)
{
    if (img->cap < n) {
        img->data = sp_xrealloc(img->data, n);
        img->cap = n;
    }
}

static int is_png(const uint8_t *buf, size_t len)
{
    return len >= 24 && memcmp(buf, "\x89PNG\r\n\x1a\n", 8) == 0;
}

static int is_jpeg(const uint8_t *buf, size_t len)
{
    return len >= 4 && buf[0] == 0xFF && buf[1] == 0xD8;
}

static tjhandle decoder(sp_image *img)
{
    struct codec *k = codec_of(img);
    if (!k->dec)
        k->dec = tjInitDecompress();
    return k->dec;
}

/* A declared size sp decodes: positive, and at most the pixel cap, which
 * is checked before anything is allocated for the pixels. */
static int check_size(const sp_image *img, const char *kind, uint64_t h, uint64_t w)
{
    uint64_t cap = img->max_pixels ? img->max_pixels : SP_IMAGE_MAX_PIXELS;
    if (h == 0 || w == 0 || h > INT32_MAX || w > INT32_MAX)
        return sp_errorf("corrupt %s header: impossible size %llux%llu", kind,
                         (unsigned long long)w, (unsigned long long)h);
    if (h * w > cap)
        return sp_errorf("%s of %llux%llu pixels is larger than the limit of %llu pixels",
                         kind, (unsigned long long)w, (unsigned long long)h,
                         (unsigned long long)cap);
    return 0;
}

int sp_image_probe(const uint8_t *buf, size_t len, int *h, int *w)
{
    *h = *w = 0;
    if (is_png(buf, len)) {
        *w = (int)((uint32_t)buf[16] << 24 | buf[17] << 16 | buf[18] << 8 | buf[19]);
        *h = (int)((uint32_t)buf[20] << 24 | buf[21] << 16 | buf[22] << 8 | buf[23]);
        return *w > 0 && *h > 0 ? 0 : sp_errorf("corrupt PNG header");
    }
    if (!is_jpeg(buf, len))
        return sp_errorf("not a JPEG or PNG image");
    tjhandle t = tjInitDecompress();
    if (!t)
        return sp_errorf("cannot start the JPEG decoder");
    int sub, cs, r = tjDecompressHeader3(t, buf, (unsigned long)len, w, h, &sub, &cs);
    if (r < 0)
        sp_errorf("corrupt JPEG header: %s", tjGetErrorStr2(t));
    else if (*w <= 0 || *h <= 0)   /* a truncated header may "succeed" without a size */
        r = sp_errorf("corrupt JPEG header: no image size");
    tjDestroy(t);
    return r < 0 ? -1 : 0;
}

/* The smallest DCT scale keeping the image >= min_h x min_w, among 1/2,
 * 1/4 and 1/8: libjpeg-turbo has SIMD code for these, while its other n/8
 * scales are plain C and slower than a full-size SIMD decode. */
static tjscalingfactor pick_scale(int h, int w, int min_h, int min_w)
{
    tjscalingfactor best = {1, 1};
    int n;
    tjscalingfactor *f = tjGetScalingFactors(&n);
    if (min_h <= 0 || min_w <= 0 || !f)
        return best;
    for (int i = 0; i < n; i++) {
        if (f[i].num != 1 || (f[i].denom != 2 && f[i].denom != 4 && f[i].denom != 8))
            continue;
        int sh = TJSCALED(h, f[i]), sw = TJSCALED(w, f[i]);
        if (sh >= min_h && sw >= min_w && sh < TJSCALED(h, best))
            best = f[i];
    }
    return best;
}

/* Adobe CMYK JPEGs store inverted ink values. */
static void cmyk_to_rgb(uint8_t *p, size_t npix)
{
    for (size_t i = 0; i < npix; i++) {
        unsigned k = p[4 * i + 3];
        p[3 * i + 0] = (uint8_t)((p[4 * i + 0] * k + 127) / 255);
        p[3 * i + 1] = (uint8_t)((p[4 * i + 1] * k + 127) / 255);
        p[3 * i + 2] = (uint8_t)((p[4 * i + 2] * k + 127) / 255);
    }
}

static void rgb_to_grey(uint8_t *p, size_t npix)
{
    for (size_t i = 0; i < npix; i++)   /* ITU-R 601-2 luma, as JPEG's Y */
        p[i] = (uint8_t)((299 * p[3 * i] + 587 * p[3 * i + 1] + 114 * p[3 * i + 2] + 500) / 1000);
}

/* After a failed decode a TurboJPEG handle may refuse the next image, so a
 * failure discards it. */
static int jpeg_failed(sp_image *img, const char *what)
{
    struct codec *k = img->codec;
    sp_errorf("corrupt JPEG: %s", what);
    tjDestroy(k->dec);
    k->dec = NULL;
    return -1;
}

static int decode_jpeg(sp_image *img, const uint8_t *buf, size_t len, int c, int min_h, int min_w)
{
    tjhandle t = decoder(img);
    int w = 0, h = 0, sub, cs;
    if (!t)
        return sp_errorf("cannot start the JPEG decoder");
    if (tjDecompressHeader3(t, buf, (unsigned long)len, &w, &h, &sub, &cs) < 0)
        return jpeg_failed(img, tjGetErrorStr2(t));
    if (w <= 0 || h <= 0)   /* a truncated header may "succeed" without a size */
        return jpeg_failed(img, "no image size in its header");
    if (check_size(img, "JPEG", (uint64_t)h, (uint64_t)w) < 0)
        return -1;
    tjscalingfactor f = pick_scale(h, w, min_h, min_w);
    int sh = TJSCALED(h, f), sw = TJSCALED(w, f);
    int cmyk = cs == TJCS_CMYK || cs == TJCS_YCCK;
    int pf = cmyk ? TJPF_CMYK : c == 1 ? TJPF_GRAY : TJPF_RGB;
    reserve(img, (size_t)sh * sw * (cmyk ? 4 : c));
    if (tjDecompress2(t, buf, (unsigned long)len, img->data, sw, 0, sh, pf, 0) < 0)
        return jpeg_failed(img, tjGetErrorStr2(t));
    if (cmyk) {
        cmyk_to_rgb(img->data, (size_t)sh * sw);
        if (c == 1)
            rgb_to_grey(img->data, (size_t)sh * sw);
    }
    img->h = sh;
    img->w = sw;
    img->c = c;
    return 0;
}

static int decode_png(sp_image *img, const uint8_t *buf, size_t len, int c)
{
    png_image p;
    memset(&p, 0, sizeof p);
    p.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(&p, buf, len))
        return sp_errorf("corrupt PNG: %s", p.message);
    if (check_size(img, "PNG", p.height, p.width) < 0) {
        png_image_free(&p);
        return -1;
    }
    p.format = c == 1 ? PNG_FORMAT_GRAY : PNG_FORMAT_RGB;
    reserve(img, PNG_IMAGE_SIZE(p));
    if (!png_image_finish_read(&p, NULL, img->data, 0, NULL)) {
        sp_errorf("corrupt PNG: %s", p.message);
        png_image_free(&p);
        return -1;
    }
    img->h = (int)p.height;
    img->w = (int)p.width;
    img->c = c;
    png_image_free(&p);
    return 0;
}

int sp_image_decode(sp_image *img, const uint8_t *buf, size_t len, int c, int min_h, int min_w)
{
    if (is_jpeg(buf, len))
        return decode_jpeg(img, buf, len, c, min_h, min_w);
    if (is_png(buf, len))
        return decode_png(img, buf, len, c);
    return sp_errorf("not a JPEG or PNG image");
}

int sp_image_encode_jpeg(sp_image *img, const uint8_t *pixels, int h, int w, int c,
                         int quality, uint8_t **out, size_t *cap, size_t *len)
{
    struct codec *k = codec_of(img);
    if (!k->enc && !(k->enc = tjInitCompress()))
        return sp_errorf("cannot start the JPEG encoder");
    int sub = c == 1 ? TJSAMP_GRAY : TJSAMP_420;
    size_t need = tjBufSize(w, h, sub);
    if (*cap < need) {
        *out = sp_xrealloc(*out, need);
        *cap = need;
    }
    unsigned long n = (unsigned long)*cap;
    if (tjCompress2(k->enc, pixels, w, 0, h, c == 1 ? TJPF_GRAY : TJPF_RGB, out, &n, sub,
                    quality, TJFLAG_NOREALLOC) < 0)
        return sp_errorf("cannot encode a JPEG: %s", tjGetErrorStr2(k->enc));
    *len = n;
    return 0;
}

int sp_image_jpeg_plain(const uint8_t *buf, size_t len)
{
    if (!is_jpeg(buf, len))
        return 0;
    tjhandle t = tjInitDecompress();
    int w, h, sub, cs;
    int ok = t && tjDecompressHeader3(t, buf, (unsigned long)len, &w, &h, &sub, &cs) == 0
             && (cs == TJCS_YCbCr || cs == TJCS_GRAY || cs == TJCS_RGB);
    if (t)
        tjDestroy(t);
    return ok;
}
