/* model.h: a network with its tensors and metadata, and its file form, the
 * checkpoint (.spk, sp-checkpoint(5)).
 *
 * A checkpoint is a safetensors container: 8-byte little-endian header
 * length, a JSON header (every tensor's dtype, shape and byte range, plus
 * the string map __metadata__), then the tensors' bytes, contiguous in
 * header order.  sp reserves these metadata keys:
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

/* Every parameter of the graph present, F32 (I64 for counters) with the
 * shape the graph says; the graph's parameters come first and in order. */
int sp_model_check(const sp_model *m);

/* Read a checkpoint strictly sequentially (works on pipes), validating
 * everything before trusting it; `what` names the input in messages. */
sp_model *sp_ckpt_read(FILE *f, const char *what);
/* The same for an input whose first nhead bytes a caller already read
 * (to tell a checkpoint from another format): they are taken as the start
 * of the checkpoint. */
sp_model *sp_ckpt_read_after(FILE *f, const char *what, const void *head, size_t nhead);
/* Write to f (sequential; the caller owns commit/rename). */
int sp_ckpt_write(FILE *f, const sp_model *m);

/* A plain safetensors file from any writer (no sp metadata required): its
 * tensors in file order and its __metadata__ strings, with the container's
 * own checks (header bounds, JSON, dtypes, byte ranges).  Used by sp-import
 * and by tests that load PyTorch-written fixtures.  *t and *meta are
 * malloc'd arrays the caller frees (sp_tensor_free each, free keys/values). */
int sp_safetensors_read(FILE *f, const char *what, sp_tensor **t, int *n,
                        sp_meta_entry **meta, int *nmeta);
int sp_safetensors_write(FILE *f, const sp_tensor *t, int n,
                         const sp_meta_entry *meta, int nmeta);

/* The program-level helpers: read FILE (NULL or "-" = stdin) or die with
 * one sentence; write to PATH (NULL or "-" = stdout) through sp_out. */
sp_model *sp_ckpt_load_or_die(const char *path);
void sp_ckpt_save_or_die(const sp_model *m, const char *path);

#endif
