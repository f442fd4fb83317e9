/* torch.h: PyTorch interoperability (sp-import, sp-export).
 *
 * Reading: a checkpoint written by torch.save (zip serialisation of torch
 * >= 1.6, or the legacy stream of pickles and raw storages) or a
 * safetensors file becomes a list of named tensors.  Pickles are decoded by
 * a small virtual machine that knows only what a state_dict needs: a few
 * allowed globals (OrderedDict, the tensor rebuild functions, the storage
 * types) and no way to call anything else; it never executes code.
 *
 * Mapping: the tensors are matched to a built-in network (detected from
 * the names and shapes, or named), whose widths are taken from the tensor
 * shapes so that pruned or width-reduced networks import too.
 *
 * Writing (.pth, ONNX) is in export.h. */
#ifndef SP_TORCH_H
#define SP_TORCH_H

#include <stdint.h>
#include <stddef.h>
#include <stdio.h>
#include "sp/base.h"
#include "sp/model.h"

/* ---- the pickle virtual machine (torch_pickle.c) ---- */

typedef enum sp_pk_kind {
    SP_PK_NONE, SP_PK_BOOL, SP_PK_INT, SP_PK_FLOAT, SP_PK_STR, SP_PK_BYTES,
    SP_PK_TUPLE, SP_PK_LIST, SP_PK_DICT,
    SP_PK_GLOBAL,        /* an allowed global not yet called: s = "module.name" */
    SP_PK_STORAGE,       /* a persistent storage reference */
    SP_PK_TENSOR,        /* a rebuilt tensor (view of a storage) */
    SP_PK_OPAQUE,        /* a harmless object sp does not need (a numpy scalar) */
    SP_PK_MARK           /* internal: the MARK opcode on the stack */
} sp_pk_kind;

typedef struct sp_pk_value sp_pk_value;
struct sp_pk_value {
    sp_pk_kind kind;
    int64_t i;            /* INT, BOOL; STORAGE: element count */
    double f;             /* FLOAT */
    char *s;              /* STR, BYTES, GLOBAL; STORAGE: its key */
    size_t len;           /* STR, BYTES */
    int n, cap;           /* TUPLE, LIST: items; DICT: 2n items, key then value */
    sp_pk_value **item;
    /* STORAGE and TENSOR */
    sp_dtype dtype;
    int64_t offset;       /* elements: storage view offset, tensor storage offset */
    int ndim;             /* TENSOR */
    int64_t shape[SP_MAX_DIMS], stride[SP_MAX_DIMS];
    sp_pk_value *storage; /* TENSOR */
};

typedef struct sp_pickle sp_pickle;

/* Run the pickle at buf; *used (if not NULL) receives the bytes consumed up
 * to and including STOP.  `what` names the input in messages.  NULL with an
 * error on anything a state_dict does not need. */
sp_pickle *sp_pickle_load(const void *buf, size_t n, const char *what, size_t *used);
const sp_pk_value *sp_pickle_root(const sp_pickle *p);
void sp_pickle_free(sp_pickle *p);
/* Every storage reference the pickle made (in order); *n receives the
 * count.  The array belongs to p. */
sp_pk_value *const *sp_pickle_storages(const sp_pickle *p, int *n);
/* DICT lookup of a string key; NULL if absent or d is not a DICT. */
const sp_pk_value *sp_pk_dict_get(const sp_pk_value *d, const char *key);

/* ---- reading checkpoints (torch_read.c) ---- */

/* Read a .pth (zip or legacy) or safetensors file whole from f and return
 * the state_dict's tensors in file order: found at the top level or under
 * "state_dict" / "model", DataParallel's "module." prefix removed, floating
 * dtypes converted to F32, integer ones to I64, views made contiguous. */
int sp_torch_load(FILE *f, const char *what, sp_tensor **t, int *n);

/* ---- matching tensors to a built-in network (torch_map.c) ---- */

typedef struct sp_import_opts {
    const char *arch;     /* NULL: detect */
    int classes;          /* 0: from the tensors; otherwise they must agree */
    int in_h, in_w;       /* 0: the network's default input size */
} sp_import_opts;

/* Name of the built-in network these tensors belong to (after the renames
 * of sp_import_model), or NULL with an error. */
const char *sp_torch_detect(const sp_tensor *t, int n);

/* Build the model: rename public and original-method layouts to the
 * built-in names, set every width from the tensor shapes, check that every
 * tensor is present with the right shape (num_batches_tracked may be
 * missing) and nothing is left over.  The tensors are renamed in place
 * and their data may move into the model; the caller still frees them. */
sp_model *sp_import_model(sp_tensor *t, int n, const sp_import_opts *o, const char *what);

#endif
