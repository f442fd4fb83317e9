/* tensor.h: a named, typed, shaped block of memory.
 *
 * Host tensors own their data (malloc'd, freed by sp_tensor_free).  Device
 * buffers are not sp_tensors: the executor keeps raw backend pointers (see
 * backend.h), so this type is for checkpoints, import/export and tests. */
#ifndef SP_TENSOR_H
#define SP_TENSOR_H

#include <stddef.h>
#include <stdint.h>

#define SP_MAX_DIMS 4

/* The safetensors dtype names are the spelling used on disk. */
typedef enum sp_dtype {
    SP_F32, SP_F16, SP_BF16, SP_F64, SP_I64, SP_I32, SP_U8, SP_DTYPE_COUNT
} sp_dtype;

typedef struct sp_tensor {
    char *name;                 /* owned; PyTorch state_dict spelling */
    sp_dtype dtype;
    int ndim;                   /* 0 (a scalar) .. SP_MAX_DIMS */
    int64_t shape[SP_MAX_DIMS];
    void *data;                 /* owned, host memory, little-endian */
} sp_tensor;

size_t sp_dtype_size(sp_dtype t);
const char *sp_dtype_name(sp_dtype t);            /* "F32", "I64", ... */
int sp_dtype_parse(const char *name, sp_dtype *t); /* -1 if unknown */

int64_t sp_tensor_numel(const sp_tensor *t);
size_t sp_tensor_bytes(const sp_tensor *t);
/* Fill *t (name copied, data zeroed); ndim may be 0. */
void sp_tensor_init(sp_tensor *t, const char *name, sp_dtype dtype, int ndim, const int64_t *shape);
void sp_tensor_free(sp_tensor *t);           /* frees name and data, not t */
void sp_tensor_copy(sp_tensor *dst, const sp_tensor *src); /* deep copy */
/* "64x3x3x3" into buf; returns buf. */
char *sp_shape_str(char *buf, size_t n, int ndim, const int64_t *shape);
int sp_shape_equal(int ndim_a, const int64_t *a, int ndim_b, const int64_t *b);
/* Positions of a kernel-wide window sliding with `stride` over `size`
 * entries padded by `pad` on both sides: PyTorch's floor((size + 2 pad -
 * kernel) / stride) + 1.  The one formula of convolutions, pools and the
 * strided shortcut, shared by the graph, the network builders and every
 * backend; <= 0 when the window does not fit, 0 when stride <= 0. */
int sp_window_out(int size, int kernel, int stride, int pad);

#endif
