/* backend_load_priv.h: the CUDA plug-in as the rest of the library sees it
 * (backend_load.c): a backend on GPU `device`, the number of GPUs (0 with
 * an error when none can be used), and the plug-in's table for NCCL. */
#ifndef SP_BACKEND_LOAD_H
#define SP_BACKEND_LOAD_H

#include "sp/backend.h"

struct sp_cuda_plugin;
sp_backend *sp_cuda_load(int device);
int sp_cuda_load_count(void);
const struct sp_cuda_plugin *sp_cuda_load_plugin(void);

#endif
