/* backend.c: choosing a backend by name, and the output-size formulas
 * every backend and the graph share. */
#include <string.h>
#include "sp/backend.h"
#include "sp/base.h"

#ifdef SP_HAVE_CUDA
sp_backend *sp_cuda_backend_create(void);   /* common/backend/cuda, built only with nvcc */
#endif

/* floor((in + 2 * pad - k) / stride) + 1, floored also when the window does
 * not fit, so that a size that cannot exist comes out <= 0. */
static int out_size(int in, int k, int stride, int pad)
{
    int span = in + 2 * pad - k;
    if (stride <= 0)
        return 0;
    if (span < 0)
        return -((-span + stride - 1) / stride) + 1;
    return span / stride + 1;
}

void sp_conv_shape_out(sp_conv_shape *s)
{
    s->oh = out_size(s->h, s->kh, s->sh, s->ph);
    s->ow = out_size(s->w, s->kw, s->sw, s->pw);
}

void sp_pool_shape_out(sp_pool_shape *s)
{
    s->oh = out_size(s->h, s->kh, s->sh, s->ph);
    s->ow = out_size(s->w, s->kw, s->sw, s->pw);
}

sp_backend *sp_backend_create(const char *name)
{
    if (!name) {
        sp_errorf("no backend named (expected ref, cpu or cuda)");
        return NULL;
    }
    if (strcmp(name, "ref") == 0)
        return sp_ref_backend_create();
    if (strcmp(name, "cpu") == 0)
        return sp_cpu_backend_create();
    if (strcmp(name, "cuda") == 0) {
#ifdef SP_HAVE_CUDA
        return sp_cuda_backend_create();
#else
        sp_errorf("sp was built without CUDA support");
        return NULL;
#endif
    }
    sp_errorf("unknown backend '%s' (expected ref, cpu or cuda)", name);
    return NULL;
}

void sp_backend_destroy(sp_backend *b)
{
    if (b)
        b->destroy(b);
}
