/* backend.c: choosing a backend by name, and the output sizes of the
 * shape structs (sp_window_out, the formula the graph also uses). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "sp/backend.h"
#include "sp/base.h"
#include "sp/tensor.h"
#include "backend_load_priv.h"

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

/* "cuda" or "cuda:N": the GPU number, or -1 when the name is neither. */
static int cuda_device(const char *name)
{
    if (strcmp(name, "cuda") == 0)
        return 0;
    if (strncmp(name, "cuda:", 5) != 0 || name[5] < '0' || name[5] > '9')
        return -1;
    char *end;
    long d = strtol(name + 5, &end, 10);
    return *end || d > 1024 ? -1 : (int)d;
}

/* Without the NVIDIA driver's device files there is no GPU, and the CUDA
 * libraries need not be loaded to learn it. */
int sp_backend_have_gpu(void)
{
    static int have = -1;
    if (have < 0)
        have = access("/dev/nvidiactl", F_OK) == 0 && sp_cuda_load_count() > 0;
    return have;
}

/* Under mpirun, "cuda" is the GPU of this process's place on its machine. */
static int local_gpu(void)
{
    const char *local = getenv("OMPI_COMM_WORLD_LOCAL_RANK");
    int n = local ? sp_cuda_load_count() : 0;
    return n > 0 ? atoi(local) % n : 0;
}

sp_backend *sp_backend_create(const char *name)
{
    if (!name) {
        sp_errorf("no device named (expected auto, cpu, cuda, cuda:N or ref)");
        return NULL;
    }
    if (strcmp(name, "auto") == 0)
        name = sp_backend_have_gpu() ? "cuda" : "cpu";
    if (strcmp(name, "ref") == 0)
        return sp_ref_backend_create();
    if (strcmp(name, "cpu") == 0)
        return sp_cpu_backend_create();
    int gpu = cuda_device(name);
    if (gpu >= 0)
        return sp_cuda_load(strcmp(name, "cuda") == 0 ? local_gpu() : gpu);
    sp_errorf("unknown device '%s' (expected auto, cpu, cuda, cuda:N or ref)", name);
    return NULL;
}

const char *sp_backend_device(const char *name, char *buf, size_t n)
{
    if (name && strcmp(name, "auto") == 0)
        name = sp_backend_have_gpu() ? "cuda" : "cpu";
    int gpu = name ? cuda_device(name) : -1;
    if (gpu >= 0)
        snprintf(buf, n, "cuda:%d", strcmp(name, "cuda") == 0 ? local_gpu() : gpu);
    else if (name && (strcmp(name, "cpu") == 0 || strcmp(name, "ref") == 0))
        snprintf(buf, n, "%s", name);
    else
        return NULL;
    return buf;
}

void sp_backend_destroy(sp_backend *b)
{
    if (b)
        b->destroy(b);
}
