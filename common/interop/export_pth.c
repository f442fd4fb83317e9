/* export_pth.c: a state_dict in PyTorch's zip serialisation.
 *
 * Reads: the tensors of a model.  Writes: a zip (stored, no compression)
 * that torch.load opens: archive/data.pkl, a protocol-2 pickle of an
 * OrderedDict whose values are _rebuild_tensor_v2 calls on persistent
 * storage references ('storage', torch.FloatStorage, KEY, 'cpu', NUMEL);
 * archive/data/KEY, each tensor's little-endian bytes starting on a
 * 64-byte boundary of the file as torch aligns them; archive/version.
 * The zip is written sequentially, so it can go to a pipe. */
#include <stdlib.h>
#include <string.h>
#include "sp/graph.h"
#include "sp/export.h"
#include "protobuf_priv.h"
#include "sp/torch.h"

int sp_export_tensors(const sp_model *m, sp_tensor **out, int *nout)
{
    sp_param_info *p;
    int np = sp_graph_params(m->graph, &p), n = 0;
    sp_tensor *t = sp_xcalloc((size_t)(np ? np : 1), sizeof(*t));
    for (int i = 0; i < np; i++) {
        const sp_tensor *src = sp_model_tensor(m, p[i].name);
        if (!src) {
            sp_errorf("the checkpoint has no tensor '%s'", p[i].name);
            goto fail;
        }
        if (p[i].kind == SP_P_MASK) {
            const float *d = src->data;
            for (int64_t k = 0; k < sp_tensor_numel(src); k++)
                if (d[k] != 1.0f) {
                    sp_errorf("the network still has channel masks ('%s' is not all ones): "
                              "run sp-compress before exporting it", p[i].name);
                    goto fail;
                }
            continue;
        }
        sp_tensor_copy(&t[n++], src);
    }
    free(p);
    *out = t;
    *nout = n;
    return 0;
fail:
    for (int i = 0; i < n; i++)
        sp_tensor_free(&t[i]);
    free(t);
    free(p);
    return -1;
}

/* ---- the pickle ---- */

static void pk_op(sp_pb *b, int op)
{
    unsigned char c = (unsigned char)op;
    sp_pb_bytes(b, &c, 1);
}

static void pk_le(sp_pb *b, uint64_t v, int n)
{
    unsigned char q[8];
    for (int i = 0; i < n; i++)
        q[i] = (unsigned char)(v >> (8 * i));
    sp_pb_bytes(b, q, (size_t)n);
}

static void pk_str(sp_pb *b, const char *s)
{
    pk_op(b, 'X');
    pk_le(b, strlen(s), 4);
    sp_pb_bytes(b, s, strlen(s));
}

static void pk_int(sp_pb *b, int64_t v)
{
    if (v >= INT32_MIN && v <= INT32_MAX) {
        pk_op(b, 'J');
        pk_le(b, (uint64_t)v, 4);
    } else {
        pk_op(b, 0x8a);
        pk_op(b, 8);
        pk_le(b, (uint64_t)v, 8);
    }
}

static void pk_global(sp_pb *b, const char *module, const char *name)
{
    pk_op(b, 'c');
    sp_pb_bytes(b, module, strlen(module));
    pk_op(b, '\n');
    sp_pb_bytes(b, name, strlen(name));
    pk_op(b, '\n');
}

static void pk_int_tuple(sp_pb *b, int n, const int64_t *v)
{
    pk_op(b, '(');
    for (int i = 0; i < n; i++)
        pk_int(b, v[i]);
    pk_op(b, 't');
}

static void pickle_state_dict(sp_pb *b, const sp_tensor *t, int n)
{
    pk_op(b, 0x80);
    pk_op(b, 2);
    pk_global(b, "collections", "OrderedDict");
    pk_op(b, ')');
    pk_op(b, 'R');
    pk_op(b, '(');
    for (int i = 0; i < n; i++) {
        int64_t stride[SP_MAX_DIMS], s = 1;
        for (int d = t[i].ndim - 1; d >= 0; d--) {
            stride[d] = s;
            s *= t[i].shape[d];
        }
        char key[24];
        snprintf(key, sizeof key, "%d", i);
        pk_str(b, t[i].name);
        pk_global(b, "torch._utils", "_rebuild_tensor_v2");
        pk_op(b, '(');
        pk_op(b, '(');
        pk_str(b, "storage");
        pk_global(b, "torch", t[i].dtype == SP_I64 ? "LongStorage" : "FloatStorage");
        pk_str(b, key);
        pk_str(b, "cpu");
        pk_int(b, sp_tensor_numel(&t[i]));
        pk_op(b, 't');
        pk_op(b, 'Q');                  /* BINPERSID */
        pk_int(b, 0);                   /* storage offset */
        pk_int_tuple(b, t[i].ndim, t[i].shape);
        pk_int_tuple(b, t[i].ndim, stride);
        pk_op(b, 0x89);                 /* requires_grad False */
        pk_global(b, "collections", "OrderedDict");
        pk_op(b, ')');
        pk_op(b, 'R');                  /* backward hooks */
        pk_op(b, 't');
        pk_op(b, 'R');
    }
    pk_op(b, 'u');
    pk_op(b, '.');
}

