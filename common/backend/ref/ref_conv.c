/* ref_conv.c: grouped 2-D convolution (no dilation), forward and both
 * backward passes, NCHW.  The group g owns input channels
 * [g*C/G, (g+1)*C/G) and output channels [g*K/G, (g+1)*K/G).
 *
 *   conv_fwd:        out = conv(in, w) + bias          (overwrites out)
 *   conv_bwd_data:   din = conv_transpose(dout, w)     (overwrites din)
 *   conv_bwd_filter: dw += corr(in, dout), dbias += sum(dout)  (accumulates)
 *
 * Every output element is a gather summed in double: bwd_data finds, for each
 * input pixel, the output pixels whose window covers it, instead of
 * scattering, so each element is rounded to float exactly once. */
#include "ref_priv.h"

static size_t idx4(int a, int b, int c, int d, int nb, int nc, int nd)
{
    return (((size_t)a * nb + b) * nc + c) * nd + d;
}

void sp_ref_conv_fwd(sp_backend *b, float *out /* N,K,OH,OW */, const float *in /* N,C,H,W */,
                     const float *w /* K,C/G,KH,KW */, const float *bias /* K or NULL */,
                     const sp_conv_shape *s)
{
    int cg = s->c / s->groups, kg = s->k / s->groups;
    (void)b;
    for (int n = 0; n < s->n; n++)
        for (int k = 0; k < s->k; k++) {
            int c0 = (k / kg) * cg;
            for (int oy = 0; oy < s->oh; oy++)
                for (int ox = 0; ox < s->ow; ox++) {
                    double sum = bias ? bias[k] : 0.0;
                    for (int ci = 0; ci < cg; ci++)
                        for (int i = 0; i < s->kh; i++) {
                            int y = oy * s->sh - s->ph + i;
                            if (y < 0 || y >= s->h)
                                continue;
                            for (int j = 0; j < s->kw; j++) {
                                int x = ox * s->sw - s->pw + j;
                                if (x < 0 || x >= s->w)
                                    continue;
                                sum += (double)in[idx4(n, c0 + ci, y, x, s->c, s->h, s->w)] *
                                       w[idx4(k, ci, i, j, cg, s->kh, s->kw)];
                            }
                        }
                    out[idx4(n, k, oy, ox, s->k, s->oh, s->ow)] = (float)sum;
                }
        }
}

void sp_ref_conv_bwd_data(sp_backend *b, float *din /* N,C,H,W; = */,
                          const float *dout /* N,K,OH,OW */, const float *w /* K,C/G,KH,KW */,
                          const sp_conv_shape *s)
{
    int cg = s->c / s->groups, kg = s->k / s->groups;
    (void)b;
    for (int n = 0; n < s->n; n++)
        for (int c = 0; c < s->c; c++) {
            int g = c / cg, ci = c - g * cg;
            for (int y = 0; y < s->h; y++)
                for (int x = 0; x < s->w; x++) {
                    double sum = 0.0;
                    for (int k = g * kg; k < (g + 1) * kg; k++)
                        for (int i = 0; i < s->kh; i++) {
                            int ty = y + s->ph - i;          /* = oy * sh */
                            if (ty < 0 || ty % s->sh || ty / s->sh >= s->oh)
                                continue;
                            for (int j = 0; j < s->kw; j++) {
                                int tx = x + s->pw - j;
                                if (tx < 0 || tx % s->sw || tx / s->sw >= s->ow)
                                    continue;
                                sum += (double)dout[idx4(n, k, ty / s->sh, tx / s->sw,
                                                         s->k, s->oh, s->ow)] *
                                       w[idx4(k, ci, i, j, cg, s->kh, s->kw)];
                            }
                        }
                    din[idx4(n, c, y, x, s->c, s->h, s->w)] = (float)sum;
                }
        }
}

void sp_ref_conv_bwd_filter(sp_backend *b, float *dw /* K,C/G,KH,KW; += */,
                            float *dbias /* K or NULL; += */, const float *dout /* N,K,OH,OW */,
                            const float *in /* N,C,H,W */, const sp_conv_shape *s)
{
    int cg = s->c / s->groups, kg = s->k / s->groups;
    (void)b;
    for (int k = 0; k < s->k; k++) {
        int c0 = (k / kg) * cg;
        for (int ci = 0; ci < cg; ci++)
            for (int i = 0; i < s->kh; i++)
                for (int j = 0; j < s->kw; j++) {
                    double sum = 0.0;
                    for (int n = 0; n < s->n; n++)
                        for (int oy = 0; oy < s->oh; oy++) {
                            int y = oy * s->sh - s->ph + i;
                            if (y < 0 || y >= s->h)
                                continue;
                            for (int ox = 0; ox < s->ow; ox++) {
                                int x = ox * s->sw - s->pw + j;
                                if (x < 0 || x >= s->w)
                                    continue;
                                sum += (double)dout[idx4(n, k, oy, ox, s->k, s->oh, s->ow)] *
                                       in[idx4(n, c0 + ci, y, x, s->c, s->h, s->w)];
                            }
                        }
                    size_t o = idx4(k, ci, i, j, cg, s->kh, s->kw);
                    dw[o] = (float)(dw[o] + sum);
                }
        if (dbias) {
            double sum = 0.0;
            for (int n = 0; n < s->n; n++)
                for (int p = 0; p < s->oh * s->ow; p++)
                    sum += dout[((size_t)n * s->k + k) * s->oh * s->ow + p];
            dbias[k] = (float)(dbias[k] + sum);
        }
    }
}

/* The fused forward is, by definition, the convolution then the
 * activation: the oracle for the faster backends' fused kernels. */
void sp_ref_conv_fwd_act(sp_backend *b, float *out, const float *in, const float *w,
                         const float *bias, const sp_conv_shape *s, sp_act act)
{
    sp_ref_conv_fwd(b, out, in, w, bias, s);
    sp_ref_act_fwd(b, act, out, out, (size_t)s->n * s->k * s->oh * s->ow);
}
