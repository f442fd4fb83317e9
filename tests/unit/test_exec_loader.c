/* test_exec_loader.c: the data path of training (augment.c, loader.c).
 *
 * A small raw dataset is written with the pack writer, every pixel a known
 * function of (record, y, x, channel), so each output can be checked
 * against values computed here:
 *   - without augmentation a sample is exactly (p/255 - mean)/std, CHW;
 *   - a padded random crop with flip is one of the legal crops of the
 *     zero-padded record, and the same (seed, epoch, index) gives the same
 *     one, from any thread;
 *   - an epoch visits every record once; a new epoch reorders them;
 *     restarting an epoch at batch k gives the same batches as reading it
 *     through, with 1 or 3 worker threads. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "sp/base.h"
#include "sp/data.h"
#include "sp/pack.h"
#include "sp/loader.h"
#include "testlib.h"

#define N 37
#define C 3
#define H 6
#define W 5

static uint8_t pix(int i, int y, int x, int c)
{
    return (uint8_t)((i * 37 + y * 11 + x * 3 + c * 101 + 1) % 251);
}

static sp_dataset *make_dataset(char *path)
{
    int fd = mkstemp(path);
    FILE *f = fd >= 0 ? fdopen(fd, "wb") : NULL;
    sp_pack_writer *w = sp_pack_writer_open(NULL, C, H, W, SP_DATA_RAW);
    uint8_t rec[H * W * C];
    for (int i = 0; i < N; i++) {
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++)
                for (int c = 0; c < C; c++)
                    rec[(y * W + x) * C + c] = pix(i, y, x, c);
        if (sp_pack_writer_add(w, i % 4, rec, sizeof rec, NULL, 0) < 0)
            return NULL;
    }
    char *names[4] = {"a", "b", "c", "d"};
    if (!f || sp_pack_writer_finish(w, 4, names, f, path) < 0 || fclose(f) != 0)
        return NULL;
    sp_pack_writer_free(w);
    return sp_data_open(path);
}

static sp_loader_opts opts(sp_augment a, int h, int w)
{
    sp_loader_opts o = {8, 1, 0, a, 5, C, h, w, {0.25f, 0.5f, 0.75f}, {0.5f, 0.25f, 2.0f}, 2, 0, 0};
    return o;
}

static float norm(const sp_loader_opts *o, int p, int c)
{
    return ((float)p / 255.0f - o->mean[c]) / o->std[c];
}

static void check_plain(const sp_dataset *d)
{
    sp_loader_opts o = opts(SP_AUG_NONE, H, W);
    float out[C * H * W];
    double worst = 0;
    for (int i = 0; i < N; i++) {
        sp_augment_sample(d, i, &o, 0, out);
        for (int c = 0; c < C; c++)
            for (int y = 0; y < H; y++)
                for (int x = 0; x < W; x++)
                    worst = fmax(worst, fabs(out[(c * H + y) * W + x] - norm(&o, pix(i, y, x, c), c)));
    }
    CHECKF(worst < 1e-5, "loader_plain_normalise", "max error %.3g", worst);
}

/* Is out one of the crops (offset dy, dx in [-4, 4], optional flip) of the
 * zero-padded record i? */
static int is_padded_crop(const sp_loader_opts *o, int i, const float *out)
{
    for (int flip = 0; flip < 2; flip++)
        for (int dy = -4; dy <= 4 + H - o->h; dy++)
            for (int dx = -4; dx <= 4 + W - o->w; dx++) {
                int same = 1;
                for (int c = 0; c < C && same; c++)
                    for (int y = 0; y < o->h && same; y++)
                        for (int x = 0; x < o->w && same; x++) {
                            int sy = y + dy, sx = (flip ? o->w - 1 - x : x) + dx;
                            int p = sy < 0 || sy >= H || sx < 0 || sx >= W ? 0 : pix(i, sy, sx, c);
                            same = fabsf(out[(c * o->h + y) * o->w + x] - norm(o, p, c)) < 1e-5f;
                        }
                if (same)
                    return 1;
            }
    return 0;
}

static void check_cifar(const sp_dataset *d)
{
    sp_loader_opts o = opts(SP_AUG_CIFAR, H, W);
    float a[C * H * W], b[C * H * W];
    int legal = 1, repeat = 1, varies = 0;
    for (int i = 0; i < N; i++) {
        sp_augment_sample(d, i, &o, 3, a);
        legal &= is_padded_crop(&o, i, a);
        sp_augment_sample(d, i, &o, 3, b);
        repeat &= memcmp(a, b, sizeof a) == 0;
        sp_augment_sample(d, i, &o, 4, b);
        varies += memcmp(a, b, sizeof a) != 0;
    }
    CHECK(legal, "loader_cifar_is_padded_crop");
    CHECK(repeat, "loader_cifar_same_seed_epoch_index");
    CHECKF(varies > N / 2, "loader_cifar_epochs_differ", "%d of %d differ", varies, N);
}

