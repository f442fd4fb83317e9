/* test_data.c: the .spd writer and reader, damaged files, sp_data_inspect,
 * the image helpers (JPEG round trip, DCT scaling, resampling) and sp-pack's
 * class labels. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include "sp/base.h"
#include "sp/data.h"
#include "sp/pack.h"
#include "pack/pack_priv.h"
#include "testlib.h"

#define N 7
#define H 2
#define W 3
#define C 3

static char path[256], bad[256];
static uint8_t pix[N][H * W * C];
static const int labels[N] = {0, 2, 1, 2, 2, 0, 1};

static int write_dataset(void)
{
    for (int i = 0; i < N; i++)
        for (int k = 0; k < H * W * C; k++)
            pix[i][k] = (uint8_t)((i * 37 + k * 11) % 256);
    sp_pack_writer *w = sp_pack_writer_open(NULL, C, H, W, SP_DATA_RAW);
    if (!w)
        return -1;
    for (int i = 0; i < N; i++)
        if (sp_pack_writer_add(w, labels[i], pix[i], sizeof pix[i], NULL, 0) < 0)
            return -1;
    char *names[] = {"zero", "one", "two"};
    FILE *f = fopen(path, "wb");
    int r = sp_pack_writer_finish(w, 3, names, f, path);
    sp_pack_writer_free(w);
    return fclose(f) == 0 ? r : -1;
}

static void test_reader(void)
{
    sp_dataset *d = sp_data_open(path);
    if (!CHECKF(d != NULL, "data-open", "%s", sp_error()))
        return;
    CHECK(sp_data_count(d) == N && sp_data_classes(d) == 3, "data-counts");
    CHECK(sp_data_height(d) == H && sp_data_width(d) == W && sp_data_channels(d) == C, "data-size");
    CHECK(sp_data_encoding(d) == SP_DATA_RAW, "data-encoding");
    CHECK(strcmp(sp_data_class_name(d, 2), "two") == 0, "data-names");
    int lab = 1, rec = 1;
    for (int i = 0; i < N; i++) {
        size_t len;
        const uint8_t *p = sp_data_record(d, i, &len);
        lab &= sp_data_label(d, i) == labels[i];
        rec &= len == sizeof pix[i] && memcmp(p, pix[i], len) == 0;
    }
    CHECK(lab, "data-labels");
    CHECK(rec, "data-records");
    double err = 0;
    for (int c = 0; c < C; c++) {    /* the statistics, computed here in double */
        double s = 0, q = 0;
        for (int i = 0; i < N; i++)
            for (int k = c; k < H * W * C; k += C) {
                s += pix[i][k] / 255.0;
                q += (pix[i][k] / 255.0) * (pix[i][k] / 255.0);
            }
        double m = s / (N * H * W), sd = sqrt(q / (N * H * W) - m * m);
        err = fmax(err, fmax(fabs(m - sp_data_mean(d)[c]), fabs(sd - sp_data_std(d)[c])));
    }
    CHECKF(err < 1e-6, "data-mean-std", "error %g", err);
    CHECKF(sp_data_verify(d) == 0, "data-verify", "%s", sp_error());
    sp_image img = {0};
    CHECK(sp_data_decode(d, 4, 0, &img) == 0 && img.h == H && img.w == W
          && memcmp(img.data, pix[4], sizeof pix[4]) == 0, "data-decode-raw");
    sp_image_free(&img);
    sp_data_close(d);
}

static uint8_t *slurp(const char *p, size_t *n)
{
    FILE *f = fopen(p, "rb");
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    rewind(f);
    uint8_t *b = sp_xmalloc(*n);
    if (fread(b, 1, *n, f) != *n)
        *n = 0;
    fclose(f);
    return b;
}

static void spit(const char *p, const uint8_t *b, size_t n)
{
    FILE *f = fopen(p, "wb");
    fwrite(b, 1, n, f);
    fclose(f);
}

