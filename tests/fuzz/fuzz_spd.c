/* fuzz_spd.c: the .spd reader (sp-data(5)): open, verify, decode every
 * record (at most 64) and print the summary sp-inspect shows.  Built by
 * `make fuzz` (libFuzzer). */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "sp/data.h"
#include "sp/image.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *path = fuzz_path(data, size, "in.spd");
    sp_dataset *d = sp_data_open(path);
    if (d) {
        sp_image img = {0};
        img.max_pixels = 1 << 22;
        sp_data_verify(d);
        for (int64_t i = 0; i < sp_data_count(d) && i < 64; i++) {
            (void)sp_data_label(d, i);
            sp_data_decode(d, i, 0, &img);
        }
        sp_image_free(&img);
        sp_data_close(d);
        FILE *out = fopen("/dev/null", "w");
        sp_data_inspect(path, 1, -1, out);
        fclose(out);
    }
    unlink(path);
    free(path);
    return 0;
}
