/* torch_read.c: the tensors of a state_dict saved by torch.save, or of a
 * safetensors file.
 *
 * Reads: the zip serialisation (torch >= 1.6: PREFIX/data.pkl with the
 * storages as PREFIX/data/KEY, opened with libarchive), the legacy stream
 * (magic number, protocol, system info, the object and the storage keys,
 * each a pickle, then each storage as an 8-byte element count and its raw
 * little-endian bytes), and safetensors (through sp_safetensors_read).
 * Writes: named tensors, F32 (I64 for integer tensors), contiguous. */
#include <archive.h>
#include <archive_entry.h>
#include <stdlib.h>
#include <string.h>
#include "sp/names.h"
#include "sp/safetensors.h"
#include "sp/torch.h"

/* The bytes of each storage, by key. */
typedef struct blob { char *key; const unsigned char *p; size_t n; unsigned char *owned; } blob;
typedef struct blobs { blob *b; int n, cap; } blobs;

/* owned (may be NULL) is freed with the blobs. */
static void blobs_add(blobs *bs, const char *key, const unsigned char *p, size_t n,
                      unsigned char *owned)
{
    if (bs->n == bs->cap) {
        bs->cap = bs->cap ? 2 * bs->cap : 64;
        bs->b = sp_xrealloc(bs->b, (size_t)bs->cap * sizeof(*bs->b));
    }
    bs->b[bs->n++] = (blob){ sp_xstrdup(key), p, n, owned };
}

static void blobs_free(blobs *bs)
{
    for (int i = 0; i < bs->n; i++) {
        free(bs->b[i].key);
        free(bs->b[i].owned);
    }
    free(bs->b);
    memset(bs, 0, sizeof *bs);
}

static const char *blob_key(const void *b, int i)
{
    return ((const blob *)b)[i].key;
}

static const char *storage_key(const void *st, int i)
{
    return ((const sp_pk_value *const *)st)[i]->s;
}

/* By an index of the keys: a file of many storages costs n log n. */
static const blob *blobs_find(const blobs *bs, const sp_names *ix, const char *key)
{
    int i = sp_names_find(ix, key);
    return i < 0 ? NULL : &bs->b[i];
}

static int read_all(FILE *f, const char *what, unsigned char **buf, size_t *n)
{
    size_t cap = 1 << 20, len = 0;
    unsigned char *p = sp_xmalloc(cap);
    for (;;) {
        if (len == cap)
            p = sp_xrealloc(p, cap *= 2);
        size_t got = fread(p + len, 1, cap - len, f);
        len += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        free(p);
        return sp_errorf("cannot read '%s'", what);
    }
    *buf = p;
    *n = len;
    return 0;
}

/* ---- element conversion ---- */

static float half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h >> 15) << 31, e = (h >> 10) & 31, m = h & 1023, u;
    if (e == 0) {
        if (m == 0) {
            u = sign;
        } else {            /* subnormal: normalise */
            e = 113;
            while (!(m & 1024)) {
                m <<= 1;
                e--;
            }
            u = sign | e << 23 | (m & 1023) << 13;
        }
    } else if (e == 31) {
        u = sign | 0x7f800000u | m << 13;
    } else {
        u = sign | (e + 112) << 23 | m << 13;
    }
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static int is_float(sp_dtype t) { return t == SP_F32 || t == SP_F16 || t == SP_BF16 || t == SP_F64; }

/* Element i of a little-endian array of dtype t, as double or int64. */
static double elem_f(const unsigned char *p, sp_dtype t)
{
    switch (t) {
    case SP_F32: { float f; memcpy(&f, p, 4); return f; }
    case SP_F64: { double d; memcpy(&d, p, 8); return d; }
    case SP_F16: return half_to_float((uint16_t)(p[0] | p[1] << 8));
    case SP_BF16: {
        uint32_t u = (uint32_t)(p[0] | p[1] << 8) << 16;
        float f;
        memcpy(&f, &u, 4);
        return f;
    }
    default: return 0;
    }
}

static int64_t elem_i(const unsigned char *p, sp_dtype t)
{
    switch (t) {
    case SP_I64: { int64_t v; memcpy(&v, p, 8); return v; }
    case SP_I32: { int32_t v; memcpy(&v, p, 4); return v; }
    case SP_U8: return p[0];
    default: return 0;
    }
}

