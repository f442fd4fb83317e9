/* pack_priv.h: what sp-pack's source readers (common/pack) share. */
#ifndef SP_PACK_PRIV_H
#define SP_PACK_PRIV_H

#include <stdint.h>
#include "sp/pack.h"

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

#endif
