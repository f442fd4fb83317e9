/* ref_linear.c: fully connected layer, out = in . w^T + bias.
 *
 *   linear_fwd:        overwrites out
 *   linear_bwd_data:   din = dout . w (overwrites)
 *   linear_bwd_weight: dw += dout^T . in, dbias += sum over the batch
 *                      (accumulate; dbias may be NULL) */
#include "ref_priv.h"

void sp_ref_linear_fwd(sp_backend *b, float *out /* N,O */, const float *in /* N,I */,
                       const float *w /* O,I */, const float *bias /* O or NULL */,
                       int n, int in_f, int out_f)
{
    (void)b;
    for (int i = 0; i < n; i++)
        for (int o = 0; o < out_f; o++) {
            double sum = bias ? bias[o] : 0.0;
            for (int k = 0; k < in_f; k++)
                sum += (double)in[(size_t)i * in_f + k] * w[(size_t)o * in_f + k];
            out[(size_t)i * out_f + o] = (float)sum;
        }
}

void sp_ref_linear_bwd_data(sp_backend *b, float *din /* N,I; = */, const float *dout /* N,O */,
                            const float *w /* O,I */, int n, int in_f, int out_f)
{
    (void)b;
    for (int i = 0; i < n; i++)
        for (int k = 0; k < in_f; k++) {
            double sum = 0.0;
            for (int o = 0; o < out_f; o++)
                sum += (double)dout[(size_t)i * out_f + o] * w[(size_t)o * in_f + k];
            din[(size_t)i * in_f + k] = (float)sum;
        }
}

void sp_ref_linear_bwd_weight(sp_backend *b, float *dw /* O,I; += */,
                              float *dbias /* O or NULL; += */, const float *dout /* N,O */,
                              const float *in /* N,I */, int n, int in_f, int out_f)
{
    (void)b;
    for (int o = 0; o < out_f; o++) {
        for (int k = 0; k < in_f; k++) {
            double sum = 0.0;
            for (int i = 0; i < n; i++)
                sum += (double)dout[(size_t)i * out_f + o] * in[(size_t)i * in_f + k];
            dw[(size_t)o * in_f + k] = (float)(dw[(size_t)o * in_f + k] + sum);
        }
        if (dbias) {
            double sum = 0.0;
            for (int i = 0; i < n; i++)
                sum += dout[(size_t)i * out_f + o];
            dbias[o] = (float)(dbias[o] + sum);
        }
    }
}
