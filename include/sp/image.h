/* image.h: decoding, encoding and resampling of images (JPEG, PNG). */
#ifndef SP_IMAGE_H
#define SP_IMAGE_H

#include <stddef.h>
#include <stdint.h>

/* A decoded image, HWC u8, and the decoder state reused between calls.
 * Zero-initialise, reuse for many images in one thread, sp_image_free. */
typedef struct sp_image {
    uint8_t *data;        /* h * w * c bytes */
    int h, w, c;
    size_t cap;           /* bytes allocated at data */
    void *codec;          /* private */
    uint64_t max_pixels;  /* larger images are refused; 0: SP_IMAGE_MAX_PIXELS */
} sp_image;

/* The default pixel cap: a decoder's memory grows with the size an image
 * declares, whatever its file size, so a few kilobytes could otherwise ask
 * for gigabytes. */
#define SP_IMAGE_MAX_PIXELS 100000000ull
void sp_image_free(sp_image *img);

/* Decode a JPEG or PNG file held in memory into img with c channels (1: grey,
 * 3: RGB; CMYK, palette, grey+alpha and 16-bit sources are converted).
 * min_h, min_w > 0 allow DCT-domain downscaling of a JPEG as long as the
 * result stays at least that large in both dimensions.  A truncated or
 * corrupt file is an error (libjpeg warnings count as errors), and so is an
 * image of more than img->max_pixels pixels. */
int sp_image_decode(sp_image *img, const uint8_t *buf, size_t len, int c,
                    int min_h, int min_w);
/* The size of a JPEG or PNG file from its header.  0, or -1 with an error. */
int sp_image_probe(const uint8_t *buf, size_t len, int *h, int *w);
/* Encode h x w x c pixels as a baseline JPEG of the given quality (1..100)
 * into *out (malloc'ed, grown as needed; *cap its size).  0 or -1. */
int sp_image_encode_jpeg(sp_image *img, const uint8_t *pixels, int h, int w,
                         int c, int quality, uint8_t **out, size_t *cap,
                         size_t *len);

/* Resample src (sh x sw x c, rows src_stride bytes apart) to dst (dh x dw
 * x c, packed) with an area-weighted (antialiased) triangle filter when
 * shrinking and bilinear interpolation when enlarging.  Thread-safe. */
void sp_image_resize(const uint8_t *src, int sh, int sw, size_t src_stride,
                     int c, uint8_t *dst, int dh, int dw);
/* Scale so that the image covers dh x dw (shorter side to the target,
 * SP_RESIZE_SHORTER) or to exactly dh x dw (SP_RESIZE_EXACT), then take
 * the centre dh x dw (only the pixels kept are computed).  dst holds
 * dh * dw * c bytes; tmp is scratch the function may grow (free it after
 * the last call). */
enum sp_resize_mode { SP_RESIZE_SHORTER = 0, SP_RESIZE_EXACT = 1 };
void sp_image_fit(const uint8_t *src, int sh, int sw, int c, uint8_t *dst,
                  int dh, int dw, int mode, uint8_t **tmp, size_t *tmp_cap);

/* Whether a JPEG can be stored as it is (YCbCr or grey, not CMYK). */
int sp_image_jpeg_plain(const uint8_t *buf, size_t len);

#endif
