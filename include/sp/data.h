/* data.h: the packed dataset (.spd, sp-data(5)), its reader, image decoding
 * and resampling, and the writer sp-pack uses.
 *
 * A dataset is one file: a header, class names, a label array, an offset
 * index, then the records.  Records are either raw u8 images, HWC, all of
 * the header's height x width x channels, or JPEG blobs (height and width 0
 * in the header when the images keep their source sizes).  The reader maps
 * the file read-only; every accessor is safe to call from several threads
 * at once (decoding needs one sp_image per thread). */
#ifndef SP_DATA_H
#define SP_DATA_H

#include <stdint.h>
#include <stddef.h>
#include <stdio.h>

/* The first 8 bytes of every .spd file. */
#define SP_DATA_MAGIC "sp-data\n"
#define SP_DATA_MAGIC_LEN 8
#define SP_DATA_VERSION 1
#define SP_DATA_HEADER_SIZE 128

enum sp_data_encoding { SP_DATA_RAW = 1, SP_DATA_JPEG = 2 };

/* sp-inspect's view of a dataset: the header and label histogram as text
 * or JSON on out, or (record >= 0) that record as a binary PGM/PPM image.
 * Returns 0, or -1 with an error. */
int sp_data_inspect(const char *path, int json, long record, FILE *out);

/* ---- reader ---------------------------------------------------------- */

typedef struct sp_dataset sp_dataset;

/* Map and validate a dataset (header checksum, every table offset, the
 * index, labels < classes).  NULL with an error naming the file on any
 * problem. */
sp_dataset *sp_data_open(const char *path);
void sp_data_close(sp_dataset *d);

const char *sp_data_path(const sp_dataset *d);
int64_t sp_data_count(const sp_dataset *d);
int sp_data_classes(const sp_dataset *d);
const char *sp_data_class_name(const sp_dataset *d, int k);
/* Record size; height and width are 0 for JPEG records of varying size. */
int sp_data_height(const sp_dataset *d);
int sp_data_width(const sp_dataset *d);
int sp_data_channels(const sp_dataset *d);
int sp_data_encoding(const sp_dataset *d);                 /* SP_DATA_RAW / _JPEG */
/* Per-channel mean and standard deviation of the pixel values scaled to
 * [0, 1], over every pixel of every record (channels entries each). */
const float *sp_data_mean(const sp_dataset *d);
const float *sp_data_std(const sp_dataset *d);

int sp_data_label(const sp_dataset *d, int64_t i);          /* 0 <= i < count */
/* The stored bytes of record i (raw pixels or a JPEG file), in the map. */
const uint8_t *sp_data_record(const sp_dataset *d, int64_t i, size_t *len);

/* Check the records' checksum (reads the whole file).  0, or -1 with an
 * error. */
int sp_data_verify(const sp_dataset *d);

/* ---- images ---------------------------------------------------------- */

/* A decoded image, HWC u8, and the decoder state reused between calls.
 * Zero-initialise, reuse for many images in one thread, sp_image_free. */
typedef struct sp_image {
    uint8_t *data;        /* h * w * c bytes */
    int h, w, c;
    size_t cap;           /* bytes allocated at data */
    void *codec;          /* private */
} sp_image;
void sp_image_free(sp_image *img);

/* Decode record i of d into img (c = the dataset's channels).  With
 * min_side > 0 a JPEG is decoded at the smallest DCT scale (1, 1/2, 1/4, 1/8)
 * whose shorter side is still >= min_side: the caller resizes the rest.
 * Raw records are copied.  0, or -1 with an error naming the record. */
int sp_data_decode(const sp_dataset *d, int64_t i, int min_side, sp_image *img);

/* Decode a JPEG or PNG file held in memory into img with c channels (1: grey,
 * 3: RGB; CMYK, palette, grey+alpha and 16-bit sources are converted).
 * min_h, min_w > 0 allow DCT-domain downscaling of a JPEG as long as the
 * result stays at least that large in both dimensions.  A truncated or
 * corrupt file is an error (libjpeg warnings count as errors). */
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

/* ---- writer (sp-pack) ------------------------------------------------ */

/* Records are spooled to an unlinked temporary file in spool_dir (NULL:
 * $TMPDIR or /tmp) while labels, offsets and pixel sums are kept in
 * memory; sp_pack_writer_finish writes header, names, labels, index and
 * the spooled records to out in that order, so out may be a pipe. */
typedef struct sp_pack_writer sp_pack_writer;
sp_pack_writer *sp_pack_writer_open(const char *spool_dir, int channels,
                                    int height, int width, int encoding);
/* Append one record.  pixels (h x w x channels) feed the mean and standard
 * deviation; for raw records they are the record itself (pass NULL). */
int sp_pack_writer_add(sp_pack_writer *w, int label, const uint8_t *rec,
                       size_t len, const uint8_t *pixels, size_t npixels);
int64_t sp_pack_writer_count(const sp_pack_writer *w);
int sp_pack_writer_finish(sp_pack_writer *w, int classes,
                          char *const *names, FILE *out, const char *out_name);
