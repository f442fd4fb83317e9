/* backend.c: choosing a backend by name, and the output sizes of the
 * shape structs (sp_window_out, the formula the graph also uses). */
#include <string.h>
#include "sp/backend.h"
#include "sp/base.h"
#include "sp/tensor.h"

#ifdef SP_HAVE_CUDA
sp_backend *sp_cuda_backend_create(void);   /* common/backend/cuda, built only with nvcc */
#endif

void sp_conv_shape_out(sp_conv_shape *s)
{
    s->oh = sp_window_out(s->h, s->kh, s->sh, s->ph);
    s->ow = sp_window_out(s->w, s->kw, s->sw, s->pw);
}

void sp_pool_shape_out(sp_pool_shape *s)
{
    s->oh = sp_window_out(s->h, s->kh, s->sh, s->ph);
    s->ow = sp_window_out(s->w, s->kw, s->sw, s->pw);
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