static uint64_t rd64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static void wr32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Re-seal the checksums, so that the deeper checks are the ones to fire. */
static void reseal(uint8_t *b)
{
    uint64_t names = rd64(b + 72), records = rd64(b + 96);
    wr32(b + 112, sp_crc32(0, b + names, records - names));
    wr32(b + 124, sp_crc32(0, b, 124));
}

/* The damaged copy must be refused with one sentence naming the file and
 * containing `want`. */
static void expect_refused(const uint8_t *b, size_t n, const char *want, const char *name)
{
    spit(bad, b, n);
    sp_dataset *d = sp_data_open(bad);
    const char *e = sp_error();
    CHECKF(!d && strstr(e, bad) && strstr(e, want) && !strchr(e, '\n'), name, "got '%s'",
           d ? "(opened)" : e);
    sp_data_close(d);
}

static void test_damaged(void)
{
    size_t n;
    uint8_t *good = slurp(path, &n), *b = sp_xmalloc(n);
    uint64_t labels_off = rd64(good + 80), index = rd64(good + 88), records = rd64(good + 96);

    memcpy(b, good, n);
    b[0] = 'x';
    expect_refused(b, n, "magic", "damaged-magic");
    memcpy(b, good, n);
    b[20] ^= 1;
    expect_refused(b, n, "header checksum", "damaged-header");
    expect_refused(good, n - 1, "truncated", "damaged-truncated");
    expect_refused(good, 50, "not an sp dataset", "damaged-short");
    memcpy(b, good, n);
    b[labels_off + 4] ^= 1;
    expect_refused(b, n, "tables' checksum", "damaged-tables");
    memcpy(b, good, n);
    b[labels_off + 4] = 9;
    reseal(b);
    expect_refused(b, n, "label 9", "damaged-label");
    memcpy(b, good, n);
    b[index + 8 * 3 + 5] = 0x7f;      /* record 3 starts far outside the file */
    reseal(b);
    expect_refused(b, n, "record 2", "damaged-offset");
    memcpy(b, good, n);
    b[records + 5] ^= 0x40;
    spit(bad, b, n);
    sp_dataset *d = sp_data_open(bad);
    CHECK(d && sp_data_verify(d) < 0 && strstr(sp_error(), "records' checksum"), "damaged-records");
    sp_data_close(d);
    unlink(bad);
    free(good);
    free(b);
}

