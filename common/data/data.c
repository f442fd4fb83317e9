/* data.c: the .spd reader (sp-data(5)): maps the file, validates header,
 * tables and index before handing out a single record, and the view
 * sp-inspect prints. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <cjson/cJSON.h>
#include "sp/base.h"
#include "sp/data.h"

struct sp_dataset {
    char *path;
    const uint8_t *map;
    size_t size;
    int64_t count;
    int classes, channels, height, width, encoding;
    float mean[3], std[3];
    const char **names;
    const uint8_t *labels;     /* count u32 */
    const uint8_t *index;      /* count + 1 u64 */
    uint64_t records_offset;
    uint32_t records_crc;
};

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p) { return rd32(p) | (uint64_t)rd32(p + 4) << 32; }

static float rdf32(const uint8_t *p)
{
    uint32_t u = rd32(p);
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* CRC-32 in pieces small enough for zlib's uInt length. */
static uint32_t crc_of(const uint8_t *p, uint64_t n)
{
    uLong crc = crc32(0L, Z_NULL, 0);
    while (n > 0) {
        uInt k = n > (1u << 30) ? (1u << 30) : (uInt)n;
        crc = crc32(crc, p, k);
        p += k;
        n -= k;
    }
    return (uint32_t)crc;
}

static int bad(sp_dataset *d, const char *what)
{
    return sp_errorf("'%s' is not a valid sp dataset: %s", d->path, what);
}

static int parse_names(sp_dataset *d, uint64_t off, uint64_t end)
{
    d->names = sp_xcalloc((size_t)d->classes, sizeof *d->names);
    const char *p = (const char *)d->map + off, *e = (const char *)d->map + end;
    for (int k = 0; k < d->classes; k++) {
        const char *z = memchr(p, 0, (size_t)(e - p));
        if (!z)
            return bad(d, "the class names table is truncated");
        d->names[k] = p;
        p = z + 1;
    }
    return 0;
}

/* names, labels (count u32), index (count + 1 u64) and records follow each
 * other in that order inside the file; every sum is checked, since the
 * offsets are read from the file and may be anything. */
static int tables_fit(uint64_t names, uint64_t classes, uint64_t labels, uint64_t index,
                      uint64_t records, uint64_t count, uint64_t fsize)
{
    uint64_t names_end, labels_end, index_end, n;
    return names == SP_DATA_HEADER_SIZE && labels % 8 == 0 && index % 8 == 0 &&
           sp_add_u64(&names_end, names, classes) == 0 && labels >= names_end &&
           sp_mul_u64(&n, count, 4) == 0 && sp_add_u64(&labels_end, labels, n) == 0 &&
           index >= labels_end &&
           sp_add_u64(&n, count, 1) == 0 && sp_mul_u64(&n, n, 8) == 0 &&
           sp_add_u64(&index_end, index, n) == 0 && records >= index_end && records <= fsize;
}

static int parse(sp_dataset *d)
{
    const uint8_t *h = d->map;
    if (d->size < SP_DATA_HEADER_SIZE || memcmp(h, SP_DATA_MAGIC, SP_DATA_MAGIC_LEN) != 0)
        return sp_errorf("'%s' is not an sp dataset (bad magic)", d->path);
    if (rd32(h + 8) != SP_DATA_VERSION)
        return sp_errorf("'%s' has dataset format version %u; this sp reads version %d",
                         d->path, rd32(h + 8), SP_DATA_VERSION);
    if (rd32(h + 12) != SP_DATA_HEADER_SIZE || crc_of(h, 124) != rd32(h + 124))
        return bad(d, "the header checksum does not match");
    uint64_t count = rd64(h + 16);
    uint32_t classes = rd32(h + 24);
    d->channels = (int)rd32(h + 28);
    uint32_t hh = rd32(h + 32), ww = rd32(h + 36);
    d->encoding = (int)rd32(h + 40);
    uint64_t names = rd64(h + 72), labels = rd64(h + 80), index = rd64(h + 88);
    uint64_t records = rd64(h + 96), fsize = rd64(h + 104);
    if (d->channels != 1 && d->channels != 3)
        return bad(d, "the channel count is not 1 or 3");
    if (d->encoding != SP_DATA_RAW && d->encoding != SP_DATA_JPEG)
        return bad(d, "unknown record encoding");
    if (hh > 65536 || ww > 65536 || (d->encoding == SP_DATA_RAW && (hh == 0 || ww == 0)))
        return bad(d, "impossible image size");
    if (classes == 0 || classes > (1u << 24) || count > ((uint64_t)1 << 40))
        return bad(d, "impossible record or class count");
    if (fsize != d->size)
        return sp_errorf("'%s' is truncated or extended: %llu bytes, the header says %llu",
                         d->path, (unsigned long long)d->size, (unsigned long long)fsize);
    if (!tables_fit(names, classes, labels, index, records, count, fsize))
        return bad(d, "a table lies outside the file or overlaps another");
    if (crc_of(h + names, records - names) != rd32(h + 112))
        return bad(d, "the tables' checksum does not match");
    d->count = (int64_t)count;
    d->classes = (int)classes;
    d->height = (int)hh;
    d->width = (int)ww;
    for (int c = 0; c < d->channels; c++) {
        d->mean[c] = rdf32(h + 48 + 4 * c);
        d->std[c] = rdf32(h + 60 + 4 * c);
    }
    d->labels = h + labels;
    d->index = h + index;
    d->records_offset = records;
    d->records_crc = rd32(h + 116);
    if (parse_names(d, names, labels) < 0)
        return -1;
    uint64_t raw_len = (uint64_t)hh * ww * (uint64_t)d->channels;
    if (rd64(d->index) != records || rd64(d->index + 8 * count) != fsize)
        return bad(d, "the index does not span the records");
    for (uint64_t i = 0; i < count; i++) {
        uint64_t a = rd64(d->index + 8 * i), b = rd64(d->index + 8 * i + 8);
        if (b < a || b > fsize)
            return sp_errorf("'%s' is not a valid sp dataset: record %llu lies outside the file",
                             d->path, (unsigned long long)i);
        if (d->encoding == SP_DATA_RAW ? b - a != raw_len : b == a)
            return sp_errorf("'%s' is not a valid sp dataset: record %llu has the wrong length",
                             d->path, (unsigned long long)i);
        if (rd32(d->labels + 4 * i) >= classes)
            return sp_errorf("'%s' is not a valid sp dataset: record %llu has label %u of %u classes",
                             d->path, (unsigned long long)i, rd32(d->labels + 4 * i), classes);
    }
    return 0;
}

sp_dataset *sp_data_open(const char *path)
{
    sp_dataset *d = sp_xcalloc(1, sizeof *d);
    d->path = sp_xstrdup(path);
    int fd = open(path, O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        sp_errorf("cannot open '%s': %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        sp_data_close(d);
        return NULL;
    }
    d->size = (size_t)st.st_size;
    if (d->size >= SP_DATA_HEADER_SIZE) {
        void *m = mmap(NULL, d->size, PROT_READ, MAP_SHARED, fd, 0);
        if (m == MAP_FAILED) {
            sp_errorf("cannot map '%s': %s", path, strerror(errno));
            close(fd);
            sp_data_close(d);
            return NULL;
        }
        d->map = m;
    }
    close(fd);
    if (!d->map) {
        sp_errorf("'%s' is not an sp dataset (only %zu bytes)", path, d->size);
        sp_data_close(d);
        return NULL;
    }
    if (parse(d) < 0) {
        sp_data_close(d);
        return NULL;
    }
    return d;
}

void sp_data_close(sp_dataset *d)
{
    if (!d)
        return;
    if (d->map)
        munmap((void *)d->map, d->size);
    free(d->names);
    free(d->path);
    free(d);
}

const char *sp_data_path(const sp_dataset *d) { return d->path; }
int64_t sp_data_count(const sp_dataset *d) { return d->count; }
int sp_data_classes(const sp_dataset *d) { return d->classes; }
const char *sp_data_class_name(const sp_dataset *d, int k) { return d->names[k]; }
int sp_data_height(const sp_dataset *d) { return d->height; }
int sp_data_width(const sp_dataset *d) { return d->width; }
int sp_data_channels(const sp_dataset *d) { return d->channels; }
int sp_data_encoding(const sp_dataset *d) { return d->encoding; }
const float *sp_data_mean(const sp_dataset *d) { return d->mean; }
const float *sp_data_std(const sp_dataset *d) { return d->std; }
int sp_data_label(const sp_dataset *d, int64_t i) { return (int)rd32(d->labels + 4 * i); }

const uint8_t *sp_data_record(const sp_dataset *d, int64_t i, size_t *len)
{
    uint64_t a = rd64(d->index + 8 * i), b = rd64(d->index + 8 * i + 8);
    *len = (size_t)(b - a);
    return d->map + a;
}

int sp_data_verify(const sp_dataset *d)
{
    if (crc_of(d->map + d->records_offset, d->size - d->records_offset) != d->records_crc)
        return sp_errorf("'%s' is damaged: the records' checksum does not match", d->path);
    return 0;
}

int sp_data_decode(const sp_dataset *d, int64_t i, int min_side, sp_image *img)
{
    size_t len;
    const uint8_t *rec = sp_data_record(d, i, &len);
    if (d->encoding == SP_DATA_JPEG) {
        if (sp_image_decode(img, rec, len, d->channels, min_side, min_side) < 0)
            return sp_error_prefix("'%s' record %lld", d->path, (long long)i);
        return 0;
    }
    if (img->cap < len) {
        img->data = sp_xrealloc(img->data, len);
        img->cap = len;
    }
    memcpy(img->data, rec, len);
    img->h = d->height;
    img->w = d->width;
    img->c = d->channels;
    return 0;
}

/* ---- sp-inspect ------------------------------------------------------ */

static int64_t *histogram(const sp_dataset *d)
{
    int64_t *n = sp_xcalloc((size_t)d->classes, sizeof *n);
    for (int64_t i = 0; i < d->count; i++)
        n[sp_data_label(d, i)]++;
    return n;
}

static const char *encoding_name(int e) { return e == SP_DATA_RAW ? "raw" : "jpeg"; }

static int inspect_json(const sp_dataset *d, FILE *out)
{
    int64_t *n = histogram(d);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "format", "sp-data");
    cJSON_AddNumberToObject(o, "version", SP_DATA_VERSION);
    cJSON_AddNumberToObject(o, "records", (double)d->count);
    cJSON_AddNumberToObject(o, "classes", d->classes);
    cJSON_AddNumberToObject(o, "height", d->height);
    cJSON_AddNumberToObject(o, "width", d->width);
    cJSON_AddNumberToObject(o, "channels", d->channels);
    cJSON_AddStringToObject(o, "encoding", encoding_name(d->encoding));
    cJSON *mean = cJSON_AddArrayToObject(o, "mean"), *std = cJSON_AddArrayToObject(o, "std");
    for (int c = 0; c < d->channels; c++) {
        cJSON_AddItemToArray(mean, cJSON_CreateNumber(d->mean[c]));
        cJSON_AddItemToArray(std, cJSON_CreateNumber(d->std[c]));
    }
    cJSON *names = cJSON_AddArrayToObject(o, "class_names");
    cJSON *hist = cJSON_AddArrayToObject(o, "histogram");
    for (int k = 0; k < d->classes; k++) {
        cJSON_AddItemToArray(names, cJSON_CreateString(d->names[k]));
        cJSON_AddItemToArray(hist, cJSON_CreateNumber((double)n[k]));
    }
    char *s = cJSON_Print(o);
    fprintf(out, "%s\n", s);
    free(s);
    cJSON_Delete(o);
    free(n);
    return 0;
}

static int inspect_text(const sp_dataset *d, FILE *out)
{
    int64_t *n = histogram(d);
    fprintf(out, "dataset:  %s (sp-data version %d)\n", d->path, SP_DATA_VERSION);
    fprintf(out, "records:  %lld\n", (long long)d->count);
    if (d->height)
        fprintf(out, "size:     %dx%dx%d (HxWxC), %s\n", d->height, d->width, d->channels,
                encoding_name(d->encoding));
    else
        fprintf(out, "size:     source size x %d channel%s, %s\n", d->channels,
                SP_PLURAL(d->channels), encoding_name(d->encoding));
    fprintf(out, "mean:    ");
    for (int c = 0; c < d->channels; c++)
        fprintf(out, " %.4f", d->mean[c]);
    fprintf(out, "\nstd:     ");
    for (int c = 0; c < d->channels; c++)
        fprintf(out, " %.4f", d->std[c]);
    fprintf(out, "\nclasses:  %d\n", d->classes);
    fprintf(out, "%7s %10s  %s\n", "label", "records", "name");
    for (int k = 0; k < d->classes; k++)
        fprintf(out, "%7d %10lld  %s\n", k, (long long)n[k], d->names[k]);
    free(n);
    return 0;
}

static int inspect_record(const sp_dataset *d, long record, FILE *out)
{
    if (record >= d->count)
        return sp_errorf("'%s' has %lld records; there is no record %ld", d->path,
                         (long long)d->count, record);
    sp_image img = {0};
    if (sp_data_decode(d, record, 0, &img) < 0)
        return -1;
    fprintf(out, "P%c\n%d %d\n255\n", img.c == 1 ? '5' : '6', img.w, img.h);
    fwrite(img.data, 1, (size_t)img.h * img.w * img.c, out);
    sp_image_free(&img);
    return 0;
}

int sp_data_inspect(const char *path, int json, long record, FILE *out)
{
    sp_dataset *d = sp_data_open(path);
    if (!d)
        return -1;
    int r = record >= 0 ? inspect_record(d, record, out)
            : json ? inspect_json(d, out) : inspect_text(d, out);
    sp_data_close(d);
    return r;
}
