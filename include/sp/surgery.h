/* surgery.h: mask nodes in and out of a network (the pruning stage).
 *
 * A masked activation is a mask node right after an anchor of a block,
 * named ANCHOR.m (tensor ANCHOR.m.mask).  Where the anchor's channel group
 * runs through a depthwise conv (MobileNetV2), a second, tied mask node
 * follows the activation after that conv's batch norm.  Node indices
 * change under surgery: resolve nodes by name. */
#ifndef SP_SURGERY_H
#define SP_SURGERY_H

#include "sp/graph.h"
#include "sp/model.h"

/* One masked activation of a block. */
typedef struct sp_mask_site {
    char anchor[SP_NAME_MAX];        /* the anchor node's name */
    char producer[SP_NAME_MAX];      /* the conv/linear producing its channels */
    char mask[2][SP_NAME_MAX];       /* mask node names; nmask is 1, or 2 when tied */
    int nmask;
    int channels;
} sp_mask_site;

/* The masked activations of block `id` of g, in anchor order (whether or
 * not the mask nodes are present yet); *out malloc'd; the count or -1. */
int sp_mask_sites(const sp_graph *g, int id, sp_mask_site **out);
/* Insert the mask nodes of block id (tensors filled with 1); fails if
 * present already. */
int sp_mask_insert(sp_model *m, int id);
/* Remove every mask node of the graph (their readers read the mask's
 * input again) and their tensors; the model's tensors stay in
 * sp_graph_params order. */
int sp_mask_remove_all(sp_model *m);

#endif
