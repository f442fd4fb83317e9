/* pack_ctx.c: the sp-pack pipeline between the readers and the writer.
 *
 * Readers push images (file bytes or raw pixels) in source order; they are
 * gathered in batches, decoded, resized and encoded by worker threads, and
 * appended to the writer in the order they were pushed, so the output does
 * not depend on --threads.  Classes are collected as they appear and
 * relabelled at the end; a hash table of their names finds a class in
 * constant time, so a reader meeting n classes costs n, not n^2. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include "sp/base.h"
#include "sp/data.h"
#include "pack_priv.h"

#define BATCH 256

struct item {
    int label, h, w;
    char *name;
    uint8_t *data;
    size_t len, cap;
    uint8_t *rec, *pix;          /* results: record bytes, pixels for stats */
    size_t rec_len, rec_cap, pix_cap, npix;
    int out_h, out_w;
    int rec_is_data, failed;
    int lossy;                   /* a lossless source stored as JPEG */
    char *err;
};

struct batch {
    struct item items[BATCH];
    int n, running;
    atomic_int next;
    pthread_t tid[64];
    int started[64];
};

struct sp_pack_ctx {
    const sp_pack_opts *o;
    int channels;
    sp_pack_writer *w;
    char **names;
    int nnames, cap_names, fixed, keep_order, numeric;
    int *slot;                    /* names by hash: index + 1, 0 empty */
    int nslot;                    /* a power of two above twice nnames */
    char *seen;                   /* per --classes-from class: met in the input */
    int fixed_size, height, width;   /* every record has the first one's size */
    struct batch *b[2];           /* one being filled, one being processed */
    int cur;
    int64_t skipped, total, lossy;
    struct worker *workers;
    int nworkers;
};

struct worker {
    sp_pack_ctx *x;
    struct batch *b;
    sp_image img;
    uint8_t *tmp;
    size_t tmp_cap;
};

const sp_pack_opts *sp_pack_options(const sp_pack_ctx *x) { return x->o; }
void sp_pack_keep_class_order(sp_pack_ctx *x) { x->keep_order = 1; }
void sp_pack_set_total(sp_pack_ctx *x, int64_t total) { x->total = total; }

static uint32_t name_hash(const char *s)
{
    uint32_t h = 2166136261u;     /* FNV-1a */
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 16777619u;
    }
    return h;
}

/* The slot that holds name, or the empty one where it would go. */
static int *name_slot(const sp_pack_ctx *x, const char *name)
{
    uint32_t mask = (uint32_t)x->nslot - 1;
    for (uint32_t i = name_hash(name) & mask;; i = (i + 1) & mask) {
        int *s = &x->slot[i];
        if (*s == 0 || strcmp(x->names[*s - 1], name) == 0)
            return s;
    }
}

/* A name met twice (--classes-from may list one twice) keeps the later
 * index, the one a scan from the newest class finds. */
static void index_names(sp_pack_ctx *x)
{
    free(x->slot);
    x->nslot = 64;
    while (x->nslot < 2 * x->nnames + 2)
        x->nslot *= 2;
    x->slot = sp_xcalloc((size_t)x->nslot, sizeof *x->slot);
    for (int k = 0; k < x->nnames; k++)
        *name_slot(x, x->names[k]) = k + 1;
}

static int add_name(sp_pack_ctx *x, const char *name)
{
    if (x->nnames == x->cap_names) {
        x->cap_names = x->cap_names ? 2 * x->cap_names : 64;
        x->names = sp_xrealloc(x->names, sizeof *x->names * (size_t)x->cap_names);
    }
    x->names[x->nnames] = sp_xstrdup(name);
    x->nnames++;
    if (x->nslot < 2 * x->nnames + 2)
        index_names(x);
    else
        *name_slot(x, name) = x->nnames;
    return x->nnames - 1;
}

int sp_pack_label(sp_pack_ctx *x, const char *name)
{
    int k = x->nslot ? *name_slot(x, name) - 1 : -1;
    if (k >= 0) {
        if (x->fixed)
            x->seen[k] = 1;
        return k;
    }
    return x->fixed ? -1 : add_name(x, name);
}