/* ---- the zip ---- */

typedef struct zip_entry {
    char *name;
    uint32_t crc, size, offset;
} zip_entry;

typedef struct zip_out {
    FILE *f;
    uint64_t at;
    zip_entry *e;
    int n;
    int err;
} zip_out;

static void z_put(zip_out *z, const void *p, size_t n)
{
    if (n && fwrite(p, 1, n, z->f) != n)
        z->err = 1;
    z->at += n;
}

static void z_le(zip_out *z, uint32_t v, int n)
{
    unsigned char q[4];
    for (int i = 0; i < n; i++)
        q[i] = (unsigned char)(v >> (8 * i));
    z_put(z, q, (size_t)n);
}

static int z_entry(zip_out *z, const char *name, const void *data, size_t size)
{
    if (size > UINT32_MAX || z->at > UINT32_MAX - 4096 - size)
        return sp_errorf("tensor data over 4 GiB do not fit a zip without zip64");
    size_t nl = strlen(name);
    /* pad the extra field so the data start on a 64-byte boundary */
    size_t pad = (64 - (size_t)((z->at + 30 + nl + 4) % 64)) % 64;
    zip_entry *e = &z->e[z->n++];
    e->name = sp_xstrdup(name);
    e->crc = sp_crc32(0, data, size);
    e->size = (uint32_t)size;
    e->offset = (uint32_t)z->at;
    z_le(z, 0x04034b50, 4);
    z_le(z, 20, 2);                 /* version needed */
    z_le(z, 0, 2);                  /* flags */
    z_le(z, 0, 2);                  /* stored */
    z_le(z, 0, 2);                  /* time */
    z_le(z, 0x21, 2);               /* date: 1980-01-01 */
    z_le(z, e->crc, 4);
    z_le(z, e->size, 4);
    z_le(z, e->size, 4);
    z_le(z, (uint32_t)nl, 2);
    z_le(z, (uint32_t)(4 + pad), 2);
    z_put(z, name, nl);
    z_le(z, 0x4246, 2);             /* "FB": torch's padding field */
    z_le(z, (uint32_t)pad, 2);
    static const unsigned char zeros[64];
    z_put(z, zeros, pad);
    z_put(z, data, size);
    return 0;
}

static void z_finish(zip_out *z)
{
    uint64_t cd = z->at;
    for (int i = 0; i < z->n; i++) {
        const zip_entry *e = &z->e[i];
        size_t nl = strlen(e->name);
        z_le(z, 0x02014b50, 4);
        z_le(z, 20, 2);             /* made by */
        z_le(z, 20, 2);             /* needed */
        z_le(z, 0, 2);
        z_le(z, 0, 2);
        z_le(z, 0, 2);
        z_le(z, 0x21, 2);
        z_le(z, e->crc, 4);
        z_le(z, e->size, 4);
        z_le(z, e->size, 4);
        z_le(z, (uint32_t)nl, 2);
        z_le(z, 0, 2);              /* extra */
        z_le(z, 0, 2);              /* comment */
        z_le(z, 0, 2);              /* disk */
        z_le(z, 0, 2);              /* internal attributes */
        z_le(z, 0, 4);              /* external attributes */
        z_le(z, e->offset, 4);
        z_put(z, e->name, nl);
    }
    uint64_t cdlen = z->at - cd;
    z_le(z, 0x06054b50, 4);
    z_le(z, 0, 2);
    z_le(z, 0, 2);
    z_le(z, (uint32_t)z->n, 2);
    z_le(z, (uint32_t)z->n, 2);
    z_le(z, (uint32_t)cdlen, 4);
    z_le(z, (uint32_t)cd, 4);
    z_le(z, 0, 2);
}

int sp_pth_write(FILE *f, const sp_tensor *t, int n)
{
    if (n > 65000)
        return sp_errorf("%d tensors are more than a zip without zip64 holds", n);
    zip_out z = { f, 0, sp_xcalloc((size_t)n + 2, sizeof(zip_entry)), 0, 0 };
    sp_pb pk = { 0 };
    pickle_state_dict(&pk, t, n);
    int rc = z_entry(&z, "archive/data.pkl", pk.p, pk.n);
    for (int i = 0; i < n && rc == 0; i++) {
        char name[40];
        snprintf(name, sizeof name, "archive/data/%d", i);
        rc = z_entry(&z, name, t[i].data, sp_tensor_bytes(&t[i]));
    }
    if (rc == 0)
        rc = z_entry(&z, "archive/version", "3\n", 2);
    if (rc == 0)
        z_finish(&z);
    if (rc == 0 && z.err)
        rc = sp_errorf("write error");
    for (int i = 0; i < z.n; i++)
        free(z.e[i].name);
    free(z.e);
    sp_pb_free(&pk);
    return rc;
}
