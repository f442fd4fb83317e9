/* arch_mobilenet.c: MobileNetV2 x1.0 in torchvision's layout.
 *
 * features.0 is the 3x3 stride-2 stem, features.1..17 the inverted
 * residuals of the (t, c, n, s) table, features.18 the 1x1 conv to 1280;
 * then a global adaptive pool, Dropout(0.2) and the linear classifier.
 * An inverted residual with expansion t > 1 is conv.0 (1x1 expand conv,
 * BN, ReLU6), conv.1 (3x3 depthwise conv, BN, ReLU6), conv.2 (1x1 linear
 * conv), conv.3 (BN); with t = 1 the expansion is absent and the indices
 * shift down by one.  The residual sum exists when the stride is 1 and the
 * width does not change.
 *
 * Blocks 1..6 are the cfg groups 1..6 (features 2-3, 4-6, 7-10, 11-13,
 * 14-16, 17): the anchor is the expand ReLU6 of each inverted residual,
 * whose channel group also covers the depthwise conv.  Block 7 is the ReLU6
 * of features.18. */
#include "arch_priv.h"

static const int mbv2_cfg[7][4] = {   /* t, c, n, s */
    {1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 3, 2}, {6, 64, 4, 2},
    {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1},
};

static int inverted_residual(sp_arch_builder *b, int x, int f, int group, int t, int oup,
                             int stride)
{
    int inp = sp_ab_c(b, x);
    int hidden = inp * t;
    int k = 0;   /* index inside features.f.conv */
    int y = x;
    if (t != 1) {
        y = sp_ab_conv(b, y, hidden, 1, 1, 0, 1, 0, "features.%d.conv.0.0", f);
        y = sp_ab_bn(b, y, "features.%d.conv.0.1", f);
        y = sp_ab_act(b, y, SP_OP_RELU6, "features.%d.conv.0.2", f);
        sp_ab_anchor(b, group, y);
        k = 1;
    }
    y = sp_ab_conv(b, y, hidden, 3, stride, 1, hidden, 0, "features.%d.conv.%d.0", f, k);
    y = sp_ab_bn(b, y, "features.%d.conv.%d.1", f, k);
    y = sp_ab_act(b, y, SP_OP_RELU6, "features.%d.conv.%d.2", f, k);
    y = sp_ab_conv(b, y, oup, 1, 1, 0, 1, 0, "features.%d.conv.%d", f, k + 1);
    y = sp_ab_bn(b, y, "features.%d.conv.%d", f, k + 2);
    if (stride == 1 && inp == oup)
        y = sp_ab_add(b, y, x, "features.%d.add", f);
    return y;
}

int sp_arch_build_mobilenetv2(sp_arch_builder *b, int classes)
{
    int x = sp_ab_conv(b, 0, 32, 3, 2, 1, 1, 0, "features.0.0");
    x = sp_ab_bn(b, x, "features.0.1");
    x = sp_ab_act(b, x, SP_OP_RELU6, "features.0.2");
    int f = 1;
    for (int g = 0; g < 7; g++)
        for (int i = 0; i < mbv2_cfg[g][2]; i++, f++)
            x = inverted_residual(b, x, f, g, mbv2_cfg[g][0], mbv2_cfg[g][1],
                                  i == 0 ? mbv2_cfg[g][3] : 1);
    x = sp_ab_conv(b, x, 1280, 1, 1, 0, 1, 0, "features.%d.0", f);
    x = sp_ab_bn(b, x, "features.%d.1", f);
    x = sp_ab_act(b, x, SP_OP_RELU6, "features.%d.2", f);
    sp_ab_anchor(b, 7, x);
    x = sp_ab_adaptive(b, x, 1, 1, "avgpool");
    x = sp_ab_flatten(b, x, "flatten");
    x = sp_ab_dropout(b, x, 0.2f, "classifier.0");
    x = sp_ab_linear(b, x, 1280, classes, "classifier.1");
    return b->failed ? -1 : 0;
}
