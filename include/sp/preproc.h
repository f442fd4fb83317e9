/* preproc.h: what a network expects of its input: size, per-channel mean
 * and standard deviation, and the augmentation it was trained with, kept
 * in the checkpoint's metadata. */
#ifndef SP_PREPROC_H
#define SP_PREPROC_H

#include "sp/data.h"
#include "sp/loader.h"
#include "sp/model.h"

typedef struct sp_preproc {
    int c, h, w;              /* the network's input */
    float mean[3], std[3];
    sp_augment augment;       /* what the network was trained with */
} sp_preproc;

/* The network's preprocessing: input size from its graph, mean and std
 * from its metadata ("mean", "std": comma-separated per channel), else the
 * dataset's statistics (d may be NULL: then 0.5 and 0.5).  Fails for more
 * than 3 channels or malformed values. */
int sp_preproc_get(const sp_model *m, const sp_dataset *d, sp_preproc *p);
void sp_preproc_set(sp_model *m, const sp_preproc *p);
/* Replace the mean and/or std (NULL: keep) with "v,v,v" strings given on
 * the command line; -1 with a sentence naming the option when malformed. */
int sp_preproc_override(sp_preproc *p, const char *mean, const char *std);
/* Parse "v,v,v" (n values); -1 on anything else. */
int sp_floats_parse(const char *s, float *v, int n);

#endif