void sp_pack_writer_free(sp_pack_writer *w);

/* ---- sp-pack: sources into a writer ---------------------------------- */

enum sp_pack_format {
    SP_PACK_AUTO, SP_PACK_CIFAR10, SP_PACK_CIFAR100, SP_PACK_IDX, SP_PACK_FOLDER,
    SP_PACK_ILSVRC_TRAIN, SP_PACK_ILSVRC_VAL, SP_PACK_WDS
};

typedef struct sp_pack_opts {
    int format;                 /* enum sp_pack_format */
    int height, width;          /* 0: keep the source size */
    int resize;                 /* enum sp_resize_mode */
    int encoding;               /* 0: raw for fixed sizes, else JPEG */
    int quality;                /* re-encoded JPEGs, 1..100 */
    int64_t limit;              /* at most this many records (0: all) */
    int threads;                /* decode/resize workers (>= 1) */
    int strict;                 /* an undecodable image is an error */
    int test_split;             /* CIFAR, IDX: the test split */
    int coarse;                 /* CIFAR-100: the 20 coarse labels */
    const char *labels_file;    /* ILSVRC validation labels */
    char **classes;             /* --classes-from: names, in label order */
    int nclasses;
    const char *spool_dir;      /* temporary records (NULL: $TMPDIR) */
    /* Called for each skipped image, and with the records done so far
     * (total -1 when unknown); either may be NULL. */
    void (*warn)(const char *msg);
    void (*progress)(int64_t done, int64_t total);
} sp_pack_opts;

/* Read the inputs (detected, or o->format) and write the dataset to out.
 * *skipped counts undecodable images left out.  0, or -1 with an error. */
int sp_pack_run(char *const *inputs, int ninputs, const sp_pack_opts *o, FILE *out,
                const char *out_name, int64_t *records, int64_t *skipped);
const char *sp_pack_format_name(int format);
int sp_pack_format_parse(const char *name);     /* -1 if unknown */

/* What the readers in common/pack_*.c share. */
typedef struct sp_pack_ctx sp_pack_ctx;
const sp_pack_opts *sp_pack_options(const sp_pack_ctx *x);
/* The label of class `name` (classes are collected in order of first
 * appearance and, unless fixed by --classes-from, sorted by name at the
 * end), or -1 if --classes-from leaves the class out. */
int sp_pack_label(sp_pack_ctx *x, const char *name);
/* The label of a numeric class index (names "0", "1", ... unless named by
 * --classes-from); -1 with an error if it is out of range. */
int sp_pack_label_index(sp_pack_ctx *x, long index);
/* Keep the classes in order of appearance rather than sorting them. */
void sp_pack_keep_class_order(sp_pack_ctx *x);
void sp_pack_set_total(sp_pack_ctx *x, int64_t total);
/* Queue one image: an image file's bytes (h == 0) or raw h x w pixels of
 * the dataset's channels.  name is for messages.  Returns 0 to go on,
 * 1 when --limit is reached, -1 on error. */
int sp_pack_push(sp_pack_ctx *x, int label, const char *name, const uint8_t *data,
                 size_t len, int h, int w);

int sp_pack_cifar(sp_pack_ctx *x, const char *path, int hundred);
int sp_pack_idx(sp_pack_ctx *x, const char *images, const char *labels);
int sp_pack_idx_dir(sp_pack_ctx *x, const char *dir);
int sp_pack_folder(sp_pack_ctx *x, const char *root);
int sp_pack_ilsvrc_train(sp_pack_ctx *x, const char *path);
int sp_pack_ilsvrc_val(sp_pack_ctx *x, const char *path, const char *labels_file);
int sp_pack_wds(sp_pack_ctx *x, char *const *paths, int n);
/* The format of the inputs, from their names and first bytes; -1 with an
 * error when none fits. */
int sp_pack_detect(char *const *inputs, int n);
/* libarchive helpers: open a (possibly compressed) tar for reading, or a
 * nested tar from the current entry of an open one; read the current entry
 * whole into *buf (grown as needed).  Errors name `path`. */
struct archive;
struct archive *sp_pack_tar_open(const char *path);
struct archive *sp_pack_tar_open_nested(struct archive *outer, const char *path);
int sp_pack_tar_read(struct archive *a, const char *path, uint8_t **buf, size_t *cap,
                     size_t *len);
/* Read a whole file (gunzipping .gz files when gunzip is set). */
int sp_pack_file_read(const char *path, int gunzip, uint8_t **buf, size_t *len);
/* Whether a JPEG can be stored as it is (YCbCr or grey, not CMYK). */
int sp_image_jpeg_plain(const uint8_t *buf, size_t len);
/* The record size for the header, when known only from the records. */
void sp_pack_writer_set_size(sp_pack_writer *w, int height, int width);
/* Relabel every record: label -> map[label] (before finish). */
void sp_pack_writer_relabel(sp_pack_writer *w, const int *map);

#endif
