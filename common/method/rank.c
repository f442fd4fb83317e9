/* rank.c: this batch's target per layer from the channels' sensitivity
 * scores (sp-method(7), step 2).  A threshold is the k-th largest score;
 * every channel at or above it is kept, so ties are all kept. */
#include <stdlib.h>
#include <string.h>
#include "sp/base.h"
#include "sp/method.h"

static int cmp_desc(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x < y) - (x > y);
}

/* The k-th largest of n values (1 <= k <= n). */
static float kth_largest(const float *v, int n, int k)
{
    float *s = sp_xmalloc((size_t)n * sizeof *s);
    memcpy(s, v, (size_t)n * sizeof *s);
    qsort(s, (size_t)n, sizeof *s, cmp_desc);
    float t = s[k - 1];
    free(s);
    return t;
}

static int keep_count(double n)
{
    long k = (long)n;         /* floor: n >= 0 */
    return k < 1 ? 1 : (int)k;
}

static int threshold(float *t, int c, const float *s, float tau)
{
    int kept = 0;
    for (int i = 0; i < c; i++) {
        t[i] = s[i] >= tau ? 1.0f : 0.0f;
        kept += s[i] >= tau;
    }
    return kept;
}

int sp_rank_targets(int nl, const int *width, const float *const *scores, double rate,
                    int sort_layer, sp_fallback fb, float *const *target)
{
    int64_t total = 0;
    for (int l = 0; l < nl; l++)
        total += width[l];
    if (nl < 1 || total < 1)
        return sp_errorf("the ranking pool has no channels");
    float tau = 0.0f;
    if (!sort_layer) {
        float *all = sp_xmalloc((size_t)total * sizeof *all);
        int64_t at = 0;
        for (int l = 0; l < nl; l++) {
            memcpy(all + at, scores[l], (size_t)width[l] * sizeof *all);
            at += width[l];
        }
        int k = keep_count((double)total * rate);
        tau = kth_largest(all, (int)total, k > total ? (int)total : k);
        free(all);
    }
    for (int l = 0; l < nl; l++) {
        int c = width[l];
        if (!target[l])
            continue;
        if (sort_layer) {
            int k = keep_count((double)c * rate);
            tau = kth_largest(scores[l], c, k > c ? c : k);
        }
        int kept = threshold(target[l], c, scores[l], tau);
        double least = (double)c * rate * 0.2;
        int too_few = fb == SP_FALLBACK_VGG ? kept < (least < 1.0 ? 1.0 : least) : kept == 0;
        if (too_few) {
            int f = keep_count(least);
            threshold(target[l], c, scores[l], kth_largest(scores[l], c, f > c ? c : f));
        }
    }
    return 0;
}
