/* pack.h: writing a packed dataset (.spd, sp-data(5)): the record writer
 * and sp-pack's run over its sources.  The readers of the source formats
 * are private to common/pack (pack_priv.h). */
#ifndef SP_PACK_H
#define SP_PACK_H

#include <stdint.h>
#include <stdio.h>
#include "sp/image.h"

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
    uint64_t max_pixels;        /* larger images are skipped (0: SP_IMAGE_MAX_PIXELS) */
    int test_split;             /* CIFAR, IDX: the test split */
    int coarse;                 /* CIFAR-100: the 20 coarse labels */
    const char *labels_file;    /* ILSVRC validation labels */
    char **classes;             /* --classes-from: names, in label order */
    int nclasses;
    const char *spool_dir;      /* temporary records (NULL: $TMPDIR) */
    /* Called with a warning (each skipped image; lossless images stored
     * as JPEG, once at the end), and with the records done so far (total
     * -1 when unknown); either may be NULL. */
    void (*warn)(const char *msg);
    void (*progress)(int64_t done, int64_t total);
} sp_pack_opts;

/* Read the inputs (detected, or o->format) and write the dataset to out.
 * *skipped counts undecodable images left out.  0, or -1 with an error. */
int sp_pack_run(char *const *inputs, int ninputs, const sp_pack_opts *o, FILE *out,
                const char *out_name, int64_t *records, int64_t *skipped);
const char *sp_pack_format_name(int format);
int sp_pack_format_parse(const char *name);     /* -1 if unknown */

/* The record size for the header, when known only from the records. */
void sp_pack_writer_set_size(sp_pack_writer *w, int height, int width);
/* Relabel every record: label -> map[label] (before finish). */
void sp_pack_writer_relabel(sp_pack_writer *w, const int *map);

#endif
