/* pack_archive.c: reading inputs in place: tar archives (compressed or
 * not, nested one level as in the ILSVRC train archive) through libarchive,
 * whole files (gunzipped through zlib), and the names of members. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
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

/* What one archive member or one inflated file may hold: more than any
 * image or CIFAR batch, and the inflated bytes of a .gz at most INFLATE_MAX
 * times its size, so a small hostile archive cannot claim gigabytes. */
#define MEMBER_MAX ((size_t)256 << 20)
#define INFLATE_MAX 256
#define INFLATE_SLACK ((size_t)16 << 20)

static int too_big(const char *path, size_t n)
{
    return sp_errorf("'%s' holds more than %zu MiB in one piece, more than any image or "
                     "batch that sp reads", path, n >> 20);
}

int sp_pack_tar_read(struct archive *a, const char *path, uint8_t **buf, size_t *cap,
                     size_t *len)
{
    size_t n = 0;
    for (;;) {
        if (n > MEMBER_MAX)
            return too_big(path, MEMBER_MAX);
        if (*cap - n < 65536 || !*buf) {
            *cap = *cap ? 2 * *cap : 1 << 20;
            *buf = sp_xrealloc(*buf, *cap);
        }
        la_ssize_t r = archive_read_data(a, *buf + n, *cap - n);
        if (r < 0)
            return sp_pack_tar_failed(a, path);
        if (r == 0)
            break;
        n += (size_t)r;
    }
    *len = n;
    return 0;
}

int sp_pack_tar_failed(struct archive *a, const char *path)
{
    return sp_errorf("'%s' is truncated or corrupt: %s", path, archive_error_string(a));
}

int sp_pack_file_read(const char *path, int gunzip, uint8_t **buf, size_t *len)
{
    gzFile g = gunzip ? gzopen(path, "rb") : NULL;
    FILE *f = gunzip ? NULL : fopen(path, "rb");
    if (!g && !f)
        return sp_errorf("cannot open '%s': %s", path, strerror(errno));
    size_t cap = 1 << 20, n = 0, most = SIZE_MAX;
    struct stat st;
    if (g && stat(path, &st) == 0 && (uint64_t)st.st_size < SIZE_MAX / INFLATE_MAX - MEMBER_MAX)
        most = (size_t)st.st_size * INFLATE_MAX + INFLATE_SLACK;
    uint8_t *b = sp_xmalloc(cap);
    for (;;) {
        if (n > most) {
            sp_errorf("'%s' inflates to more than %zu MiB, far more than its size justifies",
                      path, most >> 20);
            free(b);
            gzclose(g);
            return -1;
        }
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

const char *sp_pack_base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

int sp_pack_is_image_name(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot && (!strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg") || !strcasecmp(dot, ".png"));
}
