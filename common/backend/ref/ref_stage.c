/* ref_stage.c: the two operations of the pruning stage's sensitivity twin
 * (sp-method(7), step 1), plainly: the twin's normal redraws
 * and the connection sensitivity summed per output channel, in double. */
#include <math.h>
#include "ref_priv.h"
#include "../rules_priv.h"

void sp_ref_fill_normal(sp_backend *b, float *x /* n; = */, size_t n, float std, uint64_t seed,
                        uint64_t counter)
{
    (void)b;
    sp_normal_key key = sp_normal_key_of(seed, counter);
    for (size_t lo = 0; lo < n; lo += SP_NORMAL_CHUNK)
        sp_normal_range(x + lo, lo, lo + SP_NORMAL_CHUNK < n ? lo + SP_NORMAL_CHUNK : n, std, key);
}

void sp_ref_conn_sens(sp_backend *b, float *score /* K; = */, float *map /* K,KHW; = */,
                      const float *w /* K,C,KHW */, const float *dw /* K,C,KHW */,
                      int k, int c, int khw)
{
    (void)b;
    for (int o = 0; o < k; o++) {
        double total = 0.0;
        for (int q = 0; q < khw; q++) {
            double s = 0.0;
            for (int i = 0; i < c; i++) {
                size_t at = ((size_t)o * c + i) * khw + q;
                s += fabs((double)w[at] * (double)dw[at]);
            }
            map[(size_t)o * khw + q] = (float)s;
            total += s;
        }
        score[o] = (float)total;
    }
}
