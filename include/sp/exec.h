/* exec.h: forward and backward passes of a graph on a backend.
 *
 * An executor owns the device copies of a model's parameters, their
 * gradients and the activation buffers for batches of up to `batch`
 * samples.  It calls only the sp_backend table, so the same code runs on
 * every device.
 *
 * Memory: in inference mode an activation buffer returns to a pool as soon
 * as its last reader has run, so only what is still needed is kept.  In
 * training mode every forward activation is kept for the backward pass,
 * and activation gradients are pooled the same way in reverse order.
 *
 * Usage per training step:
 *   sp_exec_set_input(e, images, labels, n);
 *   sp_exec_forward(e, 1);           // BN batch statistics, dropout on
 *   sp_exec_loss(e);                 // softmax cross-entropy, mean
 *   sp_exec_backward(e);             // parameter gradients (zeroed first)
 *   sp_exec_sgd(e, &opt);
 * and sp_exec_download(e, m) to bring weights and running statistics home. */
#ifndef SP_EXEC_H
#define SP_EXEC_H

#include <stdint.h>
#include "sp/backend.h"
#include "sp/model.h"

typedef struct sp_exec sp_exec;

typedef struct sp_sgd_opts {
    float lr, momentum, weight_decay;
    int nesterov;
} sp_sgd_opts;

/* Build an executor for m's graph on b, for batches of at most `batch`.
 * train = 0 gives an inference-only executor (no gradients, pooled
 * activations); train = 1 can do both.  Uploads m's tensors.  With
 * mask_grads, the masks get gradients too (for mask training); they are
 * never updated by sp_exec_sgd. */
sp_exec *sp_exec_new(sp_backend *b, const sp_model *m, int batch, int train, int mask_grads);

/* An inference executor (train = 0) folds every batch norm that is the
 * only reader of a convolution into that convolution's weights and bias
 * (computed in double on the host at each sp_exec_upload), and runs a
 * ReLU or ReLU6 that is the only reader of such a convolution inside it;
 * a convolution that only another convolution reads hands its output over
 * in the backend's own layout when the backend can (conv_chain).
 * Where the backend runs the network's convolutions faster channels-last
 * (sp/backend.h, sp_nhwc_ops), the activations stay so between them and a
 * residual block's last convolution adds the shortcut and applies the
 * ReLU in its own pass.
 * The logits then differ from the unfolded ones by float rounding only.
 * SP_EXEC_UNFUSED keeps every node as it is, so an inference executor
 * gives exactly the training executor's evaluation-mode logits;
 * SP_EXEC_NCHW and SP_EXEC_NHWC decide the order instead of the backend
 * (the second only where the backend has channels-last operations).
 * A training executor keeps activations and their gradients channels-last
 * in the same way, batch norms included, where the backend has the
 * operations for it (sp_nhwc_train_ops) and every operation of the
 * network has its channels-last form; across processes (sp/dist.h) only
 * where the backend also has the channels-last batch norm sums.  The
 * two flags decide for it too.
 * A training executor drops a batch norm's output (with the ReLU's run
 * in place on it) once the forward pass has read it, and recomputes it
 * from the batch norm's input and saved statistics when the backward
 * pass needs it, where the backend can (bn_fwd_saved): the same values
 * bit for bit, with about one stored activation per convolution instead
 * of two.  SP_EXEC_STORE_ALL keeps them all instead.
 * In a training forward pass of one process, a batch norm also adds the
 * shortcut of a residual sum written over its output and applies the
 * ReLU after that (or after itself) in its own pass over memory
 * (sp_backend.bn_fwd_train): the same bits as the nodes run apart, which
 * SP_EXEC_UNFUSED asks for. */
enum { SP_EXEC_UNFUSED = 1, SP_EXEC_NCHW = 2, SP_EXEC_NHWC = 4, SP_EXEC_STORE_ALL = 8 };
sp_exec *sp_exec_new_flags(sp_backend *b, const sp_model *m, int batch, int train,
                           int mask_grads, unsigned flags);
