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
    char source[160];         /* where mean and std came from ("preset
                                 imagenet", "statistics of train.spd", ...) */
} sp_preproc;

/* A named normalisation (sp-import --norm NAME). */
typedef struct sp_norm_preset {
    const char *name;
    int channels;             /* 0: any, the same value for every channel */
    float mean[3], std[3];
    const char *about;        /* where the values come from, for --help */
} sp_norm_preset;

const sp_norm_preset *sp_norm_presets(void);   /* terminated by a NULL name */
const sp_norm_preset *sp_norm_preset_lookup(const char *name);   /* NULL: none */
/* Set p's mean, std and source from a preset, or from a dataset's
 * statistics (its header); -1 with a sentence when the channels differ. */
int sp_preproc_use_preset(sp_preproc *p, const char *name);
int sp_preproc_use_dataset(sp_preproc *p, const sp_dataset *d);

/* The network's preprocessing: input size from its graph, mean and std
 * from its metadata ("mean", "std": comma-separated per channel; their
 * source from "norm_source"), else the dataset's statistics (d may be
 * NULL: then 0.5 and 0.5).  Fails for more than 3 channels or malformed
 * values. */
int sp_preproc_get(const sp_model *m, const sp_dataset *d, sp_preproc *p);
/* Record p in m's metadata: all of it, or only mean, std and source. */
void sp_preproc_set(sp_model *m, const sp_preproc *p);
void sp_preproc_set_norm(sp_model *m, const sp_preproc *p);
/* Replace the mean and/or std (NULL: keep) with "v,v,v" strings given on
 * the command line, the source then "--mean/--std given to WHO"; -1 with a
 * sentence naming the option when malformed. */
int sp_preproc_override(sp_preproc *p, const char *mean, const char *std, const char *who);
/* Parse "v,v,v" (n values); -1 on anything else. */
int sp_floats_parse(const char *s, float *v, int n);

#endif
