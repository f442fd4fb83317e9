/* cpu_loss.c: softmax cross-entropy and the SGD update.
 *
 *   xent: loss (one float) = mean over the batch of -log softmax[label],
 *         each row in double; dlogits (overwritten) = (softmax - onehot) / n
 *         times scale.
 *         A label outside [0, classes) makes the loss NaN, so the caller
 *         stops instead of training on garbage.
 *   sgd:  torch.optim.SGD with dampening 0, in place on w and v (v is
 *         untouched, and may be NULL, when momentum is 0). */
#include <math.h>
#include <stddef.h>
#include "cpu_priv.h"
#include "../rules_priv.h"

void sp_cpu_xent(sp_backend *b, float *loss /* 1 */, float *dlogits /* N,K; = */,
                 const float *logits /* N,K */, const int32_t *labels /* N */,
                 int n, int classes, float scale)
{
    /* per-row losses summed in order afterwards: an OpenMP reduction would
     * add the threads' partial sums in arrival order, and the same seed must
     * give the same loss */
    double *row = sp_cpu_scratch(b->ctx, SP_CPU_SCRATCH_BIAS, (size_t)n * sizeof *row);
    double total = 0.0;
    #pragma omp parallel for if ((size_t)n * classes >= 65536) schedule(static)
    for (int i = 0; i < n; i++) {
        const float *z = logits + (size_t)i * classes;
        double lse = sp_xent_logsumexp(z, classes);
        int y = labels[i];
        row[i] = y >= 0 && y < classes ? lse - z[y] : NAN;
        if (dlogits) {
            float *d = dlogits + (size_t)i * classes;
            double f = (double)scale / n;
            for (int k = 0; k < classes; k++)
                d[k] = (float)((exp(z[k] - lse) - (k == y)) * f);
        }
    }
    for (int i = 0; i < n; i++)
        total += row[i];
    if (loss)
        *loss = (float)(total / n);
}

/* One loop per variant, so that each vectorises without branches. */
void sp_cpu_sgd(sp_backend *b, float *w /* n */, const float *g /* n */, float *v /* n */,
                size_t n, float lr, float momentum, float weight_decay, int nesterov)
{
    float wd = weight_decay, mu = momentum;
    (void)b;
    if (mu == 0.0f) {
        #pragma omp parallel for simd if (n >= SP_CPU_PAR_MIN) schedule(static)
        for (size_t i = 0; i < n; i++) {
            float d = wd != 0.0f ? g[i] + wd * w[i] : g[i];
            w[i] = w[i] - lr * d;
        }
    } else if (nesterov) {
        #pragma omp parallel for simd if (n >= SP_CPU_PAR_MIN) schedule(static)
        for (size_t i = 0; i < n; i++) {
            float d = wd != 0.0f ? g[i] + wd * w[i] : g[i];
            v[i] = mu * v[i] + d;
            w[i] = w[i] - lr * (d + mu * v[i]);
        }
    } else {
        #pragma omp parallel for simd if (n >= SP_CPU_PAR_MIN) schedule(static)
        for (size_t i = 0; i < n; i++) {
            float d = wd != 0.0f ? g[i] + wd * w[i] : g[i];
            v[i] = mu * v[i] + d;
            w[i] = w[i] - lr * v[i];
        }
    }
}