void sp_exec_free(sp_exec *e);

/* Copy m's parameter tensors (same graph) to the device / back.  Download
 * also adds the training forwards run since to num_batches_tracked. */
int sp_exec_upload(sp_exec *e, const sp_model *m);
int sp_exec_download(sp_exec *e, sp_model *m);

/* The momentum buffers, one per learnable parameter in sp_graph_params
 * order (count from sp_exec_nlearnable): host copies for resume state. */
int sp_exec_nlearnable(const sp_exec *e);
const char *sp_exec_learnable_name(const sp_exec *e, int i);
size_t sp_exec_learnable_numel(const sp_exec *e, int i);
void sp_exec_get_momentum(sp_exec *e, int i, float *host);
void sp_exec_set_momentum(sp_exec *e, int i, const float *host);

/* The next batch: n <= batch NCHW float images (host) and labels (host,
 * may be NULL for inference). */
int sp_exec_set_input(sp_exec *e, const float *images, const int32_t *labels, int n);

/* Dropout draws its masks from (seed, counter); the trainer sets the
 * counter from the global step so a resumed run draws the same masks. */
void sp_exec_set_dropout(sp_exec *e, uint64_t seed, uint64_t counter);

/* Forward the current batch; train selects batch statistics for BN (and
 * updates the running ones) and enables dropout. */
int sp_exec_forward(sp_exec *e, int train);
/* Host copy of the logits of the current batch: n x classes. */
void sp_exec_logits(sp_exec *e, float *host);
int sp_exec_classes(const sp_exec *e);
/* Mean softmax cross-entropy of the current batch (labels required);
 * also prepares the logits' gradient for sp_exec_backward. */
float sp_exec_loss(sp_exec *e);
/* Zero the parameter gradients and back-propagate the loss. */
int sp_exec_backward(sp_exec *e);
/* Device pointer of a parameter's gradient (NULL if it has none). */
const float *sp_exec_grad(const sp_exec *e, const char *name);
/* Keep the gradients of the n named parameters only (a training
 * executor): the others, and the bias of a weight that is not named, lose
 * their gradient and momentum, and the backward pass skips the work only
 * they needed (weight gradients, and activation gradients below the
 * earliest kept parameter).  -1 with an error for an unknown name. */
int sp_exec_keep_grads(sp_exec *e, const char *const *names, int n);
/* One SGD step over every learnable parameter. */
void sp_exec_sgd(sp_exec *e, const sp_sgd_opts *o);

/* ---- single tensors (the pruning stage) ------------------------------ */

sp_backend *sp_exec_backend(const sp_exec *e);
/* How an executor keeps its activations, in a phrase for --verbose:
 * for inference their order and what it fused, for training how many
 * batch norm outputs it recomputes. */
const char *sp_exec_describe(const sp_exec *e);
/* Device pointer of a parameter's value (NULL if the graph has none of
 * that name or it is not F32). */
float *sp_exec_param(const sp_exec *e, const char *name);
/* Copy one parameter's value host -> device or device -> host, or its
 * gradient device -> host; -1 with an error for an unknown name (or a
 * parameter without a gradient).  host holds the parameter's elements. */
int sp_exec_param_upload(sp_exec *e, const char *name, const float *host);
int sp_exec_param_download(sp_exec *e, const char *name, float *host);
int sp_exec_grad_download(sp_exec *e, const char *name, float *host);

/* The sensitivity twin's loss (sp-method(7), step 1): the
 * negative mean of the true class's raw logit, -(1/n) sum_i z[i, y_i]
 * (PyTorch's nll_loss applied to logits), prepared for sp_exec_backward
 * like sp_exec_loss.  Labels required. */
float sp_exec_loss_logit(sp_exec *e);

#endif