static void check_imagenet(const sp_dataset *d)
{
    sp_loader_opts o = opts(SP_AUG_IMAGENET, 4, 4);
    float a[C * 16], b[C * 16];
    int finite = 1, repeat = 1;
    for (int i = 0; i < N; i++) {
        sp_augment_sample(d, i, &o, 1, a);
        sp_augment_sample(d, i, &o, 1, b);
        repeat &= memcmp(a, b, sizeof a) == 0;
        for (int k = 0; k < C * 16; k++)
            finite &= a[k] >= norm(&o, 0, k / 16) - 1e-5f && a[k] <= norm(&o, 255, k / 16) + 1e-5f;
    }
    CHECK(repeat && finite, "loader_random_resized_crop");
}

/* An epoch's labels and first pixels, batch by batch. */
static int read_epoch(const sp_dataset *d, int threads, int epoch, int64_t first, float *first_px,
                      int *count)
{
    sp_loader_opts o = opts(SP_AUG_CIFAR, H, W);
    o.threads = threads;
    sp_loader *l = sp_loader_new(d, &o);
    if (!l)
        return -1;
    sp_loader_start(l, epoch, first);
    const float *img;
    const int32_t *lab;
    int n, k = (int)first * o.batch;
    while (sp_loader_next(l, &img, &lab, &n) > 0)
        for (int i = 0; i < n; i++, k++)
            first_px[k] = img[(size_t)i * C * H * W + 2 * W + 2];  /* inside any crop's reach */
    *count = k;
    sp_loader_free(l);
    return 0;
}

static void check_loader(const sp_dataset *d)
{
    float a[N], b[N], c[N], e1[N];
    int na, nb, nc, n1;
    read_epoch(d, 1, 0, 0, a, &na);
    read_epoch(d, 3, 0, 0, b, &nb);
    memcpy(c, a, sizeof c);
    read_epoch(d, 2, 0, 2, c, &nc);
    read_epoch(d, 2, 1, 0, e1, &n1);
    CHECKF(na == N && nb == N && nc == N && n1 == N, "loader_epoch_length", "%d %d %d %d", na, nb, nc, n1);
    CHECK(memcmp(a, b, sizeof a) == 0, "loader_threads_same_batches");
    CHECK(memcmp(a, c, sizeof a) == 0, "loader_restart_mid_epoch_same_batches");
    CHECK(memcmp(a, e1, sizeof a) != 0, "loader_new_epoch_new_order");
    /* every record once: epoch 0 without augmentation, identified by label
     * and pixel pattern */
    sp_loader_opts o = opts(SP_AUG_NONE, H, W);
    sp_loader *l = sp_loader_new(d, &o);
    int seen[N] = {0}, dup = 0;
    const float *img;
    const int32_t *lab;
    int n;
    sp_loader_start(l, 0, 0);
    while (sp_loader_next(l, &img, &lab, &n) > 0)
        for (int i = 0; i < n; i++)
            for (int r = 0; r < N; r++)
                if (fabsf(img[(size_t)i * C * H * W] - norm(&o, pix(r, 0, 0, 0), 0)) < 1e-6f &&
                    lab[i] == r % 4)
                    dup += seen[r]++ > 0;
    int all = 1;
    for (int r = 0; r < N; r++)
        all &= seen[r] == 1;
    CHECK(all && !dup, "loader_every_record_once");
    sp_loader_free(l);
}

/* Three processes' shares of every batch (sp/dist.h), put back in place,
 * are the whole batches, augmentation included. */
static void check_shares(const sp_dataset *d)
{
    float whole[N], got[N];
    int nw, count = 0, totals_ok = 1;
    read_epoch(d, 2, 0, 0, whole, &nw);
    for (int k = 0; k < N; k++)
        got[k] = NAN;
    for (int part = 0; part < 3; part++) {
        sp_loader_opts o = opts(SP_AUG_CIFAR, H, W);
        o.part = part;
        o.parts = 3;
        sp_loader *l = sp_loader_new(d, &o);
        const float *img;
        const int32_t *lab;
        int n;
        sp_loader_start(l, 0, 0);
        for (int b = 0; sp_loader_next(l, &img, &lab, &n) > 0; b++) {
            int total = sp_loader_total(l), lo = total * part / 3;
            totals_ok &= total == (N - b * o.batch < o.batch ? N - b * o.batch : o.batch);
            for (int i = 0; i < n; i++, count++)
                got[b * o.batch + lo + i] = img[(size_t)i * C * H * W + 2 * W + 2];
        }
        sp_loader_free(l);
    }
    CHECKF(count == N && totals_ok, "loader_shares_cover_the_batches", "%d of %d samples", count, N);
    CHECK(memcmp(whole, got, sizeof got) == 0, "loader_shares_are_the_whole_batch");
}

int main(void)
{
    char path[] = "/tmp/sp-test-loader-XXXXXX";
    sp_dataset *d = make_dataset(path);
    if (!d) {
        printf("not ok loader_dataset - %s\n", sp_error());
        unlink(path);
        return 1;
    }
    check_plain(d);
    check_shares(d);
    check_cifar(d);
    check_imagenet(d);
    check_loader(d);
    sp_data_close(d);
    unlink(path);
    return t_done();
}
