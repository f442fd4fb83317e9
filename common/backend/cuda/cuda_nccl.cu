/* cuda_nccl.cu: summing device buffers across the processes of a
 * data-parallel run with NCCL (built only where nccl.h is found).  The
 * communicator is made from a unique id that rank 0 draws and MPI
 * broadcasts (common/train/dist.c); the sums run on the backend's stream,
 * in order with the backward pass that produced the gradients. */
#ifdef SP_HAVE_NCCL
#include <string.h>
#include <nccl.h>
#include "cuda_priv.h"

int sp_cuda_nccl_id(void *id, size_t bytes)
{
    ncclUniqueId u;
    if (bytes < sizeof u || ncclGetUniqueId(&u) != ncclSuccess)
        return -1;
    memcpy(id, &u, sizeof u);
    return (int)sizeof u;
}

void *sp_cuda_nccl_open(sp_backend *b, const void *id, int rank, int size)
{
    cuda_ctx *x = cuda_of(b);
    ncclUniqueId u;
    ncclComm_t comm = NULL;
    memcpy(&u, id, sizeof u);
    if (!CUDA_OK(x, cudaSetDevice(x->device)))
        return NULL;
    ncclResult_t r = ncclCommInitRank(&comm, size, u, rank);
    if (r != ncclSuccess) {
        x->host->errorf("cannot join the other processes' GPUs through NCCL: %s",
                        ncclGetErrorString(r));
        return NULL;
    }
    return comm;
}

int sp_cuda_nccl_allreduce(void *comm, sp_backend *b, void *p, size_t n, int is_double)
{
    cuda_ctx *x = cuda_of(b);
    if (x->failed[0])
        return sp_cuda_check(b);
    ncclResult_t r = ncclAllReduce(p, p, n, is_double ? ncclDouble : ncclFloat, ncclSum,
                                   (ncclComm_t)comm, x->stream);
    if (r != ncclSuccess)
        return x->host->errorf("NCCL's all-reduce failed: %s", ncclGetErrorString(r));
    return 0;
}

void sp_cuda_nccl_close(void *comm)
{
    if (comm)
        ncclCommDestroy((ncclComm_t)comm);
}
#endif
