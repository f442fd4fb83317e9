/* dist.c: the processes of a data-parallel run (dist.h).  The MPI plug-in
 * is opened only under a launcher; alone, rank 0 of 1 sums nothing.
 * Device memory: the CPU and reference backends keep it in host memory,
 * which MPI sums in place; the CUDA backend's goes through NCCL when the
 * plug-in has it, else through a host copy. */
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "sp/base.h"
#include "sp/dist.h"
#include "dist_plugin_priv.h"
#include "backend/backend_load_priv.h"
#include "backend/cuda/cuda_plugin_priv.h"

static const sp_mpi_plugin *mpi;
static int rank, size = 1, started;
/* NCCL: one communicator, for the one GPU backend of this process */
static sp_backend *nccl_backend;
static void *nccl_comm;
static int nccl_tried;
/* host copies of device memory summed without NCCL */
static void *stage;
static size_t stage_bytes;

static int launched(void)
{
    const char *v = getenv("OMPI_COMM_WORLD_SIZE");
    if (!v)
        v = getenv("PMI_SIZE");
    return v && atoi(v) > 1;
}

#ifdef SP_MPI_DIRS
static void *open_plugin(char *why, size_t len)
{
    char dirs[] = SP_MPI_DIRS, path[PATH_MAX + 64];
    for (char *d = strtok(dirs, ":"); d; d = strtok(NULL, ":")) {
        snprintf(path, sizeof path, "%s/%s", d, SP_MPI_PLUGIN_NAME);
        if (access(path, F_OK) != 0)
            continue;
        /* global: Open MPI's own components look for libmpi's symbols */
        void *h = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
        if (!h)
            snprintf(why, len, "the MPI library cannot be loaded (%s)", dlerror());
        return h;
    }
    snprintf(why, len, "the MPI plug-in %s is not installed", SP_MPI_PLUGIN_NAME);
    return NULL;
}
#endif

int sp_dist_init(void)
{
    if (started || !launched())
        return 0;
    started = 1;
#ifdef SP_MPI_DIRS
    char why[1024] = "";
    void *h = open_plugin(why, sizeof why);
    if (h)
        mpi = (const sp_mpi_plugin *)dlsym(h, SP_MPI_PLUGIN_SYMBOL);
    if (h && (!mpi || mpi->version != SP_MPI_PLUGIN_VERSION)) {
        mpi = NULL;
        snprintf(why, sizeof why, "the MPI plug-in does not match this build of sp; rebuild both");
    }
    if (mpi && mpi->init(&rank, &size, why, sizeof why) < 0)
        mpi = NULL;
    if (!mpi)
        return sp_errorf("started by mpirun, but %s", why);
    return 0;
#else
    return sp_errorf("started by mpirun, but sp was built without MPI (mpicc was not found "
                     "when it was built)");
#endif
}

int sp_dist_rank(void)
{
    return rank;
}

int sp_dist_size(void)
{
    return size;
}

int sp_dist_share(int n, int *lo, int *hi)
{
    if (n < size)
        return sp_errorf("a batch of %d images cannot be shared by %d processes", n, size);
    *lo = (int)((int64_t)n * rank / size);
    *hi = (int)((int64_t)n * (rank + 1) / size);
    return 0;
}

static int host_memory(const sp_backend *b)
{
    return strcmp(b->name, "cpu") == 0 || strcmp(b->name, "ref") == 0;
}

static int sum_host(void *x, size_t n, int is_double)
{
    int rc = is_double ? mpi->sum_double(x, n) : mpi->sum_float(x, n);
    return rc < 0 ? sp_errorf("summing over the processes failed (MPI)") : 0;
}

/* A NCCL communicator for b, made on first use: rank 0 draws the id and
 * MPI hands it to the others.  NULL (and no error) without NCCL. */
static void *nccl_for(sp_backend *b)
{
    if (nccl_tried)
        return b == nccl_backend ? nccl_comm : NULL;
    nccl_tried = 1;
    const sp_cuda_plugin *p = sp_cuda_load_plugin();
    if (!p || !p->nccl_open)
        return NULL;
    char id[256];
    memset(id, 0, sizeof id);
    if (rank == 0 && p->nccl_id(id, sizeof id) < 0)
        memset(id, 0, sizeof id);
    if (mpi->bcast(id, sizeof id) < 0)
        return NULL;
    nccl_comm = p->nccl_open(b, id, rank, size);
    nccl_backend = nccl_comm ? b : NULL;
    return nccl_comm;
}

int sp_dist_sum(sp_backend *b, void *x, size_t n, int is_double)
{
    if (size < 2 || n == 0)
        return 0;
    if (host_memory(b))
        return sum_host(x, n, is_double);
    void *comm = nccl_for(b);
    if (comm)
        return sp_cuda_load_plugin()->nccl_allreduce(comm, b, x, n, is_double);
    size_t bytes = n * (is_double ? sizeof(double) : sizeof(float));
    if (bytes > stage_bytes) {
        free(stage);
        stage = sp_xmalloc(bytes);
        stage_bytes = bytes;
    }
    b->download(b, stage, x, bytes);
    if (sum_host(stage, n, is_double) < 0)
        return -1;
    b->upload(b, x, stage, bytes);
    return 0;
}

int sp_dist_sum_host(double *x, size_t n)
{
    return size < 2 || n == 0 ? 0 : sum_host(x, n, 1);
}

void sp_dist_abort(int status)
{
    if (mpi)
        mpi->abort_all(status);
}

void sp_dist_finish(void)
{
    if (nccl_comm && sp_cuda_load_plugin())
        sp_cuda_load_plugin()->nccl_close(nccl_comm);
    nccl_comm = NULL;
    free(stage);
    stage = NULL;
    stage_bytes = 0;
    if (mpi)
        mpi->finish();
    mpi = NULL;
}
