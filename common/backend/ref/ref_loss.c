/* ref_loss.c: softmax cross-entropy averaged over the batch.
 *
 *   loss    = (1/N) sum_i (logsumexp(z_i) - z_i[y_i])        (overwrites)
 *   dlogits = scale * (softmax(z_i) - onehot(y_i)) / N      (overwrites)
 *
 * Either output may be NULL.  A label outside [0, classes) cannot be
 * reported from here, so it makes the loss NaN, which the trainer's NaN
 * check reports; its row of dlogits is the softmax alone. */
#include <math.h>
#include "ref_priv.h"
#include "../rules_priv.h"

void sp_ref_xent(sp_backend *b, float *loss /* 1 */, float *dlogits /* N,classes or NULL */,
                 const float *logits /* N,classes */, const int32_t *labels /* N */,
                 int n, int classes, float scale)
{
    double total = 0.0;
    (void)b;
    for (int i = 0; i < n; i++) {
        const float *z = logits + (size_t)i * classes;
        int y = labels[i];
        int valid = y >= 0 && y < classes;
        double lse = sp_xent_logsumexp(z, classes);
        total += valid ? lse - z[y] : NAN;
        if (dlogits)
            sp_xent_grad_row(dlogits + (size_t)i * classes, z, y, classes, lse, scale, n);
    }
    if (loss)
        *loss = (float)(total / n);
}
