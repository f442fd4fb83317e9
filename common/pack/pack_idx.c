/* pack_idx.c: MNIST-style IDX files, gzipped or plain: an images file
 * (magic 0x00000803: count, rows, columns, then u8 pixels) and a labels
 * file (magic 0x00000801: count, then u8 labels), all integers big-endian.
 * A folder is searched for the usual names of the chosen split. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include "sp/base.h"
#include "sp/data.h"
#include "pack_priv.h"

static const char *const fashion_names[10] = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
};

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int check_idx(const char *path, const uint8_t *b, size_t len, int dims, uint64_t *count,
                     uint32_t *rows, uint32_t *cols)
{
    size_t head = 4 + 4 * (size_t)dims;
    if (len < head || b[0] || b[1] || b[2] != 8 || b[3] != dims)
        return sp_errorf("'%s' is not an IDX %s file", path, dims == 1 ? "labels" : "images");
    *count = be32(b + 4);
    *rows = dims == 3 ? be32(b + 8) : 1;
    *cols = dims == 3 ? be32(b + 12) : 1;
    if (*rows == 0 || *cols == 0 || *rows > 4096 || *cols > 4096)
        return sp_errorf("'%s' has an impossible image size", path);
    if (len != head + *count * *rows * *cols)
        return sp_errorf("'%s' is truncated: %zu bytes for %llu items", path, len,
                         (unsigned long long)*count);
    return 0;
}

static int pack_pair(sp_pack_ctx *x, const char *ipath, const uint8_t *ib, size_t ilen,
                     const char *lpath, const uint8_t *lb, size_t llen)
{
    uint64_t n, ln;
    uint32_t h, w, one;
    if (check_idx(ipath, ib, ilen, 3, &n, &h, &w) < 0 || check_idx(lpath, lb, llen, 1, &ln, &one, &one) < 0)
        return -1;
    if (n != ln)
        return sp_errorf("'%s' has %llu images but '%s' has %llu labels", ipath,
                         (unsigned long long)n, lpath, (unsigned long long)ln);
    int fashion = strcasestr(ipath, "fashion") != NULL, map[10];
    sp_pack_keep_class_order(x);
    for (int k = 0; k < 10; k++) {
        char digit[2] = {(char)('0' + k), 0};
        map[k] = sp_pack_label(x, fashion ? fashion_names[k] : digit);
    }
    sp_pack_set_total(x, (int64_t)n);
    size_t size = (size_t)h * w;
    for (uint64_t i = 0; i < n; i++) {
        int src = lb[8 + i];
        if (src > 9)
            return sp_errorf("'%s': label %llu is %d; IDX labels are digits 0 to 9", lpath,
                             (unsigned long long)i, src);
        if (map[src] < 0)
            continue;
        char name[64];
        snprintf(name, sizeof name, "image %llu", (unsigned long long)i);
        int r = sp_pack_push(x, map[src], name, ib + 16 + i * size, size, (int)h, (int)w);
        if (r != 0)
            return r < 0 ? -1 : 0;
    }
    return 0;
}

static int pack_files(sp_pack_ctx *x, const char *images, const char *labels)
{
    uint8_t *ib = NULL, *lb = NULL;
    size_t il, ll;
    int r = -1;
    if (sp_pack_file_read(images, 1, &ib, &il) == 0 && sp_pack_file_read(labels, 1, &lb, &ll) == 0)
        r = pack_pair(x, images, ib, il, labels, lb, ll);
    free(ib);
    free(lb);
    return r;
}

static char *find(const char *dir, const char *stem)
{
    struct stat st;
    char *p = sp_xasprintf("%s/%s.gz", dir, stem);
    if (stat(p, &st) == 0)
        return p;
    free(p);
    p = sp_xasprintf("%s/%s", dir, stem);
    if (stat(p, &st) == 0)
        return p;
    sp_errorf("'%s' has no '%s' or '%s.gz'", dir, stem, stem);
    free(p);
    return NULL;
}

static int pack_dir(sp_pack_ctx *x, const char *dir)
{
    int test = sp_pack_options(x)->test_split;
    char *im = find(dir, test ? "t10k-images-idx3-ubyte" : "train-images-idx3-ubyte");
    char *lb = im ? find(dir, test ? "t10k-labels-idx1-ubyte" : "train-labels-idx1-ubyte") : NULL;
    int r = lb ? pack_files(x, im, lb) : -1;
    free(im);
    free(lb);
    return r;
}

static int read_idx(sp_pack_ctx *x, char *const *in, int n)
{
    return n == 1 ? pack_dir(x, in[0]) : n == 2 ? pack_files(x, in[0], in[1])
           : sp_errorf("IDX input is a folder or an images file and a labels file");
}

/* A folder holding one of these images files is IDX (a plain t10k file
 * alone never was); the folder reader takes any other folder. */
static int is_idx(const sp_pack_probe *p)
{
    if (p->idx_pair)
        return 1;
    if (!p->dir)
        return 0;
    static const char *const stems[] = {
        "train-images-idx3-ubyte.gz", "train-images-idx3-ubyte", "t10k-images-idx3-ubyte.gz",
    };
    int found = 0;
    for (size_t k = 0; k < SP_COUNT(stems) && !found; k++) {
        char *path = sp_xasprintf("%s/%s", p->inputs[0], stems[k]);
        struct stat st;
        found = stat(path, &st) == 0;
        free(path);
    }
    return found;
}

const sp_pack_reader sp_pack_reader_idx = {
    "idx", SP_PACK_IDX, 1, 1, 1, is_idx, read_idx,
};
