/* pack_priv.h: what the parts of sp-pack (common/pack) share.
 *
 * The parts call each other in one direction only:
 *
 *   pack_run.c      the dispatcher: walks the reader table to pick a
 *                   reader (--format, or detection from pack_probe.c) and
 *                   runs it into a context;
 *   pack_cifar.c, pack_idx.c, pack_folder.c, pack_tars.c, pack_wds.c
 *                   the readers, one table entry each: they see the inputs
 *                   and the context interface below, never the dispatcher;
 *   pack_ctx.c      the context: class labels, and the decode/resize/encode
 *                   pipeline into the writer;
 *   pack_archive.c  input helpers the readers and the probe share;
 *   pack_write.c    the .spd writer (sp/pack.h).
 */
#ifndef SP_PACK_PRIV_H
#define SP_PACK_PRIV_H

/* What sp-pack reads, for the message about an input it cannot tell. */
#define SP_PACK_ACCEPTS "sp-pack reads CIFAR-10 and CIFAR-100 binary archives, IDX image " \
    "and label files, a folder of class folders of images, ImageNet's train and val tars " \
    "and WebDataset shards"

#include <stdint.h>
#include <stdio.h>
#include "sp/pack.h"

/* ---- the context: what a reader pushes its records into -------------- */

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
/* The number of images the reader expects to push, for the progress
 * callback (unknown until set). */
void sp_pack_set_total(sp_pack_ctx *x, int64_t total);
/* Queue one image: an image file's bytes (h == 0) or raw h x w pixels of
 * the dataset's channels.  name is for messages.  Returns 0 to go on,
 * 1 when --limit is reached, -1 on error. */
int sp_pack_push(sp_pack_ctx *x, int label, const char *name, const uint8_t *data,
                 size_t len, int h, int w);

/* The context's life, for the dispatcher only.  new: NULL with an error
 * when the writer cannot start.  finish: drain the pipeline, check the
 * classes, sort them unless told otherwise, and write the dataset. */
sp_pack_ctx *sp_pack_ctx_new(const sp_pack_opts *o, int channels, int fixed_size);
int sp_pack_ctx_finish(sp_pack_ctx *x, FILE *out, const char *out_name, int64_t *records,
                       int64_t *skipped);
void sp_pack_ctx_free(sp_pack_ctx *x);

/* ---- the reader table ------------------------------------------------- */

/* What the dispatcher learnt of the inputs before asking the readers
 * whether they are theirs (pack_probe.c).  Exactly one of idx_pair, dir
 * and tar is set. */
typedef struct sp_pack_probe {
    char *const *inputs;
    int n;
    int idx_pair;               /* two IDX files */
    int dir;                    /* one folder */
    int tar;                    /* inputs[0] is a tar archive; then: */
    int cifar;                  /* 10 or 100: a member path of that CIFAR layout */
    int files, tars, images, cls;   /* kinds among the first 32 regular members */
} sp_pack_probe;

typedef struct sp_pack_reader {
    const char *name;           /* for --format and messages */
    int format;                 /* enum sp_pack_format */
    int channels;               /* of the records: 1 grey, 3 RGB */
    int raw;                    /* fixed-size pixels: raw records by default */
    int several;                /* may take several inputs */
    /* Whether the probed inputs are this reader's.  Detectors claim
     * disjoint inputs, except that the table puts idx before folder. */
    int (*detect)(const sp_pack_probe *p);
    /* Push every record of the inputs into x; 0, or -1 with an error. */
    int (*read)(sp_pack_ctx *x, char *const *inputs, int n);
} sp_pack_reader;

extern const sp_pack_reader sp_pack_reader_cifar10, sp_pack_reader_cifar100,
    sp_pack_reader_idx, sp_pack_reader_folder, sp_pack_reader_ilsvrc_train,
    sp_pack_reader_ilsvrc_val, sp_pack_reader_wds;

/* Fill p from the inputs; -1 with an error when they cannot be opened or
 * cannot be any format (a folder among other inputs, one IDX file). */
int sp_pack_probe_inputs(sp_pack_probe *p, char *const *inputs, int n);

/* ---- input helpers (pack_archive.c) ----------------------------------- */

/* libarchive helpers: open a (possibly compressed) tar for reading, or a
 * nested tar from the current entry of an open one; read the current entry
 * whole into *buf (grown as needed).  Errors name `path`. */
struct archive;
struct archive *sp_pack_tar_open(const char *path);
struct archive *sp_pack_tar_open_nested(struct archive *outer, const char *path);
int sp_pack_tar_read(struct archive *a, const char *path, uint8_t **buf, size_t *cap,
                     size_t *len);
/* -1 with "'PATH' is truncated or corrupt: " and libarchive's reason. */
int sp_pack_tar_failed(struct archive *a, const char *path);
/* Read a whole file (gunzipping .gz files when gunzip is set). */
int sp_pack_file_read(const char *path, int gunzip, uint8_t **buf, size_t *len);
/* The part of a path after its last '/'. */
const char *sp_pack_base_name(const char *path);
/* An image file by its name: .jpg, .jpeg or .png, in any case. */
int sp_pack_is_image_name(const char *name);

#endif
