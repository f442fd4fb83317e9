/* export.h: writing a model for other tools: PyTorch's .pth (a state_dict)
 * and ONNX (the inference graph). */
#ifndef SP_EXPORT_H
#define SP_EXPORT_H

#include <stdio.h>
#include "sp/model.h"

/* The state_dict of m: the graph's parameters without masks, under their
 * public names (copies).  Fails if a mask is not all ones. */
int sp_export_tensors(const sp_model *m, sp_tensor **t, int *n);

/* A zip in torch's serialisation (archive/data.pkl, archive/data/N,
 * archive/version) holding an OrderedDict of the tensors. */
int sp_pth_write(FILE *f, const sp_tensor *t, int n);

/* The inference graph of m as an ONNX model (opset 13), batch norm folded
 * into the preceding convolution when fold is set. */
int sp_onnx_write(FILE *f, const sp_model *m, int fold);

#endif