int sp_pack_label_index(sp_pack_ctx *x, long index)
{
    if (index < 0 || index >= (1L << 24) || (x->fixed && index >= x->nnames))
        return sp_errorf("class index %ld is outside the %d classes", index, x->nnames);
    x->keep_order = 1;
    x->numeric = 1;
    while (x->nnames <= index) {
        char num[24];
        snprintf(num, sizeof num, "%d", x->nnames);
        add_name(x, num);
    }
    return (int)index;
}

/* Pixels of the final size for item t, in wk->img or t->pix.  keep: the
 * JPEG is stored as it is. */
static int transform(struct worker *wk, struct item *t, int keep, const uint8_t **px, int *h,
                     int *w)
{
    const sp_pack_opts *o = wk->x->o;
    int c = wk->x->channels;
    if (t->h) {
        *px = t->data;
        *h = t->h;
        *w = t->w;
    } else {
        /* DCT scaling stops while the image still covers the target; a
         * JPEG kept as it is needs decoding only to be checked and to feed
         * the statistics, which 1/8 scale does as well */
        if (sp_image_decode(&wk->img, t->data, t->len, c, keep ? 1 : o->height,
                            keep ? 1 : o->width) < 0)
            return -1;
        *px = wk->img.data;
        *h = wk->img.h;
        *w = wk->img.w;
    }
    if (!o->height || (*h == o->height && *w == o->width))
        return 0;
    size_t need = (size_t)o->height * o->width * c;
    if (t->pix_cap < need) {
        t->pix = sp_xrealloc(t->pix, need);
        t->pix_cap = need;
    }
    sp_image_fit(*px, *h, *w, c, t->pix, o->height, o->width, o->resize, &wk->tmp, &wk->tmp_cap);
    *px = t->pix;
    *h = o->height;
    *w = o->width;
    return 0;
}

static int process(struct worker *wk, struct item *t)
{
    const sp_pack_opts *o = wk->x->o;
    int c = wk->x->channels, h, w;
    const uint8_t *px;
    int keep = o->encoding == SP_DATA_JPEG && !t->h && !o->height
               && sp_image_jpeg_plain(t->data, t->len);
    if (transform(wk, t, keep, &px, &h, &w) < 0)
        return -1;
    size_t npix = (size_t)h * w;
    if (keep) {
        t->rec_is_data = 1;
        t->rec_len = t->len;
    } else if (o->encoding == SP_DATA_JPEG) {
        t->lossy = !(t->len >= 3 && t->data[0] == 0xff && t->data[1] == 0xd8 && t->data[2] == 0xff);
        if (sp_image_encode_jpeg(&wk->img, px, h, w, c, o->quality, &t->rec, &t->rec_cap,
                                 &t->rec_len) < 0)
            return -1;
    } else {
        if (t->rec_cap < npix * c) {
            t->rec = sp_xrealloc(t->rec, npix * c);
            t->rec_cap = npix * c;
        }
        memcpy(t->rec, px, npix * c);
        t->rec_len = npix * c;
    }
    if (t->pix_cap < npix * c) {
        t->pix = sp_xrealloc(t->pix, npix * c);
        t->pix_cap = npix * c;
    }
    if (px != t->pix)
        memcpy(t->pix, px, npix * c);
    t->npix = npix;
    t->out_h = h;
    t->out_w = w;
    return 0;
}

/* Items go to the worker that asks next, so one large image does not hold
 * up the images queued behind it. */
static void *work(void *arg)
{
    struct worker *wk = arg;
    struct batch *b = wk->b;
    for (int i; (i = atomic_fetch_add(&b->next, 1)) < b->n;) {
        struct item *t = &b->items[i];
        t->rec_is_data = t->lossy = 0;
        t->failed = process(wk, t) < 0;
        if (t->failed)
            t->err = sp_xstrdup(sp_error());
    }
    return NULL;
}

/* Process batch b: in this thread with one worker, else in the workers'
 * threads while this one goes on reading. */
