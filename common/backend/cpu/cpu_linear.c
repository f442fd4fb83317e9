/* cpu_linear.c: fully connected layers as row-major sgemm (oneDNN's
 * dnnl_sgemm, threaded by OpenMP).
 *
 *   linear_fwd:        out (N,O) = in (N,I) . w(O,I)^T + bias, overwritten.
 *   linear_bwd_data:   din (N,I) = dout (N,O) . w (O,I), overwritten.
 *   linear_bwd_weight: dw (O,I) += dout^T . in; dbias (O) += column sums. */
#include "../ref/ref_priv.h"
#include "cpu_priv.h"

void sp_cpu_linear_fwd(sp_backend *b, float *out /* N,O */, const float *in /* N,I */,
                       const float *w /* O,I */, const float *bias /* O or NULL */,
                       int n, int in_f, int out_f)
{
    if (dnnl_sgemm('N', 'T', n, out_f, in_f, 1.0f, in, in_f, w, in_f, 0.0f, out, out_f)
        != dnnl_success) {
        sp_ref_linear_fwd(b, out, in, w, bias, n, in_f, out_f);
        return;
    }
    if (bias)
        for (int i = 0; i < n; i++)
            for (int o = 0; o < out_f; o++)
                out[(size_t)i * out_f + o] += bias[o];
}

void sp_cpu_linear_bwd_data(sp_backend *b, float *din /* N,I; = */, const float *dout /* N,O */,
                            const float *w /* O,I */, int n, int in_f, int out_f)
{
    if (dnnl_sgemm('N', 'N', n, in_f, out_f, 1.0f, dout, out_f, w, in_f, 0.0f, din, in_f)
        != dnnl_success)
        sp_ref_linear_bwd_data(b, din, dout, w, n, in_f, out_f);
}

void sp_cpu_linear_bwd_weight(sp_backend *b, float *dw /* O,I; += */,
                              float *dbias /* O or NULL; += */, const float *dout /* N,O */,
                              const float *in /* N,I */, int n, int in_f, int out_f)
{
    if (dnnl_sgemm('T', 'N', out_f, in_f, n, 1.0f, dout, out_f, in, in_f, 1.0f, dw, in_f)
        != dnnl_success) {
        sp_ref_linear_bwd_weight(b, dw, dbias, dout, in, n, in_f, out_f);
        return;
    }
    if (dbias)
        for (int o = 0; o < out_f; o++) {
            double sum = 0.0;
            for (int i = 0; i < n; i++)
                sum += dout[(size_t)i * out_f + o];
            dbias[o] = (float)(dbias[o] + sum);
        }
}
