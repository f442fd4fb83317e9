/* protobuf.c: the protobuf wire encoding, write side only.
 *
 * Enough for ONNX: varints, 32-bit floats, and length-delimited fields
 * (strings, bytes, embedded messages).  A message is built in its own
 * buffer and then appended to its parent with its length, so nesting
 * needs no size pre-computation. */
#include <stdlib.h>
#include <string.h>
#include "sp/base.h"
#include "protobuf_priv.h"

void sp_pb_free(sp_pb *b)
{
    free(b->p);
    b->p = NULL;
    b->n = b->cap = 0;
}

void sp_pb_bytes(sp_pb *b, const void *data, size_t n)
{
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n)
            cap *= 2;
        b->p = sp_xrealloc(b->p, cap);
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->n, data, n);
    b->n += n;
}

void sp_pb_varint(sp_pb *b, uint64_t v)
{
    unsigned char q[10];
    int n = 0;
    do {
        q[n++] = (unsigned char)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        v >>= 7;
    } while (v);
    sp_pb_bytes(b, q, (size_t)n);
}

void sp_pb_tag(sp_pb *b, int field, int wire)
{
    sp_pb_varint(b, (uint64_t)field << 3 | (uint64_t)wire);
}

void sp_pb_int(sp_pb *b, int field, int64_t v)
{
    sp_pb_tag(b, field, 0);
    sp_pb_varint(b, (uint64_t)v);   /* negative int64: ten bytes, as protobuf does */
}

void sp_pb_float(sp_pb *b, int field, float v)
{
    uint32_t u;
    memcpy(&u, &v, 4);
    unsigned char q[4] = { (unsigned char)u, (unsigned char)(u >> 8), (unsigned char)(u >> 16),
                           (unsigned char)(u >> 24) };
    sp_pb_tag(b, field, 5);
    sp_pb_bytes(b, q, 4);
}

void sp_pb_blob(sp_pb *b, int field, const void *d, size_t n)
{
    sp_pb_tag(b, field, 2);
    sp_pb_varint(b, n);
    sp_pb_bytes(b, d, n);
}

void sp_pb_str(sp_pb *b, int field, const char *s)
{
    sp_pb_blob(b, field, s, strlen(s));
}

void sp_pb_msg(sp_pb *b, int field, const sp_pb *m)
{
    sp_pb_blob(b, field, m->p, m->n);
}
