/* fuzz_image.c: JPEG and PNG decoding (with and without DCT scaling) and
 * the header probe, under a pixel cap of 4 million.  Built by `make fuzz`
 * (libFuzzer). */
#include "sp/image.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sp_image img = {0};
    int h, w;
    img.max_pixels = 1 << 22;
    sp_image_probe(data, size, &h, &w);
    sp_image_decode(&img, data, size, 3, 0, 0);
    sp_image_decode(&img, data, size, 1, 8, 8);
    sp_image_free(&img);
    return 0;
}