/* The most elements a view may have beyond those of its storage. */
enum { STRIDE0_MAX = 1 << 16 };

/* Copy a strided view of src (count elements of dtype st) into dst, a new
 * contiguous F32 or I64 tensor. */
static int gather(sp_tensor *dst, const char *name, const unsigned char *src, int64_t count,
                  sp_dtype st, int64_t offset, int ndim, const int64_t *shape,
                  const int64_t *stride, const char *what)
{
    /* bounds that keep the arithmetic below from overflowing */
    if (offset < 0 || offset > count)
        return sp_errorf("'%s': tensor '%s' starts outside its storage", what, name);
    int64_t numel = 1, maxi = offset;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] < 0 || stride[d] < 0 || shape[d] > (1 << 30) || stride[d] > (1 << 30) ||
            (shape[d] > 0 && numel > INT64_MAX / shape[d]))
            return sp_errorf("'%s': tensor '%s' has an invalid size or stride", what, name);
        numel *= shape[d];
        maxi += (shape[d] - 1) * stride[d];
    }
    if (numel > 0 && maxi >= count)
        return sp_errorf("'%s': tensor '%s' reaches element %lld of a storage of %lld",
                         what, name, (long long)maxi, (long long)count);
    /* repeated elements (stride 0) are legal but must not make a small
     * file allocate without bound: a view may repeat its storage only
     * while it stays small */
    if (numel > count && numel > STRIDE0_MAX)
        return sp_errorf("'%s': tensor '%s' has %lld elements but its storage only %lld",
                         what, name, (long long)numel, (long long)count);
    sp_tensor_init(dst, name, is_float(st) ? SP_F32 : SP_I64, ndim, shape);
    size_t es = sp_dtype_size(st);
    int64_t idx[SP_MAX_DIMS] = { 0 };
    for (int64_t i = 0; i < numel; i++) {
        int64_t at = offset;
        for (int d = 0; d < ndim; d++)
            at += idx[d] * stride[d];
        const unsigned char *p = src + (size_t)at * es;
        if (is_float(st))
            ((float *)dst->data)[i] = (float)elem_f(p, st);
        else
            ((int64_t *)dst->data)[i] = elem_i(p, st);
        for (int d = ndim - 1; d >= 0; d--) {
            if (++idx[d] < shape[d])
                break;
            idx[d] = 0;
        }
    }
    return 0;
}

/* ---- the state_dict inside the unpickled object ---- */

static int all_tensors(const sp_pk_value *d)
{
    if (!d || d->kind != SP_PK_DICT || d->n == 0)
        return 0;
    for (int i = 1; i < d->n; i += 2)
        if (d->item[i]->kind != SP_PK_TENSOR)
            return 0;
    return 1;
}

/* The saved object itself, or the dict under one of the usual keys of a
 * training checkpoint, or its only dict of tensors. */
static const sp_pk_value *find_state_dict(const sp_pk_value *root)
{
    static const char *const keys[] = { "state_dict", "model", "model_state_dict", "net" };
    if (all_tensors(root))
        return root;
    for (size_t k = 0; k < SP_COUNT(keys); k++) {
        const sp_pk_value *v = sp_pk_dict_get(root, keys[k]);
        if (v && v->kind == SP_PK_DICT)
            return v;
    }
    const sp_pk_value *found = NULL;
    int nfound = 0;
    for (int i = 1; root->kind == SP_PK_DICT && i < root->n; i += 2)
        if (all_tensors(root->item[i])) {
            found = root->item[i];
            nfound++;
        }
    return nfound == 1 ? found : root;
}

static void strip_module_prefix(sp_tensor *t, int n)
{
    for (int i = 0; i < n; i++)
        if (strncmp(t[i].name, "module.", 7) != 0)
            return;
    for (int i = 0; i < n; i++)
        memmove(t[i].name, t[i].name + 7, strlen(t[i].name + 7) + 1);
}

