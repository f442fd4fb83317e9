/* protobuf_priv.h: the protobuf wire encoding the ONNX writer uses. */
#ifndef SP_PROTOBUF_PRIV_H
#define SP_PROTOBUF_PRIV_H

#include <stddef.h>
#include <stdint.h>

/* A growing byte buffer with the protobuf wire encoding. */
typedef struct sp_pb {
    unsigned char *p;
    size_t n, cap;
} sp_pb;

void sp_pb_free(sp_pb *b);
void sp_pb_bytes(sp_pb *b, const void *data, size_t n);        /* raw append */
void sp_pb_varint(sp_pb *b, uint64_t v);
void sp_pb_tag(sp_pb *b, int field, int wire);
void sp_pb_int(sp_pb *b, int field, int64_t v);               /* wire type 0 */
void sp_pb_float(sp_pb *b, int field, float v);               /* wire type 5 */
void sp_pb_str(sp_pb *b, int field, const char *s);           /* wire type 2 */
void sp_pb_blob(sp_pb *b, int field, const void *d, size_t n); /* wire type 2 */
void sp_pb_msg(sp_pb *b, int field, const sp_pb *m);          /* embedded message */

#endif
