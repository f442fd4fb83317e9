/* fuzz.h: what the fuzz targets share: the input as a FILE or as a file in
 * a private temporary folder, and freeing what the readers return. */
#ifndef SP_FUZZ_H
#define SP_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "sp/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The bytes as a read-only stream (fclose it). */
FILE *fuzz_file(const uint8_t *data, size_t size);
/* The bytes written to NAME in this process's temporary folder; returns
 * the path (free it; unlink the file). */
char *fuzz_path(const uint8_t *data, size_t size, const char *name);
/* The folder NAME there, created (free the path; rmdir it). */
char *fuzz_dir(const char *name);
char *fuzz_xasprintf(const char *fmt, ...);
void fuzz_free_tensors(sp_tensor *t, int n, sp_meta_entry *meta, int nmeta);

#endif
