/* fuzz_pickle.c: the restricted pickle machine on arbitrary bytes.  Built
 * by `make fuzz` (libFuzzer). */
#include "sp/torch.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t used;
    sp_pickle_free(sp_pickle_load(data, size, "fuzz", &used));
    return 0;
}
