/* loader.h: batches of normalised float images from a dataset, prepared by
 * background threads.
 *
 * Determinism: the order of an epoch is a permutation drawn from
 * (seed, epoch) and each sample's augmentation from (seed, epoch, index),
 * so any batch of any epoch is the same whichever thread makes it and
 * whenever: a run resumed at batch k of epoch e sees exactly the data the
 * uninterrupted run saw.
 *
 * Augmentations (sp-method(7), DATA):
 *   none      resize the shorter side to size*256/224 and take the centre
 *             crop when the record is not already the input size
 *   cifar     zero-pad by 4, random crop, horizontal flip
 *   imagenet  random resized crop (scale 0.08-1, ratio 3/4-4/3), flip
 * then (x/255 - mean) / std per channel, NCHW. */
#ifndef SP_LOADER_H
#define SP_LOADER_H

#include <stdint.h>
#include "sp/data.h"

typedef enum sp_augment { SP_AUG_NONE, SP_AUG_CIFAR, SP_AUG_IMAGENET } sp_augment;

/* "none", "cifar", "imagenet"; -1 if unknown. */
int sp_augment_parse(const char *s, sp_augment *a);
const char *sp_augment_name(sp_augment a);

typedef struct sp_loader_opts {
    int batch;
    int shuffle;              /* a new permutation every epoch */
    int drop_last;            /* skip a final partial batch */
    sp_augment augment;
    uint64_t seed;
    int c, h, w;              /* network input */
    float mean[3], std[3];    /* per channel, on the [0, 1] scale */
    int threads;              /* background workers (>= 1) */
    /* Data-parallel training (sp/dist.h): only share `part` of `parts`
     * of every batch is made, samples [n*part/parts, n*(part+1)/parts) of
     * a batch of n; parts 0 or 1: the whole batch. */
    int part, parts;
} sp_loader_opts;

typedef struct sp_loader sp_loader;

/* Fails when the dataset's channels differ from o->c. */
sp_loader *sp_loader_new(const sp_dataset *d, const sp_loader_opts *o);
void sp_loader_free(sp_loader *l);

int64_t sp_loader_batches(const sp_loader *l);      /* per epoch */
/* Start (or restart) producing epoch `epoch` from batch `first`. */
void sp_loader_start(sp_loader *l, int epoch, int64_t first);
/* The next batch of the current epoch: 1 with *images (n x c x h x w),
 * *labels and *n set, valid until the next call; 0 after the last batch;
 * -1 with an error (a record that does not decode). */
int sp_loader_next(sp_loader *l, const float **images, const int32_t **labels, int *n);
/* The size of the whole batch sp_loader_next returned last (its n unless
 * the loader makes a share). */
int sp_loader_total(const sp_loader *l);

/* One sample, the same as the loader makes it (for tests): out holds
 * c*h*w floats. */
int sp_augment_sample(const sp_dataset *d, int64_t index, const sp_loader_opts *o,
                      int epoch, float *out);

#endif
