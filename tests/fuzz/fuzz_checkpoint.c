/* fuzz_checkpoint.c: the checkpoint reader (sp-checkpoint(5)) and the plain
 * safetensors reader on arbitrary bytes.  Built by `make fuzz` (libFuzzer). */
#include <stdio.h>
#include <stdlib.h>
#include "sp/checkpoint.h"
#include "sp/model.h"
#include "sp/safetensors.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FILE *f = fuzz_file(data, size);
    sp_model *m = sp_ckpt_read(f, "fuzz");
    sp_model_free(m);
    fclose(f);
    f = fuzz_file(data, size);
    sp_tensor *t;
    sp_meta_entry *meta;
    int n, nmeta;
    if (sp_safetensors_read(f, "fuzz", &t, &n, &meta, &nmeta) == 0)
        fuzz_free_tensors(t, n, meta, nmeta);
    fclose(f);
    return 0;
}
