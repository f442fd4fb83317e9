/* tensor.c: dtypes, shapes, host tensors. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sp/base.h"
#include "sp/tensor.h"

static const struct { const char *name; size_t size; } dtypes[SP_DTYPE_COUNT] = {
    [SP_F32] = {"F32", 4}, [SP_F16] = {"F16", 2}, [SP_BF16] = {"BF16", 2},
    [SP_F64] = {"F64", 8}, [SP_I64] = {"I64", 8}, [SP_I32] = {"I32", 4},
    [SP_U8] = {"U8", 1},
};

size_t sp_dtype_size(sp_dtype t) { return dtypes[t].size; }
const char *sp_dtype_name(sp_dtype t) { return dtypes[t].name; }

int sp_dtype_parse(const char *name, sp_dtype *t)
{
    for (int i = 0; i < SP_DTYPE_COUNT; i++)
        if (strcmp(name, dtypes[i].name) == 0) {
            *t = (sp_dtype)i;
            return 0;
        }
    return -1;
}

int64_t sp_tensor_numel(const sp_tensor *t)
{
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++)
        n *= t->shape[i];
    return n;
}

size_t sp_tensor_bytes(const sp_tensor *t)
{
    return (size_t)sp_tensor_numel(t) * sp_dtype_size(t->dtype);
}

void sp_tensor_init(sp_tensor *t, const char *name, sp_dtype dtype, int ndim, const int64_t *shape)
{
    memset(t, 0, sizeof *t);
    t->name = sp_xstrdup(name);
    t->dtype = dtype;
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++)
        t->shape[i] = shape[i];
    t->data = sp_xcalloc(1, sp_tensor_bytes(t));
}

void sp_tensor_free(sp_tensor *t)
{
    free(t->name);
    free(t->data);
    t->name = NULL;
    t->data = NULL;
}

void sp_tensor_copy(sp_tensor *dst, const sp_tensor *src)
{
    sp_tensor_init(dst, src->name, src->dtype, src->ndim, src->shape);
    memcpy(dst->data, src->data, sp_tensor_bytes(src));
}

char *sp_shape_str(char *buf, size_t n, int ndim, const int64_t *shape)
{
    size_t used = 0;
    buf[0] = 0;
    if (ndim == 0)
        snprintf(buf, n, "scalar");
    for (int i = 0; i < ndim && used < n; i++)
        used += (size_t)snprintf(buf + used, n - used, i ? "x%lld" : "%lld", (long long)shape[i]);
    return buf;
}

int sp_shape_equal(int ndim_a, const int64_t *a, int ndim_b, const int64_t *b)
{
    if (ndim_a != ndim_b)
        return 0;
    for (int i = 0; i < ndim_a; i++)
        if (a[i] != b[i])
            return 0;
    return 1;
}

int sp_window_out(int size, int kernel, int stride, int pad)
{
    if (stride <= 0)
        return 0;
    /* 64 bits, and floored also below zero, so that a window larger than
     * the padded input never rounds up to one position */
    int64_t span = (int64_t)size + 2 * (int64_t)pad - kernel;
    int64_t out = (span >= 0 ? span / stride : -((-span + stride - 1) / stride)) + 1;
    return out > INT_MAX ? INT_MAX : out < INT_MIN ? INT_MIN : (int)out;
}
