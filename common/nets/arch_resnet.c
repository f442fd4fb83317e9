/* arch_resnet.c: the residual networks.
 *
 * CIFAR ResNet-20/32/44/56/110 follow the layout of the widely used
 * option-A implementation (conv1, bn1, layer1..3 of BasicBlocks with
 * widths 16/32/64, `linear`): a stride-2 block's shortcut keeps every
 * second pixel and zero-pads the new channels, so it has no parameters.
 * Blocks (pruning stages) 0..2 mask the ReLU after bn1 of every block of
 * layer1..3.
 *
 * ResNet-50 follows torchvision (stride on the 3x3 conv, downsample.0/.1);
 * the CIFAR form swaps the stem for a 3x3 stride-1 conv without max-pool
 * and pools with AvgPool2d(4, stride 1).  Blocks 0..3 = layer1..4 mask the
 * ReLUs after bn1 and bn2 of every bottleneck.  The ImageNet form's global
 * pool is an average pool over the whole final map (the same numbers as
 * torchvision's adaptive 1x1 pool), which is how the published FLOPs of
 * this network count it. */
#include "arch_priv.h"

/* The shortcut comes first in the graph, so that an inference executor
 * can add the residual branch into its output inside the convolution
 * (exec_layout.c needs the sum's other operand computed by then). */
static int basic_block(sp_arch_builder *b, int x, int stage, int i, int planes, int stride)
{
    int s = x;
    if (!b->failed && (stride != 1 || sp_ab_c(b, x) != planes))
        s = sp_ab_pad_shortcut(b, x, 2, planes, "layer%d.%d.shortcut", stage + 1, i);
    int y = sp_ab_conv(b, x, planes, 3, stride, 1, 1, 0, "layer%d.%d.conv1", stage + 1, i);
    y = sp_ab_bn(b, y, "layer%d.%d.bn1", stage + 1, i);
    y = sp_ab_act(b, y, SP_OP_RELU, "layer%d.%d.relu1", stage + 1, i);
    sp_ab_anchor(b, stage, y);
    y = sp_ab_conv(b, y, planes, 3, 1, 1, 1, 0, "layer%d.%d.conv2", stage + 1, i);
    y = sp_ab_bn(b, y, "layer%d.%d.bn2", stage + 1, i);
    y = sp_ab_add(b, y, s, "layer%d.%d.add", stage + 1, i);
    return sp_ab_act(b, y, SP_OP_RELU, "layer%d.%d.relu2", stage + 1, i);
}

int sp_arch_build_resnet_cifar(sp_arch_builder *b, int depth, int classes)
{
    int n = (depth - 2) / 6;
    int x = sp_ab_conv(b, 0, 16, 3, 1, 1, 1, 0, "conv1");
    x = sp_ab_bn(b, x, "bn1");
    x = sp_ab_act(b, x, SP_OP_RELU, "relu");
    for (int stage = 0; stage < 3; stage++)
        for (int i = 0; i < n; i++)
            x = basic_block(b, x, stage, i, 16 << stage, stage > 0 && i == 0 ? 2 : 1);
    x = sp_ab_avgpool(b, x, 0, 0, "avgpool");
    x = sp_ab_flatten(b, x, "flatten");
    x = sp_ab_linear(b, x, 64, classes, "linear");
    return b->failed ? -1 : 0;
}

static int bottleneck(sp_arch_builder *b, int x, int g, int i, int planes, int stride)
{
    int y = sp_ab_conv(b, x, planes, 1, 1, 0, 1, 0, "layer%d.%d.conv1", g + 1, i);
    y = sp_ab_bn(b, y, "layer%d.%d.bn1", g + 1, i);
    y = sp_ab_act(b, y, SP_OP_RELU, "layer%d.%d.relu1", g + 1, i);
    sp_ab_anchor(b, g, y);
    y = sp_ab_conv(b, y, planes, 3, stride, 1, 1, 0, "layer%d.%d.conv2", g + 1, i);
    y = sp_ab_bn(b, y, "layer%d.%d.bn2", g + 1, i);
    y = sp_ab_act(b, y, SP_OP_RELU, "layer%d.%d.relu2", g + 1, i);
    sp_ab_anchor(b, g, y);
    y = sp_ab_conv(b, y, 4 * planes, 1, 1, 0, 1, 0, "layer%d.%d.conv3", g + 1, i);
    y = sp_ab_bn(b, y, "layer%d.%d.bn3", g + 1, i);
    int s = x;
    if (!b->failed && (stride != 1 || sp_ab_c(b, x) != 4 * planes)) {
        s = sp_ab_conv(b, x, 4 * planes, 1, stride, 0, 1, 0, "layer%d.%d.downsample.0", g + 1, i);
        s = sp_ab_bn(b, s, "layer%d.%d.downsample.1", g + 1, i);
    }
    y = sp_ab_add(b, y, s, "layer%d.%d.add", g + 1, i);
    return sp_ab_act(b, y, SP_OP_RELU, "layer%d.%d.relu3", g + 1, i);
}

int sp_arch_build_resnet50(sp_arch_builder *b, int cifar_stem, int classes)
{
    static const int blocks[4] = {3, 4, 6, 3};
    int x;
    if (cifar_stem) {
        x = sp_ab_conv(b, 0, 64, 3, 1, 1, 1, 0, "conv1");
        x = sp_ab_bn(b, x, "bn1");
        x = sp_ab_act(b, x, SP_OP_RELU, "relu");
    } else {
        x = sp_ab_conv(b, 0, 64, 7, 2, 3, 1, 0, "conv1");
        x = sp_ab_bn(b, x, "bn1");
        x = sp_ab_act(b, x, SP_OP_RELU, "relu");
        x = sp_ab_maxpool(b, x, 3, 2, 1, "maxpool");
    }
    for (int g = 0; g < 4; g++)
        for (int i = 0; i < blocks[g]; i++)
            x = bottleneck(b, x, g, i, 64 << g, g > 0 && i == 0 ? 2 : 1);
    if (cifar_stem)
        x = sp_ab_avgpool(b, x, 4, 4, "avgpool");
    else
        x = sp_ab_avgpool(b, x, 0, 0, "avgpool");
    x = sp_ab_flatten(b, x, "flatten");
    x = sp_ab_linear(b, x, 2048, classes, "fc");
    return b->failed ? -1 : 0;
}
