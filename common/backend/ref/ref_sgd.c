/* ref_sgd.c: one step of torch.optim.SGD with dampening 0, in float32 as
 * PyTorch computes it, one rounding per operation:
 *
 *   d = g + weight_decay * w
 *   v = momentum * v + d                  (only when momentum != 0)
 *   d = nesterov ? d + momentum * v : v   (only when momentum != 0)
 *   w = w - lr * d
 *
 * w and v are updated in place; v may be NULL when momentum is 0.
 * PyTorch's first step sets v = d, which is the same as starting from v = 0. */
#include "ref_priv.h"
#include "../rules_priv.h"

void sp_ref_sgd(sp_backend *b, float *w /* n */, const float *g /* n */, float *v /* n */,
                size_t n, float lr, float momentum, float weight_decay, int nesterov)
{
    (void)b;
    for (size_t i = 0; i < n; i++)
        w[i] = sp_sgd_element(w[i], g[i], v ? &v[i] : NULL, lr, momentum, weight_decay, nesterov);
}