static char *inspect(int json, long record, size_t *len)
{
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);
    int r = sp_data_inspect(path, json, record, f);
    fclose(f);
    if (r < 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

static void test_inspect(void)
{
    size_t len;
    char *text = inspect(0, -1, &len);
    CHECK(text && strstr(text, "records:  7") && strstr(text, "2x3x3")
          && strstr(text, "      2          3  two"), "inspect-text");
    free(text);
    char *json = inspect(1, -1, &len);
    cJSON *o = json ? cJSON_Parse(json) : NULL;
    cJSON *hist = cJSON_GetObjectItem(o, "histogram");
    CHECK(o && cJSON_GetObjectItem(o, "records")->valueint == N && cJSON_GetArraySize(hist) == 3
          && cJSON_GetArrayItem(hist, 0)->valueint == 2 && cJSON_GetArrayItem(hist, 2)->valueint == 3
          && strcmp(cJSON_GetArrayItem(cJSON_GetObjectItem(o, "class_names"), 1)->valuestring, "one") == 0,
          "inspect-json");
    cJSON_Delete(o);
    free(json);
    char *ppm = inspect(0, 5, &len);
    const char *head = "P6\n3 2\n255\n";
    CHECK(ppm && len == strlen(head) + sizeof pix[5] && memcmp(ppm, head, strlen(head)) == 0
          && memcmp(ppm + strlen(head), pix[5], sizeof pix[5]) == 0, "inspect-record-ppm");
    free(ppm);
    CHECK(inspect(0, N, &len) == NULL && strstr(sp_error(), "no record 7"), "inspect-record-range");
}

static void test_images(void)
{
    enum { IH = 48, IW = 64 };
    uint8_t *src = sp_xmalloc(IH * IW * 3), *jpg = NULL;
    for (int y = 0; y < IH; y++)
        for (int x = 0; x < IW; x++)
            for (int c = 0; c < 3; c++)
                src[(y * IW + x) * 3 + c] = (uint8_t)(40 + 2 * x + y + 30 * c);
    sp_image img = {0};
    size_t cap = 0, len = 0;
    int r = sp_image_encode_jpeg(&img, src, IH, IW, 3, 95, &jpg, &cap, &len);
    CHECK(r == 0 && sp_image_decode(&img, jpg, len, 3, 0, 0) == 0 && img.h == IH && img.w == IW,
          "image-jpeg-roundtrip");
    double e = 0;
    for (int i = 0; i < IH * IW * 3; i++)
        e += abs(img.data[i] - src[i]);
    CHECKF(e / (IH * IW * 3) < 2, "image-jpeg-quality", "mean error %g", e / (IH * IW * 3));
    int h, w;
    CHECK(sp_image_probe(jpg, len, &h, &w) == 0 && h == IH && w == IW, "image-probe");
    /* scales 1/2, 1/4, 1/8: the smallest keeping both sides >= 10 is 1/4 */
    CHECKF(sp_image_decode(&img, jpg, len, 3, 10, 10) == 0 && img.h == 12 && img.w == 16,
           "image-dct-scaling", "%dx%d", img.h, img.w);
    CHECK(sp_image_decode(&img, jpg, len / 2, 3, 0, 0) < 0 && strstr(sp_error(), "corrupt JPEG"),
          "image-truncated-jpeg");
    CHECK(sp_image_decode(&img, jpg, len, 3, 0, 0) == 0, "image-decoder-recovers");
    CHECK(sp_image_decode(&img, (const uint8_t *)"hello world", 11, 3, 0, 0) < 0, "image-not-an-image");
    /* a header cut before the frame size gives no size, not a garbage one */
    h = w = 12345;
    CHECKF(sp_image_probe(jpg, 17, &h, &w) < 0 && h == 0 && w == 0, "image-probe-cut-header",
           "%dx%d %s", h, w, sp_error());
    CHECKF(sp_image_decode(&img, jpg, 17, 3, 0, 0) < 0 && strstr(sp_error(), "corrupt JPEG"),
           "image-decode-cut-header", "%s", sp_error());
    /* the pixel cap refuses before decoding; an image within it decodes */
    img.max_pixels = IH * IW - 1;
    CHECKF(sp_image_decode(&img, jpg, len, 3, 0, 0) < 0 &&
           strstr(sp_error(), "JPEG of 64x48 pixels is larger than the limit of 3071 pixels"),
           "image-pixel-cap", "%s", sp_error());
    img.max_pixels = IH * IW;
    CHECK(sp_image_decode(&img, jpg, len, 3, 0, 0) == 0, "image-pixel-cap-inclusive");
    img.max_pixels = 0;

    /* a linear ramp stays linear away from the borders (the triangle
     * filter reproduces linear functions), a constant stays constant */
    uint8_t ramp[1][64], out[1][16], flat[10 * 10], fo[3 * 7];
    for (int x = 0; x < 64; x++)
        ramp[0][x] = (uint8_t)(4 * x);
    sp_image_resize(&ramp[0][0], 1, 64, 64, 1, &out[0][0], 1, 16);
    int lin = 1;
    for (int x = 1; x < 15; x++)     /* output x covers source 4x..4x+4, centre 4x+1.5 */
        lin &= abs(out[0][x] - (int)lrint(4 * (4 * x + 1.5))) <= 1;
    CHECK(lin, "resize-linear");
    memset(flat, 77, sizeof flat);
    sp_image_resize(flat, 10, 10, 10, 1, fo, 3, 7);
    int same = 1;
    for (int i = 0; i < 21; i++)
        same &= fo[i] == 77;
    CHECK(same, "resize-constant");
    /* shorter side: 48x64 -> 12x16, then columns 2..13 */
    uint8_t *tmp = NULL, crop[12 * 12 * 3], full[12 * 16 * 3];
    size_t tcap = 0;
    sp_image_fit(src, IH, IW, 3, crop, 12, 12, SP_RESIZE_SHORTER, &tmp, &tcap);
    sp_image_resize(src, IH, IW, IW * 3, 3, full, 12, 16);
    int fit = 1;
    for (int y = 0; y < 12; y++)
        fit &= memcmp(crop + y * 36, full + (y * 16 + 2) * 3, 36) == 0;
    CHECK(fit, "fit-centre-crop");
    free(tmp);
    free(jpg);
    free(src);
    sp_image_free(&img);
}

static sp_pack_ctx *label_ctx(sp_pack_opts *o, char **classes, int nclasses)
{
    memset(o, 0, sizeof *o);
    o->threads = 1;
    o->classes = classes;
    o->nclasses = nclasses;
    return sp_pack_ctx_new(o, C, 1);
}

/* Classes are numbered in order of first appearance; with --classes-from
 * a class outside the list is -1, and a name listed twice is its later
 * entry. */
static void test_labels(void)
{
    sp_pack_opts o;
    sp_pack_ctx *x = label_ctx(&o, NULL, 0);
    if (!CHECKF(x != NULL, "labels-ctx", "%s", sp_error()))
        return;
    int a = sp_pack_label(x, "cat"), b = sp_pack_label(x, "dog"), a2 = sp_pack_label(x, "cat");
    CHECKF(a == 0 && b == 1 && a2 == 0 && sp_pack_label(x, "") == 2 &&
           sp_pack_label(x, "dog") == 1, "labels-first-appearance", "%d %d %d", a, b, a2);
    sp_pack_ctx_free(x);
    char *listed[] = {"b", "a", "b"};
    x = label_ctx(&o, listed, 3);
    if (!CHECKF(x != NULL, "labels-fixed-ctx", "%s", sp_error()))
        return;
    CHECK(sp_pack_label(x, "a") == 1 && sp_pack_label(x, "b") == 2 &&
          sp_pack_label(x, "c") == -1 && sp_pack_label(x, "c") == -1, "labels-fixed");
    sp_pack_ctx_free(x);
}

/* A reader meeting n classes costs n log n or less: a scan of the classes
 * for each would take about 2^32 name comparisons here (9 s of CPU at
 * -O2), a hash or an index well under a second. */
static void test_labels_many(void)
{
    sp_pack_opts o;
    sp_pack_ctx *x = label_ctx(&o, NULL, 0);
    if (!CHECKF(x != NULL, "labels-many-ctx", "%s", sp_error()))
        return;
    int n = 1 << 16, ok = 1;
    char name[32];
    clock_t t0 = clock();
    for (int round = 0; round < 2; round++)
        for (int k = 0; k < n; k++) {
            snprintf(name, sizeof name, "n%08d", k);
            ok &= sp_pack_label(x, name) == k;
        }
    double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
    CHECK(ok, "labels-many");
    CHECKF(secs < 4, "labels-many-fast", "%.1f s of CPU for %d classes", secs, n);
    sp_pack_ctx_free(x);
}

int main(void)
{
    snprintf(path, sizeof path, "/tmp/test_data_%ld.spd", (long)getpid());
    snprintf(bad, sizeof bad, "/tmp/test_data_%ld_bad.spd", (long)getpid());
    if (CHECKF(write_dataset() == 0, "data-write", "%s", sp_error())) {
        test_reader();
        test_damaged();
        test_inspect();
    }
    test_images();
    test_labels();
    test_labels_many();
    unlink(path);
    return t_done();
}
