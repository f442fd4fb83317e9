/* cuda_mem.cu: device memory and transfers.
 *
 * The arena: every block the backend ever took from cudaMalloc stays
 * listed; free marks it unused and alloc takes the smallest unused block
 * that fits (and is not more than twice the request) before asking CUDA
 * again, so a training run allocates nothing after its first step and
 * executors built one after another (the pruning stage) reuse memory.
 *
 * With SP_CUDA_MANAGED set in the environment the blocks are managed
 * memory, which the host can read and write directly once the stream is
 * synchronised: the parity tests compare results in place that way.
 *
 * Transfers go through pinned staging buffers: an upload copies into one
 * and queues the copy to the device, returning at once (the other buffer
 * takes the next upload while the GPU still computes); a download drains
 * the stream. */
#include <stdlib.h>
#include <string.h>
#include "cuda_priv.h"

#define STAGE_BYTES ((size_t)8 << 20)

static cudaError_t device_malloc(cuda_ctx *x, void **p, size_t bytes)
{
    return x->managed ? cudaMallocManaged(p, bytes, cudaMemAttachGlobal) : cudaMalloc(p, bytes);
}

void *sp_cuda_alloc(sp_backend *b, size_t bytes)
{
    cuda_ctx *x = cuda_of(b);
    size_t need = (bytes + 255) / 256 * 256;
    if (need == 0)
        need = 256;
    int best = -1;
    for (int i = 0; i < x->nblocks; i++) {
        cuda_block *k = &x->blocks[i];
        if (!k->used && k->bytes >= need && k->bytes <= 2 * need &&
            (best < 0 || k->bytes < x->blocks[best].bytes))
            best = i;
    }
    if (best >= 0) {
        x->blocks[best].used = 1;
        return x->blocks[best].p;
    }
    void *p = NULL;
    if (device_malloc(x, &p, need) != cudaSuccess) {
        /* give the unused blocks back and try once more */
        cudaStreamSynchronize(x->stream);
        for (int i = 0; i < x->nblocks;) {
            if (!x->blocks[i].used) {
                cudaFree(x->blocks[i].p);
                x->blocks[i] = x->blocks[--x->nblocks];
            } else {
                i++;
            }
        }
        cudaGetLastError();
        if (device_malloc(x, &p, need) != cudaSuccess)
            x->host->oom(bytes);
    }
    if (x->nblocks == x->capblocks) {
        x->capblocks = x->capblocks ? 2 * x->capblocks : 64;
        x->blocks = (cuda_block *)realloc(x->blocks, (size_t)x->capblocks * sizeof *x->blocks);
        if (!x->blocks)
            x->host->oom((size_t)x->capblocks * sizeof *x->blocks);
    }
    cuda_block k = {p, need, 1};
    x->blocks[x->nblocks++] = k;
    return p;
}

void sp_cuda_free(sp_backend *b, void *p)
{
    cuda_ctx *x = cuda_of(b);
    if (!p)
        return;
    for (int i = x->nblocks - 1; i >= 0; i--)
        if (x->blocks[i].p == p) {
            x->blocks[i].used = 0;
            return;
        }
}

void sp_cuda_arena_release(cuda_ctx *x)
{
    for (int i = 0; i < x->nblocks; i++)
        cudaFree(x->blocks[i].p);
    free(x->blocks);
    x->blocks = NULL;
    x->nblocks = x->capblocks = 0;
}

static int stages_ready(cuda_ctx *x)
{
    if (x->stage[0])
        return 1;
    for (int i = 0; i < CUDA_STAGES; i++)
        if (!CUDA_OK(x, cudaHostAlloc(&x->stage[i], STAGE_BYTES, cudaHostAllocDefault)))
            return 0;
    x->stage_bytes = STAGE_BYTES;
    return 1;
}

void sp_cuda_upload(sp_backend *b, void *dst, const void *host, size_t bytes)
{
    cuda_ctx *x = cuda_of(b);
    if (x->failed[0] || bytes == 0 || !stages_ready(x))
        return;
    for (size_t done = 0; done < bytes;) {
        size_t n = bytes - done < x->stage_bytes ? bytes - done : x->stage_bytes;
        int s = x->next_stage;
        x->next_stage = (s + 1) % CUDA_STAGES;
        /* the buffer's previous copy must have left it */
        CUDA_OK(x, cudaEventSynchronize(x->stage_done[s]));
        memcpy(x->stage[s], (const char *)host + done, n);
        CUDA_OK(x, cudaMemcpyAsync((char *)dst + done, x->stage[s], n, cudaMemcpyHostToDevice,
                                   x->stream));
        CUDA_OK(x, cudaEventRecord(x->stage_done[s], x->stream));
        done += n;
    }
}

void sp_cuda_download(sp_backend *b, void *host, const void *src, size_t bytes)
{
    cuda_ctx *x = cuda_of(b);
    if (x->failed[0] || bytes == 0 || !stages_ready(x)) {
        if (bytes)
            memset(host, 0, bytes);
        return;
    }
    for (size_t done = 0; done < bytes;) {
        size_t n = bytes - done < x->stage_bytes ? bytes - done : x->stage_bytes;
        int s = x->next_stage;
        x->next_stage = (s + 1) % CUDA_STAGES;
        CUDA_OK(x, cudaMemcpyAsync(x->stage[s], (const char *)src + done, n,
                                   cudaMemcpyDeviceToHost, x->stream));
        CUDA_OK(x, cudaStreamSynchronize(x->stream));
        memcpy((char *)host + done, x->stage[s], n);
        done += n;
    }
}

void sp_cuda_copy(sp_backend *b, void *dst, const void *src, size_t bytes)
{
    cuda_ctx *x = cuda_of(b);
    if (!x->failed[0] && bytes && dst != src)
        CUDA_OK(x, cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, x->stream));
}

static __global__ void k_fill(float *dst, float v, size_t n)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x)
        dst[i] = v;
}

static __global__ void k_accumulate(float *dst, const float *src, size_t n)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x)
        dst[i] += src[i];
}

static __global__ void k_scale(float *x, float a, size_t n)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x)
        x[i] *= a;
}

void sp_cuda_fill(sp_backend *b, float *dst, float value, size_t n)
{
    cuda_ctx *x = cuda_of(b);
    if (x->failed[0] || n == 0)
        return;
    k_fill<<<sp_cuda_blocks(n, CUDA_THREADS), CUDA_THREADS, 0, x->stream>>>(dst, value, n);
    CUDA_LAUNCHED(x);
}

void sp_cuda_accumulate(sp_backend *b, float *dst, const float *src, size_t n)
{
    cuda_ctx *x = cuda_of(b);
    if (x->failed[0] || n == 0)
        return;
    k_accumulate<<<sp_cuda_blocks(n, CUDA_THREADS), CUDA_THREADS, 0, x->stream>>>(dst, src, n);
    CUDA_LAUNCHED(x);
}

void sp_cuda_scale(sp_backend *b, float *p, float alpha, size_t n)
{
    cuda_ctx *x = cuda_of(b);
    if (x->failed[0] || n == 0)
        return;
    k_scale<<<sp_cuda_blocks(n, CUDA_THREADS), CUDA_THREADS, 0, x->stream>>>(p, alpha, n);
    CUDA_LAUNCHED(x);
}

void sp_cuda_sync(sp_backend *b)
{
    cuda_ctx *x = cuda_of(b);
    if (!x->failed[0])
        CUDA_OK(x, cudaStreamSynchronize(x->stream));
}
