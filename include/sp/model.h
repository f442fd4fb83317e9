/* model.h: a network with its tensors and metadata, and its file form, the
 * checkpoint (.spk, sp-checkpoint(5)).
 *
 * A checkpoint is a safetensors container: 8-byte little-endian header
 * length, a JSON header (every tensor's dtype, shape and byte range, plus
 * the string map __metadata__), then the tensors' bytes, contiguous in
 * header order (checkpoint.h reads and writes it).  sp reserves these metadata keys:
 *   format    "sp-checkpoint"
 *   version   "1"
 *   graph     the current network (graph.h JSON)
 *   original  the network before any pruning (its channel counts)
 *   crc32     CRC-32 of the data section, 8 lowercase hex digits
 * Every other key is free for the programs (preprocessing, training and
 * pruning state) and is carried through unchanged by programs that do not
 * understand it. */
#ifndef SP_MODEL_H
#define SP_MODEL_H

#include <stdio.h>
#include "sp/graph.h"
#include "sp/tensor.h"

#define SP_CKPT_FORMAT "sp-checkpoint"
#define SP_CKPT_VERSION 1

typedef struct sp_meta_entry { char *key, *value; } sp_meta_entry;

typedef struct sp_model {
    sp_graph *graph;          /* current network */
    sp_graph *original;       /* before any pruning; a copy of graph for a fresh network */
    int n, cap;               /* tensors: the graph's parameters first, in
                                 sp_graph_params order, then any extra state */
    sp_tensor *t;
    int nmeta, capmeta;       /* free metadata, reserved keys excluded */
    sp_meta_entry *meta;
} sp_model;

/* A model whose tensors are the graph's parameters, zero-filled except BN
 * running_var (1) and masks (1).  Takes ownership of g; original = clone. */
sp_model *sp_model_new(sp_graph *g);
void sp_model_free(sp_model *m);
sp_model *sp_model_clone(const sp_model *m);

sp_tensor *sp_model_tensor(const sp_model *m, const char *name); /* NULL if absent */
/* Add an extra tensor (zeroed) or replace one of that name. */
sp_tensor *sp_model_add_tensor(sp_model *m, const char *name, sp_dtype dtype,
                               int ndim, const int64_t *shape);
void sp_model_remove_tensor(sp_model *m, const char *name);

const char *sp_model_meta(const sp_model *m, const char *key); /* NULL if absent */
void sp_model_set_meta(sp_model *m, const char *key, const char *value); /* value NULL removes */

/* CRC-32 of the tensors' bytes in order: the crc32 its checkpoint
 * carries, which names this exact network (a stage's stage.input). */
uint32_t sp_model_crc32(const sp_model *m);

/* Every parameter of the graph present, F32 (I64 for counters) with the
 * shape the graph says; the graph's parameters come first and in order. */
int sp_model_check(const sp_model *m);

#endif