static int tensors_from_pickle(const sp_pickle *pk, const blobs *bs, const char *what,
                               sp_tensor **out, int *nout)
{
    const sp_pk_value *sd = find_state_dict(sp_pickle_root(pk));
    if (sd->kind != SP_PK_DICT)
        return sp_errorf("'%s' holds no state_dict (its object is not a dictionary)", what);
    int n = sd->n / 2;
    sp_tensor *t = sp_xcalloc((size_t)(n ? n : 1), sizeof(*t));
    sp_names ix;
    sp_names_init(&ix, bs->b, bs->n, blob_key);
    for (int i = 0; i < n; i++) {
        const sp_pk_value *k = sd->item[2 * i], *v = sd->item[2 * i + 1];
        const char *name = k->kind == SP_PK_STR ? k->s : "?";
        const blob *b;
        int rc;
        if (k->kind != SP_PK_STR)
            rc = sp_errorf("'%s': the state_dict has a key that is not a string", what);
        else if (v->kind != SP_PK_TENSOR)
            rc = sp_errorf("'%s': entry '%s' is not a tensor (a state_dict is expected at the "
                           "top level or under 'state_dict' or 'model')", what, name);
        else if (!(b = blobs_find(bs, &ix, v->storage->s)))
            rc = sp_errorf("'%s': the data of tensor '%s' (storage %s) is missing",
                           what, name, v->storage->s);
        else {
            size_t es = sp_dtype_size(v->dtype);
            int64_t count = (int64_t)(b->n / es) - v->storage->offset;
            if (count < 0)
                count = 0;
            rc = gather(&t[i], name, b->p + (size_t)v->storage->offset * es, count,
                        v->dtype, v->offset, v->ndim, v->shape, v->stride, what);
        }
        if (rc < 0) {
            for (int j = 0; j < i; j++)
                sp_tensor_free(&t[j]);
            free(t);
            sp_names_free(&ix);
            return -1;
        }
    }
    sp_names_free(&ix);
    strip_module_prefix(t, n);
    *out = t;
    *nout = n;
    return 0;
}

/* ---- the two torch.save formats ---- */

/* A zip read from memory, member by member.  Members are inflated only
 * when the pickle refers to them and only as far as it needs, and all the
 * inflated bytes together stay within a budget proportional to the file
 * (PyTorch stores its members uncompressed), so a small zip that inflates
 * to gigabytes is refused instead of read. */
typedef struct zip_src {
    const unsigned char *buf;
    size_t n;
    const char *what;
    uint64_t budget;          /* bytes still allowed to be inflated */
} zip_src;

enum { ZIP_RATIO = 8, ZIP_SLACK = 16 << 20 };

static struct archive *zip_open(const zip_src *z)
{
    struct archive *a = archive_read_new();
    archive_read_support_format_zip(a);
    if (archive_read_open_memory(a, z->buf, z->n) != ARCHIVE_OK) {
        sp_errorf("'%s': not a readable zip: %s", z->what, archive_error_string(a));
        archive_read_free(a);
        return NULL;
    }
    return a;
}

/* The current member's data, at most max bytes, into *p (malloc'ed). */
static int zip_read_member(struct archive *a, zip_src *z, const char *name, size_t max,
                           unsigned char **p, size_t *len)
{
    size_t cap = max < (1 << 16) ? (max ? max : 1) : (1 << 16);
    *p = sp_xmalloc(cap);
    *len = 0;
    while (*len < max) {
        if (*len == cap) {
            cap = cap > max / 2 ? max : 2 * cap;
            *p = sp_xrealloc(*p, cap);
        }
        la_ssize_t got = archive_read_data(a, *p + *len, cap - *len);
        if (got < 0)
            return sp_errorf("'%s': corrupt zip entry '%s': %s", z->what, name,
                             archive_error_string(a));
        if (got == 0)
            break;
        if ((uint64_t)got > z->budget)
            return sp_errorf("'%s': zip entry '%s' inflates to far more data than the file "
                             "holds", z->what, name);
        z->budget -= (uint64_t)got;
        *len += (size_t)got;
    }
    return 0;
}

/* The pickle's name ("PREFIX/data.pkl") and whether the file is
 * big-endian, from a first pass over the member names. */
