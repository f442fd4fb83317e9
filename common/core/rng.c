/* rng.c: xoroshiro128+ seeded through splitmix64, so that nearby seeds and
 * streams give unrelated sequences. */
#include <math.h>
#include "sp/rng.h"

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void sp_rng_init(sp_rng *r, uint64_t seed, uint64_t stream)
{
    uint64_t x = seed ^ (stream * 0xd1342543de82ef95ull);
    r->s[0] = splitmix64(&x);
    r->s[1] = splitmix64(&x);
    if (!r->s[0] && !r->s[1])
        r->s[1] = 1;
}

uint64_t sp_rng_u64(sp_rng *r)
{
    uint64_t s0 = r->s[0], s1 = r->s[1], out = s0 + s1;
    s1 ^= s0;
    r->s[0] = rotl(s0, 24) ^ s1 ^ (s1 << 16);
    r->s[1] = rotl(s1, 37);
    return out;
}

uint32_t sp_rng_below(sp_rng *r, uint32_t n)
{
    /* Lemire's multiply-and-reject: unbiased */
    uint64_t m = (uint64_t)(uint32_t)(sp_rng_u64(r) >> 32) * n;
    uint32_t low = (uint32_t)m;
    if (low < n) {
        uint32_t t = -n % n;
        while (low < t) {
            m = (uint64_t)(uint32_t)(sp_rng_u64(r) >> 32) * n;
            low = (uint32_t)m;
        }
    }
    return (uint32_t)(m >> 32);
}

double sp_rng_uniform(sp_rng *r)
{
    return (double)(sp_rng_u64(r) >> 11) * 0x1.0p-53;
}

double sp_rng_normal(sp_rng *r)
{
    double u1 = 1.0 - sp_rng_uniform(r);   /* (0, 1] */
    double u2 = sp_rng_uniform(r);
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

void sp_rng_fill_uniform(sp_rng *r, float *x, int64_t n, float lo, float hi)
{
    for (int64_t i = 0; i < n; i++)
        x[i] = (float)(lo + (hi - lo) * sp_rng_uniform(r));
}

/* Both values of each Box-Muller pair are used: filling a large layer is
 * then half the work of n sp_rng_normal calls. */
void sp_rng_fill_normal(sp_rng *r, float *x, int64_t n, float mean, float std)
{
    for (int64_t i = 0; i < n; i += 2) {
        double u1 = 1.0 - sp_rng_uniform(r);
        double u2 = sp_rng_uniform(r);
        double rad = sqrt(-2.0 * log(u1));
        x[i] = (float)(mean + std * rad * cos(2.0 * M_PI * u2));
        if (i + 1 < n)
            x[i + 1] = (float)(mean + std * rad * sin(2.0 * M_PI * u2));
    }
}