static void start(sp_pack_ctx *x, struct batch *b)
{
    atomic_store(&b->next, 0);
    for (int k = 0; k <= x->nworkers; k++)
        x->workers[k].b = b;
    b->running = 1;
    if (x->nworkers == 1) {
        work(&x->workers[0]);
        return;
    }
    for (int k = 0; k < x->nworkers; k++)
        b->started[k] = pthread_create(&b->tid[k], NULL, work, &x->workers[k]) == 0;
}

static void join(sp_pack_ctx *x, struct batch *b)
{
    int missing = 0;
    for (int k = 0; k < x->nworkers && x->nworkers > 1; k++) {
        if (b->started[k])
            pthread_join(b->tid[k], NULL);
        else
            missing = 1;
        b->started[k] = 0;
    }
    if (missing)                  /* a thread that did not start: its share here */
        work(&x->workers[x->nworkers]);
    b->running = 0;
}

/* Wait for batch b and append its records in order. */
static int finish(sp_pack_ctx *x, struct batch *b)
{
    join(x, b);
    int r = 0;
    for (int i = 0; i < b->n && r == 0; i++) {
        struct item *t = &b->items[i];
        if (t->failed) {
            if (x->o->strict) {
                r = sp_errorf("'%s': %s", t->name, t->err);
            } else {
                char *m = sp_xasprintf("skipped '%s': %s", t->name, t->err);
                if (x->o->warn)
                    x->o->warn(m);
                free(m);
                x->skipped++;
            }
        } else if (!x->o->limit || sp_pack_writer_count(x->w) < x->o->limit) {
            x->lossy += t->lossy;
            if (x->fixed_size && !x->height) {
                x->height = t->out_h;
                x->width = t->out_w;
                sp_pack_writer_set_size(x->w, x->height, x->width);
            }
            if (x->fixed_size && (t->out_h != x->height || t->out_w != x->width))
                r = sp_errorf("'%s' is %dx%d, not %dx%d as the records before it; use --size",
                              t->name, t->out_h, t->out_w, x->height, x->width);
            else
                r = sp_pack_writer_add(x->w, t->label, t->rec_is_data ? t->data : t->rec,
                                       t->rec_len, t->pix, t->npix);
        }
    }
    for (int i = 0; i < b->n; i++) {
        free(b->items[i].err);
        free(b->items[i].name);
        b->items[i].err = b->items[i].name = NULL;
    }
    b->n = 0;
    if (x->o->progress)
        x->o->progress(sp_pack_writer_count(x->w), x->total);
    return r;
}

/* Start the current batch after finishing the one before it.  With
 * --limit the batch is finished at once, to count exactly. */
static int next_batch(sp_pack_ctx *x)
{
    struct batch *b = x->b[x->cur], *prev = x->b[!x->cur];
    if (prev->running && finish(x, prev) < 0)
        return -1;
    if (b->n == 0)
        return 0;
    start(x, b);
    x->cur = !x->cur;
    return x->o->limit ? finish(x, b) : 0;
}

int sp_pack_push(sp_pack_ctx *x, int label, const char *name, const uint8_t *data, size_t len,
                 int h, int w)
{
    struct batch *b = x->b[x->cur];
    struct item *t = &b->items[b->n++];
    if (t->cap < len) {
        t->data = sp_xrealloc(t->data, len);
        t->cap = len;
    }
    memcpy(t->data, data, len);
    t->len = len;
    t->label = label;
    t->h = h;
    t->w = w;
    t->name = sp_xstrdup(name);
    int64_t done = sp_pack_writer_count(x->w);
    if (b->n == BATCH || (x->o->limit && done + b->n >= x->o->limit)) {
        if (next_batch(x) < 0)
            return -1;
        if (x->o->limit && sp_pack_writer_count(x->w) >= x->o->limit)
            return 1;
    }
    return 0;
}

static int cmp_names(const void *a, const void *b, void *names)
{
    char **n = names;
    return strcmp(n[*(const int *)a], n[*(const int *)b]);
}

