/* fuzz_torch.c: PyTorch checkpoints (zip and legacy .pth, bare pickles,
 * safetensors) through sp_torch_load, then the match to a built-in network
 * that sp-import makes.  Built by `make fuzz` (libFuzzer). */
#include <stdio.h>
#include <stdlib.h>
#include "sp/model.h"
#include "sp/torch.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FILE *f = fuzz_file(data, size);
    sp_tensor *t;
    int n;
    if (sp_torch_load(f, "fuzz", &t, &n) == 0) {
        sp_model *m = sp_import_model(t, n, NULL, "fuzz");
        sp_model_free(m);
        fuzz_free_tensors(t, n, NULL, 0);
    }
    fclose(f);
    return 0;
}
