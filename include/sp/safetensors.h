/* safetensors.h: plain safetensors files, written by any program. */
#ifndef SP_SAFETENSORS_H
#define SP_SAFETENSORS_H

#include <stdio.h>
#include "sp/model.h"

/* A plain safetensors file from any writer (no sp metadata required): its
 * tensors in file order and its __metadata__ strings, with the container's
 * own checks (header bounds, JSON, dtypes, byte ranges).  Used by sp-import
 * and by tests that load PyTorch-written fixtures.  *t and *meta are
 * malloc'd arrays the caller frees (sp_tensor_free each, free keys/values). */
int sp_safetensors_read(FILE *f, const char *what, sp_tensor **t, int *n,
                        sp_meta_entry **meta, int *nmeta);
int sp_safetensors_write(FILE *f, const sp_tensor *t, int n,
                         const sp_meta_entry *meta, int nmeta);

#endif
