/* arch_priv.h: the helpers the built-in network builders share (private
 * to common/nets).
 *
 * A builder appends nodes through these helpers, which compute each
 * output shape as it goes.  The first failure (a map shrinking to nothing,
 * a fixed layer that no longer fits) is recorded once and every later call
 * returns -1, so a builder reads as straight-line PyTorch and checks the
 * error only at the end. */
#ifndef SP_ARCH_BUILD_H
#define SP_ARCH_BUILD_H

#include "sp/base.h"
#include "sp/graph.h"

typedef struct sp_arch_builder {
    sp_graph *g;
    const char *arch;   /* for messages */
    int failed;
} sp_arch_builder;

/* Each returns the new node's index, or -1 once anything has failed.  The
 * trailing format names the node. */
int sp_ab_conv(sp_arch_builder *b, int x, int cout, int k, int stride, int pad,
               int groups, int bias, const char *fmt, ...) SP_PRINTF(9, 10);
int sp_ab_bn(sp_arch_builder *b, int x, const char *fmt, ...) SP_PRINTF(3, 4);
int sp_ab_act(sp_arch_builder *b, int x, sp_op op, const char *fmt, ...) SP_PRINTF(4, 5);
int sp_ab_maxpool(sp_arch_builder *b, int x, int k, int stride, int pad,
                  const char *fmt, ...) SP_PRINTF(6, 7);
/* Average pool with a kh x kw window, stride 1: kh = kw = 0 pools the whole
 * map (a global pool whose window follows the input size). */
int sp_ab_avgpool(sp_arch_builder *b, int x, int kh, int kw, const char *fmt, ...)
    SP_PRINTF(5, 6);
int sp_ab_adaptive(sp_arch_builder *b, int x, int oh, int ow, const char *fmt, ...)
    SP_PRINTF(5, 6);
int sp_ab_flatten(sp_arch_builder *b, int x, const char *fmt, ...) SP_PRINTF(3, 4);
/* Linear layer with a fixed number of inputs: fails with a sentence when
 * the flattened input has another size. */
int sp_ab_linear(sp_arch_builder *b, int x, int cin, int cout, const char *fmt, ...)
    SP_PRINTF(5, 6);
int sp_ab_dropout(sp_arch_builder *b, int x, float p, const char *fmt, ...) SP_PRINTF(4, 5);
int sp_ab_add(sp_arch_builder *b, int x, int y, const char *fmt, ...) SP_PRINTF(4, 5);
/* Option-A shortcut: every stride-th pixel, channels padded to cout. */
int sp_ab_pad_shortcut(sp_arch_builder *b, int x, int stride, int cout,
                       const char *fmt, ...) SP_PRINTF(5, 6);
/* Add node x as an anchor of block id (nothing once failed). */
void sp_ab_anchor(sp_arch_builder *b, int id, int x);

/* Channels / height / width of node x's output. */
int sp_ab_c(const sp_arch_builder *b, int x);
int sp_ab_h(const sp_arch_builder *b, int x);
int sp_ab_w(const sp_arch_builder *b, int x);

/* The builders, one per family; each returns 0 or -1 with the error set. */
int sp_arch_build_vgg(sp_arch_builder *b, const char *name, int classes);
int sp_arch_build_resnet_cifar(sp_arch_builder *b, int depth, int classes);
int sp_arch_build_resnet50(sp_arch_builder *b, int cifar_stem, int classes);
int sp_arch_build_mobilenetv2(sp_arch_builder *b, int classes);

#endif
