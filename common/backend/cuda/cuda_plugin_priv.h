/* cuda_plugin_priv.h: what the CUDA backend's plug-in (libsp-cuda.so) and the
 * library that loads it (backend/backend_load.c) agree on.
 *
 * The plug-in is the only object that links the CUDA libraries, so the
 * programs run on machines without them; it is opened with dlopen the
 * first time a program asks for a GPU.  The library hands it the few
 * services of its own that it needs (errors, the dropout rule), so the
 * plug-in links nothing of libsp and records its errors where sp_error()
 * reads them. */
#ifndef SP_CUDA_PLUGIN_PRIV_H
#define SP_CUDA_PLUGIN_PRIV_H

#include <stddef.h>
#include <stdint.h>
#include "sp/backend.h"

#define SP_CUDA_PLUGIN_VERSION 1
#define SP_CUDA_PLUGIN_NAME "libsp-cuda.so"

typedef struct sp_cuda_host {
    int version;                                           /* SP_CUDA_PLUGIN_VERSION */
    int (*errorf)(const char *fmt, ...);                   /* sp_errorf */
    void (*oom)(size_t bytes);                             /* sp_oom: never returns */
    /* rules_priv.h: sp_dropout_draw */
    void (*dropout_draw)(float *keep, size_t n, float p, uint64_t seed, uint64_t counter,
                         size_t first);
} sp_cuda_host;

/* The plug-in's exports, looked up by these names. */
typedef struct sp_cuda_plugin {
    int version;
    /* GPUs present (0 with an error recorded when none can be used). */
    int (*count)(const sp_cuda_host *h);
    /* A backend on GPU `device`, or NULL with an error. */
    sp_backend *(*create)(const sp_cuda_host *h, int device);
    /* Sum n floats (or doubles) of device memory in place across the
     * processes of a NCCL communicator (NULL when built without NCCL). */
    void *(*nccl_open)(sp_backend *b, const void *unique_id, int rank, int size);
    int (*nccl_id)(void *unique_id_out, size_t bytes);
    int (*nccl_allreduce)(void *comm, sp_backend *b, void *x, size_t n, int is_double);
    void (*nccl_close)(void *comm);
} sp_cuda_plugin;

#define SP_CUDA_PLUGIN_SYMBOL "sp_cuda_plugin_table"

#endif
