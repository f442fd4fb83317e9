/* arch_vgg.c: VGG-16 with batch norm, in its CIFAR and ImageNet forms.
 *
 * The features are torchvision's vgg16_bn (features.N is the index in its
 * Sequential: conv, bn, relu, and a max-pool after convs 1, 3, 6, 9, 12),
 * so a torchvision state_dict imports by name.  Blocks 0..12 mask the
 * ReLU of each conv (before its pool); the 4096-wide heads add blocks 13
 * and 14 at the Dropout after fc6 and fc7, where the method masks them.
 *
 * The ImageNet head's AdaptiveAvgPool2d(7, 7) is the identity on the 7x7
 * map of a 224x224 input and is left out there: the published FLOPs of
 * this network (sp-method(7), COUNTING) do not include it.  Other
 * input sizes keep it, so the classifier still receives 512x7x7. */
#include <string.h>
#include "arch_priv.h"

static const int vgg16_cfg[] = {
    64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0
};

/* Appends the features; returns the last node (the fifth pool). */
static int vgg_features(sp_arch_builder *b, int x)
{
    int idx = 0, layer = 0;
    for (size_t i = 0; i < SP_COUNT(vgg16_cfg); i++) {
        if (vgg16_cfg[i] == 0) {
            x = sp_ab_maxpool(b, x, 2, 2, 0, "features.%d", idx++);
            continue;
        }
        x = sp_ab_conv(b, x, vgg16_cfg[i], 3, 1, 1, 1, 1, "features.%d", idx++);
        x = sp_ab_bn(b, x, "features.%d", idx++);
        x = sp_ab_act(b, x, SP_OP_RELU, "features.%d", idx++);
        sp_ab_anchor(b, layer++, x);
    }
    return x;
}

/* fc6 -> ReLU -> Dropout -> fc7 -> ReLU -> Dropout -> fc8, as classifier.0..6. */
static int vgg_fc_head(sp_arch_builder *b, int x, int cin, int classes)
{
    x = sp_ab_linear(b, x, cin, 4096, "classifier.0");
    x = sp_ab_act(b, x, SP_OP_RELU, "classifier.1");
    x = sp_ab_dropout(b, x, 0.5f, "classifier.2");
    sp_ab_anchor(b, 13, x);
    x = sp_ab_linear(b, x, 4096, 4096, "classifier.3");
    x = sp_ab_act(b, x, SP_OP_RELU, "classifier.4");
    x = sp_ab_dropout(b, x, 0.5f, "classifier.5");
    sp_ab_anchor(b, 14, x);
    return sp_ab_linear(b, x, 4096, classes, "classifier.6");
}

int sp_arch_build_vgg(sp_arch_builder *b, const char *name, int classes)
{
    int x = vgg_features(b, 0);
    if (strcmp(name, "vgg16") == 0) {
        if (!b->failed && (sp_ab_h(b, x) != 7 || sp_ab_w(b, x) != 7))
            x = sp_ab_adaptive(b, x, 7, 7, "avgpool");
        x = sp_ab_flatten(b, x, "flatten");
        x = vgg_fc_head(b, x, 512 * 7 * 7, classes);
    } else if (strcmp(name, "vgg16-cifar-fc") == 0) {
        x = sp_ab_flatten(b, x, "flatten");
        x = vgg_fc_head(b, x, 512, classes);
    } else {
        x = sp_ab_flatten(b, x, "flatten");
        x = sp_ab_linear(b, x, 512, classes, "classifier.0");
    }
    return b->failed ? -1 : 0;
}
