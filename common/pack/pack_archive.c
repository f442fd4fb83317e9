/* pack_archive.c: reading inputs in place: tar archives (compressed or
 * not, nested one level as in the ILSVRC train archive) through libarchive,
 * whole files (gunzipped through zlib), and the detection of the input
 * format from names and first bytes. */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>
#include "sp/base.h"
#include "sp/data.h"
#include "pack_priv.h"

static struct archive *tar_new(void)
{
    struct archive *a = archive_read_new();
    archive_read_support_filter_all(a);
    archive_read_support_format_tar(a);
    archive_read_support_format_gnutar(a);
    return a;
}

struct archive *sp_pack_tar_open(const char *path)
{
    struct archive *a = tar_new();
    if (archive_read_open_filename(a, path, 1 << 20) != ARCHIVE_OK) {
        struct stat st;
        if (stat(path, &st) != 0)
            sp_errorf("cannot open '%s': %s", path, strerror(errno));
        else
            sp_errorf("'%s' is not a tar archive: %s", path, archive_error_string(a));
        archive_read_free(a);
        return NULL;
    }
    return a;
}

/* The inner archive's bytes are the outer archive's current entry. */
static la_ssize_t nested_read(struct archive *inner, void *outer, const void **buf)
{
    size_t size;
    la_int64_t offset;
    int r = archive_read_data_block(outer, buf, &size, &offset);
    if (r == ARCHIVE_EOF)
        return 0;
    if (r < ARCHIVE_WARN) {
        archive_set_error(inner, EIO, "%s", archive_error_string(outer));
        return -1;
    }
    return (la_ssize_t)size;
}

struct archive *sp_pack_tar_open_nested(struct archive *outer, const char *path)
{
    struct archive *a = tar_new();
    if (archive_read_open(a, outer, NULL, nested_read, NULL) != ARCHIVE_OK) {
        sp_errorf("'%s' is not a tar archive: %s", path, archive_error_string(a));
        archive_read_free(a);
        return NULL;
    }
    return a;
}

int sp_pack_tar_read(struct archive *a, const char *path, uint8_t **buf, size_t *cap,
                     size_t *len)
{
    size_t n = 0;
    for (;;) {
        if (*cap - n < 65536 || !*buf) {
            *cap = *cap ? 2 * *cap : 1 << 20;
            *buf = sp_xrealloc(*buf, *cap);
        }
        la_ssize_t r = archive_read_data(a, *buf + n, *cap - n);
        if (r < 0)
            return sp_errorf("'%s' is truncated or corrupt: %s", path, archive_error_string(a));
        if (r == 0)
            break;
        n += (size_t)r;
    }
    *len = n;
    return 0;
}

int sp_pack_file_read(const char *path, int gunzip, uint8_t **buf, size_t *len)
{
    gzFile g = gunzip ? gzopen(path, "rb") : NULL;
    FILE *f = gunzip ? NULL : fopen(path, "rb");
    if (!g && !f)
        return sp_errorf("cannot open '%s': %s", path, strerror(errno));
    size_t cap = 1 << 20, n = 0;
    uint8_t *b = sp_xmalloc(cap);
    for (;;) {
        if (cap - n < (1 << 16))
            b = sp_xrealloc(b, cap *= 2);
        long r = g ? gzread(g, b + n, (unsigned)(cap - n)) : (long)fread(b + n, 1, cap - n, f);
        if (r < 0 || (f && ferror(f))) {
            int e;
            const char *msg = g ? gzerror(g, &e) : strerror(errno);
            sp_errorf("cannot read '%s': %s", path, msg);
            free(b);
            g ? gzclose(g) : fclose(f);
            return -1;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    if (g) {
        int e;
        const char *msg = gzerror(g, &e);
        if (e != Z_OK && e != Z_STREAM_END) {  /* a truncated .gz reads short */
            sp_errorf("'%s' is truncated or corrupt: %s", path, msg);
            gzclose(g);
            free(b);
            return -1;
        }
        gzclose(g);
    } else {
        fclose(f);
    }
    *buf = b;
    *len = n;
    return 0;
}

static int has_suffix(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcasecmp(s + a - b, suf) == 0;
}

static int is_image_name(const char *s)
{
    return has_suffix(s, ".jpg") || has_suffix(s, ".jpeg") || has_suffix(s, ".png");
}

/* An IDX file starts with two zero bytes, a type byte 0x08 (u8) and the
 * number of dimensions. */
static int is_idx_file(const char *path)
{
    gzFile g = gzopen(path, "rb");
    uint8_t m[4];
    int ok = g && gzread(g, m, 4) == 4 && m[0] == 0 && m[1] == 0 && m[2] == 8;
    if (g)
        gzclose(g);
    return ok;
}

static int detect_dir(const char *path)
{
    char *p = sp_xasprintf("%s/train-images-idx3-ubyte.gz", path);
    char *q = sp_xasprintf("%s/train-images-idx3-ubyte", path);
    char *r = sp_xasprintf("%s/t10k-images-idx3-ubyte.gz", path);
    struct stat st;
    int idx = stat(p, &st) == 0 || stat(q, &st) == 0 || stat(r, &st) == 0;
    free(p);
    free(q);
    free(r);
    return idx ? SP_PACK_IDX : SP_PACK_FOLDER;
}

static int detect_tar(const char *path)
{
    struct archive *a = sp_pack_tar_open(path);
    if (!a)
        return -1;
    struct archive_entry *e;
    int n = 0, tars = 0, images = 0, cls = 0, r;
    while (n < 32 && (r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
        const char *name = archive_entry_pathname(e);
        if (strstr(name, "cifar-10-batches-bin")) {
            archive_read_free(a);
            return SP_PACK_CIFAR10;
        }
        if (strstr(name, "cifar-100-binary")) {
            archive_read_free(a);
            return SP_PACK_CIFAR100;
        }
        if (archive_entry_filetype(e) != AE_IFREG)
            continue;
        n++;
        tars += has_suffix(name, ".tar");
        cls += has_suffix(name, ".cls");
        images += is_image_name(name);
    }
    if (n == 0 && r != ARCHIVE_EOF && r != ARCHIVE_OK) {
        sp_errorf("'%s' is not a tar archive: %s", path, archive_error_string(a));
        archive_read_free(a);
        return -1;
    }
    archive_read_free(a);
    if (cls)
        return SP_PACK_WDS;
    if (tars && tars == n)
        return SP_PACK_ILSVRC_TRAIN;
    if (images && images == n)
        return SP_PACK_ILSVRC_VAL;
    return sp_errorf("cannot tell what '%s' holds; use --format", path);
}

int sp_pack_detect(char *const *in, int n)
{
    struct stat st;
    for (int i = 0; i < n; i++)
        if (stat(in[i], &st) != 0)
            return sp_errorf("cannot open '%s': %s", in[i], strerror(errno));
    if (n == 2 && is_idx_file(in[0]) && is_idx_file(in[1]))
        return SP_PACK_IDX;
    if (stat(in[0], &st) == 0 && S_ISDIR(st.st_mode)) {
        if (n != 1)
            return sp_errorf("give one folder, not %d inputs", n);
        return detect_dir(in[0]);
    }
    if (n == 1 && is_idx_file(in[0]))
        return sp_errorf("'%s' is an IDX file: give the images and the labels file", in[0]);
    int f = detect_tar(in[0]);
    if (f > 0 && n > 1 && f != SP_PACK_WDS)
        return sp_errorf("several inputs are only for WebDataset shards or an IDX pair");
    return f;
}