static int zip_find_pickle(const zip_src *z, char **pkl)
{
    struct archive *a = zip_open(z);
    struct archive_entry *e;
    int r;
    if (!a)
        return -1;
    *pkl = NULL;
    while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
        const char *name = archive_entry_pathname(e);
        size_t l = name ? strlen(name) : 0;
        if (l >= 8 && strcmp(name + l - 8, "data.pkl") == 0 && (l == 8 || name[l - 9] == '/')) {
            free(*pkl);
            *pkl = sp_xstrdup(name);
        }
    }
    int rc = 0;
    if (r != ARCHIVE_EOF)
        rc = sp_errorf("'%s': corrupt zip: %s", z->what, archive_error_string(a));
    else if (!*pkl)
        rc = sp_errorf("'%s' is a zip without data.pkl: not a PyTorch checkpoint", z->what);
    archive_read_free(a);
    if (rc < 0) {
        free(*pkl);
        *pkl = NULL;
    }
    return rc;
}

/* The bytes each storage key needs: its views' largest offset plus element
 * count, worked out once for every key (need[pos] at the key's first
 * position in ix), so that a zip of many members costs n log n. */
static size_t *storage_needs(sp_pk_value *const *st, const sp_names *ix)
{
    size_t *need = sp_xcalloc((size_t)(ix->n > 0 ? ix->n : 1), sizeof *need);
    for (int k = 0, first = 0; k < ix->n; k++) {
        const sp_pk_value *s = st[ix->r[k].at];
        uint64_t n;
        if (k > 0 && strcmp(ix->r[k].name, ix->r[k - 1].name) != 0)
            first = k;
        if (sp_add_u64(&n, (uint64_t)s->offset, (uint64_t)s->i) < 0 ||
            sp_mul_u64(&n, n, sp_dtype_size(s->dtype)) < 0 || n > SIZE_MAX / 2)
            n = SIZE_MAX / 2;
        if (n > need[first])
            need[first] = (size_t)n;
    }
    return need;
}

/* One pass over the members under the pickle's prefix: take() sees each
 * (name, and the rest after the prefix) and reads what it wants. */
typedef struct zip_pass_ctx {
    sp_pickle *pk;
    int big;
    blobs bs;
    sp_names st_ix;             /* the pickle's storages by key */
    size_t *need;               /* storage_needs */
} zip_pass_ctx;

typedef int zip_take_fn(zip_src *z, struct archive *a, const char *name, const char *rest,
                        zip_pass_ctx *c);

