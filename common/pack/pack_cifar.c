/* pack_cifar.c: the CIFAR-10 and CIFAR-100 binary archives, read in place.
 *
 * cifar-10-binary.tar.gz holds cifar-10-batches-bin/data_batch_1..5.bin,
 * test_batch.bin and batches.meta.txt; a record is a label byte and 3072
 * bytes: the red, green and blue 32x32 planes, rows top to bottom.
 * cifar-100-binary.tar.gz holds cifar-100-binary/train.bin, test.bin,
 * fine_label_names.txt and coarse_label_names.txt; a record is a coarse
 * label byte, a fine label byte, then the same 3072 bytes.  Members may come
 * in any order, so the needed ones are read whole, then packed in the
 * official order. */
#include <archive.h>
#include <archive_entry.h>
#include <stdlib.h>
#include <string.h>
#include "sp/base.h"
#include "sp/data.h"
#include "pack_priv.h"

#define PLANE 1024
#define MAXM 6

struct cifar {
    const char *want[MAXM];     /* member base names, data first, names file last */
    int nwant;
    uint8_t *buf[MAXM];
    size_t len[MAXM], cap[MAXM];
};

static int read_members(struct cifar *c, const char *path)
{
    struct archive *a = sp_pack_tar_open(path);
    if (!a)
        return -1;
    struct archive_entry *e;
    int r = ARCHIVE_EOF, found = 0;
    while (found < c->nwant && (r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
        for (int k = 0; k < c->nwant; k++)
            if (!c->buf[k] && strcmp(sp_pack_base_name(archive_entry_pathname(e)), c->want[k]) == 0) {
                if (sp_pack_tar_read(a, path, &c->buf[k], &c->cap[k], &c->len[k]) < 0) {
                    archive_read_free(a);
                    return -1;
                }
                found++;
            }
    }
    if (found < c->nwant && r != ARCHIVE_EOF) {
        sp_pack_tar_failed(a, path);
        archive_read_free(a);
        return -1;
    }
    archive_read_free(a);
    for (int k = 0; k < c->nwant; k++)
        if (!c->buf[k])
            return sp_errorf("'%s' has no member '%s'", path, c->want[k]);
    return 0;
}

/* One class name per non-empty line; returns the count. */
static int parse_names(char *text, size_t len, char ***names)
{
    int n = 0;
    *names = NULL;
    for (char *p = text, *end = text + len; p < end;) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *e = nl ? nl : end;
        char *q = e;
        while (q > p && (q[-1] == ' ' || q[-1] == '\r' || q[-1] == '\t'))
            q--;
        if (q > p) {
            *names = sp_xrealloc(*names, sizeof(char *) * (size_t)(n + 1));
            (*names)[n++] = sp_xasprintf("%.*s", (int)(q - p), p);
        }
        p = e + 1;
    }
    return n;
}

static int pack_records(sp_pack_ctx *x, struct cifar *c, int ndata, int skip, int label_byte,
                        const int *map, int nclasses, const char *path)
{
    size_t rl = (size_t)skip + 3 * PLANE;
    uint8_t px[3 * PLANE];
    int64_t total = 0;
    for (int k = 0; k < ndata; k++) {
        if (c->len[k] % rl || c->len[k] == 0)
            return sp_errorf("'%s': member '%s' is not a whole number of %zu-byte records",
                             path, c->want[k], rl);
        total += (int64_t)(c->len[k] / rl);
    }
    sp_pack_set_total(x, total);
    for (int k = 0; k < ndata; k++)
        for (size_t i = 0; i < c->len[k] / rl; i++) {
            const uint8_t *rec = c->buf[k] + i * rl;
            int src = rec[label_byte];
            if (src >= nclasses)
                return sp_errorf("'%s': record %zu of '%s' has label %d of %d classes", path, i,
                                 c->want[k], src, nclasses);
            if (map[src] < 0)
                continue;
            for (int p = 0; p < PLANE; p++)
                for (int ch = 0; ch < 3; ch++)
                    px[3 * p + ch] = rec[skip + ch * PLANE + p];
            char *name = sp_xasprintf("%s record %zu", c->want[k], i);
            int r = sp_pack_push(x, map[src], name, px, sizeof px, 32, 32);
            free(name);
            if (r != 0)
                return r < 0 ? -1 : 0;
        }
    return 0;
}

static int pack_cifar(sp_pack_ctx *x, const char *path, int hundred)
{
    const sp_pack_opts *o = sp_pack_options(x);
    struct cifar c = {0};
    int ndata = 0;
    if (!hundred && o->test_split) {
        c.want[ndata++] = "test_batch.bin";
    } else if (!hundred) {
        static const char *b[] = {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
                                  "data_batch_4.bin", "data_batch_5.bin"};
        for (int k = 0; k < 5; k++)
            c.want[ndata++] = b[k];
    } else {
        c.want[ndata++] = o->test_split ? "test.bin" : "train.bin";
    }
    c.want[ndata] = !hundred ? "batches.meta.txt"
                    : o->coarse ? "coarse_label_names.txt" : "fine_label_names.txt";
    c.nwant = ndata + 1;
    int r = read_members(&c, path);
    char **names = NULL;
    int n = 0, map[256];
    if (r == 0) {
        n = parse_names((char *)c.buf[ndata], c.len[ndata], &names);
        if (n == 0 || n > 256)
            r = sp_errorf("'%s': '%s' does not list the class names", path, c.want[ndata]);
    }
    if (r == 0) {
        sp_pack_keep_class_order(x);
        for (int k = 0; k < n; k++)
            map[k] = sp_pack_label(x, names[k]);
        r = pack_records(x, &c, ndata, hundred ? 2 : 1, hundred && !o->coarse ? 1 : 0, map, n,
                         path);
    }
    for (int k = 0; k < n; k++)
        free(names[k]);
    free(names);
    for (int k = 0; k < c.nwant; k++)
        free(c.buf[k]);
    return r;
}

static int read_cifar(sp_pack_ctx *x, char *const *in, int n, int hundred)
{
    return n == 1 ? pack_cifar(x, in[0], hundred)
                  : sp_errorf("a CIFAR archive is one input, not %d", n);
}

static int read_cifar10(sp_pack_ctx *x, char *const *in, int n) { return read_cifar(x, in, n, 0); }
static int read_cifar100(sp_pack_ctx *x, char *const *in, int n) { return read_cifar(x, in, n, 1); }
static int is_cifar10(const sp_pack_probe *p) { return p->cifar == 10; }
static int is_cifar100(const sp_pack_probe *p) { return p->cifar == 100; }

const sp_pack_reader sp_pack_reader_cifar10 = {
    "cifar10", SP_PACK_CIFAR10, 3, 1, 0, is_cifar10, read_cifar10,
};
const sp_pack_reader sp_pack_reader_cifar100 = {
    "cifar100", SP_PACK_CIFAR100, 3, 1, 0, is_cifar100, read_cifar100,
};