/* Sort the collected classes by name and relabel the records to match. */
static void sort_classes(sp_pack_ctx *x)
{
    int n = x->nnames, *order = sp_xmalloc(sizeof(int) * (size_t)(n ? n : 1));
    int *map = sp_xmalloc(sizeof(int) * (size_t)(n ? n : 1));
    for (int k = 0; k < n; k++)
        order[k] = k;
    qsort_r(order, (size_t)n, sizeof *order, cmp_names, x->names);
    char **sorted = sp_xmalloc(sizeof(char *) * (size_t)(n ? n : 1));
    for (int k = 0; k < n; k++) {
        map[order[k]] = k;
        sorted[k] = x->names[order[k]];
    }
    sp_pack_writer_relabel(x->w, map);
    free(x->names);
    x->names = sorted;
    index_names(x);
    free(order);
    free(map);
}


sp_pack_ctx *sp_pack_ctx_new(const sp_pack_opts *o, int channels, int fixed_size)
{
    sp_pack_ctx *x = sp_xcalloc(1, sizeof *x);
    x->o = o;
    x->channels = channels;
    x->total = -1;
    x->fixed_size = fixed_size;
    for (int k = 0; k < o->nclasses; k++)
        add_name(x, o->classes[k]);
    x->fixed = o->nclasses > 0;
    x->seen = sp_xcalloc((size_t)o->nclasses + 1, 1);
    x->nworkers = o->threads;
    x->workers = sp_xcalloc((size_t)x->nworkers + 1, sizeof *x->workers);
    for (int k = 0; k <= x->nworkers; k++) {
        x->workers[k].x = x;
        x->workers[k].img.max_pixels = o->max_pixels;
    }
    x->b[0] = sp_xcalloc(1, sizeof *x->b[0]);
    x->b[1] = sp_xcalloc(1, sizeof *x->b[1]);
    x->w = sp_pack_writer_open(o->spool_dir, channels, o->height, o->width, o->encoding);
    if (!x->w) {
        sp_pack_ctx_free(x);
        return NULL;
    }
    return x;
}

int sp_pack_ctx_finish(sp_pack_ctx *x, FILE *out, const char *out_name, int64_t *records,
                       int64_t *skipped)
{
    const sp_pack_opts *o = x->o;
    if (next_batch(x) < 0 || next_batch(x) < 0)
        return -1;
    int missing = -1;
    for (int k = 0; k < o->nclasses && x->fixed && !x->numeric && !o->limit; k++)
        if (!x->seen[k] && missing < 0)
            missing = k;
    if (missing >= 0)
        return sp_errorf("the input has no class '%s', which --classes-from lists",
                         x->names[missing]);
    if (sp_pack_writer_count(x->w) == 0)
        return sp_errorf("no images found in the input");
    if (!x->fixed && !x->keep_order)
        sort_classes(x);
    *records = sp_pack_writer_count(x->w);
    *skipped = x->skipped;
    if (x->lossy && o->warn) {
        char *m = sp_xasprintf("%lld PNG image%s stored as JPEG (quality %d), which loses a "
                               "little; --size HxW stores raw pixels, without loss",
                               (long long)x->lossy, SP_PLURAL(x->lossy), o->quality);
        o->warn(m);
        free(m);
    }
    return sp_pack_writer_finish(x->w, x->nnames, x->names, out, out_name);
}

void sp_pack_ctx_free(sp_pack_ctx *x)
{
    if (!x)
        return;
    sp_pack_writer_free(x->w);
    for (int j = 0; j < 2; j++) {
        struct batch *b = x->b[j];
        if (b->running)           /* an error left it in flight */
            join(x, b);
        for (int i = 0; i < BATCH; i++) {
            free(b->items[i].data);
            free(b->items[i].rec);
            free(b->items[i].pix);
            free(b->items[i].name);
            free(b->items[i].err);
        }
        free(b);
    }
    for (int k = 0; k <= x->nworkers; k++) {
        sp_image_free(&x->workers[k].img);
        free(x->workers[k].tmp);
    }
    free(x->workers);
    for (int k = 0; k < x->nnames; k++)
        free(x->names[k]);
    free(x->names);
    free(x->slot);
    free(x->seen);
    free(x);
}
