/* fuzz_pack.c: sp-pack's readers.  The first byte picks one: a CIFAR-10 or
 * CIFAR-100 archive, an IDX images and labels pair (the second byte says
 * where the input splits in two), an ILSVRC train archive, a WebDataset
 * shard, or a folder ROOT/CLASS/IMAGE holding the rest as one image; the
 * rest is the input.  Records go to /dev/null.  Built by `make fuzz`
 * (libFuzzer). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "sp/pack.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int formats[] = { SP_PACK_CIFAR10, SP_PACK_CIFAR100, SP_PACK_IDX,
                                   SP_PACK_ILSVRC_TRAIN, SP_PACK_WDS, SP_PACK_FOLDER };
    if (size < 2)
        return 0;
    sp_pack_opts o;
    memset(&o, 0, sizeof o);
    o.format = formats[data[0] % (sizeof formats / sizeof *formats)];
    o.threads = 1;
    o.quality = 90;
    o.height = o.width = 8;
    o.limit = 64;
    o.max_pixels = 1 << 22;
    char *in[2] = { NULL, NULL };
    int nin = 1;
    char *dir = NULL;
    if (o.format == SP_PACK_IDX) {
        size_t cut = (size - 2) * data[1] / 255;
        in[0] = fuzz_path(data + 2, cut, "images-idx3-ubyte");
        in[1] = fuzz_path(data + 2 + cut, size - 2 - cut, "labels-idx1-ubyte");
        nin = 2;
    } else if (o.format == SP_PACK_FOLDER) {
        dir = fuzz_dir("root");
        free(fuzz_dir("root/a"));
        in[1] = fuzz_path(data + 1, size - 1, "root/a/img");
        in[0] = dir;
    } else {
        in[0] = fuzz_path(data + 1, size - 1, o.format == SP_PACK_WDS ? "shard.tar" : "in.bin");
    }
    FILE *out = fopen("/dev/null", "wb");
    int64_t records, skipped;
    sp_pack_run(in, nin, &o, out, "fuzz", &records, &skipped);
    fclose(out);
    if (dir) {
        unlink(in[1]);
        char *cls = fuzz_xasprintf("%s/a", dir);
        rmdir(cls);
        rmdir(dir);
        free(cls);
        free(in[1]);
        free(dir);
    } else {
        for (int k = 0; k < nin; k++) {
            unlink(in[k]);
            free(in[k]);
        }
    }
    return 0;
}
