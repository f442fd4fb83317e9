/* norm.c: the named normalisations (--norm NAME), a dataset's statistics
 * as a normalisation, and the record of where a network's mean and
 * standard deviation came from (metadata key "norm_source", see
 * sp-checkpoint(5)). */
#include <stdio.h>
#include <string.h>

#include "sp/base.h"
#include "sp/preproc.h"

/* Values as their sources publish them: torchvision's ImageNet constants;
 * the per-pixel statistics of the CIFAR training sets and of MNIST and
 * Fashion-MNIST (sp-pack stores the same statistics in a dataset's
 * header). */
static const sp_norm_preset presets[] = {
    {"imagenet", 3, {0.485f, 0.456f, 0.406f}, {0.229f, 0.224f, 0.225f},
     "torchvision's ImageNet statistics"},
    {"cifar10", 3, {0.4914f, 0.4822f, 0.4465f}, {0.2470f, 0.2435f, 0.2616f},
     "CIFAR-10 training set"},
    {"cifar100", 3, {0.5071f, 0.4865f, 0.4409f}, {0.2673f, 0.2564f, 0.2762f},
     "CIFAR-100 training set"},
    {"mnist", 1, {0.1307f}, {0.3081f}, "MNIST training set"},
    {"fashion-mnist", 1, {0.2860f}, {0.3530f}, "Fashion-MNIST training set"},
    {"half", 0, {0.5f, 0.5f, 0.5f}, {0.5f, 0.5f, 0.5f}, "0.5 and 0.5, any number of channels"},
    {"none", 0, {0.0f, 0.0f, 0.0f}, {1.0f, 1.0f, 1.0f}, "pixels in [0, 1] as they are"},
    {NULL, 0, {0}, {0}, NULL},
};

const sp_norm_preset *sp_norm_presets(void) { return presets; }

const sp_norm_preset *sp_norm_preset_lookup(const char *name)
{
    for (const sp_norm_preset *p = presets; p->name; p++)
        if (name && strcmp(p->name, name) == 0)
            return p;
    return NULL;
}

static void set_source(sp_preproc *p, const char *fmt, const char *a, const char *b)
{
    snprintf(p->source, sizeof p->source, fmt, a, b);
}

int sp_preproc_use_preset(sp_preproc *p, const char *name)
{
    const sp_norm_preset *n = sp_norm_preset_lookup(name);
    if (!n)
        return sp_errorf("unknown normalisation '%s'", name);
    if (n->channels && n->channels != p->c)
        return sp_errorf("normalisation '%s' is for %d channel%s, but the network takes %d",
                         name, n->channels, SP_PLURAL(n->channels), p->c);
    for (int c = 0; c < p->c; c++) {
        p->mean[c] = n->mean[n->channels ? c : 0];
        p->std[c] = n->std[n->channels ? c : 0];
    }
    set_source(p, "preset %s%s", name, "");
    return 0;
}

int sp_preproc_use_dataset(sp_preproc *p, const sp_dataset *d)
{
    if (sp_data_channels(d) != p->c)
        return sp_errorf("'%s' has %d channel%s, but the network takes %d", sp_data_path(d),
                         sp_data_channels(d), SP_PLURAL(sp_data_channels(d)), p->c);
    const float *mean = sp_data_mean(d), *std = sp_data_std(d);
    for (int c = 0; c < p->c; c++) {
        if (!(std[c] > 0))
            return sp_errorf("'%s': the standard deviation of channel %d is not positive",
                             sp_data_path(d), c);
        p->mean[c] = mean[c];
        p->std[c] = std[c];
    }
    set_source(p, "statistics of %s%s", sp_data_path(d), "");
    return 0;
}
