/* pack_write.c: writes a .spd (sp-data(5)).
 *
 * The header needs the record count, the offsets and the pixel statistics,
 * which are known only at the end, and the format puts them before the
 * records.  So records go to an unlinked spool file (it vanishes however
 * the program ends) and are copied behind the tables once everything is
 * known: the output is written strictly sequentially and may be a pipe. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include "sp/base.h"
#include "sp/data.h"
#include "pack_priv.h"

struct sp_pack_writer {
    FILE *spool;
    int channels, height, width, encoding;
    uint32_t *labels;
    uint64_t *lengths;
    int64_t count, cap;
    uint64_t bytes;
    uint64_t sum[3], sumsq[3], npix;
    uLong crc;
};

sp_pack_writer *sp_pack_writer_open(const char *spool_dir, int channels, int height,
                                    int width, int encoding)
{
    const char *dir = spool_dir ? spool_dir : getenv("TMPDIR");
    char *tmpl = sp_xasprintf("%s/.sp-pack-XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkstemp(tmpl);
    if (fd < 0) {
        sp_errorf("cannot create a temporary file in '%s': %s", dir ? dir : "/tmp",
                  strerror(errno));
        free(tmpl);
        return NULL;
    }
    unlink(tmpl);
    free(tmpl);
    sp_pack_writer *w = sp_xcalloc(1, sizeof *w);
    w->spool = fdopen(fd, "w+b");
    w->channels = channels;
    w->height = height;
    w->width = width;
    w->encoding = encoding;
    w->crc = crc32(0L, Z_NULL, 0);
    return w;
}

void sp_pack_writer_free(sp_pack_writer *w)
{
    if (!w)
        return;
    if (w->spool)
        fclose(w->spool);
    free(w->labels);
    free(w->lengths);
    free(w);
}

int64_t sp_pack_writer_count(const sp_pack_writer *w) { return w->count; }

static void add_stats(sp_pack_writer *w, const uint8_t *p, size_t npix)
{
    int c = w->channels;
    uint64_t s[3] = {0}, q[3] = {0};
    for (size_t i = 0; i < npix; i++)
        for (int ch = 0; ch < c; ch++) {
            unsigned v = p[i * c + ch];
            s[ch] += v;
            q[ch] += v * v;
        }
    for (int ch = 0; ch < c; ch++) {
        w->sum[ch] += s[ch];
        w->sumsq[ch] += q[ch];
    }
    w->npix += npix;
}

int sp_pack_writer_add(sp_pack_writer *w, int label, const uint8_t *rec, size_t len,
                       const uint8_t *pixels, size_t npixels)
{
    if (w->count == w->cap) {
        w->cap = w->cap ? 2 * w->cap : 4096;
        w->labels = sp_xrealloc(w->labels, sizeof *w->labels * (size_t)w->cap);
        w->lengths = sp_xrealloc(w->lengths, sizeof *w->lengths * (size_t)w->cap);
    }
    if (fwrite(rec, 1, len, w->spool) != len)
        return sp_errorf("cannot write the temporary record file: %s", strerror(errno));
    for (size_t done = 0; done < len;) {
        uInt k = len - done > (1u << 30) ? (1u << 30) : (uInt)(len - done);
        w->crc = crc32(w->crc, rec + done, k);
        done += k;
    }
    if (pixels)
        add_stats(w, pixels, npixels);
    else
        add_stats(w, rec, len / (size_t)w->channels);
    w->labels[w->count] = (uint32_t)label;
    w->lengths[w->count] = len;
    w->count++;
    w->bytes += len;
    return 0;
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t)v);
    put32(p + 4, (uint32_t)(v >> 32));
}

static void putf32(uint8_t *p, float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    put32(p, u);
}

static uint64_t align(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

static int copy_spool(sp_pack_writer *w, FILE *out, const char *out_name)
{
    if (fflush(w->spool) != 0 || fseek(w->spool, 0, SEEK_SET) != 0)
        return sp_errorf("cannot read back the temporary record file: %s", strerror(errno));
    size_t bufsize = 1 << 20, n;
    uint8_t *buf = sp_xmalloc(bufsize);
    uint64_t left = w->bytes;
    while (left > 0 && (n = fread(buf, 1, left < bufsize ? (size_t)left : bufsize, w->spool)) > 0) {
        if (fwrite(buf, 1, n, out) != n) {
            free(buf);
            return sp_errorf("cannot write '%s': %s", out_name, strerror(errno));
        }
        left -= n;
    }
    free(buf);
    if (left)
        return sp_errorf("cannot read back the temporary record file: %s",
                         ferror(w->spool) ? strerror(errno) : "it is shorter than written");
    return 0;
}

int sp_pack_writer_finish(sp_pack_writer *w, int classes, char *const *names, FILE *out,
                          const char *out_name)
{
    uint64_t n = (uint64_t)w->count, names_size = 0;
    for (int k = 0; k < classes; k++)
        names_size += strlen(names[k]) + 1;
    uint64_t labels_off = align(SP_DATA_HEADER_SIZE + names_size, 8);
    uint64_t index_off = align(labels_off + 4 * n, 8);
    uint64_t records_off = align(index_off + 8 * (n + 1), 64);
    size_t tsize = (size_t)records_off;
    uint8_t *t = sp_xcalloc(1, tsize);
    uint8_t *p = t + SP_DATA_HEADER_SIZE;
    for (int k = 0; k < classes; k++) {
        size_t l = strlen(names[k]) + 1;
        memcpy(p, names[k], l);
        p += l;
    }
    uint64_t off = records_off;
    for (uint64_t i = 0; i < n; i++) {
        put32(t + labels_off + 4 * i, w->labels[i]);
        put64(t + index_off + 8 * i, off);
        off += w->lengths[i];
    }
    put64(t + index_off + 8 * n, off);

    uint8_t *h = t;
    memcpy(h, SP_DATA_MAGIC, SP_DATA_MAGIC_LEN);
    put32(h + 8, SP_DATA_VERSION);
    put32(h + 12, SP_DATA_HEADER_SIZE);
    put64(h + 16, n);
    put32(h + 24, (uint32_t)classes);
    put32(h + 28, (uint32_t)w->channels);
    put32(h + 32, (uint32_t)w->height);
    put32(h + 36, (uint32_t)w->width);
    put32(h + 40, (uint32_t)w->encoding);
    for (int c = 0; c < w->channels && w->npix; c++) {
        double m = (double)w->sum[c] / w->npix / 255.0;
        double var = (double)w->sumsq[c] / w->npix / (255.0 * 255.0) - m * m;
        putf32(h + 48 + 4 * c, (float)m);
        putf32(h + 60 + 4 * c, (float)sqrt(var > 0 ? var : 0));
    }
    put64(h + 72, SP_DATA_HEADER_SIZE);
    put64(h + 80, labels_off);
    put64(h + 88, index_off);
    put64(h + 96, records_off);
    put64(h + 104, off);
    put32(h + 112, (uint32_t)crc32(crc32(0L, Z_NULL, 0), t + SP_DATA_HEADER_SIZE,
                                   (uInt)(tsize - SP_DATA_HEADER_SIZE)));
    put32(h + 116, (uint32_t)w->crc);
    put32(h + 124, (uint32_t)crc32(crc32(0L, Z_NULL, 0), h, 124));
    int r = 0;
    if (fwrite(t, 1, tsize, out) != tsize)
        r = sp_errorf("cannot write '%s': %s", out_name, strerror(errno));
    free(t);
    return r < 0 ? r : copy_spool(w, out, out_name);
}

void sp_pack_writer_relabel(sp_pack_writer *w, const int *map)
{
    for (int64_t i = 0; i < w->count; i++)
        w->labels[i] = (uint32_t)map[w->labels[i]];
}

void sp_pack_writer_set_size(sp_pack_writer *w, int height, int width)
{
    w->height = height;
    w->width = width;
}
