/* window.c: what happens every `window` iterations (sp-method(7), step
 * 6): the channel index voted from the window's masks, the share of
 * decided mask values (two_side), lambda, and the beta schedule with its
 * bumps. */
#include <stdlib.h>
#include "sp/base.h"
#include "sp/method.h"

void sp_window_index(int n, int c, const float *masks, sp_vote vote, float *index,
                     float *mean_out)
{
    int best = 0, any = 0;
    float *share = sp_xmalloc((size_t)c * sizeof *share);
    for (int ch = 0; ch < c; ch++) {
        double votes = 0.0, sum = 0.0;
        for (int i = 0; i < n; i++) {
            float m = masks[(size_t)i * c + ch];
            votes += m > 0.5f ? 1.0 : m < 0.5f ? 0.0 : 0.5;
            sum += m;
        }
        share[ch] = (float)((vote == SP_VOTE_MEAN ? sum : votes) / n);
        if (mean_out)
            mean_out[ch] = (float)(sum / n);
        index[ch] = share[ch] >= 0.5f ? 1.0f : 0.0f;
        any |= index[ch] != 0.0f;
        if (share[ch] > share[best])
            best = ch;
    }
    if (!any)
        index[best] = 1.0f;
    free(share);
}

int sp_round_up(int k, int c, int n)
{
    if (n <= 1)
        return k;
    long r = ((long)k + n - 1) / n * n;
    return r > c ? c : (int)r;
}

void sp_index_round(int c, const float *score, float *index, int n)
{
    int kept = 0;
    for (int ch = 0; ch < c; ch++)
        kept += index[ch] != 0.0f;
    for (int want = sp_round_up(kept, c, n); kept < want; kept++) {
        int best = -1;
        for (int ch = 0; ch < c; ch++)
            if (index[ch] == 0.0f && (best < 0 || score[ch] > score[best]))
                best = ch;
        index[best] = 1.0f;
    }
}

double sp_two_side(int c, const float *m)
{
    int k = 0;
    for (int i = 0; i < c; i++)
        k += m[i] > 0.8f || m[i] < 0.2f;
    return (double)k / c;
}

double sp_share_ones(int c, const float *v)
{
    int ones = 0;
    for (int i = 0; i < c; i++)
        ones += v[i] != 0.0f;
    return (double)ones / c;
}

float sp_lambda_update(int c, const float *index, double rho)
{
    double x = 1.0 - sp_share_ones(c, index);
    if (1.0 - x < rho)
        return 0.0f;
    double d = x - 1.0 + rho;
    return (float)(5.0 * (d < 0 ? -d : d));
}

void sp_beta_init(sp_beta *s, double beta0, double beta1, int n)
{
    s->n = n < 1 ? 1 : n;
    s->p = 0;
    s->list = sp_xmalloc((size_t)s->n * sizeof *s->list);
    for (int i = 0; i < s->n; i++)   /* numpy's linspace, endpoint included */
        s->list[i] = (float)(s->n == 1 ? beta0 : beta0 + (beta1 - beta0) * i / (s->n - 1));
    s->beta = s->list[0];
}

void sp_beta_free(sp_beta *s)
{
    free(s->list);
    s->list = NULL;
}

void sp_beta_advance(sp_beta *s)
{
    s->beta = s->list[s->p];
    if (s->p < s->n - 1)
        s->p++;
}

int sp_beta_bump(sp_beta *s, double two_side, int gate, float amount)
{
    if (!(two_side < 0.9) || s->p < gate)
        return 0;
    for (int i = 0; i < s->n; i++)
        s->list[i] += amount;
    s->beta += amount;
    return 1;
}

int sp_beta_length(int epochs, int64_t batches, int range)
{
    int64_t n = (int64_t)epochs * batches / (range > 0 ? range : 1);
    return n < 1 ? 1 : n > 1000000 ? 1000000 : (int)n;
}
