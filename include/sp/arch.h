/* arch.h: the built-in networks (sp-init --arch NAME).
 *
 * Each builder lays out the public model's modules under their PyTorch
 * names and declares its pruning blocks as sp-method(7), Blocks, numbers
 * them.  Input size and channel count may differ from the default where the
 * network allows it (a CIFAR ResNet on 1x28x28 images); where it does not,
 * the builder fails with a sentence saying why. */
#ifndef SP_ARCH_H
#define SP_ARCH_H

#include <stdint.h>
#include "sp/graph.h"
#include "sp/model.h"

typedef struct sp_arch_opts {
    int classes;          /* 0: the network's default (10 for CIFAR, 1000 for ImageNet) */
    int in_c, in_h, in_w; /* 0: the network's default */
} sp_arch_opts;

typedef struct sp_arch_info {
    const char *name;
    const char *summary;  /* one line for --help and sp(7) */
    int classes, in_c, in_h, in_w;  /* defaults */
    const char *norm;     /* default normalisation, a preset (preproc.h)
                             for the default channel count */
} sp_arch_info;

/* The random stream (rng.h) of sp_arch_init_weights. */
#define SP_RNG_STREAM_INIT UINT64_C(0x73702d696e6974)   /* "sp-init" */

/* NULL-terminated table of the built-in networks. */
const sp_arch_info *sp_arch_list(void);
const sp_arch_info *sp_arch_lookup(const char *name);

sp_graph *sp_arch_build(const char *name, const sp_arch_opts *opts);

/* Fill the parameters of m with the initialisation the public model uses
 * (torchvision's or the CIFAR ResNet paper code's), from seed. */
void sp_arch_init_weights(sp_model *m, uint64_t seed);

/* Record in m's metadata the network a (key "arch"), its input size
 * ("input_size", CxHxW of the graph's input) and the default normalisation
 * ("mean", "std", "norm_source": a's preset, or "half" where the input's
 * channel count differs from the preset's). */
void sp_arch_set_preprocessing(sp_model *m, const sp_arch_info *a);

#endif