static int zip_pass(zip_src *z, const char *pkl, zip_take_fn *take, zip_pass_ctx *c)
{
    size_t plen = strlen(pkl) - 8;
    struct archive *a = zip_open(z);
    struct archive_entry *e;
    int r, rc = 0;
    if (!a)
        return -1;
    while (rc == 0 && (r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
        const char *name = archive_entry_pathname(e);
        if (name && strncmp(name, pkl, plen) == 0)
            rc = take(z, a, name, name + plen, c);
    }
    if (rc == 0 && r != ARCHIVE_EOF)
        rc = sp_errorf("'%s': corrupt zip: %s", z->what, archive_error_string(a));
    archive_read_free(a);
    return rc;
}

/* Second pass: the pickle and the byte order record. */
static int take_pickle(zip_src *z, struct archive *a, const char *name, const char *rest,
                       zip_pass_ctx *c)
{
    unsigned char *p = NULL;
    size_t len = 0;
    int rc = 0;
    if (strcmp(rest, "data.pkl") == 0 && !c->pk) {
        rc = zip_read_member(a, z, name, SIZE_MAX / 2, &p, &len);
        if (rc == 0 && !(c->pk = sp_pickle_load(p, len, z->what, NULL)))
            rc = -1;
    } else if (strcmp(rest, "byteorder") == 0) {
        rc = zip_read_member(a, z, name, 8, &p, &len);
        c->big = len >= 3 && memcmp(p, "big", 3) == 0;
    }
    free(p);
    return rc;
}

/* Third pass: the storages the pickle refers to, as far as it needs them;
 * every other member is skipped unread. */
static int take_storage(zip_src *z, struct archive *a, const char *name, const char *rest,
                        zip_pass_ctx *c)
{
    int pos = strncmp(rest, "data/", 5) == 0 ? sp_names_pos(&c->st_ix, rest + 5) : -1;
    size_t need = pos < 0 ? 0 : c->need[pos];
    unsigned char *p = NULL;
    size_t len = 0;
    if (need == 0)
        return 0;
    if (zip_read_member(a, z, name, need, &p, &len) < 0) {
        free(p);
        return -1;
    }
    blobs_add(&c->bs, rest + 5, p, len, p);
    return 0;
}

static int zip_read_tensors(zip_src *z, const char *pkl, sp_tensor **t, int *nt)
{
    zip_pass_ctx c = { 0 };
    int rc = zip_pass(z, pkl, take_pickle, &c);
    if (rc == 0 && c.big)
        rc = sp_errorf("'%s' was written on a big-endian machine, which sp does not read", z->what);
    if (rc == 0) {
        int ns;
        sp_pk_value *const *st = sp_pickle_storages(c.pk, &ns);
        sp_names_init(&c.st_ix, st, ns, storage_key);
        c.need = storage_needs(st, &c.st_ix);
        rc = zip_pass(z, pkl, take_storage, &c);
        sp_names_free(&c.st_ix);
        free(c.need);
    }
    if (rc == 0)
        rc = tensors_from_pickle(c.pk, &c.bs, z->what, t, nt);
    sp_pickle_free(c.pk);
    blobs_free(&c.bs);
    return rc;
}

static int load_zip(const unsigned char *buf, size_t n, const char *what, sp_tensor **t, int *nt)
{
    zip_src z = { buf, n, what, 0 };
    if (sp_mul_u64(&z.budget, n, ZIP_RATIO) < 0 || sp_add_u64(&z.budget, z.budget, ZIP_SLACK) < 0)
        z.budget = UINT64_MAX;
    char *pkl;
    if (zip_find_pickle(&z, &pkl) < 0)
        return -1;
    int rc = zip_read_tensors(&z, pkl, t, nt);
    free(pkl);
    return rc;
}

/* The legacy stream starts with a pickle of the magic number
 * 0x1950a86a20f9469cfc6c (a LONG1 of 10 bytes, after PROTO and, from
 * protocol 4, a FRAME), then STOP. */
static const unsigned char legacy_magic[] = {
    0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e
};

/* Offset just past the magic-number pickle, 0 if there is none. */
static size_t legacy_start(const unsigned char *buf, size_t n)
{
    if (n < 2 + sizeof(legacy_magic) || buf[0] != 0x80)
        return 0;
    size_t at = 2;
    if (buf[2] == 0x95)
        at += 9;
    if (n - at < sizeof(legacy_magic) || memcmp(buf + at, legacy_magic, sizeof(legacy_magic)) != 0)
        return 0;
    return at + sizeof(legacy_magic);
}

static int load_legacy(const unsigned char *buf, size_t n, const char *what,
                       sp_tensor **t, int *nt)
{
    size_t at = legacy_start(buf, n), used;
    sp_pickle *proto = sp_pickle_load(buf + at, n - at, what, &used);
    if (!proto)
        return -1;
    const sp_pk_value *pv = sp_pickle_root(proto);
    int version = pv->kind == SP_PK_INT ? (int)pv->i : -1;
    sp_pickle_free(proto);
    if (version != 1001)
        return sp_errorf("'%s': unsupported legacy protocol version %d", what, version);
    at += used;
    sp_pickle *info = sp_pickle_load(buf + at, n - at, what, &used);
    if (!info)
        return -1;
    const sp_pk_value *le = sp_pk_dict_get(sp_pickle_root(info), "little_endian");
    int little = le && le->kind == SP_PK_BOOL && le->i;
    sp_pickle_free(info);
    if (!little)
        return sp_errorf("'%s' was written on a big-endian machine, which sp does not read", what);
    at += used;
    sp_pickle *obj = sp_pickle_load(buf + at, n - at, what, &used);
    if (!obj)
        return -1;
    at += used;
    sp_pickle *keys = sp_pickle_load(buf + at, n - at, what, &used);
    if (!keys) {
        sp_pickle_free(obj);
        return -1;
    }
    at += used;
    const sp_pk_value *kl = sp_pickle_root(keys);
    int ns, rc = 0;
    sp_pk_value *const *st = sp_pickle_storages(obj, &ns);
    blobs bs = { 0 };
    sp_names ix;
    sp_names_init(&ix, st, ns, storage_key);
    if (kl->kind != SP_PK_LIST)
        rc = sp_errorf("'%s': corrupt legacy checkpoint: no storage key list", what);
    for (int i = 0; rc == 0 && i < kl->n; i++) {
        const sp_pk_value *k = kl->item[i];
        int j = k->kind == SP_PK_STR ? sp_names_find(&ix, k->s) : -1;
        const sp_pk_value *s = j >= 0 ? st[j] : NULL;
        if (!s) {
            rc = sp_errorf("'%s': corrupt legacy checkpoint: storage key %d is unknown", what, i);
            break;
        }
        if (n - at < 8) {
            rc = sp_errorf("'%s' is truncated in storage %s", what, k->s);
            break;
        }
        uint64_t count = 0;
        for (int b = 7; b >= 0; b--)
            count = count << 8 | buf[at + (size_t)b];
        at += 8;
        size_t es = sp_dtype_size(s->dtype);
        if (count > (n - at) / es) {
            rc = sp_errorf("'%s' is truncated in storage %s (%llu elements announced)",
                           what, k->s, (unsigned long long)count);
            break;
        }
        blobs_add(&bs, k->s, buf + at, (size_t)count * es, NULL);
        at += (size_t)count * es;
    }
    sp_names_free(&ix);
    if (rc == 0)
        rc = tensors_from_pickle(obj, &bs, what, t, nt);
    blobs_free(&bs);
    sp_pickle_free(keys);
    sp_pickle_free(obj);
    return rc;
}

/* A pickle written by pickle.dump: read for its refusals and messages; it
 * has nowhere to keep tensor data. */
static int load_bare_pickle(const unsigned char *buf, size_t n, const char *what,
                            sp_tensor **t, int *nt)
{
    sp_pickle *pk = sp_pickle_load(buf, n, what, NULL);
    if (!pk)
        return -1;
    blobs none = { 0 };
    int rc = tensors_from_pickle(pk, &none, what, t, nt);
    sp_pickle_free(pk);
    return rc;
}

/* A contiguous tensor of any dtype, in place, as F32 (I64 for integers). */
static void widen(sp_tensor *t)
{
    if (t->dtype == SP_F32 || t->dtype == SP_I64)
        return;
    sp_tensor c;
    int64_t numel = sp_tensor_numel(t);
    size_t es = sp_dtype_size(t->dtype);
    sp_tensor_init(&c, t->name, is_float(t->dtype) ? SP_F32 : SP_I64, t->ndim, t->shape);
    const unsigned char *p = t->data;
    for (int64_t i = 0; i < numel; i++, p += es) {
        if (is_float(t->dtype))
            ((float *)c.data)[i] = (float)elem_f(p, t->dtype);
        else
            ((int64_t *)c.data)[i] = elem_i(p, t->dtype);
    }
    sp_tensor_free(t);
    *t = c;
}

static int load_safetensors(unsigned char *buf, size_t n, const char *what,
                            sp_tensor **out, int *nout)
{
    FILE *mf = fmemopen(buf, n, "rb");
    if (!mf)
        return sp_errorf("cannot read '%s'", what);
    sp_tensor *t = NULL;
    sp_meta_entry *meta = NULL;
    int nt = 0, nmeta = 0;
    int rc = sp_safetensors_read(mf, what, &t, &nt, &meta, &nmeta);
    fclose(mf);
    if (rc < 0)
        return -1;
    for (int i = 0; i < nmeta; i++) {
        free(meta[i].key);
        free(meta[i].value);
    }
    free(meta);
    for (int i = 0; i < nt; i++)
        widen(&t[i]);
    strip_module_prefix(t, nt);
    *out = t;
    *nout = nt;
    return 0;
}

int sp_torch_load(FILE *f, const char *what, sp_tensor **t, int *n)
{
    unsigned char *buf = NULL;
    size_t len = 0;
    if (read_all(f, what, &buf, &len) < 0)
        return -1;
    int rc;
    if (len >= 4 && memcmp(buf, "PK\003\004", 4) == 0)
        rc = load_zip(buf, len, what, t, n);
    else if (legacy_start(buf, len))
        rc = load_legacy(buf, len, what, t, n);
    else if (len >= 9 && buf[8] == '{')
        rc = load_safetensors(buf, len, what, t, n);
    else if (len >= 2 && buf[0] == 0x80)
        rc = load_bare_pickle(buf, len, what, t, n);
    else
        rc = sp_errorf("'%s' is not a PyTorch checkpoint (.pth) or safetensors file", what);
    free(buf);
    return rc;
}
