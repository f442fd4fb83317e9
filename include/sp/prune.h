/* prune.h: channel groups and their removal.
 *
 * A channel group is everything that changes when one channel of an
 * anchor's activation is removed: the producing conv's output channels and
 * bias, its batch norm, any channel-preserving nodes up to the consumers
 * (ReLU, pooling, mask, a depthwise conv and its batch norm), the consuming
 * conv's or linear layer's input channels, and the h*w columns per channel
 * at a flatten.  A residual sum couples its operands: a group that reaches
 * an add is not prunable. */
#ifndef SP_PRUNE_H
#define SP_PRUNE_H

#include "sp/graph.h"
#include "sp/model.h"

typedef enum sp_slice_kind {
    SP_SLICE_OUT,        /* output channels of a conv/linear/bn/mask/depthwise node */
    SP_SLICE_IN,         /* input channels of a conv or linear node */
    SP_SLICE_IN_FLAT     /* linear after flatten: blocks of `spatial` columns */
} sp_slice_kind;

typedef struct sp_slice {
    int node;
    sp_slice_kind kind;
    int spatial;         /* SP_SLICE_IN_FLAT: h*w per channel */
} sp_slice;

typedef struct sp_group {
    int anchor;          /* node whose output channels define the group */
    int channels;
    int prunable;        /* 0 when coupled through a residual sum or the output */
    int n;
    sp_slice slice[32];
} sp_group;

/* Compute the group of an anchor node; -1 with an error if the node does not
 * own channels that can be traced to a producer (through ReLU, ReLU6, BN,
 * mask, dropout, pools and depthwise convs back to a conv or linear layer).
 * slice[] is sorted by node; slice[0] is the producer.  A group that meets
 * an add, a pad shortcut, a grouped (not depthwise) conv or the graph's
 * last node is returned with prunable = 0. */
int sp_group_find(const sp_graph *g, int anchor, sp_group *out);

/* Remove the channels c with keep[c] == 0 from the group of `anchor`: slice
 * every tensor, update widths, re-infer shapes.  At least one channel must
 * be kept.  The original graph is untouched.  keep has group.channels
 * entries; batch counters and a consumer's bias are copied unchanged, and
 * tensors beyond the graph's parameters are left as they are.  On failure
 * (-1) the model is unchanged. */
int sp_prune_channels(sp_model *m, int anchor, const unsigned char *keep);

#endif
